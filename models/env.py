"""What a model folder says about the environment it needs, as MLflow writes it:
`requirements.txt` (pip), `python_env.yaml` (a virtualenv: Python and pip's own versions),
`conda.yaml`; and its input example (`input_example.json`, `serving_input_example.json`)."""

from __future__ import annotations

import functools
import json
import os
import platform
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from mltop.models.errors import ModelError

REQUIREMENTS = "requirements.txt"
PYTHON_ENV = "python_env.yaml"
CONDA_ENV = "conda.yaml"
INPUT_EXAMPLE = "input_example.json"
SERVING_INPUT_EXAMPLE = "serving_input_example.json"


@functools.lru_cache(maxsize=64)
def installed_version(distribution: str) -> str | None:
    """The installed version of a distribution (looked up once per process: the lookup
    scans every installed package's metadata)."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def pinned(distributions: Iterable[str]) -> list[str]:
    """`name==version` for each installed distribution (just the name when not installed)."""
    out = []
    for name in distributions:
        version = installed_version(name)
        out.append(f"{name}=={version}" if version else name)
    return out


def python_version() -> str:
    return platform.python_version()


def _requirement_lines(given: str | os.PathLike[str] | Sequence[str]) -> list[str]:
    if isinstance(given, (str, os.PathLike)) and not (isinstance(given, str) and "\n" in given):
        path = Path(given)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ModelError(
                f"cannot read the requirements file {path}: {error.strerror or error}"
            ) from None
        lines = text.splitlines()
    elif isinstance(given, str):
        lines = given.splitlines()
    else:
        lines = [str(item) for item in given]
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def write_environment(
    folder: Path,
    default_requirements: Sequence[str],
    pip_requirements: str | os.PathLike[str] | Sequence[str] | None = None,
    extra_pip_requirements: str | os.PathLike[str] | Sequence[str] | None = None,
    conda_env: str | os.PathLike[str] | Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Write requirements.txt, python_env.yaml and conda.yaml into `folder`; return the
    `env` setting of the python_function flavor. `pip_requirements` replaces the
    flavor's defaults; `extra_pip_requirements` adds to them; `conda_env` (a dict or a YAML
    file) is written as given, its pip dependencies becoming the requirements."""
    import yaml

    if pip_requirements is not None and extra_pip_requirements is not None:
        raise ModelError("give pip_requirements or extra_pip_requirements, not both")
    python = python_version()
    if conda_env is not None:
        if isinstance(conda_env, Mapping):
            conda = dict(conda_env)
        else:
            try:
                conda = yaml.safe_load(Path(conda_env).read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError) as error:
                raise ModelError(
                    f"cannot read the conda environment {conda_env}: {error}"
                ) from None
            if not isinstance(conda, dict):
                raise ModelError(f"the conda environment {conda_env} is not a mapping")
        requirements: list[str] = []
        for dependency in conda.get("dependencies") or []:
            if isinstance(dependency, Mapping) and isinstance(dependency.get("pip"), list):
                requirements.extend(str(item) for item in dependency["pip"])
    else:
        if pip_requirements is not None:
            requirements = _requirement_lines(pip_requirements)
        else:
            requirements = list(default_requirements)
            if extra_pip_requirements is not None:
                requirements += _requirement_lines(extra_pip_requirements)
        conda = {
            "channels": ["conda-forge"],
            "dependencies": [
                f"python={python}",
                f"pip<={installed_version('pip') or '24.0'}",
                {"pip": requirements},
            ],
            "name": "mlflow-env",
        }
    (folder / REQUIREMENTS).write_text("\n".join(requirements) + "\n", encoding="utf-8")
    (folder / CONDA_ENV).write_text(yaml.safe_dump(conda, sort_keys=False), encoding="utf-8")
    python_env = {
        "python": python,
        "build_dependencies": pinned(["pip", "setuptools", "wheel"]),
        "dependencies": [f"-r {REQUIREMENTS}"],
    }
    (folder / PYTHON_ENV).write_text(yaml.safe_dump(python_env, sort_keys=False), encoding="utf-8")
    return {"conda": CONDA_ENV, "virtualenv": PYTHON_ENV}


def _jsonable(value: Any) -> Any:
    """Plain JSON values from numpy scalars and arrays, datetimes and bytes."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} cannot be written as JSON")


def write_input_example(folder: Path, example: Any) -> dict[str, Any]:
    """Write the input example as MLflow does (a table in pandas' `split` orient, an
    array as `{"inputs": ...}`); return `saved_input_example_info`."""
    kind, orient = "dataframe", "split"
    if hasattr(example, "to_dict") and hasattr(example, "columns"):  # a DataFrame
        split = example.to_dict(orient="split")
        body: Any = {"columns": list(split["columns"]), "data": split["data"]}
    elif hasattr(example, "to_frame"):  # a Series
        frame = example.to_frame()
        split = frame.to_dict(orient="split")
        body = {"columns": list(split["columns"]), "data": split["data"]}
    elif hasattr(example, "dtype") and hasattr(example, "shape"):  # an array
        kind, body = "ndarray", {"inputs": example}
    elif isinstance(example, Mapping):
        columns = [str(key) for key in example]
        values = list(example.values())
        if values and all(isinstance(v, (list, tuple)) for v in values):
            body = {"columns": columns, "data": [list(row) for row in zip(*values, strict=True)]}
        else:
            body = {"columns": columns, "data": [values]}
    elif isinstance(example, list) and example and all(isinstance(r, Mapping) for r in example):
        columns = list(dict.fromkeys(str(key) for row in example for key in row))
        body = {"columns": columns, "data": [[row.get(c) for c in columns] for row in example]}
    elif isinstance(example, (list, tuple)):
        kind, body = "ndarray", {"inputs": list(example)}
    else:
        kind, body = "json_object", example
    try:
        text = json.dumps(body, default=_jsonable)
    except (TypeError, ValueError) as error:
        raise ModelError(f"the input example cannot be written as JSON: {error}") from None
    (folder / INPUT_EXAMPLE).write_text(text, encoding="utf-8")
    info: dict[str, Any] = {"artifact_path": INPUT_EXAMPLE, "type": kind}
    if kind == "dataframe":
        info["pandas_orient"] = orient
        serving = {"dataframe_split": json.loads(text)}
    elif kind == "ndarray":
        info["format"] = "tf-serving"
        serving = json.loads(text)
    else:
        serving = None
    if serving is not None:
        (folder / SERVING_INPUT_EXAMPLE).write_text(json.dumps(serving, indent=2), encoding="utf-8")
        info["serving_input_path"] = SERVING_INPUT_EXAMPLE
    return info


def read_input_example(folder: Path, info: Mapping[str, Any]) -> Any:
    """The saved input example: a pandas DataFrame when pandas is installed, else a list of
    row dicts (a table); an array's `inputs` as a list."""
    path = folder / str(info.get("artifact_path") or INPUT_EXAMPLE)
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelError(f"cannot read the input example {path}: {error}") from None
    if info.get("type") == "dataframe" and isinstance(body, dict):
        columns, data = body.get("columns") or [], body.get("data") or []
        try:
            import pandas
        except ImportError:
            return [dict(zip(columns, row, strict=False)) for row in data]
        return pandas.DataFrame(data, columns=columns)
    if info.get("type") == "ndarray" and isinstance(body, dict):
        return body.get("inputs")
    return body
