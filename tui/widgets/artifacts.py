"""A run's artifacts: a folder tree on the left, the highlighted file's text on the right.

Folders are listed when first expanded (a run may hold thousands of files), through the
store's `ArtifactRepository`, which refuses any path leading outside the run's folder. The
preview reads at most `PREVIEW_BYTES` on a worker thread; a binary file is described, not
shown; text is shown literally (a read-only TextArea, control characters made visible).
`o` opens the highlighted file in the user's `$PAGER` (default `less`), the dashboard
suspended meanwhile; a folder, a binary or missing file, or a path that would lead outside
the run's folder is refused with a note.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Static, TextArea, Tree
from textual.widgets.tree import TreeNode

from mltop.store import FileInfo, MltopError
from mltop.store.artifact_repo import ArtifactRepository
from mltop.tui.text import clean, clean_text, file_size
from mltop.tui.workers import store_work

PREVIEW_BYTES = 256 * 1024


def describe(repo: ArtifactRepository, info: FileInfo) -> tuple[str, str]:
    """(a one-line heading, the text to show) for one file of the run."""
    name = clean(info.path)
    try:
        with repo.open(info.path, "rb") as handle:
            head = handle.read(PREVIEW_BYTES + 1)
    except (OSError, MltopError) as exc:
        return f"{name}: cannot be read", clean(exc)
    truncated = len(head) > PREVIEW_BYTES
    head = head[:PREVIEW_BYTES]
    if b"\x00" in head[:8192]:
        return f"{name}  {file_size(info.size)}", "(a binary file: not shown)"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not truncated or exc.start < len(head) - 4:  # not just a character cut in two
            return f"{name}  {file_size(info.size)}", "(not UTF-8 text: not shown)"
        text = head[: exc.start].decode("utf-8")
    more = f"  (the first {file_size(PREVIEW_BYTES)} shown)" if truncated else ""
    return f"{name}  {file_size(info.size)}{more}", clean_text(text)


@dataclass
class PreviewReady(Message):
    path: str
    heading: str
    text: str


def is_binary(repo: ArtifactRepository, path: str) -> bool:
    with repo.open(path, "rb") as handle:
        return b"\x00" in handle.read(8192)


class ArtifactTree(Tree[FileInfo]):
    """The run's files, with the list keys (j k g G ctrl+d ctrl+u) and `o` to open one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "o", "open", "Open in $PAGER", tooltip="Open the file in $PAGER", id="artifacts.open"
        ),
        Binding("j", "cursor_down", "Down", show=False, id="artifacts.down"),
        Binding("k", "cursor_up", "Up", show=False, id="artifacts.up"),
        Binding("g", "first", "First", show=False, id="artifacts.first"),
        Binding("G", "last", "Last", show=False, id="artifacts.last"),
        Binding("ctrl+d", "half_page(1)", "Half page down", show=False, id="artifacts.half_down"),
        Binding("ctrl+u", "half_page(-1)", "Half page up", show=False, id="artifacts.half_up"),
    ]

    def action_first(self) -> None:
        self.cursor_line = 0

    def action_last(self) -> None:
        self.cursor_line = max(0, self.last_line)

    def action_half_page(self, direction: int) -> None:
        rows = max(1, self.scrollable_content_region.height // 2)
        self.cursor_line = min(max(0, self.cursor_line + direction * rows), max(0, self.last_line))

    def action_open(self) -> None:
        view = self.parent
        if isinstance(view, ArtifactsView):
            view.open_highlighted()


class ArtifactsView(Horizontal):
    DEFAULT_CSS = """
    ArtifactsView { height: 1fr; }
    ArtifactsView > Tree { width: 40%; border-right: solid $primary-darken-2; }
    ArtifactsView #preview-pane { width: 1fr; }
    ArtifactsView #preview-heading { height: 1; padding: 0 1; background: $boost; }
    ArtifactsView TextArea { height: 1fr; border: none; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.repo: ArtifactRepository | None = None
        self.previewing: str | None = None

    def compose(self) -> ComposeResult:
        tree = ArtifactTree("artifacts", id="artifact-tree")
        tree.show_root = False
        yield tree
        with Vertical(id="preview-pane"):
            yield Static("", id="preview-heading", markup=False)
            yield TextArea("", read_only=True, show_line_numbers=True, soft_wrap=False)

    def show(self, repo: ArtifactRepository) -> None:
        """List the run's top folder (again: files may have been logged since)."""
        self.repo = repo
        tree = self.query_one(Tree)
        tree.clear()
        self._fill(tree.root, "")
        preview = self.query_one(TextArea)
        if tree.root.children:
            tree.cursor_line = 0
        else:
            preview.display = False
            self.query_one("#preview-heading", Static).update("no artifacts logged for this run")

    def _fill(self, node: TreeNode[FileInfo], path: str) -> None:
        assert self.repo is not None
        try:
            entries = self.repo.list(path)
        except (OSError, MltopError) as exc:
            self.notify(f"artifacts: {exc}", severity="error", markup=False)
            return
        for info in entries:
            name = info.path.rsplit("/", 1)[-1]
            if info.is_dir:
                # Text, never a str: Tree reads a str label as markup.
                node.add(Text(clean(name) + "/"), data=info, allow_expand=True)
            else:
                label = Text.assemble(clean(name), (f"  {file_size(info.size)}", "dim"))
                node.add_leaf(label, data=info)

    @on(Tree.NodeExpanded)
    def _expand(self, event: Tree.NodeExpanded[FileInfo]) -> None:
        info = event.node.data
        if info is not None and info.is_dir and not event.node.children:
            self._fill(event.node, info.path)

    @on(Tree.NodeHighlighted)
    def _highlight(self, event: Tree.NodeHighlighted[FileInfo]) -> None:
        info = event.node.data
        if info is None or info.is_dir or self.repo is None:
            return
        self.previewing = info.path
        self._read(self.repo, info)

    @store_work(group="preview", exclusive=True)
    def _read(repo: ArtifactRepository, info: FileInfo) -> PreviewReady:
        heading, text = describe(repo, info)
        return PreviewReady(info.path, heading, text)

    def on_preview_ready(self, message: PreviewReady) -> None:
        if message.path != self.previewing:
            return  # the user has moved on
        self.query_one("#preview-heading", Static).update(message.heading)
        preview = self.query_one(TextArea)
        preview.display = True
        preview.load_text(message.text)

    def open_highlighted(self) -> None:
        """`o`: the highlighted file in `$PAGER` (default `less`), the dashboard suspended."""
        node = self.query_one(Tree).cursor_node
        info = None if node is None else node.data
        if info is None or self.repo is None:
            self.notify("no file highlighted", severity="warning")
            return
        name = clean(info.path)
        if info.is_dir:
            self.notify(f"{name} is a folder: enter opens it", severity="warning", markup=False)
            return
        try:
            path = self.repo.local_path(info.path)  # refuses a path leading outside the run
            if is_binary(self.repo, info.path):
                self.notify(f"{name} is a binary file: not paged", severity="warning", markup=False)
                return
        except (OSError, MltopError) as exc:
            self.notify(f"cannot open {name}: {clean(exc)}", severity="error", markup=False)
            return
        pager = shlex.split(os.environ.get("PAGER") or "less")
        try:
            with self.app.suspend():
                subprocess.run([*pager, str(path)], check=False)
        except SuspendNotSupported:
            self.notify("this terminal cannot be handed to a pager", severity="error")
        except OSError as exc:
            self.notify(f"cannot run the pager: {clean(exc)}", severity="error", markup=False)
