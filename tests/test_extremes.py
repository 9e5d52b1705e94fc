"""Best so far: each metric's min and max with the step that first reached them, kept by the
store as points are written (any batching) and read with a table's rows."""

from __future__ import annotations

import math
import re
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mltop.store import Extremes, MltopClient, Store
from mltop.store.blocks import BLOCK
from mltop.store.query.parser import FilterError

values = st.one_of(
    st.floats(allow_nan=False, width=32, min_value=-1e6, max_value=1e6),
    st.just(math.nan),
    st.sampled_from([0.0, 1.0, -1.0]),  # ties: the first step holding the value wins
)
points = st.lists(st.tuples(st.integers(0, 50), values), min_size=1, max_size=60)


def expected(series: list[tuple[int, float]]) -> Extremes:
    finite = [(v, s) for s, v in series if not math.isnan(v)]
    if not finite:
        return Extremes(math.nan, None, math.nan, None)
    low = min(v for v, _s in finite)
    high = max(v for v, _s in finite)
    return Extremes(
        low, next(s for v, s in finite if v == low), high, next(s for v, s in finite if v == high)
    )


def same(a: Extremes, b: Extremes) -> bool:
    def eq(x: float, y: float) -> bool:
        return x == y or (math.isnan(x) and math.isnan(y))

    return (
        eq(a.min, b.min)
        and eq(a.max, b.max)
        and (a.min_step, a.max_step)
        == (
            b.min_step,
            b.max_step,
        )
    )


def row_of(store: Store, run_id: str):
    [row] = [r for r in store.search_run_rows(None, "", None, 100) if r.info.run_id == run_id]
    return row


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(series=points, cuts=st.lists(st.integers(1, 60), max_size=5))
def test_extremes_follow_every_batching(client, series, cuts):
    run_id = client.create_run(run_name="r", log_system_info=False).info.run_id
    for i, (step, value) in enumerate(series):
        client.log_metric(run_id, "m", value, step=step)
        if i + 1 in cuts:
            client.flush()  # the summary merges batch after batch
    client.flush()
    row = row_of(client.store, run_id)
    assert row.extremes is not None
    assert same(row.extremes["m"], expected(series)), (row.extremes["m"], expected(series))


def test_a_store_written_before_gets_its_steps_from_the_blocks(tmp_path):
    path = tmp_path / "store"
    client = MltopClient(Store(path))
    run_id = client.create_run(run_name="r", log_system_info=False).info.run_id
    series = []
    for i in range(3 * BLOCK + 7):
        value = math.nan if i % 11 == 0 else float((i * 37) % 101) - 50
        client.log_metric(run_id, "a", value, step=i)
        series.append((i, value))
    client.log_metric(run_id, "nan", math.nan, step=0)
    infinite = [(0, 1.0), (1, math.inf), (2, -math.inf), (3, 2.0), (4, -math.inf)]
    for step, value in infinite:  # blocks keep finite extremes only
        client.log_metric(run_id, "inf", value, step=step)
    client.close()
    conn = sqlite3.connect(path / "mltop.db")
    conn.execute("UPDATE metric_summaries SET min_step = NULL, max_step = NULL")
    conn.execute("PRAGMA user_version = 5")  # as the previous mltop left it
    conn.commit()
    conn.close()
    migrated = Store(path)
    row = row_of(migrated, run_id)
    assert row.extremes is not None
    assert same(row.extremes["a"], expected(series))
    assert row.extremes["a"].min_step is not None
    assert same(row.extremes["nan"], Extremes(math.nan, None, math.nan, None))
    assert same(row.extremes["inf"], Extremes(-math.inf, 2, math.inf, 1))
    migrated.close()


def test_runs_sort_by_their_best_so_far(client):
    """`min(metrics.loss)` / `max(metrics.loss)` order by the whole history, not the latest
    value; runs whose values are all NaN, then runs without the metric, come last both ways."""
    for name, series in [("a", [3, 1, 2]), ("b", [0.5, 4, 4]), ("nan", [math.nan]), ("none", [])]:
        run_id = client.create_run(run_name=name, log_system_info=False).info.run_id
        for step, value in enumerate(series):
            client.log_metric(run_id, "loss", value, step=step)
    client.flush()

    def names(*order_by: str) -> list[str]:
        return [r.info.run_name for r in client.store.search_run_rows(None, "", order_by, 10)]

    assert names("metrics.loss") == ["a", "b", "nan", "none"]  # latest: 2, 4
    assert names("min(metrics.loss)") == ["b", "a", "nan", "none"]  # min: 0.5, 1
    assert names("min(metrics.`loss`) DESC") == ["a", "b", "nan", "none"]
    assert names("MAX(metrics.loss) DESC") == ["b", "a", "nan", "none"]  # max: 4, 3
    assert names("max(metrics.loss) ASC") == ["a", "b", "nan", "none"]
    assert names("min(metrics.loss)", "metrics.loss") == ["b", "a", "nan", "none"]
    keys = client.store.run_order(None, "", ["max(metrics.loss) DESC"])
    rows = client.store.run_rows_by_keys(list(keys))
    assert [r.info.run_name for r in rows if r is not None] == ["b", "a", "nan", "none"]


@pytest.mark.parametrize(
    ("order_by", "message"),
    [
        ("min(params.lr)", "min() takes a metric, as in min(metrics.loss)"),
        ("max(start_time)", "max() takes a metric"),
        ("min(metrics.loss", "expected ')' after 'metrics.loss'"),
        ("min(metrics.loss) DOWN", "expected ASC, DESC or the end"),
    ],
)
def test_a_wrong_best_so_far_order_says_what_is_wrong(client, order_by, message):
    with pytest.raises(FilterError, match=re.escape(message)):
        client.store.search_run_rows(None, "", [order_by], 10)


def test_models_are_not_ordered_by_an_extreme(client):
    with pytest.raises(FilterError, match="are ordered by"):
        client.search_registered_models(order_by=["min(name)"])


def test_pages_in_best_so_far_order_neither_repeat_nor_skip(client):
    exp = client.create_experiment("x")
    for i in range(7):
        run_id = client.create_run(exp, run_name=f"r{i}", log_system_info=False).info.run_id
        for step, value in enumerate([i % 3, 5 - i, 2]):
            client.log_metric(run_id, "loss", value, step=step)
    client.flush()
    order = ["min(metrics.loss) DESC"]
    whole = [r.info.run_name for r in client.store.search_runs([exp], "", order_by=order)]
    paged, token = [], None
    while True:
        page = client.store.search_runs([exp], "", order_by=order, max_results=2, page_token=token)
        paged += [r.info.run_name for r in page]
        if not (token := page.token):
            break
    assert paged == whole and sorted(whole) == [f"r{i}" for i in range(7)]
