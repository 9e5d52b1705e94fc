"""Models: save, log, describe and load them in MLflow's `MLmodel` format.

    from mltop import models

    info = models.log_model(model, "model", registered_model_name="churn")
    loaded = models.load_model("models:/churn/Production")
    loaded.predict(rows)

`log_model` and `save_model` take a scikit-learn estimator (the `sklearn` flavor) or any
Python object with `predict` (mltop's `python_function` flavor). MLflow's module names work
too: `mltop.models.pyfunc` and `mltop.models.sklearn` are `mlflow.pyfunc` and
`mlflow.sklearn` (with `import mltop.store as mlflow`, `mlflow.sklearn.log_model(...)` runs
as written). Loading a model runs the code pickled in it: models are loaded from the store
(their files checked against the checksums recorded when logged), or from a folder elsewhere
only with `allow_outside_store=True`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from mltop.models import pyfunc, sklearn
from mltop.models.errors import (
    IntegrityError,
    MissingDependencyError,
    ModelError,
    ModelFormatError,
    ModelNotReadyError,
    ModelUriError,
    UntrustedModelError,
)
from mltop.models.logging import ModelInfo
from mltop.models.mlmodel import Model
from mltop.models.pyfunc import PyFuncModel, PythonModel, PythonModelContext, load_model
from mltop.models.signature import ModelSignature, SignatureError, infer_signature

__all__ = [
    "IntegrityError",
    "MissingDependencyError",
    "Model",
    "ModelError",
    "ModelFormatError",
    "ModelInfo",
    "ModelNotReadyError",
    "ModelSignature",
    "ModelUriError",
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "SignatureError",
    "UntrustedModelError",
    "get_model_info",
    "infer_signature",
    "is_sklearn_model",
    "load_model",
    "log_model",
    "pyfunc",
    "save_model",
    "set_signature",
    "sklearn",
    "validate_schema",
]


def is_sklearn_model(model: Any) -> bool:
    """Whether `model` is a scikit-learn estimator (by its class's module; scikit-learn is
    not imported to tell)."""
    return any(
        (getattr(kind, "__module__", "") or "").split(".")[0] == "sklearn"
        for kind in type(model).__mro__
    )


def save_model(
    model: Any,
    path: str | os.PathLike[str],
    *,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    metadata: dict[str, Any] | None = None,
    serialization_format: str | None = None,
) -> Model:
    """Save `model` as a model folder at `path`: a scikit-learn estimator in the sklearn
    flavor, anything else with `predict` (or a function) in the python_function flavor."""
    if is_sklearn_model(model):
        return sklearn.save_model(
            model,
            path,
            code_paths=code_paths,
            serialization_format=serialization_format or sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
        )
    return pyfunc.save_model(
        path,
        python_model=model,
        code_paths=code_paths,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
        serialization_format=serialization_format,
    )


def log_model(
    model: Any,
    name: str | None = None,
    *,
    registered_model_name: str | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    metadata: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    serialization_format: str | None = None,
    artifacts: dict[str, str | os.PathLike[str]] | None = None,
    model_config: dict[str, Any] | None = None,
) -> ModelInfo:
    """Log `model` (as `save_model` saves it) as a logged model of the active run (or of
    none), every file's SHA-256 recorded; a new version of `registered_model_name` when
    given. `name` is the model's name ("model" when not given). `artifacts` and
    `model_config` are for a `PythonModel` (its context's)."""
    if is_sklearn_model(model) and (artifacts or model_config):
        raise ModelError("artifacts and model_config are for a PythonModel, not an estimator")
    if is_sklearn_model(model):
        return sklearn.log_model(
            model,
            name=name or "model",
            code_paths=code_paths,
            serialization_format=serialization_format or sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
            registered_model_name=registered_model_name,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
            params=params,
            tags=tags,
            model_type=model_type,
            step=step,
        )
    return pyfunc.log_model(
        name=name or "model",
        python_model=model,
        code_paths=code_paths,
        registered_model_name=registered_model_name,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
        params=params,
        tags=tags,
        model_type=model_type,
        step=step,
        serialization_format=serialization_format,
        artifacts=artifacts,
        model_config=model_config,
    )


def set_signature(model_uri: str | os.PathLike[str], signature: ModelSignature) -> None:
    """Write `signature` into the MLmodel of the model at `model_uri` (a logged model's
    `models:/<model_id>`, `runs:/...`, or a folder), as MLflow's `set_signature`. A
    registered version's `models:/NAME/...` is refused, as in MLflow: log the model again.
    A logged model must be as logged (IntegrityError otherwise); its new MLmodel is then
    recorded as its files."""
    from mltop.models.uri import logged_model_at, resolve_for_loading
    from mltop.store import fluent
    from mltop.store.registry import is_registered_model_uri

    if not isinstance(signature, ModelSignature):
        raise ModelError(f"signature must be a ModelSignature, not {type(signature).__name__}")
    if isinstance(model_uri, str) and is_registered_model_uri(model_uri):
        raise ModelUriError(
            f"{model_uri!r} names a registered version, whose files do not change: set the "
            "signature on the logged model (models:/<model_id>) and register it again"
        )
    # (checked as for loading: a logged model changed since is refused)
    found = resolve_for_loading(model_uri, allow_outside_store=True)
    meta = Model.load(found.path)
    logged = found.logged_model
    if logged is None and found.inside_store:
        logged = logged_model_at(fluent.get_store(), found.path)
    meta.signature = signature
    meta.save(found.path)
    if logged is not None:
        fluent.get_store().logged_models.record_files(logged.model_id)


def validate_schema(data: Any, expected_schema: Any) -> None:
    """Raise SignatureError (naming the column) unless `data` meets `expected_schema`,
    as MLflow's `mlflow.models.validate_schema`."""
    from mltop.models.signature import enforce_schema

    enforce_schema(data, expected_schema)


def get_model_info(model_uri: str | os.PathLike[str], *, allow_outside_store: bool = True) -> Model:
    """The MLmodel of the model `model_uri` names (read only: nothing is unpickled, so a
    folder outside the store is read too)."""
    from mltop.models.uri import resolve_for_loading

    found = resolve_for_loading(model_uri, allow_outside_store=allow_outside_store)
    return Model.load(found.path)
