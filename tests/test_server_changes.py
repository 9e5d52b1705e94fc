"""The change feed of a tracking server (polling snapshots), against a real MLflow server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mltop.store.entities import ChangeCursor, Metric
from mltop.store.server import convert
from mltop.store.server.rest import RestClient
from mltop.store.server.tracking import ServerStore

T0 = 1_700_000_000_000


class CountingRest(RestClient):
    """A RestClient that remembers the calls it made."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, method: str, endpoint: str, body: Any = None, **kwargs: Any) -> dict[str, Any]:
        self.calls.append((endpoint, dict(body or {})))
        return super().call(method, endpoint, body, **kwargs)


@pytest.fixture
def store(mlflow_server: Any, tmp_path: Path) -> Iterator[ServerStore]:
    s = ServerStore(mlflow_server.url, rest=CountingRest(mlflow_server.url), cache=tmp_path)
    s.poll_interval = 0.0
    yield s
    s.close()


def log(
    store: ServerStore, run_id: str, key: str, values: list[float], first_step: int = 0
) -> None:
    points = [
        Metric(key, v, T0 + 1000 * (first_step + i), first_step + i) for i, v in enumerate(values)
    ]
    store.rest.call(
        "POST",
        "runs/log-batch",
        {"run_id": run_id, "metrics": [convert.metric_to_json(p) for p in points]},
    )


def new_experiment(store: ServerStore) -> str:
    return store.create_experiment(f"changes-{uuid.uuid4().hex}")


def test_one_poll_sees_a_new_run_a_status_change_and_new_points(store: ServerStore) -> None:
    exp = new_experiment(store)
    running = store.create_run(exp, "running").info.run_id
    log(store, running, "loss", [1.0, 0.9])
    ending = store.create_run(exp, "ending").info.run_id
    cursor = store.cursor()

    fresh = store.create_run(exp, "fresh").info.run_id
    store.update_run(ending, status="FINISHED", end_time=T0 + 5000)
    log(store, running, "loss", [0.8, 0.7], first_step=2)
    changes = store.changes_since(cursor)

    assert {fresh, ending, running} <= set(changes.run_ids)
    loss = [(p.value, p.step, p.cursor) for p in changes.metrics if p.run_id == running]
    assert loss == [(0.8, 2, 3), (0.7, 3, 4)]
    assert changes.more is False
    assert changes.cursor.seq > cursor.seq

    quiet = store.changes_since(changes.cursor)
    assert running not in quiet.run_ids and fresh not in quiet.run_ids
    assert [p for p in quiet.metrics if p.run_id == running] == []


def test_only_the_new_part_of_a_history_is_read(store: ServerStore) -> None:
    exp = new_experiment(store)
    run_id = store.create_run(exp, "long").info.run_id
    log(store, run_id, "acc", [0.1, 0.2, 0.3])
    cursor = store.cursor()
    log(store, run_id, "acc", [0.4], first_step=3)
    first = store.changes_since(cursor)  # the key's first read: its whole history, once
    assert [(p.value, p.cursor) for p in first.metrics if p.run_id == run_id] == [(0.4, 4)]

    log(store, run_id, "acc", [0.5, 0.6], first_step=4)
    rest = store.rest
    assert isinstance(rest, CountingRest)
    rest.calls.clear()
    second = store.changes_since(first.cursor)
    assert [(p.value, p.cursor) for p in second.metrics if p.run_id == run_id] == [
        (0.5, 5),
        (0.6, 6),
    ]
    histories = [body for endpoint, body in rest.calls if endpoint == "metrics/get-history"]
    assert histories and all(body.get("page_token") for body in histories)  # from position 4


def test_a_metric_limit_leaves_the_rest_for_the_next_call(store: ServerStore) -> None:
    exp = new_experiment(store)
    run_id = store.create_run(exp, "many").info.run_id
    cursor = store.cursor()
    log(store, run_id, "x", [float(i) for i in range(5)])
    part = store.changes_since(cursor, metric_limit=3)
    assert part.more is True
    assert [p.value for p in part.metrics] == [0.0, 1.0, 2.0]
    rest = store.changes_since(part.cursor, metric_limit=3)
    assert [p.value for p in rest.metrics if p.run_id == run_id] == [3.0, 4.0]
    assert rest.more is False


def test_a_cursor_taken_on_another_store_of_the_server_works(
    store: ServerStore, mlflow_server: Any, tmp_path: Path
) -> None:
    exp = new_experiment(store)
    run_id = store.create_run(exp, "shared").info.run_id
    cursor = store.cursor()
    log(store, run_id, "m", [1.0])
    with ServerStore(mlflow_server.url, cache=tmp_path / "other") as other:
        changes = other.changes_since(cursor)
        assert [p.value for p in changes.metrics if p.run_id == run_id] == [1.0]
        # a cursor this process never made: every live run, read again by the readers
        unknown = other.changes_since(ChangeCursor(1, 0))
        assert run_id in unknown.run_ids and unknown.metrics == []


def _settle(store: ServerStore) -> None:
    """Call has_changed until a whole round of its requests sees nothing new."""
    quiet = 0
    for _ in range(30):
        quiet = 0 if store.has_changed() else quiet + 1
        if quiet >= 4:
            return
    raise AssertionError("has_changed never settled")


def _seen_within_a_round(store: ServerStore) -> bool:
    return any(store.has_changed() for _ in range(4))


def test_has_changed_sees_points_status_and_new_runs(store: ServerStore) -> None:
    exp = new_experiment(store)
    run_id = store.create_run(exp, "watched").info.run_id
    _settle(store)
    log(store, run_id, "loss", [0.5])
    assert _seen_within_a_round(store)
    _settle(store)
    store.update_run(run_id, status="FAILED", end_time=T0)
    assert _seen_within_a_round(store)
    _settle(store)
    other = new_experiment(store)
    store.create_run(other, "born finished", status="FINISHED")
    assert _seen_within_a_round(store)


def test_has_changed_asks_at_most_once_a_poll_interval(store: ServerStore) -> None:
    rest = store.rest
    assert isinstance(rest, CountingRest)
    assert ServerStore.poll_interval == 1.0  # the default: a look a second at most
    store.poll_interval = 3600.0
    store.has_changed()
    asked = len(rest.calls)
    assert asked <= 1
    for _ in range(5):
        assert store.has_changed() is False
    assert len(rest.calls) == asked


def test_activity_and_tails_for_the_live_views(store: ServerStore) -> None:
    exp = new_experiment(store)
    run_id = store.create_run(exp, "live").info.run_id
    log(store, run_id, "loss", [1.0, 0.5, 0.25])
    log(store, run_id, "system/gpu_0_utilization_percentage", [90.0, 5.0, 1.0])
    idle = store.create_run(exp, "idle").info.run_id
    activity = store.metric_activity([run_id, idle, "0" * 32])
    assert activity == {run_id: (T0 + 2000, 3)}
    tails = store.metric_tails([run_id, idle], "system/gpu_", T0 + 1000, limit=5)
    points = tails[run_id]["system/gpu_0_utilization_percentage"]
    assert [(p.value, p.timestamp) for p in points] == [(5.0, T0 + 1000), (1.0, T0 + 2000)]
    assert list(tails) == [run_id]
    later = store.metric_tails([run_id], "system/gpu_", T0 + 10_000)
    assert later == {run_id: {"system/gpu_0_utilization_percentage": []}}


def test_has_changed_sees_the_registry_change(store: ServerStore) -> None:
    """A move, an alias, a new version: the registry's readers must read again."""
    name = f"feed-{uuid.uuid4().hex}"
    run = store.create_run(new_experiment(store), "source")
    registry = store.registry
    registry.create_registered_model(name)
    registry.create_model_version(name, f"runs:/{run.info.run_id}/model", run.info.run_id)
    _settle(store)
    registry.create_model_version(name, f"runs:/{run.info.run_id}/model", run.info.run_id)
    assert _seen_within_a_round(store)
    _settle(store)
    registry.set_alias(name, "champion", 2)
    assert _seen_within_a_round(store)
    _settle(store)
    registry.transition(name, 1, "Staging", "tried")
    assert _seen_within_a_round(store)
    _settle(store)
    assert not _seen_within_a_round(store)
    # What the feed reports for it: no run, no point; the readers read again.
    cursor = store.cursor()
    registry.delete_alias(name, "champion")
    changes = store.changes_since(cursor)
    assert not changes.run_ids and not changes.metrics
