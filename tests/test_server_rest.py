"""The REST client of the tracking-server backend: against a real MLflow server, and
against a stub server that fails on purpose (429, 5xx, 401, not JSON, nothing listening)."""

from __future__ import annotations

import base64
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from server_fixture import MlflowServer, free_port

from mltop.store.errors import AlreadyExistsError, InvalidValueError, NotFoundError
from mltop.store.location import resolve_store_path, server_url
from mltop.store.server.rest import (
    Credentials,
    RestClient,
    ServerError,
    ServerRefusedError,
    ServerUnreachableError,
    normalize_url,
    redact,
)


class Stub:
    """A server answering each request with the next of `answers` (status, headers, body);
    the last answer repeats. Records each request's path and headers."""

    def __init__(self, answers: list[tuple[int, dict[str, str], bytes]]) -> None:
        self.answers = answers
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                stub.requests.append((self.command, self.path, dict(self.headers), body))
                index = min(len(stub.requests), len(stub.answers)) - 1
                status, headers, payload = stub.answers[index]
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub_factory() -> Iterator[Any]:
    stubs: list[Stub] = []

    def make(*answers: tuple[int, dict[str, str], bytes]) -> Stub:
        stubs.append(Stub(list(answers)))
        return stubs[-1]

    yield make
    for stub in stubs:
        stub.close()


OK = (200, {"Content-Type": "application/json"}, b'{"experiments": []}')


def sleeps() -> tuple[list[float], Any]:
    slept: list[float] = []
    return slept, slept.append


# -- against MLflow's own server --------------------------------------------------------------


def test_calls_a_real_server_and_maps_its_errors(mlflow_server: MlflowServer) -> None:
    client = RestClient(mlflow_server.url)
    name = f"rest-{uuid.uuid4().hex}"
    created = client.call("POST", "experiments/create", {"name": name})
    experiment_id = created["experiment_id"]
    got = client.call("GET", "experiments/get", {"experiment_id": experiment_id})
    assert got["experiment"]["name"] == name
    with pytest.raises(AlreadyExistsError, match=name):
        client.call("POST", "experiments/create", {"name": name})
    with pytest.raises(NotFoundError):
        client.call("GET", "runs/get", {"run_id": uuid.uuid4().hex})
    with pytest.raises(InvalidValueError):
        client.call("POST", "runs/log-batch", {"run_id": "nope", "metrics": "not a list"})


def test_artifacts_round_trip_through_the_proxy(
    mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    client = RestClient(mlflow_server.url)
    folder = f"rest-{uuid.uuid4().hex}"
    client.artifact_put(f"{folder}/a b/notes.txt", b"hello [bold]x[/]")
    source = tmp_path / "big.bin"
    source.write_bytes(bytes(range(256)) * 20_000)  # 5 MB, streamed in chunks both ways
    with open(source, "rb") as handle:
        client.artifact_put(f"{folder}/big.bin", handle)
    assert b"".join(client.artifact_get(f"{folder}/a b/notes.txt")) == b"hello [bold]x[/]"
    assert b"".join(client.artifact_get(f"{folder}/big.bin")) == source.read_bytes()
    listed = {f["path"]: f for f in client.artifact_list(folder)}
    assert set(listed) == {"a b", "big.bin"}
    assert listed["a b"]["is_dir"] is True
    assert int(listed["big.bin"]["file_size"]) == source.stat().st_size
    with pytest.raises(InvalidValueError, match=r"'\.\.'"):
        client.artifact_put(f"{folder}/../escape.txt", b"x")


# -- failures on purpose ---------------------------------------------------------------------


def test_retries_429_and_5xx_with_backoff_then_succeeds(stub_factory: Any) -> None:
    stub = stub_factory(
        (503, {}, b"busy"),
        (429, {"Retry-After": "3"}, b""),
        (502, {}, b""),
        OK,
    )
    slept, sleep = sleeps()
    client = RestClient(stub.url, max_retries=5, backoff_factor=1.0, sleep=sleep)
    assert client.call("POST", "experiments/search", {"max_results": 1}) == {"experiments": []}
    assert len(stub.requests) == 4
    assert client.retries == 3
    assert slept[1] == 3.0  # Retry-After honoured
    assert 0.5 <= slept[0] <= 1.0 and 2.0 <= slept[2] <= 4.0  # exponential, jittered
    # Every attempt carried the same body.
    assert len({r[3] for r in stub.requests}) == 1


def test_gives_up_after_the_retries_with_a_typed_error(stub_factory: Any) -> None:
    stub = stub_factory((503, {}, b'{"error_code": "TEMPORARILY_UNAVAILABLE", "message": "x"}'))
    slept, sleep = sleeps()
    client = RestClient(stub.url, max_retries=2, sleep=sleep)
    with pytest.raises(ServerUnreachableError, match="HTTP 503 after 2 retries"):
        client.call("POST", "runs/log-batch", {})
    assert len(stub.requests) == 3 and len(slept) == 2


def test_nothing_listening_is_unreachable_not_a_crash() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    slept, sleep = sleeps()
    client = RestClient(url, max_retries=2, sleep=sleep)
    with pytest.raises(ServerUnreachableError, match=r"cannot be reached \(runs/get, 3 attempts\)"):
        client.call("GET", "runs/get", {"run_id": "x"})
    assert len(slept) == 2


def test_refused_credentials_say_what_to_set(stub_factory: Any) -> None:
    stub = stub_factory((401, {}, b"You are not authenticated"))
    with pytest.raises(ServerRefusedError, match="MLFLOW_TRACKING_TOKEN"):
        RestClient(stub.url).call("GET", "experiments/search")
    stub = stub_factory((403, {}, b"Permission denied"))
    with pytest.raises(ServerRefusedError, match="refused the permission"):
        RestClient(stub.url).call("GET", "experiments/search")


def test_an_answer_that_is_not_json_names_the_server(stub_factory: Any) -> None:
    stub = stub_factory((200, {"Content-Type": "text/html"}, b"<html>login</html>"))
    with pytest.raises(ServerError, match="not JSON"):
        RestClient(stub.url).call("GET", "experiments/search")
    stub = stub_factory((418, {}, b'{"error_code": "TEAPOT", "message": "short and stout"}'))
    with pytest.raises(ServerError, match="HTTP 418 TEAPOT: short and stout") as raised:
        RestClient(stub.url).call("GET", "experiments/search")
    assert raised.value.status == 418 and raised.value.error_code == "TEAPOT"


def test_token_and_basic_auth_are_sent(stub_factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    stub = stub_factory(OK)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "t0k")
    RestClient.from_env(stub.url).call("GET", "experiments/search", {"max_results": 5})
    method, path, headers, _ = stub.requests[-1]
    assert headers["Authorization"] == "Bearer t0k"
    assert method == "GET" and path == "/api/2.0/mlflow/experiments/search?max_results=5"
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ann")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "s3cr:et")
    RestClient.from_env(stub.url).call("POST", "experiments/search", {})
    expected = base64.b64encode(b"ann:s3cr:et").decode()
    assert stub.requests[-1][2]["Authorization"] == f"Basic {expected}"
    # Credentials in the URL are used, and never sent as part of it.
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME")
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD")
    netloc = stub.url.removeprefix("http://")
    client = RestClient.from_env(f"http://bob:pw@{netloc}/")
    assert client.url == stub.url and "pw" not in repr(client)
    client.call("GET", "experiments/search")
    assert stub.requests[-1][2]["Authorization"] == f"Basic {base64.b64encode(b'bob:pw').decode()}"


def test_tls_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "true")
    assert Credentials.from_env().verify is False
    ca = tmp_path / "ca.pem"
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(ca))
    with pytest.raises(InvalidValueError, match="both set"):
        Credentials.from_env()
    monkeypatch.delenv("MLFLOW_TRACKING_INSECURE_TLS")
    with pytest.raises(InvalidValueError, match="no such file"):
        Credentials.from_env()
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    assert Credentials.from_env().verify == str(ca)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "many")
    with pytest.raises(InvalidValueError, match="MLFLOW_HTTP_REQUEST_MAX_RETRIES"):
        RestClient.from_env("http://127.0.0.1:1")


def test_tls_failure_is_unreachable_with_a_hint(stub_factory: Any) -> None:
    stub = stub_factory(OK)  # speaks plain HTTP: a TLS handshake with it fails
    https = stub.url.replace("http://", "https://")
    with pytest.raises(ServerUnreachableError):
        RestClient(https, max_retries=0).call("GET", "experiments/search")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://host:5000/", "http://host:5000"),
        ("HTTPS://Host/prefix/", "https://Host/prefix"),
        (" http://127.0.0.1:80 ", "http://127.0.0.1:80"),
    ],
)
def test_normalize_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


@pytest.mark.parametrize(
    "url", ["ftp://h", "http://", "http://h/?q=1", "http://h:port", "host:5000"]
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidValueError):
        normalize_url(url)


@pytest.mark.parametrize("port", ["99999", "0", "port", "-1"])
def test_a_bad_port_is_named_with_its_range_and_no_password(port: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        normalize_url(f"http://ana:secret@h:{port}/p")
    assert "the port must be a number from 1 to 65535" in str(caught.value)
    assert "secret" not in str(caught.value) and "ana:***@h" in str(caught.value)
    with pytest.raises(InvalidValueError) as caught:
        normalize_url(f"https://TOKEN@h:{port}/p")
    assert "TOKEN" not in str(caught.value) and "https://***@h" in str(caught.value)


def test_redact_hides_a_password() -> None:
    assert redact("http://u:secret@h:1/p") == "http://u:***@h:1/p"
    assert redact("http://h:1") == "http://h:1"
    assert redact("https://ghp_TOKEN@h/p") == "https://***@h/p"  # a token as the name
    assert redact("http://u:@h") == "http://u:***@h"


def test_a_server_url_is_never_taken_for_a_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`MLTOP_STORE=http://host:5000` once made a folder called `http:` and logged there."""
    monkeypatch.chdir(tmp_path)
    assert server_url("https://h:1") == "https://h:1" and server_url("runs/http") is None
    monkeypatch.setenv("MLTOP_STORE", "http://host:5000")
    with pytest.raises(InvalidValueError, match="tracking server's URL"):
        resolve_store_path()
    from mltop import store as mt

    # The logging API takes it for the server it is: here, one that cannot be reached.
    monkeypatch.setenv("MLTOP_STORE", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with pytest.raises(ServerUnreachableError, match="Connection refused"):
        mt.log_param("lr", 0.1)
    assert list(tmp_path.iterdir()) == []
    assert json.dumps(server_url("HTTP://x")) == '"HTTP://x"'


def test_a_script_waiting_on_a_server_says_why_and_a_bounded_reader_does_not(
    stub_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A call nobody bounded (a training script's) says each wait of a second or more, with
    the cause; the dashboard's and the command line's calls (bounded) say nothing: their
    error is shown when the bound is reached."""
    stub = stub_factory((503, {}, b""), (429, {"Retry-After": "0.2"}, b""), (503, {}, b""), OK)
    slept, sleep = sleeps()
    client = RestClient(stub.url, max_retries=5, backoff_factor=2.0, sleep=sleep)
    with caplog.at_level(logging.WARNING, logger="mltop.store.server.rest"):
        assert client.call("POST", "runs/create", {}) == {"experiments": []}
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2, said  # the 0.2 s wait is not said
    assert said[0].startswith(f"mltop: tracking server {stub.url}: runs/create: HTTP 503")
    assert "trying again in" in said[0] and said[0].endswith("(retry 1 of 5)")
    assert said[1].endswith("(retry 3 of 5)") and slept[1] == 0.2
    caplog.clear()
    stub = stub_factory((503, {}, b""), OK)
    client = RestClient(stub.url, backoff_factor=2.0, retry_for=3.0, sleep=sleeps()[1])
    with caplog.at_level(logging.WARNING, logger="mltop.store.server.rest"):
        client.call("GET", "experiments/search")
    assert caplog.records == []


def test_retry_for_bounds_the_time_one_call_spends_retrying(stub_factory: Any) -> None:
    """The dashboard's reads: a server down is said within seconds, not after minutes."""
    stub = stub_factory((503, {}, b""))
    slept, sleep = sleeps()
    client = RestClient(stub.url, max_retries=7, backoff_factor=2.0, retry_for=3.0, sleep=sleep)
    with pytest.raises(ServerUnreachableError, match="HTTP 503"):
        client.call("GET", "experiments/search")
    assert sum(slept) == pytest.approx(3.0) and len(stub.requests) == len(slept) + 1
    stub = stub_factory((429, {"Retry-After": "30"}, b""), OK)
    slept, sleep = sleeps()
    client = RestClient(stub.url, retry_for=3.0, sleep=sleep)
    assert client.call("GET", "experiments/search") == {"experiments": []}
    assert slept == [3.0]  # waited what the budget allowed, then tried once more


def test_a_forked_child_does_not_share_its_parents_connections(stub_factory: Any) -> None:
    """Two processes on one pooled connection would read each other's answers."""
    import os

    stub = stub_factory(OK)
    client = RestClient(stub.url)
    client.call("GET", "experiments/search")
    parent_session = client._session()
    pid = os.fork()
    if pid == 0:  # the child: a session of its own, and it works
        try:
            fresh = getattr(client._local, "session", None) is None
            client.call("GET", "experiments/search")
            os._exit(0 if fresh and client._session() is not parent_session else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert client._session() is parent_session  # the parent's is kept


def test_a_url_that_is_not_an_mlflow_server_says_so_in_a_line(stub_factory: Any) -> None:
    """A web server, or the right host with a wrong path prefix: no HTML page in the error."""
    from mltop.store.errors import NotAnMlflowServerError, StoreError

    page = b"<!DOCTYPE HTML><html><head><title>404 Not Found</title></head><body>" + b"x" * 5000
    for status in (404, 405, 501):
        stub = stub_factory((status, {"Content-Type": "text/html"}, page))
        with pytest.raises(NotAnMlflowServerError) as raised:
            RestClient(stub.url).call("POST", "experiments/search", {})
        text = str(raised.value)
        assert "does not answer as an MLflow tracking server" in text
        assert "404 Not Found" in text and "<" not in text and len(text) < 400
        assert isinstance(raised.value, StoreError)  # a store problem, said by the dashboard
    # MLflow's own not-found (JSON with a code) is still a NotFoundError.
    stub = stub_factory((404, {}, b'{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no"}'))
    with pytest.raises(NotFoundError):
        RestClient(stub.url).call("GET", "runs/get", {"run_id": "x"})


def test_the_command_line_gives_up_on_a_dead_server_within_seconds_of_retries() -> None:
    """It once retried silently for minutes (MLflow's 7 retries with backoff) before saying
    the server could not be reached; a command bounds its retries to about ten seconds."""
    import re

    from click.testing import CliRunner

    from mltop.tui.cli import main

    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(main, ["runs", "list", "--store", url])
    assert result.exit_code == 1
    found = re.search(r"cannot be reached \(experiments/search, (\d+) attempts\)", result.output)
    assert found is not None, result.output
    assert 2 <= int(found.group(1)) <= 5  # (jittered backoff: 1-2 s, 2-4 s, then the budget)


def test_commands_that_build_a_local_store_refuse_a_url(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from mltop.tui.cli import main

    result = CliRunner().invoke(main, ["demo", "--no-ui", "--store", "http://127.0.0.1:1"])
    assert result.exit_code == 2 and "tracking server" in result.output
    assert not Path("http:").exists()
    with pytest.raises(InvalidValueError, match="not a ftp:// URL"):
        resolve_store_path("ftp://x")
    assert resolve_store_path((tmp_path / "s").as_uri()) == tmp_path / "s"
