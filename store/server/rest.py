"""Speaking MLflow's REST API: one `RestClient` per tracking server.

Every call goes through `RestClient.call`: JSON in and out, a kept-alive HTTP session
(`requests`), the server's credentials and TLS options as MLflow's own client reads them
from the environment, and retries with exponential backoff on what may pass (429, 5xx, a
refused or dropped connection), honouring `Retry-After`. What does not pass is a typed
error: MLflow's error codes become mltop's (`RESOURCE_DOES_NOT_EXIST` is a
`NotFoundError`...), a server that cannot be reached is a `ServerUnreachableError`, one
that refuses the credentials a `ServerRefusedError`; each names the server and the call.

Endpoints are written relative to `/api/2.0/mlflow/` ("runs/log-batch"); artifacts go
through the proxied artifact service, `/api/2.0/mlflow-artifacts/artifacts/<path>`.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

from mltop.store.errors import (
    AlreadyExistsError,
    InvalidStateError,
    InvalidValueError,
    MltopError,
    NotAnMlflowServerError,
    NotFoundError,
    ServerError,
    ServerRefusedError,
    ServerUnreachableError,
)
from mltop.store.location import redact

if TYPE_CHECKING:
    import requests

API_PREFIX = "/api/2.0/mlflow/"
ARTIFACTS_PREFIX = "/api/2.0/mlflow-artifacts/artifacts/"

DEFAULT_TIMEOUT_S = 120.0  # MLflow's MLFLOW_HTTP_REQUEST_TIMEOUT
log = logging.getLogger(__name__)
# A wait before a retry at least this long is said (as a warning on this module's logger:
# on stderr unless logging is configured), when nobody bounded the call's retries: a script
# whose server went down says why it waits, instead of hanging for minutes in silence.
SAID_WAIT_S = 1.0

DEFAULT_MAX_RETRIES = 7  # MLflow's MLFLOW_HTTP_REQUEST_MAX_RETRIES
DEFAULT_BACKOFF_FACTOR = 2.0  # MLflow's MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR (seconds)
MAX_BACKOFF_S = 60.0
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
CHUNK_SIZE = 1 << 20


# MLflow's error codes (databricks_pb2.ErrorCode names) -> mltop's types.
_ERROR_TYPES: dict[str, type[MltopError]] = {
    "RESOURCE_DOES_NOT_EXIST": NotFoundError,
    "ENDPOINT_NOT_FOUND": NotFoundError,
    "RESOURCE_ALREADY_EXISTS": AlreadyExistsError,
    "INVALID_PARAMETER_VALUE": InvalidValueError,
    "BAD_REQUEST": InvalidValueError,
    "INVALID_STATE": InvalidStateError,
}


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidValueError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise InvalidValueError(f"{name}={raw!r} must not be negative")
    return value


def normalize_url(url: str) -> str:
    """`http(s)://host[:port][/prefix]` without a trailing slash; anything else refused
    (the message names the URL without the password it may carry)."""
    if not isinstance(url, str):
        raise InvalidValueError(f"a tracking server URL is a string, not {type(url).__name__}")
    parts = urlsplit(url.strip())
    shown = redact(url.strip())
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidValueError(f"tracking server URL {shown!r}: the scheme must be http or https")
    if not parts.hostname:
        raise InvalidValueError(f"tracking server URL {shown!r} names no host")
    if parts.query or parts.fragment:
        raise InvalidValueError(
            f"tracking server URL {shown!r}: a server URL takes no query or fragment"
        )
    try:
        port = parts.port  # raises ValueError on a port that is no number, or out of range
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise InvalidValueError(
            f"tracking server URL {shown!r}: the port must be a number from 1 to 65535"
        )
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path.rstrip("/"), "", ""))


@dataclass(frozen=True)
class Credentials:
    """How to reach a server: `token` (a bearer token) or `username`/`password` (basic
    auth); `verify`: False (MLFLOW_TRACKING_INSECURE_TLS), a CA bundle's path, or True;
    `client_cert`: a PEM holding the client's certificate and key."""

    token: str | None = None
    username: str | None = None
    password: str | None = None
    verify: bool | str = True
    client_cert: str | None = None

    @classmethod
    def from_env(cls) -> Credentials:
        """As MLflow's client reads them: MLFLOW_TRACKING_TOKEN, MLFLOW_TRACKING_USERNAME and
        MLFLOW_TRACKING_PASSWORD, MLFLOW_TRACKING_INSECURE_TLS, MLFLOW_TRACKING_SERVER_CERT_PATH,
        MLFLOW_TRACKING_CLIENT_CERT_PATH."""
        env = os.environ
        insecure = _env_flag("MLFLOW_TRACKING_INSECURE_TLS")
        ca = env.get("MLFLOW_TRACKING_SERVER_CERT_PATH") or None
        if insecure and ca:
            raise InvalidValueError(
                "MLFLOW_TRACKING_INSECURE_TLS and MLFLOW_TRACKING_SERVER_CERT_PATH are both set: "
                "choose one (skip verifying the server's certificate, or verify it with a CA)"
            )
        for name, path in (
            ("MLFLOW_TRACKING_SERVER_CERT_PATH", ca),
            ("MLFLOW_TRACKING_CLIENT_CERT_PATH", env.get("MLFLOW_TRACKING_CLIENT_CERT_PATH")),
        ):
            if path and not Path(path).expanduser().is_file():
                raise InvalidValueError(f"{name}={path!r}: no such file")
        verify: bool | str = False if insecure else (str(Path(ca).expanduser()) if ca else True)
        client = env.get("MLFLOW_TRACKING_CLIENT_CERT_PATH") or None
        return cls(
            token=env.get("MLFLOW_TRACKING_TOKEN") or None,
            username=env.get("MLFLOW_TRACKING_USERNAME") or None,
            password=env.get("MLFLOW_TRACKING_PASSWORD") or None,
            verify=verify,
            client_cert=str(Path(client).expanduser()) if client else None,
        )


# Every client, so that a forked child drops the sessions it inherited: a pooled connection
# shared by two processes mixes their requests and answers.
_clients: weakref.WeakSet[RestClient] = weakref.WeakSet()


def _forget_sessions_after_fork() -> None:
    for client in list(_clients):
        client._local = threading.local()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_sessions_after_fork)


class RestClient:
    """One tracking server's REST API. Thread-safe: each thread has its own session (a
    `requests.Session` is not safe to share while calls are in flight)."""

    def __init__(
        self,
        base_url: str,
        *,
        credentials: Credentials | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_factor: float = DEFAULT_BACKOFF_FACTOR,
        retry_for: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`retry_for`: the most seconds one call may spend waiting between retries (None:
        as long as `max_retries` takes); an interactive reader gives a few seconds, so that
        a server gone down is said within them rather than after minutes of backoff."""
        url = normalize_url(base_url)
        parts = urlsplit(url)
        creds = credentials or Credentials()
        if parts.username is not None and creds.username is None and creds.token is None:
            from urllib.parse import unquote

            creds = Credentials(
                username=unquote(parts.username),
                password=unquote(parts.password or ""),
                verify=creds.verify,
                client_cert=creds.client_cert,
            )
        if parts.username is not None:  # credentials never travel in the URL itself
            netloc = parts.netloc.rsplit("@", 1)[1]
            url = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        self.url = url
        self.credentials = creds
        self.timeout = timeout
        self.max_retries = max(0, int(max_retries))
        self.backoff_factor = backoff_factor
        self.retry_for = retry_for
        self._sleep = sleep
        self._local = threading.local()
        _clients.add(self)
        self.retries = 0  # retried attempts so far (all threads): a benchmark reads it

    @classmethod
    def from_env(cls, base_url: str, **kwargs: Any) -> RestClient:
        """A client configured as MLflow's would be from the environment (credentials, TLS,
        MLFLOW_HTTP_REQUEST_TIMEOUT, MLFLOW_HTTP_REQUEST_MAX_RETRIES,
        MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR)."""
        kwargs.setdefault("credentials", Credentials.from_env())
        kwargs.setdefault(
            "timeout", _env_number("MLFLOW_HTTP_REQUEST_TIMEOUT", DEFAULT_TIMEOUT_S) or None
        )
        kwargs.setdefault(
            "max_retries", int(_env_number("MLFLOW_HTTP_REQUEST_MAX_RETRIES", DEFAULT_MAX_RETRIES))
        )
        kwargs.setdefault(
            "backoff_factor",
            _env_number("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", DEFAULT_BACKOFF_FACTOR),
        )
        return cls(base_url, **kwargs)

    def __repr__(self) -> str:
        return f"RestClient({self.url!r})"

    # -- the session ------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            import requests

            session = requests.Session()
            creds = self.credentials
            if creds.token:
                session.headers["Authorization"] = f"Bearer {creds.token}"
            elif creds.username is not None:
                session.auth = (creds.username, creds.password or "")
            session.verify = creds.verify
            if creds.client_cert:
                session.cert = creds.client_cert
            session.headers["User-Agent"] = "mltop"
            self._local.session = session
        return session

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None

    # -- one request, retried -----------------------------------------------------------

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(MAX_BACKOFF_S, max(0.0, float(retry_after)))
            except ValueError:
                pass
        delay = self.backoff_factor * (2 ** (attempt - 1)) if self.backoff_factor else 0.0
        return min(MAX_BACKOFF_S, delay * (0.5 + random.random() / 2))

    def request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        data: bytes | IO[bytes] | None = None,
        stream: bool = False,
        retry: bool = True,
    ) -> requests.Response:
        """The response to `method path` once it is not a 429/5xx (retried), or a typed
        error. `what` names the call in errors ("runs/log-batch")."""
        import requests

        url = self.url + path
        attempts = 1 + (self.max_retries if retry else 0)
        last: str = ""
        waited = 0.0  # seconds slept between attempts so far

        def wait(delay: float, why: str) -> bool:
            """Sleep `delay` before the next attempt, if the budget allows it."""
            nonlocal waited
            if self.retry_for is not None and waited + delay > self.retry_for:
                delay = self.retry_for - waited
                if delay <= 0:
                    return False
            elif self.retry_for is None and delay >= SAID_WAIT_S:
                log.warning(
                    "mltop: tracking server %s: %s: %s; trying again in %.0f s (retry %d of %d)",
                    self.url, what, why, delay, attempt, attempts - 1,
                )  # fmt: skip
            waited += delay
            self.retries += 1
            self._sleep(delay)
            return True

        # Connecting takes at most 10 s (a host that does not answer at all); reading an
        # answer may take the whole timeout (a big page from a busy server).
        timeout: Any = (min(10.0, self.timeout), self.timeout) if self.timeout else None
        for attempt in range(1, attempts + 1):
            if attempt > 1 and data is not None and not isinstance(data, bytes):
                data.seek(0)  # a file uploaded again from its start
            try:
                response = self._session().request(
                    method,
                    url,
                    json=json_body,
                    params=params,
                    data=data,
                    stream=stream,
                    timeout=timeout,
                )
            except requests.exceptions.SSLError as exc:
                raise ServerUnreachableError(
                    f"tracking server {self.url}: TLS failed on {what}: {exc}; set "
                    "MLFLOW_TRACKING_SERVER_CERT_PATH to its CA, or "
                    "MLFLOW_TRACKING_INSECURE_TLS=true"
                ) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                last = _reason(exc)
                if attempt < attempts and wait(self._backoff(attempt, None), last):
                    continue
                raise ServerUnreachableError(
                    f"tracking server {self.url} cannot be reached ({what}, {attempt} "
                    f"attempt{'s' if attempt > 1 else ''}): {last}"
                ) from None
            except requests.exceptions.RequestException as exc:
                raise ServerError(f"tracking server {self.url}: {what} failed: {exc}") from None
            if response.status_code in RETRY_STATUSES and attempt < attempts:
                delay = self._backoff(attempt, response.headers.get("Retry-After"))
                if wait(delay, f"HTTP {response.status_code} {response.reason or ''}".strip()):
                    response.close()
                    continue
            if response.status_code >= 400:
                raise self._error(response, what, attempt - 1, api=path.startswith(API_PREFIX))
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _error(
        self, response: requests.Response, what: str, retried: int, *, api: bool = True
    ) -> MltopError:
        status = response.status_code
        code, message = "", ""
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            code = str(payload.get("error_code") or "")
            message = str(payload.get("message") or "")
        if not message:
            message = _page_text(response.text) or (response.reason or "").strip()
        where = f"tracking server {self.url}: {what}"
        if status in (401, 403):
            kind = "refused the credentials" if status == 401 else "refused the permission"
            hint = (
                " (set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and "
                "MLFLOW_TRACKING_PASSWORD)"
                if status == 401
                else ""
            )
            return ServerRefusedError(
                f"{where}: the server {kind} (HTTP {status}){hint}: {message}"
            )
        if api and not code and status in (404, 405, 501):
            # MLflow answers its API's errors in JSON with a code: this is something else.
            return NotAnMlflowServerError(
                f"{self.url} does not answer as an MLflow tracking server ({what}: HTTP "
                f"{status}{f' {message}' if message else ''}); is the URL right, with the "
                "path prefix the server is mounted under, if any?"
            )
        error_type = _ERROR_TYPES.get(code)
        if error_type is None and status == 404 and not code:
            error_type = NotFoundError
        if error_type is not None:
            return error_type(f"{where}: {message}" if message else where)
        if status in RETRY_STATUSES:
            return ServerUnreachableError(
                f"{where}: HTTP {status} after {retried} retries: {message}"
            )
        return ServerError(
            f"{where}: HTTP {status}{f' {code}' if code else ''}: {message}",
            status=status,
            error_code=code,
        )

    # -- MLflow's JSON API --------------------------------------------------------------

    def call(
        self,
        method: str,
        endpoint: str,
        body: Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        retry: bool = True,
    ) -> dict[str, Any]:
        """`method /api/2.0/mlflow/<endpoint>` with `body` (JSON; for GET, query params):
        the decoded JSON answer, or a typed error."""
        method = method.upper()
        if method == "GET":
            query = dict(params or {})
            for key, value in (body or {}).items():
                if value is not None:
                    query[key] = _query_value(value)
            response = self.request(
                "GET", API_PREFIX + endpoint, what=endpoint, params=query, retry=retry
            )
        else:
            response = self.request(
                method,
                API_PREFIX + endpoint,
                what=endpoint,
                json_body=dict(body or {}),
                params=params,
                retry=retry,
            )
        if not response.content:
            return {}
        try:
            answer = response.json()
        except ValueError:
            raise NotAnMlflowServerError(
                f"{self.url} does not answer as an MLflow tracking server ({endpoint} answered "
                f"with something that is not JSON: {_page_text(response.text)!r}); is the URL "
                "right?",
                status=response.status_code,
            ) from None
        if not isinstance(answer, dict):
            raise ServerError(
                f"tracking server {self.url}: {endpoint} answered with JSON that is not an object",
                status=response.status_code,
            )
        return answer

    # -- artifacts (the server's proxied artifact service) -----------------------------

    @staticmethod
    def artifact_path(path: str) -> str:
        """`ARTIFACTS_PREFIX` + `path` quoted (segments kept; no '..' or empty segment)."""
        parts = [p for p in path.strip("/").split("/")]
        if any(p in ("", ".", "..") for p in parts) and path.strip("/"):
            raise InvalidValueError(f"artifact path {path!r} has an empty, '.' or '..' part")
        return ARTIFACTS_PREFIX + "/".join(quote(p, safe="") for p in parts if p)

    def artifact_list(self, path: str = "") -> list[dict[str, Any]]:
        """The files and folders directly under `path` (MLflow's `files`: path, is_dir,
        file_size)."""
        response = self.request(
            "GET",
            "/api/2.0/mlflow-artifacts/artifacts",
            what=f"artifacts list {path!r}",
            params={"path": path.strip("/")} if path.strip("/") else None,
        )
        answer = response.json() if response.content else {}
        files = answer.get("files", []) if isinstance(answer, dict) else []
        return [f for f in files if isinstance(f, dict)]

    def artifact_get(self, path: str) -> Iterator[bytes]:
        """The bytes of the artifact at `path`, in chunks (streamed, not held in memory)."""
        response = self.request(
            "GET", self.artifact_path(path), what=f"artifact {path!r}", stream=True
        )
        try:
            yield from response.iter_content(CHUNK_SIZE)
        finally:
            response.close()

    def artifact_put(self, path: str, data: bytes | IO[bytes]) -> None:
        """Upload `data` (bytes, or a binary file opened for reading) to `path`."""
        self.request("PUT", self.artifact_path(path), what=f"artifact upload {path!r}", data=data)

    def artifact_delete(self, path: str) -> None:
        self.request("DELETE", self.artifact_path(path), what=f"artifact delete {path!r}")


def _page_text(text: str | None) -> str:
    """A short line from an error page: its <title> when it is HTML, else its first 300
    characters on one line."""
    if not text:
        return ""
    found = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
    if found:
        text = found.group(1)
    elif text.lstrip().startswith("<"):
        text = re.sub(r"<[^>]+>", " ", text)
    line = " ".join(text.split())
    return line if len(line) <= 300 else line[:297] + "..."


def _reason(exc: BaseException) -> str:
    """What went wrong under the layers of wrapping requests and urllib3 add: "[Errno 111]
    Connection refused", "[Errno -2] Name or service not known", "... timed out"."""
    inner: BaseException = exc
    for _ in range(6):
        deeper = getattr(inner, "reason", None)
        if not isinstance(deeper, BaseException) and inner.args:
            deeper = inner.args[0]
        if not isinstance(deeper, BaseException):
            break
        inner = deeper
    text = str(inner)
    found = re.search(r"\[Errno -?\d+\][^\"')]*", text)
    if found:
        return found.group(0).strip()
    if "timed out" in text.lower():
        return "timed out"
    return _short(inner)


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:297] + "..."


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return [_query_value(v) for v in value]
    if isinstance(value, (dict,)):
        return json.dumps(value)
    return value


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """`items` in lists of at most `size`."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
