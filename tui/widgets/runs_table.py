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

from mltop.store import Run
from mltop.store.entities import LOST
from mltop.tui.text import ago, clean, duration, number
from mltop.tui.widgets.live_table import LiveTable

GLYPHS = {
    "RUNNING": "●",
    "FINISHED": "✔",
    "FAILED": "✖",
    "KILLED": "■",
    "SCHEDULED": "◌",
    LOST: "?",
}
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


def columns_for(runs: list[Run]) -> list[Column]:
    metrics = sorted({k for r in runs for k in r.data.summaries})
    params = sorted({k for r in runs for k in r.data.params})
    both = set(metrics) & set(params)
    cols = [
        Column("attribute", key, key) for key in ("mark", "status", "name", "started", "duration")
    ]
    cols[0] = Column("attribute", "mark", " ")
    cols += [Column("metric", k, clean(f"metrics.{k}" if k in both else k)) for k in metrics]
    cols += [Column("param", k, clean(f"params.{k}" if k in both else k)) for k in params]
    return cols


def cell(run: Run, column: Column, marked: bool, now: int) -> object:
    info = run.info
    if column.kind == "metric":
        summary = run.data.summaries.get(column.key)
        return None if summary is None else number(summary.value)
    if column.kind == "param":
        value = run.data.params.get(column.key)
        return None if value is None else clean(value)
    if column.key == "mark":
        return MARK if marked else ""
    if column.key == "status":
        status = info.display_status
        return f"{GLYPHS.get(status, '·')} {status}"
    if column.key == "name":
        return clean(info.run_name)
    if column.key == "started":
        return ago(info.start_time, now)
    return duration(info.start_time, info.end_time, now)


class RunsTable(Vertical):
    """Shows runs; `show()` changes the table in place, keeping the cursor on its run."""

    DEFAULT_CSS = """
    RunsTable { height: 1fr; }
    RunsTable LiveTable { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runs: list[Run] = []
        self.columns: list[Column] = []
        self.marked: set[str] = set()
        self.sorted_by: tuple[str, bool] | None = None  # (order key, descending), shown ▲/▼
        self.reshapes = 0  # how many updates changed rows or columns (tests watch this)
        self._shown: list[list[str | None]] = []  # the cells as displayed, to diff against
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

    def current_run(self) -> Run | None:
        row = self.table.cursor_row
        return self.runs[row] if 0 <= row < len(self.runs) else None

    def current_column(self) -> Column | None:
        col = self.table.cursor_column
        return self.columns[col] if 0 <= col < len(self.columns) else None

    def show(self, runs: list[Run], now: int) -> None:
        columns = columns_for(runs)
        rows = [[cell(r, c, r.info.run_id in self.marked, now) for c in columns] for r in runs]
        same_rows = [r.info.run_id for r in runs] == [r.info.run_id for r in self.runs]
        table = self.table
        labels = [self._label(c) for c in columns]
        if same_rows and columns == self.columns and labels == table.rows_backend.labels:
            table.set_cells(
                (y, x, b)
                for y, (old, new) in enumerate(zip(self._shown, rows, strict=True))
                for x, (a, b) in enumerate(zip(old, new, strict=True))
                if a != b
            )
            self.runs, self._shown = runs, rows
            return
        # Rows or columns changed (a new run, a new metric, another sort or filter): the
        # table takes the new shape in place; the cursor stays on its run and column.
        keep_run = self.current_run()
        keep_col = self.current_column()
        self.runs, self.columns, self._shown = runs, columns, rows
        self.reshapes += 1
        table.replace(labels, rows)
        keep_id = None if keep_run is None else keep_run.info.run_id
        row = next((i for i, r in enumerate(runs) if r.info.run_id == keep_id), None)
        if row is None:  # the run left (filtered out, deleted): stay at the same place
            row = min(table.cursor_row, max(0, len(runs) - 1))
        col = columns.index(keep_col) if keep_col in columns else 0
        table.cursor_coordinate = Coordinate(row, col)
        # Scrolled only once the new dimensions are known, and only as far as keeps the
        # cursor in view: a run appearing above does not move what the user looks at.
        table.call_after_refresh(table.move_cursor)

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
