"""The run detail screen: the run's facts, then charts, params, metrics and tags."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from mltop.store import Metric, Run, Store
from mltop.tui.text import clean, duration, number, timestamp
from mltop.tui.widgets.metric_chart import MetricChart

MAX_CHARTS = 6


class HistoryLoaded(Message):
    def __init__(self, run: Run, points: dict[str, list[Metric]]) -> None:
        super().__init__()
        self.run = run
        self.points = points


class RunDetailScreen(Screen):
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "app.pop_screen", "Back", id="detail.back"),
        Binding("x", "toggle_axis", "Step/time", id="detail.axis"),
        Binding("l", "toggle_log", "Log scale", id="detail.log"),
        Binding("plus,equals_sign", "smooth(0.1)", "Smooth +", id="detail.smooth_more"),
        Binding("minus", "smooth(-0.1)", "Smooth -", id="detail.smooth_less"),
        Binding("q", "app.quit", "Quit", id="app.quit"),
    ]

    DEFAULT_CSS = """
    RunDetailScreen { overflow: hidden; }
    #body { height: 1fr; }
    #summary { height: 4; padding: 0 1; }
    TabPane { padding: 0; }
    #charts { grid-size: 2; grid-gutter: 0 2; grid-rows: 1fr; height: 1fr; }
    """

    def __init__(self, store: Store, run_id: str) -> None:
        super().__init__()
        self.store = store
        self.run_id = run_id
        self.cursors: dict[str, int] = {}
        self.run: Run | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="body"):
            yield Static(id="summary", markup=False)
            with TabbedContent(initial="charts-tab"):
                with TabPane("Charts", id="charts-tab"):
                    yield Grid(id="charts")
                with TabPane("Params", id="params-tab"):
                    yield DataTable(id="params", cursor_type="row")
                with TabPane("Metrics", id="metrics-tab"):
                    yield DataTable(id="metrics", cursor_type="row")
                with TabPane("Tags", id="tags-tab"):
                    yield DataTable(id="tags", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        # TabbedContent and its panes size to their content by default: make them fill the
        # screen under the summary (inline styles: the widgets' own defaults win over ours).
        self.query_one(TabbedContent).styles.height = "1fr"
        for pane in self.query(TabPane):
            pane.styles.height = "1fr"
        for table_id, columns in (
            ("params", ("Key", "Value")),
            ("tags", ("Key", "Value")),
            ("metrics", ("Key", "Latest", "Step", "Min", "Max", "Points")),
        ):
            self.query_one(f"#{table_id}", DataTable).add_columns(*columns)
        self.load()

    @work(thread=True, exclusive=True, group="detail")
    def load(self) -> None:
        run = self.store.get_run(self.run_id)
        points = {}
        for key in sorted(run.data.summaries)[:MAX_CHARTS]:
            after = self.cursors.get(key, 0)
            points[key] = self.store.get_metric_history(self.run_id, key, after=after)
        self.post_message(HistoryLoaded(run, points))

    def on_history_loaded(self, message: HistoryLoaded) -> None:
        self.run = message.run
        self.query_one("#summary", Static).update(self._summary(message.run))
        grid = self.query_one("#charts", Grid)
        charts = {chart.key: chart for chart in self.query(MetricChart)}
        for key, points in message.points.items():
            chart = charts.get(key)
            if chart is None:
                chart = MetricChart(key)
                grid.mount(chart)
                charts[key] = chart
            if points:
                self.cursors[key] = points[-1].cursor
                chart.extend(points)
        self._fill_tables(message.run)

    def _summary(self, run: Run) -> Text:
        info, tags = run.info, run.data.tags
        now = self.app.now()  # type: ignore[attr-defined]
        dirty = " (dirty)" if tags.get("mltop.git.dirty") == "true" else ""
        ran = duration(info.start_time, info.end_time, now)
        lines = [
            f"{info.run_name}   {info.display_status}   {info.run_id}",
            f"started {timestamp(info.start_time)}, ran {ran}"
            f"   user {info.user_id}   host {tags.get('mltop.host', '')}",
            f"git {tags.get('mltop.git.commit', '-')[:12]}{dirty}   "
            f"parent {info.parent_run_id or '-'}",
            f"command {tags.get('mltop.source.command', '-')}",
        ]
        return Text("\n".join(clean(line) for line in lines), no_wrap=True, overflow="ellipsis")

    def _fill_tables(self, run: Run) -> None:
        params = self.query_one("#params", DataTable)
        params.clear()
        params.add_rows([(Text(clean(k)), Text(clean(v))) for k, v in run.data.params.items()])
        tags = self.query_one("#tags", DataTable)
        tags.clear()
        tags.add_rows([(Text(clean(k)), Text(clean(v))) for k, v in run.data.tags.items()])
        metrics = self.query_one("#metrics", DataTable)
        metrics.clear()
        metrics.add_rows(
            [
                (
                    Text(clean(k)),
                    number(s.value),
                    str(s.step),
                    number(s.min),
                    number(s.max),
                    str(s.count),
                )
                for k, s in sorted(run.data.summaries.items())
            ]
        )

    def follow(self) -> None:
        """New points may have arrived: read after each chart's cursor."""
        self.load()

    def _charts(self) -> list[MetricChart]:
        return list(self.query(MetricChart))

    def action_toggle_axis(self) -> None:
        for chart in self._charts():
            chart.by_time = not chart.by_time
            chart.redraw()

    def action_toggle_log(self) -> None:
        for chart in self._charts():
            chart.log_scale = not chart.log_scale
            chart.redraw()

    def action_smooth(self, delta: float) -> None:
        for chart in self._charts():
            chart.smoothing = round(min(0.9, max(0.0, chart.smoothing + delta)), 2)
            chart.redraw()
