"""The footer: Textual's, with the keys a user must always find first.

Textual's footer lists a screen's keys in the order they are bound (the focused widget's,
the screen's, then the app's) and cuts what does not fit: at 80 columns the app's `?` (help)
went off the edge. Here `?` and `q` come first, so a narrow terminal cuts a screen's own
keys, which `?` lists, rather than the way to find them or to leave.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer

# The actions of `?` (the app's help) and `q` (quit), as the footer's keys name them.
FIRST = ("toggle_help", "app.toggle_help", "quit", "app.quit")


class KeysFooter(Footer):
    def compose(self) -> ComposeResult:
        keys = list(super().compose())
        first = sorted(
            (key for key in keys if getattr(key, "action", None) in FIRST),
            key=lambda key: FIRST.index(key.action) // 2,  # type: ignore[attr-defined]
        )
        yield from first
        yield from (key for key in keys if key not in first)
