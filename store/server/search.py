"""`RunSearch` over a tracking server (helper A3): a mixin of `ServerStore`.

A filter is parsed and checked by mltop's own parser and compiler (`store/query/`), so a
user reads the same errors whatever the store; it is then written in MLflow's grammar,
which has AND only. Our OR and parentheses become the filter's disjunctive normal form:
one MLflow query per conjunction (at most `MAX_QUERIES`), their runs merged, de-duplicated
and ordered on this side exactly as one query would order them (SQLite's backend and
MLflow's: the `order_by` keys, numbers then NaN then missing values in either direction,
then `start_time DESC`, then the run id). What MLflow's grammar cannot say (a run's
duration, `min()`/`max()` of a metric, a value holding both kinds of quote) is refused
with a `FilterError` saying "the tracking server cannot ...": never silently wrong.

Values are quoted the only ways MLflow's parser (sqlparse, then `_strip_quotes`, which
unescapes nothing) reads back unchanged: in single quotes when the value holds no `'`, in
double quotes when it holds no `"`, never ending with a backslash (sqlparse reads `\\'`
as an escaped quote).
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mltop.store.entities import Experiment, Run, RunRow
from mltop.store.errors import FilterError, InvalidValueError, NotFoundError, ValidationError
from mltop.store.query import paging
from mltop.store.query.compiler import (
    ATTRIBUTES,
    DATASET_KINDS,
    ENTITIES,
    METRICS,
    PARAMS,
    TAGS,
    Compiler,
    Sql,
    check_run_search,
)
from mltop.store.query.paging import DEFAULT_MAX_RESULTS, PagedList, check_max_results
from mltop.store.query.parser import (
    BoolOp,
    Identifier,
    InList,
    Node,
    NullCheck,
    OrderKey,
    parse_filter,
    parse_order_by,
)
from mltop.store.server import convert
from mltop.store.system import TAG_MLFLOW_PARENT_RUN, TAG_MLFLOW_RUN_NAME, TAG_MLFLOW_USER

if TYPE_CHECKING:
    from mltop.store.server.rest import RestClient

# The most MLflow queries one filter may become (its OR terms, once parentheses are
# multiplied out): each is a round trip reading every run it matches.
MAX_QUERIES = 16

SERVER_PAGE = 1000  # runs per runs/search call when reading every match (count, order)
SERVER_MAX_PAGE = 50_000  # MLflow's SEARCH_MAX_RESULTS_THRESHOLD

# Our attribute names -> MLflow's (the parser already read `created` as start_time).
RUN_ATTRIBUTES = {
    "run_id": "run_id",
    "run_name": "run_name",
    "status": "status",
    "user_id": "user_id",
    "artifact_uri": "artifact_uri",
    "start_time": "start_time",
    "created": "start_time",
    "end_time": "end_time",
}
NUMERIC_ATTRIBUTES = {"start_time", "end_time"}
EXPERIMENT_ATTRIBUTES = {
    "experiment_id": "experiment_id",
    "name": "name",
    "creation_time": "creation_time",
    "last_update_time": "last_update_time",
}

# MLflow's system tags that SQLite's backend keeps as a run's columns, never as tag rows.
DERIVED_TAGS = (TAG_MLFLOW_RUN_NAME, TAG_MLFLOW_USER, TAG_MLFLOW_PARENT_RUN)

_VIEW_TYPES = {"active": "ACTIVE_ONLY", "deleted": "DELETED_ONLY", "all": "ALL"}


def _cannot(message: str, text: str, pos: int, item: int | None = None) -> FilterError:
    return FilterError(f"the tracking server cannot {message}", text, pos, item=item)


# -- quoting --------------------------------------------------------------------------------


def quote_value(value: str, text: str = "", pos: int = 0) -> str:
    """`value` as an MLflow string literal that its parser reads back unchanged."""
    if value.endswith("\\"):
        raise _cannot(
            f"compare with a value ending with a backslash ({value!r}): its filter parser "
            "would read the closing quote as escaped",
            text,
            pos,
        )
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise _cannot(
        f"compare with a value holding both ' and \" ({value!r}): its filter grammar has no "
        "escapes",
        text,
        pos,
    )


def quote_key(key: str, text: str = "", pos: int = 0) -> str:
    """A metric, param or tag key, quoted as MLflow's parser reads it back."""
    if "`" not in key:
        return f"`{key}`"
    if '"' not in key and not key.endswith("\\"):
        return f'"{key}"'
    raise _cannot(
        f'search by the key {key!r}: its filter grammar cannot quote a key holding both ` and "',
        text,
        pos,
    )


def number_text(value: float) -> str:
    """A number as MLflow's parser reads it (no `+` in the exponent). ±inf is written as
    the largest double, which is how MLflow's SQL store keeps a logged infinity: compared
    with `metrics.x = 1e999` it matches, as it does in mltop's store."""
    if math.isinf(value):
        value = math.copysign(sys.float_info.max, value)
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value).replace("e+", "e")


# -- filters ----------------------------------------------------------------------------------


def disjuncts(node: Node, text: str) -> list[list[Node]]:
    """The filter as an OR of ANDs of conditions (at most MAX_QUERIES of them)."""
    if not isinstance(node, BoolOp):
        return [[node]]
    if node.op == "OR":
        terms: list[list[Node]] = []
        for item in node.items:
            terms += disjuncts(item, text)
            if len(terms) > MAX_QUERIES:
                raise _too_many(text)
        return terms
    product: list[list[Node]] = [[]]
    for item in node.items:
        parts = disjuncts(item, text)
        if len(product) * len(parts) > MAX_QUERIES:
            raise _too_many(text)
        product = [left + right for left in product for right in parts]
    return product


def _too_many(text: str) -> FilterError:
    return _cannot(
        f"run this filter in at most {MAX_QUERIES} queries: MLflow's filters have no OR, so "
        "each OR term (once parentheses are multiplied out) is a query of its own; write it "
        "with fewer ORs",
        text,
        0,
    )


def _ident(ident: Identifier, text: str, *, experiments: bool = False) -> str:
    """The identifier in MLflow's grammar: `metrics.`key``, `attributes.status`..."""
    if ident.entity in DATASET_KINDS and not experiments:
        return f"dataset.{ident.key}"
    entity = ATTRIBUTES if ident.entity is None else ENTITIES[ident.entity]
    if entity == ATTRIBUTES:
        names = EXPERIMENT_ATTRIBUTES if experiments else RUN_ATTRIBUTES
        name = names.get(ident.key)
        if name is None:
            raise _cannot(f"search or order by {ident.text!r} (MLflow has no such attribute)",
                          text, ident.pos)  # fmt: skip
        return name if experiments else f"attributes.{name}"
    return f"{entity}.{quote_key(ident.key, text, ident.pos)}"


def _condition(node: Node, text: str, *, experiments: bool = False) -> str:
    assert not isinstance(node, BoolOp)
    name = _ident(node.ident, text, experiments=experiments)
    if isinstance(node, NullCheck):
        return f"{name} IS {'NOT ' if node.negated else ''}NULL"
    if isinstance(node, InList):
        values = ", ".join(
            quote_value(str(v) if isinstance(v, str) else number_text(v), text, node.value_pos)
            for v in node.values
        )
        return f"{name} {'NOT IN' if node.negated else 'IN'} ({values})"
    value = node.value
    if experiments and node.ident.key == "experiment_id":  # MLflow takes ids quoted only
        number = float(value)  # the compiler checked it is an integer
        literal = quote_value(str(int(number)), text, node.value_pos)
    elif isinstance(value, float):
        literal = number_text(value)
    else:
        literal = quote_value(value, text, node.value_pos)
    return f"{name} {node.op} {literal}"


def translate_filter(filter_string: str | None) -> list[str]:
    """MLflow filter strings, one per OR term of ours (`[""]`: no filter), that together
    match what ours matches. Raises FilterError: ours (a bad filter), or "the tracking
    server cannot ..." (a good one MLflow cannot run)."""
    text = filter_string or ""
    check_run_search(text)
    tree = parse_filter(text)
    if tree is None:
        return [""]
    for term in disjuncts(tree, text):
        for node in term:
            _refuse_beyond_mlflow(node, text)
    return [" AND ".join(_condition(n, text) for n in term) for term in disjuncts(tree, text)]


def _refuse_beyond_mlflow(node: Node, text: str) -> None:
    assert not isinstance(node, BoolOp)
    ident = node.ident
    attribute = ident.entity is None or ENTITIES.get(ident.entity) == ATTRIBUTES
    if attribute and ident.key == "duration":
        raise _cannot(
            "search by duration (MLflow has no such attribute): compare start_time and "
            "end_time instead",
            text,
            ident.pos,
        )


def translate_experiment_filter(filter_string: str | None) -> list[str]:
    """`translate_filter` for a search of experiments (name, tags, times, ids)."""
    text = filter_string or ""
    compiler = Compiler(text, experiments=True)
    tree = parse_filter(text)
    if tree is None:
        return [""]
    compiler.compile(tree, Sql())
    terms = disjuncts(tree, text)
    for term in terms:
        for node in term:
            if isinstance(node, NullCheck):
                raise _cannot(
                    "search experiments with IS NULL (its experiment search has no such operator)",
                    text,
                    node.op_pos,
                )
    return [" AND ".join(_condition(n, text, experiments=True) for n in term) for term in terms]


# -- ordering -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SortKey:
    """One sort column as MLflow (and SQLite's backend) sorts runs."""

    entity: str  # METRICS, PARAMS, TAGS, ATTRIBUTES
    key: str  # MLflow's attribute name for attributes
    descending: bool


def translate_order(order_by: Sequence[str] | None) -> tuple[list[str], list[SortKey]]:
    """(MLflow's order_by entries, every sort key with the tie-breaks appended)."""
    check_run_search(None, order_by)
    keys = parse_order_by(order_by)
    out: list[str] = []
    sort: list[SortKey] = []
    items = [order_by] if isinstance(order_by, str) else list(order_by or [])
    for key in keys:
        text = items[key.item]
        if key.extreme is not None:
            raise _cannot(
                f"order by {key.extreme}() of a metric: it keeps each metric's latest value only",
                text,
                0,
                item=key.item,
            )
        sort_key = _sort_key(key, text)
        sort.append(sort_key)
        name = (
            f"attributes.{sort_key.key}"
            if sort_key.entity == ATTRIBUTES
            else f"{sort_key.entity}.{quote_key(sort_key.key, text, key.ident.pos)}"
        )
        out.append(f"{name} {'DESC' if key.descending else 'ASC'}")
    named = {(k.entity, k.key) for k in sort}
    if (ATTRIBUTES, "start_time") not in named:
        sort.append(SortKey(ATTRIBUTES, "start_time", True))
    if (ATTRIBUTES, "run_id") not in named:
        sort.append(SortKey(ATTRIBUTES, "run_id", False))
    return out, sort


def _sort_key(key: OrderKey, text: str) -> SortKey:
    ident = key.ident
    entity = ATTRIBUTES if ident.entity is None else ENTITIES[ident.entity]
    if entity != ATTRIBUTES:
        return SortKey(entity, ident.key, key.descending)
    if ident.key == "duration":
        raise _cannot("order by duration (MLflow has no such attribute)", text, 0, item=key.item)
    if ident.key == "artifact_uri":  # one root for every run: SQLite's backend sorts by id
        return SortKey(ATTRIBUTES, "artifact_uri", key.descending)
    return SortKey(ATTRIBUTES, RUN_ATTRIBUTES[ident.key], key.descending)


def sort_values(run: Run, keys: Sequence[SortKey]) -> list[Any]:
    """The values a run sorts by, as JSON values (a page token holds the last row's): per
    key a rank (0 a value, 1 NaN, 2 missing; params, tags, attributes: 0 or 1) and the
    value (None unless ranked 0)."""
    out: list[Any] = []
    for sort_key in keys:
        value: Any
        if sort_key.entity == METRICS:
            found = run.data.metrics.get(sort_key.key)
            if found is None:
                out += [2, None]
            elif math.isnan(found):
                out += [1, None]
            else:
                out += [0, float(found)]
            continue
        if sort_key.entity == PARAMS:
            value = run.data.params.get(sort_key.key)
        elif sort_key.entity == TAGS:
            value = run.data.tags.get(sort_key.key)
        else:
            value = getattr(run.info, sort_key.key, None)
        out += [1, None] if value is None else [0, value]
    return out


def compare_values(a: Sequence[Any], b: Sequence[Any], keys: Sequence[SortKey]) -> int:
    """-1, 0 or 1 as `a` sorts before, with or after `b` (values from `sort_values`)."""
    for index, sort_key in enumerate(keys):
        rank_a, rank_b = a[2 * index], b[2 * index]
        if rank_a != rank_b:
            return -1 if rank_a < rank_b else 1
        va, vb = a[2 * index + 1], b[2 * index + 1]
        if va is None or vb is None or va == vb:
            continue
        before = va < vb
        if sort_key.descending:
            before = not before
        return -1 if before else 1
    return 0


def merge_runs(pages: Iterable[Iterable[Run]], keys: Sequence[SortKey]) -> list[Run]:
    """Runs from several queries, each once, in the order one query would give them."""
    seen: dict[str, Run] = {}
    for page in pages:
        for run in page:
            seen.setdefault(run.info.run_id, run)
    values = {run_id: sort_values(run, keys) for run_id, run in seen.items()}

    def compare(a: Run, b: Run) -> int:
        return compare_values(values[a.info.run_id], values[b.info.run_id], keys)

    return sorted(seen.values(), key=functools.cmp_to_key(compare))


# -- the mixin ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Query:
    experiment_ids: tuple[str, ...]
    run_view_type: str
    filter: str


def _refusing(
    rest: RestClient, endpoint: str, body: dict[str, Any], text: str, order: Sequence[str]
) -> dict[str, Any]:
    """A search call; the server refusing the filter or order it was sent (a server of
    another version than this translation was written for) is a FilterError saying so."""
    try:
        return rest.call("POST", endpoint, body)
    except InvalidValueError as exc:
        if not text and not order:
            raise
        sent = f"filter {text!r}" if text else f"order_by {list(order)!r}"
        raise FilterError(
            f"the tracking server cannot run this search: it refused the {sent} mltop sent "
            f"it ({exc})",
            text,
            0,
        ) from None


def _listed(experiment_ids: Iterable[str | int] | None) -> list[str] | None:
    """Experiment ids as a list (an iterator is read once), None for every experiment."""
    return None if experiment_ids is None else [str(e) for e in experiment_ids]


def row_of(run: Run) -> RunRow:
    """A run as a table's row."""
    return RunRow(run.info, dict(run.data.params), dict(run.data.metrics))


class ServerSearch:
    """Searches of runs and experiments over `runs/search` and `experiments/search` (a
    mixin of `ServerStore`, which gives `rest`)."""

    rest: RestClient

    # -- run keys: a per-store map run id <-> int ---------------------------------------

    def _key_of(self, run_id: str, experiment_id: str) -> int:
        ids: dict[str, int] = self.__dict__.setdefault("_run_key_ids", {})
        runs: list[tuple[str, str]] = self.__dict__.setdefault("_run_key_runs", [])
        key = ids.get(run_id)
        if key is None:
            key = len(runs) + 1
            ids[run_id] = key
            runs.append((run_id, experiment_id))
        return key

    # -- experiment scope -----------------------------------------------------------------

    def _experiment_stages(self) -> dict[str, str]:
        """Every experiment's id -> lifecycle stage."""
        stages: dict[str, str] = {}
        token: str | None = None
        while True:
            body: dict[str, Any] = {"max_results": SERVER_PAGE, "view_type": "ALL"}
            if token:
                body["page_token"] = token
            answer = self.rest.call("POST", "experiments/search", body)
            for exp in answer.get("experiments", []):
                stages[str(exp["experiment_id"])] = str(exp.get("lifecycle_stage", "active"))
            token = answer.get("next_page_token") or None
            if not token:
                return stages

    def _experiment_ids_by_name(self, names: Iterable[str]) -> list[str]:
        ids = []
        for name in names:
            try:
                answer = self.rest.call("GET", "experiments/get-by-name", {"experiment_name": name})
            except NotFoundError:
                raise NotFoundError(f"no experiment named {name!r} on {self.rest.url}") from None
            ids.append(str(answer["experiment"]["experiment_id"]))
        return ids

    def _scopes(
        self,
        experiment_ids: Iterable[str | int] | None,
        view: str,
        experiment_names: Iterable[str] | None = None,
    ) -> list[tuple[tuple[str, ...], str]]:
        """(experiment ids, MLflow's run view) pairs that together are our view: the active
        view hides the runs of deleted experiments too; the deleted view shows them."""
        if view not in _VIEW_TYPES:
            raise ValidationError(f"view must be one of active, deleted, all, not {view!r}")
        stages = self._experiment_stages()
        if experiment_ids is None and experiment_names is None:
            wanted = list(stages)
        else:
            wanted = [str(e) for e in experiment_ids or ()]
            wanted += self._experiment_ids_by_name(experiment_names or ())
            wanted = [e for e in dict.fromkeys(wanted) if e in stages]
        active = tuple(e for e in wanted if stages[e] == "active")
        deleted = tuple(e for e in wanted if stages[e] != "active")
        if view == "all":
            return [(tuple(wanted), "ALL")] if wanted else []
        if view == "active":
            return [(active, "ACTIVE_ONLY")] if active else []
        scopes = []
        if active:
            scopes.append((active, "DELETED_ONLY"))
        if deleted:
            scopes.append((deleted, "ALL"))
        return scopes

    def _queries(
        self,
        experiment_ids: Iterable[str | int] | None,
        filter_string: str | None,
        view: str,
        experiment_names: Iterable[str] | None = None,
    ) -> list[_Query]:
        filters = translate_filter(filter_string)
        return [
            _Query(ids, run_view, text)
            for ids, run_view in self._scopes(experiment_ids, view, experiment_names)
            for text in filters
        ]

    # -- runs/search ------------------------------------------------------------------------

    def _search_page(
        self, query: _Query, order_by: Sequence[str], max_results: int, token: str | None
    ) -> tuple[list[Run], str | None]:
        body: dict[str, Any] = {
            "experiment_ids": list(query.experiment_ids),
            "run_view_type": query.run_view_type,
            "max_results": max_results,
        }
        if query.filter:
            body["filter"] = query.filter
        if order_by:
            body["order_by"] = list(order_by)
        if token:
            body["page_token"] = token
        answer = _refusing(self.rest, "runs/search", body, query.filter, order_by)
        runs = [convert.run_from_json(r) for r in answer.get("runs", [])]
        return runs, answer.get("next_page_token") or None

    def _all_of(self, query: _Query, order_by: Sequence[str]) -> Iterator[Run]:
        token: str | None = None
        while True:
            runs, token = self._search_page(query, order_by, SERVER_PAGE, token)
            yield from runs
            if token is None:
                return

    def _all_matches(self, queries: Sequence[_Query], order_by: Sequence[str] | None) -> list[Run]:
        """Every run the queries match, in the search's order."""
        server_order, keys = translate_order(order_by)
        if len(queries) == 1:
            return list(self._all_of(queries[0], server_order))
        return merge_runs((self._all_of(q, server_order) for q in queries), keys)

    def _search(
        self,
        experiment_ids: Iterable[str | int] | None,
        filter_string: str | None,
        order_by: Sequence[str] | None,
        max_results: int | None,
        page_token: str | None,
        view: str,
        experiment_names: Iterable[str] | None = None,
    ) -> PagedList:
        limit = check_max_results(max_results)
        experiment_ids = _listed(experiment_ids)
        experiment_names = None if experiment_names is None else list(experiment_names)
        server_order, keys = translate_order(order_by)
        queries = self._queries(experiment_ids, filter_string, view, experiment_names)
        fingerprint = paging.fingerprint(
            "server",
            filter_string or "",
            list(order_by or []),
            sorted(str(e) for e in experiment_ids) if experiment_ids is not None else None,
            sorted(experiment_names) if experiment_names is not None else None,
            view,
        )
        if not queries:
            return PagedList([], None)
        if len(queries) == 1:  # the server pages: its token wrapped in ours
            server_token = None
            if page_token:
                server_token = paging.decode_token(page_token, fingerprint, 1)[0]
            runs, next_token = self._search_page(
                queries[0], server_order, min(limit, SERVER_MAX_PAGE), server_token
            )
            token = paging.encode_token([next_token], fingerprint) if next_token else None
            return PagedList(runs, token)
        merged = merge_runs((self._all_of(q, server_order) for q in queries), keys)
        if page_token:  # keyset: the runs sorting strictly after the last one shown
            width = 2 * len(keys)
            after = paging.decode_token(page_token, fingerprint, width)
            merged = [r for r in merged if compare_values(sort_values(r, keys), after, keys) > 0]
        page = merged[:limit]
        token = None
        if len(merged) > limit:
            token = paging.encode_token(sort_values(page[-1], keys), fingerprint)
        return PagedList(page, token)

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
        """Runs matching a filter (ours: OR and parentheses too), in `order_by` order, a
        page at a time; see the module's doc for how an OR becomes several queries."""
        return self._search(
            experiment_ids, filter_string, order_by, max_results, page_token, view,
            experiment_names,
        )  # fmt: skip

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
        """`search_runs` as table rows (the server sends whole runs either way)."""
        page = self._search(experiment_ids, filter_string, order_by, max_results, page_token, view)
        return PagedList([row_of(run) for run in page], page.token)

    def run_order(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        *,
        view: str = "active",
    ) -> list[int]:
        """The keys of every matching run, in the search's order: every match is read
        (a round trip per 1,000 runs and OR term)."""
        queries = self._queries(experiment_ids, filter_string, view)
        runs = self._all_matches(queries, order_by)
        return [self._key_of(r.info.run_id, r.info.experiment_id) for r in runs]

    def count_runs(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        filter_string: str | None = None,
        *,
        view: str = "active",
    ) -> int:
        """How many runs match. MLflow has no count: every match is read, 1,000 a call,
        each with its params, tags and latest metrics (a cost growing with the runs)."""
        queries = self._queries(experiment_ids, filter_string, view)
        if len(queries) == 1:
            return sum(1 for _run in self._all_of(queries[0], ()))
        return len({r.info.run_id for q in queries for r in self._all_of(q, ())})

    def run_rows_by_keys(self, keys: Sequence[int]) -> list[RunRow | None]:
        """Rows of runs by key (from `run_order`), fresh from the server; None for a run
        no longer there (or a key this store never gave)."""
        runs: list[tuple[str, str]] = self.__dict__.get("_run_key_runs", [])
        wanted = [runs[k - 1] if 0 < k <= len(runs) else None for k in keys]
        found = self._runs_by_ids([w for w in wanted if w is not None])
        return [row_of(found[w[0]]) if w is not None and w[0] in found else None for w in wanted]

    def _runs_by_ids(self, runs: Sequence[tuple[str, str]]) -> dict[str, Run]:
        """Runs (id, experiment id) read in batches of `run_id IN (...)`, any lifecycle."""
        out: dict[str, Run] = {}
        unique = list(dict.fromkeys(runs))
        for start in range(0, len(unique), 100):
            batch = unique[start : start + 100]
            ids = ", ".join(f"'{run_id}'" for run_id, _e in batch if run_id.isalnum())
            if not ids:
                continue
            query = _Query(
                tuple(dict.fromkeys(e for _r, e in batch)), "ALL", f"attributes.run_id IN ({ids})"
            )
            for run in self._all_of(query, ()):
                out[run.info.run_id] = run
        return out

    def run_keys(self, run_ids: Iterable[str]) -> dict[str, int]:
        """Run id -> key, for the runs that exist: those not met before are looked up 100
        a request (`run_id IN (...)` over every experiment), in the order asked."""
        known: dict[str, int] = self.__dict__.get("_run_key_ids", {})
        asked = [r for r in dict.fromkeys(run_ids) if isinstance(r, str)]
        unknown = [r for r in asked if r not in known and r.isalnum()]
        if unknown:
            experiments = tuple(self._experiment_stages())
            for start in range(0, len(unknown), 100):
                batch = ", ".join(f"'{r}'" for r in unknown[start : start + 100])
                query = _Query(experiments, "ALL", f"attributes.run_id IN ({batch})")
                for run in self._all_of(query, ()):
                    self._key_of(run.info.run_id, run.info.experiment_id)
            known = self.__dict__.get("_run_key_ids", {})
        return {r: known[r] for r in asked if r in known}

    def iter_runs(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        *,
        view: str = "active",
        page_size: int = 1000,
    ) -> Iterator[Run]:
        """Every matching run: a page at a time (one query), or every match read once and
        merged (an OR). A bad filter or order is raised here, not at the first run."""
        check_max_results(page_size)
        translate_order(order_by)
        experiment_ids = _listed(experiment_ids)
        queries = self._queries(experiment_ids, filter_string, view)
        if len(queries) > 1:
            return iter(self._all_matches(queries, order_by))
        return self._run_pages(experiment_ids, filter_string, order_by, page_size, view)

    def _run_pages(
        self,
        experiment_ids: Iterable[str | int] | None,
        filter_string: str | None,
        order_by: Sequence[str] | None,
        page_size: int,
        view: str,
    ) -> Iterator[Run]:
        token = None
        while True:
            page = self._search(experiment_ids, filter_string, order_by, page_size, token, view)
            yield from page
            token = page.token
            if token is None:
                return

    def matching_keys(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        filter_string: str | None = None,
        *,
        view: str = "active",
    ) -> dict[str, list[str]]:
        """{"params": [...], "metrics": [...], "tags": [...]}: the keys the matches have
        (MLflow's system tags that SQLite's backend keeps as columns left out, as there)."""
        params: set[str] = set()
        metrics: set[str] = set()
        tags: set[str] = set()
        for query in self._queries(experiment_ids, filter_string, view):
            for run in self._all_of(query, ()):
                params.update(run.data.params)
                metrics.update(run.data.metrics)
                tags.update(k for k in run.data.tags if k not in DERIVED_TAGS)
        return {"params": sorted(params), "tags": sorted(tags), "metrics": sorted(metrics)}

    def search_experiments(
        self,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int | None = DEFAULT_MAX_RESULTS,
        page_token: str | None = None,
        *,
        view: str = "active",
    ) -> PagedList:
        """Experiments by name, tags and times; newest first unless `order_by` says."""
        if view not in _VIEW_TYPES:
            raise ValidationError(f"view must be one of active, deleted, all, not {view!r}")
        limit = check_max_results(max_results)
        filters = translate_experiment_filter(filter_string)
        compiler = Compiler("", experiments=True)
        keys = parse_order_by(order_by) or parse_order_by(
            ["creation_time DESC", "experiment_id DESC"]
        )
        compiler.order_columns(keys, Sql())
        server_order = []
        for key in keys:
            name = _ident(key.ident, "", experiments=True)
            if not name.startswith(("name", "creation_time", "last_update_time", "experiment_id")):
                raise _cannot(f"order experiments by {key.ident.text!r}", "", 0, item=key.item)
            server_order.append(f"{name} {'DESC' if key.descending else 'ASC'}")
        fingerprint = paging.fingerprint(
            "server-experiments", filter_string or "", list(order_by or []), view
        )
        view_type = _VIEW_TYPES[view]

        def page_of(text: str, size: int, token: str | None) -> tuple[list[Experiment], str | None]:
            body: dict[str, Any] = {
                "max_results": size,
                "view_type": view_type,
                "order_by": server_order,
            }
            if text:
                body["filter"] = text
            if token:
                body["page_token"] = token
            answer = _refusing(self.rest, "experiments/search", body, text, server_order)
            found = [convert.experiment_from_json(e) for e in answer.get("experiments", [])]
            return found, answer.get("next_page_token") or None

        if len(filters) == 1:
            server_token = None
            if page_token:
                server_token = paging.decode_token(page_token, fingerprint, 1)[0]
            found, next_token = page_of(filters[0], limit, server_token)
            token = paging.encode_token([next_token], fingerprint) if next_token else None
            return PagedList(found, token)
        merged: dict[str, Experiment] = {}
        for text in filters:
            token = None
            while True:
                found, token = page_of(text, SERVER_PAGE, token)
                for exp in found:
                    merged.setdefault(exp.experiment_id, exp)
                if token is None:
                    break
        ordered = sorted(merged.values(), key=functools.cmp_to_key(_experiment_cmp(keys)))
        start = 0
        if page_token:
            start = int(paging.decode_token(page_token, fingerprint, 1)[0])
        page = ordered[start : start + limit]
        more = start + limit < len(ordered)
        return PagedList(page, paging.encode_token([start + limit], fingerprint) if more else None)


def _experiment_cmp(keys: Sequence[OrderKey]) -> Any:
    def values(exp: Experiment) -> list[Any]:
        out: list[Any] = []
        for key in keys:
            if key.ident.entity is not None and ENTITIES.get(key.ident.entity) == TAGS:
                value: Any = exp.tags.get(key.ident.key)
            elif key.ident.key == "experiment_id":
                value = int(exp.experiment_id)
            else:
                value = getattr(exp, key.ident.key)
            out.append(value)
        out.append(int(exp.experiment_id))
        return out

    def compare(a: Experiment, b: Experiment) -> int:
        for key, va, vb in zip([*keys, None], values(a), values(b), strict=True):
            if va == vb:
                continue
            if va is None or vb is None:
                return 1 if va is None else -1
            before = va < vb
            if key is not None and key.descending:
                before = not before
            return -1 if before else 1
        return 0

    return compare
