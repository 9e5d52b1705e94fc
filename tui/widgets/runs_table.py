"""The runs table: one row per run, whatever the number of runs, always updated in place.

The view (an experiment, a filter, a sort) is a list of run keys in the store's order,
read once (a million runs: 8 MB, about a second, in a worker) and again only when live
changes may move rows. The table holds the runs of the window on screen plus a margin,
formatted as they arrive, and asks for others as the user scrolls (`Grid.RowsWanted`);
a live change to a run on screen re-reads that run and redraws its line. Every value a
user logged is shown literally: control characters are made visible, nothing is markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Vertical

from mltop.store import RunInfo, RunRow
from mltop.tui.present import STATUS_STYLE, status_label
from mltop.tui.text import ago, clean, duration, number
from mltop.tui.widgets.grid import Grid

MARK = "•"
MARGIN = 2  # screens of rows kept (and read) above and below the one shown


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


ATTRIBUTES = [Column("attribute", "mark", " ")] + [
    Column("attribute", key, key) for key in ("status", "name", "started", "duration")
]


EXPERIMENT = Column("attribute", "experiment", "experiment")


def columns_for(runs: Iterable[RunRow], *, experiments: bool = False) -> list[Column]:
    """The attribute columns (with `experiments`, the experiment's name after the run's),
    then a column per metric and per param the runs have."""
    runs = list(runs)
    metrics = sorted({k for r in runs for k in r.metrics})
    params = sorted({k for r in runs for k in r.params})
    both = set(metrics) & set(params)
    cols = list(ATTRIBUTES)
    if experiments:
        cols.insert(3, EXPERIMENT)
    cols += [Column("metric", k, clean(f"metrics.{k}" if k in both else k)) for k in metrics]
    cols += [Column("param", k, clean(f"params.{k}" if k in both else k)) for k in params]
    return cols


AGO_EVERY_TICKS = 60  # finished runs' "started N ago", past their first minute: each minute
TIMED = ("started", "duration")  # the columns that change with the clock alone


def column_cells(
    column: Column,
    runs: list[RunRow],
    marked: set[str],
    now: int,
    names: dict[str, str] | None = None,
) -> list[str]:
    """One column's cells for `runs`, formatted for display (`names`: experiment id ->
    its name, shown clean)."""
    names = names or {}
    key = column.key
    if column.kind == "metric":
        return ["" if (m := r.metrics.get(key)) is None else number(m) for r in runs]
    if column.kind == "param":
        return ["" if (p := r.params.get(key)) is None else clean(p) for r in runs]
    if key == "mark":
        return [MARK if r.info.run_id in marked else "" for r in runs]
    if key == "name":
        return [clean(r.info.run_name) for r in runs]
    if key == "experiment":
        return [names.get(r.info.experiment_id, r.info.experiment_id) for r in runs]
    if key == "status":
        return [status_label(r.info.display_status) for r in runs]
    if key == "started":
        return [ago(r.info.start_time, now) for r in runs]
    return [duration(r.info.start_time, _ended(r.info), now) for r in runs]


def _ended(info: RunInfo) -> int | None:
    """When the run ended: its end time; for a LOST run, its last heartbeat (its process
    is gone: the clock no longer adds to its duration)."""
    return info.heartbeat_time if info.lost and info.end_time is None else info.end_time


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


STATUS_COLOURS = {status_label(s): style for s, (_glyph, style) in STATUS_STYLE.items()}


class RunsTable(Vertical):
    """The runs of a view, by position; `open_view` / `set_order` / `put_rows` fill it."""

    DEFAULT_CSS = """
    RunsTable { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.total = 0  # runs in the view (exact)
        self.order: Sequence[int] | None = None  # their keys, in order, once read
        self.columns: list[Column] = []
        self.marked: set[str] = set()
        self.sorted_by: tuple[str, bool] | None = None  # (order key, descending), shown ▲/▼
        self.sort_column: Column | None = None
        self.experiment_names: dict[str, str] = {}  # shown in an experiment column
        self.all_experiments = False  # a view of every experiment: its column shown
        self._rows: dict[int, RunRow] = {}  # position -> run (the window on screen)
        self._cells: dict[int, tuple[str, ...]] = {}  # position -> its cells as shown
        self._where: dict[str, int] = {}  # run id -> position, for the rows held
        self._ticks = 0
        self._grid = Grid(self)

    def compose(self) -> ComposeResult:
        yield self._grid

    @property
    def table(self) -> Grid:
        return self._grid

    # -- GridSource ---------------------------------------------------------------------

    def row_count(self) -> int:
        return self.total

    def cells(self, index: int) -> tuple[str, ...] | None:
        return self._cells.get(index)

    def is_marked(self, index: int) -> bool:
        run = self._rows.get(index)
        return run is not None and run.info.run_id in self.marked

    def cell_style(self, index: int, column: int, text: str) -> str:
        if column == 1:
            return STATUS_COLOURS.get(text, "")
        return ""

    # -- what the screen asks --------------------------------------------------------

    @property
    def runs(self) -> list[RunRow]:
        """The runs held (those on screen and near it), in order."""
        return [self._rows[i] for i in sorted(self._rows)]

    def run_at(self, position: int) -> RunRow | None:
        return self._rows.get(position)

    def position_of(self, run_id: str) -> int | None:
        return self._where.get(run_id)

    def current_run(self) -> RunRow | None:
        return self._rows.get(self._grid.cursor_row)

    def current_column(self) -> Column | None:
        col = self._grid.cursor_column
        return self.columns[col] if 0 <= col < len(self.columns) else None

    def window(self) -> range:
        """The positions worth holding: the screen and MARGIN screens either side."""
        grid = self._grid
        height = grid.visible_rows
        top = grid.scroll_offset.y
        return range(max(0, top - MARGIN * height), min(self.total, top + (MARGIN + 1) * height))

    # -- filling -------------------------------------------------------------------------

    def open_view(
        self, total: int, first: list[RunRow], now: int, *, top: bool = False, last: bool = False
    ) -> None:
        """A new view (experiment, filter or sort): its count and its first runs; the
        cursor stays on its run if that is among them, else at the same place (`top`: at
        the first run, the view at the top: a new sort shows its best first; `last`: at
        the last run, for a G pressed while the view was read)."""
        keep = None if top or last else self.current_run()
        keep_column = self.current_column()
        self.total, self.order = total, None
        self._drop_all()
        self._set_columns(columns_for(first, experiments=self.all_experiments), keep_column)
        self._store(range(len(first)), first, now)
        grid = self._grid
        row = self._where.get(keep.info.run_id) if keep is not None else None
        grid.rows_changed()
        if last:
            grid.move_to(row=total - 1)
            return
        if top:
            grid.scroll_to(y=0, animate=False, immediate=True)
            grid.move_to(row=0)
            return
        grid.move_to(row=grid.cursor_row if row is None else row)

    def set_order(
        self,
        order: Sequence[int],
        start: int,
        runs: list[RunRow | None],
        cursor: int | None,
        top: int | None,
        now: int,
    ) -> None:
        """The view's order (all its keys), with the runs at `start`.. around the screen;
        the cursor moves to `cursor` (its run's new place) and the view to `top`."""
        self.order, self.total = order, len(order)
        self._drop_all()
        present = [(start + i, run) for i, run in enumerate(runs) if run is not None]
        self._grow_columns(run for _i, run in present)
        self._store([i for i, _r in present], [r for _i, r in present], now)
        grid = self._grid
        grid.rows_changed()
        if top is not None:
            grid.scroll_to(y=top, animate=False, immediate=True)
        grid.move_to(row=grid.cursor_row if cursor is None else cursor)

    def put_rows(self, start: int, runs: list[RunRow | None], now: int) -> None:
        """Runs read for positions `start`..: held, and drawn if on screen; those far from
        the screen are let go."""
        present = [(start + i, run) for i, run in enumerate(runs) if run is not None]
        self._grow_columns(run for _i, run in present)
        self._store([i for i, _r in present], [r for _i, r in present], now)
        keep = self.window()
        for position in [p for p in self._rows if p not in keep]:
            self._drop(position)
        self._grid.rows_arrived()

    def missing(self, start: int, stop: int) -> tuple[int, int]:
        """The span of positions to read for rows [start, stop) wanted: the window
        around them, less what is held at its ends."""
        margin = MARGIN * self._grid.visible_rows
        # Never more than the rows wanted and a margin either side, whatever the screen
        # said before (a jump to the end must not read everything in between).
        lo, hi = max(0, start - margin), min(self.total, stop + margin)
        while lo < hi and lo in self._cells:
            lo += 1
        while hi > lo and hi - 1 in self._cells:
            hi -= 1
        return lo, hi

    def _drop_all(self) -> None:
        self._rows, self._cells, self._where = {}, {}, {}

    def _drop(self, position: int) -> None:
        run = self._rows.pop(position)
        self._cells.pop(position, None)
        if self._where.get(run.info.run_id) == position:
            del self._where[run.info.run_id]

    def _store(self, positions: Sequence[int], runs: Sequence[RunRow], now: int) -> None:
        runs = [
            run if run.info.at(now) is run.info else run._replace(info=run.info.at(now))
            for run in runs
        ]
        made = self._format(list(runs), now)
        for position, run, cells in zip(positions, runs, made, strict=True):
            old = self._rows.get(position)
            if old is not None and self._where.get(old.info.run_id) == position:
                del self._where[old.info.run_id]
            self._rows[position] = run
            self._cells[position] = cells
            self._where[run.info.run_id] = position
        self._grid.fit_rows(made)

    def _format(self, runs: list[RunRow], now: int) -> list[tuple[str, ...]]:
        if not runs:
            return []
        names = self.experiment_names
        columns = [column_cells(c, runs, self.marked, now, names) for c in self.columns]
        return list(zip(*columns, strict=True))

    def _set_columns(self, columns: list[Column], keep: Column | None) -> None:
        self.columns = columns
        grid = self._grid
        grid.set_columns([self._label(c) for c in columns])
        # The column under the cursor stays; at first, the run's name.
        grid.cursor_column = columns.index(keep if keep in columns else ATTRIBUTES[2])

    def _grow_columns(self, runs: Iterable[RunRow]) -> None:
        """Runs read as one scrolls may bring keys the first ones lacked: new columns at
        the end of their kind, every held row formatted again."""
        have = set(self.columns)
        wanted = columns_for(runs, experiments=self.all_experiments)
        if all(c in have for c in wanted):
            return
        metrics = {c for c in self.columns + wanted if c.kind == "metric"}
        params = {c for c in self.columns + wanted if c.kind == "param"}
        grown = columns_for([], experiments=self.all_experiments)
        grown += sorted(metrics, key=lambda c: c.key) + sorted(params, key=lambda c: c.key)
        self._set_columns(grown, self.current_column())
        positions = sorted(self._rows)
        made = self._format([self._rows[p] for p in positions], self._now)
        self._cells.update(zip(positions, made, strict=True))

    def set_experiments(self, names: dict[str, str], all_experiments: bool) -> None:
        """The experiments' names, and whether the view spans several (an experiment
        column then, after the run's name): held rows are drawn again."""
        if names == self.experiment_names and all_experiments == self.all_experiments:
            return
        self.experiment_names, self.all_experiments = names, all_experiments
        data = [c for c in self.columns if c.kind != "attribute"]
        attributes = columns_for([], experiments=all_experiments)
        self._set_columns(attributes + data, self.current_column())
        positions = sorted(self._rows)
        made = self._format([self._rows[p] for p in positions], self._now)
        self._cells.update(zip(positions, made, strict=True))
        self._grid.fit_rows(made)
        self._grid.refresh()

    @property
    def _now(self) -> int:
        return self.app.now()  # type: ignore[attr-defined]

    # -- live ----------------------------------------------------------------------------

    def patch(self, asked: set[str], runs: list[RunRow], now: int) -> bool:
        """Fresh copies of the runs in `asked` that still match the view: update the rows
        held in place, if they can be (False: rows would come, go or move: the order must
        be read again; nothing was done). Runs not held are not looked at here."""
        where = self._where
        matched = {run.info.run_id for run in runs}
        if any(run_id in where for run_id in asked - matched):
            return False  # a run left the view
        known = (
            {c.key for c in self.columns if c.kind == "metric"},
            {c.key for c in self.columns if c.kind == "param"},
        )
        held = [run for run in runs if run.info.run_id in where]
        for run in held:
            position = where[run.info.run_id]
            if not known[0].issuperset(run.metrics) or not known[1].issuperset(run.params):
                return False  # a new column
            column = self.sort_column
            if column is not None and sort_value(run, column) != sort_value(
                self._rows[position], column
            ):
                return False  # it may move
        self._replace([where[run.info.run_id] for run in held], held, now)
        return True

    def _replace(self, positions: list[int], runs: list[RunRow], now: int) -> None:
        """New copies of held runs: only the lines whose cells changed are drawn again."""
        before = [self._cells.get(p) for p in positions]
        self._store(positions, runs, now)
        changed = [p for p, old in zip(positions, before, strict=True) if self._cells[p] != old]
        self._grid.refresh_rows(changed)

    def tick(self, now: int) -> None:
        """Running runs on screen: durations, how long ago they started, heartbeats gone
        stale. The others: how long ago they started, every tick while that is counted in
        seconds, each minute otherwise (it shows minutes, hours or days)."""
        self._ticks += 1
        every = self._ticks % AGO_EVERY_TICKS == 0
        on_screen = self._grid.visible_range()
        due = []
        for position in on_screen:
            run = self._rows.get(position)
            if run is None:
                continue
            start = run.info.start_time
            if (
                (run.info.status == "RUNNING" and not run.info.lost)
                or (start is not None and (every or now - start < 61_000))
                or run.info.at(now).lost != run.info.lost
            ):
                due.append(position)
        if due:
            self._replace(due, [self._rows[p] for p in due], now)

    def _label(self, column: Column) -> str:
        if self.sorted_by is None or column.order_key != self.sorted_by[0]:
            return column.label
        return f"{column.label} {'▼' if self.sorted_by[1] else '▲'}"

    def relabel(self) -> None:
        """The sort changed: arrows on the headers."""
        self._grid.set_labels([self._label(c) for c in self.columns])

    def toggle_mark(self) -> None:
        run = self.current_run()
        if run is None:
            return
        self.marked.symmetric_difference_update({run.info.run_id})
        position = self._grid.cursor_row
        self._replace([position], [run], self._now)
