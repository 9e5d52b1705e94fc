"""The SQLite run store: experiments, runs, params, tags, metrics, the read model and
its cache, and the change feed, over one `Database` (`sqlite/database.py`) plus an
artifact folder, shared by processes.

`Store` validates, writes in short `BEGIN IMMEDIATE` transactions and reads. It is the
SQLite backend of the Protocols in `store/protocols.py`; the logging API (`client.py`,
`fluent.py`), the dashboard and the CLI use it through them.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
import uuid
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from operator import itemgetter
from pathlib import Path

from mltop.store import keys
from mltop.store.artifact_repo import ArtifactRepository
from mltop.store.blocks import MetricBlock, blocks_of, complete
from mltop.store.entities import (
    ACTIVE,
    DEFAULT_EXPERIMENT_ID,
    DELETED,
    LOST_AFTER_INTERVALS,
    NO_INPUTS,
    RUN_STATUSES,
    RUNNING,
    TERMINAL_STATUSES,
    VIEWS,
    ChangeCursor,
    Changes,
    Dataset,
    DatasetInput,
    Experiment,
    Extremes,
    InputTag,
    LoggedModel,
    Metric,
    MetricSummary,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunRow,
    now_ms,
)
from mltop.store.errors import (
    AlreadyExistsError,
    InvalidStateError,
    InvalidValueError,
    NotFoundError,
    ParamConflictError,
    StoreError,
    ValidationError,
)
from mltop.store.integrity import FileDigest
from mltop.store.location import ARTIFACTS_DIR, resolve_store_path
from mltop.store.names import generate_run_name
from mltop.store.query.paging import DEFAULT_MAX_RESULTS, MAX_RESULTS_LIMIT, PagedList
from mltop.store.sqlite import search
from mltop.store.sqlite.database import BUSY_TIMEOUT_S, Database
from mltop.store.sqlite.errors import translated
from mltop.store.sqlite.models import LoggedModels
from mltop.store.sqlite.registry import Registry
from mltop.store.sqlite.schema import BLOCK_SUMMARY_COLUMNS, INSERT_BLOCK, RUN_COLUMNS
from mltop.store.system import TAG_MLFLOW_PARENT_RUN, TAG_MLFLOW_RUN_NAME, TAG_MLFLOW_USER

DEFAULT_HEARTBEAT_INTERVAL_MS = 5000
_CHUNK = 500  # ids per IN (...) list
POINTS_UP_TO = 64 * 1024  # a longer history is read for a chart as blocks (get_metric_blocks)
DATA_CACHE_RUNS = 20_000  # runs whose params, tags and summaries a Store keeps read
KEY_NAMES_KEPT = 200_000  # metric key names a thread keeps read
ROW_METRICS = 256  # metrics of each run in a table of runs (RunRow): the first it logged


def _exp_int(experiment_id: str | int) -> int:
    try:
        number = int(experiment_id)
    except (TypeError, ValueError):
        raise NotFoundError(f"no experiment with id {experiment_id!r}") from None
    if not keys.INT64_MIN <= number <= keys.INT64_MAX:  # no such id, nor one SQLite can hold
        raise NotFoundError(f"no experiment with id {experiment_id!r}")
    return number


def _batches(rows: Iterator[tuple], size: int = 50_000) -> Iterator[list[tuple]]:
    """`rows` in lists of up to `size`: memory for a batch, not for all of them."""
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _chunks(items: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


# Merges a batch's summary of one (run, key) series into the stored one.
_MERGE_SUMMARY = """
INSERT INTO metric_summaries
    (run, key, value, step, timestamp, min, max, count, min_step, max_step)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (run, key) DO UPDATE SET
    value = CASE WHEN excluded.step > step
                   OR (excluded.step = step AND excluded.timestamp >= timestamp)
                 THEN excluded.value ELSE value END,
    timestamp = CASE WHEN excluded.step > step
                   OR (excluded.step = step AND excluded.timestamp >= timestamp)
                 THEN excluded.timestamp ELSE timestamp END,
    step = max(step, excluded.step),
    min = CASE WHEN min IS NULL THEN excluded.min
               WHEN excluded.min IS NULL THEN min ELSE min(min, excluded.min) END,
    max = CASE WHEN max IS NULL THEN excluded.max
               WHEN excluded.max IS NULL THEN max ELSE max(max, excluded.max) END,
    count = count + excluded.count,
    -- where the series first reached its min and its max (SET reads the row as it was)
    min_step = CASE WHEN min IS NULL OR excluded.min < min THEN excluded.min_step
                    ELSE min_step END,
    max_step = CASE WHEN max IS NULL OR excluded.max > max THEN excluded.max_step
                    ELSE max_step END
"""

# Merges a batch's summary of (part of) one block into the stored one (store/blocks.py).
_MERGE_BLOCK = f"""
{INSERT_BLOCK}
ON CONFLICT (run, key, block) DO UPDATE SET
    count = count + excluded.count,
    last_id = excluded.last_id,
    last_step = excluded.last_step,
    last_timestamp = excluded.last_timestamp,
    finite = finite + excluded.finite,
    total = total + excluded.total,
    low_at = CASE WHEN low IS NULL OR excluded.low < low THEN excluded.low_at ELSE low_at END,
    low_step = CASE WHEN low IS NULL OR excluded.low < low THEN excluded.low_step
               ELSE low_step END,
    low_timestamp = CASE WHEN low IS NULL OR excluded.low < low THEN excluded.low_timestamp
                    ELSE low_timestamp END,
    low = CASE WHEN low IS NULL OR excluded.low < low THEN excluded.low ELSE low END,
    high_at = CASE WHEN high IS NULL OR excluded.high > high THEN excluded.high_at
              ELSE high_at END,
    high_step = CASE WHEN high IS NULL OR excluded.high > high THEN excluded.high_step
                ELSE high_step END,
    high_timestamp = CASE WHEN high IS NULL OR excluded.high > high THEN excluded.high_timestamp
                     ELSE high_timestamp END,
    high = CASE WHEN high IS NULL OR excluded.high > high THEN excluded.high ELSE high END
"""


@translated(lambda store: store.path)
class Store:
    """An mltop store directory: `mltop.db` (SQLite, WAL) and `artifacts/`.

    Safe to share between threads (each thread gets its own connection) and between
    processes (SQLite's locking; every write is a short `BEGIN IMMEDIATE` transaction).
    SQLite's failures reach callers as `StoreError` subclasses (busy, I/O, corrupt).
    `busy_timeout` is how long a read or write waits for another process's lock.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        create: bool = True,
        busy_timeout: float = BUSY_TIMEOUT_S,
        read_only: bool | None = None,
    ):
        self.path = resolve_store_path(path)
        self._artifact_prefix = f"{self.path / ARTIFACTS_DIR}{os.sep}"
        self._lock = threading.Lock()
        self._data_cache: OrderedDict[int, tuple[int, RunData, RunInputs]] = OrderedDict()
        self.db = Database(
            self.path,
            create=create,
            busy_timeout=busy_timeout,
            read_only=read_only,
            on_replaced=self._forget_cached,
        )

    def _forget_cached(self) -> None:
        """The database file was replaced: nothing read from the old one is kept."""
        with self._lock:
            self._data_cache.clear()

    @property
    def db_path(self) -> Path:
        return self.db.db_path

    @property
    def read_only(self) -> bool:
        return self.db.read_only

    @property
    def busy_timeout(self) -> float:
        return self.db.busy_timeout

    def thread_connection(self) -> sqlite3.Connection:
        """This thread's connection to the store (opened on first use)."""
        return self.db.connection()

    def new_connection(self) -> sqlite3.Connection:
        """A private connection (for a writer thread); the caller closes it."""
        return self.db.new_connection()

    @property
    def location(self) -> str:
        """The store's folder, as text (`open_store` takes it again)."""
        return str(self.path)

    def check(self, *, write: bool = False) -> bool:
        """`Database.check`: raise the typed error that stops this store from being used
        now; whether its database file was replaced."""
        return self.db.check(write=write)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # -- experiments ---------------------------------------------------------------------

    def _experiment_row(self, conn: sqlite3.Connection, experiment_id: str | int) -> tuple:
        row = conn.execute(
            "SELECT experiment_id, name, lifecycle_stage FROM experiments WHERE experiment_id = ?",
            (_exp_int(experiment_id),),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no experiment with id {experiment_id!r} in {self.path}")
        return row

    def create_experiment(self, name: str, tags: Mapping[str, object] | None = None) -> str:
        keys.validate_name(name, "experiment name", keys.MAX_EXPERIMENT_NAME_LENGTH)
        clean_tags = keys.clean_tags(tags or {}, keys.MAX_TAG_VALUE_LENGTH)
        with self.db.write() as conn:
            self._refuse_taken_name(conn, name)
            now = now_ms()
            cur = conn.execute(
                "INSERT INTO experiments (name, lifecycle_stage, creation_time, last_update_time,"
                " seq) VALUES (?, 'active', ?, ?, ?)",
                (name, now, now, self.db.next_seq(conn)),
            )
            exp = cur.lastrowid
            conn.executemany(
                "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)",
                [(exp, k, v) for k, v in clean_tags.items()],
            )
        return str(exp)

    @staticmethod
    def _refuse_taken_name(conn: sqlite3.Connection, name: str) -> None:
        row = conn.execute(
            "SELECT experiment_id, lifecycle_stage FROM experiments WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            return
        if row[1] == DELETED:
            raise AlreadyExistsError(
                f"experiment {name!r} exists in the deleted state (id {row[0]}); restore it "
                "or choose another name"
            )
        raise AlreadyExistsError(f"experiment {name!r} already exists (id {row[0]})")

    def _experiments(self, where: str, args: Sequence[object]) -> list[Experiment]:
        conn = self.db.connection()
        rows = conn.execute(
            "SELECT experiment_id, name, lifecycle_stage, creation_time, last_update_time "
            f"FROM experiments WHERE {where} ORDER BY experiment_id",
            args,
        ).fetchall()
        tags: dict[int, dict[str, str]] = {row[0]: {} for row in rows}
        for chunk in _chunks(list(tags)):
            for exp, key, value in conn.execute(
                "SELECT experiment_id, key, value FROM experiment_tags "
                f"WHERE experiment_id IN ({_marks(len(chunk))}) ORDER BY key",
                chunk,
            ):
                tags[exp][key] = value
        root = str(self.path / ARTIFACTS_DIR)
        return [Experiment(str(r[0]), r[1], r[2], r[3], r[4], tags[r[0]], root) for r in rows]

    def get_experiment(self, experiment_id: str | int) -> Experiment:
        found = self._experiments("experiment_id = ?", (_exp_int(experiment_id),))
        if not found:
            raise NotFoundError(f"no experiment with id {experiment_id!r} in {self.path}")
        return found[0]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        found = self._experiments("name = ?", (name,))
        return found[0] if found else None

    def list_experiments(self, view: str = "active") -> list[Experiment]:
        _check_view(view)
        if view == "all":
            return self._experiments("1", ())
        return self._experiments("lifecycle_stage = ?", (view,))

    def rename_experiment(self, experiment_id: str | int, new_name: str) -> None:
        keys.validate_name(new_name, "experiment name", keys.MAX_EXPERIMENT_NAME_LENGTH)
        with self.db.write() as conn:
            exp, name, _stage = self._experiment_row(conn, experiment_id)
            if name == new_name:
                return
            self._refuse_taken_name(conn, new_name)
            conn.execute(
                "UPDATE experiments SET name = ?, last_update_time = ?, seq = ? "
                "WHERE experiment_id = ?",
                (new_name, now_ms(), self.db.next_seq(conn), exp),
            )

    def _set_experiment_stage(self, experiment_id: str | int, stage: str) -> None:
        with self.db.write() as conn:
            exp, name, current = self._experiment_row(conn, experiment_id)
            if stage == DELETED and str(exp) == DEFAULT_EXPERIMENT_ID:
                raise InvalidStateError("the Default experiment cannot be deleted")
            if current == stage:
                raise InvalidStateError(f"experiment {name!r} is already {stage}")
            conn.execute(
                "UPDATE experiments SET lifecycle_stage = ?, last_update_time = ?, seq = ? "
                "WHERE experiment_id = ?",
                (stage, now_ms(), self.db.next_seq(conn), exp),
            )

    def delete_experiment(self, experiment_id: str | int) -> None:
        """Soft delete: the name stays reserved and its runs are hidden until restored."""
        self._set_experiment_stage(experiment_id, DELETED)

    def restore_experiment(self, experiment_id: str | int) -> None:
        self._set_experiment_stage(experiment_id, ACTIVE)

    def set_experiment_tag(self, experiment_id: str | int, key: str, value: object) -> None:
        clean = keys.clean_tags({key: value}, keys.MAX_TAG_VALUE_LENGTH)
        with self.db.write() as conn:
            exp = self._experiment_row(conn, experiment_id)[0]
            conn.executemany(
                "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
                [(exp, k, v) for k, v in clean.items()],
            )
            self._touch_experiment(conn, exp)

    def delete_experiment_tag(self, experiment_id: str | int, key: str) -> None:
        with self.db.write() as conn:
            exp = self._experiment_row(conn, experiment_id)[0]
            cur = conn.execute(
                "DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?", (exp, key)
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"experiment {experiment_id} has no tag {key!r}")
            self._touch_experiment(conn, exp)

    def _touch_experiment(self, conn: sqlite3.Connection, exp: int) -> None:
        conn.execute(
            "UPDATE experiments SET last_update_time = ?, seq = ? WHERE experiment_id = ?",
            (now_ms(), self.db.next_seq(conn), exp),
        )

    def experiment_run_counts(self) -> dict[str, tuple[int, int]]:
        """experiment id -> (active runs, running runs among them: RUNNING and not LOST,
        as a table of runs shows them)."""
        rows = self.db.connection().execute(
            "SELECT experiment_id, count(*), sum(status = 'RUNNING' AND (heartbeat_time IS "
            "NULL OR ? - heartbeat_time <= ? * heartbeat_interval_ms)) FROM runs "
            "WHERE lifecycle_stage = 'active' GROUP BY experiment_id",
            (now_ms(), LOST_AFTER_INTERVALS),
        )
        return {str(exp): (total, running or 0) for exp, total, running in rows}

    # -- runs ----------------------------------------------------------------------------

    def _run_row(self, conn: sqlite3.Connection, run_id: str) -> tuple[int, int, str, str]:
        """(row id, experiment id, lifecycle stage, status) of a run."""
        row = conn.execute(
            "SELECT id, experiment_id, lifecycle_stage, status FROM runs WHERE run_id = ?",
            (run_id,),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no run with id {run_id!r} in {self.path}")
        return row

    def _writable_run(self, conn: sqlite3.Connection, run_id: str) -> int:
        row, _exp, stage, _status = self._run_row(conn, run_id)
        if stage != ACTIVE:
            raise InvalidStateError(f"run {run_id} is deleted; restore it before logging to it")
        return row

    def run_row_id(self, run_id: str) -> int:
        """The integer row id used in the metric tables, checking the run can be logged to."""
        return self._writable_run(self.db.connection(), run_id)

    def create_run(
        self,
        experiment_id: str | int | None = None,
        run_name: str | None = None,
        *,
        start_time: int | None = None,
        tags: Mapping[str, object] | None = None,
        parent_run_id: str | None = None,
        user_id: str | None = None,
        status: str = RUNNING,
        heartbeat_interval_ms: int = DEFAULT_HEARTBEAT_INTERVAL_MS,
    ) -> Run:
        status = _check_status(status)
        clean_tags = keys.clean_tags(tags or {}, keys.MAX_TAG_VALUE_LENGTH)
        # MLflow's system tags that are the run's columns name, user and parent it.
        tag_name = clean_tags.pop(TAG_MLFLOW_RUN_NAME, "")
        if run_name and tag_name and tag_name != run_name:
            raise InvalidValueError(
                f"both run_name and the {TAG_MLFLOW_RUN_NAME} tag are given, with different "
                f"values (run_name={run_name!r}, {TAG_MLFLOW_RUN_NAME}={tag_name!r})"
            )
        run_name = run_name or tag_name or generate_run_name()
        keys.validate_name(run_name, "run name", keys.MAX_RUN_NAME_LENGTH)
        user_id = clean_tags.pop(TAG_MLFLOW_USER, "") or user_id
        tag_parent = clean_tags.pop(TAG_MLFLOW_PARENT_RUN, "")
        if parent_run_id and tag_parent and tag_parent != parent_run_id:
            raise InvalidValueError(
                f"both parent_run_id and the {TAG_MLFLOW_PARENT_RUN} tag are given, with "
                f"different values ({parent_run_id!r}, {tag_parent!r})"
            )
        parent_run_id = parent_run_id or tag_parent or None
        start = keys.time_ms("start_time", start_time) if start_time is not None else now_ms()
        exp_id = DEFAULT_EXPERIMENT_ID if experiment_id is None else experiment_id
        run_id = uuid.uuid4().hex
        with self.db.write() as conn:
            _exp, exp_name, stage = self._experiment_row(conn, exp_id)
            if stage != ACTIVE:
                raise InvalidStateError(
                    f"experiment {exp_name!r} is deleted; restore it before creating runs in it"
                )
            if parent_run_id is not None:
                self._run_row(conn, parent_run_id)
            row = conn.execute(
                "INSERT INTO runs (run_id, experiment_id, name, status, start_time, end_time, "
                "user_id, lifecycle_stage, parent_run_id, heartbeat_time, heartbeat_interval_ms,"
                " seq) VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?)",
                (
                    run_id,
                    _exp,
                    run_name,
                    status,
                    start,
                    start if status in TERMINAL_STATUSES else None,
                    user_id or "",
                    parent_run_id,
                    now_ms(),
                    heartbeat_interval_ms,
                    self.db.next_seq(conn),
                ),
            ).lastrowid
            conn.executemany(
                "INSERT INTO tags (run, key, value) VALUES (?, ?, ?)",
                [(row, k, v) for k, v in clean_tags.items()],
            )
        return self.get_run(run_id)

    def update_run(
        self,
        run_id: str,
        *,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
        heartbeat_interval_ms: int | None = None,
    ) -> None:
        """Change a run's status (a terminal status stamps end_time), name or heartbeat.

        Allowed on a deleted run too: a training script must be able to end its run even
        when someone deleted it from view meanwhile.
        """
        if run_name is not None:
            keys.validate_name(run_name, "run name", keys.MAX_RUN_NAME_LENGTH)
        with self.db.write() as conn:
            row = self._run_row(conn, run_id)[0]
            sets: list[str] = []
            args: list[object] = []
            if status is not None:
                status = _check_status(status)
                now = now_ms()
                sets += ["status = ?", "end_time = ?", "heartbeat_time = ?"]
                ended = None
                if status in TERMINAL_STATUSES:
                    ended = keys.time_ms("end_time", end_time) if end_time is not None else now
                args += [status, ended, now]
            if run_name is not None:
                sets.append("name = ?")
                args.append(run_name)
            if heartbeat_interval_ms is not None:
                sets.append("heartbeat_interval_ms = ?")
                args.append(heartbeat_interval_ms)
            if not sets:
                return
            sets.append("seq = ?")
            args += [self.db.next_seq(conn), row]
            conn.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id = ?", args)

    def _set_run_stage(self, run_id: str, stage: str) -> None:
        with self.db.write() as conn:
            row, _exp, current, _status = self._run_row(conn, run_id)
            if current == stage:
                raise InvalidStateError(f"run {run_id} is already {stage}")
            conn.execute(
                "UPDATE runs SET lifecycle_stage = ?, seq = ? WHERE id = ?",
                (stage, self.db.next_seq(conn), row),
            )

    def delete_run(self, run_id: str) -> None:
        """Soft delete: hidden from the active view until restored."""
        self._set_run_stage(run_id, DELETED)

    def restore_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, ACTIVE)

    def heartbeat(self, run_rows: Iterable[int], conn: sqlite3.Connection | None = None) -> None:
        """Mark RUNNING runs as alive now. Not a change readers need to re-read for."""
        rows = list(run_rows)
        if not rows:
            return
        conn = conn or self.db.connection()
        with self.db.write(conn):
            for chunk in _chunks(rows):
                conn.execute(
                    f"UPDATE runs SET heartbeat_time = ? WHERE id IN ({_marks(len(chunk))}) "
                    "AND status = 'RUNNING'",
                    (now_ms(), *chunk),
                )

    # -- params and tags -----------------------------------------------------------------

    def log_params(self, run_id: str, params: Mapping[str, object]) -> None:
        """Log params; re-logging a value is a no-op, changing one raises ParamConflictError.

        All or nothing: a conflict anywhere leaves every param of the call unlogged.
        """
        clean = {
            keys.validate_key(k, "param key"): keys.validate_string_value(
                v, keys.MAX_PARAM_VALUE_LENGTH, f"param {k!r} value"
            )
            for k, v in params.items()
        }
        if not clean:
            return
        with self.db.write() as conn:
            row = self._writable_run(conn, run_id)
            existing = dict(
                conn.execute("SELECT key, value FROM params WHERE run = ?", (row,)).fetchall()
            )
            new = []
            for key, value in clean.items():
                if key in existing:
                    if existing[key] != value:
                        raise ParamConflictError(run_id, key, existing[key], value)
                else:
                    new.append((row, key, value))
            if new:
                conn.executemany("INSERT INTO params (run, key, value) VALUES (?, ?, ?)", new)
                self._touch_run(conn, row)

    def set_tags(self, run_id: str, tags: Mapping[str, object]) -> None:
        """Set tags; MLflow's `mlflow.runName`, `mlflow.user` and `mlflow.parentRunId` set
        the run's name, user and parent instead (they are read from those columns)."""
        clean = keys.clean_tags(tags, keys.MAX_TAG_VALUE_LENGTH)
        if not clean:
            return
        columns = _derived_tag_columns(clean)
        with self.db.write() as conn:
            row = self._writable_run(conn, run_id)
            parent = columns.get("parent_run_id")
            if parent:
                if parent == run_id:
                    raise InvalidValueError(f"run {run_id} cannot be its own parent")
                self._run_row(conn, parent)
            for column, value in columns.items():  # column: a fixed name from the mapping
                conn.execute(f"UPDATE runs SET {column} = ? WHERE id = ?", (value or None, row))
            conn.executemany(
                "INSERT INTO tags (run, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (run, key) DO UPDATE SET value = excluded.value",
                [(row, k, v) for k, v in clean.items()],
            )
            self._touch_run(conn, row)

    def delete_tag(self, run_id: str, key: str) -> None:
        if key in DERIVED_TAG_COLUMNS:
            raise InvalidValueError(
                f"{key} is the run's {DERIVED_TAG_COLUMNS[key].replace('_', ' ')}, not a "
                f"stored tag: it cannot be deleted (set it to change it)"
            )
        with self.db.write() as conn:
            row = self._writable_run(conn, run_id)
            cur = conn.execute("DELETE FROM tags WHERE run = ? AND key = ?", (row, key))
            if cur.rowcount == 0:
                raise NotFoundError(f"run {run_id} has no tag {key!r}")
            self._touch_run(conn, row)

    def _touch_run(self, conn: sqlite3.Connection, row: int) -> None:
        conn.execute("UPDATE runs SET seq = ? WHERE id = ?", (self.db.next_seq(conn), row))

    # -- dataset inputs ------------------------------------------------------------------

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] | None = None) -> None:
        """Record datasets as inputs of a run, as MLflow's store does: a dataset is stored
        once per experiment and (name, digest), and is an input of a run once; logging it
        again (whatever its source, schema, profile or input tags) changes nothing.
        All or nothing: an invalid input anywhere leaves every input of the call unlogged."""
        inputs = keys.check_dataset_inputs(datasets)
        with self.db.write() as conn:
            row, exp, stage, _status = self._run_row(conn, run_id)
            if stage != ACTIVE:
                raise InvalidStateError(f"run {run_id} is deleted; restore it before logging to it")
            seen: set[tuple[str, str]] = set()
            added = False
            for item in inputs:
                found = item.dataset
                if (found.name, found.digest) in seen:
                    continue  # the first of a call wins, as it does across calls
                seen.add((found.name, found.digest))
                conn.execute(
                    "INSERT INTO datasets (experiment_id, name, digest, source_type, source, "
                    "schema, profile) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (experiment_id, name, digest) DO NOTHING",
                    (
                        exp,
                        found.name,
                        found.digest,
                        found.source_type,
                        found.source,
                        found.schema,
                        found.profile,
                    ),
                )
                dataset = conn.execute(
                    "SELECT id FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?",
                    (exp, found.name, found.digest),
                ).fetchone()[0]
                tags = json.dumps([[tag.key, tag.value] for tag in item.tags])
                cur = conn.execute(
                    "INSERT INTO run_inputs (run, dataset, context, tags) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (run, dataset) DO NOTHING",
                    (row, dataset, item.context, tags),
                )
                added = added or cur.rowcount > 0
            if added:
                self._touch_run(conn, row)

    @staticmethod
    def _load_inputs(conn: sqlite3.Connection, ids: list[int]) -> dict[int, RunInputs]:
        """run -> its dataset inputs in the order logged, for the runs `ids` (only the runs
        that have any; nothing is read when no run in the store has one)."""
        found: dict[int, list[DatasetInput]] = {}
        if conn.execute("SELECT 1 FROM run_inputs LIMIT 1").fetchone() is None:
            return {}
        for chunk in _chunks(ids):
            for run, name, digest, kind, source, schema, profile, tags in conn.execute(
                "SELECT i.run, d.name, d.digest, d.source_type, d.source, d.schema, "
                "d.profile, i.tags FROM run_inputs AS i JOIN datasets AS d ON d.id = i.dataset "
                f"WHERE i.run IN ({_marks(len(chunk))}) ORDER BY i.run, i.id",
                chunk,
            ):
                dataset = Dataset(name, digest, kind, source, schema, profile)
                tag_list = [InputTag(key, value) for key, value in json.loads(tags)]
                found.setdefault(run, []).append(DatasetInput(dataset, tag_list))
        return {run: RunInputs(tuple(inputs)) for run, inputs in found.items()}

    # -- metrics -------------------------------------------------------------------------

    def metric_key_id(self, key: str, conn: sqlite3.Connection | None = None) -> int:
        """The small integer standing for a (valid) metric key in the metric tables."""
        keys.validate_key(key, "metric key")
        conn = conn or self.db.connection()
        row = conn.execute("SELECT id FROM metric_keys WHERE key = ?", (key,)).fetchone()
        if row is not None:
            return row[0]
        with self.db.write(conn):
            conn.execute("INSERT OR IGNORE INTO metric_keys (key) VALUES (?)", (key,))
            row = conn.execute("SELECT id FROM metric_keys WHERE key = ?", (key,)).fetchone()
        return row[0]

    def write_points(
        self,
        rows: Sequence[tuple[int, int, int, int, float | None]],
        conn: sqlite3.Connection | None = None,
    ) -> None:
        """Append (run row, key id, step, timestamp ms, value or None for NaN) points and
        update their summaries and blocks in one transaction."""
        if not rows:
            return
        series = group_series(rows)
        summaries = summarize_points(rows, series)
        conn = conn or self.db.connection()
        with self.db.write(conn):
            # Rows get ids one above the largest (none is ever deleted): a batch's points
            # are numbered first_id, first_id + 1, ... in order.
            first_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM metrics").fetchone()[0]
            conn.executemany(
                "INSERT INTO metrics (run, key, step, timestamp, value) VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            last_id = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
            if last_id != first_id + len(rows) - 1:  # pragma: no cover - SQLite's rule broken
                raise StoreError(f"metric rows of {self.path} were not numbered in order")
            blocks = []
            for (run, key), positions in series.items():
                found = conn.execute(
                    "SELECT count FROM metric_summaries WHERE run = ? AND key = ?", (run, key)
                ).fetchone()
                blocks += block_rows(
                    run, key, 0 if found is None else found[0], rows, positions, first_id
                )
            conn.executemany(_MERGE_BLOCK, blocks)
            conn.executemany(_MERGE_SUMMARY, summaries)
            seq = self.db.next_seq(conn)
            conn.executemany(
                "UPDATE runs SET seq = ? WHERE id = ?",
                [(seq, run) for run in {s[0] for s in summaries}],
            )

    def get_metric_history(
        self, run_id: str, key: str, *, after: int = 0, limit: int | None = None
    ) -> list[Metric]:
        """Points of one metric in logging order, after the cursor `after`."""
        conn = self.db.connection()
        row = self._run_row(conn, run_id)[0]
        found = conn.execute("SELECT id FROM metric_keys WHERE key = ?", (key,)).fetchone()
        if found is None:
            return []
        cur = conn.execute(
            "SELECT id, step, timestamp, value FROM metrics WHERE run = ? AND key = ? AND id > ?"
            " ORDER BY id LIMIT ?",
            (row, found[0], after, -1 if limit is None else limit),
        )
        return [Metric(key, _nan(v), t, s, run_id, i) for i, s, t, v in cur]

    def metric_activity(
        self, run_ids: Iterable[str], *, skip_prefix: str = "system/"
    ) -> dict[str, tuple[int, int]]:
        """Per run (of those given that logged any): when its latest metric point was
        logged and the most points one key has, over the keys not starting with
        `skip_prefix` (a sampler's keys say nothing of the training). Read from the
        summaries: no point is read."""
        conn = self.db.connection()
        ids = list(dict.fromkeys(run_ids))
        out: dict[str, tuple[int, int]] = {}
        for start in range(0, len(ids), 900):  # within SQLite's limit on parameters
            batch = ids[start : start + 900]
            rows = conn.execute(
                "SELECT r.run_id, max(s.timestamp), max(s.count) FROM runs AS r "
                "JOIN metric_summaries AS s ON s.run = r.id "
                "JOIN metric_keys AS k ON k.id = s.key "
                f"WHERE r.run_id IN ({_marks(len(batch))}) AND substr(k.key, 1, ?) != ? "
                "GROUP BY r.run_id",
                (*batch, len(skip_prefix), skip_prefix),
            )
            out.update((run_id, (last, points)) for run_id, last, points in rows)
        return out

    def metric_tails(
        self, run_ids: Iterable[str], prefix: str, since: int, *, limit: int = 1000
    ) -> dict[str, dict[str, list[Metric]]]:
        """Per run, every metric key it logged that starts with `prefix` (a key logged
        before `since` too, with no points then), with its newest points (at most `limit`)
        logged at or after `since` (ms), oldest first. Each series is read backwards from
        its newest point, so a long history costs nothing."""
        conn = self.db.connection()
        keys = dict(
            conn.execute(
                "SELECT id, key FROM metric_keys WHERE substr(key, 1, ?) = ?",
                (len(prefix), prefix),
            ).fetchall()
        )
        out: dict[str, dict[str, list[Metric]]] = {}
        if not keys:
            return out
        rows = self.run_keys(run_ids)
        by_row = {row: run_id for run_id, row in rows.items()}
        key_ids = list(keys)
        for batch in _chunks(list(by_row)):
            pairs = conn.execute(
                f"SELECT run, key FROM metric_summaries WHERE run IN ({_marks(len(batch))}) "
                f"AND key IN ({_marks(len(key_ids))}) ORDER BY run, key",
                (*batch, *key_ids),
            ).fetchall()
            for row, key_id in pairs:
                run_id, key = by_row[row], keys[key_id]
                points = []
                for i, s, t, v in conn.execute(
                    "SELECT id, step, timestamp, value FROM metrics "
                    "WHERE run = ? AND key = ? ORDER BY id DESC LIMIT ?",
                    (row, key_id, limit),
                ):
                    if t < since:
                        break  # older still: the scan stops here
                    points.append(Metric(key, _nan(v), t, s, run_id, i))
                points.reverse()
                out.setdefault(run_id, {})[key] = points
        return out

    def get_metric_blocks(
        self, run_id: str, key: str, *, points_up_to: int = POINTS_UP_TO
    ) -> tuple[list[MetricBlock], list[Metric]]:
        """One metric's whole history, for a chart: every point when it has at most
        `points_up_to`; beyond that, the summaries of its complete blocks of BLOCK points
        (`store/blocks.py`: a million points are four thousand summaries) and the points
        logged after them. Read on after the last point's cursor, or the last block's
        `last_id` when there are no points after the blocks."""
        conn = self.db.connection()
        row = self._run_row(conn, run_id)[0]
        found = conn.execute("SELECT id FROM metric_keys WHERE key = ?", (key,)).fetchone()
        if found is None:
            return [], []
        count = conn.execute(
            "SELECT count FROM metric_summaries WHERE run = ? AND key = ?", (row, found[0])
        ).fetchone()
        if count is None or count[0] <= points_up_to:
            return [], self.get_metric_history(run_id, key)
        blocks = complete(
            MetricBlock(*r) if r[7] is not None else MetricBlock(*r)._replace(total=math.nan)
            for r in conn.execute(
                f"SELECT {BLOCK_SUMMARY_COLUMNS} FROM metric_blocks "
                "WHERE run = ? AND key = ? ORDER BY block",
                (row, found[0]),
            )
        )
        after = blocks[-1].last_id if blocks else 0
        return blocks, self.get_metric_history(run_id, key, after=after)

    # -- reading runs --------------------------------------------------------------------

    def _run_infos(self, where: str, args: Sequence[object], tail: str = "") -> list[tuple]:
        return (
            self.db.connection()
            .execute(
                f"SELECT {RUN_COLUMNS} FROM runs AS r JOIN experiments AS e "
                f"ON e.experiment_id = r.experiment_id WHERE {where} {tail}",
                args,
            )
            .fetchall()
        )

    def _info(self, row: tuple, now: int) -> RunInfo:
        (_id, run_id, exp, name, status, start, end, user, stage, parent, beat, interval, _seq) = (
            row
        )
        return RunInfo(
            run_id=run_id,
            run_name=name or "",
            experiment_id=str(exp),
            user_id=user or "",
            status=status,
            start_time=start,
            end_time=end,
            lifecycle_stage=stage,
            parent_run_id=parent,
            artifact_uri=self._artifact_prefix + run_id,
            heartbeat_time=beat,
            heartbeat_interval_ms=interval or DEFAULT_HEARTBEAT_INTERVAL_MS,
        ).at(now)

    def _metric_key_names(self, conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, str]:
        """The names of metric keys `ids` (and of others read before), from this thread's
        cache: only names not read yet are read, at most KEY_NAMES_KEPT kept."""
        names: dict[int, str] = getattr(self.db.local, "key_names", {})
        missing = {k for k in ids if k not in names}
        if missing:
            if len(names) + len(missing) > KEY_NAMES_KEPT:
                names = {}
                missing = set(ids)
            for chunk in _chunks(sorted(missing)):
                names.update(
                    conn.execute(
                        f"SELECT id, key FROM metric_keys WHERE id IN ({_marks(len(chunk))})",
                        chunk,
                    )
                )
            self.db.local.key_names = names
        return names

    def _metric_rows(
        self,
        conn: sqlite3.Connection,
        columns: str,
        ids: Sequence[int],
        cap: int | None,
        cut: set[int] | None = None,
    ) -> Iterator[tuple]:
        """Rows `run, key, <columns>` of metric_summaries for the runs `ids`, in (run, key)
        order; at most `cap` per run (the first keys it logged), the runs that had more
        added to `cut`. A run with a million metric keys costs `cap` rows here, not a
        million: the read of the runs after it starts afresh past it."""
        for chunk in _chunks(sorted(ids)):
            marks = _marks(len(chunk))
            after = -1
            while True:
                query = conn.execute(
                    f"SELECT run, key, {columns} FROM metric_summaries "
                    f"WHERE run IN ({marks}) AND run > ? ORDER BY run, key",
                    (*chunk, after),
                )
                run, taken = -1, 0
                for row in query:
                    if row[0] != run:
                        run, taken = row[0], 0
                    taken += 1
                    if cap is not None and taken > cap:
                        if cut is not None:
                            cut.add(run)
                        break
                    yield row
                else:
                    break
                query.close()
                after = run

    def runs_from_rows(self, rows: list[tuple]) -> list[Run]:
        """Runs, with params, tags and summaries, from rows of RUN_COLUMNS.

        Reading params, tags and summaries is most of the cost of a search, so what was
        read is kept, per run, until the run's change sequence moves on (any param, tag,
        metric or status written to it): a live view re-reading its runs reads only the
        runs that changed. Callers get their own copies of the dicts.
        """
        cache = self._data_cache
        found: dict[int, RunData] = {}
        inputs: dict[int, RunInputs] = {}
        missing = []
        with self._lock:
            for row in rows:
                hit = cache.get(row[0])
                if hit is not None and hit[0] == row[-1]:
                    cache.move_to_end(row[0])
                    found[row[0]] = hit[1]
                    inputs[row[0]] = hit[2]
                else:
                    missing.append(row[0])
        if missing:
            loaded = self._load_data(missing)
            loaded_inputs = self._load_inputs(self.db.connection(), missing)
            seqs = {row[0]: row[-1] for row in rows}
            with self._lock:
                for run, data in loaded.items():
                    cache[run] = (seqs[run], data, loaded_inputs.get(run, NO_INPUTS))
                    cache.move_to_end(run)
                while len(cache) > DATA_CACHE_RUNS:
                    cache.popitem(last=False)
            found.update(loaded)
            inputs.update(loaded_inputs)
        now = now_ms()
        out = []
        for row in rows:
            data = found[row[0]]
            tags = dict(data.tags)
            add_derived_tags(tags, row)
            out.append(
                Run(
                    self._info(row, now),
                    RunData(dict(data.params), tags, dict(data.summaries)),
                    inputs.get(row[0], NO_INPUTS),
                )
            )
        return out

    @staticmethod
    def _key_values(
        conn: sqlite3.Connection, table: str, ids: list[int]
    ) -> dict[int, dict[str, str]]:
        """run -> {key: value} of `table` ("params" or "tags", a fixed name) for the runs
        `ids`, read in primary-key order (no ORDER BY: the tables are clustered on (run, key))."""
        found: dict[int, dict[str, str]] = {run: {} for run in ids}
        for chunk in _chunks(ids):
            for run, key, value in conn.execute(
                f"SELECT run, key, value FROM {table} WHERE run IN ({_marks(len(chunk))})", chunk
            ):
                found[run][key] = value
        return found

    def _load_data(self, ids: list[int]) -> dict[int, RunData]:
        # Read in primary-key order (no ORDER BY: the tables are clustered on (run, key)).
        conn = self.db.connection()
        params = self._key_values(conn, "params", ids)
        tags = self._key_values(conn, "tags", ids)
        summaries: dict[int, dict[str, MetricSummary]] = {run: {} for run in ids}
        nan = math.nan
        rows = self._metric_rows(conn, "value, step, timestamp, min, max, count", ids, None)
        for batch in _batches(rows):
            names = self._metric_key_names(conn, {row[1] for row in batch})
            for run, k, v, st, ts, lo, hi, n in batch:
                name = names[k]
                summaries[run][name] = MetricSummary(
                    name,
                    nan if v is None else v,
                    st,
                    ts,
                    nan if lo is None else lo,
                    nan if hi is None else hi,
                    n,
                )
        return {run: RunData(params[run], tags[run], summaries[run]) for run in ids}

    def run_rows_from_rows(self, rows: list[tuple]) -> list[RunRow]:
        """RunRows (attributes, params and the latest values of the first ROW_METRICS
        metrics each run logged) from rows of RUN_COLUMNS."""
        conn = self.db.connection()
        ids = [row[0] for row in rows]
        params = self._key_values(conn, "params", ids)
        metrics: dict[int, dict[str, float]] = {run: {} for run in ids}
        extremes: dict[int, dict[str, Extremes]] = {run: {} for run in ids}
        nan = math.nan
        cut: set[int] = set()
        columns = "value, min, min_step, max, max_step"
        for batch in _batches(self._metric_rows(conn, columns, ids, ROW_METRICS, cut)):
            names = self._metric_key_names(conn, {row[1] for row in batch})
            for run, k, v, lo, lo_step, hi, hi_step in batch:
                name = names[k]
                metrics[run][name] = nan if v is None else v
                extremes[run][name] = Extremes(
                    nan if lo is None else lo, lo_step, nan if hi is None else hi, hi_step
                )
        now = now_ms()
        return [
            RunRow(
                self._info(row, now),
                params[row[0]],
                metrics[row[0]],
                row[0] in cut,
                extremes[row[0]],
            )
            for row in rows
        ]

    def get_run(self, run_id: str, *, max_metrics: int | None = None) -> Run:
        """The run, its params, tags and metric summaries. `max_metrics`: at most that
        many summaries, those of the first keys the run logged, with `data.more_metrics`
        saying how many were left out (a run may log a million keys: a screen reads a page
        of them, and `search_run_metrics` finds the others)."""
        rows = self._run_infos("r.run_id = ?", (run_id,))
        if not rows:
            raise NotFoundError(f"no run with id {run_id!r} in {self.path}")
        conn = self.db.connection()
        if max_metrics is None or not self._more_metrics_than(conn, rows[0][0], max_metrics):
            return self.runs_from_rows(rows)[0]
        run = rows[0][0]
        summaries = self._summaries(
            conn,
            "s.run = ? ORDER BY s.key LIMIT ?",
            (run, max(0, max_metrics)),
        )
        total = conn.execute(
            "SELECT count(*) FROM metric_summaries WHERE run = ?", (run,)
        ).fetchone()[0]
        params = dict(conn.execute("SELECT key, value FROM params WHERE run = ?", (run,)))
        tags = dict(conn.execute("SELECT key, value FROM tags WHERE run = ?", (run,)))
        add_derived_tags(tags, rows[0])
        data = RunData(params, tags, summaries, max(0, total - len(summaries)))
        inputs = self._load_inputs(conn, [run]).get(run, NO_INPUTS)
        return Run(self._info(rows[0], now_ms()), data, inputs)

    @staticmethod
    def _more_metrics_than(conn: sqlite3.Connection, run: int, limit: int) -> bool:
        """Whether `run` has more than `limit` metric keys (reading `limit` of them)."""
        return (
            conn.execute(
                "SELECT 1 FROM metric_summaries WHERE run = ? LIMIT 1 OFFSET ?",
                (run, max(0, limit)),
            ).fetchone()
            is not None
        )

    @staticmethod
    def _summary_rows(
        conn: sqlite3.Connection, where: str, args: Sequence[object]
    ) -> Iterator[MetricSummary]:
        """The metric summaries `where` selects (over s: metric_summaries, k: metric_keys),
        read as iterated."""
        nan = math.nan
        for k, v, st, ts, lo, hi, n in conn.execute(
            "SELECT k.key, s.value, s.step, s.timestamp, s.min, s.max, s.count "
            "FROM metric_summaries AS s JOIN metric_keys AS k ON k.id = s.key "
            f"WHERE {where}",
            args,
        ):
            yield MetricSummary(
                k,
                nan if v is None else v,
                st,
                ts,
                nan if lo is None else lo,
                nan if hi is None else hi,
                n,
            )

    def _summaries(
        self, conn: sqlite3.Connection, where: str, args: Sequence[object]
    ) -> dict[str, MetricSummary]:
        return {summary.key: summary for summary in self._summary_rows(conn, where, args)}

    def iter_run_metrics(self, run_id: str, contains: str = "") -> Iterator[MetricSummary]:
        """Every metric summary of the run whose key contains `contains` (any case), by
        key, read as iterated (a run may log a million keys)."""
        conn = self.db.connection()
        run = self._run_row(conn, run_id)[0]
        yield from self._summary_rows(
            conn, "s.run = ? AND instr(lower(k.key), ?) > 0 ORDER BY k.key", (run, contains.lower())
        )

    def search_run_metrics(
        self, run_id: str, contains: str = "", *, limit: int = 1000
    ) -> tuple[dict[str, MetricSummary], int]:
        """The summaries of the run's metrics whose key contains `contains` (any case),
        by key, at most `limit`; and how many keys match in all."""
        conn = self.db.connection()
        run = self._run_row(conn, run_id)[0]
        needle = contains.lower()
        match = "s.run = ? AND instr(lower(k.key), ?) > 0"
        total = conn.execute(
            "SELECT count(*) FROM metric_summaries AS s JOIN metric_keys AS k ON k.id = s.key "
            f"WHERE {match}",
            (run, needle),
        ).fetchone()[0]
        found = self._summaries(conn, f"{match} ORDER BY k.key LIMIT ?", (run, needle, limit))
        return found, total

    def _experiment_scope(
        self,
        experiment_ids: Iterable[str | int] | None,
        experiment_names: Iterable[str] | None = None,
    ) -> list[int] | None:
        if experiment_ids is None and experiment_names is None:
            return None
        ids = [_exp_int(e) for e in experiment_ids or ()]
        for name in experiment_names or ():
            found = self.get_experiment_by_name(name)
            if found is None:
                raise NotFoundError(f"no experiment named {name!r} in {self.path}")
            ids.append(int(found.experiment_id))
        return ids

    def search_runs(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int | None = DEFAULT_MAX_RESULTS,
        page_token: str | None = None,
        *,
        view: str = "active",
        experiment_names: Iterable[str] | None = None,
    ) -> PagedList:
        """Runs matching an MLflow filter (plus OR and parentheses), in `order_by` order
        (default: newest first), at most `max_results` (1 to 50,000) per page; the result's
        `token` fetches the next page. Experiments by id or name; all when neither is given.
        The active view hides deleted runs and the runs of deleted experiments; the
        deleted view shows exactly those. Raises FilterError for a bad filter or order."""
        _check_view(view)
        scope = self._experiment_scope(experiment_ids, experiment_names)
        if scope == []:
            return PagedList([], None)
        return search.search_runs(
            self, scope, filter_string, order_by, max_results, page_token, view
        )

    def search_run_rows(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int | None = DEFAULT_MAX_RESULTS,
        page_token: str | None = None,
        *,
        view: str = "active",
    ) -> PagedList:
        """`search_runs`, giving `RunRow`s: attributes, params and latest metric values, for
        a table of runs (no tags, no min/max/counts; about three times faster to read)."""
        _check_view(view)
        scope = self._experiment_scope(experiment_ids, None)
        if scope == []:
            return PagedList([], None)
        return search.search_runs(
            self, scope, filter_string, order_by, max_results, page_token, view, rows=True
        )

    def run_order(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        *,
        view: str = "active",
    ) -> array[int]:
        """The keys of every run a search matches, in its order (`search_runs`'s order):
        a table of a million runs holds these (8 MB) and reads the rows it shows with
        `run_rows_by_keys`."""
        _check_view(view)
        scope = self._experiment_scope(experiment_ids)
        if scope == []:
            return array("q")
        return search.run_order(self, scope, filter_string, order_by, view)

    def count_runs(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        filter_string: str | None = None,
        *,
        view: str = "active",
    ) -> int:
        """How many runs a search matches."""
        _check_view(view)
        scope = self._experiment_scope(experiment_ids)
        if scope == []:
            return 0
        return search.count_runs(self, scope, filter_string, view)

    def run_rows_by_keys(self, keys: Sequence[int]) -> list[RunRow | None]:
        """The RunRows of runs by key (from `run_order`), in that order; None for a run
        deleted from the store since."""
        found: dict[int, RunRow] = {}
        keys = list(keys)
        for start in range(0, len(keys), 900):  # within SQLite's limit on parameters
            batch = keys[start : start + 900]
            marks = ",".join("?" * len(batch))
            rows = self._run_infos(f"r.id IN ({marks})", batch)
            made = self.run_rows_from_rows(rows)
            found.update((row[0], run) for row, run in zip(rows, made, strict=True))
        return [found.get(key) for key in keys]

    def run_keys(self, run_ids: Iterable[str]) -> dict[str, int]:
        """Run id -> key (as `run_order` gives them), for the runs that exist."""
        out: dict[str, int] = {}
        conn = self.db.connection()
        ids = list(run_ids)
        for start in range(0, len(ids), 900):  # within SQLite's limit on parameters
            batch = ids[start : start + 900]
            marks = ",".join("?" * len(batch))
            query = f"SELECT run_id, id FROM runs WHERE run_id IN ({marks})"
            out.update(conn.execute(query, batch).fetchall())
        return out

    def iter_runs(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        *,
        view: str = "active",
        page_size: int = 1000,
    ) -> Iterator[Run]:
        """Every run a search matches, read a page at a time (for streaming exports)."""
        _check_view(view)
        scope = self._experiment_scope(experiment_ids)
        if scope == []:
            return iter(())
        return self._translating(
            search.iter_runs(self, scope, filter_string, order_by, view, page_size)
        )

    def _translating(self, items: Iterator[Run]) -> Iterator[Run]:
        """`items`, with SQLite's failures while iterating raised as typed errors."""
        try:
            yield from items
        except sqlite3.Error as exc:
            raise self.db.error(exc) from exc

    def matching_keys(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        filter_string: str | None = None,
        *,
        view: str = "active",
    ) -> dict[str, list[str]]:
        """{"params": [...], "metrics": [...], "tags": [...]}: the keys the matches have."""
        _check_view(view)
        scope = self._experiment_scope(experiment_ids)
        if scope == []:
            return {"params": [], "metrics": [], "tags": []}
        return search.matching_keys(self, scope, filter_string, view)

    def search_experiments(
        self,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int | None = DEFAULT_MAX_RESULTS,
        page_token: str | None = None,
        *,
        view: str = "active",
    ) -> PagedList:
        """Experiments matching a filter on `name` and `tags.K` (and the time attributes)."""
        _check_view(view)
        return search.search_experiments(
            self, filter_string, order_by, max_results, page_token, view
        )

    def experiments_by_ids(self, ids: Sequence[int]) -> list[Experiment]:
        found: list[Experiment] = []
        for chunk in _chunks(list(ids)):
            found += self._experiments(f"experiment_id IN ({_marks(len(chunk))})", chunk)
        return found

    def list_runs(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        *,
        view: str = "active",
        max_results: int | None = None,
    ) -> list[Run]:
        """Runs, newest first (all of them unless `max_results`)."""
        if max_results is not None:
            return list(self.search_runs(experiment_ids, max_results=max_results, view=view))
        return list(self.iter_runs(experiment_ids, view=view, page_size=MAX_RESULTS_LIMIT))

    def child_run_ids(self, run_id: str) -> list[str]:
        rows = self.db.connection().execute(
            "SELECT run_id FROM runs WHERE parent_run_id = ? ORDER BY start_time", (run_id,)
        )
        return [r[0] for r in rows]

    def resolve_run_id(self, prefix: str) -> str:
        """A full run id from a unique prefix of at least 4 characters (as git does)."""
        text = prefix.strip().lower()
        if len(text) == 32:
            self._run_row(self.db.connection(), text)
            return text
        if len(text) < 4 or any(c not in "0123456789abcdef" for c in text):
            raise NotFoundError(
                f"{prefix!r} is not a run id (32 hex characters, or a unique prefix of 4 or more)"
            )
        rows = (
            self.db.connection()
            .execute(
                "SELECT run_id FROM runs WHERE run_id >= ? AND run_id < ? LIMIT 2",
                (text, text + "g"),
            )
            .fetchall()
        )
        if not rows:
            raise NotFoundError(f"no run id starts with {prefix!r} in {self.path}")
        if len(rows) > 1:
            raise NotFoundError(f"run id prefix {prefix!r} is ambiguous; give more characters")
        return rows[0][0]

    # -- the model registry --------------------------------------------------------------

    @property
    def registry(self) -> Registry:
        """Registered models, versions, stages, aliases and the transition log."""
        return Registry(self)

    # -- logged models -------------------------------------------------------------------

    @property
    def logged_models(self) -> LoggedModels:
        """Models saved from runs (MLflow 3's logged models), with their files' folders."""
        return LoggedModels(self)

    def create_logged_model(
        self,
        experiment_id: str | int | None = None,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Mapping[str, object] | None = None,
        params: Mapping[str, object] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        return self.logged_models.create(
            experiment_id, name, source_run_id, tags, params, model_type
        )

    def get_logged_model(self, model_id: str) -> LoggedModel:
        return self.logged_models.get(model_id)

    def logged_models_of_run(self, run_id: str) -> list[LoggedModel]:
        return self.logged_models.of_run(run_id)

    def logged_model_files(self, model_id: str) -> dict[str, FileDigest]:
        return self.logged_models.files(model_id)

    # -- artifacts -----------------------------------------------------------------------

    def artifacts(self, run_id: str) -> ArtifactRepository:
        self._run_row(self.db.connection(), run_id)
        return ArtifactRepository(self.path / ARTIFACTS_DIR / run_id)

    # -- live readers --------------------------------------------------------------------

    def data_version(self) -> int:
        """Changes whenever another connection commits; cheap enough to poll often."""
        return self.db.connection().execute("PRAGMA data_version").fetchone()[0]

    def has_changed(self) -> bool:
        """True when anything was committed since this thread last asked (by any process)."""
        version = self.data_version()  # (first: it may open a new connection)
        seen = (version, getattr(self.db.local, "writes", 0), getattr(self.db.local, "connects", 0))
        changed = seen != getattr(self.db.local, "seen", None)
        self.db.local.seen = seen
        return changed

    def cursor(self) -> ChangeCursor:
        """The position of 'now': changes_since(cursor()) returns only later changes."""
        with self.db.snapshot() as conn:
            seq = conn.execute("SELECT value FROM counters WHERE name = 'seq'").fetchone()[0]
            top = conn.execute("SELECT coalesce(max(id), 0) FROM metrics").fetchone()[0]
        return ChangeCursor(seq, top)

    def changes_since(self, cursor: ChangeCursor, *, metric_limit: int = 100_000) -> Changes:
        """Experiments and runs changed after `cursor`, and metric points logged after it
        (at most `metric_limit`; `more` says whether to call again)."""
        with self.db.snapshot() as conn:  # one snapshot for every read below
            seq = conn.execute("SELECT value FROM counters WHERE name = 'seq'").fetchone()[0]
            exps = [
                str(r[0])
                for r in conn.execute(
                    "SELECT experiment_id FROM experiments WHERE seq > ? ORDER BY seq",
                    (cursor.seq,),
                )
            ]
            runs = [
                r[0]
                for r in conn.execute(
                    "SELECT run_id FROM runs WHERE seq > ? ORDER BY seq", (cursor.seq,)
                )
            ]
            rows = conn.execute(
                "SELECT m.id, k.key, m.value, m.step, m.timestamp, r.run_id FROM metrics AS m "
                "JOIN metric_keys AS k ON k.id = m.key JOIN runs AS r ON r.id = m.run "
                "WHERE m.id > ? ORDER BY m.id LIMIT ?",
                (cursor.metric_id, metric_limit + 1),
            ).fetchall()
        more = len(rows) > metric_limit
        rows = rows[:metric_limit]
        points = [Metric(k, _nan(v), t, s, run, i) for i, k, v, s, t, run in rows]
        top = rows[-1][0] if rows else cursor.metric_id
        return Changes(exps, runs, points, ChangeCursor(seq, top), more)


_SERIES = itemgetter(0, 1)
_ORDER = itemgetter(2, 3)
_STEP = itemgetter(2)
_TIMESTAMP = itemgetter(3)
_VALUE = itemgetter(4)


def group_series(rows: Sequence[tuple]) -> dict[tuple[int, int], Sequence[int]]:
    """The positions in a batch of each (run, key) series' points, in order."""
    series = set(map(_SERIES, rows))
    if len(series) == 1:
        return {next(iter(series)): range(len(rows))}
    groups: dict[tuple[int, int], list[int]] = {}
    for position, row in enumerate(rows):
        group = groups.get(row[:2])
        if group is None:
            groups[row[:2]] = [position]
        else:
            group.append(position)
    return dict(groups)


def _points_of(rows: Sequence[tuple], positions: Sequence[int]) -> Sequence[tuple]:
    if isinstance(positions, range) and len(positions) == len(rows):
        return rows
    return [rows[k] for k in positions]


def block_rows(
    run: int,
    key: int,
    before: int,
    rows: Sequence[tuple],
    positions: Sequence[int],
    first_id: int,
) -> list[tuple]:
    """Rows of metric_blocks for one series' points of a batch (the series held `before`
    points; the batch's rows have ids first_id, first_id + 1, ...), to merge into those
    stored."""
    points = _points_of(rows, positions)
    steps = list(map(_STEP, points))
    times = list(map(_TIMESTAMP, points))
    values = list(map(_VALUE, points))
    if isinstance(positions, range):
        ids: Sequence[int] = range(first_id + positions.start, first_id + positions.stop)
    else:
        ids = [first_id + k for k in positions]
    return [(run, key, *block) for block in blocks_of(before, steps, times, values, ids)]


def summarize_points(
    rows: Sequence[tuple], series: dict[tuple[int, int], Sequence[int]]
) -> list[tuple]:
    """Per (run, key) series of a batch: (run, key, latest value, its step, its timestamp,
    min, max, count, step of the min, step of the max). Latest is the highest step, then
    timestamp, then the last logged; min and max skip NaN (None), and their steps are those
    of the first point holding them. Built from C-level helpers: this runs once per point."""
    out = []
    for (run, key), positions in series.items():
        points = _points_of(rows, positions)
        latest = max(reversed(points), key=_ORDER)
        all_values = list(map(_VALUE, points))
        values = [v for v in all_values if v is not None]
        if values:
            low, high = min(values), max(values)
            low_step = points[all_values.index(low)][2]
            high_step = points[all_values.index(high)][2]
        else:
            low = high = low_step = high_step = None
        out.append(
            (run, key, latest[4], latest[2], latest[3], low, high, len(points), low_step, high_step)
        )
    return out


# MLflow's system tags that are a run's columns (never stored as tag rows), and back.
DERIVED_TAG_COLUMNS = {
    TAG_MLFLOW_RUN_NAME: "name",
    TAG_MLFLOW_USER: "user_id",
    TAG_MLFLOW_PARENT_RUN: "parent_run_id",
}


def _derived_tag_columns(tags: dict[str, str]) -> dict[str, str]:
    """Take MLflow's column tags out of `tags`, as {column: value}; a run name is checked."""
    columns = {DERIVED_TAG_COLUMNS[k]: tags.pop(k) for k in list(tags) if k in DERIVED_TAG_COLUMNS}
    if "name" in columns:
        keys.validate_name(columns["name"], "run name", keys.MAX_RUN_NAME_LENGTH)
    return columns


def add_derived_tags(tags: dict[str, str], row: tuple) -> None:
    """Add to `tags` those a row of RUN_COLUMNS carries in its columns: its name, user and
    parent, each when set. (Once per run of every search: kept to three tests.)"""
    if row[3]:
        tags[TAG_MLFLOW_RUN_NAME] = row[3]
    if row[7]:
        tags[TAG_MLFLOW_USER] = row[7]
    if row[9]:
        tags[TAG_MLFLOW_PARENT_RUN] = row[9]


def _check_view(view: str) -> None:
    if view not in VIEWS:
        raise ValidationError(f"view must be one of {', '.join(VIEWS)}, not {view!r}")


def _check_status(status: object) -> str:
    text = str(status).upper() if isinstance(status, str) else status
    if text not in RUN_STATUSES:
        raise InvalidValueError(
            f"run status must be one of {', '.join(RUN_STATUSES)}, not {status!r}"
        )
    return text
