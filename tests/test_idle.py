"""What the dashboard costs when little or nothing happens: a busy store is read a few
times a second, not at every commit; reading the store wakes nothing; an idle dashboard
over finished runs draws nothing while its clock ticks."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import subprocess
import sys
import time

from mltop.store import Changes, MltopClient, Store
from mltop.tui.app import MltopApp
from mltop.tui.live import StoreFollower
from mltop.tui.widgets.runs_table import RunsTable

BUSY_WRITER = """
import sys, time
from mltop.store import MltopClient
client = MltopClient(sys.argv[1])
run = client.create_run(run_name="busy", log_system_info=False).info.run_id
for step in range(int(sys.argv[2])):
    client.log_metric(run, "loss", 1.0 / (step + 1), step=step, synchronous=True)
    time.sleep(0.04)
client.close()
"""

READER = """
import sys, time
from mltop.store import Store
for _ in range(int(sys.argv[2])):
    store = Store(sys.argv[1])
    store.search_runs()
    store.close()
    time.sleep(0.05)
"""


def changes_until(arrived: queue.Queue, done, timeout: float = 30.0) -> list[Changes]:
    got: list[Changes] = []
    deadline = time.monotonic() + timeout
    while not done(got):
        assert time.monotonic() < deadline, f"only {len(got)} reads arrived"
        with contextlib.suppress(queue.Empty):
            got.append(arrived.get(timeout=0.1))
    return got


def test_a_store_committing_every_40_ms_is_read_a_few_times_a_second(store_path):
    Store(store_path).close()
    arrived: queue.Queue = queue.Queue()
    follower = StoreFollower(store_path, arrived.put, safety=3600.0)  # file events only
    follower.start()
    try:
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", BUSY_WRITER, str(store_path), "50"], check=True)
        writing = time.monotonic() - started
        reads = changes_until(
            arrived, lambda got: any(p.step == 49 for c in got for p in c.metrics)
        )
    finally:
        follower.stop()
    assert [p.step for c in reads for p in c.metrics] == list(range(50))  # nothing lost
    # 50 commits, each read on its own before: now at most one read each `every` seconds.
    assert len(reads) <= writing / follower.every + 3, (len(reads), writing)


def test_a_busy_store_is_looked_at_not_listened_to_then_heard_again(store_path):
    """Commits pouring in: the follower stops hearing each (watchdog's threads woke for
    every write) and looks every `every` seconds; quiet again, it listens again."""
    client = MltopClient(Store(store_path))
    run = client.create_run(status="SCHEDULED", log_system_info=False).info.run_id
    arrived: queue.Queue = queue.Queue()
    follower = StoreFollower(store_path, arrived.put, safety=3600.0, quiet=0.5)
    follower.start()
    busy_seen: list[bool] = []
    try:
        writer = subprocess.Popen([sys.executable, "-c", BUSY_WRITER, str(store_path), "60"])
        while writer.poll() is None:
            busy_seen.append(follower.busy and follower._observer is None)
            time.sleep(0.02)
        reads = changes_until(
            arrived, lambda got: any(p.step == 59 for c in got for p in c.metrics)
        )
        assert [p.step for c in reads for p in c.metrics] == list(range(60))  # nothing lost
        assert any(busy_seen), "the follower never stopped listening"
        deadline = time.monotonic() + 10
        while follower.busy and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not follower.busy and follower._observer is not None  # listening again
        # A commit now, with the timed look an hour away, arrives through its file events.
        client.set_tag(run, "note", "one commit")
        changes_until(arrived, lambda got: any(run in c.run_ids for c in got), timeout=5)
    finally:
        follower.stop()
        client.close()


def test_reading_the_store_does_not_wake_the_follower(store_path):
    client = MltopClient(Store(store_path))
    run = client.create_run(status="SCHEDULED", log_system_info=False).info.run_id
    arrived: queue.Queue = queue.Queue()
    follower = StoreFollower(store_path, arrived.put, safety=3600.0)
    follower.start()
    assert follower._store is not None
    looks: list[float] = []
    has_changed = follower._store.has_changed

    def counted() -> bool:
        looks.append(time.monotonic())
        return has_changed()

    follower._store.has_changed = counted  # type: ignore[method-assign]
    try:
        # Twenty readers, each opening the store (files opened, read and closed).
        subprocess.run([sys.executable, "-c", READER, str(store_path), "20"], check=True)
        client.set_tag(run, "note", "then one commit")
        changes_until(arrived, lambda got: any(run in c.run_ids for c in got))
    finally:
        follower.stop()
        client.close()
    assert len(looks) <= 2, looks  # the commit's events, not the readers'


def test_an_idle_dashboard_over_finished_runs_draws_nothing_as_the_clock_ticks(store_path):
    client = MltopClient(Store(store_path))
    hours_ago = int(time.time() * 1000) - 3 * 3_600_000
    for i in range(5):
        run = client.create_run(None, hours_ago + i, run_name=f"r{i}", log_system_info=False)
        client.log_metric(run.info.run_id, "loss", 0.5)
        client.set_terminated(run.info.run_id, "FINISHED", hours_ago + 60_000)
    client.close()

    async def main() -> int:
        app = MltopApp(store_path)
        async with app.run_test(size=(120, 40)) as pilot:
            while not app.screen.query(RunsTable) or len(app.screen.query_one(RunsTable).runs) < 5:
                await pilot.pause(0.05)
            while app.follower is None:  # it starts two seconds in
                await pilot.pause(0.05)
            await pilot.pause(0.5)
            screen = app.screen
            drawn = 0
            refresh = screen._compositor_refresh

            def counted() -> None:
                nonlocal drawn
                drawn += 1
                refresh()

            screen._compositor_refresh = counted  # type: ignore[method-assign]
            await pilot.pause(3.5)  # three ticks of the dashboard's clock
            return drawn

    assert asyncio.run(main()) == 0
