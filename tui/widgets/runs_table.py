"""The runs table: one row per run, always updated in place.

A `LiveTable` (textual-fastdatatable, which draws only the rows on screen, over plain
lists) that is never remounted: when only values change (a metric moving, a run finishing,
a duration ticking) just those cells are set; when rows or columns change (a new run, a new
metric, another sort) the table takes its new shape in place and the cursor stays on the
same run and column. Every value a user logged is shown literally: markup is off and
control characters are made visible.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.coordinate import Coordinate

from mltop.store import RunRow
from mltop.tui.present import status_label
from mltop.tui.text import ago, clean, duration, number
from mltop.tui.widgets.live_table import LiveTable

FIXED = ["", "status", "name", "started", "duration"]
MARK = "•"


@dataclass(frozen=True)
class Column:
    kind: str  # attribute, metric, param
    key: str  # for attributes: status, name, started, duration, mark
    label: str

    @property
    def order_key(self) -> str | None:
        """The search order_by identifier sorting by this column, if any."""
        if self.kind == "metric":
            return f"metrics.`{self.key}`"
        if self.kind == "param":
            return f"params.`{self.key}`"
        return {
            "status": "attributes.status",
            "name": "attributes.run_name",
            "started": "start_time",
        }.get(self.key)


def columns_for(runs: list[RunRow]) -> list[Column]:
    metrics = sorted({k for r in runs for k in r.metrics})
    params = sorted({k for r in runs for k in r.params})
    both = set(metrics) & set(params)
    cols = [
        Column("attribute", key, key) for key in ("mark", "status", "name", "started", "duration")
    ]
    cols[0] = Column("attribute", "mark", " ")
    cols += [Column("metric", k, clean(f"metrics.{k}" if k in both else k)) for k in metrics]
    cols += [Column("param", k, clean(f"params.{k}" if k in both else k)) for k in params]
    return cols


AGO_EVERY_TICKS = 60  # finished runs' "started N ago", past their first minute: each minute
TIMED = ("started", "duration")  # the columns that change with the clock alone


def column_cells(column: Column, runs: list[RunRow], marked: set[str], now: int) -> list:
    """One column's cells for `runs`, formatted for display (a column at a time: ten
    thousand rows format in a few tens of milliseconds)."""
    key = column.key
    if column.kind == "metric":
        return [None if (m := r.metrics.get(key)) is None else number(m) for r in runs]
    if column.kind == "param":
        return [None if (p := r.params.get(key)) is None else clean(p) for r in runs]
    if key == "mark":
        return [MARK if r.info.run_id in marked else "" for r in runs]
    if key == "name":
        return [clean(r.info.run_name) for r in runs]
    if key == "status":
        return [status_label(r.info.display_status) for r in runs]
    if key == "started":
        return [ago(r.info.start_time, now) for r in runs]
    return [duration(r.info.start_time, r.info.end_time, now) for r in runs]


def sort_value(run: RunRow, column: Column) -> object:
    """What the store sorts `run` by in `column` (NaN made comparable)."""
    if column.kind == "metric":
        value = run.metrics.get(column.key)
        return None if value is None else repr(value)
    if column.kind == "param":
        return run.params.get(column.key)
    return {
        "status": run.info.status,
        "name": run.info.run_name,
        "started": run.info.start_time,
    }.get(column.key)


class RunsTable(Vertical):
    """Shows runs; `show()` changes the table in place, keeping the cursor on its run."""

    DEFAULT_CSS = """
    RunsTable { height: 1fr; }
    RunsTable LiveTable { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runs: list[RunRow] = []
        self.columns: list[Column] = []
        self.marked: set[str] = set()
        self.sorted_by: tuple[str, bool] | None = None  # (order key, descending), shown ▲/▼
        self.sort_column: Column | None = None
        self._shown: list[list[str | None]] = []  # the cells as displayed, to diff against
        self._ticks = 0
        self._index: dict[str, int] = {}  # run id -> row
        # Rows already formatted, per run id, with what they were made from: formatting
        # ten thousand rows again for every live change would cost a tenth of a second.
        self._made: dict[str, tuple[object, list[str | None]]] = {}
        self._made_for: list[Column] = []
        self._table = LiveTable(
            cursor_type="cell",
            render_markup=False,
            zebra_stripes=True,
            show_row_labels=False,
            null_rep="",
            max_column_content_width=40,
        )

    def compose(self) -> ComposeResult:
        yield self._table

    @property
    def table(self) -> LiveTable:
        return self._table

    def current_run(self) -> RunRow | None:
        row = self.table.cursor_row
        return self.runs[row] if 0 <= row < len(self.runs) else None

    def current_column(self) -> Column | None:
        col = self.table.cursor_column
        return self.columns[col] if 0 <= col < len(self.columns) else None

    def _rows(self, runs: list[RunRow], columns: list[Column], now: int) -> list[list[str | None]]:
        if columns != self._made_for:
            self._made, self._made_for = {}, columns
        timed = [i for i, c in enumerate(columns) if c.kind == "attribute" and c.key in TIMED]
        made, marked = self._made, self.marked
        sources = [(run.info, run.params, run.metrics, run.info.run_id in marked) for run in runs]
        missing = [
            i
            for i, (run, source) in enumerate(zip(runs, sources, strict=True))
            if (hit := made.get(run.info.run_id)) is None or hit[0] != source
        ]
        if missing:
            fresh = [runs[i] for i in missing]
            cells = [column_cells(c, fresh, marked, now) for c in columns]
            for i, row in zip(missing, zip(*cells, strict=True), strict=True):
                made[runs[i].info.run_id] = (sources[i], list(row))
        rows = [list(made[run.info.run_id][1]) for run in runs]
        if timed and len(missing) < len(runs):  # rows made just now are up to date
            fresh_rows = set(missing)
            stale = [i for i in range(len(runs)) if i not in fresh_rows]
            stale_runs = [runs[i] for i in stale]
            for x in timed:
                values = column_cells(columns[x], stale_runs, marked, now)
                for i, value in zip(stale, values, strict=True):
                    rows[i][x] = value
        return rows

    def show(self, runs: list[RunRow], now: int) -> None:
        columns = columns_for(runs)
        rows = self._rows(runs, columns, now)
        same_rows = [r.info.run_id for r in runs] == [r.info.run_id for r in self.runs]
        table = self.table
        labels = [self._label(c) for c in columns]
        if same_rows and columns == self.columns and labels == table.rows_backend.labels:
            self._set_rows(range(len(rows)), runs, rows)
            return
        # Rows or columns changed (a new run, a new metric, another sort or filter): the
        # table takes the new shape in place; the cursor stays on its run and column.
        keep_run = self.current_run()
        keep_col = self.current_column()
        self.runs, self.columns, self._shown = runs, columns, rows
        self._index = {r.info.run_id: i for i, r in enumerate(runs)}
        table.replace(labels, rows)
        keep_id = None if keep_run is None else keep_run.info.run_id
        row = self._index.get(keep_id) if keep_id is not None else None
        if row is None:  # the run left (filtered out, deleted): stay at the same place
            row = min(table.cursor_row, max(0, len(runs) - 1))
        col = columns.index(keep_col) if keep_col in columns else 0
        table.cursor_coordinate = Coordinate(row, col)
        # Scrolled only once the new dimensions are known, and only as far as keeps the
        # cursor in view: a run appearing above does not move what the user looks at.
        table.call_after_refresh(table.move_cursor)

    def _set_rows(self, positions, runs: list[RunRow], rows: list[list[str | None]]) -> None:
        """Put `rows` (for `runs`) at `positions`, setting only the cells that changed."""
        changes = []
        for y, run, new in zip(positions, runs, rows, strict=True):
            old = self._shown[y]
            changes += [(y, x, b) for x, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
            self.runs[y] = run
            self._shown[y] = new
        self.table.set_cells(changes)

    def patch(self, asked: set[str], runs: list[RunRow], now: int) -> bool:
        """Fresh copies of the runs in `asked` that still match the view: update their rows
        in place, if they can be (False: rows would come, go or move; nothing was done)."""
        index = self._index
        matched = {run.info.run_id for run in runs}
        if any(run_id in index for run_id in asked - matched):
            return False  # a run left the view
        known = (
            {c.key for c in self.columns if c.kind == "metric"},
            {c.key for c in self.columns if c.kind == "param"},
        )
        for run in runs:
            position = index.get(run.info.run_id)
            if position is None:
                return False  # a new run
            if not known[0].issuperset(run.metrics) or not known[1].issuperset(run.params):
                return False  # a new column
            column = self.sort_column
            if column is not None and sort_value(run, column) != sort_value(
                self.runs[position], column
            ):
                return False  # it may move
        self._set_rows(
            [index[run.info.run_id] for run in runs], runs, self._rows(runs, self.columns, now)
        )
        return True

    def tick(self, now: int) -> None:
        """Running runs: durations, how long ago they started, heartbeats gone stale. The
        others: how long ago they started, every tick while that is counted in seconds,
        each minute otherwise (it shows minutes, hours or days)."""
        self._ticks += 1
        positions = [i for i, run in enumerate(self.runs) if run.info.status == "RUNNING"]
        if positions:
            runs = [self.runs[i] for i in positions]
            runs = [
                run if run.info.at(now) is run.info else run._replace(info=run.info.at(now))
                for run in runs
            ]
            self._set_rows(positions, runs, self._rows(runs, self.columns, now))
        started = next((x for x, c in enumerate(self.columns) if c.key == "started"), None)
        if started is None:
            return
        every = self._ticks % AGO_EVERY_TICKS == 0
        changes = []
        for y, run in enumerate(self.runs):
            start = run.info.start_time
            if run.info.status == "RUNNING" or start is None:
                continue
            if every or now - start < 61_000:
                text = ago(start, now)
                if text != self._shown[y][started]:
                    self._shown[y][started] = text
                    changes.append((y, started, text))
        if changes:
            self.table.set_cells(changes)

    def _label(self, column: Column) -> str:
        if self.sorted_by is None or column.order_key != self.sorted_by[0]:
            return column.label
        return f"{column.label} {'▼' if self.sorted_by[1] else '▲'}"

    def toggle_mark(self) -> None:
        run = self.current_run()
        if run is None:
            return
        self.marked.symmetric_difference_update({run.info.run_id})
        mark = MARK if run.info.run_id in self.marked else ""
        row = self.table.cursor_row
        self._shown[row][0] = mark
        self.table.set_cells([(row, 0, mark)])
