"""Following a store live: file events, debounced, confirmed, then an incremental read.

A commit to the store touches `mltop.db-wal`, so a watchdog observer on the store folder
hears it at once. Events come in bursts (a training loop commits every 100 ms), so the
follower waits for a short quiet spell, asks SQLite whether anything was committed since it
last looked (`PRAGMA data_version`, no query of the data), and only then reads what changed
after its cursor; it reads at most once every `every` seconds (what arrives meanwhile is
read together), so that a screen following eight runs that each commit ten times a second
redraws a few times a second, not eighty. All of that happens on the follower's own thread
and connection; the caller gets `Changes` through a callback (the dashboard turns it into a
message). Where file events do not arrive (network filesystems), `poll` makes it check
every `poll` seconds instead; even with events it checks every `safety` seconds, so that
nothing is missed and heartbeats going stale are noticed.

While the store is busy (eight training runs commit eighty times a second), hearing every
commit costs more than the reads: watchdog's threads wake for each write to the WAL. So once
`BUSY_LOOKS` looks in a row were each woken again before the next was due, the follower
stops listening and simply looks every `busy_every` seconds (`PRAGMA data_version`, cheap;
a little less often than `every`, as each look then redraws what changed); after `quiet`
seconds of looks that find nothing new it listens again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from mltop.store import ChangeCursor, Changes, TrackingStore, open_store
from mltop.store.location import server_url

# watchdog's event types that may mean a commit: a write to the WAL or the database, a file
# made, removed or renamed. Opening, closing and permissions are left out: each reader
# (every worker of the dashboard itself) opens, chmods and closes the files.
WRITES = ("modified", "created", "deleted", "moved")
BUSY_LOOKS = 5  # looks in a row woken while waiting for their turn: the store is busy
DEFAULT_SERVER_POLL = 1.0  # seconds between two looks at a tracking server
SERVER_RETRY_FOR = 3.0  # seconds a look at a server may spend retrying before saying it failed


def _watch(folder: Path, wake: threading.Event) -> Any | None:
    """A started watchdog observer setting `wake` on every event in `folder` (None without
    watchdog). watchdog is imported here, when the dashboard starts following, after its
    first screen: importing it costs start-up time."""
    try:  # watchdog is a dependency; its absence only costs the file events
        from watchdog.events import (
            FileCreatedEvent,
            FileDeletedEvent,
            FileModifiedEvent,
            FileMovedEvent,
            FileSystemEvent,
            FileSystemEventHandler,
        )
        from watchdog.observers import Observer
    except ImportError:  # pragma: no cover - exercised where watchdog cannot be installed
        return None

    class Wake(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            # The folder's own "modified" only echoes a file made or removed in it.
            if event.event_type in WRITES and not event.is_directory:
                wake.set()

    observer = Observer()
    # Only the kinds of event that may mean a commit are asked for (on Linux, inotify then
    # never wakes the observer's threads for the opens and closes of every reader).
    kinds = [FileModifiedEvent, FileCreatedEvent, FileDeletedEvent, FileMovedEvent]
    try:
        observer.schedule(Wake(), str(folder), recursive=False, event_filter=kinds)
        observer.daemon = True
        observer.start()
    except OSError:  # the folder is gone, or too many watches: the safety look still reads
        observer.stop()
        return None
    return observer


@runtime_checkable
class FollowsStore(Protocol):
    """A screen that keeps up with the store. The app hands every screen on its stack that
    is one each change the follower read; the screen decides whether it cares."""

    def store_changed(self, changes: Changes, touched: set[str] | None) -> None:
        """`touched`: the ids of the runs the change touched (their attributes, params,
        tags or metrics); None when any may have been (the feed was read in part)."""
        ...


def touched_runs(changes: Changes) -> set[str] | None:
    """The runs a change touched; None when the change feed was read in part."""
    if changes.more:
        return None
    return {*changes.run_ids, *(point.run_id for point in changes.metrics)}


class StoreFollower:
    def __init__(
        self,
        store_path: str | Path,
        on_changes: Callable[[Changes], object],
        *,
        on_error: Callable[[Exception], object] | None = None,
        on_replaced: Callable[[], object] | None = None,
        poll: float | None = None,
        debounce: float = 0.03,
        every: float = 0.15,
        busy_every: float = 0.2,
        safety: float = 2.0,
        quiet: float = 1.0,
        cursor: ChangeCursor | None = None,
    ) -> None:
        # A tracking server's URL is looked at every `poll` seconds: it has no file to watch.
        self.server_url = server_url(str(store_path))
        if self.server_url is not None and poll is None:
            poll = DEFAULT_SERVER_POLL
        self.store_location: str | Path = self.server_url or Path(store_path)
        self.store_path = Path(store_path) if self.server_url is None else None
        self.on_changes = on_changes
        self.on_error = on_error
        self.on_replaced = on_replaced
        self.poll = poll
        self.debounce = debounce
        self.every = every
        self.busy_every = busy_every
        self.safety = safety
        self.quiet = quiet
        self.cursor = cursor
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_look = 0.0  # when file events last made it look (time.monotonic())
        self._observer: Any | None = None
        self._listens = False  # file events can be heard here (watchdog watches the folder)
        self.busy = (
            False  # looking every `busy_every` seconds, not listening, while commits pour in
        )
        self._store: TrackingStore | None = None

    @property
    def uses_file_events(self) -> bool:
        """Whether it follows file events (while busy, it looks without hearing them)."""
        return self._listens

    def start(self) -> None:
        """Take the starting cursor now (changes from here on are reported), then follow."""
        try:
            self._store = self._open()
        except Exception as exc:
            self._store = None
            if self.on_error is not None:
                self.on_error(exc)
        if self.poll is None and self.store_path is not None:
            self._observer = _watch(self.store_path, self._wake)
            self._listens = self._observer is not None
        self._thread = threading.Thread(target=self._run, name="mltop-follower", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._unwatch()

    def _unwatch(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join(timeout=5)

    def _open(self) -> TrackingStore:
        if self.server_url is not None:  # a server gone down is said within seconds
            store = open_store(self.server_url, busy_timeout=SERVER_RETRY_FOR)
            # A server's has_changed asks it at most once an interval: this follower's.
            if self.poll is not None and hasattr(store, "poll_interval"):
                store.poll_interval = self.poll
        else:
            store = open_store(self.store_location, create=False)
        if self.cursor is None:
            self.cursor = store.cursor()
        return store

    def _run(self) -> None:
        store = self._store
        wait = self.poll if self.poll is not None else self.safety
        woken = 0  # looks in a row that were woken again while waiting for their turn
        quiet_since = time.monotonic()  # while busy: since when looks found nothing new
        while not self._stop.is_set():
            if self.busy:
                heard = False
                wait_turn = self._last_look + self.busy_every - time.monotonic()
                if self._stop.wait(max(0.0, wait_turn)):
                    break
                self._last_look = time.monotonic()
            else:
                heard = self._wake.wait(wait)
            if self._stop.is_set():
                break
            if heard:
                self._settle()
                delay = self._last_look + self.every - time.monotonic()
                if self._stop.wait(delay):
                    break
                woken = woken + 1 if delay > 0 and self._wake.is_set() else 0
                self._wake.clear()  # what was heard meanwhile is read now
                self._last_look = time.monotonic()
                if woken >= BUSY_LOOKS:
                    self._unwatch()  # commits pour in: look every `busy_every` seconds
                    self.busy, woken, quiet_since = True, 0, time.monotonic()
            try:
                if store is None:
                    store = self._open()
                # An open connection outlives a deleted or replaced file: look at the file.
                if store.check():  # another database now: what was read of the old is moot
                    self.cursor = store.cursor()
                    if self.on_replaced is not None:
                        self.on_replaced()
                elif store.has_changed():
                    quiet_since = time.monotonic()
                    self._read(store)
                elif (
                    self.busy
                    and self.store_path is not None
                    and time.monotonic() - quiet_since >= self.quiet
                ):
                    # Quiet again: listen, then look once more (a commit made while the
                    # observer started is read then, not at the next event).
                    self._observer = _watch(self.store_path, self._wake)
                    self.busy = False
                    self._wake.set()
            except Exception as exc:  # a vanished or locked store: say so, retry later
                if store is not None:
                    store.close()
                store = None
                if self.on_error is not None:
                    self.on_error(exc)
                self._stop.wait(min(wait, 1.0))
        if store is not None:
            store.close()

    def _settle(self) -> None:
        """Let a burst of file events end (at most 4 × debounce) before reading."""
        deadline = time.monotonic() + 4 * self.debounce
        self._wake.clear()
        while time.monotonic() < deadline and self._wake.wait(self.debounce):
            self._wake.clear()

    def _read(self, store: TrackingStore) -> None:
        """Report what changed; a commit that touched no run, metric or experiment (the
        model registry, say) is reported too, as empty Changes: readers look again."""
        assert self.cursor is not None
        reported = False
        while True:
            changes = store.changes_since(self.cursor)
            self.cursor = changes.cursor
            if changes.run_ids or changes.metrics or changes.experiment_ids or not reported:
                self.on_changes(changes)
                reported = True
            if not changes.more:
                return
