"""The runs table: one row per run, values updated in place when only values change.

Backed by textual-fastdatatable (Arrow), which draws ten thousand rows in a fraction of a
second. Its columns are fixed once built, so a change of columns or of row order (a new
run, a new sort) mounts a fresh table, keeping the cursor on the same run and column;
anything else (a metric moving, a run finishing, a duration ticking) is an `update_cell`.
Every value a user logged is shown literally: markup is off and control characters are
made visible.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from textual.app import ComposeResult
from textual.containers import Vertical
from textual_fastdatatable import ArrowBackend, DataTable

from mltop.store import Run
from mltop.store.entities import LOST
from mltop.tui.text import ago, clean, duration, number

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
    """Shows runs; `show()` decides between updating cells and remounting."""

    DEFAULT_CSS = """
    RunsTable { height: 1fr; }
    RunsTable DataTable { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runs: list[Run] = []
        self.columns: list[Column] = []
        self.marked: set[str] = set()
        self.rebuilds = 0  # how many times a fresh table was mounted (tests watch this)
        self._shown: list[list[object]] = []  # the cells as displayed, to diff against
        self._table: DataTable

    def compose(self) -> ComposeResult:
        self._table = self._new_table([], [])
        yield self._table

    def _new_table(self, columns: list[Column], rows: list[list[object]]) -> DataTable:
        # Every column is a string column (numbers are formatted first), so that a column
        # that starts empty can take a value later; internal names keep duplicates apart.
        labels = [c.label for c in columns] or [" "]
        data = {
            f"c{i}": pa.array([row[i] for row in rows], type=pa.string())
            for i in range(len(labels))
        }
        backend = ArrowBackend(pa.table(data), column_names=labels)
        return DataTable(
            backend=backend,
            cursor_type="cell",
            render_markup=False,
            zebra_stripes=True,
            show_row_labels=False,
            null_rep="",
            max_column_content_width=40,
        )

    @property
    def table(self) -> DataTable:
        """The table being shown (a replaced one may linger in the DOM for a moment)."""
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
        if same_rows and columns == self.columns and self.runs:
            table = self.table
            for y, (old, new) in enumerate(zip(self._shown, rows, strict=True)):
                for x, (a, b) in enumerate(zip(old, new, strict=True)):
                    if a != b:
                        table.update_cell(y, x, b)
            self.runs, self._shown = runs, rows
            return
        keep_run = self.current_run()
        keep_col = self.current_column()
        self.runs, self.columns, self._shown = runs, columns, rows
        old = self.table
        focused = self.app.focused
        take_focus = focused is None or focused is old or not focused.is_attached
        fresh = self._new_table(columns, rows)
        self._table = fresh
        self.rebuilds += 1
        keep_id = None if keep_run is None else keep_run.info.run_id
        row = next((i for i, r in enumerate(runs) if r.info.run_id == keep_id), 0)
        col = columns.index(keep_col) if keep_col in columns else 0

        def restore() -> None:
            # Once the fresh table is mounted and the old one gone: the same run and
            # column under the cursor, and the focus where it was.
            fresh.move_cursor(row=row, column=col)
            if take_focus:
                fresh.focus()

        self.mount(fresh, after=old)
        old.remove()
        self.call_after_refresh(restore)

    def toggle_mark(self) -> None:
        run = self.current_run()
        if run is None:
            return
        self.marked.symmetric_difference_update({run.info.run_id})
        mark = MARK if run.info.run_id in self.marked else ""
        row = self.table.cursor_row
        self._shown[row][0] = mark
        self.table.update_cell(row, 0, mark)
