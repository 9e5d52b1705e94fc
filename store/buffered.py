"""The buffered metric writer: `log_metric` appends in memory; batches are written later.

Whatever the points go to (a SQLite store, a tracking server), a training loop does not
wait on it: points go into a deque (append is atomic under
the GIL) and a background thread commits what has gathered every `interval` seconds, one
transaction per batch with its summaries. Only a loop that logs faster than that (more
than `batch_size` points between two ticks) commits the full batch itself: doing it in
the caller's thread is the fastest way through the GIL (a thread committing next to a
busy Python loop waits for the GIL on every row), and it bounds memory.

The same thread refreshes the heartbeat of the runs this process is running. A failed
background commit is kept and raised at the next call or flush: nothing is dropped
silently.

Points waiting in a queue are committed before any read of the store through a client
(`sync_all`), at interpreter exit, and when the process is told to stop: once a writer has
started, SIGTERM (`kill`, `docker stop`, a pool's `terminate()`) and SIGHUP (a closed SSH
session) raise `Terminated` in the main thread instead of killing the process on the spot;
the stack unwinds as for Ctrl-C, the queues are committed at exit, and the process then
dies by the signal, as it would have. A handler the program installed itself, or an
ignored signal (`nohup`), is left alone.

All of this is `BufferedWriter`'s, whatever the points go to; its ends are
`mltop.store.sqlite.writer.MetricWriter` (a SQLite store's, with heartbeats) and
`mltop.store.server.logging.ServerWriter` (a tracking server's, runs/log-batch).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
import time
import weakref
from collections import deque
from typing import Any, Generic, TypeVar

from mltop.store.errors import MetricWriteError, StoreError

Point = tuple[int, int, int, int, "float | None"]

DEFAULT_INTERVAL_S = 0.1
DEFAULT_BATCH_SIZE = 10_000
# Points held for a retry while the store cannot be written (a full disk, a lock held for
# long): beyond this many, the newest are let go, and the error raised says how many.
MAX_HELD = 1_000_000

# Seconds the process may spend, at exit, retrying to write what it holds (a tracking
# server that is down): then it says how many points were not written, and ends.
EXIT_BUDGET_S = 30.0
_exit_deadline: float | None = None
# A stop's bound lifted as its run's block was left: (the deadline, when lifted). An exit
# this soon after is that stop's, and keeps its deadline.
_lifted: tuple[float, float] | None = None
RESUMED_S = 5.0

_writers: weakref.WeakSet[BufferedWriter[Any]] = weakref.WeakSet()
_in_forked_child = False

# What a writer writes through: a SQLite connection here, nothing for a tracking server.
Handle = TypeVar("Handle")


class BufferedWriter(Generic[Handle]):
    """The queue, the thread, flushing and failures, whatever the points go to: a backend
    says how a batch is written (`_write`), through what (`_open`, `_caller_handle`), which
    failures keep the points for a retry (`_keeps`), and how heartbeats are kept (`_beat`).
    Every writer of the process is flushed at exit, synced before reads, and reset in a
    forked child."""

    def __init__(self, *, interval: float, batch_size: int) -> None:
        self.interval = interval
        self.batch_size = batch_size
        # In a forked child: points are committed as they are logged (it may leave by
        # os._exit, running no exit hook), by the writers it inherited and those it makes.
        self.forked = _in_forked_child
        self.max_held = MAX_HELD
        self._reset()
        _writers.add(self)

    def _reset(self) -> None:
        self.queue: deque[Point] = deque()
        self.error: MetricWriteError | None = None
        self._commit_lock = threading.Lock()
        self._wake = threading.Event()
        self._start_lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self._stopping = False
        self._heartbeats: dict[int, float] = {}  # run row -> interval in seconds
        self._in_flight = 0  # points taken off the queue for the write under way
        self._kept_reason: str | None = None  # `error` is of points kept: why (its cause)
        self._next_beat = 0.0
        self._failures = 0  # writes the thread tried and failed, so far

    # -- producer side -------------------------------------------------------------------

    # Appending a point is inlined in MltopClient.log_metric, the hot path of a training
    # loop: check `error`, start the thread if needed, append to `queue`, and call `kick`
    # once `batch_size` points are waiting.

    def kick(self) -> None:
        """A full batch is waiting: commit it from the calling thread."""
        with self._commit_lock:
            self._drain(self._caller_handle(), raise_errors=True)

    def held(self) -> int:
        """Points logged and not committed yet: those queued and the batch being written."""
        return len(self.queue) + self._in_flight

    def raise_error(self) -> None:
        error, self.error = self.error, None
        if error is None:
            return
        reason, self._kept_reason = self._kept_reason, None
        if reason is not None:
            # Points kept for a retry: say how many are held now (more were logged since
            # the failure), not only the batch that failed; none (a later write took them
            # all): nothing to say.
            if not self.held():
                return
            raise MetricWriteError(f"{points_text(self.held())} not committed yet: {reason}")
        raise error

    def sync(self) -> None:
        """Commit every point queued so far, keeping a failure for the writer's own caller
        (a reader in the same process calls this: it must see what was logged)."""
        with self._commit_lock:
            if self.queue:
                self._drain(self._caller_handle(), raise_errors=False)

    def flush(self) -> None:
        """Commit every point queued so far (waiting for a batch the thread is committing);
        raise a commit failure. When the thread's write failed while this waited for it (it
        spent its retries: a server down, a lock held), that failure is raised at once, the
        points kept: trying again here would wait as long again for the same answer."""
        failures = self._failures
        with self._commit_lock:
            failed_meanwhile = self._failures != failures and self.error is not None
            if self.queue and not failed_meanwhile:
                self._drain(self._caller_handle(), raise_errors=True)
        self.raise_error()

    # -- heartbeats ----------------------------------------------------------------------

    def watch(self, run_row: int, interval_ms: int) -> None:
        """Keep the heartbeat of a RUNNING run of this process fresh."""
        self._heartbeats[run_row] = interval_ms / 1000.0
        self._next_beat = 0.0
        self.start()

    def unwatch(self, run_row: int) -> None:
        self._heartbeats.pop(run_row, None)

    # -- the thread ----------------------------------------------------------------------

    def _alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self) -> None:
        """Start the committing thread if it is not running."""
        if self._alive():
            return
        with self._start_lock:
            if self._alive():
                return
            self._stopping = False
            install_stop_handlers()
            self.thread = threading.Thread(
                target=self._run, name=f"mltop-writer:{self.where()}", daemon=True
            )
            self.thread.start()

    def _run(self) -> None:
        # Stop signals go to the main thread: there they interrupt a blocking wait (a pool
        # worker waiting for its next task); taken by this thread, they would wait unseen.
        if STOP_SIGNALS and hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        conn: Handle | None = None
        try:
            while not self._stopping:
                self._wake.wait(self.interval)
                self._wake.clear()
                # Every use of SQLite by this thread holds the commit lock, so that a fork
                # never happens in the middle of one (see _before_fork).
                with self._commit_lock:
                    if conn is None:  # (again, after a failure: the file may be another now)
                        try:
                            conn = self._open()
                        except StoreError as exc:
                            self.error = MetricWriteError(f"metric points not committed yet: {exc}")
                            continue
                    if self.queue and not self._drain(conn, raise_errors=False):
                        self._close(conn)
                        conn = None
                        continue
                    self._beat(conn)
        finally:
            with self._commit_lock:
                if conn is not None:
                    self._close(conn)

    def _drain(self, conn: Handle, *, raise_errors: bool) -> bool:
        """Commit what is queued; False (the error kept) when a commit failed."""
        queue = self.queue
        while queue:
            n = min(len(queue), self.write_size)
            rows = [queue.popleft() for _ in range(n)]
            self._in_flight = n
            try:
                self._write(rows, conn)
            except (KeyboardInterrupt, SystemExit):
                # Ctrl-C or SIGTERM while committing (in the thread that logs): the batch
                # goes back in the queue, for the flush at exit.
                queue.extendleft(reversed(rows))
                raise
            except Exception as exc:
                keep = self._keeps(exc)
                if keep is None:
                    queue.extendleft(reversed(rows))  # not the store's failure: kept, raised
                    raise
                if keep:
                    # The store may work again (a lock released, space freed): keep the
                    # points, in order, for the next commit; as many as max_held.
                    queue.extendleft(reversed(rows))
                    excess = len(queue) - self.max_held
                    for _ in range(max(0, excess)):
                        queue.pop()
                    let_go = (
                        f"; the {excess:,} newest were let go: at most {self.max_held:,} "
                        "points are held for a retry"
                        if excess > 0
                        else ""
                    )
                    # The count is of every point held, not only this batch's.
                    reason = f"{exc}{let_go}"
                    held = points_text(len(queue))
                    error = MetricWriteError(f"{held} not committed yet: {reason}")
                else:
                    reason = None
                    error = MetricWriteError(
                        f"{points_text(len(rows))} could not be committed to {self.where()}: {exc}"
                    )
                if raise_errors:
                    self.error = self._kept_reason = None  # this one says it all
                    raise error from exc
                self.error, self._kept_reason = error, reason
                self._failures += 1
                return False
            finally:
                self._in_flight = 0
        return True

    def close(self) -> None:
        """Commit what is queued and stop the thread (it restarts when needed)."""
        self.flush()
        thread = self.thread
        if thread is None:
            return
        self._stopping = True
        self._wake.set()
        thread.join()
        self.thread = None
        self._wake.clear()

    # -- what a backend says -------------------------------------------------------------

    # Points written in one `_write` call (at most).
    write_size = DEFAULT_BATCH_SIZE

    def where(self) -> str:
        """Where the points go, for messages."""
        raise NotImplementedError

    def _caller_handle(self) -> Handle:
        """What the calling thread writes through."""
        raise NotImplementedError

    def _open(self) -> Handle:
        """What the writer's thread writes through (a StoreError: tried again later)."""
        raise NotImplementedError

    def _close(self, handle: Handle) -> None:
        """Done with what `_open` gave."""

    def _write(self, rows: list[Point], handle: Handle) -> None:
        """Write `rows`, all or nothing."""
        raise NotImplementedError

    def _keeps(self, exc: Exception) -> bool | None:
        """After `exc` from `_write`: True when the points are kept for a retry (the store
        may work again), False when they can never be written (they are let go, and the
        error says so), None when `exc` is not a failure of the store (it propagates)."""
        raise NotImplementedError

    def _beat(self, handle: Handle) -> None:
        """Refresh the heartbeats of the watched runs when they are due."""

    def write_now(self, rows: list[Point]) -> None:
        """Write `rows` from the calling thread, at once (after what is queued)."""
        self.flush()
        self._write(rows, self._caller_handle())


def points_text(n: int) -> str:
    return "1 metric point" if n == 1 else f"{n} metric points"


def begin_exit() -> bool:
    """The process is ending (its exit hooks run): from now on, writing what is held is
    bounded by `EXIT_BUDGET_S` in all (see `exit_deadline`). Whether this call set it.

    A stop (Ctrl-C, SIGTERM) unwinding through an active run sets the bound, and lifts it
    as the run's block is left (`end_exit`: the program may catch the stop and go on). When
    the program ends right after (within `RESUMED_S`), it is the same stop ending it: the
    exit hooks keep what is left of that bound, not a new one."""
    global _exit_deadline
    if _exit_deadline is None:
        now = time.monotonic()
        if _lifted is not None and now - _lifted[1] < RESUMED_S:
            _exit_deadline = max(now, _lifted[0])
        else:
            _exit_deadline = now + EXIT_BUDGET_S
        return True
    return False


def end_exit() -> None:
    """The stop was caught and the program goes on: writes are no longer bounded."""
    global _exit_deadline, _lifted
    if _exit_deadline is not None:
        _lifted = (_exit_deadline, time.monotonic())
    _exit_deadline = None


def exit_deadline() -> float | None:
    """When the exit hooks give up writing (a `time.monotonic()`), once they run."""
    return _exit_deadline


class LossSaidError(MetricWriteError):
    """The points a writer could not write at exit, the same as it said it could not write
    a moment before (an exit hook tries again, within the time left): not said twice."""


def flush_all() -> None:
    """Commit what every writer of this process holds (run at interpreter exit)."""
    for writer in list(_writers):
        try:
            writer.flush()
        except LossSaidError:
            pass
        except Exception as exc:  # the process is ending: say what was lost, never raise
            print(f"mltop: {exc}", file=sys.stderr)


def sync_all() -> None:
    """Commit the points every writer of this process holds, before a read: a script reads
    back what it logged (failures stay with each writer, raised to the code that logs)."""
    for writer in list(_writers):
        writer.sync()


# -- being told to stop ---------------------------------------------------------------------

STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class Terminated(KeyboardInterrupt):
    """Raised in the main thread by SIGTERM or SIGHUP once this process logs metrics: the
    stack unwinds as it does for Ctrl-C (active runs end KILLED), every point logged is
    committed at exit, and then the process dies by the signal, as it would have."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum


_handlers_installed = False
_ended_by: int | None = None  # the signal whose Terminated ended the program
# What ended the main thread, once the stop handlers are installed: the program is ending.
_uncaught: type[BaseException] | None = None


def ending_status() -> str | None:
    """How the program is ending, as a run's status, once its main thread died of an
    exception: KILLED (Ctrl-C, SIGTERM, SIGHUP) or FAILED; None while it is not (or when it
    ends normally). For exit hooks of others (MLflow's ends its active run FINISHED)."""
    if _uncaught is None:
        return None
    return "KILLED" if issubclass(_uncaught, KeyboardInterrupt) else "FAILED"


_exiting = False  # the exit hook is committing the last points


def _terminated(signum: int, frame: object) -> None:
    global _ended_by
    if _exiting:
        # The last commit is under way (the process was ending anyway, or was told to
        # stop before): it finishes, then the process dies by this signal.
        if _ended_by is None:
            _ended_by = signum
        return
    mp = sys.modules.get("multiprocessing")
    if mp is not None and mp.parent_process() is not None:
        # A multiprocessing worker (a pool's, on terminate()): commit its points here and
        # die by the signal at once, as it would have. (Unwinding it instead may be undone:
        # a signal taken inside a __del__ is swallowed, and the worker waits for a task.)
        if _commit_now():
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        # This thread was itself committing: unwind (the batch goes back in its queue),
        # quietly, and the exit hooks commit it.
        _ended_by = signum
        raise SystemExit(128 + signum)
    raise Terminated(signum)


def _commit_now() -> bool:
    """From a signal handler: commit every writer's queue on connections of its own; False
    when the interrupted thread holds a writer's commit lock (it is committing)."""
    for writer in list(_writers):
        if not writer._commit_lock.acquire(timeout=2):
            return False
        conn = None
        try:
            if writer.queue:
                conn = writer._open()
                writer._drain(conn, raise_errors=False)
        except Exception as exc:  # ending: say what is lost, never raise from here
            print(f"mltop: {exc}", file=sys.stderr)
        finally:
            if conn is not None:
                writer._close(conn)
            writer._commit_lock.release()
    return True


def is_ours(handler: object) -> bool:
    return handler is _terminated


def install_stop_handlers() -> None:
    """Turn SIGTERM and SIGHUP into `Terminated` (where they would kill the process
    outright: a handler of the program's own, or an ignored signal, is kept). Only the
    main thread can do this; called when a writer starts, and by the fluent API."""
    global _handlers_installed
    if _handlers_installed or threading.current_thread() is not threading.main_thread():
        return
    _handlers_installed = True
    for signum in STOP_SIGNALS:
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(signum) == signal.SIG_DFL:
                signal.signal(signum, _terminated)
    previous = sys.excepthook

    def remember(kind: type[BaseException], value: BaseException, tb: object) -> None:
        global _ended_by, _uncaught
        _uncaught = kind
        if isinstance(value, Terminated):
            _ended_by = value.signum  # no traceback for being told to stop
            return
        previous(kind, value, tb)  # type: ignore[arg-type]

    sys.excepthook = remember
    mp = sys.modules.get("multiprocessing")
    if mp is not None and mp.parent_process() is not None:
        # A multiprocessing child may leave by os._exit (forkserver's do), running no exit
        # hook; multiprocessing's own finalizers run either way.
        from multiprocessing import util

        util.Finalize(None, _at_exit, exitpriority=100)


def _at_exit() -> None:
    global _exiting
    _exiting = True
    begin_exit()
    flush_all()
    if _ended_by is not None:
        with contextlib.suppress(ValueError, OSError):
            signal.signal(_ended_by, signal.SIG_DFL)
            os.kill(os.getpid(), _ended_by)  # die by the signal, as it would have


_held_for_fork: list[threading.Lock] = []


def _before_fork() -> None:
    # A child process gets a copy of every lock, SQLite's own mutexes included, in the state
    # it was in: a fork in the middle of a writer thread's commit would leave the child
    # waiting forever on a mutex no thread of its own will release. So fork only between
    # commits.
    for writer in list(_writers):
        writer._commit_lock.acquire()
        _held_for_fork.append(writer._commit_lock)


def _after_fork_in_parent() -> None:
    while _held_for_fork:
        _held_for_fork.pop().release()


def _after_fork_in_child() -> None:
    # The child (a data loader worker, say) starts with empty queues, new locks and no
    # thread: the parent's thread does not exist here, and its queue is the parent's work.
    global _in_forked_child
    _in_forked_child = True
    _held_for_fork.clear()
    for writer in list(_writers):
        writer._reset()
        writer.forked = True
    # Its writes are synchronous, so a stop signal has nothing to commit: it ends the child
    # at once, as it would have (a forked pool worker leaves by os._exit anyway).
    for signum in STOP_SIGNALS:
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(signum) is _terminated:
                signal.signal(signum, signal.SIG_DFL)


atexit.register(_at_exit)  # registered first: runs after the fluent API has ended its runs
if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )
