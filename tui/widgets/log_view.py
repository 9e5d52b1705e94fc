"""A run's console output, live: the Logs tab of the run detail.

`LogView` draws only the lines on screen (the Line API, as `grid.py`), each read from the
file when drawn (`tui/logfile.py`) and kept drawn until it changes. Its first line says
what it is doing: following the end, or paused (scrolled up: new lines are counted, End or
`f` follows again), and what a search found.

- Follow: every `POLL_S` while the tab is shown and its screen active, a stat of the file;
  what was appended is read, and a view at the end stays at the end. Scrolling up (keys,
  wheel, scrollbar) pauses; End or `f` resumes.
- `/` finds plain text (smart case: a capital makes it case-sensitive); enter jumps to the
  next line holding it, `n` / `N` the next / previous, wrapping; matches are highlighted.
  The search reads the file in a worker thread, in chunks: a million lines do not freeze it.
- `t` shows each line's time (HH:MM:SS, local) and marks stderr lines with a red `E`. Off at
  first: logs mostly carry their own times, and the room is the text's.
- Text is shown, never obeyed: SGR colour and weight codes become styles; every other
  escape sequence and control character is shown as text (ESC as `␛`, BEL as `^G`), so a
  log can neither move the cursor, retitle the terminal, nor make a link; nothing in it
  is Rich markup.
"""

from __future__ import annotations

import re
from array import array
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.ansi import AnsiDecoder
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input

from mltop.tui.logfile import MAX_LINE, LogFile, find_line
from mltop.tui.text import TYPABLE, clean, file_size

POLL_S = 0.5
CACHE_LINES = 400
GUTTER = 11  # "HH:MM:SS E "
EMPTY = (
    "No console output was captured for this run.",
    "",
    "Run the script with `mltop run`, or start its run with",
    "`start_run(capture_output=True)`: its stdout and stderr show here as they come.",
)

# SGR sequences (colours, bold, ...: kept, for Rich to read as styles), then every other
# control character (C0 but tab, DEL, C1) and the bidirectional overrides.
_CONTROL = re.compile(r"\x1b\[[0-9;]*m|[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    char = match[0]
    if len(char) > 1:
        return char  # an SGR sequence
    code = ord(char)
    if code == 0x1B:
        return "␛"
    if code < 0x20:
        return "^" + chr(code + 0x40)
    if code == 0x7F:
        return "^?"
    return clean(char)  # C1 and bidi: \x9b, \u202e


_UNHIDDEN = Style(conceal=False, blink=False, blink2=False)


def ansi_text(line: str) -> Text:
    """The line as Rich Text: SGR codes as styles, every other control shown literally."""
    if line.isprintable():
        return Text(line)
    shown = _CONTROL.sub(_visible, line)
    if "\x1b" in shown:
        text = AnsiDecoder().decode_line(shown)
        # Colours and weight, yes; text made invisible (conceal) or blinking, no: all of a
        # log is there to be read (and a search may land on it).
        text.spans = [
            span._replace(style=span.style + _UNHIDDEN) if isinstance(span.style, Style) else span
            for span in text.spans
        ]
    else:
        text = Text(shown)
    if "\t" in shown:
        text.expand_tabs(8)
    return text


def clock(ms: int) -> str:
    try:
        return datetime.fromtimestamp(ms / 1000).strftime("%H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return "--:--:--"


def smart_case(query: str) -> int:
    """re flags for a query: case-insensitive unless it holds a capital."""
    return 0 if any(char.isupper() for char in query) else re.IGNORECASE


@dataclass
class HeadIndexed(Message):
    epoch: int
    head: array[int]


@dataclass
class Found(Message):
    epoch: int
    serial: int  # which search
    line: int | None


class LogView(ScrollView, can_focus=True):
    """A log file's lines, drawn as they come into sight, under a status line."""

    DEFAULT_CSS = """
    LogView {
        height: 1fr;
        background: $surface;
        overflow-x: auto;
        overflow-y: auto;
    }
    LogView > .log--status { background: $panel; color: $text; text-style: bold; }
    LogView > .log--paused { background: $warning 40%; color: $text; text-style: bold; }
    LogView > .log--match { background: $warning 70%; color: $text; }
    LogView > .log--current { background: $accent 30%; }
    LogView > .log--time { color: $text-muted; }
    LogView > .log--stderr { color: $error; text-style: bold; }
    LogView > .log--note { color: $text-muted; text-style: italic; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "log--status",
        "log--paused",
        "log--match",
        "log--current",
        "log--time",
        "log--stderr",
        "log--note",
    }
    HELP_KEYS = True  # `?` lists these keys while the view has the focus
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "line(-1)", "Up", show=False, id="logs.up"),
        Binding("down,j", "line(1)", "Down", show=False, id="logs.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="logs.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="logs.page_down"),
        Binding("ctrl+u", "half(-1)", "Half page up", show=False, id="logs.half_up"),
        Binding("ctrl+d", "half(1)", "Half page down", show=False, id="logs.half_down"),
        Binding("home,g", "first", "First", show=False, id="logs.first"),
        Binding("end,G,f", "follow", "Follow", tooltip="Follow the end", id="logs.follow"),
        Binding("left,h", "sideways(-1)", "Left", show=False, id="logs.left"),
        Binding("right,l", "sideways(1)", "Right", show=False, id="logs.right"),
        Binding("slash", "find", "Find", tooltip="Find text in the log", id="logs.find"),
        Binding("n", "next_match(1)", "Next", tooltip="The next line found", id="logs.next"),
        Binding(
            "N",
            "next_match(-1)",
            "Previous",
            show=False,
            tooltip="The previous line found",
            id="logs.previous",
        ),
        Binding("t", "toggle_times", "Times", tooltip="Each line's time; E: stderr", id="logs.t"),
    ]

    def __init__(self, log: LogFile, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.logfile = log
        self.following = True
        self.new_lines = 0  # arrived while paused
        self.show_times = False
        self.query_text = ""  # the search
        self.pattern: re.Pattern[str] | None = None
        self.match_line: int | None = None  # the line the search is at
        self.finding = False
        self.not_found = False
        self.searches = 0  # searches started: only the latest one's answer counts
        self.polls = 0  # stats of the file made (tests count them)
        self._count = 0  # lines drawn for
        self._widest = 0
        self._lines: OrderedDict[tuple[object, ...], Strip] = OrderedDict()
        self._styles: dict[str, Style] | None = None
        self._head_wanted = False

    # -- the file --------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.logfile.open()
        self._grown(fresh=True)
        self.set_interval(POLL_S, self._tick)

    def on_unmount(self) -> None:
        self.logfile.close()

    @property
    def watching(self) -> bool:
        """Shown (its tab too) on the active screen: only then is the file looked at."""
        if not self.is_mounted or not self.screen.is_active:
            return False
        return all(node.display for node in self.ancestors_with_self if isinstance(node, Widget))

    def _tick(self) -> None:
        if self.watching:
            self.poll()

    def poll(self) -> None:
        """Look at the file (a stat) and take in what was appended."""
        self.polls += 1
        epoch = self.logfile.epoch
        if self.logfile.refresh():
            self._grown(fresh=self.logfile.epoch != epoch)
        if self.logfile.pending:  # a burst bigger than one read: the rest soon, in steps
            self.set_timer(0.02, self._tick)

    def _grown(self, fresh: bool = False) -> None:
        """The lines changed: size the view again and keep the end in sight if following."""
        count = len(self.logfile)
        if fresh:  # another file, or a first look: nothing counted is the same line
            self.new_lines = 0
            self.match_line = None
            self._count = 0
            # The lines before the end are indexed once the end is drawn (`render_line`):
            # the worker would hold the interpreter meanwhile.
            self._head_wanted = self.logfile.exists and not self.logfile.head_done
        elif not self.following:
            self.new_lines += max(0, count - self._count)
        self._count = count
        self.virtual_size = Size(self._widest, count + 1)
        if self.following:
            self._to_end()
        self.refresh()

    def _to_end(self) -> None:
        self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
        # (Not laid out yet, the end is not known: again once it is.)
        self.call_after_refresh(self._stay_at_end)

    def on_resize(self) -> None:
        if self.following:  # (laid out: the end is known now)
            self._to_end()

    def _stay_at_end(self) -> None:
        if self.following and self.scroll_y != self.max_scroll_y:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)

    @work(thread=True, exclusive=True, group="log-head")
    def _index_head(self) -> None:
        found = self.logfile.index_head()
        if found is not None:
            self.post_message(HeadIndexed(*found))

    def on_head_indexed(self, message: HeadIndexed) -> None:
        shift = self.logfile.add_head(message.epoch, message.head)
        if not shift:
            return
        self._count += shift
        self.virtual_size = Size(self._widest, len(self.logfile) + 1)
        if self.match_line is not None:
            self.match_line += shift
        if self.following:
            self._to_end()
        else:
            self.scroll_to(y=self.scroll_y + shift, animate=False, immediate=True)
        if self.query_text and self.not_found:  # it may be in the lines before
            self._start_find(-1, 1)
        self.refresh()

    # -- scrolling -------------------------------------------------------------------------

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if self.following and new < old and new < self.max_scroll_y:
            self.pause()

    def pause(self) -> None:
        if self.following:
            self.following = False
            self.new_lines = 0
            self.refresh_lines(0)

    def action_follow(self) -> None:
        self.following = True
        self.new_lines = 0
        self._to_end()
        self.refresh_lines(0)

    def action_line(self, step: int) -> None:
        self._scroll_by(step)

    def action_page(self, step: int) -> None:
        self._scroll_by(step * max(1, self.size.height - 2))

    def action_half(self, step: int) -> None:
        self._scroll_by(step * max(1, (self.size.height - 1) // 2))

    def _scroll_by(self, lines: int) -> None:
        top = self._top_line()
        if lines < 0 and top > 0:
            self.pause()
        self.scroll_to(y=top + lines, animate=False, immediate=True)

    def action_first(self) -> None:
        if self._top_line() > 0:
            self.pause()
        self.scroll_to(y=0, animate=False, immediate=True)

    def action_sideways(self, step: int) -> None:
        self.scroll_to(x=self.scroll_x + step * 8, animate=False, immediate=True)

    # -- search ----------------------------------------------------------------------------

    def action_find(self) -> None:
        self.post_message(FindAsked())

    def find(self, query: str) -> None:
        """Search for `query` (plain text) from the top of the screen down; "" clears it."""
        self.query_text = query
        self.match_line = None
        self.not_found = False
        self.pattern = re.compile(re.escape(query), smart_case(query)) if query else None
        self._lines.clear()
        self.refresh()
        if query:
            self._start_find(self._top_line() - 1, 1)

    def action_next_match(self, direction: int) -> None:
        if not self.query_text:
            self.action_find()
            return
        at = self.match_line
        if at is None:
            at = self._top_line() - 1 if direction > 0 else self._top_line()
        self._start_find(at, direction)

    def _top_line(self) -> int:
        """The first line on screen. Following, the last lines are, wherever the scroll
        offset is yet: the first paint after the tab is made shows the end already."""
        if self.following:
            rows = max(0, self.scrollable_content_region.height - 1)
            return max(0, len(self.logfile) - rows)
        return int(self.scroll_y)

    def _start_find(self, after: int, direction: int) -> None:
        if self.pattern is None:
            return
        self.finding = True
        self.searches += 1
        self.refresh_lines(0)
        fold = smart_case(self.query_text) == re.IGNORECASE
        needle = self.query_text.encode("utf-8")
        if fold:
            needle = needle.lower()
        self._find(self.searches, needle, fold, self.pattern, after, direction, self.logfile.epoch)

    @work(thread=True, exclusive=True, group="log-find")
    def _find(
        self,
        serial: int,
        needle: bytes,
        fold: bool,
        shown: re.Pattern[str],
        after: int,
        direction: int,
        epoch: int,
    ) -> None:
        log = self.logfile

        def is_shown(index: int) -> bool:
            return shown.search(ansi_text(log.line(index)).plain) is not None

        try:
            line = find_line(log, needle, fold, after, direction, is_shown)
        except OSError:
            line = None
        self.post_message(Found(epoch, serial, line))

    def on_found(self, message: Found) -> None:
        if message.serial != self.searches:
            return  # a search since replaced
        if message.epoch != self.logfile.epoch:  # the lines were numbered anew meanwhile
            self._start_find(self._top_line() - 1, 1)
            return
        self.finding = False
        self.not_found = message.line is None
        self.match_line = message.line
        if message.line is not None:
            self.pause()  # (already paused: the new lines go on being counted)
            rows = max(1, self.size.height - 1)
            self.scroll_to(y=max(0, message.line - rows // 2), animate=False, immediate=True)
        self.refresh()

    # -- drawing ---------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._lines.clear()

    def styles_of(self) -> dict[str, Style]:
        if self._styles is None:
            self._styles = {
                name: self.get_component_rich_style(f"log--{name}")
                for name in ("status", "paused", "match", "current", "time", "stderr", "note")
            }
        return self._styles

    def action_toggle_times(self) -> None:
        self.show_times = not self.show_times
        self.refresh()

    def status(self) -> tuple[Text, str]:
        """The first line's text and its style's name."""
        log = self.logfile
        if not log.exists:
            return Text(" no console output"), "status"
        count = len(log)
        lines = "1 line" if count == 1 else f"{count:,} lines"
        if not log.head_done:
            lines = f"the last {lines} (reading the rest…)"
        found = Text()
        if self.query_text:
            found.append("   find ")
            found.append(repr(clean(self.query_text)))
            if self.finding:
                found.append(": finding…")
            elif self.not_found:
                found.append(": not found")
            elif self.match_line is not None:
                found.append(f": line {self.match_line + 1:,}")
        if self.following:
            said, style = [f" following the end: {lines}", f" following: {lines}"], "status"
        else:
            new = "1 new line" if self.new_lines == 1 else f"{self.new_lines:,} new lines"
            said = [
                f" paused: {new}, press End (or f) to follow   {lines}",
                f" paused: {new}, End follows   {lines}",
                f" paused: {new}, End follows",
            ]
            style = "paused"
        # The longest that fits with what a search found (a narrow terminal keeps that).
        width = self.scrollable_content_region.width or 10_000
        room = width - found.cell_len
        text = Text(next((t for t in said if len(t) <= room), said[-1]))
        return text + found, style

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            text, name = self.status()
            style = base + self.styles_of()[name]
            text.stylize(style)
            return Strip(text.render(self.app.console)).crop_extend(0, width, style)
        index = self._top_line() + y - 1
        log = self.logfile
        if not log.exists:
            note = EMPTY[y - 2] if 2 <= y < 2 + len(EMPTY) else ""
            empty = Strip([Segment("  " + note, base + self.styles_of()["note"])])
            return empty.crop_extend(0, width, base)
        if index >= len(log):
            return Strip.blank(width, base)
        if self._head_wanted:
            self._head_wanted = False
            self.call_later(self._index_head)  # (after this paint)
        span = log.span(index)
        key = (
            index,
            span,
            self.show_times,
            self.pattern,
            index == self.match_line,
            log.epoch,
        )
        strip = self._lines.get(key)
        if strip is None:
            strip = self._draw(index, span)
            self._lines[key] = strip
            if len(self._lines) > CACHE_LINES:
                self._lines.popitem(last=False)
        if self.show_times:  # the times stay put as the text scrolls sideways
            x = int(self.scroll_x) + GUTTER
            rest = strip.crop_extend(x, x + width - GUTTER, base)
            return Strip.join([strip.crop(0, GUTTER), rest])
        return strip.crop_extend(int(self.scroll_x), int(self.scroll_x) + width, base)

    def _draw(self, index: int, span: tuple[int, int]) -> Strip:
        styles = self.styles_of()
        log = self.logfile
        text = ansi_text(log.line(index))
        length = span[1] - span[0]
        if length > MAX_LINE:
            text.append(
                f"  … (a line of {file_size(length)}: the first {file_size(MAX_LINE)} shown)",
                styles["note"],
            )
        if self.pattern is not None:
            text.highlight_regex(self.pattern, styles["match"])
        if index == self.match_line:
            text.stylize_before(styles["current"])  # (under the matches' own)
        if self.show_times:
            when = log.time(index)
            gutter = Text(no_wrap=True)
            if when is None:
                gutter.append(" " * GUTTER)
            else:
                ms, fd = when
                error = fd == 2
                gutter.append(clock(ms), styles["stderr" if error else "time"])
                gutter.append(" E " if error else "   ", styles["stderr"])
            text = gutter + text
        if text.cell_len > self._widest:
            self._widest = text.cell_len
            self.call_after_refresh(self._widen)
        return Strip(text.render(self.app.console), text.cell_len).apply_style(self.rich_style)

    def _widen(self) -> None:
        if self.virtual_size.width < self._widest:
            self.virtual_size = Size(self._widest, self.virtual_size.height)


class FindAsked(Message):
    """`/`: the pane opens its search box."""


class LogSearch(Input):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="logs.close_find"),
    ]

    def action_close(self) -> None:
        self.post_message(self.Closed())

    class Closed(Message):
        pass


class LogPane(Vertical):
    """The Logs tab: the log, and its search box under it when `/` opens it."""

    DEFAULT_CSS = """
    LogPane { height: 1fr; }
    LogPane > LogSearch { display: none; margin: 0 1; }
    LogPane > LogSearch.-open { display: block; }
    """

    def __init__(self, log: LogFile, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.logfile = log

    def compose(self) -> ComposeResult:
        yield LogView(self.logfile, id="log-view")
        yield LogSearch(
            placeholder="find text (a capital: case-sensitive); enter finds, escape closes",
            id="log-search",
            restrict=TYPABLE,
        )

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    @on(FindAsked)
    def _open_search(self, event: FindAsked) -> None:
        event.stop()
        search = self.query_one(LogSearch)
        search.add_class("-open")
        search.value = self.view.query_text
        search.focus()
        search.select_all()  # (typing replaces the last search)

    @on(Input.Submitted, "#log-search")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._close()
        self.view.find(event.value)

    @on(LogSearch.Closed)
    def _search_closed(self, event: LogSearch.Closed) -> None:
        event.stop()
        self._close()

    def _close(self) -> None:
        self.query_one(LogSearch).remove_class("-open")
        self.view.focus()
