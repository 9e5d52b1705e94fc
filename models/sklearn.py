"""The `sklearn` flavor, as MLflow's `mlflow.sklearn` writes and reads it.

A scikit-learn estimator is pickled (`model.pkl`, with cloudpickle by default as MLflow 2
did, or plain pickle); MLflow 3's `skops` files load too when skops is installed. The folder
gets MLflow's `sklearn` flavor and a `python_function` flavor whose loader is
`mlflow.sklearn`: MLflow loads an mltop-saved model with its own code, and mltop loads
MLflow's (this module stands in for `mlflow.sklearn` when MLflow is not installed).
scikit-learn is optional (`pip install 'mltop[sklearn]'`), imported only when used.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mltop.models import env
from mltop.models.errors import MissingDependencyError, ModelError, ModelFormatError
from mltop.models.mlmodel import Model
from mltop.models.pyfunc import (
    CLOUDPICKLE,
    PICKLE,
    copy_code,
    finish,
    infer_from_example,
    prepare_folder,
    read_pickle,
    write_pickle,
)
from mltop.models.signature import ModelSignature

FLAVOR_NAME = "sklearn"
LOADER_MODULE = "mlflow.sklearn"  # MLflow's name: MLflow loads these with its own code
SERIALIZATION_FORMAT_PICKLE = PICKLE
SERIALIZATION_FORMAT_CLOUDPICKLE = CLOUDPICKLE
SERIALIZATION_FORMAT_SKOPS = "skops"
SUPPORTED_SERIALIZATION_FORMATS = [SERIALIZATION_FORMAT_PICKLE, SERIALIZATION_FORMAT_CLOUDPICKLE]
PICKLED_MODEL = "model.pkl"
_PREDICT_FNS = ("predict", "predict_proba", "predict_log_proba", "predict_joint_log_proba", "score")


def _sklearn_version() -> str:
    try:
        import sklearn
    except ImportError:
        raise MissingDependencyError(
            "the sklearn flavor needs scikit-learn: pip install 'mltop[sklearn]'"
        ) from None
    return str(sklearn.__version__)


def _check_saveable(sk_model: Any, serialization_format: str, pyfunc_predict_fn: str) -> None:
    """Refuse, before anything is written or logged, what could not be saved."""
    _sklearn_version()
    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise ModelError(
            f"serialization_format {serialization_format!r}: mltop writes 'cloudpickle' or "
            "'pickle' (it reads MLflow's 'skops' files when skops is installed)"
        )
    if pyfunc_predict_fn not in _PREDICT_FNS:
        raise ModelError(f"pyfunc_predict_fn is one of {', '.join(_PREDICT_FNS)}")
    if not callable(getattr(sk_model, pyfunc_predict_fn, None)):
        raise ModelError(f"the model ({type(sk_model).__name__}) has no {pyfunc_predict_fn}()")


def save_model(
    sk_model: Any,
    path: str | os.PathLike[str],
    conda_env: Any = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    mlflow_model: Model | None = None,
    serialization_format: str | None = SERIALIZATION_FORMAT_CLOUDPICKLE,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    skops_trusted_types: list[str] | None = None,
    extra_files: Sequence[str | os.PathLike[str]] | None = None,
) -> Model:
    """Save a scikit-learn model as a model folder at `path` (MLflow's sklearn flavor)."""
    version = _sklearn_version()
    serialization_format = serialization_format or SERIALIZATION_FORMAT_CLOUDPICKLE
    _check_saveable(sk_model, serialization_format, pyfunc_predict_fn)
    folder = prepare_folder(path)
    try:
        kind = write_pickle(sk_model, folder / PICKLED_MODEL, serialization_format)
        code = copy_code(folder, code_paths)
        requirements = env.pinned(["scikit-learn"])
        if kind == CLOUDPICKLE:
            requirements += env.pinned(["cloudpickle"])
        model = mlflow_model or Model()
        pyfunc_settings: dict[str, Any] = {
            "loader_module": LOADER_MODULE,
            "model_path": PICKLED_MODEL,
            "predict_fn": pyfunc_predict_fn,
            "env": env.write_environment(
                folder, requirements, pip_requirements, extra_pip_requirements, conda_env
            ),
            "python_version": env.python_version(),
        }
        if code:
            pyfunc_settings["code"] = code
        model.add_flavor("python_function", **pyfunc_settings)
        model.add_flavor(
            FLAVOR_NAME,
            pickled_model=PICKLED_MODEL,
            sklearn_version=version,
            serialization_format=kind,
            code=code,
        )
        if signature is None and input_example is not None:
            signature = infer_from_example(getattr(sk_model, pyfunc_predict_fn), input_example)
        return finish(folder, model, signature, input_example, metadata, extra_files)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def log_model(
    sk_model: Any,
    artifact_path: str | None = None,
    conda_env: Any = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    serialization_format: str | None = SERIALIZATION_FORMAT_CLOUDPICKLE,
    registered_model_name: str | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    await_registration_for: int = 300,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    extra_files: Sequence[str | os.PathLike[str]] | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    name: str | None = None,
    skops_trusted_types: list[str] | None = None,
) -> Any:
    """Log a scikit-learn model as a logged model of the active run (or of none), its
    files' checksums recorded; registered as a new version of `registered_model_name` when
    given. Returns a `ModelInfo` whose `model_uri` loads it."""
    from mltop.models.logging import log_saved

    _check_saveable(
        sk_model, serialization_format or SERIALIZATION_FORMAT_CLOUDPICKLE, pyfunc_predict_fn
    )

    def save(folder: Path, model: Model) -> None:
        save_model(
            sk_model,
            folder,
            conda_env,
            code_paths,
            model,
            serialization_format,
            signature,
            input_example,
            pip_requirements,
            extra_pip_requirements,
            pyfunc_predict_fn,
            metadata,
            skops_trusted_types,
            extra_files,
        )

    return log_saved(
        save,
        name or artifact_path,
        registered_model_name,
        params,
        tags,
        model_type,
        step,
        model_id,
    )


def _load_estimator(folder: Path) -> Any:
    meta = Model.load(folder)
    conf = meta.flavors.get(FLAVOR_NAME)
    pyfunc_conf = meta.flavors.get("python_function") or {}
    if conf is None:
        raise ModelFormatError(f"the model in {folder} has no sklearn flavor")
    relative = str(conf.get("pickled_model") or pyfunc_conf.get("model_path") or PICKLED_MODEL)
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise ModelFormatError(f"the sklearn flavor's file {relative!r} is outside the model")
    kind = conf.get("serialization_format", SERIALIZATION_FORMAT_PICKLE)
    _sklearn_version()
    if kind in (SERIALIZATION_FORMAT_PICKLE, SERIALIZATION_FORMAT_CLOUDPICKLE):
        return read_pickle(path)
    if kind == SERIALIZATION_FORMAT_SKOPS:
        try:
            import skops.io
        except ImportError:
            raise MissingDependencyError(
                "this model was saved by MLflow in the skops format: pip install skops"
            ) from None
        trusted = conf.get("skops_trusted_types")
        return skops.io.load(path, trusted=trusted)
    raise ModelFormatError(f"unknown sklearn serialization_format {kind!r}")


def load_model(
    model_uri: str | os.PathLike[str],
    dst_path: str | None = None,
    *,
    allow_outside_store: bool = False,
) -> Any:
    """The scikit-learn estimator itself, from any model URI `mltop.models.load_model`
    takes (with the same checks)."""
    from mltop.models.uri import resolve_for_loading

    found = resolve_for_loading(model_uri, allow_outside_store=allow_outside_store)
    return _load_estimator(found.path)


class _SklearnModelWrapper:
    """The python_function face of an estimator: `predict` and the other predict methods
    it has (a pyfunc's `predict_fn` may name one)."""

    def __init__(self, sklearn_model: Any) -> None:
        self.sklearn_model = sklearn_model
        for name in _PREDICT_FNS:
            if name != "predict" and callable(getattr(sklearn_model, name, None)):
                setattr(self, name, _framed(getattr(sklearn_model, name)))

    def predict(self, model_input: Any, params: Any = None) -> Any:
        return self.sklearn_model.predict(_frame(model_input))


def _frame(data: Any) -> Any:
    """Row dicts or a dict of columns become a DataFrame (what estimators fitted on one
    take); anything else is passed as it is."""
    if isinstance(data, dict) or (isinstance(data, list) and data and isinstance(data[0], dict)):
        try:
            import pandas
        except ImportError:
            return data
        return pandas.DataFrame(data if isinstance(data, list) else dict(data))
    return data


def _framed(function: Any) -> Any:
    def call(model_input: Any, params: Any = None) -> Any:
        return function(_frame(model_input))

    return call


def _load_pyfunc(path: str, model_config: dict[str, Any] | None = None) -> _SklearnModelWrapper:
    """The loader MLflow's MLmodel names (`mlflow.sklearn`), as mltop implements it."""
    folder = Path(path)
    if folder.is_file():
        folder = folder.parent
    return _SklearnModelWrapper(_load_estimator(folder))
