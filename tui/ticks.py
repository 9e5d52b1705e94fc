"""Where a chart's axes put their ticks, and what they say: round values only.

Numbers (the y axis, and the step on x) get ticks at multiples of 1, 2, 2.5 or 5 times a
power of ten, 3 to 8 of them where the range allows (`round_ticks`); integer steps get
integer ticks. Three x axes (`x` cycles them): the step, the time elapsed since the run
started (0, 30s, 1m, 5m, 1h...), and the clock (HH:MM, or HH:MM:SS when the span is short,
or the day when it is long). A chart never shows raw Unix seconds.
"""

from __future__ import annotations

import math
import time
from typing import Literal

Axis = Literal["step", "elapsed", "clock"]
AXES: tuple[Axis, ...] = ("step", "elapsed", "clock")

# Round spans of time, in seconds, a tick may be apart.
ROUND_SECONDS = (
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800,
    3600, 7200, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 30 * 86400,
)  # fmt: skip

Ticks = tuple[list[float], list[str]]


ROUND_FACTORS = (1.0, 2.0, 2.5, 5.0)  # a round step: one of these times a power of ten
FEWEST, MOST = 3, 8  # ticks on an axis, where its range allows


def _round_step(span: float, count: int) -> float:
    """1, 2 or 5 times a power of ten: the one whose ticks over `span` come nearest to
    `count` (fewer rather than more on a tie)."""
    power = 10 ** math.floor(math.log10(span / max(1, count)))
    steps = [factor * power for factor in (1, 2, 5, 10)]
    return min(reversed(steps), key=lambda step: abs(span / step - count))


def _at(i: int, step: float, exponent: int, factor: float) -> float:
    """`i` times `step`, rounded to the step's digits (0.1 * 3 is 0.3, not 0.30000000000000004)."""
    digits = -exponent + (1 if factor == 2.5 else 0)
    return round(i * step, digits) if digits > 0 else float(round(i * step))


def round_ticks(lo: float, hi: float, count: int, *, integer: bool = False) -> list[float]:
    """Ticks from `lo` to `hi` at the multiples of a round step (1, 2, 2.5 or 5 times a
    power of ten; whole numbers when `integer`): about `count` of them, and from FEWEST
    to MOST where the range has room for that many."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    span = hi - lo
    top = math.floor(math.log10(span))
    best: tuple[tuple[int, int, bool, float], list[float]] | None = None
    for exponent in range(top - 2, top + 1):
        for factor in ROUND_FACTORS:
            step = factor * 10.0**exponent
            if integer and (step < 1 or step != int(step)):
                continue
            first, last = math.ceil(lo / step), math.floor(hi / step)
            xs = [_at(i, step, exponent, factor) for i in range(first, last + 1)]
            xs = [x for x in xs if lo <= x <= hi]
            # Within FEWEST..MOST first, then nearest to `count`, then 1, 2, 5 before 2.5
            # (rounder), then the coarser.
            outside = max(0, FEWEST - len(xs), len(xs) - MOST)
            score = (outside, abs(len(xs) - count), factor == 2.5, -step)
            if best is None or score < best[0]:
                best = (score, xs)
    assert best is not None
    return best[1]


def _multiples(lo: float, hi: float, step: float, offset: float = 0.0) -> list[float]:
    """The multiples of `step` (shifted by `offset`) from `lo` to `hi`."""
    first = math.ceil((lo - offset) / step)
    last = math.floor((hi - offset) / step)
    return [offset + i * step for i in range(first, last + 1)]


def number_label(value: float) -> str:
    """A tick's number, short: 1200 as 1200, 0.25 as 0.25, 3e+06 as 3e+06."""
    if value == int(value) and abs(value) < 1e7:
        return str(int(value))
    return f"{value:.4g}"


def tick_labels(xs: list[float]) -> list[str]:
    """The ticks' numbers, all with the same digits after the point, as few as tell each
    exactly (0, 0.5, 1 as 0.0, 0.5, 1.0; whole numbers as such; very large or very small
    ones in e notation)."""
    if all(x == int(x) and abs(x) < 1e7 for x in xs):
        return [str(int(x)) for x in xs]
    largest = max(abs(x) for x in xs)
    if largest >= 1e7 or largest < 1e-4:
        for digits in range(1, 16):
            labels = [f"{x:.{digits}g}" for x in xs]
            if all(float(label) == x for label, x in zip(labels, xs, strict=True)):
                return labels
        return [f"{x:.16g}" for x in xs]
    for decimals in range(1, 16):
        labels = [f"{x:.{decimals}f}" for x in xs]
        if all(float(label) == x for label, x in zip(labels, xs, strict=True)):
            return labels
    return [f"{x:.16g}" for x in xs]


def step_ticks(lo: float, hi: float, count: int, *, integer: bool = True) -> Ticks:
    """About `count` round ticks from `lo` to `hi`; whole numbers only when `integer`."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo], [number_label(lo)]
    xs = round_ticks(lo, hi, count, integer=integer)
    return xs, tick_labels(xs)


def value_ticks(lo: float, hi: float, count: int) -> Ticks:
    """The y axis: about `count` round ticks from `lo` to `hi` (one, where they are equal)."""
    return step_ticks(lo, hi, count, integer=False)


def duration_label(seconds: float) -> str:
    """0, 45s, 1m, 1m30s, 5m, 1h, 1h30m, 2d, 2d12h."""
    s = round(seconds)
    if s == 0:
        return "0"
    sign, s = ("-", -s) if s < 0 else ("", s)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, secs = divmod(s, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    shown = [f"{n}{unit}" for n, unit in parts if n]
    return sign + "".join(shown[:2])


def _time_step(span: float, count: int) -> float:
    raw = span / max(1, count)
    for step in ROUND_SECONDS:
        if step >= raw:
            return float(step)
    return _round_step(span, count)


def elapsed_ticks(lo: float, hi: float, count: int) -> Ticks:
    """Ticks for seconds since the start, at round spans of time."""
    if hi <= lo:
        return [lo], [duration_label(lo)]
    xs = _multiples(lo, hi, _time_step(hi - lo, count))
    return xs, [duration_label(x) for x in xs]


def clock_ticks(lo: float, hi: float, count: int) -> Ticks:
    """Ticks for Unix seconds, at round local times: HH:MM, HH:MM:SS for a short span,
    the day (MM-DD) once ticks are a day or more apart."""
    if hi <= lo:
        return [lo], [time.strftime("%H:%M:%S", time.localtime(lo))]
    step = _time_step(hi - lo, count)
    offset = -float(time.localtime(lo).tm_gmtoff)  # round in local time, not UTC
    xs = _multiples(lo, hi, step, offset % step)
    fmt = "%m-%d" if step >= 86400 else "%H:%M" if step >= 60 else "%H:%M:%S"
    return xs, [time.strftime(fmt, time.localtime(x)) for x in xs]


def ticks(axis: Axis, lo: float, hi: float, count: int, *, integer: bool = True) -> Ticks:
    """The ticks of an axis from `lo` to `hi`, about `count` of them."""
    if axis == "elapsed":
        return elapsed_ticks(lo, hi, count)
    if axis == "clock":
        return clock_ticks(lo, hi, count)
    return step_ticks(lo, hi, count, integer=integer)


def clock_label(seconds: float) -> str:
    """A point's wall-clock time, for the cursor's line of text."""
    return time.strftime("%H:%M:%S", time.localtime(seconds))
