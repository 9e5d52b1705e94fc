"""The store's entities: frozen dataclasses shaped like MLflow's so scripts carry over."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import NamedTuple

RUNNING, SCHEDULED, FINISHED, FAILED, KILLED = (
    "RUNNING",
    "SCHEDULED",
    "FINISHED",
    "FAILED",
    "KILLED",
)
RUN_STATUSES = (RUNNING, SCHEDULED, FINISHED, FAILED, KILLED)
TERMINAL_STATUSES = (FINISHED, FAILED, KILLED)
LOST = "LOST"  # shown, never stored: a RUNNING run whose heartbeat went stale
LOST_AFTER_INTERVALS = 3  # heartbeats missed before a RUNNING run is shown as LOST

ACTIVE, DELETED = "active", "deleted"
VIEWS = ("active", "deleted", "all")

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"


def now_ms() -> int:
    """Now, as MLflow keeps times: integer milliseconds since the epoch."""
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    lifecycle_stage: str
    creation_time: int
    last_update_time: int
    tags: dict[str, str] = field(default_factory=dict)


class RunInfo(NamedTuple):
    """A run's attributes (a named tuple: a dashboard builds ten thousand at once)."""

    run_id: str
    run_name: str
    experiment_id: str
    user_id: str
    status: str
    start_time: int | None
    end_time: int | None
    lifecycle_stage: str
    parent_run_id: str | None
    artifact_uri: str
    heartbeat_time: int | None
    heartbeat_interval_ms: int
    lost: bool = False

    @property
    def display_status(self) -> str:
        """The status a reader should show: LOST for a RUNNING run whose writer is gone."""
        return LOST if self.lost else self.status

    def at(self, now: int) -> RunInfo:
        """This info with `lost` judged at `now` (ms): RUNNING, and heartbeats missed."""
        lost = (
            self.status == RUNNING
            and self.heartbeat_time is not None
            and now - self.heartbeat_time > LOST_AFTER_INTERVALS * self.heartbeat_interval_ms
        )
        return self if lost == self.lost else self._replace(lost=lost)


class MetricSummary(NamedTuple):
    """Per (run, key): the latest point (highest step, then timestamp) and min/max/count.

    min and max ignore NaN; they are NaN only when every point is NaN. (A named tuple, not a
    dataclass: searches build tens of thousands of these, and charts read millions of
    Metric points.)
    """

    key: str
    value: float
    step: int
    timestamp: int
    min: float
    max: float
    count: int  # type: ignore[assignment]  # shadows tuple.count, as MLflow-like data


class RunData(NamedTuple):
    params: dict[str, str]
    tags: dict[str, str]
    summaries: dict[str, MetricSummary]
    # Metric keys of the run left out of `summaries` (read with `max_metrics`): 0 when
    # `summaries` holds them all.
    more_metrics: int = 0

    @property
    def metrics(self) -> dict[str, float]:
        """Latest value of each metric, as MLflow's `run.data.metrics`."""
        return {key: s.value for key, s in self.summaries.items()}


class Run(NamedTuple):
    info: RunInfo
    data: RunData


class RunRow(NamedTuple):
    """A run as a table of runs shows it: its attributes, params and each metric's latest
    value (NaN for a NaN). Read several times faster than a `Run`, without tags and the
    metrics' min, max and counts: a dashboard reads ten thousand of these at once."""

    info: RunInfo
    params: dict[str, str]
    metrics: dict[str, float]
    # The run has more metric keys than a row holds (ROW_METRICS, the first it logged).
    metrics_cut: bool = False


class Metric(NamedTuple):
    """One logged point. `cursor` orders points store-wide: read on after it."""

    key: str
    value: float
    step: int
    timestamp: int
    run_id: str
    cursor: int


@dataclass(frozen=True)
class FileInfo:
    path: str
    is_dir: bool
    size: int | None


@dataclass(frozen=True)
class ChangeCursor:
    """Where a live reader is: the last change sequence and the last metric row it has seen."""

    seq: int = 0
    metric_id: int = 0


@dataclass(frozen=True)
class Changes:
    experiment_ids: list[str]
    run_ids: list[str]
    metrics: list[Metric]
    cursor: ChangeCursor
    more: bool


STAGES = ("None", "Staging", "Production", "Archived")


READY = "READY"  # a model version's status: ours are ready once registered, as in MLflow


@dataclass(frozen=True)
class ModelVersion:
    """A registered model's version, with MLflow's field names in MLflow's order.

    `version` is an int, as MLflow's SQL store returns it; every method taking a version
    also takes its text ("3")."""

    name: str
    version: int
    creation_timestamp: int
    last_updated_timestamp: int
    description: str = ""
    user_id: str = ""
    current_stage: str = "None"
    source: str = ""
    run_id: str = ""
    status: str = READY
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    run_link: str | None = None
    aliases: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RegisteredModel:
    """A registered model, with MLflow's field names; `policy` and `latest_by_stage` are
    mltop's."""

    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str = ""
    # The newest version in each stage (MLflow's `latest_versions`), by stage.
    latest_versions: list[ModelVersion] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    policy: str | None = None  # the filter a version's run must pass to enter Production

    @property
    def latest_by_stage(self) -> dict[str, int]:
        """Stage -> the newest version in it."""
        return {v.current_stage: v.version for v in self.latest_versions}


@dataclass(frozen=True)
class TransitionRecord:
    """One row of a model's append-only log: a stage move, a rollback or an alias change."""

    id: int
    name: str  # the model's name at the time
    version: int
    kind: str  # transition, rollback, alias_set, alias_delete
    from_stage: str | None
    to_stage: str | None
    alias: str | None
    from_version: int | None  # alias moves: the version the alias left
    user_id: str
    time: int
    comment: str
    archived: tuple[int, ...]
    policy: dict | None  # PolicyResult.as_dict(), when a policy was checked
    forced: bool
