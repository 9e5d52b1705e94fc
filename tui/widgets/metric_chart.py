"""Charts of metric histories: plotext, fed at most two points per column, built on demand.

A history is a `Series`: the store's summaries of its blocks (a long history is never
read point by point), then the points after them, appended to as the run logs; a chart
downsamples it to its width from those summaries (`downsample.py`), so a million points
cost a few milliseconds plus plotext's own drawing.

What a chart costs is what keeps the dashboard light while runs log: its picture (plotext's
figure, then Rich text) is built in `render`, only when its data, its settings or its size
changed since the last build (`Plot.changed`), never on a mere repaint, and drawn from
plotext's matrix of cells without a round trip through ANSI text (`matrix_text`). A live
chart redraws at once when new points arrive, at most about seven times a second
(`REDRAW_EVERY`), and later when its screen's charts took more than BUILD_SHARE of a core
to build over the last BUILD_WINDOW (`ChartGrid.budget_wait`): points arriving now and then
are drawn as they come, and eight runs logging twenty steps a second cost a bounded share.

Every chart draws the same way (`Plot`): a heading line (the metric, its latest value, the
log scale when on), the plot, then a legend line outside it (the x axis, and a marker per
line so that lines differ without colour). The x axis is the step, the time elapsed since
the run started or the clock (`ticks.py`, round ticks); a value cursor (a place on the x
axis, in its units: a step, seconds since the start, or a clock time, so that it stays on
its point while a live run's range grows) draws a vertical marker and says each line's
value there; a zoom shows a part of the x range (fractions of the whole).
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from plotext._utility import colors_to_ansi  # type: ignore[import-untyped]
from rich.console import Group
from rich.style import Style
from rich.text import Span, Text
from textual.app import RenderResult
from textual.binding import Binding, BindingType
from textual.containers import ScrollableContainer
from textual.geometry import Size
from textual.reactive import var
from textual_plotext import PlotextPlot

from mltop.store import Metric
from mltop.tui.downsample import Series
from mltop.tui.text import clean, number
from mltop.tui.ticks import AXES, Axis, clock_label, duration_label, ticks, value_ticks
from mltop.tui.workers import report

REDRAW_EVERY = 0.15  # seconds: a live run's chart follows at most about seven times a second...
BUILD_SHARE = 0.05  # ...and later while building its screen's charts took more of a core...
BUILD_WINDOW = 1.0  # ...over this many seconds
FULL = (0.0, 1.0)  # the zoom that shows the whole x range
MOST_COLUMNS = 4000  # a zoomed chart downsamples its whole history to at most this many
CURSOR_STEPS = 60  # left / right: the cursor moves 1/CURSOR_STEPS of the range shown
TICK_WIDTH = 12  # columns per x tick, about
TICK_HEIGHT = 4  # lines per y tick, about
AXIS_NAMES = {"step": "step", "elapsed": "time since start", "clock": "clock time"}


@dataclass
class Line:
    """One line of a chart, as drawn: x in the axis' units, with the step and time (in
    seconds) of each point when the cursor needs them."""

    label: str
    xs: list[float]
    ys: list[float]
    marker: str = "braille"
    colour: tuple[int, int, int] | None = None
    steps: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    latest: float | None = None  # shown by the label in the legend
    origin: float | None = None  # when its run started (seconds), for the time since

    def near(self, x: float) -> int | None:
        """The index of the point nearest to `x` (xs ascending, as logged), if any."""
        if not self.xs:
            return None
        i = bisect.bisect_left(self.xs, x)
        if i == len(self.xs) or (i > 0 and x - self.xs[i - 1] <= self.xs[i] - x):
            i -= 1
        return i


def clipped(line: Line, lo: float, hi: float) -> Line:
    """The points of `line` with x in [lo, hi]."""
    kept = [i for i, x in enumerate(line.xs) if lo <= x <= hi]
    if len(kept) == len(line.xs):
        return line

    def pick(values: list[float]) -> list[float]:
        return [values[i] for i in kept] if values else []

    return Line(
        line.label, pick(line.xs), pick(line.ys), line.marker, line.colour,
        pick(line.steps), pick(line.times), line.latest, line.origin,
    )  # fmt: skip


def zoomed(zoom: tuple[float, float], at: float | None, factor: float) -> tuple[float, float]:
    """The zoom `factor` times narrower (wider if below 1) around `at` (the cursor, as a
    fraction of the whole range; None: the middle of the zoom), held within the whole."""
    lo, hi = zoom
    centre = (lo + hi) / 2 if at is None else at
    span = min(1.0, (hi - lo) / factor)
    lo = min(max(0.0, centre - span / 2), 1.0 - span)
    return (lo, lo + span) if span < 1.0 else FULL


class Plot(PlotextPlot):
    """A chart whose picture is built once per change of its data or settings
    (`changed`) or of its size, and that says it cannot draw its data rather than take the
    dashboard down.

    plotext's build is not to be repeated on the same data: on a log axis it takes the
    logarithm of the values in place, so a second build (any repaint) takes it again, of
    numbers at or below zero, and fails. Its arithmetic also fails on some values, which
    `downsample.drawable` keeps out."""

    # How it is drawn; a screen of several charts binds its own to each (`data_bind`), so
    # that all follow one key.
    x_axis: var[Axis] = var("step", init=False)
    log_scale = var(False, init=False)
    cursor: var[float | None] = var(None, init=False)  # an x value, on the axis shown
    zoom: var[tuple[float, float]] = var(FULL, init=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._version = 0
        self._built: tuple[tuple[int, Size], RenderResult] | None = None
        self.build_seconds = 0.0  # how long the last picture took to build
        self.readout = ""  # the cursor's line of text, as last drawn
        # As last drawn: the x range of all the data, and the part shown (zoomed).
        self.whole: tuple[float, float] | None = None
        self.shown: tuple[float, float] | None = None
        # The point the cursor reads, as last drawn: (step, time, its run's start).
        self.cursor_point: tuple[float, float, float | None] | None = None

    @property
    def by_time(self) -> bool:
        return self.x_axis != "step"

    def changed(self) -> None:
        """The data or the settings changed: build the picture again (when next painted)."""
        self._version += 1
        self.refresh()

    def _drawing_changed(self, old: object, new: object) -> None:
        if new != old:  # (a binding's first value, the same as the chart's, changes nothing)
            self.changed()

    watch_x_axis = watch_log_scale = watch_cursor = watch_zoom = _drawing_changed

    # -- what subclasses say ---------------------------------------------------------------

    def title(self) -> Text:
        raise NotImplementedError

    def chart_lines(self, columns: int) -> list[Line]:
        """The lines to draw, downsampled to about `columns` columns (with the step and
        time of each point when the cursor is on)."""
        raise NotImplementedError

    def points(self) -> int:
        """How many points the chart's lines hold, in all."""
        raise NotImplementedError

    # -- drawing ---------------------------------------------------------------------------

    def render(self) -> RenderResult:
        key = (self._version, self.size)
        if self._built is not None and self._built[0] == key:
            return self._built[1]
        started = time.perf_counter()
        try:
            picture = self._picture(self.size.width, self.size.height)
        except Exception as error:  # a bug, ours or plotext's: said, logged, never fatal
            report(self.app, error)
            picture = Text(f"cannot draw this chart ({type(error).__name__}: {error})", style="dim")
        self._built = (key, picture)
        self.build_seconds = time.perf_counter() - started
        if isinstance(self.parent, ChartGrid):
            self.parent.built(self.build_seconds)
        return picture

    def _picture(self, width: int, height: int) -> RenderResult:
        heading = self.title()
        if self.log_scale:
            heading.append("  · log y", style="bold")
        if self.zoom != FULL:
            heading.append(f"  · zoom {self.zoom[1] - self.zoom[0]:.0%}", style="bold")
        heading.truncate(width, overflow="ellipsis")
        lo_zoom, hi_zoom = self.zoom
        columns = min(MOST_COLUMNS, int(max(10, width) / (hi_zoom - lo_zoom)))
        lines = self.chart_lines(columns)
        drawn = [line for line in lines if line.xs]
        self.readout = ""
        self.cursor_point = None
        if self.points() == 1 or not drawn:
            self.whole = self.shown = None
            return Group(heading, self._without_plot(lines))
        first = min(line.xs[0] for line in drawn)
        last = max(line.xs[-1] for line in drawn)
        lo, hi = first + (last - first) * lo_zoom, first + (last - first) * hi_zoom
        self.whole, self.shown = (first, last), (lo, hi)
        shown = [clipped(line, lo, hi) for line in drawn]
        # The cursor reads the lines shown; off them (zoomed, as a live run grew), all.
        off = self.cursor is not None and not lo <= self.cursor <= hi
        legend = self._legend(drawn if off else shown, width)
        # One line, or two when it is longer (more is cut).
        legend_lines = 1 if legend.cell_len <= width else 2
        legend.truncate(width * legend_lines, overflow="ellipsis")
        plot_height = max(3, height - 1 - legend_lines)
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.plotsize(width, plot_height)
        self._plot._set_size(width, plot_height)  # see textual_plotext's render
        plt.theme(self._get_plotext_theme_name(self.app.theme))
        # Before plotting: plotext takes each line's scale as it is when the line is added.
        plt.yscale("log" if self.log_scale else "linear")
        for line in shown:
            if line.xs:
                plt.plot(line.xs, line.ys, marker=line.marker, color=line.colour)
        if hi > lo:
            plt.xlim(lo, hi)
        integer = self.x_axis == "step" and all(
            x == int(x) for line in shown for x in line.xs[:1] + line.xs[-1:]
        )
        plt.xticks(*ticks(self.x_axis, lo, hi, max(2, width // TICK_WIDTH), integer=integer))
        if not self.log_scale:  # (on a log axis, plotext's own: powers of ten)
            ys = [y for line in shown for y in line.ys]
            if ys and min(ys) < max(ys):
                plt.yticks(*value_ticks(min(ys), max(ys), max(3, plot_height // TICK_HEIGHT)))
        if self.cursor is not None and lo <= self.cursor <= hi:
            plt.vline(self.cursor, "gray")
        return Group(heading, matrix_text(plt), legend)

    def _without_plot(self, lines: list[Line]) -> Text:
        """A chart of one point is a number; of no drawable point, a sentence."""
        out = Text()
        for line in lines:
            if line.ys and self.points() == 1:
                step = f"   (one point, step {number_label_of(line.steps)})" if line.steps else ""
                out.append(f"\n  {number(line.ys[-1])}", style="bold")
                out.append(f"  {line.label}" if len(lines) > 1 else "")
                out.append(step, style="dim")
        if not out:
            out.append(
                "\n  (nothing above zero to draw)" if self.log_scale else "\n  (nothing to draw)",
                style="dim",
            )
        return out

    def _legend(self, lines: list[Line], width: int) -> Text:
        """Below the plot: the x axis, then each line's marker and label, or where the
        cursor is and each line's value there (the point of each line nearest to it)."""
        out = Text(f"x: {AXIS_NAMES[self.x_axis]}", style="dim")
        if self.cursor is not None:
            x = self.cursor
            parts: list[str] = []
            where = ""
            for line in lines:
                i = line.near(x)
                if i is None:
                    continue
                if not where and line.steps and line.times:
                    where = where_label(line.steps[i], line.times[i], line.origin)
                    self.cursor_point = (line.steps[i], line.times[i], line.origin)
                    out.append(f"  ▏{where}")
                out.append(f"  {marker_of(line)} ", style=_style(line))
                out.append(f"{line.label} " if line.label else "")
                out.append(number(line.ys[i]), style="bold")
                parts.append(number(line.ys[i]))
            self.readout = where + " " + " ".join(parts)
        else:
            for line in lines:
                if not line.label:
                    continue
                out.append(f"  {marker_of(line)} ", style=_style(line))
                out.append(line.label)
                if line.latest is not None:
                    out.append(f" {number(line.latest)}", style="dim")
        return out


_STYLES: dict[str, Style] = {}  # a plotext cell's colours and style (as its ANSI) -> Rich's


def _style_of(colours: list[Any]) -> Style:
    """The Rich style of a plotext cell's (colour, style, background), read once from the
    ANSI codes plotext writes for them."""
    ansi = colors_to_ansi(*colours)
    style = _STYLES.get(ansi)
    if style is None:
        spans = Text.from_ansi(ansi + "x").spans if ansi else []
        styles = [Style.parse(s.style) if isinstance(s.style, str) else s.style for s in spans]
        style = _STYLES[ansi] = Style.combine(styles) if styles else Style.null()
    return style


def matrix_text(figure: Any) -> Text:
    """A plotext figure built into Rich text straight from its matrix of cells: what
    `Text.from_ansi(figure.build())` gives, without writing ANSI codes and parsing them
    back (a third of a chart's build)."""
    figure._set_sizes()
    figure._build_matrix()
    matrix = figure.monitor.matrix
    parts: list[str] = []
    spans: list[Span] = []
    at = 0
    cols = matrix.cols
    for row in range(matrix.rows - 1, -1, -1):  # (plotext's rows count from the bottom)
        markers = matrix.marker[row]
        fore, kind, back = matrix.fullground[row], matrix.style[row], matrix.background[row]
        start = 0
        for col in range(1, cols + 1):
            if (
                col < cols
                and fore[col] == fore[start]
                and kind[col] == kind[start]
                and (back[col] == back[start])
            ):
                continue
            run = "".join(markers[start:col])
            style = _style_of([fore[start], kind[start], back[start]])
            if style:
                spans.append(Span(at, at + len(run), style))
            parts.append(run)
            at += len(run)
            start = col
        parts.append("\n")
        at += 1
    return Text("".join(parts[:-1]), spans=spans)


def where_label(step: float, at: float, origin: float | None) -> str:
    """Where the cursor is: the step, the time since the run started, the clock time."""
    since = f" · {duration_label(at - origin)}" if origin is not None else ""
    return f"step {number_label_of([step])}{since} · {clock_label(at)}"


def number_label_of(values: Sequence[float]) -> str:
    value = values[-1]
    return str(int(value)) if value == int(value) else number(value)


def marker_of(line: Line) -> str:
    return "⣿" if line.marker == "braille" else line.marker


def _style(line: Line) -> str:
    return "" if line.colour is None else "rgb({},{},{})".format(*line.colour)


class MetricChart(Plot):
    """One metric of one run: its raw line, and its moving average when smoothed."""

    DEFAULT_CSS = """
    MetricChart { height: 1fr; min-height: 5; }
    """

    smoothing = var(0.0, init=False)

    def __init__(self, key: str) -> None:
        super().__init__(classes="metric-chart")
        self.key = key
        self.series = Series()
        self.origin: float | None = None  # when the run started (seconds): elapsed time's 0
        self.latest: tuple[float, float] | None = None  # (value, step): the run's latest
        self.drawn = 0  # how many points of the history the picture shows
        self.last_drawn: float | None = None  # the value of the last of them
        self._last_redraw = 0.0
        self._redraw_pending = False

    watch_smoothing = Plot._drawing_changed

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
        """Redraw now, or once REDRAW_EVERY has passed since the last redraw, or later
        while its screen's charts took more than BUILD_SHARE of a core to build."""
        if self._redraw_pending:
            return
        now = time.monotonic()
        wait = self._last_redraw + REDRAW_EVERY - now
        if isinstance(self.parent, ChartGrid):
            wait = max(wait, self.parent.budget_wait(now, self.build_seconds))
        if wait <= 0:
            self.redraw()
        else:
            self._redraw_pending = True
            self.set_timer(wait, self._pending_redraw)

    def _pending_redraw(self) -> None:
        self._redraw_pending = False
        self.request_redraw()  # (the other charts may have spent the budget meanwhile)

    def redraw(self) -> None:
        self._last_redraw = time.monotonic()
        self.drawn = len(self.series)
        self.last_drawn = self.series.values[-1] if self.series.values else None
        self.changed()

    def points(self) -> int:
        return len(self.series)

    def title(self) -> Text:
        out = Text(clean(self.key), style="bold")
        if self.latest is not None:
            value, step = self.latest
            out.append(f"  {number(value)}")
            out.append(f"  step {number_label_of([step])}", style="dim")
        return out

    def chart_lines(self, columns: int) -> list[Line]:
        return series_lines(
            self.series, columns, self.x_axis, self.origin, log=self.log_scale,
            smoothing=self.smoothing, with_points=self.cursor is not None or len(self.series) == 1,
        )  # fmt: skip


def series_lines(
    series: Series,
    columns: int,
    axis: Axis,
    origin: float | None,
    *,
    log: bool,
    smoothing: float = 0.0,
    with_points: bool,
    label: str = "",
    marker: str = "braille",
    colour: tuple[int, int, int] | None = None,
    latest: float | None = None,
) -> list[Line]:
    """A series as the lines of a chart: raw, then smoothed (when `smoothing`); x on
    `axis` (elapsed time counted from `origin`, else from the first point)."""
    by_time = axis != "step"
    (xs, ys), smoothed = series.view(columns, by_time=by_time, positive=log, smoothing=smoothing)
    shift = 0.0
    if axis == "elapsed":
        shift = origin if origin is not None else (xs[0] if xs else 0.0)
    steps: list[float] = []
    times: list[float] = []
    if with_points:
        (other, _ys), _ = series.view(columns, by_time=not by_time, positive=log)
        steps, times = (other, xs) if by_time else (xs, other)
    raw = Line(
        label if label or not smoothing else "raw",
        [x - shift for x in xs] if shift else xs, ys, marker, colour, steps, times, latest, origin,
    )  # fmt: skip
    if smoothed is None:
        return [raw]
    sx, sy = smoothed
    ema = Line(f"EMA {smoothing:.2f}", [x - shift for x in sx] if shift else sx, sy, "•")
    return [raw, ema]


class ChartGrid(ScrollableContainer):
    """Charts, two a row, sharing the height while each keeps READABLE_ROWS lines, else
    scrolling; it takes the focus, so that the keyboard scrolls through many (up, down,
    page up and down, home, end), and left / right walk the value cursor."""

    DEFAULT_CSS = "ChartGrid { layout: grid; }"
    READABLE_ROWS = 11  # a chart's lines: heading, 8 of plot and ticks, legend

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.charts = 0
        self._grid_rows = ""
        self._builds: deque[tuple[float, float]] = deque()  # (when, seconds) of each build

    def built(self, seconds: float) -> None:
        """A chart's picture was built, in `seconds`."""
        now = time.monotonic()
        while self._builds and self._builds[0][0] <= now - BUILD_WINDOW:
            self._builds.popleft()
        self._builds.append((now, seconds))

    def budget_wait(self, now: float, cost: float) -> float:
        """How long until one more build of `cost` seconds keeps the builds of the last
        BUILD_WINDOW within BUILD_SHARE of it (0: now)."""
        builds = self._builds
        while builds and builds[0][0] <= now - BUILD_WINDOW:
            builds.popleft()
        over = sum(seconds for _, seconds in builds) + cost - BUILD_SHARE * BUILD_WINDOW
        if over <= 0:
            return 0.0
        for when, seconds in builds:  # they leave the window oldest first
            over -= seconds
            if over <= 0:
                return when + BUILD_WINDOW - now
        # One build costs more than the whole share: once the last has left the window.
        return builds[-1][0] + BUILD_WINDOW - now if builds else 0.0

    def fit(self, charts: int) -> None:
        """Lay out `charts` charts (one alone takes the whole width)."""
        self.charts = charts
        self.set_class(charts == 1, "single")
        self._fit()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        rows = max(1, (self.charts + 1) // 2 if self.charts > 1 else 1)
        shared = self.size.height // rows >= self.READABLE_ROWS or not self.size.height
        grid_rows = "1fr" if shared else str(self.READABLE_ROWS)
        if grid_rows != self._grid_rows:  # (a change lays the screen out)
            self._grid_rows = grid_rows
            self.styles.grid_rows = grid_rows

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "screen.walk(-1)", "Cursor", show=False, id="charts.left"),
        Binding("right", "screen.walk(1)", "Cursor", show=False, id="charts.right"),
        Binding("shift+left", "screen.walk(-10)", "Cursor", show=False, id="charts.left_far"),
        Binding("shift+right", "screen.walk(10)", "Cursor", show=False, id="charts.right_far"),
    ]


# The chart keys of a screen of charts (`ChartKeys`).
CHART_BINDINGS: list[BindingType] = [
    Binding(
        "x",
        "cycle_axis",
        "Axis",
        tooltip="Charts: x axis by step, time since start, or clock time",
        id="charts.axis",
    ),
    # (Also the chart grid's own, where they win over its scrolling: here for the help.)
    Binding(
        "left",
        "walk(-1)",
        "Cursor left",
        show=False,
        tooltip="Charts: the value cursor left (shift+left: further)",
        id="charts.cursor_left",
    ),
    Binding(
        "right",
        "walk(1)",
        "Cursor right",
        show=False,
        tooltip="Charts: the value cursor right (shift+right: further)",
        id="charts.cursor_right",
    ),
    Binding("l", "toggle_log", "Log", tooltip="Charts: logarithmic y axis", id="charts.log"),
    Binding(
        "z",
        "zoom(2)",
        "Zoom",
        tooltip="Charts: zoom into the x range around the cursor (left / right move it)",
        id="charts.zoom_in",
    ),
    Binding(
        "Z",
        "zoom(0.5)",
        "Unzoom",
        show=False,
        tooltip="Charts: zoom back out",
        id="charts.zoom_out",
    ),
    Binding(
        "0",
        "reset_view",
        "Reset",
        show=False,
        tooltip="Charts: the whole x range, no cursor",
        id="charts.reset",
    ),
]


def next_axis(axis: Axis) -> Axis:
    return AXES[(AXES.index(axis) + 1) % len(AXES)]


def x_on(axis: Axis, step: float, at: float, origin: float | None) -> float:
    """A point's x on `axis`: its step, the seconds since its run started, or its time."""
    if axis == "step":
        return step
    if axis == "elapsed":
        return at - origin if origin is not None else at
    return at


def span_of(ranges: Sequence[tuple[float, float] | None]) -> tuple[float, float] | None:
    """The x range covering every range given (None: none drawn yet)."""
    known = [r for r in ranges if r is not None]
    if not known:
        return None
    return min(r[0] for r in known), max(r[1] for r in known)


def walked(cursor: float | None, columns: int, shown: tuple[float, float]) -> float:
    """The cursor `columns` steps of 1/CURSOR_STEPS of the range `shown` along, held in it
    (at its right end, the latest point, when there was no cursor)."""
    lo, hi = shown
    if cursor is None:
        return hi
    return min(hi, max(lo, cursor + columns * (hi - lo) / CURSOR_STEPS))


def fraction_of(x: float | None, whole: tuple[float, float] | None) -> float | None:
    """Where `x` lies in the range `whole`, as a fraction (for zooming around it)."""
    if x is None or whole is None:
        return None
    lo, hi = whole
    return 0.5 if hi <= lo else min(1.0, max(0.0, (x - lo) / (hi - lo)))


class ChartKeys:
    """The chart keys of a screen of charts (CHART_BINDINGS): the screen holds `x_axis`,
    `log_scale`, `cursor` and `zoom`, bound to each of its `charts()`."""

    x_axis: Axis
    log_scale: bool
    cursor: float | None
    zoom: tuple[float, float]

    def charts(self) -> list[Plot]:
        raise NotImplementedError

    def action_cycle_axis(self) -> None:
        """The next axis; the cursor stays on its point (its x on the new axis)."""
        axis = next_axis(self.x_axis)
        if self.cursor is not None:
            points = [c.cursor_point for c in self.charts() if c.cursor_point is not None]
            self.cursor = x_on(axis, *points[0]) if points else None
        self.x_axis = axis

    def action_toggle_log(self) -> None:
        self.log_scale = not self.log_scale

    def action_walk(self, columns: int) -> None:
        shown = span_of([c.shown for c in self.charts()])
        if shown is not None:
            self.cursor = walked(self.cursor, columns, shown)

    def action_zoom(self, factor: float) -> None:
        whole = span_of([c.whole for c in self.charts()])
        self.zoom = zoomed(self.zoom, fraction_of(self.cursor, whole), factor)

    def action_reset_view(self) -> None:
        self.cursor = None
        self.zoom = FULL
