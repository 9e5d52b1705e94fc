"""Searching runs and experiments in the SQLite store: the compiled filter run as one
query, a page at a time (keyset pagination, `query/paging.py`), ordered as MLflow orders
(numbers, then NaN, then missing values, in both directions; ties broken by start time,
newest first, then the run id), so that pages are stable: every sort column, the ranks
that place NaN and missing values included, is part of the page token."""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from mltop.store.entities import Experiment, Run
from mltop.store.location import ARTIFACTS_DIR
from mltop.store.query import paging
from mltop.store.query.compiler import Compiler, Sql
from mltop.store.query.paging import DEFAULT_MAX_RESULTS, PagedList, check_max_results
from mltop.store.query.parser import parse_filter, parse_order_by
from mltop.store.sqlite.database import CACHE_KIB
from mltop.store.sqlite.schema import RUN_COLUMNS

if TYPE_CHECKING:
    from mltop.store.sqlite.tracking import Store


def _after(columns: Sequence[tuple[str, bool]], values: Sequence[Any], sql: Sql) -> None:
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


# Runs: a scan over more keeps none of its pages in the connection's cache afterwards (a
# dashboard's reads run on several connections; a million runs would fill each cache).
BIG_SCAN = 100_000
SCAN_CACHE_KIB = 8 * 1024

RUNS_FROM = " FROM runs AS r JOIN experiments AS e ON e.experiment_id = r.experiment_id"


def compile_run_search(
    store: Store,
    experiment_ids: list[int] | None,
    filter_string: str | None,
    order_by: Sequence[str] | None,
    view: str,
) -> tuple[Sql, Sql, list[tuple[str, bool]], str]:
    """(select-and-from, where, sort columns, fingerprint) of a run search."""
    text = filter_string or ""
    root = f"{store.path / ARTIFACTS_DIR}/"
    compiler = Compiler(text, experiments=False, artifact_root=root)
    tree = parse_filter(text)
    head = Sql()
    joins = Sql()
    # No order_by: the tie-breaks alone, start_time DESC then the run id (MLflow's default).
    columns = compiler.order_columns(parse_order_by(order_by), joins)
    head.add(f"SELECT {RUN_COLUMNS}")
    for column, _ in columns:
        head.add(f", {column}")
    head.add(RUNS_FROM + joins.sql(), *joins.params)
    where = Sql()
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
    fingerprint = paging.fingerprint(text, list(order_by or []), experiment_ids, view)
    return head, where, columns, fingerprint


NOT_NULL = {"r.run_id", "e.experiment_id"}


def _order_clause(columns: Sequence[tuple[str, bool]]) -> str:
    """NULLs last in both directions. SQLite sorts NULL first, so a descending key needs
    nothing more, nor a column never NULL: the default order (start_time DESC, run_id)
    is then an index's order (idx_runs_newest), read without sorting."""
    parts = []
    for column, descending in columns:
        if descending or column in NOT_NULL:
            parts.append(f"{column} {'DESC' if descending else 'ASC'}")
        else:
            parts.append(f"({column} IS NULL), {column} ASC")
    return " ORDER BY " + ", ".join(parts)


def _page(
    store: Store,
    sql: Sql,
    columns: Sequence[tuple[str, bool]],
    fingerprint: str,
    page_token: str | None,
    limit: int,
) -> tuple[list[tuple], str | None]:
    """Run a query whose rows end with the sort columns: one page, and the next token."""
    if page_token:
        sql.add(" AND ")
        _after(columns, paging.decode_token(page_token, fingerprint, len(columns)), sql)
    sql.add(_order_clause(columns) + " LIMIT ?", limit + 1)
    rows = store.thread_connection().execute(sql.sql(), sql.params).fetchall()
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, paging.encode_token(rows[-1][-len(columns) :], fingerprint)


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
    limit = check_max_results(max_results)
    head, where, columns, fingerprint = compile_run_search(
        store, experiment_ids, filter_string, order_by, view
    )
    sql = Sql(list(head.text) + list(where.text), list(head.params) + list(where.params))
    found, token = _page(store, sql, columns, fingerprint, page_token, limit)
    width = len(columns)
    run_rows = [row[:-width] for row in found]
    if rows:
        return PagedList(store.run_rows_from_rows(run_rows), token)
    return PagedList(store.runs_from_rows(run_rows), token)


def run_order(
    store: Store,
    experiment_ids: list[int] | None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    view: str = "active",
) -> array[int]:
    """The row keys of every matching run, in the search's order (a million runs: 8 MB
    and about a second): a table shows any window of them with `run_rows_by_keys`."""
    head, where, columns, _fingerprint = compile_run_search(
        store, experiment_ids, filter_string, order_by, view
    )
    # The head's joins (those the sort needs) without its select list.
    sql = Sql()
    sql.add("SELECT r.id" + RUNS_FROM + head.sql().partition(RUNS_FROM)[2], *head.params)
    sql.add(where.sql(), *where.params)
    sql.add(_order_clause(columns))
    keys = array("q")
    conn = store.thread_connection()
    # A smaller cache for this scan bounds what its sort holds too (a million runs sorted
    # by a metric took some 60 MB more); the scan's pages are let go after it.
    conn.execute(f"PRAGMA cache_size = -{SCAN_CACHE_KIB}")
    try:
        cursor = conn.execute(sql.sql(), sql.params)
        while batch := cursor.fetchmany(50_000):
            keys.extend(row[0] for row in batch)
    finally:
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    if len(keys) > BIG_SCAN:
        conn.execute("PRAGMA shrink_memory")
    return keys


def count_runs(
    store: Store,
    experiment_ids: list[int] | None,
    filter_string: str | None = None,
    view: str = "active",
) -> int:
    """How many runs a search matches."""
    _head, where, _columns, _fingerprint = compile_run_search(
        store, experiment_ids, filter_string, None, view
    )
    sql = "SELECT count(*)" + RUNS_FROM + where.sql()
    return int(store.thread_connection().execute(sql, where.params).fetchone()[0])


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
    runs = "SELECT r.id" + RUNS_FROM + where.sql()
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
    limit = check_max_results(max_results)
    text = filter_string or ""
    compiler = Compiler(text, experiments=True)
    tree = parse_filter(text)
    # Newest first, as MLflow's default; experiments made in the same millisecond (a script
    # making several at once) keep that order too: ids are given in creation order.
    keys = parse_order_by(order_by) or parse_order_by(["creation_time DESC", "experiment_id DESC"])
    joins = Sql()
    columns = compiler.order_columns(keys, joins)
    sql = Sql()
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
    fingerprint = paging.fingerprint("experiments", text, list(order_by or []), view)
    rows, token = _page(store, sql, columns, fingerprint, page_token, limit)
    by_id: dict[int, Experiment] = {
        int(e.experiment_id): e for e in store.experiments_by_ids([row[0] for row in rows])
    }
    return PagedList([by_id[row[0]] for row in rows], token)
