"""mltop's typed errors as the `MlflowException`s MLflow's client expects.

MLflow's client tells errors apart by `error_code` (`get_experiment_by_name` and
`set_experiment` look for RESOURCE_DOES_NOT_EXIST, autologging for INVALID_PARAMETER_VALUE):
every error a store call raises leaves the plugin as an `MlflowException` with the code
MLflow's own stores would give, its message unchanged, and the mltop error as its cause.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INTERNAL_ERROR,
    INVALID_PARAMETER_VALUE,
    INVALID_STATE,
    NOT_IMPLEMENTED,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    TEMPORARILY_UNAVAILABLE,
)

from mltop.store.errors import (
    AlreadyExistsError,
    InvalidStateError,
    MltopError,
    NotAStoreError,
    NotFoundError,
    ParamConflictError,
    PolicyError,
    SchemaTooNewError,
    StoreBusyError,
    StoreNotFoundError,
    ValidationError,
)

_CODES: tuple[tuple[type[MltopError], int], ...] = (
    (NotFoundError, RESOURCE_DOES_NOT_EXIST),
    (AlreadyExistsError, RESOURCE_ALREADY_EXISTS),
    (ValidationError, INVALID_PARAMETER_VALUE),
    (ParamConflictError, INVALID_PARAMETER_VALUE),
    (PolicyError, INVALID_STATE),
    (InvalidStateError, INVALID_STATE),
    (StoreBusyError, TEMPORARILY_UNAVAILABLE),
    (StoreNotFoundError, RESOURCE_DOES_NOT_EXIST),
    (NotAStoreError, INVALID_PARAMETER_VALUE),  # the URI names a place that is no store
    (SchemaTooNewError, INVALID_STATE),
)


def to_mlflow(exc: MltopError) -> MlflowException:
    """The MlflowException standing for `exc` (same message, MLflow's error code)."""
    code = next((code for kind, code in _CODES if isinstance(exc, kind)), INTERNAL_ERROR)
    return MlflowException(str(exc), error_code=code)


F = TypeVar("F", bound=Callable[..., Any])


def translated(method: F) -> F:
    """`method`, raising MlflowException where it raised an mltop error."""

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except MltopError as exc:
            raise to_mlflow(exc) from exc

    return call  # type: ignore[return-value]


C = TypeVar("C", bound=type)


def translate_errors(cls: C) -> C:
    """Every public method `cls` defines, and its constructor, translated (a class
    decorator)."""
    for name, value in list(vars(cls).items()):
        if callable(value) and (name == "__init__" or not name.startswith("__")):
            setattr(cls, name, translated(value))
    return cls


def _unsupported(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except NotImplementedError:
            raise MlflowException(
                f"{name}: not supported by mltop stores (mltop keeps runs, metrics, artifacts, "
                "logged models and the model registry; not MLflow's traces, assessments, "
                "prompts, evaluation datasets, scorers, webhooks or gateways)",
                error_code=NOT_IMPLEMENTED,
            ) from None

    return call


def refuse_unsupported(base: type) -> Callable[[C], C]:
    """A class decorator: every public method of MLflow's `base` store that the class does
    not implement raises a clear MlflowException where MLflow's default raises a bare
    NotImplementedError (tracing, prompts, ...)."""

    def decorate(cls: C) -> C:
        for name in dir(base):
            if name.startswith("_") or name in vars(cls):
                continue
            method = getattr(base, name)
            if callable(method) and not isinstance(method, type):
                setattr(cls, name, _unsupported(name, method))
        return cls

    return decorate
