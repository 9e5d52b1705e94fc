"""The one translation of SQLite's failures into mltop's typed errors (`errors.py`):
busy, read-only, full, I/O, corrupt. Every public method of the SQLite backend's classes
raises those in place of `sqlite3.Error` (the `translated` decorator)."""

from __future__ import annotations

import functools
import inspect
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from mltop.store.errors import (
    StoreBusyError,
    StoreCorruptError,
    StoreError,
    StoreFullError,
    StoreIOError,
    StoreReadOnlyError,
)

# SQLite's primary result codes (the low byte of an extended code), by what they mean here.
_KINDS: dict[int, type[StoreError]] = {
    5: StoreBusyError,  # SQLITE_BUSY
    6: StoreBusyError,  # SQLITE_LOCKED
    8: StoreReadOnlyError,  # SQLITE_READONLY
    10: StoreIOError,  # SQLITE_IOERR
    13: StoreFullError,  # SQLITE_FULL
    14: StoreIOError,  # SQLITE_CANTOPEN
    15: StoreIOError,  # SQLITE_PROTOCOL
    11: StoreCorruptError,  # SQLITE_CORRUPT
    26: StoreCorruptError,  # SQLITE_NOTADB
}


def _kind(exc: sqlite3.Error) -> type[StoreError]:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return _KINDS.get(code & 0xFF, StoreError)
    text = str(exc).lower()  # Python 3.10: only the message says what happened
    if "locked" in text or "busy" in text:
        return StoreBusyError
    if "readonly" in text:
        return StoreReadOnlyError
    if "disk is full" in text:
        return StoreFullError
    if "i/o" in text or "unable to open" in text:
        return StoreIOError
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return StoreCorruptError
    return StoreError


def store_error(exc: sqlite3.Error, path: Path | str) -> StoreError:
    """The typed error standing for SQLite's `exc` on the store at `path`."""
    kind = _kind(exc)
    if kind is StoreBusyError:
        message = (
            f"the store at {path} is busy: another process holds its lock ({exc}); "
            "try again in a moment"
        )
    elif kind is StoreFullError:
        message = f"the store at {path} cannot be written: its disk is full ({exc})"
    elif kind is StoreReadOnlyError:
        message = f"the store at {path} cannot be written: it is read-only ({exc})"
    elif kind is StoreIOError:
        message = (
            f"the store at {path} cannot be read or written ({exc}): is the disk full, "
            "the folder removed or read-only?"
        )
    elif kind is StoreCorruptError:
        message = f"the store at {path} is damaged or not an SQLite database any more ({exc})"
    else:
        message = f"the store at {path} failed: {exc}"
    return kind(message)


C = TypeVar("C", bound=type)


def translated(path_of: Callable[[Any], Path | str]) -> Callable[[C], C]:
    """A class decorator: every public method (generators included) raises `StoreError`
    subclasses in place of SQLite's exceptions; `path_of(self)` names the store."""

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.isgeneratorfunction(method):

            @functools.wraps(method)
            def generate(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
                try:
                    yield from method(self, *args, **kwargs)
                except sqlite3.Error as exc:
                    raise store_error(exc, path_of(self)) from exc

            return generate

        @functools.wraps(method)
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except sqlite3.Error as exc:
                raise store_error(exc, path_of(self)) from exc

        return call

    def decorate(cls: C) -> C:
        for name, member in list(vars(cls).items()):
            if not name.startswith("_") and inspect.isfunction(member):
                setattr(cls, name, wrap(member))
        return cls

    return decorate
