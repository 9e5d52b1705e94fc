"""`ModelRegistry` over a tracking server: MLflow's `registered-models/*` and
`model-versions/*` endpoints, with mltop's rules (`store/registry.py`: plans, comments,
the policy gate, rollback) applied on the client, and mltop's audit trail kept on the
server as tags, so that every mltop user of the server reads the same history.

The trail. MLflow keeps no transition history, so every change mltop makes that the
SQLite backend logs (a stage move, a rollback, an alias set or removed, a rename, a
version deleted) is also written as a tag: `mltop.transition.<13-digit ms>.<8 hex>` whose
value is one JSON record (kind, name, version, from, to, alias, from_version, user, time,
comment, archived, policy, forced). A record about a version is a tag of that version; one
about the model (a rename, a version deleted) a tag of the registered model. The
registered model's tags are `String(5000)` on MLflow's SQL stores (a version's were too,
before MLflow 2.x made them text), so a record longer than `TAG_VALUE_LIMIT` characters
is split: its JSON text in pieces, `<key>.1`, `<key>.2`, ... written first and `<key>`
(the first piece) last; a reader joins them. Nothing is truncated.

A stage move's record carries the server's time of the move; an alias change's or a
rename's the client's clock (the server answers those with no time).

The order: the change first, its record after. A record is written only once the server
has made the change, with what the server did (a move's time is the server's, and the
versions it archived are read back: those it stamped with the same time), so the trail
never claims a move that did not happen. A crash (or a failed call) between the two leaves
a change without a record; `history()` reconciles the records with the versions' stages
and reports every difference as a move "outside mltop" (`OUTSIDE_COMMENT`, no user): the
same record a move made by MLflow's own client or UI gets. A record that cannot be written
after the change was made raises `TrailWriteError`, saying the change was made.

What the server cannot keep: deleting a registered model deletes its tags, so a deleted
model's trail is gone (`history` of it: NotFoundError); a version deleted by mltop has its
records copied to the model's tags first (then the deletion, then its record), but one
deleted by MLflow's own client takes its records with it. A renamed model carries a tag
per name it had (`mltop.former_name.<hash>`), so its trail is found under those too.

Two movers at once. The server's archive_existing_versions archives what its transaction
sees in the stage; two moves into Production at the same instant can each miss the other
and leave both there (seen with MLflow 3.17 on SQLite). So after a move that archives,
mltop looks again (`_settle`): of the versions in the stage, the one moved in last (by the
server's time, then the higher number) stays; the mover archives older ones (in its
record's `archived`) or, if it lost, its own version (a record of its own, saying why).
Both moves are in the trail. A plan (`expected=`) is checked against the server's state
just before the move, not atomically with it. Two clients making the same move at once
leave two records of it; the history takes the second for what it is (when it comes
within SAME_MOVE_MS of the first), not for a move made outside mltop in between; a
record of the same move coming later means the version was moved back outside mltop,
and that move is shown.

The policy is the registered model's tag `mltop.policy`. Searches take mltop's filter
grammar: the server's is AND only, so an OR (with parentheses) runs as one server search
per alternative (single `name =` / `run_id =` alternatives gathered into one IN list),
merged, ordered and paged here; more than MAX_ALTERNATIVES alternatives, and values no
quoting of MLflow's can carry (both quote characters, a trailing backslash), are refused
with a FilterError saying so. A search's answer has no aliases: each model found is read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from mltop.store import keys
from mltop.store.buffered import sync_all  # every buffered writer of the process
from mltop.store.entities import (
    STAGES,
    ModelVersion,
    RegisteredModel,
    Run,
    TransitionRecord,
    now_ms,
)
from mltop.store.errors import (
    AlreadyExistsError,
    FilterError,
    MltopError,
    NotFoundError,
    PageTokenError,
    StoreError,
    StoreReadOnlyError,
    ValidationError,
)
from mltop.store.query import paging, policy
from mltop.store.query.parser import (
    BoolOp,
    Comparison,
    InList,
    Node,
    NullCheck,
    parse_filter,
    parse_order_by,
)
from mltop.store.query.registry_search import (
    MODEL_SEARCH_DEFAULT_MAX_RESULTS,
    MODEL_SEARCH_MAX_RESULTS,
    VERSION_DEFAULT_ORDER,
    VERSION_SEARCH_DEFAULT_MAX_RESULTS,
    VERSION_SEARCH_MAX_RESULTS,
    compile_model_search,
    compile_version_search,
)
from mltop.store.registry import (
    ARCHIVED,
    DELETE_VERSION,
    MODEL_ROW,
    PRODUCTION,
    RENAME,
    STAGING,
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
from mltop.store.server import convert
from mltop.store.server.rest import RestClient
from mltop.store.system import current_user

TRAIL_PREFIX = "mltop.transition."
POLICY_TAG = "mltop.policy"
FORMER_NAME_PREFIX = "mltop.former_name."
TAG_VALUE_LIMIT = 5000  # MLflow's SQL stores: registered_model_tags.value is String(5000)
OUTSIDE_COMMENT = "moved outside mltop: the server holds no mltop record of this change"
# Two records of the same move this close together are two clients' moves made at once.
SAME_MOVE_MS = 10_000
_TRAIL_KEY = re.compile(r"^mltop\.transition\.(\d{13})\.([0-9a-f]{8})$")
_TRAIL_PIECE = re.compile(r"^(mltop\.transition\.\d{13}\.[0-9a-f]{8})\.(\d+)$")
_PAGE = 1000  # versions read per call when listing a model's


class TrailWriteError(StoreError):
    """The change was made on the server, but its record in mltop's trail could not be
    written; the history shows the change as made outside mltop. `plan`: the move made."""

    def __init__(self, message: str, plan: TransitionPlan | None = None) -> None:
        super().__init__(message)
        self.plan = plan


def former_name_tag(name: str) -> str:
    """The key of the tag a renamed model carries for each name it had (searchable: the
    trail of a model is found under a name it had)."""
    return FORMER_NAME_PREFIX + hashlib.sha256(name.encode()).hexdigest()[:16]


def is_mltop_tag(key: str) -> bool:
    """Whether a tag is mltop's bookkeeping (the trail, the policy, former names), hidden
    from tags."""
    return key.startswith((TRAIL_PREFIX, FORMER_NAME_PREFIX)) or key == POLICY_TAG


def _reserved(key: str) -> None:
    if is_mltop_tag(key):
        raise ValidationError(
            f"tag {key!r} is mltop's own (its audit trail or policy): set the policy with "
            "set_policy; the trail is written by the moves themselves"
        )


# -- MLflow's JSON -> mltop's entities ----------------------------------------------------


def _tags(items: object) -> dict[str, str]:
    if not isinstance(items, list):
        return {}
    return {str(t["key"]): str(t.get("value") or "") for t in items if isinstance(t, dict)}


def _int(value: object, default: int = 0) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return default


def version_entity(data: Mapping[str, Any], aliases: list[str] | None = None) -> ModelVersion:
    tags = _tags(data.get("tags"))
    created = _int(data.get("creation_timestamp"))
    return ModelVersion(
        str(data.get("name", "")),
        _int(data.get("version")),
        created,
        _int(data.get("last_updated_timestamp"), created),
        description=str(data.get("description") or ""),
        user_id=str(data.get("user_id") or ""),
        current_stage=str(data.get("current_stage") or "None"),
        source=str(data.get("source") or ""),
        run_id=str(data.get("run_id") or ""),
        status=str(data.get("status") or "READY"),
        status_message=data.get("status_message") or None,
        tags={k: v for k, v in tags.items() if not is_mltop_tag(k)},
        run_link=data.get("run_link") or None,
        aliases=sorted(aliases if aliases is not None else data.get("aliases") or []),
    )


def model_entity(data: Mapping[str, Any]) -> RegisteredModel:
    tags = _tags(data.get("tags"))
    aliases = {
        str(a["alias"]): _int(a.get("version"))
        for a in data.get("aliases") or []
        if isinstance(a, dict)
    }
    by_version: dict[int, list[str]] = {}
    for alias, number in aliases.items():
        by_version.setdefault(number, []).append(alias)
    latest = [
        version_entity(v, by_version.get(_int(v.get("version")), []))
        for v in data.get("latest_versions") or []
    ]
    latest.sort(key=lambda v: STAGES.index(v.current_stage) if v.current_stage in STAGES else 9)
    created = _int(data.get("creation_timestamp"))
    return RegisteredModel(
        str(data.get("name", "")),
        created,
        _int(data.get("last_updated_timestamp"), created),
        str(data.get("description") or ""),
        latest,
        {k: v for k, v in tags.items() if not is_mltop_tag(k)},
        dict(sorted(aliases.items())),
        tags.get(POLICY_TAG) or None,
    )


# -- the trail's records ------------------------------------------------------------------


def record_pieces(key: str, record: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The tags holding `record`: (key, value) pairs, continuation pieces first and the
    record's own key last; each value at most TAG_VALUE_LIMIT characters."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    parts = [text[i : i + TAG_VALUE_LIMIT] for i in range(0, len(text), TAG_VALUE_LIMIT)]
    return [(f"{key}.{i}", part) for i, part in enumerate(parts) if i] + [(key, parts[0])]


def read_records(tags: Mapping[str, str]) -> dict[str, dict[str, Any] | None]:
    """The trail's records among `tags`, by key (None: a record that cannot be read)."""
    pieces: dict[str, dict[int, str]] = {}
    for key, value in tags.items():
        piece = _TRAIL_PIECE.match(key)
        if piece:
            pieces.setdefault(piece.group(1), {})[int(piece.group(2))] = value
    found: dict[str, dict[str, Any] | None] = {}
    for key, value in tags.items():
        if not _TRAIL_KEY.match(key):
            continue
        more = pieces.get(key, {})
        if sorted(more) != list(range(1, len(more) + 1)):  # a piece is missing
            found[key] = None
            continue
        text = value + "".join(more[i] for i in sorted(more))
        try:
            record = json.loads(text)
        except ValueError:
            found[key] = None
            continue
        found[key] = record if isinstance(record, dict) else None
    return found


def _as_record(key: str, data: dict[str, Any] | None, model: str) -> TransitionRecord:
    match = _TRAIL_KEY.match(key)
    stamp = int(match.group(1)) if match else 0
    if data is None:
        note = f"mltop's record {key} cannot be read (damaged or incomplete)"
        return _row(model, MODEL_ROW, "unreadable", None, None, stamp, note)
    archived = data.get("archived") or []
    return TransitionRecord(
        0,
        str(data.get("name") or model),
        _int(data.get("version")),
        str(data.get("kind") or "transition"),
        data.get("from"),
        data.get("to"),
        data.get("alias"),
        None if data.get("from_version") is None else _int(data.get("from_version")),
        str(data.get("user") or ""),
        _int(data.get("time"), stamp),
        str(data.get("comment") or ""),
        tuple(_int(v) for v in archived if isinstance(v, int | str)),
        data.get("policy") if isinstance(data.get("policy"), dict) else None,
        bool(data.get("forced")),
    )


def _outside(
    name: str, version: int, from_stage: str, to_stage: str, time: int
) -> TransitionRecord:
    return _row(name, version, "transition", from_stage, to_stage, time, OUTSIDE_COMMENT)


def _row(
    name: str,
    version: int,
    kind: str,
    from_stage: str | None,
    to_stage: str | None,
    time: int,
    comment: str,
) -> TransitionRecord:
    """A row of the history that no mltop record holds (no user: it is not known)."""
    return TransitionRecord(
        0, name, version, kind, from_stage, to_stage, None, None, "", time, comment, (), None, False
    )


def reconcile(
    name: str, records: list[TransitionRecord], versions: list[ModelVersion]
) -> list[TransitionRecord]:
    """`records` (oldest first) with every stage change they do not account for added as
    a move outside mltop: before a record whose version was not where the trail left it,
    and at the end for a version not in the stage the trail last put it in (or gone
    without a record of its deletion)."""
    known: dict[int, str] = {}
    moved_at: dict[int, int] = {}  # version -> when the trail last moved it
    out: list[TransitionRecord] = []
    for record in records:
        if record.kind in ("transition", "rollback") and record.version != MODEL_ROW:
            was = known.get(record.version, "None")
            # A record moving a version to where the trail has it already, within moments
            # of the move that put it there, is another client's move made at the same
            # time: nothing happened in between. Later, it was moved away outside mltop.
            same_move = (
                was == record.to_stage
                and record.time - moved_at.get(record.version, record.time) <= SAME_MOVE_MS
            )
            if record.from_stage and was != record.from_stage and not same_move:
                out.append(_outside(name, record.version, was, record.from_stage, record.time))
            moved_at[record.version] = record.time
            for other in record.archived:  # archived from the stage entered (or already)
                was = known.get(other, "None")
                if was not in (record.to_stage, ARCHIVED):
                    out.append(_outside(name, other, was, str(record.to_stage), record.time))
                known[other] = ARCHIVED
            known[record.version] = str(record.to_stage)
        elif record.kind == DELETE_VERSION:
            known.pop(record.version, None)
        out.append(record)
    now = {v.version: v for v in versions}
    for version in sorted(now):
        found = now[version]
        was = known.get(version, "None")
        if found.current_stage != was:
            out.append(
                _outside(name, version, was, found.current_stage, found.last_updated_timestamp)
            )
    last = max([r.time for r in out], default=0)
    for version in sorted(v for v in known if v > 0 and v not in now):
        out.append(_row(name, version, DELETE_VERSION, known[version], None, last, OUTSIDE_COMMENT))
    return out


# -- filters in the server's grammar ------------------------------------------------------


def quote(value: str, text: str = "", pos: int = 0) -> str:
    """`value` as a string literal MLflow's filter parser reads back exactly."""
    if "'" not in value and not value.endswith("\\"):
        return f"'{value}'"
    if '"' not in value and not value.endswith("\\"):
        return f'"{value}"'
    raise FilterError(
        f"the tracking server's filter cannot carry the value {value!r} (it holds both "
        "quote characters, or ends with a backslash)",
        text,
        pos,
    )


MAX_ALTERNATIVES = 200  # server queries one search may become (an OR of ANDs)
_LISTABLE = ("name", "run_id")  # attributes MLflow takes IN lists for


def _conjunctions(node: Node, text: str) -> list[list[Node]]:
    """`node` as an OR of ANDs of comparisons (each inner list one AND)."""
    if not isinstance(node, BoolOp):
        return [[node]]
    parts = [_conjunctions(item, text) for item in node.items]
    if node.op == "OR":
        found = [c for part in parts for c in part]
    else:
        found = [[]]
        for part in parts:
            found = [a + b for a in found for b in part]
            if len(found) > MAX_ALTERNATIVES:
                break
    if len(found) > MAX_ALTERNATIVES:
        raise FilterError(
            f"the tracking server's registry search takes AND only: mltop runs an OR as "
            f"one search per alternative, and this filter has more than {MAX_ALTERNATIVES}",
            text,
            0,
        )
    return found


def _comparison_text(node: Node, text: str) -> str:
    if isinstance(node, NullCheck):  # refused by the registry compiler before
        raise FilterError("IS NULL is not a test of the registry", text, node.op_pos)
    assert isinstance(node, Comparison | InList)
    ident = node.ident
    if ident.entity is not None and ident.entity.lower() in ("tag", "tags"):
        if "`" in ident.key:
            raise FilterError(
                "the tracking server cannot search a tag key holding '`'", text, ident.pos
            )
        left = f"tags.`{ident.key}`"
    else:
        left = ident.key
    if isinstance(node, InList):
        values = ", ".join(quote(str(v), text, node.value_pos) for v in node.values)
        return f"{left} {'NOT IN' if node.negated else 'IN'} ({values})"
    value = node.value
    literal = quote(value, text, node.value_pos) if isinstance(value, str) else str(int(value))
    return f"{left} {node.op} {literal}"


def server_filters(filter_string: str | None) -> list[str]:
    """mltop's (already checked) registry filter as the server's: one filter text per
    alternative of its OR (the server's grammar is AND only); single `name =` or
    `run_id =` alternatives are gathered into one IN list. `[""]`: no filter."""
    node = parse_filter(filter_string)
    if node is None:
        return [""]
    text = filter_string or ""
    alternatives: list[str] = []
    listed: dict[str, list[str]] = {}
    for conjunction in _conjunctions(node, text):
        only = conjunction[0] if len(conjunction) == 1 else None
        if (
            isinstance(only, Comparison)
            and only.op == "="
            and isinstance(only.value, str)
            and only.ident.entity in (None, "attribute", "attributes")
            and only.ident.key in _LISTABLE
        ):
            listed.setdefault(only.ident.key, []).append(quote(only.value, text, only.value_pos))
            continue
        alternatives.append(" AND ".join(_comparison_text(n, text) for n in conjunction))
    for key, values in listed.items():
        unique = list(dict.fromkeys(values))
        alternatives.append(
            f"{key} IN ({', '.join(unique)})" if len(unique) > 1 else f"{key} = {unique[0]}"
        )
    return list(dict.fromkeys(alternatives))


def _sort_key(item: Mapping[str, Any], key: str) -> Any:
    if key == "name":
        return str(item.get("name", ""))
    if key == "version_number":
        return _int(item.get("version"))
    if key in ("timestamp", "last_updated_timestamp"):
        return _int(item.get("last_updated_timestamp"))
    return _int(item.get("creation_timestamp"))


def sort_like_server(
    items: list[dict[str, Any]], order_by: list[str] | None, default: Sequence[str]
) -> list[dict[str, Any]]:
    """Merged results in the order a search's `order_by` (else `default`) gives, ties
    broken by name, then the newest version."""
    keys = [(k.ident.key, k.descending) for k in parse_order_by(list(order_by or default))]
    keys += [("name", False), ("version_number", True)]
    ordered = list(items)
    for key, descending in reversed(keys):
        ordered.sort(key=lambda item: _sort_key(item, key), reverse=descending)
    return ordered


def _order_list(order_by: list[str] | str | None) -> list[str]:
    return [order_by] if isinstance(order_by, str) else list(order_by or [])


# -- the registry -------------------------------------------------------------------------


class ServerRegistry:
    """The registry of the tracking server `rest` speaks to."""

    def __init__(self, rest: RestClient, *, read_only: bool = False) -> None:
        self.rest = rest
        self.read_only = read_only
        self._pool: ThreadPoolExecutor | None = None

    def _writable(self) -> None:
        if self.read_only:
            raise StoreReadOnlyError(
                f"the tracking server {self.rest.url} was opened read-only: its registry "
                "cannot be changed"
            )

    # -- reading the server --------------------------------------------------------------

    def _model_json(self, name: str) -> dict[str, Any]:
        if not isinstance(name, str) or not name:
            raise NotFoundError(f"no registered model named {name!r}")
        try:
            answer = self.rest.call("GET", "registered-models/get", {"name": name})
        except NotFoundError:
            raise NotFoundError(f"no registered model named {name!r}") from None
        return dict(answer.get("registered_model") or {})

    def _version_json(self, name: str, version: object) -> dict[str, Any]:
        number = version_number(version)
        try:
            answer = self.rest.call(
                "GET", "model-versions/get", {"name": name, "version": str(number)}
            )
        except NotFoundError:
            self._model_json(name)  # an unknown model is said first
            raise NotFoundError(f"model {name!r} has no version {number}") from None
        return dict(answer.get("model_version") or {})

    def _versions_json(self, name: str) -> list[dict[str, Any]]:
        """Every version of the model called `name` (tags included; not aliases)."""
        if "'" in name or "\\" in name or '"' in name:
            # MLflow's filter cannot quote this name: a LIKE with those characters as '_'
            # (one character), then only exact matches kept.
            like = re.sub(r"['\"\\]", "_", name)
            text = f"name LIKE '{like}'"
        else:
            text = f"name = '{name}'"
        found: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            body: dict[str, Any] = {"filter": text, "max_results": _PAGE}
            if token:
                body["page_token"] = token
            answer = self.rest.call("GET", "model-versions/search", body)
            found += [v for v in answer.get("model_versions") or [] if v.get("name") == name]
            token = answer.get("next_page_token") or None
            if not token:
                return found

    def _source_run(self, run_id: str) -> Run:
        answer = self.rest.call("GET", "runs/get", {"run_id": run_id})
        return convert.run_from_json(answer.get("run"))

    # -- registered models ---------------------------------------------------------------

    def create_registered_model(
        self, name: str, description: str = "", tags: Mapping[str, object] | None = None
    ) -> RegisteredModel:
        self._writable()
        validate_model_name(name)
        clean = keys.clean_tags(tags or {}, TAG_VALUE_LIMIT)
        for key in clean:
            _reserved(key)
        body: dict[str, Any] = {
            "name": name,
            "tags": [{"key": k, "value": v} for k, v in clean.items()],
        }
        if description:
            body["description"] = description
        try:
            answer = self.rest.call("POST", "registered-models/create", body)
        except AlreadyExistsError:
            raise AlreadyExistsError(f"registered model {name!r} already exists") from None
        return model_entity(answer.get("registered_model") or {})

    def get_registered_model(self, name: str) -> RegisteredModel:
        return model_entity(self._model_json(name))

    def _search_models_json(self, text: str) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            body: dict[str, Any] = {"max_results": MODEL_SEARCH_MAX_RESULTS}
            if text:
                body["filter"] = text
            if token:
                body["page_token"] = token
            answer = self.rest.call("GET", "registered-models/search", body)
            yield from answer.get("registered_models") or []
            token = answer.get("next_page_token") or None
            if not token:
                return

    def search_registered_models(
        self, name_like: str | None = None, tags: Mapping[str, str] | None = None
    ) -> list[RegisteredModel]:
        """Models whose name matches a LIKE pattern and that carry all the given tags, by
        name. (The server decides LIKE's case: MLflow's SQL stores fold it on SQLite and
        MySQL, as mltop's store does.)"""
        clauses = []
        if name_like:
            clauses.append(f"name LIKE {quote(name_like, name_like)}")
        for key, value in (tags or {}).items():
            if "`" in key:
                raise FilterError("the tracking server cannot search a tag key holding '`'", key, 0)
            clauses.append(f"tags.`{key}` = {quote(value, value)}")
        hits = list(self._search_models_json(" AND ".join(clauses)))
        whole = self._many(lambda m: self._model_json(str(m.get("name"))), hits)
        return sorted((model_entity(m) for m in whole if m), key=lambda m: m.name)

    def search_models(
        self,
        filter_string: str | None = None,
        max_results: int = MODEL_SEARCH_DEFAULT_MAX_RESULTS,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> paging.PagedList:
        """A page of models as the server's `search_registered_models` finds them (each
        read whole: a search's answer has no aliases). The filter is checked as mltop's
        first (FilterError); an OR runs as one server search per alternative, merged."""
        compile_model_search(filter_string, order_by)
        _check_max(max_results, MODEL_SEARCH_MAX_RESULTS)
        found, token = self._search(
            "registered-models/search",
            "registered_models",
            filter_string,
            max_results,
            order_by,
            page_token,
            MODEL_SEARCH_MAX_RESULTS,
            ("name ASC",),
        )
        whole = self._many(lambda m: self._model_json(str(m.get("name"))), found)
        return paging.PagedList([model_entity(m) for m in whole if m], token)

    def _many(self, read: Any, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`read(item)` of each item (NotFoundError: {}), in order, a few at a time."""

        def one(item: dict[str, Any]) -> dict[str, Any]:
            try:
                return dict(read(item))
            except NotFoundError:  # deleted since the search
                return {}

        if len(items) <= 1:
            return [one(item) for item in items]
        if self._pool is None:  # kept: its threads keep their connections to the server
            self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="mltop-registry")
        return list(self._pool.map(one, items))

    def _search(
        self,
        endpoint: str,
        field: str,
        filter_string: str | None,
        max_results: int,
        order_by: list[str] | None,
        page_token: str | None,
        limit: int,
        default_order: Sequence[str],
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of a registry search: the server's own page for a filter it can say;
        for an OR, every result of each alternative, merged, ordered and paged here."""
        filters = server_filters(filter_string)
        if len(filters) == 1:
            body: dict[str, Any] = {"max_results": max_results}
            if filters[0]:
                body["filter"] = filters[0]
            if order_by:
                body["order_by"] = _order_list(order_by)
            if page_token:
                body["page_token"] = page_token
            answer = self.rest.call("GET", endpoint, body)
            return list(answer.get(field) or []), answer.get("next_page_token") or None
        mark = paging.fingerprint("server-or", endpoint, filter_string, order_by)
        offset = 0
        if page_token:
            offset = paging.decode_token(page_token, mark, 1)[0]
            if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
                raise PageTokenError("invalid page token: it is damaged")
        merged: dict[tuple[str, int], dict[str, Any]] = {}
        for text in filters:
            token: str | None = None
            while True:
                body = {"filter": text, "max_results": limit}
                if token:
                    body["page_token"] = token
                answer = self.rest.call("GET", endpoint, body)
                for item in answer.get(field) or []:
                    merged[(str(item.get("name")), _int(item.get("version")))] = item
                token = answer.get("next_page_token") or None
                if not token:
                    break
        ordered = sort_like_server(list(merged.values()), order_by, default_order)
        end = offset + max_results
        more = paging.encode_token([end], mark) if len(ordered) > end else None
        return ordered[offset:end], more

    def rename_registered_model(self, name: str, new_name: str, *, user: str | None = None) -> None:
        """Rename the model, then record it (the record carries the old name)."""
        self._writable()
        validate_model_name(new_name)
        user = user or current_user()
        old = self._model_json(name)
        try:
            self.rest.call("POST", "registered-models/rename", {"name": name, "new_name": new_name})
        except AlreadyExistsError:
            raise AlreadyExistsError(f"registered model {new_name!r} already exists") from None
        old_name = str(old.get("name", name))
        self._record(
            new_name,
            MODEL_ROW,
            {"kind": RENAME, "name": old_name, "version": MODEL_ROW},
            user,
            now_ms(),
            extra=[(former_name_tag(old_name), old_name)],
        )

    def update_registered_model(self, name: str, description: str) -> None:
        self._writable()
        self.rest.call(
            "PATCH", "registered-models/update", {"name": name, "description": description or ""}
        )

    def set_registered_model_tag(self, name: str, key: str, value: object) -> None:
        self._writable()
        clean = keys.clean_tags({key: value}, TAG_VALUE_LIMIT)
        _reserved(key)
        self.rest.call(
            "POST", "registered-models/set-tag", {"name": name, "key": key, "value": clean[key]}
        )

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._writable()
        keys.validate_key(key, "tag key")
        _reserved(key)
        self._model_json(name)
        with contextlib.suppress(NotFoundError):  # a key it does not carry: as MLflow
            self.rest.call("DELETE", "registered-models/delete-tag", {"name": name, "key": key})

    def delete_registered_model(self, name: str, *, user: str | None = None) -> None:
        """Delete the model with its versions, tags and aliases. The server deletes its
        tags with it, so its trail too: a deleted model has no history on a server."""
        self._writable()
        self._model_json(name)
        self.rest.call("DELETE", "registered-models/delete", {"name": name})

    def set_policy(self, name: str, expression: str | None) -> None:
        """Set (or clear, with None) the filter a version's source run must pass to enter
        Production: the model's tag `mltop.policy`. Validated now (FilterError)."""
        self._writable()
        self._model_json(name)
        if expression is None:
            with contextlib.suppress(NotFoundError):
                self.rest.call(
                    "DELETE", "registered-models/delete-tag", {"name": name, "key": POLICY_TAG}
                )
            return
        policy.validate(expression)
        if len(expression) > TAG_VALUE_LIMIT:
            raise ValidationError(
                f"a policy on a tracking server is at most {TAG_VALUE_LIMIT} characters "
                f"(a tag's value), not {len(expression)}"
            )
        self.rest.call(
            "POST",
            "registered-models/set-tag",
            {"name": name, "key": POLICY_TAG, "value": expression},
        )

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
        files (`runs:/<run_id>/path`), a logged model (`models:/<model_id>`), or another
        version (`models:/NAME/VERSION`, `@ALIAS`...: its run)."""
        self._writable()
        if not isinstance(source, str) or not source.strip():
            raise ValidationError("a model version needs a source, such as runs:/<run_id>/model")
        validate_model_name(name)
        clean = keys.clean_tags(tags or {}, keys.MAX_TAG_VALUE_LENGTH)
        for key in clean:
            _reserved(key)
        logged = model_id or logged_model_id_of(source)
        if is_registered_model_uri(source):
            run_id = run_id or self.resolve(source).run_id
        run_id = run_id or run_id_of(source)
        if run_id:  # the server takes any id; mltop's policy must read the run
            try:
                self.rest.call("GET", "runs/get", {"run_id": run_id})
            except NotFoundError:
                raise NotFoundError(
                    f"no run {run_id!r} on the tracking server: a version's source run must "
                    "exist (a policy reads it)"
                ) from None
        if create_model:
            with contextlib.suppress(AlreadyExistsError):
                self.create_registered_model(name)
        body: dict[str, Any] = {
            "name": name,
            "source": source,
            "tags": [{"key": k, "value": v} for k, v in clean.items()],
            "description": description or "",
        }
        if run_id:
            body["run_id"] = run_id
        if run_link:
            body["run_link"] = run_link
        if logged:
            body["model_id"] = logged
        answer = self.rest.call("POST", "model-versions/create", body)
        return version_entity(answer.get("model_version") or {}, [])

    def get_model_version(self, name: str, version: object) -> ModelVersion:
        return version_entity(self._version_json(name, version))

    def search_model_versions(
        self, name: str | None = None, run_id: str | None = None, stage: str | None = None
    ) -> list[ModelVersion]:
        wanted = canonical_stage(stage) if stage is not None else None
        if name is not None:
            found = self._versions_json(name)
        else:
            text = f"run_id = {quote(run_id, run_id)}" if run_id is not None else ""
            found = []
            token: str | None = None
            while True:
                body: dict[str, Any] = {"max_results": _PAGE}
                if text:
                    body["filter"] = text
                if token:
                    body["page_token"] = token
                answer = self.rest.call("GET", "model-versions/search", body)
                found += answer.get("model_versions") or []
                token = answer.get("next_page_token") or None
                if not token:
                    break
        aliases = self._aliases_of({str(v.get("name")) for v in found})
        versions = [
            version_entity(v, aliases.get((str(v.get("name")), _int(v.get("version"))), []))
            for v in found
            if (run_id is None or v.get("run_id") == run_id)
            and (wanted is None or v.get("current_stage") == wanted)
        ]
        versions.sort(key=lambda v: (v.name, -v.version))
        return versions

    def _aliases_of(self, names: set[str]) -> dict[tuple[str, int], list[str]]:
        """(model, version) -> its aliases, for the models named (search omits them)."""
        out: dict[tuple[str, int], list[str]] = {}
        models = self._many(lambda n: self._model_json(n["name"]), [{"name": n} for n in names])
        for model in models:
            for alias in model.get("aliases") or []:
                key = (str(model.get("name")), _int(alias.get("version")))
                out.setdefault(key, []).append(str(alias.get("alias")))
        return out

    def search_versions(
        self,
        filter_string: str | None = None,
        max_results: int = VERSION_SEARCH_DEFAULT_MAX_RESULTS,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> paging.PagedList:
        """A page of versions as the server's `search_model_versions` finds them (the
        filter checked as mltop's first; an OR runs as one server search per alternative,
        merged), with their aliases (one read of each model: a search has none)."""
        compile_version_search(filter_string, order_by)
        _check_max(max_results, VERSION_SEARCH_MAX_RESULTS)
        found, token = self._search(
            "model-versions/search",
            "model_versions",
            filter_string,
            max_results,
            order_by,
            page_token,
            VERSION_SEARCH_DEFAULT_MAX_RESULTS,
            VERSION_DEFAULT_ORDER,
        )
        aliases = self._aliases_of({str(v.get("name")) for v in found})
        versions = [
            version_entity(v, aliases.get((str(v.get("name")), _int(v.get("version"))), []))
            for v in found
        ]
        return paging.PagedList(versions, token)

    def set_model_version_tag(self, name: str, version: object, key: str, value: object) -> None:
        self._writable()
        clean = keys.clean_tags({key: value}, keys.MAX_TAG_VALUE_LENGTH)
        _reserved(key)
        number = version_number(version)
        self.rest.call(
            "POST",
            "model-versions/set-tag",
            {"name": name, "version": str(number), "key": key, "value": clean[key]},
        )

    def delete_model_version_tag(self, name: str, version: object, key: str) -> None:
        self._writable()
        keys.validate_key(key, "tag key")
        _reserved(key)
        number = version_number(version)
        self._version_json(name, number)
        with contextlib.suppress(NotFoundError):
            self.rest.call(
                "DELETE",
                "model-versions/delete-tag",
                {"name": name, "version": str(number), "key": key},
            )

    def update_model_version(self, name: str, version: object, description: str) -> None:
        self._writable()
        number = version_number(version)
        self.rest.call(
            "PATCH",
            "model-versions/update",
            {"name": name, "version": str(number), "description": description or ""},
        )

    def delete_model_version(self, name: str, version: object, *, user: str | None = None) -> None:
        """Delete a version. Its records are copied to the model's tags first (the server
        deletes a version's tags with it); after the deletion, the deletion is recorded
        (and each alias it lost), with the stage it was in."""
        self._writable()
        user = user or current_user()
        data = self._version_json(name, version)
        number = _int(data.get("version"))
        stage = str(data.get("current_stage") or "None")
        model = self._model_json(name)
        aliases = sorted(
            str(a.get("alias"))
            for a in model.get("aliases") or []
            if _int(a.get("version")) == number
        )
        for key, record in read_records(_tags(data.get("tags"))).items():
            if record is not None:
                for piece_key, piece in record_pieces(key, record):
                    self._set_tag(name, MODEL_ROW, piece_key, piece)
        self.rest.call("DELETE", "model-versions/delete", {"name": name, "version": str(number)})
        now = now_ms()
        why = f"version {number} deleted"
        for alias in aliases:
            self._record(
                name,
                MODEL_ROW,
                {
                    "kind": "alias_delete",
                    "version": number,
                    "alias": alias,
                    "from_version": number,
                    "comment": why,
                },
                user,
                now,
            )
        self._record(
            name, MODEL_ROW, {"kind": DELETE_VERSION, "version": number, "from": stage}, user, now
        )

    def download_uri(self, name: str, version: object) -> str:
        """Where the server says the version's files are."""
        number = version_number(version)
        answer = self.rest.call(
            "GET", "model-versions/get-download-uri", {"name": name, "version": str(number)}
        )
        return str(answer.get("artifact_uri") or "")

    # -- the trail -----------------------------------------------------------------------

    def _set_tag(self, name: str, version: int, key: str, value: str) -> None:
        if version == MODEL_ROW:
            self.rest.call(
                "POST", "registered-models/set-tag", {"name": name, "key": key, "value": value}
            )
        else:
            self.rest.call(
                "POST",
                "model-versions/set-tag",
                {"name": name, "version": str(version), "key": key, "value": value},
            )

    def _record(
        self,
        name: str,
        where: int,
        fields: Mapping[str, Any],
        user: str,
        time: int,
        plan: TransitionPlan | None = None,
        *,
        extra: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Write one record of the trail on the version `where` (MODEL_ROW: the model),
        after its change was made; TrailWriteError if the server does not take it."""
        record = {
            "kind": "transition",
            "name": name,
            "version": where,
            "from": None,
            "to": None,
            "alias": None,
            "from_version": None,
            "user": user,
            "time": time,
            "comment": "",
            "archived": [],
            "policy": None,
            "forced": False,
            **fields,
        }
        key = f"{TRAIL_PREFIX}{time:013d}.{secrets.token_hex(4)}"
        try:
            for piece_key, piece in [*extra, *record_pieces(key, record)]:
                self._set_tag(name, where, piece_key, piece)
        except Exception as exc:  # the change is made: say so, whatever stopped the record
            raise TrailWriteError(
                f"{name}: the change was made on the server ({record['kind']}), but its "
                f"record could not be written ({exc}); the history shows it as made outside "
                "mltop",
                plan,
            ) from exc

    def _records(self, name: str) -> tuple[list[TransitionRecord], list[ModelVersion]]:
        """The trail of the model called `name` now, and its versions."""
        return self._records_of(self._model_json(name))

    def _records_of(
        self, model: Mapping[str, Any]
    ) -> tuple[list[TransitionRecord], list[ModelVersion]]:
        """A model's trail, reconciled with its versions, oldest first; and its versions."""
        name = str(model.get("name", ""))
        raw = self._versions_json(name)
        found: dict[str, dict[str, Any] | None] = {}
        for data in raw:
            found.update(read_records(_tags(data.get("tags"))))
        found.update(read_records(_tags(model.get("tags"))))  # copies of deleted versions'
        records = sorted(
            (_as_record(key, data, name) for key, data in found.items()),
            key=lambda r: (r.time, r.kind == DELETE_VERSION),
        )
        versions = [version_entity(v, []) for v in raw]
        records = reconcile(name, records, versions)
        return [_numbered(r, i) for i, r in enumerate(records, 1)], versions

    def _once_named(self, name: str) -> list[dict[str, Any]]:
        """The models, other than the one called `name` now, that were once called so
        (renamed since: they carry its former-name tag), the last updated last."""
        key = former_name_tag(name)
        found = [
            m
            for m in self._search_models_json(f"tags.`{key}` LIKE '%'")
            if m.get("name") != name and _tags(m.get("tags")).get(key) == name
        ]
        return sorted(found, key=lambda m: _int(m.get("last_updated_timestamp")))

    def history(self, name: str, version: object | None = None) -> list[TransitionRecord]:
        """The trail of the model called `name`, oldest first (optionally one version's),
        with the moves made outside mltop. When no model is called `name` now: the trail
        of the last one that was, renamed since. A deleted model has none on a server
        (NotFoundError): the server deletes its tags with it."""
        try:
            model = self._model_json(name)
        except NotFoundError:
            former = self._once_named(name)
            if not former:
                raise
            model = former[-1]
        records = self._records_of(model)[0]
        if version is None:
            return records
        number = version_number(version)
        return [r for r in records if r.version == number]

    def model_logs(self, name: str) -> list[ModelLog]:
        """The trail of every model that has been called `name` and is still on the
        server, each apart: those renamed since, then the one called `name` now."""
        models = self._once_named(name)
        with contextlib.suppress(NotFoundError):
            models.append(self._model_json(name))
        if not models:
            raise NotFoundError(f"no registered model named {name!r}")
        return [ModelLog(str(m.get("name")), False, tuple(self._records_of(m)[0])) for m in models]

    # -- stages --------------------------------------------------------------------------

    def _plan(
        self,
        name: str,
        version: object,
        stage: object,
        archive_existing: bool | None,
        *,
        rollback: bool = False,
    ) -> TransitionPlan:
        to_stage = canonical_stage(stage)
        model = self._model_json(name)
        data = self._version_json(name, version)
        policy_text = _tags(model.get("tags")).get(POLICY_TAG) or None
        run_id = str(data.get("run_id") or "")

        def in_stage(wanted: str) -> list[int]:
            return [
                _int(v.get("version"))
                for v in self._versions_json(name)
                if v.get("current_stage") == wanted
            ]

        def source_run() -> Run:
            if not run_id:
                raise NotFoundError(
                    f"{name} v{_int(data.get('version'))} has no source run for the policy to read"
                )
            return self._source_run(run_id)

        return plan_move(
            name=str(model.get("name", name)),
            version=_int(data.get("version")),
            from_stage=str(data.get("current_stage") or "None"),
            to_stage=to_stage,
            archive_existing=archive_existing,
            in_stage=in_stage,
            policy_text=policy_text,
            source_run=source_run,
            rollback=rollback,
        )

    def plan_transition(
        self, name: str, version: object, stage: object, archive_existing: bool | None = None
    ) -> TransitionPlan:
        """What `transition` would do, including the policy check; changes nothing."""
        sync_all()  # the policy reads the run: with every point this process logged
        return self._plan(name, version, stage, archive_existing)

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
        """Move a version to a stage (the server's transition-stage, archiving with it
        what is in the stage then), then record it. The rules are mltop's: a comment for
        Production, the policy unless forced, `expected` still the plan (PlanChangedError)."""
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
        self._writable()
        user = user or current_user()
        # The policy reads the source run: the points this process has logged (a script
        # promoting what it just trained) are sent first.
        sync_all()
        if rollback:
            version = self._previous_production(name)[1]
        plan = self._plan(name, version, stage, archive_existing, rollback=rollback)
        comment = check_move(plan, comment, force=force, expected=expected)
        archive = plan.to_stage == PRODUCTION if archive_existing is None else archive_existing
        archive = bool(archive) and plan.to_stage in (PRODUCTION, STAGING)
        moved = self.rest.call(
            "POST",
            "model-versions/transition-stage",
            {
                "name": plan.name,
                "version": str(plan.version),
                "stage": plan.to_stage,
                "archive_existing_versions": archive,
            },
        ).get("model_version", {})
        when = _int(moved.get("last_updated_timestamp"), now_ms())
        archived = plan.archives if archive else ()
        lost_to: int | None = None
        if archive:
            with contextlib.suppress(MltopError):  # if unread: the plan's, read before
                archived, lost_to = self._settle(plan, when)
        self._record(
            plan.name,
            plan.version,
            {
                "kind": "rollback" if rollback else "transition",
                "version": plan.version,
                "from": plan.from_stage,
                "to": plan.to_stage,
                "comment": comment,
                "archived": list(archived),
                "policy": None if plan.policy is None else plan.policy.as_dict(),
                "forced": force and plan.blocked and not rollback,
            },
            user,
            when,
            plan,
        )
        if lost_to is not None:
            self._archive_loser(plan, lost_to, user)
        return plan

    def _settle(self, plan: TransitionPlan, when: int) -> tuple[tuple[int, ...], int | None]:
        """After a move that archives, what it archived, and the version it lost to.

        The server archives what is in the stage when its transaction reads it: two moves
        into one stage at once can both miss the other and leave two versions there. So
        each mover looks again: of the versions in the stage, the one moved in last (by
        the server's time, then the higher number) stays; this mover archives the older
        ones (counted as its archives). If a newer one is there, it lost: the caller
        archives its own version after recording its move (`_archive_loser`)."""
        versions = self._versions_json(plan.name)
        archived = {
            _int(v.get("version"))
            for v in versions
            if v.get("current_stage") == ARCHIVED
            and _int(v.get("last_updated_timestamp")) == when
            and _int(v.get("version")) != plan.version
        }
        here = {
            _int(v.get("version")): _int(v.get("last_updated_timestamp"))
            for v in versions
            if v.get("current_stage") == plan.to_stage
        }
        if plan.version not in here:  # moved on already (archived by the winner)
            return tuple(sorted(archived)), None
        mine = (here[plan.version], plan.version)
        newer = [v for v, t in here.items() if v != plan.version and (t, v) > mine]
        for other, stamp in here.items():
            if other != plan.version and (stamp, other) < mine:
                self.rest.call(
                    "POST",
                    "model-versions/transition-stage",
                    {
                        "name": plan.name,
                        "version": str(other),
                        "stage": ARCHIVED,
                        "archive_existing_versions": False,
                    },
                )
                archived.add(other)
        lost_to = max(newer, key=lambda v: (here[v], v)) if newer else None
        return tuple(sorted(archived)), lost_to

    def _archive_loser(self, plan: TransitionPlan, winner: int, user: str) -> None:
        """Archive this mover's version: `winner` entered the stage at the same time and
        later (recorded as a move of its own, saying why)."""
        moved = self.rest.call(
            "POST",
            "model-versions/transition-stage",
            {
                "name": plan.name,
                "version": str(plan.version),
                "stage": ARCHIVED,
                "archive_existing_versions": False,
            },
        ).get("model_version", {})
        self._record(
            plan.name,
            plan.version,
            {
                "kind": "transition",
                "version": plan.version,
                "from": plan.to_stage,
                "to": ARCHIVED,
                "comment": (
                    f"archived: v{winner} entered {plan.to_stage} at the same time, and later"
                ),
            },
            user,
            _int(moved.get("last_updated_timestamp"), now_ms()),
            plan,
        )

    def _previous_production(self, name: str) -> tuple[int, int]:
        """(current Production version, the version that was in Production before it)."""
        records, versions = self._records(name)
        in_production = [v.version for v in versions if v.current_stage == PRODUCTION]
        current = max(in_production) if in_production else None
        entered = [
            r.version
            for r in reversed(records)
            if r.kind in ("transition", "rollback") and r.to_stage == PRODUCTION
        ]
        registered = {v.version for v in versions}
        return current or 0, rollback_target(name, current, entered, registered)

    def plan_rollback(self, name: str) -> TransitionPlan:
        sync_all()
        previous = self._previous_production(name)[1]
        return self._plan(name, previous, PRODUCTION, True, rollback=True)

    def rollback(
        self,
        name: str,
        comment: str = "",
        *,
        user: str | None = None,
        expected: TransitionPlan | None = None,
    ) -> TransitionPlan:
        """Put back in Production the version that was there before the current one
        (read from the trail), archiving the current one; recorded as a rollback."""
        return self._transition(
            name, None, PRODUCTION, comment, True, False, user, rollback=True, expected=expected
        )

    # -- aliases -------------------------------------------------------------------------

    def _alias_version(self, model: Mapping[str, Any], alias: str) -> int | None:
        for item in model.get("aliases") or []:
            if item.get("alias") == alias:
                return _int(item.get("version"))
        return None

    def set_alias(self, name: str, alias: str, version: object, *, user: str | None = None) -> None:
        self._writable()
        validate_alias(alias)
        user = user or current_user()
        model = self._model_json(name)
        number = _int(self._version_json(name, version).get("version"))
        old = self._alias_version(model, alias)
        if old == number:
            return
        self.rest.call(
            "POST",
            "registered-models/alias",
            {"name": name, "alias": alias, "version": str(number)},
        )
        self._record(
            name,
            number,
            {"kind": "alias_set", "version": number, "alias": alias, "from_version": old},
            user,
            now_ms(),
        )

    def delete_alias(self, name: str, alias: str, *, user: str | None = None) -> None:
        self._writable()
        user = user or current_user()
        model = self._model_json(name)
        old = self._alias_version(model, alias)
        if old is None:
            raise NotFoundError(f"model {name!r} has no alias {alias!r}")
        self.rest.call("DELETE", "registered-models/alias", {"name": name, "alias": alias})
        self._record(
            name,
            old,
            {"kind": "alias_delete", "version": old, "alias": alias, "from_version": old},
            user,
            now_ms(),
        )

    def get_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        model = self._model_json(name)
        number = self._alias_version(model, alias)
        if number is None:
            raise NotFoundError(f"model {name!r} has no alias {alias!r}")
        return self.get_model_version(name, number)

    # -- model URIs ----------------------------------------------------------------------

    def resolve(self, uri: str) -> ModelVersion:
        """`models:/NAME/VERSION`, `models:/NAME/STAGE`, `models:/NAME/latest`,
        `models:/NAME@ALIAS` to a model version."""
        found = parse_model_uri(uri)
        name = found.name
        model = self._model_json(name)
        if found.alias is not None:
            return self.get_version_by_alias(name, found.alias)
        if found.version is not None:
            return self.get_model_version(name, found.version)
        versions = self._versions_json(name)
        if found.latest:
            if not versions:
                raise NotFoundError(f"model {name!r} has no versions")
            return self.get_model_version(name, max(_int(v.get("version")) for v in versions))
        stage = canonical_stage(found.stage)
        in_stage = [_int(v.get("version")) for v in versions if v.get("current_stage") == stage]
        if not in_stage:
            raise NotFoundError(f"model {model.get('name', name)!r} has no version in {stage}")
        return self.get_model_version(name, max(in_stage))


def _numbered(record: TransitionRecord, number: int) -> TransitionRecord:
    return replace(record, id=number)


def _check_max(max_results: int, limit: int) -> None:
    if isinstance(max_results, bool) or not isinstance(max_results, int):
        raise ValidationError(f"max_results must be an integer, not {max_results!r}")
    if not 1 <= max_results <= limit:
        raise ValidationError(f"max_results must be between 1 and {limit}, not {max_results}")
