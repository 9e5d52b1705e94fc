"""ServerStore apart from the contract: an unreachable server, how a URL is opened, the
JSON conversions (convert.py) on what a server may send, and the CLI over a server."""

from __future__ import annotations

import json
import math
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from server_fixture import MlflowServer, free_port
from test_server_rest import Stub

from mltop.store import (
    InvalidStateError,
    InvalidValueError,
    Metric,
    StoreReadOnlyError,
    open_store,
    resolve_store_path,
)
from mltop.store.entities import MODEL_FAILED, MODEL_PENDING, MODEL_READY
from mltop.store.server import convert
from mltop.store.server.artifacts import proxied_root
from mltop.store.server.rest import ServerError, ServerRefusedError, ServerUnreachableError
from mltop.store.server.tracking import ServerStore, cache_folder
from mltop.tui.cli import main


@pytest.fixture
def nowhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A URL nothing listens at; one quick retry; the cache under tmp_path."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return f"http://127.0.0.1:{free_port()}"


def test_an_unreachable_server_is_a_typed_error_and_makes_nothing_locally(
    nowhere: str, tmp_path: Path
) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    store = open_store(nowhere)
    assert isinstance(store, ServerStore)
    assert store.location == nowhere
    with pytest.raises(ServerUnreachableError, match="cannot be reached"):
        store.check()
    with pytest.raises(ServerUnreachableError):
        store.check(write=True)
    with pytest.raises(ServerUnreachableError):
        store.get_experiment("1")
    with pytest.raises(ServerUnreachableError):
        store.list_experiments()
    with pytest.raises(ServerUnreachableError):
        store.get_run("0123456789abcdef0123456789abcdef")
    with pytest.raises(ServerUnreachableError):
        store.create_experiment("x")
    store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no cache, no .mltop/
    assert not (tmp_path / "cache").exists()


def test_refused_credentials_and_odd_answers_are_typed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    refusing = Stub([(401, {"Content-Type": "application/json"}, b'{"message": "no"}')])
    odd = Stub(
        [
            (200, {"Content-Type": "application/json"}, b'{"run": "not a run"}'),
            (200, {"Content-Type": "text/html"}, b"<html>a login page</html>"),
        ]
    )
    try:
        store = open_store(refusing.url)
        with pytest.raises(ServerRefusedError, match="MLFLOW_TRACKING_TOKEN"):
            store.check()
        with pytest.raises(ServerRefusedError):
            store.get_run("0123456789abcdef0123456789abcdef")
        other = open_store(odd.url)
        with pytest.raises(ServerError, match="malformed"):
            other.get_run("0123456789abcdef0123456789abcdef")
        with pytest.raises(ServerError, match="not JSON"):
            other.get_run("0123456789abcdef0123456789abcdef")
    finally:
        refusing.close()
        odd.close()
    assert not (tmp_path / "cache").exists()


def test_a_url_from_mltop_store_opens_a_server_and_is_no_folder(
    nowhere: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLTOP_STORE", nowhere + "/")
    store = open_store()
    assert isinstance(store, ServerStore)
    assert store.location == nowhere  # normalised: no trailing slash
    assert store.path == cache_folder(nowhere)
    assert store.path.is_relative_to(tmp_path / "cache" / "mltop" / "servers")
    assert cache_folder(nowhere) != cache_folder(nowhere + "/prefix")
    with pytest.raises(InvalidValueError, match="tracking server"):
        resolve_store_path()  # what needs a folder still refuses a URL


def test_read_only_refuses_writes_before_calling(nowhere: str) -> None:
    store = open_store(nowhere, read_only=True)
    assert store.read_only
    with pytest.raises(StoreReadOnlyError):
        store.create_experiment("x")
    with pytest.raises(StoreReadOnlyError):
        store.set_tags("0123456789abcdef0123456789abcdef", {"a": "b"})


# -- conversions ------------------------------------------------------------------------


def test_metric_values_as_mlflow_writes_them() -> None:
    assert math.isnan(convert.value_from_json("NaN"))
    assert convert.value_from_json("Infinity") == math.inf
    assert convert.value_from_json("-Infinity") == -math.inf
    assert convert.value_from_json(sys.float_info.max) == math.inf  # MLflow's SQL store's inf
    assert convert.value_from_json(-sys.float_info.max) == -math.inf
    assert convert.value_from_json(3) == 3.0 and convert.value_from_json("2.5") == 2.5
    assert [convert.value_to_json(v) for v in (math.nan, math.inf, -math.inf, 1.5)] == [
        "NaN",
        "Infinity",
        "-Infinity",
        1.5,
    ]
    point = convert.metric_to_json(Metric("loss", math.nan, 5, 2))
    assert json.loads(json.dumps(point, allow_nan=False)) == {
        "key": "loss",
        "value": "NaN",
        "timestamp": 5,
        "step": 2,
    }
    for bad in ("fast", None, True, [1], {"v": 1}):
        with pytest.raises(ServerError, match="malformed"):
            convert.value_from_json(bad)


def test_a_run_falls_back_on_its_tags_and_keeps_only_the_latest_points() -> None:
    run = convert.run_from_json(
        {
            "info": {
                "run_uuid": "a" * 32,
                "experiment_id": "4",
                "status": "FINISHED",
                "start_time": "1000",
                "end_time": 2000,
                "artifact_uri": "mlflow-artifacts:/4/aaa/artifacts",
                "lifecycle_stage": "active",
            },
            "data": {
                "metrics": [{"key": "m", "value": "-Infinity", "timestamp": "7", "step": "3"}],
                "tags": [
                    {"key": "mlflow.runName", "value": "named-by-tag"},
                    {"key": "mlflow.user", "value": "ada"},
                    {"key": "mlflow.parentRunId", "value": "b" * 32},
                ],
            },
        }
    )
    info = run.info
    assert (info.run_id, info.run_name, info.user_id, info.parent_run_id) == (
        "a" * 32,
        "named-by-tag",
        "ada",
        "b" * 32,
    )
    assert (info.start_time, info.end_time, info.heartbeat_time, info.lost) == (
        1000,
        2000,
        None,
        False,
    )
    summary = run.data.summaries["m"]
    assert (summary.value, summary.step, summary.timestamp) == (-math.inf, 3, 7)
    assert run.inputs.dataset_inputs == ()


def test_malformed_answers_are_server_errors_not_crashes() -> None:
    for bad in (None, [], "text", {"info": "x"}, {"info": {}}):
        with pytest.raises(ServerError):
            convert.run_from_json(bad)
    with pytest.raises(ServerError):
        convert.experiment_from_json({"experiment_id": "1", "tags": "not a list"})
    with pytest.raises(ServerError):
        convert.metric_from_json({"key": "m", "value": 1, "timestamp": "soon", "step": 0})
    with pytest.raises(ServerError):
        convert.logged_model_from_json({"info": {"model_id": "m-1", "status": "ODD"}})


def test_logged_model_statuses_and_fields() -> None:
    statuses = {
        "LOGGED_MODEL_PENDING": MODEL_PENDING,
        "LOGGED_MODEL_READY": MODEL_READY,
        "LOGGED_MODEL_UPLOAD_FAILED": MODEL_FAILED,
    }
    for name, ours in statuses.items():
        model = convert.logged_model_from_json(
            {
                "info": {
                    "model_id": "m-abc",
                    "experiment_id": "2",
                    "name": "net",
                    "creation_timestamp_ms": 10,
                    "artifact_uri": "mlflow-artifacts:/2/models/m-abc/artifacts",
                    "status": name,
                    "tags": [{"key": "t", "value": "v"}],
                },
                "data": {
                    "params": [{"key": "p", "value": "1"}],
                    "metrics": [{"key": "acc", "value": "NaN", "timestamp": 1, "step": 0}],
                },
            }
        )
        assert model.status == ours
        assert convert.model_status_to_json(ours) == name
        assert (model.last_updated_timestamp, model.tags, model.params) == (
            10,
            {"t": "v"},
            {"p": "1"},
        )
        assert math.isnan(model.metrics[0].value)


def test_only_proxied_artifact_locations_are_reached() -> None:
    assert proxied_root("mlflow-artifacts:/3/abc/artifacts") == "3/abc/artifacts"
    assert proxied_root("mlflow-artifacts://host:5000/3/abc/artifacts") == "3/abc/artifacts"
    for other in ("s3://bucket/3/abc/artifacts", "/srv/mlruns/3/abc", "mlflow-artifacts:/a/../b"):
        with pytest.raises(InvalidStateError):
            proxied_root(other)


# -- the command line over a server ------------------------------------------------------


def test_the_cli_lists_a_servers_experiments(
    mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    name = f"cli-{tmp_path.name}"
    store = ServerStore(mlflow_server.url)
    # check(): raises what stops the store; returns whether it was replaced (a SQLite
    # store's file can be, and a live view then starts over): a server never is.
    assert store.check() is False and store.check(write=True) is False
    exp = store.create_experiment(name, {"team": "cli"})
    store.create_run(exp, "one")
    result = CliRunner().invoke(
        main, ["experiments", "list", "--json", "--store", mlflow_server.url]
    )
    assert result.exit_code == 0, result.output
    found = [e for e in json.loads(result.output) if e["name"] == name]
    assert len(found) == 1 and found[0]["experiment_id"] == exp


def test_the_live_follower_polls_a_server(
    mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import threading
    import time

    from mltop.tui.live import StoreFollower

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    store = open_store(mlflow_server.url)
    assert store.location == mlflow_server.url
    heard: list[str] = []
    errors: list[Exception] = []
    got = threading.Event()

    def on_changes(changes: Any) -> None:
        heard.extend(changes.run_ids)
        got.set()

    follower = StoreFollower(store.location, on_changes, on_error=errors.append, poll=0.2)
    assert follower.store_path is None  # no folder to watch: polled
    follower.start()
    # Its store asks the server at most once a poll: this follower's 0.2 s, not the 1 s default.
    assert getattr(follower._store, "poll_interval", None) == 0.2
    try:
        exp = store.create_experiment(f"live-{tmp_path.name}")
        run_id = store.create_run(exp, "followed").info.run_id
        deadline = time.monotonic() + 60
        while run_id not in heard and time.monotonic() < deadline:
            got.wait(0.5)
            got.clear()
    finally:
        follower.stop()
    assert run_id in heard
    assert errors == []
    assert not (tmp_path / "cache").exists()


def test_mltop_run_refuses_a_server_clearly(mlflow_server: MlflowServer, tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text("print('never run')\n")
    result = CliRunner().invoke(main, ["--store", mlflow_server.url, "run", str(script)])
    assert result.exit_code == 1
    assert "works on a local store" in result.output
    assert "never run" not in result.output


def test_a_read_only_server_store_refuses_registry_changes_too() -> None:
    from mltop.store import StoreReadOnlyError, open_store

    store = open_store(f"http://127.0.0.1:{free_port()}", read_only=True)
    with pytest.raises(StoreReadOnlyError):
        store.registry.create_registered_model("anything")
    with pytest.raises(StoreReadOnlyError):
        store.registry.set_alias("anything", "champion", 1)


def test_more_tags_than_one_log_batch_takes(mlflow_server: MlflowServer) -> None:
    """MLflow takes at most 100 tags a call: 250 go in three."""
    from mltop.store import open_store

    store = open_store(mlflow_server.url)
    run = store.create_run(store.create_experiment(f"tags-{uuid.uuid4().hex}"), "many tags")
    tags = {f"t{i:03d}": str(i) for i in range(250)}
    store.set_tags(run.info.run_id, tags)
    got = store.get_run(run.info.run_id).data.tags
    assert {k: got[k] for k in tags} == tags


def _counting_history_calls(store: ServerStore, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The offsets of every metrics/get-history page read from here on."""
    offsets: list[int] = []
    page = ServerStore._history_page

    def counted(self, run_id, key, offset, size):  # type: ignore[no-untyped-def]
        offsets.append(offset)
        return page(self, run_id, key, offset, size)

    monkeypatch.setattr(ServerStore, "_history_page", counted)
    return offsets


def _points(n: int, start: int = 0, stamp: int = 1_000) -> list[Any]:
    from mltop.store import Metric

    return [Metric("loss", float(i), stamp + i, i) for i in range(start, start + n)]


def _log(store: ServerStore, run_id: str, points: list[Any]) -> None:
    """Points written straight to the server (as another process's client would)."""
    for start in range(0, len(points), 1000):
        store.rest.call(
            "POST",
            "runs/log-batch",
            {
                "run_id": run_id,
                "metrics": [convert.metric_to_json(m) for m in points[start : start + 1000]],
            },
        )


def test_a_history_is_read_once_then_read_on(
    mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's summaries read the history; the chart's read of it then costs one page (read
    on from the last point, to see what is new), not the whole again; new points come from
    the read-on, in order, with their cursors."""
    store = ServerStore(mlflow_server.url)
    store.history_page = 1_000
    run_id = store.create_run(
        store.create_experiment(f"kept-{uuid.uuid4().hex}"), "kept"
    ).info.run_id
    _log(store, run_id, _points(3_500))
    offsets = _counting_history_calls(store, monkeypatch)
    assert store.get_run(run_id).data.summaries["loss"].count == 3_500
    assert offsets == [0, 1_000, 2_000, 3_000]  # the whole history, once
    offsets.clear()
    history = store.get_metric_history(run_id, "loss")
    assert [p.step for p in history] == list(range(3_500)) and offsets == [3_499]
    assert [p.cursor for p in history[:2]] == [1, 2] and history[0].run_id == run_id
    _log(store, run_id, _points(10, start=3_500))
    offsets.clear()
    assert [p.step for p in store.get_metric_history(run_id, "loss", after=3_500)] == list(
        range(3_500, 3_510)
    )
    assert offsets == [3_499]
    assert store.get_run(run_id).data.summaries["loss"].count == 3_510
    assert store.get_metric_blocks(run_id, "loss")[1][-1].step == 3_509


def test_a_history_changed_under_the_reader_is_read_again_whole(
    mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A point logged later with an older time lands before those read (the server orders a
    history by time): the read-on sees the last point moved, and reads it whole again."""
    store = ServerStore(mlflow_server.url)
    run_id = store.create_run(
        store.create_experiment(f"moved-{uuid.uuid4().hex}"), "moved"
    ).info.run_id
    _log(store, run_id, _points(5, stamp=1_000))
    assert [p.step for p in store.get_metric_history(run_id, "loss")] == [0, 1, 2, 3, 4]
    _log(store, run_id, _points(1, start=99, stamp=10))  # older than all
    offsets = _counting_history_calls(store, monkeypatch)
    assert [p.step for p in store.get_metric_history(run_id, "loss")] == [99, 0, 1, 2, 3, 4]
    assert offsets == [4, 0]
    assert store.get_run(run_id).data.summaries["loss"].count == 6


def test_kept_points_are_bounded_and_what_was_let_go_is_read_again(
    mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mltop.store.server import tracking

    monkeypatch.setattr(tracking, "POINTS_KEPT", 150)
    store = ServerStore(mlflow_server.url)
    exp = store.create_experiment(f"bounded-{uuid.uuid4().hex}")
    runs = [store.create_run(exp, f"r{i}").info.run_id for i in range(3)]
    for run_id in runs:
        _log(store, run_id, _points(100))
    first, second, third = (store.get_metric_history(r, "loss") for r in runs)
    kept = [s for s in store._seen.values() if s.points is not None]
    assert sum(len(s.points) for s in kept) <= 150 and len(kept) == 1  # the newest only
    offsets = _counting_history_calls(store, monkeypatch)
    assert store.get_metric_history(runs[0], "loss") == first  # let go: read whole again
    assert offsets == [0]
    offsets.clear()
    assert store.get_run(runs[1]).data.summaries["loss"].count == 100  # a summary kept
    assert offsets == [99]  # read on from its last point, though its points were let go
    assert third == store.get_metric_history(runs[2], "loss") and second[-1].step == 99


def test_two_threads_reading_one_history_double_no_point(mlflow_server: MlflowServer) -> None:
    import threading

    store = ServerStore(mlflow_server.url)
    store.history_page = 500
    run_id = store.create_run(store.create_experiment(f"twice-{uuid.uuid4().hex}"), "t").info.run_id
    _log(store, run_id, _points(2_000))
    store.get_run(run_id)
    _log(store, run_id, _points(1_000, start=2_000))
    got: list[list[int]] = []
    threads = [
        threading.Thread(
            target=lambda: got.append([p.step for p in store.get_metric_history(run_id, "loss")])
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got == [list(range(3_000))] * 4
    assert store.get_run(run_id).data.summaries["loss"].count == 3_000
