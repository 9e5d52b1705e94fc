"""The fluent, MLflow-shaped logging API: one active run per process, module functions."""

from __future__ import annotations

import atexit
import os
import sys
import threading
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from mltop.store.buffered import begin_exit, end_exit, install_stop_handlers, sync_all
from mltop.store.capture import CAPTURED_BY_ENV, ProcessCapture
from mltop.store.client import MltopClient, artifact_location_tags, view_of
from mltop.store.entities import (
    DATASET_CONTEXT_TAG,
    DEFAULT_EXPERIMENT_ID,
    DELETED,
    FAILED,
    FINISHED,
    KILLED,
    Dataset,
    DatasetInput,
    Experiment,
    InputTag,
    Run,
    RunData,
    RunInfo,
    ViewType,
)
from mltop.store.errors import (
    ActiveRunError,
    InvalidStateError,
    InvalidValueError,
    MetricWriteError,
)
from mltop.store.location import (
    choose_store,
    chosen_server,
    redact,
    resolve_store_path,
    server_url,
    store_path_from_uri,
)
from mltop.store.query.paging import MAX_RESULTS_LIMIT
from mltop.store.sqlite.tracking import Store

if TYPE_CHECKING:
    from mltop.store.system_metrics import SystemMetricsSampler

_lock = threading.RLock()
_client: MltopClient | None = None
_store_path: str | None = None
_tracking_uri: str | None = None  # as the user gave it to set_tracking_uri
_last_run_id: str | None = None
_experiment_id: str | None = None
_stack: list[ActiveRun] = []
_uncaught: type[BaseException] | None = None
_hooks_installed = False
# "true" or "1": every run samples system metrics (ours, and MLflow's name for it).
SYSTEM_METRICS_ENV = ("MLTOP_ENABLE_SYSTEM_METRICS_LOGGING", "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING")


class ActiveRun:
    """The run `start_run` returned; a context manager that ends it.

    Leaving the block normally ends the run FINISHED, by an exception FAILED, and by
    KeyboardInterrupt KILLED.
    """

    def __init__(self, run: Run) -> None:
        self._run = run
        self.run_id = run.info.run_id
        self.owner_pid = os.getpid()
        self.capture: ProcessCapture | None = None  # this process's output, copied
        self.sampler: SystemMetricsSampler | None = None  # log_system_metrics=True

    @property
    def info(self) -> RunInfo:
        return self._run.info

    @property
    def data(self) -> RunData:
        return self._run.data

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        bounded = False  # whether this stop set the exit's bound on writing
        if exc_type is None:
            status = FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = KILLED
            # Ctrl-C, SIGTERM, SIGHUP: the program is being stopped; sending what is held
            # (a tracking server that is down) is bounded as at exit, not minutes of retries.
            # (If the program catches the stop and goes on, the bound is lifted after.)
            bounded = begin_exit()
        else:
            status = FAILED
        if exc_type is not None and self.capture is not None and exc_type is not SystemExit:
            text = "".join(traceback.format_exception(exc_type, exc, tb))
            self.capture.stop(text.encode("utf-8", "replace"))
            self.capture = None
        with _lock:
            if self in _stack:
                if status != KILLED:
                    _end_through(self, status)
                    return
                try:
                    _end_through(self, status)
                except MetricWriteError as error:
                    # Being stopped: say what was not written, and let the stop go on
                    # (the process ends by it, as it would have).
                    print(f"mltop: {error}", file=sys.stderr)
                finally:
                    if bounded:
                        end_exit()

    def __repr__(self) -> str:
        return f"<ActiveRun {self.info.run_id} {self.info.run_name!r}>"


SEARCH_MAX_RESULTS_PANDAS = 100_000  # MLflow's default for the fluent search_runs


def set_store(path: str | os.PathLike[str] | None) -> None:
    """Use the store at `path` from now on (None: find it as usual)."""
    global _tracking_uri
    _tracking_uri = None
    _use_store(None if path is None else os.fspath(path))


def set_tracking_uri(uri: str | Path | None) -> None:
    """Use the store a tracking URI names from now on: a folder's path, `file:///abs`,
    `file:relative`, `sqlite:///<folder>/mltop.db`, or an MLflow tracking server's
    `http(s)://host:port` (None: find the store as usual: `MLTOP_STORE`, else the nearest
    `.mltop/`). Other servers (databricks) are refused. Raises ActiveRunError while a run
    is active."""
    global _tracking_uri
    url = server_url(uri)
    path = url or (None if uri is None else str(store_path_from_uri(uri)))
    _use_store(path)
    _tracking_uri = None if uri is None else (uri if isinstance(uri, str) else Path(uri).as_uri())


def get_tracking_uri() -> str:
    """The tracking URI in use: as given to set_tracking_uri, else the `file:` URI of the
    store the fluent API writes to."""
    if _tracking_uri is not None:
        return _tracking_uri
    url = chosen_server(_store_path)
    return url if url is not None else resolve_store_path(_store_path).as_uri()


def set_registry_uri(uri: str | Path | None) -> None:
    """MLflow's registry URI: an mltop store keeps its registry inside itself, so `uri` must
    name the store in use (or be None); another store is refused (InvalidValueError)."""
    if uri is None:
        return
    url = chosen_server(_store_path)
    if url is not None:
        if server_url(uri) != url:
            raise InvalidValueError(
                f"registry URI {uri!r}: mltop keeps the registry with the runs; this process "
                f"uses the tracking server {redact(url)} (set_tracking_uri chooses it)"
            )
        return
    path = store_path_from_uri(uri)
    if path != resolve_store_path(_store_path):
        raise InvalidValueError(
            f"registry URI {uri!r}: an mltop store keeps its registry inside itself; this "
            f"process uses the store {resolve_store_path(_store_path)} (set_tracking_uri "
            "chooses it)"
        )


def get_registry_uri() -> str:
    """The registry's URI: the tracking URI (the registry is in the same store)."""
    return get_tracking_uri()


def _use_store(path: str | None) -> None:
    global _client, _store_path, _experiment_id, _last_run_id
    with _lock:
        if _stack:
            raise ActiveRunError("cannot change the store while a run is active; end it first")
        if _client is not None:
            _client.close()
        _client = None
        _store_path = path
        choose_store(path)  # MltopClient() follows it, as MlflowClient() does in MLflow
        _experiment_id = None
        _last_run_id = None


def get_client() -> MltopClient:
    """The client the fluent API uses (opening the store on first use)."""
    global _client
    with _lock:
        if _client is None:
            _client = MltopClient(_store_path)
        return _client


def get_store() -> Store:
    """The local store the fluent API writes to (InvalidStateError on a tracking server)."""
    return get_client().store


def set_experiment(
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    trace_location: Any = None,
) -> Experiment:
    """Make an experiment the one new runs go to, creating it by name if needed."""
    global _experiment_id
    _no_traces(trace_location)
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidValueError("give exactly one of experiment_name and experiment_id")
    client = get_client()
    experiment: Experiment | None
    if experiment_id is not None:
        experiment = client.get_experiment(experiment_id)
    else:
        assert experiment_name is not None
        experiment = client.get_experiment_by_name(experiment_name)
        if experiment is None:
            try:
                client.create_experiment(experiment_name)
            except Exception:
                if client.get_experiment_by_name(experiment_name) is None:
                    raise  # not a lost race with another process creating it
            experiment = client.get_experiment_by_name(experiment_name)
    assert experiment is not None
    if experiment.lifecycle_stage == DELETED:
        raise InvalidStateError(
            f"experiment {experiment.name!r} is deleted; restore it or choose another name"
        )
    with _lock:
        _experiment_id = experiment.experiment_id
    return experiment


def _no_traces(trace_location: object) -> None:
    if trace_location is not None:
        raise InvalidValueError(
            f"trace_location {trace_location!r}: mltop does not keep traces; pass None"
        )


def create_experiment(
    name: str,
    artifact_location: str | None = None,
    tags: Mapping[str, object] | None = None,
    trace_location: Any = None,
) -> str:
    """Create an experiment; its id. `trace_location` must be None; an `artifact_location`
    is kept as a tag, with a warning (a run's artifacts live in the store)."""
    _no_traces(trace_location)
    return get_client().backend.create_experiment(
        name, artifact_location_tags(artifact_location, tags)
    )


def delete_experiment(experiment_id: str) -> None:
    get_client().delete_experiment(experiment_id)


def restore_experiment(experiment_id: str) -> None:
    get_client().restore_experiment(experiment_id)


def set_experiment_tag(key: str, value: object) -> None:
    """Tag the current experiment (the one set, else the default)."""
    client = get_client()
    client.set_experiment_tag(_default_experiment_id(client), key, value)


def set_experiment_tags(tags: Mapping[str, object]) -> None:
    client = get_client()
    experiment_id = _default_experiment_id(client)
    for key, value in tags.items():
        client.set_experiment_tag(experiment_id, key, value)


def delete_experiment_tag(key: str) -> None:
    client = get_client()
    client.delete_experiment_tag(_default_experiment_id(client), key)


def search_experiments(
    view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[Experiment]:
    """Every experiment matching the filter (at most `max_results`), as a list."""
    client = get_client()
    found: list[Experiment] = []
    token = None
    while max_results is None or len(found) < max_results:
        want = MAX_RESULTS_LIMIT if max_results is None else max_results - len(found)
        page = client.search_experiments(
            view_type, min(want, MAX_RESULTS_LIMIT), filter_string, order_by, token
        )
        found.extend(page)
        token = page.token
        if not token:
            break
    return found


def _default_experiment_id(client: MltopClient) -> str:
    if _experiment_id is not None:
        return _experiment_id
    if os.environ.get("MLTOP_EXPERIMENT_ID"):
        return os.environ["MLTOP_EXPERIMENT_ID"]
    if os.environ.get("MLTOP_EXPERIMENT_NAME"):
        return set_experiment(os.environ["MLTOP_EXPERIMENT_NAME"]).experiment_id
    return DEFAULT_EXPERIMENT_ID


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: Mapping[str, object] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
    *,
    log_system_info: bool = True,
    capture_output: bool = False,
) -> ActiveRun:
    """Start a run (or resume `run_id`, or the run named by `MLTOP_RUN_ID`) and make it
    active. With a run already active, pass `nested=True` to start a child of it.
    `log_system_info=False` leaves out the `mltop.*` facts (user, host, git, ...).
    `capture_output=True` copies this process's stdout and stderr (file descriptors 1 and
    2: C extensions and child processes too) to the run's `logs/stdout.log` until the run
    ends, still showing them (under `mltop run`, which captures already, it does nothing).
    `log_system_metrics=True` samples the run's system metrics (CPU, memory, disk, network,
    GPUs: `mltop.store.system_metrics`) until it ends; None: as the environment says
    (`MLTOP_ENABLE_SYSTEM_METRICS_LOGGING` or MLflow's `MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING`,
    "true" or "1"). Under `mltop run`, which samples the run itself (it sets
    `MLTOP_SYSTEM_METRICS_BY` to its process id), no second sampler is started."""
    sample = log_system_metrics
    if sample is None:
        sample = any(
            os.environ.get(name, "").strip().lower() in ("true", "1") for name in SYSTEM_METRICS_ENV
        )
    if sample:
        from mltop.store import system_metrics  # (psutil: only for runs that sample)

        interval = system_metrics.interval_from_env()  # a bad value refused before the run
    client = get_client()
    with _lock:
        _install_hooks()
        if run_id is None and not _stack and os.environ.get("MLTOP_RUN_ID"):
            run_id = os.environ["MLTOP_RUN_ID"]
        if _stack and not nested:
            raise ActiveRunError(
                f"run {_stack[-1].info.run_id} is already active; end it with end_run() or "
                "start this one with nested=True"
            )
        if capture_output and any(a.capture is not None for a in _stack):
            raise ActiveRunError(
                "output is already captured for an active run: a process's output goes to "
                "one run's log at a time"
            )
        capture = capture_output and not os.environ.get(CAPTURED_BY_ENV)
        if capture and not isinstance(client.backend, Store):
            raise InvalidValueError(
                f"capture_output=True writes the run's logs/stdout.log as the output comes, "
                f"and a tracking server's artifacts ({client.backend.location}) are not "
                "written in place: log the output's file at the end with log_artifact"
            )
        if run_id is not None:
            run = client.resume_run(run_id)
            if tags:
                client.set_tags(run_id, tags)
        else:
            parent = parent_run_id or (_stack[-1].info.run_id if _stack else None)
            all_tags = dict(tags or {})
            if description is not None:
                all_tags["mlflow.note.content"] = description  # where MLflow keeps it
            run = client.create_run(
                experiment_id if experiment_id is not None else _default_experiment_id(client),
                run_name=run_name,
                tags=all_tags,
                parent_run_id=parent,
                log_system_info=log_system_info,
            )
        active = ActiveRun(run)
        if capture:
            active.capture = ProcessCapture(client.backend.artifacts(active.run_id))
            active.capture.start()
        _stack.append(active)
        if sample and not system_metrics.sampled_elsewhere():
            try:
                active.sampler = system_metrics.start_sampler(
                    client, run.info.run_id, interval=interval
                )
            except Exception as exc:  # the training goes on without them
                print(f"mltop: system metrics not sampled: {exc}", file=sys.stderr)
        return active


def active_run() -> ActiveRun | None:
    with _lock:
        return _stack[-1] if _stack else None


def last_active_run() -> Run | None:
    """The active run, else the last run this process ended, read afresh; None when no
    run was started here."""
    with _lock:
        run_id = _stack[-1].run_id if _stack else _last_run_id
    return None if run_id is None else get_client().get_run(run_id)


def _get_or_start_run() -> ActiveRun:
    """The active run, starting one (as `start_run()` would) when there is none: MLflow
    starts a run for a script that logs before starting one."""
    with _lock:
        return _stack[-1] if _stack else start_run()


def _end_through(target: ActiveRun, status: str) -> None:
    # Ending a run also ends the runs nested inside it that are still active.
    global _last_run_id
    client = get_client()
    while _stack:
        top = _stack.pop()
        _last_run_id = top.run_id
        if top.sampler is not None:
            top.sampler.stop()
        if top.capture is not None:
            top.capture.stop()
            top.capture = None
        client.set_terminated(top.info.run_id, status)
        if top is target:
            return


def end_run(status: str = FINISHED) -> None:
    """End the active run (a no-op when there is none)."""
    with _lock:
        if _stack:
            _end_through(_stack[-1], status)


def _active_id() -> str:
    """The active run's id, starting a run when there is none (as MLflow does)."""
    return (_stack[-1] if _stack else _get_or_start_run()).run_id


def _no_links(model_id: object, dataset: object) -> None:
    for name, value in (("model_id", model_id), ("dataset", dataset)):
        if value is not None:
            raise InvalidValueError(
                f"{name} {value!r}: mltop does not link metrics to models or datasets; pass None"
            )


def log_param(key: str, value: object, synchronous: bool | None = None) -> object:
    return get_client().log_param(_active_id(), key, value)


def log_params(
    params: Mapping[str, object], synchronous: bool | None = None, run_id: str | None = None
) -> None:
    get_client().log_params(run_id or _active_id(), params)


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> None:
    """Log a metric point of the active run (started when there is none), or of `run_id`
    (buffered; `synchronous=True` writes through)."""
    if model_id is not None or dataset is not None:
        _no_links(model_id, dataset)
    if run_id is None:
        run_id = (_stack[-1] if _stack else _get_or_start_run()).run_id
    # Positional: this is a training loop's hot path (keywords cost a little per call).
    (_client or get_client()).log_metric(run_id, key, value, timestamp, step, synchronous)


def log_metrics(
    metrics: Mapping[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> None:
    """Log several metrics at one step; all are checked before any is logged."""
    _no_links(model_id, dataset)
    get_client().log_metrics(run_id or _active_id(), metrics, step or 0, timestamp, synchronous)


def set_tag(key: str, value: object, synchronous: bool | None = None) -> None:
    get_client().set_tag(_active_id(), key, value)


def set_tags(tags: Mapping[str, object], synchronous: bool | None = None) -> None:
    get_client().set_tags(_active_id(), tags)


def delete_tag(key: str) -> None:
    get_client().delete_tag(_active_id(), key)


def log_artifact(
    local_path: str | os.PathLike[str],
    artifact_path: str | None = None,
    run_id: str | None = None,
) -> str:
    return get_client().log_artifact(run_id or _active_id(), local_path, artifact_path)


def log_artifacts(
    local_dir: str | os.PathLike[str],
    artifact_path: str | None = None,
    run_id: str | None = None,
) -> str:
    return get_client().log_artifacts(run_id or _active_id(), local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> str:
    return get_client().log_text(run_id or _active_id(), text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str, run_id: str | None = None) -> str:
    return get_client().log_dict(run_id or _active_id(), dictionary, artifact_file)


def log_figure(
    figure: Any, artifact_file: str, *, save_kwargs: Mapping[str, Any] | None = None
) -> str:
    """Save a matplotlib or plotly figure as an artifact of the active run."""
    return get_client().log_figure(_active_id(), figure, artifact_file, save_kwargs=save_kwargs)


def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = False,
) -> str:
    """Save a numpy array or PIL image (see MltopClient.log_image) in the active run."""
    return get_client().log_image(_active_id(), image, artifact_file, key, step, timestamp)


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> str:
    """Save (or append to) a JSON table of the active run; see MltopClient.log_table."""
    return get_client().log_table(run_id or _active_id(), data, artifact_file)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """Where the active run's artifacts (or one of them) are."""
    return get_client().get_artifact_uri(_active_id(), artifact_path)


def flush_async_logging() -> None:
    """Commit every metric logged so far (MLflow's name for `flush`)."""
    flush()


def flush() -> None:
    """Commit every metric logged so far in this process (by any client); raises a commit
    failure of the fluent API's own."""
    if _client is not None:
        _client.flush()
    sync_all()


def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str | None = "",
    run_view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int | None = SEARCH_MAX_RESULTS_PANDAS,
    order_by: Sequence[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: Sequence[str] | None = None,
    *,
    view: str | None = None,
) -> Any:
    """Runs matching an MLflow search filter, at most `max_results`, in the experiments
    named by id or name; else every experiment with `search_all_experiments`, else the
    current one. A pandas DataFrame with MLflow's columns (`output_format="pandas"`, when
    pandas is installed), else a list of runs."""
    if output_format not in ("pandas", "list"):
        raise InvalidValueError(f"output_format is 'pandas' or 'list', not {output_format!r}")
    if experiment_ids and experiment_names:
        raise InvalidValueError("give experiment_ids or experiment_names, not both")
    client = get_client()
    if not experiment_ids and not experiment_names:
        if search_all_experiments:
            experiment_ids = [e.experiment_id for e in search_experiments()]
        else:
            experiment_ids = [_default_experiment_id(client)]
    runs: list[Run] = []
    token = None
    while max_results is None or len(runs) < max_results:
        want = MAX_RESULTS_LIMIT if max_results is None else max_results - len(runs)
        page = client.search_runs(
            experiment_ids or None,
            filter_string,
            run_view_type,
            min(want, MAX_RESULTS_LIMIT),
            order_by,
            token,
            view=view_of(run_view_type, view),
            experiment_names=experiment_names or None,
        )
        runs.extend(page)
        token = page.token
        if not token:
            break
    if output_format == "list":
        return runs
    try:
        import pandas
    except ImportError:
        return runs
    return runs_frame(runs, pandas)


def runs_frame(runs: Sequence[Run], pandas: Any) -> Any:
    """Runs as MLflow's search_runs DataFrame: run_id, experiment_id, status, artifact_uri,
    start_time and end_time (UTC datetimes), then metrics.K (NaN when missing), params.K
    and tags.K (None when missing). Run names and parents are under MLflow's tags."""
    columns: dict[str, list[Any]] = {
        "run_id": [r.info.run_id for r in runs],
        "experiment_id": [r.info.experiment_id for r in runs],
        "status": [r.info.status for r in runs],
        "artifact_uri": [r.info.artifact_uri for r in runs],
        # one conversion a column (not one a run: 10,000 runs took a second)
        "start_time": _times(pandas, [r.info.start_time for r in runs]),
        "end_time": _times(pandas, [r.info.end_time for r in runs]),
    }
    tags = [_mlflow_tags(r) for r in runs]
    for prefix, values, missing in (
        ("metrics.", [r.data.metrics for r in runs], float("nan")),
        ("params.", [r.data.params for r in runs], None),
        ("tags.", tags, None),
    ):
        names = sorted({k for one in values for k in one})
        for name in names:
            columns[prefix + name] = [one.get(name, missing) for one in values]
    frame = pandas.DataFrame(columns)
    for name in ("start_time", "end_time"):  # an empty search keeps the datetime dtype
        frame[name] = pandas.to_datetime(frame[name], utc=True)
    return frame


def _times(pandas: Any, millis: list[int | None]) -> Any:
    """Milliseconds since 1970 (None: none) as UTC datetimes, NaT for None."""
    values = pandas.array(millis, dtype="Int64")
    return pandas.to_datetime(values, unit="ms", utc=True)


def _mlflow_tags(run: Run) -> dict[str, str]:
    tags = dict(run.data.tags)
    tags.setdefault("mlflow.runName", run.info.run_name)
    if run.info.parent_run_id:
        tags.setdefault("mlflow.parentRunId", run.info.parent_run_id)
    if run.info.user_id:
        tags.setdefault("mlflow.user", run.info.user_id)
    return tags


def get_run(run_id: str) -> Run:
    return get_client().get_run(run_id)


def get_parent_run(run_id: str) -> Run | None:
    """The run `run_id` is nested in, or None."""
    return get_client().get_parent_run(run_id)


def delete_run(run_id: str) -> None:
    get_client().delete_run(run_id)


def restore_run(run_id: str) -> None:
    get_client().restore_run(run_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    return get_client().get_experiment_by_name(name)


def get_experiment(experiment_id: str) -> Experiment:
    return get_client().get_experiment(experiment_id)


def log_input(
    dataset: Dataset | None = None,
    context: str | None = None,
    tags: Mapping[str, str] | None = None,
    model: object | None = None,
) -> None:
    """Record `dataset` (from `mltop.store.data`: `from_pandas`, `from_numpy`, or a
    `Dataset` built by hand) as an input of the active run; `context` ("training",
    "eval", ...) is kept as the input tag `mlflow.data.context`, after `tags`. MLflow's
    `mlflow.log_input` parameters, in its order; `model` is not supported yet."""
    if model is not None:
        raise InvalidValueError(
            "log_input(model=...): logged models as run inputs are not supported by mltop "
            "yet; log the dataset alone"
        )
    if dataset is None:
        if context or tags:
            raise InvalidValueError("log_input: give the dataset that context or tags are for")
        return
    if not isinstance(dataset, Dataset):
        raise InvalidValueError(
            f"log_input: dataset must be a Dataset (see mltop.store.data), not "
            f"{type(dataset).__name__}"
        )
    run_id = _active_id()  # the active run, started when there is none (as MLflow does)
    get_client().log_inputs(run_id, [_dataset_input(dataset, context, tags)])


def _dataset_input(
    dataset: object, context: str | None, tags: Mapping[str, str] | None
) -> DatasetInput:
    if not isinstance(dataset, Dataset):
        raise InvalidValueError(
            f"dataset must be a Dataset (see mltop.store.data), not {type(dataset).__name__}"
        )
    input_tags = [InputTag(key, value) for key, value in (tags or {}).items()]
    if context:
        input_tags.append(InputTag(DATASET_CONTEXT_TAG, context))
    stored = Dataset(
        dataset.name,
        dataset.digest,
        dataset.source_type,
        dataset.source,
        dataset.schema,
        dataset.profile,
    )
    return DatasetInput(stored, input_tags)


def log_inputs(
    datasets: Sequence[Dataset | None] | None = None,
    contexts: Sequence[str | None] | None = None,
    tags_list: Sequence[Mapping[str, str] | None] | None = None,
    models: Sequence[object | None] | None = None,
) -> None:
    """Record several datasets as inputs of the active run in one write: `contexts` and
    `tags_list`, when given, pair with `datasets` by position (None entries: nothing). MLflow's
    `mlflow.log_inputs` parameters, in its order; `models` is not supported yet."""
    if models and any(m is not None for m in models):
        raise InvalidValueError(
            "log_inputs(models=...): logged models as run inputs are not supported by mltop "
            "yet; log the datasets alone"
        )
    datasets = list(datasets or [])
    for what, values in (("contexts", contexts), ("tags_list", tags_list)):
        if values is not None and len(values) != len(datasets):
            raise InvalidValueError(
                f"log_inputs: {what} has {len(values)} entries for {len(datasets)} datasets; "
                "they pair by position"
            )
    inputs = [
        _dataset_input(
            dataset,
            contexts[i] if contexts is not None else None,
            tags_list[i] if tags_list is not None else None,
        )
        for i, dataset in enumerate(datasets)
        if dataset is not None
    ]
    if inputs:
        get_client().log_inputs(_active_id(), inputs)


# -- interpreter exit ----------------------------------------------------------------------


def _install_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    # SIGTERM and SIGHUP would end the process at once: nothing flushed, runs never ended.
    # They raise Terminated instead (a KeyboardInterrupt: runs end KILLED), then the
    # writer's exit hook commits every point and dies by the signal.
    install_stop_handlers()
    previous = sys.excepthook

    def remember(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        global _uncaught
        _uncaught = kind
        previous(kind, value, tb)

    sys.excepthook = remember
    atexit.register(_at_exit)  # runs before the writer's own exit hook (registered first)


def _at_exit() -> None:
    begin_exit()  # ending the runs flushes their points: bounded from now on
    status = FINISHED
    if _uncaught is not None:
        status = KILLED if issubclass(_uncaught, KeyboardInterrupt) else FAILED
    try:
        with _lock:
            # A forked child inherits the stack but not the runs: only their owner ends them.
            while _stack and _stack[-1].owner_pid == os.getpid():
                _end_through(_stack[-1], status)
    except Exception as exc:  # the process is ending: report, never hang or raise
        print(f"mltop: could not end the active run at exit: {exc}", file=sys.stderr)
