"""The SQLite database under a store: connecting, inspecting, creating, migrating, one
write-transaction helper, the change sequence, and the one translation of SQLite's errors
into mltop's typed errors. The run store (`sqlite/tracking.py`) and the registry
(`sqlite/registry.py`) both stand on one `Database`; nothing else opens the file.

A `Database` is safe to share between threads (each thread gets its own connection) and
processes (SQLite's locking; every write is a short `BEGIN IMMEDIATE` transaction).
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from mltop.store.errors import (
    MltopError,
    NotAStoreError,
    SchemaTooNewError,
    StoreError,
    StoreFullError,
    StoreIOError,
    StoreNotFoundError,
    StoreReadOnlyError,
)
from mltop.store.location import ARTIFACTS_DIR, DB_NAME, resolve_store_path
from mltop.store.sqlite.errors import store_error, translated
from mltop.store.sqlite.schema import APPLICATION_ID, LATEST_VERSION, migrate

BUSY_TIMEOUT_S = 60.0
CACHE_KIB = 64 * 1024
FREE_TO_WRITE = 4 * 1024 * 1024  # bytes a disk needs free for check(write=True) to pass
MIN_SQLITE = (3, 24, 0)  # upserts (INSERT ... ON CONFLICT DO UPDATE)


def _inspect_existing(db_path: Path) -> int:
    """The schema version of an existing database file (0 for an empty one).

    Reads without writing; refuses files that are not mltop stores or are too new. A read
    that overlaps another process's write to the file (a checkpoint) may see it torn: an
    answer that the file is not a store is given only when the file did not change while
    it was read."""
    for attempt in range(_INSPECT_TRIES):
        before = _file_state(db_path)
        try:
            return _inspect_once(db_path)
        except StoreError:
            if before == _file_state(db_path) or attempt == _INSPECT_TRIES - 1:
                raise
        time.sleep(0.005 * (attempt + 1))
    raise AssertionError("unreachable")


_INSPECT_TRIES = 20


def _file_state(db_path: Path) -> tuple[object, ...]:
    """What changes when a database file is written: its identity, size and time, and
    whether a -wal file is beside it."""
    try:
        found = os.stat(db_path)
    except OSError:
        return ()
    wal = db_path.with_name(db_path.name + "-wal").exists()
    return (found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns, wal)


def _inspect_once(db_path: Path) -> int:
    # Never open() the file from Python: closing any descriptor of it drops every POSIX
    # lock this process holds on it, including those of live SQLite connections, and a
    # writer elsewhere would then believe it was alone and delete the WAL under us.
    if db_path.stat().st_size == 0:
        return 0
    try:
        conn = _read_only_connection(db_path, BUSY_TIMEOUT_S)
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc):
            raise NotAStoreError(
                f"{db_path} is not an mltop store (not an SQLite database); it was not modified"
            ) from exc
        typed = store_error(exc, db_path.parent)
        if type(typed) is not StoreError:  # busy, a disk failing or full: not the file
            raise typed from exc
        raise NotAStoreError(f"{db_path} cannot be read as an mltop store ({exc})") from exc
    return _check_identity(db_path, app_id, version, tables)


def _wal_size(db_path: Path) -> int:
    """The size of the -wal file beside the database (0: none, or nothing in it yet)."""
    try:
        return os.stat(f"{db_path}-wal").st_size
    except OSError:
        return 0


def _read_only_connection(db_path: Path, busy_timeout: float) -> sqlite3.Connection:
    """A connection that writes nothing, not even -wal or -shm files. With a -wal file
    beside the database, SQLite reads both (its -shm too); with none, everything is in
    the main file and it is read as immutable, as a read-only connection to a WAL database
    would otherwise need to create them."""
    flags = "mode=ro" if _wal_size(db_path) else "mode=ro&immutable=1"
    return sqlite3.connect(
        f"{db_path.as_uri()}?{flags}",
        uri=True,
        timeout=busy_timeout,
        isolation_level=None,
        check_same_thread=False,
    )


def upgrade_pending(path: str | os.PathLike[str] | None = None) -> bool:
    """Whether opening the store at `path` (found as `Store` finds it) will upgrade it to
    this mltop's schema, a one-off that takes a while on a large store (about a second per
    half a million metric points). False when it is current, or absent, or not a store."""
    db_path = resolve_store_path(path) / DB_NAME
    try:
        return db_path.is_file() and 0 < _inspect_existing(db_path) < LATEST_VERSION
    except (MltopError, OSError):
        return False  # opening it will say what is wrong


def _check_identity(db_path: Path, app_id: int, version: int, tables: int) -> int:
    if app_id == 0 and version == 0 and tables == 0:
        return 0
    if app_id != APPLICATION_ID:
        raise NotAStoreError(
            f"{db_path} is an SQLite database but not an mltop store; it was not modified"
        )
    if version > LATEST_VERSION:
        raise SchemaTooNewError(
            f"{db_path} was written by a newer mltop (schema version {version}; this mltop "
            f"reads up to {LATEST_VERSION}); upgrade mltop to open it. It was not modified."
        )
    return version


IDLE_CONNECTIONS = 4  # kept for threads to come, of those whose threads have ended


def _alive(thread: weakref.ref[threading.Thread]) -> bool:
    found = thread()
    return found is not None and found.is_alive()


def _connect(
    db_path: Path, busy_timeout: float = BUSY_TIMEOUT_S, *, read_only: bool = False
) -> sqlite3.Connection:
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        raise StoreError(
            f"this Python links SQLite {sqlite3.sqlite_version}; mltop needs "
            f"{'.'.join(map(str, MIN_SQLITE))} or newer"
        )
    if read_only:
        conn = _read_only_connection(db_path, busy_timeout)
    else:
        conn = sqlite3.connect(
            db_path, isolation_level=None, timeout=busy_timeout, check_same_thread=False
        )
        conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    # SQLite's default page cache is 2 MiB: a search over 10,000 runs touches more than
    # that and would re-read pages from the OS on every query. Filled only as used.
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    return conn


_SIDE_FILES = ("-journal", "-wal", "-shm")


def _sync_folder(folder: Path) -> None:
    """Make a new name in `folder` survive a power cut (where the OS lets us)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _os_store_error(exc: OSError, path: Path) -> StoreError:
    """The typed error standing for the OS's `exc` on the store at `path`."""
    if exc.errno == errno.ENOSPC:
        return StoreFullError(f"the store at {path} cannot be written: its disk is full ({exc})")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StoreReadOnlyError(f"the store at {path} cannot be written ({exc})")
    return StoreIOError(f"the store at {path} cannot be written ({exc})")


def _set_wal(conn: sqlite3.Connection, deadline: float) -> None:
    """Put the database in WAL mode. Changing the journal mode needs the database to
    itself, and SQLite does not wait for that: another process reading it an instant
    makes it fail as locked at once, so it is tried again until `deadline`."""
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _build_database(path: Path) -> None:
    """A complete, current, empty store database at `path` (a new file), in WAL mode."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("BEGIN IMMEDIATE")
        try:
            migrate(conn)
            conn.execute("COMMIT")
        except BaseException:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
            raise StoreError(f"{path.parent} cannot hold an mltop store: SQLite refused WAL mode")
    finally:
        conn.close()


@translated(lambda db: db.path)
class Database:
    """The database file `mltop.db` of the store folder `path`, and every connection to it.

    SQLite's failures reach callers as `StoreError` subclasses (busy, I/O, corrupt, full).
    `busy_timeout` is how long a read or write waits for another process's lock.
    """

    def __init__(
        self,
        path: Path,
        *,
        create: bool = True,
        busy_timeout: float = BUSY_TIMEOUT_S,
        read_only: bool | None = None,
        on_replaced: Callable[[], None] | None = None,
    ):
        self.path = path
        self.db_path = self.path / DB_NAME
        self.busy_timeout = busy_timeout
        self.local = threading.local()
        # Each thread's connection (with its thread, database generation and read-only
        # view): one whose thread has ended is handed to the next new thread.
        self._connections: list[
            tuple[weakref.ref[threading.Thread], sqlite3.Connection, int, object]
        ] = []
        self._lock = threading.Lock()
        self._on_replaced = on_replaced  # called when the database file was replaced
        self._generation = 0  # moves on when the database file is replaced: reconnect
        # The file (device, inode) each connection opened: one must never write into a
        # database file since deleted or replaced, where nobody would ever read it.
        self._opened: dict[int, tuple[int, int] | None] = {}
        self._identity: tuple[int, int] | None = None  # the file this Database uses now
        # Read-only: every connection opened read-only, every write refused before it
        # starts. Asked for, or (None) when the files cannot be written and nothing may be
        # created (create=False): a store shared by another user, a read-only mount.
        self.read_only = bool(read_only)
        try:
            self._open(create, read_only)
        except sqlite3.Error as exc:
            raise store_error(exc, self.path) from exc

    def error(self, exc: sqlite3.Error) -> StoreError:
        """The typed error standing for SQLite's `exc` on this store: the one translation
        of SQLite's failures, used by every part of the SQLite backend."""
        return store_error(exc, self.path)

    @contextmanager
    def snapshot(self, conn: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        """A read transaction: every read inside sees the same committed state."""
        conn = conn or self.connection()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:  # SQLite may have ended it already, failing
                conn.execute("COMMIT")

    # -- opening -------------------------------------------------------------------------

    def _open(self, create: bool, read_only: bool | None) -> None:
        if self.path.exists() and not self.path.is_dir():
            raise NotAStoreError(
                f"{self.path} is a file, not an mltop store directory; it was not modified"
            )
        if self.db_path.is_dir():
            raise NotAStoreError(f"{self.db_path} is a directory, not an mltop database")
        if not self.db_path.exists() or (not create and self.db_path.stat().st_size == 0):
            if not create:
                empty = " (its database file is empty)" if self.db_path.exists() else ""
                raise StoreNotFoundError(
                    f"no mltop store at {self.path}{empty}; log a run first, or pass --store "
                    "(or set MLTOP_STORE) to point at one"
                )
            self._create()
        if read_only is None:
            read_only = not create and not (
                os.access(self.path, os.W_OK) and os.access(self.db_path, os.W_OK)
            )
        self.read_only = read_only
        version = _inspect_existing(self.db_path)
        if read_only and 0 < version < LATEST_VERSION:
            raise StoreReadOnlyError(
                f"the store at {self.path} was written by an older mltop (schema version "
                f"{version}) and is read-only here: open it once with write access to upgrade "
                "it. It was not modified."
            )
        try:
            conn = self.connection()
            conn.execute("PRAGMA journal_mode").fetchone()  # opens the file, its -shm
        except (sqlite3.Error, StoreIOError) as exc:
            # A reader of a store on a full disk (or a read-only mount access() did not
            # tell of, a disk refusing writes): SQLite cannot make the -shm file it needs
            # to share the database. It is read without sharing, as a store that cannot
            # be written is read (a disk failing reads fails that read too).
            typed = store_error(exc, self.path) if isinstance(exc, sqlite3.Error) else exc
            if create or read_only or not isinstance(typed, StoreIOError):
                raise typed from exc
            if 0 < version < LATEST_VERSION:
                raise typed from exc
            self.close()
            read_only = self.read_only = True
            conn = self.connection()
        self._identity = self._opened[id(conn)]
        if read_only:
            return
        if version < LATEST_VERSION:
            self._migrate(conn)
        else:
            _set_wal(conn, time.monotonic() + self.busy_timeout)
        if create:  # a reader never writes, not even an empty folder
            (self.path / ARTIFACTS_DIR).mkdir(exist_ok=True)

    def _create(self) -> None:
        """Make the store's folder and database, all at once: the database is built under
        a private name and linked into place complete, so another process never sees it
        half made (it may be making its own at the same instant: the first one linked is
        the store, the others are discarded), and a failure (a full disk) leaves no
        database behind."""
        if self.path.is_dir() and any(
            not entry.name.startswith(DB_NAME) and entry.name != ARTIFACTS_DIR
            for entry in os.scandir(self.path)
        ):
            raise NotAStoreError(
                f"{self.path} is a non-empty directory without {DB_NAME}, not an mltop "
                "store; choose a new or empty directory. It was not modified."
            )
        made_folder = not self.path.exists()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _os_store_error(exc, self.path) from exc
        private = self.path / f"{DB_NAME}.new-{os.getpid()}-{os.urandom(6).hex()}"
        try:
            _build_database(private)
            try:
                os.link(private, self.db_path)
            except FileExistsError:
                pass  # another process made the store first: it is the store
            except OSError:
                # A filesystem without hard links: a rename, which another process making
                # the store at the same instant could overwrite with its own empty one.
                if not self.db_path.exists():
                    os.replace(private, self.db_path)
            _sync_folder(self.path)
        except sqlite3.Error as exc:
            raise store_error(exc, self.path) from exc
        except OSError as exc:
            raise _os_store_error(exc, self.path) from exc
        finally:
            for leftover in (private, *(Path(f"{private}{end}") for end in _SIDE_FILES)):
                with suppress(OSError):
                    leftover.unlink()
            if made_folder and not self.db_path.exists():
                with suppress(OSError):
                    self.path.rmdir()

    def _migrate(self, conn: sqlite3.Connection) -> None:
        _set_wal(conn, time.monotonic() + self.busy_timeout)
        with self.write(conn):
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            _check_identity(self.db_path, app_id, version, tables)
            if version < LATEST_VERSION:
                migrate(conn)

    def connection(self) -> sqlite3.Connection:
        local = self.local
        conn = getattr(local, "conn", None)
        # A read-only connection reads the main file alone (immutable: SQLite then trusts
        # what it read of it never to change) while there is no -wal beside it, and through
        # the WAL while there is: a new one when that changes, or when the main file itself
        # changed under an immutable one (its owner wrote and checkpointed meanwhile).
        view = self._read_only_view() if self.read_only else None
        # Never reuse a connection across fork, nor one to a database file since replaced.
        if (
            conn is None
            or local.pid != os.getpid()
            or local.generation != self._generation
            or local.view != view
        ):
            if conn is not None and local.pid == os.getpid():
                local.conn = None
                with self._lock:
                    self._connections = [e for e in self._connections if e[1] is not conn]
                self._opened.pop(id(conn), None)
                conn.close()
            conn = self._adopt(view)
            if conn is None:
                try:
                    conn = _connect(self.db_path, self.busy_timeout, read_only=self.read_only)
                except sqlite3.Error as exc:
                    raise store_error(exc, self.path) from exc
                self._opened[id(conn)] = self.file_identity()
                with self._lock:
                    self._connections.append(
                        (weakref.ref(threading.current_thread()), conn, self._generation, view)
                    )
            local.conn = conn
            local.pid = os.getpid()
            local.generation = self._generation
            local.view = view
            local.connects = getattr(local, "connects", 0) + 1
            local.key_names = {}
        return conn

    def _adopt(self, view: object) -> sqlite3.Connection | None:
        """A connection a thread that has ended left, for this thread: a dashboard reads in
        a new thread each time, and opening a connection (and SQLite reading the schema
        again) costs thirty times a small read. Those that do not fit (another database
        file, another view) and those beyond IDLE_CONNECTIONS are closed."""
        me = weakref.ref(threading.current_thread())
        found = None
        ended = []
        with self._lock:
            kept = []
            for entry in self._connections:
                thread, conn, generation, seen = entry
                if _alive(thread):
                    kept.append(entry)
                elif found is None and generation == self._generation and seen == view:
                    found = conn
                    kept.append((me, conn, generation, seen))
                else:
                    ended.append(entry)
            idle = [e for e in ended if e[2] == self._generation and e[3] == view]
            spare = idle[:IDLE_CONNECTIONS]
            kept += spare
            self._connections = kept
        for _thread, conn, _generation, _view in ended:
            if not any(conn is e[1] for e in spare):
                self._opened.pop(id(conn), None)
                conn.close()
        return found

    def _read_only_view(self) -> tuple[object, ...]:
        """How a read-only connection sees the database now: through the WAL, or the main
        file as it is (its identity, size and times)."""
        if _wal_size(self.db_path):
            return ("wal",)
        return ("immutable", *_file_state(self.db_path))

    def new_connection(self) -> sqlite3.Connection:
        """A private connection (for a writer thread); the caller closes it."""
        conn = _connect(self.db_path, self.busy_timeout, read_only=self.read_only)
        self._opened[id(conn)] = self.file_identity()
        return conn

    def file_identity(self) -> tuple[int, int] | None:
        try:
            found = os.stat(self.db_path)
        except FileNotFoundError:
            return None
        return (found.st_dev, found.st_ino)

    def file_now(self) -> tuple[int, int]:
        """The database file's identity now; the typed error when it is gone or unreadable.
        A replaced file is noted: every thread reconnects at its next use."""
        try:
            identity = self.file_identity()
        except OSError as exc:
            raise StoreIOError(f"the store at {self.path} cannot be read ({exc})") from exc
        if identity is None:
            raise StoreNotFoundError(
                f"the store at {self.path} is gone: its {DB_NAME} was removed or moved"
            )
        if identity != self._identity:
            self._identity = identity
            self._generation += 1
            if self._on_replaced is not None:
                self._on_replaced()
        return identity

    def check(self, *, write: bool = False) -> bool:
        """Raise the typed error that stops this store from being used now: its database
        removed (StoreNotFoundError), locked (StoreBusyError), unreadable (StoreIOError),
        damaged or replaced by something that is not a database (StoreCorruptError).
        `write`: check that a write could start too (another process may hold the write
        lock while reads go on, the files may be read-only) and that the disk has room
        (StoreFullError below FREE_TO_WRITE bytes); nothing is written.

        An open connection goes on reading a database file after it was deleted or
        replaced, so the file itself is looked at first; a replaced file is reconnected
        to (by every thread, at its next read). Returns whether it was replaced."""
        generation = self._generation
        self.file_now()
        replaced = generation != self._generation
        if write and self.read_only:
            raise StoreReadOnlyError(f"the store at {self.path} is open read-only")
        if write and shutil.disk_usage(self.path).free < FREE_TO_WRITE:
            raise StoreFullError(f"the store at {self.path} cannot be written: its disk is full")
        conn = self.connection()
        # A read transaction, or a write one (taking the write lock, writing nothing): it
        # waits on, then reports, another's lock.
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            conn.execute("SELECT value FROM counters WHERE name = 'seq'").fetchone()
        finally:
            if conn.in_transaction:  # SQLite may have ended it already, failing
                conn.execute("ROLLBACK")
        return replaced

    def close(self) -> None:
        with self._lock:
            for _thread, conn, _generation, _view in self._connections:
                conn.close()
            self._connections.clear()
        self.local = threading.local()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Database({str(self.db_path)!r})"

    @contextmanager
    def write(self, conn: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: no lock upgrade that could fail) on
        `conn`, or on this thread's connection; rolled back on any exception. Never into a
        database file since removed (StoreNotFoundError) or replaced: this thread's own
        connection moves to the new file; a private one is refused (StoreError). Nothing
        is written to a store opened read-only (StoreReadOnlyError)."""
        if self.read_only:
            raise StoreReadOnlyError(
                f"the store at {self.path} is open read-only (its files cannot be written "
                "here): nothing was changed"
            )
        identity = self.file_now()
        if conn is None:
            conn = self.connection()
        elif self._opened.get(id(conn)) != identity:
            raise StoreError(
                f"the database of the store at {self.path} was replaced since this connection "
                "opened it: nothing was written; open a new connection"
            )
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            # SQLite may have rolled back already (a full disk, an I/O error): the error
            # that matters is the one that got us here.
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        self.local.writes = getattr(self.local, "writes", 0) + 1

    @staticmethod
    def next_seq(conn: sqlite3.Connection) -> int:
        conn.execute("UPDATE counters SET value = value + 1 WHERE name = 'seq'")
        return conn.execute("SELECT value FROM counters WHERE name = 'seq'").fetchone()[0]
