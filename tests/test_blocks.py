"""The store keeps each metric's history summarised in blocks, as it commits the points:
the summaries equal those of the whole history computed at once, however the points came
(batches of any size, series interleaved, NaN and infinities), and an older store gets them
when it is opened."""

from __future__ import annotations

import itertools
import math
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mltop.store import MltopClient, Store
from mltop.store import blocks as blocks_module
from mltop.store.blocks import BLOCK, MetricBlock, blocks_of, complete, merge, summarize
from mltop.tui.downsample import Series

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from([0.0, -0.0, 1.0, math.inf, -math.inf, math.nan]),
)


def same(a: MetricBlock, b: MetricBlock) -> bool:
    """Equal, but for the order in which floats were summed."""
    return a._replace(total=0.0) == b._replace(total=0.0) and (
        a.total == b.total or math.isclose(a.total, b.total, rel_tol=1e-9, abs_tol=1e-9)
    )


def whole_history_blocks(store: Store, run_id: str, key: str) -> list[MetricBlock]:
    points = store.get_metric_history(run_id, key)
    return blocks_of(
        0,
        [p.step for p in points],
        [p.timestamp for p in points],
        [None if math.isnan(p.value) else p.value for p in points],
        [p.cursor for p in points],
    )


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 4 points, so that short histories have many."""
    monkeypatch.setattr(blocks_module, "BLOCK", 4)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    points=st.lists(st.tuples(st.sampled_from(["a", "b"]), values), max_size=60),
    cuts=st.lists(st.integers(1, 15), min_size=1, max_size=8),
)
def test_blocks_kept_by_commits_equal_the_whole_history_summarised(
    tmp_path_factory, small_blocks, points, cuts
):
    path = tmp_path_factory.mktemp("store")
    client = MltopClient(Store(path))
    run_id = client.create_run(run_name="r", log_system_info=False).info.run_id
    store = client.store
    rows = {key: store.metric_key_id(key) for key in ("a", "b")}
    run = store.run_row_id(run_id)
    batch: list[tuple] = []
    cut = itertools.cycle(cuts)
    size = next(cut)
    for step, (key, value) in enumerate(points):
        stored = None if math.isnan(value) else value
        batch.append((run, rows[key], step, 1_000 + step, stored))
        if len(batch) >= size:
            store.write_points(batch)
            batch, size = [], next(cut)
    store.write_points(batch)
    for key in ("a", "b"):
        expected = whole_history_blocks(store, run_id, key)
        stored_blocks, tail = store.get_metric_blocks(run_id, key, points_up_to=0)
        full = complete(expected)
        assert len(stored_blocks) == len(full)
        assert all(same(a, b) for a, b in zip(stored_blocks, full, strict=True))
        history = store.get_metric_history(run_id, key)
        assert [p.cursor for p in tail] == [p.cursor for p in history[len(full) * 4 :]]
    client.close()


def test_a_long_history_is_read_as_blocks_and_the_points_after_them(client):
    run_id = client.create_run(run_name="long", log_system_info=False).info.run_id
    n = 3 * BLOCK + 10
    for i in range(n):
        client.log_metric(run_id, "loss", 1.0 / (i + 1), step=i, timestamp=5_000 + i)
    client.flush()
    store = client.store
    summaries, points = store.get_metric_blocks(run_id, "loss", points_up_to=BLOCK)
    assert [b.block for b in summaries] == [0, 1, 2]
    assert [p.step for p in points] == list(range(3 * BLOCK, n))
    assert points[0].cursor > summaries[-1].last_id
    first = summaries[0]
    assert (first.low, first.low_step, first.low_at) == (1.0 / BLOCK, BLOCK - 1, BLOCK - 1)
    assert (first.high, first.high_step, first.high_time) == (1.0, 0, 5_000)
    # A short history is every point, read as it is.
    summaries, points = store.get_metric_blocks(run_id, "loss")
    assert summaries == [] and len(points) == n
    assert store.get_metric_blocks(run_id, "no such metric") == ([], [])


def test_a_series_from_block_summaries_draws_what_the_whole_history_draws(client):
    run_id = client.create_run(run_name="long", log_system_info=False).info.run_id
    n = 40 * BLOCK + 77

    def value(i: int) -> float:
        return math.sin(i / 50) + (25.0 if i == 4321 else 0.0) - (9.0 if i == 777 else 0.0)

    for i in range(n):
        client.log_metric(run_id, "x", math.nan if i % 501 == 0 else value(i), step=i)
    client.flush()
    summaries, points = client.store.get_metric_blocks(run_id, "x", points_up_to=0)
    from_blocks = Series.from_store(summaries, points)
    from_points = Series.of(client.store.get_metric_history(run_id, "x"))
    assert len(from_blocks) == len(from_points) == n
    for width in (10, 20):
        (bx, by), _ = from_blocks.view(width)
        assert max(by) == value(4321) and bx[by.index(max(by))] == 4321  # the spike, in place
        assert min(by) == value(777) and bx[by.index(min(by))] == 777
        assert bx == sorted(bx) and len(bx) <= 2 * width
    (bx, by), smoothed = from_blocks.view(20, smoothing=0.5)
    assert smoothed is not None and all(value(777) <= y <= value(4321) for y in smoothed[1])
    # Points arriving later extend it as they would the whole history.
    more = [(n + i, math.cos(i)) for i in range(BLOCK + 3)]
    for series in (from_blocks, from_points):
        series.extend([s for s, _v in more], [0.0] * len(more), [v for _s, v in more])
    assert len(from_blocks.blocks) == len(from_points.blocks) == (n + BLOCK + 3) // BLOCK
    unstored = {"last_id": 0, "last_time": 0, "low_time": 0, "high_time": 0}  # ids: the store's
    assert all(
        same(a._replace(**unstored), b._replace(**unstored))
        for a, b in zip(from_blocks.blocks, from_points.blocks, strict=True)
    )


def test_merging_pieces_keeps_the_first_of_equal_extremes():
    steps = list(range(8))
    values = [2.0, 1.0, 3.0, 1.0, 3.0, None, 0.5, 0.5]
    pieces = [summarize(0, steps, steps, values, lo, lo + 2) for lo in range(0, 8, 2)]
    whole = summarize(0, steps, steps, values, 0, 8)
    assert merge(pieces) == whole._replace(block=pieces[0].block)
    assert (whole.low_at, whole.high_at, whole.finite, whole.count) == (6, 2, 7, 8)
    nothing = summarize(0, steps, steps, [None, math.inf], 0, 2)
    assert (nothing.low, nothing.high, nothing.finite) == (None, None, 0)


def test_an_older_store_gets_its_blocks_when_opened(tmp_path):
    path = tmp_path / "store"
    client = MltopClient(Store(path))
    run_id = client.create_run(run_name="r", log_system_info=False).info.run_id
    for i in range(5 * BLOCK + 3):
        client.log_metric(run_id, "a", float(i % 97), step=i)
        if i % 3 == 0:
            client.log_metric(run_id, "b", math.nan if i % 7 == 0 else -float(i), step=i)
    client.close()
    before = {k: client.store.get_metric_blocks(run_id, k, points_up_to=0) for k in "ab"}
    conn = sqlite3.connect(path / "mltop.db")
    conn.execute("DROP TABLE metric_blocks")
    conn.execute("PRAGMA user_version = 2")  # as the previous mltop left it
    conn.commit()
    conn.close()
    migrated = Store(path)
    for key in "ab":
        blocks, tail = migrated.get_metric_blocks(run_id, key, points_up_to=0)
        assert len(blocks) == len(before[key][0]) > 0
        assert all(same(a, b) for a, b in zip(blocks, before[key][0], strict=True))
        assert [p.cursor for p in tail] == [p.cursor for p in before[key][1]]
    migrated.close()


def test_sums_that_overflow_both_ways_never_stop_the_writes(client):
    """A diverging metric: +1e308 twice in one commit, -1e308 twice in the next. The block's
    sum is no number; the points are still committed, and everything logged after."""
    run_id = client.create_run(run_name="diverging", log_system_info=False).info.run_id
    for values in ([1e308, 1e308], [-1e308, -1e308]):
        for value in values:
            client.log_metric(run_id, "grad", value)
        client.flush()
    client.log_metric(run_id, "loss", 1.0)
    client.flush()
    history = client.store.get_metric_history(run_id, "grad")
    assert [p.value for p in history] == [1e308, 1e308, -1e308, -1e308]
    summary = client.store.get_run(run_id).data.summaries["grad"]
    assert (summary.min, summary.max, summary.count) == (-1e308, 1e308, 4)
    row = client.store.thread_connection().execute("SELECT total FROM metric_blocks").fetchall()
    assert (None,) in row  # +inf and -inf met: not a number, stored as NULL
