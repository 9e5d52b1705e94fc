"""`python_function`: the flavor every model has, and that any tool loads the same way.

As MLflow's `mlflow.pyfunc`: the MLmodel's `python_function` settings name a
`loader_module` whose `_load_pyfunc(path)` returns an object with `predict`. mltop loads
its own flavors (`mltop.models.pyfunc`, and MLflow's `mlflow.sklearn` models through
`mltop.models.sklearn`) without MLflow; any other loader module is imported as MLflow would.

`save_model(path, python_model=...)` saves any Python object with a `predict` method (or a
`PythonModel`, or a plain function) pickled (with cloudpickle when it is installed, so that
classes defined in a script travel with the model), under the loader module
`mltop.models.pyfunc`, which MLflow's `mlflow.pyfunc.load_model` imports too.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pickle
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mltop.models import env
from mltop.models.errors import MissingDependencyError, ModelError, ModelFormatError
from mltop.models.mlmodel import MLMODEL, PYFUNC, Model, folder_size
from mltop.models.signature import ModelSignature, enforce_params, enforce_schema

FLAVOR_NAME = PYFUNC
LOADER_MODULE = "mltop.models.pyfunc"
PYTHON_MODEL_FILE = "python_model.pkl"
ARTIFACTS_DIR = "artifacts"
CODE_DIR = "code"
PICKLE = "pickle"
CLOUDPICKLE = "cloudpickle"


class PythonModelContext:
    """What a `PythonModel` gets at load: its artifacts (name -> a path in the model's
    folder) and its configuration."""

    def __init__(self, artifacts: dict[str, str], model_config: dict[str, Any]) -> None:
        self.artifacts = artifacts
        self.model_config = model_config


class PythonModel:
    """A model written in Python, as MLflow's `PythonModel`: `load_context` runs once when
    loaded, `predict(context, model_input, params=None)` for each call."""

    def load_context(self, context: PythonModelContext) -> None:
        pass

    def predict(self, context: PythonModelContext, model_input: Any, params: Any = None) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define predict")


class _ObjectModel:
    """What `_load_pyfunc` returns for mltop's own flavor: calls the saved object."""

    def __init__(self, obj: Any, context: PythonModelContext) -> None:
        self.python_model = obj
        self.context = context
        if isinstance(obj, PythonModel) or hasattr(obj, "load_context"):
            obj.load_context(context)
        target = obj.predict if hasattr(obj, "predict") else obj
        try:
            names = list(inspect.signature(target).parameters)
        except (TypeError, ValueError):
            names = []
        self._wants_context = bool(names) and names[0] == "context"
        self._takes_params = "params" in names or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in _parameters(target)
        )
        self._target = target

    def predict(self, model_input: Any, params: Any = None) -> Any:
        args = (self.context, model_input) if self._wants_context else (model_input,)
        if self._takes_params:
            return self._target(*args, params=params)
        return self._target(*args)


def _parameters(target: Any) -> list[inspect.Parameter]:
    try:
        return list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        return []


class PyFuncModel:
    """A loaded model: `predict(data, params=None)` checks `data` against the model's
    signature (SignatureError names the column) and calls the flavor's model."""

    def __init__(
        self,
        model_meta: Model,
        model_impl: Any,
        predict_fn: str = "predict",
        path: Path | None = None,
        source: str | None = None,
    ) -> None:
        self._model_meta = model_meta
        self._model_impl = model_impl
        self._predict_fn = predict_fn
        self.path = path
        self.source = source
        if not callable(getattr(model_impl, predict_fn, None)):
            raise ModelFormatError(
                f"the model's loader returned a {type(model_impl).__name__} without {predict_fn}()"
            )

    @property
    def metadata(self) -> Model:
        return self._model_meta

    @property
    def model_id(self) -> str | None:
        return self._model_meta.model_id

    @property
    def loader_module(self) -> str | None:
        return self._model_meta.loader_module

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        schema = self._model_meta.get_input_schema()
        if schema is not None:
            data = enforce_schema(data, schema)
        params = enforce_params(params, self._model_meta.get_params_schema())
        function = getattr(self._model_impl, self._predict_fn)
        if params is not None and any(p.name == "params" for p in _parameters(function)):
            return function(data, params=params)
        return function(data)

    def unwrap_python_model(self) -> Any:
        """The object saved with `python_model=` (mltop's own flavor only)."""
        if isinstance(self._model_impl, _ObjectModel):
            return self._model_impl.python_model
        raise ModelError(f"the model is not a python_model (its loader: {self.loader_module})")

    def get_raw_model(self) -> Any:
        """The flavor's own model object (a scikit-learn estimator, the saved object, ...)."""
        impl = self._model_impl
        for attribute in ("python_model", "sklearn_model"):
            if hasattr(impl, attribute):
                return getattr(impl, attribute)
        return impl

    def __repr__(self) -> str:
        flavors = ", ".join(sorted(self._model_meta.flavors))
        where = self.source or (str(self.path) if self.path else "?")
        return f"PyFuncModel({where}; flavors: {flavors})"


# -- loading -----------------------------------------------------------------------------


def _flavor_conf(path: Path) -> tuple[Model, dict[str, Any]]:
    model = Model.load(path)
    conf = model.flavors.get(FLAVOR_NAME)
    if conf is None:
        raise ModelFormatError(
            f"the model in {path} has no python_function flavor (it has: "
            f"{', '.join(sorted(model.flavors))}): load it with its own flavor's loader"
        )
    if not conf.get("loader_module"):
        raise ModelFormatError(f"the model in {path}: python_function names no loader_module")
    return model, conf


# MLflow's loader modules mltop implements itself, so that no MLflow is needed to load them.
_OWN_LOADERS = {
    "mlflow.sklearn": "mltop.models.sklearn",
    LOADER_MODULE: LOADER_MODULE,
}


def _loader(name: str) -> Any:
    module = _OWN_LOADERS.get(name, name)
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        missing = error.name or module
        if module.startswith("mlflow"):
            hint = "this flavor is MLflow's own: pip install mlflow"
        else:
            hint = f"install {missing}"
        raise MissingDependencyError(
            f"the model's loader {name} cannot be imported ({missing} is not installed): {hint}"
        ) from None


def load_folder(
    path: Path, model_config: dict[str, Any] | None = None, source: str | None = None
) -> PyFuncModel:
    """Load the model in the folder `path` as it stands (no checks of where it is: callers
    check first, see `load_model`)."""
    model, conf = _flavor_conf(path)
    code = conf.get("code")
    if code:
        code_dir = (path / str(code)).resolve()
        if not code_dir.is_relative_to(path.resolve()):
            raise ModelFormatError(f"the model's code folder {code!r} is outside its folder")
        if str(code_dir) not in sys.path:
            sys.path.insert(0, str(code_dir))
    data = conf.get("data")
    data_path = path / str(data) if data else path
    if not data_path.resolve().is_relative_to(path.resolve()):
        raise ModelFormatError(f"the model's data path {data!r} is outside its folder")
    config = {**(conf.get("config") or {}), **(model_config or {})}
    loader = _loader(str(conf["loader_module"]))
    if not hasattr(loader, "_load_pyfunc"):
        raise ModelFormatError(f"{conf['loader_module']} has no _load_pyfunc: not a model loader")
    try:
        if config:
            impl = loader._load_pyfunc(str(data_path), config)
        else:
            impl = loader._load_pyfunc(str(data_path))
    except ModuleNotFoundError as error:
        raise MissingDependencyError(
            f"loading the model needs {error.name}, which is not installed"
        ) from None
    return PyFuncModel(model, impl, str(conf.get("predict_fn") or "predict"), path, source)


def load_model(
    model_uri: str | os.PathLike[str],
    suppress_warnings: bool = False,
    dst_path: str | None = None,
    model_config: dict[str, Any] | None = None,
    *,
    allow_outside_store: bool = False,
) -> PyFuncModel:
    """Load a model as a `PyFuncModel`, from a folder, `runs:/<run_id>/<path>`,
    `models:/<model_id>`, `models:/NAME/VERSION`, `models:/NAME/STAGE`,
    `models:/NAME/latest` or `models:/NAME@ALIAS`.

    Loading runs the code pickled in the model. A logged model whose files changed since
    they were logged is refused (IntegrityError names the files); so is a folder outside
    the store, unless `allow_outside_store=True`. `dst_path` is accepted for MLflow's
    sake: models in the store are read where they are."""
    from mltop.models.uri import resolve_for_loading

    found = resolve_for_loading(model_uri, allow_outside_store=allow_outside_store)
    return load_folder(found.path, model_config, found.uri)


def _load_pyfunc(path: str, model_config: dict[str, Any] | None = None) -> _ObjectModel:
    """mltop's flavor, as a loader module: unpickle the saved object."""
    folder = Path(path)
    if folder.is_file():
        folder = folder.parent
    conf = Model.load(folder).flavors.get(FLAVOR_NAME) or {}
    pickled = folder / str(conf.get("python_model") or PYTHON_MODEL_FILE)
    obj = read_pickle(pickled)
    artifacts = {
        str(name): str(folder / str(relative))
        for name, relative in (conf.get("artifacts") or {}).items()
    }
    config = {**(conf.get("config") or {}), **(model_config or {})}
    return _ObjectModel(obj, PythonModelContext(artifacts, config))


def read_pickle(path: Path) -> Any:
    """Unpickle a model file (pickle or cloudpickle: cloudpickle writes pickle's format)."""
    try:
        with open(path, "rb") as file:
            return pickle.load(file)
    except FileNotFoundError:
        raise ModelFormatError(
            f"the model file {path.name} is missing from {path.parent}"
        ) from None
    except ModuleNotFoundError as error:
        raise MissingDependencyError(
            f"unpickling {path.name} needs the module {error.name}, which is not installed"
        ) from None
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError) as error:
        raise ModelFormatError(f"{path.name} cannot be unpickled: {error}") from None


# -- saving ------------------------------------------------------------------------------


def _serializer(obj: Any, requested: str | None) -> tuple[str, Any]:
    """(format name, module with `dump`) for pickling `obj`."""
    if requested not in (None, PICKLE, CLOUDPICKLE):
        raise ModelError(f"serialization_format is 'pickle' or 'cloudpickle', not {requested!r}")
    if requested != PICKLE:
        try:
            import cloudpickle
        except ImportError:
            if requested == CLOUDPICKLE:
                raise MissingDependencyError(
                    "serialization_format='cloudpickle' needs cloudpickle: pip install cloudpickle"
                ) from None
        else:
            return CLOUDPICKLE, cloudpickle
    kind = obj if isinstance(obj, type) or inspect.isfunction(obj) else type(obj)
    if getattr(kind, "__module__", None) == "__main__":
        raise ModelError(
            f"{getattr(kind, '__qualname__', kind)} is defined in the script itself (__main__): "
            "plain pickle saves it by name and no other program could load it; install "
            "cloudpickle (pip install cloudpickle) or move it into a module"
        )
    return PICKLE, pickle


def write_pickle(obj: Any, path: Path, serialization_format: str | None = None) -> str:
    kind, module = _serializer(obj, serialization_format)
    try:
        with open(path, "wb") as file:
            module.dump(obj, file)
    except (pickle.PicklingError, TypeError, AttributeError) as error:
        raise ModelError(f"the model cannot be pickled: {error}") from None
    return kind


def prepare_folder(path: str | os.PathLike[str]) -> Path:
    """A new, empty model folder at `path` (refusing one that exists and is not empty)."""
    folder = Path(path)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ModelError(f"{folder} already exists and is not empty: choose a new folder")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def copy_code(folder: Path, code_paths: Sequence[str | os.PathLike[str]] | None) -> str | None:
    if not code_paths:
        return None
    target = folder / CODE_DIR
    target.mkdir()
    for given in code_paths:
        source = Path(given)
        if source.is_dir():
            shutil.copytree(source, target / source.name)
        elif source.is_file():
            shutil.copy2(source, target / source.name)
        else:
            raise ModelError(f"code path {source} does not exist")
    return CODE_DIR


def finish(
    folder: Path,
    mlflow_model: Model,
    signature: ModelSignature | None,
    input_example: Any,
    metadata: dict[str, Any] | None,
    extra_files: Sequence[str | os.PathLike[str]] | None = None,
) -> Model:
    """Write the input example, extra files and the MLmodel (last: a folder with an MLmodel
    is a whole model)."""
    if signature is not None and any(v is not None for v in signature.to_dict().values()):
        mlflow_model.signature = signature  # (MLflow refuses a signature of nothing)
    if metadata is not None:
        mlflow_model.metadata = dict(metadata)
    if input_example is not None:
        mlflow_model.saved_input_example_info = env.write_input_example(folder, input_example)
    if extra_files:
        target = folder / "extra_files"
        target.mkdir(exist_ok=True)
        for given in extra_files:
            source = Path(given)
            if not source.is_file():
                raise ModelError(f"extra file {source} does not exist")
            shutil.copy2(source, target / source.name)
    mlflow_model.model_size_bytes = folder_size(folder)
    mlflow_model.save(folder / MLMODEL)
    return mlflow_model


def infer_from_example(predict: Any, input_example: Any) -> ModelSignature | None:
    """The signature of a model from its input example and what it predicts for it. When
    the prediction fails, the inputs' alone; when the example's types cannot be inferred,
    none: each said in a warning (the model is still saved)."""
    import warnings

    from mltop.models.signature import infer_signature

    try:
        output = predict(input_example)
    except Exception as error:
        warnings.warn(
            f"the model failed on its input example ({type(error).__name__}: {error}): its "
            "signature describes the inputs only",
            ModelSignatureWarning,
            stacklevel=3,
        )
        output = None
    try:
        return infer_signature(input_example, output)
    except Exception as error:
        warnings.warn(
            f"no signature could be inferred from the input example ({error}): the model is "
            "saved without one (pass signature=... to give it one)",
            ModelSignatureWarning,
            stacklevel=3,
        )
        return None


class ModelSignatureWarning(UserWarning):
    """A model saved without the (whole) signature its input example should have given."""


def check_saveable(
    python_model: Any, loader_module: str | None, serialization_format: str | None
) -> None:
    """Refuse, before anything is written or logged, what could not be saved or loaded."""
    if (python_model is None) == (loader_module is None):
        raise ModelError("give python_model (the object to save) or loader_module, not both")
    if python_model is None:
        return
    if not (callable(getattr(python_model, "predict", None)) or inspect.isfunction(python_model)):
        raise ModelError(
            f"python_model must have a predict method (or be a function); a "
            f"{type(python_model).__name__} has none"
        )
    _serializer(python_model, serialization_format)


def save_model(
    path: str | os.PathLike[str],
    loader_module: str | None = None,
    data_path: str | os.PathLike[str] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    infer_code_paths: bool = False,
    conda_env: Any = None,
    mlflow_model: Model | None = None,
    python_model: Any = None,
    artifacts: Mapping[str, str | os.PathLike[str]] | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    *,
    serialization_format: str | None = None,
) -> Model:
    """Save `python_model` (any object with `predict`, a `PythonModel`, or a function) as a
    model folder at `path`; or, with `loader_module` (and `data_path`), a model that module
    loads (MLflow's custom-loader form)."""
    check_saveable(python_model, loader_module, serialization_format)
    folder = prepare_folder(path)
    try:
        model = mlflow_model or Model()
        settings: dict[str, Any] = {}
        requirements = env.pinned(["mltop"])
        if python_model is not None:
            kind = write_pickle(python_model, folder / PYTHON_MODEL_FILE, serialization_format)
            if kind == CLOUDPICKLE:
                requirements += env.pinned(["cloudpickle"])
            settings.update(
                loader_module=LOADER_MODULE,
                python_model=PYTHON_MODEL_FILE,
                serialization_format=kind,
            )
            if artifacts:
                (folder / ARTIFACTS_DIR).mkdir()
                kept: dict[str, str] = {}
                for name, source in artifacts.items():
                    source_path = Path(source)
                    target = folder / ARTIFACTS_DIR / source_path.name
                    if target.exists():
                        other = next(k for k, v in kept.items() if v.endswith(source_path.name))
                        raise ModelError(
                            f"artifacts {other!r} and {name!r} are both called "
                            f"{source_path.name!r}: one would replace the other; rename one"
                        )
                    if source_path.is_dir():
                        shutil.copytree(source_path, target)
                    elif source_path.is_file():
                        shutil.copy2(source_path, target)
                    else:
                        raise ModelError(f"artifact {name!r}: {source_path} does not exist")
                    kept[str(name)] = f"{ARTIFACTS_DIR}/{source_path.name}"
                settings["artifacts"] = kept
        else:
            settings["loader_module"] = loader_module
            if data_path is not None:
                source = Path(data_path)
                target = folder / source.name
                if source.is_dir():
                    shutil.copytree(source, target)
                elif source.is_file():
                    shutil.copy2(source, target)
                else:
                    raise ModelError(f"data_path {source} does not exist")
                settings["data"] = source.name
        code = copy_code(folder, code_paths)
        if code:
            settings["code"] = code
        if model_config:
            settings["config"] = dict(model_config)
        settings["env"] = env.write_environment(
            folder, requirements, pip_requirements, extra_pip_requirements, conda_env
        )
        settings["python_version"] = env.python_version()
        model.add_flavor(FLAVOR_NAME, **settings)
        if signature is None and input_example is not None and python_model is not None:
            saved = {
                name: str(folder / relative)
                for name, relative in (settings.get("artifacts") or {}).items()
            }
            context = PythonModelContext(saved, dict(model_config or {}))

            def predict(data: Any) -> Any:
                return _ObjectModel(python_model, context).predict(data)

            signature = infer_from_example(predict, input_example)
        return finish(folder, model, signature, input_example, metadata)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def log_model(
    artifact_path: str | None = None,
    loader_module: str | None = None,
    data_path: str | os.PathLike[str] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    infer_code_paths: bool = False,
    conda_env: Any = None,
    python_model: Any = None,
    artifacts: Mapping[str, str | os.PathLike[str]] | None = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    await_registration_for: int = 300,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    *,
    serialization_format: str | None = None,
) -> Any:
    """Save `python_model` as a logged model of the active run (or of none) in the store,
    its files' checksums recorded; registered as a new version of `registered_model_name`
    when given. Returns a `ModelInfo`."""
    from mltop.models.logging import log_saved

    check_saveable(python_model, loader_module, serialization_format)

    def save(folder: Path, model: Model) -> None:
        save_model(
            folder,
            loader_module,
            data_path,
            code_paths,
            infer_code_paths,
            conda_env,
            model,
            python_model,
            artifacts,
            signature,
            input_example,
            pip_requirements,
            extra_pip_requirements,
            metadata,
            model_config,
            serialization_format=serialization_format,
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
