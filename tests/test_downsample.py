"""Chart downsampling keeps every bucket's extremes, in order, and never draws NaN."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mltop.tui.downsample import downsample, smooth

values = st.floats(allow_nan=True, allow_infinity=True, width=32)


@given(st.lists(values, max_size=400), st.integers(1, 50))
def test_properties(ys, width):
    xs = list(range(len(ys)))
    out_x, out_y = downsample(xs, ys, width)
    finite = [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(y)]
    assert len(out_x) == len(out_y) <= max(2 * width, len(finite))
    assert all(math.isfinite(y) for y in out_y)
    assert out_x == sorted(out_x)  # logging order kept
    assert set(zip(out_x, out_y, strict=True)) <= set(finite)  # only real points
    if finite:
        assert min(out_y) == min(y for _x, y in finite)
        assert max(out_y) == max(y for _x, y in finite)


def test_a_spike_survives_a_million_points():
    n = 1_000_000
    ys = [math.sin(i / 1000) for i in range(n)]
    ys[123_456] = 50.0
    out_x, out_y = downsample(list(range(n)), ys, 100)
    assert len(out_x) <= 200
    assert 50.0 in out_y and out_x[out_y.index(50.0)] == 123_456


def test_short_series_are_returned_whole():
    assert downsample([1, 2, 3], [3.0, 1.0, 2.0], 10) == ([1, 2, 3], [3.0, 1.0, 2.0])


def test_bad_arguments():
    with pytest.raises(ValueError, match="differ in length"):
        downsample([1], [1.0, 2.0], 5)
    with pytest.raises(ValueError, match="width"):
        downsample([1], [1.0], 0)


def test_smoothing_is_an_unbiased_moving_average():
    assert smooth([1.0, 1.0, 1.0], 0.9) == pytest.approx([1.0, 1.0, 1.0])
    out = smooth([0.0, 10.0], 0.5)
    assert out[0] == 0.0 and 0 < out[1] < 10.0
    assert smooth([5.0, 7.0], 0.0) == [5.0, 7.0]
    with pytest.raises(ValueError):
        smooth([1.0], 1.0)


@given(st.lists(values, max_size=300), st.integers(1, 12), st.integers(1, 40))
def test_a_series_drawn_from_block_summaries_keeps_every_extreme(ys, block, width):
    """However the history arrived (in pieces) and is summarised (blocks), the drawn line
    holds the overall min and max, only real points, in order, two per column at most."""
    from mltop.store import blocks
    from mltop.tui import downsample as ds

    old = blocks.BLOCK, ds.DIRECT
    blocks.BLOCK, ds.DIRECT = block, 0  # summaries even for short series
    try:
        series = ds.Series()
        for lo in range(0, len(ys), 7):  # arriving as a live run logs
            part = ys[lo : lo + 7]
            steps = [float(i) for i in range(lo, lo + len(part))]
            series.extend(steps, [s / 10 for s in steps], part)
        assert len(series.blocks) == len(ys) // block
        (out_x, out_y), smoothed = series.view(width, smoothing=0.5)
    finally:
        blocks.BLOCK, ds.DIRECT = old
    finite = [(float(x), y) for x, y in enumerate(ys) if math.isfinite(y)]
    assert len(out_x) <= max(2 * width, len(finite))
    assert out_x == sorted(out_x)
    assert set(zip(out_x, out_y, strict=True)) <= set(finite)
    if finite:
        assert min(out_y) == min(y for _x, y in finite)
        assert max(out_y) == max(y for _x, y in finite)
        assert smoothed is not None and smoothed[0] == sorted(smoothed[0])
        low, high = min(y for _x, y in finite), max(y for _x, y in finite)
        if math.isfinite(high - low):  # an average stays within the values' range
            slack = 1e-6 * max(1.0, abs(low), abs(high))
            assert all(low - slack <= y <= high + slack for y in smoothed[1])


def test_bucket_smoothing_matches_the_exact_average_on_a_constant_series():
    from mltop.tui.downsample import Series, smooth

    series = Series()
    n = 200_000
    series.extend([float(i) for i in range(n)], [0.0] * n, [3.0] * n)
    (_x, _y), (sx, sy) = series.view(100, smoothing=0.9)
    assert len(sx) == 100 and sy == pytest.approx([3.0] * 100)
    assert smooth([3.0] * 10, 0.9) == pytest.approx([3.0] * 10)


def test_a_log_axis_leaves_out_values_at_or_below_zero_and_follows_new_points():
    from mltop.tui.downsample import Series

    series = Series()
    series.extend([0.0, 1.0, 2.0, 3.0], [0.0] * 4, [1.0, -2.0, 0.0, 4.0])
    (xs, ys), _ = series.view(10, positive=True)
    assert (xs, ys) == ([0.0, 3.0], [1.0, 4.0])
    series.extend([4.0, 5.0], [0.0] * 2, [-1.0, 8.0])
    (xs, ys), _ = series.view(10, positive=True)
    assert (xs, ys) == ([0.0, 3.0, 5.0], [1.0, 4.0, 8.0])
    (xs, ys), _ = series.view(10)
    assert ys == [1.0, -2.0, 0.0, 4.0, -1.0, 8.0]
