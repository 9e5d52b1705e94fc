"""The run detail screen: the run's facts, then charts, params, metrics, tags, artifacts,
the console log and the models logged from the run (with the versions registered from
them)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive, var
from textual.screen import ModalScreen
from textual.widgets import (
    DataTable,
    Header,
    Input,
    SelectionList,
    Static,
    TabbedContent,
    TabPane,
)
from textual.widgets.selection_list import Selection
from textual.worker import Worker

from mltop.store import Changes, MetricSummary, NotFoundError, Run, TrackingStore
from mltop.store.artifact_repo import ArtifactRepository
from mltop.store.entities import MODEL_READY, LoggedModel
from mltop.tui.alerts import LIVE_EVERY, Alert, live_only, summary_alerts
from mltop.tui.history import ChartData, chart_data
from mltop.tui.logfile import LogFile
from mltop.tui.present import (
    CHECK_FAILURES,
    LOGGED_MODEL_COLUMNS,
    QUICK_CHECK_BYTES,
    TAG_RERUN_OF,
    Checksums,
    FilesRead,
    ShownModel,
    check_failed,
    check_logged_model,
    command,
    dataset_summary,
    git_label,
    host,
    logged_model_note,
    logged_model_row,
    read_run_models,
    rerun_filter,
)
from mltop.tui.screens.opaque import OpaqueScreen
from mltop.tui.text import TYPABLE, clean, duration, ended, number, timestamp
from mltop.tui.ticks import Axis
from mltop.tui.widgets.artifacts import ArtifactsView
from mltop.tui.widgets.footer import KeysFooter
from mltop.tui.widgets.lists import ListTable
from mltop.tui.widgets.log_view import LogPane
from mltop.tui.widgets.metric_chart import (
    CHART_BINDINGS,
    FULL,
    ChartGrid,
    ChartKeys,
    MetricChart,
    Plot,
)
from mltop.tui.widgets.system_view import SYSTEM_PREFIX, SystemView
from mltop.tui.workers import OneAtATime, report, store_work

DEFAULT_CHARTS = 6  # charted until the user chooses (`m`): the first metrics by name
RERUNS_SHOWN = 5  # the reruns a run's summary names (then ", ...")
SHOWN_METRICS = 500  # metrics read and listed at once: a run may log a million keys
# What has the keyboard when a tab is shown by its key.
TAB_FOCUS = {
    "charts-tab": "#charts",
    "system-tab": "#system-charts",
    "params-tab": "#params",
    "metrics-tab": "#metrics",
    "tags-tab": "#tags",
    "models-tab": "#models",
}
NO_MODELS = (
    "No model logged from this run. mlflow.<flavor>.log_model(model, name=...) logs one "
    "(MLFLOW_TRACKING_URI=mltop:<store>); it shows here as it is written."
)


class Summary(Static):
    """The run's facts, four lines: a change repaints them without laying the screen out
    again (as `Static.update` would), for a running run's duration changes every second."""

    text: reactive[Text] = reactive(Text, layout=False)

    def render(self) -> Text:
        return self.text


class MetricList(SelectionList[str]):
    """The metrics to tick; enter applies the choice (space ticks); the list keys move."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "screen.apply", "Apply", id="choose.apply"),
        Binding("j", "cursor_down", "Down", show=False, id="choose.down"),
        Binding("k", "cursor_up", "Up", show=False, id="choose.up"),
        Binding("g", "first", "First", show=False, id="choose.first"),
        Binding("G", "last", "Last", show=False, id="choose.last"),
        Binding("ctrl+d", "page_down", "Page down", show=False, id="choose.page_down"),
        Binding("ctrl+u", "page_up", "Page up", show=False, id="choose.page_up"),
    ]


class ChooseMetrics(ModalScreen[list[str] | None]):
    """`m`: tick the metrics to chart (space), enter to apply, escape to leave as it was."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Not a priority key: those act as they arrive, ahead of keys typed just before
        # them (`n` then enter in one burst would apply the choice as it was before `n`).
        # The list's own enter (toggle) gives way to it: MetricList.
        Binding("escape", "dismiss(None)", "Cancel", id="choose.cancel"),
        Binding("a", "all(True)", "All", id="choose.all"),
        Binding("n", "all(False)", "None", id="choose.none"),
    ]
    CSS_PATH = "run_detail.tcss"

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
            yield MetricList(*(Selection(Text(clean(k)), k, k in self.chosen) for k in self.keys))

    def action_apply(self) -> None:
        picked = set(self.query_one(SelectionList).selected)
        self.dismiss([k for k in self.keys if k in picked])

    def action_all(self, on: bool) -> None:
        listing = self.query_one(SelectionList)
        if on:
            listing.select_all()
        else:
            listing.deselect_all()


@dataclass
class HistoryLoaded(Message):
    run: Run
    charts: dict[str, ChartData]
    parent: str | None  # None: not read (known already)
    artifacts: ArtifactRepository | None  # None: not read (known already)
    # The metric search: (text, summaries found, how many match).
    found: tuple[str, dict[str, MetricSummary], int] | None = None
    live: list[Alert] | None = None  # the live rules' alerts (tui/alerts.py), if read
    links: str | None = None  # the reruns' links (rerun_links); None: not read
    models: list[ShownModel] | None = None  # the models logged from the run
    files: FilesRead | None = None  # their files as read (read again when they change)


@dataclass
class ModelChecked(Message):
    """A logged model's files compared with their checksums, as it was at `at`, by check
    number `number` (a result older than the one wanted is dropped)."""

    at: tuple[str, str, int]  # (model id, status, last change)
    number: int
    checksums: Checksums
    failed: bool = False  # the check failed (`checksums` says why): tried again later
    bug: BaseException | None = None  # it failed with what is a bug: reported too


def checked_at(model: LoggedModel) -> tuple[str, str, int]:
    """A logged model's files are checked again when it changed since."""
    return (model.model_id, model.status, model.last_updated_timestamp)


def charted(run: Run, chosen: Sequence[str] | None) -> list[str]:
    """The metrics charted: those `chosen` that the run has, else the first by name. (A
    run with more metrics than were read keeps every chosen one: it was found there.)"""
    keys = sorted(k for k in run.data.summaries if not k.startswith(SYSTEM_PREFIX))  # System tab
    if chosen is None:
        return keys[:DEFAULT_CHARTS]
    if run.data.more_metrics:
        return list(chosen)
    return [k for k in chosen if k in run.data.summaries]


def parent_label(store: TrackingStore, parent_id: str | None) -> str:
    """The parent run's name and short id."""
    if not parent_id:
        return "-"
    try:
        name = store.get_run(parent_id).info.run_name
    except NotFoundError:
        name = "(deleted)"
    return f"{name} ({parent_id[:8]})"


def rerun_links(store: TrackingStore, run: Run) -> str:
    """Which run this one reran, and which reran it (`mltop run --rerun`), by name and id."""
    parts = []
    original = run.data.tags.get(TAG_RERUN_OF)
    if original:
        parts.append(f"rerun of {parent_label(store, original)}")
    reruns = store.search_runs(
        None, rerun_filter(run.info.run_id), ["start_time"], RERUNS_SHOWN, view="all"
    )
    if reruns:
        more = ", ..." if reruns.token else ""
        named = ", ".join(f"{r.info.run_name} ({r.info.run_id[:8]})" for r in reruns)
        parts.append(f"reruns {named}{more}")
    return "   ".join(parts)


class RunDetailScreen(ChartKeys, OpaqueScreen):
    # The metrics charted (`m`; None: the first DEFAULT_CHARTS), and what the metrics tab
    # lists (`/`: the keys containing it); set again to the same, they are read again.
    chosen: var[list[str] | None] = var(None, init=False, always_update=True)
    metric_search = var("", init=False, always_update=True)
    # How every chart is drawn (`x`, `l`, `+` `-`, the cursor, `z` `Z` `0`): bound to each
    # chart's own.
    x_axis: var[Axis] = var("step", init=False)
    log_scale = var(False, init=False)
    smoothing = var(0.0, init=False)
    cursor: var[float | None] = var(None, init=False)  # an x value (`ChartKeys`)
    zoom: var[tuple[float, float]] = var(FULL, init=False)
    CSS_PATH = "run_detail.tcss"
    HELP_TITLE = "run detail"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "back",
            "Back",
            tooltip="Back to the runs (on the charts: first the cursor and zoom go)",
            id="detail.back",
        ),
        *CHART_BINDINGS,
        Binding(
            "plus,equals_sign",
            "smooth(0.1)",
            "Smooth",
            tooltip="Charts: more smoothing (moving average over the raw line)",
            id="detail.smooth_more",
        ),
        Binding(
            "minus",
            "smooth(-0.1)",
            "Smooth -",
            show=False,
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
        Binding("q", "app.quit", "Quit", id="app.quit"),
        Binding(
            "y",
            "copy_id",
            "Copy",
            tooltip="Copy the run id (OSC 52); on the models tab, the model's URI",
            id="detail.copy",
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
        Binding(
            "6",
            "tab('system-tab')",
            "System",
            show=False,
            tooltip="System tab: CPU, memory, disk, network and GPUs (log_system_metrics=True)",
            id="detail.tab_system",
        ),
        Binding(
            "7",
            "tab('logs-tab')",
            "Logs",
            show=False,
            tooltip="Logs tab: the run's console output, live",
            id="detail.tab_logs",
        ),
        Binding(
            "8",
            "tab('models-tab')",
            "Models",
            show=False,
            tooltip="Models tab: the models the run logged, and their versions",
            id="detail.tab_models",
        ),
        Binding(
            "slash",
            "search_metrics",
            "Find metric",
            show=False,
            tooltip="Metrics tab: find metrics by a part of their key",
            id="detail.find_metric",
        ),
    ]
    # The keys that act on some tabs only: elsewhere the footer leaves them out. (`m` charts
    # metrics found on the metrics tab too.)
    TAB_ACTIONS: ClassVar[dict[str, tuple[str, ...]]] = {
        "cycle_axis": ("charts-tab",),
        "toggle_log": ("charts-tab",),
        "zoom": ("charts-tab",),
        "reset_view": ("charts-tab",),
        "walk": ("charts-tab",),
        "smooth": ("charts-tab",),
        "choose_metrics": ("charts-tab", "metrics-tab"),
    }

    def __init__(self, store: TrackingStore, run_id: str) -> None:
        super().__init__()
        self.store = store
        self.run_id = run_id
        self.cursors: dict[str, int] = {}  # per chart: where its next read starts
        self.run: Run | None = None
        self.parent_label = "-"
        self.links = ""  # rerun of, reruns
        self.artifacts: ArtifactRepository | None = None
        self.listed: list[str] = []  # the metric keys the metrics tab lists now
        self.load = OneAtATime(self._start_read)
        self.counted = ""  # what the metrics tab says of its count
        # What the tables show (refilled only when it changed: a refill lays them out).
        self.shown_tables: dict[str, list[tuple[str, ...]]] = {}
        self.unshown: dict[str, list[tuple[str, ...]]] = {}  # read while their tab was hidden
        self.live_alerts: list[Alert] = []  # stalled, idle GPUs: read every LIVE_EVERY s
        self._live_read = -LIVE_EVERY
        self.said_alerts = ""  # the alerts shown under the summary
        self.models: list[ShownModel] = []  # the models tab's rows
        self.models_shown = False  # (once read)
        self.model_files: FilesRead = {}  # their files as read
        # Their checksum states: the model under the cursor checked off the UI thread (it
        # reads every file): a small one at once, each time the cursor lands on it (or the
        # tab is shown again); a big
        # one once (until it changes), one at a time; a failed check at the next landing.
        # Each check is numbered: a result is kept only from the check last asked for.
        self.model_checks: dict[tuple[str, str, int], Checksums] = {}
        self._failed_checks: set[tuple[str, str, int]] = set()
        self._checks = 0  # the checks asked for so far
        self._wanted: dict[tuple[str, str, int], int] = {}  # the number of the check wanted
        self._hashing: dict[tuple[str, str, int], int] = {}  # small ones being hashed
        self._checking: tuple[tuple[str, str, int], int] | None = None  # the big one
        self._landed: str | None = None  # the model id the cursor is on

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="body"):
            yield Summary(id="summary")
            yield Static(id="alerts", markup=False)
            with TabbedContent(initial="charts-tab"):
                with TabPane("Charts", id="charts-tab"):
                    # Until the first read ends (long histories on a server take a while).
                    yield Static("reading the run and its metric histories…", id="no-charts",
                                 markup=False)  # fmt: skip
                    yield ChartGrid(id="charts")
                with TabPane("Params", id="params-tab"):
                    yield ListTable(id="params", cursor_type="row")
                with TabPane("Metrics", id="metrics-tab"):
                    yield Input(
                        placeholder="/ find metrics whose key contains…  (enter; empty: all)",
                        id="metric-search",
                        restrict=TYPABLE,
                    )
                    yield Static("", id="metric-count", markup=False)
                    yield ListTable(id="metrics", cursor_type="row")
                with TabPane("Tags", id="tags-tab"):
                    yield ListTable(id="tags", cursor_type="row")
                # Its tree and preview are made when the tab is first shown: a run opens
                # without paying for them.
                yield TabPane("Artifacts", id="artifacts-tab")
                with TabPane("System", id="system-tab"):
                    yield SystemView(self.store, self.run_id, id="system")
                yield TabPane("Logs", id="logs-tab")  # (its view too: made when first shown)
                with TabPane("Models", id="models-tab"):
                    yield Static(NO_MODELS, id="no-models", markup=False)
                    yield ListTable(id="models", cursor_type="row")
                    yield Static("", id="model-note", markup=False)
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        for table_id, columns in (
            ("params", ("Key", "Value")),
            ("tags", ("Key", "Value")),
            ("metrics", ("Key", "Latest", "Step", "Min", "Max", "Points")),
            ("models", LOGGED_MODEL_COLUMNS),
        ):
            self.query_one(f"#{table_id}", DataTable).add_columns(*columns)
        self.query_one(ChartGrid).focus()
        self.load()

    def _start_read(self) -> Worker[Any]:
        """Read the run and what is new for its charts (`load`: one read at a time)."""
        chosen = None if self.chosen is None else tuple(self.chosen)
        first = self.run is None
        now = self.app.now()  # type: ignore[attr-defined]
        live = time.monotonic() - self._live_read >= LIVE_EVERY
        if live:
            self._live_read = time.monotonic()
        return self._read(
            self.store,
            self.run_id,
            dict(self.cursors),
            chosen,
            first,
            self.metric_search,
            now if live else None,
            dict(self.model_files),
        )

    @store_work(group="detail")
    def _read(
        store: TrackingStore,
        run_id: str,
        cursors: dict[str, int],
        chosen: Sequence[str] | None,
        first: bool,
        search: str,
        now: int | None,  # the live rules read at this time; None: not now
        files: FilesRead,  # the models' files as read before
    ) -> HistoryLoaded:
        run = store.get_run(run_id, max_metrics=SHOWN_METRICS)
        charts = {
            key: chart_data(store, run_id, key, cursors.get(key)) for key in charted(run, chosen)
        }
        parent = parent_label(store, run.info.parent_run_id) if first else None
        links = rerun_links(store, run) if first else None
        artifacts = store.artifacts(run_id) if first else None
        found = None
        if search:
            summaries, total = store.search_run_metrics(run_id, search, limit=SHOWN_METRICS)
            found = (search, summaries, total)
        live = None if now is None else live_only(store, [run.info], now).get(run_id, [])
        models, files = read_run_models(store, run_id, files)
        return HistoryLoaded(run, charts, parent, artifacts, found, live, links, models, files)

    @on(Worker.StateChanged)
    def _read_ended(self, event: Worker.StateChanged) -> None:
        self.load.ended(event.worker)

    def on_history_loaded(self, message: HistoryLoaded) -> None:
        self.run = message.run
        if message.parent is not None:
            self.parent_label = message.parent
        if message.links is not None:
            self.links = message.links
        self.query_one(Summary).text = self._summary(message.run)
        if message.live is not None:
            self.live_alerts = message.live
        said = "\n".join(f"⚠ {a.message}" for a in summary_alerts(message.run) + self.live_alerts)
        if said != self.said_alerts:  # (an update lays the screen out again)
            self.said_alerts = said
            alerts = self.query_one("#alerts", Static)
            alerts.set_class(bool(said), "shown")
            alerts.update(Text(said, style="bold yellow", no_wrap=True, overflow="ellipsis"))
        grid = self.query_one("#charts", ChartGrid)
        charts = {chart.key: chart for chart in self.query(MetricChart)}
        for key, chart in charts.items():
            if key not in message.charts:  # no longer chosen
                chart.remove()
                self.cursors.pop(key, None)
        order = list(message.charts)
        for key, data in message.charts.items():
            if key not in charts:
                # In the chosen order: before the first chart that comes after it.
                later = [k for k in order[order.index(key) + 1 :] if k in charts]
                charts[key] = MetricChart(key).data_bind(
                    RunDetailScreen.x_axis,
                    RunDetailScreen.log_scale,
                    RunDetailScreen.smoothing,
                    RunDetailScreen.cursor,
                    RunDetailScreen.zoom,
                )
                grid.mount(charts[key], before=charts[later[0]] if later else None)
            chart = charts[key]
            start = message.run.info.start_time
            chart.origin = None if start is None else start / 1000
            latest = message.run.data.summaries.get(key)
            chart.latest = None if latest is None else (latest.value, latest.step)
            if data.series is not None:
                chart.replace_series(data.series)
            elif data.points:
                chart.extend(data.points)
            self.cursors[key] = data.cursor
        self._lay_out_charts(len(message.charts), message.run)
        self._fill_tables(message.run, message.found)
        if message.models is not None and message.files is not None:
            self.model_files = message.files
            self._fill_models(message.models)
        if message.artifacts is not None:
            self.artifacts = message.artifacts
            tabs = self.query_one(TabbedContent)
            if tabs.active == "artifacts-tab":  # asked for before the run was read
                self._show_artifacts(tabs.get_pane("artifacts-tab"), message.artifacts)
            elif tabs.active == "logs-tab":
                self._show_logs(tabs.get_pane("logs-tab"), message.artifacts)

    def _lay_out_charts(self, count: int, run: Run) -> None:
        grid = self.query_one("#charts", ChartGrid)
        grid.fit(count)
        note = self.query_one("#no-charts", Static)
        if count:
            note.display = False
        else:
            note.display = True
            own = [k for k in run.data.summaries if not k.startswith(SYSTEM_PREFIX)]
            note.update(
                "no metric chosen: press m to choose the metrics to chart"
                if own
                else "no metrics logged for this run"
                + ("; its system metrics are on the System tab (6)" if run.data.summaries else "")
            )

    def _summary(self, run: Run) -> Text:
        info, tags = run.info, run.data.tags
        now = self.app.now()  # type: ignore[attr-defined]
        ran = duration(info.start_time, ended(info), now)
        where = "".join(
            f"   {label} {value}" for label, value in (("user", info.user_id), ("host", host(tags)))
            if value
        )  # fmt: skip
        status = info.display_status
        if status == "RUNNING" and not self.store.capabilities.heartbeats:
            status += " (no heartbeat)"  # a server's: it may have died (said on opening it)
        lines = [
            f"{info.run_name}   {status}   {info.run_id}",
            f"started {timestamp(info.start_time)}, ran {ran}{where}",
            f"git {git_label(tags, short=True) or '-'}   parent {self.parent_label}"
            + (f"   data {datasets}" if (datasets := dataset_summary(run)) else "")
            + (f"   {self.links}" if self.links else ""),
            f"command {command(tags) or '-'}",
        ]
        return Text("\n".join(clean(line) for line in lines), no_wrap=True, overflow="ellipsis")

    def _fill_tables(
        self, run: Run, found: tuple[str, dict[str, MetricSummary], int] | None
    ) -> None:
        self._fill("#params", list(run.data.params.items()))
        self._fill("#tags", list(run.data.tags.items()))
        if self.metric_search and (found is None or found[0] != self.metric_search):
            return  # read before the search now asked for: the next read has it
        if not self.metric_search:
            found = None  # a search since cleared
        summaries = run.data.summaries if found is None else found[1]
        listed = sorted(summaries)
        if found is not None:
            text, total = found[0], found[2]
            more = f", the first {len(listed):,} listed" if total > len(listed) else ""
            keys = "1 metric key contains" if total == 1 else f"{total:,} metric keys contain"
            counted = f"{keys} {text!r}{more}"
        elif run.data.more_metrics:
            total = len(listed) + run.data.more_metrics
            counted = (
                f"{total:,} metrics: the first {len(listed):,} logged are listed; "
                "/ finds the others"
            )
        else:
            counted = f"{len(listed):,} metrics" if listed else ""
        self._count(counted)
        self.listed = listed
        rows = [
            (k, number(s.value), str(s.step), number(s.min), number(s.max), str(s.count))
            for k, s in ((k, summaries[k]) for k in listed)
        ]
        self._fill("#metrics", rows)

    def _fill(self, table_id: str, rows: Sequence[tuple[str, ...]]) -> None:
        """Show `rows` in the table, keeping its cursor, unless it shows them already."""
        if self.shown_tables.get(table_id) == rows:
            return
        table = self.query_one(table_id, DataTable)
        hidden = self.query_one(TabbedContent).active != f"{table_id[1:]}-tab"
        if hidden and table_id in self.shown_tables:
            self.unshown[table_id] = list(rows)  # (a live run's metrics change with every read)
            return
        self.unshown.pop(table_id, None)
        self.shown_tables[table_id] = list(rows)
        row = table.cursor_row
        table.clear()
        table.add_rows([tuple(Text(clean(cell)) for cell in cells) for cells in rows])
        if rows:
            table.move_cursor(row=min(row, len(rows) - 1), animate=False)

    def _fill_models(self, models: list[ShownModel]) -> None:
        """The models tab: a row per model (its cursor kept), and a line more of the one
        under the cursor; or how to log one."""
        if self.models_shown and models == self.models:
            return
        table = self.query_one("#models", DataTable)
        row = table.cursor_row
        # The cursor stays on its model as others are logged (newest first: above it).
        was = self.models[row].model.model_id if 0 <= row < len(self.models) else None
        ids = [shown.model.model_id for shown in models]
        row = ids.index(was) if was in ids else row
        self.models, self.models_shown = models, True
        table.clear()
        table.add_rows([logged_model_row(shown) for shown in models])
        self.query_one("#no-models").display = not models
        table.display = bool(models)
        self.query_one("#model-note").display = bool(models)
        if models:
            table.move_cursor(row=min(max(row, 0), len(models) - 1), animate=False)
        self._note_model(table.cursor_row)

    @on(DataTable.RowHighlighted, "#models")
    def _model_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._note_model(event.cursor_row)

    def _note_model(self, row: int) -> None:
        note = self.query_one("#model-note", Static)
        if not 0 <= row < len(self.models):
            note.update("")
            return
        shown = self.models[row]
        at = checked_at(shown.model)
        size = shown.files.size
        small = size is not None and size <= QUICK_CHECK_BYTES
        if shown.model.model_id != self._landed:  # landed on: checked again
            self._landed = shown.model.model_id
            if small or at in self._failed_checks:
                self.model_checks.pop(at, None)
                self._failed_checks.discard(at)
                self._wanted.pop(at, None)
        checksums = self.model_checks.get(at)
        if checksums is None and shown.model.status == MODEL_READY:
            if at not in self._wanted:
                self._checks += 1
                self._wanted[at] = self._checks
            number = self._wanted[at]
            if small:  # hashed at once
                if at not in self._hashing:  # (one check of a model at a time)
                    self._hashing[at] = number
                    self._check_model(self.store, shown.model, number)
            elif self._checking is None:  # a big one: one at a time
                self._checking = (at, number)
                self._check_model(self.store, shown.model, number)
        note.update(logged_model_note(shown, checksums))

    @store_work(group="detail-check")
    def _check_model(store: TrackingStore, model: LoggedModel, number: int) -> ModelChecked:
        """Whatever the check fails with is its state, never "checking…" for good."""
        try:
            checksums = check_logged_model(store, model)
        except Exception as error:
            bug = None if isinstance(error, CHECK_FAILURES) else error
            return ModelChecked(checked_at(model), number, check_failed(error), True, bug)
        return ModelChecked(checked_at(model), number, checksums)

    def on_model_checked(self, message: ModelChecked) -> None:
        at, number = message.at, message.number
        if self._hashing.get(at) == number:
            del self._hashing[at]
        if self._checking == (at, number):
            self._checking = None
        if self._wanted.get(at) == number:  # (else a newer check is wanted)
            self.model_checks[at] = message.checksums
            if message.failed:
                self._failed_checks.add(at)
        if message.bug is not None:
            report(self.app, message.bug)
        self._note_model(self.query_one("#models", DataTable).cursor_row)

    def action_search_metrics(self) -> None:
        self.query_one(TabbedContent).active = "metrics-tab"
        self.query_one("#metric-search", Input).focus()

    @on(Input.Submitted, "#metric-search")
    def _search_metrics(self, event: Input.Submitted) -> None:
        event.stop()
        self.metric_search = event.value.strip()
        self.query_one("#metrics", DataTable).focus()

    def _count(self, text: str) -> None:
        """Say how many metrics are listed (an update lays the screen out: only a change)."""
        if text != self.counted:
            self.counted = text
            self.query_one("#metric-count", Static).update(text)

    def watch_metric_search(self, search: str) -> None:
        self._count(f"finding metric keys containing {search!r}…" if search else "")
        self.load()

    def watch_chosen(self) -> None:
        self.load()

    def store_changed(self, changes: Changes, touched: set[str] | None) -> None:
        """Read again only when this run changed: a sweep's other runs commit often. A
        change of no run (the model registry) may register one of its models."""
        registry = not (changes.run_ids or changes.metrics or changes.experiment_ids)
        if touched is None or self.run_id in touched or (registry and self.models):
            self.follow()

    def follow(self) -> None:
        """New points may have arrived: read after each chart's cursor."""
        self.load()
        self.query_one(SystemView).follow()

    def reload(self) -> None:
        """Read everything shown again, each chart's whole history too (the store works
        again, or it is another file now: what was read may not be in it)."""
        self.cursors.clear()
        self.load()
        self.query_one(SystemView).reload()

    def action_choose_metrics(self) -> None:
        if self.run is None:
            return
        # What the metrics tab lists (a search's finds, for a run with many), and the charts.
        keys = sorted({*self.listed, *charted(self.run, self.chosen)})
        if not keys:
            self.notify("this run has no metrics yet", severity="warning")
            return

        def chosen(picked: list[str] | None) -> None:
            if picked is not None:
                self.chosen = picked

        self.app.push_screen(ChooseMetrics(keys, charted(self.run, self.chosen)), chosen)

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        # The keyboard goes to the tab shown: left on a widget of the tab hidden (the
        # metrics found by a search, say), it would fall to the search box, which would
        # take its tab back and every key after as text.
        target = TAB_FOCUS.get(tab)
        if target is not None:
            self.query_one(target).focus()
        elif tab == "artifacts-tab":
            trees = self.query("#artifact-tree")
            if trees:
                trees.first().focus()
        elif tab == "logs-tab":
            views = self.query("#log-view")
            if views:
                views.first().focus()

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.query_one(SystemView).set_shown(event.pane.id == "system-tab")
        if event.pane.id == "artifacts-tab" and self.artifacts is not None:
            self._show_artifacts(event.pane, self.artifacts)
        elif event.pane.id == "logs-tab" and self.artifacts is not None:
            self._show_logs(event.pane, self.artifacts)
        elif event.pane.id == "models-tab" and self.models_shown:
            self._landed = None  # shown again: the model under the cursor landed on again
            self._note_model(self.query_one("#models", DataTable).cursor_row)

    @work(group="artifacts-view", exclusive=True)
    async def _show_artifacts(self, pane: TabPane, artifacts: ArtifactRepository) -> None:
        """List the run's files (afresh each time the tab is shown: files may have been
        logged since), making the view the first time."""
        views = pane.query(ArtifactsView)
        if views:
            view = views.first()
        else:
            view = ArtifactsView(id="artifacts")
            await pane.mount(view)
        view.show(artifacts)
        self.query_one("#artifact-tree").focus()

    @work(group="logs-view", exclusive=True)
    async def _show_logs(self, pane: TabPane, artifacts: ArtifactRepository) -> None:
        """The run's console log, made the first time the tab is shown (it follows the
        file from then on, while shown)."""
        if not pane.query(LogPane):
            log = LogFile(artifacts.root / "logs" / "stdout.log")
            await pane.mount(LogPane(log, id="logs"))
        self.query_one("#log-view").focus()

    # -- keys that act on one tab only ------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        tabs = self.TAB_ACTIONS.get(action)
        if tabs is not None and self.is_mounted:
            return self.query_one(TabbedContent).active in tabs
        return True

    @on(TabbedContent.TabActivated)
    def _keys_follow_the_tab(self) -> None:
        self.refresh_bindings()
        for table_id, rows in list(self.unshown.items()):
            self._fill(table_id, rows)

    def action_back(self) -> None:
        """Escape: the cursor and zoom go first (on the charts), then the screen."""
        on_charts = self.query_one(TabbedContent).active == "charts-tab"
        if on_charts and (self.cursor is not None or self.zoom != FULL):
            self.action_reset_view()
        else:
            self.app.pop_screen()

    def action_copy_id(self) -> None:
        """The run's id; on the models tab, the URI of the model under the cursor."""
        row = self.query_one("#models", DataTable).cursor_row
        if self.query_one(TabbedContent).active == "models-tab" and 0 <= row < len(self.models):
            uri = self.models[row].model.model_uri
            self.app.copy_to_clipboard(uri)
            self.notify(f"copied the model's URI {uri}", markup=False)
            return
        self.app.copy_to_clipboard(self.run_id)
        self.notify(f"copied the run id {self.run_id}", markup=False)

    # -- the charts ------------------------------------------------------------------------

    def charts(self) -> list[Plot]:
        return list(self.query(MetricChart))

    def action_smooth(self, delta: float) -> None:
        self.smoothing = round(min(0.9, max(0.0, self.smoothing + delta)), 2)
