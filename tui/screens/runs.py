"""The runs screen: experiments on the left, a filter bar, the runs table; live."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Header, Input, OptionList, Static
from textual.widgets.option_list import Option

from mltop.store import Changes, FilterError, MltopError, RunRow, TrackingStore
from mltop.store.query import check_run_search
from mltop.tui.alerts import Alert, live_alerts
from mltop.tui.columns import RESET, Choice, ColumnPrefs, Picked, arrange
from mltop.tui.text import TYPABLE, clean
from mltop.tui.widgets.footer import KeysFooter
from mltop.tui.widgets.grid import Grid
from mltop.tui.widgets.runs_table import MARGIN, Column, RunsTable
from mltop.tui.workers import report, store_work

ALL = "__all__"


PATCH_LIMIT = 500  # more changed runs than this at once: read the order again
REORDER_EVERY = 0.5  # seconds: live changes that move rows read the order at most this often
REORDER_COST_SHARE = 3  # ... and at most once per this many times the last read took
FIRST_ROWS = 200  # runs read to open a view, before its whole order is known
WATCH_EVERY = 10.0  # seconds between looks at the running runs' alerts, while some run
WATCH_AFTER_CHANGE = 2.0  # ... and this soon after runs changed (at most)
WATCH_LIMIT = 500  # running runs watched (any experiment, any filter)


@dataclass
class RunsLoaded(Message):
    """A view opened: how many runs match `filter_string` and the first of them (None:
    not read, for `error`)."""

    runs: list[RunRow] | None
    total: int
    generation: int
    filter_string: str
    error: Exception | None = None


@dataclass
class OrderLoaded(Message):
    """The view's whole order (run keys), and the runs from `start` around the screen;
    `cursor` is where the cursor's run now stands (None: it left the view)."""

    order: Sequence[int] | None
    start: int
    runs: list[RunRow | None]
    cursor: int | None
    top: int | None
    generation: int
    seconds: float
    asked_for: str | None = None  # the run under the cursor when the order was asked for
    keys: dict[str, int] = field(default_factory=dict)  # of the runs held then
    error: Exception | None = None


@dataclass
class RowsLoaded(Message):
    """Runs of the view at positions `start`.., read as the user scrolled to them."""

    start: int
    runs: list[RunRow | None]
    generation: int
    order: Sequence[int]
    error: Exception | None = None


@dataclass
class RunsPatched(Message):
    """Fresh copies of some runs (those a change touched) that still match the view, and
    which of the runs asked about are in the view's order (none read, for `error`)."""

    asked: set[str]
    runs: list[RunRow]
    generation: int
    in_order: set[str] = field(default_factory=set)
    error: Exception | None = None


@dataclass
class AlertsRead(Message):
    """Every alert of the running runs (any experiment), by run id, and which run."""

    alerts: dict[str, list[Alert]]
    running: set[str]
    now: int
    error: Exception | None = None


@dataclass
class ExperimentsLoaded(Message):
    options: list[tuple[str, str]]
    names: dict[str, str]
    with_runs: int = 0  # how many experiments have runs


class RunsScreen(Screen):
    CSS_PATH = "runs.tcss"
    AUTO_FOCUS = None  # the runs table takes the focus itself
    HELP_TITLE = "runs"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "slash",
            "focus_filter",
            "Filter",
            tooltip="Filter runs: plain words find runs by name as you type; the search "
            "language applies on enter (↑ recalls)",
            id="runs.filter",
        ),
        Binding(
            "s",
            "sort(False)",
            "Sort",
            tooltip="Sort by the column under the cursor (or click its header)",
            id="runs.sort",
        ),
        Binding(
            "S",
            "sort(True)",
            "Reverse sort",
            tooltip="Sort by the column under the cursor, reversed",
            id="runs.sort_reverse",
        ),
        Binding(
            "space",
            "mark",
            "Mark",
            tooltip="Mark or unmark the run (marks survive filters)",
            id="runs.mark",
        ),
        Binding(
            "c",
            "compare",
            "Compare",
            tooltip="Compare the marked runs side by side (two or more)",
            id="runs.compare",
        ),
        Binding(
            "enter",
            "open_run",
            "Open",
            tooltip="Open the run: summary, charts, params, metrics, tags, artifacts",
            id="runs.open",
        ),
        Binding(
            "y",
            "copy_run_id",
            "Copy id",
            show=False,
            tooltip="Copy the run's id to the clipboard (OSC 52: works over SSH)",
            id="runs.copy",
        ),
        Binding(
            "e",
            "toggle_experiments",
            "Experiments",
            show=False,
            tooltip="Show or hide the experiments list (hidden by itself below 100 columns)",
            id="runs.experiments",
        ),
        Binding(
            "tab",
            "area(1)",
            "Next area",
            show=False,
            tooltip="Move to the next area: experiments, filter, runs",
            id="runs.next_area",
        ),
        Binding(
            "shift+tab",
            "area(-1)",
            "Previous area",
            show=False,
            tooltip="Move to the previous area",
            id="runs.previous_area",
        ),
        Binding(
            "escape",
            "escape",
            "Back to runs",
            show=False,
            tooltip="In the filter bar: put back the applied filter, then leave; elsewhere: "
            "back to the runs",
            id="runs.escape",
        ),
        Binding(
            "C",
            "columns",
            "Columns",
            tooltip="Choose and order the columns, a metric's min or max so far among them "
            "(kept per experiment)",
            id="runs.columns",
        ),
        Binding("q", "app.quit", "Quit", id="app.quit"),
    ]

    def __init__(self, store: TrackingStore) -> None:
        super().__init__()
        self.store = store
        self.column_prefs = ColumnPrefs(store.path)
        self.experiment_id: str | None = None
        self.filter_string = ""  # the filter of the view asked for
        self.shown_filter = ""  # the filter of the runs shown
        self.filter_text = ""  # what the filter bar holds for it (plain words: a name search)
        self.order_by: list[str] = []
        self.history: list[str] = []
        self.history_index = 0
        self.generation = 0
        self.experiment_names: dict[str, str] = {}
        self._experiment_options: list[tuple[str, str]] = []
        self._experiments_stale = False
        self._to_top = False
        self._order_asked_row = 0
        self._sort_row = 0
        self.runs_table = RunsTable(id="runs")
        self.sidebar: bool | None = None  # shown or hidden by the user (None: by width)
        # Live changes: run ids waiting to be re-read, and what is being read.
        self.pending: set[str] = set()
        self.view_running = False
        self.order_running = False
        self.order_again = False
        self.patch_running = False
        self._order_seconds = 0.0
        self._last_order = 0.0
        self._order_timer: Timer | None = None
        self._experiments_timer: Timer | None = None
        self._quick_timer: Timer | None = None
        self._rows_running: tuple[int, int] | None = None
        # Alerts: every running run's, read apart from the view (they ring the bell, with
        # --bell, whatever is shown); those present at the first look are not rung.
        self.watched_alerts: dict[str, list[Alert]] = {}
        self._rung: set[tuple[str, str, str]] | None = None  # None: no look yet
        self._watch_timer: Timer | None = None
        self._watch_soon: Timer | None = None
        self._watching = False
        self._running_ids: set[str] = set()  # the running runs, as last looked at
        self._changed_ids: set[str] = set()  # runs changed since

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield OptionList(id="experiments")
            with Vertical(id="main"):
                yield Input(
                    placeholder="/ name, or filter: metrics.val_acc > 0.9 and params.lr = '0.01'",
                    id="filter",
                    restrict=TYPABLE,
                    # Keys typed in one burst with `/` are in it before it takes the focus:
                    # selecting all then would have the next key replace them.
                    select_on_focus=False,
                )
                yield Static(id="filter-error", markup=False)
                yield Static("reading runs…", id="count", markup=False)
                yield Static(id="empty", markup=False)
                yield self.runs_table
        yield KeysFooter()

    def on_mount(self) -> None:
        self.set_focus(self.runs_table.table)
        self._watch_timer = self.set_interval(WATCH_EVERY, self.watch_alerts, pause=True)
        self.column_prefs.load()
        if self.column_prefs.problem is not None:
            self.notify(self.column_prefs.problem, severity="warning", markup=False)
        self._fit_sidebar()
        self.load_runs()  # the experiments once the runs are drawn: first things first

    def on_resize(self, event: events.Resize) -> None:
        self._fit_sidebar()

    def _fit_sidebar(self) -> None:
        wide = self.size.width >= SIDEBAR_MIN_WIDTH
        shown = wide if self.sidebar is None else self.sidebar
        self.query_one("#experiments").display = shown

    # -- loading -------------------------------------------------------------------------

    def refresh_data(self) -> None:
        self.load_experiments()
        self.load_runs()

    def reload(self) -> None:
        """The store works again: read everything shown again."""
        self.refresh_data()

    def load_experiments(self) -> None:
        self._read_experiments(self.store)

    @store_work(group="experiments", exclusive=True)
    def _read_experiments(store: TrackingStore) -> ExperimentsLoaded:
        counts = store.experiment_run_counts()
        experiments = store.list_experiments()
        total = sum(counts.get(exp.experiment_id, (0, 0))[0] for exp in experiments)
        running = sum(counts.get(exp.experiment_id, (0, 0))[1] for exp in experiments)
        live = f", {running:,} running" if running else ""
        options = [(ALL, f"All experiments ({total:,}{live})")]
        for exp in experiments:
            total, running = counts.get(exp.experiment_id, (0, 0))
            live = f", {running:,} running" if running else ""
            options.append((exp.experiment_id, f"{clean(exp.name)} ({total:,}{live})"))
        names = {exp.experiment_id: clean(exp.name) for exp in experiments}
        with_runs = sum(1 for exp in experiments if counts.get(exp.experiment_id, (0, 0))[0])
        return ExperimentsLoaded(options, names, with_runs)

    def load_runs(self) -> None:
        """Open the view again (a new filter, sort or experiment): its count and first
        runs at once, then its whole order."""
        self.generation += 1
        self.view_running = True
        self.order_running = False  # an order read for the old view is of no use
        self._read_view(
            self.store, self.generation, self.experiment_id, self.filter_string, self.order_by
        )

    @store_work(group="runs", exclusive=True)
    def _read_view(
        store: TrackingStore,
        generation: int,
        experiment_id: str | None,
        filter_string: str,
        order_by: list[str],
    ) -> RunsLoaded:
        scope = None if experiment_id is None else [experiment_id]
        try:
            total = store.count_runs(scope, filter_string)
            runs = list(store.search_run_rows(scope, filter_string, order_by or None, FIRST_ROWS))
        except Exception as error:  # whatever happened, the screen learns that this read is over
            return RunsLoaded(None, 0, generation, filter_string, error)
        return RunsLoaded(runs, total, generation, filter_string)

    def load_order(self) -> None:
        """Read the view's whole order again, keeping the cursor on its run."""
        if self.order_running:
            self.order_again = True
            return
        self.order_running, self.order_again = True, False
        self._last_order = time.monotonic()
        runs_table = self.runs_table
        grid = runs_table.table
        run = runs_table.current_run()
        self._order_asked_row = grid.cursor_row
        self._read_order(
            self.store,
            self.generation,
            self.experiment_id,
            self.filter_string,
            self.order_by,
            None if run is None else run.info.run_id,
            grid.cursor_row - grid.scroll_offset.y,
            grid.scroll_offset.y,
            grid.visible_rows,
            [r.info.run_id for r in runs_table.runs],
        )

    @store_work(group="runs-order", exclusive=True)
    def _read_order(
        store: TrackingStore,
        generation: int,
        experiment_id: str | None,
        filter_string: str,
        order_by: list[str],
        cursor_run: str | None,
        cursor_line: int,
        top: int,
        height: int,
        held: list[str],
    ) -> OrderLoaded:
        scope = None if experiment_id is None else [experiment_id]
        started = time.monotonic()
        try:
            order = store.run_order(scope, filter_string, order_by or None)
            # The keys of the runs held: the cursor may move to another of them while
            # this is read; its place in the new order is found when it arrives.
            keys = store.run_keys(held + ([cursor_run] if cursor_run else []))
            cursor = position(order, keys.get(cursor_run)) if cursor_run else None
            new_top = top if cursor is None else max(0, cursor - cursor_line)
            start = max(0, new_top - MARGIN * height)
            stop = min(len(order), new_top + (MARGIN + 1) * height)
            runs = store.run_rows_by_keys(order[start:stop])
        except Exception as error:  # whatever happened, the screen learns that this read is over
            return OrderLoaded(None, 0, [], None, None, generation, 0.0, error=error)
        seconds = time.monotonic() - started
        return OrderLoaded(
            order, start, runs, cursor, new_top, generation, seconds, cursor_run, keys
        )

    @on(Grid.RowsWanted)
    def read_rows(self, event: Grid.RowsWanted) -> None:
        event.stop()
        runs_table = self.runs_table
        order = runs_table.order
        if order is None or self._rows_running is not None:
            return  # the order brings the rows on screen; or a read is on its way
        start, stop = runs_table.missing(event.start, event.end)
        if start >= stop:
            return
        self._rows_running = (start, stop)
        self._read_rows(self.store, self.generation, order, start, stop)

    @store_work(group="runs-rows", exclusive=True)
    def _read_rows(
        store: TrackingStore, generation: int, order: Sequence[int], start: int, stop: int
    ) -> RowsLoaded:
        try:
            runs = store.run_rows_by_keys(order[start:stop])
        except Exception as error:  # whatever happened, the screen learns that this read is over
            return RowsLoaded(start, [], generation, order, error)
        return RowsLoaded(start, runs, generation, order)

    def on_rows_loaded(self, message: RowsLoaded) -> None:
        self._rows_running = None
        if message.error is not None:
            report(self.app, message.error)
            return
        runs_table = self.runs_table
        if message.generation == self.generation and message.order is runs_table.order:
            runs_table.put_rows(message.start, message.runs, self.app.now())  # type: ignore[attr-defined]
        else:
            runs_table.table.rows_arrived()  # ask again, for the order shown now

    # -- live changes ----------------------------------------------------------------------

    def store_changed(self, changes: Changes, touched: set[str] | None) -> None:
        self.apply_changes(changes)

    def apply_changes(self, changes: Changes) -> None:
        """Runs changed elsewhere: re-read just those runs, and update their rows in place."""
        self.pending.update(changes.run_ids)
        self._changed_ids.update(changes.run_ids)
        if changes.run_ids and self._watch_soon is None:

            def go() -> None:
                self._watch_soon = None
                self.watch_alerts(full=False)

            self._watch_soon = self.set_timer(WATCH_AFTER_CHANGE, go)
        if changes.experiment_ids or changes.run_ids:
            self._schedule_experiments()
        self._next_patch()

    def _next_patch(self) -> None:
        if self.view_running or self.patch_running or not self.pending:
            return
        if not self.is_active:
            return  # under another screen: the runs changed are read when it shows again
        asked, self.pending = self.pending, set()
        if len(asked) > PATCH_LIMIT:
            self._schedule_order()
            return
        if not self.runs_table.is_mounted:
            self.pending |= asked  # composing or closing: nothing to patch
            return
        self.patch_running = True
        self._read_some(
            self.store,
            asked,
            self.generation,
            self.experiment_id,
            self.filter_string,
            self.runs_table.order,
        )

    @store_work(group="runs-patch")
    def _read_some(
        store: TrackingStore,
        asked: set[str],
        generation: int,
        experiment_id: str | None,
        filter_string: str,
        order: Sequence[int] | None,
    ) -> RunsPatched:
        scope = None if experiment_id is None else [experiment_id]
        ids = ", ".join(f"'{run_id}'" for run_id in sorted(asked))  # hex ids, from the store
        clause = f"attributes.run_id IN ({ids})"
        where = f"({filter_string}) AND {clause}" if filter_string else clause
        try:
            runs = list(store.search_run_rows(scope, where, max_results=PATCH_LIMIT))
            in_order = set()
            if order is not None:
                for run_id, key in store.run_keys(asked).items():
                    if position(order, key) is not None:
                        in_order.add(run_id)
        except Exception as error:  # whatever happened, the screen learns that this read is over
            return RunsPatched(asked, [], generation, error=error)
        return RunsPatched(asked, runs, generation, in_order)

    def on_runs_patched(self, message: RunsPatched) -> None:
        self.patch_running = False
        if message.error is not None:
            report(self.app, message.error)
        runs_table = self.runs_table
        if message.generation != self.generation:
            self.pending |= message.asked  # a new view began meanwhile: ask again after it
        elif runs_table.order is None:
            self.order_again = self.order_again or self.order_running  # read since
        elif not runs_table.patch(message.asked, message.runs, self.app.now()):  # type: ignore[attr-defined]
            self._schedule_order()  # rows must come, go or move
        elif self._moves_elsewhere(message, runs_table):
            self._schedule_order()
        self._next_patch()

    def _moves_elsewhere(self, message: RunsPatched, runs_table: RunsTable) -> bool:
        """Whether runs not held (off screen) came into the view, left it, or may have
        moved in it (sorted by something a live run changes)."""
        matched = {run.info.run_id for run in message.runs}
        stable = runs_table.sort_column is None or runs_table.sort_column.key == "started"
        for run_id in message.asked:
            if runs_table.position_of(run_id) is not None:
                continue
            ordered = run_id in message.in_order
            if ordered != (run_id in matched) or (ordered and not stable):
                return True
        return False

    @property
    def alerts_looked_at(self) -> bool:
        """Whether the running runs' alerts were read once yet."""
        return self._rung is not None

    def watch_alerts(self, full: bool = True) -> None:
        """Look at the running runs' alerts (one look at a time; under another screen too:
        the bell rings for a run whatever is shown). Every run is searched for the status
        (`full`), else only those running at the last look and those changed since."""
        if self._watching:
            return
        ids = None if full else sorted(self._running_ids | self._changed_ids)
        if ids is not None and len(ids) > WATCH_LIMIT:
            ids = None
        self._changed_ids = set()
        self._watching = True
        self._read_alerts(self.store, self.app.now(), ids)  # type: ignore[attr-defined]

    @store_work(group="alerts", exclusive=True)
    def _read_alerts(store: TrackingStore, now: int, ids: list[str] | None) -> AlertsRead:
        running = "attributes.status = 'RUNNING'"
        if ids is not None:  # hex ids, from the store
            running += f" AND attributes.run_id IN ({', '.join(repr(i) for i in ids)})"
        try:
            runs = (
                [] if ids == [] else list(store.search_run_rows(None, running, None, WATCH_LIMIT))
            )
            alerts = live_alerts(store, runs, now)
            return AlertsRead(alerts, {run.info.run_id for run in runs}, now)
        except Exception as error:  # whatever happened, the screen learns that this look is over
            return AlertsRead({}, set(), now, error)

    def on_alerts_read(self, message: AlertsRead) -> None:
        self._watching = False
        if message.error is not None:
            report(self.app, message.error)
            return
        timer = self._watch_timer
        if timer is not None:  # looked at again and again only while some run
            if message.running:
                timer.resume()
            else:
                timer.pause()
        self.watched_alerts = message.alerts
        self._running_ids = message.running
        if self.runs_table.is_mounted:
            self.runs_table.set_live_alerts(message.alerts, self.app.now())  # type: ignore[attr-defined]
        found = {(r, *a.key) for r, alerts in message.alerts.items() for a in alerts}
        if self._rung is None:
            self._rung = found  # there as the dashboard opened: not news
            return
        new = found - self._rung
        self._rung |= new
        if new and getattr(self.app, "bell_on_alerts", False):
            self.app.bell()  # once, however many arose together

    def _schedule_order(self) -> None:
        """The order read again for live changes: at most every REORDER_EVERY seconds, and
        less often when reading it is slow (a million runs)."""
        if self._order_timer is not None:
            return
        every = max(REORDER_EVERY, REORDER_COST_SHARE * self._order_seconds)
        # (A timer needs a positive delay: Textual divides by it.)
        wait = max(0.01, self._last_order + every - time.monotonic())

        def go() -> None:
            self._order_timer = None
            self.load_order()

        self._order_timer = self.set_timer(wait, go)

    def _schedule_experiments(self) -> None:
        if not self.is_active:
            self._experiments_stale = True  # read when the screen shows again
            return
        if self._experiments_timer is None:

            def go() -> None:
                self._experiments_timer = None
                self.load_experiments()

            self._experiments_timer = self.set_timer(1.0, go)

    def on_screen_resume(self) -> None:
        """Back on top (a run's detail, compare or the registry closed): what changed
        meanwhile is read now, and the clock catches up."""
        self.tick()
        if self._experiments_stale:
            self._experiments_stale = False
            self.load_experiments()
        self._next_patch()

    def tick(self) -> None:
        """The clock moved: running runs' durations and staleness, with no read."""
        if self.runs_table.is_mounted:  # not while composing or closing
            self.runs_table.tick(self.app.now())  # type: ignore[attr-defined]

    def on_experiments_loaded(self, message: ExperimentsLoaded) -> None:
        self.experiment_names = message.names
        self.runs_table.set_experiments(
            message.names, self.runs_table.all_experiments, message.with_runs > 1
        )
        listing = self.query_one("#experiments", OptionList)
        if message.options == self._experiment_options:
            return  # nothing to draw again (live runs ask each second)
        self._experiment_options = message.options
        highlighted = listing.highlighted
        listing.clear_options()
        for key, label in message.options:
            listing.add_option(Option(Text(label), id=key))  # Text: a str label is markup
        if highlighted is not None and highlighted < listing.option_count:
            listing.highlighted = highlighted

    def on_runs_loaded(self, message: RunsLoaded) -> None:
        error = message.error
        if isinstance(error, FilterError):
            self._show_filter_error(error)
        elif (
            isinstance(error, MltopError)
            and message.filter_string == self.filter_string != self.shown_filter
        ):
            # The store failed as a new filter was first read: it is not applied, the
            # results stay, and the filter bar has the keyboard, to try again.
            self.filter_string = self.shown_filter
            self.notify(clean(error), severity="error", markup=False)
            self.set_focus(self.query_one("#filter", Input))
        elif error is not None:
            report(self.app, error)
        if message.generation != self.generation:
            return  # a newer load is on its way
        self.view_running = False
        if message.runs is not None:
            self.shown_filter = message.filter_string
            runs_table = self.runs_table
            runs_table.all_experiments = self.experiment_id is None
            runs_table.choice = self.column_prefs.get(self.experiment_id)
            grid = runs_table.table
            # G pressed while a new sort was read: the end of the new order.
            last = self._to_top and grid.cursor_row != self._sort_row
            last = last and grid.cursor_row == runs_table.total - 1
            runs_table.open_view(
                message.total,
                message.runs,
                self.app.now(),  # type: ignore[attr-defined]
                top=self._to_top and not last,
                last=last,
            )
            self._to_top = False
            self._show_count()
            # Once this is drawn: reading a million keys holds the interpreter a while.
            self.call_after_refresh(self.load_order)
            if not self.experiment_names:
                self.call_after_refresh(self.load_experiments)
            if self._rung is None:
                self.call_after_refresh(self.watch_alerts)
            # On screen: now the app follows the store (changes since it opened included).
            self.call_after_refresh(self.app.start_following)  # type: ignore[attr-defined]
        self._next_patch()

    def on_order_loaded(self, message: OrderLoaded) -> None:
        self.order_running = False
        if message.error is not None:
            report(self.app, message.error)
        if message.generation != self.generation:
            return  # the order of a view no longer shown
        if message.order is not None:
            self._order_seconds = message.seconds
            runs_table = self.runs_table
            cursor, top = message.cursor, message.top
            if runs_table.table.scroll_offset.y == 0:
                top = 0  # a view at its top stays there: runs new at the top show
            now_on = runs_table.current_run()
            grid = runs_table.table
            if now_on is None and grid.cursor_row != self._order_asked_row:
                # The user moved to rows not read yet (G as a big view opens): stay there.
                cursor, top = grid.cursor_row, grid.scroll_offset.y
            elif now_on is not None and now_on.info.run_id != message.asked_for:
                # The user moved while the order was read: keep the run moved to.
                moved = position(message.order, message.keys.get(now_on.info.run_id))
                if moved is not None:
                    cursor = moved
                    if top != 0:
                        top = max(0, moved - (grid.cursor_row - grid.scroll_offset.y))
            runs_table.set_order(
                message.order,
                message.start,
                message.runs,
                cursor,
                top,
                self.app.now(),  # type: ignore[attr-defined]
            )
            self._show_count()
        if self.order_again:
            self._schedule_order()
        self._next_patch()

    def _show_filter_error(self, failure: FilterError) -> None:
        error = self.query_one("#filter-error", Static)
        # No-break spaces: the caret's indentation must survive the widget's wrapping.
        pointer = "\u00a0" * failure.position + "^"
        # The runs below (and their count) are still those of the filter applied before.
        before = f"the filter {clean(self.filter_text)!r}" if self.filter_string else "no filter"
        error.update(
            f"{failure}\n{clean(failure.text)}\n{pointer}\nnot applied: the runs below are "
            f"still those of {before}"
        )
        error.add_class("shown")

    # -- actions -------------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#experiments")
    def choose_experiment(self, event: OptionList.OptionSelected) -> None:
        key = event.option.id
        self.experiment_id = None if key in (None, ALL) else key
        self.load_runs()
        self.action_focus_table()  # chosen: on to its runs (tab goes back)

    @on(Input.Submitted, "#filter")
    def apply_filter(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self.history_index = len(self.history)
        if self._quick_timer is not None:
            self._quick_timer.stop()
            self._quick_timer = None
        filter_string = name_search(text) if is_plain_words(text) else text
        try:  # checked as the search would be, without reading the store
            check_run_search(filter_string)
        except FilterError as exc:  # not applied: the previous results stay
            self._show_filter_error(exc)
            return
        self._apply(text, filter_string)
        self.set_focus(self.runs_table.table)

    def _apply(self, text: str, filter_string: str) -> None:
        self.query_one("#filter-error", Static).remove_class("shown")
        self.filter_text = text
        if filter_string != self.filter_string:
            self.filter_string = filter_string
            self.load_runs()

    @on(Input.Changed, "#filter")
    def quick_search(self, event: Input.Changed) -> None:
        """Plain words find runs by name as they are typed (after a short pause)."""
        text = event.value.strip()
        emptied = not text and is_plain_words(self.filter_text)  # a name search taken back
        if not (is_plain_words(text) or emptied) or text == self.filter_text:
            return
        if self._quick_timer is not None:
            self._quick_timer.stop()

        def go() -> None:
            self._quick_timer = None
            if self.query_one("#filter", Input).value.strip() == text:
                self._apply(text, name_search(text) if text else "")

        self._quick_timer = self.set_timer(QUICK_SEARCH_PAUSE, go)

    def on_key(self, event: events.Key) -> None:
        filter_input = self.query_one("#filter", Input)
        if event.key == "slash" and self.focused is not filter_input:
            # `/` moves to the filter bar, without typing itself into it; at once, so
            # that keys typed right after it go there too.
            event.prevent_default()
            event.stop()
            self.set_focus(filter_input)
            return
        # (`focused`, not `has_focus`: that is set once the input has handled its focus.)
        if self.focused is filter_input and event.is_printable and event.character:
            # A key sent to the table before `/` moved the keyboard (keys in one burst:
            # typed fast, pasted, a laggy link): it belongs in the filter bar too.
            event.prevent_default()
            event.stop()
            filter_input.insert_text_at_cursor(event.character)
            return
        if not filter_input.has_focus or event.key not in ("up", "down") or not self.history:
            return
        step = -1 if event.key == "up" else 1
        self.history_index = max(0, min(len(self.history), self.history_index + step))
        filter_input.value = (
            self.history[self.history_index] if self.history_index < len(self.history) else ""
        )
        filter_input.cursor_position = len(filter_input.value)
        event.stop()

    def action_focus_filter(self) -> None:
        self.set_focus(self.query_one("#filter", Input))

    def action_focus_table(self) -> None:
        self.set_focus(self.runs_table.table)

    def action_escape(self) -> None:
        """In the filter bar, text that is not the applied filter is put back to it (the
        bar never shows a filter other than the one applied); else back to the runs."""
        filter_input = self.query_one("#filter", Input)
        if filter_input.has_focus and filter_input.value.strip() != self.filter_text:
            if self._quick_timer is not None:
                self._quick_timer.stop()
                self._quick_timer = None
            filter_input.value = self.filter_text
            filter_input.cursor_position = len(self.filter_text)
            self.query_one("#filter-error", Static).remove_class("shown")
            return
        self.action_focus_table()

    def action_area(self, step: int) -> None:
        """tab / shift+tab: experiments, filter bar, runs table, round."""
        areas: list[Widget] = [
            self.query_one("#experiments", OptionList),
            self.query_one("#filter", Input),
            self.runs_table.table,
        ]
        shown = [w for w in areas if w.display]
        focused = self.focused
        at = shown.index(focused) if focused in shown else len(shown) - 1
        self.set_focus(shown[(at + step) % len(shown)])

    def action_toggle_experiments(self) -> None:
        listing = self.query_one("#experiments", OptionList)
        self.sidebar = not listing.display
        self._fit_sidebar()
        if not self.sidebar and listing.has_focus:
            self.action_focus_table()

    def action_sort(self, reverse: bool) -> None:
        """`s` sorts by the column under the cursor (newest first for `started`), `S` reversed."""
        self.sort_by(self.runs_table.current_column(), reverse)

    def sort_by(self, column: Column | None, reverse: bool) -> None:
        if column is None or column.order_key is None:
            self.notify("this column cannot be sorted on", severity="warning")
            return
        descending = (column.key == "started") != reverse
        self.order_by = [f"{column.order_key} {'DESC' if descending else 'ASC'}"]
        runs_table = self.runs_table
        runs_table.sorted_by = (column.order_key, descending)
        runs_table.sort_column = column
        runs_table.relabel()
        self._to_top = True  # a new sort shows its first runs
        self._sort_row = runs_table.table.cursor_row
        self.load_runs()

    @on(Grid.HeaderClicked)
    def sort_by_header(self, event: Grid.HeaderClicked) -> None:
        """A click on a column's header sorts by it; a second click reverses."""
        event.stop()
        runs_table = self.runs_table
        if not 0 <= event.column < len(runs_table.columns):
            return
        column = runs_table.columns[event.column]
        current = runs_table.sorted_by
        natural = column.key == "started"
        # The first click sorts the natural way; each further click flips the direction.
        again = current is not None and current[0] == column.order_key
        self.sort_by(column, reverse=again and current is not None and current[1] == natural)

    @on(Grid.Selected)
    def open_selected(self, event: Grid.Selected) -> None:
        """Enter on the table (the table turns the key into a selection)."""
        event.stop()
        self.action_open_run()

    def action_open_run(self) -> None:
        if self.app.screen is not self:
            return  # a selection read after another screen was opened over this one
        run = self.runs_table.current_run()
        if run is not None:
            from mltop.tui.screens.run_detail import RunDetailScreen

            self.app.push_screen(RunDetailScreen(self.store, run.info.run_id))

    def action_columns(self) -> None:
        """`C`: the column picker; what is chosen holds for this experiment from now on."""
        from mltop.tui.screens.columns import ColumnsScreen

        runs_table = self.runs_table
        default, extra = runs_table.offered()
        shown = [c for c in runs_table.columns if c.key != "mark" or c.kind != "attribute"]
        offered = [c for c in default + extra if c.key != "mark" or c.kind != "attribute"]
        experiment = self.experiment_id
        defaults = arrange(default, extra, None)[1:]  # without the mark
        self.app.push_screen(
            ColumnsScreen(shown, offered, defaults),
            lambda picked: self._columns_picked(experiment, picked),
        )

    def _columns_picked(self, experiment: str | None, picked: Picked | str | None) -> None:
        if picked is None:
            return
        if picked == RESET:
            choice = None
        else:
            assert not isinstance(picked, str)
            choice = Choice(
                [c.id for c, shown in picked if shown], [c.id for c, shown in picked if not shown]
            )
        if experiment == self.experiment_id:
            self.runs_table.set_choice(choice)
            self._show_count()
        prefs = self.column_prefs
        aside = prefs.moved_aside
        try:
            prefs.set(experiment, choice)
            if prefs.moved_aside != aside:
                self.notify(
                    f"{prefs.path} could not be read: kept as {prefs.moved_aside}",
                    severity="warning",
                    markup=False,
                )
        except OSError as error:
            self.notify(
                f"columns not remembered: {error} (they hold until mltop quits)",
                severity="warning",
                markup=False,
            )

    def action_copy_run_id(self) -> None:
        run = self.runs_table.current_run()
        if run is None:
            return
        self.app.copy_to_clipboard(run.info.run_id)
        self.notify(f"copied run id {run.info.run_id}", markup=False)

    def action_compare(self) -> None:
        runs_table = self.runs_table
        if len(runs_table.marked) < 2:
            self.notify("mark two or more runs (space) to compare them", severity="warning")
            return
        from mltop.tui.screens.compare import CompareScreen

        # In the order they stand in the table; marked runs not held come last.
        shown = [r.info.run_id for r in runs_table.runs if r.info.run_id in runs_table.marked]
        rest = sorted(runs_table.marked - set(shown))
        self.app.push_screen(CompareScreen(self.store, shown + rest))

    def action_mark(self) -> None:
        self.runs_table.toggle_mark()
        self._show_count()

    def _show_count(self) -> None:
        """The line over the table: how many runs, whether filtered, how many marked; with
        no runs, what to do next."""
        runs_table = self.runs_table
        count = runs_table.total
        parts = [f"{count:,} run{'' if count == 1 else 's'}"]
        if self.filter_string:
            quick = is_plain_words(self.filter_text)
            what = f'"{self.filter_text}" in the name' if quick else "the filter"
            parts[0] += f" match {what}" if count != 1 else f" matches {what}"
        if runs_table.marked:
            parts.append(f"{len(runs_table.marked):,} marked")
        column, by = runs_table.sort_column, runs_table.sorted_by
        if column is not None and by is not None and column not in runs_table.columns:
            # The sort's arrow is on no header: said here.
            parts.append(f"sorted by {column.label} {'▼' if by[1] else '▲'} (hidden)")
        self.query_one("#count", Static).update(Text(" · ".join(parts)))
        empty = self.query_one("#empty", Static)
        if count:
            empty.remove_class("shown")
            runs_table.display = True
            return
        if self.filter_string:
            message = (
                f"No run matches {clean(self.filter_text)!r}.\n\n"
                "Press / to change the filter (escape puts back the one applied), "
                "or empty it and press enter to see every run."
            )
        elif self.experiment_id is not None:
            message = "No runs in this experiment yet. Choose another on the left (tab)."
        else:
            message = (
                "No runs yet. Log one from Python:\n\n"
                "    import mltop.store as mlflow\n"
                f"    mlflow.set_tracking_uri({clean(self.store.location)!r})\n"
                "    with mlflow.start_run():\n"
                '        mlflow.log_param("lr", 0.01)\n'
                '        mlflow.log_metric("loss", 0.5, step=1)\n\n'
                "or try `mltop demo` for a store with live training."
            )
        empty.update(Text(message))
        empty.add_class("shown")
        runs_table.display = False


SIDEBAR_MIN_WIDTH = 100  # columns: narrower, the experiments list hides (e shows it)
QUICK_SEARCH_PAUSE = 0.15  # seconds after the last key before a name search is read

_PLAIN = re.compile(r"[^=<>!'\"`()]*")


def is_plain_words(text: str) -> bool:
    """Whether the filter bar holds words to find in run names rather than a filter
    (no comparison, no quotes, no parentheses)."""
    if not text or not _PLAIN.fullmatch(text):
        return False
    try:
        check_run_search(text)
    except FilterError:
        return True
    return False


def name_search(text: str) -> str:
    """The filter finding runs whose name holds the letters of `text` in order, any case
    (fuzzy: "rn01" finds "resnet-lr0.1"); LIKE's wildcards typed are taken as any char."""
    letters = [c for c in text if not c.isspace()]
    pattern = "%" + "%".join(letters) + "%"
    return f"attributes.run_name ILIKE '{pattern}'"


def position(order: Sequence[int], key: int | None) -> int | None:
    """Where `key` stands in `order` (None: not there)."""
    if key is None:
        return None
    try:
        return order.index(key)
    except ValueError:
        return None
