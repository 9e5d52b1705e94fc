"""Tables on the command line, drawn a line at a time: ten thousand rows in well under a
second.

Rich's `Table` measures and lays out every cell (about 1 ms a row for a table of runs).
This draws the same heavy-headed box from widths computed once from the data: each column
as wide as its widest cell, up to a cap (a longer cell is cut, ending in an ellipsis), and
its header no wider than its own cap (a 250-character metric key does not push the other
columns off the terminal; the key is cut in the middle, its numbers never are). On a
terminal narrower than the table, text columns and long headers shrink, as far as needed,
towards their minimum width; the last columns that still do not fit are left out, and
`print_table` says how many. Every
cell and header is shown literally (`clean`): never read as markup, never a terminal escape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.box import HEAVY_HEAD
from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.text import Text

from mltop.tui.text import clean, cut_middle

# A cell: its text, or (text, style) for a cell with a style of its own (a run's status).
Cell = str | tuple[str, str]

ELLIPSIS = "…"
NARROWEST_CUT = 4  # a text column cut at the terminal's edge is shown if this many cells fit


@dataclass(frozen=True)
class Column:
    header: str
    header_style: str = ""  # on top of bold
    style: str = ""  # every cell's, unless the cell has its own
    justify: Literal["left", "right"] = "left"
    min_width: int = 1  # never narrower, even on a narrow terminal
    max_width: int | None = 40  # longer cells are cut with an ellipsis; None: never cut
    # A longer header is cut with an ellipsis, unless the cells make the column wider.
    max_header_width: int = 24


def _width(text: str) -> int:
    return len(text) if text.isascii() else cell_len(text)


def _fitted(texts: list[str], sizes: list[int], width: int, right: bool) -> list[str]:
    """Each text exactly `width` cells wide: padded, or cut to end in an ellipsis."""
    if right:
        return [
            " " * (width - n) + t if n <= width else set_cell_size(t, width - 1) + ELLIPSIS
            for t, n in zip(texts, sizes, strict=True)
        ]
    return [
        t + " " * (width - n) if n <= width else set_cell_size(t, width - 1) + ELLIPSIS
        for t, n in zip(texts, sizes, strict=True)
    ]


def _shrink(widths: list[int], floors: Sequence[int], excess: int) -> None:
    """Narrow the columns, the widest first, down to their floors, by up to `excess` cells
    in all."""
    while excess > 0:
        shrinkable = [i for i, w in enumerate(widths) if w > floors[i]]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1


def _table_width(widths: Sequence[int]) -> int:
    return sum(widths) + 3 * len(widths) + 1  # "│ " + cell + " " per column, and "│"


class _Styles:
    """The escape codes the console writes before and after a styled text (none when it
    writes no styles: a pipe, a file); each style rendered by Rich once."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._codes: dict[str, tuple[str, str]] = {"": ("", "")}

    def codes(self, style: str) -> tuple[str, str]:
        found = self._codes.get(style)
        if found is None:
            marker = "\ue000"
            with self.console.capture() as capture:
                self.console.print(Text(marker, style=style), end="", soft_wrap=True)
            before, _, after = capture.get().partition(marker)
            found = self._codes[style] = (before, after)
        return found

    def wrap(self, text: str, style: str) -> str:
        before, after = self.codes(style)
        return f"{before}{text}{after}" if before else text


def print_table(console: Console, columns: Sequence[Column], rows: Sequence[Sequence[Cell]]) -> int:
    """Print `rows` (a cell per column) under `columns`; on a terminal, fitted to its width.
    Returns how many columns were left out for want of room (0 off a terminal)."""
    headers = [clean(c.header) for c in columns]
    # Column by column: a list comprehension a column costs far less than a call a cell.
    texts: list[list[str]] = []
    own_styles: list[list[str] | None] = []
    for i in range(len(columns)):
        given = [row[i] for row in rows]
        if all(isinstance(c, str) for c in given):
            own_styles.append(None)
        else:
            own_styles.append(["" if isinstance(c, str) else c[1] for c in given])
        plain = [c if isinstance(c, str) else c[0] for c in given]
        texts.append([c if c.isprintable() else clean(c) for c in plain])
    sizes = [[len(t) if t.isascii() else cell_len(t) for t in column] for column in texts]
    natural: list[int] = []
    floors: list[int] = []  # how narrow each column may get on a narrow terminal
    for i, column in enumerate(columns):
        widest = max(sizes[i], default=0)
        width = max(min(_width(headers[i]), column.max_header_width), widest)
        if column.max_width is not None:
            width = min(width, column.max_width)
            floors.append(max(column.min_width, 1))
        else:  # never cut a cell: only a long header gives way
            floors.append(max(column.min_width, widest, 1))
        natural.append(max(width, column.min_width, 1))
    widths = list(natural)
    shown = len(columns)
    if console.is_terminal and _table_width(widths) > console.width:
        # The most columns that fit, each narrowed only as much as they need.
        while True:
            widths = natural[:shown]
            _shrink(widths, floors[:shown], _table_width(widths) - console.width)
            if shown == 1 or _table_width(widths) <= console.width:
                break
            shown -= 1
        room = console.width - _table_width(widths) - 3
        # The first column that does not fit is shown cut if it holds text (a number is
        # never cut: a cut number reads as another number).
        cut = shown < len(columns) and columns[shown].max_width is not None
        if cut and room >= NARROWEST_CUT:
            widths.append(room)
            shown += 1
    box = HEAVY_HEAD.substitute(console.options)
    styles = _Styles(console)
    head = []
    body = []
    for i in range(shown):
        column, right = columns[i], columns[i].justify == "right"
        header = cut_middle(headers[i], widths[i])
        (header,) = _fitted([header], [_width(header)], widths[i], right)
        head.append(styles.wrap(header, f"bold {column.header_style}"))
        cells = _fitted(texts[i], sizes[i], widths[i], right)
        own = own_styles[i]
        if own is not None:
            cells = [styles.wrap(c, s or column.style) for c, s in zip(cells, own, strict=True)]
        elif styles.codes(column.style)[0]:
            cells = [styles.wrap(c, column.style) for c in cells]
        body.append(cells)
    left, between, end = f"{box.mid_left} ", f" {box.mid_vertical} ", f" {box.mid_right}"
    out = console.file
    out.write(box.get_top([w + 2 for w in widths]) + "\n")
    out.write(f"{box.head_left} {f' {box.head_vertical} '.join(head)} {box.head_right}\n")
    out.write(box.get_row([w + 2 for w in widths], level="head") + "\n")
    lines = [left + between.join(cells) + end for cells in zip(*body, strict=True)]
    for start in range(0, len(lines), 1000):
        out.write("\n".join(lines[start : start + 1000]) + "\n")
    out.write(box.get_bottom([w + 2 for w in widths]) + "\n")
    out.flush()
    return len(columns) - shown
