"""Logged models in the SQLite store (MLflow 3's LoggedModel): a model saved from a run, or
on its own, with its params, tags, metrics, and its files in a folder of the store.

A model's files live in `<store>/models/<model_id>/artifacts/`, a plain folder any local
artifact repository (MLflow's own among them) writes and reads. Runs know the models they
produced (`log_outputs`) and used (`log_inputs`) through `run_models`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mltop.store import keys
from mltop.store.entities import (
    ACTIVE,
    DELETED,
    LOGGED_MODEL_STATUSES,
    MODEL_PENDING,
    MODEL_READY,
    LoggedModel,
    LoggedModelMetric,
    RunModel,
    now_ms,
)
from mltop.store.errors import (
    InvalidStateError,
    InvalidValueError,
    NotFoundError,
    PageTokenError,
)
from mltop.store.integrity import FileDigest, folder_digests
from mltop.store.names import generate_run_name
from mltop.store.query import paging
from mltop.store.query.model_search import compile_filter, sort_key
from mltop.store.sqlite.errors import translated

if TYPE_CHECKING:
    import sqlite3

    from mltop.store.sqlite.tracking import Store

MODELS_DIR = "models"  # <store>/models/<model_id>/artifacts
MODEL_ID_PREFIX = "m-"
DIRECTIONS = ("input", "output")
SEARCH_DEFAULT_MAX_RESULTS = 100
_COLUMNS = (
    "id, model_id, experiment_id, name, source_run_id, model_type, status, status_message, "
    "creation_time, last_update_time, lifecycle_stage"
)


def check_model_id(model_id: object) -> str:
    """A model id as mltop makes them ("m-" and 32 hex digits); anything else is refused
    before it reaches a query or a path."""
    text = model_id if isinstance(model_id, str) else ""
    body = text[len(MODEL_ID_PREFIX) :]
    if (
        not text.startswith(MODEL_ID_PREFIX)
        or len(body) != 32
        or any(c not in "0123456789abcdef" for c in body)
    ):
        raise NotFoundError(f"no logged model with id {model_id!r} (ids are m- and 32 hex digits)")
    return text


def _status(status: object) -> str:
    text = getattr(status, "name", status)  # MLflow's LoggedModelStatus enum, or its name
    if not isinstance(text, str) or text.upper() not in LOGGED_MODEL_STATUSES:
        raise InvalidValueError(
            f"a logged model's status is one of {list(LOGGED_MODEL_STATUSES)}, not {status!r}"
        )
    return text.upper()


@translated(lambda models: models.store.path)
class LoggedModels:
    """The store's logged models (`store.logged_models`)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    def path_of(self, model_id: str) -> Path:
        """The folder holding the model's files (`artifact_location`)."""
        return self.store.path / MODELS_DIR / check_model_id(model_id) / "artifacts"

    # -- writing -------------------------------------------------------------------------

    def create(
        self,
        experiment_id: str | int | None = None,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Mapping[str, object] | None = None,
        params: Mapping[str, object] | None = None,
        model_type: str | None = None,
        *,
        status: str = MODEL_PENDING,
    ) -> LoggedModel:
        """A new logged model, PENDING until `finalize` (the default experiment when
        `experiment_id` is None; the source run's when only that is given)."""
        name = name or generate_run_name()
        keys.validate_name(name, "model name", keys.MAX_RUN_NAME_LENGTH)
        if "/" in name or ":" in name:
            raise InvalidValueError(f"a model name cannot contain '/' or ':': {name!r}")
        if model_type is not None:
            keys.validate_string_value(model_type, keys.MAX_RUN_NAME_LENGTH, "model_type")
        clean_tags = keys.clean_tags(tags or {}, keys.MAX_TAG_VALUE_LENGTH)
        clean_params = keys.clean_tags(params or {}, keys.MAX_PARAM_VALUE_LENGTH)
        status = _status(status)
        model_id = MODEL_ID_PREFIX + uuid.uuid4().hex
        now = now_ms()
        with self.db.write() as conn:
            if source_run_id is not None:
                run_row, run_exp, stage, _ = self.store._run_row(conn, source_run_id)
                if stage != ACTIVE:
                    raise InvalidStateError(f"run {source_run_id} is deleted")
                if experiment_id is None:
                    experiment_id = run_exp
            exp, exp_name, stage = self.store._experiment_row(
                conn, "0" if experiment_id is None else experiment_id
            )
            if stage != ACTIVE:
                raise InvalidStateError(f"experiment {exp_name!r} is deleted")
            row = conn.execute(
                f"INSERT INTO logged_models ({_COLUMNS}) VALUES "
                "(NULL, ?, ?, ?, ?, ?, ?, NULL, ?, ?, 'active')",
                (model_id, exp, name, source_run_id, model_type, status, now, now),
            ).lastrowid
            conn.executemany(
                "INSERT INTO logged_model_tags (model, key, value) VALUES (?, ?, ?)",
                [(row, k, v) for k, v in clean_tags.items()],
            )
            conn.executemany(
                "INSERT INTO logged_model_params (model, key, value) VALUES (?, ?, ?)",
                [(row, k, v) for k, v in clean_params.items()],
            )
            if source_run_id is not None:
                self.store._touch_run(conn, run_row)
        self.path_of(model_id).mkdir(parents=True, exist_ok=True)
        return self.get(model_id)

    def _row(self, conn: sqlite3.Connection, model_id: str, *, writable: bool = True) -> int:
        found = conn.execute(
            "SELECT id, lifecycle_stage FROM logged_models WHERE model_id = ?",
            (check_model_id(model_id),),
        ).fetchone()
        if found is None:
            raise NotFoundError(f"no logged model with id {model_id!r} in {self.store.path}")
        if writable and found[1] != ACTIVE:
            raise InvalidStateError(f"logged model {model_id} is deleted")
        return found[0]

    def _touched(self, conn: sqlite3.Connection, row: int) -> None:
        """The model changed: its time, and its source run's place in the change feed."""
        conn.execute("UPDATE logged_models SET last_update_time = ? WHERE id = ?", (now_ms(), row))
        run = conn.execute(
            "SELECT r.id FROM logged_models AS m JOIN runs AS r ON r.run_id = m.source_run_id "
            "WHERE m.id = ?",
            (row,),
        ).fetchone()
        if run is not None:
            self.store._touch_run(conn, run[0])

    def finalize(self, model_id: str, status: object, message: str | None = None) -> LoggedModel:
        """Set the model's status. A model becoming READY has each of its files' size and
        SHA-256 recorded (`files`), for loading to check; a folder that cannot be read
        whole (a link out of it) has none recorded, and says why in the status message."""
        status = _status(status)
        digests: dict[str, FileDigest] | None = None
        if status == MODEL_READY:
            try:
                digests = folder_digests(self.path_of(model_id))
            except (OSError, ValueError) as error:
                note = f"files not recorded: {error}"
                message = f"{message}; {note}" if message else note
        with self.db.write() as conn:
            row = self._row(conn, model_id)
            conn.execute(
                "UPDATE logged_models SET status = ?, status_message = ? WHERE id = ?",
                (status, message, row),
            )
            if digests is not None:
                conn.execute("DELETE FROM logged_model_files WHERE model = ?", (row,))
                conn.executemany(
                    "INSERT INTO logged_model_files (model, path, size, sha256) "
                    "VALUES (?, ?, ?, ?)",
                    [(row, path, d.size, d.sha256) for path, d in digests.items()],
                )
            self._touched(conn, row)
        return self.get(model_id)

    def record_files(self, model_id: str) -> dict[str, FileDigest]:
        """Record the model's files as they are now (after a deliberate change of its
        folder, such as a new signature in its MLmodel). Raises what reading them raises."""
        digests = folder_digests(self.path_of(model_id))
        with self.db.write() as conn:
            row = self._row(conn, model_id)
            conn.execute("DELETE FROM logged_model_files WHERE model = ?", (row,))
            conn.executemany(
                "INSERT INTO logged_model_files (model, path, size, sha256) VALUES (?, ?, ?, ?)",
                [(row, path, d.size, d.sha256) for path, d in digests.items()],
            )
            self._touched(conn, row)
        return digests

    def files(self, model_id: str) -> dict[str, FileDigest]:
        """The model's files as recorded when it became READY (path -> size, SHA-256);
        empty when none were recorded."""
        conn = self.db.connection()
        row = self._row(conn, model_id, writable=False)
        return {
            path: FileDigest(size, sha256)
            for path, size, sha256 in conn.execute(
                "SELECT path, size, sha256 FROM logged_model_files WHERE model = ? ORDER BY path",
                (row,),
            )
        }

    def set_tags(self, model_id: str, tags: Mapping[str, object]) -> None:
        clean = keys.clean_tags(tags, keys.MAX_TAG_VALUE_LENGTH)
        with self.db.write() as conn:
            row = self._row(conn, model_id)
            conn.executemany(
                "INSERT INTO logged_model_tags (model, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (model, key) DO UPDATE SET value = excluded.value",
                [(row, k, v) for k, v in clean.items()],
            )
            self._touched(conn, row)

    def delete_tag(self, model_id: str, key: str) -> None:
        with self.db.write() as conn:
            row = self._row(conn, model_id)
            cur = conn.execute(
                "DELETE FROM logged_model_tags WHERE model = ? AND key = ?", (row, key)
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"logged model {model_id} has no tag {key!r}")
            self._touched(conn, row)

    def log_params(self, model_id: str, params: Mapping[str, object]) -> None:
        """Params, immutable as a run's: the same value again is fine, another is refused."""
        clean = keys.clean_tags(params, keys.MAX_PARAM_VALUE_LENGTH)
        with self.db.write() as conn:
            row = self._row(conn, model_id)
            for key, value in clean.items():
                old = conn.execute(
                    "SELECT value FROM logged_model_params WHERE model = ? AND key = ?",
                    (row, key),
                ).fetchone()
                if old is not None and old[0] != value:
                    raise InvalidValueError(
                        f"param {key!r} of logged model {model_id} is already {old[0]!r}; it "
                        f"cannot change to {value!r}"
                    )
                conn.execute(
                    "INSERT INTO logged_model_params (model, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (model, key) DO NOTHING",
                    (row, key, value),
                )
            self._touched(conn, row)

    def log_metrics(self, model_id: str, metrics: Sequence[LoggedModelMetric]) -> None:
        points = []
        for i, m in enumerate(metrics):
            key = keys.validate_key(m.key, "metric key")
            value = keys.metric_value(key, m.value)
            points.append(
                (
                    key,
                    None if value != value else value,
                    keys.integer(f"metrics[{i}].step", m.step),
                    keys.integer(f"metrics[{i}].timestamp", m.timestamp),
                    m.run_id,
                    m.dataset_name,
                    m.dataset_digest,
                )
            )
        with self.db.write() as conn:
            row = self._row(conn, model_id)
            conn.executemany(
                "INSERT INTO logged_model_metrics (model, key, value, step, timestamp, run_id, "
                "dataset_name, dataset_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(row, *point) for point in points],
            )
            self._touched(conn, row)

    def delete(self, model_id: str) -> None:
        """Mark the model deleted (its files stay until the store is cleaned)."""
        with self.db.write() as conn:
            row = self._row(conn, model_id, writable=False)
            conn.execute(
                "UPDATE logged_models SET lifecycle_stage = ? WHERE id = ?", (DELETED, row)
            )
            self._touched(conn, row)

    def link_run(
        self, run_id: str, models: Iterable[tuple[str, int]], direction: str = "output"
    ) -> None:
        """Record models (model id, step) as outputs (or inputs) of a run."""
        if direction not in DIRECTIONS:
            raise InvalidValueError(f"direction is 'input' or 'output', not {direction!r}")
        with self.db.write() as conn:
            run_row = self.store._writable_run(conn, run_id)
            for model_id, step in models:
                self._row(conn, model_id, writable=False)
                conn.execute(
                    "INSERT INTO run_models (run, model_id, direction, step) VALUES "
                    "(?, ?, ?, ?) ON CONFLICT (run, model_id, direction) DO NOTHING",
                    (run_row, model_id, direction, keys.integer("step", step)),
                )
            self.store._touch_run(conn, run_row)

    # -- reading -------------------------------------------------------------------------

    def get(self, model_id: str, *, allow_deleted: bool = False) -> LoggedModel:
        conn = self.db.connection()
        found = self._load(conn, "model_id = ?", (check_model_id(model_id),))
        if not found or (found[0].lifecycle_stage != ACTIVE and not allow_deleted):
            raise NotFoundError(f"no logged model with id {model_id!r} in {self.store.path}")
        return found[0]

    def _load(self, conn: sqlite3.Connection, where: str, args: Sequence[Any]) -> list[LoggedModel]:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM logged_models WHERE {where} "
            "ORDER BY creation_time DESC, model_id",
            args,
        ).fetchall()
        if not rows:
            return []
        ids = [row[0] for row in rows]
        marks = ", ".join("?" * len(ids))
        tags: dict[int, dict[str, str]] = {}
        params: dict[int, dict[str, str]] = {}
        metrics: dict[int, list[LoggedModelMetric]] = {}
        for table, into in (("logged_model_tags", tags), ("logged_model_params", params)):
            for model, key, value in conn.execute(
                f"SELECT model, key, value FROM {table} WHERE model IN ({marks})", ids
            ):
                into.setdefault(model, {})[key] = value
        for model, key, value, step, stamp, run_id, dname, ddigest in conn.execute(
            "SELECT model, key, value, step, timestamp, run_id, dataset_name, dataset_digest "
            f"FROM logged_model_metrics WHERE model IN ({marks}) ORDER BY id",
            ids,
        ):
            metrics.setdefault(model, []).append(
                LoggedModelMetric(
                    key,
                    float("nan") if value is None else value,
                    stamp,
                    step,
                    run_id,
                    dname,
                    ddigest,
                )
            )
        root = self.store.path / MODELS_DIR
        return [
            LoggedModel(
                model_id=model_id,
                experiment_id=str(exp),
                name=name,
                artifact_location=str(root / model_id / "artifacts"),
                creation_timestamp=created,
                last_updated_timestamp=updated,
                model_type=model_type,
                source_run_id=run_id,
                status=status,
                status_message=message,
                tags=tags.get(row, {}),
                params=params.get(row, {}),
                metrics=metrics.get(row, []),
                lifecycle_stage=stage,
            )
            for (
                row,
                model_id,
                exp,
                name,
                run_id,
                model_type,
                status,
                message,
                created,
                updated,
                stage,
            ) in rows
        ]

    def of_run(self, run_id: str) -> list[LoggedModel]:
        """The models a run produced: logged from it, or recorded as its outputs; newest
        first."""
        conn = self.db.connection()
        return self._load(
            conn,
            "lifecycle_stage = 'active' AND (source_run_id = ? OR model_id IN "
            "(SELECT l.model_id FROM run_models AS l JOIN runs AS r ON r.id = l.run "
            "WHERE r.run_id = ? AND l.direction = 'output'))",
            (run_id, run_id),
        )

    def run_links(self, run_id: str) -> list[RunModel]:
        """The models recorded as a run's outputs and inputs, in the order recorded."""
        return [
            RunModel(model_id, direction, step)
            for model_id, direction, step in self.db.connection().execute(
                "SELECT l.model_id, l.direction, l.step FROM run_models AS l "
                "JOIN runs AS r ON r.id = l.run WHERE r.run_id = ? ORDER BY l.id",
                (run_id,),
            )
        ]

    def run_links_of(self, run_ids: Sequence[str]) -> dict[str, list[RunModel]]:
        """`run_links` of many runs at once (only those that have any)."""
        conn = self.db.connection()
        found: dict[str, list[RunModel]] = {}
        if not run_ids or conn.execute("SELECT 1 FROM run_models LIMIT 1").fetchone() is None:
            return found
        for start in range(0, len(run_ids), 500):
            chunk = list(run_ids[start : start + 500])
            for run_id, model_id, direction, step in conn.execute(
                "SELECT r.run_id, l.model_id, l.direction, l.step FROM run_models AS l "
                f"JOIN runs AS r ON r.id = l.run WHERE r.run_id IN ({', '.join('?' * len(chunk))}) "
                "ORDER BY l.id",
                chunk,
            ):
                found.setdefault(run_id, []).append(RunModel(model_id, direction, step))
        return found

    def search(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        filter_string: str | None = None,
        order_by: Sequence[Mapping[str, Any]] | None = None,
        max_results: int | None = None,
        page_token: str | None = None,
        *,
        view: str = "active",
    ) -> paging.PagedList:
        """A page of logged models matching MLflow's logged-model filter (see
        `query/model_search.py`), newest first unless `order_by` says otherwise."""
        limit = paging.check_max_results(
            SEARCH_DEFAULT_MAX_RESULTS if max_results is None else max_results
        )
        matches = compile_filter(filter_string)
        key = sort_key(order_by)
        where, args = "1", list[object]()
        if experiment_ids is not None:
            ids = [int(str(e)) for e in experiment_ids if str(e).isdigit()]
            where = f"experiment_id IN ({', '.join('?' * len(ids))})" if ids else "0"
            args = list(ids)
        if view != "all":
            where += " AND lifecycle_stage = ?"
            args.append(DELETED if view == "deleted" else ACTIVE)
        found = sorted(
            (m for m in self._load(self.db.connection(), where, args) if matches(m)), key=key
        )
        shape = paging.fingerprint(
            "logged_models", sorted(map(str, experiment_ids or ())), filter_string, order_by, view
        )
        start = 0
        if page_token:
            start = paging.decode_token(page_token, shape, 1)[0]
            if not isinstance(start, int) or start < 0:
                raise PageTokenError("invalid page token")
        page = found[start : start + limit]
        more = start + limit < len(found)
        return paging.PagedList(page, paging.encode_token([start + limit], shape) if more else None)
