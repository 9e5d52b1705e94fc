"""The fluent, MLflow-shaped logging API: one active run per process, module functions."""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from collections.abc import Mapping
from contextlib import suppress
from types import TracebackType
from typing import Any

from mltop.store.client import MltopClient
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
)
from mltop.store.errors import ActiveRunError, InvalidStateError, InvalidValueError
from mltop.store.sqlite.tracking import Store
from mltop.store.sqlite.writer import flush_all

_lock = threading.RLock()
_client: MltopClient | None = None
_store_path: str | None = None
_experiment_id: str | None = None
_stack: list[ActiveRun] = []
_uncaught: type[BaseException] | None = None
_hooks_installed = False


class ActiveRun:
    """The run `start_run` returned; a context manager that ends it.

    Leaving the block normally ends the run FINISHED, by an exception FAILED, and by
    KeyboardInterrupt KILLED.
    """

    def __init__(self, run: Run) -> None:
        self._run = run
        self.run_id = run.info.run_id
        self.owner_pid = os.getpid()

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
        if exc_type is None:
            status = FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = KILLED
        else:
            status = FAILED
        with _lock:
            if self in _stack:
                _end_through(self, status)

    def __repr__(self) -> str:
        return f"<ActiveRun {self.info.run_id} {self.info.run_name!r}>"


def set_store(path: str | os.PathLike[str] | None) -> None:
    """Use the store at `path` from now on (None: find it as usual)."""
    global _client, _store_path, _experiment_id
    with _lock:
        if _stack:
            raise ActiveRunError("cannot change the store while a run is active; end it first")
        if _client is not None:
            _client.close()
        _client = None
        _store_path = None if path is None else os.fspath(path)
        _experiment_id = None


def get_client() -> MltopClient:
    """The client the fluent API uses (opening the store on first use)."""
    global _client
    with _lock:
        if _client is None:
            _client = MltopClient(Store(_store_path))
        return _client


def get_store() -> Store:
    return get_client().store


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make an experiment the one new runs go to, creating it by name if needed."""
    global _experiment_id
    if (experiment_name is None) == (experiment_id is None):
        raise ValueError("give exactly one of experiment_name and experiment_id")
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
    log_system_info: bool = True,
) -> ActiveRun:
    """Start a run (or resume `run_id`, or the run named by `MLTOP_RUN_ID`) and make it
    active. With a run already active, pass `nested=True` to start a child of it."""
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
        if run_id is not None:
            run = client.resume_run(run_id)
            if tags:
                client.set_tags(run_id, tags)
        else:
            parent = parent_run_id or (_stack[-1].info.run_id if _stack else None)
            all_tags = dict(tags or {})
            if description is not None:
                all_tags["mltop.note.content"] = description
            run = client.create_run(
                experiment_id if experiment_id is not None else _default_experiment_id(client),
                run_name,
                tags=all_tags,
                parent_run_id=parent,
                log_system_info=log_system_info,
            )
        active = ActiveRun(run)
        _stack.append(active)
        return active


def active_run() -> ActiveRun | None:
    with _lock:
        return _stack[-1] if _stack else None


def _end_through(target: ActiveRun, status: str) -> None:
    # Ending a run also ends the runs nested inside it that are still active.
    client = get_client()
    while _stack:
        top = _stack.pop()
        client.set_terminated(top.info.run_id, status)
        if top is target:
            return


def end_run(status: str = FINISHED) -> None:
    """End the active run (a no-op when there is none)."""
    with _lock:
        if _stack:
            _end_through(_stack[-1], status)


def _active_id() -> str:
    run = _stack[-1] if _stack else None
    if run is None:
        raise ActiveRunError("no active run: call start_run() first")
    return run.info.run_id


def log_param(key: str, value: object) -> object:
    return get_client().log_param(_active_id(), key, value)


def log_params(params: Mapping[str, object]) -> None:
    get_client().log_params(_active_id(), params)


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    *,
    timestamp: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
) -> None:
    """Log a metric point of the active run, or of `run_id` (buffered; `synchronous=True`
    writes through)."""
    if run_id is None:
        if not _stack:
            _active_id()
        run_id = _stack[-1].run_id
    # Positional: this is a training loop's hot path (keywords cost a little per call).
    (_client or get_client()).log_metric(run_id, key, value, timestamp, step, synchronous)


def log_metrics(
    metrics: Mapping[str, float],
    step: int | None = None,
    *,
    timestamp: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
) -> None:
    """Log several metrics at one step; all are checked before any is logged."""
    get_client().log_metrics(run_id or _active_id(), metrics, step or 0, timestamp, synchronous)


def set_tag(key: str, value: object) -> None:
    get_client().set_tag(_active_id(), key, value)


def set_tags(tags: Mapping[str, object]) -> None:
    get_client().set_tags(_active_id(), tags)


def delete_tag(key: str) -> None:
    get_client().delete_tag(_active_id(), key)


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None) -> str:
    return get_client().log_artifact(_active_id(), local_path, artifact_path)


def log_artifacts(local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> str:
    return get_client().log_artifacts(_active_id(), local_dir, artifact_path)


def log_text(text: str, artifact_file: str) -> str:
    return get_client().log_text(_active_id(), text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str) -> str:
    return get_client().log_dict(_active_id(), dictionary, artifact_file)


def flush() -> None:
    """Commit every metric logged so far; raises a commit failure."""
    if _client is not None:
        _client.flush()


def search_runs(
    experiment_ids: list[str] | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
    max_results: int | None = 1000,
    *,
    experiment_names: list[str] | None = None,
    view: str = "active",
) -> list[Run]:
    """Runs matching an MLflow search filter, as a list (MLflow's returns a DataFrame);
    the active experiment's when no experiment is named."""
    if experiment_ids is None and experiment_names is None and _experiment_id is not None:
        experiment_ids = [_experiment_id]
    return list(
        get_client().search_runs(
            experiment_ids,
            filter_string,
            order_by,
            max_results,
            view=view,
            experiment_names=experiment_names,
        )
    )


def get_run(run_id: str) -> Run:
    return get_client().get_run(run_id)


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
    run_id = _active_id()  # the run to log to (MLflow starts one when none is active)
    get_client().log_inputs(run_id, [DatasetInput(stored, input_tags)])


# -- interpreter exit ----------------------------------------------------------------------


class Terminated(KeyboardInterrupt):
    """Raised in the main thread by SIGTERM (`kill`, `docker stop`, `scancel`) while runs are
    active: the stack unwinds as it does for Ctrl-C, so the runs end KILLED with every point
    logged committed, and then the process dies by the signal, as it would have."""


def _terminated(signum: int, frame: object) -> None:
    raise Terminated(f"signal {signum}")


def _install_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    previous = sys.excepthook

    def remember(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        global _uncaught
        _uncaught = kind
        if not issubclass(kind, Terminated):  # no traceback for being told to stop
            previous(kind, value, tb)

    sys.excepthook = remember
    atexit.register(_at_exit)
    # SIGTERM's default would end the process at once: nothing flushed, runs never ended.
    # A handler the program installed itself is left alone (it has decided what to do).
    if threading.current_thread() is threading.main_thread():
        with suppress(ValueError, OSError):
            if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
                signal.signal(signal.SIGTERM, _terminated)


def _at_exit() -> None:
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
    if _uncaught is not None and issubclass(_uncaught, Terminated):
        flush_all()  # every writer, not only the runs': nothing logged is left behind
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)  # die by the signal, as it would have
