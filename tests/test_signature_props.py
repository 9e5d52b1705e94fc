"""Properties of signatures: whatever a file holds, reading it raises only SignatureError;
schemas survive MLflow's JSON both ways; row_problems and enforce_schema agree."""

from __future__ import annotations

import contextlib
import json
import math
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from mltop.models.signature import (
    DATA_TYPES,
    ColSpec,
    ModelSignature,
    ParamSchema,
    ParamSpec,
    Schema,
    SignatureError,
    TensorSpec,
    enforce_schema,
    row_problems,
)

WORDS = st.sampled_from(
    [
        "type",
        "name",
        "required",
        "tensor",
        "tensor-spec",
        "dtype",
        "shape",
        "items",
        "properties",
        "values",
        "array",
        "object",
        "map",
        "any",
        "default",
        *DATA_TYPES,
        "float32",
        "int64",
        "str",
    ]
)
SCALARS = st.none() | st.booleans() | st.integers(-3, 3) | st.floats() | WORDS | st.text()
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(WORDS | st.text(), inner, max_size=4)
    ),
    max_leaves=25,
)


def _read_all(text: str) -> None:
    for read in (Schema.from_json, ParamSchema.from_json):
        with contextlib.suppress(SignatureError):
            read(text)
    for key in ("inputs", "outputs", "params"):
        with contextlib.suppress(SignatureError):
            ModelSignature.from_dict({key: text})


@given(st.text())
def test_any_text_reads_or_raises_signature_error(text: str) -> None:
    _read_all(text)


@settings(max_examples=300)
@given(JSON)
def test_any_json_reads_or_raises_signature_error(value: Any) -> None:
    _read_all(json.dumps(value))
    _read_all(json.dumps([value]))


@given(st.dictionaries(WORDS, JSON, max_size=5))
def test_any_signature_mapping_reads_or_raises_signature_error(mapping: dict[str, Any]) -> None:
    with contextlib.suppress(SignatureError):
        ModelSignature.from_dict(mapping)


NAMES = st.text(min_size=1, max_size=8)
SCALAR_TYPE = st.sampled_from(DATA_TYPES)
NESTED = st.recursive(
    SCALAR_TYPE.map(lambda t: {"type": t}) | st.just({"type": "any"}),
    lambda inner: (
        inner.map(lambda t: {"type": "array", "items": t})
        | inner.map(lambda t: {"type": "map", "values": t})
        | st.dictionaries(NAMES, st.tuples(inner, st.booleans()), min_size=1, max_size=3).map(
            lambda props: {
                "type": "object",
                "properties": {k: {**t, "required": r} for k, (t, r) in props.items()},
            }
        )
    ),
    max_leaves=6,
)


@st.composite
def colspec_schemas(draw: Any) -> Schema:
    named = draw(st.booleans())
    count = draw(st.integers(1, 6)) if named else 1
    names = draw(st.lists(NAMES, min_size=count, max_size=count, unique=True))
    specs = []
    for i in range(count):
        kind = draw(NESTED)
        rest = {k: v for k, v in kind.items() if k != "type"}
        specs.append(
            ColSpec(
                kind["type"],
                names[i] if named else None,
                draw(st.booleans()) if named else True,
                json.dumps(rest) if rest else None,
            )
        )
    return Schema(specs)


@st.composite
def tensor_schemas(draw: Any) -> Schema:
    dtypes = st.sampled_from(["float32", "float64", "int64", "uint8", "bool", "str", "bytes"])
    shapes = st.lists(st.integers(-1, 50), min_size=1, max_size=4).map(tuple)
    if draw(st.booleans()):
        return Schema([TensorSpec(draw(dtypes), draw(shapes))])
    names = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    return Schema([TensorSpec(draw(dtypes), draw(shapes), n) for n in names])


@given(colspec_schemas() | tensor_schemas())
def test_schemas_round_trip_through_json(schema: Schema) -> None:
    text = schema.to_json()
    back = Schema.from_json(text)
    assert back == schema
    assert back.to_json() == text
    sig = ModelSignature(inputs=schema, outputs=schema)
    assert ModelSignature.from_dict(json.loads(json.dumps(sig.to_dict()))) == sig


PARAM_VALUES = {
    "long": st.integers(-(2**63), 2**63 - 1),
    "double": st.floats(allow_nan=False),
    "string": st.text(),
    "boolean": st.booleans(),
}


@given(st.data())
def test_param_schemas_round_trip_through_json(data: Any) -> None:
    names = data.draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    specs = []
    for name in names:
        kind = data.draw(st.sampled_from(sorted(PARAM_VALUES)))
        if data.draw(st.booleans()):
            specs.append(ParamSpec(name, kind, data.draw(st.lists(PARAM_VALUES[kind])), (-1,)))
        else:
            specs.append(ParamSpec(name, kind, data.draw(PARAM_VALUES[kind] | st.none())))
    schema = ParamSchema(specs)
    assert ParamSchema.from_json(schema.to_json()) == schema


ROW_SCHEMA = Schema(
    [
        ColSpec("double", "a"),
        ColSpec("long", "b"),
        ColSpec("string", "c", required=False),
        ColSpec("boolean", "d", required=False),
    ]
)
CELL = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=3)
    | st.binary(max_size=2)
)
RECORDS = st.lists(
    st.dictionaries(st.sampled_from(["a", "b", "c", "d", "e"]), CELL, max_size=5), max_size=8
)


@settings(max_examples=200)
@given(RECORDS)
def test_row_problems_name_exactly_the_rows_enforcement_refuses(records: list[dict]) -> None:
    flagged = {p.row for p in row_problems(records, ROW_SCHEMA, limit=1000)}
    for i, record in enumerate(records):
        try:
            (out,) = enforce_schema([record], ROW_SCHEMA)
        except SignatureError as e:
            assert i in flagged, (record, e)
            assert e.column in ("a", "b", "c", "d")
        else:
            assert i not in flagged
            assert isinstance(out["a"], float) and isinstance(out["b"], int)
            if record["a"] is None or record["a"] != record["a"]:  # a double's gap is NaN
                assert math.isnan(out["a"])
            else:
                assert out["a"] == record["a"]
            assert out["b"] == record["b"]
    if not flagged:
        assert len(enforce_schema(records, ROW_SCHEMA)) == len(records)


@settings(max_examples=100, deadline=None)
@given(RECORDS.filter(lambda rs: len(rs) > 0))
def test_a_frame_fails_on_the_same_rows_as_its_records(records: list[dict]) -> None:
    frame = pd.DataFrame.from_records(records, columns=["a", "b"]).astype(object)
    frame_rows = {p.row for p in row_problems(frame, Schema(ROW_SCHEMA.inputs[:2]), limit=1000)}
    plain = [{k: frame.at[i, k] for k in ("a", "b")} for i in range(len(records))]
    record_rows = {p.row for p in row_problems(plain, Schema(ROW_SCHEMA.inputs[:2]), limit=1000)}
    assert frame_rows == record_rows
    if not frame_rows:
        out = enforce_schema(frame, Schema(ROW_SCHEMA.inputs[:2]))
        got = [float(v) for v in out["a"]]
        want = [math.nan if r["a"] is None else float(r["a"]) for r in plain]
        assert [(math.isnan(g), g if g == g else 0) for g in got] == [
            (math.isnan(w), w if w == w else 0) for w in want
        ]


ANY_CELL = (
    CELL
    | st.datetimes()
    | st.dates()
    | st.lists(st.integers(-3, 3), max_size=2)
    | st.dictionaries(st.sampled_from(["k", "v"]), st.integers(-3, 3), max_size=2)
)
TYPED = st.sampled_from([*DATA_TYPES, "any"]).map(lambda t: ColSpec(t)) | NESTED.filter(
    lambda t: t["type"] in ("array", "object", "map")
).map(
    lambda t: ColSpec(
        t["type"], None, True, json.dumps({k: v for k, v in t.items() if k != "type"})
    )
)


@settings(max_examples=300, deadline=None)
@given(st.lists(TYPED, min_size=1, max_size=3), st.data())
def test_enforcement_of_anything_raises_only_signature_error(
    types: list[ColSpec], data: Any
) -> None:
    specs = [
        ColSpec(s.type, f"c{i}", data.draw(st.booleans()), s.nested) for i, s in enumerate(types)
    ]
    schema = Schema(specs)
    records = data.draw(
        st.lists(st.fixed_dictionaries({}, optional={s.name: ANY_CELL for s in specs}), max_size=5)
    )
    problems = row_problems(records, schema)
    try:
        enforce_schema(records, schema)
    except SignatureError:
        assert problems
    else:
        assert not problems
    frame = pd.DataFrame.from_records(records, columns=[s.name for s in specs])
    as_objects = frame.astype(object)
    for candidate in (frame, as_objects):
        frame_problems = row_problems(candidate, schema)
        try:
            enforce_schema(candidate, schema)
        except SignatureError as e:
            assert frame_problems and e.column in [s.name for s in specs]
        else:
            assert not frame_problems
