"""A fast data table whose rows and columns change in place.

textual-fastdatatable draws huge tables quickly because it renders only the rows on screen
from a "backend". Its Arrow backend is immutable at heart: a cell update rewrites the
whole column, and rows can only be appended. The dashboard's table changes all the time
(values move, runs appear at the top, a new metric adds a column), so it gets a backend of
plain Python lists: `replace()` swaps in the new rows and columns at once, the widget stays
mounted, and the caller keeps the cursor on the same run. Everything is text already
(numbers are formatted before they get here); labels are `Text`, never markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from rich.cells import cell_len
from rich.text import Text
from textual_fastdatatable import DataTable
from textual_fastdatatable.backend import DataTableBackend

Cell = str | None


def _widest(values: Sequence[Cell]) -> int:
    """The widest cell of a column, in terminal cells (len() where all is ASCII)."""
    present = [v for v in values if v]
    if not present:
        return 0
    if "".join(present).isascii():
        return max(map(len, present))
    return max(map(cell_len, present))


class RowsBackend(DataTableBackend[list[list[Cell]]]):
    """Rows as lists of strings (or None for an empty cell)."""

    def __init__(
        self,
        data: list[list[Cell]],
        max_rows: int | None = None,
        column_names: Sequence[str] | None = None,
    ) -> None:
        super().__init__(data, max_rows, column_names)
        self.data = data
        self.labels = list(column_names or [])
        self._widths: list[int] | None = None

    @classmethod
    def from_pydict(
        cls,
        data: Mapping[str, Sequence[Any]],
        max_rows: int | None = None,
        column_names: Sequence[str] | None = None,
    ) -> RowsBackend:
        columns = list(data.values())
        rows = [list(values) for values in zip(*columns, strict=True)]
        return cls(rows, max_rows, column_names or list(data))

    def replace(self, labels: Sequence[str], rows: list[list[Cell]]) -> None:
        self.labels = list(labels)
        self.data = rows
        self._widths = None

    @property
    def source_data(self) -> list[list[Cell]]:
        return self.data

    @property
    def source_row_count(self) -> int:
        return len(self.data)

    @property
    def row_count(self) -> int:
        return len(self.data)

    @property
    def columns(self) -> Sequence[str]:
        return self.labels

    @property
    def column_content_widths(self) -> Sequence[int]:
        if self._widths is None:
            self._widths = [_widest(column) for column in zip(*self.data, strict=True)] or [
                0
            ] * len(self.labels)
        return self._widths

    def get_row_at(self, index: int) -> Sequence[Any]:
        return self.data[index]

    def get_column_at(self, index: int) -> Sequence[Any]:
        return [row[index] for row in self.data]

    def get_cell_at(self, row_index: int, column_index: int) -> Any:
        return self.data[row_index][column_index]

    def append_column(self, label: str, default: Any | None = None) -> int:
        self.labels.append(label)
        for row in self.data:
            row.append(default)
        self._widths = None
        return len(self.labels) - 1

    def append_rows(self, records: Iterable[Iterable[Any]]) -> list[int]:
        start = len(self.data)
        self.data.extend(list(record) for record in records)
        self._widths = None
        return list(range(start, len(self.data)))

    def drop_row(self, row_index: int) -> None:
        if not 0 <= row_index < len(self.data):
            raise IndexError(f"no row {row_index} in {len(self.data)}")
        del self.data[row_index]
        self._widths = None

    def update_cell(self, row_index: int, column_index: int, value: Any) -> None:
        self.data[row_index][column_index] = value
        if self._widths is not None and value:
            self._widths[column_index] = max(self._widths[column_index], cell_len(value))

    def sort(self, by: list[tuple[str, Literal["ascending", "descending"]]] | str) -> None:
        raise NotImplementedError("rows arrive sorted by the store's search")


class LiveTable(DataTable):
    """A DataTable over `RowsBackend` with one in-place update for rows and columns."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(backend=RowsBackend([], column_names=[" "]), **kwargs)

    @property
    def rows_backend(self) -> RowsBackend:
        assert isinstance(self.backend, RowsBackend)
        return self.backend

    def replace(self, labels: Sequence[str], rows: list[list[Cell]]) -> None:
        """Show `rows` under `labels`; the widget, its focus and its scroll stay put."""
        backend = self.rows_backend
        if list(labels) != backend.labels:
            # Column labels are Text, so that nothing in them is taken for markup.
            self._column_labels = [Text(label) for label in labels]
            self._column_widths = None
        backend.replace(labels, rows)
        self._ordered_columns = None  # widths and labels are measured again
        self._clear_caches()
        self._update_count += 1  # the key of the table's cached cells: drawn anew
        self._require_update_dimensions = True
        # Re-validating the cursor clamps it to the new shape of the table.
        self.cursor_coordinate = self.cursor_coordinate
        self.refresh(layout=True)
        self.check_idle()

    def set_cells(self, changes: Iterable[tuple[int, int, Cell]]) -> None:
        """Change single cells (a ticking duration, a metric's latest value)."""
        backend = self.rows_backend
        columns = self.ordered_columns
        changed = wider = False
        for row, column, value in changes:
            backend.update_cell(row, column, value)
            changed = True
            if value and cell_len(value) > columns[column].content_width:
                wider = True
        if wider:  # a column must grow to show the new value whole
            self._ordered_columns = None
            self._require_update_dimensions = True
            self.refresh(layout=True)
            self.check_idle()
        if changed:
            self._update_count += 1  # the key of the table's cached cells: drawn anew
            self.refresh()
