"""The tick chooser: over any range, ticks within it, round, increasing, 3 to 8 of them;
integer ranges get whole numbers; labels tell each tick exactly."""

from __future__ import annotations

import math
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from mltop.tui.ticks import FEWEST, MOST, round_ticks, tick_labels, value_ticks

# Ranges as charts meet them: any magnitude a metric takes, any width.
ends = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
counts = st.integers(min_value=1, max_value=12)


def ranges(a: float, b: float) -> tuple[float, float]:
    lo, hi = sorted((a, b))
    return lo, hi


def is_round(x: float, step: float) -> bool:
    """`x` is a whole multiple of `step` (to float precision)."""
    n = round(x / step)
    return math.isclose(n * step, x, rel_tol=1e-9, abs_tol=step * 1e-9)


def step_of(xs: list[float]) -> float:
    return xs[1] - xs[0]


def mantissa_is_round(step: float) -> bool:
    exponent = math.floor(math.log10(step))
    mantissa = step / 10.0**exponent
    return any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 2.5, 5, 10))


@given(ends, ends, counts)
def test_ticks_are_within_round_increasing_and_three_to_eight(a, b, count):
    lo, hi = ranges(a, b)
    # A span too small for the floats around it to hold ticks is not a chart's.
    if hi - lo <= max(abs(lo), abs(hi), 1e-300) * 1e-9:
        return
    xs = round_ticks(lo, hi, count)
    assert FEWEST <= len(xs) <= MOST, (lo, hi, xs)
    assert all(lo <= x <= hi for x in xs)
    assert all(x < y for x, y in pairwise(xs))
    step = step_of(xs)
    assert mantissa_is_round(step), step
    assert all(is_round(x, step) for x in xs)
    assert all(math.isclose(y - x, step, rel_tol=1e-6) for x, y in pairwise(xs))


@given(st.integers(-(10**6), 10**6), st.integers(2, 10**6), counts)
def test_integer_ranges_get_whole_number_ticks(lo, span, count):
    hi = lo + span
    xs = round_ticks(lo, hi, count, integer=True)
    assert FEWEST <= len(xs) <= MOST, (lo, hi, xs)
    assert all(x == int(x) and lo <= x <= hi for x in xs)
    assert all(x < y for x, y in pairwise(xs))
    assert step_of(xs) >= 1 and mantissa_is_round(step_of(xs))


@given(ends, ends, counts)
def test_labels_tell_each_tick_exactly(a, b, count):
    lo, hi = ranges(a, b)
    if hi - lo <= max(abs(lo), abs(hi), 1e-300) * 1e-9:
        return
    xs, labels = value_ticks(lo, hi, count)
    assert [float(label) for label in labels] == xs
    assert len(set(labels)) == len(labels)


def test_examples_a_reader_expects():
    assert value_ticks(0.31, 0.97, 4)[1] == ["0.4", "0.6", "0.8"]
    assert value_ticks(-0.013, 0.052, 3)[1] == ["0.00", "0.02", "0.04"]
    assert value_ticks(0, 0.1, 5)[1] == ["0.000", "0.025", "0.050", "0.075", "0.100"]
    assert round_ticks(0, 9, 4, integer=True) == [0, 2, 4, 6, 8]
    assert round_ticks(0, 9, 4) == [0, 2.5, 5, 7.5]
    assert tick_labels([25e6, 50e6, 75e6, 100e6]) == ["2.5e+07", "5e+07", "7.5e+07", "1e+08"]
