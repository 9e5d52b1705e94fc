"""The registry's model panel: the model of the version under the cursor (its flavors,
signature, files and checksum state), as `tui/present.py` writes it. It draws what it is
given; the registry screen reads the model (and checks its files) off the UI thread."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from mltop.store.entities import ModelVersion
from mltop.tui.present import (
    SHORT_MODEL_ID,
    Checksums,
    VersionModel,
    version_model_lines,
    version_model_text,
)
from mltop.tui.text import clean


def caption(name: str, version: int, model_id: str | None) -> Text:
    text = Text(f"Model of {clean(name)} v{version}")
    if model_id:
        text.append(f" ({model_id[:SHORT_MODEL_ID]})")
    return text


class ModelPanel(Vertical):
    """A caption, then a line per fact: its label, and its value (a long one wraps under
    itself, not under the labels)."""

    text = Text()  # what it shows, as plain text (the caption, then the lines)

    def compose(self) -> ComposeResult:
        yield Static("", id="model-caption", classes="caption", markup=False)
        yield Static("", id="model-body", markup=False)

    def reading(self, version: ModelVersion) -> None:
        """The version's model is being read."""
        title = caption(version.name, version.version, None)
        self._show(title, Text("reading…", style="dim"), Text("reading…"))

    def show(self, model: VersionModel, checksums: Checksums | None) -> None:
        """The model as read; `checksums` None: still being checked."""
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True, min_width=10)
        grid.add_column(ratio=1)
        for label, value in version_model_lines(model, checksums):
            grid.add_row(label, value)
        title = caption(model.name, model.version, model.model_id)
        self._show(title, grid, version_model_text(model, checksums))

    def _show(self, title: Text, body: Table | Text, text: Text) -> None:
        self.query_one("#model-caption", Static).update(title)
        self.query_one("#model-body", Static).update(body)
        self.text = Text("\n").join([title, text])
