"""A store the user may read but not write (another user's, a read-only mount, a copy of a
finished one) is opened read-only: read commands and the dashboard work, nothing is
written, not even SQLite's -wal and -shm files, and the header says so."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
from helpers import run_python, run_python_read_only, spawn_read_only

from mltop.store import MltopClient, Store
from mltop.store.errors import StoreReadOnlyError

TESTS = Path(__file__).resolve().parents[1]


@pytest.fixture
def shared(tmp_path) -> dict[str, str]:
    """A finished store: two runs, a model in Production; everything checkpointed."""
    path = tmp_path / "store"
    client = MltopClient(Store(path))
    runs = {}
    for name, acc in (("alpha", 0.9), ("beta", 0.7)):
        run_id = client.create_run(run_name=name, log_system_info=False).info.run_id
        for step in range(3):
            client.log_metric(run_id, "acc", acc * (step + 1) / 3, step=step)
        client.log_param(run_id, "lr", "0.1")
        client.set_terminated(run_id)
        runs[name] = run_id
    client.flush()
    registry = client.store.registry
    registry.create_registered_model("resnet")
    registry.create_model_version("resnet", f"runs:/{runs['alpha']}/model")
    registry.create_model_version("resnet", f"runs:/{runs['beta']}/model")
    registry.transition("resnet", 1, "Production", "first", user="ana")
    client.close()
    client.store.close()
    assert not (path / "mltop.db-wal").exists()  # the last connection checkpointed it
    return runs


def lock_down(path: Path) -> dict[str, bytes]:
    """Take write permission away from the store's files and folders; what they hold."""
    held = {}
    for folder, _, files in os.walk(path):
        for name in files:
            file = Path(folder, name)
            held[str(file)] = file.read_bytes()
            file.chmod(0o444)
    for folder, _, _ in os.walk(path, topdown=False):
        Path(folder).chmod(0o555)
    return held


def unlock(path: Path) -> None:
    for folder, _, files in os.walk(path):
        Path(folder).chmod(0o755)
        for name in files:
            Path(folder, name).chmod(0o644)


def unchanged(path: Path, held: dict[str, bytes]) -> bool:
    now = {
        str(Path(folder, name)): Path(folder, name).read_bytes()
        for folder, _, files in os.walk(path)
        for name in files
    }
    return now == held


def cli(store: Path, *args: str) -> str:
    return f"""
        import sys
        from mltop.tui.cli import main
        sys.argv = ["mltop", "--store", {str(store)!r}, *{list(args)!r}]
        main()
    """


def test_read_commands_read_a_store_they_cannot_write(shared, store_path):
    held = lock_down(store_path)
    try:
        listed = run_python_read_only(cli(store_path, "runs", "list", "--json"))
        assert sorted(r["run_name"] for r in json.loads(listed.stdout)) == ["alpha", "beta"]
        shown = run_python_read_only(cli(store_path, "runs", "show", shared["beta"]))
        assert "beta" in shown.stdout and "lr" in shown.stdout
        models = run_python_read_only(cli(store_path, "models", "list"))
        assert "resnet" in models.stdout
        exps = run_python_read_only(cli(store_path, "experiments", "list"))
        assert "Default" in exps.stdout
        # A write is refused, said plainly, and changes nothing.
        moved = run_python_read_only(
            cli(store_path, "models", "transition", "resnet", "1", "Archived", "-m", "x", "-y"),
            check=False,
        )
        assert moved.returncode == 1, moved.stderr
        assert "read-only" in moved.stderr and "Traceback" not in moved.stderr
        assert unchanged(store_path, held)
    finally:
        unlock(store_path)
    with Store(store_path) as store:
        assert store.registry.get_model_version("resnet", 1).current_stage == "Production"


def test_the_dashboard_opens_a_store_it_cannot_write_and_says_so(shared, store_path):
    held = lock_down(store_path)
    try:
        result = run_python_read_only(
            f"""
            import asyncio, sys
            sys.path.insert(0, {str(TESTS)!r})
            from test_dashboard import NOW, loaded, names, settle
            from test_registry_screen import choose, open_registry
            from mltop.tui.app import MltopApp

            async def main():
                app = MltopApp({str(store_path)!r}, follow=True, clock=lambda: NOW)
                async with app.run_test(size=(120, 40)) as pilot:
                    await loaded(pilot, app, 2)
                    print("header:", app.sub_title)
                    print("runs:", sorted(names(app)))
                    screen = await open_registry(pilot, app)
                    await choose(pilot, screen, 1)
                    await pilot.press("A")
                    await pilot.pause(0.3)
                    await pilot.press(*"retire", "enter")
                    await settle(pilot, lambda: any(
                        "read-only" in str(n.message) for n in app._notifications))
                    print("problem:", app.problem)
                    print("alive:", app.is_running)

            asyncio.run(main())
            """
        )
    finally:
        unlock(store_path)
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert lines["header"].endswith("(read-only)  ● live")
    assert lines["runs"] == "['alpha', 'beta']"
    assert lines["problem"] == "None"  # a refused write is said, the store is not "broken"
    assert lines["alive"] == "True"
    assert "Traceback" not in result.stderr
    assert unchanged(store_path, held)


def test_a_read_only_store_being_written_by_its_owner_is_read_live(shared, store_path):
    """Its owner trains into it (its -wal and -shm beside it): a reader without write
    permission reads what is committed, then what is committed after it opened."""
    owner = MltopClient(Store(store_path))
    run_id = owner.create_run(run_name="gamma", log_system_info=False).info.run_id
    owner.log_metric(run_id, "loss", 1.0, step=0)
    owner.flush()
    for file in store_path.iterdir():
        if file.is_file():
            file.chmod(stat.S_IMODE(file.stat().st_mode) & ~0o222)
    store_path.chmod(0o555)
    try:
        reader = spawn_read_only(
            f"""
            from mltop.store import Store
            store = Store({str(store_path)!r}, create=False)
            print(store.read_only, len(store.get_metric_history({run_id!r}, "loss")), flush=True)
            input()  # the owner logs more meanwhile
            print(store.read_only, len(store.get_metric_history({run_id!r}, "loss")), flush=True)
            """,
            stdin=subprocess.PIPE,
        )
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline() == "True 1\n"
        owner.log_metric(run_id, "loss", 0.5, step=1)
        owner.flush()
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline() == "True 2\n"
        assert reader.wait(timeout=60) == 0, reader.stderr.read() if reader.stderr else ""
    finally:
        store_path.chmod(0o755)
        owner.close()
    assert sorted(p.name for p in store_path.iterdir() if p.is_file()) == [
        "mltop.db",
        "mltop.db-shm",
        "mltop.db-wal",
    ]


def test_an_older_store_that_cannot_be_written_is_not_half_read(shared, store_path):
    """Reading a store written by an older mltop needs its one-off upgrade: without write
    permission, that is said, and nothing is changed."""
    conn = sqlite3.connect(store_path / "mltop.db")
    conn.execute("DROP TABLE metric_blocks")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    held = lock_down(store_path)
    try:
        result = run_python_read_only(cli(store_path, "runs", "list"), check=False)
    finally:
        unlock(store_path)
    assert result.returncode == 1
    assert "older mltop" in result.stderr and "write access" in result.stderr
    assert "Traceback" not in result.stderr
    assert unchanged(store_path, held)


def test_asked_for_read_only_a_writable_store_is_not_written(shared, store_path):
    before = (store_path / "mltop.db").read_bytes()
    with Store(store_path, create=False, read_only=True) as store:
        assert store.read_only
        assert [r.info.run_name for r in store.search_runs(["0"])] == ["beta", "alpha"]
        with pytest.raises(StoreReadOnlyError, match="read-only"):
            store.set_tags(shared["alpha"], {"k": "v"})
        with pytest.raises(StoreReadOnlyError):
            store.check(write=True)
    assert (store_path / "mltop.db").read_bytes() == before
    assert sorted(p.name for p in store_path.iterdir()) == ["artifacts", "mltop.db"]
    with Store(store_path, create=False) as store:
        assert not store.read_only  # it can be written: it is, when asked


def test_a_read_only_reader_sees_what_its_owner_wrote_and_checkpointed_since(shared, store_path):
    """Opened when everything was in the main file (read as immutable), the reader must not
    go on trusting what it read once the owner has written and checkpointed (its -wal gone
    again, as after any `mltop models transition`): it reads the file afresh."""
    for file in store_path.iterdir():
        if file.is_file():
            file.chmod(0o644)
    store_path.chmod(0o555)
    try:
        reader = spawn_read_only(
            f"""
            from mltop.store import Store
            store = Store({str(store_path)!r}, create=False)
            def say():
                stage = store.registry.get_model_version("resnet", 2).current_stage
                print(store.read_only, len(store.search_runs()), stage, store.has_changed(),
                      flush=True)
            say()
            input()  # the owner writes, and closes: checkpointed, no -wal
            say()
            """,
            stdin=subprocess.PIPE,
        )
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline() == "True 2 None True\n"
        store_path.chmod(0o755)  # the owner may write the folder (its -wal)
        with Store(store_path) as owner:
            owner.registry.transition("resnet", 2, "Production", "owner", user="ana")
            MltopClient(owner).create_run(run_name="gamma", log_system_info=False)
        assert not (store_path / "mltop.db-wal").exists()
        store_path.chmod(0o555)
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline() == "True 3 Production True\n"
        assert reader.wait(timeout=60) == 0, reader.stderr.read() if reader.stderr else ""
    finally:
        store_path.chmod(0o755)


def test_a_store_on_a_disk_that_takes_no_more_bytes_is_read(shared, store_path):
    """A full disk (here: a limit on file sizes, which fails writes as a full disk does):
    SQLite cannot make the -shm file a reader shares the database through. Read commands
    still read the store, read-only, and say what they read; nothing in the store changes."""
    before = (store_path / "mltop.db").read_bytes()
    result = run_python(
        f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
        from mltop.store import Store
        store = Store({str(store_path)!r}, create=False)
        print(store.read_only, sorted(r.info.run_name for r in store.search_runs()))
        from mltop.tui.cli import main
        sys.argv = ["mltop", "--store", {str(store_path)!r}, "models", "list"]
        main()
        """
    )
    assert result.stdout.splitlines()[0] == "True ['alpha', 'beta']"
    assert "resnet" in result.stdout
    assert (store_path / "mltop.db").read_bytes() == before


def test_read_commands_write_nothing_not_even_a_folder(shared, store_path):
    (store_path / "artifacts").rmdir()  # no run logged a file: nothing in it
    before = {p.name: p.read_bytes() for p in store_path.iterdir()}
    for args in (["runs", "list"], ["models", "list"], ["experiments", "list"]):
        run_python(cli(store_path, *args))
    assert {p.name: p.read_bytes() for p in store_path.iterdir()} == before
