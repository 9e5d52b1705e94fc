"""The store's schema, versioned with `PRAGMA user_version` and built by numbered migrations.

Each migration runs inside the caller's `BEGIN IMMEDIATE` transaction, so concurrent
openers of a new store never see half a schema, and a failed upgrade changes nothing.

The schema is plain SQL. (DESIGN.md planned sqlite-utils for it; sqlite-utils imports pandas
and numpy whenever they are installed, which is everywhere models are trained: half a second
and some 80 MB on every new store, for a few CREATE statements.)
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from mltop.store.blocks import BLOCK, blocks_of

APPLICATION_ID = 0x6D6C7470  # "mltp": marks a SQLite file as an mltop store

_V1 = """
CREATE TABLE experiments (
    experiment_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    lifecycle_stage TEXT NOT NULL DEFAULT 'active',
    creation_time INTEGER,
    last_update_time INTEGER,
    seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_experiments_seq ON experiments (seq);
CREATE TABLE experiment_tags (
    experiment_id INTEGER NOT NULL REFERENCES experiments (experiment_id),
    key TEXT NOT NULL,
    value TEXT,
    PRIMARY KEY (experiment_id, key)
) WITHOUT ROWID;
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL UNIQUE,
    experiment_id INTEGER NOT NULL REFERENCES experiments (experiment_id),
    name TEXT,
    status TEXT NOT NULL,
    start_time INTEGER,
    end_time INTEGER,
    user_id TEXT,
    lifecycle_stage TEXT NOT NULL DEFAULT 'active',
    parent_run_id TEXT,
    heartbeat_time INTEGER,
    heartbeat_interval_ms INTEGER NOT NULL DEFAULT 5000,
    seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_runs_experiment_start ON runs (experiment_id, start_time);
CREATE INDEX idx_runs_seq ON runs (seq);
CREATE INDEX idx_runs_parent ON runs (parent_run_id);
CREATE TABLE params (
    run INTEGER NOT NULL REFERENCES runs (id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run, key)
) WITHOUT ROWID;
CREATE TABLE tags (
    run INTEGER NOT NULL REFERENCES runs (id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run, key)
) WITHOUT ROWID;
CREATE INDEX idx_params_key_value ON params (key, value);
CREATE INDEX idx_tags_key_value ON tags (key, value);
CREATE TABLE metric_keys (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE
);
-- The hot table: narrow integer columns and no foreign-key checks per point.
-- value NULL means NaN (SQLite cannot store a NaN REAL).
CREATE TABLE metrics (
    id INTEGER PRIMARY KEY,
    run INTEGER NOT NULL,
    key INTEGER NOT NULL,
    step INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    value REAL
);
CREATE INDEX idx_metrics_run_key ON metrics (run, key);
-- Params, tags and summaries are WITHOUT ROWID tables clustered on (run, key): reading a
-- run's values is one b-tree range, not an index probe and a table lookup per value.
-- Per (run, key): the latest point (highest step, then timestamp, then last logged),
-- min and max ignoring NaN, and the number of points.
CREATE TABLE metric_summaries (
    run INTEGER NOT NULL,
    key INTEGER NOT NULL,
    value REAL,
    step INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    min REAL,
    max REAL,
    count INTEGER NOT NULL,
    PRIMARY KEY (run, key)
) WITHOUT ROWID;
CREATE INDEX idx_metric_summaries_key_value ON metric_summaries (key, value);
CREATE INDEX idx_experiment_tags_key_value ON experiment_tags (key, value);
-- 'seq' orders every change a live reader must re-read (see Store.changes_since).
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('seq', 1);
"""


def _statements(script: str) -> list[str]:
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _v1(conn: sqlite3.Connection) -> None:
    for statement in _statements(_V1):
        conn.execute(statement)
    now = int(time.time() * 1000)
    conn.execute(
        "INSERT INTO experiments (experiment_id, name, lifecycle_stage, creation_time, "
        "last_update_time, seq) VALUES (0, 'Default', 'active', ?, ?, 1)",
        (now, now),
    )


_V2 = """
-- The model registry.
CREATE TABLE registered_models (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    creation_time INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL,
    policy TEXT,
    next_version INTEGER NOT NULL DEFAULT 1,
    seq INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE registered_model_tags (
    model INTEGER NOT NULL REFERENCES registered_models (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model, key)
) WITHOUT ROWID;
CREATE TABLE model_versions (
    model INTEGER NOT NULL REFERENCES registered_models (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    source TEXT NOT NULL,
    run_id TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    creation_time INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    stage TEXT NOT NULL DEFAULT 'None',
    PRIMARY KEY (model, version)
) WITHOUT ROWID;
CREATE INDEX idx_model_versions_run ON model_versions (run_id);
CREATE INDEX idx_model_versions_stage ON model_versions (stage);
CREATE TABLE model_version_tags (
    model INTEGER NOT NULL,
    version INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model, version, key),
    FOREIGN KEY (model, version) REFERENCES model_versions (model, version) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE TABLE model_aliases (
    model INTEGER NOT NULL,
    alias TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (model, alias),
    FOREIGN KEY (model, version) REFERENCES model_versions (model, version) ON DELETE CASCADE
) WITHOUT ROWID;
-- Append-only: who moved which version where, when, why, and what the policy said.
-- model_name is the name at the time; rows outlive a deleted model.
CREATE TABLE model_transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model INTEGER NOT NULL,
    model_name TEXT NOT NULL,
    version INTEGER NOT NULL,
    kind TEXT NOT NULL,
    from_stage TEXT,
    to_stage TEXT,
    alias TEXT,
    from_version INTEGER,
    user_id TEXT NOT NULL,
    time INTEGER NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    archived TEXT NOT NULL DEFAULT '[]',
    policy TEXT,
    forced INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_model_transitions_model ON model_transitions (model, id)
"""

_APPEND_ONLY = (
    "CREATE TRIGGER model_transitions_no_{name} BEFORE {event} ON model_transitions "
    "BEGIN SELECT RAISE(ABORT, 'the transition log is append-only'); END"
)


def _v2(conn: sqlite3.Connection) -> None:
    for statement in _statements(_V2):
        conn.execute(statement)
    for event in ("UPDATE", "DELETE"):
        conn.execute(_APPEND_ONLY.format(name=event.lower(), event=event))


_V3 = """
-- Each series (run, key) in blocks of BLOCK points in logging order (store/blocks.py):
-- block b summarises points b*BLOCK .. b*BLOCK+BLOCK-1, kept in the transaction that
-- commits them. Charts of long histories are drawn from these, not from every point.
-- first/low_at/high_at are indices in the series; last_id is the metrics row id of the
-- block's last point (a reader's cursor); low/high are NULL when no value is finite;
-- total (the sum of the finite values) is NULL when it is not a number (it overflowed to
-- +inf in one commit and to -inf in another).
CREATE TABLE metric_blocks (
    run INTEGER NOT NULL,
    key INTEGER NOT NULL,
    block INTEGER NOT NULL,
    first INTEGER NOT NULL,
    count INTEGER NOT NULL,
    last_id INTEGER NOT NULL,
    last_step INTEGER NOT NULL,
    last_timestamp INTEGER NOT NULL,
    finite INTEGER NOT NULL,
    total REAL,
    low_at INTEGER,
    low REAL,
    low_step INTEGER,
    low_timestamp INTEGER,
    high_at INTEGER,
    high REAL,
    high_step INTEGER,
    high_timestamp INTEGER,
    PRIMARY KEY (run, key, block)
) WITHOUT ROWID
"""


def _v3(conn: sqlite3.Connection) -> None:
    for statement in _statements(_V3):
        conn.execute(statement)
    # Registered models' ids come from this counter from now on, never reused: the last id
    # a model ever had, in the models or in the log that outlives them.
    conn.execute(
        "INSERT INTO counters (name, value) SELECT 'model', max("
        "(SELECT coalesce(max(id), 0) FROM registered_models), "
        "(SELECT coalesce(max(model), 0) FROM model_transitions)) WHERE 1 "
        "ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)"
    )
    # The histories already stored, summarised series by series, a few blocks at a time.
    series = (0, 0)
    first = 0  # the index in its series of the first point held
    ids: list[int] = []
    steps: list[int] = []
    times: list[int] = []
    values: list[float | None] = []

    def write() -> None:
        blocks = blocks_of(first, steps, times, values, ids)
        conn.executemany(INSERT_BLOCK, [(*series, *block) for block in blocks])

    cursor = conn.execute(
        "SELECT run, key, id, step, timestamp, value FROM metrics ORDER BY run, key, id"
    )
    for run, key, point, step, stamp, value in cursor:
        if (run, key) != series or len(ids) == 64 * BLOCK:
            if ids:
                write()
            first = first + len(ids) if (run, key) == series else 0
            series = (run, key)
            ids, steps, times, values = [], [], [], []
        ids.append(point)
        steps.append(step)
        times.append(stamp)
        values.append(value)
    if ids:
        write()


# A MetricBlock's fields, in order, as columns of metric_blocks.
BLOCK_SUMMARY_COLUMNS = (
    "block, first, count, last_id, last_step, last_timestamp, finite, total, "
    "low_at, low, low_step, low_timestamp, high_at, high, high_step, high_timestamp"
)
BLOCK_COLUMNS = f"run, key, {BLOCK_SUMMARY_COLUMNS}"
INSERT_BLOCK = (
    f"INSERT INTO metric_blocks ({BLOCK_COLUMNS}) VALUES "
    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


_V4 = """
-- Datasets runs used (MLflow's log_input): one row per experiment and (name, digest), the
-- first logged wins. source, schema and profile are text, JSON as the constructors of
-- mltop.store.data write them.
CREATE TABLE IF NOT EXISTS datasets (
    id INTEGER PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments (experiment_id),
    name TEXT NOT NULL,
    digest TEXT NOT NULL,
    source_type TEXT NOT NULL,
    source TEXT NOT NULL,
    schema TEXT,
    profile TEXT,
    UNIQUE (experiment_id, name, digest)
);
CREATE INDEX IF NOT EXISTS idx_datasets_name ON datasets (name);
CREATE INDEX IF NOT EXISTS idx_datasets_digest ON datasets (digest);
-- A dataset as a run's input, once per (run, dataset), in the order logged (id). tags is
-- every input tag as JSON [[key, value], ...]; context is the value of the one named
-- mlflow.data.context (NULL without it), kept apart to be searched.
CREATE TABLE IF NOT EXISTS run_inputs (
    id INTEGER PRIMARY KEY,
    run INTEGER NOT NULL REFERENCES runs (id),
    dataset INTEGER NOT NULL REFERENCES datasets (id),
    context TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    UNIQUE (run, dataset)
);
CREATE INDEX IF NOT EXISTS idx_run_inputs_dataset ON run_inputs (dataset);
CREATE INDEX IF NOT EXISTS idx_run_inputs_context ON run_inputs (context)
"""


def _v4(conn: sqlite3.Connection) -> None:
    # IF NOT EXISTS: a store that a test set back to an older version (by dropping that
    # version's tables) keeps these; a real older store has none of them.
    for statement in _statements(_V4):
        conn.execute(statement)


def _v5(conn: sqlite3.Connection) -> None:
    # The runs in the default order (newest first, then by id), with what the active view
    # checks: a table of a million runs reads its first screen, its count and its whole
    # order from this index alone.
    conn.execute(
        "CREATE INDEX IF NOT EXISTS idx_runs_newest ON runs "
        "(start_time DESC, run_id, lifecycle_stage, experiment_id)"
    )


def _v6(conn: sqlite3.Connection) -> None:
    # Where each series first reached its min and its max: the "best so far" of a table of
    # runs (loss at its lowest, and when). Series logged before are read from their blocks,
    # which keep the same per block; the first block holding the extreme has the first step.
    have = {row[1] for row in conn.execute("PRAGMA table_info(metric_summaries)")}
    for column in ("min_step", "max_step"):
        if column not in have:  # a test may set an upgraded store back to an older version
            conn.execute(f"ALTER TABLE metric_summaries ADD COLUMN {column} INTEGER")
    conn.execute(
        "UPDATE metric_summaries SET "
        "min_step = (SELECT b.low_step FROM metric_blocks AS b "
        "  WHERE b.run = metric_summaries.run AND b.key = metric_summaries.key "
        "  AND b.low IS NOT NULL "
        "  ORDER BY b.low, b.block LIMIT 1), "
        "max_step = (SELECT b.high_step FROM metric_blocks AS b "
        "  WHERE b.run = metric_summaries.run AND b.key = metric_summaries.key "
        "  AND b.high IS NOT NULL "
        "  ORDER BY b.high DESC, b.block LIMIT 1) "
        "WHERE min IS NOT NULL"
    )
    # Blocks keep finite extremes only: an infinite min or max is found among the points.
    for column, step in (("min", "min_step"), ("max", "max_step")):
        conn.execute(
            f"UPDATE metric_summaries SET {step} = (SELECT m.step FROM metrics AS m "
            "  WHERE m.run = metric_summaries.run AND m.key = metric_summaries.key "
            f"  AND m.value = metric_summaries.{column} ORDER BY m.id LIMIT 1) "
            f"WHERE {column} IN (9e999, -9e999)"
        )


_V7 = """
-- Logged models (MLflow 3's LoggedModel): a model saved from a run (or on its own), its
-- files under <store>/models/<model_id>/artifacts. status: PENDING, READY or FAILED.
CREATE TABLE IF NOT EXISTS logged_models (
    id INTEGER PRIMARY KEY,
    model_id TEXT NOT NULL UNIQUE,
    experiment_id INTEGER NOT NULL REFERENCES experiments (experiment_id),
    name TEXT NOT NULL,
    source_run_id TEXT,
    model_type TEXT,
    status TEXT NOT NULL,
    status_message TEXT,
    creation_time INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL,
    lifecycle_stage TEXT NOT NULL DEFAULT 'active'
);
CREATE INDEX IF NOT EXISTS idx_logged_models_run ON logged_models (source_run_id);
CREATE INDEX IF NOT EXISTS idx_logged_models_experiment
    ON logged_models (experiment_id, creation_time);
CREATE TABLE IF NOT EXISTS logged_model_params (
    model INTEGER NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS logged_model_tags (
    model INTEGER NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model, key)
) WITHOUT ROWID;
-- A model's metrics (each point as logged, with the run and dataset it was measured on).
-- value NULL means NaN.
CREATE TABLE IF NOT EXISTS logged_model_metrics (
    id INTEGER PRIMARY KEY,
    model INTEGER NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value REAL,
    step INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    run_id TEXT,
    dataset_name TEXT,
    dataset_digest TEXT
);
CREATE INDEX IF NOT EXISTS idx_logged_model_metrics_model ON logged_model_metrics (model, key);
-- Models a run produced (output) or used (input), once per (run, model, direction).
CREATE TABLE IF NOT EXISTS run_models (
    id INTEGER PRIMARY KEY,
    run INTEGER NOT NULL REFERENCES runs (id),
    model_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    step INTEGER NOT NULL DEFAULT 0,
    UNIQUE (run, model_id, direction)
)
"""


def _v7(conn: sqlite3.Connection) -> None:
    for statement in _statements(_V7):
        conn.execute(statement)


_V8 = """
-- Each file of a logged model's folder as it was when the model became READY: its path
-- (relative, '/'-separated), size and SHA-256. Loading compares the folder with these.
CREATE TABLE IF NOT EXISTS logged_model_files (
    model INTEGER NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (model, path)
) WITHOUT ROWID
"""


def _v8(conn: sqlite3.Connection) -> None:
    for statement in _statements(_V8):
        conn.execute(statement)


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _v1,
    _v2,
    _v3,
    _v4,
    _v5,
    _v6,
    _v7,
    _v8,
]
LATEST_VERSION = len(MIGRATIONS)

# A run's attributes as the run store and its searches read them (r: runs).
RUN_COLUMNS = (
    "r.id, r.run_id, r.experiment_id, r.name, r.status, r.start_time, r.end_time, r.user_id, "
    "r.lifecycle_stage, r.parent_run_id, r.heartbeat_time, r.heartbeat_interval_ms, r.seq"
)


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema to LATEST_VERSION inside the caller's open write transaction."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for number in range(version + 1, LATEST_VERSION + 1):
        MIGRATIONS[number - 1](conn)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION}")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
