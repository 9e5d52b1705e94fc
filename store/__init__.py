"""mltop's store and logging API.

from mltop import store as mt

mt.set_experiment("resnet-cifar")
with mt.start_run(run_name="lr-0.1") as run:
    mt.log_params({"lr": 0.1})
    mt.log_metric("loss", 0.5, step=1)
"""

from __future__ import annotations

import os

from mltop.store import artifacts, data, exceptions, tracking
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
    Dataset,
    DatasetInput,
    Experiment,
    Extremes,
    FileInfo,
    InputTag,
    LifecycleStage,
    Metric,
    MetricSummary,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunRow,
    RunStatus,
    RunTag,
    ViewType,
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
    NotAnMlflowServerError,
    NotAStoreError,
    NotFoundError,
    PageTokenError,
    ParamConflictError,
    PlanChangedError,
    PolicyError,
    SchemaTooNewError,
    ServerError,
    ServerRefusedError,
    ServerUnreachableError,
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
    create_experiment,
    delete_experiment,
    delete_experiment_tag,
    delete_run,
    delete_tag,
    end_run,
    flush,
    flush_async_logging,
    get_artifact_uri,
    get_client,
    get_experiment,
    get_experiment_by_name,
    get_parent_run,
    get_registry_uri,
    get_run,
    get_store,
    get_tracking_uri,
    last_active_run,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_image,
    log_input,
    log_inputs,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_table,
    log_text,
    restore_experiment,
    restore_run,
    search_experiments,
    search_runs,
    set_experiment,
    set_experiment_tag,
    set_experiment_tags,
    set_registry_uri,
    set_store,
    set_tag,
    set_tags,
    set_tracking_uri,
    start_run,
)
from mltop.store.fluent_registry import (
    register_model,
    search_model_versions,
    search_registered_models,
    set_model_version_tag,
)
from mltop.store.location import chosen_server, resolve_store_path
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
    Protocols front ends use: a tracking server's `ServerStore` when that is an `http://`
    or `https://` URL (`create` does not apply and a `busy_timeout` shorter than the
    default bounds how long a call retries; nothing is made locally and the server is not
    called until used: `check()` asks it), else the SQLite
    backend's `Store`. The kind of store is chosen here, and nowhere else."""
    url = chosen_server(path)
    if url is not None:
        from mltop.store.server.rest import RestClient
        from mltop.store.server.tracking import ServerStore

        # A caller that waits less than the default on a busy store (the dashboard) hears
        # of a server gone down within that time, not after minutes of retries.
        retry_for = busy_timeout if busy_timeout < BUSY_TIMEOUT_S else None
        rest = RestClient.from_env(url, retry_for=retry_for)
        return ServerStore(url, rest=rest, read_only=bool(read_only))
    return Store(path, create=create, busy_timeout=busy_timeout, read_only=read_only)


# MLflow's name for the client, so that `from mlflow import MlflowClient` ports by changing
# the module alone.
MlflowClient = MltopClient
MlflowException = MltopError

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
    "Dataset",
    "DatasetInput",
    "Experiment",
    "Extremes",
    "FileInfo",
    "FilterError",
    "InputTag",
    "InvalidKeyError",
    "InvalidStateError",
    "InvalidValueError",
    "LifecycleStage",
    "Metric",
    "MetricSummary",
    "MetricWriteError",
    "MlflowClient",
    "MlflowException",
    "MltopClient",
    "MltopError",
    "ModelRegistry",
    "NotAStoreError",
    "NotAnMlflowServerError",
    "NotFoundError",
    "PageTokenError",
    "PagedList",
    "Param",
    "ParamConflictError",
    "PlanChangedError",
    "PolicyError",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunRow",
    "RunSearch",
    "RunStatus",
    "RunTag",
    "SchemaTooNewError",
    "ServerError",
    "ServerRefusedError",
    "ServerUnreachableError",
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
    "ViewType",
    "active_run",
    "artifacts",
    "create_experiment",
    "data",
    "delete_experiment",
    "delete_experiment_tag",
    "delete_run",
    "delete_tag",
    "end_run",
    "exceptions",
    "flush",
    "flush_async_logging",
    "get_artifact_uri",
    "get_client",
    "get_experiment",
    "get_experiment_by_name",
    "get_parent_run",
    "get_registry_uri",
    "get_run",
    "get_store",
    "get_tracking_uri",
    "last_active_run",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_input",
    "log_inputs",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "now_ms",
    "open_store",
    "register_model",
    "resolve_store_path",
    "restore_experiment",
    "restore_run",
    "search_experiments",
    "search_model_versions",
    "search_registered_models",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_model_version_tag",
    "set_registry_uri",
    "set_store",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
    "tracking",
    "upgrade_pending",
]

# MLflow's model modules under MLflow's names, for scripts ported with
# `import mltop.store as mlflow`: `mlflow.sklearn.log_model(...)`, `mlflow.pyfunc.load_model(...)`,
# `mlflow.models.infer_signature(...)`. They live in `mltop.models` (which stands on this
# package), imported on first use.
_MODEL_MODULES = {
    "models": "mltop.models",
    "pyfunc": "mltop.models.pyfunc",
    "sklearn": "mltop.models.sklearn",
}


def __getattr__(name: str) -> object:
    module = _MODEL_MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'mltop.store' has no attribute {name!r}")
    import importlib

    value = importlib.import_module(module)
    globals()[name] = value
    return value
