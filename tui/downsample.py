"""Drawing a metric's history in a terminal chart: min and max per bucket.

A chart `width` columns wide can show about two points per column. The history (in logging
order) is split into `width` buckets and each bucket keeps its smallest and its largest
finite value, in their original order, so spikes and dips survive while a million points
become a few hundred. Non-finite values (NaN, ±inf) cannot be drawn and are left out.

`Series` holds a history the way the store hands it over (`Store.get_metric_blocks`): the
summaries of its complete blocks of `BLOCK` points (`mltop.store.blocks`), then points.
Points that arrive live are appended and summarised block by block as blocks complete, so a
redraw merges a few thousand summaries into buckets instead of scanning a million values.
A history whose every point is at hand and too short for the blocks to fill the chart is
bucketed from its points. Points already summarised are let go beyond `KEEP_POINTS`, so the
memory a chart holds stays bounded however long the run logs.

Smoothing (an exponential moving average, bias-corrected as TensorBoard does) is drawn from
the same buckets: each bucket's mean is folded in with the weight its count of points would
have had, which is exact when a bucket's points are equal and close to it otherwise, at the
cost of one step per bucket. A logarithmic axis leaves out what is at or below zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from mltop.store import blocks
from mltop.store.blocks import MetricBlock, merge, summarize

DIRECT = 64 * 1024  # up to this many points (all at hand), buckets are made from the points
KEEP_POINTS = 128 * 1024  # beyond this many, points already summarised in blocks are let go

Line = tuple[list[float], list[float]]


def buckets_of(
    steps: Sequence[float],
    times: Sequence[float],
    values: Sequence[float],
    width: int,
) -> list[MetricBlock]:
    """`width` buckets over a whole history's points (fewer for a short one)."""
    n = len(values)
    count = min(width, n)
    return [
        summarize(0, steps, times, values, b * n // count, (b + 1) * n // count)
        for b in range(count)
    ]


def merged(parts: Sequence[MetricBlock], width: int) -> list[MetricBlock]:
    """Consecutive summaries merged into `width` buckets (fewer if there are fewer parts)."""
    count = min(width, len(parts))
    return [
        merge(parts[b * len(parts) // count : (b + 1) * len(parts) // count], block=b)
        for b in range(count)
    ]


def extremes(buckets: Sequence[MetricBlock], *, by_time: bool = False) -> Line:
    """Each bucket's minimum and maximum, in logging order, at their step (or time)."""
    out_x: list[float] = []
    out_y: list[float] = []
    for bucket in buckets:
        if bucket.low_at is None or bucket.high_at is None:
            continue
        low = (bucket.low_time if by_time else bucket.low_step, bucket.low)
        high = (bucket.high_time if by_time else bucket.high_step, bucket.high)
        ordered = [low] if bucket.low_at == bucket.high_at else [low, high]
        if bucket.high_at < bucket.low_at:
            ordered.reverse()
        for x, y in ordered:
            out_x.append(x)  # type: ignore[arg-type]  # set with low_at / high_at
            out_y.append(y)  # type: ignore[arg-type]
    return out_x, out_y


def downsample(xs: Sequence[float], ys: Sequence[float], width: int) -> Line:
    """At most `2 * width` points of (xs, ys): per bucket, its minimum and its maximum."""
    if len(xs) != len(ys):
        raise ValueError(f"xs and ys differ in length ({len(xs)} and {len(ys)})")
    if width < 1:
        raise ValueError(f"width must be at least 1, not {width}")
    if len(ys) <= 2 * width:
        kept = [i for i, y in enumerate(ys) if math.isfinite(y)]
        return [xs[i] for i in kept], [ys[i] for i in kept]
    return extremes(buckets_of(xs, xs, ys, width))


def _check_weight(weight: float) -> None:
    if not 0 <= weight < 1:
        raise ValueError(f"smoothing weight must be in [0, 1), not {weight}")


def smooth(ys: Sequence[float], weight: float) -> list[float]:
    """Exponential moving average (TensorBoard-style, bias-corrected) with `weight` in [0, 1)."""
    _check_weight(weight)
    out = []
    last = 0.0
    debias = 1.0
    for y in ys:
        last = last * weight + (1 - weight) * y
        debias *= weight
        out.append(last / (1 - debias) if debias != 1 else y)
    return out


def smooth_buckets(buckets: Sequence[MetricBlock], weight: float, *, by_time: bool = False) -> Line:
    """The moving average at the end of each bucket, each bucket's mean weighted by its count."""
    _check_weight(weight)
    out_x: list[float] = []
    out_y: list[float] = []
    last = 0.0
    debias = 1.0
    for bucket in buckets:
        if not bucket.finite:
            continue
        mean = bucket.total / bucket.finite
        if not math.isfinite(mean):  # the sum overflowed: no average to draw
            continue
        decay = weight**bucket.finite
        last = last * decay + (1 - decay) * mean
        debias *= decay
        out_x.append(bucket.last_time if by_time else bucket.last_step)
        out_y.append(last / (1 - debias) if debias != 1 else mean)
    return out_x, out_y


# plotext's tick arithmetic fails on values near the ends of the float range (overflow to
# infinity) and on subnormal ones, and on a log axis on powers of ten its margins push past
# them: what is drawn is held within these.
DRAWN_MAX = 1e300
DRAWN_MIN = 1e-300
LOG_DRAWN_MAX = 1e150
LOG_DRAWN_MIN = 1e-150


def drawable(line: Line, *, log: bool = False) -> Line:
    """The line with values beyond ±DRAWN_MAX held at it, those closer to zero than
    DRAWN_MIN drawn at zero (indistinguishable from it on any axis a terminal can show);
    for a log axis, only values above zero, held within LOG_DRAWN_MIN and LOG_DRAWN_MAX."""
    xs, ys = line
    top, bottom = (LOG_DRAWN_MAX, LOG_DRAWN_MIN) if log else (DRAWN_MAX, DRAWN_MIN)

    def held(v: float) -> float:
        if abs(v) > top:
            return math.copysign(top, v)
        return v if abs(v) >= bottom or log else 0.0

    if log:
        kept = [i for i, y in enumerate(ys) if y > 0]
        xs, ys = [xs[i] for i in kept], [ys[i] for i in kept]
        return [held(x) for x in xs], [max(bottom, held(y)) for y in ys]
    if all(bottom <= abs(y) <= top or y == 0 for y in ys) and all(abs(x) <= top for x in xs):
        return line
    return [held(x) for x in xs], [held(y) for y in ys]


def _drawn(raw: Line, smoothed: Line | None, log: bool) -> tuple[Line, Line | None]:
    return drawable(raw, log=log), None if smoothed is None else drawable(smoothed, log=log)


class Series:
    """A growing history: summaries of its complete blocks, then the points after `start`
    (times in seconds)."""

    def __init__(self) -> None:
        self.blocks: list[MetricBlock] = []  # complete, numbered from the first point
        self.start = 0  # the index in the history of the first point held
        self.steps: list[float] = []
        self.times: list[float] = []
        self.values: list[float] = []

    @classmethod
    def of(cls, points: Sequence[Any]) -> Series:
        """A series of metric points (anything with step, timestamp in ms and value)."""
        series = cls()
        series.add(points)
        return series

    @classmethod
    def from_store(cls, summaries: Sequence[MetricBlock], points: Sequence[Any]) -> Series:
        """A series from `Store.get_metric_blocks`: block summaries (times in ms), then
        the points after them."""
        series = cls()
        series.blocks = [
            b._replace(
                last_time=b.last_time / 1000,
                low_time=None if b.low_time is None else b.low_time / 1000,
                high_time=None if b.high_time is None else b.high_time / 1000,
            )
            for b in summaries
        ]
        series.start = len(series.blocks) * blocks.BLOCK
        series.add(points)
        return series

    def __len__(self) -> int:
        return self.start + len(self.values)

    def add(self, points: Sequence[Any]) -> None:
        """Append metric points (step, timestamp in ms, value)."""
        self.extend(
            [p.step for p in points],
            [p.timestamp / 1000 for p in points],
            [p.value for p in points],
        )

    def extend(self, steps: list[float], times: list[float], values: list[float]) -> None:
        self.steps.extend(steps)
        self.times.extend(times)
        self.values.extend(values)
        size = blocks.BLOCK
        while (len(self.blocks) + 1) * size <= len(self):
            lo = len(self.blocks) * size - self.start
            self.blocks.append(
                summarize(
                    self.start, self.steps, self.times, self.values, lo, lo + size,
                    block=len(self.blocks),
                )
            )  # fmt: skip
        if len(self.values) > KEEP_POINTS:  # keep only what no block summarises yet
            drop = len(self.blocks) * size - self.start
            del self.steps[:drop], self.times[:drop], self.values[:drop]
            self.start += drop

    def view(
        self, width: int, *, by_time: bool = False, positive: bool = False, smoothing: float = 0
    ) -> tuple[Line, Line | None]:
        """(the raw line, the smoothed line or None) to draw `width` columns wide.

        `positive` leaves out values at or below zero (for a logarithmic axis).
        """
        xs = self.times if by_time else self.steps
        whole = self.start == 0
        if whole and len(self) <= 2 * width:  # every point, exactly
            kept = [
                i for i, y in enumerate(self.values) if math.isfinite(y) and (y > 0 or not positive)
            ]
            raw = [xs[i] for i in kept], [self.values[i] for i in kept]
            smoothed = (raw[0], smooth(raw[1], smoothing)) if smoothing else None
            return _drawn(raw, smoothed, positive)
        if whole and (len(self) <= DIRECT or len(self.blocks) < 2 * width):
            buckets = buckets_of(self.steps, self.times, self.values, width)
        else:
            parts = list(self.blocks)
            lo = len(self.blocks) * blocks.BLOCK - self.start
            if lo < len(self.values):  # the block still filling
                parts.append(
                    summarize(self.start, self.steps, self.times, self.values, lo, len(self.values))
                )
            buckets = merged(parts, width)
        raw = extremes(buckets, by_time=by_time)
        smoothed = smooth_buckets(buckets, smoothing, by_time=by_time) if smoothing else None
        return _drawn(raw, smoothed, positive)
