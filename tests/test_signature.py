"""Model signatures: MLflow 3.17's JSON forms both ways, inference from data, enforcement at
predict time with errors naming the column (and row), and no numpy or pandas on import.

The expected JSON below is literal text that MLflow 3.17.2 wrote for the same signatures
(`Schema.to_json()`, `ParamSchema.to_json()`, `ModelSignature.to_dict()`), so these tests
run without MLflow; one test compares `infer_signature` with MLflow's when it is installed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest

from mltop.models.signature import (
    DATA_TYPES,
    ColSpec,
    ModelSignature,
    ParamSchema,
    ParamSpec,
    RowProblem,
    Schema,
    SignatureError,
    TensorSpec,
    enforce_params,
    enforce_schema,
    infer_signature,
    row_problems,
)
from mltop.store.errors import MltopError

# ---------------------------------------------------------------------------------------
# MLflow's JSON, as MLflow 3.17.2 wrote it

MLFLOW_COLUMNS = (
    '[{"type": "boolean", "name": "b", "required": true}, {"type": "integer", "name": "i", '
    '"required": true}, {"type": "long", "name": "l", "required": true}, {"type": "float", '
    '"name": "f", "required": true}, {"type": "double", "name": "d", "required": true}, '
    '{"type": "string", "name": "s", "required": false}, {"type": "binary", "name": "by", '
    '"required": true}, {"type": "datetime", "name": "t", "required": true}]'
)
MLFLOW_UNNAMED = '[{"type": "double", "required": true}]'
MLFLOW_TENSOR = '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 28, 28]}}]'
MLFLOW_TENSORS = (
    '[{"name": "ids", "type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}, '
    '{"name": "words", "type": "tensor", "tensor-spec": {"dtype": "str", "shape": [-1, 2]}}]'
)
MLFLOW_COMPOUND = (
    '[{"type": "array", "items": {"type": "string"}, "name": "tags", "required": true}, '
    '{"type": "object", "properties": {"k": {"type": "long", "required": true}, "v": {"type": '
    '"array", "items": {"type": "double"}, "required": false}}, "name": "obj", "required": '
    'false}, {"type": "map", "values": {"type": "long"}, "name": "counts", "required": true}, '
    '{"type": "any", "name": "extra", "required": false}]'
)
MLFLOW_PARAMS = (
    '[{"name": "n", "default": 5, "shape": null, "type": "long"}, {"name": "t", "default": 0.5, '
    '"shape": null, "type": "double"}, {"name": "s", "default": "x", "shape": null, "type": '
    '"string"}, {"name": "flag", "default": true, "shape": null, "type": "boolean"}, {"name": '
    '"when", "default": "2024-01-02T03:04:05", "shape": null, "type": "datetime"}, {"name": '
    '"ids", "default": [1, 2], "shape": [-1], "type": "long"}, {"name": "opt", "default": null, '
    '"shape": null, "type": "double"}]'
)
MLFLOW_SIGNATURE = {
    "inputs": '[{"type": "double", "name": "a", "required": true}, {"type": "long", "name": "b", '
    '"required": true}]',
    "outputs": '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]',
    "params": '[{"name": "k", "default": 3, "shape": null, "type": "long"}]',
}

COLUMNS = Schema(
    [
        ColSpec("boolean", "b"),
        ColSpec("integer", "i"),
        ColSpec("long", "l"),
        ColSpec("float", "f"),
        ColSpec("double", "d"),
        ColSpec("string", "s", required=False),
        ColSpec("binary", "by"),
        ColSpec("datetime", "t"),
    ]
)
TENSOR = Schema([TensorSpec("float32", (-1, 28, 28))])
TENSORS = Schema([TensorSpec("int64", (-1,), "ids"), TensorSpec("str", (-1, 2), "words")])
PARAMS = ParamSchema(
    [
        ParamSpec("n", "long", 5),
        ParamSpec("t", "double", 0.5),
        ParamSpec("s", "string", "x"),
        ParamSpec("flag", "boolean", True),
        ParamSpec("when", "datetime", dt.datetime(2024, 1, 2, 3, 4, 5)),
        ParamSpec("ids", "long", [1, 2], (-1,)),
        ParamSpec("opt", "double", None),
    ]
)


@pytest.mark.parametrize(
    ("schema", "text"),
    [
        (COLUMNS, MLFLOW_COLUMNS),
        (Schema([ColSpec("double")]), MLFLOW_UNNAMED),
        (TENSOR, MLFLOW_TENSOR),
        (TENSORS, MLFLOW_TENSORS),
    ],
)
def test_schema_json_is_mlflows(schema: Schema, text: str) -> None:
    assert schema.to_json() == text
    assert Schema.from_json(text) == schema
    assert Schema.from_json(schema.to_json()).to_json() == text


def test_compound_columns_from_mlflow_are_read_and_written_back_unchanged() -> None:
    schema = Schema.from_json(MLFLOW_COMPOUND)
    assert [(c.name, c.type, c.required) for c in schema] == [
        ("tags", "array", True),
        ("obj", "object", False),
        ("counts", "map", True),
        ("extra", "any", False),
    ]
    assert schema.to_json() == MLFLOW_COMPOUND
    assert repr(schema) == (
        "['tags': array<string>, 'obj': {k: long, v?: array<double>} (optional), "
        "'counts': map<long>, 'extra': any (optional)]"
    )


def test_object_types_are_written_as_mlflow_writes_them_back() -> None:
    # MLflow sorts an object's properties and gives each its `required`.
    text = (
        '[{"type": "object", "properties": {"b": {"type": "long"}, "a": {"type": "long", '
        '"required": true}}, "name": "x", "required": true}]'
    )
    assert Schema.from_json(text).to_json() == (
        '[{"type": "object", "properties": {"a": {"type": "long", "required": true}, '
        '"b": {"type": "long", "required": true}}, "name": "x", "required": true}]'
    )


def test_param_schema_json_is_mlflows() -> None:
    assert PARAMS.to_json() == MLFLOW_PARAMS
    back = ParamSchema.from_json(MLFLOW_PARAMS)
    assert back == PARAMS
    assert back.params[4].default == dt.datetime(2024, 1, 2, 3, 4, 5)
    assert back.params[5].default == (1, 2)


def test_signature_to_dict_is_what_mlflow_puts_in_an_mlmodel() -> None:
    sig = ModelSignature(
        inputs=Schema([ColSpec("double", "a"), ColSpec("long", "b")]),
        outputs=Schema([TensorSpec("int64", (-1,))]),
        params=ParamSchema([ParamSpec("k", "long", 3)]),
    )
    assert sig.to_dict() == MLFLOW_SIGNATURE
    assert ModelSignature.from_dict(MLFLOW_SIGNATURE) == sig
    assert ModelSignature.from_dict(sig.to_dict()).to_dict() == MLFLOW_SIGNATURE
    assert repr(sig) == (
        "inputs: ['a': double, 'b': long]; outputs: [Tensor int64 (-1)]; params: ['k': long = 3]"
    )


def test_signature_parts_may_be_absent() -> None:
    sig = ModelSignature(inputs=Schema([ColSpec("string", "text")]))
    assert sig.to_dict() == {
        "inputs": '[{"type": "string", "name": "text", "required": true}]',
        "outputs": None,
        "params": None,
    }
    assert ModelSignature.from_dict({"inputs": sig.to_dict()["inputs"]}) == sig
    assert repr(sig) == "inputs: ['text': string]"
    with pytest.raises(SignatureError, match="needs inputs, outputs or parameters"):
        ModelSignature.from_dict({"inputs": None, "outputs": "", "params": None})


def test_mlflow_integer_column_labels_are_read_as_text() -> None:
    schema = Schema.from_json('[{"type": "long", "name": 0, "required": true}]')
    assert schema.inputs == [ColSpec("long", "0")]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "not valid JSON"),
        ("{", "not valid JSON"),
        ("{}", "is a list"),
        ("[]", "at least one"),
        ("[1]", "not a JSON object"),
        ('[{"name": "a"}]', "has no type"),
        ('[{"type": "decimal", "name": "a"}]', "unknown column type 'decimal'"),
        ('[{"type": "long", "name": "a", "required": "yes"}]', "'required' is true or false"),
        ('[{"type": "long", "name": ["a"]}]', "name must be text"),
        ('[{"type": "long", "name": "a"}, {"type": "long"}]', "names all its inputs or none"),
        ('[{"type": "long", "name": "a"}, {"type": "long", "name": "a"}]', "'a' twice"),
        ('[{"type": "long", "required": false}]', "unnamed column cannot be optional"),
        ('[{"type": "tensor"}]', "tensor-spec"),
        ('[{"type": "tensor", "tensor-spec": {"dtype": "float99", "shape": [-1]}}]', "dtype"),
        ('[{"type": "tensor", "tensor-spec": {"dtype": "int8", "shape": [-2]}}]', "shape"),
        ('[{"type": "tensor", "tensor-spec": {"dtype": "int8", "shape": 3}}]', "shape"),
        ('[{"type": "array", "name": "a"}]', "type is a JSON object"),
        ('[{"type": "array", "items": {"type": "nope"}, "name": "a"}]', "unknown type 'nope'"),
        ('[{"type": "object", "properties": [], "name": "a"}]', "needs its properties"),
        ("[" * 5000 + "]" * 5000, "not valid JSON"),
        (
            '[{"type": "any", "name": "x"}, {"type": "tensor", "name": "y", '
            '"tensor-spec": {"dtype": "int8", "shape": [-1]}}]',
            "all columns or all tensors",
        ),
    ],
)
def test_malformed_schema_json_is_a_signature_error_saying_what(text: str, says: str) -> None:
    with pytest.raises(SignatureError, match=says) as raised:
        Schema.from_json(text)
    assert isinstance(raised.value, MltopError) and isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    "mapping",
    [
        None,
        "inputs",
        {"inputs": 3},
        {"inputs": "[{]"},
        {"params": '[{"name": "a", "type": "binary", "default": null}]'},
        {"params": '[{"name": "a", "type": "long", "default": "x"}]'},
        {"params": '[{"name": "a", "type": "long"}]'},
        {"params": '[{"name": "a", "type": "long", "default": [1], "shape": [3]}]'},
        {"params": '[{"name": "a", "type": "object", "default": {}, "properties": {}}]'},
    ],
)
def test_malformed_signature_mapping_is_a_signature_error(mapping: object) -> None:
    with pytest.raises(SignatureError):
        ModelSignature.from_dict(mapping)


def test_specs_refuse_what_no_signature_holds() -> None:
    with pytest.raises(SignatureError, match="unknown column type 'int'"):
        ColSpec("int", "a")
    with pytest.raises(SignatureError, match="unknown tensor dtype"):
        TensorSpec("float", (-1,))
    with pytest.raises(SignatureError, match="expected long, got str"):
        ParamSpec("n", "long", "5")
    with pytest.raises(SignatureError, match="several tensors need a name"):
        Schema([TensorSpec("int8", (-1,)), TensorSpec("int8", (-1,))])
    assert DATA_TYPES == (
        "boolean",
        "integer",
        "long",
        "float",
        "double",
        "string",
        "binary",
        "datetime",
    )


def test_schema_reports_its_names_and_kind() -> None:
    assert COLUMNS.input_names()[:3] == ["b", "i", "l"]
    assert COLUMNS.has_input_names() and not COLUMNS.is_tensor_spec()
    assert TENSOR.is_tensor_spec() and not TENSOR.has_input_names()
    assert TENSOR.input_names() == [0]
    assert len(COLUMNS) == 8 and next(iter(COLUMNS)) == ColSpec("boolean", "b")
    assert COLUMNS.describe().startswith("b: boolean, i: integer")
    assert "s: string (optional)" in COLUMNS.describe()


# ---------------------------------------------------------------------------------------
# Inference


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "a": [1.0, 2.0],
            "b": [1, 2],
            "c": ["x", "y"],
            "d": [True, False],
            "e": np.array([1, 2], dtype=np.int32),
            "f": np.array([1, 2], dtype=np.float32),
            "g": [b"x", b"y"],
            "h": pd.to_datetime(["2024-01-01", "2024-01-02"]),
        }
    )


INFERENCE_CASES = [
    (_frame(), np.array([0, 1]), None),
    (pd.DataFrame({"a": [1.0, None], "s": ["x", None]}), pd.Series([0.5, 0.2], name="p"), None),
    (np.zeros((3, 4), dtype=np.float32), np.zeros((3,), dtype=np.int64), None),
    ({"x": np.zeros((2, 3)), "y": np.array(["a", "b"])}, None, None),
    ([{"a": 1, "b": "x"}, {"a": 2, "b": None}], ["p", "q"], None),
    ("hello", "world", None),
    (1.5, 2, None),
    ({"a": 1, "b": 2.0, "c": "s"}, {"out": True}, None),
    ([1.0, 2.0], None, None),
    ({"a": [1, 2], "b": ["x", "y"]}, [[1, 2], [3, 4]], None),
    ({"a": None, "b": 1, "o": {"k": 1, "z": [1.5]}}, [], None),
    ([{"o": {"a": 1}}, {"o": {"b": "x"}}], pd.Series(["a", "b"], name="s"), None),
    (
        pd.DataFrame(
            {"a": pd.array([1, None], dtype="Int64"), "b": pd.array(["x", None], dtype="string")}
        ),
        np.array(["a", "bb"]),
        None,
    ),
    (
        pd.DataFrame({"a": [1]}),
        None,
        {
            "n": 5,
            "t": 0.5,
            "s": "x",
            "b": True,
            "l": [1, 2],
            "d": dt.datetime(2024, 1, 2, 3, 4),
            "dl": [dt.date(2024, 1, 1)],
            "f": np.float32(1.5),
            "m": [1, 2.5],
            "e": [],
        },
    ),
    (
        pd.DataFrame(
            {
                "u": np.array([1], dtype=np.uint32),
                "v": np.array([1], dtype=np.uint8),
                "w": np.array([1], dtype=np.int16),
            }
        ),
        np.array([b"a"]),
        None,
    ),
]


def test_infer_signature_without_mlflow_gives_mlflows_json() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warnings of our own
        sig = infer_signature(_frame(), np.array([0, 1]), {"k": 3})
    assert sig.to_dict()["outputs"] == MLFLOW_SIGNATURE["outputs"]
    assert sig.to_dict()["params"] == MLFLOW_SIGNATURE["params"]
    assert json.loads(sig.to_dict()["inputs"] or "") == [
        {"type": t, "name": n, "required": True}
        for n, t in zip(
            "abcdefgh",
            ["double", "long", "string", "boolean", "integer", "float", "binary", "datetime"],
            strict=True,
        )
    ]
    records = infer_signature([{"a": 1, "b": "x"}, {"a": 2, "b": None}], ["p", "q"])
    assert records.to_dict() == {
        "inputs": '[{"type": "long", "name": "a", "required": true}, '
        '{"type": "string", "name": "b", "required": false}]',
        "outputs": '[{"type": "string", "required": true}]',
        "params": None,
    }
    tensors = infer_signature({"x": np.zeros((2, 3)), "y": np.array(["a", "b"])})
    assert tensors.to_dict()["inputs"] == (
        '[{"name": "x", "type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}, '
        '{"name": "y", "type": "tensor", "tensor-spec": {"dtype": "str", "shape": [-1]}}]'
    )


@pytest.mark.parametrize(("model_input", "model_output", "params"), INFERENCE_CASES)
def test_infer_signature_matches_mlflow(model_input: object, model_output: object, params) -> None:
    mlflow_models = pytest.importorskip("mlflow.models")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's hint about integer columns
        expected = mlflow_models.infer_signature(model_input, model_output, params).to_dict()
    ours = infer_signature(model_input, model_output, params)
    assert ours.to_dict() == expected
    assert ModelSignature.from_dict(expected) == ours


def test_infer_refuses_what_has_no_type() -> None:
    with pytest.raises(SignatureError, match="cannot infer a type for object"):
        infer_signature(object())
    with pytest.raises(SignatureError, match="different types"):
        infer_signature({"a": [1, "x"]})


# ---------------------------------------------------------------------------------------
# Enforcement: DataFrames

ABC = Schema([ColSpec("double", "a"), ColSpec("long", "b"), ColSpec("string", "c", required=False)])


def test_frame_gets_the_schemas_columns_in_order_extras_dropped_types_widened() -> None:
    frame = pd.DataFrame(
        {"x": [0, 0], "b": np.array([1, 2], dtype=np.int32), "a": np.float32([0.5, 2])},
        index=[10, 11],
    )
    out = enforce_schema(frame, ABC)
    assert list(out.columns) == ["a", "b"]
    assert out["a"].dtype == np.float64 and out["b"].dtype == np.int64
    assert list(out.index) == [10, 11]
    assert out["a"].tolist() == [0.5, 2.0]


def test_missing_required_column_is_named_with_the_signature() -> None:
    with pytest.raises(SignatureError) as raised:
        enforce_schema(pd.DataFrame({"a": [1.0]}), ABC)
    assert str(raised.value) == (
        "missing required column 'b' (the model's signature: a: double, b: long, "
        "c: string (optional))"
    )
    assert raised.value.column == "b" and raised.value.row is None


def test_optional_column_may_be_absent_or_hold_gaps() -> None:
    out = enforce_schema(pd.DataFrame({"a": [1.0, 2.0], "b": [1, 2], "c": ["x", None]}), ABC)
    assert out["c"].iloc[0] == "x" and pd.isna(out["c"].iloc[1])
    assert "c" not in enforce_schema(pd.DataFrame({"a": [1.0], "b": [1]}), ABC).columns


def test_unsafe_conversion_names_the_column_types_and_row() -> None:
    with pytest.raises(SignatureError) as raised:
        enforce_schema(pd.DataFrame({"a": [1.0, 2.0], "b": [1.0, 2.5]}), ABC)
    assert str(raised.value) == (
        "column 'b', row 1: expected long, got float64 2.5 (cannot convert safely)"
    )
    assert (raised.value.column, raised.value.row) == ("b", 1)


def test_a_wrong_dtype_for_the_whole_column_names_the_column_and_types() -> None:
    with pytest.raises(SignatureError) as raised:
        enforce_schema(pd.DataFrame({"a": [1.0], "b": [1], "c": [3]}), ABC)
    assert str(raised.value) == "column 'c': expected string, got int64 (cannot convert safely)"
    bools = pd.DataFrame({"a": [True], "b": [1]})
    with pytest.raises(SignatureError, match="column 'a': expected double, got bool"):
        enforce_schema(bools, ABC)


def test_whole_numbers_convert_exactly_and_others_do_not() -> None:
    # int64 -> double when exact (MLflow refuses unless all 0/1); whole floats -> long.
    out = enforce_schema(pd.DataFrame({"a": [3, 4], "b": [5.0, 6.0]}), ABC)
    assert out["a"].tolist() == [3.0, 4.0] and out["b"].dtype == np.int64
    with pytest.raises(SignatureError, match=r"column 'a', row 0: expected double, got int64"):
        enforce_schema(pd.DataFrame({"a": [2**53 + 1], "b": [1]}), ABC)
    small = Schema([ColSpec("float", "f"), ColSpec("integer", "i")])
    with pytest.raises(SignatureError, match="expected float, got float64 0.1"):
        enforce_schema(pd.DataFrame({"f": [0.1], "i": [1]}), small)
    with pytest.raises(SignatureError, match=r"expected integer, got int64 4294967296"):
        enforce_schema(pd.DataFrame({"f": [0.5], "i": [2**32]}), small)
    out = enforce_schema(pd.DataFrame({"f": [0.5], "i": [7]}), small)
    assert out["f"].dtype == np.float32 and out["i"].dtype == np.int32


def test_missing_value_in_a_required_column_names_column_and_row() -> None:
    with pytest.raises(SignatureError) as raised:
        enforce_schema(pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1, 2, None]}), ABC)
    assert str(raised.value).startswith("column 'b', row 2: missing value")
    assert (raised.value.column, raised.value.row) == ("b", 2)
    required_text = Schema([ColSpec("string", "s")])
    with pytest.raises(SignatureError, match="column 's', row 0: missing value"):
        enforce_schema([{"s": None}], required_text)


def test_a_double_columns_gap_is_nan_as_in_mlflow() -> None:
    """A model with an imputer takes NaN in a required double column (MLflow passes it)."""
    out = enforce_schema(pd.DataFrame({"a": [1.0, None, 3.0], "b": [1, 2, 3]}), ABC)
    assert math.isnan(out["a"][1])
    records = enforce_schema([{"a": None, "b": 1}, {"a": float("nan"), "b": 2}], ABC)
    assert all(math.isnan(row["a"]) for row in records)
    assert row_problems(pd.DataFrame({"a": [None], "b": [1]}), ABC) == []


def test_optional_integer_column_with_gaps_says_to_declare_double() -> None:
    schema = Schema([ColSpec("long", "n", required=False)])
    with pytest.raises(SignatureError, match="declare the column double"):
        enforce_schema(pd.DataFrame({"n": [1.0, None]}), schema)


def test_object_columns_are_checked_value_by_value() -> None:
    with pytest.raises(SignatureError, match="column 'c', row 1: expected string, got int 3"):
        enforce_schema(pd.DataFrame({"a": [1.0, 2.0], "b": [1, 2], "c": ["x", 3]}), ABC)
    with pytest.raises(SignatureError, match=r"column 'a', row 0: expected double, got str '1'"):
        enforce_schema(pd.DataFrame({"a": ["1", 2.0], "b": [1, 2]}), ABC)
    out = enforce_schema(pd.DataFrame({"a": pd.Series([1, 2.5], dtype=object), "b": [1, 2]}), ABC)
    assert out["a"].dtype == np.float64 and out["a"].tolist() == [1.0, 2.5]


def test_datetime_boolean_and_binary_columns() -> None:
    schema = Schema([ColSpec("datetime", "d"), ColSpec("boolean", "f"), ColSpec("binary", "y")])
    frame = pd.DataFrame(
        {"d": ["2024-01-01", "2024-01-02T03:00"], "f": [True, False], "y": [b"a", b"b"]}
    )
    out = enforce_schema(frame, schema)
    assert out["d"].dtype == np.dtype("datetime64[ns]")
    assert out["d"].tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02 03:00")]
    with pytest.raises(SignatureError, match="column 'd', row 1: expected datetime, got str"):
        enforce_schema(frame.assign(d=["2024-01-01", "soon"]), schema)
    with pytest.raises(SignatureError, match="column 'f': expected boolean, got int64"):
        enforce_schema(frame.assign(f=[1, 0]), schema)
    with pytest.raises(SignatureError, match="column 'y', row 0: expected binary, got str"):
        enforce_schema(frame.assign(y=["a", "b"]), schema)


def test_unnamed_columns_are_taken_by_position() -> None:
    schema = Schema([ColSpec("double"), ColSpec("long")])
    out = enforce_schema(pd.DataFrame({"p": [1.5], "q": [2], "r": ["extra"]}), schema)
    assert list(out.columns) == ["p", "q"]
    with pytest.raises(SignatureError, match="takes 2 unnamed columns"):
        enforce_schema(pd.DataFrame({"p": [1.5]}), schema)


def test_series_and_ndarray_feed_a_column_schema() -> None:
    one = Schema([ColSpec("double", "x")])
    assert enforce_schema(pd.Series([1, 2], name="x"), one)["x"].tolist() == [1.0, 2.0]
    assert enforce_schema(np.array([[1], [2]]), one)["x"].tolist() == [1.0, 2.0]


def test_a_frame_with_integer_labels_fits_the_signature_inferred_from_it() -> None:
    frame = pd.DataFrame(np.arange(6.0).reshape(3, 2))  # columns 0 and 1
    sig = infer_signature(frame)
    assert sig.inputs is not None and sig.inputs.input_names() == ["0", "1"]
    out = enforce_schema(frame, sig.inputs)
    assert list(out.columns) == [0, 1] and out[1].tolist() == [1.0, 3.0, 5.0]
    assert row_problems(frame, sig.inputs) == []


def test_a_frame_naming_a_column_twice_is_refused() -> None:
    frame = pd.DataFrame([[1.0, 2, 3]], columns=["a", "b", "b"])
    with pytest.raises(SignatureError, match="names columns twice: b"):
        enforce_schema(frame, ABC)


def test_a_time_zone_fails_the_whole_datetime_column() -> None:
    frame = pd.DataFrame({"d": pd.to_datetime(["2024-01-01", "2024-01-02"]).tz_localize("UTC")})
    with pytest.raises(SignatureError, match="column 'd': expected a datetime without time zone"):
        enforce_schema(frame, Schema([ColSpec("datetime", "d")]))
    assert [p.row for p in row_problems(frame, Schema([ColSpec("datetime", "d")]))] == [0, 1]


# ---------------------------------------------------------------------------------------
# Enforcement: plain Python data (no pandas)


def test_records_come_back_as_records_converted() -> None:
    records = [{"a": 1, "b": 2, "z": "extra"}, {"a": 2.5, "b": 3, "c": None}]
    assert enforce_schema(records, ABC) == [{"a": 1.0, "b": 2}, {"a": 2.5, "b": 3, "c": None}]
    assert isinstance(enforce_schema(records, ABC)[0]["a"], float)


def test_records_errors_name_column_and_row() -> None:
    with pytest.raises(SignatureError) as raised:
        enforce_schema([{"a": 1, "b": 2}, {"a": 2.5}], ABC)
    assert str(raised.value) == (
        "row 1: missing required column 'b' (the model's signature: a: double, b: long, "
        "c: string (optional))"
    )
    assert (raised.value.column, raised.value.row) == ("b", 1)
    with pytest.raises(SignatureError) as raised:
        enforce_schema([{"a": 1, "b": 2}, {"a": 1, "b": 2.5}], ABC)
    assert str(raised.value) == (
        "column 'b', row 1: expected long, got float 2.5 (cannot convert safely)"
    )
    with pytest.raises(SignatureError, match="column 'b', row 0: missing value"):
        enforce_schema([{"a": 1.0, "b": None}], ABC)
    with pytest.raises(SignatureError, match="column 'b', row 0: expected long, got bool True"):
        enforce_schema([{"a": 1.0, "b": True}], ABC)
    with pytest.raises(SignatureError, match=r"expected double, got int 9007199254740993"):
        enforce_schema([{"a": 2**53 + 1, "b": 1}], ABC)


def test_dict_of_columns_and_dict_of_one_row_keep_their_shape() -> None:
    assert enforce_schema({"a": [1, 2], "b": [3, 4], "x": [0, 0]}, ABC) == {
        "a": [1.0, 2.0],
        "b": [3, 4],
    }
    assert enforce_schema({"a": 1, "b": 2, "c": "s"}, ABC) == {"a": 1.0, "b": 2, "c": "s"}
    with pytest.raises(SignatureError, match="column 'b', row 1: expected long, got str 'x'"):
        enforce_schema({"a": [1, 2], "b": [3, "x"]}, ABC)
    with pytest.raises(SignatureError, match="column 'b': expected long, got float 0.5"):
        enforce_schema({"a": 1, "b": 0.5}, ABC)
    with pytest.raises(SignatureError, match="different lengths"):
        enforce_schema({"a": [1, 2], "b": [3]}, ABC)


def test_values_and_scalars_fill_a_single_column() -> None:
    one = Schema([ColSpec("double")])
    assert enforce_schema([1, 2.5], one) == [1.0, 2.5]
    assert enforce_schema(3, one) == 3.0
    with pytest.raises(SignatureError, match="input, row 0: expected double, got str 'x'"):
        enforce_schema("x", one)
    with pytest.raises(SignatureError, match="fills only one"):
        enforce_schema([1.0], ABC)


def test_compound_columns_are_checked_in_plain_data() -> None:
    schema = Schema.from_json(MLFLOW_COMPOUND)
    row = {"tags": ["a"], "obj": {"k": 1, "v": [1, 2]}, "counts": {"x": 1}}
    assert enforce_schema(row, schema) == {
        "tags": ["a"],
        "obj": {"k": 1, "v": [1.0, 2.0]},
        "counts": {"x": 1},
    }
    with pytest.raises(SignatureError, match="column 'tags': expected string, got int 1"):
        enforce_schema({**row, "tags": [1]}, schema)
    with pytest.raises(SignatureError, match="missing property 'k'"):
        enforce_schema({**row, "obj": {"v": [1.0]}}, schema)
    with pytest.raises(SignatureError, match="unexpected properties"):
        enforce_schema({**row, "obj": {"k": 1, "w": 2}}, schema)
    with pytest.raises(SignatureError, match=r"map<long> \(text keys\)"):
        enforce_schema({**row, "counts": {1: 1}}, schema)


def test_plain_data_is_enforced_without_pandas_or_numpy() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["pandas"] = None  # any import of them fails
        sys.modules["numpy"] = None
        from mltop.models.signature import (
            ColSpec, ParamSchema, ParamSpec, Schema, SignatureError, enforce_params,
            enforce_schema, infer_signature, row_problems,
        )
        schema = Schema([ColSpec("double", "a"), ColSpec("long", "b")])
        assert enforce_schema([{"a": 1, "b": 2}], schema) == [{"a": 1.0, "b": 2}]
        assert enforce_schema({"a": [1], "b": [2]}, schema) == {"a": [1.0], "b": [2]}
        assert row_problems([{"a": 1}, {"a": "x", "b": 1}], schema)[1].column == "a"
        try:
            enforce_schema([{"a": 1, "b": 0.5}], schema)
        except SignatureError as e:
            assert e.column == "b" and e.row == 0, e
        else:
            raise AssertionError("not refused")
        sig = infer_signature([{"a": 1.5, "b": 2}], "y", {"n": 5})
        assert sig.inputs == schema, sig
        assert enforce_params({"n": 7}, sig.params) == {"n": 7}
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


# ---------------------------------------------------------------------------------------
# Enforcement: tensors


def test_tensor_dtype_and_shape_are_checked() -> None:
    schema = Schema([TensorSpec("float32", (-1, 2))])
    batch = np.zeros((3, 2), dtype=np.float32)
    assert enforce_schema(batch, schema) is batch
    with pytest.raises(SignatureError, match=r"expected shape \(-1, 2\), got \(3, 3\)"):
        enforce_schema(np.zeros((3, 3), dtype=np.float32), schema)
    with pytest.raises(SignatureError, match="expected dtype float32, got float64"):
        enforce_schema(np.zeros((3, 2)), schema)
    with pytest.raises(SignatureError, match="expected a numpy array"):
        enforce_schema([[0.0, 0.0]], schema)


def test_dataframe_feeds_a_tensor_when_its_values_convert_exactly() -> None:
    schema = Schema([TensorSpec("float32", (-1, 2))])
    out = enforce_schema(pd.DataFrame({"x": [1, 2], "y": [3, 4]}), schema)
    assert out.dtype == np.float32 and out.tolist() == [[1.0, 3.0], [2.0, 4.0]]
    with pytest.raises(SignatureError, match="expected float32, got float64 0.1"):
        enforce_schema(pd.DataFrame({"x": [1.5, 2], "y": [0.1, 4]}), schema)
    with pytest.raises(SignatureError, match=r"fits only a tensor of shape \(-1, 3\)"):
        enforce_schema(pd.DataFrame({"x": [1], "y": [2], "z": [3]}), schema)


def test_a_text_column_feeds_a_string_tensor() -> None:
    frame = pd.DataFrame({"text": ["a", "bb"]})
    out = enforce_schema(frame, Schema([TensorSpec("str", (-1,), "text")]))
    assert out["text"].tolist() == ["a", "bb"] and out["text"].dtype.kind == "U"
    with pytest.raises(SignatureError, match="expected dtype str, got object"):
        enforce_schema(pd.DataFrame({"t": ["a", 1]}), Schema([TensorSpec("str", (-1,))]))


def test_named_tensors_are_checked_by_name() -> None:
    arrays = {"ids": np.array([1, 2]), "words": np.array([["a", "b"]] * 2), "extra": 1}
    out = enforce_schema(arrays, TENSORS)
    assert set(out) == {"ids", "words"}
    with pytest.raises(SignatureError, match="missing required column 'words'") as raised:
        enforce_schema({"ids": np.array([1])}, TENSORS)
    assert raised.value.column == "words"
    with pytest.raises(SignatureError, match="input 'ids': expected dtype int64, got int32"):
        enforce_schema({**arrays, "ids": np.array([1], dtype=np.int32)}, TENSORS)


# ---------------------------------------------------------------------------------------
# Row problems (batch prediction)


def test_row_problems_of_a_frame_list_each_failing_row_in_order() -> None:
    frame = pd.DataFrame(
        {"a": [1.0, None, 3.0, 4.0, 5.0], "b": [1, 2, 2.5, None, 5], "c": ["x", None, 1, "y", "z"]}
    )
    assert row_problems(frame, ABC) == [  # (a's gap is NaN: a double, as in MLflow)
        RowProblem(2, "b", "expected long, got float64 2.5 (cannot convert safely)"),
        RowProblem(2, "c", "expected string, got int 1"),
        RowProblem(3, "b", "missing value (the column is required)"),
    ]
    good = frame.drop(index=[1, 2, 3])
    assert row_problems(good, ABC) == []
    assert enforce_schema(good, ABC)["b"].tolist() == [1, 5]


def test_row_problems_of_records_and_the_limit() -> None:
    records = [{"a": 1}, {"a": "x", "b": 1}, {"a": 1.0, "b": 1}] + [{"b": 1}] * 500
    problems = row_problems(records, ABC)
    assert problems[:2] == [
        RowProblem(0, "b", "missing required column 'b'"),
        RowProblem(1, "a", "expected double, got str 'x'"),
    ]
    assert len(problems) == 100 and problems[-1].row == 100
    assert len(row_problems(records, ABC, limit=5)) == 5


def test_row_problems_limit_keeps_the_first_rows_whichever_check_finds_them() -> None:
    # Late gaps and early bad values in one column: the limit keeps the earliest rows.
    frame = pd.DataFrame({"a": [0.5] * 6, "b": [0.5, 1.5, 2.5, None, None, None]})
    assert [p.row for p in row_problems(frame, ABC, limit=2)] == [0, 1]
    assert [p.row for p in row_problems(frame, ABC, limit=10)] == [0, 1, 2, 3, 4, 5]


def test_row_problems_names_lines_that_are_not_records() -> None:
    rows = [{"a": 1.0, "b": 1}, [1.0, 1], {"a": 1.0, "b": 2}]
    assert row_problems(rows, ABC) == [
        RowProblem(1, None, "expected a record (column: value), got list")
    ]


def test_row_problems_when_a_column_is_missing_marks_every_row() -> None:
    problems = row_problems(pd.DataFrame({"a": [1.0, 2.0]}), ABC)
    assert problems == [
        RowProblem(0, "b", "missing required column 'b'"),
        RowProblem(1, "b", "missing required column 'b'"),
    ]


def test_row_problems_on_a_large_frame_stays_vectorised() -> None:
    n = 200_000
    frame = pd.DataFrame({"a": np.arange(n, dtype=np.int64), "b": np.arange(n, dtype=np.float64)})
    frame.loc[n - 1, "b"] = 0.5
    assert row_problems(frame, ABC) == [
        RowProblem(n - 1, "b", "expected long, got float64 0.5 (cannot convert safely)")
    ]


# ---------------------------------------------------------------------------------------
# Parameters


def test_params_are_converted_defaulted_and_unknown_ones_dropped() -> None:
    schema = ParamSchema(
        [
            ParamSpec("n", "long", 5),
            ParamSpec("t", "double", 0.5),
            ParamSpec("l", "long", [1], (-1,)),
        ]
    )
    assert enforce_params({"t": 1, "zz": 2}, schema) == {"n": 5, "t": 1.0, "l": [1]}
    assert enforce_params(None, schema) == {"n": 5, "t": 0.5, "l": [1]}
    with pytest.raises(SignatureError, match="parameter 'n': expected long, got float 1.5"):
        enforce_params({"n": 1.5}, schema)
    with pytest.raises(SignatureError, match="parameter 'l': expected long, got str 'x'"):
        enforce_params({"l": [1, "x"]}, schema)
    with pytest.raises(SignatureError, match="expected a list of long"):
        enforce_params({"l": 3}, schema)
    assert enforce_params(None, None) is None
    assert enforce_params({"a": 1}, None) == {}


# ---------------------------------------------------------------------------------------
# Import cost


def test_importing_the_module_imports_neither_numpy_nor_pandas() -> None:
    code = (
        "import sys, mltop.models.signature\n"
        "print(sorted(m for m in ('numpy', 'pandas') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
