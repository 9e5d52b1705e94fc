"""Searching runs and experiments: the filter AST compiled to parameterized SQL.

No text a user typed is ever part of the SQL: keys, values and patterns are all bound
parameters; the SQL text is assembled only from the fixed fragments below, chosen by
the AST's shape. Semantics follow MLflow's `search_runs`:

- each condition is an uncorrelated `IN (SELECT ...)` over a (key, value) index, which
  SQLite evaluates once and can drive the whole query from;
- a metric filter compares the run's latest value; a run without the key never matches,
  not even `!=` (and a NaN latest value matches only `!=`);
- params and tags compare as strings; LIKE is case-sensitive, ILIKE folds ASCII case;
- ordering puts NaN and missing values last in both directions, and always ends with the
  run id, so that pages are stable: a page token holds the last row's sort values and
  the next page starts strictly after them (keyset pagination), so runs inserted between
  two pages neither repeat nor push rows out.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mltop.store.entities import RUN_STATUSES, Experiment, Run
from mltop.store.errors import FilterError, PageTokenError, ValidationError
from mltop.store.filters import (
    BoolOp,
    Comparison,
    Identifier,
    InList,
    Node,
    NullCheck,
    OrderKey,
    parse_filter,
    parse_order_by,
)

if TYPE_CHECKING:
    from mltop.store.tracking import Store

DEFAULT_MAX_RESULTS = 1000
MAX_RESULTS_LIMIT = 50_000

METRICS, PARAMS, TAGS, ATTRIBUTES = "metrics", "params", "tags", "attributes"
_ENTITIES = {
    "metrics": METRICS, "metric": METRICS,
    "params": PARAMS, "param": PARAMS, "parameters": PARAMS,
    "tags": TAGS, "tag": TAGS,
    "attributes": ATTRIBUTES, "attribute": ATTRIBUTES, "attr": ATTRIBUTES, "run": ATTRIBUTES,
}  # fmt: skip

NUMBER, STRING = "number", "string"


@dataclass(frozen=True)
class _Attribute:
    kind: str  # NUMBER or STRING
    column: str  # SQL over the aliases r (runs) or e (experiments); fixed text
    allows_in: bool = False


_RUN_ATTRIBUTES = {
    "run_id": _Attribute(STRING, "r.run_id", allows_in=True),
    "run_name": _Attribute(STRING, "r.name"),
    "status": _Attribute(STRING, "r.status"),
    "user_id": _Attribute(STRING, "r.user_id"),
    "artifact_uri": _Attribute(STRING, "(? || r.run_id)"),  # ? = the store's artifact root/
    "start_time": _Attribute(NUMBER, "r.start_time"),
    "created": _Attribute(NUMBER, "r.start_time"),
    "end_time": _Attribute(NUMBER, "r.end_time"),
}
_EXPERIMENT_ATTRIBUTES = {
    "experiment_id": _Attribute(NUMBER, "e.experiment_id"),
    "name": _Attribute(STRING, "e.name"),
    "creation_time": _Attribute(NUMBER, "e.creation_time"),
    "last_update_time": _Attribute(NUMBER, "e.last_update_time"),
}


def like_to_glob(pattern: str) -> str:
    """A LIKE pattern (% and _) as a case-sensitive GLOB pattern, other characters literal."""
    out = []
    for c in pattern:
        if c == "%":
            out.append("*")
        elif c == "_":
            out.append("?")
        elif c in "*?[":
            out.append(f"[{c}]")
        else:
            out.append(c)
    return "".join(out)


@dataclass
class _Sql:
    """SQL text and its parameters, built side by side."""

    text: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    subquery: _Sql | None = None  # set when the text is exactly `owner IN (subquery)`

    def add(self, text: str, *params: Any) -> None:
        self.text.append(text)
        self.params.extend(params)

    def sql(self) -> str:
        return "".join(self.text)


class _Compiler:
    """Compiles a filter AST for one kind of search: runs or experiments."""

    def __init__(self, text: str, *, experiments: bool, artifact_root: str = "") -> None:
        self.text = text
        self.experiments = experiments
        self.attributes = _EXPERIMENT_ATTRIBUTES if experiments else _RUN_ATTRIBUTES
        self.owner = "e.experiment_id" if experiments else "r.id"
        self.artifact_root = artifact_root

    def fail(self, message: str, pos: int) -> FilterError:
        return FilterError(message, self.text, pos)

    def entity(self, ident: Identifier) -> str:
        if ident.entity is None:
            if self.experiments and ident.key in self.attributes:
                return ATTRIBUTES
            kinds = "attributes, tags" if self.experiments else "metrics, params, tags, attributes"
            hint = f"attributes.{ident.key}" if ident.key in self.attributes else "metrics.loss"
            raise self.fail(
                f"{ident.text!r} needs its kind ({kinds}) before a dot, as in {hint}", ident.pos
            )
        entity = _ENTITIES.get(ident.entity)
        allowed = (ATTRIBUTES, TAGS) if self.experiments else (METRICS, PARAMS, TAGS, ATTRIBUTES)
        if entity is None or entity not in allowed:
            names = ", ".join(allowed)
            raise self.fail(
                f"unknown kind {ident.entity!r} in {ident.text!r}: expected one of {names} "
                "(kinds are lower-case)",
                ident.pos,
            )
        return entity

    def attribute(self, ident: Identifier) -> _Attribute:
        found = self.attributes.get(ident.key)
        if found is None:
            names = ", ".join(self.attributes)
            raise self.fail(f"unknown attribute {ident.key!r}: expected one of {names}", ident.pos)
        return found

    def column(self, attr: _Attribute, sql: _Sql) -> str:
        if "?" in attr.column:
            sql.params.append(self.artifact_root)
        return attr.column

    # -- conditions ----------------------------------------------------------------------

    def compile(self, node: Node, sql: _Sql) -> None:
        """Append the SQL condition of `node` to `sql`."""
        expr, _members = self.condition(node)
        sql.add(expr.sql(), *expr.params)

    def condition(self, node: Node) -> tuple[_Sql, _Sql | None]:
        """(the condition, and when it is `owner IN (SELECT ...)`, that SELECT).

        AND and OR of such conditions become one IN over an INTERSECT or UNION of the
        SELECTs: SQLite then looks up only the runs that match, not every run.
        """
        if not isinstance(node, BoolOp):
            expr = _Sql()
            if isinstance(node, Comparison):
                self.comparison(node, expr)
            elif isinstance(node, NullCheck):
                self.null_check(node, expr)
            else:
                self.in_list(node, expr)
            return expr, expr.subquery
        parts = [self.condition(item) for item in node.items]
        subqueries = [members for _expr, members in parts if members is not None]
        others = [expr for expr, members in parts if members is None]
        if node.op == "OR" and others:
            subqueries, others = [], [expr for expr, _m in parts]
        combined = None
        if subqueries:
            combined = _Sql()
            word = " INTERSECT " if node.op == "AND" else " UNION "
            for index, members in enumerate(subqueries):
                if index:
                    combined.add(word)
                text = members.sql()
                if " INTERSECT " in text or " UNION " in text:
                    text = f"SELECT * FROM ({text})"  # compound members need their own level
                combined.add(text, *members.params)
        expr = _Sql()
        expr.add("(")
        pieces: list[_Sql] = []
        if combined is not None:
            piece = _Sql()
            piece.add(f"{self.owner} IN (")
            piece.add(combined.sql(), *combined.params)
            piece.add(")")
            pieces.append(piece)
        pieces += others
        for index, piece in enumerate(pieces):
            if index:
                expr.add(f" {node.op} ")  # AND / OR: from the parser's fixed set
            expr.add(piece.sql(), *piece.params)
        expr.add(")")
        return expr, (combined if not others else None)

    def member_of(self, sql: _Sql, subquery: str, *params: Any) -> None:
        """Write `owner IN (subquery)`, and remember the subquery for combining."""
        sql.add(f"{self.owner} IN ({subquery})", *params)
        sql.subquery = _Sql()
        sql.subquery.add(subquery, *params)

    def comparison(self, node: Comparison, sql: _Sql) -> None:
        ident, op, value = node.ident, node.op, node.value
        entity = self.entity(ident)
        if entity == METRICS:
            if op not in ("=", "!=", "<", "<=", ">", ">="):
                raise self.fail(f"metrics compare with = != < <= > >=, not {op}", node.op_pos)
            if not isinstance(value, float):
                raise self.fail(
                    f"{ident.text} is a metric: compare it with a number, as in "
                    f"{ident.text} > 0.5 (found the string {value!r})",
                    node.value_pos,
                )
            test = "(s.value IS NULL OR s.value != ?)" if op == "!=" else f"s.value {op} ?"
            self.member_of(
                sql,
                "SELECT s.run FROM metric_summaries AS s WHERE s.key = "
                f"(SELECT id FROM metric_keys WHERE key = ?) AND {test}",
                ident.key,
                value,
            )
            return
        if entity in (PARAMS, TAGS):
            if op not in ("=", "!=", "LIKE", "ILIKE"):
                raise self.fail(
                    f"{entity} compare as strings, with = != LIKE ILIKE, not {op}", node.op_pos
                )
            if not isinstance(value, str):
                raise self.fail(
                    f"{ident.text} is a string: quote the value, as in {ident.text} = "
                    f"'{_number_text(value)}'",
                    node.value_pos,
                )
            table, owner_column = self.key_value_table(entity)
            test, pattern = _string_test("p.value", op, value)
            subquery = f"SELECT p.{owner_column} FROM {table} AS p WHERE p.key = ? AND {test}"
            self.member_of(sql, subquery, ident.key, pattern)
            return
        attr = self.attribute(ident)
        if attr.kind == NUMBER:
            if op not in ("=", "!=", "<", "<=", ">", ">="):
                raise self.fail(
                    f"{ident.text} is a number: compare it with = != < <= > >=, not {op}",
                    node.op_pos,
                )
            if not isinstance(value, float):
                raise self.fail(
                    f"{ident.text} is a number: compare it with a number, not {value!r}",
                    node.value_pos,
                )
            column = self.column(attr, sql)
            sql.add(f"{column} {op} ?", value)
            return
        if op not in ("=", "!=", "LIKE", "ILIKE"):
            raise self.fail(
                f"{ident.text} is a string: compare it with = != LIKE ILIKE, not {op}",
                node.op_pos,
            )
        if not isinstance(value, str):
            raise self.fail(
                f"{ident.text} is a string: quote the value, as in {ident.text} = "
                f"'{_number_text(value)}'",
                node.value_pos,
            )
        if ident.key == "status" and op in ("=", "!=") and value not in RUN_STATUSES:
            raise self.fail(
                f"{value!r} is not a run status: expected one of {', '.join(RUN_STATUSES)}",
                node.value_pos,
            )
        column = self.column(attr, sql)
        test, pattern = _string_test(column, op, value)
        sql.add(test, pattern)

    def null_check(self, node: NullCheck, sql: _Sql) -> None:
        entity = self.entity(node.ident)
        if entity not in (PARAMS, TAGS):
            raise self.fail(
                f"IS NULL works on params and tags, not on {entity} ({node.ident.text})",
                node.op_pos,
            )
        table, owner_column = self.key_value_table(entity)
        subquery = f"SELECT p.{owner_column} FROM {table} AS p WHERE p.key = ?"
        if node.negated:
            self.member_of(sql, subquery, node.ident.key)
        else:
            sql.add(f"{self.owner} NOT IN ({subquery})", node.ident.key)

    def key_value_table(self, entity: str) -> tuple[str, str]:
        """(table, owner column in the table) of params or tags."""
        if self.experiments:
            return "experiment_tags", "experiment_id"
        return ("params" if entity == PARAMS else "tags"), "run"

    def in_list(self, node: InList, sql: _Sql) -> None:
        entity = self.entity(node.ident)
        attr = self.attribute(node.ident) if entity == ATTRIBUTES else None
        if attr is None or not attr.allows_in:
            raise self.fail(
                f"IN works on attributes.run_id only, not on {node.ident.text}", node.op_pos
            )
        for value in node.values:
            if not isinstance(value, str):
                raise self.fail(
                    f"run ids in an IN list are quoted strings, not {_number_text(value)}",
                    node.value_pos,
                )
        marks = ",".join("?" * len(node.values))
        sql.add(f"{attr.column} {'NOT IN' if node.negated else 'IN'} ({marks})", *node.values)

    # -- ordering ------------------------------------------------------------------------

    def order_column(self, key: OrderKey, index: int, joins: _Sql) -> str:
        """The SQL expression of a sort key; metrics, params and tags get a LEFT JOIN."""
        ident = key.ident
        try:
            entity = ATTRIBUTES if ident.entity is None else self.entity(ident)
            if entity == ATTRIBUTES:
                attr = self.attribute(ident)
                # artifact_uri is the store's artifact root followed by the run id.
                return "r.run_id" if ident.key == "artifact_uri" else attr.column
        except FilterError as exc:
            raise FilterError(exc.message, exc.text, exc.position, item=key.item) from None
        alias = f"o{index}"
        if entity == METRICS:
            joins.add(
                f" LEFT JOIN metric_summaries AS {alias} ON {alias}.run = r.id AND {alias}.key = "
                "(SELECT id FROM metric_keys WHERE key = ?)",
                ident.key,
            )
        elif self.experiments:
            joins.add(
                f" LEFT JOIN experiment_tags AS {alias} ON {alias}.experiment_id = "
                f"e.experiment_id AND {alias}.key = ?",
                ident.key,
            )
        else:
            table = "params" if entity == PARAMS else "tags"
            joins.add(
                f" LEFT JOIN {table} AS {alias} ON {alias}.run = r.id AND {alias}.key = ?",
                ident.key,
            )
        return f"{alias}.value"


def _number_text(value: object) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _string_test(column: str, op: str, value: str) -> tuple[str, str]:
    if op == "LIKE":
        return f"{column} GLOB ?", like_to_glob(value)
    if op == "ILIKE":
        return f"{column} LIKE ?", value
    return f"{column} {op} ?", value


# -- pagination ---------------------------------------------------------------------------


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def _encode_token(values: Sequence[Any], fingerprint: str) -> str:
    raw = json.dumps({"v": list(values), "q": fingerprint}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, fingerprint: str, width: int) -> list[Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        values = data["v"]
        ok = isinstance(values, list) and len(values) == width and data["q"] == fingerprint
    except (ValueError, TypeError, KeyError):
        ok = False
    if not ok:
        raise PageTokenError(
            "invalid page token: it is damaged or belongs to another search (same filter, "
            "order_by, experiments and view are needed)"
        )
    return values


def _after(columns: Sequence[tuple[str, bool]], values: Sequence[Any], sql: _Sql) -> None:
    """WHERE rows sort strictly after `values` (NULLs last in either direction)."""
    sql.add("(")
    for i, (column, descending) in enumerate(columns):
        if i:
            sql.add(" OR ")
        sql.add("(")
        for column_j, value_j in zip([c for c, _ in columns[:i]], values[:i], strict=True):
            if value_j is None:
                sql.add(f"{column_j} IS NULL AND ")
            else:
                sql.add(f"{column_j} = ? AND ", value_j)
        value = values[i]
        if value is None:
            sql.add("0")  # nothing sorts after a NULL but other NULLs: a tie on this key
        else:
            sql.add(f"({column} IS NULL OR {column} {'<' if descending else '>'} ?)", value)
        sql.add(")")
    sql.add(")")


# -- searches -----------------------------------------------------------------------------


class PagedList(list[Any]):
    """A page of results; `token` fetches the next page (None on the last page)."""

    def __init__(self, items: Iterable[Any], token: str | None) -> None:
        super().__init__(items)
        self.token = token


def _check_max_results(max_results: int | None) -> int:
    if max_results is None:
        return DEFAULT_MAX_RESULTS
    if isinstance(max_results, bool) or not isinstance(max_results, int):
        raise ValidationError(f"max_results must be an integer, not {max_results!r}")
    if not 1 <= max_results <= MAX_RESULTS_LIMIT:
        raise ValidationError(
            f"max_results must be between 1 and {MAX_RESULTS_LIMIT}, not {max_results}"
        )
    return max_results


def compile_run_search(
    store: Store,
    experiment_ids: list[int] | None,
    filter_string: str | None,
    order_by: Sequence[str] | None,
    view: str,
) -> tuple[_Sql, _Sql, list[tuple[str, bool]], str]:
    """(select-and-from, where, sort columns, fingerprint) of a run search."""
    from mltop.store.tracking import ARTIFACTS_DIR, RUN_COLUMNS

    text = filter_string or ""
    root = f"{store.path / ARTIFACTS_DIR}/"
    compiler = _Compiler(text, experiments=False, artifact_root=root)
    tree = parse_filter(text)
    keys = parse_order_by(order_by) or parse_order_by(["start_time DESC"])
    head = _Sql()
    joins = _Sql()
    columns = [(compiler.order_column(k, i, joins), k.descending) for i, k in enumerate(keys)]
    if not any(c == "r.run_id" for c, _ in columns):
        columns.append(("r.run_id", False))
    head.add(f"SELECT {RUN_COLUMNS}")
    for column, _ in columns:
        head.add(f", {column}")
    head.add(" FROM runs AS r JOIN experiments AS e ON e.experiment_id = r.experiment_id")
    head.add(joins.sql(), *joins.params)
    where = _Sql()
    where.add(" WHERE 1")
    if experiment_ids is not None:
        # With a filter, the unary + keeps SQLite from preferring the experiment index over
        # driving the query from the (usually far more selective) filter's subqueries.
        plus = "+" if tree is not None else ""
        marks = ",".join("?" * len(experiment_ids))
        where.add(f" AND {plus}r.experiment_id IN ({marks})", *experiment_ids)
    if view == "active":
        where.add(" AND r.lifecycle_stage = 'active' AND e.lifecycle_stage = 'active'")
    elif view == "deleted":
        where.add(" AND (r.lifecycle_stage = 'deleted' OR e.lifecycle_stage = 'deleted')")
    if tree is not None:
        where.add(" AND ")
        compiler.compile(tree, where)
    fingerprint = _fingerprint(text, list(order_by or []), experiment_ids, view)
    return head, where, columns, fingerprint


def _order_clause(columns: Sequence[tuple[str, bool]]) -> str:
    parts = []
    for column, descending in columns:
        parts.append(f"({column} IS NULL), {column} {'DESC' if descending else 'ASC'}")
    return " ORDER BY " + ", ".join(parts)


def _page(
    store: Store,
    sql: _Sql,
    columns: Sequence[tuple[str, bool]],
    fingerprint: str,
    page_token: str | None,
    limit: int,
) -> tuple[list[tuple], str | None]:
    """Run a query whose rows end with the sort columns: one page, and the next token."""
    if page_token:
        sql.add(" AND ")
        _after(columns, _decode_token(page_token, fingerprint, len(columns)), sql)
    sql.add(_order_clause(columns) + " LIMIT ?", limit + 1)
    rows = store.thread_connection().execute(sql.sql(), sql.params).fetchall()
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, _encode_token(rows[-1][-len(columns) :], fingerprint)


def search_runs(
    store: Store,
    experiment_ids: list[int] | None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int | None = DEFAULT_MAX_RESULTS,
    page_token: str | None = None,
    view: str = "active",
    *,
    rows: bool = False,
) -> PagedList:
    """A page of Runs (or, with `rows`, of RunRows) and the next page's token."""
    limit = _check_max_results(max_results)
    head, where, columns, fingerprint = compile_run_search(
        store, experiment_ids, filter_string, order_by, view
    )
    sql = _Sql(list(head.text) + list(where.text), list(head.params) + list(where.params))
    found, token = _page(store, sql, columns, fingerprint, page_token, limit)
    width = len(columns)
    run_rows = [row[:-width] for row in found]
    if rows:
        return PagedList(store.run_rows_from_rows(run_rows), token)
    return PagedList(store.runs_from_rows(run_rows), token)


def iter_runs(
    store: Store,
    experiment_ids: list[int] | None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    view: str = "active",
    page_size: int = 1000,
) -> Iterator[Run]:
    """Every matching run, one page at a time (for streaming exports)."""
    token = None
    while True:
        page = search_runs(store, experiment_ids, filter_string, order_by, page_size, token, view)
        yield from page
        token = page.token
        if token is None:
            return


def matching_keys(
    store: Store, experiment_ids: list[int] | None, filter_string: str | None, view: str
) -> dict[str, list[str]]:
    """The param, metric and tag keys present among the runs a filter matches."""
    _head, where, _columns, _fp = compile_run_search(
        store, experiment_ids, filter_string, None, view
    )
    runs = (
        "SELECT r.id FROM runs AS r JOIN experiments AS e ON e.experiment_id = r.experiment_id"
        + where.sql()
    )
    conn = store.thread_connection()
    out = {}
    for name, query in (
        ("params", f"SELECT DISTINCT key FROM params WHERE run IN ({runs}) ORDER BY key"),
        ("tags", f"SELECT DISTINCT key FROM tags WHERE run IN ({runs}) ORDER BY key"),
        (
            "metrics",
            "SELECT k.key FROM metric_keys AS k WHERE k.id IN (SELECT DISTINCT key "
            f"FROM metric_summaries WHERE run IN ({runs})) ORDER BY k.key",
        ),
    ):
        out[name] = [row[0] for row in conn.execute(query, where.params)]
    return out


def search_experiments(
    store: Store,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int | None = DEFAULT_MAX_RESULTS,
    page_token: str | None = None,
    view: str = "active",
) -> PagedList:
    """Experiments by name and tags: `name LIKE 'resnet%' and tags.team = 'vision'`."""
    limit = _check_max_results(max_results)
    text = filter_string or ""
    compiler = _Compiler(text, experiments=True)
    tree = parse_filter(text)
    keys = parse_order_by(order_by) or parse_order_by(["experiment_id ASC"])
    joins = _Sql()
    columns = [(compiler.order_column(k, i, joins), k.descending) for i, k in enumerate(keys)]
    if not any(c == "e.experiment_id" for c, _ in columns):
        columns.append(("e.experiment_id", False))
    sql = _Sql()
    sql.add("SELECT e.experiment_id")
    for column, _ in columns:
        sql.add(f", {column}")
    sql.add(" FROM experiments AS e")
    sql.add(joins.sql(), *joins.params)
    sql.add(" WHERE 1")
    if view != "all":
        sql.add(" AND e.lifecycle_stage = ?", view)
    if tree is not None:
        sql.add(" AND ")
        compiler.compile(tree, sql)
    fingerprint = _fingerprint("experiments", text, list(order_by or []), view)
    rows, token = _page(store, sql, columns, fingerprint, page_token, limit)
    by_id: dict[int, Experiment] = {
        int(e.experiment_id): e for e in store.experiments_by_ids([row[0] for row in rows])
    }
    return PagedList([by_id[row[0]] for row in rows], token)
