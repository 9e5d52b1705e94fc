"""The logging API over a real MLflow tracking server: buffered points sent by
runs/log-batch, in order, nothing lost when the server fails for a while, the typed error
(and the points kept) when it stays down, and the process endings the SQLite writer handles.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from server_fixture import MlflowServer
from test_server_rest import stub_factory  # noqa: F401 - a fixture

from mltop import store as mt
from mltop.store import MltopClient
from mltop.store.errors import (
    InvalidStateError,
    InvalidValueError,
    MetricWriteError,
    NotFoundError,
)
from mltop.store.server.logging import MAX_METRICS_PER_CALL, ServerWriter
from mltop.store.server.rest import RestClient
from mltop.store.server.tracking import ServerStore


class FaultyProxy:
    """A proxy in front of the real server that answers runs/log-batch calls with 503
    while `failures` is above 0 (counting down) or `down` is set; forwards everything else."""

    def __init__(self, target: str) -> None:
        self.failures = 0
        self.down = False
        self.refused = 0  # log-batch calls answered 503
        self.batches: list[bytes] = []  # bodies of the log-batch calls forwarded
        parts = urlsplit(target)
        host, port = parts.hostname, parts.port
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.path.endswith("runs/log-batch"):
                    if proxy.down or proxy.failures > 0:
                        proxy.failures = max(0, proxy.failures - 1)
                        proxy.refused += 1
                        payload = b'{"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"}'
                        self.send_response(503)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(payload)))
                        self.end_headers()
                        self.wfile.write(payload)
                        return
                    proxy.batches.append(body)
                conn = http.client.HTTPConnection(host, port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type",)}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                answer = conn.getresponse()
                payload = answer.read()
                self.send_response(answer.status)
                self.send_header(
                    "Content-Type", answer.getheader("Content-Type") or "application/json"
                )
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                conn.close()

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
def proxy(mlflow_server: MlflowServer) -> Iterator[FaultyProxy]:
    faulty = FaultyProxy(mlflow_server.url)
    yield faulty
    faulty.close()


def quick_client(url: str, retries: int = 3) -> MltopClient:
    """A client whose retries do not wait (a test has no minutes to spend on backoff)."""
    rest = RestClient(url, max_retries=retries, backoff_factor=0)
    return MltopClient(ServerStore(url, rest=rest))


def new_run(client: MltopClient) -> str:
    experiment_id = client.create_experiment(f"logging-{uuid.uuid4().hex}")
    return client.create_run(experiment_id, run_name="r", log_system_info=False).info.run_id


def history(url: str, run_id: str, key: str) -> list[tuple[int, int, float]]:
    """(step, timestamp, value) of a key's points, as the server has them."""
    reader = MltopClient(url)
    return [(m.step, m.timestamp, m.value) for m in reader.get_metric_history(run_id, key)]


# -- the fluent API, as a script uses it ------------------------------------------------


SCRIPT = """
import math, sys
from mltop import store as mt
mt.set_experiment(sys.argv[1])
with mt.start_run(run_name="parent") as run:
    mt.log_params({"lr": 0.1, "layers": 3})
    mt.set_tags({"team": "[bold]vision[/]", "empty": ""})
    for i in range(2500):
        mt.log_metric("loss", 1.0 / (i + 1), step=i)
    mt.log_metrics({"acc": 0.5, "nan": math.nan}, step=7)
    mt.log_metric("inf", math.inf, step=2**62)
    mt.log_metric("inf", -math.inf, step=-5, timestamp=0)
    mt.log_dict({"a": [1, 2]}, "config/a.json")
    mt.log_text("hello", "notes.txt")
    mt.log_artifact("model.bin", "weights")
    mt.log_artifacts("plots", "figures")
    with mt.start_run(run_name="child", nested=True) as child:
        mt.log_metric("child_loss", 0.25)
    print(run.info.run_id, child.info.run_id)
"""


def test_a_script_logs_to_the_server_named_by_mltop_store(
    mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    name = f"script-{uuid.uuid4().hex}"
    (tmp_path / "model.bin").write_bytes(bytes(range(256)) * 100)
    (tmp_path / "plots" / "deep").mkdir(parents=True)
    (tmp_path / "plots" / "a.txt").write_text("a")
    (tmp_path / "plots" / "deep" / "b.txt").write_text("b")
    env = {**os.environ, "MLTOP_STORE": mlflow_server.url}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, name],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    run_id, child_id = out.stdout.split()
    assert not (tmp_path / "http:").exists() and not (tmp_path / ".mltop").exists()
    assert not list(tmp_path.glob("http*"))
    client = MltopClient(mlflow_server.url)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.info.experiment_id
    assert client.get_experiment(run.info.experiment_id).name == name
    assert run.data.params == {"lr": "0.1", "layers": "3"}
    assert run.data.tags["team"] == "[bold]vision[/]" and run.data.tags["empty"] == ""
    loss = history(mlflow_server.url, run_id, "loss")
    assert [(step, value) for step, _, value in loss] == [(i, 1.0 / (i + 1)) for i in range(2500)]
    assert [(s, v) for s, _, v in history(mlflow_server.url, run_id, "acc")] == [(7, 0.5)]
    (nan,) = history(mlflow_server.url, run_id, "nan")
    assert nan[0] == 7 and math.isnan(nan[2])
    assert sorted((s, v) for s, _, v in history(mlflow_server.url, run_id, "inf")) == [
        (-5, -math.inf),
        (2**62, math.inf),
    ]
    assert {f.path for f in client.list_artifacts(run_id)} == {
        "config",
        "notes.txt",
        "weights",
        "figures",
    }
    assert {f.path for f in client.list_artifacts(run_id, "figures/deep")} == {"figures/deep/b.txt"}
    with client.open_artifact(run_id, "weights/model.bin") as handle:
        assert handle.read() == bytes(range(256)) * 100
    with client.open_artifact(run_id, "config/a.json", "r") as handle:
        assert json.load(handle) == {"a": [1, 2]}
    child = client.get_run(child_id)
    assert child.info.parent_run_id == run_id and child.info.status == "FINISHED"
    assert history(mlflow_server.url, child_id, "child_loss")[0][2] == 0.25


def test_set_tracking_uri_names_the_server(mlflow_server: MlflowServer) -> None:
    mt.set_tracking_uri(mlflow_server.url)
    try:
        assert mt.get_tracking_uri() == mlflow_server.url
        mt.set_registry_uri(mlflow_server.url)  # the same server: accepted
        mt.set_experiment(f"uri-{uuid.uuid4().hex}")
        with mt.start_run(log_system_info=False) as run:
            mt.log_metric("x", 1.0)
            mt.flush()
            assert history(mlflow_server.url, run.info.run_id, "x")[0][2] == 1.0
        with pytest.raises(InvalidStateError, match="tracking server"):
            mt.get_store()  # what needs a local store says so
        other = mt.MlflowClient(tracking_uri=mlflow_server.url)  # MLflow's spelling
        assert other.get_run(run.info.run_id).data.summaries["x"].count == 1
    finally:
        mt.set_tracking_uri(None)


def test_capture_output_on_a_server_is_refused_before_a_run_is_made(
    mlflow_server: MlflowServer,
) -> None:
    mt.set_tracking_uri(mlflow_server.url)
    try:
        experiment = mt.set_experiment(f"capture-{uuid.uuid4().hex}")
        with pytest.raises(InvalidValueError, match="log_artifact"):
            mt.start_run(capture_output=True)
        assert mt.active_run() is None
        assert MltopClient(mlflow_server.url).list_runs([experiment.experiment_id]) == []
    finally:
        mt.set_tracking_uri(None)


# -- batches and order ------------------------------------------------------------------


def test_points_go_by_log_batch_at_most_1000_a_call_in_the_order_logged(
    mlflow_server: MlflowServer, proxy: FaultyProxy
) -> None:
    client = quick_client(proxy.url)
    first, second = new_run(client), new_run(client)
    for i in range(2600):  # two runs, two keys, interleaved, every timestamp the same
        client.log_metric(first, "a", float(i), timestamp=1000, step=i)
        client.log_metric(second if i % 3 else first, "b", float(-i), timestamp=1000, step=i)
    client.flush()
    sent: dict[tuple[str, str], list[int]] = {}
    for body in proxy.batches:
        batch = json.loads(body)
        assert 0 < len(batch["metrics"]) <= MAX_METRICS_PER_CALL
        for m in batch["metrics"]:
            sent.setdefault((batch["run_id"], m["key"]), []).append(m["step"])
    assert sent[(first, "a")] == list(range(2600))  # each key's points in the order logged
    assert sent[(first, "b")] == [i for i in range(2600) if i % 3 == 0]
    assert sent[(second, "b")] == [i for i in range(2600) if i % 3]
    assert len(history(mlflow_server.url, first, "a")) == 2600
    assert len(history(mlflow_server.url, second, "b")) == len(sent[(second, "b")])


def test_after_flush_another_client_sees_every_point(mlflow_server: MlflowServer) -> None:
    client = MltopClient(mlflow_server.url)
    run_id = new_run(client)
    for i in range(1500):
        client.log_metric(run_id, "loss", float(i), step=i)
    client.flush()
    assert len(history(mlflow_server.url, run_id, "loss")) == 1500  # a client of its own
    assert client.get_run(run_id).data.summaries["loss"].count == 1500


# -- failures -------------------------------------------------------------------------


def test_a_server_answering_503_for_a_while_loses_nothing(
    mlflow_server: MlflowServer, proxy: FaultyProxy
) -> None:
    client = quick_client(proxy.url, retries=5)
    run_id = new_run(client)
    proxy.failures = 4  # four calls answered 503, each retried
    for i in range(3000):
        client.log_metric(run_id, "loss", float(i), step=i)
    client.flush()
    assert proxy.refused == 4
    assert client.backend.rest.retries >= 4
    steps = [step for step, _, _ in history(mlflow_server.url, run_id, "loss")]
    assert steps == list(range(3000))  # each point once: none lost, none doubled


def test_a_server_that_stays_down_raises_at_flush_and_keeps_the_points(
    mlflow_server: MlflowServer, proxy: FaultyProxy
) -> None:
    client = quick_client(proxy.url, retries=1)
    run_id = new_run(client)
    proxy.down = True
    for i in range(1200):
        client.log_metric(run_id, "loss", float(i), step=i)
    with pytest.raises(MetricWriteError, match="not committed yet.*503"):
        client.flush()
    writer = client._writer
    assert isinstance(writer, ServerWriter)
    assert len(writer.queue) == 1200  # kept, in order, for the next try
    assert [p[2] for p in writer.queue] == list(range(1200))
    # The writer's thread tries again on its own; its failure is raised at the next call.
    writer.start()
    deadline = time.monotonic() + 30
    while writer.error is None:
        assert time.monotonic() < deadline, "the thread never tried again"
        time.sleep(0.01)
    # The point of the call that raised is held with the others (the count says so).
    with pytest.raises(MetricWriteError, match="^1201 metric points not committed yet"):
        client.log_metric(run_id, "loss", 1200.0, step=1200)
    proxy.down = False
    client.flush()
    steps = [step for step, _, _ in history(mlflow_server.url, run_id, "loss")]
    assert steps == list(range(1201))


def test_a_loop_going_on_through_errors_while_the_server_is_down_loses_nothing(
    mlflow_server: MlflowServer,
) -> None:
    """The tester's script: catch each error and go on while the server is down (here: a
    port with nothing listening), then the server is back. Every error's count is of all
    the points held, and every point reaches the server."""
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, not listening
        good = quick_client(mlflow_server.url)
        run_id = new_run(good)
        rest = RestClient(dead_url, max_retries=1, backoff_factor=0)
        client = MltopClient(ServerStore(dead_url, rest=rest))
        writer = client._writer
        assert isinstance(writer, ServerWriter)
        # The run was looked up while the server was up (runs/get); then it went down.
        writer.rest = RestClient(mlflow_server.url)
        client._run_rows[run_id] = writer.run_row(run_id)
        writer.rest = rest
        counts: list[int] = []
        logged = 0
        deadline = time.monotonic() + 60
        while len(counts) < 5:
            assert time.monotonic() < deadline, "the thread never failed"
            try:
                client.log_metric(run_id, "loss", float(logged), step=logged)
            except MetricWriteError as exc:
                counts.append(int(str(exc).split()[0]))
                assert "not committed yet" in str(exc)
                assert counts[-1] == logged + 1  # every point so far, this one included
            logged += 1
        with pytest.raises(MetricWriteError) as raised:
            client.flush()
        assert str(raised.value).startswith(f"{logged} metric points not committed yet")
        assert writer.held() == logged
    # The server is back (the client is pointed at it, as a restarted server would be).
    writer.rest = RestClient(mlflow_server.url, max_retries=1, backoff_factor=0)
    client.flush()
    steps = [step for step, _, _ in history(mlflow_server.url, run_id, "loss")]
    assert steps == list(range(logged))


def test_a_loop_logging_while_the_server_is_down_is_not_stalled_by_retries(
    mlflow_server: MlflowServer, proxy: FaultyProxy
) -> None:
    waited_in: list[str] = []  # the threads that waited for a retry

    def sleep(seconds: float) -> None:
        waited_in.append(threading.current_thread().name)

    rest = RestClient(proxy.url, max_retries=2, backoff_factor=1, sleep=sleep)
    client = MltopClient(ServerStore(proxy.url, rest=rest))
    run_id = new_run(client)
    writer = client._writer
    assert isinstance(writer, ServerWriter)
    writer.batch_size, writer.hold_size = 10, 50  # back-pressure after 50 points
    proxy.down = True
    client.log_metric(run_id, "loss", 0.0, step=0)
    with pytest.raises(MetricWriteError):
        client.flush()  # the script is told; the writer knows the server is down
    waited_in.clear()
    for i in range(1, 500):  # far past the back-pressure mark
        with contextlib.suppress(MetricWriteError):  # the thread's failed retries, told
            client.log_metric(run_id, "loss", float(i), step=i)
    assert threading.main_thread().name not in waited_in  # the loop never waited
    proxy.down = False
    client.flush()
    assert [s for s, _, _ in history(mlflow_server.url, run_id, "loss")] == list(range(500))


def test_points_the_server_refuses_for_good_are_let_go_and_said(
    mlflow_server: MlflowServer,
) -> None:
    client = quick_client(mlflow_server.url)
    run_id = new_run(client)
    client.log_metric(run_id, "loss", 1.0)
    client.flush()
    client._writer.interval = 3600  # the thread stays out of it
    client.log_metric(run_id, "loss", 2.0, step=1)
    RestClient(mlflow_server.url).call("POST", "runs/delete", {"run_id": run_id})
    with pytest.raises(MetricWriteError, match="1 metric point could not be committed"):
        client.flush()
    assert not client._writer.queue
    client.flush()  # said once; nothing is left to send
    with pytest.raises(InvalidStateError, match="deleted"):
        MltopClient(mlflow_server.url).log_metric(run_id, "loss", 3.0)
    with pytest.raises(NotFoundError):
        client.log_metric(uuid.uuid4().hex, "loss", 3.0)


# -- several processes, forks, signals -----------------------------------------------


WRITER = """
import sys
from mltop.store import MltopClient
url, run_id, key = sys.argv[1:4]
client = MltopClient(url)
for i in range(3000):
    client.log_metric(run_id, key, float(i), step=i)
    client.log_metric(run_id, "shared", float(i), step=i, timestamp=1000 + i)
client.flush()
"""


def test_two_processes_logging_to_one_run_lose_nothing(mlflow_server: MlflowServer) -> None:
    run_id = new_run(MltopClient(mlflow_server.url))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, mlflow_server.url, run_id, key],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for key in ("one", "two")
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    for key in ("one", "two"):
        assert [s for s, _, _ in history(mlflow_server.url, run_id, key)] == list(range(3000))
    # Both logged the same points under "shared": the server keeps a point once.
    assert [s for s, _, _ in history(mlflow_server.url, run_id, "shared")] == list(range(3000))


POOL = """
import multiprocessing, sys
from mltop import store as mt

def trial(i):
    mt.log_metric("trial", float(i), step=i)  # a forked worker leaves by os._exit
    return i

if __name__ == "__main__":
    mt.set_tracking_uri(sys.argv[1])
    mt.set_experiment(sys.argv[2])
    with mt.start_run(run_name="pool", log_system_info=False) as run:
        for i in range(300):
            mt.log_metric("parent", float(i), step=i)  # still queued when it forks
        with multiprocessing.get_context("fork").Pool(3) as pool:
            assert sorted(pool.map(trial, range(30))) == list(range(30))
        print(run.info.run_id)
"""


def test_points_logged_in_forked_pool_workers_reach_the_server(
    mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    script = tmp_path / "pool.py"
    script.write_text(POOL)
    out = subprocess.run(
        [sys.executable, str(script), mlflow_server.url, f"pool-{uuid.uuid4().hex}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    run_id = out.stdout.split()[-1]
    steps = sorted(s for s, _, _ in history(mlflow_server.url, run_id, "trial"))
    assert steps == list(range(30))
    assert len(history(mlflow_server.url, run_id, "parent")) == 300  # not doubled by the fork
    assert MltopClient(mlflow_server.url).get_run(run_id).info.status == "FINISHED"


TERMINATED = """
import os, signal, sys, time
from mltop import store as mt
mt.set_tracking_uri(sys.argv[1])
mt.set_experiment(sys.argv[2])
with mt.start_run(run_name="told-to-stop", log_system_info=False) as run:
    print(run.info.run_id, flush=True)
    for i in range(3000):
        mt.log_metric("loss", 1.0 / (i + 1), step=i)  # buffered: not sent yet
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(60)
    print("still alive", flush=True)
"""


def test_sigterm_sends_every_point_ends_the_run_killed_and_kills(
    mlflow_server: MlflowServer,
) -> None:
    child = subprocess.run(
        [sys.executable, "-c", TERMINATED, mlflow_server.url, f"term-{uuid.uuid4().hex}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == -signal.SIGTERM, child.stderr
    assert "still alive" not in child.stdout and "Traceback" not in child.stderr
    run_id = child.stdout.split()[0]
    assert MltopClient(mlflow_server.url).get_run(run_id).info.status == "KILLED"
    assert len(history(mlflow_server.url, run_id, "loss")) == 3000


def test_a_run_whose_process_died_stays_running_on_the_server(
    mlflow_server: MlflowServer,
) -> None:
    """The documented difference: a server keeps no heartbeat, so a crashed run is not
    shown as lost (the SQLite store's runs are)."""
    code = (
        "import os, sys\nfrom mltop.store import MltopClient\nc = MltopClient(sys.argv[1])\n"
        "e = c.create_experiment(sys.argv[2])\n"
        "r = c.create_run(e, log_system_info=False)\nc.log_metric(r.info.run_id, 'x', 1.0)\n"
        "c.flush()\nprint(r.info.run_id, flush=True)\nos._exit(0)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, mlflow_server.url, f"dead-{uuid.uuid4().hex}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    run = MltopClient(mlflow_server.url).get_run(out.stdout.split()[0])
    assert run.info.status == "RUNNING"
    assert run.data.summaries["x"].count == 1


STOPPED_WHILE_DOWN = """
import sys, time
from mltop import store as mt
from mltop.store import buffered as writer

writer.EXIT_BUDGET_S = 6.0  # (30 s by default) the retries at exit stop after this
dead = sys.argv[1]
with mt.start_run(run_name="stopped", log_system_info=False):
    client = mt.get_client()
    client._writer.rest.url = dead  # the server goes down (nothing listens there)
    for i in range(2500):
        mt.log_metric("loss", float(i), step=i)
    print("ready", flush=True)
    time.sleep(600)
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_stopped_while_the_server_is_down_says_the_count_and_ends_in_bounded_time(
    mlflow_server: MlflowServer, signum: int
) -> None:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, not listening
        # MLflow's default retries (7, backoff from 2 s): minutes, without the exit bound.
        env = {**os.environ, "MLTOP_STORE": mlflow_server.url}
        for name in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"):
            env.pop(name, None)
        child = subprocess.Popen(
            [sys.executable, "-c", STOPPED_WHILE_DOWN, dead_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == "ready\n"
            started = time.monotonic()
            child.send_signal(signum)
            _, err = child.communicate(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
    elapsed = time.monotonic() - started
    assert child.returncode == -signum, err
    # One budget in all (6 s, and a second's wait for the writer's thread at each of the
    # two exit hooks), not a new one at the exit hooks after the run's block used its own.
    assert elapsed < 12, (elapsed, err)
    # (Lines saying why the writer's thread waits while logging are not the exit's.)
    lines = [
        line
        for line in err.splitlines()
        if line.startswith("mltop: ") and "trying again in" not in line
    ]
    assert lines[0].startswith(f"mltop: sending 2500 metric points buffered to {dead_url}"), err
    assert lines[-1].startswith(
        f"mltop: 2500 metric points were not sent to the tracking server {dead_url}"
    ), err
    assert sum("were not sent" in line for line in lines) == 1, err  # said once


ENDED_WHILE_DOWN = """
import sys
from mltop import store as mt
from mltop.store import buffered as writer

writer.EXIT_BUDGET_S = 3.0
mt.start_run(run_name="left open", log_system_info=False)  # ended by the exit hook
mt.get_client()._writer.rest.url = sys.argv[1]  # the server goes down
for i in range(40):
    mt.log_metric("loss", float(i), step=i)
print("done", flush=True)
"""


def test_a_normal_exit_while_the_server_is_down_says_the_loss_once(
    mlflow_server: MlflowServer,
) -> None:
    """The active run is ended at exit, which sends its points (and fails, the server being
    down), then the writer's own exit hook tries again: the loss is said once, not twice."""
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, not listening
        env = {**os.environ, "MLTOP_STORE": mlflow_server.url}
        out = subprocess.run(
            [sys.executable, "-c", ENDED_WHILE_DOWN, dead_url],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
    assert out.returncode == 0 and out.stdout == "done\n", out.stderr
    lost = [line for line in out.stderr.splitlines() if "were not sent" in line]
    assert len(lost) == 1, out.stderr
    assert f"40 metric points were not sent to the tracking server {dead_url}" in lost[0]


def test_a_flush_waiting_on_the_threads_retries_raises_their_failure_not_a_second_round(
    stub_factory: Any,  # noqa: F811
) -> None:
    """The writer's thread is retrying a send (the server answers 503) when the script
    flushes (a `with` block ending): the flush waits for those retries and raises their
    failure with the points kept, instead of spending as long again retrying itself (a
    `with` block used to take two whole retry schedules, minutes, to end)."""
    run_json = json.dumps({"run": {"info": {"run_id": "a" * 32, "lifecycle_stage": "active"}}})
    stub = stub_factory((200, {}, run_json.encode()), (503, {}, b"down"))
    writer = ServerWriter(RestClient(stub.url, max_retries=2, backoff_factor=0.4))
    row, kid = writer.run_row("a" * 32), writer.key_id("loss")
    writer.queue.append((row, kid, 0, 1, 1.0))
    writer.start()
    for _ in range(500):
        if len(stub.requests) >= 2:  # the thread's first send was refused
            break
        time.sleep(0.01)
    with pytest.raises(MetricWriteError, match="1 metric point not committed yet"):
        writer.flush()
    sends = [r for r in stub.requests if r[1].endswith("runs/log-batch")]
    assert len(sends) == 3  # the thread's three tries, and none more
    assert writer.held() == 1  # kept: the next flush tries again
    with pytest.raises(MetricWriteError):
        writer.flush()
    assert len([r for r in stub.requests if r[1].endswith("runs/log-batch")]) == 6
    writer.queue.clear()  # (not for this process's exit hook to send)
