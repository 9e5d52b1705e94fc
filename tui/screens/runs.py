"""The runs screen: experiments on the left, a filter bar, the runs table; live."""

from __future__ import annotations

from typing import ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, OptionList, Static
from textual.widgets.option_list import Option
from textual_fastdatatable import DataTable

from mltop.store import FilterError, MltopError, Run, Store
from mltop.tui.text import clean
from mltop.tui.widgets.runs_table import Column, RunsTable

ALL = "__all__"


class RunsLoaded(Message):
    def __init__(self, runs: list[Run], generation: int) -> None:
        super().__init__()
        self.runs = runs
        self.generation = generation


class ExperimentsLoaded(Message):
    def __init__(self, options: list[tuple[str, str]]) -> None:
        super().__init__()
        self.options = options


class FilterFailed(Message):
    def __init__(self, error: FilterError) -> None:
        super().__init__()
        self.error = error


class RunsScreen(Screen):
    AUTO_FOCUS = None  # the runs table takes the focus itself, once it has rows
    HELP_TITLE = "runs"
    BINDINGS: ClassVar[list[Binding]] = [
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

    DEFAULT_CSS = """
    #experiments { width: 30; border-right: solid $primary-darken-2; }
    #filter-error { color: $error; height: auto; display: none; }
    #filter-error.shown { display: block; }
    """

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.experiment_id: str | None = None
        self.filter_string = ""
        self.order_by: list[str] = []
        self.history: list[str] = []
        self.history_index = 0
        self.generation = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield OptionList(id="experiments")
            with Vertical():
                yield Input(
                    placeholder="/ filter: metrics.val_acc > 0.9 and params.lr = '0.01'",
                    id="filter",
                )
                yield Static(id="filter-error", markup=False)
                yield RunsTable(id="runs")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(RunsTable).table.focus()
        self.refresh_data()

    # -- loading -------------------------------------------------------------------------

    def refresh_data(self) -> None:
        self.load_experiments()
        self.load_runs()

    @work(thread=True, exclusive=True, group="experiments")
    def load_experiments(self) -> None:
        counts = self.store.experiment_run_counts()
        options = [(ALL, f"All experiments ({sum(t for t, _r in counts.values())})")]
        for exp in self.store.list_experiments():
            total, running = counts.get(exp.experiment_id, (0, 0))
            live = f", {running} running" if running else ""
            options.append((exp.experiment_id, f"{clean(exp.name)} ({total}{live})"))
        self.post_message(ExperimentsLoaded(options))

    @work(thread=True, exclusive=True, group="runs")
    def load_runs(self) -> None:
        self.generation += 1
        generation = self.generation
        scope = None if self.experiment_id is None else [self.experiment_id]
        try:
            runs = list(
                self.store.search_runs(
                    scope, self.filter_string, self.order_by or None, max_results=50_000
                )
            )
        except FilterError as exc:
            self.post_message(FilterFailed(exc))
            return
        self.post_message(RunsLoaded(runs, generation))

    def has_running_runs(self) -> bool:
        return any(run.info.status == "RUNNING" for run in self.query_one(RunsTable).runs)

    def on_experiments_loaded(self, message: ExperimentsLoaded) -> None:
        listing = self.query_one("#experiments", OptionList)
        highlighted = listing.highlighted
        listing.clear_options()
        for key, label in message.options:
            listing.add_option(Option(label, id=key))
        if highlighted is not None and highlighted < listing.option_count:
            listing.highlighted = highlighted

    def on_runs_loaded(self, message: RunsLoaded) -> None:
        if message.generation != self.generation:
            return  # a newer load is on its way
        self.query_one(RunsTable).show(message.runs, self.app.now())  # type: ignore[attr-defined]

    def on_filter_failed(self, message: FilterFailed) -> None:
        error = self.query_one("#filter-error", Static)
        # No-break spaces: the caret's indentation must survive the widget's wrapping.
        pointer = "\u00a0" * message.error.position + "^"
        error.update(f"{message.error}\n{clean(message.error.text)}\n{pointer}")
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
        previous = self.filter_string
        self.filter_string = text
        try:
            self.store.search_runs(filter_string=text, max_results=1)  # validate now
        except FilterError as exc:
            self.filter_string = previous  # keep showing the previous results
            self.post_message(FilterFailed(exc))
            return
        except MltopError as exc:
            self.notify(str(exc), severity="error")
            return
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
        self.query_one(RunsTable).sorted_by = (column.order_key, descending)
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
        again = current is not None and current[0] == column.order_key
        # The first click sorts the natural way; each further click flips the direction.
        self.sort_by(column, reverse=again and current[1] == natural)

    @on(DataTable.CellSelected)
    def open_selected(self, event: DataTable.CellSelected) -> None:
        """Enter on the table (the table turns the key into a selection)."""
        event.stop()
        self.action_open_run()

    def action_open_run(self) -> None:
        run = self.query_one(RunsTable).current_run()
        if run is not None:
            from mltop.tui.screens.run_detail import RunDetailScreen

            self.app.push_screen(RunDetailScreen(self.store, run.info.run_id))

    def action_move(self, rows: int) -> None:
        table = self.query_one(RunsTable).table
        table.move_cursor(row=max(0, table.cursor_row + rows))

    def action_mark(self) -> None:
        self.query_one(RunsTable).toggle_mark()
