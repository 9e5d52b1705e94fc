"""The console log read as lines (`tui/logfile.py`): indexed from its end first, then whole;
grown by what was appended only; read anew when shrunk or replaced; carriage returns shown
as a terminal would; long lines cut; times found in the times file, garbage ignored."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from mltop.tui.logfile import MAX_LINE, LogFile, find_line


def write_log(
    folder: Path, lines: list[bytes], *, fds: list[int] | None = None, t0: int = 1_700_000_000_000
) -> Path:
    """A captured log in the documented format: `stdout.log` and its `.times` entries
    (`<offset> <unix_ms> <fd>`, one second apart), appended to whatever is there."""
    folder.mkdir(parents=True, exist_ok=True)
    log, times = folder / "stdout.log", folder / "stdout.log.times"
    with open(log, "ab") as out, open(times, "a") as when:
        for i, line in enumerate(lines):
            offset = out.tell()
            out.write(line)
            fd = fds[i] if fds else 1
            when.write(f"{offset} {t0 + 1000 * i} {fd}\n")
    return log


def opened(path: Path, **kwargs) -> LogFile:
    log = LogFile(path, **kwargs)
    assert log.open()
    return log


def full(log: LogFile) -> LogFile:
    """The log with the lines before its tail indexed too (what the widget's worker does)."""
    found = log.index_head()
    if found is not None:
        log.add_head(*found)
    assert log.head_done
    return log


def shown(log: LogFile) -> list[str]:
    return [log.line(i) for i in range(len(log))]


def test_lines_of_a_log_and_its_unfinished_last_line(tmp_path):
    path = write_log(tmp_path, [b"first\n", b"second \xff\n", b"third, still being wri"])
    log = opened(path)
    assert shown(log) == ["first", "second \ufffd", "third, still being wri"]
    with open(path, "ab") as out:
        out.write(b"tten\nfourth\n")
    assert log.refresh()
    assert shown(log) == ["first", "second \ufffd", "third, still being written", "fourth"]
    assert not log.refresh()  # nothing new


def test_an_empty_or_missing_log(tmp_path):
    log = LogFile(tmp_path / "stdout.log")
    assert not log.open() and not log.exists and len(log) == 0
    assert not log.refresh()
    (tmp_path / "stdout.log").write_bytes(b"")
    assert log.refresh() and log.exists and len(log) == 0
    (tmp_path / "stdout.log").write_bytes(b"\n")
    assert log.refresh() and shown(log) == [""]


def test_refresh_reads_only_the_appended_bytes(tmp_path, monkeypatch):
    path = write_log(tmp_path, [b"x" * 99 + b"\n"] * 1000)
    log = opened(path)
    reads: list[int] = []
    real = os.pread

    def pread(fd: int, size: int, offset: int) -> bytes:
        reads.append(size)
        return real(fd, size, offset)

    monkeypatch.setattr(os, "pread", pread)
    with open(path, "ab") as out:
        out.write(b"new line\n")
    assert log.refresh()
    assert reads == [9]
    assert log.line(len(log) - 1) == "new line"


def test_a_burst_is_read_in_steps_and_says_more_is_pending(tmp_path):
    path = write_log(tmp_path, [b"start\n"])
    log = opened(path)
    with open(path, "ab") as out:
        out.write(b"".join(f"burst {i}\n".encode() for i in range(100)))
    assert log.refresh(max_bytes=300) and log.pending
    steps = 1
    while log.pending:
        assert log.refresh(max_bytes=300)
        steps += 1
    assert steps == 3  # 890 bytes, 300 at a time
    assert shown(log) == ["start", *(f"burst {i}" for i in range(100))]


def test_the_end_is_read_first_and_the_rest_joined_before_it(tmp_path):
    lines = [f"line {i}\n".encode() for i in range(10_000)]
    path = write_log(tmp_path, lines)
    log = opened(path, tail_bytes=1000)
    assert not log.head_done
    tail = len(log)
    assert 0 < tail < 200
    assert log.line(tail - 1) == "line 9999"
    assert shown(log) == [f"line {i}" for i in range(10_000 - tail, 10_000)]
    epoch = log.epoch
    found = log.index_head()
    assert found is not None
    assert log.add_head(*found) == 10_000 - tail
    assert log.epoch != epoch  # line numbers moved: a search in the old ones is redone
    assert shown(log) == [f"line {i}" for i in range(10_000)]


def test_the_head_found_for_a_file_since_replaced_is_not_joined(tmp_path):
    path = write_log(tmp_path, [f"line {i}\n".encode() for i in range(1000)])
    log = opened(path, tail_bytes=100)
    found = log.index_head()
    assert found is not None
    path.write_bytes(b"short\n")
    assert log.refresh()  # another, shorter file: read anew
    assert log.add_head(*found) == 0
    assert shown(log) == ["short"]


def test_a_log_longer_than_its_tail_in_one_line(tmp_path):
    path = tmp_path / "stdout.log"
    path.write_bytes(b"a\n" + b"y" * 5000)
    log = opened(path, tail_bytes=1000)  # no newline in the tail: indexed whole at once
    assert log.head_done
    assert [log.length(i) for i in range(len(log))] == [1, 5000]


def test_carriage_returns_show_what_a_terminal_shows_last(tmp_path):
    path = write_log(
        tmp_path,
        [
            b"progress 10%\rprogress 50%\rprogress 100%\n",
            b"windows line\r\n",
            b"bar redrawn\r\r\n",
            b"\r\n",
            b"before\rafter, longer\n",
        ],
    )
    assert shown(opened(path)) == [
        "progress 100%",
        "windows line",
        "bar redrawn",
        "",
        "after, longer",
    ]


def test_a_very_long_line_is_read_cut(tmp_path):
    path = write_log(tmp_path, [b"short\n", b"z" * (3 * MAX_LINE) + b"\n", b"after\n"])
    log = opened(path)
    assert log.length(1) == 3 * MAX_LINE
    assert log.line(1) == "z" * MAX_LINE
    assert log.line(2) == "after"


def test_a_shrunk_or_replaced_log_is_read_anew(tmp_path):
    path = write_log(tmp_path, [b"one\n", b"two\n", b"three\n"])
    log = opened(path)
    path.write_bytes(b"new\n")  # truncated and rewritten in place: shorter
    assert log.refresh()
    assert shown(log) == ["new"]
    other = tmp_path / "other.log"
    other.write_bytes(b"replaced\nby rename\nand longer than before\n")
    other.replace(path)  # another inode under the same name
    assert log.refresh()
    assert shown(log) == ["replaced", "by rename", "and longer than before"]
    path.unlink()
    assert log.refresh()
    assert not log.exists and len(log) == 0


def test_times_of_lines_and_stderr(tmp_path):
    path = write_log(tmp_path, [b"out\n", b"err\n", b"out again\n"], fds=[1, 2, 1], t0=5000)
    log = opened(path)
    assert [log.time(i) for i in range(3)] == [(5000, 1), (6000, 2), (7000, 1)]


def test_times_tolerate_a_missing_file_a_partial_entry_and_garbage(tmp_path):
    path = tmp_path / "stdout.log"
    path.write_bytes(b"a\nb\nc\nd\ne\n")
    log = opened(path)
    assert log.time(0) is None  # no times file
    times = tmp_path / "stdout.log.times"
    # b: garbage; c: a bad fd; d: fine; e: the last entry, its newline not written yet.
    times.write_bytes(b"0 1000 1\nnonsense here\n4 3000 7\n6 4000 2\n8 50")
    log.refresh()
    assert [log.time(i) for i in range(5)] == [(1000, 1), None, None, (4000, 2), None]
    with open(times, "ab") as out:
        out.write(b"00 1\n")
    log.refresh()
    assert log.time(4) == (5000, 1)


def test_times_are_found_in_a_big_times_file_with_garbage(tmp_path):
    count = 20_000
    lines = [f"line {i}\n".encode() for i in range(count)]
    path = write_log(tmp_path, lines, fds=[1 + (i % 3 == 0) for i in range(count)])
    times = tmp_path / "stdout.log.times"
    entries = times.read_bytes().split(b"\n")
    entries[5000] = b"garbage " * 1000  # longer than a read block
    entries[12345] = b"\xff\xfe junk"
    times.write_bytes(b"\n".join(entries))
    log = opened(path)
    for i in (0, 1, 4999, 5000, 5001, 9999, 12344, 12345, 12346, count - 1):
        expected = None if i in (5000, 12345) else (1_700_000_000_000 + 1000 * i, 1 + (i % 3 == 0))
        assert log.time(i) == expected, i


def search(log: LogFile, query: bytes, after: int, direction: int) -> int | None:
    text = query.decode().lower()
    return find_line(
        log, query.lower(), True, after, direction, lambda i: text in log.line(i).lower()
    )


def test_find_line_forward_backward_and_around(tmp_path):
    path = write_log(
        tmp_path,
        [b"alpha\n", b"beta NEEDLE\n", b"gamma\n", b"hidden needle\rshown\n", b"needle\n"],
    )
    log = opened(path)
    assert search(log, b"needle", -1, 1) == 1
    assert search(log, b"needle", 1, 1) == 4  # line 3's needle is not shown: skipped
    assert search(log, b"needle", 4, 1) == 1  # wraps
    assert search(log, b"needle", 4, -1) == 1
    assert search(log, b"needle", 1, -1) == 4  # wraps backwards
    assert search(log, b"absent", -1, 1) is None


def test_find_line_across_search_chunks(tmp_path):
    filler = [b"x" * 1000 + b"\n"] * 3000  # 3 MB: several chunks
    path = write_log(tmp_path, [*filler, b"the needle at the end\n", *filler])
    log = full(opened(path, tail_bytes=10_000))
    assert search(log, b"needle", len(log) - 1, 1) == 3000
    assert search(log, b"needle", len(log) - 1, -1) == 3000


@settings(max_examples=200, deadline=None)
@given(
    chunks=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\x00", b"\n")), max_size=12),
    looks=st.lists(st.booleans(), min_size=12, max_size=12),
    tail=st.integers(min_value=1, max_value=64),
    limit=st.integers(min_value=1, max_value=50),
)
def test_indexed_lines_are_the_file_split_at_newlines(chunks, looks, tail, limit):
    """However the bytes arrive, and whenever the log is looked at (from its end first, in
    refreshes of at most `limit` bytes), its lines are the file's bytes split at b"\\n"."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "stdout.log"
        path.write_bytes(b"")
        log = opened(path, tail_bytes=tail)
        content = b""
        for chunk, look in zip(chunks, looks, strict=False):
            with open(path, "ab") as out:
                out.write(chunk)
            content += chunk
            if look:
                log.refresh(max_bytes=limit)
        while log.size < len(content):
            log.refresh(max_bytes=limit)
        assert log.lines() == content.split(b"\n")
        reopened = full(opened(path, tail_bytes=tail))
        assert reopened.lines() == content.split(b"\n")


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.text(alphabet="abAB", max_size=8), min_size=1, max_size=20),
    needle=st.text(alphabet="abAB", min_size=1, max_size=3),
    after=st.integers(min_value=-1, max_value=19),
    direction=st.sampled_from([1, -1]),
    chunk=st.integers(min_value=1, max_value=9),
)
def test_find_line_is_the_nearest_line_holding_the_text(lines, needle, after, direction, chunk):
    """Read in chunks of any size, the line found is the next (or previous) one holding the
    text in any case, wrapping around; None when no line does."""
    after = min(after, len(lines) - 1)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "stdout.log"
        path.write_bytes("".join(f"{line}\n" for line in lines).encode())
        log = opened(path)
        with mock.patch("mltop.tui.logfile.SEARCH_CHUNK", chunk):
            found = find_line(log, needle.lower().encode(), True, after, direction, lambda i: True)
    holding = [i for i, line in enumerate(lines) if needle.lower() in line.lower()]
    if direction > 0:
        order = [i for i in holding if i > after] + [i for i in holding if i <= after]
    else:
        start = after if after >= 0 else len(lines)
        order = [i for i in reversed(holding) if i < start] + [
            i for i in reversed(holding) if i >= start
        ]
    assert found == (order[0] if order else None)
