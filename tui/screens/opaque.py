"""A screen that covers the whole terminal, and so is not repainted for what changes under it.

Textual composes the screen just beneath the current one as a possible background, and
each time a widget there changes it asks the current screen to repaint those regions, which
repaints the whole current screen. The runs screen stays live under a run's detail (its
table follows every commit), so a detail screen following a run that logs 20 steps a
second repainted everything about 20 times a second for changes nobody could see: about
half of its CPU. An opaque screen hides what is beneath, and skips those repaints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.geometry import Region
from textual.screen import Screen

if TYPE_CHECKING:
    from typing_extensions import Self


class OpaqueScreen(Screen):
    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        # Only the screen beneath asks a screen to repaint given regions (Textual's
        # `Screen._compositor_refresh`); what it asks to show is hidden here.
        if regions and not layout and not recompose and self.styles.background.a == 1:
            return self
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)
