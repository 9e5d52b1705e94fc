"""The column picker (`C` on the runs screen): which columns the runs table shows, in what
order, including each metric's best so far (its min or max and the step it was reached).

Every column the view offers is listed, those shown first in their order and ticked, then
the others. space shows or hides the highlighted column, J and K (or shift+down and
shift+up) move it down or up, r puts the defaults in the list, enter applies (the defaults
when the list is theirs), escape changes nothing. Dismissed with the columns in order,
each with whether it is shown; with RESET for the defaults; or None.
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


def describe(column: Column, shown: bool | None = None) -> Text:
    """The column's name as a Text (never markup), with what it holds, dimmed; with
    `shown`, whether it is shown, in words (without colour, the ticks look alike)."""
    kind = {
        ("metric", ""): "metric, latest",
        ("metric", "min"): "metric, min so far @ step",
        ("metric", "max"): "metric, max so far @ step",
        ("param", ""): "param",
    }.get((column.kind, column.stat), "run")
    state = "" if shown is None else ("  · shown" if shown else "  · hidden")
    return Text.assemble(column.label, ("  " + kind, "dim"), state)


class PickList(SelectionList[int]):
    """The list of columns. Its keys act in the order typed: space ticks the row highlighted
    when it is pressed, and enter applies after every key before it (SelectionList's own
    space toggles once its message is handled, a few keys later in a burst; its enter
    would tick too). They are the screen's actions, listed in its help."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "screen.tick", "Show/hide", show=False),
        Binding("enter", "screen.apply", "Apply", show=False),
    ]


class ColumnsScreen(ModalScreen[Picked | str | None]):
    """Pick and order the runs table's columns."""

    AUTO_FOCUS = "#columns"
    DEFAULT_CSS = """
    ColumnsScreen {
        align: center middle;
        & > Vertical {
            width: 84; max-width: 100%; height: auto; max-height: 100%;
            border: thick $primary; background: $surface; padding: 0 1;
        }
        & Static { height: auto; }
        & SelectionList { height: auto; max-height: 1fr; margin: 1 0; }
    }
    """
    HELP_TITLE = "column picker"
    HELP_OVER = True  # ? lists these keys (nothing here takes text)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="Close, changing nothing",
                id="columns.cancel"),
        Binding("enter", "apply", "Apply", tooltip="Show the columns ticked, in this order",
                id="columns.apply"),
        Binding("J,shift+down", "move(1)", "Move down",
                tooltip="Move the column down (right in the table)", id="columns.down"),
        Binding("K,shift+up", "move(-1)", "Move up",
                tooltip="Move the column up (left in the table)", id="columns.up"),
        Binding("r", "reset", "Defaults", tooltip="The default columns (enter applies them)",
                id="columns.reset"),
        Binding("space", "tick", "Show/hide", tooltip="Show or hide the column",
                id="columns.toggle"),
        # (The app's own keys do not reach a modal screen: this one asks for its help.)
        Binding("question_mark", "app.toggle_help", "Help", tooltip="These keys",
                id="columns.help"),
        *list_bindings("app."),
    ]  # fmt: skip

    def __init__(self, shown: list[Column], offered: list[Column], default: list[Column]) -> None:
        """`shown`: the columns shown now, in order; `offered`: every column there may be;
        `default`: those shown by default, in order."""
        super().__init__()
        self.items: Picked = self.arranged(shown, offered)
        self.defaults: Picked = self.arranged(default, offered)

    @staticmethod
    def arranged(shown: list[Column], offered: list[Column]) -> Picked:
        listed = set(shown)
        return [(c, True) for c in shown] + [(c, False) for c in offered if c not in listed]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text.assemble(
                    ("Columns", "bold"),
                    ("  space show/hide · J/K move · r defaults · enter apply · esc cancel", "dim"),
                )
            )
            yield PickList(*self._selections(), id="columns")

    def _selections(self) -> list[Selection[int]]:
        words = self.app.no_color
        return [
            Selection(describe(column, shown if words else None), index, shown)
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

    def action_tick(self) -> None:
        listing = self.listing
        at = listing.highlighted
        if at is None:
            return
        value = listing.get_option_at_index(at).value
        listing.toggle(value)
        if self.app.no_color:
            shown = value in listing.selected
            listing.replace_option_prompt_at_index(at, describe(self.items[value][0], shown))

    def action_apply(self) -> None:
        self._read_ticks()
        self.dismiss(RESET if self.items == self.defaults else self.items)

    def action_reset(self) -> None:
        """The defaults in the list, to look at: enter applies them, escape does not."""
        self.items = list(self.defaults)
        listing = self.listing
        listing.clear_options()
        listing.add_options(self._selections())
        listing.highlighted = 0

    def action_cancel(self) -> None:
        self.dismiss(None)
