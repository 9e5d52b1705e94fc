"""Writes of an import (`mltop import mlflow`) into the SQLite store: rows with the ids and
times they had in the source, each kept as the store's own write paths keep them (the
change sequence, metric summaries and blocks through `Store.write_points`, the key
dictionary, dataset rows, logged models' recorded files, the registry's counters and its
append-only log). What to write is decided by `mltop.store.imports`; this module only
reads what is there and writes what it is given, validated already."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mltop.store.entities import TERMINAL_STATUSES
from mltop.store.integrity import FileDigest
from mltop.store.sqlite.registry import RUN_LINK_TAG, STORAGE_TAG

if TYPE_CHECKING:
    from mltop.store.sqlite.tracking import Store


@dataclass
class RunState:
    """What the store holds of a run."""

    row: int
    experiment_id: int
    name: str
    status: str
    end_time: int | None
    lifecycle_stage: str
    tags: dict[str, str]
    params: dict[str, str]
    counts: dict[str, int]  # points held per metric key
    datasets: set[tuple[str, str]]
    model_links: set[tuple[str, str]]  # (model id, direction)


@dataclass
class ModelState:
    id: int
    description: str
    tags: dict[str, str]
    aliases: dict[str, int]
    # version -> (run id, source, stage, description, tags)
    versions: dict[int, tuple[str, str, str, str, dict[str, str]]] = field(default_factory=dict)


class ImportTarget:
    """The store an import writes into."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    # -- experiments ---------------------------------------------------------------------

    def experiment(self, name: str) -> tuple[int, str, dict[str, str]] | None:
        conn = self.db.connection()
        row = conn.execute(
            "SELECT experiment_id, lifecycle_stage FROM experiments WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            return None
        tags = dict(
            conn.execute(
                "SELECT key, value FROM experiment_tags WHERE experiment_id = ?", (row[0],)
            )
        )
        return row[0], row[1], tags

    def add_experiment(
        self, name: str, stage: str, created: int, updated: int, tags: Mapping[str, str]
    ) -> int:
        with self.db.write() as conn:
            exp = conn.execute(
                "INSERT INTO experiments (name, lifecycle_stage, creation_time, last_update_time,"
                " seq) VALUES (?, ?, ?, ?, ?)",
                (name, stage, created, updated, self.db.next_seq(conn)),
            ).lastrowid
            conn.executemany(
                "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)",
                [(exp, k, v) for k, v in tags.items()],
            )
        assert exp is not None
        return exp

    def update_experiment(self, exp: int, stage: str | None, tags: Mapping[str, str]) -> None:
        with self.db.write() as conn:
            if stage is not None:
                conn.execute(
                    "UPDATE experiments SET lifecycle_stage = ? WHERE experiment_id = ?",
                    (stage, exp),
                )
            conn.executemany(
                "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
                [(exp, k, v) for k, v in tags.items()],
            )
            conn.execute(
                "UPDATE experiments SET seq = ? WHERE experiment_id = ?",
                (self.db.next_seq(conn), exp),
            )

    # -- runs ----------------------------------------------------------------------------

    def run(self, run_id: str) -> RunState | None:
        conn = self.db.connection()
        row = conn.execute(
            "SELECT id, experiment_id, name, status, end_time, lifecycle_stage, user_id, "
            "parent_run_id FROM runs WHERE run_id = ?",
            (run_id,),
        ).fetchone()
        if row is None:
            return None
        tags = dict(conn.execute("SELECT key, value FROM tags WHERE run = ?", (row[0],)))
        if row[2]:
            tags["mlflow.runName"] = row[2]
        if row[6]:
            tags["mlflow.user"] = row[6]
        if row[7]:
            tags["mlflow.parentRunId"] = row[7]
        params = dict(conn.execute("SELECT key, value FROM params WHERE run = ?", (row[0],)))
        counts = dict(
            conn.execute(
                "SELECT k.key, s.count FROM metric_summaries AS s JOIN metric_keys AS k "
                "ON k.id = s.key WHERE s.run = ?",
                (row[0],),
            )
        )
        datasets = set(
            conn.execute(
                "SELECT d.name, d.digest FROM run_inputs AS i JOIN datasets AS d "
                "ON d.id = i.dataset WHERE i.run = ?",
                (row[0],),
            )
        )
        links = set(
            conn.execute("SELECT model_id, direction FROM run_models WHERE run = ?", (row[0],))
        )
        return RunState(
            row[0], row[1], row[2] or "", row[3], row[4], row[5], tags, params, counts, datasets,
            links,
        )  # fmt: skip

    def add_run(
        self,
        run_id: str,
        exp: int,
        *,
        name: str,
        status: str,
        start_time: int | None,
        end_time: int | None,
        user_id: str,
        lifecycle_stage: str,
        parent_run_id: str | None,
        tags: Mapping[str, str],
        params: Mapping[str, str],
    ) -> int:
        with self.db.write() as conn:
            row = conn.execute(
                "INSERT INTO runs (run_id, experiment_id, name, status, start_time, end_time, "
                "user_id, lifecycle_stage, parent_run_id, heartbeat_time, seq) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    exp,
                    name,
                    status,
                    start_time,
                    end_time if status in TERMINAL_STATUSES else None,
                    user_id,
                    lifecycle_stage,
                    parent_run_id,
                    # Nobody here writes to an imported RUNNING run: it is shown as lost
                    # (its heartbeat is as old as its start), not as running forever.
                    start_time or 0,
                    self.db.next_seq(conn),
                ),
            ).lastrowid
            conn.executemany(
                "INSERT INTO tags (run, key, value) VALUES (?, ?, ?)",
                [(row, k, v) for k, v in tags.items()],
            )
            conn.executemany(
                "INSERT INTO params (run, key, value) VALUES (?, ?, ?)",
                [(row, k, v) for k, v in params.items()],
            )
        assert row is not None
        return row

    def update_run(
        self,
        row: int,
        columns: Mapping[str, object],
        tags: Mapping[str, str],
        params: Mapping[str, str],
    ) -> None:
        """Set columns of `runs` (names from the importer's fixed list), tags, new params."""
        with self.db.write() as conn:
            for column, value in columns.items():
                if column not in ("name", "status", "end_time", "lifecycle_stage",
                                  "user_id", "parent_run_id"):  # fmt: skip
                    raise ValueError(f"not a run column an import sets: {column}")
                conn.execute(f"UPDATE runs SET {column} = ? WHERE id = ?", (value, row))
            conn.executemany(
                "INSERT INTO tags (run, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (run, key) DO UPDATE SET value = excluded.value",
                [(row, k, v) for k, v in tags.items()],
            )
            conn.executemany(
                "INSERT INTO params (run, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (run, key) DO NOTHING",
                [(row, k, v) for k, v in params.items()],
            )
            conn.execute("UPDATE runs SET seq = ? WHERE id = ?", (self.db.next_seq(conn), row))

    def key_id(self, key: str) -> int:
        return self.store.metric_key_id(key)

    def add_points(self, rows: Sequence[tuple[int, int, int, int, float | None]]) -> None:
        """(run row, key id, step, timestamp, value or None) points, appended as logged."""
        self.store.write_points(rows)

    def add_inputs(
        self,
        row: int,
        exp: int,
        inputs: Sequence[tuple[str, str, str, str, str | None, str | None, dict[str, str]]],
    ) -> None:
        """Datasets (name, digest, source type, source, schema, profile, input tags) as
        inputs of a run, as `Store.log_inputs` records them."""
        with self.db.write() as conn:
            for name, digest, kind, source, schema, profile, tags in inputs:
                conn.execute(
                    "INSERT INTO datasets (experiment_id, name, digest, source_type, source, "
                    "schema, profile) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (experiment_id, name, digest) DO NOTHING",
                    (exp, name, digest, kind, source, schema, profile),
                )
                dataset = conn.execute(
                    "SELECT id FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?",
                    (exp, name, digest),
                ).fetchone()[0]
                conn.execute(
                    "INSERT INTO run_inputs (run, dataset, context, tags) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (run, dataset) DO NOTHING",
                    (
                        row,
                        dataset,
                        tags.get("mlflow.data.context"),
                        json.dumps([[k, v] for k, v in tags.items()]),
                    ),
                )
            conn.execute("UPDATE runs SET seq = ? WHERE id = ?", (self.db.next_seq(conn), row))

    def add_model_links(self, row: int, links: Sequence[tuple[str, str, int]]) -> None:
        """Logged models (id, "input" or "output", step) a run used or produced, as
        `LoggedModels.link_run` records them."""
        with self.db.write() as conn:
            conn.executemany(
                "INSERT INTO run_models (run, model_id, direction, step) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (run, model_id, direction) DO NOTHING",
                [(row, *link) for link in links],
            )
            conn.execute("UPDATE runs SET seq = ? WHERE id = ?", (self.db.next_seq(conn), row))

    # -- logged models -------------------------------------------------------------------

    def has_logged_model(self, model_id: str) -> bool:
        return (
            self.db.connection()
            .execute("SELECT 1 FROM logged_models WHERE model_id = ?", (model_id,))
            .fetchone()
            is not None
        )

    def add_logged_model(
        self,
        model_id: str,
        exp: int,
        *,
        name: str,
        source_run_id: str | None,
        model_type: str | None,
        status: str,
        status_message: str | None,
        creation_time: int,
        last_update_time: int,
        lifecycle_stage: str,
        tags: Mapping[str, str],
        params: Mapping[str, str],
        metrics: Sequence[tuple],
        files: Mapping[str, FileDigest] | None,
    ) -> None:
        with self.db.write() as conn:
            row = conn.execute(
                "INSERT INTO logged_models (model_id, experiment_id, name, source_run_id, "
                "model_type, status, status_message, creation_time, last_update_time, "
                "lifecycle_stage) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    model_id,
                    exp,
                    name,
                    source_run_id,
                    model_type,
                    status,
                    status_message,
                    creation_time,
                    last_update_time,
                    lifecycle_stage,
                ),
            ).lastrowid
            conn.executemany(
                "INSERT INTO logged_model_tags (model, key, value) VALUES (?, ?, ?)",
                [(row, k, v) for k, v in tags.items()],
            )
            conn.executemany(
                "INSERT INTO logged_model_params (model, key, value) VALUES (?, ?, ?)",
                [(row, k, v) for k, v in params.items()],
            )
            conn.executemany(
                "INSERT INTO logged_model_metrics (model, key, value, step, timestamp, run_id, "
                "dataset_name, dataset_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(row, *m) for m in metrics],
            )
            if files is not None:
                conn.executemany(
                    "INSERT INTO logged_model_files (model, path, size, sha256) "
                    "VALUES (?, ?, ?, ?)",
                    [(row, p, d.size, d.sha256) for p, d in files.items()],
                )
            if source_run_id is not None:
                run = conn.execute(
                    "SELECT id FROM runs WHERE run_id = ?", (source_run_id,)
                ).fetchone()
                if run is not None:
                    conn.execute(
                        "UPDATE runs SET seq = ? WHERE id = ?", (self.db.next_seq(conn), run[0])
                    )

    # -- the registry --------------------------------------------------------------------

    def registered_model(self, name: str) -> ModelState | None:
        conn = self.db.connection()
        row = conn.execute(
            "SELECT id, description FROM registered_models WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            return None
        model = row[0]
        state = ModelState(
            model,
            row[1],
            dict(
                conn.execute(
                    "SELECT key, value FROM registered_model_tags WHERE model = ?", (model,)
                )
            ),
            dict(
                conn.execute("SELECT alias, version FROM model_aliases WHERE model = ?", (model,))
            ),
        )
        for version, run_id, source, stage, description in conn.execute(
            "SELECT version, run_id, source, stage, description FROM model_versions "
            "WHERE model = ?",
            (model,),
        ).fetchall():
            tags = dict(
                conn.execute(
                    "SELECT key, value FROM model_version_tags WHERE model = ? AND version = ?",
                    (model, version),
                )
            )
            tags.pop(RUN_LINK_TAG, None)
            tags.pop(STORAGE_TAG, None)
            state.versions[version] = (run_id, source, stage, description, tags)
        return state

    def add_registered_model(
        self, name: str, created: int, updated: int, description: str, tags: Mapping[str, str]
    ) -> int:
        with self.db.write() as conn:
            conn.execute("UPDATE counters SET value = value + 1 WHERE name = 'model'")
            model = conn.execute("SELECT value FROM counters WHERE name = 'model'").fetchone()[0]
            conn.execute(
                "INSERT INTO registered_models (id, name, description, creation_time, "
                "last_update_time, seq) VALUES (?, ?, ?, ?, ?, ?)",
                (model, name, description, created, updated, self.db.next_seq(conn)),
            )
            conn.executemany(
                "INSERT INTO registered_model_tags (model, key, value) VALUES (?, ?, ?)",
                [(model, k, v) for k, v in tags.items()],
            )
        return int(model)

    def update_registered_model(
        self, model: int, description: str | None, tags: Mapping[str, str]
    ) -> None:
        with self.db.write() as conn:
            if description is not None:
                conn.execute(
                    "UPDATE registered_models SET description = ? WHERE id = ?",
                    (description, model),
                )
            conn.executemany(
                "INSERT INTO registered_model_tags (model, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (model, key) DO UPDATE SET value = excluded.value",
                [(model, k, v) for k, v in tags.items()],
            )
            conn.execute(
                "UPDATE registered_models SET seq = ? WHERE id = ?", (self.db.next_seq(conn), model)
            )

    @staticmethod
    def _log(
        conn: sqlite3.Connection,
        model: int,
        name: str,
        version: int,
        kind: str,
        user: str,
        time: int,
        comment: str,
        *,
        from_stage: str | None = None,
        to_stage: str | None = None,
        alias: str | None = None,
        from_version: int | None = None,
    ) -> None:
        conn.execute(
            "INSERT INTO model_transitions (model, model_name, version, kind, from_stage, "
            "to_stage, alias, from_version, user_id, time, comment) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (model, name, version, kind, from_stage, to_stage, alias, from_version, user, time,
             comment),
        )  # fmt: skip

    def add_version(
        self,
        model: int,
        name: str,
        *,
        version: int,
        source: str,
        run_id: str,
        description: str,
        creation_time: int,
        last_update_time: int,
        user_id: str,
        stage: str,
        tags: Mapping[str, str],
        run_link: str | None,
        storage: str | None,
        comment: str,
        log_move: bool = True,
    ) -> None:
        """A version with its number, and one transition into its stage, logged as
        imported (who and when: the version's own); not when `log_move` is False (its
        history comes from the source: `add_records`)."""
        all_tags = dict(tags)
        if run_link:
            all_tags[RUN_LINK_TAG] = run_link
        if storage:
            all_tags[STORAGE_TAG] = storage
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO model_versions (model, version, source, run_id, description, "
                "creation_time, last_update_time, user_id, stage) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (model, version, source, run_id, description, creation_time, last_update_time,
                 user_id, stage),
            )  # fmt: skip
            conn.execute(
                "UPDATE registered_models SET next_version = max(next_version, ?) WHERE id = ?",
                (version + 1, model),
            )
            conn.executemany(
                "INSERT INTO model_version_tags (model, version, key, value) VALUES (?, ?, ?, ?)",
                [(model, version, k, v) for k, v in all_tags.items()],
            )
            when = creation_time if stage == "None" else last_update_time
            if log_move:
                self._log(conn, model, name, version, "transition", user_id, when, comment,
                          from_stage="None", to_stage=stage)  # fmt: skip
            conn.execute(
                "UPDATE registered_models SET seq = ? WHERE id = ?", (self.db.next_seq(conn), model)
            )

    def update_version(
        self,
        model: int,
        name: str,
        version: int,
        *,
        stage: tuple[str, str] | None,
        description: str | None,
        tags: Mapping[str, str],
        user_id: str,
        time: int,
        comment: str,
        log_move: bool = True,
    ) -> None:
        """A version's stage moved (from, to), description or tags changed in the source:
        set here, a stage move logged as imported (unless not `log_move`)."""
        with self.db.write() as conn:
            if stage is not None:
                conn.execute(
                    "UPDATE model_versions SET stage = ?, last_update_time = ? "
                    "WHERE model = ? AND version = ?",
                    (stage[1], time, model, version),
                )
                if log_move:
                    self._log(conn, model, name, version, "transition", user_id, time,
                              comment, from_stage=stage[0], to_stage=stage[1])  # fmt: skip
            if description is not None:
                conn.execute(
                    "UPDATE model_versions SET description = ? WHERE model = ? AND version = ?",
                    (description, model, version),
                )
            conn.executemany(
                "INSERT INTO model_version_tags (model, version, key, value) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (model, version, key) DO UPDATE SET value = excluded.value",
                [(model, version, k, v) for k, v in tags.items()],
            )
            conn.execute(
                "UPDATE registered_models SET seq = ? WHERE id = ?", (self.db.next_seq(conn), model)
            )

    def set_alias(
        self,
        model: int,
        name: str,
        alias: str,
        version: int,
        old: int | None,
        user_id: str,
        time: int,
        comment: str,
        log: bool = True,
    ) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO model_aliases (model, alias, version) VALUES (?, ?, ?) "
                "ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version",
                (model, alias, version),
            )
            if log:
                self._log(conn, model, name, version, "alias_set", user_id, time, comment,
                          alias=alias, from_version=old)  # fmt: skip
            conn.execute(
                "UPDATE registered_models SET seq = ? WHERE id = ?", (self.db.next_seq(conn), model)
            )

    def add_records(
        self, model: int, rows: Sequence[tuple], *, dry_run: bool = False
    ) -> tuple[int, int]:
        """Rows of a model's log brought from the source as they were (model_name,
        version, kind, from_stage, to_stage, alias, from_version, user_id, time, comment,
        archived JSON, policy JSON or None, forced), in order; one the log holds already
        (the same in every column) is not added again. Returns (added, already there)."""
        columns = ("model_name, version, kind, from_stage, to_stage, alias, from_version, "
                   "user_id, time, comment, archived, policy, forced")  # fmt: skip
        match = " AND ".join(f"{c.strip()} IS ?" for c in columns.split(","))
        added = held = 0
        # A dry run only reads (a store open read-only can be asked what would come).
        opened = nullcontext(self.db.connection()) if dry_run else self.db.write()
        with opened as conn:
            for row in rows:
                if conn.execute(
                    f"SELECT 1 FROM model_transitions WHERE model = ? AND {match}",
                    (model, *row),
                ).fetchone():
                    held += 1
                    continue
                added += 1
                if not dry_run:
                    conn.execute(
                        f"INSERT INTO model_transitions (model, {columns}) "
                        f"VALUES ({', '.join('?' * 14)})",
                        (model, *row),
                    )
        return added, held
