"""`?`: every key of the screen being looked at, the hidden ones too, then the app's (those
that act there), then the keys that move (j k g G ctrl+d ctrl+u on any list, h l on the
runs table): each action once with all its keys, each key once. The window fits the
terminal, 80×24 included: a long description wraps, the table scrolls."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static

from mltop.tui.list_keys import LIST_ACTIONS, list_bindings

# The keys that move, on any screen: each shown where something on the screen binds it and
# the screen gives it no meaning of its own (the run detail's ← → walk the charts' cursor).
MOVING: list[tuple[tuple[str, ...], str]] = [
    (("up", "down", "j", "k"), "A row up / down, in any list"),
    (("pageup", "pagedown"), "A page up / down"),
    (("ctrl+u", "ctrl+d"), "Half a page up / down"),
    (("home", "end", "g", "G"), "The first / last row"),
    (("left", "right", "h", "l"), "A column left / right"),
    (("tab", "shift+tab"), "Next / previous area"),
    (("ctrl+p",), "Command palette: every action by name"),
]
KEY_WIDTH = 14  # the key column at most; longer keys wrap
WINDOW_WIDTH = 90  # the window at most (all of a narrower terminal)


def bindings_of(screen: Screen) -> list[tuple[Binding, str, str]]:
    """(binding, its keys, what it does) for the screen's bindings, then the app's that act
    on it (an app key the screen binds itself is the screen's)."""
    app = screen.app
    rows: list[tuple[Binding, str, str]] = []
    seen: set[str] = set()
    taken: set[str] = set()
    # A focused widget that lists its own keys (HELP_KEYS: the Logs tab's view) comes
    # first: its keys are what a key does there.
    focused = screen.focused
    own: list[BindingType] = []
    if focused is not None and getattr(focused, "HELP_KEYS", False):
        own = list(type(focused).BINDINGS)
    for binding in [*own, *type(screen).BINDINGS]:
        if isinstance(binding, Binding):
            taken.update(key.strip() for key in binding.key.split(","))
    widget_keys = {k.strip() for b in own if isinstance(b, Binding) for k in b.key.split(",")}
    for node, binding in [
        *((focused, b) for b in own),
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
        if node is screen and own and set(_keys_of(binding)) <= widget_keys:
            continue  # the focused widget's binding of the same keys acts instead
        seen.add(binding.action)
        keys = " ".join(
            "enter" if key.strip() == "enter" else app.get_key_display(Binding(key.strip(), ""))
            for key in binding.key.split(",")
        )
        rows.append((binding, keys, binding.tooltip or binding.description or binding.action))
    return rows


def _keys_of(binding: Binding) -> list[str]:
    return [key.strip() for key in binding.key.split(",")]


def _bound_keys(screen: Screen) -> set[str]:
    """Every key something on `screen` (or the app) binds."""
    keys: set[str] = set(screen.app._bindings.key_to_bindings)
    for node in screen.walk_children(with_self=True):
        keys.update(node._bindings.key_to_bindings)
    return keys


def help_rows(screen: Screen) -> list[tuple[str, str]]:
    """(keys, what they do) for `?`: each action once, with all of its keys (`q`, ctrl+c
    and ctrl+q all quit), then the keys that move, each key listed once."""
    app = screen.app
    rows: dict[str, tuple[list[str], str]] = {}
    listed: set[str] = set()
    for binding, keys, does in bindings_of(screen):
        action = binding.action.removeprefix("app.").removeprefix("screen.")
        if action.partition("(")[0] in LIST_ACTIONS:
            continue  # with the keys that move, below
        listed.update(_keys_of(binding))
        if action in rows:
            rows[action][0].append(keys)
        else:
            rows[action] = ([keys], does)
    if "quit" in rows and "ctrl+q" not in listed:  # Textual's own
        listed.add("ctrl+q")
        rows["quit"][0].append(app.get_key_display(Binding("ctrl+q", "")))
    bound = _bound_keys(screen)
    moving = []
    for moving_keys, does in MOVING:
        free = [key for key in moving_keys if key not in listed and key in bound]
        if free:
            listed.update(free)
            moving.append((" ".join(app.get_key_display(Binding(k, "")) for k in free), does))
    return [(" ".join(keys), does) for keys, does in rows.values()] + moving


class HelpScreen(ModalScreen[None]):
    """The keys in a table as wide as the window: a long description wraps (never cut),
    and the table scrolls."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close", id="help.close"),
        *list_bindings("app."),
    ]
    CSS_PATH = "help.tcss"

    def __init__(self, title: str, rows: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.rows = rows
        self._built_for = 0  # the terminal width the table's columns were sized for

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"Keys: {self.title_text}   (? or escape closes)"), markup=False)
            yield DataTable[Text](cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self._fill()

    def on_resize(self) -> None:
        self._fill()

    def _fill(self) -> None:
        width = self.app.size.width
        if width == self._built_for:
            return
        self._built_for = width
        table = self.query_one(DataTable)
        # The window's inside: its border (2), each column's padding (2 each), the
        # scrollbar (2).
        inside = min(WINDOW_WIDTH, width) - 2 - 4 - 2
        key_width = min(KEY_WIDTH, max(len(keys) for keys, _ in self.rows))
        row = table.cursor_row
        table.clear(columns=True)
        table.add_column("Key", width=key_width)
        table.add_column("Does", width=max(10, inside - key_width))
        for keys, does in self.rows:
            table.add_row(Text(keys, style="bold"), Text(does), height=None)
        table.move_cursor(row=row)
