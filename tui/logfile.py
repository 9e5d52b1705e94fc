"""A run's console log, read as lines: `logs/stdout.log` and its `logs/stdout.log.times`.

The log may hold a million lines and still be growing: `LogFile` keeps only where each line
starts (8 bytes a line) and reads a line's bytes when it is drawn. It opens on the file's
end (`open` reads its last `TAIL_BYTES`: the screenful a follower shows first), and the
lines before are indexed by `index_head` (a worker's job) and joined by `add_head`.
`refresh` reads only the bytes appended since; a file that shrank or was replaced (another
inode) is read again from its end.

Lines are what `bytes.split(b"\\n")` makes of the whole file (the last, without its
newline yet, may be a line still being written). Shown, a line is decoded as UTF-8 (bad
bytes replaced); one holding b"\\r" (a progress bar redrawing itself) shows what a terminal
would show last: the text after its last carriage return that is not empty; a line longer
than `MAX_LINE` bytes is read and shown only up to there.

The times file (`"<offset> <unix_ms> <fd>\\n"` per line, in the order of the offsets) is
never read whole: a line's time is found by a binary search over the file's bytes, a few
small reads, when the line is drawn with its time. An entry that does not parse (garbage,
or the last one without its newline yet) gives its line no time, and never an error.

No Textual here: the widget (`widgets/log_view.py`) draws what this reads.
"""

from __future__ import annotations

import os
import re
from array import array
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import accumulate, islice
from pathlib import Path
from typing import BinaryIO

MAX_LINE = 64 * 1024  # bytes of one line read and shown; the rest is cut, with a note
TAIL_BYTES = 256 * 1024  # read first, from the end: more than a screenful of lines
# Bytes read at once when indexing: a chunk's split holds the interpreter (a worker's
# chunks would stall the screen for as long).
CHUNK = 1024 * 1024
REFRESH_BYTES = 16 * 1024 * 1024  # read at most this much per refresh (the rest next time)


def newline_ends(data: bytes, base: int) -> Iterator[int]:
    """The offsets just after each b"\\n" in `data`, which starts at offset `base`."""
    pieces = data.split(b"\n")
    return islice(accumulate((len(piece) + 1 for piece in pieces[:-1]), initial=base), 1, None)


def shown_bytes(raw: bytes) -> bytes:
    """What a terminal shows last of a line: after its last b"\\r" with text after it."""
    if raw.endswith(b"\r"):
        raw = raw.rstrip(b"\r")  # a CRLF line, or a bar that ended its redraw with \r
    if b"\r" in raw:
        raw = raw.rsplit(b"\r", 1)[-1] or raw
    return raw


@dataclass(frozen=True)
class Identity:
    """Which file a path names (a file replaced under the same name is another)."""

    device: int
    inode: int


def identity(stat: os.stat_result) -> Identity:
    return Identity(stat.st_dev, stat.st_ino)


class LogFile:
    """The lines of a growing log file, indexed by where each starts."""

    def __init__(
        self, path: Path, times_path: Path | None = None, tail_bytes: int = TAIL_BYTES
    ) -> None:
        self.path = path
        self.tail_bytes = tail_bytes
        self.times = LogTimes(times_path or path.with_name(path.name + ".times"))
        self.starts = array("q")  # where each line known starts, in order
        self.head_done = False  # `starts` begins at the file's first byte
        self.size = 0  # bytes indexed
        self.pending = False  # more was appended than the last `refresh` read
        self.file: Identity | None = None
        self.handle: BinaryIO | None = None  # the file read (a replaced file: the old one)
        # Bumped whenever line numbers change meaning (lines joined before, or the file
        # read anew): a worker's answer in other numbers is thrown away.
        self.epoch = 0

    # -- reading the file ---------------------------------------------------------------

    @property
    def exists(self) -> bool:
        return self.file is not None

    def open(self) -> bool:
        """Read the file's end (its last lines); False when there is no file."""
        self._reset()
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 (kept: lines are read from it)
        except OSError:
            return False
        try:
            stat = os.fstat(handle.fileno())
            size = stat.st_size
            start = max(0, size - self.tail_bytes)
            data = os.pread(handle.fileno(), size - start, start)
        except OSError:
            handle.close()
            return False
        self.handle = handle
        self.file = identity(stat)
        self.size = start + len(data)
        if start == 0:
            self.starts.append(0)
            self.head_done = True
        self.starts.extend(newline_ends(data, start))
        if not self.starts:  # one line longer than the tail: index it all now
            self.starts = self._index(0, self.size)
            self.head_done = True
        self.times.refresh()
        return True

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None

    def _reset(self) -> None:
        self.close()
        self.pending = False
        self.starts = array("q")
        self.head_done = False
        self.size = 0
        self.file = None
        self.epoch += 1

    def _index(self, start: int, stop: int) -> array[int]:
        """Line starts from offset `start` (a line start) up to `stop`, both included."""
        starts = array("q", [start])
        with open(self.path, "rb") as handle:
            handle.seek(start)
            at = start
            while at < stop:
                data = handle.read(min(CHUNK, stop - at))
                if not data:
                    break
                starts.extend(newline_ends(data, at))
                at += len(data)
        return starts

    def index_head(self) -> tuple[int, array[int]] | None:
        """The starts of the lines before those read by `open` (a worker's job: a hundred
        megabytes take a few tenths of a second), with the epoch they belong to; None when
        there is nothing before, or the file is another by now."""
        if self.head_done or not self.starts:
            return None
        epoch, first, known = self.epoch, self.starts[0], self.file
        try:
            if identity(os.stat(self.path)) != known:
                return None
            head = self._index(0, first)
        except OSError:
            return None
        while head and head[-1] >= first:
            head.pop()  # (the first line known starts after the newline that ends the head)
        return epoch, head

    def add_head(self, epoch: int, head: array[int]) -> int:
        """Join the lines `index_head` found; how many lines now come before the first
        known (0 when the file changed meanwhile)."""
        if epoch != self.epoch or self.head_done:
            return 0
        self.starts = head + self.starts
        self.head_done = True
        self.epoch += 1
        return len(head)

    def refresh(self, max_bytes: int = REFRESH_BYTES) -> bool:
        """Read what was appended since (at most `max_bytes` of it); a file shrunk or
        replaced is read anew from its end. True when anything changed."""
        try:
            stat = os.stat(self.path)
        except OSError:
            if self.file is None:
                return False
            self._reset()
            return True
        if self.file is None or identity(stat) != self.file or stat.st_size < self.size:
            self.open()
            return True
        self.times.refresh()
        if stat.st_size == self.size:
            return False
        try:
            assert self.handle is not None
            data = os.pread(
                self.handle.fileno(), min(max_bytes, stat.st_size - self.size), self.size
            )
        except OSError:
            return False
        self.starts.extend(newline_ends(data, self.size))
        self.size += len(data)
        self.pending = self.size < stat.st_size
        return True

    # -- lines --------------------------------------------------------------------------

    def __len__(self) -> int:
        """The lines shown: those known, but not an empty last one after the last newline."""
        count = len(self.starts)
        if count and self.starts[-1] == self.size:
            count -= 1
        return count

    def span(self, index: int) -> tuple[int, int]:
        """Where line `index` starts and ends (its newline not included)."""
        starts = self.starts
        start = starts[index]
        end = starts[index + 1] - 1 if index + 1 < len(starts) else self.size
        return start, end

    def raw(self, index: int, limit: int = MAX_LINE) -> bytes:
        """The line's bytes (at most `limit` of them)."""
        start, end = self.span(index)
        if end <= start or self.handle is None:
            return b""
        try:
            return os.pread(self.handle.fileno(), min(limit, end - start), start)
        except OSError:
            return b""

    def line(self, index: int) -> str:
        """The line's text as a terminal would show it last (at most `MAX_LINE` bytes)."""
        return shown_bytes(self.raw(index)).decode("utf-8", errors="replace")

    def length(self, index: int) -> int:
        """The line's whole length in bytes (more than `MAX_LINE`: shown cut)."""
        start, end = self.span(index)
        return end - start

    def line_at(self, offset: int) -> int:
        """The index of the line holding byte `offset` (-1: before the lines known)."""
        return bisect_right(self.starts, offset) - 1

    def time(self, index: int) -> tuple[int, int] | None:
        """(unix ms, fd) for the line, from the times file; None when it has none."""
        return self.times.lookup(self.starts[index])

    def lines(self) -> list[bytes]:
        """Every line's bytes, whole (tests compare them with the file's)."""
        return [self.raw(i, limit=self.length(i)) for i in range(len(self.starts))]


SEARCH_CHUNK = 1024 * 1024


def find_in(
    log: LogFile, needle: bytes, fold: bool, start: int, stop: int, last: bool
) -> int | None:
    """The offset of the first (or `last`) `needle` starting in [start, stop) of the file;
    `fold`: ASCII letters in any case (`needle` given in lower case). Read in chunks."""
    if start >= stop or not needle:
        return None
    overlap = len(needle) - 1  # a match across two chunks is read whole
    with open(log.path, "rb") as handle:
        fd = handle.fileno()
        if last:
            end = stop
            while end > start:
                begin = max(start, end - SEARCH_CHUNK)
                data = os.pread(fd, end - begin + overlap, begin)
                if fold:
                    data = data.lower()
                found = data.rfind(needle, 0, end - begin + len(needle) - 1)
                if found >= 0:
                    return begin + found
                end = begin
            return None
        at = start
        while at < stop:
            size = min(SEARCH_CHUNK, stop - at)
            data = os.pread(fd, size + overlap, at)
            if fold:
                data = data.lower()
            found = data.find(needle, 0, size + len(needle) - 1)
            if found >= 0:
                return at + found
            at += size
    return None


def find_line(
    log: LogFile,
    needle: bytes,
    fold: bool,
    after: int,
    direction: int,
    shown: Callable[[int], bool],
) -> int | None:
    """The next line (`direction` 1) or previous (-1) after line `after` whose bytes hold
    `needle` (`fold`: in any ASCII case, `needle` in lower case) and for which
    `shown(index)` holds (the text shown has it: not only a part a carriage return hid, or
    an escape code), wrapping around; None when none does. `after` -1 searches from the
    first line. A worker's job: it reads the file."""
    starts = log.starts
    count = len(starts)
    if not count:
        return None
    base, size = starts[0], log.size
    if direction > 0:
        split = starts[after + 1] if 0 <= after + 1 < count else size
        if after < 0:
            split = base
        ranges = [(split, size), (base, split)]
    else:
        split = starts[after] if 0 <= after < count else size
        ranges = [(base, split), (split, size)]
    for start, stop in ranges:
        while start < stop:
            offset = find_in(log, needle, fold, start, stop, last=direction < 0)
            if offset is None:
                break
            line = bisect_right(starts, offset) - 1  # (in these numbers, if lines are joined)
            if line < 0:
                break
            if shown(line):
                return line
            if direction > 0:  # on past the line
                start = starts[line + 1] if line + 1 < len(starts) else stop
            else:
                stop = starts[line]
    return None


_ENTRY = re.compile(rb"(\d{1,18}) (\d{1,18}) ([12])")
ENTRY_MAX = 48  # bytes: a valid entry is at most 18 + 1 + 18 + 1 + 1 + 1
BLOCK = 4096
CACHE = 4096


class LogTimes:
    """A log's times file, searched where a line's entry should be, never read whole."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self.file: Identity | None = None
        self.cache: OrderedDict[int, tuple[int, int] | None] = OrderedDict()

    def refresh(self) -> None:
        """Look at the file's size again (a cheap stat)."""
        try:
            stat = os.stat(self.path)
        except OSError:
            self.size, self.file = 0, None
            self.cache.clear()
            return
        if identity(stat) != self.file or stat.st_size < self.size:
            self.cache.clear()
        elif stat.st_size != self.size:
            # Entries without an answer may have arrived since.
            for key in [k for k, v in self.cache.items() if v is None]:
                del self.cache[key]
        self.size, self.file = stat.st_size, identity(stat)

    def lookup(self, offset: int) -> tuple[int, int] | None:
        """(unix ms, fd) of the entry for the line starting at byte `offset`."""
        if offset in self.cache:
            self.cache.move_to_end(offset)
            return self.cache[offset]
        try:
            with open(self.path, "rb") as handle:
                found = self._search(handle.fileno(), offset)
        except OSError:
            found = None
        self.cache[offset] = found
        if len(self.cache) > CACHE:
            self.cache.popitem(last=False)
        return found

    def _entries(
        self, fd: int, start: int, stop: int
    ) -> Iterator[tuple[int, int, int, tuple[int, int]]]:
        """(line start, line end, offset, (ms, fd)) of the entries whose line starts in
        [start, stop), `start` being a line start; lines that do not parse are skipped."""
        at = start
        while at < stop:
            data = os.pread(fd, min(BLOCK, self.size - at), at)
            if not data:
                return
            cut = data.rfind(b"\n")
            if cut < 0:
                if len(data) < BLOCK:
                    return  # the last entry, without its newline yet
                # A line of garbage longer than the block: go past it.
                at += len(data)
                at = self._line_start(fd, at)
                continue
            pos = 0
            for line in data[:cut].split(b"\n"):
                if at + pos >= stop:
                    return
                match = _ENTRY.fullmatch(line)
                if match is not None:
                    when = (int(match[2]), int(match[3]))
                    yield at + pos, at + pos + len(line) + 1, int(match[1]), when
                pos += len(line) + 1
            at += cut + 1

    def _line_start(self, fd: int, position: int) -> int:
        """The first line start at or after `position`."""
        if position <= 0:
            return 0
        at = position - 1
        while at < self.size:
            data = os.pread(fd, min(BLOCK, self.size - at), at)
            if not data:
                break
            found = data.find(b"\n")
            if found >= 0:
                return at + found + 1
            at += len(data)
        return self.size

    def _search(self, fd: int, offset: int) -> tuple[int, int] | None:
        lo, hi = 0, self.size  # the entry, if there is one, starts in [lo, hi)
        while hi - lo > BLOCK:
            mid = self._line_start(fd, (lo + hi) // 2)
            if mid >= hi:
                break  # one long line from the middle on: read from lo
            entry = next(self._entries(fd, mid, hi), None)
            if entry is None:
                hi = mid
                continue
            line_start, line_end, found, when = entry
            if found == offset:
                return when
            if found < offset:
                lo = line_end
            else:
                hi = line_start
        for _, _, found, when in self._entries(fd, lo, hi):
            if found == offset:
                return when
            if found > offset:
                break
        return None
