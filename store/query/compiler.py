"""The filter language compiled to parameterized SQL over the store's logical tables.

No text a user typed is ever part of the SQL: keys, values and patterns are all bound
parameters; the SQL text is assembled only from the fixed fragments below, chosen by
the AST's shape. Semantics follow MLflow's `search_runs`:

- each condition is an uncorrelated `IN (SELECT ...)` over a (key, value) index, which
  SQLite evaluates once and can drive the whole query from;
- a metric filter compares the run's latest value; a run without the key never matches,
  not even `!=` (and a NaN latest value matches only `!=`);
- params and tags compare as strings; LIKE is case-sensitive, ILIKE folds ASCII case;
- MLflow's system tags `mlflow.runName`, `mlflow.user` and `mlflow.parentRunId` are the
  run's columns (name, user, parent), read wherever a tag is (filters and order_by);
- ordering puts numbers in the asked direction, then NaN, then missing values (in both
  directions), and breaks ties with `start_time DESC`, then the run id, as MLflow does
  (experiments: the experiment id).

The compiler is also the filter language's type checker: `Compiler.compile` raises
`FilterError` for a filter that parses but means nothing (a string compared with `<` on a
metric, an unknown attribute), which is how a policy is validated (`query/policy.py`).
Running the SQL, and paging through it, is the SQLite backend's (`sqlite/search.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mltop.store.entities import LOST_AFTER_INTERVALS
from mltop.store.errors import FilterError
from mltop.store.query.parser import (
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
from mltop.store.system import TAG_MLFLOW_PARENT_RUN, TAG_MLFLOW_RUN_NAME, TAG_MLFLOW_USER

METRICS, PARAMS, TAGS, ATTRIBUTES = "metrics", "params", "tags", "attributes"
ENTITIES = {
    "metrics": METRICS, "metric": METRICS,
    "params": PARAMS, "param": PARAMS, "parameters": PARAMS,
    "tags": TAGS, "tag": TAGS,
    "attributes": ATTRIBUTES, "attribute": ATTRIBUTES, "attr": ATTRIBUTES, "run": ATTRIBUTES,
}  # fmt: skip

NUMBER, STRING = "number", "string"

# `dataset.K` / `datasets.K` in a run search: K's column (i: run_inputs, d: datasets).
DATASET_KINDS = ("dataset", "datasets")
DATASET_COLUMNS = {"name": "d.name", "digest": "d.digest", "context": "i.context"}


@dataclass(frozen=True)
class Attribute:
    kind: str  # NUMBER or STRING
    column: str  # SQL over the aliases r (runs) or e (experiments); fixed text
    allows_in: bool = False


# How long a run ran, in ms, now: to its end; a RUNNING run whose heartbeats stopped (LOST)
# to its last heartbeat; any other to now (as the runs table shows it). Fixed text.
_NOW_MS = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
DURATION = (
    f"(CASE WHEN r.end_time IS NOT NULL THEN r.end_time "
    f"WHEN r.status = 'RUNNING' AND r.heartbeat_time IS NOT NULL AND {_NOW_MS} - "
    f"r.heartbeat_time > {LOST_AFTER_INTERVALS} * r.heartbeat_interval_ms "
    f"THEN r.heartbeat_time ELSE {_NOW_MS} END - r.start_time)"
)

RUN_ATTRIBUTES = {
    "run_id": Attribute(STRING, "r.run_id", allows_in=True),
    "run_name": Attribute(STRING, "r.name"),
    "status": Attribute(STRING, "r.status"),
    "user_id": Attribute(STRING, "r.user_id"),
    "artifact_uri": Attribute(STRING, "(? || r.run_id)"),  # ? = the store's artifact root/
    "start_time": Attribute(NUMBER, "r.start_time"),
    "created": Attribute(NUMBER, "r.start_time"),
    "end_time": Attribute(NUMBER, "r.end_time"),
    "duration": Attribute(NUMBER, DURATION),  # beyond MLflow: ms, as start_time
}
EXPERIMENT_ATTRIBUTES = {
    "experiment_id": Attribute(NUMBER, "e.experiment_id", allows_in=True),
    "name": Attribute(STRING, "e.name"),
    "creation_time": Attribute(NUMBER, "e.creation_time"),
    "last_update_time": Attribute(NUMBER, "e.last_update_time"),
}

# MLflow's system tags that are a run's own columns, never stored as tag rows: a run has
# the tag when the column is set (not NULL, not empty).
DERIVED_TAGS = {
    TAG_MLFLOW_RUN_NAME: "r.name",
    TAG_MLFLOW_USER: "r.user_id",
    TAG_MLFLOW_PARENT_RUN: "r.parent_run_id",
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
class Sql:
    """SQL text and its parameters, built side by side."""

    text: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    subquery: Sql | None = None  # set when the text is exactly `owner IN (subquery)`

    def add(self, text: str, *params: Any) -> None:
        self.text.append(text)
        self.params.extend(params)

    def sql(self) -> str:
        return "".join(self.text)


class Compiler:
    """Compiles a filter AST for one kind of search: runs or experiments."""

    def __init__(self, text: str, *, experiments: bool, artifact_root: str = "") -> None:
        self.text = text
        self.experiments = experiments
        self.attributes = EXPERIMENT_ATTRIBUTES if experiments else RUN_ATTRIBUTES
        self.owner = "e.experiment_id" if experiments else "r.id"
        self.artifact_root = artifact_root

    def fail(self, message: str, pos: int) -> FilterError:
        return FilterError(message, self.text, pos)

    def entity(self, ident: Identifier) -> str:
        if ident.entity is None:
            return ATTRIBUTES  # a bare key names an attribute, as in MLflow
        entity = ENTITIES.get(ident.entity)
        allowed = (ATTRIBUTES, TAGS) if self.experiments else (METRICS, PARAMS, TAGS, ATTRIBUTES)
        if entity is None or entity not in allowed:
            names = ", ".join(allowed)
            raise self.fail(
                f"unknown kind {ident.entity!r} in {ident.text!r}: expected one of {names} "
                "(kinds are lower-case)",
                ident.pos,
            )
        return entity

    def attribute(self, ident: Identifier) -> Attribute:
        found = self.attributes.get(ident.key)
        if found is None:
            names = ", ".join(self.attributes)
            kinds = "tags" if self.experiments else "metrics, params or tags"
            hint = "" if ident.entity else f" (a key of {kinds} needs its kind, as in tags.x)"
            raise self.fail(
                f"unknown attribute {ident.key!r} in {ident.text!r}: expected one of {names}"
                + hint,
                ident.pos,
            )
        return found

    def derived_tag(self, ident: Identifier, entity: str) -> str | None:
        """The run column a system tag (`tags.mlflow.runName`, ...) is read from, if any."""
        if self.experiments or entity != TAGS:
            return None
        return DERIVED_TAGS.get(ident.key)

    def column(self, attr: Attribute, sql: Sql) -> str:
        if "?" in attr.column:
            sql.params.append(self.artifact_root)
        return attr.column

    # -- conditions ----------------------------------------------------------------------

    def compile(self, node: Node, sql: Sql) -> None:
        """Append the SQL condition of `node` to `sql`."""
        expr, _members = self.condition(node)
        sql.add(expr.sql(), *expr.params)

    def condition(self, node: Node) -> tuple[Sql, Sql | None]:
        """(the condition, and when it is `owner IN (SELECT ...)`, that SELECT).

        AND and OR of such conditions become one IN over an INTERSECT or UNION of the
        SELECTs: SQLite then looks up only the runs that match, not every run.
        """
        if not isinstance(node, BoolOp):
            expr = Sql()
            if not self.experiments and node.ident.entity in DATASET_KINDS:
                self.dataset_comparison(node, expr)
            elif isinstance(node, Comparison):
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
            combined = Sql()
            word = " INTERSECT " if node.op == "AND" else " UNION "
            for index, members in enumerate(subqueries):
                if index:
                    combined.add(word)
                text = members.sql()
                if " INTERSECT " in text or " UNION " in text:
                    text = f"SELECT * FROM ({text})"  # compound members need their own level
                combined.add(text, *members.params)
        expr = Sql()
        expr.add("(")
        pieces: list[Sql] = []
        if combined is not None:
            piece = Sql()
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

    def member_of(self, sql: Sql, subquery: str, *params: Any) -> None:
        """Write `owner IN (subquery)`, and remember the subquery for combining."""
        sql.add(f"{self.owner} IN ({subquery})", *params)
        sql.subquery = Sql()
        sql.subquery.add(subquery, *params)

    def comparison(self, node: Comparison, sql: Sql) -> None:
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
            column = self.derived_tag(ident, entity)
            if column is not None:  # the tag is set when the column is: != needs it too
                test, pattern = _string_test(column, op, value)
                sql.add(f"({column} != '' AND {test})", pattern)
                return
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
            if isinstance(value, str) and attr.allows_in:  # MLflow quotes experiment ids
                value = self.experiment_id(value, node.value_pos)
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
        column = self.column(attr, sql)
        test, pattern = _string_test(column, op, value)
        sql.add(test, pattern)

    def dataset_comparison(self, node: Comparison | NullCheck | InList, sql: Sql) -> None:
        """`dataset.name`, `dataset.digest` or `dataset.context` (or `datasets.`): the runs
        with some dataset input whose value compares true (MLflow's meaning: conditions
        joined by AND may each hold of a different input)."""
        ident = node.ident
        column = DATASET_COLUMNS.get(ident.key)
        if column is None:
            raise self.fail(
                f"unknown dataset key {ident.key!r} in {ident.text!r}: expected one of "
                f"{', '.join(DATASET_COLUMNS)}",
                ident.pos,
            )
        if isinstance(node, NullCheck):
            raise self.fail(
                f"datasets compare with = != LIKE ILIKE IN NOT IN, not IS NULL ({ident.text})",
                node.op_pos,
            )
        values = node.values if isinstance(node, InList) else (node.value,)
        for value in values:
            if not isinstance(value, str):
                raise self.fail(
                    f"{ident.text} is a string: quote the value, as in {ident.text} = "
                    f"'{_number_text(value)}'",
                    node.value_pos,
                )
        source = "run_inputs AS i"
        if ident.key != "context":
            source += " JOIN datasets AS d ON d.id = i.dataset"
        if isinstance(node, InList):
            marks = ",".join("?" * len(values))
            test = f"{column} {'NOT IN' if node.negated else 'IN'} ({marks})"
            self.member_of(sql, f"SELECT i.run FROM {source} WHERE {test}", *values)
            return
        if node.op not in ("=", "!=", "LIKE", "ILIKE"):
            raise self.fail(
                f"datasets compare as strings, with = != LIKE ILIKE IN NOT IN, not {node.op}",
                node.op_pos,
            )
        test, pattern = _string_test(column, node.op, str(node.value))
        self.member_of(sql, f"SELECT i.run FROM {source} WHERE {test}", pattern)

    def null_check(self, node: NullCheck, sql: Sql) -> None:
        entity = self.entity(node.ident)
        if entity not in (PARAMS, TAGS):
            raise self.fail(
                f"IS NULL works on params and tags, not on {entity} ({node.ident.text})",
                node.op_pos,
            )
        column = self.derived_tag(node.ident, entity)
        if column is not None:
            test = f"{column} != ''" if node.negated else f"({column} IS NULL OR {column} = '')"
            sql.add(test)
            return
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

    def in_list(self, node: InList, sql: Sql) -> None:
        entity = self.entity(node.ident)
        attr = self.attribute(node.ident) if entity == ATTRIBUTES else None
        if attr is None or not attr.allows_in:
            key = "experiment_id" if self.experiments else "attributes.run_id"
            raise self.fail(f"IN works on {key} only, not on {node.ident.text}", node.op_pos)
        values: list[object] = []
        for value in node.values:
            if not isinstance(value, str):
                raise self.fail(
                    f"ids in an IN list are quoted strings, not {_number_text(value)}",
                    node.value_pos,
                )
            values.append(self.experiment_id(value, node.value_pos) if self.experiments else value)
        marks = ",".join("?" * len(values))
        sql.add(f"{attr.column} {'NOT IN' if node.negated else 'IN'} ({marks})", *values)

    def experiment_id(self, value: str, pos: int) -> float:
        if not value.strip().isdigit():
            raise self.fail(f"an experiment id is an integer, not {value!r}", pos)
        return float(int(value))

    # -- ordering ------------------------------------------------------------------------

    def order_columns(self, keys: Sequence[OrderKey], joins: Sql) -> list[tuple[str, bool]]:
        """(SQL expression, descending) of every sort column, MLflow's tie-breaks included:
        after the caller's keys, `start_time DESC` (unless a key sorts by it) and the run
        id; for experiments, the experiment id. A metric sorts by a rank first (0 a number,
        1 NaN, 2 no such metric), so NaN and missing come last in either direction."""
        columns: list[tuple[str, bool]] = []
        seen: set[tuple[str, str]] = set()
        for index, key in enumerate(keys):
            try:
                entity = self.entity(key.ident)
                field = (
                    entity if key.extreme is None else f"{key.extreme}:{entity}",
                    key.ident.key,
                )
                if field in seen:
                    raise self.fail(
                        f"order_by names {key.ident.text!r} twice (duplicate fields)",
                        key.ident.pos,
                    )
                if key.extreme is not None and entity != METRICS:
                    raise self.fail(
                        f"{key.extreme}() takes a metric, as in {key.extreme}(metrics.loss); "
                        f"{key.ident.text!r} is not one",
                        key.ident.pos,
                    )
                seen.add(field)
                expressions = self.order_expressions(key.ident, entity, index, joins, key.extreme)
            except FilterError as exc:
                raise FilterError(exc.message, exc.text, exc.position, item=key.item) from None
            columns += [(expr, key.descending and not rank) for expr, rank in expressions]
        if self.experiments:
            if (ATTRIBUTES, "experiment_id") not in seen:
                columns.append(("e.experiment_id", False))
            return columns
        if (ATTRIBUTES, "start_time") not in seen:
            columns.append(("r.start_time", True))
        if (ATTRIBUTES, "run_id") not in seen:
            columns.append(("r.run_id", False))
        return columns

    def order_expressions(
        self, ident: Identifier, entity: str, index: int, joins: Sql, extreme: str | None = None
    ) -> list[tuple[str, bool]]:
        """(expression, is a rank) of one sort key; metrics, params and tags get a LEFT JOIN.
        `extreme` ("min" or "max"): a metric's smallest or largest value, not its latest."""
        if entity == ATTRIBUTES:
            attr = self.attribute(ident)
            # artifact_uri is the store's artifact root followed by the run id.
            return [("r.run_id" if ident.key == "artifact_uri" else attr.column, False)]
        column = self.derived_tag(ident, entity)
        if column is not None:
            return [(f"NULLIF({column}, '')", False)]
        alias = f"o{index}"
        if entity == METRICS:
            joins.add(
                f" LEFT JOIN metric_summaries AS {alias} ON {alias}.run = r.id AND {alias}.key = "
                "(SELECT id FROM metric_keys WHERE key = ?)",
                ident.key,
            )
            # A NaN latest value is stored as NULL in a summary row (min and max: NULL when
            # every value is NaN); no row: no such metric.
            column = f"{alias}.{extreme or 'value'}"  # fixed words: value, min, max
            rank = f"(CASE WHEN {alias}.run IS NULL THEN 2 WHEN {column} IS NULL THEN 1 ELSE 0 END)"
            return [(rank, True), (column, False)]
        if self.experiments:
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
        return [(f"{alias}.value", False)]


def _number_text(value: object) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _string_test(column: str, op: str, value: str) -> tuple[str, str]:
    if op == "LIKE":
        return f"{column} GLOB ?", like_to_glob(value)
    if op == "ILIKE":
        return f"{column} LIKE ?", value
    return f"{column} {op} ?", value


# -- pagination ---------------------------------------------------------------------------


def check_run_search(filter_string: str | None, order_by: Sequence[str] | None = None) -> None:
    """Raise the `FilterError` a run search with this filter and order would raise, reading
    nothing: what a front end checks as the user types, before any store is asked."""
    text = filter_string or ""
    compiler = Compiler(text, experiments=False)
    tree = parse_filter(text)
    compiler.order_columns(parse_order_by(order_by), Sql())
    if tree is not None:
        compiler.compile(tree, Sql())
