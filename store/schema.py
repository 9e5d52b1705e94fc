"""The store's schema, versioned with `PRAGMA user_version` and built by numbered migrations.

sqlite-utils defines the tables; each migration runs inside the caller's `BEGIN IMMEDIATE`
transaction, so concurrent openers of a new store never see half a schema.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

APPLICATION_ID = 0x6D6C7470  # "mltp": marks a SQLite file as an mltop store


def _v1(db: sqlite_utils.Database) -> None:
    db["experiments"].create(
        {
            "experiment_id": int,
            "name": str,
            "lifecycle_stage": str,
            "creation_time": int,
            "last_update_time": int,
            "seq": int,
        },
        pk="experiment_id",
        not_null=["name", "lifecycle_stage"],
        defaults={"lifecycle_stage": "active", "seq": 0},
    )
    db["experiments"].create_index(["name"], unique=True)
    db["experiments"].create_index(["seq"])
    db["experiment_tags"].create(
        {"experiment_id": int, "key": str, "value": str},
        pk=("experiment_id", "key"),
        foreign_keys=[("experiment_id", "experiments", "experiment_id")],
    )
    db["runs"].create(
        {
            "id": int,
            "run_id": str,
            "experiment_id": int,
            "name": str,
            "status": str,
            "start_time": int,
            "end_time": int,
            "user_id": str,
            "lifecycle_stage": str,
            "parent_run_id": str,
            "heartbeat_time": int,
            "heartbeat_interval_ms": int,
            "seq": int,
        },
        pk="id",
        not_null=["run_id", "experiment_id", "status", "lifecycle_stage"],
        defaults={"lifecycle_stage": "active", "seq": 0, "heartbeat_interval_ms": 5000},
        foreign_keys=[("experiment_id", "experiments", "experiment_id")],
    )
    db["runs"].create_index(["run_id"], unique=True)
    db["runs"].create_index(["experiment_id", "start_time"])
    db["runs"].create_index(["seq"])
    db["runs"].create_index(["parent_run_id"])
    for table in ("params", "tags"):
        db[table].create(
            {"run": int, "key": str, "value": str},
            pk=("run", "key"),
            foreign_keys=[("run", "runs", "id")],
        )
    db["metric_keys"].create({"id": int, "key": str}, pk="id", not_null=["key"])
    db["metric_keys"].create_index(["key"], unique=True)
    # The hot table: narrow integer columns, no foreign-key checks per point.
    # value NULL means NaN (SQLite cannot store a NaN REAL).
    db["metrics"].create(
        {"id": int, "run": int, "key": int, "step": int, "timestamp": int, "value": float},
        pk="id",
        not_null=["run", "key", "step", "timestamp"],
    )
    db["metrics"].create_index(["run", "key"])
    db["metric_summaries"].create(
        {
            "run": int,
            "key": int,
            "value": float,
            "step": int,
            "timestamp": int,
            "min": float,
            "max": float,
            "count": int,
        },
        pk=("run", "key"),
    )
    db["counters"].create({"name": str, "value": int}, pk="name")
    db["counters"].insert({"name": "seq", "value": 1})
    now = int(time.time() * 1000)
    db["experiments"].insert(
        {
            "experiment_id": 0,
            "name": "Default",
            "lifecycle_stage": "active",
            "creation_time": now,
            "last_update_time": now,
            "seq": 1,
        }
    )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1]
LATEST_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema to LATEST_VERSION inside the caller's open write transaction."""
    # Imported here, not at module level: sqlite-utils imports pandas and numpy when they
    # are installed (as they are where models are trained), which would add half a second
    # and some 80 MB to every `import mltop.store`. Only creating or upgrading a store
    # needs it.
    import sqlite_utils

    db = sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for number in range(version + 1, LATEST_VERSION + 1):
        MIGRATIONS[number - 1](db)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION}")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
