"""The footer: Textual's, with the keys a user must always find first, and only whole keys.

Textual's footer lists a screen's keys in the order they are bound (the focused widget's,
the screen's, then the app's) and cuts what does not fit, mid-word: at 80 columns the app's
`?` (help) went off the edge, and the last key read `c Com`. Here `?` and `q` come first and
always show; the others follow in their order, and those that do not fit whole are left
out, the last first (the command palette's `^p` before any of them: `?` lists every key).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widget import Widget
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

    async def recompose(self) -> None:
        await super().recompose()
        self.call_after_refresh(self.fit)

    def on_resize(self) -> None:
        self.fit()

    def fit(self) -> None:
        """Show the keys that fit whole, in their order of importance."""
        keys = list(self.query_children("FooterKey"))  # (a class Textual does not export)
        palette = [key for key in keys if key.has_class("-command-palette")]
        ranked = [key for key in keys if key not in palette] + palette
        room = self.size.width
        shown: set[Widget] = set()
        for key in ranked:
            width = (
                key.get_content_width(self.size, self.app.size)
                + key.styles.gutter.width
                + key.styles.margin.width
            )
            if width > room and getattr(key, "action", None) not in FIRST:
                # A key left out leaves out those after it: the order stays the order.
                break
            room -= width
            shown.add(key)
        for key in keys:
            key.display = key in shown
