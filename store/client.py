"""`MltopClient`: every tracking operation with explicit ids, for scripts managing many runs."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from time import time as _time
from typing import IO, Any

from mltop.store import keys
from mltop.store.client_registry import RegistryMethods
from mltop.store.entities import (
    RUNNING,
    TERMINAL_STATUSES,
    DatasetInput,
    Experiment,
    FileInfo,
    Metric,
    Run,
)
from mltop.store.errors import InvalidValueError
from mltop.store.query.paging import PagedList
from mltop.store.sqlite.tracking import DEFAULT_HEARTBEAT_INTERVAL_MS, Store
from mltop.store.sqlite.writer import MetricWriter
from mltop.store.system import current_user, system_tags

_INT64_MIN, _INT64_MAX = keys.INT64_MIN, keys.INT64_MAX


def heartbeat_interval_ms() -> int:
    """The heartbeat interval of runs this process starts (`MLTOP_HEARTBEAT_INTERVAL`, s)."""
    raw = os.environ.get("MLTOP_HEARTBEAT_INTERVAL")
    if not raw:
        return DEFAULT_HEARTBEAT_INTERVAL_MS
    try:
        seconds = float(raw)
    except ValueError:
        raise InvalidValueError(
            f"MLTOP_HEARTBEAT_INTERVAL must be a number of seconds, not {raw!r}"
        ) from None
    if not 0.01 <= seconds <= 3600:
        raise InvalidValueError("MLTOP_HEARTBEAT_INTERVAL must be between 0.01 and 3600 seconds")
    return int(seconds * 1000)


class MltopClient(RegistryMethods):
    """Tracking operations on one store. Metrics are buffered unless `synchronous`."""

    def __init__(
        self, store: Store | str | os.PathLike[str] | None = None, *, synchronous: bool = False
    ) -> None:
        self.store = store if isinstance(store, Store) else Store(store)
        self.synchronous = synchronous
        self._writer = MetricWriter(self.store)
        self._key_ids: dict[str, int] = {}
        self._run_rows: dict[str, int] = {}

    # -- experiments ---------------------------------------------------------------------

    def create_experiment(self, name: str, tags: Mapping[str, object] | None = None) -> str:
        return self.store.create_experiment(name, tags)

    def get_experiment(self, experiment_id: str | int) -> Experiment:
        return self.store.get_experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self.store.get_experiment_by_name(name)

    def list_experiments(self, view: str = "active") -> list[Experiment]:
        return self.store.list_experiments(view)

    def rename_experiment(self, experiment_id: str | int, new_name: str) -> None:
        self.store.rename_experiment(experiment_id, new_name)

    def delete_experiment(self, experiment_id: str | int) -> None:
        self.store.delete_experiment(experiment_id)

    def restore_experiment(self, experiment_id: str | int) -> None:
        self.store.restore_experiment(experiment_id)

    def set_experiment_tag(self, experiment_id: str | int, key: str, value: object) -> None:
        self.store.set_experiment_tag(experiment_id, key, value)

    def delete_experiment_tag(self, experiment_id: str | int, key: str) -> None:
        self.store.delete_experiment_tag(experiment_id, key)

    # -- runs ----------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str | int | None = None,
        run_name: str | None = None,
        *,
        tags: Mapping[str, object] | None = None,
        parent_run_id: str | None = None,
        start_time: int | None = None,
        status: str = RUNNING,
        log_system_info: bool = True,
    ) -> Run:
        """Create a run. A RUNNING run gets a heartbeat for as long as this process lives;
        user, host, command line, Python and git facts are recorded as `mltop.*` tags."""
        all_tags: dict[str, object] = dict(system_tags()) if log_system_info else {}
        all_tags.update(tags or {})
        interval = heartbeat_interval_ms()
        run = self.store.create_run(
            experiment_id,
            run_name,
            start_time=start_time,
            tags=all_tags,
            parent_run_id=parent_run_id,
            user_id=current_user(),
            status=status,
            heartbeat_interval_ms=interval,
        )
        if run.info.status == RUNNING:
            self._writer.watch(self._row(run.info.run_id), interval)
        return run

    def resume_run(self, run_id: str) -> Run:
        """Mark an existing run RUNNING again (attaching this process to it)."""
        interval = heartbeat_interval_ms()
        # Checked afresh (not from the cache): refuses a deleted run before changing it.
        row = self._run_rows[run_id] = self.store.run_row_id(run_id)
        self.store.update_run(run_id, status=RUNNING, heartbeat_interval_ms=interval)
        self._writer.watch(row, interval)
        return self.store.get_run(run_id)

    def get_run(self, run_id: str) -> Run:
        return self.store.get_run(run_id)

    def list_runs(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        *,
        view: str = "active",
        max_results: int | None = None,
    ) -> list[Run]:
        return self.store.list_runs(experiment_ids, view=view, max_results=max_results)

    def search_runs(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int | None = 1000,
        page_token: str | None = None,
        *,
        view: str = "active",
        experiment_names: Iterable[str] | None = None,
    ) -> PagedList:
        """Runs matching an MLflow search filter; see Store.search_runs."""
        return self.store.search_runs(
            experiment_ids,
            filter_string,
            order_by,
            max_results,
            page_token,
            view=view,
            experiment_names=experiment_names,
        )

    def search_experiments(
        self,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int | None = 1000,
        page_token: str | None = None,
        *,
        view: str = "active",
    ) -> PagedList:
        return self.store.search_experiments(
            filter_string, order_by, max_results, page_token, view=view
        )

    def update_run(
        self, run_id: str, *, status: str | None = None, name: str | None = None
    ) -> None:
        if status is not None and str(status).upper() in TERMINAL_STATUSES:
            self.set_terminated(run_id, status)
            status = None
        if status is not None or name is not None:
            self.store.update_run(run_id, status=status, run_name=name)

    def set_terminated(
        self, run_id: str, status: str = "FINISHED", end_time: int | None = None
    ) -> None:
        """End a run: commit its pending metrics, then record the final status."""
        self.flush()
        row = self._run_rows.get(run_id)
        if row is not None:
            self._writer.unwatch(row)
        self.store.update_run(run_id, status=status, end_time=end_time)

    def delete_run(self, run_id: str) -> None:
        self.store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self.store.restore_run(run_id)

    # -- params and tags -----------------------------------------------------------------

    def log_param(self, run_id: str, key: str, value: object) -> object:
        self.store.log_params(run_id, {key: value})
        return value

    def log_params(self, run_id: str, params: Mapping[str, object]) -> None:
        self.store.log_params(run_id, params)

    def set_tag(self, run_id: str, key: str, value: object) -> None:
        self.store.set_tags(run_id, {key: value})

    def set_tags(self, run_id: str, tags: Mapping[str, object]) -> None:
        self.store.set_tags(run_id, tags)

    def delete_tag(self, run_id: str, key: str) -> None:
        self.store.delete_tag(run_id, key)

    # -- metrics -------------------------------------------------------------------------

    def _row(self, run_id: str) -> int:
        row = self._run_rows.get(run_id)
        if row is None:
            row = self._run_rows[run_id] = self.store.run_row_id(run_id)
        return row

    def _key_id(self, key: str) -> int:
        kid = self._key_ids[key] = self.store.metric_key_id(key)
        return kid

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """Log one point (step 0 when not given). Buffered: returns at once; `flush()`
        waits for the commit. MLflow's `MlflowClient.log_metric` parameters, in its order
        (timestamp before step), so that a call written for MLflow means the same here.

        This is the hot path of a training loop: validation is cached per key and run,
        and everything else is a type check and a deque append.
        """
        kid = self._key_ids.get(key)
        if kid is None:
            kid = self._key_id(key)
        row = self._run_rows.get(run_id)
        if row is None:
            row = self._row(run_id)
        if type(value) is not float:
            value = keys.metric_value(key, value)
        if step is None:
            step = 0
        elif type(step) is not int or not _INT64_MIN <= step <= _INT64_MAX:
            step = keys.integer("step", step)
        if timestamp is None:
            timestamp = int(_time() * 1000)
        elif type(timestamp) is not int or not _INT64_MIN <= timestamp <= _INT64_MAX:
            timestamp = keys.integer("timestamp", timestamp)
        point = (row, kid, step, timestamp, None if value != value else value)
        # In a forked child (a multiprocessing worker), nothing at exit runs (it leaves by
        # os._exit): a point waiting in a queue would be lost, so each is committed at once.
        if synchronous or (synchronous is None and (self.synchronous or self._writer.forked)):
            self.flush()
            self.store.write_points([point])
            return
        writer = self._writer
        if writer.error is not None:
            writer.raise_error()
        if writer.thread is None:
            writer.start()
        queue = writer.queue
        queue.append(point)
        if len(queue) >= writer.batch_size:
            writer.kick()

    def log_metrics(
        self,
        run_id: str,
        metrics: Mapping[str, float],
        step: int = 0,
        timestamp: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """Log several metrics at one step; all are validated before any is queued."""
        stamp = int(_time() * 1000) if timestamp is None else keys.integer("timestamp", timestamp)
        checked = {
            keys.validate_key(k, "metric key"): keys.metric_value(k, v) for k, v in metrics.items()
        }
        for key, value in checked.items():
            self.log_metric(run_id, key, value, stamp, step, synchronous)

    def get_metric_history(
        self, run_id: str, key: str, *, after: int = 0, limit: int | None = None
    ) -> list[Metric]:
        return self.store.get_metric_history(run_id, key, after=after, limit=limit)

    def flush(self) -> None:
        """Commit every metric logged so far; raise a commit failure."""
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()

    # -- artifacts -----------------------------------------------------------------------

    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> str:
        return self.store.artifacts(run_id).log_file(local_path, artifact_path)

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> str:
        return self.store.artifacts(run_id).log_dir(local_dir, artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> str:
        return self.store.artifacts(run_id).write_text(text, artifact_file)

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> str:
        return self.store.artifacts(run_id).write_json(dictionary, artifact_file)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        return self.store.artifacts(run_id).list(path)

    def open_artifact(self, run_id: str, path: str, mode: str = "rb") -> IO[Any]:
        return self.store.artifacts(run_id).open(path, mode)

    def artifact_local_path(self, run_id: str, path: str) -> Path:
        return self.store.artifacts(run_id).local_path(path)

    # -- dataset inputs ------------------------------------------------------------------

    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] | None = None,
        models: Sequence[object] | None = None,
    ) -> None:
        """Record datasets (`DatasetInput`s) as inputs of a run; MLflow's
        `MlflowClient.log_inputs` parameters, in its order. A dataset already an input of
        the run is left as it was. Logged models as inputs (`models`) are not supported
        yet: passing any raises InvalidValueError."""
        if models:
            raise InvalidValueError(
                "log_inputs(models=...): logged models as run inputs are not supported by "
                "mltop yet; log the datasets alone"
            )
        self.store.log_inputs(run_id, datasets)
