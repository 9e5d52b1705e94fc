"""The column picker (`C` on the runs screen): which columns the runs table shows, in what
order, including each metric's best so far (its min or max and the step it was reached).

Every column the view offers is listed, those shown first in their order and ticked, then
the others. space shows or hides the highlighted column, J and K (or shift+down and
shift+up) move it down or up, r goes back to the defaults, enter applies, escape changes
nothing. Dismissed with the columns in order, each with whether it is shown; with RESET
for the defaults; or None.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from mltop.tui.columns import RESET, Column, Picked
from mltop.tui.list_keys import list_bindings


def describe(column: Column) -> Text:
    """The column's name as a Text (never markup), with what it holds, dimmed."""
    kind = {
        ("metric", ""): "metric, latest",
        ("metric", "min"): "metric, min so far @ step",
        ("metric", "max"): "metric, max so far @ step",
        ("param", ""): "param",
    }.get((column.kind, column.stat), "run")
    return Text.assemble(column.label, ("  " + kind, "dim"))


class ColumnsScreen(ModalScreen[Picked | str | None]):
    """Pick and order the runs table's columns."""

    AUTO_FOCUS = "#columns"
    DEFAULT_CSS = """
    ColumnsScreen {
        align: center middle;
        & > Vertical {
            width: 72; max-width: 100%; height: auto; max-height: 100%;
            border: thick $primary; background: $surface; padding: 0 1;
        }
        & Static { height: auto; }
        & SelectionList { height: auto; max-height: 1fr; margin: 1 0; }
    }
    """
    HELP_TITLE = "column picker"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="Close, changing nothing",
                id="columns.cancel"),
        # priority: the list would take enter as space, to tick
        Binding("enter", "apply", "Apply", tooltip="Show the columns ticked, in this order",
                id="columns.apply", priority=True),
        Binding("J,shift+down", "move(1)", "Move down",
                tooltip="Move the column down (right in the table)", id="columns.down"),
        Binding("K,shift+up", "move(-1)", "Move up",
                tooltip="Move the column up (left in the table)", id="columns.up"),
        Binding("r", "reset", "Defaults", tooltip="Back to the default columns",
                id="columns.reset"),
        *list_bindings("app."),
    ]  # fmt: skip

    def __init__(self, shown: list[Column], offered: list[Column]) -> None:
        super().__init__()
        listed = set(shown)
        self.items: Picked = [(c, True) for c in shown] + [
            (c, False) for c in offered if c not in listed
        ]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Columns", style="bold"))
            yield SelectionList[int](*self._selections(), id="columns")
            yield Static(
                Text(
                    "space show/hide · J/K move · r defaults · enter apply · esc cancel",
                    style="dim",
                )
            )

    def _selections(self) -> list[Selection[int]]:
        return [
            Selection(describe(column), index, shown)
            for index, (column, shown) in enumerate(self.items)
        ]

    @property
    def listing(self) -> SelectionList[int]:
        return self.query_one("#columns", SelectionList)

    def _read_ticks(self) -> None:
        ticked = set(self.listing.selected)
        self.items = [(column, i in ticked) for i, (column, _s) in enumerate(self.items)]

    def action_move(self, step: int) -> None:
        listing = self.listing
        at = listing.highlighted
        if at is None or not 0 <= at + step < len(self.items):
            return
        self._read_ticks()
        items = self.items
        items[at], items[at + step] = items[at + step], items[at]
        listing.clear_options()
        listing.add_options(self._selections())
        listing.highlighted = at + step

    def action_apply(self) -> None:
        self._read_ticks()
        self.dismiss(self.items)

    def action_reset(self) -> None:
        self.dismiss(RESET)

    def action_cancel(self) -> None:
        self.dismiss(None)
