"""The small lists of the run and compare screens, with the keys of every list: j k g G,
ctrl+d and ctrl+u (half a page down / up), as in less, vim and k9s."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import DataTable

LIST_BINDINGS: list[BindingType] = [
    Binding("j", "cursor_down", "Down", show=False, id="list.down"),
    Binding("k", "cursor_up", "Up", show=False, id="list.up"),
    Binding("g", "scroll_top", "First", show=False, id="list.first"),
    Binding("G", "scroll_bottom", "Last", show=False, id="list.last"),
    Binding("ctrl+d", "half_page(1)", "Half page down", show=False, id="list.half_down"),
    Binding("ctrl+u", "half_page(-1)", "Half page up", show=False, id="list.half_up"),
]


class ListTable(DataTable[object]):
    """A DataTable with the list keys."""

    BINDINGS: ClassVar[list[BindingType]] = LIST_BINDINGS

    def action_half_page(self, direction: int) -> None:
        rows = max(1, self.scrollable_content_region.height // 2)
        row = min(max(0, self.cursor_row + direction * rows), max(0, self.row_count - 1))
        self.move_cursor(row=row)
