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
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    TEMPORARILY_UNAVAILABLE,
)

from mltop.store.errors import (
    AlreadyExistsError,
    InvalidStateError,
    MltopError,
    NotFoundError,
    ParamConflictError,
    PolicyError,
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
