"""The logging API's contract, held by both backends: the same calls into a local SQLite
store and into a tracking server give the same params, tags and metric histories. Where a
server cannot do what the SQLite store does, the difference is asserted as documented
(store/server/logging.py, store/server/tracking.py), not skipped."""

from __future__ import annotations

import math
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from contract_stores import Backend, backend_fixture  # noqa: F401

from mltop.store import MltopClient
from mltop.store.entities import Metric, Param, RunTag
from mltop.store.errors import (
    InvalidKeyError,
    InvalidStateError,
    InvalidValueError,
    ParamConflictError,
)
from mltop.store.server.tracking import ServerStore


@dataclass
class Api:
    """The logging API (a client, with its buffered writer) over a fresh store of either
    backend (on the shared server, "fresh" means experiments named with this test's prefix)."""

    kind: str
    client: MltopClient
    prefix: str

    def new_run(self) -> str:
        experiment_id = self.client.create_experiment(f"{self.prefix}{uuid.uuid4().hex}")
        run = self.client.create_run(experiment_id, run_name="r", log_system_info=False)
        return run.info.run_id

    def reader(self) -> MltopClient:
        """Another client of the same store."""
        backend = self.client.backend
        return MltopClient(backend.location if isinstance(backend, ServerStore) else backend.path)


@pytest.fixture
def api(backend: Backend) -> Iterator[Api]:
    client = MltopClient(backend.raw)
    yield Api(backend.kind, client, backend.prefix)
    client.close()


BIG = 2**62
KEYS = ["loss", "val/acc", "a.b-c d_e"]


def log_everything(client: MltopClient, run_id: str) -> None:
    """One script's worth of logging calls, the same for both backends."""
    client.log_param(run_id, "lr", 0.1)
    client.log_params(run_id, {"layers": 3, "name": "[bold]x[/]", "empty": ""})
    client.set_tag(run_id, "team", "vision")
    client.set_tags(run_id, {"note": "line one\nline two", "unicode": "naïve ✓"})
    for i in range(1500):  # more than one log-batch call
        client.log_metric(run_id, "loss", 1.0 / (i + 1), timestamp=1_000_000 + i, step=i)
    client.log_metrics(run_id, {"val/acc": 0.5, "a.b-c d_e": -2.0}, step=3, timestamp=5)
    client.log_metric(run_id, "special", math.nan, timestamp=10, step=0)
    client.log_metric(run_id, "special", math.inf, timestamp=11, step=BIG)
    client.log_metric(run_id, "special", -math.inf, timestamp=12, step=-BIG)
    client.log_metric(run_id, "special", 1e308, timestamp=13, step=1)
    client.log_metric(run_id, "special", -0.0, timestamp=14, step=2)
    client.log_metric(run_id, "zero_time", 7.0, timestamp=0, step=0)
    client.log_metric(run_id, "big_time", 8.0, timestamp=BIG, step=5)
    client.log_metric(run_id, "sync", 9.0, timestamp=20, step=1, synchronous=True)
    client.log_batch(
        run_id,
        metrics=[Metric("batch", float(i), 100 + i, i) for i in range(5)],
        params=[Param("optimizer", "adam")],
        tags=[RunTag("stage", "batch")],
    )
    client.flush()


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or (
        a == b and math.copysign(1, a) == math.copysign(1, b)
    )


def histories(client: MltopClient, run_id: str) -> dict[str, list[tuple[int, int, float]]]:
    keys = ["loss", "val/acc", "a.b-c d_e", "special", "zero_time", "big_time", "sync", "batch"]
    return {
        key: [(m.step, m.timestamp, m.value) for m in client.get_metric_history(run_id, key)]
        for key in keys
    }


def test_the_same_script_gives_the_same_run_on_both_backends(
    api: Api,
) -> None:
    client = api.client
    run_id = api.new_run()
    log_everything(client, run_id)
    reader = api.reader()
    run = reader.get_run(run_id)
    assert run.data.params == {
        "lr": "0.1",
        "layers": "3",
        "name": "[bold]x[/]",
        "empty": "",
        "optimizer": "adam",
    }
    user_tags = {k: v for k, v in run.data.tags.items() if not k.startswith(("mlflow.", "mltop."))}
    assert user_tags == {
        "team": "vision",
        "note": "line one\nline two",
        "unicode": "naïve ✓",
        "stage": "batch",
    }
    got = histories(reader, run_id)
    assert [(s, t) for s, t, _ in got["loss"]] == [(i, 1_000_000 + i) for i in range(1500)]
    assert [v for _, _, v in got["loss"]] == [1.0 / (i + 1) for i in range(1500)]
    assert got["val/acc"] == [(3, 5, 0.5)] and got["a.b-c d_e"] == [(3, 5, -2.0)]
    special = got["special"]
    expected_special = [
        (0, 10, math.nan),
        (BIG, 11, math.inf),
        (-BIG, 12, -math.inf),
        (1, 13, 1e308),
        (2, 14, 0.0),  # -0.0 reads back as 0.0 from both (SQLite keeps no signed zero)
    ]
    assert [(s, t) for s, t, _ in special] == [(s, t) for s, t, _ in expected_special]
    assert all(same(v, e) for (_, _, v), (_, _, e) in zip(special, expected_special, strict=True))
    assert got["zero_time"] == [(0, 0, 7.0)] and got["big_time"] == [(5, BIG, 8.0)]
    assert got["sync"] == [(1, 20, 9.0)]
    assert got["batch"] == [(i, 100 + i, float(i)) for i in range(5)]
    summary = run.data.summaries["special"]
    assert summary.count == 5 and summary.max == math.inf and summary.min == -math.inf


def test_a_param_changed_is_a_param_conflict(api: Api) -> None:
    client = api.client
    run_id = api.new_run()
    client.log_param(run_id, "lr", "0.1")
    client.log_param(run_id, "lr", "0.1")  # the same value again: fine
    with pytest.raises(ParamConflictError, match="'lr'"):
        client.log_param(run_id, "lr", "0.2")
    with pytest.raises(ParamConflictError):
        client.log_batch(run_id, params=[Param("lr", "0.3")])
    assert client.get_run(run_id).data.params == {"lr": "0.1"}


def test_bad_input_is_refused_before_anything_is_queued(
    api: Api,
) -> None:
    client = api.client
    run_id = api.new_run()
    with pytest.raises(InvalidKeyError):
        client.log_metric(run_id, "../up", 1.0)
    with pytest.raises(InvalidValueError):
        client.log_metric(run_id, "loss", "high")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError):
        client.log_metric(run_id, "loss", 1.0, step=2**63)
    with pytest.raises(InvalidValueError):
        client.log_batch(run_id, metrics=[Metric("m", 1.0, 0, i) for i in range(1001)])
    client.flush()
    assert client.get_run(run_id).data.summaries == {}


def test_logging_to_a_deleted_run_is_refused(api: Api) -> None:
    client = api.client
    run_id = api.new_run()
    client.log_metric(run_id, "loss", 1.0)
    client.delete_run(run_id)
    with pytest.raises(InvalidStateError, match="deleted"):
        client.log_metric(run_id, "loss", 2.0)
    client.restore_run(run_id)
    client.log_metric(run_id, "loss", 2.0, step=1)
    client.flush()
    assert [m.value for m in client.get_metric_history(run_id, "loss")] == [1.0, 2.0]


def test_a_run_ended_commits_its_points_first(api: Api) -> None:
    client = api.client
    run_id = api.new_run()
    for i in range(2000):
        client.log_metric(run_id, "loss", float(i), step=i)
    client.set_terminated(run_id, "FAILED")
    run = client.get_run(run_id)
    assert run.info.status == "FAILED" and run.info.end_time is not None
    assert run.data.summaries["loss"].count == 2000


# -- the documented differences ---------------------------------------------------------


def test_history_order_logging_order_or_the_servers_time_order(
    api: Api,
) -> None:
    """SQLite reads a history back in the order it was logged; a server in (timestamp,
    step, value) order, whatever the order the points arrived in."""
    name, client = api.kind, api.client
    run_id = api.new_run()
    client.log_metric(run_id, "late", 1.0, timestamp=2000, step=1)
    client.log_metric(run_id, "late", 0.0, timestamp=1000, step=0)
    client.flush()
    steps = [m.step for m in client.get_metric_history(run_id, "late")]
    assert steps == ([1, 0] if name == "sqlite" else [0, 1])


def test_a_point_logged_twice_is_kept_twice_or_once(api: Api) -> None:
    """SQLite keeps every point logged; a server keys a point by (key, timestamp, step,
    value) and keeps one (which is what makes a batch sent again after a failure safe)."""
    name, client = api.kind, api.client
    run_id = api.new_run()
    client.log_metric(run_id, "twice", 1.0, timestamp=5, step=0)
    client.log_metric(run_id, "twice", 1.0, timestamp=5, step=0)
    client.flush()
    count = len(client.get_metric_history(run_id, "twice"))
    assert count == (2 if name == "sqlite" else 1)


def test_the_largest_double_reads_back_as_infinity_on_a_server(
    api: Api,
) -> None:
    """MLflow's SQL store keeps an infinity as the largest double: a server reads that
    number back as +inf; SQLite keeps it as it was."""
    name, client = api.kind, api.client
    run_id = api.new_run()
    client.log_metric(run_id, "edge", sys.float_info.max)
    client.flush()
    (point,) = client.get_metric_history(run_id, "edge")
    assert point.value == (sys.float_info.max if name == "sqlite" else math.inf)
