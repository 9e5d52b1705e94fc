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
