"""The buffered writer never drops points silently."""

from __future__ import annotations

import sqlite3

import pytest

from mltop.store import MetricWriteError, StoreIOError


def test_a_failed_background_commit_is_raised_at_the_next_call_and_loses_nothing(
    client, monkeypatch
):
    run_id = client.create_run().info.run_id
    client.log_metric(run_id, "v", 1.0)
    client.flush()

    def fail(rows, conn=None):
        raise StoreIOError(
            f"the store at {client.store.path} cannot be read or written (disk I/O error)"
        )

    monkeypatch.setattr(client.store, "write_points", fail)
    writer = client._writer
    client.log_metric(run_id, "v", 2.0, step=1)
    # Let the background thread take the point, as it does every interval.
    with writer._commit_lock:
        writer._drain(client.store.new_connection(), raise_errors=False)
    # The call that raises queues its own point with the one held: the count says both.
    with pytest.raises(MetricWriteError, match="^2 metric points not committed yet.*disk I/O"):
        client.log_metric(run_id, "v", 3.0, step=2)
    monkeypatch.undo()  # the disk works again: the points kept are committed in their place
    client.flush()
    assert [p.value for p in client.store.get_metric_history(run_id, "v")] == [1.0, 2.0, 3.0]


def test_a_commit_refused_by_a_lock_is_raised_by_flush_and_retried(store_path):
    from mltop.store import MltopClient, Store

    client = MltopClient(Store(store_path, busy_timeout=0.2))
    run_id = client.create_run(log_system_info=False).info.run_id
    client.log_metric(run_id, "v", 1.0)
    client.flush()
    other = sqlite3.connect(store_path / "mltop.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the store's write lock
    client.log_metric(run_id, "v", 2.0, step=1)
    with pytest.raises(MetricWriteError, match="not committed yet: the store at .* is busy"):
        client.flush()
    other.execute("COMMIT")
    other.close()
    client.flush()
    assert [p.value for p in client.store.get_metric_history(run_id, "v")] == [1.0, 2.0]
    client.close()


def test_a_fast_loop_commits_full_batches_itself_so_memory_stays_bounded(client, store_path):
    from mltop.store import Store

    run_id = client.create_run().info.run_id
    batch = client._writer.batch_size
    peak = 0
    for step in range(3 * batch):
        client.log_metric(run_id, "v", float(step), step=step)
        peak = max(peak, len(client._writer.queue))
    assert peak <= batch  # a full batch is committed by the logging call itself
    client.flush()
    with Store(store_path) as other:
        assert other.get_run(run_id).data.summaries["v"].count == 3 * batch


def test_the_background_thread_commits_a_trickle_within_its_interval(store_path):
    from mltop.store import MltopClient, Store

    run_id = MltopClient(store_path).create_run(status="SCHEDULED").info.run_id
    client = MltopClient(store_path)  # a script logging into a run it did not start
    client.log_metric(run_id, "v", 1.0)
    thread = client._writer.thread
    assert thread is not None and thread.is_alive()
    with Store(store_path) as other:
        # The writer ticks every 0.1 s: wait on the data, bounded, not on a guess.
        import time

        deadline = time.monotonic() + 10
        while not other.get_metric_history(run_id, "v"):
            assert time.monotonic() < deadline, "the writer thread never committed"
            time.sleep(0.02)


def test_points_held_while_the_disk_is_full_are_bounded_and_the_rest_said(client, monkeypatch):
    """The disk stays full while a loop goes on logging (catching the errors): at most
    max_held points are held, the oldest first; each error says how many newer ones were
    let go; when the disk has room again the points held are committed, in order."""
    from mltop.store import StoreFullError

    run_id = client.create_run(log_system_info=False).info.run_id
    writer = client._writer
    writer.max_held = 25
    writer.batch_size = 10

    def full(rows, conn=None):
        raise StoreFullError(f"the store at {client.store.path} cannot be written: disk full")

    monkeypatch.setattr(client.store, "write_points", full)
    said = []
    for step in range(60):
        try:
            client.log_metric(run_id, "v", float(step), step=step, synchronous=False)
        except MetricWriteError as exc:
            said.append(str(exc))
    assert len(writer.queue) <= 25
    assert any("newest were let go: at most 25 points are held" in s for s in said)
    assert all("disk full" in s for s in said)
    monkeypatch.undo()
    client.flush()
    steps = [p.step for p in client.store.get_metric_history(run_id, "v")]
    assert steps == sorted(steps) and steps[:25] == list(range(25))
