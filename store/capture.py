"""A run's console output, kept as an artifact while it is written.

`mltop run` (for the command it starts) and `start_run(capture_output=True)` (for the
script's own process) copy stdout and stderr to where they were going, the terminal
usually, and to two files in the run's artifact folder:

- `logs/stdout.log`: the bytes of both streams in the order they came, as written (not
  re-encoded; ANSI escapes kept). Lines are written whole. A line still without its
  newline after `PARTIAL_AFTER_S` (a progress bar redrawn with `\\r`, a prompt) is
  written as far as it goes and continued later; when the other stream writes meanwhile,
  that partial line is ended first with a newline of ours, so lines never interleave.
- `logs/stdout.log.times`: one ASCII line per log line, appended after the line's first
  bytes: `<byte offset of the line's start> <unix ms> <fd>` (1 stdout, 2 stderr).

Both files are appended to as output comes, so a dashboard can tail them live. A write
error (disk full, the folder deleted) stops the copy to the files, once reported; the copy
to the terminal goes on. A terminal that went away (SSH closed) stops the copy to the
terminal; the files go on.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import select
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from mltop.store.artifact_repo import ArtifactRepository

LOG_FILE = "logs/stdout.log"
TIMES_FILE = "logs/stdout.log.times"
PARTIAL_AFTER_S = 1.0  # a line without its newline is written after this long
READ_SIZE = 1 << 16
CAPTURED_BY_ENV = "MLTOP_OUTPUT_CAPTURED_BY"  # pid of the process copying this one's output


def _open_append(path: Path) -> int:
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    return os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o666)


class ConsoleLog:
    """Appends console output, line by line, to a run's `logs/stdout.log` and its times.

    Not thread-safe: one pump owns it."""

    def __init__(
        self,
        artifacts: ArtifactRepository,
        *,
        clock: Callable[[], float] = time.time,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self._clock = clock
        self._warn = warn
        log_path = artifacts.writable_path(LOG_FILE)
        times_path = artifacts.writable_path(TIMES_FILE)
        self._log: int | None = _open_append(log_path)
        self._times: int | None = _open_append(times_path)
        self.path = log_path
        self._offset = os.fstat(self._log).st_size
        if self._offset:  # resumed: never continue someone else's unfinished line
            with open(log_path, "rb") as existing:
                existing.seek(-1, os.SEEK_END)
                if existing.read(1) != b"\n":
                    self._append(b"\n", b"")
        self._pending: dict[int, bytearray] = {1: bytearray(), 2: bytearray()}
        self._pending_since: dict[int, float] = {}
        self._open_fd: int | None = None  # the stream whose line is written but not ended
        self.failed: str | None = None

    # -- writing -------------------------------------------------------------------------

    def write(self, fd: int, data: bytes) -> None:
        """Output `data` of stream `fd` (1 or 2) as it came."""
        if not data or self._log is None:
            return
        pending = self._pending.setdefault(fd, bytearray())
        if not pending:
            self._pending_since[fd] = self._clock()
        pending += data
        end = pending.rfind(b"\n")
        if end >= 0:
            whole = bytes(pending[: end + 1])
            del pending[: end + 1]
            self._lines(fd, whole)
            if pending:
                self._pending_since[fd] = self._clock()

    def flush_partial(self, now: float | None = None, *, everything: bool = False) -> None:
        """Write lines that have waited without their newline `PARTIAL_AFTER_S` (or all)."""
        now = self._clock() if now is None else now
        for fd, pending in self._pending.items():
            if pending and (everything or now - self._pending_since[fd] >= PARTIAL_AFTER_S):
                data = bytes(pending)
                pending.clear()
                self._lines(fd, data)

    def _lines(self, fd: int, data: bytes) -> None:
        """Write whole lines (and possibly a last partial one) of stream `fd`: the bytes
        in one write, then their time entries in another."""
        if self._open_fd is not None and self._open_fd != fd:
            self._append(b"\n", b"")  # end the other stream's partial line
            self._open_fd = None
        # Where each line starts: after each newline but the last byte, and at the start
        # unless it continues this stream's partial line.
        lengths = [len(part) + 1 for part in data.split(b"\n")]
        lengths.pop()  # the bytes after the last newline: no line starts after them
        starts = list(itertools.accumulate(lengths, initial=0))
        if self._open_fd == fd:
            starts.pop(0)
        if starts and starts[-1] >= len(data):
            starts.pop()  # the data ends with a newline: nothing starts there
        suffix = f" {int(self._clock() * 1000)} {fd}\n"
        base = self._offset
        entries = "".join(f"{base + start}{suffix}" for start in starts).encode("ascii")
        self._append(data, entries)
        self._open_fd = None if data.endswith(b"\n") else fd

    def _append(self, data: bytes, entries: bytes) -> None:
        if self._log is None or self._times is None:
            return
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._log, view)
                view = view[written:]
                self._offset += written
            view = memoryview(entries)
            while view:
                view = view[os.write(self._times, view) :]
        except OSError as exc:
            self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        self.failed = f"console output no longer kept in {self.path}: {exc.strerror or exc}"
        if self._warn is not None:
            self._warn(self.failed)
        self.close()

    def close(self) -> None:
        for attr in ("_log", "_times"):
            fd = getattr(self, attr)
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
                setattr(self, attr, None)

    def finish(self) -> None:
        """Write what is pending, end a partial last line, and close."""
        self.flush_partial(everything=True)
        if self._open_fd is not None:
            self._append(b"\n", b"")
            self._open_fd = None
        self.close()


class Tee:
    """Copies readable pipes (fd -> stream number) to terminal fds and a ConsoleLog, in
    one thread, until every pipe has reached its end or `stop()` is called."""

    def __init__(
        self,
        sources: dict[int, int],
        terminals: dict[int, int | None],
        log: ConsoleLog | None,
        *,
        finish_log: bool = True,
    ) -> None:
        self._finish_log = finish_log
        self._sources = dict(sources)  # pipe read fd -> stream (1, 2)
        self._terminals = dict(terminals)  # stream -> fd to copy to (None: nowhere)
        self._log = log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mltop-console", daemon=True)

    def start(self) -> Tee:
        self._thread.start()
        return self

    def _to_terminal(self, stream: int, data: bytes) -> None:
        fd = self._terminals.get(stream)
        if fd is None:
            return
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(fd, view) :]
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EINTR):
                return  # a terminal that cannot take it now: the log keeps it
            self._terminals[stream] = None  # gone (EIO, EPIPE): keep logging

    def _read(self, source: int) -> bool:
        """Copy what `source` has; False at its end."""
        try:
            data = os.read(source, READ_SIZE)
        except BlockingIOError:
            return True
        except OSError:
            data = b""
        if not data:
            del self._sources[source]
            with contextlib.suppress(OSError):
                os.close(source)
            return False
        stream = self._sources[source]
        self._to_terminal(stream, data)
        if self._log is not None:
            self._log.write(stream, data)
        return True

    def _run(self) -> None:
        try:
            while self._sources and not self._stop.is_set():
                try:
                    ready, _, _ = select.select(list(self._sources), [], [], 0.25)
                except InterruptedError:
                    continue
                for source in ready:
                    self._read(source)
                if self._log is not None:
                    self._log.flush_partial()
            self._drain()
        finally:
            if self._log is not None:
                if self._finish_log:
                    self._log.finish()
                else:
                    self._log.flush_partial(everything=True)

    def _drain(self) -> None:
        """After stop(): copy what is already in the pipes, without waiting for more."""
        for source in list(self._sources):
            os.set_blocking(source, False)
            while source in self._sources and self._read(source):
                if not select.select([source], [], [], 0)[0]:
                    break
            if source in self._sources:
                del self._sources[source]
                with contextlib.suppress(OSError):
                    os.close(source)

    def stop(self, timeout: float | None = 5.0) -> None:
        self._stop.set()
        self.join(timeout)

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)


class ProcessCapture:
    """This process's own stdout and stderr (file descriptors 1 and 2) copied to the
    terminal and a run's console log, from `start()` to `stop()`: what C extensions and
    child processes write is kept too, not only Python's print."""

    def __init__(self, artifacts: ArtifactRepository) -> None:
        self._artifacts = artifacts
        self._saved: dict[int, int] = {}
        self._tee: Tee | None = None
        self._log: ConsoleLog | None = None
        self._buffering: dict[int, bool] = {}

    def start(self) -> None:
        _flush_python_streams()
        for stream in (1, 2):
            self._saved[stream] = os.dup(stream)
            os.set_inheritable(self._saved[stream], False)
        try:
            log = ConsoleLog(self._artifacts, warn=lambda m: _warn_once(m, self._saved.get(2, 2)))
        except BaseException:
            for saved in self._saved.values():
                os.close(saved)
            self._saved.clear()
            raise
        sources: dict[int, int] = {}
        for stream in (1, 2):
            read, write = os.pipe()
            os.dup2(write, stream)
            os.close(write)
            sources[read] = stream
        for stream, text in ((1, sys.stdout), (2, sys.stderr)):
            self._line_buffered(stream, text)
        self._log = log
        self._tee = Tee(sources, dict(self._saved), log, finish_log=False).start()

    def _line_buffered(self, stream: int, text: TextIO | None) -> None:
        reconfigure = getattr(text, "reconfigure", None)
        if reconfigure is None or text is None:
            return
        with contextlib.suppress(Exception):
            self._buffering[stream] = bool(text.line_buffering)
            reconfigure(line_buffering=True)

    def stop(self, last_words: bytes = b"") -> None:
        """Put fds 1 and 2 back and copy what was written before; child processes still
        holding the old pipe do not keep this waiting. `last_words` go to the log only,
        as stderr (the traceback of the exception ending the run, which Python shows on
        the terminal itself later)."""
        if self._tee is None:
            return
        _flush_python_streams()
        for stream, saved in self._saved.items():
            with contextlib.suppress(OSError):
                os.dup2(saved, stream)
        for stream, text in ((1, sys.stdout), (2, sys.stderr)):
            if stream in self._buffering:
                with contextlib.suppress(Exception):
                    text.reconfigure(line_buffering=self._buffering[stream])  # type: ignore[union-attr]
        tee, self._tee = self._tee, None
        tee.stop()  # it copies what is left to the saved fds: closed after it
        for saved in self._saved.values():
            with contextlib.suppress(OSError):
                os.close(saved)
        self._saved.clear()
        if self._log is not None:
            self._log.write(2, last_words)
            self._log.finish()
            self._log = None


def _flush_python_streams() -> None:
    for text in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            if text is not None:
                text.flush()


_warned: set[str] = set()


def _warn_once(message: str, fd: int = 2) -> None:
    """Say `message` on `fd` (the terminal's stderr, not a pipe this process reads) once."""
    if message in _warned:
        return
    _warned.add(message)
    with contextlib.suppress(OSError):
        os.write(fd, f"mltop: {message}\n".encode(errors="replace"))
