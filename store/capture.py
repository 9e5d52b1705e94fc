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
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # (run as the copier, this file imports nothing of mltop)
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
        self._open(
            artifacts.writable_path(LOG_FILE), artifacts.writable_path(TIMES_FILE), clock, warn
        )

    @classmethod
    def at(
        cls,
        log_path: Path,
        times_path: Path,
        *,
        clock: Callable[[], float] = time.time,
        warn: Callable[[str], None] | None = None,
    ) -> ConsoleLog:
        """A log at paths already checked (ArtifactRepository.writable_path)."""
        log = cls.__new__(cls)
        log._open(log_path, times_path, clock, warn)
        return log

    def _open(
        self,
        log_path: Path,
        times_path: Path,
        clock: Callable[[], float],
        warn: Callable[[str], None] | None,
    ) -> None:
        self._clock = clock
        self._warn = warn
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
        control: int | None = None,
        ack: int | None = None,
    ) -> None:
        self._finish_log = finish_log
        # The capturing process's pipe to this copier: what comes on it is logged as the
        # run's last words (stderr, log only); its end (the run ended, or the process
        # died) means: copy what the pipes hold now, say so on `ack`, then go on copying
        # what the process's children still write, until they are gone.
        self._control = control
        self._ack = ack
        self._last_words = bytearray()
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
                watched = list(self._sources)
                if self._control is not None:
                    watched.append(self._control)
                try:
                    ready, _, _ = select.select(watched, [], [], 0.25)
                except InterruptedError:
                    continue
                for source in ready:
                    if source == self._control:
                        self._controlled()
                    else:
                        self._read(source)
                if self._log is not None:
                    self._log.flush_partial()
            if self._control is not None:
                self._controlled(ended=True)
            self._drain()
        finally:
            if self._log is not None:
                if self._finish_log:
                    self._log.finish()
                else:
                    self._log.flush_partial(everything=True)

    def _controlled(self, *, ended: bool = False) -> None:
        control = self._control
        assert control is not None
        if ended:  # every pipe ended first: what is left on the control pipe, to its end
            while data := _read_some(control):
                self._last_words += data
        else:
            data = _read_some(control)
            if data:
                self._last_words += data
                return
        # The end: what the pipes hold now is the run's; then its last words.
        self._control = None
        with contextlib.suppress(OSError):
            os.close(control)
        self._available()
        if self._log is not None:
            self._log.write(2, bytes(self._last_words))
            self._log.flush_partial(everything=True)
        if self._ack is not None:
            with contextlib.suppress(OSError):
                os.write(self._ack, b"done")
                os.close(self._ack)
            self._ack = None

    def _available(self) -> None:
        """Copy what the pipes hold now, without waiting for more or closing them."""
        for source in list(self._sources):
            while source in self._sources and select.select([source], [], [], 0)[0]:
                if not self._read(source):
                    break

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
    child processes write is kept too, not only Python's print.

    The copying is done by a small process of its own (this file, run as a script: the
    standard library only), not a thread: when this process dies at once (a segfault,
    the OOM killer's SIGKILL, `os._exit`), what it wrote last is still in the pipes, and
    the copier, still alive, puts it on the terminal and in the log. It ignores Ctrl-C,
    SIGTERM and SIGHUP (they are for the training) and ends when nothing writes to the
    pipes any more."""

    def __init__(self, artifacts: ArtifactRepository) -> None:
        self._artifacts = artifacts
        self._saved: dict[int, int] = {}
        self._copier: subprocess.Popen[bytes] | None = None
        self._control: int | None = None
        self._ack: int | None = None
        self._buffering: dict[int, bool] = {}

    def start(self) -> None:
        log_path = self._artifacts.writable_path(LOG_FILE)
        times_path = self._artifacts.writable_path(TIMES_FILE)
        _flush_python_streams()
        opened: list[int] = []
        try:
            for stream in (1, 2):
                self._saved[stream] = os.dup(stream)
                os.set_inheritable(self._saved[stream], False)
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            control_r, control_w = os.pipe()
            ack_r, ack_w = os.pipe()
            opened = [out_r, out_w, err_r, err_w, control_r, control_w, ack_r, ack_w]
            fds = [out_r, err_r, self._saved[1], self._saved[2], control_r, ack_w]
            self._copier = subprocess.Popen(
                [sys.executable, "-I", "-S", os.path.abspath(__file__), str(log_path),
                 str(times_path), *map(str, fds)],
                pass_fds=fds,
                stdin=subprocess.DEVNULL,
                stdout=self._saved[1],
                stderr=self._saved[2],
            )  # fmt: skip
        except BaseException:
            for fd in [*opened, *self._saved.values()]:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._saved.clear()
            raise
        for fd in (out_r, err_r, control_r, ack_w):
            os.close(fd)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.close(out_w)
        os.close(err_w)
        self._control, self._ack = control_w, ack_r
        for stream, text in ((1, sys.stdout), (2, sys.stderr)):
            self._line_buffered(stream, text)

    def _line_buffered(self, stream: int, text: TextIO | None) -> None:
        reconfigure = getattr(text, "reconfigure", None)
        if reconfigure is None or text is None:
            return
        with contextlib.suppress(Exception):
            self._buffering[stream] = bool(text.line_buffering)
            reconfigure(line_buffering=True)

    def stop(self, last_words: bytes = b"", timeout: float = 5.0) -> None:
        """Put fds 1 and 2 back, and wait (at most `timeout`) until the copier has taken
        in what was written before. `last_words` go to the log only, as stderr (the
        traceback of the exception ending the run, which Python shows on the terminal
        itself later). Children still writing to the old pipes go on being copied."""
        if self._control is None:
            return
        _flush_python_streams()
        for stream, saved in self._saved.items():
            with contextlib.suppress(OSError):
                os.dup2(saved, stream)
            with contextlib.suppress(OSError):
                os.close(saved)
        self._saved.clear()
        for stream, text in ((1, sys.stdout), (2, sys.stderr)):
            if stream in self._buffering:
                with contextlib.suppress(Exception):
                    text.reconfigure(line_buffering=self._buffering[stream])  # type: ignore[union-attr]
        control, self._control = self._control, None
        with contextlib.suppress(OSError):
            view = memoryview(last_words)
            while view:
                view = view[os.write(control, view) :]
        os.close(control)  # the copier's cue
        ack, self._ack = self._ack, None
        assert ack is not None
        with contextlib.suppress(OSError, ValueError):
            select.select([ack], [], [], timeout)
        os.close(ack)


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


def _read_some(fd: int) -> bytes:
    try:
        return os.read(fd, READ_SIZE)
    except OSError:
        return b""


def _copier(argv: list[str]) -> None:
    """The copying process of ProcessCapture: LOG TIMES OUT ERR TERM_OUT TERM_ERR CONTROL ACK."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    log_path, times_path = Path(argv[0]), Path(argv[1])
    out, err, term_out, term_err, control, ack = (int(a) for a in argv[2:8])
    log: ConsoleLog | None
    try:
        log = ConsoleLog.at(log_path, times_path, warn=lambda m: _warn_once(m, term_err))
    except OSError as exc:
        _warn_once(f"console output not kept in {log_path}: {exc.strerror or exc}", term_err)
        log = None
    tee = Tee({out: 1, err: 2}, {1: term_out, 2: term_err}, log, control=control, ack=ack)
    tee._run()


if __name__ == "__main__":
    _copier(sys.argv[1:])
