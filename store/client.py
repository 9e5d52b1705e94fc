"""`MltopClient`: every tracking operation with explicit ids, for scripts managing many runs."""

from __future__ import annotations

import json
import os
import shutil
import uuid
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from time import time as _time
from typing import IO, TYPE_CHECKING, Any

from mltop.store import keys, media
from mltop.store.artifact_repo import clean_relative
from mltop.store.buffered import sync_all
from mltop.store.client_registry import RegistryMethods
from mltop.store.entities import (
    FINISHED,
    RUNNING,
    TERMINAL_STATUSES,
    DatasetInput,
    Experiment,
    FileInfo,
    Metric,
    Param,
    Run,
    RunTag,
    ViewType,
)
from mltop.store.errors import InvalidStateError, InvalidValueError
from mltop.store.location import chosen_server, server_url, store_path_from_uri
from mltop.store.query.paging import MAX_RESULTS_LIMIT, PagedList
from mltop.store.sqlite.tracking import DEFAULT_HEARTBEAT_INTERVAL_MS, Store
from mltop.store.sqlite.writer import MetricWriter
from mltop.store.system import current_user, system_tags

if TYPE_CHECKING:
    from mltop.store.server.logging import ServerWriter
    from mltop.store.server.tracking import ServerStore

_INT64_MIN, _INT64_MAX = keys.INT64_MIN, keys.INT64_MAX

SEARCH_MAX_RESULTS_DEFAULT = 1000  # MLflow's default page of a client search
MAX_METRICS_PER_BATCH = 1000  # MLflow's limits on one log_batch
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
LOGGED_IMAGES_TAG = "mlflow.loggedImages"
LOGGED_ARTIFACTS_TAG = "mlflow.loggedArtifacts"


REQUESTED_ARTIFACT_LOCATION_TAG = "mltop.requested_artifact_location"


class ArtifactLocationWarning(UserWarning):
    """An experiment was asked to keep its artifacts elsewhere; the store keeps them."""


def artifact_location_tags(
    artifact_location: object, tags: Mapping[str, object] | None
) -> Mapping[str, object] | None:
    """The tags of a new experiment asked for `artifact_location`: an mltop store keeps
    every run's artifacts inside itself, so the request is not followed but kept (as a tag),
    and a warning says where the artifacts go."""
    if artifact_location is None:
        return tags
    if not isinstance(artifact_location, str):
        raise InvalidValueError(
            f"artifact_location must be a string, not {type(artifact_location).__name__}"
        )
    warnings.warn(
        f"artifact_location {artifact_location!r} is not used: an mltop store keeps every "
        "run's artifacts inside itself (<store>/artifacts/<run_id>/); the request is kept as "
        f"the experiment tag {REQUESTED_ARTIFACT_LOCATION_TAG}",
        ArtifactLocationWarning,
        stacklevel=3,
    )
    return {**(tags or {}), REQUESTED_ARTIFACT_LOCATION_TAG: artifact_location}


def view_of(view_type: int, view: str | None) -> str:
    """mltop's view string: `view` when given, else MLflow's `ViewType` number mapped."""
    return view if view is not None else ViewType.to_view(view_type)


def _unsupported(what: str, value: object, why: str) -> None:
    if value is not None:
        raise InvalidValueError(f"{what} {value!r}: {why}; pass None")


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

    # The store worked on: a local store (SQLite) or a tracking server's.
    backend: Store | ServerStore
    _writer: MetricWriter | ServerWriter

    def __init__(
        self,
        store: Store | ServerStore | str | os.PathLike[str] | None = None,
        *,
        synchronous: bool = False,
        tracking_uri: str | None = None,
        registry_uri: str | None = None,
    ) -> None:
        """A client of the store at `store` (a folder's path, a tracking URI such as
        `file:///...` or `sqlite:///<folder>/mltop.db`, a tracking server's `http(s)://`
        URL, or a store); `tracking_uri=` is MLflow's name for it. Without either: the
        store `set_tracking_uri` chose, else `MLTOP_STORE`, else the nearest `.mltop/`. The
        registry lives in the same store: a `registry_uri` naming another is refused."""
        if tracking_uri is not None:
            if store is not None:
                raise InvalidValueError("give the store or tracking_uri, not both")
            store = tracking_uri
        if store is None or isinstance(store, (str, os.PathLike)):
            store = _open(store)
        self.backend = store
        self._check_registry_uri(registry_uri)
        self.synchronous = synchronous
        if isinstance(store, Store):
            self._writer = MetricWriter(store)
        else:  # a tracking server (its modules imported only for one)
            from mltop.store.server.logging import ServerWriter

            self._writer = ServerWriter(store.rest)
        self._key_ids: dict[str, int] = {}
        self._run_rows: dict[str, int] = {}

    @property
    def store(self) -> Store:
        """The local store this client works on. A client of a tracking server has none
        (its `backend` is the server's store): what needs a local store (logged models,
        system metrics sampling...) raises InvalidStateError on one."""
        backend = self.backend
        if not isinstance(backend, Store):
            raise InvalidStateError(
                f"{backend.location} is a tracking server: this needs a local mltop store "
                "(a folder holding mltop.db)"
            )
        return backend

    def _check_registry_uri(self, registry_uri: str | None) -> None:
        if registry_uri is None:
            return
        store = self.backend
        if isinstance(store, Store):
            if store_path_from_uri(registry_uri) == store.path:
                return
            where = f"itself ({store.path})"
        else:
            url = server_url(registry_uri)
            if url is not None and url.rstrip("/") == store.location:
                return
            where = f"its server ({store.location})"
        raise InvalidValueError(
            f"registry_uri {registry_uri!r}: mltop keeps the registry with the runs, in "
            f"{where}; give the same store, or leave it out"
        )

    # -- experiments ---------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: Mapping[str, object] | None = None,
    ) -> str:
        """Create an experiment; its id. A run's artifacts live in the store: an
        `artifact_location` is kept as a tag, with a warning (ArtifactLocationWarning)."""
        return self.backend.create_experiment(name, artifact_location_tags(artifact_location, tags))

    def get_experiment(self, experiment_id: str | int) -> Experiment:
        return self.backend.get_experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self.backend.get_experiment_by_name(name)

    def list_experiments(self, view: str = "active") -> list[Experiment]:
        return self.backend.list_experiments(view)

    def rename_experiment(self, experiment_id: str | int, new_name: str) -> None:
        self.backend.rename_experiment(experiment_id, new_name)

    def delete_experiment(self, experiment_id: str | int) -> None:
        self.backend.delete_experiment(experiment_id)

    def restore_experiment(self, experiment_id: str | int) -> None:
        self.backend.restore_experiment(experiment_id)

    def set_experiment_tag(self, experiment_id: str | int, key: str, value: object) -> None:
        self.backend.set_experiment_tag(experiment_id, key, value)

    def delete_experiment_tag(self, experiment_id: str | int, key: str) -> None:
        self.backend.delete_experiment_tag(experiment_id, key)

    # -- runs ----------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str | int | None = None,
        start_time: int | None = None,
        tags: Mapping[str, object] | None = None,
        run_name: str | None = None,
        *,
        parent_run_id: str | None = None,
        status: str = RUNNING,
        log_system_info: bool = True,
    ) -> Run:
        """Create a run (in the default experiment when `experiment_id` is None); MLflow's
        parameters, in its order. A RUNNING run gets a heartbeat for as long as this process lives;
        user, host, command line, Python and git facts are recorded as `mltop.*` tags."""
        all_tags: dict[str, object] = dict(system_tags()) if log_system_info else {}
        all_tags.update(tags or {})
        interval = heartbeat_interval_ms()
        run = self.backend.create_run(
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
        row = self._run_rows[run_id] = self._writer.run_row(run_id)
        self.backend.update_run(run_id, status=RUNNING, heartbeat_interval_ms=interval)
        self._writer.watch(row, interval)
        return self.backend.get_run(run_id)

    def get_run(self, run_id: str) -> Run:
        """A run, with every metric point logged before the call (by any client of this
        process) counted: reads never miss what the script itself logged."""
        sync_all()
        return self.backend.get_run(run_id)

    def list_runs(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        *,
        view: str = "active",
        max_results: int | None = None,
    ) -> list[Run]:
        """Runs, newest first (all of them unless `max_results`)."""
        sync_all()
        if max_results is not None:
            return list(
                self.backend.search_runs(experiment_ids, max_results=max_results, view=view)
            )
        return list(self.backend.iter_runs(experiment_ids, view=view, page_size=MAX_RESULTS_LIMIT))

    def search_runs(
        self,
        experiment_ids: Iterable[str | int] | str | None = None,
        filter_string: str | None = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
        *,
        view: str | None = None,
        experiment_names: Iterable[str] | None = None,
    ) -> PagedList:
        """Runs matching an MLflow search filter, one page (`.token` fetches the next);
        see Store.search_runs. `view` ("active", "deleted", "all"), when given, overrides
        `run_view_type`; every experiment's runs when neither ids nor names are given."""
        if isinstance(experiment_ids, (str, int)):
            experiment_ids = [experiment_ids]
        sync_all()  # a search sees every point logged before it
        return self.backend.search_runs(
            experiment_ids,
            filter_string,
            order_by,
            max_results,
            page_token,
            view=view_of(run_view_type, view),
            experiment_names=experiment_names,
        )

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
        *,
        view: str | None = None,
    ) -> PagedList:
        """Experiments matching a filter, one page; MLflow's parameters, in its order."""
        return self.backend.search_experiments(
            filter_string, order_by, max_results, page_token, view=view_of(view_type, view)
        )

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        if status is not None and str(status).upper() in TERMINAL_STATUSES:
            self.set_terminated(run_id, status)
            status = None
        if status is not None or name is not None:
            self.backend.update_run(run_id, status=status, run_name=name)

    def set_terminated(
        self, run_id: str, status: str | None = None, end_time: int | None = None
    ) -> None:
        """End a run (FINISHED when `status` is None): commit its pending metrics, then
        record the final status."""
        status = FINISHED if status is None else status
        self.flush()
        row = self._run_rows.get(run_id)
        if row is not None:
            self._writer.unwatch(row)
        self.backend.update_run(run_id, status=status, end_time=end_time)

    def delete_run(self, run_id: str) -> None:
        """Delete a run softly; logging to it is refused until it is restored (its points
        queued before are committed first)."""
        self.flush()
        self.backend.delete_run(run_id)
        row = self._run_rows.pop(run_id, None)  # looked up (and refused) afresh next time
        if row is not None:
            self._writer.unwatch(row)

    def restore_run(self, run_id: str) -> None:
        self.backend.restore_run(run_id)

    # -- params and tags -----------------------------------------------------------------

    def log_param(
        self, run_id: str, key: str, value: object, synchronous: bool | None = None
    ) -> object:
        """Log a parameter (its value as a string); returns `value`. Always written
        through (`synchronous` is accepted for MLflow's signature)."""
        self.backend.log_params(run_id, {key: value})
        return value

    def log_params(self, run_id: str, params: Mapping[str, object]) -> None:
        self.backend.log_params(run_id, params)

    def set_tag(
        self, run_id: str, key: str, value: object, synchronous: bool | None = None
    ) -> None:
        self.backend.set_tags(run_id, {key: value})

    def set_tags(self, run_id: str, tags: Mapping[str, object]) -> None:
        self.backend.set_tags(run_id, tags)

    def delete_tag(self, run_id: str, key: str) -> None:
        self.backend.delete_tag(run_id, key)

    # -- metrics -------------------------------------------------------------------------

    def _row(self, run_id: str) -> int:
        row = self._run_rows.get(run_id)
        if row is None:
            row = self._run_rows[run_id] = self._writer.run_row(run_id)
        return row

    def _key_id(self, key: str) -> int:
        kid = self._key_ids[key] = self._writer.key_id(key)
        return kid

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
        dataset_name: str | None = None,
        dataset_digest: str | None = None,
        model_id: str | None = None,
    ) -> None:
        """Log one point (step 0 when not given). Buffered: returns at once; `flush()`
        waits for the commit. MLflow's `MlflowClient.log_metric` parameters, in its order
        (timestamp before step), so that a call written for MLflow means the same here.
        mltop links no metric to a dataset or a logged model: those three must be None.

        This is the hot path of a training loop: validation is cached per key and run,
        and everything else is a type check and a deque append.
        """
        if dataset_name is not None or dataset_digest is not None or model_id is not None:
            self._refuse_metric_links(dataset_name, dataset_digest, model_id)
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
            self._writer.write_now([point])
            return
        writer = self._writer
        if writer.thread is None:
            writer.start()
        queue = writer.queue
        queue.append(point)
        if writer.error is not None:
            # An earlier write failed: said here, and this point is queued with those held
            # (the error's count includes it), so a loop that goes on loses nothing.
            writer.raise_error()
        if len(queue) >= writer.batch_size:
            writer.kick()

    @staticmethod
    def _refuse_metric_links(*values: object) -> None:
        for name, value in zip(("dataset_name", "dataset_digest", "model_id"), values, strict=True):
            _unsupported(name, value, "mltop does not link metrics to datasets or models")

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

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        synchronous: bool | None = None,
    ) -> None:
        """Log metrics (`Metric(key, value, timestamp, step)`), params and tags at once.
        Everything is checked (MLflow's limits: 1000 metrics, 100 params, 100 tags, 1000
        in all) before anything is written; then params, tags, and the metrics (buffered
        unless `synchronous`)."""
        metrics, params, tags = list(metrics), list(params), list(tags)
        for what, count, limit in (
            ("metrics", len(metrics), MAX_METRICS_PER_BATCH),
            ("params", len(params), MAX_PARAMS_TAGS_PER_BATCH),
            ("tags", len(tags), MAX_PARAMS_TAGS_PER_BATCH),
            (
                "metrics, params and tags",
                len(metrics) + len(params) + len(tags),
                MAX_ENTITIES_PER_BATCH,
            ),
        ):
            if count > limit:
                raise InvalidValueError(
                    f"a batch holds at most {limit} {what}; this one has {count}"
                )
        points = []
        for i, m in enumerate(metrics):
            key, value, timestamp, step = (getattr(m, f, None) for f in _METRIC_FIELDS)
            if key is None and value is None:
                raise InvalidValueError(
                    f"metrics[{i}] is a {type(m).__name__}; log_batch takes Metric objects"
                )
            key = keys.validate_key(key, "metric key")
            points.append(
                (
                    key,
                    keys.metric_value(key, value),
                    keys.integer(f"metrics[{i}].timestamp", timestamp),
                    0 if step is None else keys.integer(f"metrics[{i}].step", step),
                )
            )
        clean_params = _pairs("params", params, keys.MAX_PARAM_VALUE_LENGTH)
        clean_tags = _pairs("tags", tags, keys.MAX_TAG_VALUE_LENGTH)
        self._row(run_id)  # an unknown or deleted run is refused before anything is written
        if clean_params:
            self.backend.log_params(run_id, clean_params)
        if clean_tags:
            self.backend.set_tags(run_id, clean_tags)
        for key, value, timestamp, step in points:
            self.log_metric(run_id, key, value, timestamp, step, synchronous)
        if synchronous:
            self.flush()

    def get_metric_history(
        self, run_id: str, key: str, *, after: int = 0, limit: int | None = None
    ) -> list[Metric]:
        sync_all()
        return self.backend.get_metric_history(run_id, key, after=after, limit=limit)

    def get_parent_run(self, run_id: str) -> Run | None:
        """The run `run_id` is nested in, or None (MLflow's `MlflowClient.get_parent_run`)."""
        parent = self.backend.get_run(run_id, max_metrics=0).info.parent_run_id
        return None if parent is None else self.get_run(parent)

    def get_artifact_uri(self, run_id: str, artifact_path: str | None = None) -> str:
        uri = self.backend.get_run(run_id, max_metrics=0).info.artifact_uri
        rel = clean_relative(artifact_path)
        return f"{uri}/{rel}" if rel else uri

    def flush(self) -> None:
        """Commit every metric logged so far; raise a commit failure."""
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()

    # -- artifacts -----------------------------------------------------------------------

    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> str:
        return self.backend.artifacts(run_id).log_file(local_path, artifact_path)

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> str:
        return self.backend.artifacts(run_id).log_dir(local_dir, artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> str:
        return self.backend.artifacts(run_id).write_text(text, artifact_file)

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> str:
        return self.backend.artifacts(run_id).write_json(dictionary, artifact_file)

    def log_figure(
        self,
        run_id: str,
        figure: Any,
        artifact_file: str,
        *,
        save_kwargs: Mapping[str, Any] | None = None,
    ) -> str:
        """Save a matplotlib or plotly figure as `artifact_file` (its format from the
        extension; plotly: .html, or an image format through kaleido)."""
        clean_relative(artifact_file, "artifact file")
        data = media.figure_bytes(figure, artifact_file, save_kwargs)
        return self.backend.artifacts(run_id).write_bytes(data, artifact_file)

    def log_image(
        self,
        run_id: str,
        image: Any,
        artifact_file: str | None = None,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
        synchronous: bool | None = None,
    ) -> str:
        """Save a numpy array or PIL image as PNG: as `artifact_file`, or (with `key`, at
        `step` and `timestamp`) under `images/` as MLflow names them, with a small WebP
        copy, and the run tagged `mlflow.loggedImages`. Returns the PNG's artifact path."""
        if artifact_file is not None and (key, step, timestamp) != (None, None, None):
            raise InvalidValueError(
                "log_image takes artifact_file alone, or key (with step and timestamp), not both"
            )
        if artifact_file is None and key is None:
            raise InvalidValueError(
                "log_image needs artifact_file (a static image) or key (an image per step)"
            )
        if artifact_file is not None:
            clean_relative(artifact_file, "artifact file")
            picture = media.to_pil(image)
            fmt = os.path.splitext(artifact_file)[1].lstrip(".").upper() or "PNG"
            fmt = {"JPG": "JPEG", "TIF": "TIFF"}.get(fmt, fmt)
            try:
                data = media.image_bytes(picture, fmt)
            except (KeyError, ValueError, OSError) as exc:
                raise InvalidValueError(
                    f"cannot save the image as {artifact_file!r}: {exc}"
                ) from exc
            return self.backend.artifacts(run_id).write_bytes(data, artifact_file)
        assert key is not None
        media.check_image_key(key)
        step = 0 if not step else keys.integer("step", step)
        timestamp = now() if not timestamp else keys.integer("timestamp", timestamp)
        picture = media.to_pil(image)
        name = f"images/{key.replace('/', '~')}+step+{step}+timestamp+{timestamp}+{uuid.uuid4()}"
        artifacts = self.backend.artifacts(run_id)
        path = artifacts.write_bytes(media.image_bytes(picture), f"{name}.png")
        small = media.compressed(picture)
        artifacts.write_bytes(media.image_bytes(small, "WEBP"), f"{name}+compressed.webp")
        self.set_tag(run_id, LOGGED_IMAGES_TAG, True)
        return path

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> str:
        """Save a dict of columns or a pandas DataFrame as a JSON table
        (`{"columns": [...], "data": [[...], ...]}`, pandas' `split` form), appending its
        rows when the file exists; the run's `mlflow.loggedArtifacts` tag lists it."""
        media.check_table_file(artifact_file)
        rel = clean_relative(artifact_file, "artifact file")
        table = media.table_of(data)
        artifacts = self.backend.artifacts(run_id)
        try:
            existing_path = artifacts.local_path(rel)
        except Exception:
            existing_path = None
        if existing_path is not None and existing_path.is_file():
            try:
                existing = json.loads(existing_path.read_text(encoding="utf-8"))
                if not isinstance(existing, dict) or {"columns", "data"} - existing.keys():
                    raise ValueError("not a table")
            except ValueError as exc:
                raise InvalidValueError(
                    f"{artifact_file!r} exists and is not a table: rows cannot be appended to it"
                ) from exc
            table = media.append_table(existing, table)
        path = artifacts.write_text(media.table_text(table), rel)
        run = self.backend.get_run(run_id, max_metrics=0)
        try:
            listed = json.loads(run.data.tags.get(LOGGED_ARTIFACTS_TAG, "[]"))
        except ValueError:
            listed = []
        entry = {"path": artifact_file, "type": "table"}
        if isinstance(listed, list) and entry not in listed:
            listed.append(entry)
            self.set_tag(run_id, LOGGED_ARTIFACTS_TAG, json.dumps(listed))
        return path

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        """Copy a run's artifact file or folder (`""`: all of them) into `dst_path` (a new
        temporary folder when None); the local path of the copy. Paths leaving the run's
        artifacts, and links leading out of them, are refused (ArtifactPathError)."""
        rel = clean_relative(path)
        artifacts = self.backend.artifacts(run_id)
        source = artifacts.local_path(rel) if rel else artifacts.root
        dest_root = Path(dst_path if dst_path is not None else media.new_temp_dir()).absolute()
        dest_root.mkdir(parents=True, exist_ok=True)
        if not source.is_dir():
            target = dest_root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            return str(target)
        top = dest_root / rel if rel else dest_root
        top.mkdir(parents=True, exist_ok=True)
        for info in artifacts.walk():
            if rel and not info.path.startswith(rel + "/"):
                continue
            target = dest_root / info.path
            if info.is_dir:
                target.mkdir(parents=True, exist_ok=True)
                continue
            local = artifacts.local_path(info.path)  # refuses a link leading outside
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local, target)
        return str(top)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        return self.backend.artifacts(run_id).list(path)

    def open_artifact(self, run_id: str, path: str, mode: str = "rb") -> IO[Any]:
        return self.backend.artifacts(run_id).open(path, mode)

    def artifact_local_path(self, run_id: str, path: str) -> Path:
        return self.backend.artifacts(run_id).local_path(path)

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
        self.backend.log_inputs(run_id, datasets)


_METRIC_FIELDS = ("key", "value", "timestamp", "step")


def _open(location: str | os.PathLike[str] | None) -> Store | ServerStore:
    """The store a client is given by location: a tracking server's for its URL (its
    modules imported only then), else the local store of a path or tracking URI."""
    url = chosen_server(location)
    if url is not None:
        from mltop.store.server.tracking import ServerStore

        return ServerStore(url)
    if isinstance(location, str) and location:
        location = store_path_from_uri(location)
    return Store(location)


def now() -> int:
    return int(_time() * 1000)


def _pairs(what: str, items: Sequence[Any], limit: int) -> dict[str, str]:
    """Params or tags of a batch (objects with .key and .value) checked, as a dict; a key
    twice with two values is refused."""
    out: dict[str, str] = {}
    for i, item in enumerate(items):
        key, value = getattr(item, "key", None), getattr(item, "value", None)
        if key is None:
            raise InvalidValueError(
                f"{what}[{i}] is a {type(item).__name__}; log_batch takes "
                f"{'Param' if what == 'params' else 'RunTag'} objects"
            )
        key = keys.validate_key(key, f"{what[:-1]} key")
        text = keys.validate_string_value(value, limit, f"{what}[{i}] ({key!r})")
        if out.get(key, text) != text:
            raise InvalidValueError(f"{what}: {key!r} is given twice with different values")
        out[key] = text
    return out


# MLflow's name, for `from mlflow.client import MlflowClient` ported as a module change.
MlflowClient = MltopClient
