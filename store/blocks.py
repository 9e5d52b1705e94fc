"""A metric's history in blocks of `BLOCK` points: what its charts are drawn from.

Every series (one metric of one run) is cut, in logging order, into blocks: block `b` holds
points `b * BLOCK` to `b * BLOCK + BLOCK - 1`. A block's summary keeps its smallest and its
largest finite value (with where they are in the series, their step and time), the sum and
number of its finite values, and its last point. The store keeps these summaries with the
points, in the same transaction (`metric_blocks`), so that a chart of a million points is
drawn from four thousand summaries instead of a million rows; the dashboard summarises the
points that arrive live the same way, with the same code.

Summaries of consecutive pieces merge (`merge`) into the summary of both: how a block
filling over several commits is kept, and how a chart's bucket is made of blocks. Every scan
of values is a C-level `sum`/`min`/`max`/`index` over a list slice; a slice holding a value
that is not finite (NaN is stored as None) is filtered in Python, that slice alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

BLOCK = 256  # points per block


class MetricBlock(NamedTuple):
    """The summary of points `first` .. `first + count - 1` of a series (a block, or a
    piece of one, or several merged). `low_at`/`high_at` are indices in the series of the
    smallest/largest finite value (the first of equals); None when no value is finite."""

    block: int
    first: int
    count: int  # type: ignore[assignment]  # shadows tuple.count, as the store's summaries
    last_id: int  # the store's cursor of the last point (0 where unknown)
    last_step: float
    last_time: float  # ms in the store; whatever the caller's times are in the dashboard
    finite: int
    total: float  # the sum of the finite values
    low_at: int | None
    low: float | None
    low_step: float | None
    low_time: float | None
    high_at: int | None
    high: float | None
    high_step: float | None
    high_time: float | None

    @property
    def end(self) -> int:
        """The index after its last point."""
        return self.first + self.count


def summarize(
    first: int,
    steps: Sequence[float],
    times: Sequence[float],
    values: Sequence[float | None],
    lo: int,
    hi: int,
    *,
    last_id: int = 0,
    block: int = -1,
) -> MetricBlock:
    """The summary of `values[lo:hi]` (and their steps and times), the points numbered
    `first + lo` .. in their series; `block` names the block they belong to, if one."""
    chunk = values[lo:hi]
    at: list[int] | None = None  # None: every value of the chunk is finite
    try:
        total = sum(chunk)  # type: ignore[arg-type]  # None (NaN) raises: filtered below
        if not math.isfinite(total):
            at = []
    except TypeError:
        at = []
    if at is not None:
        at = [k for k, v in enumerate(chunk) if v is not None and math.isfinite(v)]
        chunk = [chunk[k] for k in at]
        total = sum(chunk)  # type: ignore[arg-type]  # finite values: it may still overflow
    last = hi - 1
    if not chunk:
        return MetricBlock(
            block, first + lo, hi - lo, last_id, steps[last], times[last], 0, 0.0,
            None, None, None, None, None, None, None, None,
        )  # fmt: skip
    low: float = min(chunk)  # type: ignore[type-var, assignment]
    high: float = max(chunk)  # type: ignore[type-var, assignment]
    low_k, high_k = chunk.index(low), chunk.index(high)
    if at is not None:
        low_k, high_k = at[low_k], at[high_k]
    low_k += lo
    high_k += lo
    return MetricBlock(
        block, first + lo, hi - lo, last_id, steps[last], times[last], len(chunk), total,
        first + low_k, low, steps[low_k], times[low_k],
        first + high_k, high, steps[high_k], times[high_k],
    )  # fmt: skip


def merge(parts: Sequence[MetricBlock], block: int | None = None) -> MetricBlock:
    """The summary of consecutive pieces, in order (the first extreme of equals wins)."""
    first = parts[0]
    low = high = first
    for part in parts[1:]:
        if part.low is not None and (low.low is None or part.low < low.low):
            low = part
        if part.high is not None and (high.high is None or part.high > high.high):
            high = part
    last = parts[-1]
    return MetricBlock(
        first.block if block is None else block,
        first.first,
        sum(p.count for p in parts),
        last.last_id,
        last.last_step,
        last.last_time,
        sum(p.finite for p in parts),
        sum(p.total for p in parts),
        low.low_at, low.low, low.low_step, low.low_time,
        high.high_at, high.high, high.high_step, high.high_time,
    )  # fmt: skip


def blocks_of(
    first: int,
    steps: Sequence[float],
    times: Sequence[float],
    values: Sequence[float | None],
    ids: Sequence[int] | None = None,
) -> list[MetricBlock]:
    """The points numbered `first` .. of a series, summarised block by block (the first
    and the last summary may cover part of their block only)."""
    out = []
    lo, n = 0, len(values)
    while lo < n:
        block = (first + lo) // BLOCK
        hi = min(n, (block + 1) * BLOCK - first)
        last_id = ids[hi - 1] if ids is not None else 0
        out.append(summarize(first, steps, times, values, lo, hi, last_id=last_id, block=block))
        lo = hi
    return out


def complete(blocks: Iterable[MetricBlock]) -> list[MetricBlock]:
    """The leading blocks that are whole and numbered 0, 1, 2, ... (what a chart can be
    drawn from; anything after them is read as points)."""
    out = []
    for number, block in enumerate(blocks):
        if block.block != number or block.first != number * BLOCK or block.count != BLOCK:
            break
        out.append(block)
    return out
