"""The runs screen: experiments on the left, a filter bar, the runs table; live."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, OptionList, Static
from textual.widgets.option_list import Option
from textual_fastdatatable import DataTable

from mltop.store import Changes, FilterError, MltopError, RunRow, TrackingStore
from mltop.store.query import check_run_search
from mltop.tui.text import TYPABLE, clean
from mltop.tui.widgets.runs_table import Column, RunsTable
from mltop.tui.workers import report, store_work

ALL = "__all__"


PATCH_LIMIT = 500  # more changed runs than this at once: read the whole view again
FULL_RELOAD_EVERY = 0.5  # seconds: live changes that move rows re-read the view this often


@dataclass
class RunsLoaded(Message):
    """The runs of the view, read with `filter_string` (None: not read, for `error`)."""

    runs: list[RunRow] | None
    generation: int
    filter_string: str
    error: Exception | None = None


@dataclass
class RunsPatched(Message):
    """Fresh copies of some runs (those a change touched) that still match the view
    (none read, for `error`)."""

    asked: set[str]
    runs: list[RunRow]
    generation: int
    error: Exception | None = None


@dataclass
class ExperimentsLoaded(Message):
    options: list[tuple[str, str]]


class RunsScreen(Screen):
    CSS_PATH = "runs.tcss"
    AUTO_FOCUS = None  # the runs table takes the focus itself, once it has rows
    HELP_TITLE = "runs"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "slash",
            "focus_filter",
            "Filter",
            tooltip="Filter runs (search language; ↑ recalls)",
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
        Binding("j", "move(1)", "Down", show=False, tooltip="Next run", id="runs.down"),
        Binding("k", "move(-1)", "Up", show=False, tooltip="Previous run", id="runs.up"),
        Binding(
            "escape",
            "focus_table",
            "Back to runs",
            show=False,
            tooltip="Leave the filter bar or the experiments list",
            id="runs.escape",
        ),
        Binding("q", "app.quit", "Quit", id="app.quit"),
    ]

    def __init__(self, store: TrackingStore) -> None:
        super().__init__()
        self.store = store
        self.experiment_id: str | None = None
        self.filter_string = ""  # the filter of the view asked for
        self.shown_filter = ""  # the filter of the runs shown
        self.order_by: list[str] = []
        self.history: list[str] = []
        self.history_index = 0
        self.generation = 0
        # Live changes: run ids waiting to be re-read, and whether a read is under way.
        self.pending: set[str] = set()
        self.full_load_running = False
        self.patch_running = False
        self._last_full = 0.0
        self._full_timer: Timer | None = None
        self._experiments_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield OptionList(id="experiments")
            with Vertical():
                yield Input(
                    placeholder="/ filter: metrics.val_acc > 0.9 and params.lr = '0.01'",
                    id="filter",
                    restrict=TYPABLE,
                )
                yield Static(id="filter-error", markup=False)
                yield Static("reading runs…", id="count", markup=False)
                yield RunsTable(id="runs")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(RunsTable).table.focus()
        self.refresh_data()

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
        options = [(ALL, f"All experiments ({sum(t for t, _r in counts.values())})")]
        for exp in store.list_experiments():
            total, running = counts.get(exp.experiment_id, (0, 0))
            live = f", {running} running" if running else ""
            options.append((exp.experiment_id, f"{clean(exp.name)} ({total}{live})"))
        return ExperimentsLoaded(options)

    def load_runs(self) -> None:
        """Read every run of the view again (a new filter, sort or experiment)."""
        self.generation += 1
        self.full_load_running = True
        self._last_full = time.monotonic()
        self._read_all(
            self.store, self.generation, self.experiment_id, self.filter_string, self.order_by
        )

    @store_work(group="runs", exclusive=True)
    def _read_all(
        store: TrackingStore,
        generation: int,
        experiment_id: str | None,
        filter_string: str,
        order_by: list[str],
    ) -> RunsLoaded:
        scope = None if experiment_id is None else [experiment_id]
        try:
            runs = list(
                store.search_run_rows(scope, filter_string, order_by or None, max_results=50_000)
            )
        except Exception as error:  # whatever happened, the screen learns that this read is over
            return RunsLoaded(None, generation, filter_string, error)
        return RunsLoaded(runs, generation, filter_string)

    # -- live changes ----------------------------------------------------------------------

    def store_changed(self, changes: Changes, touched: set[str] | None) -> None:
        self.apply_changes(changes)

    def apply_changes(self, changes: Changes) -> None:
        """Runs changed elsewhere: re-read just those runs, and update their rows in place."""
        self.pending.update(changes.run_ids)
        if changes.experiment_ids or changes.run_ids:
            self._schedule_experiments()
        self._next_patch()

    def _next_patch(self) -> None:
        if self.full_load_running or self.patch_running or not self.pending:
            return
        asked, self.pending = self.pending, set()
        if len(asked) > PATCH_LIMIT:
            self._schedule_full_load()
            return
        self.patch_running = True
        self._read_some(self.store, asked, self.generation, self.experiment_id, self.filter_string)

    @store_work(group="runs-patch")
    def _read_some(
        store: TrackingStore,
        asked: set[str],
        generation: int,
        experiment_id: str | None,
        filter_string: str,
    ) -> RunsPatched:
        scope = None if experiment_id is None else [experiment_id]
        ids = ", ".join(f"'{run_id}'" for run_id in sorted(asked))  # hex ids, from the store
        clause = f"attributes.run_id IN ({ids})"
        where = f"({filter_string}) AND {clause}" if filter_string else clause
        try:
            runs = list(store.search_run_rows(scope, where, max_results=PATCH_LIMIT))
        except Exception as error:  # whatever happened, the screen learns that this read is over
            return RunsPatched(asked, [], generation, error)
        return RunsPatched(asked, runs, generation)

    def on_runs_patched(self, message: RunsPatched) -> None:
        self.patch_running = False
        if message.error is not None:
            report(self.app, message.error)
        if message.generation != self.generation:
            self.pending |= message.asked  # a full read began meanwhile: ask again after it
        elif not self.query_one(RunsTable).patch(message.asked, message.runs, self.app.now()):  # type: ignore[attr-defined]
            self._schedule_full_load()  # rows must come, go or move: read the view again
        self._next_patch()

    def _schedule_full_load(self) -> None:
        """A full read for live changes, at most every FULL_RELOAD_EVERY seconds."""
        if self._full_timer is not None:
            return
        # (A timer needs a positive delay: Textual divides by it.)
        wait = max(0.01, self._last_full + FULL_RELOAD_EVERY - time.monotonic())

        def go() -> None:
            self._full_timer = None
            self.load_runs()

        self._full_timer = self.set_timer(wait, go)

    def _schedule_experiments(self) -> None:
        if self._experiments_timer is None:

            def go() -> None:
                self._experiments_timer = None
                self.load_experiments()

            self._experiments_timer = self.set_timer(1.0, go)

    def tick(self) -> None:
        """The clock moved: running runs' durations and staleness, with no read."""
        for runs_table in self.query(RunsTable):  # none while composing or closing
            runs_table.tick(self.app.now())  # type: ignore[attr-defined]

    def on_experiments_loaded(self, message: ExperimentsLoaded) -> None:
        listing = self.query_one("#experiments", OptionList)
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
            self.query_one("#filter", Input).focus()
        elif error is not None:
            report(self.app, error)
        if message.generation != self.generation:
            return  # a newer load is on its way
        self.full_load_running = False
        if message.runs is not None:
            self.shown_filter = message.filter_string
            self.query_one(RunsTable).show(message.runs, self.app.now())  # type: ignore[attr-defined]
            self._show_count()
            # On screen: now the app follows the store (changes since it opened included).
            self.call_after_refresh(self.app.start_following)  # type: ignore[attr-defined]
        self._next_patch()

    def _show_filter_error(self, failure: FilterError) -> None:
        error = self.query_one("#filter-error", Static)
        # No-break spaces: the caret's indentation must survive the widget's wrapping.
        pointer = "\u00a0" * failure.position + "^"
        error.update(f"{failure}\n{clean(failure.text)}\n{pointer}")
        error.add_class("shown")

    # -- actions -------------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#experiments")
    def choose_experiment(self, event: OptionList.OptionSelected) -> None:
        key = event.option.id
        self.experiment_id = None if key in (None, ALL) else key
        self.load_runs()

    @on(Input.Submitted, "#filter")
    def apply_filter(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self.history_index = len(self.history)
        try:  # checked as the search would be, without reading the store
            check_run_search(text)
        except FilterError as exc:  # not applied: the previous results stay
            self._show_filter_error(exc)
            return
        self.filter_string = text
        self.query_one("#filter-error", Static).remove_class("shown")
        self.load_runs()
        self.query_one(RunsTable).table.focus()

    def on_key(self, event: events.Key) -> None:
        filter_input = self.query_one("#filter", Input)
        if event.key == "slash" and not filter_input.has_focus:
            # `/` moves to the filter bar, without typing itself into it.
            event.prevent_default()
            event.stop()
            filter_input.focus()
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
        self.query_one("#filter", Input).focus()

    def action_focus_table(self) -> None:
        self.query_one(RunsTable).table.focus()

    def action_sort(self, reverse: bool) -> None:
        """`s` sorts by the column under the cursor (newest first for `started`), `S` reversed."""
        self.sort_by(self.query_one(RunsTable).current_column(), reverse)

    def sort_by(self, column: Column | None, reverse: bool) -> None:
        if column is None or column.order_key is None:
            self.notify("this column cannot be sorted on", severity="warning")
            return
        descending = (column.key == "started") != reverse
        self.order_by = [f"{column.order_key} {'DESC' if descending else 'ASC'}"]
        runs_table = self.query_one(RunsTable)
        runs_table.sorted_by = (column.order_key, descending)
        runs_table.sort_column = column
        self.load_runs()

    @on(DataTable.HeaderSelected)
    def sort_by_header(self, event: DataTable.HeaderSelected) -> None:
        """A click on a column's header sorts by it; a second click reverses."""
        event.stop()
        runs_table = self.query_one(RunsTable)
        if not 0 <= event.column_index < len(runs_table.columns):
            return
        column = runs_table.columns[event.column_index]
        current = runs_table.sorted_by
        natural = column.key == "started"
        # The first click sorts the natural way; each further click flips the direction.
        again = current is not None and current[0] == column.order_key
        self.sort_by(column, reverse=again and current is not None and current[1] == natural)

    @on(DataTable.CellSelected)
    def open_selected(self, event: DataTable.CellSelected) -> None:
        """Enter on the table (the table turns the key into a selection)."""
        event.stop()
        self.action_open_run()

    def action_open_run(self) -> None:
        if self.app.screen is not self:
            return  # a selection read after another screen was opened over this one
        run = self.query_one(RunsTable).current_run()
        if run is not None:
            from mltop.tui.screens.run_detail import RunDetailScreen

            self.app.push_screen(RunDetailScreen(self.store, run.info.run_id))

    def action_compare(self) -> None:
        runs_table = self.query_one(RunsTable)
        if len(runs_table.marked) < 2:
            self.notify("mark two or more runs (space) to compare them", severity="warning")
            return
        from mltop.tui.screens.compare import CompareScreen

        # In the order they stand in the table; marked runs filtered out of view come last.
        shown = [r.info.run_id for r in runs_table.runs if r.info.run_id in runs_table.marked]
        rest = sorted(runs_table.marked - set(shown))
        self.app.push_screen(CompareScreen(self.store, shown + rest))

    def action_move(self, rows: int) -> None:
        table = self.query_one(RunsTable).table
        table.move_cursor(row=max(0, table.cursor_row + rows))

    def action_mark(self) -> None:
        self.query_one(RunsTable).toggle_mark()
        self._show_count()

    def _show_count(self) -> None:
        """The line over the table: how many runs, whether filtered, how many marked."""
        runs_table = self.query_one(RunsTable)
        count = len(runs_table.runs)
        parts = [f"{count:,} run{'' if count == 1 else 's'}"]
        if self.filter_string:
            parts[0] += " match the filter" if count != 1 else " matches the filter"
        if runs_table.marked:
            parts.append(f"{len(runs_table.marked):,} marked")
        self.query_one("#count", Static).update(" · ".join(parts))
