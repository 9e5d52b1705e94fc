"""Making a store: race-free between processes, never half made, never by a reader."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import traceback
from pathlib import Path

import pytest
from helpers import run_python

from mltop.store import MltopClient, Store
from mltop.store.errors import StoreError, StoreFullError, StoreNotFoundError

PROCESSES = 8
TRIALS = 60


def _open_and_log(barrier, root: str, trials: int, worker: int, failures) -> None:
    for trial in range(trials):
        barrier.wait()
        try:
            client = MltopClient(Store(Path(root) / f"s{trial}"))
            run_id = client.create_run(run_name=f"w{worker}", log_system_info=False).info.run_id
            for step in range(5):
                client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
            client.set_terminated(run_id)
            client.close()
        except BaseException:
            failures.put(f"trial {trial}, worker {worker}:\n{traceback.format_exc()}")


def test_eight_processes_making_the_same_new_store_at_once_all_succeed(tmp_path):
    """8 processes open one new store at the same instant, then each logs a run into it at
    once (so the later ones look at a store others are writing), 60 times over."""
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(PROCESSES)
    failures = ctx.Queue()
    workers = [
        ctx.Process(target=_open_and_log, args=(barrier, str(tmp_path), TRIALS, n, failures))
        for n in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=600)
    said = []
    while not failures.empty():
        said.append(failures.get())
    assert not said, "\n".join(said[:3])
    assert [w.exitcode for w in workers] == [0] * PROCESSES
    for trial in range(TRIALS):
        folder = tmp_path / f"s{trial}"
        left = sorted(p.name for p in folder.iterdir() if not p.name.endswith(("-wal", "-shm")))
        assert left == ["artifacts", "mltop.db"]  # no database made aside and left over
        conn = sqlite3.connect(folder / "mltop.db")
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (PROCESSES,)
        assert conn.execute("SELECT count(*) FROM metrics").fetchone() == (5 * PROCESSES,)
        conn.close()


def test_a_store_is_never_half_made_on_a_full_disk(tmp_path):
    """The disk fills while the database is being made (here: a limit on file sizes, which
    fails writes as a full disk does): a typed error, and no store, database or stray file
    left for the next attempt to trip on."""
    result = run_python(
        f"""
        import resource, signal
        from mltop.store import Store
        from mltop.store.errors import StoreError
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))
        try:
            Store({str(tmp_path / "new")!r})
        except StoreError as exc:
            print(type(exc).__name__, exc)
        else:
            print("made")
        """
    )
    kind, _, message = result.stdout.partition(" ")
    assert kind in ("StoreIOError", "StoreFullError"), result.stdout + result.stderr
    assert "new" in message
    assert not (tmp_path / "new").exists()
    # In a folder that was there already: the folder stays, empty.
    (tmp_path / "kept").mkdir()
    result = run_python(
        f"""
        import resource, signal
        from mltop.store import Store
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))
        Store({str(tmp_path / "kept")!r})
        """,
        check=False,
    )
    assert result.returncode != 0 and "StoreIOError" in result.stderr
    assert list((tmp_path / "kept").iterdir()) == []
    Store(tmp_path / "kept").close()  # with room: made, from nothing
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["artifacts", "mltop.db"]


def test_a_full_disk_when_the_store_is_put_in_place_is_said_as_such(tmp_path, monkeypatch):
    def no_room(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "link", no_room)
    monkeypatch.setattr(os, "replace", no_room)
    with pytest.raises(StoreFullError, match="its disk is full"):
        Store(tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_a_reader_never_makes_a_store_of_an_empty_database_file(tmp_path):
    """A zero-byte mltop.db (touched, or left by a copy that failed) is not a store yet: a
    read command says so and leaves the file as it is."""
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "mltop.db").touch()
    with pytest.raises(StoreNotFoundError, match="empty"):
        Store(folder, create=False)
    result = run_python(
        f"""
        import sys
        from mltop.tui.cli import main
        sys.argv = ["mltop", "runs", "list", "--store", {str(folder)!r}]
        main()
        """,
        check=False,
    )
    assert result.returncode != 0
    assert "empty" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["mltop.db"]
    assert (folder / "mltop.db").stat().st_size == 0
    # A writer makes it a store.
    with Store(folder) as made:
        made.create_experiment("e")
    with Store(folder, create=False) as read:
        names = [e.name for e in read.search_experiments(order_by=["experiment_id"])]
        assert names == ["Default", "e"]


def test_a_file_that_is_no_store_is_reported_without_a_change(tmp_path):
    folder = tmp_path / "other"
    folder.mkdir()
    conn = sqlite3.connect(folder / "mltop.db")
    conn.execute("CREATE TABLE mine (x)")
    conn.commit()
    conn.close()
    before = (folder / "mltop.db").read_bytes()
    for create in (True, False):
        with pytest.raises(StoreError, match="not an mltop store"):
            Store(folder, create=create)
    assert (folder / "mltop.db").read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["mltop.db"]
