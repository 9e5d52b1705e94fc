"""A model's signature: the columns (or tensors) it takes and gives, and its parameters.

Written and read in MLflow 3.17's JSON forms, so the `signature:` of an MLmodel written by
either tool reads in the other: `ModelSignature.to_dict()` is exactly what MLflow puts there
(a JSON string per part). `infer_signature` follows MLflow's inference; `enforce_schema`
checks data at predict time and converts it as MLflow would, with errors naming the column
(and the row, when known).

Where mltop's rules differ from MLflow's, on purpose:
- A number converts to another numeric type when every value survives the conversion
  exactly (MLflow decides by dtype alone: it refuses int64 -> double unless the values are
  all 0 and 1, and refuses 2.0 -> long). So a CSV column read as int64 feeds a double
  column, and a long column read as float64 (because a chunk had a gap) feeds a long column
  once the gap's row is set aside; 2.5 -> long and 0.1 -> float are still refused.
- A missing value (None, NA, NaT) in a required column is refused, except in a double or
  float column, where it is NaN, a float like any other (as in MLflow: a model with an
  imputer takes it). MLflow also lets None through for string, binary and boolean columns.
- The values of an object column are checked one by one: text is not a number and a
  boolean is not a number. MLflow passes any object column through for string, binary and
  boolean, and runs one meant for double through `pd.to_numeric` ("1" and True become 1.0).
- Plain Python data (a list of records, a dict of columns, a dict of one row, a list of
  values, a scalar) is checked without pandas and comes back in the same shape.

numpy and pandas are optional: imported only inside the functions that meet their objects.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from mltop.store.errors import MltopError

_log = logging.getLogger(__name__)

# Column types whose missing values are NaN: a gap there is a value, even when required.
_NAN_TYPES = frozenset({"double", "float"})

DATA_TYPES = ("boolean", "integer", "long", "float", "double", "string", "binary", "datetime")
# MLflow's compound column types; their inner structure is kept as MLflow's JSON (`nested`).
COMPOUND_TYPES = ("array", "object", "map", "any")
_NUMERIC = ("integer", "long", "float", "double")
_NUMPY_NAME = {"integer": "int32", "long": "int64", "float": "float32", "double": "float64"}
_INT_RANGE = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_TENSOR_DTYPE = re.compile(
    r"(bool|u?int(8|16|32|64)|float(16|32|64|96|128)|complex(64|128|192|256)|str|bytes|object"
    r"|(datetime64|timedelta64)(\[(Y|M|W|D|h|m|s|ms|us|ns|ps|fs|as)\])?)"
)
_MAX_DEPTH = 32  # nesting of array/object/map types read from a file


class SignatureError(MltopError, ValueError):
    """Data, or a signature read from a file, does not fit: says what, and where."""

    def __init__(self, message: str, *, column: str | None = None, row: int | None = None):
        super().__init__(message)
        self.column = column
        self.row = row  # 0-based position in the data


class RowProblem(NamedTuple):
    row: int  # 0-based position
    column: str | None
    reason: str


# ---------------------------------------------------------------------------------------
# The specs


@dataclass(frozen=True)
class ColSpec:
    """One column: its type (one of DATA_TYPES, or MLflow's array / object / map / any),
    its name (None in an unnamed schema), and whether each row must carry a value.

    `nested` holds an array's `items`, an object's `properties` or a map's `values` as
    MLflow writes them (a JSON object text), so such columns read from an MLflow signature
    are written back unchanged."""

    type: str
    name: str | None = None
    required: bool = True
    nested: str | None = None

    def __post_init__(self) -> None:
        if self.type not in DATA_TYPES and self.type not in COMPOUND_TYPES:
            raise SignatureError(
                f"unknown column type {self.type!r} (known: {', '.join(DATA_TYPES)}, "
                f"{', '.join(COMPOUND_TYPES)})",
                column=self.name,
            )
        if self.name is not None and not isinstance(self.name, str):
            raise SignatureError(f"a column's name must be text, got {self.name!r}")
        if self.type in ("array", "object", "map"):
            if self.nested is None:
                raise SignatureError(
                    f"an {self.type} column needs its nested type", column=self.name
                )
            canonical = _canonical_type(
                {**_loads_object(self.nested), "type": self.type}, self.name or "column", 0
            )
            del canonical["type"]
            object.__setattr__(self, "nested", json.dumps(canonical))
        elif self.nested is not None:
            raise SignatureError(f"a {self.type} column has no nested type", column=self.name)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": self.type}
        if self.nested is not None:
            d.update(json.loads(self.nested))
        if self.name is not None:
            d["name"] = self.name
        d["required"] = self.required
        return d

    def type_dict(self) -> dict[str, Any]:
        """MLflow's JSON for the type alone (no name, no required)."""
        d: dict[str, Any] = {"type": self.type}
        if self.nested is not None:
            d.update(json.loads(self.nested))
        return d

    def describe(self) -> str:
        text = _describe_type(self.type_dict())
        if self.name is not None:
            text = f"{self.name}: {text}"
        return text if self.required else f"{text} (optional)"


@dataclass(frozen=True)
class TensorSpec:
    """A tensor: numpy dtype name (as MLflow writes it: 'float64', 'str', 'bytes', ...),
    shape with -1 for a variable dimension, and its name (None when it is the only input)."""

    dtype: str
    shape: tuple[int, ...]
    name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.dtype, str) or not _TENSOR_DTYPE.fullmatch(self.dtype):
            raise SignatureError(f"unknown tensor dtype {self.dtype!r}", column=self.name)
        shape = self.shape
        if not isinstance(shape, (tuple, list)) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= -1 for d in shape
        ):
            raise SignatureError(
                f"a tensor's shape is a list of sizes (-1 for any), got {shape!r}",
                column=self.name,
            )
        object.__setattr__(self, "shape", tuple(shape))
        if self.name is not None and not isinstance(self.name, str):
            raise SignatureError(f"a tensor's name must be text, got {self.name!r}")

    @property
    def required(self) -> bool:
        return True

    def to_dict(self) -> dict[str, Any]:
        spec = {"dtype": self.dtype, "shape": list(self.shape)}
        if self.name is None:
            return {"type": "tensor", "tensor-spec": spec}
        return {"name": self.name, "type": "tensor", "tensor-spec": spec}

    def describe(self) -> str:
        text = f"Tensor {self.dtype} {_shape_text(self.shape)}"
        return text if self.name is None else f"{self.name}: {text}"


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


class Schema:
    """The inputs (or outputs) of a model: a list of ColSpec, or a list of TensorSpec."""

    def __init__(self, inputs: Iterable[ColSpec | TensorSpec]):
        specs = tuple(inputs)
        if not specs:
            raise SignatureError("a schema needs at least one column or tensor")
        if not (
            all(isinstance(s, ColSpec) for s in specs)
            or all(isinstance(s, TensorSpec) for s in specs)
        ):
            raise SignatureError("a schema is either all columns or all tensors, not both")
        named = [s.name is not None for s in specs]
        if any(named) and not all(named):
            raise SignatureError("a schema names all its inputs or none of them")
        if not any(named) and len(specs) > 1 and isinstance(specs[0], TensorSpec):
            raise SignatureError("several tensors need a name each")
        if not any(named) and not all(s.required for s in specs):
            raise SignatureError("an unnamed column cannot be optional")
        names = [s.name for s in specs if s.name is not None]
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise SignatureError(f"the schema names {', '.join(map(repr, dupes))} twice")
        self._specs = specs

    @property
    def inputs(self) -> list[ColSpec | TensorSpec]:
        return list(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def __iter__(self) -> Iterator[ColSpec | TensorSpec]:
        return iter(self._specs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and self._specs == other._specs

    def __hash__(self) -> int:
        return hash(self._specs)

    def is_tensor_spec(self) -> bool:
        return isinstance(self._specs[0], TensorSpec)

    def has_input_names(self) -> bool:
        return self._specs[0].name is not None

    def input_names(self) -> list[str | int]:
        """The names, or the positions when the schema names none (as MLflow's)."""
        return [s.name if s.name is not None else i for i, s in enumerate(self._specs)]

    def describe(self) -> str:
        """`a: double, b: long, c: string (optional)`."""
        return ", ".join(s.describe() for s in self._specs)

    def to_dict(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self._specs]

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | bytes) -> Schema:
        """A schema from MLflow's JSON. Raises SignatureError (only) on anything malformed."""
        data = _loads(text, "schema")
        if not isinstance(data, list):
            raise SignatureError("a schema's JSON is a list of columns or tensors")
        return cls(_spec_from_dict(item, i) for i, item in enumerate(data))

    def __repr__(self) -> str:
        return "[" + ", ".join(_spec_repr(s) for s in self._specs) + "]"


def _spec_repr(spec: ColSpec | TensorSpec) -> str:
    if isinstance(spec, TensorSpec):
        text = f"Tensor {spec.dtype} {_shape_text(spec.shape)}"
    else:
        text = _describe_type(spec.type_dict())
        if not spec.required:
            text += " (optional)"
    return text if spec.name is None else f"{spec.name!r}: {text}"


def _spec_from_dict(item: object, index: int) -> ColSpec | TensorSpec:
    where = f"the schema's entry {index}"
    if not isinstance(item, dict):
        raise SignatureError(f"{where} is not a JSON object")
    name = item.get("name")
    if isinstance(name, int) and not isinstance(name, bool):
        name = str(name)  # MLflow writes a DataFrame's integer column labels as numbers
    if name is not None and not isinstance(name, str):
        raise SignatureError(f"{where}: its name must be text, got {name!r}")
    kind = item.get("type")
    if kind == "tensor":
        spec = item.get("tensor-spec")
        if not isinstance(spec, dict) or not {"dtype", "shape"} <= spec.keys():
            raise SignatureError(f"{where}: a tensor needs 'tensor-spec' with dtype and shape")
        if not isinstance(spec["shape"], list):
            raise SignatureError(f"{where}: a tensor's shape is a list")
        return TensorSpec(dtype=spec["dtype"], shape=tuple(spec["shape"]), name=name)
    if not isinstance(kind, str):
        raise SignatureError(f"{where} has no type")
    required = item.get("required", True)
    if required is None:
        required = True
    if not isinstance(required, bool):
        raise SignatureError(f"{where}: 'required' is true or false, got {required!r}")
    rest = {k: v for k, v in item.items() if k not in ("type", "name", "required")}
    if kind in ("array", "object", "map"):
        return ColSpec(type=kind, name=name, required=required, nested=json.dumps(rest))
    return ColSpec(type=kind, name=name, required=required)


_NESTED_KEY = {"array": "items", "object": "properties", "map": "values"}


def _canonical_type(d: object, where: str, depth: int) -> dict[str, Any]:
    """One of MLflow's type dicts in the form MLflow writes it back: an object's properties
    sorted by name, each with its `required`; nothing else kept. Raises SignatureError
    unless `d` is such a type."""
    if depth > _MAX_DEPTH:
        raise SignatureError(f"{where}: types nested more than {_MAX_DEPTH} deep")
    if not isinstance(d, dict) or not isinstance(d.get("type"), str):
        raise SignatureError(f"{where}: a type is a JSON object with a 'type'")
    kind = d["type"]
    if kind in DATA_TYPES or kind == "any":
        return {"type": kind}
    key = _NESTED_KEY.get(kind)
    if key is None:
        raise SignatureError(f"{where}: unknown type {kind!r}")
    inner = d.get(key)
    if kind != "object":
        return {"type": kind, key: _canonical_type(inner, f"{where}[]", depth + 1)}
    if not isinstance(inner, dict) or not inner:
        raise SignatureError(f"{where}: an object type needs its properties")
    props = {}
    for prop in sorted(inner):
        prop_type = inner[prop]
        required = prop_type.get("required", True) if isinstance(prop_type, dict) else None
        if not isinstance(required, bool):
            raise SignatureError(f"{where}.{prop}: 'required' is true or false")
        props[prop] = {
            **_canonical_type(prop_type, f"{where}.{prop}", depth + 1),
            "required": required,
        }
    return {"type": "object", "properties": props}


def _describe_type(d: Mapping[str, Any]) -> str:
    kind = d["type"]
    if kind == "array":
        return f"array<{_describe_type(d['items'])}>"
    if kind == "map":
        return f"map<{_describe_type(d['values'])}>"
    if kind == "object":
        parts = []
        for prop, prop_type in d["properties"].items():
            opt = "" if prop_type.get("required", True) else "?"
            parts.append(f"{prop}{opt}: {_describe_type(prop_type)}")
        return "{" + ", ".join(parts) + "}"
    return str(kind)


def _loads(text: object, what: str) -> Any:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise SignatureError(f"the {what} is not UTF-8 text") from e
    if not isinstance(text, str):
        raise SignatureError(f"the {what} is JSON text, got {type(text).__name__}")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as e:
        raise SignatureError(f"the {what} is not valid JSON: {e}") from e


def _loads_object(text: str) -> dict[str, Any]:
    data = _loads(text, "nested type")
    if not isinstance(data, dict):
        raise SignatureError("a nested type is a JSON object")
    return data


# ---------------------------------------------------------------------------------------
# Parameters


@dataclass(frozen=True)
class ParamSpec:
    """A parameter the model takes at predict time: its type (one of DATA_TYPES but binary),
    default, and shape: None for a scalar, (-1,) for a list (kept as a tuple)."""

    name: str
    type: str
    default: Any
    shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise SignatureError(f"a parameter's name must be text, got {self.name!r}")
        if self.type not in DATA_TYPES or self.type == "binary":
            known = ", ".join(t for t in DATA_TYPES if t != "binary")
            raise SignatureError(
                f"parameter {self.name!r}: unsupported type {self.type!r} (known: {known})",
                column=self.name,
            )
        shape = self.shape
        if shape is not None:
            if not isinstance(shape, (tuple, list)) or tuple(shape) != (-1,):
                raise SignatureError(
                    f"parameter {self.name!r}: shape is None (a scalar) or (-1,) (a list), "
                    f"got {shape!r}",
                    column=self.name,
                )
            object.__setattr__(self, "shape", (-1,))
        object.__setattr__(self, "default", _param_value(self, self.default))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "default": _param_json(self.default),
            "shape": None if self.shape is None else list(self.shape),
            "type": self.type,
        }


def _param_json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_param_json(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _param_value(spec: ParamSpec, value: Any) -> Any:
    """`value` checked against the spec and converted (lists become tuples)."""
    if value is None:
        return None
    if spec.shape is None:
        return _param_scalar(spec, value)
    if isinstance(value, (str, bytes, Mapping)) or not _is_sequence(value):
        raise SignatureError(
            f"parameter {spec.name!r}: expected a list of {spec.type}, "
            f"got {type(value).__name__} {value!r}",
            column=spec.name,
        )
    return tuple(_param_scalar(spec, v) for v in _to_list(value))


def _param_scalar(spec: ParamSpec, value: Any) -> Any:
    value = _plain_scalar(value)
    t = spec.type
    ok: Any = _NO
    if t == "datetime":
        ok = _to_datetime(value)
        if type(ok).__module__ == "numpy":
            ok = ok.item()
            ok = ok if isinstance(ok, dt.date) else _NO
    elif t == "boolean":
        ok = value if isinstance(value, bool) else _NO
    elif t == "string":
        ok = value if isinstance(value, str) else _NO
    elif not isinstance(value, bool):
        # MLflow's rule for params: ints become long/float/double, floats become double
        # (float for float); a whole float is not an int.
        if isinstance(value, int) and t in ("integer", "long"):
            lo, hi = _INT_RANGE[t]
            ok = value if lo <= value <= hi else _NO
        elif isinstance(value, (int, float)) and t in ("float", "double"):
            ok = float(value)
    if ok is _NO:
        raise SignatureError(
            f"parameter {spec.name!r}: expected {t}, got {type(value).__name__} {value!r}",
            column=spec.name,
        )
    return ok


class ParamSchema:
    """The parameters a model takes at predict time."""

    def __init__(self, params: Iterable[ParamSpec]):
        specs = tuple(params)
        if not all(isinstance(p, ParamSpec) for p in specs):
            raise SignatureError("a parameter schema holds ParamSpecs")
        names = [p.name for p in specs]
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise SignatureError(f"parameters named twice: {', '.join(map(repr, dupes))}")
        self._params = specs

    @property
    def params(self) -> list[ParamSpec]:
        return list(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __iter__(self) -> Iterator[ParamSpec]:
        return iter(self._params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParamSchema) and self._params == other._params

    def __hash__(self) -> int:
        return hash(self._params)

    def to_dict(self) -> list[dict[str, Any]]:
        return [p.to_dict() for p in self._params]

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | bytes) -> ParamSchema:
        data = _loads(text, "parameter schema")
        if not isinstance(data, list):
            raise SignatureError("a parameter schema's JSON is a list of parameters")
        specs = []
        for i, item in enumerate(data):
            if not isinstance(item, dict):
                raise SignatureError(f"parameter entry {i} is not a JSON object")
            kind = item.get("type", item.get("dtype"))  # MLflow reads both
            if not {"name", "default"} <= item.keys() or kind is None:
                raise SignatureError(f"parameter entry {i} needs name, type and default")
            if kind == "object":
                raise SignatureError(
                    f"parameter {item['name']!r}: object parameters are not supported"
                )
            if not isinstance(kind, str):
                raise SignatureError(f"parameter entry {i}: its type is text, got {kind!r}")
            shape = item.get("shape")
            if shape is not None and not isinstance(shape, list):
                raise SignatureError(f"parameter entry {i}: its shape is null or [-1]")
            specs.append(
                ParamSpec(
                    name=str(item["name"]),
                    type=kind,
                    default=item["default"],
                    shape=None if shape is None else tuple(shape),
                )
            )
        return cls(specs)

    def __repr__(self) -> str:
        parts = []
        for p in self._params:
            shown = list(p.default) if isinstance(p.default, tuple) else p.default
            kind = p.type if p.shape is None else f"list<{p.type}>"
            parts.append(f"{p.name!r}: {kind} = {shown!r}")
        return "[" + ", ".join(parts) + "]"


# ---------------------------------------------------------------------------------------
# The signature


@dataclass(frozen=True, repr=False)
class ModelSignature:
    inputs: Schema | None = None
    outputs: Schema | None = None
    params: ParamSchema | None = None

    def __post_init__(self) -> None:
        if self.inputs is None and self.outputs is None and self.params is None:
            raise SignatureError("a signature needs inputs, outputs or parameters")
        for part, kind in (("inputs", Schema), ("outputs", Schema), ("params", ParamSchema)):
            value = getattr(self, part)
            if value is not None and not isinstance(value, kind):
                raise SignatureError(f"a signature's {part} must be a {kind.__name__}")

    def to_dict(self) -> dict[str, str | None]:
        """What MLflow writes under `signature:` in an MLmodel: a JSON string per part."""
        return {
            "inputs": self.inputs.to_json() if self.inputs else None,
            "outputs": self.outputs.to_json() if self.outputs else None,
            "params": self.params.to_json() if self.params else None,
        }

    @classmethod
    def from_dict(cls, mapping: object) -> ModelSignature:
        if not isinstance(mapping, Mapping):
            raise SignatureError("a signature is a mapping of inputs, outputs and params")
        parts: dict[str, Any] = {}
        for part in ("inputs", "outputs", "params"):
            text = mapping.get(part)
            if text is None or text == "":
                parts[part] = None
            elif part == "params":
                parts[part] = ParamSchema.from_json(text)
            else:
                parts[part] = Schema.from_json(text)
        return cls(**parts)

    def __repr__(self) -> str:
        parts = []
        for part in ("inputs", "outputs", "params"):
            value = getattr(self, part)
            if value is not None:
                parts.append(f"{part}: {value!r}")
        return "; ".join(parts)


# ---------------------------------------------------------------------------------------
# Inference


def infer_signature(
    model_input: Any = None, model_output: Any = None, params: Mapping[str, Any] | None = None
) -> ModelSignature:
    """A signature from example data, as MLflow's `infer_signature` makes it."""
    inputs = None if model_input is None else _infer_schema(model_input)
    outputs = None if model_output is None else _infer_schema(model_output)
    param_schema = _infer_params(params) if params else None
    return ModelSignature(inputs=inputs, outputs=outputs, params=param_schema)


def _infer_schema(data: Any) -> Schema:
    pd = _module_of(data, "pandas")
    np = _module_of(data, "numpy")
    if isinstance(data, list) and not data:
        return Schema([ColSpec("string")])  # MLflow's choice for an empty list
    if pd is not None and isinstance(data, pd.DataFrame):
        return Schema(_infer_series(data[c], _label(c)) for c in data.columns)
    if pd is not None and isinstance(data, pd.Series):
        return Schema([_infer_series(data, None if data.name is None else _label(data.name))])
    if np is not None and isinstance(data, np.ndarray):
        return Schema([TensorSpec(_tensor_dtype(data.dtype), _batch_shape(data))])
    if isinstance(data, list) and all(isinstance(r, Mapping) for r in data):
        return _infer_records(data)
    if isinstance(data, Mapping):
        if data and all(_is_ndarray(v) for v in data.values()):
            return Schema(
                TensorSpec(_tensor_dtype(v.dtype), _batch_shape(v), _key(k))
                for k, v in data.items()
            )
        return Schema(
            _colspec(_infer_value(v, str(k)), _key(k), required=_present(v))
            for k, v in data.items()
        )
    if isinstance(data, (list, tuple)):
        items = _infer_value(list(data), "input")
        return Schema([_colspec(items["items"], None, required=True)])
    return Schema([_colspec(_infer_value(data, "input"), None, required=True)])


def _key(k: object) -> str:
    if not isinstance(k, str):
        raise SignatureError(f"a column name must be text, got {k!r}")
    return k


def _label(c: object) -> str:
    return c if isinstance(c, str) else str(c)


def _colspec(type_dict: Mapping[str, Any], name: str | None, *, required: bool) -> ColSpec:
    kind = type_dict["type"]
    rest = {k: v for k, v in type_dict.items() if k != "type"}
    return ColSpec(kind, name, required, json.dumps(rest) if rest else None)


def _present(value: Any) -> bool:
    """MLflow's `required` for a value: present, and for a list, no item missing."""
    if isinstance(value, list):
        return not any(_missing(v) for v in value)
    return not _missing(value)


def _infer_records(records: list[Any]) -> Schema:
    columns: dict[str, list[Any]] = {}
    for record in records:
        for k, v in record.items():
            columns.setdefault(_key(k), []).append(v)
    specs = []
    for name, values in columns.items():
        required = all(r.get(name) is not None for r in records)
        specs.append(_colspec(_infer_value(values, name)["items"], name, required=required))
    return Schema(specs)


_ANY: dict[str, Any] = {"type": "any"}


def _infer_value(value: Any, where: str) -> dict[str, Any]:
    """MLflow's type dict for one value: a scalar's type, array, object, or any."""
    if _missing(value) or (isinstance(value, (list, dict)) and not value):
        return dict(_ANY)
    if isinstance(value, Mapping):
        props = {}
        for k, v in value.items():
            t = _infer_value(v, f"{where}.{k}")
            props[_key(k)] = {**t, "required": t["type"] != "any"}
        return {"type": "object", "properties": props}
    if isinstance(value, (list, tuple)) or _is_ndarray(value):
        items: dict[str, Any] | None = None
        for item in value:
            t = _infer_value(item, where)
            items = t if items is None else _merge_types(items, t, where)
        return {"type": "array", "items": items if items is not None else dict(_ANY)}
    return {"type": _scalar_type(value, where)}


def _merge_types(a: dict[str, Any], b: dict[str, Any], where: str) -> dict[str, Any]:
    if b["type"] == "any" or a == b:
        return a
    if a["type"] == "any":
        return b
    if a["type"] == b["type"] == "array":
        return {"type": "array", "items": _merge_types(a["items"], b["items"], where)}
    if a["type"] == b["type"] == "object":
        props: dict[str, Any] = {}
        pa, pb = a["properties"], b["properties"]
        for k in [*pa, *(k for k in pb if k not in pa)]:
            if k in pa and k in pb:
                merged = _merge_types(_strip(pa[k]), _strip(pb[k]), f"{where}.{k}")
                req = pa[k].get("required", True) and pb[k].get("required", True)
                props[k] = {**merged, "required": req and merged["type"] != "any"}
            else:
                props[k] = {**(pa.get(k) or pb[k]), "required": False}
        return {"type": "object", "properties": props}
    raise SignatureError(
        f"{where}: values of different types ({_describe_type(a)} and {_describe_type(b)})",
        column=where,
    )


def _strip(d: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != "required"}


def _scalar_type(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (bytes, bytearray)):
        return "binary"
    if isinstance(value, dt.date):
        return "datetime"
    dtype = getattr(value, "dtype", None)
    if dtype is not None and type(value).__module__ == "numpy":
        return _numpy_type(dtype, where)
    if isinstance(value, float):
        return "double"
    raise SignatureError(
        f"{where}: cannot infer a type for {type(value).__name__} {value!r}", column=where
    )


def _numpy_type(dtype: Any, where: str) -> str:
    """MLflow's DataType for a numpy (or pandas extension) dtype."""
    kind, size = dtype.kind, dtype.itemsize
    if kind == "b":
        return "boolean"
    if kind in "iu" and (size < 4 or (kind == "i" and size == 4)):
        return "integer"
    if kind in "iu" and (size < 8 or (kind == "i" and size == 8)):
        return "long"
    if kind == "f" and size <= 4:
        return "float"
    if kind == "f" and size <= 8:
        return "double"
    if kind == "U":
        return "string"
    if kind == "S":
        return "binary"
    if kind == "M":
        return "datetime"
    raise SignatureError(f"{where}: no signature type for dtype {dtype}", column=where)


def _infer_series(series: Any, name: str | None) -> ColSpec:
    where = name or "input"
    if len(series.shape) > 1:
        raise SignatureError(f"{where}: expected one column, got shape {series.shape}")
    required = not bool(series.isna().any())
    if series.dtype.kind == "O":
        series = series.infer_objects()
    if series.dtype.kind == "O":
        values = series.tolist()
        try:
            items = _infer_value(values, where)["items"]
        except SignatureError:
            if all(isinstance(v, str) or _missing(v) for v in values):
                items = {"type": "string"}
            else:
                raise
        return _colspec(items, name, required=required)
    return ColSpec(_numpy_type(series.dtype, where), name, required)


def _tensor_dtype(dtype: Any) -> str:
    if dtype.kind == "U":
        return "str"
    if dtype.kind == "S":
        return "bytes"
    return str(dtype.name)


def _batch_shape(array: Any) -> tuple[int, ...]:
    if array.ndim == 0:
        raise SignatureError("a tensor needs at least one dimension (the batch)")
    return (-1, *(int(d) for d in array.shape[1:]))


def _infer_params(params: Mapping[str, Any]) -> ParamSchema:
    if not isinstance(params, Mapping):
        raise SignatureError(f"params is a dict, got {type(params).__name__}")
    specs = []
    for name, value in params.items():
        where = f"parameter {name!r}"
        shape: tuple[int, ...] | None = None
        if isinstance(value, Mapping):
            raise SignatureError(f"{where}: object parameters are not supported", column=name)
        if _is_sequence(value):
            shape = (-1,)
            kind = _list_param_type(_to_list(value), where)
        else:
            kind = _scalar_type(value, where)
        specs.append(ParamSpec(str(name), kind, value, shape))
    return ParamSchema(specs)


def _list_param_type(values: list[Any], where: str) -> str:
    """numpy's promotion of a 1-D list, as MLflow infers a list parameter's type."""
    if not values:
        return "datetime"  # MLflow asks "all datetimes?" first, and all() of nothing is true
    kinds = set()
    for v in values:
        if _is_sequence(v) or isinstance(v, Mapping):
            raise SignatureError(f"{where}: expected a 1-D list, got a nested one")
        kinds.add(_scalar_type(v, where))
    if len(kinds) == 1:
        return kinds.pop()
    if kinds <= {"integer", "long", "float", "double"}:
        return "double"
    raise SignatureError(f"{where}: values of different types ({', '.join(sorted(kinds))})")


# ---------------------------------------------------------------------------------------
# Enforcement


def enforce_params(
    params: Mapping[str, Any] | None, schema: ParamSchema | None
) -> dict[str, Any] | None:
    """The parameters a model receives: checked and converted, defaults filled in,
    unknown ones dropped (as MLflow, with a warning)."""
    if schema is None:
        if params:
            _log.warning(
                "the model's signature declares no parameters; ignoring %s", sorted(params)
            )
            return {}
        return None if params is None else {}
    if params is not None and not isinstance(params, Mapping):
        raise SignatureError(f"params is a dict, got {type(params).__name__}")
    given = {str(k): v for k, v in (params or {}).items()}
    known = {p.name for p in schema}
    if unknown := sorted(set(given) - known):
        _log.warning("ignoring parameters the model does not declare: %s", unknown)
    out: dict[str, Any] = {}
    for spec in schema:
        value = _param_value(spec, given[spec.name]) if spec.name in given else spec.default
        out[spec.name] = list(value) if isinstance(value, tuple) else value
    return out


def enforce_schema(data: Any, schema: Schema) -> Any:
    """`data` checked against `schema` and converted as MLflow would (see the module's
    notes): a DataFrame comes back as a DataFrame of the schema's columns, plain Python
    data in its own shape, tensors as numpy arrays. Raises SignatureError naming the column
    (and the row when known)."""
    if schema.is_tensor_spec():
        return _enforce_tensors(data, schema)
    pd = _module_of(data, "pandas")
    np = _module_of(data, "numpy")
    if pd is not None and isinstance(data, pd.Series):
        data = data.to_frame()
    if np is not None and isinstance(data, np.ndarray):
        import pandas

        pd = pandas
        data = pandas.DataFrame(data)
        if schema.has_input_names() and len(schema) == 1 and data.shape[1] == 1:
            data.columns = [schema.inputs[0].name]
    if pd is not None and isinstance(data, pd.DataFrame):
        return _enforce_frame(data, schema)
    return _enforce_plain(data, schema)


def row_problems(data: Any, schema: Schema, limit: int = 100) -> list[RowProblem]:
    """The rows (0-based positions) of `data` (a DataFrame or a list of records) that fail
    `schema`, and why, without raising; at most `limit` problems, in row order."""
    if schema.is_tensor_spec():
        raise SignatureError("row_problems checks column schemas; this one is tensors")
    pd = _module_of(data, "pandas")
    if pd is not None and isinstance(data, pd.DataFrame):
        found: list[RowProblem] = []
        for spec, series in _frame_columns(data, schema, found, limit):
            _, bad, _ = _check_series(series, spec, limit)
            found.extend(RowProblem(row, _label(series.name), reason) for row, reason in bad)
        found.sort(key=lambda p: p.row)
        return found[:limit]
    if not isinstance(data, list):
        raise SignatureError("row_problems takes a DataFrame or a list of records (dicts)")
    problems: list[RowProblem] = []
    named = _named_keys(schema)
    for i, record in enumerate(data):
        if not isinstance(record, Mapping):
            reason = f"expected a record (column: value), got {type(record).__name__}"
            problems.append(RowProblem(i, None, reason))
        else:
            _record_problems(record, i, schema, problems, limit, named)
        if len(problems) >= limit:
            break
    return problems[:limit]


# -- tensors


def _enforce_tensors(data: Any, schema: Schema) -> Any:
    specs = [s for s in schema if isinstance(s, TensorSpec)]
    pd = _module_of(data, "pandas")
    if schema.has_input_names():
        if pd is not None and isinstance(data, pd.DataFrame):
            out = {}
            for spec in specs:
                assert spec.name is not None
                label = _frame_label(data, spec.name)
                if label is _NO:
                    raise _missing_column(spec.name, schema)
                out[spec.name] = _frame_column_tensor(data[label], spec)
            return out
        if not isinstance(data, Mapping):
            raise SignatureError(
                f"the model takes named tensors ({schema.describe()}): pass a dict of numpy "
                f"arrays or a DataFrame, not {type(data).__name__}"
            )
        out = {}
        for spec in specs:
            assert spec.name is not None
            if spec.name not in data:
                raise _missing_column(spec.name, schema)
            out[spec.name] = _check_tensor(data[spec.name], spec)
        return out
    spec = specs[0]
    if pd is not None and isinstance(data, pd.DataFrame):
        if data.empty:
            raise SignatureError("the input DataFrame is empty")
        if data.shape[1] == 1:
            return _frame_column_tensor(data.iloc[:, 0], spec)
        if spec.shape != (-1, data.shape[1]):
            raise SignatureError(
                f"the model takes {spec.describe()}; a DataFrame of {data.shape[1]} columns "
                f"fits only a tensor of shape (-1, {data.shape[1]})"
            )
        return _check_tensor(_exact_cast(data.to_numpy(), spec, None), spec)
    return _check_tensor(data, spec)


def _check_tensor(value: Any, spec: TensorSpec) -> Any:
    where = f"input {spec.name!r}" if spec.name else "input"
    if not _is_ndarray(value):
        raise SignatureError(
            f"{where}: expected a numpy array ({spec.describe()}), got {type(value).__name__}",
            column=spec.name,
        )
    expected, actual = spec.shape, tuple(value.shape)
    if spec.shape == (-1,) and spec.dtype == "object":
        return value  # MLflow's ragged tensor: anything goes
    if len(expected) > 1 and -1 in expected[1:] and len(actual) == 1 and value.dtype.kind == "O":
        return value  # a ragged array of arrays
    if len(expected) != len(actual) or any(
        e not in (-1, a) for e, a in zip(expected, actual, strict=True)
    ):
        raise SignatureError(
            f"{where}: expected shape {_shape_text(expected)}, got {_shape_text(actual)}",
            column=spec.name,
        )
    if _tensor_dtype(value.dtype) != spec.dtype:
        raise SignatureError(
            f"{where}: expected dtype {spec.dtype}, got {value.dtype}", column=spec.name
        )
    return value


def _frame_column_tensor(series: Any, spec: TensorSpec) -> Any:
    import numpy as np

    where = f"column {spec.name!r}" if spec.name else "the input column"
    if spec.shape[:1] != (-1,) or -1 in spec.shape[1:]:
        raise SignatureError(
            f"{where}: a DataFrame feeds a tensor whose first dimension only is variable, "
            f"but the signature says {_shape_text(spec.shape)}",
            column=spec.name,
        )
    first = series.iloc[0] if len(series) else None
    if isinstance(first, (list, tuple)) or _is_ndarray(first):
        try:
            stacked = np.vstack(series.tolist()).reshape(spec.shape)
        except (ValueError, TypeError) as e:
            raise SignatureError(
                f"{where}: its values do not reshape to {_shape_text(spec.shape)}",
                column=spec.name,
            ) from e
        if len(stacked) != len(series):
            raise SignatureError(
                f"{where}: its values do not reshape to {_shape_text(spec.shape)}",
                column=spec.name,
            )
        arr = stacked
    elif spec.shape in ((-1,), (-1, 1)):
        arr = series.to_numpy().reshape(spec.shape)
    else:
        raise SignatureError(
            f"{where}: one value per row fits shape (-1) or (-1, 1), not {_shape_text(spec.shape)}",
            column=spec.name,
        )
    return _check_tensor(_exact_cast(arr, spec, spec.name), spec)


def _exact_cast(arr: Any, spec: TensorSpec, name: str | None) -> Any:
    """`arr` as the spec's dtype when every value survives the cast; else as it is (and
    the dtype check names the mismatch)."""
    import numpy as np

    if _tensor_dtype(arr.dtype) == spec.dtype or spec.dtype == "object":
        return arr
    if arr.dtype.kind == "O" and spec.dtype in ("str", "bytes"):
        kind = str if spec.dtype == "str" else bytes
        return arr.astype(kind) if all(isinstance(v, kind) for v in arr.flat) else arr
    try:
        target = np.dtype(spec.dtype)
    except TypeError:  # a dtype this platform lacks (float96 on some)
        return arr
    if arr.dtype.kind not in "biuf" or target.kind not in "biuf":
        return arr
    conv, bad = _numeric_cast(arr, target)
    if bad.any():
        first = int(np.flatnonzero(bad.reshape(-1))[0])
        pos = int(np.unravel_index(first, bad.shape)[0])
        where = f"column {name!r}, row {pos}" if name else f"input, row {pos}"
        raise SignatureError(
            f"{where}: expected {spec.dtype}, got {arr.dtype} "
            f"{arr.reshape(-1)[first].item()!r} (cannot convert safely)",
            column=name,
            row=pos,
        )
    return conv


def _numeric_cast(arr: Any, target: Any) -> tuple[Any, Any]:
    """(arr as target, mask of values that did not survive the cast exactly)."""
    import warnings

    import numpy as np

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        conv = arr.astype(target)
        back = conv.astype(arr.dtype)
        same = (back == arr) & (conv == arr)
        if arr.dtype.kind == "f" and target.kind == "f":
            same |= np.isnan(arr) & np.isnan(conv)
        if arr.dtype.kind == "b" or target.kind == "b":
            same &= arr.dtype.kind == target.kind
    return conv, ~same


# -- DataFrames


def _missing_column(name: str, schema: Schema) -> SignatureError:
    return SignatureError(
        f"missing required column {name!r} (the model's signature: {schema.describe()})",
        column=name,
    )


def _frame_columns(
    frame: Any, schema: Schema, problems: list[RowProblem] | None, limit: int
) -> list[tuple[ColSpec, Any]]:
    """(spec, column) for each of the schema's columns present in the frame; a missing
    required column raises, or (problems given) marks every row."""
    specs = [s for s in schema if isinstance(s, ColSpec)]
    if not frame.columns.is_unique:
        twice = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise SignatureError(f"the input names columns twice: {', '.join(twice)}")
    if not schema.has_input_names():
        if frame.shape[1] < len(specs):
            message = (
                f"the model takes {len(specs)} unnamed columns ({schema.describe()}); "
                f"the input has {frame.shape[1]}"
            )
            if problems is None:
                raise SignatureError(message)
            problems.extend(RowProblem(i, None, message) for i in range(min(len(frame), limit)))
            return []
        return [(spec, frame.iloc[:, i]) for i, spec in enumerate(specs)]
    pairs = []
    for spec in specs:
        assert spec.name is not None
        label = _frame_label(frame, spec.name)
        if label is not _NO:
            pairs.append((spec, frame[label]))
        elif spec.required:
            if problems is None:
                raise _missing_column(spec.name, schema)
            reason = f"missing required column {spec.name!r}"
            problems.extend(RowProblem(i, spec.name, reason) for i in range(min(len(frame), limit)))
    return pairs


def _frame_label(frame: Any, name: str) -> Any:
    """The frame's column label for a schema's column name: the name itself, or a label
    written as it (a signature names a DataFrame's integer label 0 as "0")."""
    if name in frame.columns:
        return name
    return next((c for c in frame.columns if not isinstance(c, str) and str(c) == name), _NO)


def _enforce_frame(frame: Any, schema: Schema) -> Any:
    import pandas as pd

    columns = {}
    for spec, series in _frame_columns(frame, schema, None, 1):
        converted, bad, whole = _check_series(series, spec, 1)
        if bad:
            row: int | None = bad[0][0]
            reason = bad[0][1]
            if reason in whole:
                row = None  # the column's dtype is wrong, whatever the row
            name = _label(series.name)
            raise SignatureError(_column_message(name, row, reason), column=name, row=row)
        columns[series.name] = converted
    return pd.DataFrame(columns, index=frame.index)


def _column_message(name: str | None, row: int | None, reason: str) -> str:
    where = "input" if name is None else f"column {name!r}"
    return f"{where}: {reason}" if row is None else f"{where}, row {row}: {reason}"


def _whole_column(t: str, dtype: object) -> str:
    return f"expected {t}, got {dtype} (cannot convert safely)"


def _check_series(
    series: Any, spec: ColSpec, limit: int
) -> tuple[Any, list[tuple[int, str]], set[str]]:
    """(the column converted, the first `limit` failing rows and why, the reasons that
    fail the whole column)."""
    import numpy as np
    import pandas as pd

    t = spec.type
    missing = series.isna().to_numpy(dtype=bool)
    present = ~missing
    # Each check keeps its first `limit` rows; merged and cut, they are the column's first.
    bad_rows: list[tuple[int, str]] = []
    one_by_one: list[tuple[int, str]] = []

    def add(mask: Any, reason: Any) -> None:
        for pos in np.flatnonzero(mask)[:limit]:
            bad_rows.append((int(pos), reason(int(pos)) if callable(reason) else reason))

    def add_one(pos: int, reason: str) -> None:  # called in row order, by one check
        if len(one_by_one) < limit:
            one_by_one.append((pos, reason))

    whole_column: set[str] = set()

    def whole(reason: str) -> None:
        whole_column.add(reason)
        add(present, reason)

    if spec.required and missing.any() and t not in _NAN_TYPES:
        add(missing, "missing value (the column is required)")
    if t == "any":
        return series, _sorted(bad_rows + one_by_one, limit), whole_column
    if t in COMPOUND_TYPES:
        type_dict = spec.type_dict()
        out: list[Any] = []
        for pos, value in enumerate(series.tolist()):
            if not present[pos]:
                out.append(None)
                continue
            try:
                out.append(_convert_nested(value, type_dict))
            except _Bad as e:
                add_one(pos, e.reason)
                out.append(value)
        converted = pd.Series(out, index=series.index, name=series.name, dtype=object)
        return converted, _sorted(bad_rows + one_by_one, limit), whole_column
    dtype = series.dtype
    kind = dtype.kind
    values = series.to_numpy(dtype=object) if kind == "O" else None

    def per_value(check: Any, expected: str) -> Any:
        assert values is not None
        mask = np.array(
            [bool(p) and not check(v) for p, v in zip(present, values, strict=True)], dtype=bool
        )
        add(mask, lambda pos: f"expected {expected}, got {_describe_value(values[pos])}")
        return mask

    result = series
    if t == "string":
        if kind == "O":
            per_value(lambda v: isinstance(v, str), "string")
        else:
            whole(_whole_column(t, dtype))
    elif t == "binary":
        if kind == "O":
            per_value(lambda v: isinstance(v, (bytes, bytearray)), "binary")
        elif kind != "S":
            whole(_whole_column(t, dtype))
    elif t == "boolean":
        if kind == "O":
            per_value(lambda v: isinstance(_plain_scalar(v), bool), "boolean")
        elif kind != "b":
            whole(_whole_column(t, dtype))
    elif t == "datetime":
        result = _datetime_series(series, present, whole, add_one)
    else:
        result = _numeric_series(series, spec, present, missing, add, add_one, whole)
    return result, _sorted(bad_rows + one_by_one, limit), whole_column


def _sorted(rows: list[tuple[int, str]], limit: int) -> list[tuple[int, str]]:
    return sorted(rows, key=lambda r: r[0])[:limit]


def _datetime_series(series: Any, present: Any, whole: Any, add_one: Any) -> Any:
    import pandas as pd

    dtype = series.dtype
    if dtype.kind == "M":
        if getattr(dtype, "tz", None) is not None:
            whole(f"expected a datetime without time zone, got {dtype}")
            return series
        try:
            return series.astype("datetime64[ns]")
        except (TypeError, ValueError) as e:
            whole(f"expected datetime, got {dtype} (cannot convert: {e})")
            return series
    if dtype.kind != "O":
        whole(_whole_column("datetime", dtype))
        return series
    out: list[Any] = []
    failed = False
    for pos, value in enumerate(series.tolist()):
        converted = _to_datetime(value) if present[pos] else pd.NaT
        if converted is _NO:
            add_one(pos, f"expected datetime, got {_describe_value(value)}")
            failed = True
        out.append(converted)
    if failed:
        return series
    try:
        converted = pd.to_datetime(pd.Series(out, index=series.index, name=series.name))
        return converted.astype("datetime64[ns]")
    except (TypeError, ValueError) as e:
        whole(f"expected datetime, cannot convert: {e}")
        return series


def _numeric_series(
    series: Any, spec: ColSpec, present: Any, missing: Any, add: Any, add_one: Any, whole: Any
) -> Any:
    import numpy as np
    import pandas as pd

    t = spec.type
    target = np.dtype(_NUMPY_NAME[t])
    if series.dtype.kind == "O":
        series = series.infer_objects()
    dtype = series.dtype
    if dtype.kind == "O":
        values = series.to_numpy(dtype=object)
        out: list[Any] = []
        failed = False
        for pos, value in enumerate(values):
            if not present[pos]:
                out.append(None)
                continue
            try:
                out.append(_convert_scalar(value, t))
            except _Bad as e:
                add_one(pos, e.reason)
                failed = True
                out.append(None)
        if target.kind in "iu" and missing.any():
            _integer_gap(spec, missing, add)
            return series
        if failed:
            return series
        arr = np.array([np.nan if v is None else v for v in out], dtype=target)
        return pd.Series(arr, index=series.index, name=series.name)
    if dtype.kind not in "iuf":
        whole(_whole_column(t, dtype))
        return series
    gaps = bool(missing.any())
    if isinstance(dtype, np.dtype):
        arr = series.to_numpy()
    elif dtype.kind == "f" or gaps:
        arr = series.to_numpy(dtype="float64", na_value=np.nan)
    else:
        arr = series.to_numpy(dtype="int64")
    if arr.dtype == target:
        return pd.Series(arr, index=series.index, name=series.name)
    if gaps and target.kind in "iu":
        arr = np.where(missing, 0, arr)  # the gaps are reported on their own
    conv, bad = _numeric_cast(arr, target)
    bad &= present
    if bad.any():
        add(
            bad,
            lambda pos: f"expected {t}, got {dtype} {arr[pos].item()!r} (cannot convert safely)",
        )
    if gaps and target.kind in "iu":
        _integer_gap(spec, missing, add)
        return series
    if bad.any():
        return series
    return pd.Series(conv, index=series.index, name=series.name)


def _integer_gap(spec: ColSpec, missing: Any, add: Any) -> None:
    if not spec.required:  # a required column's gaps are reported already
        add(
            missing,
            f"missing value (a {spec.type} column cannot hold one in a DataFrame; "
            "declare the column double to allow gaps)",
        )


# -- plain Python data


class _Bad(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _NoValue:
    pass


_NO: Any = _NoValue()


def _enforce_plain(data: Any, schema: Schema) -> Any:
    specs = [s for s in schema if isinstance(s, ColSpec)]
    if isinstance(data, list) and all(isinstance(r, Mapping) for r in data):
        out = []
        named = _named_keys(schema)
        problems: list[RowProblem] = []
        for i, record in enumerate(data):
            row = _record_problems(record, i, schema, problems, 1, named)
            if problems:
                raise _problem_error(problems[0], schema)
            out.append(row)
        return out
    if isinstance(data, Mapping):
        if _is_columns(data, specs):
            return _enforce_columns(data, schema)
        problems = []
        row = _record_problems(data, 0, schema, problems, 1, _named_keys(schema))
        if problems:
            raise _problem_error(problems[0], schema, one_row=True)
        return row
    if isinstance(data, (list, tuple)):
        spec = _single_column(specs, schema, "a list of values")
        column = _enforce_column(list(data), spec)
        return column
    spec = _single_column(specs, schema, "a single value")
    return _enforce_column([data], spec)[0]


def _single_column(specs: list[ColSpec], schema: Schema, what: str) -> ColSpec:
    if len(specs) == 1:
        return specs[0]
    raise SignatureError(
        f"the model takes several columns ({schema.describe()}); {what} fills only one"
    )


def _is_columns(data: Mapping[Any, Any], specs: list[ColSpec]) -> bool:
    """A dict of lists is columns when a list stands where a scalar column is declared."""
    by_name = {s.name: s for s in specs}
    for key, value in data.items():
        spec = by_name.get(key)
        if spec is not None and spec.type in DATA_TYPES and _is_sequence(value):
            return True
    return False


def _enforce_columns(data: Mapping[str, Any], schema: Schema) -> dict[str, Any]:
    lengths = {len(_to_list(v)) for v in data.values() if _is_sequence(v)}
    if len(lengths) > 1:
        raise SignatureError(f"the columns have different lengths ({sorted(lengths)})")
    out: dict[str, Any] = {}
    for spec in schema:
        assert isinstance(spec, ColSpec) and spec.name is not None
        if spec.name not in data:
            if spec.required:
                raise _missing_column(spec.name, schema)
            continue
        value = data[spec.name]
        column = _to_list(value) if _is_sequence(value) else [value]
        out[spec.name] = _enforce_column(column, spec)
    return out


def _enforce_column(values: list[Any], spec: ColSpec) -> list[Any]:
    out = []
    for i, value in enumerate(values):
        try:
            out.append(_convert_cell(value, spec))
        except _Bad as e:
            column = spec.name
            raise SignatureError(
                _column_message(column, i, e.reason), column=column, row=i
            ) from None
    return out


def _convert_cell(value: Any, spec: ColSpec) -> Any:
    kind = type(value)  # the common cases first: JSON's own types, already right
    if kind is float and value == value and spec.type == "double":
        return value
    if (kind is str and spec.type == "string") or (kind is bool and spec.type == "boolean"):
        return value
    if _missing(value):
        if spec.type in _NAN_TYPES:
            return math.nan  # a float column's gap is NaN, as in a DataFrame
        if spec.required and spec.type != "any":
            raise _Bad("missing value (the column is required)")
        return None
    if spec.type in DATA_TYPES:
        return _convert_scalar(value, spec.type)
    return _convert_nested(value, spec.type_dict())


def _named_keys(schema: Schema) -> list[tuple[ColSpec, Any]] | None:
    """(spec, record key) for a named schema; None for an unnamed one (keys by position)."""
    if not schema.has_input_names():
        return None
    return [(spec, spec.name) for spec in schema if isinstance(spec, ColSpec)]


def _record_problems(
    record: Mapping[Any, Any],
    i: int,
    schema: Schema,
    problems: list[RowProblem],
    limit: int,
    named: list[tuple[ColSpec, Any]] | None,
) -> dict[Any, Any]:
    """The record converted; its problems appended (up to `limit` in all)."""
    out: dict[Any, Any] = {}
    if named is not None:
        keyed = named
    else:
        keys = list(record)
        if len(keys) < len(schema):
            problems.append(
                RowProblem(
                    i,
                    None,
                    f"the model takes {len(schema)} unnamed columns; the row has {len(keys)}",
                )
            )
            return out
        keyed = [(spec, keys[n]) for n, spec in enumerate(schema) if isinstance(spec, ColSpec)]
    for spec, key in keyed:
        if len(problems) >= limit:
            break
        if key not in record:
            if spec.required:
                problems.append(RowProblem(i, spec.name, f"missing required column {key!r}"))
            continue
        try:
            out[key] = _convert_cell(record[key], spec)
        except _Bad as e:
            problems.append(RowProblem(i, spec.name, e.reason))
    return out


def _problem_error(problem: RowProblem, schema: Schema, *, one_row: bool = False) -> SignatureError:
    row = None if one_row else problem.row
    if problem.reason.startswith("missing required column") and problem.column is not None:
        message = str(_missing_column(problem.column, schema))
        if row is not None:
            message = f"row {row}: {message}"
        return SignatureError(message, column=problem.column, row=row)
    if problem.column is None:
        return SignatureError(f"row {problem.row}: {problem.reason}", row=row)
    return SignatureError(
        _column_message(problem.column, row, problem.reason), column=problem.column, row=row
    )


_F32 = struct.Struct("<f")


def _convert_scalar(value: Any, t: str) -> Any:
    """`value` as type `t` when it converts without change; raises _Bad saying why not."""
    value = _plain_scalar(value)
    if t in _NUMERIC and isinstance(value, (int, float)) and not isinstance(value, bool):
        if t in _INT_RANGE:
            lo, hi = _INT_RANGE[t]
            if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
                raise _Bad(f"expected {t}, got float {value!r} (cannot convert safely)")
            if not lo <= value <= hi:
                raise _Bad(f"expected {t}, got {value!r} (out of range)")
            return int(value)
        try:
            converted = float(value)
            if t == "float":
                converted = _F32.unpack(_F32.pack(converted))[0]
        except OverflowError:
            raise _Bad(f"expected {t}, got {value!r} (out of range)") from None
        if converted != value:
            raise _Bad(
                f"expected {t}, got {type(value).__name__} {value!r} (cannot convert safely)"
            )
        return converted
    if t == "boolean" and isinstance(value, bool):
        return value
    if t == "string" and isinstance(value, str):
        return value
    if t == "binary" and isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if t == "datetime":
        converted = _to_datetime(value)
        if converted is not _NO:
            return converted
    raise _Bad(f"expected {t}, got {_describe_value(value)}")


def _convert_nested(value: Any, d: Mapping[str, Any]) -> Any:
    kind = d["type"]
    if kind == "any":
        return value
    if _missing(value):
        raise _Bad(f"missing value (expected {_describe_type(d)})")
    if kind in DATA_TYPES:
        return _convert_scalar(value, kind)
    if kind == "array":
        if not _is_sequence(value) or isinstance(value, (str, bytes)):
            raise _Bad(f"expected {_describe_type(d)}, got {_describe_value(value)}")
        return [_convert_nested(v, d["items"]) for v in _to_list(value)]
    if not isinstance(value, Mapping):
        raise _Bad(f"expected {_describe_type(d)}, got {_describe_value(value)}")
    if kind == "map":
        if not all(isinstance(k, str) for k in value):
            raise _Bad(f"expected {_describe_type(d)} (text keys), got {_describe_value(value)}")
        return {k: _convert_nested(v, d["values"]) for k, v in value.items()}
    out = {}
    for prop, prop_type in d["properties"].items():
        if prop not in value or _missing(value[prop]):
            if prop_type.get("required", True) and prop_type["type"] != "any":
                raise _Bad(f"missing property {prop!r} (expected {_describe_type(d)})")
            continue
        out[prop] = _convert_nested(value[prop], prop_type)
    if extra := [k for k in value if k not in d["properties"]]:
        raise _Bad(f"unexpected properties {extra!r} (expected {_describe_type(d)})")
    return out


# -- small helpers


def _module_of(value: Any, name: str) -> Any:
    """The module `name` when `value` is one of its objects (so it is imported already)."""
    module = type(value).__module__ or ""
    if module == name or module.startswith(name + "."):
        import importlib

        return importlib.import_module(name)
    return None


def _is_ndarray(value: Any) -> bool:
    return type(value).__name__ == "ndarray" and type(value).__module__ == "numpy"


def _is_sequence(value: Any) -> bool:
    if _is_ndarray(value):
        return bool(value.ndim == 1)
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))


def _to_list(value: Any) -> list[Any]:
    if _is_ndarray(value):
        return list(value.tolist())
    return list(value)


def _plain_scalar(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (datetimes kept as they are)."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        if getattr(value, "dtype", None) is not None and value.dtype.kind in "Mm":
            return value
        return value.item()
    return value


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    name = type(value).__name__
    if name in ("NAType", "NaTType"):
        return True
    if type(value).__module__ == "numpy" and getattr(value, "dtype", None) is not None:
        kind = value.dtype.kind
        if kind == "f":
            return math.isnan(float(value))
        if kind in "Mm":
            return str(value) == "NaT"
    return False


def _to_datetime(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value
    if type(value).__module__ == "numpy" and getattr(value, "dtype", None) is not None:
        if value.dtype.kind == "M":
            return value
        return _NO
    if isinstance(value, str):
        try:
            if len(value) == 10:
                return dt.date.fromisoformat(value)
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return _NO
    return _NO


def _describe_value(value: Any) -> str:
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"
