"""Connections to the store across threads: a dashboard reads each time in a new thread."""

from __future__ import annotations

import threading

from mltop.store import MltopClient, Store


def in_a_thread(work) -> None:
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


def test_a_new_thread_takes_the_connection_an_ended_thread_left(store_path):
    store = Store(store_path)
    MltopClient(store).create_run(run_name="a", log_system_info=False)
    used = []
    for _ in range(20):
        in_a_thread(lambda: used.append(id(store.thread_connection())))
        assert store.count_runs() == 1
    assert len(set(used)) == 1  # one connection, handed on: none opened per thread
    assert len(store.db._connections) <= 2  # this thread's, and the one handed on
    store.close()


def test_threads_at_once_get_connections_of_their_own_and_none_pile_up(store_path):
    store = Store(store_path)
    barrier = threading.Barrier(8)
    seen: list[int] = []

    def work() -> None:
        conn = store.thread_connection()
        seen.append(id(conn))
        conn.execute("SELECT count(*) FROM runs").fetchone()
        barrier.wait()  # all eight hold theirs at once

    for _ in range(3):
        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(set(seen[-8:])) == 8
    # Ended threads' connections: a few kept for the next threads, the others closed.
    in_a_thread(store.thread_connection)
    assert len(store.db._connections) <= 2 + 4  # main, the last thread, four spare
    store.close()
