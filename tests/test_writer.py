"""The buffered writer never drops points silently."""

from __future__ import annotations

import sqlite3

import pytest

from mltop.store import MetricWriteError


def test_a_failed_background_commit_is_raised_at_the_next_call(client, monkeypatch):
    run_id = client.create_run().info.run_id
    client.log_metric(run_id, "v", 1.0)
    client.flush()

    def fail(rows, conn=None):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(client.store, "write_points", fail)
    writer = client._writer
    client.log_metric(run_id, "v", 2.0, step=1)
    # Let the background thread take the point, as it does every interval.
    with writer._commit_lock:
        writer._drain(client.store.new_connection(), raise_errors=False)
    with pytest.raises(MetricWriteError, match="1 metric point could not be committed.*disk I/O"):
        client.log_metric(run_id, "v", 3.0, step=2)


def test_a_failed_commit_is_raised_by_flush(client, monkeypatch):
    run_id = client.create_run().info.run_id

    def fail(rows, conn=None):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(client.store, "write_points", fail)
    client.log_metric(run_id, "v", 2.0)
    with pytest.raises(MetricWriteError, match="database is locked"):
        client.flush()


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
