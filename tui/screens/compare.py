"""Compare marked runs side by side: a table (one column per run) and overlaid charts.

Rows are params, then each metric's latest value, min and max, then key attributes. A row
whose values differ across the runs has its name highlighted, and `d` shows only those.
For every metric row the best value is highlighted: lower is better for names that say so
(loss, error, mae, ...), higher otherwise; `f` flips that for the metric under the cursor.
Each run keeps one colour everywhere on the screen (its column header, its chart line).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import var
from textual.timer import Timer
from textual.widgets import DataTable, Header, Static, TabbedContent, TabPane
from textual.worker import Worker

from mltop.store import Changes, Run, TrackingStore
from mltop.tui.downsample import Series
from mltop.tui.history import ChartData, chart_data
from mltop.tui.present import git_commit
from mltop.tui.screens.opaque import OpaqueScreen
from mltop.tui.text import clean, cut_middle, duration, ended, number
from mltop.tui.ticks import Axis
from mltop.tui.widgets.footer import KeysFooter
from mltop.tui.widgets.lists import ListTable
from mltop.tui.widgets.metric_chart import (
    CHART_BINDINGS,
    FULL,
    ChartGrid,
    ChartKeys,
    Line,
    Plot,
    series_lines,
)
from mltop.tui.workers import OneAtATime, store_work

# A run's marker, by its place among the compared runs: with NO_COLOR, runs still differ.
MARKERS = ["•", "x", "+", "o", "*", "#", "%", "@", "=", "&"]
# A run's colour, by its place among the compared runs (then again, past the last).
PALETTE = [
    "#4e9af1", "#f1a34e", "#5cc96b", "#e8575a", "#b07ce8",
    "#c9a36b", "#e87cc3", "#9a9a9a", "#c8d64a", "#4ed6d6",
]  # fmt: skip
LOWER_IS_BETTER = ("loss", "error", "mae", "mse", "rmse", "perplexity", "latency")
MAX_CHARTS = 8
COMPARED_METRICS = 256  # metrics read per run (the first logged): a run may log a million
FOLLOW_EVERY = 1.0  # seconds between reads while the compared runs change
# The row names' column at most (cells): a third of the screen, within these bounds. A
# longer name (a metric key may have 250 characters) is cut in the middle, and shown whole
# under the table while its row is highlighted.
LABEL_WIDTH = (16, 48)


def lower_is_better(metric: str) -> bool:
    name = metric.lower()
    return any(word in name for word in LOWER_IS_BETTER)


def colour(index: int) -> str:
    """The run's colour as a Rich style colour (`#rrggbb`)."""
    return PALETTE[index % len(PALETTE)]


def marker(index: int) -> str:
    return MARKERS[index % len(MARKERS)]


def rgb(hex_colour: str) -> tuple[int, int, int]:
    """The same colour as plotext takes it."""
    value = int(hex_colour[1:], 16)
    return (value >> 16, (value >> 8) & 0xFF, value & 0xFF)


@dataclass(frozen=True)
class Row:
    """One row of the comparison: its label, and how to read each run's value."""

    key: str  # unique: "params.lr", "metrics.loss", "metrics.loss min", "status", ...
    label: str
    metric: str | None  # the metric this row ranks, if any
    value: Callable[[Run], object]  # the raw value (None when the run has none)
    text: Callable[[object], str]


def _shown(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return number(value)
    return clean(value)


def rows_for(runs: list[Run], now: int) -> list[Row]:
    params = sorted({k for r in runs for k in r.data.params})
    metrics = sorted({k for r in runs for k in r.data.summaries})

    def param(k: str) -> Callable[[Run], object]:
        return lambda run: run.data.params.get(k)

    rows = [Row(f"params.{k}", f"params.{k}", None, param(k), _shown) for k in params]
    for k in metrics:

        def part(field: str, k: str = k) -> Callable[[Run], object]:
            def read(run: Run) -> object:
                summary = run.data.summaries.get(k)
                return None if summary is None else getattr(summary, field)

            return read

        rows += [
            Row(f"metrics.{k}", f"metrics.{k}", k, part("value"), _shown),
            Row(f"metrics.{k} min", f"  {k} min", k, part("min"), _shown),
            Row(f"metrics.{k} max", f"  {k} max", k, part("max"), _shown),
        ]
    rows += [
        Row("status", "status", None, lambda r: r.info.display_status, _shown),
        Row(
            "duration",
            "duration",
            None,
            lambda r: duration(r.info.start_time, ended(r.info), now),
            _shown,
        ),
        Row("commit", "git commit", None, lambda r: git_commit(r.data.tags) or None, _shown),
        Row("user", "user", None, lambda r: r.info.user_id, _shown),
    ]
    return [Row(r.key, clean(r.label), r.metric, r.value, r.text) for r in rows]


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def differs(values: list[object]) -> bool:
    return any(not _same(values[0], v) for v in values[1:])


def best_index(values: list[object], lower: bool) -> set[int]:
    """Which runs hold the best value of a metric row (ties: all of them; NaN never)."""
    scored = [
        (i, v) for i, v in enumerate(values) if isinstance(v, float | int) and math.isfinite(v)
    ]
    if len(scored) < 2:
        return set()
    target = (min if lower else max)(v for _i, v in scored)
    return {i for i, v in scored if v == target}


@dataclass
class CompareLoaded(Message):
    runs: list[Run]
    # Per (metric, run id); None: the charts are not shown.
    histories: dict[tuple[str, str], ChartData] | None


@dataclass(frozen=True)
class Compared:
    """One run's line on a compare chart."""

    name: str
    index: int  # its place among the compared runs: its colour and marker
    series: Series
    origin: float | None  # when the run started (seconds): its elapsed time's 0
    latest: float | None


class CompareChart(Plot):
    """One metric across the compared runs: a line per run, in its colour and marker, with
    a legend below the plot."""

    DEFAULT_CSS = "CompareChart { height: 1fr; min-height: 8; }"

    def __init__(self, metric: str) -> None:
        super().__init__()
        self.metric = metric
        self.compared: list[Compared] = []
        self.drawn: list[int] = []  # how many points of each line the picture shows

    def show(self, compared: list[Compared]) -> None:
        self.compared = compared
        self.drawn = [len(c.series) for c in compared]
        self.changed()

    def title(self) -> Text:
        return Text(clean(self.metric), style="bold")

    def points(self) -> int:
        return sum(self.drawn)

    @property
    def lines(self) -> list[tuple[str, str, Series]]:
        """(run name, colour, history) of each line."""
        return [(c.name, colour(c.index), c.series) for c in self.compared]

    def chart_lines(self, columns: int) -> list[Line]:
        return [
            series_lines(
                c.series, columns, self.x_axis, c.origin, log=self.log_scale,
                with_points=self.cursor is not None, label=clean(c.name)[:24],
                marker=marker(c.index), colour=rgb(colour(c.index)), latest=c.latest,
            )[0]
            for c in self.compared
        ]  # fmt: skip


class CompareScreen(ChartKeys, OpaqueScreen):
    """Marked runs side by side (`c` on the runs screen)."""

    diff_only = var(False, init=False)  # `d`: only the rows whose values differ
    # `f`: the metrics whose best direction the user flipped
    flipped: var[frozenset[str]] = var(frozenset(), init=False)
    # How every chart is drawn (`x`, `l`, the cursor, `z` `Z` `0`): bound to each chart's.
    x_axis: var[Axis] = var("step", init=False)
    log_scale = var(False, init=False)
    cursor: var[float | None] = var(None, init=False)  # an x value (`ChartKeys`)
    zoom: var[tuple[float, float]] = var(FULL, init=False)
    CSS_PATH = "compare.tcss"
    HELP_TITLE = "compare"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "back",
            "Back",
            tooltip="Back to the runs (on the charts: first the cursor and zoom go)",
            id="compare.back",
        ),
        Binding(
            "d",
            "toggle_diff",
            "Differences",
            tooltip="Show only the rows that differ",
            id="compare.diff",
        ),
        Binding(
            "f",
            "flip",
            "Flip best",
            tooltip="Flip which direction is best for the metric under the cursor",
            id="compare.flip",
        ),
        Binding(
            "1",
            "tab('compare-table')",
            "Table",
            tooltip="The table",
            id="compare.tab_table",
        ),
        Binding(
            "2",
            "tab('compare-charts')",
            "Charts",
            tooltip="Each metric overlaid across the runs",
            id="compare.tab_charts",
        ),
        *CHART_BINDINGS,
        Binding("q", "app.quit", "Quit", id="app.quit"),
    ]
    TABLE_ACTIONS = ("toggle_diff", "flip")
    CHART_ACTIONS = ("cycle_axis", "toggle_log", "zoom", "reset_view", "walk")

    def __init__(self, store: TrackingStore, run_ids: list[str]) -> None:
        super().__init__()
        self.store = store
        self.run_ids = run_ids
        self.runs: list[Run] = []
        self.rows: list[Row] = []
        self.shown_rows: list[Row] = []
        self.charts_loaded = False
        # Per (metric, run id): the history charted, and where its next read starts.
        self.series: dict[tuple[str, str], Series] = {}
        self.cursors: dict[tuple[str, str], int] = {}
        self._last_load = 0.0
        self._label_width = 0  # the row names' column, as wide as drawn
        self._follow_timer: Timer | None = None
        self.load = OneAtATime(self._start_read)

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield Static("", id="compare-note", markup=False)
            with TabbedContent(initial="compare-table"):
                with TabPane("Table", id="compare-table"):
                    yield ListTable(id="compare", cursor_type="row", zebra_stripes=True)
                    yield Static("", id="compare-key", markup=False)
                with TabPane("Charts", id="compare-charts"):
                    # What the charts wait for (a long history takes a while), or why none.
                    yield Static("", id="charts-note", markup=False)
                    yield ChartGrid(id="compare-grid")
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.fixed_columns = 1  # the row names stay while scrolling
        table.focus()
        self.load()

    # -- loading ---------------------------------------------------------------------------

    def _start_read(self) -> Worker[Any]:
        """Read the runs again, and what is new for the charts once they are shown (`load`:
        one read at a time)."""
        self._last_load = time.monotonic()
        cursors = dict(self.cursors) if self.charts_loaded else None
        return self._read(self.store, tuple(self.run_ids), cursors)

    @store_work(group="compare")
    def _read(
        store: TrackingStore, run_ids: Sequence[str], cursors: dict[tuple[str, str], int] | None
    ) -> CompareLoaded:
        runs = [store.get_run(run_id, max_metrics=COMPARED_METRICS) for run_id in run_ids]
        histories = None
        if cursors is not None:
            metrics = sorted({k for r in runs for k in r.data.summaries})[:MAX_CHARTS]
            histories = {
                (key, run.info.run_id): chart_data(
                    store, run.info.run_id, key, cursors.get((key, run.info.run_id))
                )
                for key in metrics
                for run in runs
                if key in run.data.summaries
            }
        return CompareLoaded(runs, histories)

    @on(Worker.StateChanged)
    def _read_ended(self, event: Worker.StateChanged) -> None:
        self.load.ended(event.worker)

    def on_compare_loaded(self, message: CompareLoaded) -> None:
        self.runs = message.runs
        self.rows = rows_for(message.runs, self.app.now())  # type: ignore[attr-defined]
        self._fill_table()
        if message.histories is not None:
            for pair, data in message.histories.items():
                if data.series is not None:
                    self.series[pair] = data.series
                elif data.points:
                    self.series[pair].add(data.points)
                self.cursors[pair] = data.cursor
            self._fill_charts()

    def store_changed(self, changes: Changes, touched: set[str] | None) -> None:
        """Read again only when one of the compared runs changed."""
        if touched is None or not touched.isdisjoint(self.run_ids):
            self.follow()

    def follow(self) -> None:
        """The store changed: read the runs again (and their charts, if shown), at most
        once a second: running runs commit several times a second."""
        if self._follow_timer is not None:
            return
        wait = max(0.01, self._last_load + FOLLOW_EVERY - time.monotonic())

        def go() -> None:
            self._follow_timer = None
            self.load()

        self._follow_timer = self.set_timer(wait, go)

    def reload(self) -> None:
        """Read everything shown again, the charts' whole histories too (the store works
        again, or it is another file now)."""
        self.cursors.clear()
        self.series.clear()
        self.load()

    # -- the table -------------------------------------------------------------------------

    def _fill_table(self) -> None:
        table = self.query_one(DataTable)
        keep = self.shown_rows[table.cursor_row].key if self.shown_rows else None
        keep_x, keep_y = table.scroll_x, table.scroll_y
        table.clear(columns=True)
        # The pinned column is sized up front: measured later, it was sometimes drawn at the
        # width of its header alone.
        width = min(
            max([len("run"), *(cell_len(row.label) for row in self.rows)]),
            self.label_width(),
        )
        self._label_width = width
        table.add_column(Text("run", style="bold"), key="label", width=width)
        for i, run in enumerate(self.runs):
            name = Text(clean(run.info.run_name), style=f"bold {colour(i)}")
            table.add_column(name, key=run.info.run_id)
        self.shown_rows = []
        differing = 0
        for row in self.rows:
            values = [row.value(run) for run in self.runs]
            differ = differs(values)
            differing += differ
            if self.diff_only and not differ:
                continue
            best: set[int] = set()
            if row.metric is not None:
                lower = lower_is_better(row.metric) != (row.metric in self.flipped)
                best = best_index(values, lower)
            label = Text(cut_middle(row.label, width), style="bold yellow" if differ else "")
            cells = [
                Text(row.text(v), style="bold reverse" if i in best else "")
                for i, v in enumerate(values)
            ]
            table.add_row(label, *cells, key=row.key)
            self.shown_rows.append(row)
        keys = [r.key for r in self.shown_rows]
        if keep in keys:
            table.move_cursor(row=keys.index(keep))
        table.scroll_to(keep_x, keep_y, animate=False)
        self._show_key()
        note = (
            f"{len(self.runs)} runs · {differing} of {len(self.rows)} rows differ"
            + (" · only those shown (d: all)" if self.diff_only else " · d: only those")
            + " · f: flip best"
        )
        self.query_one("#compare-note", Static).update(note)

    def label_width(self) -> int:
        low, high = LABEL_WIDTH
        return max(low, min(high, self.app.size.width // 3))

    def on_resize(self) -> None:
        if self.rows and self.label_width() != self._label_width:
            self._fill_table()

    @on(DataTable.RowHighlighted, "#compare")
    def _show_key(self) -> None:
        """Under the table: the highlighted row's name whole, when the table cuts it."""
        table = self.query_one(DataTable)
        key_line = self.query_one("#compare-key", Static)
        row = (
            self.shown_rows[table.cursor_row]
            if 0 <= table.cursor_row < len(self.shown_rows)
            else None
        )
        cut = row is not None and cell_len(row.label) > self._label_width
        key_line.display = cut
        if row is not None and cut:
            key_line.update(Text(row.label.strip()))

    def action_toggle_diff(self) -> None:
        self.diff_only = not self.diff_only

    def watch_diff_only(self) -> None:
        self._fill_table()

    def watch_flipped(self) -> None:
        self._fill_table()

    def action_flip(self) -> None:
        table = self.query_one(DataTable)
        if not self.shown_rows:
            return
        row = self.shown_rows[table.cursor_row]
        if row.metric is None:
            self.notify("not a metric: nothing to flip", severity="warning")
            return
        self.flipped ^= {row.metric}

    # -- charts ----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.is_mounted:
            return True
        on_charts = self.query_one(TabbedContent).active == "compare-charts"
        if action in self.CHART_ACTIONS:
            return on_charts
        if action in self.TABLE_ACTIONS:
            return not on_charts
        if action == "tab":  # the footer offers the other tab
            return parameters != (("compare-charts",) if on_charts else ("compare-table",))
        return True

    def action_back(self) -> None:
        """Escape: the cursor and zoom go first (on the charts), then the screen."""
        on_charts = self.query_one(TabbedContent).active == "compare-charts"
        if on_charts and (self.cursor is not None or self.zoom != FULL):
            self.action_reset_view()
        else:
            self.app.pop_screen()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self.query_one("#compare" if tab == "compare-table" else "#compare-grid").focus()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.refresh_bindings()
        if event.pane.id == "compare-charts" and not self.charts_loaded:
            self.charts_loaded = True
            count = len(self.run_ids)
            self.query_one("#charts-note", Static).update(
                Text(f"reading the metric histories of {count} run{'s' * (count != 1)}…",
                     style="dim")
            )  # fmt: skip
            self.load()

    def charts(self) -> list[Plot]:
        return list(self.query(CompareChart))

    def _fill_charts(self) -> None:
        grid = self.query_one("#compare-grid", ChartGrid)
        charts = {chart.metric: chart for chart in self.query(CompareChart)}
        metrics = sorted({metric for metric, _run in self.series})
        for metric in metrics:
            if metric not in charts:
                charts[metric] = CompareChart(metric).data_bind(
                    CompareScreen.x_axis,
                    CompareScreen.log_scale,
                    CompareScreen.cursor,
                    CompareScreen.zoom,
                )
                grid.mount(charts[metric])
            charts[metric].show(
                [
                    Compared(
                        run.info.run_name,
                        i,
                        self.series[metric, run.info.run_id],
                        None if run.info.start_time is None else run.info.start_time / 1000,
                        None if summary is None else summary.value,
                    )
                    for i, run in enumerate(self.runs)
                    if (metric, run.info.run_id) in self.series
                    for summary in [run.data.summaries.get(metric)]
                ]
            )
        grid.fit(len(metrics))
        note = self.query_one("#charts-note", Static)
        note.display = not metrics
        note.update(Text("no metrics logged by these runs: nothing to chart", style="dim"))
