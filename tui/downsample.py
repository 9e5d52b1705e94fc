"""Downsampling a metric's history for a terminal chart: min and max per bucket.

A chart `width` columns wide can show about two points per column. `downsample` splits the
series (in logging order) into `width` buckets and keeps, from each, the point with the
smallest and the one with the largest value, in their original order, so that spikes and
dips survive while a million points become a few hundred. Non-finite values (NaN, ±inf)
cannot be drawn and are left out. Every scan is a C-level `sum`/`min`/`max`/`index` over a
list slice (a bucket holding NaN is filtered in Python, that bucket alone): a million points
take tens of milliseconds, with no numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def downsample(
    xs: Sequence[float], ys: Sequence[float], width: int
) -> tuple[list[float], list[float]]:
    """At most `2 * width` points of (xs, ys): per bucket, its minimum and its maximum."""
    if len(xs) != len(ys):
        raise ValueError(f"xs and ys differ in length ({len(xs)} and {len(ys)})")
    if width < 1:
        raise ValueError(f"width must be at least 1, not {width}")
    n = len(ys)
    if not isinstance(ys, list):
        ys = list(ys)
    out_x: list[float] = []
    out_y: list[float] = []
    buckets = min(width, n)
    for bucket in range(buckets):
        lo = bucket * n // buckets
        hi = (bucket + 1) * n // buckets
        chunk = ys[lo:hi]
        if n <= 2 * width:
            keep = range(lo, hi)
        else:
            if not math.isfinite(sum(chunk)):  # one C pass; the slow path only for this bucket
                finite = [i for i in range(lo, hi) if math.isfinite(ys[i])]
                if not finite:
                    continue
                chunk = [ys[i] for i in finite]
                low, high = min(chunk), max(chunk)
                keep = sorted({finite[chunk.index(low)], finite[chunk.index(high)]})
            else:
                low, high = min(chunk), max(chunk)
                keep = sorted({lo + chunk.index(low), lo + chunk.index(high)})
        for i in keep:
            if math.isfinite(ys[i]):
                out_x.append(xs[i])
                out_y.append(ys[i])
    return out_x, out_y


def smooth(ys: Sequence[float], weight: float) -> list[float]:
    """Exponential moving average (TensorBoard-style, bias-corrected) with `weight` in [0, 1)."""
    if not 0 <= weight < 1:
        raise ValueError(f"smoothing weight must be in [0, 1), not {weight}")
    out = []
    last = 0.0
    debias = 1.0
    for y in ys:
        last = last * weight + (1 - weight) * y
        debias *= weight
        out.append(last / (1 - debias) if debias != 1 else y)
    return out
