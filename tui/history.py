"""Reading a metric's history for a chart, in the store's terms (a worker thread's job).

A chart's first read takes the whole history: a long one as the store's block summaries and
the points after them (`Store.get_metric_blocks`), never point by point. Later reads take
the points after the chart's cursor, as a live run logs them.
"""

from __future__ import annotations

from typing import NamedTuple

from mltop.store import Metric, TrackingStore
from mltop.tui.downsample import Series


class ChartData(NamedTuple):
    """What one load read for one chart: a whole history (`series`, the chart's first read)
    or the points after its cursor; `cursor` is where the next read starts."""

    series: Series | None
    points: list[Metric]
    cursor: int


def chart_data(store: TrackingStore, run_id: str, key: str, after: int | None) -> ChartData:
    """One chart's read: the whole history when `after` is None (a long one as the store's
    block summaries and the points after them), else the points after the cursor."""
    if after is None:
        summaries, points = store.get_metric_blocks(run_id, key)
        cursor = points[-1].cursor if points else (summaries[-1].last_id if summaries else 0)
        return ChartData(Series.from_store(summaries, points), [], cursor)
    points = store.get_metric_history(run_id, key, after=after)
    return ChartData(None, points, points[-1].cursor if points else after)
