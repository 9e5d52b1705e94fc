"""One metric's chart: plotext, fed at most two points per column, redrawn on demand.

The full history stays in plain lists (appended to as the run logs); each redraw
downsamples it to the chart's width first (`downsample.py`), so a million points cost tens
of milliseconds, not a frozen screen.
"""

from __future__ import annotations

import math
import time

from textual_plotext import PlotextPlot

from mltop.store import Metric
from mltop.tui.downsample import downsample, smooth
from mltop.tui.text import clean

REDRAW_EVERY = 0.25  # seconds: a live run's chart follows at most four times a second


class MetricChart(PlotextPlot):
    DEFAULT_CSS = """
    MetricChart { height: 1fr; min-height: 5; }
    """

    def __init__(self, key: str) -> None:
        super().__init__(classes="metric-chart")
        self.key = key
        self.steps: list[float] = []
        self.times: list[float] = []
        self.values: list[float] = []
        self.by_time = False
        self.log_scale = False
        self.smoothing = 0.0
        self.redraws = 0
        self._last_redraw = 0.0
        self._redraw_pending = False

    def extend(self, points: list[Metric]) -> None:
        for point in points:
            self.steps.append(point.step)
            self.times.append(point.timestamp / 1000)
            self.values.append(point.value)
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
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        xs = self.times if self.by_time else self.steps
        ys = self.values
        if self.log_scale:
            kept = [(x, y) for x, y in zip(xs, ys, strict=True) if y > 0 and math.isfinite(y)]
            xs, ys = [p[0] for p in kept], [p[1] for p in kept]
        width = max(10, self.size.width or 80)
        px, py = downsample(xs, ys, width)
        if px:
            plt.plot(px, py, marker="braille", label="raw" if self.smoothing else None)
            if self.smoothing:
                sx, sy = downsample(xs, smooth(ys, self.smoothing), width)
                plt.plot(sx, sy, marker="braille", label=f"EMA {self.smoothing:.2f}")
        plt.title(clean(self.key))
        plt.yscale("log" if self.log_scale else "linear")
        plt.xlabel("time (s)" if self.by_time else "step")
        self.refresh()
