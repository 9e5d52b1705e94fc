"""mltop's store and logging API.

from mltop import store as mt

mt.set_experiment("resnet-cifar")
with mt.start_run(run_name="lr-0.1") as run:
    mt.log_params({"lr": 0.1})
    mt.log_metric("loss", 0.5, step=1)
"""

from __future__ import annotations

import os

from mltop.store.client import MltopClient
from mltop.store.entities import (
    FAILED,
    FINISHED,
    KILLED,
    LOST,
    RUNNING,
    SCHEDULED,
    ChangeCursor,
    Changes,
    Experiment,
    FileInfo,
    Metric,
    MetricSummary,
    Run,
    RunData,
    RunInfo,
    RunRow,
    now_ms,
)
from mltop.store.errors import (
    ActiveRunError,
    AlreadyExistsError,
    ArtifactPathError,
    CommentRequiredError,
    FilterError,
    InvalidKeyError,
    InvalidStateError,
    InvalidValueError,
    MetricWriteError,
    MltopError,
    NotAStoreError,
    NotFoundError,
    PageTokenError,
    ParamConflictError,
    PlanChangedError,
    PolicyError,
    SchemaTooNewError,
    StoreBusyError,
    StoreCorruptError,
    StoreError,
    StoreFullError,
    StoreIOError,
    StoreNotFoundError,
    StoreReadOnlyError,
    ValidationError,
)
from mltop.store.fluent import (
    ActiveRun,
    active_run,
    delete_tag,
    end_run,
    flush,
    get_client,
    get_experiment,
    get_experiment_by_name,
    get_run,
    get_store,
    log_artifact,
    log_artifacts,
    log_dict,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_text,
    search_runs,
    set_experiment,
    set_store,
    set_tag,
    set_tags,
    start_run,
)
from mltop.store.fluent_registry import register_model
from mltop.store.location import resolve_store_path
from mltop.store.protocols import (
    ArtifactAccess,
    ChangeFeed,
    ModelRegistry,
    RunSearch,
    StoreHandle,
    TrackingReader,
    TrackingStore,
    TrackingWriter,
)
from mltop.store.query.paging import PagedList
from mltop.store.sqlite.database import BUSY_TIMEOUT_S, upgrade_pending
from mltop.store.sqlite.tracking import ROW_METRICS, Store


def open_store(
    path: str | os.PathLike[str] | None = None,
    *,
    create: bool = True,
    busy_timeout: float = BUSY_TIMEOUT_S,
    read_only: bool | None = None,
) -> TrackingStore:
    """The store at `path` (else `MLTOP_STORE`, else the nearest `.mltop/`), typed as the
    Protocols front ends use. Today every store is the SQLite backend's `Store`; a store
    of another kind (a tracking server's URL) is chosen here, and nowhere else."""
    return Store(path, create=create, busy_timeout=busy_timeout, read_only=read_only)


__all__ = [
    "FAILED",
    "FINISHED",
    "KILLED",
    "LOST",
    "ROW_METRICS",
    "RUNNING",
    "SCHEDULED",
    "ActiveRun",
    "ActiveRunError",
    "AlreadyExistsError",
    "ArtifactAccess",
    "ArtifactPathError",
    "ChangeCursor",
    "ChangeFeed",
    "Changes",
    "CommentRequiredError",
    "Experiment",
    "FileInfo",
    "FilterError",
    "InvalidKeyError",
    "InvalidStateError",
    "InvalidValueError",
    "Metric",
    "MetricSummary",
    "MetricWriteError",
    "MltopClient",
    "MltopError",
    "ModelRegistry",
    "NotAStoreError",
    "NotFoundError",
    "PageTokenError",
    "PagedList",
    "ParamConflictError",
    "PlanChangedError",
    "PolicyError",
    "Run",
    "RunData",
    "RunInfo",
    "RunRow",
    "RunSearch",
    "SchemaTooNewError",
    "Store",
    "StoreBusyError",
    "StoreCorruptError",
    "StoreError",
    "StoreFullError",
    "StoreHandle",
    "StoreIOError",
    "StoreNotFoundError",
    "StoreReadOnlyError",
    "TrackingReader",
    "TrackingStore",
    "TrackingWriter",
    "ValidationError",
    "active_run",
    "delete_tag",
    "end_run",
    "flush",
    "get_client",
    "get_experiment",
    "get_experiment_by_name",
    "get_run",
    "get_store",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_text",
    "now_ms",
    "open_store",
    "register_model",
    "resolve_store_path",
    "search_runs",
    "set_experiment",
    "set_store",
    "set_tag",
    "set_tags",
    "start_run",
    "upgrade_pending",
]
