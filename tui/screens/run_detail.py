"""The run detail screen: the run's facts, then charts, params, metrics, tags and artifacts."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import (
    DataTable,
    Footer,
    Header,
    SelectionList,
    Static,
    TabbedContent,
    TabPane,
)
from textual.widgets.selection_list import Selection

from mltop.store import Metric, MltopError, Run, Store
from mltop.tui.downsample import Series
from mltop.tui.text import clean, duration, number, timestamp
from mltop.tui.widgets.artifacts import ArtifactsView
from mltop.tui.widgets.metric_chart import MetricChart

DEFAULT_CHARTS = 6  # charted until the user chooses (`m`): the first metrics by name


class ChooseMetrics(ModalScreen[list[str] | None]):
    """`m`: tick the metrics to chart (space), enter to apply, escape to leave as it was."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "apply", "Apply", priority=True, id="choose.apply"),
        Binding("escape", "dismiss(None)", "Cancel", id="choose.cancel"),
        Binding("a", "all(True)", "All", id="choose.all"),
        Binding("n", "all(False)", "None", id="choose.none"),
    ]
    DEFAULT_CSS = """
    ChooseMetrics { align: center middle; }
    ChooseMetrics > Vertical {
        width: 60; height: auto; max-height: 80%; border: thick $primary; background: $surface;
    }
    ChooseMetrics Static { padding: 0 1; }
    ChooseMetrics SelectionList { height: auto; max-height: 30; }
    """

    def __init__(self, keys: list[str], chosen: list[str]) -> None:
        super().__init__()
        self.keys = keys
        self.chosen = set(chosen)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                "Metrics to chart: space ticks, a all, n none, enter applies, escape cancels",
                markup=False,
            )
            yield SelectionList[str](
                *(Selection(Text(clean(k)), k, k in self.chosen) for k in self.keys)
            )

    def action_apply(self) -> None:
        picked = set(self.query_one(SelectionList).selected)
        self.dismiss([k for k in self.keys if k in picked])

    def action_all(self, on: bool) -> None:
        listing = self.query_one(SelectionList)
        if on:
            listing.select_all()
        else:
            listing.deselect_all()


class HistoryLoaded(Message):
    def __init__(
        self, run: Run, points: dict[str, list[Metric] | tuple[Series, int]], parent: str
    ) -> None:
        super().__init__()
        self.run = run
        self.points = points
        self.parent = parent


class RunDetailScreen(Screen):
    HELP_TITLE = "run detail"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", tooltip="Back to the runs", id="detail.back"),
        Binding(
            "x",
            "toggle_axis",
            "Step/time",
            tooltip="Charts: x axis by step or by time",
            id="detail.axis",
        ),
        Binding(
            "l",
            "toggle_log",
            "Log scale",
            tooltip="Charts: logarithmic y axis, or linear",
            id="detail.log",
        ),
        Binding(
            "plus,equals_sign",
            "smooth(0.1)",
            "Smooth +",
            tooltip="Charts: more smoothing (moving average over the raw line)",
            id="detail.smooth_more",
        ),
        Binding(
            "minus",
            "smooth(-0.1)",
            "Smooth -",
            tooltip="Charts: less smoothing",
            id="detail.smooth_less",
        ),
        Binding(
            "m",
            "choose_metrics",
            "Metrics",
            tooltip="Choose which metrics to chart",
            id="detail.metrics",
        ),
        Binding(
            "1",
            "tab('charts-tab')",
            "Charts",
            show=False,
            tooltip="Charts tab",
            id="detail.tab_charts",
        ),
        Binding(
            "2",
            "tab('params-tab')",
            "Params",
            show=False,
            tooltip="Params tab",
            id="detail.tab_params",
        ),
        Binding(
            "3",
            "tab('metrics-tab')",
            "Metrics",
            show=False,
            tooltip="Metrics tab: latest, min, max, steps",
            id="detail.tab_metrics",
        ),
        Binding(
            "4", "tab('tags-tab')", "Tags", show=False, tooltip="Tags tab", id="detail.tab_tags"
        ),
        Binding(
            "5",
            "tab('artifacts-tab')",
            "Artifacts",
            show=False,
            tooltip="Artifacts tab: files, with a preview",
            id="detail.tab_artifacts",
        ),
        Binding("q", "app.quit", "Quit", id="app.quit"),
    ]

    DEFAULT_CSS = """
    RunDetailScreen { overflow: hidden; }
    #body { height: 1fr; }
    #summary { height: 4; padding: 0 1; }
    TabPane { padding: 0; }
    #charts { grid-size: 2; grid-gutter: 0 2; grid-rows: 1fr; height: 1fr; overflow-y: auto; }
    #charts.single { grid-size: 1; }
    #no-charts { padding: 1 2; color: $text-muted; }
    """

    def __init__(self, store: Store, run_id: str) -> None:
        super().__init__()
        self.store = store
        self.run_id = run_id
        self.cursors: dict[str, int] = {}
        self.run: Run | None = None
        self.chosen: list[str] | None = None  # None: the first DEFAULT_CHARTS metrics
        self.parent_names: dict[str, str] = {}
        self.parent_label = "-"

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="body"):
            yield Static(id="summary", markup=False)
            with TabbedContent(initial="charts-tab"):
                with TabPane("Charts", id="charts-tab"):
                    yield Static("", id="no-charts", markup=False)
                    yield Grid(id="charts")
                with TabPane("Params", id="params-tab"):
                    yield DataTable(id="params", cursor_type="row")
                with TabPane("Metrics", id="metrics-tab"):
                    yield DataTable(id="metrics", cursor_type="row")
                with TabPane("Tags", id="tags-tab"):
                    yield DataTable(id="tags", cursor_type="row")
                with TabPane("Artifacts", id="artifacts-tab"):
                    yield ArtifactsView(id="artifacts")
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

    def charted(self, run: Run) -> list[str]:
        keys = sorted(run.data.summaries)
        if self.chosen is None:
            return keys[:DEFAULT_CHARTS]
        return [k for k in self.chosen if k in run.data.summaries]

    @work(thread=True, exclusive=True, group="detail")
    def load(self) -> None:
        try:
            run = self.store.get_run(self.run_id)
            parent = self._parent_label(run.info.parent_run_id)
            points: dict[str, list[Metric] | tuple[Series, int]] = {}
            for key in self.charted(run):
                after = self.cursors.get(key, 0)
                history = self.store.get_metric_history(self.run_id, key, after=after)
                if after == 0 and len(history) > 10_000:
                    # A long history is summarised here, off the UI thread, and swapped in.
                    points[key] = (Series.of(history), history[-1].cursor)
                else:
                    points[key] = history
        except MltopError as exc:  # a locked, vanished or broken store: say so, keep going
            self.app.call_from_thread(
                self.notify, f"store problem: {exc}", severity="error", timeout=8
            )
            return
        self.post_message(HistoryLoaded(run, points, parent))

    def on_history_loaded(self, message: HistoryLoaded) -> None:
        first = self.run is None
        self.run = message.run
        self.parent_label = message.parent
        self.query_one("#summary", Static).update(self._summary(message.run))
        grid = self.query_one("#charts", Grid)
        charts = {chart.key: chart for chart in self.query(MetricChart)}
        for key, chart in charts.items():
            if key not in message.points:  # no longer chosen
                chart.remove()
                self.cursors.pop(key, None)
        for key, points in message.points.items():
            # Two loads may overlap (the first one, a follow): keep only what is new.
            seen = self.cursors.get(key, 0)
            if isinstance(points, tuple):
                if points[1] <= seen:
                    continue
            else:
                points = [p for p in points if p.cursor > seen]
            chart = charts.get(key) or MetricChart(key)
            if not chart.is_attached:
                # In the chosen order: before the first chart that comes after it.
                order = list(message.points)
                later = sorted(
                    (k for k in charts if k in order and order.index(k) > order.index(key)),
                    key=order.index,
                )
                grid.mount(chart, before=charts[later[0]] if later else None)
                charts[key] = chart
            if isinstance(points, tuple):
                series, cursor = points
                self.cursors[key] = cursor
                chart.replace_series(series)
            elif points:
                self.cursors[key] = points[-1].cursor
                chart.extend(points)
        self._lay_out_charts(len(message.points), message.run)
        self._fill_tables(message.run)
        if first:
            self.query_one(ArtifactsView).show(self.store.artifacts(self.run_id))

    def _lay_out_charts(self, count: int, run: Run) -> None:
        grid = self.query_one("#charts", Grid)
        grid.set_class(count == 1, "single")
        # Up to three rows share the height; more scroll, each chart a readable size.
        rows = (count + 1) // 2 if count > 1 else 1
        grid.styles.grid_rows = "1fr" if rows <= 3 else "12"
        note = self.query_one("#no-charts", Static)
        if count:
            note.display = False
        else:
            note.display = True
            note.update(
                "no metrics logged for this run"
                if not run.data.summaries
                else "no metric chosen: press m to choose the metrics to chart"
            )

    def _summary(self, run: Run) -> Text:
        info, tags = run.info, run.data.tags
        now = self.app.now()  # type: ignore[attr-defined]
        dirty = " (dirty)" if tags.get("mltop.git.dirty") == "true" else ""
        ran = duration(info.start_time, info.end_time, now)
        lines = [
            f"{info.run_name}   {info.display_status}   {info.run_id}",
            f"started {timestamp(info.start_time)}, ran {ran}"
            f"   user {info.user_id}   host {tags.get('mltop.host', '')}",
            f"git {tags.get('mltop.git.commit', '-')[:12]}{dirty}   parent {self.parent_label}",
            f"command {tags.get('mltop.source.command', '-')}",
        ]
        return Text("\n".join(clean(line) for line in lines), no_wrap=True, overflow="ellipsis")

    def _parent_label(self, parent_id: str | None) -> str:
        """The parent run's name and short id (read on the loading thread)."""
        if not parent_id:
            return "-"
        if parent_id not in self.parent_names:
            try:
                self.parent_names[parent_id] = self.store.get_run(parent_id).info.run_name
            except MltopError:
                self.parent_names[parent_id] = "(deleted)"
        return f"{self.parent_names[parent_id]} ({parent_id[:8]})"

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

    def action_choose_metrics(self) -> None:
        if self.run is None:
            return
        keys = sorted(self.run.data.summaries)
        if not keys:
            self.notify("this run has no metrics yet", severity="warning")
            return

        def chosen(picked: list[str] | None) -> None:
            if picked is not None:
                self.chosen = picked
                self.load()

        self.app.push_screen(ChooseMetrics(keys, self.charted(self.run)), chosen)

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "artifacts-tab" and self.run is not None:
            # Files may have been logged since: list them afresh each time the tab is shown.
            self.query_one(ArtifactsView).show(self.store.artifacts(self.run_id))
            self.query_one("#artifact-tree").focus()

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
