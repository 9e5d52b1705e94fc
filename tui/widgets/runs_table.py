"""The runs table: one row per run, whatever the number of runs, always updated in place.

The view (an experiment, a filter, a sort) is a list of run keys in the store's order,
read once (a million runs: 8 MB, about a second, in a worker) and again only when live
changes may move rows. The table holds the runs of the window on screen plus a margin,
formatted as they arrive, and asks for others as the user scrolls (`Grid.RowsWanted`);
a live change to a run on screen re-reads that run and redraws its line. Every value a
user logged is shown literally: control characters are made visible, nothing is markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from textual.app import ComposeResult
from textual.containers import Vertical

from mltop.store import RunRow
from mltop.tui.alerts import (
    LIVE_KINDS,
    NON_FINITE,
    Alert,
    gpu_now,
    is_utilisation,
    row_alerts,
    watched,
)
from mltop.tui.columns import (
    ATTRIBUTES,
    EXPERIMENT,
    GPU,
    Choice,
    Column,
    arrange,
    attributes,
    count_keys,
    data_columns,
)
from mltop.tui.present import STATUS_STYLE, status_label
from mltop.tui.text import ago, clean, duration, ended, number
from mltop.tui.widgets.grid import Grid

MARK = "•"
ALERT = "⚠"  # in the mark column: the run has alerts (its detail says which)
__all__ = ["ATTRIBUTES", "EXPERIMENT", "Column", "RunsTable"]
MARGIN = 2  # screens of rows kept (and read) above and below the one shown


AGO_EVERY_TICKS = 60  # finished runs' "started N ago", past their first minute: each minute
TIMED = ("started", "duration")  # the columns that change with the clock alone


def column_cells(
    column: Column,
    runs: list[RunRow],
    marked: set[str],
    now: int,
    names: dict[str, str] | None = None,
    alerted: Mapping[str, list[Alert]] | None = None,
) -> list[str]:
    """One column's cells for `runs`, formatted for display (`names`: experiment id ->
    its name, shown clean; `alerted`: run id -> its alerts, flagged in the mark column)."""
    names = names or {}
    alerted = alerted or {}
    key = column.key
    if column.kind == "metric":
        if column.stat:
            return [best(r, key, column.stat) for r in runs]
        return ["" if (m := r.metrics.get(key)) is None else number(m) for r in runs]
    if column.kind == "param":
        return ["" if (p := r.params.get(key)) is None else clean(p) for r in runs]
    if key == "mark":
        return [
            (MARK if r.info.run_id in marked else "") + (ALERT if r.info.run_id in alerted else "")
            for r in runs
        ]
    if key == "gpu":
        return [gpu_now(r, now) for r in runs]
    if key == "name":
        return [clean(r.info.run_name) for r in runs]
    if key == "experiment":
        return [names.get(r.info.experiment_id, r.info.experiment_id) for r in runs]
    if key == "status":
        return [status_label(r.info.display_status) for r in runs]
    if key == "started":
        return [ago(r.info.start_time, now) for r in runs]
    return [duration(r.info.start_time, ended(r.info), now) for r in runs]


def best(run: RunRow, key: str, stat: str) -> str:
    """A metric's min or max so far, with the step that first reached it: `0.031 @450`."""
    found = None if run.extremes is None else run.extremes.get(key)
    if found is None:
        return ""
    value, step = (found.min, found.min_step) if stat == "min" else (found.max, found.max_step)
    return number(value) if step is None else f"{number(value)} @{step}"


def sort_value(run: RunRow, column: Column) -> object:
    """What the store sorts `run` by in `column` (NaN made comparable)."""
    if column.kind == "metric":
        if column.stat:
            found = None if run.extremes is None else run.extremes.get(column.key)
            return None if found is None else repr(found.min if column.stat == "min" else found.max)
        value = run.metrics.get(column.key)
        return None if value is None else repr(value)
    if column.kind == "param":
        return run.params.get(column.key)
    if column.key == "duration":  # what makes it change other than the clock
        return (run.info.start_time, ended(run.info), run.info.status)
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
        self.all_experiments = False  # a view of every experiment: its column offered...
        self.several = False  # ...and shown by default when several experiments have runs
        self.choice: Choice | None = None  # the user's columns for this view (C)
        # Metric and param keys of the view: in how many of its first runs (new keys found
        # as one scrolls: 0), and how many runs that was. They order the columns.
        self._metric_keys: dict[str, int] = {}
        self._param_keys: dict[str, int] = {}
        self._counted = 0
        self._rows: dict[int, RunRow] = {}  # position -> run (the window on screen)
        self._cells: dict[int, tuple[str, ...]] = {}  # position -> its cells as shown
        self._where: dict[str, int] = {}  # run id -> position, for the rows held
        self._ticks = 0
        self._grid = Grid(self)
        # Alerts: those the live rules found for running runs (stalled, idle GPUs), set by
        # the screen, and every alert of the rows held (theirs and those), by run id.
        self.live_alerts: dict[str, list[Alert]] = {}
        self.alerted: dict[str, list[Alert]] = {}

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
        if not 0 <= column < len(self.columns):
            return ""
        key = self.columns[column].key
        if key == "status":
            return STATUS_COLOURS.get(text, "")
        if key == "mark" and ALERT in text and (run := self._rows.get(index)) is not None:
            found = self.alerted.get(run.info.run_id, ())
            return "bold red" if any(a.kind == NON_FINITE for a in found) else "bold yellow"
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
        self._metric_keys, self._param_keys, self._counted = count_keys(first)
        self._set_columns(self.arranged(), keep_column)
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
        self._rows, self._cells, self._where, self.alerted = {}, {}, {}, {}

    def _drop(self, position: int) -> None:
        run = self._rows.pop(position)
        self._cells.pop(position, None)
        if self._where.get(run.info.run_id) == position:
            del self._where[run.info.run_id]
            self.alerted.pop(run.info.run_id, None)

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
        for run in runs:
            found = self.alerts_of(run, now)
            if found:
                self.alerted[run.info.run_id] = found
            else:
                self.alerted.pop(run.info.run_id, None)
        names = self.experiment_names
        columns = [
            column_cells(c, runs, self.marked, now, names, self.alerted) for c in self.columns
        ]
        return list(zip(*columns, strict=True))

    def alerts_of(self, run: RunRow, now: int) -> list[Alert]:
        """The run's alerts: its metrics' (from the row) and, while it runs, the live
        rules' last verdict."""
        found = row_alerts(run)
        if watched(run.info, now):
            found += self.live_alerts.get(run.info.run_id, [])
        return found

    def set_live_alerts(self, live: dict[str, list[Alert]], now: int) -> None:
        """The live rules' verdict on the running runs: the rows held whose alerts
        changed are drawn again."""
        live = {
            run_id: kept
            for run_id, found in live.items()
            if (kept := [a for a in found if a.kind in LIVE_KINDS])
        }
        if live == self.live_alerts:
            return
        changed = set(live) | set(self.live_alerts)
        self.live_alerts = live
        due = [p for p, run in self._rows.items() if run.info.run_id in changed]
        if due:
            self._replace(due, [self._rows[p] for p in due], now)

    def offered(self) -> tuple[list[Column], list[Column]]:
        """Every column this view can show: those shown by default, in default order, and
        those offered besides (each metric's min and max)."""
        default, extra = data_columns(self._metric_keys, self._param_keys, self._counted)
        if any(is_utilisation(k) for k in self._metric_keys):
            default = [GPU, *default]
        if self.all_experiments and not self.several:
            return attributes(False) + default, [EXPERIMENT, *extra]
        return attributes(self.all_experiments) + default, extra

    def arranged(self) -> list[Column]:
        """The columns to show: the user's choice for this view, else the defaults."""
        return arrange(*self.offered(), self.choice)

    def _set_columns(self, columns: list[Column], keep: Column | None) -> None:
        self.columns = columns
        grid = self._grid
        grid.set_columns([self._label(c) for c in columns])
        # The run's name (and the columns before it, when they are few) stays in sight as
        # the table scrolls sideways to the metrics.
        leading = [c.key if c.kind == "attribute" else "" for c in columns[:4]]
        grid.fixed_columns = leading.index("name") + 1 if "name" in leading else 0
        # The column under the cursor stays; at first, the run's name (or the first).
        if keep not in columns:
            keep = ATTRIBUTES[2] if ATTRIBUTES[2] in columns else columns[min(1, len(columns) - 1)]
        grid.cursor_column = columns.index(keep)

    def _rearrange(self, *, anyway: bool = False) -> None:
        """The columns again (keys found, a choice made): every held row formatted again
        (`anyway`: even if the columns are the same)."""
        columns = self.arranged()
        if columns == self.columns and not anyway:
            return
        self._set_columns(columns, self.current_column())
        positions = sorted(self._rows)
        made = self._format([self._rows[p] for p in positions], self._now)
        self._cells.update(zip(positions, made, strict=True))
        self._grid.fit_rows(made)
        self._grid.refresh()

    def _grow_columns(self, runs: Iterable[RunRow]) -> None:
        """Runs read as one scrolls may bring keys the first ones lacked: new columns after
        the others (counted 0: they are on none of the first runs)."""
        grown = False
        for run in runs:
            for keys, found in ((self._metric_keys, run.metrics), (self._param_keys, run.params)):
                for key in found:
                    if key not in keys:
                        keys[key] = 0
                        grown = True
        if grown:
            self._rearrange()

    def set_experiments(self, names: dict[str, str], all_experiments: bool, several: bool) -> None:
        """The experiments' names, whether the view is of every experiment, and whether
        several have runs (an experiment column then, after the run's name, unless the
        user chose otherwise): held rows are drawn again."""
        if (names, all_experiments, several) == (
            self.experiment_names,
            self.all_experiments,
            self.several,
        ):
            return
        self.experiment_names, self.all_experiments, self.several = names, all_experiments, several
        self._rearrange(anyway=True)  # names may have changed: the cells are made again

    def set_choice(self, choice: Choice | None) -> None:
        """The user's columns for this view (None: the defaults)."""
        self.choice = choice
        self._rearrange()

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
        known = (self._metric_keys.keys(), self._param_keys.keys())
        held = [run for run in runs if run.info.run_id in where]
        for run in held:
            position = where[run.info.run_id]
            if not known[0] >= run.metrics.keys() or not known[1] >= run.params.keys():
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
