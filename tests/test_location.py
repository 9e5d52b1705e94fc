"""Finding the store, and refusing what is not one without touching it."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from mltop.store import (
    NotAStoreError,
    SchemaTooNewError,
    Store,
    StoreNotFoundError,
    resolve_store_path,
)
from mltop.store.sqlite.schema import APPLICATION_ID, LATEST_VERSION


def fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_explicit_path_wins_over_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MLTOP_STORE", str(tmp_path / "env"))
    assert resolve_store_path(tmp_path / "given") == tmp_path / "given"
    assert resolve_store_path() == tmp_path / "env"


def test_nearest_mltop_folder_is_found_walking_up(tmp_path, monkeypatch):
    (tmp_path / ".mltop").mkdir()
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert resolve_store_path() == tmp_path / ".mltop"


def test_store_is_created_in_working_directory_when_none_found(tmp_path):
    store = Store()
    assert store.path == tmp_path / ".mltop"
    assert (tmp_path / ".mltop" / "mltop.db").is_file()
    assert (tmp_path / ".mltop" / "artifacts").is_dir()
    journal = sqlite3.connect(store.db_path).execute("PRAGMA journal_mode").fetchone()[0]
    assert journal == "wal"


def test_path_to_the_database_file_means_its_folder(store_path):
    Store(store_path).close()
    assert resolve_store_path(store_path / "mltop.db") == store_path


def test_reading_never_creates_a_store(tmp_path):
    with pytest.raises(StoreNotFoundError, match="no mltop store"):
        Store(tmp_path / "missing", create=False)
    assert not (tmp_path / "missing").exists()


def test_a_text_file_is_refused_and_untouched(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "mltop.db").write_text("hello, not a database\n")
    before = fingerprint(folder)
    with pytest.raises(NotAStoreError, match="not an SQLite database"):
        Store(folder)
    assert fingerprint(folder) == before


def test_a_foreign_sqlite_database_is_refused_and_untouched(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    conn = sqlite3.connect(folder / "mltop.db")
    conn.execute("CREATE TABLE users (name TEXT)")
    conn.execute("INSERT INTO users VALUES ('ada')")
    conn.commit()
    conn.close()
    before = fingerprint(folder)
    with pytest.raises(NotAStoreError, match="SQLite database but not an mltop store"):
        Store(folder)
    assert fingerprint(folder) == before


def test_a_store_from_a_newer_mltop_is_refused_and_untouched(store_path):
    Store(store_path).close()
    conn = sqlite3.connect(store_path / "mltop.db")
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = fingerprint(store_path)
    with pytest.raises(SchemaTooNewError, match="newer mltop") as info:
        Store(store_path)
    assert "upgrade mltop" in str(info.value)
    assert fingerprint(store_path) == before


def test_a_file_where_the_store_folder_should_be_is_refused(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("x")
    with pytest.raises(NotAStoreError, match="is a file"):
        Store(target)
    assert target.read_text() == "x"


def test_a_non_empty_folder_without_a_database_is_refused(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "train.py").write_text("print(1)\n")
    with pytest.raises(NotAStoreError, match="non-empty directory"):
        Store(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["train.py"]


def test_reopening_keeps_data_and_marks_the_file(store_path):
    with Store(store_path) as store:
        store.create_experiment("kept")
    with Store(store_path) as store:
        assert store.get_experiment_by_name("kept") is not None
    conn = sqlite3.connect(store_path / "mltop.db")
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION


def test_an_older_store_is_migrated_once(store_path, monkeypatch):
    from mltop.store.sqlite import schema

    Store(store_path).close()
    calls = []
    newer = schema.LATEST_VERSION + 1

    def next_migration(conn):
        calls.append(1)
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")

    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, next_migration])
    monkeypatch.setattr(schema, "LATEST_VERSION", newer)
    import mltop.store.sqlite.database as database

    monkeypatch.setattr(database, "LATEST_VERSION", newer)
    with Store(store_path) as store:
        assert store.get_experiment("0").name == "Default"
    with Store(store_path):
        pass
    assert calls == [1]
    conn = sqlite3.connect(store_path / "mltop.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == newer
    assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 0


def test_a_version_1_store_gains_the_registry(store_path, monkeypatch):
    import mltop.store.sqlite.database as database
    from mltop.store.sqlite import schema

    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:1])
    monkeypatch.setattr(schema, "LATEST_VERSION", 1)
    monkeypatch.setattr(database, "LATEST_VERSION", 1)
    with Store(store_path) as store:
        store.create_experiment("kept")
    monkeypatch.undo()
    with Store(store_path) as store:
        assert store.get_experiment_by_name("kept") is not None
        tables = {
            r[0]
            for r in store.thread_connection().execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
        }
        assert {"registered_models", "model_versions", "model_transitions"} <= tables
