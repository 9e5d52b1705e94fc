"""One metric's chart: plotext, fed at most two points per column, redrawn on demand.

The history is a `Series`: the store's summaries of its blocks (a long history is never
read point by point), then the points after them, appended to as the run logs; each redraw
downsamples it to the chart's width from those summaries (`downsample.py`), so a million
points cost a few milliseconds plus plotext's own drawing, and a live chart redraws at
most about seven times a second.
"""

from __future__ import annotations

import time

from textual_plotext import PlotextPlot

from mltop.store import Metric
from mltop.tui.downsample import Series
from mltop.tui.text import clean

REDRAW_EVERY = 0.15  # seconds: a live run's chart follows at most about seven times a second


class MetricChart(PlotextPlot):
    DEFAULT_CSS = """
    MetricChart { height: 1fr; min-height: 5; }
    """

    def __init__(self, key: str) -> None:
        super().__init__(classes="metric-chart")
        self.key = key
        self.series = Series()
        self.by_time = False
        self.log_scale = False
        self.smoothing = 0.0
        self.redraws = 0
        self.drawn = 0  # how many points of the history the picture shows
        self.last_drawn: float | None = None  # the value of the last of them
        self._last_redraw = 0.0
        self._redraw_pending = False

    def extend(self, points: list[Metric]) -> None:
        self.series.add(points)
        self.request_redraw()

    def replace_series(self, series: Series) -> None:
        """Show `series` (a history read and summarised off the UI thread) instead."""
        self.series = series
        self.request_redraw()

    def request_redraw(self) -> None:
        """Redraw now, or when REDRAW_EVERY has passed since the last redraw."""
        if self._redraw_pending:
            return
        wait = self._last_redraw + REDRAW_EVERY - time.monotonic()
        if wait <= 0:
            self.redraw()
        else:
            self._redraw_pending = True
            self.set_timer(wait, self._pending_redraw)

    def _pending_redraw(self) -> None:
        self._redraw_pending = False
        self.redraw()

    def on_resize(self) -> None:
        self.redraw()  # the downsampling follows the width

    def redraw(self) -> None:
        self._last_redraw = time.monotonic()
        self.redraws += 1
        self.drawn = len(self.series)
        self.last_drawn = self.series.values[-1] if self.series.values else None
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        width = max(10, self.size.width or 80)
        (px, py), smoothed = self.series.view(
            width, by_time=self.by_time, positive=self.log_scale, smoothing=self.smoothing
        )
        if px:
            plt.plot(px, py, marker="braille", label="raw" if smoothed else None)
            if smoothed:
                plt.plot(*smoothed, marker="braille", label=f"EMA {self.smoothing:.2f}")
        plt.title(clean(self.key))
        plt.yscale("log" if self.log_scale else "linear")
        plt.xlabel("time (s)" if self.by_time else "step")
        self.refresh()
