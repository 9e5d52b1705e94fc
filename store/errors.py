"""Typed errors raised by the store. Each carries a message a user can act on.

A backend's own exceptions never leave the store: the SQLite backend turns SQLite's
into the `StoreError` subclasses below (busy, I/O, corrupt), naming the store
(`sqlite/errors.py`).
"""

from __future__ import annotations

from typing import Any


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


class ServerError(StoreError):
    """The tracking server answered a call with an error mltop has no closer type for (a
    store problem: the dashboard says it and looks again)."""

    def __init__(self, message: str, *, status: int | None = None, error_code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code


class ServerUnreachableError(StoreError):
    """The tracking server could not be reached (connection refused, DNS, TLS, timed out),
    after every retry; nothing the call carried was taken by the server."""


class ServerRefusedError(StoreError):
    """The tracking server refused the credentials (401) or the permission (403)."""


class NotAnMlflowServerError(ServerError):
    """The URL answers, but not as an MLflow tracking server does (a web page, another API,
    a wrong path prefix)."""
