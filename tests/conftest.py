from __future__ import annotations

import time
from pathlib import Path

import pytest
from server_fixture import mlflow_server  # noqa: F401 - a fixture, for every test file

from mltop import store as mt
from mltop.store import MltopClient, Store


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's store, user or run."""
    for name in (
        "MLTOP_STORE",
        "MLTOP_RUN_ID",
        "MLTOP_EXPERIMENT_NAME",
        "MLTOP_EXPERIMENT_ID",
        "MLTOP_HEARTBEAT_INTERVAL",
        # A developer's shell may sample every run: tests sample only when they ask.
        "MLTOP_ENABLE_SYSTEM_METRICS_LOGGING",
        "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING",
        "MLTOP_SYSTEM_METRICS_SAMPLING_INTERVAL",
        "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL",
        "MLTOP_SYSTEM_METRICS_BY",
        # Nor a `mltop run` around the test run, nor the developer's environments.
        "MLTOP_OUTPUT_CAPTURED_BY",
        "MLTOP_ENV_ROOT",
        # MLflow's client (the plugin's tests): no developer's server or store.
        "MLFLOW_TRACKING_URI",
        "MLFLOW_REGISTRY_URI",
        "MLFLOW_EXPERIMENT_NAME",
        "MLFLOW_EXPERIMENT_ID",
        "MLFLOW_RUN_ID",
        # Nor the developer's server credentials or TLS settings (the server backend).
        "MLFLOW_TRACKING_TOKEN",
        "MLFLOW_TRACKING_USERNAME",
        "MLFLOW_TRACKING_PASSWORD",
        "MLFLOW_TRACKING_INSECURE_TLS",
        "MLFLOW_TRACKING_SERVER_CERT_PATH",
        "MLFLOW_TRACKING_CLIENT_CERT_PATH",
        "MLFLOW_HTTP_REQUEST_TIMEOUT",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
    ):
        monkeypatch.delenv(name, raising=False)
    # A stop or exit hook run in-process by an earlier test bounds writes "as at exit"
    # (process-wide): each test starts with no such bound.
    from mltop.store import buffered as writer

    monkeypatch.setattr(writer, "_exit_deadline", None)
    monkeypatch.setattr(writer, "_lifted", None)
    # MLflow's usage telemetry would try the network from every test and its subprocesses.
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MLTOP_USER", "tester")
    monkeypatch.setenv("TZ", "UTC")  # times on screen are local times: the same everywhere
    time.tzset()
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def store(store_path: Path) -> Store:
    s = Store(store_path)
    yield s
    s.close()


@pytest.fixture
def client(store: Store) -> MltopClient:
    c = MltopClient(store)
    yield c
    c.close()


@pytest.fixture
def fluent(store_path: Path):
    """The fluent API pointed at a fresh store; any run left active is ended afterwards."""
    mt.set_store(store_path)
    yield mt
    while mt.active_run() is not None:
        mt.end_run()
    mt.set_store(None)
