"""A store that fails under the dashboard: locked by another process, its database replaced
by garbage, its folder removed. The store raises its typed errors (never SQLite's own);
the dashboard stays up, says what is wrong once (a notification and a marker in the
header), keeps what it showed, and recovers by itself when the store works again."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from test_dashboard import NOW, loaded, names, settle, sync
from test_registry_screen import choose, open_dialog, open_registry, stage
from test_registry_screen import models as models  # the fixture

from mltop.store import (
    MetricWriteError,
    MltopClient,
    Store,
    StoreBusyError,
    StoreCorruptError,
    StoreError,
    StoreFullError,
    StoreIOError,
    StoreNotFoundError,
    StoreReadOnlyError,
)
from mltop.store.sqlite.errors import store_error
from mltop.tui import app as app_module
from mltop.tui.app import MltopApp
from mltop.tui.screens.run_detail import RunDetailScreen


def checkpoint(path: Path) -> None:
    """Every committed page into the database file, the WAL emptied (as a quiet store's is
    after a while): what is read next comes from the file itself."""
    conn = sqlite3.connect(path / "mltop.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def replace_with_garbage(path: Path) -> Path:
    """Put garbage where the database was (a new file, as a copy or a download would);
    return a copy of the real one."""
    checkpoint(path)
    backup = path.parent / "backup.db"
    shutil.copyfile(path / "mltop.db", backup)
    garbage = path.parent / "garbage"
    garbage.write_bytes(os.urandom(64 * 1024))
    os.replace(garbage, path / "mltop.db")
    return backup


@pytest.fixture
def filled_store(store_path) -> dict[str, str]:
    client = MltopClient(Store(store_path))
    ids = {}
    for name in ("alpha", "beta"):
        run = client.create_run(run_name=name, status="FINISHED", log_system_info=False)
        client.log_metric(run.info.run_id, "acc", 0.5)
        ids[name] = run.info.run_id
    client.close()
    return ids


# -- the store's own errors --------------------------------------------------------------


def test_a_lock_held_elsewhere_is_a_typed_busy_error_and_reads_go_on(filled_store, store_path):
    store = Store(store_path, busy_timeout=0.2)
    other = sqlite3.connect(store_path / "mltop.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreBusyError, match=f"the store at {store_path} is busy"):
            store.set_tags(filled_store["alpha"], {"k": "v"})
        with pytest.raises(StoreBusyError):
            store.registry.create_registered_model("m")
        assert len(store.search_runs()) == 2  # WAL: readers are not held up
        store.check()
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.set_tags(filled_store["alpha"], {"k": "v"})  # and it works again
    store.close()


def test_a_database_replaced_by_garbage_is_a_typed_corrupt_error(filled_store, store_path):
    store = Store(store_path)
    run_id = filled_store["alpha"]
    assert store.get_run(run_id).info.run_name == "alpha"
    backup = replace_with_garbage(store_path)
    with pytest.raises(StoreCorruptError, match=f"the store at {store_path} is damaged"):
        store.check()  # it sees the file was replaced, and reads the new one
    for read in (
        store.search_runs,
        lambda: store.get_run(run_id),
        lambda: store.get_metric_history(run_id, "acc"),
        lambda: store.get_metric_blocks(run_id, "acc"),
        lambda: store.registry.search_registered_models(),
        lambda: list(store.iter_runs()),
        lambda: store.log_params(run_id, {"p": 1}),
    ):
        with pytest.raises(StoreCorruptError):
            read()
    os.replace(backup, store_path / "mltop.db")
    store.check()
    assert store.get_run(run_id).info.run_name == "alpha"
    store.close()


def test_a_removed_store_is_a_typed_not_found_error(filled_store, store_path):
    store = Store(store_path)
    shutil.rmtree(store_path)
    with pytest.raises(StoreNotFoundError, match="is gone"):
        store.check()
    with pytest.raises(StoreNotFoundError):
        Store(store_path, create=False)
    store.close()


def test_no_sqlite_error_leaves_the_store(filled_store, store_path):
    """Every public method of Store and Registry is wrapped: a closed connection's
    ProgrammingError, say, arrives as a StoreError."""
    store = Store(store_path)
    store.thread_connection().close()  # this thread's connection, closed under the store
    with pytest.raises(StoreError) as raised:
        store.search_runs()
    assert isinstance(raised.value.__cause__, sqlite3.Error)
    store.close()


# -- the dashboard ---------------------------------------------------------------------------


@pytest.fixture
def quick(monkeypatch):
    """The dashboard waits a fraction of a second on another's lock, not five."""
    monkeypatch.setattr(app_module, "DASHBOARD_BUSY_TIMEOUT", 0.3)


def said(app: MltopApp, title: str) -> int:
    return sum(1 for n in app._notifications if n.title == title)


def errors(app: MltopApp) -> int:
    return sum(1 for n in app._notifications if n.severity == "error")


@sync
async def test_a_move_refused_by_a_lock_is_said_the_store_marked_and_it_recovers(
    models, store_path, quick
):
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await choose(pilot, screen, 2)
        other = sqlite3.connect(store_path / "mltop.db", isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
        try:
            box = await open_dialog(pilot, app, "N")
            dialog = app.screen
            box.value = "taken out of Staging"
            await pilot.press("enter")
            await settle(pilot, lambda: said(app, "store busy") == 1)
            assert app.problem == "store busy" and app.sub_title.endswith("⚠ store busy")
            # The dialog says the move was not made, and keeps the comment to try again.
            problem = str(dialog.query_one("#problem").render())
            assert problem.startswith("not done: the store at") and "is busy" in problem
            assert app.is_running and app.screen is dialog and box.value == "taken out of Staging"
            assert stage(store_path, 2) == "Staging"  # nothing changed
            await pilot.pause(1.5)  # probed meanwhile: still busy, not said again
            assert said(app, "store busy") == 1 and app.problem == "store busy"
        finally:
            other.execute("ROLLBACK")
            other.close()
        await settle(pilot, lambda: app.problem is None)
        assert not app.sub_title.endswith("busy")
        # Notifications arrive as messages: wait for it.
        await settle(
            pilot, lambda: any("works again" in str(n.message) for n in app._notifications)
        )
        await pilot.press("enter")  # the user tries again, from the same dialog: it works
        await settle(pilot, lambda: stage(store_path, 2) == "None")


@sync
async def test_garbage_in_place_of_the_database_keeps_the_screen_and_recovers(
    filled_store, store_path
):
    app = MltopApp(store_path, clock=lambda: NOW)  # following the store, as mltop ui does
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 2)
        await pilot.pause(0.3)  # the follower is listening
        backup = replace_with_garbage(store_path)
        await settle(pilot, lambda: app.problem == "store damaged")
        await settle(pilot, lambda: said(app, "store damaged") == 1)
        assert sorted(names(app)) == ["alpha", "beta"]  # what was read stays on screen
        await pilot.press("enter")  # opening a run now fails: said already, nothing exits
        await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        await pilot.pause(2.5)  # the follower and the probe look again meanwhile
        assert app.is_running and app.problem == "store damaged" and errors(app) == 1
        os.replace(backup, store_path / "mltop.db")  # the real database is back
        await settle(pilot, lambda: app.problem is None)
        # Every screen reads again: the run opened meanwhile now shows.
        screen = app.screen
        assert isinstance(screen, RunDetailScreen)
        await settle(pilot, lambda: screen.run is not None)
        assert screen.run.info.run_name in ("alpha", "beta")


@sync
async def test_a_removed_store_folder_is_said_and_the_dashboard_recovers(filled_store, store_path):
    backup = store_path.parent / "kept"
    app = MltopApp(store_path, poll=0.05, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 2)
        checkpoint(store_path)
        shutil.copytree(store_path, backup)
        shutil.rmtree(store_path)
        await settle(pilot, lambda: app.problem == "store gone")
        await settle(pilot, lambda: said(app, "store gone") == 1)
        assert app.sub_title.endswith("⚠ store gone")
        assert sorted(names(app)) == ["alpha", "beta"]
        await pilot.pause(1.5)
        assert errors(app) == 1  # said once, however often the follower looks
        shutil.copytree(backup, store_path)
        await settle(pilot, lambda: app.problem is None)
        assert app.sub_title.endswith("● polling every 0.05 s")
        MltopClient(Store(store_path)).create_run(run_name="gamma", log_system_info=False)
        await settle(pilot, lambda: "gamma" in names(app))  # followed again


@sync
async def test_a_bug_in_a_worker_is_said_and_logged_and_the_dashboard_goes_on(
    filled_store, store_path, tmp_path, monkeypatch
):
    def broken(self, *args, **kwargs):
        raise RuntimeError("a bug in reading runs")

    log = tmp_path / "errors.log"
    app = MltopApp(store_path, follow=False, clock=lambda: NOW, error_log=log)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 2)
        monkeypatch.setattr(Store, "get_run", broken)
        await pilot.press("enter")
        await settle(pilot, lambda: said(app, "mltop bug") == 1)
        assert app.is_running and app.problem is None  # not a store problem
        message = str(next(n.message for n in app._notifications if n.title == "mltop bug"))
        assert "a bug in reading runs" in message and str(log) in message
        assert "RuntimeError: a bug in reading runs" in log.read_text()
        await pilot.press("escape")
        await settle(pilot, lambda: not isinstance(app.screen, RunDetailScreen))
        assert sorted(names(app)) == ["alpha", "beta"]


@sync
async def test_a_database_put_back_from_a_backup_is_read_afresh(filled_store, store_path):
    backup_dir = store_path.parent / "backup"
    checkpoint(store_path)
    shutil.copytree(store_path, backup_dir)
    with Store(backup_dir) as backup:  # the backup holds a run the store does not
        backup.create_run(run_name="gamma")
    checkpoint(backup_dir)
    app = MltopApp(store_path, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 2)
        await pilot.pause(0.3)  # the follower is listening
        checkpoint(store_path)
        os.replace(backup_dir / "mltop.db", store_path / "mltop.db")
        await settle(pilot, lambda: "gamma" in names(app))
        assert app.problem is None and not any(n.severity == "error" for n in app._notifications)


def test_nothing_is_written_into_a_removed_or_moved_store(filled_store, store_path):
    """An open connection would write on into a deleted file, where nobody ever reads it:
    the store refuses, and the buffered writer keeps the points."""
    store = Store(store_path)
    client = MltopClient(store)
    run_id = filled_store["alpha"]
    client.log_metric(run_id, "acc", 0.6, step=1)
    client.flush()
    moved = store_path.parent / "moved"
    store_path.rename(moved)
    with pytest.raises(StoreNotFoundError, match="is gone"):
        store.set_tags(run_id, {"k": "v"})
    with pytest.raises(StoreNotFoundError):
        store.registry.create_registered_model("m")
    client.log_metric(run_id, "acc", 0.7, step=2)
    with pytest.raises(MetricWriteError, match="not committed yet: the store at .* is gone"):
        client.flush()
    moved.rename(store_path)  # back: the point kept is committed
    client.flush()
    assert [p.value for p in store.get_metric_history(run_id, "acc")] == [0.5, 0.6, 0.7]
    client.close()


def test_a_replaced_database_is_written_to_not_the_old_one(filled_store, store_path):
    store = Store(store_path)
    run_id = filled_store["alpha"]
    checkpoint(store_path)
    backup = store_path.parent / "backup.db"
    shutil.copyfile(store_path / "mltop.db", backup)
    store.set_tags(run_id, {"before": "1"})  # into the current file
    checkpoint(store_path)
    os.replace(backup, store_path / "mltop.db")  # the backup put back (no tag in it)
    store.set_tags(run_id, {"after": "1"})  # this thread's connection moves to it
    with Store(store_path) as fresh:
        tags = fresh.get_run(run_id).data.tags
        assert {k: v for k, v in tags.items() if not k.startswith("mlflow.")} == {"after": "1"}
    store.close()


@sync
async def test_a_move_while_the_store_is_gone_is_not_done(models, store_path):
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await choose(pilot, screen, 2)
        box = await open_dialog(pilot, app, "N")
        dialog = app.screen
        moved = store_path.parent / "moved"
        store_path.rename(moved)
        box.value = "not into a deleted file"
        await pilot.press("enter")
        await settle(pilot, lambda: "not done" in str(dialog.query_one("#problem").render()))
        assert "is gone" in str(dialog.query_one("#problem").render())
        await settle(pilot, lambda: app.problem == "store gone")
        moved.rename(store_path)
        assert stage(store_path, 2) == "Staging"


@sync
async def test_a_chart_is_read_afresh_when_its_database_is_put_back(filled_store, store_path):
    """A backup put in place of the database under an open run: the chart shows the
    backup's history, then follows what is logged into it."""
    from mltop.tui.widgets.metric_chart import MetricChart

    run_id = filled_store["alpha"]
    client = MltopClient(Store(store_path))
    for step in range(1, 50):
        client.log_metric(run_id, "acc", 0.5 + step / 100, step=step)
    client.close()
    checkpoint(store_path)
    backup = store_path.parent / "backup.db"
    shutil.copyfile(store_path / "mltop.db", backup)  # 50 points of acc
    client = MltopClient(Store(store_path))
    for step in range(50, 120):
        client.log_metric(run_id, "acc", 0.9, step=step)
    client.close()
    app = MltopApp(store_path, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 2)
        runs = names(app)
        app.screen.query_one("RunsTable").table.move_cursor(row=runs.index("alpha"))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        chart = app.screen.query_one(MetricChart)
        await settle(pilot, lambda: chart.drawn == 120)
        await pilot.pause(0.3)  # the follower is listening
        checkpoint(store_path)
        os.replace(backup, store_path / "mltop.db")
        await settle(pilot, lambda: chart.drawn == 50)
        assert chart.last_drawn == pytest.approx(0.99)
        client = MltopClient(Store(store_path))  # the training goes on, into the backup
        client.log_metric(run_id, "acc", 7.0, step=50)
        client.close()
        await settle(pilot, lambda: chart.drawn == 51 and chart.last_drawn == 7.0)


def sqlite_failure(message: str, code: int) -> sqlite3.OperationalError:
    """The exception SQLite raises for `code` (its primary result code)."""
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code
    return error


@pytest.mark.parametrize(
    ("message", "code", "kind", "says"),
    [
        ("database is locked", 5, StoreBusyError, "is busy"),
        ("database or disk is full", 13, StoreFullError, "its disk is full"),
        ("attempt to write a readonly database", 8, StoreReadOnlyError, "it is read-only"),
        ("disk I/O error", 10, StoreIOError, "cannot be read or written"),
        ("database disk image is malformed", 11, StoreCorruptError, "is damaged"),
        ("file is not a database", 26, StoreCorruptError, "is damaged"),
    ],
)
def test_each_sqlite_failure_has_its_typed_error(tmp_path, message, code, kind, says):
    error = store_error(sqlite_failure(message, code), tmp_path)
    assert type(error) is kind and says in str(error) and str(tmp_path) in str(error)
    assert message in str(error)
    # Python 3.10 gives no code: the message alone says the same.
    assert type(store_error(sqlite3.OperationalError(message), tmp_path)) is kind


def test_a_write_check_needs_room_on_the_disk(filled_store, store_path, monkeypatch):
    store = Store(store_path)
    store.check(write=True)
    full = shutil.disk_usage(store_path)._replace(free=1024)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: full)
    with pytest.raises(StoreFullError, match="its disk is full"):
        store.check(write=True)
    store.check()  # reads need no room
    store.close()


@sync
async def test_a_full_disk_is_said_and_marked_until_there_is_room(models, store_path, monkeypatch):
    """SQLite reports a full disk when a move is committed: the dialog says it was not
    done, the header says `disk full`, and it stays until the disk has room again."""
    from mltop.store.sqlite.database import Database

    real_write = Database.write
    room = {"free": 0}

    def full_write(self, conn=None):
        if not room["free"]:
            raise sqlite_failure("database or disk is full", 13)
        return real_write(self, conn)

    usage = shutil.disk_usage(store_path)
    monkeypatch.setattr(Database, "write", full_write)
    monkeypatch.setattr(
        shutil, "disk_usage", lambda path: usage._replace(free=room["free"] or 1024)
    )
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await choose(pilot, screen, 2)
        box = await open_dialog(pilot, app, "N")
        dialog = app.screen
        box.value = "no room"
        await pilot.press("enter")
        await settle(pilot, lambda: app.problem == "disk full")
        assert "its disk is full" in str(dialog.query_one("#problem").render())
        await pilot.pause(1.5)  # probed meanwhile: the disk is still full
        assert app.problem == "disk full" and app.sub_title.endswith("⚠ disk full")
        room["free"] = 10**9
        await settle(pilot, lambda: app.problem is None)
        await pilot.press("enter")  # from the same dialog: now it is done
        await settle(pilot, lambda: stage(store_path, 2) == "None")
