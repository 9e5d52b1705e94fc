"""The store's entities: frozen dataclasses shaped like MLflow's so scripts carry over."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

from mltop.store.errors import InvalidValueError

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
    # Where the experiment's runs keep their artifacts: `<store>/artifacts` (each run's
    # under its id), as MLflow's `Experiment.artifact_location` says where its runs' are.
    artifact_location: str = ""


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


# The input tag holding the context a dataset was used in ("training", "eval", ...), as
# MLflow names it: `log_input(dataset, context=...)` sets it, `dataset.context` searches it.
DATASET_CONTEXT_TAG = "mlflow.data.context"


@dataclass(frozen=True)
class Dataset:
    """A dataset a run used, as stored: MLflow's `mlflow.entities.Dataset` fields, in its
    order. `source` and `schema` and `profile` are text (JSON from `mltop.store.data`'s
    constructors); `digest` tells versions of one name apart. Stored once per experiment
    and (name, digest): the first logged wins."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None

    def to_dictionary(self) -> dict[str, str | None]:
        return {
            "name": self.name,
            "digest": self.digest,
            "source_type": self.source_type,
            "source": self.source,
            "schema": self.schema,
            "profile": self.profile,
        }


@dataclass(frozen=True)
class InputTag:
    key: str
    value: str


@dataclass(frozen=True, init=False)
class DatasetInput:
    """A dataset as one run's input, with the input's tags (the context among them)."""

    dataset: Dataset
    tags: tuple[InputTag, ...]

    def __init__(self, dataset: Dataset, tags: Sequence[InputTag] | None = None) -> None:
        object.__setattr__(self, "dataset", dataset)
        object.__setattr__(self, "tags", tuple(tags or ()))

    @property
    def context(self) -> str | None:
        """The value of the input tag `mlflow.data.context`, None without one."""
        found = None
        for tag in self.tags:
            if tag.key == DATASET_CONTEXT_TAG:
                found = tag.value
        return found


class RunInputs(NamedTuple):
    """What a run used: its dataset inputs in the order first logged. (`model_inputs`:
    MLflow's logged models as inputs, always empty here for now.)"""

    dataset_inputs: tuple[DatasetInput, ...] = ()
    model_inputs: tuple[object, ...] = ()


NO_INPUTS = RunInputs()


class Run(NamedTuple):
    info: RunInfo
    data: RunData
    inputs: RunInputs = NO_INPUTS


class Extremes(NamedTuple):
    """A metric's smallest and largest value (ignoring NaN; NaN when every point is NaN),
    each with the step of the first point holding it (None where not known)."""

    min: float
    min_step: int | None
    max: float
    max_step: int | None


class RunRow(NamedTuple):
    """A run as a table of runs shows it: its attributes, params, each metric's latest
    value (NaN for a NaN) and its extremes (best so far). Read several times faster than a
    `Run`, without tags and counts: a dashboard reads ten thousand of these at once."""

    info: RunInfo
    params: dict[str, str]
    metrics: dict[str, float]
    # The run has more metric keys than a row holds (ROW_METRICS, the first it logged).
    metrics_cut: bool = False
    extremes: dict[str, Extremes] | None = None  # by metric key, as `metrics`


class Metric(NamedTuple):
    """One logged point, in MLflow's field order: `Metric(key, value, timestamp, step)` is
    what a script builds for `log_batch`, as it does for MLflow. Read back, a point also
    names its run, and `cursor` orders points store-wide: read on after it."""

    key: str
    value: float
    timestamp: int
    step: int
    run_id: str = ""
    cursor: int = 0


@dataclass(frozen=True)
class FileInfo:
    path: str
    is_dir: bool
    size: int | None

    @property
    def file_size(self) -> int | None:
        """MLflow's name for `size`."""
        return self.size


@dataclass(frozen=True)
class Capabilities:
    """What a kind of store can do, for front ends to show what it cannot rather than hide
    it. A local SQLite store can do everything; a tracking server cannot all of it."""

    heartbeats: bool = True  # a RUNNING run whose process died turns LOST
    file_events: bool = True  # a change is heard at once (else: looked for every few seconds)
    transition_log: bool = True  # every registry move is in a table (else: mltop's own tags)
    model_checksums: bool = True  # a logged model's files are checksummed when it is READY

    def limits(self) -> list[str]:
        """What this store cannot do, each in a sentence a user can act on."""
        said = []
        if not self.heartbeats:
            said.append("no heartbeats: a run whose process died stays RUNNING until it is ended")
        if not self.file_events:
            said.append(
                "changes are looked for by polling (mltop ui --poll SECONDS), not heard at once"
            )
        if not self.transition_log:
            said.append(
                "registry history is what mltop recorded as tags: moves made by other "
                "clients show as made outside mltop"
            )
        if not self.model_checksums:
            said.append("logged models' files have no checksums to verify")
        return said


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


# A logged model's status (MLflow 3's LoggedModelStatus): PENDING while its files are being
# written, READY once complete, FAILED when saving failed.
MODEL_PENDING, MODEL_READY, MODEL_FAILED = "PENDING", "READY", "FAILED"
LOGGED_MODEL_STATUSES = (MODEL_PENDING, MODEL_READY, MODEL_FAILED)


class LoggedModelMetric(NamedTuple):
    """One metric point of a logged model: what it scored, on which run and dataset."""

    key: str
    value: float
    timestamp: int
    step: int
    run_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


@dataclass(frozen=True)
class LoggedModel:
    """A model saved from a run (or on its own), as MLflow 3's `LoggedModel`: its files are
    in `artifact_location`, a folder inside the store."""

    model_id: str  # "m-" and 32 hex digits
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    model_type: str | None = None
    source_run_id: str | None = None
    status: str = MODEL_READY
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[LoggedModelMetric] = field(default_factory=list)
    lifecycle_stage: str = ACTIVE

    @property
    def model_uri(self) -> str:
        return f"models:/{self.model_id}"


class RunModel(NamedTuple):
    """A logged model a run produced (`direction` "output", at `step`) or used ("input")."""

    model_id: str
    direction: str
    step: int = 0


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
    # transition, rollback, alias_set, alias_delete, rename (its `name` is the old name),
    # delete_version (from_stage: the stage it left), delete_model (version 0)
    kind: str
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


class ViewType:
    """Which runs or experiments a search sees, as MLflow's `ViewType` (its integers)."""

    ACTIVE_ONLY, DELETED_ONLY, ALL = 1, 2, 3
    _NAMES: ClassVar[dict[int, str]] = {1: "active_only", 2: "deleted_only", 3: "all"}
    _VIEWS: ClassVar[dict[int, str]] = {
        1: "active",
        2: "deleted",
        3: "all",
    }  # mltop's `view` strings

    @classmethod
    def from_string(cls, view_str: str) -> int:
        for number, name in cls._NAMES.items():
            if name == view_str:
                return number
        raise InvalidValueError(
            f"no view type {view_str!r}; the view types are {list(cls._NAMES.values())}"
        )

    @classmethod
    def to_string(cls, view_type: int) -> str:
        if view_type not in cls._NAMES:
            raise InvalidValueError(f"no view type {view_type!r}; the view types are 1, 2 and 3")
        return cls._NAMES[view_type]

    @classmethod
    def to_view(cls, view_type: int) -> str:
        """mltop's `view` string ("active", "deleted", "all") for an MLflow view type."""
        if isinstance(view_type, bool) or view_type not in cls._VIEWS:
            raise InvalidValueError(
                f"run_view_type must be ViewType.ACTIVE_ONLY, DELETED_ONLY or ALL (1, 2, 3), "
                f"not {view_type!r}"
            )
        return cls._VIEWS[view_type]


class Param(NamedTuple):
    """A parameter to log with `log_batch`, as MLflow's `Param(key, value)`."""

    key: str
    value: str


class RunTag(NamedTuple):
    """A tag to log with `log_batch`, as MLflow's `RunTag(key, value)`."""

    key: str
    value: str


class RunStatus:
    """MLflow's `RunStatus`: the statuses as numbers, and their names (what mltop stores)."""

    _NAMES: ClassVar[dict[int, str]] = dict(enumerate(RUN_STATUSES, start=1))
    RUNNING, SCHEDULED, FINISHED, FAILED, KILLED = 1, 2, 3, 4, 5

    @classmethod
    def to_string(cls, status: int) -> str:
        if status not in cls._NAMES:
            raise ValueError(f"unknown run status {status!r}")
        return cls._NAMES[status]

    @classmethod
    def from_string(cls, name: str) -> int:
        for number, text in cls._NAMES.items():
            if text == name:
                return number
        raise ValueError(f"unknown run status {name!r}: expected one of {RUN_STATUSES}")

    @classmethod
    def is_terminated(cls, status: int) -> bool:
        return status in (cls.FINISHED, cls.FAILED, cls.KILLED)

    @classmethod
    def all_status(cls) -> list[int]:
        return list(cls._NAMES)


class LifecycleStage:
    """MLflow's `LifecycleStage`: the values of `lifecycle_stage`."""

    ACTIVE = ACTIVE
    DELETED = DELETED
