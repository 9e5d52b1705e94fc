"""The SQLite store's end of the buffered metric writer (`mltop.store.buffered`): points
committed one transaction per batch with their summaries, and the heartbeats of the runs
this process is running refreshed by the same thread."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from typing import TYPE_CHECKING

from mltop.store.buffered import DEFAULT_BATCH_SIZE, DEFAULT_INTERVAL_S, BufferedWriter, Point
from mltop.store.errors import StoreError

if TYPE_CHECKING:
    from mltop.store.sqlite.tracking import Store


class MetricWriter(BufferedWriter["sqlite3.Connection"]):
    """The SQLite store's buffered writer (and heartbeats)."""

    def __init__(
        self,
        store: Store,
        *,
        interval: float = DEFAULT_INTERVAL_S,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self.store = store
        super().__init__(interval=interval, batch_size=batch_size)
        self.write_size = batch_size

    def where(self) -> str:
        return str(self.store.path)

    def _caller_handle(self) -> sqlite3.Connection:
        return self.store.thread_connection()

    def _open(self) -> sqlite3.Connection:
        return self.store.new_connection()

    def _close(self, handle: sqlite3.Connection) -> None:
        handle.close()

    def _write(self, rows: list[Point], handle: sqlite3.Connection) -> None:
        self.store.write_points(rows, handle)

    def _keeps(self, exc: Exception) -> bool | None:
        if isinstance(exc, StoreError):
            return True
        return False if isinstance(exc, OverflowError) else None

    def _beat(self, conn: sqlite3.Connection) -> None:
        if not self._heartbeats or time.monotonic() < self._next_beat:
            return
        beats = dict(self._heartbeats)
        # A missed heartbeat is retried on the next beat; readers allow three misses.
        with contextlib.suppress(StoreError):
            self.store.heartbeat(beats, conn)
        self._next_beat = time.monotonic() + min(beats.values())

    def run_row(self, run_id: str) -> int:
        """The run's integer row in the metric tables (refusing a run that cannot be
        logged to)."""
        return self.store.run_row_id(run_id)

    def key_id(self, key: str) -> int:
        """A (valid) metric key's integer in the metric tables."""
        return self.store.metric_key_id(key)
