"""vi's keys on lists, as in k9s and lazygit: j k (a row), g G (either end), ctrl+d ctrl+u
(half a page). The app binds them for whatever list has the focus; a modal screen (a
dialog, the help) binds them too, as the app's bindings do not reach into it."""

from __future__ import annotations

from textual.binding import Binding

LIST_ACTIONS = ("list_move", "list_end", "list_half")


def list_bindings(namespace: str = "") -> list[Binding]:
    """The list keys, for the actions of the app (`namespace` "app." from a screen)."""
    keys = [
        ("j", "list_move(1)", "Down", "Down a row", "down"),
        ("k", "list_move(-1)", "Up", "Up a row", "up"),
        ("g", "list_end(0)", "First", "The first row", "first"),
        ("G", "list_end(1)", "Last", "The last row", "last"),
        ("ctrl+d", "list_half(1)", "Half page down", "Down half a page", "half_down"),
        ("ctrl+u", "list_half(-1)", "Half page up", "Up half a page", "half_up"),
    ]
    return [
        Binding(key, namespace + action, name, show=False, tooltip=does, id=f"list.{id_}")
        for key, action, name, does, id_ in keys
    ]
