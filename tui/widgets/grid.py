"""A table that draws only the lines on screen, over rows it asks its owner for.

The runs table of a million runs cannot hold a million formatted rows, nor lay out every
cell with Rich: the grid knows only how many rows there are and asks a `GridSource` for
the cells of each row it draws (None: not read yet; it asks for them with `RowsWanted`).
Each line is drawn once into a `Strip` and kept until its cells, the cursor, the marks or
the layout change, so a live change to one row redraws one line, and the clock ticking an
unchanged screen draws nothing. Cells are plain text: nothing in them is markup, and the
owner makes control characters visible before they get here.

Keys are those of k9s and lazygit: j/k and arrows move, ctrl+d/ctrl+u half a page,
pgup/pgdn a page, g/home and G/end the ends, h/l and left/right the column (the cursor
is the whole row; the column under it is what `s` sorts by), enter opens.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

MAX_WIDTH = 40  # a column's widest, in cells: longer values end with an ellipsis
PINNED_SHARE = 0.6  # the fixed columns stay put while they take at most this share of the width
CACHE_LINES = 400  # lines kept drawn: a couple of screens of the tallest terminal


class GridSource(Protocol):
    """What a grid draws: rows of text, some not read yet."""

    def row_count(self) -> int: ...

    def cells(self, index: int) -> Sequence[str] | None:
        """The row's cells (None: not read yet: drawn as a placeholder, and asked for)."""
        ...

    def is_marked(self, index: int) -> bool: ...

    def cell_style(self, index: int, column: int, text: str) -> str:
        """A Rich style for one cell (its colour; "" for none)."""
        ...


def fit(text: str, width: int) -> str:
    """`text` in exactly `width` cells: padded, or cut with an ellipsis."""
    size = len(text) if text.isascii() else cell_len(text)
    if size <= width:
        return text + " " * (width - size)
    if text.isascii():
        return text[: width - 1] + "…"
    out, used = [], 0
    for char in text:
        w = cell_len(char)
        if used + w > width - 1:
            break
        out.append(char)
        used += w
    return "".join(out) + "…" + " " * (width - 1 - used)


def text_width(text: str) -> int:
    return len(text) if text.isascii() else cell_len(text)


class Grid(ScrollView, can_focus=True):
    """Rows from a `GridSource`, with a header, a full-row cursor and a column cursor."""

    DEFAULT_CSS = """
    Grid {
        height: 1fr;
        background: $surface;
        overflow-x: auto;
        overflow-y: auto;
        scrollbar-gutter: stable;
    }
    Grid > .grid--header { text-style: bold; background: $panel; color: $text; }
    Grid > .grid--header-cursor { text-style: bold reverse; }
    Grid > .grid--odd { background: $surface-lighten-1 30%; }
    Grid > .grid--cursor { background: $block-cursor-blurred-background; }
    Grid:focus > .grid--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
    }
    Grid > .grid--cursor-cell { text-style: bold underline; }
    Grid > .grid--marked { color: $warning; text-style: bold; }
    Grid > .grid--placeholder { color: $text-disabled; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "grid--header",
        "grid--header-cursor",
        "grid--odd",
        "grid--cursor",
        "grid--cursor-cell",
        "grid--marked",
        "grid--placeholder",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor_down", "Down", show=False, id="grid.down"),
        Binding("up,k", "cursor_up", "Up", show=False, id="grid.up"),
        Binding("ctrl+d", "half_page(1)", "Half page down", show=False, id="grid.half_down"),
        Binding("ctrl+u", "half_page(-1)", "Half page up", show=False, id="grid.half_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="grid.page_down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="grid.page_up"),
        Binding("home,g", "first", "First", show=False, id="grid.first"),
        Binding("end,G", "last", "Last", show=False, id="grid.last"),
        Binding("left,h", "column(-1)", "Column left", show=False, id="grid.left"),
        Binding("right,l", "column(1)", "Column right", show=False, id="grid.right"),
        Binding("enter", "select", "Open", show=False, id="grid.select"),
    ]

    @dataclass
    class CursorMoved(Message):
        grid: Grid
        row: int

    @dataclass
    class Selected(Message):
        grid: Grid
        row: int

    @dataclass
    class HeaderClicked(Message):
        grid: Grid
        column: int

    @dataclass
    class RowsWanted(Message):
        """Rows [start, stop) are on screen (or nearly) and not read yet."""

        grid: Grid
        start: int
        end: int

    def __init__(self, source: GridSource, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source = source
        self.labels: list[str] = []
        self.widths: list[int] = []
        self.offsets: list[int] = []  # each column's first cell
        self.cursor_row = 0
        self.cursor_column = 0
        self.sort_mark: dict[int, str] = {}  # column -> ▲ / ▼
        # The first columns stay put as the others scroll sideways (a run's name stays in
        # sight next to the metric far right), while they take at most PINNED_SHARE.
        self.fixed_columns = 0
        self._lines: OrderedDict[tuple, Strip] = OrderedDict()
        self._layout = 0  # bumped when widths, labels or styles change: every line anew
        self._wanted: tuple[int, int] | None = None
        # (layout, focus), the component styles then, and cell styles parsed.
        self._style_cache: tuple[object, dict[str, Style], dict[str, Style]] = (None, {}, {})

    # -- shape ------------------------------------------------------------------------

    def set_columns(self, labels: Sequence[str]) -> None:
        """New columns (their widths measured again from the header and drawn rows)."""
        self.labels = list(labels)
        self.widths = [min(MAX_WIDTH, max(1, text_width(label))) for label in self.labels]
        self.cursor_column = min(self.cursor_column, max(0, len(self.labels) - 1))
        self._relayout()

    def set_labels(self, labels: Sequence[str]) -> None:
        """The same columns, other header text (a sort arrow moved)."""
        self.labels = list(labels)
        self._widen_for(self.labels)
        self._relayout()

    def fit_rows(self, rows: Sequence[Sequence[str]]) -> None:
        """Widen the columns (never narrower: nothing jumps as one scrolls) for `rows`."""
        if any([self._widen_for(cells) for cells in rows]):
            self._relayout()

    def _widen_for(self, cells: Sequence[str]) -> bool:
        grew = False
        widths = self.widths
        for x, text in enumerate(cells[: len(widths)]):
            if text and (size := min(MAX_WIDTH, text_width(text))) > widths[x]:
                widths[x] = size
                grew = True
        return grew

    def _relayout(self) -> None:
        self.offsets = []
        at = 0
        for width in self.widths:
            self.offsets.append(at)
            at += width + 1  # a space before each cell
        at += 1  # and one after the last
        self._layout += 1
        self._lines.clear()
        self.virtual_size = Size(at, self.source.row_count() + 1)
        self.refresh()

    def rows_changed(self) -> None:
        """The number of rows, or which rows are where, changed: draw everything anew."""
        count = self.source.row_count()
        self.cursor_row = max(0, min(self.cursor_row, count - 1))
        self.virtual_size = Size(self.virtual_size.width, count + 1)
        self._lines.clear()
        self._wanted = None
        self.refresh()
        self._want_visible()

    def refresh_rows(self, indexes: Sequence[int]) -> None:
        """Some rows' cells changed: redraw just their lines (if on screen)."""
        top = self.scroll_offset.y
        height = self.visible_rows
        for index in indexes:
            if top <= index < top + height:
                self.refresh_lines(index - top + 1)

    @property
    def visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def visible_range(self) -> range:
        top = self.scroll_offset.y
        return range(top, min(self.source.row_count(), top + self.visible_rows))

    # -- drawing ----------------------------------------------------------------------

    @property
    def pinned(self) -> int:
        """The cells the fixed columns take on the left of every line (0: none pinned)."""
        fixed = self.fixed_columns
        if not 0 < fixed < len(self.offsets):
            return 0
        cells = self.offsets[fixed]
        return cells if cells <= PINNED_SHARE * self.scrollable_content_region.width else 0

    def _view(self, strip: Strip, width: int, scroll_x: int) -> Strip:
        """The part of a whole line on screen: the pinned cells, then the rest scrolled."""
        pinned = self.pinned
        if pinned and scroll_x:
            start = pinned + scroll_x
            strip = Strip.join([strip.crop(0, pinned), strip.crop(start, start + width - pinned)])
        else:
            strip = strip.crop(scroll_x, scroll_x + width)
        return strip.extend_cell_length(width, self.rich_style)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x, scroll_y = self.scroll_offset
        if y == 0:
            key: tuple = ("header", self._layout, width, scroll_x, self.cursor_column)
            strip = self._lines.get(key)
            if strip is None:
                strip = self._draw_header()
                self._remember(key, strip)
            return self._view(strip, width, scroll_x)
        index = scroll_y + y - 1
        if index >= self.source.row_count():
            return Strip.blank(width, self.rich_style)
        cells = self.source.cells(index)
        if cells is None:
            self._want_visible()
        cursor = index == self.cursor_row
        marked = self.source.is_marked(index)
        key = (
            index,
            cells,
            marked,
            self.cursor_column if cursor else -1,
            self.has_focus and cursor,
            self._layout,
        )
        strip = self._lines.get(key)
        if strip is None:
            strip = self._draw_row(index, cells, cursor, marked)
            self._remember(key, strip)
        return self._view(strip, width, scroll_x)

    def _remember(self, key: tuple, strip: Strip) -> None:
        lines = self._lines
        lines[key] = strip
        if len(lines) > CACHE_LINES:
            lines.popitem(last=False)

    def _draw_header(self) -> Strip:
        base = self.get_component_rich_style("grid--header")
        current = base + self.get_component_rich_style("grid--header-cursor")
        segments = []
        for x, (label, width) in enumerate(zip(self.labels, self.widths, strict=True)):
            style = current if x == self.cursor_column else base
            segments.append(Segment(" " + fit(label, width), style))
        segments.append(Segment(" ", base))
        return Strip(segments)

    def _styles(self) -> dict[str, Style]:
        """The component styles, looked up once per layout (every line uses them)."""
        key = (self._layout, self.has_focus)
        if self._style_cache[0] != key:
            names = ("odd", "marked", "cursor", "placeholder", "cursor-cell")
            styles = {name: self.get_component_rich_style(f"grid--{name}") for name in names}
            styles["base"] = self.rich_style
            self._style_cache = (key, styles, {})
        return self._style_cache[1]

    def _parsed(self, style: str) -> Style:
        parsed = self._style_cache[2]
        found = parsed.get(style)
        if found is None:
            found = parsed[style] = Style.parse(style)
        return found

    def _draw_row(
        self, index: int, cells: Sequence[str] | None, cursor: bool, marked: bool
    ) -> Strip:
        styles = self._styles()
        style = styles["base"]
        if index % 2:
            style += styles["odd"]
        if marked:
            style += styles["marked"]
        if cursor:
            style += styles["cursor"]
        if cells is None:
            total = sum(w + 1 for w in self.widths) + 1
            return Strip([Segment(fit(" …", total), style + styles["placeholder"])])
        # Cells of the row's own style run together in one segment (a row is then a few
        # segments, not two a cell: every repaint of the line walks them).
        segments: list[Segment] = []
        run: list[str] = []
        for x, width in enumerate(self.widths):
            text = cells[x] if x < len(cells) else ""
            cell = style
            extra = self.source.cell_style(index, x, text)
            if extra:
                cell = cell + self._parsed(extra)
            if cursor and x == self.cursor_column:
                cell = cell + styles["cursor-cell"]
            run.append(" ")
            if cell is style:
                run.append(fit(text, width))
            else:
                segments.append(Segment("".join(run), style))
                segments.append(Segment(fit(text, width), cell))
                run = []
        run.append(" ")
        segments.append(Segment("".join(run), style))
        return Strip(segments)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._layout += 1
        self._lines.clear()

    def on_focus(self) -> None:
        self.refresh_rows([self.cursor_row])

    def on_blur(self) -> None:
        self.refresh_rows([self.cursor_row])

    # -- asking for rows -------------------------------------------------------------

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._want_visible()

    def _want_visible(self) -> None:
        """Ask for the rows on screen that are not read yet (once per screenful)."""
        rows = self.visible_range()
        missing = [i for i in rows if self.source.cells(i) is None]
        if not missing:
            return
        wanted = (missing[0], missing[-1] + 1)
        if wanted == self._wanted:
            return
        self._wanted = wanted
        self.post_message(self.RowsWanted(self, *wanted))

    def rows_arrived(self) -> None:
        """Rows asked for were read: ask again for any still missing."""
        self._wanted = None
        self.refresh()
        self.call_after_refresh(self._want_visible)

    # -- the cursor -------------------------------------------------------------------

    def move_to(self, row: int | None = None, column: int | None = None) -> None:
        """Put the cursor at `row` / `column` (clamped) and keep it in view."""
        count = self.source.row_count()
        old_row, old_column = self.cursor_row, self.cursor_column
        if row is not None:
            self.cursor_row = max(0, min(row, count - 1))
        if column is not None:
            self.cursor_column = max(0, min(column, len(self.widths) - 1))
        self._scroll_to_cursor()
        if self.cursor_column != old_column:
            self.refresh_lines(0)
            self.refresh_rows([self.cursor_row])
        if self.cursor_row != old_row:
            self.refresh_rows([old_row, self.cursor_row])
            self.post_message(self.CursorMoved(self, self.cursor_row))

    def _scroll_to_cursor(self) -> None:
        top = self.scroll_offset.y
        height = self.visible_rows
        row = self.cursor_row
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False, immediate=True)
        view = self.scrollable_content_region.width
        if self.offsets and view > 0:  # (not laid out yet: nothing to keep in view)
            pinned = self.pinned
            if pinned and self.cursor_column < self.fixed_columns:
                return  # always in sight
            # Where the column is among the columns that scroll, in the room they have.
            left = self.offsets[self.cursor_column] - pinned
            right = left + self.widths[self.cursor_column] + 2
            view -= pinned
            scroll_x = self.scroll_offset.x
            if left < scroll_x:
                self.scroll_to(x=left, animate=False, immediate=True)
            elif right > scroll_x + view:
                x = min(left, right - view)
                if pinned:  # next to the pinned columns, a column starts (none cut in two)
                    starts = [
                        self.offsets[c] - pinned
                        for c in range(self.fixed_columns, len(self.offsets))
                    ]
                    x = min((start for start in starts if start >= x), default=x)
                self.scroll_to(x=x, animate=False, immediate=True)

    def action_cursor_down(self) -> None:
        self.move_to(row=self.cursor_row + 1)

    def action_cursor_up(self) -> None:
        self.move_to(row=self.cursor_row - 1)

    def action_half_page(self, direction: int) -> None:
        self._jump(direction * max(1, self.visible_rows // 2))

    def action_page(self, direction: int) -> None:
        self._jump(direction * self.visible_rows)

    def _jump(self, rows: int) -> None:
        """Move cursor and view together by `rows` (the cursor keeps its place on screen)."""
        self.scroll_to(y=self.scroll_offset.y + rows, animate=False, immediate=True)
        self.move_to(row=self.cursor_row + rows)

    def action_first(self) -> None:
        self.move_to(row=0)

    def action_last(self) -> None:
        self.move_to(row=self.source.row_count() - 1)

    def action_column(self, step: int) -> None:
        self.move_to(column=self.cursor_column + step)

    def action_select(self) -> None:
        if self.source.row_count():
            self.post_message(self.Selected(self, self.cursor_row))

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        pinned = self.pinned
        x = offset.x if pinned and offset.x < pinned else offset.x + self.scroll_offset.x
        column = next(
            (i for i in range(len(self.offsets) - 1, -1, -1) if self.offsets[i] <= x), None
        )
        if offset.y == 0:
            if column is not None:
                self.post_message(self.HeaderClicked(self, column))
            return
        row = self.scroll_offset.y + offset.y - 1
        if row >= self.source.row_count():
            return
        self.move_to(row=row, column=column)
        if event.chain > 1:  # a double click opens; a click only moves the cursor
            self.post_message(self.Selected(self, row))

    # -- what tests and scripts read ------------------------------------------------

    @property
    def row_count(self) -> int:
        return self.source.row_count()

    def get_row_at(self, index: int) -> Sequence[str] | None:
        """The cells of row `index` as shown (None: not read yet)."""
        return self.source.cells(index)

    @property
    def cursor_coordinate(self) -> tuple[int, int]:
        return (self.cursor_row, self.cursor_column)

    def move_cursor(self, row: int | None = None, column: int | None = None) -> None:
        self.move_to(row=row, column=column)
