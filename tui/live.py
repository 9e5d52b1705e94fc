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
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from mltop.store import ChangeCursor, Changes, TrackingStore, open_store

# watchdog's event types that may mean a commit: a write to the WAL or the database, a file
# made, removed or renamed. Opening, closing and permissions are left out: each reader
# (every worker of the dashboard itself) opens, chmods and closes the files.
WRITES = ("modified", "created", "deleted", "moved")


def _watch(folder: Path, wake: threading.Event) -> Any | None:
    """A started watchdog observer setting `wake` on every event in `folder` (None without
    watchdog). watchdog is imported here, when the dashboard starts following, after its
    first screen: importing it costs start-up time."""
    try:  # watchdog is a dependency; its absence only costs the file events
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer
    except ImportError:  # pragma: no cover - exercised where watchdog cannot be installed
        return None

    class Wake(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            # The folder's own "modified" only echoes a file made or removed in it.
            if event.event_type in WRITES and not event.is_directory:
                wake.set()

    observer = Observer()
    observer.schedule(Wake(), str(folder), recursive=False)
    observer.daemon = True
    observer.start()
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
        safety: float = 2.0,
        cursor: ChangeCursor | None = None,
    ) -> None:
        self.store_path = Path(store_path)
        self.on_changes = on_changes
        self.on_error = on_error
        self.on_replaced = on_replaced
        self.poll = poll
        self.debounce = debounce
        self.every = every
        self.safety = safety
        self.cursor = cursor
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_look = 0.0  # when file events last made it look (time.monotonic())
        self._observer = None
        self._store: TrackingStore | None = None

    @property
    def uses_file_events(self) -> bool:
        return self._observer is not None

    def start(self) -> None:
        """Take the starting cursor now (changes from here on are reported), then follow."""
        try:
            self._store = self._open()
        except Exception as exc:
            self._store = None
            if self.on_error is not None:
                self.on_error(exc)
        if self.poll is None:
            self._observer = _watch(self.store_path, self._wake)
        self._thread = threading.Thread(target=self._run, name="mltop-follower", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _open(self) -> TrackingStore:
        store = open_store(self.store_path, create=False)
        if self.cursor is None:
            self.cursor = store.cursor()
        return store

    def _run(self) -> None:
        store = self._store
        wait = self.poll if self.poll is not None else self.safety
        while not self._stop.is_set():
            heard = self._wake.wait(wait)
            if self._stop.is_set():
                break
            if heard:
                self._settle()
                if self._stop.wait(self._last_look + self.every - time.monotonic()):
                    break
                self._wake.clear()  # what was heard meanwhile is read now
                self._last_look = time.monotonic()
            try:
                if store is None:
                    store = self._open()
                # An open connection outlives a deleted or replaced file: look at the file.
                if store.check():  # another database now: what was read of the old is moot
                    self.cursor = store.cursor()
                    if self.on_replaced is not None:
                        self.on_replaced()
                elif store.has_changed():
                    self._read(store)
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
