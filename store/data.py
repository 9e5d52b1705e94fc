"""Datasets to log as run inputs: MLflow's `mlflow.data` constructors, for `log_input`.

    from mltop import store as mt
    from mltop.store import data

    dataset = data.from_pandas(df, source="data/train.csv", targets="label", name="train")
    with mt.start_run():
        mt.log_input(dataset, context="training")

`from_pandas` and `from_numpy` take MLflow 3.17's parameters, in its order, and return a
`Dataset` (`mltop.store.entities.Dataset`: name, digest, source_type, source, schema,
profile), which can also be built by hand. pandas and numpy are imported only inside
them: neither is a dependency of mltop.

Where mltop differs from MLflow: `source`, `schema` and `profile` are the JSON texts MLflow
stores (`{"uri": ...}`, `{"mlflow_colspec": [...]}`, `{"num_rows": ...}`), not objects; and
the digest is mltop's own (below), so the same data has another digest in MLflow.

The digest: the first 16 hex digits of a SHA-256 over the data's shape, its column names
and types, and every value (all rows, not a sample: a change anywhere changes it). A
DataFrame's values are hashed row by row with `pandas.util.hash_pandas_object` (index
included; a column it cannot hash is hashed as text); an array's are its raw bytes in C
order with its dtype (an object array: the text of its values). The same data gives the
same digest in any process and on any machine with the same pandas and numpy.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mltop.store.entities import Dataset, DatasetInput, InputTag
from mltop.store.errors import InvalidValueError

__all__ = [
    "Dataset",
    "DatasetInput",
    "InputTag",
    "NumpyDataset",
    "PandasDataset",
    "from_numpy",
    "from_pandas",
]

DEFAULT_NAME = "dataset"  # MLflow's name for a dataset given none
DIGEST_LENGTH = 16  # hex digits (MLflow stores up to 36)


@dataclass(frozen=True)
class PandasDataset(Dataset):
    """A `Dataset` made from a DataFrame by `from_pandas`; `df` is the frame itself."""

    df: Any = field(default=None, repr=False, compare=False)
    targets: str | None = None
    predictions: str | None = None


@dataclass(frozen=True)
class NumpyDataset(Dataset):
    """A `Dataset` made from arrays by `from_numpy`; `features` and `targets` are they."""

    features: Any = field(default=None, repr=False, compare=False)
    targets: Any = field(default=None, repr=False, compare=False)


# -- sources ------------------------------------------------------------------------------

_REMOTE_SCHEMES = {"s3", "gs", "wasbs", "abfss", "hdfs", "dbfs", "hf", "models", "runs"}


def resolve_source(source: object) -> tuple[str, str]:
    """(source_type, source JSON) of a source given as MLflow's constructors take it: a
    path or URI string (or path-like), or None for the code calling (this script)."""
    if source is None:
        script = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else "<interactive>"
        return "code", json.dumps({"tags": {"mlflow.source.name": script}})
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str) or not source:
        raise InvalidValueError(
            f"a dataset source is a path or a URI string, not {type(source).__name__} "
            f"{source!r:.60}"
        )
    scheme = source.split("://", 1)[0].lower() if "://" in source else ""
    if scheme in ("http", "https"):
        return "http", json.dumps({"url": source})
    if scheme in _REMOTE_SCHEMES:
        return scheme, json.dumps({"uri": source})
    return "local", json.dumps({"uri": source})


def _digest(parts: list[bytes]) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(len(part).to_bytes(8, "little"))  # no two sequences hash alike
        sha.update(part)
    return sha.hexdigest()[:DIGEST_LENGTH]


# -- pandas -------------------------------------------------------------------------------

# numpy dtype -> MLflow's column type (mlflow.types.DataType names).
_COLUMN_TYPES = {
    "bool": "boolean",
    "int8": "integer",
    "int16": "integer",
    "int32": "integer",
    "int64": "long",
    "uint8": "integer",
    "uint16": "integer",
    "uint32": "long",
    "float32": "float",
    "float64": "double",
}


def _column_type(column: Any) -> str | None:
    """MLflow's type name for a DataFrame column; None when it has no single one."""
    dtype = column.dtype
    found = _COLUMN_TYPES.get(str(dtype))
    if found is not None:
        return found
    if dtype.kind == "M":
        return "datetime"
    if dtype.kind in "OUS" or str(dtype) in ("string", "str"):
        values = column.dropna()
        if all(isinstance(v, str) for v in values):
            return "string"
        if all(isinstance(v, bytes) for v in values):
            return "binary"
    return None


def _pandas_schema(df: Any) -> str | None:
    columns = []
    for name in df.columns:
        column = df[name]
        kind = _column_type(column)
        if kind is None:
            return None  # as MLflow, no schema rather than a wrong one
        required = not bool(column.isna().any())
        columns.append({"type": kind, "name": str(name), "required": required})
    return json.dumps({"mlflow_colspec": columns})


def _pandas_digest(df: Any) -> str:
    import pandas as pd

    parts = [repr(df.shape).encode()]
    parts += [f"{name!s}\x00{df[name].dtype!s}".encode() for name in df.columns]
    try:
        parts.append(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    except TypeError:  # unhashable values (lists, dicts): each such column as text
        for name in df.columns:
            column = df[name]
            try:
                hashed = pd.util.hash_pandas_object(column, index=False)
            except TypeError:
                hashed = pd.util.hash_pandas_object(column.astype(str), index=False)
            parts.append(hashed.to_numpy().tobytes())
        parts.append(pd.util.hash_pandas_object(df.index).to_numpy().tobytes())
    return _digest(parts)


def from_pandas(
    df: Any,
    source: str | os.PathLike[str] | None = None,
    targets: str | None = None,
    name: str | None = None,
    digest: str | None = None,
    predictions: str | None = None,
) -> PandasDataset:
    """A dataset of the DataFrame `df` (MLflow's `mlflow.data.from_pandas`). `source`: the
    path or URI it came from (None: this script). `targets`, `predictions`: names of
    columns of `df`. `digest`: computed from the data when not given (see the module)."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise InvalidValueError(f"from_pandas takes a pandas DataFrame, not {type(df).__name__}")
    for what, column in (("targets", targets), ("predictions", predictions)):
        if column is not None and column not in df.columns:
            raise InvalidValueError(f"from_pandas: the DataFrame has no {what} column {column!r}")
    source_type, source_json = resolve_source(source)
    profile = json.dumps({"num_rows": len(df), "num_elements": int(df.size)})
    return PandasDataset(
        name=DEFAULT_NAME if name is None else name,
        digest=_pandas_digest(df) if digest is None else digest,
        source_type=source_type,
        source=source_json,
        schema=_pandas_schema(df),
        profile=profile,
        df=df,
        targets=targets,
        predictions=predictions,
    )


# -- numpy --------------------------------------------------------------------------------


def _arrays(value: Any, what: str) -> dict[str, Any] | Any:
    """`value` as an ndarray, or a dict of them."""
    import numpy as np

    if isinstance(value, Mapping):
        return {str(key): np.asarray(array) for key, array in value.items()}
    if isinstance(value, (str, bytes)) or value is None:
        raise InvalidValueError(
            f"from_numpy: {what} must be an array or a dict of arrays, not {type(value).__name__}"
        )
    return np.asarray(value)


def _array_parts(array: Any) -> list[bytes]:
    import numpy as np

    parts = [repr(array.shape).encode(), array.dtype.str.encode()]
    if array.dtype.kind == "O":
        parts.append(repr(array.tolist()).encode())
    else:
        parts.append(np.ascontiguousarray(array).tobytes())
    return parts


def _numpy_digest(features: Any, targets: Any) -> str:
    parts: list[bytes] = []
    for label, item in (("features", features), ("targets", targets)):
        if item is None:
            continue
        parts.append(label.encode())
        if isinstance(item, dict):
            for key in sorted(item):
                parts.append(key.encode())
                parts += _array_parts(item[key])
        else:
            parts += _array_parts(item)
    return _digest(parts)


def _tensor_spec(item: Any) -> str:
    def spec(array: Any, name: str | None) -> dict[str, Any]:
        shape = [-1, *array.shape[1:]] if array.ndim else []
        found: dict[str, Any] = {} if name is None else {"name": name}
        found.update({"type": "tensor", "tensor-spec": {"dtype": str(array.dtype), "shape": shape}})
        return found

    if isinstance(item, dict):
        return json.dumps([spec(item[key], key) for key in sorted(item)])
    return json.dumps([spec(item, None)])


def _numpy_profile(features: Any, targets: Any) -> str:
    def facts(item: Any, attr: str) -> Any:
        def one(array: Any) -> Any:
            value = getattr(array, attr)
            return list(value) if attr == "shape" else int(value)

        if isinstance(item, dict):
            return {key: one(array) for key, array in item.items()}
        return one(item)

    attrs = ("shape", "size", "nbytes")
    profile = {f"features_{attr}": facts(features, attr) for attr in attrs}
    if targets is not None:
        profile.update({f"targets_{attr}": facts(targets, attr) for attr in attrs})
    return json.dumps(profile)


def from_numpy(
    features: Any,
    source: str | os.PathLike[str] | None = None,
    targets: Any = None,
    name: str | None = None,
    digest: str | None = None,
) -> NumpyDataset:
    """A dataset of arrays (MLflow's `mlflow.data.from_numpy`): `features` and optional
    `targets`, each an array or a dict of named arrays. `source`: the path or URI they came
    from (None: this script). `digest`: computed from the data when not given."""
    feature_arrays = _arrays(features, "features")
    target_arrays = None if targets is None else _arrays(targets, "targets")
    source_type, source_json = resolve_source(source)
    schema = {
        "mlflow_tensorspec": {
            "features": _tensor_spec(feature_arrays),
            "targets": None if target_arrays is None else _tensor_spec(target_arrays),
        }
    }
    return NumpyDataset(
        name=DEFAULT_NAME if name is None else name,
        digest=_numpy_digest(feature_arrays, target_arrays) if digest is None else digest,
        source_type=source_type,
        source=source_json,
        schema=json.dumps(schema),
        profile=_numpy_profile(feature_arrays, target_arrays),
        features=feature_arrays,
        targets=target_arrays,
    )
