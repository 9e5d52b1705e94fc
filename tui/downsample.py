"""Downsampling a metric's history for a terminal chart: min and max per bucket.

A chart `width` columns wide can show about two points per column. The series (in logging
order) is split into `width` buckets and each bucket keeps the point with the smallest and
the one with the largest value, in their original order, so spikes and dips survive while
a million points become a few hundred. Non-finite values (NaN, ±inf) cannot be drawn and
are left out. Every scan of raw values is a C-level `sum`/`min`/`max`/`index` over a list
slice (a slice holding NaN is filtered in Python, that slice alone).

`Series` keeps a history that only grows (a live run) and summarises it once, in blocks of
`BLOCK` points, as the points arrive; a redraw then merges block summaries into buckets,
so a million-point chart redraws from a few thousand summaries instead of a million
values. Smoothing (an exponential moving average, bias-corrected as TensorBoard does) is
drawn from the same buckets: each bucket's mean is folded in with the weight its count of
points would have had, which is exact when a bucket's points are equal and close to it
otherwise, at the cost of one step per bucket.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

BLOCK = 256  # points per stored summary
DIRECT = 64 * 1024  # up to this many points, buckets are summarised from the values


class Bucket(NamedTuple):
    """Points lo..hi-1: where their min and max are (None if none is finite), their sum
    and count of finite values."""

    lo: int
    hi: int
    low_at: int | None
    high_at: int | None
    total: float
    count: int  # type: ignore[assignment]  # shadows tuple.count


def summarize(ys: list[float], lo: int, hi: int) -> Bucket:
    chunk = ys[lo:hi]
    total = sum(chunk)
    if math.isfinite(total):
        if not chunk:
            return Bucket(lo, hi, None, None, 0.0, 0)
        low, high = min(chunk), max(chunk)
        return Bucket(lo, hi, lo + chunk.index(low), lo + chunk.index(high), total, len(chunk))
    finite = [i for i in range(lo, hi) if math.isfinite(ys[i])]
    if not finite:
        return Bucket(lo, hi, None, None, 0.0, 0)
    values = [ys[i] for i in finite]
    low, high = min(values), max(values)
    return Bucket(
        lo,
        hi,
        finite[values.index(low)],
        finite[values.index(high)],
        math.fsum(values),
        len(values),
    )


def merge(ys: Sequence[float], parts: Sequence[Bucket]) -> Bucket:
    low_at = high_at = None
    for part in parts:
        if part.low_at is None:
            continue
        if low_at is None or ys[part.low_at] < ys[low_at]:
            low_at = part.low_at
        if high_at is None or ys[part.high_at] > ys[high_at]:  # type: ignore[index]
            high_at = part.high_at
    return Bucket(
        parts[0].lo,
        parts[-1].hi,
        low_at,
        high_at,
        sum(p.total for p in parts),
        sum(p.count for p in parts),
    )


def buckets_of(ys: list[float], width: int, blocks: Sequence[Bucket] = ()) -> list[Bucket]:
    """`width` buckets over `ys` (fewer for a short series); from `blocks` when given and
    the series is long (the summaries of consecutive BLOCK-point slices from the start)."""
    n = len(ys)
    count = min(width, n)
    if n <= DIRECT or len(blocks) < 2 * count:
        return [summarize(ys, b * n // count, (b + 1) * n // count) for b in range(count)]
    parts = list(blocks)
    if parts[-1].hi < n:
        parts.append(summarize(ys, parts[-1].hi, n))  # the block still filling
    return [
        merge(ys, parts[b * len(parts) // count : (b + 1) * len(parts) // count])
        for b in range(count)
    ]


def extremes(
    xs: Sequence[float], ys: Sequence[float], buckets: Sequence[Bucket]
) -> tuple[list[float], list[float]]:
    """Each bucket's minimum and maximum, in logging order."""
    out_x: list[float] = []
    out_y: list[float] = []
    for bucket in buckets:
        low, high = bucket.low_at, bucket.high_at
        if low is None or high is None:
            continue
        for i in sorted({low, high}):
            out_x.append(xs[i])
            out_y.append(ys[i])
    return out_x, out_y


def downsample(
    xs: Sequence[float], ys: Sequence[float], width: int
) -> tuple[list[float], list[float]]:
    """At most `2 * width` points of (xs, ys): per bucket, its minimum and its maximum."""
    if len(xs) != len(ys):
        raise ValueError(f"xs and ys differ in length ({len(xs)} and {len(ys)})")
    if width < 1:
        raise ValueError(f"width must be at least 1, not {width}")
    values = ys if isinstance(ys, list) else list(ys)
    if len(values) <= 2 * width:
        kept = [i for i, y in enumerate(values) if math.isfinite(y)]
        return [xs[i] for i in kept], [values[i] for i in kept]
    return extremes(xs, values, buckets_of(values, width))


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


def _check_weight(weight: float) -> None:
    if not 0 <= weight < 1:
        raise ValueError(f"smoothing weight must be in [0, 1), not {weight}")


def smooth_buckets(
    xs: Sequence[float], buckets: Sequence[Bucket], weight: float
) -> tuple[list[float], list[float]]:
    """The moving average at the end of each bucket, each bucket's mean weighted by its count."""
    _check_weight(weight)
    out_x: list[float] = []
    out_y: list[float] = []
    last = 0.0
    debias = 1.0
    for bucket in buckets:
        if not bucket.count:
            continue
        mean = bucket.total / bucket.count
        decay = weight**bucket.count
        last = last * decay + (1 - decay) * mean
        debias *= decay
        out_x.append(xs[bucket.hi - 1])
        out_y.append(last / (1 - debias) if debias != 1 else mean)
    return out_x, out_y


class Series:
    """A growing history (steps, times, values) with its block summaries kept up to date."""

    def __init__(self) -> None:
        self.steps: list[float] = []
        self.times: list[float] = []
        self.values: list[float] = []
        self.blocks: list[Bucket] = []
        self._positive: Series | None = None  # the points above zero, once a log axis asks

    @classmethod
    def of(cls, points: Sequence[Any]) -> Series:
        """A series of metric points (anything with step, timestamp in ms and value)."""
        series = cls()
        series.extend(
            [p.step for p in points],
            [p.timestamp / 1000 for p in points],
            [p.value for p in points],
        )
        return series

    def __len__(self) -> int:
        return len(self.values)

    def extend(self, steps: list[float], times: list[float], values: list[float]) -> None:
        self.steps.extend(steps)
        self.times.extend(times)
        self.values.extend(values)
        while (len(self.blocks) + 1) * BLOCK <= len(self.values):
            lo = len(self.blocks) * BLOCK
            self.blocks.append(summarize(self.values, lo, lo + BLOCK))
        if self._positive is not None:
            self._positive.extend(*_above_zero(steps, times, values))

    def view(
        self, width: int, *, by_time: bool = False, positive: bool = False, smoothing: float = 0
    ) -> tuple[tuple[list[float], list[float]], tuple[list[float], list[float]] | None]:
        """(the raw line, the smoothed line or None) to draw `width` columns wide.

        `positive` keeps only values above zero (for a logarithmic axis).
        """
        if positive and not self._all_positive():
            if self._positive is None:  # filtered once, then kept up to date by extend()
                self._positive = Series()
                self._positive.extend(*_above_zero(self.steps, self.times, self.values))
            return self._positive.view(width, by_time=by_time, smoothing=smoothing)
        xs = self.times if by_time else self.steps
        return _view(xs, self.values, width, smoothing, self.blocks)

    def _all_positive(self) -> bool:
        """No finite value at or below zero (non-finite ones are never drawn anyway)."""
        ys = self.values
        parts = [*self.blocks, summarize(ys, len(self.blocks) * BLOCK, len(ys))]
        return all(part.low_at is None or ys[part.low_at] > 0 for part in parts)


def _above_zero(
    steps: list[float], times: list[float], values: list[float]
) -> tuple[list[float], list[float], list[float]]:
    kept = [i for i, y in enumerate(values) if y > 0]
    return [steps[i] for i in kept], [times[i] for i in kept], [values[i] for i in kept]


def _view(
    xs: Sequence[float],
    ys: list[float],
    width: int,
    smoothing: float,
    blocks: Sequence[Bucket],
) -> tuple[tuple[list[float], list[float]], tuple[list[float], list[float]] | None]:
    if len(ys) <= 2 * width:
        raw = downsample(xs, ys, width)
        if not smoothing:
            return raw, None
        kept = [i for i, y in enumerate(ys) if math.isfinite(y)]
        return raw, ([xs[i] for i in kept], smooth([ys[i] for i in kept], smoothing))
    buckets = buckets_of(ys, width, blocks)
    raw = extremes(xs, ys, buckets)
    return raw, (smooth_buckets(xs, buckets, smoothing) if smoothing else None)
