"""`?`: every key of the screen being looked at, the hidden ones too, then the app's (those
that act there: the list keys j k g G ctrl+d ctrl+u among them). The window fits the
terminal, 80×24 included; its table scrolls."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static

from mltop.tui.list_keys import list_bindings

# Keys the widgets themselves answer, worth knowing on every screen with a table or list.
MOVING = [
    ("↑ ↓ ← →", "Move the cursor (j k g G ctrl+d ctrl+u too, in any list)"),
    ("pgup pgdn home end", "Move a page, or to either end"),
    ("tab shift+tab", "Next / previous area"),
    ("ctrl+p", "Command palette: every action by name"),
    ("ctrl+q", "Quit"),
]


def bindings_of(screen: Screen) -> list[tuple[Binding, str, str]]:
    """(binding, its keys, what it does) for the screen's bindings, then the app's that act
    on it (an app key the screen binds itself is the screen's)."""
    app = screen.app
    rows: list[tuple[Binding, str, str]] = []
    seen: set[str] = set()
    taken: set[str] = set()
    for binding in type(screen).BINDINGS:
        if isinstance(binding, Binding):
            taken.update(key.strip() for key in binding.key.split(","))
    for node, binding in [
        *((screen, b) for b in type(screen).BINDINGS),
        *((app, b) for b in type(app).BINDINGS),
    ]:
        # (A binding without a description is another's fallback on its key, as the registry's
        # `x` saying a version has no alias: not a key of its own.)
        if not isinstance(binding, Binding) or binding.action in seen or not binding.description:
            continue
        action = binding.action.partition("(")[0]
        if node is app and (binding.key in taken or app.check_action(action, ()) is False):
            continue
        seen.add(binding.action)
        keys = " ".join(
            "enter" if key.strip() == "enter" else app.get_key_display(Binding(key.strip(), ""))
            for key in binding.key.split(",")
        )
        rows.append((binding, keys, binding.tooltip or binding.description or binding.action))
    return rows


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close", id="help.close"),
        *list_bindings("app."),
    ]
    CSS_PATH = "help.tcss"

    def __init__(self, title: str, rows: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Keys: {self.title_text}   (? or escape closes)", markup=False)
            table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True)
            table.add_column("Key", width=16)
            table.add_column("Does")
            for keys, does in [*self.rows, *MOVING]:
                table.add_row(Text(keys, style="bold"), Text(does))
            yield table
