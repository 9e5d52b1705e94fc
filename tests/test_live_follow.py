"""Following a store: changes committed by another process arrive, by file events or by
polling, and a store that goes away is reported, not fatal."""

from __future__ import annotations

import queue
import shutil
import subprocess
import sys
import time

import pytest

from mltop.store import MltopClient, Store
from mltop.tui.live import StoreFollower

WRITER = """
import sys
from mltop.store import MltopClient
client = MltopClient(sys.argv[1])
run = client.create_run(run_name="live").info.run_id
for step in range(int(sys.argv[2])):
    client.log_metric(run, "loss", 1.0 / (step + 1), step=step)
client.flush()
"""
CLOSING_WRITER = WRITER + "client.close()\n"  # a clean end: SQLite checkpoints on close


def collect(follower_queue: queue.Queue, want: int, timeout: float = 30.0) -> list:
    points, deadline = [], time.monotonic() + timeout
    while len(points) < want:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"only {len(points)} of {want} points arrived"
        try:
            changes = follower_queue.get(timeout=remaining)
        except queue.Empty:
            continue
        points += changes.metrics
    return points


@pytest.mark.parametrize("poll", [None, 0.05])
def test_points_from_another_process_arrive(store_path, poll):
    Store(store_path).close()
    arrived: queue.Queue = queue.Queue()
    # Following file events, the follower's timed look is an hour away: the points can
    # arrive only through the events.
    safety = 3600.0 if poll is None else 2.0
    follower = StoreFollower(store_path, arrived.put, poll=poll, safety=safety)
    follower.start()
    try:
        subprocess.run([sys.executable, "-c", WRITER, str(store_path), "500"], check=True)
        points = collect(arrived, 500)
        assert [p.step for p in points] == list(range(500))
        assert follower.uses_file_events == (poll is None)
    finally:
        follower.stop()


def test_writers_that_come_and_go_keep_arriving(store_path):
    """A training process ends (its connection closes), another starts: the follower goes
    on seeing points. (Opening a Store once read the file with Python's open(); closing
    that descriptor dropped this process's SQLite locks, so the first writer to close
    thought it was alone, deleted the WAL, and the follower went blind.)"""
    client = MltopClient(Store(store_path))  # this process holds a connection already
    client.create_run(run_name="earlier", log_system_info=False)
    client.flush()
    arrived: queue.Queue = queue.Queue()
    follower = StoreFollower(store_path, arrived.put)  # and opens the store once more
    follower.start()
    try:
        for writer in range(3):
            script = CLOSING_WRITER
            subprocess.run([sys.executable, "-c", script, str(store_path), "20"], check=True)
            points = collect(arrived, 20, timeout=10)
            assert [p.step for p in points] == list(range(20)), f"writer {writer}"
    finally:
        follower.stop()
        client.close()


def test_changed_runs_are_reported_too(store_path):
    client = MltopClient(Store(store_path))
    run = client.create_run(run_name="r").info.run_id
    arrived: queue.Queue = queue.Queue()
    follower = StoreFollower(store_path, arrived.put, poll=0.05)
    follower.start()
    try:
        client.set_tag(run, "note", "changed")
        changes = arrived.get(timeout=30)
        assert changes.run_ids == [run]
    finally:
        follower.stop()
        client.close()


def test_a_registry_change_in_another_process_is_reported(store_path):
    """Nothing about runs changed, but the store did: readers (the registry screen) look."""
    client = MltopClient(Store(store_path))
    run = client.create_run(run_name="r", status="FINISHED").info.run_id
    client.store.registry.create_model_version("m", f"runs:/{run}/model")
    client.close()
    arrived: queue.Queue = queue.Queue()
    follower = StoreFollower(store_path, arrived.put)
    follower.start()
    try:
        promote = "import sys; from mltop.store import Store; " + (
            "Store(sys.argv[1]).registry.transition('m', 1, 'Staging', 'ok')"
        )
        subprocess.run([sys.executable, "-c", promote, str(store_path)], check=True)
        changes = arrived.get(timeout=30)
        assert not changes.run_ids and not changes.metrics
    finally:
        follower.stop()


def test_a_store_that_vanishes_is_reported_and_the_follower_carries_on(store_path):
    Store(store_path).close()
    errors: queue.Queue = queue.Queue()
    follower = StoreFollower(store_path, lambda c: None, on_error=errors.put, poll=0.05)
    follower.start()
    try:
        shutil.rmtree(store_path)
        error = errors.get(timeout=30)
        assert "store" in str(error).lower() or "database" in str(error).lower()
        assert follower._thread is not None and follower._thread.is_alive()
    finally:
        follower.stop()
