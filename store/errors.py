"""Typed errors raised by the store. Each carries a message a user can act on.

SQLite's own exceptions never leave the store: `translated` turns them into the
`StoreError` subclasses below (busy, I/O, corrupt), naming the store.
"""

from __future__ import annotations

import functools
import inspect
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar


class MltopError(Exception):
    """Base class of every error mltop raises on purpose."""


class StoreError(MltopError):
    """The store could not be opened or used."""


class NotAStoreError(StoreError):
    """The path holds something that is not an mltop store; it was left untouched."""


class SchemaTooNewError(StoreError):
    """The store was written by a newer mltop; it was left untouched."""


class StoreNotFoundError(StoreError):
    """No store exists where one was looked for (and creating one was not asked for), or
    the store in use was removed."""


class StoreBusyError(StoreError):
    """Another connection held the store's lock for longer than the busy timeout."""


class StoreIOError(StoreError):
    """The store's files could not be read or written: a disk or file system error, a full
    disk, a read-only file, or a database file that can no longer be opened."""


class StoreFullError(StoreIOError):
    """The disk holding the store is full: nothing more can be written to it."""


class StoreReadOnlyError(StoreIOError):
    """The store's files or their file system are read-only."""


class StoreCorruptError(StoreError):
    """The store's database file is damaged, or is no longer an SQLite database."""


class NotFoundError(MltopError):
    """An experiment, run, metric or artifact does not exist."""


class AlreadyExistsError(MltopError):
    """A name that must be unique is taken."""


class InvalidStateError(MltopError):
    """The object exists but is in a state that forbids the operation (deleted, ended...)."""


class PlanChangedError(InvalidStateError):
    """A confirmed move would now do something else: the registry changed meanwhile.
    `plan` is the move as it would be now."""

    def __init__(self, message: str, plan: Any) -> None:
        super().__init__(message)
        self.plan = plan


class ValidationError(MltopError, ValueError):
    """A value given to the API is not acceptable."""


class InvalidKeyError(ValidationError):
    """A param, metric or tag key breaks the key rules; `key` names it."""

    def __init__(self, key: object, reason: str) -> None:
        self.key = key
        super().__init__(f"invalid key {key!r}: {reason}")


class InvalidValueError(ValidationError):
    """A metric value, step, timestamp or status is of the wrong type or out of range."""


class ParamConflictError(MltopError):
    """A param was logged again with a different value; params are immutable."""

    def __init__(self, run_id: str, key: str, old: str, new: str) -> None:
        self.run_id, self.key, self.old, self.new = run_id, key, old, new
        super().__init__(
            f"param {key!r} of run {run_id} is already {old!r}; it cannot change to {new!r} "
            "(params are immutable: use a tag for values that change)"
        )


class FilterError(ValidationError):
    """A search filter or order_by entry that cannot be parsed or compiled.

    `position` is the 0-based character where the problem is, in `text` (the filter, or
    the order_by entry number `item`); `message` says what was expected.
    """

    def __init__(self, message: str, text: str, position: int, *, item: int | None = None):
        self.message, self.text, self.position, self.item = message, text, position, item
        where = "filter" if item is None else f"order_by entry {item + 1}"
        super().__init__(f"invalid {where} at character {position + 1}: {message}")

    def caret(self) -> str:
        """The text with a caret under the position, for a terminal."""
        return f"{self.text}\n{' ' * self.position}^"


class CommentRequiredError(ValidationError):
    """A registry change that must say why was given no comment: every move into Production
    (a rollback is one) and every forced move."""


class PageTokenError(ValidationError):
    """A page token that is malformed or belongs to a different search."""


class PolicyError(MltopError):
    """A version's source run fails its model's promotion policy; `result` has every clause
    with the run's actual value."""

    def __init__(self, message: str, result: object) -> None:
        self.result = result
        super().__init__(message)


class ArtifactPathError(ValidationError):
    """An artifact path would leave the run's artifact folder."""


class MetricWriteError(MltopError):
    """The background metric writer failed to commit points; raised at the next call or flush."""


class ActiveRunError(MltopError):
    """The fluent API was used with no active run, or a run was started while one is active."""


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
