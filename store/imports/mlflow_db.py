"""MLflow's SQLite database (`mlflow.db`, its own schema) read without MLflow, through
sqlite-utils, opened read-only (this module alone imports sqlite-utils: it imports pandas
and numpy when they are installed, which only the import may pay for).

MLflow keeps NaN as 0 with `is_nan` set, and +inf and -inf as the largest finite doubles:
they are read back as NaN and infinities. A row that breaks what our store accepts is a
`Problem` naming its table and keys, and is skipped.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

from mltop.store.errors import MltopError
from mltop.store.imports.lines import Columns
from mltop.store.imports.records import (
    Problem,
    SourceDatasetInput,
    SourceExperiment,
    SourceLoggedModel,
    SourceModel,
    SourceRun,
    SourceSeries,
    SourceVersion,
    resolve_artifact_dir,
)

_LARGEST = 1.7976931348623157e308
MODEL_STATUS = {0: "PENDING", 1: "PENDING", 2: "READY", 3: "FAILED"}
RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")


class NotAnMlflowDatabaseError(MltopError):
    """The file is not an MLflow tracking database."""


def _connect(path: Path) -> sqlite3.Connection:
    """A read-only connection; a database in a read-only folder is read as immutable."""
    for flags in ("mode=ro", "mode=ro&immutable=1"):
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?{flags}", uri=True)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.DatabaseError as exc:
            error = exc
    raise NotAnMlflowDatabaseError(f"{path} cannot be read as an SQLite database ({error})")


def open_database(path: Path) -> Any:
    """The database at `path` as sqlite-utils' `Database`, read-only."""
    import sqlite_utils

    return sqlite_utils.Database(_connect(path))


def _value(value: float | None, is_nan: object) -> float | None:
    if is_nan or value is None:
        return None
    if value >= _LARGEST:
        return math.inf
    if value <= -_LARGEST:
        return -math.inf
    return float(value)


class DatabaseReader:
    """An MLflow SQLite database's contents, read as records; `problems` gathers what
    was skipped."""

    kind = "SQLite database"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.root = path.parent
        self.db = open_database(path)
        self.problems: list[Problem] = []
        self.tables = set(self.db.table_names())
        if not {"experiments", "runs", "metrics"} <= self.tables:
            self.db.conn.close()
            raise NotAnMlflowDatabaseError(
                f"{path} is an SQLite database but not MLflow's (no experiments, runs and "
                "metrics tables)"
            )
        self._columns = {t: set(self.db[t].columns_dict) for t in self.tables}
        self._bad_rows: dict[str, int] | None = None

    def close(self) -> None:
        self.db.conn.close()

    def problem(self, where: str, reason: str) -> None:
        self.problems.append(Problem(where, reason))

    def _rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        return list(self.db.execute(sql, args).fetchall())

    def _has(self, table: str, column: str | None = None) -> bool:
        return table in self.tables and (column is None or column in self._columns[table])

    def _key_values(self, table: str, key: str, where: str, args: tuple) -> dict[str, str]:
        out = {}
        for k, v in self._rows(f'SELECT "{key}", value FROM {table} WHERE {where}', args):
            if not isinstance(k, str):
                self.problem(f"{self.path}: {table} {args}", f"key {k!r} is not text: skipped")
                continue
            out[k] = "" if v is None else str(v)
        return out

    # -- experiments and runs ------------------------------------------------------------

    def experiments(self) -> list[SourceExperiment]:
        found = []
        for exp_id, name, stage, created, updated in self._rows(
            "SELECT experiment_id, name, lifecycle_stage, creation_time, last_update_time "
            "FROM experiments ORDER BY experiment_id"
        ):
            where = f"{self.path}: experiments row {exp_id}"
            if not isinstance(name, str) or not name:
                self.problem(where, "has no name: experiment skipped, with its runs")
                continue
            tags = {}
            if self._has("experiment_tags"):
                tags = self._key_values("experiment_tags", "key", "experiment_id = ?", (exp_id,))
            found.append(
                SourceExperiment(
                    str(exp_id),
                    name,
                    stage or "active",
                    created if isinstance(created, int) else None,
                    updated if isinstance(updated, int) else None,
                    tags,
                    where,
                )
            )
        return found

    def run_refs(self, exp: SourceExperiment) -> list[str]:
        return [
            r[0]
            for r in self._rows(
                "SELECT run_uuid FROM runs WHERE experiment_id = ? ORDER BY start_time, run_uuid",
                (int(exp.mlflow_id),),
            )
        ]

    def run(self, exp: SourceExperiment, ref: object) -> SourceRun | None:
        run_id = str(ref)
        row = self._rows(
            "SELECT run_uuid, name, status, start_time, end_time, user_id, lifecycle_stage, "
            "artifact_uri, source_type, source_name, source_version, entry_point_name "
            "FROM runs WHERE run_uuid = ?",
            (run_id,),
        )[0]
        (_id, name, status, start, end, user, stage, uri, stype, sname, sversion, entry) = row
        where = f"{self.path}: runs row {run_id}"
        if status not in RUN_STATUSES:
            self.problem(where, f"has an unknown status {status!r:.40}: run skipped")
            return None
        for value, what in ((start, "start_time"), (end, "end_time")):
            if value is not None and not isinstance(value, int):
                self.problem(where, f"has a {what} that is not a number: run skipped")
                return None
        tags = self._key_values("tags", "key", "run_uuid = ?", (run_id,))
        run = SourceRun(
            run_id=str(run_id),
            experiment=exp.mlflow_id,
            name=name or tags.get("mlflow.runName", ""),
            status=status,
            start_time=start,
            end_time=end,
            user_id=user or "",
            lifecycle_stage=stage or "active",
            artifact_uri=uri or "",
            tags=tags,
            params=self._key_values("params", "key", "run_uuid = ?", (run_id,)),
            where=where,
        )
        if stype and stype != "UNKNOWN":
            run.tags.setdefault("mlflow.source.type", str(stype))
        for value, tag in (
            (sname, "mlflow.source.name"),
            (sversion, "mlflow.source.git.commit"),
            (entry, "mlflow.project.entryPoint"),
        ):
            if value:
                run.tags.setdefault(tag, str(value))
        run.inputs = self._inputs(run_id)
        if self._has("inputs"):
            for model_id, kind, step in self._rows(
                "SELECT destination_id, source_type, step FROM inputs WHERE source_id = ? AND "
                "((source_type = 'RUN_INPUT' AND destination_type = 'MODEL_INPUT') OR "
                "(source_type = 'RUN_OUTPUT' AND destination_type = 'MODEL_OUTPUT')) "
                "ORDER BY rowid",
                (run_id,),
            ):
                direction = "input" if kind == "RUN_INPUT" else "output"
                run.model_links.append((str(model_id), direction, int(step or 0)))
        return run

    def _inputs(self, run_id: str) -> list[SourceDatasetInput]:
        if not (self._has("inputs") and self._has("datasets")):
            return []
        found = []
        for uuid, name, digest, stype, source, schema, profile in self._rows(
            "SELECT i.input_uuid, d.name, d.digest, d.dataset_source_type, d.dataset_source, "
            "d.dataset_schema, d.dataset_profile FROM inputs AS i JOIN datasets AS d "
            "ON d.dataset_uuid = i.source_id WHERE i.source_type = 'DATASET' "
            "AND i.destination_type = 'RUN' AND i.destination_id = ? ORDER BY i.rowid",
            (run_id,),
        ):
            tags = {}
            if self._has("input_tags"):
                tags = {
                    str(k): str(v)
                    for k, v in self._rows(
                        "SELECT name, value FROM input_tags WHERE input_uuid = ?", (uuid,)
                    )
                }
            found.append(
                SourceDatasetInput(
                    str(name), str(digest), str(stype), str(source), schema, profile, tags
                )
            )
        return found

    def series(self, run: SourceRun) -> Iterator[SourceSeries]:
        where = f"{self.path}: metrics of run {run.run_id}"
        good = (
            "typeof(key) = 'text' AND typeof(timestamp) = 'integer' AND typeof(step) = "
            "'integer' AND typeof(value) IN ('real', 'integer')"
        )
        if self._bad_rows is None:  # one scan of the table, not one per run
            self._bad_rows = dict(
                self.db.execute(
                    f"SELECT run_uuid, count(*) FROM metrics WHERE NOT ({good}) GROUP BY run_uuid"
                ).fetchall()
            )
        bad = self._bad_rows.get(run.run_id, 0)
        if bad:
            self.problem(
                where,
                f"{bad} row(s) with a key, value, step or timestamp of the wrong type (not a "
                "number): skipped",
            )
        # NaN is kept as 0 with is_nan set, the infinities as the largest doubles.
        rows = self.db.execute(
            "SELECT key, step, timestamp, CASE WHEN is_nan THEN NULL "
            f"WHEN value >= {_LARGEST!r} THEN 9e999 WHEN value <= -{_LARGEST!r} THEN -9e999 "
            f"ELSE value * 1.0 END FROM metrics WHERE run_uuid = ? AND {good} ORDER BY key, rowid",
            (run.run_id,),
        )
        for key, group in groupby(rows, key=itemgetter(0)):
            _keys, steps, stamps, values = zip(*group, strict=True)
            yield SourceSeries(key, Columns(list(steps), list(stamps), list(values)), where)

    def artifact_dir(self, run: SourceRun) -> Path | None:
        roots = [self.root, self.root / "mlartifacts", self.root / "mlruns"]
        return resolve_artifact_dir(run.artifact_uri, roots, run.run_id)

    # -- logged models -------------------------------------------------------------------

    def logged_models(self, exp: SourceExperiment) -> Iterator[SourceLoggedModel]:
        if not self._has("logged_models"):
            return
        for row in self._rows(
            "SELECT model_id, name, artifact_location, creation_timestamp_ms, "
            "last_updated_timestamp_ms, status, status_message, model_type, source_run_id, "
            "lifecycle_stage FROM logged_models WHERE experiment_id = ? ORDER BY "
            "creation_timestamp_ms",
            (int(exp.mlflow_id),),
        ):
            model_id, name, location, created, updated, status, message = row[:7]
            model = SourceLoggedModel(
                model_id=str(model_id),
                experiment=exp.mlflow_id,
                name=str(name),
                artifact_location=location or "",
                creation_time=created or 0,
                last_update_time=updated or 0,
                status=MODEL_STATUS.get(status, "PENDING"),
                status_message=message,
                model_type=row[7],
                source_run_id=row[8],
                lifecycle_stage=row[9] or "active",
                where=f"{self.path}: logged_models row {model_id}",
            )
            if self._has("logged_model_tags"):
                model.tags = {
                    str(k): str(v)
                    for k, v in self._rows(
                        "SELECT tag_key, tag_value FROM logged_model_tags WHERE model_id = ?",
                        (model_id,),
                    )
                }
            if self._has("logged_model_params"):
                model.params = {
                    str(k): str(v)
                    for k, v in self._rows(
                        "SELECT param_key, param_value FROM logged_model_params WHERE model_id = ?",
                        (model_id,),
                    )
                }
            if self._has("logged_model_metrics"):
                for key, stamp, step, value, run_id, dname, ddigest in self._rows(
                    "SELECT metric_name, metric_timestamp_ms, metric_step, metric_value, "
                    "run_id, dataset_name, dataset_digest FROM logged_model_metrics "
                    "WHERE model_id = ? ORDER BY rowid",
                    (model_id,),
                ):
                    model.metrics.append(
                        (key, _value(value, value is None), step, stamp, run_id, dname, ddigest)
                    )
            yield model

    def model_artifact_dir(self, model: SourceLoggedModel) -> Path | None:
        roots = [self.root, self.root / "mlartifacts", self.root / "mlruns"]
        return resolve_artifact_dir(model.artifact_location, roots, model.model_id)

    # -- the registry --------------------------------------------------------------------

    def registered_models(self) -> Iterator[SourceModel]:
        if not self._has("registered_models"):
            return
        for name, created, updated, description in self._rows(
            "SELECT name, creation_time, last_updated_time, description FROM registered_models "
            "ORDER BY name"
        ):
            model = SourceModel(
                str(name),
                created or 0,
                updated or 0,
                description or "",
                where=f"{self.path}: registered_models row {name!r}",
            )
            if self._has("registered_model_tags"):
                model.tags = self._key_values("registered_model_tags", "key", "name = ?", (name,))
            if self._has("registered_model_aliases"):
                model.aliases = {
                    str(a): int(v)
                    for a, v in self._rows(
                        "SELECT alias, version FROM registered_model_aliases WHERE name = ?",
                        (name,),
                    )
                }
            has_model_id = self._has("model_versions", "model_id")
            for row in self._rows(
                "SELECT version, creation_time, last_updated_time, description, user_id, "
                "current_stage, source, run_id, run_link"
                + (", model_id" if has_model_id else "")
                + " FROM model_versions WHERE name = ? ORDER BY version",
                (name,),
            ):
                version = SourceVersion(
                    version=int(row[0]),
                    creation_time=row[1] or 0,
                    last_update_time=row[2] or 0,
                    description=row[3] or "",
                    user_id=row[4] or "",
                    stage=row[5] or "None",
                    source=row[6] or "",
                    run_id=row[7] or "",
                    run_link=row[8] or None,
                    model_id=(row[9] or None) if has_model_id else None,
                    where=f"{self.path}: model_versions row {name!r} version {row[0]}",
                )
                if self._has("model_version_tags"):
                    version.tags = self._key_values(
                        "model_version_tags", "key", "name = ? AND version = ?", (name, row[0])
                    )
                model.versions.append(version)
            yield model
