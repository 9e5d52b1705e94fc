"""The model registry in the SQLite store: registered models, numbered versions, stages,
aliases, and an append-only transition log with policy gates. The rules it applies (stage
names, comments, plans) are backend-free, in `store/registry.py`.

Every change is one `BEGIN IMMEDIATE` transaction on the store's `Database`, so two
processes promoting different versions at once serialize: with archive_existing on (the
default for Production) exactly one version ends in Production, and both moves are in the
log. A move's plan is computed inside that transaction, so what is checked is what is done.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from mltop.store import keys
from mltop.store.buffered import sync_all
from mltop.store.entities import (
    STAGES,
    ModelVersion,
    RegisteredModel,
    TransitionRecord,
    now_ms,
)
from mltop.store.errors import (
    AlreadyExistsError,
    NotFoundError,
    PageTokenError,
    ValidationError,
)
from mltop.store.location import ARTIFACTS_DIR
from mltop.store.query import paging, policy
from mltop.store.query.registry_search import (
    MODEL_SEARCH_DEFAULT_MAX_RESULTS,
    MODEL_SEARCH_MAX_RESULTS,
    VERSION_SEARCH_DEFAULT_MAX_RESULTS,
    VERSION_SEARCH_MAX_RESULTS,
    RegistryQuery,
    compile_model_search,
    compile_version_search,
)
from mltop.store.registry import (
    ARCHIVED,
    DELETE_MODEL,
    DELETE_VERSION,
    MODEL_ROW,
    PRODUCTION,
    RENAME,
    ModelLog,
    TransitionPlan,
    canonical_stage,
    check_move,
    is_registered_model_uri,
    logged_model_id_of,
    parse_model_uri,
    plan_move,
    rollback_target,
    run_id_of,
    validate_alias,
    validate_model_name,
    version_number,
)
from mltop.store.sqlite.errors import translated
from mltop.store.sqlite.models import MODELS_DIR
from mltop.store.system import current_user

if TYPE_CHECKING:
    from mltop.store.sqlite.tracking import Store

# A version's run link (MLflow's `run_link`) is kept as a tag under this key, which no
# reader shows among its tags.
RUN_LINK_TAG = "mltop.run_link"
# Where a version registered from a `models:/` URI has its files (MLflow's storage
# location), kept as a tag no reader shows.
STORAGE_TAG = "mltop.storage_location"
_MODEL_COLUMNS = "m.id, m.name, m.description, m.creation_time, m.last_update_time, m.policy"


@translated(lambda registry: registry.store.path)
class Registry:
    def __init__(self, store: Store) -> None:
        self.store = store  # the runs that versions come from, and their policies' facts
        self.db = store.db

    # -- helpers -------------------------------------------------------------------------

    def _model(self, conn: sqlite3.Connection, name: str) -> tuple[int, str, str | None]:
        row = conn.execute(
            "SELECT id, name, policy FROM registered_models WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no registered model named {name!r}")
        return row

    def _version_row(self, conn: sqlite3.Connection, model: int, name: str, version: object):
        number = version_number(version)
        row = conn.execute(
            "SELECT version, stage, run_id FROM model_versions WHERE model = ? AND version = ?",
            (model, number),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"model {name!r} has no version {number}")
        return row

    def _log(
        self,
        conn: sqlite3.Connection,
        model: int,
        name: str,
        version: int,
        kind: str,
        *,
        user: str,
        now: int,
        from_stage: str | None = None,
        to_stage: str | None = None,
        alias: str | None = None,
        from_version: int | None = None,
        comment: str = "",
        archived: tuple[int, ...] = (),
        policy_result: policy.PolicyResult | None = None,
        forced: bool = False,
    ) -> None:
        conn.execute(
            "INSERT INTO model_transitions (model, model_name, version, kind, from_stage, "
            "to_stage, alias, from_version, user_id, time, comment, archived, policy, forced)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                model,
                name,
                version,
                kind,
                from_stage,
                to_stage,
                alias,
                from_version,
                user,
                now,
                comment,
                json.dumps(list(archived)),
                None if policy_result is None else json.dumps(policy_result.as_dict()),
                int(forced),
            ),
        )

    def _log_version_deleted(
        self,
        conn: sqlite3.Connection,
        model: int,
        name: str,
        number: int,
        stage: str,
        user: str,
        now: int,
        *,
        with_model: bool,
    ) -> None:
        """Log a version's deletion: the aliases it loses, then the version and the stage
        it was in; each row says why when the whole model is deleted."""
        why = "model deleted" if with_model else f"version {number} deleted"
        for (alias,) in conn.execute(
            "SELECT alias FROM model_aliases WHERE model = ? AND version = ? ORDER BY alias",
            (model, number),
        ).fetchall():
            self._log(
                conn,
                model,
                name,
                number,
                "alias_delete",
                user=user,
                now=now,
                alias=alias,
                from_version=number,
                comment=why,
            )
        self._log(
            conn,
            model,
            name,
            number,
            DELETE_VERSION,
            user=user,
            now=now,
            from_stage=stage,
            comment=why if with_model else "",
        )

    def _touch(self, conn: sqlite3.Connection, model: int, now: int) -> None:
        conn.execute(
            "UPDATE registered_models SET last_update_time = ?, seq = ? WHERE id = ?",
            (now, self.db.next_seq(conn), model),
        )

    # -- registered models ---------------------------------------------------------------

    def create_registered_model(
        self, name: str, description: str = "", tags: Mapping[str, object] | None = None
    ) -> RegisteredModel:
        validate_model_name(name)
        clean = keys.clean_tags(tags or {}, keys.MAX_TAG_VALUE_LENGTH)
        with self.db.write() as conn:
            if conn.execute("SELECT 1 FROM registered_models WHERE name = ?", (name,)).fetchone():
                raise AlreadyExistsError(f"registered model {name!r} already exists")
            now = now_ms()
            # Ids are never reused: a model made again under a deleted one's name must not
            # take on its log (its history, what a rollback would restore).
            conn.execute("UPDATE counters SET value = value + 1 WHERE name = 'model'")
            model = conn.execute("SELECT value FROM counters WHERE name = 'model'").fetchone()[0]
            conn.execute(
                "INSERT INTO registered_models (id, name, description, creation_time, "
                "last_update_time, seq) VALUES (?, ?, ?, ?, ?, ?)",
                (model, name, description or "", now, now, self.db.next_seq(conn)),
            )
            conn.executemany(
                "INSERT INTO registered_model_tags (model, key, value) VALUES (?, ?, ?)",
                [(model, k, v) for k, v in clean.items()],
            )
        return self.get_registered_model(name)

    def get_registered_model(self, name: str) -> RegisteredModel:
        conn = self.db.connection()
        row = conn.execute(
            f"SELECT {_MODEL_COLUMNS} FROM registered_models AS m WHERE m.name = ?", (name,)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no registered model named {name!r}")
        return self._model_entity(conn, row)

    def _model_entity(self, conn: sqlite3.Connection, row: tuple) -> RegisteredModel:
        model, name, description, created, updated, policy_text = row
        tags = dict(
            conn.execute("SELECT key, value FROM registered_model_tags WHERE model = ?", (model,))
        )
        aliases = dict(
            conn.execute(
                "SELECT alias, version FROM model_aliases WHERE model = ? ORDER BY alias", (model,)
            )
        )
        newest = [
            v
            for (v,) in conn.execute(
                "SELECT max(version) FROM model_versions WHERE model = ? GROUP BY stage", (model,)
            )
        ]
        latest = self._versions(
            conn,
            f"v.model = ? AND v.version IN ({', '.join('?' for _ in newest)})",
            (model, *newest),
        )
        latest.sort(key=lambda v: STAGES.index(v.current_stage))
        return RegisteredModel(
            name, created, updated, description, latest, tags, aliases, policy_text
        )

    def search_registered_models(
        self, name_like: str | None = None, tags: Mapping[str, str] | None = None
    ) -> list[RegisteredModel]:
        """Models whose name matches a LIKE pattern (case-insensitive) and that carry all
        the given tags, by name."""
        sql = [f"SELECT {_MODEL_COLUMNS} FROM registered_models AS m WHERE 1"]
        args: list[object] = []
        if name_like:
            sql.append(" AND m.name LIKE ?")
            args.append(name_like)
        for key, value in (tags or {}).items():
            sql.append(
                " AND EXISTS (SELECT 1 FROM registered_model_tags AS t WHERE "
                "t.model = m.id AND t.key = ? AND t.value = ?)"
            )
            args += [key, value]
        sql.append(" ORDER BY m.name")
        conn = self.db.connection()
        return [self._model_entity(conn, row) for row in conn.execute("".join(sql), args)]

    def rename_registered_model(self, name: str, new_name: str, *, user: str | None = None) -> None:
        """Rename a model; logged (the row carries the old name), so that its history,
        read under the new name, keeps what was done under the old one."""
        validate_model_name(new_name)
        user = user or current_user()
        with self.db.write() as conn:
            model, old_name, _policy = self._model(conn, name)
            if conn.execute(
                "SELECT 1 FROM registered_models WHERE name = ?", (new_name,)
            ).fetchone():
                raise AlreadyExistsError(f"registered model {new_name!r} already exists")
            conn.execute("UPDATE registered_models SET name = ? WHERE id = ?", (new_name, model))
            now = now_ms()
            self._log(conn, model, old_name, MODEL_ROW, RENAME, user=user, now=now)
            self._touch(conn, model, now)

    def update_registered_model(self, name: str, description: str) -> None:
        with self.db.write() as conn:
            model = self._model(conn, name)[0]
            conn.execute(
                "UPDATE registered_models SET description = ? WHERE id = ?", (description, model)
            )
            self._touch(conn, model, now_ms())

    def set_registered_model_tag(self, name: str, key: str, value: object) -> None:
        clean = keys.clean_tags({key: value}, keys.MAX_TAG_VALUE_LENGTH)
        with self.db.write() as conn:
            model = self._model(conn, name)[0]
            conn.executemany(
                "INSERT INTO registered_model_tags (model, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (model, key) DO UPDATE SET value = excluded.value",
                [(model, k, v) for k, v in clean.items()],
            )
            self._touch(conn, model, now_ms())

    def delete_registered_model(self, name: str, *, user: str | None = None) -> None:
        """Delete a model with its versions, tags and aliases. Its log stays, and says so:
        each version deleted (with the stage it was in, its aliases removed), then the
        model. A model made again under the name starts a log of its own."""
        user = user or current_user()
        with self.db.write() as conn:
            model, model_name, _policy = self._model(conn, name)
            now = now_ms()
            for number, stage in conn.execute(
                "SELECT version, stage FROM model_versions WHERE model = ? ORDER BY version",
                (model,),
            ).fetchall():
                self._log_version_deleted(
                    conn, model, model_name, number, stage, user, now, with_model=True
                )
            self._log(conn, model, model_name, MODEL_ROW, DELETE_MODEL, user=user, now=now)
            conn.execute("DELETE FROM model_aliases WHERE model = ?", (model,))
            conn.execute("DELETE FROM model_version_tags WHERE model = ?", (model,))
            conn.execute("DELETE FROM model_versions WHERE model = ?", (model,))
            conn.execute("DELETE FROM registered_model_tags WHERE model = ?", (model,))
            conn.execute("DELETE FROM registered_models WHERE id = ?", (model,))

    def set_policy(self, name: str, expression: str | None) -> None:
        """Set (or clear, with None) the filter a version's source run must pass to enter
        Production. Validated now: a bad expression raises FilterError."""
        if expression is not None:
            policy.validate(expression)
        with self.db.write() as conn:
            model = self._model(conn, name)[0]
            conn.execute(
                "UPDATE registered_models SET policy = ? WHERE id = ?", (expression, model)
            )
            self._touch(conn, model, now_ms())

    # -- versions ------------------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        description: str = "",
        tags: Mapping[str, object] | None = None,
        *,
        create_model: bool = True,
        run_link: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        """Register `source` as the next version of `name` (created if missing): a run's
        files (`runs:/<run_id>/model`, or a folder of the store's with `run_id`), a logged
        model (`models:/<model_id>`, or `model_id=`: its source run is the version's), or
        another version (`models:/NAME/VERSION`, `@ALIAS`...: its run, and its files as they
        are now). The source run must exist in this store: a policy reads it."""
        if not isinstance(source, str) or not source.strip():
            raise ValidationError("a model version needs a source, such as runs:/<run_id>/model")
        run_id, storage = self._source_of(source, run_id, model_id)
        run_id = self.store.resolve_run_id(run_id)
        if create_model:
            with contextlib.suppress(AlreadyExistsError):
                self.create_registered_model(name)
        clean = keys.clean_tags(tags or {}, keys.MAX_TAG_VALUE_LENGTH)
        if run_link:
            clean[RUN_LINK_TAG] = keys.validate_string_value(run_link, 5000, "run_link")
        if storage is not None:
            clean[STORAGE_TAG] = storage
        user = current_user()
        with self.db.write() as conn:
            model = self._model(conn, name)[0]
            version = conn.execute(
                "SELECT next_version FROM registered_models WHERE id = ?", (model,)
            ).fetchone()[0]
            now = now_ms()
            conn.execute(
                "INSERT INTO model_versions (model, version, source, run_id, description, "
                "creation_time, last_update_time, user_id, stage) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'None')",
                (model, version, source, run_id, description or "", now, now, user),
            )
            conn.execute(
                "UPDATE registered_models SET next_version = ? WHERE id = ?", (version + 1, model)
            )
            conn.executemany(
                "INSERT INTO model_version_tags (model, version, key, value) VALUES (?, ?, ?, ?)",
                [(model, version, k, v) for k, v in clean.items()],
            )
            self._touch(conn, model, now)
        return self.get_model_version(name, version)

    def _source_of(
        self, source: str, run_id: str | None, model_id: str | None
    ) -> tuple[str, str | None]:
        """The run a version registered from `source` comes from, and, for a `models:/`
        source, where its files are (kept, as MLflow keeps a version's storage location,
        so that the version still downloads when what its source named has moved on)."""
        logged_id = logged_model_id_of(source)
        if logged_id is not None or model_id is not None:
            logged = self.store.get_logged_model(logged_id or str(model_id))
            run_id = run_id or run_id_of(source) or logged.source_run_id
            if run_id is None:
                raise ValidationError(
                    f"logged model {logged.model_id} was not logged from a run: give run_id "
                    "(a version's source run must be in this store: a policy reads it)"
                )
            return run_id, logged.artifact_location if logged_id is not None else None
        if is_registered_model_uri(source):
            named = self.resolve(source)
            return run_id or named.run_id, self.download_uri(named.name, named.version)
        run_id = run_id or run_id_of(source) or self._run_of_folder(source)
        if run_id is None:
            raise ValidationError(
                f"cannot tell the source run of {source!r}: give run_id, or a source of the "
                "form runs:/<run_id>/<path> or models:/<model_id>"
            )
        return run_id, None

    def _run_of_folder(self, source: str) -> str | None:
        """The run whose files hold `source` (a path or `file:` URI inside this store: a
        run's artifacts, or a logged model's files), else None."""
        text = unquote(urlsplit(source).path) if source.startswith("file:") else source
        if not os.path.isabs(text):
            return None
        try:
            parts = Path(os.path.normpath(text)).relative_to(self.store.path).parts
        except ValueError:
            return None
        if len(parts) >= 2 and parts[0] == ARTIFACTS_DIR:
            return parts[1]
        if len(parts) >= 3 and parts[0] == MODELS_DIR and parts[2] == "artifacts":
            return self.store.get_logged_model(parts[1]).source_run_id
        return None

    def download_uri(self, name: str, version: object) -> str:
        """Where the version's files are: for a `runs:/<run_id>/path` source, that path
        among the run's artifacts; for a `models:/` source, the files it named when
        registered; else the source as registered."""
        found = self.get_model_version(name, version)
        conn = self.db.connection()
        model = self._model(conn, name)[0]
        kept = conn.execute(
            "SELECT value FROM model_version_tags WHERE model = ? AND version = ? AND key = ?",
            (model, found.version, STORAGE_TAG),
        ).fetchone()
        if kept is not None:
            return str(kept[0])
        run_id = run_id_of(found.source)
        if run_id is None:
            return found.source
        root = self.store.get_run(run_id).info.artifact_uri.rstrip("/")
        path = found.source.split("/", 2)[2] if found.source.count("/") >= 2 else ""
        return f"{root}/{path}" if path else root

    def get_model_version(self, name: str, version: object) -> ModelVersion:
        conn = self.db.connection()
        model = self._model(conn, name)[0]
        found = self._versions(
            conn, "v.model = ? AND v.version = ?", (model, version_number(version))
        )
        if not found:
            raise NotFoundError(f"model {name!r} has no version {version_number(version)}")
        return found[0]

    def _versions(self, conn: sqlite3.Connection, where: str, args: tuple) -> list[ModelVersion]:
        rows = conn.execute(
            "SELECT m.name, v.model, v.version, v.source, v.run_id, v.description, "
            "v.creation_time, v.last_update_time, v.user_id, v.stage FROM model_versions AS v "
            f"JOIN registered_models AS m ON m.id = v.model WHERE {where} "
            "ORDER BY m.name, v.version DESC",
            args,
        ).fetchall()
        out = []
        for name, model, version, source, run_id, desc, created, updated, user, stage in rows:
            tags = dict(
                conn.execute(
                    "SELECT key, value FROM model_version_tags WHERE model = ? AND version = ?",
                    (model, version),
                )
            )
            aliases = [
                a
                for (a,) in conn.execute(
                    "SELECT alias FROM model_aliases WHERE model = ? AND version = ? "
                    "ORDER BY alias",
                    (model, version),
                )
            ]
            run_link = tags.pop(RUN_LINK_TAG, None)
            tags.pop(STORAGE_TAG, None)
            out.append(
                ModelVersion(
                    name,
                    version,
                    created,
                    updated,
                    description=desc,
                    user_id=user,
                    current_stage=stage,
                    source=source,
                    run_id=run_id,
                    tags=tags,
                    run_link=run_link,
                    aliases=aliases,
                )
            )
        return out

    def search_model_versions(
        self, name: str | None = None, run_id: str | None = None, stage: str | None = None
    ) -> list[ModelVersion]:
        clauses, args = ["1"], []
        if name is not None:
            clauses.append("m.name = ?")
            args.append(name)
        if run_id is not None:
            clauses.append("v.run_id = ?")
            args.append(run_id)
        if stage is not None:
            clauses.append("v.stage = ?")
            args.append(canonical_stage(stage))
        conn = self.db.connection()
        return self._versions(conn, " AND ".join(clauses), tuple(args))

    def set_model_version_tag(self, name: str, version: object, key: str, value: object) -> None:
        clean = keys.clean_tags({key: value}, keys.MAX_TAG_VALUE_LENGTH)
        with self.db.write() as conn:
            model = self._model(conn, name)[0]
            number = self._version_row(conn, model, name, version)[0]
            conn.executemany(
                "INSERT INTO model_version_tags (model, version, key, value) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (model, version, key) DO UPDATE SET value = excluded.value",
                [(model, number, k, v) for k, v in clean.items()],
            )
            self._touch(conn, model, now_ms())

    def delete_model_version(self, name: str, version: object, *, user: str | None = None) -> None:
        """Delete a version (its number is never reused) and its aliases, logging them and
        the stage it was in."""
        user = user or current_user()
        with self.db.write() as conn:
            model, model_name, _policy = self._model(conn, name)
            number, stage, _run = self._version_row(conn, model, name, version)
            now = now_ms()
            self._log_version_deleted(
                conn, model, model_name, number, stage, user, now, with_model=False
            )
            conn.execute(
                "DELETE FROM model_aliases WHERE model = ? AND version = ?", (model, number)
            )
            conn.execute(
                "DELETE FROM model_version_tags WHERE model = ? AND version = ?", (model, number)
            )
            conn.execute(
                "DELETE FROM model_versions WHERE model = ? AND version = ?", (model, number)
            )
            self._touch(conn, model, now)

    def update_model_version(self, name: str, version: object, description: str) -> None:
        with self.db.write() as conn:
            model = self._model(conn, name)[0]
            number = self._version_row(conn, model, name, version)[0]
            now = now_ms()
            conn.execute(
                "UPDATE model_versions SET description = ?, last_update_time = ? "
                "WHERE model = ? AND version = ?",
                (description or "", now, model, number),
            )
            self._touch(conn, model, now)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a model's tag; a key it does not carry is not an error (as in MLflow)."""
        keys.validate_key(key, "tag key")
        with self.db.write() as conn:
            model = self._model(conn, name)[0]
            conn.execute(
                "DELETE FROM registered_model_tags WHERE model = ? AND key = ?", (model, key)
            )
            self._touch(conn, model, now_ms())

    def delete_model_version_tag(self, name: str, version: object, key: str) -> None:
        """Remove a version's tag; a key it does not carry is not an error (as in MLflow)."""
        keys.validate_key(key, "tag key")
        with self.db.write() as conn:
            model = self._model(conn, name)[0]
            number = self._version_row(conn, model, name, version)[0]
            conn.execute(
                "DELETE FROM model_version_tags WHERE model = ? AND version = ? AND key = ?",
                (model, number, key),
            )
            self._touch(conn, model, now_ms())

    # -- searches as MLflow's ------------------------------------------------------------

    def _page(
        self,
        what: str,
        query: RegistryQuery,
        select: str,
        max_results: int,
        limit: int,
        page_token: str | None,
        filter_string: str | None,
        order_by: object,
    ) -> tuple[list[tuple], str | None]:
        if isinstance(max_results, bool) or not isinstance(max_results, int):
            raise ValidationError(f"max_results must be an integer, not {max_results!r}")
        if not 1 <= max_results <= limit:
            raise ValidationError(f"max_results must be between 1 and {limit}, not {max_results}")
        mark = paging.fingerprint(what, filter_string or "", order_by)
        offset = 0
        if page_token:
            offset = paging.decode_token(page_token, mark, 1)[0]
            if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
                raise PageTokenError("invalid page token: it is damaged")
        rows = (
            self.db.connection()
            .execute(
                f"{select} WHERE {query.where} ORDER BY {query.order} LIMIT ? OFFSET ?",
                (*query.params, max_results + 1, offset),
            )
            .fetchall()
        )
        token = None
        if len(rows) > max_results:
            token = paging.encode_token([offset + max_results], mark)
        return rows[:max_results], token

    def search_models(
        self,
        filter_string: str | None = None,
        max_results: int = MODEL_SEARCH_DEFAULT_MAX_RESULTS,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> paging.PagedList:
        """Registered models as MLflow's `search_registered_models` finds them: a filter
        over `name` and `tags.<key>`, ordered by name unless `order_by` says otherwise."""
        query = compile_model_search(filter_string, order_by)
        rows, token = self._page(
            "models",
            query,
            f"SELECT {_MODEL_COLUMNS} FROM registered_models AS m",
            max_results,
            MODEL_SEARCH_MAX_RESULTS,
            page_token,
            filter_string,
            order_by,
        )
        conn = self.db.connection()
        return paging.PagedList([self._model_entity(conn, row) for row in rows], token)

    def search_versions(
        self,
        filter_string: str | None = None,
        max_results: int = VERSION_SEARCH_DEFAULT_MAX_RESULTS,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> paging.PagedList:
        """Model versions as MLflow's `search_model_versions` finds them: a filter over
        `name`, `version_number`, `run_id`, `source_path` and `tags.<key>`, the last
        updated first unless `order_by` says otherwise."""
        query = compile_version_search(filter_string, order_by)
        rows, token = self._page(
            "versions",
            query,
            "SELECT v.model, v.version FROM model_versions AS v "
            "JOIN registered_models AS m ON m.id = v.model",
            max_results,
            VERSION_SEARCH_MAX_RESULTS,
            page_token,
            filter_string,
            order_by,
        )
        conn = self.db.connection()
        found = []
        for model, version in rows:
            found += self._versions(conn, "v.model = ? AND v.version = ?", (model, version))
        return paging.PagedList(found, token)

    # -- stages --------------------------------------------------------------------------

    def _plan(
        self,
        conn: sqlite3.Connection,
        name: str,
        version: object,
        stage: object,
        archive_existing: bool | None,
        *,
        rollback: bool = False,
    ) -> TransitionPlan:
        to_stage = canonical_stage(stage)
        model, model_name, policy_text = self._model(conn, name)
        number, from_stage, run_id = self._version_row(conn, model, name, version)

        def in_stage(stage: str) -> list[int]:
            return [
                v
                for (v,) in conn.execute(
                    "SELECT version FROM model_versions WHERE model = ? AND stage = ?",
                    (model, stage),
                )
            ]

        return plan_move(
            name=model_name,
            version=number,
            from_stage=from_stage,
            to_stage=to_stage,
            archive_existing=archive_existing,
            in_stage=in_stage,
            policy_text=policy_text,
            source_run=lambda: self.store.get_run(run_id),
            rollback=rollback,
        )

    def plan_transition(
        self, name: str, version: object, stage: object, archive_existing: bool | None = None
    ) -> TransitionPlan:
        """What `transition` would do, including the policy check; changes nothing."""
        sync_all()  # the policy reads the run: with every point this process logged
        return self._plan(self.db.connection(), name, version, stage, archive_existing)

    def transition(
        self,
        name: str,
        version: object,
        stage: object,
        comment: str = "",
        *,
        archive_existing: bool | None = None,
        force: bool = False,
        user: str | None = None,
        expected: TransitionPlan | None = None,
    ) -> TransitionPlan:
        """Move a version to a stage, atomically, and log it. A move to Production needs a
        comment (CommentRequiredError). Entering Production under a policy the source run
        fails raises PolicyError, unless `force` (which needs a comment too and is logged as
        forced). archive_existing defaults to on for Production. `expected`: the plan a user
        confirmed; if the registry changed since, so that the move would now do something
        else, nothing is done (PlanChangedError, with the plan as it is now)."""
        return self._transition(
            name, version, stage, comment, archive_existing, force, user, expected=expected
        )

    def _transition(
        self,
        name: str,
        version: object | None,
        stage: object,
        comment: str,
        archive_existing: bool | None,
        force: bool,
        user: str | None,
        *,
        rollback: bool = False,
        expected: TransitionPlan | None = None,
    ) -> TransitionPlan:
        user = user or current_user()
        # The policy reads the source run inside the write: the points this process has
        # logged (a script promoting what it just trained) are committed first.
        sync_all()
        with self.db.write() as conn:
            if rollback:
                version = self._previous_production(conn, name)[1]
            plan = self._plan(conn, name, version, stage, archive_existing, rollback=rollback)
            comment = check_move(plan, comment, force=force, expected=expected)
            model = self._model(conn, name)[0]
            now = now_ms()
            for other in plan.archives:
                conn.execute(
                    "UPDATE model_versions SET stage = ?, last_update_time = ? "
                    "WHERE model = ? AND version = ?",
                    (ARCHIVED, now, model, other),
                )
            conn.execute(
                "UPDATE model_versions SET stage = ?, last_update_time = ? "
                "WHERE model = ? AND version = ?",
                (plan.to_stage, now, model, plan.version),
            )
            self._log(
                conn,
                model,
                plan.name,
                plan.version,
                "rollback" if rollback else "transition",
                user=user,
                now=now,
                from_stage=plan.from_stage,
                to_stage=plan.to_stage,
                comment=comment,
                archived=plan.archives,
                policy_result=plan.policy,
                forced=force and plan.blocked and not rollback,
            )
            self._touch(conn, model, now)
        return plan

    def _previous_production(self, conn: sqlite3.Connection, name: str) -> tuple[int, int]:
        """(current Production version, the version that was in Production before it)."""
        model, model_name, _policy = self._model(conn, name)
        current = conn.execute(
            "SELECT max(version) FROM model_versions WHERE model = ? AND stage = ?",
            (model, PRODUCTION),
        ).fetchone()[0]
        registered = {
            v
            for (v,) in conn.execute("SELECT version FROM model_versions WHERE model = ?", (model,))
        }
        entered = (
            v
            for (v,) in conn.execute(
                "SELECT version FROM model_transitions WHERE model = ? AND to_stage = ? "
                "ORDER BY id DESC",
                (model, PRODUCTION),
            )
        )
        return current, rollback_target(model_name, current, entered, registered)

    def plan_rollback(self, name: str) -> TransitionPlan:
        sync_all()
        conn = self.db.connection()
        _current, previous = self._previous_production(conn, name)
        return self._plan(conn, name, previous, PRODUCTION, True, rollback=True)

    def rollback(
        self,
        name: str,
        comment: str = "",
        *,
        user: str | None = None,
        expected: TransitionPlan | None = None,
    ) -> TransitionPlan:
        """Put back in Production the version that was there before the current one,
        archiving the current one; logged as a rollback. Like any move to Production it
        needs a comment (CommentRequiredError). The policy is checked and recorded, but does
        not block a rollback: it restores a version that was live. `expected`: as for
        `transition`."""
        return self._transition(
            name, None, PRODUCTION, comment, True, False, user, rollback=True, expected=expected
        )

    # -- aliases -------------------------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: object, *, user: str | None = None) -> None:
        validate_alias(alias)
        user = user or current_user()
        with self.db.write() as conn:
            model, model_name, _policy = self._model(conn, name)
            number = self._version_row(conn, model, name, version)[0]
            old = conn.execute(
                "SELECT version FROM model_aliases WHERE model = ? AND alias = ?", (model, alias)
            ).fetchone()
            if old is not None and old[0] == number:
                return
            conn.execute(
                "INSERT INTO model_aliases (model, alias, version) VALUES (?, ?, ?) "
                "ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version",
                (model, alias, number),
            )
            now = now_ms()
            self._log(
                conn,
                model,
                model_name,
                number,
                "alias_set",
                user=user,
                now=now,
                alias=alias,
                from_version=None if old is None else old[0],
            )
            self._touch(conn, model, now)

    def delete_alias(self, name: str, alias: str, *, user: str | None = None) -> None:
        user = user or current_user()
        with self.db.write() as conn:
            model, model_name, _policy = self._model(conn, name)
            old = conn.execute(
                "SELECT version FROM model_aliases WHERE model = ? AND alias = ?", (model, alias)
            ).fetchone()
            if old is None:
                raise NotFoundError(f"model {model_name!r} has no alias {alias!r}")
            conn.execute("DELETE FROM model_aliases WHERE model = ? AND alias = ?", (model, alias))
            now = now_ms()
            self._log(
                conn,
                model,
                model_name,
                old[0],
                "alias_delete",
                user=user,
                now=now,
                alias=alias,
                from_version=old[0],
            )
            self._touch(conn, model, now)

    def get_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        conn = self.db.connection()
        model, model_name, _policy = self._model(conn, name)
        row = conn.execute(
            "SELECT version FROM model_aliases WHERE model = ? AND alias = ?", (model, alias)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"model {model_name!r} has no alias {alias!r}")
        return self.get_model_version(name, row[0])

    # -- reading -------------------------------------------------------------------------

    def history(self, name: str, version: object | None = None) -> list[TransitionRecord]:
        """The log of the model called `name`, oldest first (optionally one version's),
        with what was done under its former names. When no model is called `name` now:
        the log of the last one that was (deleted, or renamed since); `model_logs` has
        each of them."""
        with self.db.snapshot() as conn:
            row = conn.execute(
                "SELECT id FROM registered_models WHERE name = ?", (name,)
            ).fetchone()
            if row is not None:
                model = row[0]
            else:
                former = self._once_named(conn, name)
                if not former:
                    raise NotFoundError(f"no registered model named {name!r}")
                model = former[-1]
            return self._records(conn, model, version)

    def model_logs(self, name: str) -> list[ModelLog]:
        """The log of every model that has been called `name`, each apart: those deleted or
        renamed since, in the order their logs ended, then the model called `name` now
        (NotFoundError when there is none of either)."""
        with self.db.snapshot() as conn:
            row = conn.execute(
                "SELECT id FROM registered_models WHERE name = ?", (name,)
            ).fetchone()
            models = self._once_named(conn, name) + ([] if row is None else [row[0]])
            if not models:
                raise NotFoundError(f"no registered model named {name!r}")
            logs = []
            for model in models:
                records = self._records(conn, model, None)
                now = conn.execute(
                    "SELECT name FROM registered_models WHERE id = ?", (model,)
                ).fetchone()
                deleted = now is None
                logs.append(
                    ModelLog(records[-1].name if deleted else now[0], deleted, tuple(records))
                )
            return logs

    def _once_named(self, conn: sqlite3.Connection, name: str) -> list[int]:
        """The models, other than the one called `name` now, that were once called so,
        by the end of their logs."""
        return [
            model
            for model, _last in conn.execute(
                "SELECT t.model, max(t.id) AS last FROM model_transitions AS t "
                "WHERE t.model_name = ? AND NOT EXISTS (SELECT 1 FROM registered_models AS m "
                "WHERE m.id = t.model AND m.name = ?) GROUP BY t.model ORDER BY last",
                (name, name),
            )
        ]

    def _records(
        self, conn: sqlite3.Connection, model: int, version: object | None
    ) -> list[TransitionRecord]:
        sql = (
            "SELECT id, model_name, version, kind, from_stage, to_stage, alias, from_version,"
            " user_id, time, comment, archived, policy, forced FROM model_transitions "
            "WHERE model = ?"
        )
        args: list[object] = [model]
        if version is not None:
            sql += " AND version = ?"
            args.append(version_number(version))
        return [
            TransitionRecord(
                i,
                n,
                v,
                k,
                fs,
                ts,
                a,
                fv,
                u,
                t,
                c,
                tuple(json.loads(ar)),
                None if p is None else json.loads(p),
                bool(f),
            )
            for i, n, v, k, fs, ts, a, fv, u, t, c, ar, p, f in conn.execute(
                sql + " ORDER BY id", args
            )
        ]

    def resolve(self, uri: str) -> ModelVersion:
        """`models:/NAME/VERSION`, `models:/NAME/STAGE`, `models:/NAME/latest`,
        `models:/NAME@ALIAS` to a model version."""
        found = parse_model_uri(uri)
        name = found.name
        conn = self.db.connection()
        model = self._model(conn, name)[0]
        if found.alias is not None:
            row = conn.execute(
                "SELECT version FROM model_aliases WHERE model = ? AND alias = ?",
                (model, found.alias),
            ).fetchone()
            if row is None:
                raise NotFoundError(f"model {name!r} has no alias {found.alias!r}")
            return self.get_model_version(name, row[0])
        if found.version is not None:
            return self.get_model_version(name, found.version)
        if found.latest:
            row = conn.execute(
                "SELECT max(version) FROM model_versions WHERE model = ?", (model,)
            ).fetchone()
            if row[0] is None:
                raise NotFoundError(f"model {name!r} has no versions")
            return self.get_model_version(name, row[0])
        stage = canonical_stage(found.stage)
        row = conn.execute(
            "SELECT max(version) FROM model_versions WHERE model = ? AND stage = ?",
            (model, stage),
        ).fetchone()
        if row[0] is None:
            raise NotFoundError(f"model {name!r} has no version in {stage}")
        return self.get_model_version(name, row[0])
