"""One metric's chart: plotext, fed at most two points per column, redrawn on demand.

The history is a `Series`: the store's summaries of its blocks (a long history is never
read point by point), then the points after them, appended to as the run logs; each redraw
downsamples it to the chart's width from those summaries (`downsample.py`), so a million
points cost a few milliseconds plus plotext's own drawing, and a live chart redraws at
most about seven times a second.
"""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.app import RenderResult
from textual.geometry import Size
from textual.reactive import var
from textual_plotext import PlotextPlot

from mltop.store import Metric
from mltop.tui.downsample import Series
from mltop.tui.text import clean
from mltop.tui.workers import report

REDRAW_EVERY = 0.15  # seconds: a live run's chart follows at most about seven times a second


class Plot(PlotextPlot):
    """A plotext chart, built once per change of its data (`changed`) or size, that says
    it cannot draw its data rather than take the dashboard down.

    plotext's build is not to be repeated on the same data: on a log axis it takes the
    logarithm of the values in place, so a second build (any repaint) takes it again, of
    numbers at or below zero, and fails. Its arithmetic also fails on some values, which
    `downsample.drawable` keeps out."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._version = 0
        self._built: tuple[tuple[int, Size], RenderResult] | None = None

    def changed(self) -> None:
        """The data or the settings changed: build the picture again."""
        self._version += 1
        self.refresh()

    def render(self) -> RenderResult:
        key = (self._version, self.size)
        if self._built is not None and self._built[0] == key:
            return self._built[1]
        try:
            picture = super().render()
        except Exception as error:  # a bug, ours or plotext's: said, logged, never fatal
            report(self.app, error)
            picture = Text(f"cannot draw this chart ({type(error).__name__}: {error})", style="dim")
        self._built = (key, picture)
        return picture


class MetricChart(Plot):
    DEFAULT_CSS = """
    MetricChart { height: 1fr; min-height: 5; }
    """

    # How the history is drawn: x by time or by step, a log y axis, the smoothing. A screen
    # of several charts binds its own to each (`data_bind`), so that all follow one key.
    by_time = var(False, init=False)
    log_scale = var(False, init=False)
    smoothing = var(0.0, init=False)

    def __init__(self, key: str) -> None:
        super().__init__(classes="metric-chart")
        self.key = key
        self.series = Series()
        self.drawn = 0  # how many points of the history the picture shows
        self.last_drawn: float | None = None  # the value of the last of them
        self._last_redraw = 0.0
        self._redraw_pending = False

    def extend(self, points: list[Metric]) -> None:
        self.series.add(points)
        self.request_redraw()

    def replace_series(self, series: Series) -> None:
        """Show `series` (a history read and summarised off the UI thread) instead, at once:
        the chart was just drawn empty as it was laid out, and a whole history is worth
        more than the throttle that spaces live redraws."""
        self.series = series
        self.redraw()

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

    def _drawing_changed(self, old: object, new: object) -> None:
        if new != old:  # (a binding's first value, the same as the chart's, changes nothing)
            self.redraw()

    watch_by_time = watch_log_scale = watch_smoothing = _drawing_changed

    def redraw(self) -> None:
        self._last_redraw = time.monotonic()
        self.drawn = len(self.series)
        self.last_drawn = self.series.values[-1] if self.series.values else None
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        width = max(10, self.size.width or 80)
        (px, py), smoothed = self.series.view(
            width, by_time=self.by_time, positive=self.log_scale, smoothing=self.smoothing
        )
        # Before plotting: plotext takes each line's scale as it is when the line is added.
        # (An empty chart cannot be on a log scale.)
        plt.yscale("log" if self.log_scale and px else "linear")
        if px:
            plt.plot(px, py, marker="braille", label="raw" if smoothed else None)
            if smoothed:
                plt.plot(*smoothed, marker="braille", label=f"EMA {self.smoothing:.2f}")
        if not px:
            plt.title(clean(self.key) + ("  (nothing above zero to draw)" if self.log_scale
                                         else "  (no finite value to draw)"))  # fmt: skip
        else:
            plt.title(clean(self.key))
        plt.xlabel("time (s)" if self.by_time else "step")
        self.changed()
