"""`mltop.store.data`: datasets made from pandas and numpy (MLflow's `mlflow.data`
constructors), their digests, schemas, profiles and sources, and logging them."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import run_python

from mltop.store import InvalidValueError, data
from mltop.store.data import Dataset, from_numpy, from_pandas

FRAME = [["tom", 10, 1, 1], ["nick", 15, 0, 1], ["july", 14, 1, 1]]
COLUMNS = ["Name", "Age", "Label", "ModelOutput"]


def frame() -> pd.DataFrame:
    return pd.DataFrame(FRAME, columns=COLUMNS)


def test_import_does_not_load_pandas_or_numpy():
    found = run_python(
        """
        import sys
        import mltop.store
        from mltop.store import data
        print(sorted(m for m in ("pandas", "numpy") if m in sys.modules))
        """
    )
    assert found.stdout.strip() == "[]"


def test_from_pandas_is_mlflows_example():
    dataset = from_pandas(frame(), targets="Label", predictions="ModelOutput")
    assert isinstance(dataset, Dataset)
    assert dataset.name == "dataset"  # MLflow's name for an unnamed dataset
    assert dataset.targets == "Label" and dataset.predictions == "ModelOutput"
    assert dataset.df is not None and list(dataset.df.columns) == COLUMNS
    assert json.loads(dataset.schema or "") == {
        "mlflow_colspec": [
            {"type": "string", "name": "Name", "required": True},
            {"type": "long", "name": "Age", "required": True},
            {"type": "long", "name": "Label", "required": True},
            {"type": "long", "name": "ModelOutput", "required": True},
        ]
    }
    assert json.loads(dataset.profile or "") == {"num_rows": 3, "num_elements": 12}
    assert len(dataset.digest) == data.DIGEST_LENGTH == 16
    assert int(dataset.digest, 16) >= 0


def test_pandas_schema_types_and_optional_columns():
    df = pd.DataFrame(
        {
            "f32": np.array([1.0, 2.0], dtype=np.float32),
            "f64": [1.5, None],
            "i32": np.array([1, 2], dtype=np.int32),
            "b": [True, False],
            "when": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "raw": [b"a", b"b"],
        }
    )
    columns = json.loads(from_pandas(df).schema or "")["mlflow_colspec"]
    assert [(c["name"], c["type"], c["required"]) for c in columns] == [
        ("f32", "float", True),
        ("f64", "double", False),
        ("i32", "integer", True),
        ("b", "boolean", True),
        ("when", "datetime", True),
        ("raw", "binary", True),
    ]
    mixed = pd.DataFrame({"x": [1, "a"]})
    assert from_pandas(mixed).schema is None  # no single type: no schema, not a wrong one


def test_pandas_digest_is_stable_and_changes_with_the_content():
    digest = from_pandas(frame()).digest
    assert from_pandas(frame()).digest == digest
    assert from_pandas(frame(), name="other", source="x.csv").digest == digest  # data only
    changed_value = frame()
    changed_value.loc[2, "Age"] = 41
    renamed = frame().rename(columns={"Age": "age"})
    reordered = frame().iloc[[1, 0, 2]]
    retyped = frame().astype({"Age": "float64"})
    shorter = frame().head(2)
    late_row = pd.DataFrame([[f"n{i}", i, 0, 0] for i in range(20_000)], columns=COLUMNS)
    late_change = late_row.copy()
    late_change.loc[19_999, "Name"] = "someone else"  # past MLflow's 10,000-row sample
    digests = [
        digest,
        *(from_pandas(df).digest for df in (changed_value, renamed, reordered, retyped, shorter)),
        from_pandas(late_row).digest,
        from_pandas(late_change).digest,
    ]
    assert len(set(digests)) == len(digests)
    assert from_pandas(frame(), digest="given").digest == "given"


def test_pandas_digest_is_the_same_in_another_process():
    here = from_pandas(frame()).digest
    there = run_python(
        f"""
        import pandas as pd
        from mltop.store.data import from_pandas
        print(from_pandas(pd.DataFrame({FRAME!r}, columns={COLUMNS!r})).digest)
        """
    )
    assert there.stdout.strip() == here


def test_pandas_digest_of_unhashable_values():
    df = pd.DataFrame({"tokens": [["a", "b"], ["c"]], "n": [1, 2]})
    other = pd.DataFrame({"tokens": [["a", "b"], ["d"]], "n": [1, 2]})
    assert from_pandas(df).digest == from_pandas(df.copy()).digest
    assert from_pandas(df).digest != from_pandas(other).digest


def test_from_pandas_refuses_missing_columns_and_other_things():
    with pytest.raises(InvalidValueError, match="no targets column 'y'"):
        from_pandas(frame(), targets="y")
    with pytest.raises(InvalidValueError, match="no predictions column 'p'"):
        from_pandas(frame(), predictions="p")
    with pytest.raises(InvalidValueError, match="pandas DataFrame"):
        from_pandas([[1, 2]])
    with pytest.raises(InvalidValueError, match="path or a URI"):
        from_pandas(frame(), source=3)  # type: ignore[arg-type]


def test_sources():
    assert (from_pandas(frame(), source="data/train.csv").source_type) == "local"
    assert json.loads(from_pandas(frame(), source="data/train.csv").source) == {
        "uri": "data/train.csv"
    }
    web = from_pandas(frame(), source="https://example.org/iris.csv")
    assert (web.source_type, json.loads(web.source)) == (
        "http",
        {"url": "https://example.org/iris.csv"},
    )
    bucket = from_pandas(frame(), source="s3://bucket/iris.parquet")
    assert (bucket.source_type, json.loads(bucket.source)) == (
        "s3",
        {"uri": "s3://bucket/iris.parquet"},
    )
    code = from_pandas(frame())
    assert code.source_type == "code"
    assert "mlflow.source.name" in json.loads(code.source)["tags"]


def test_from_numpy_is_mlflows_example():
    array = np.asarray([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    dataset = from_numpy(array, source="data.csv")
    assert (dataset.name, dataset.source_type) == ("dataset", "local")
    schema = json.loads(dataset.schema or "")["mlflow_tensorspec"]
    assert json.loads(schema["features"]) == [
        {"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1, 3]}}
    ]
    assert schema["targets"] is None
    assert json.loads(dataset.profile or "") == {
        "features_shape": [3, 3],
        "features_size": 9,
        "features_nbytes": 72,
    }
    assert dataset.features is not None and dataset.targets is None


def test_from_numpy_with_targets_and_dicts():
    features = {"b": np.zeros((4, 2), dtype=np.float32), "a": np.arange(4)}
    targets = np.array([0, 1, 0, 1])
    dataset = from_numpy(features, targets=targets, name="pairs")
    schema = json.loads(dataset.schema or "")["mlflow_tensorspec"]
    assert json.loads(schema["features"]) == [
        {"name": "a", "type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}},
        {"name": "b", "type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 2]}},
    ]
    assert json.loads(schema["targets"]) == [
        {"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}
    ]
    profile = json.loads(dataset.profile or "")
    assert profile["features_shape"] == {"b": [4, 2], "a": [4]}
    assert profile["targets_size"] == 4
    with pytest.raises(InvalidValueError, match="features must be an array"):
        from_numpy("not an array")


def test_numpy_digest_is_stable_and_changes_with_the_content():
    base = np.arange(12).reshape(3, 4)
    digest = from_numpy(base).digest
    assert from_numpy(base.copy()).digest == digest
    assert from_numpy(np.asfortranarray(base)).digest == digest  # the values, not the layout
    others = [
        from_numpy(base.reshape(4, 3)).digest,
        from_numpy(base.astype(np.int32)).digest,
        from_numpy(base + np.eye(3, 4, dtype=base.dtype)).digest,
        from_numpy(base, targets=np.zeros(3)).digest,
        from_numpy({"x": base}).digest,
        from_numpy(np.array([{"a": 1}, {"a": 2}], dtype=object)).digest,
        from_numpy(np.array([{"a": 1}, {"a": 3}], dtype=object)).digest,
    ]
    assert len({digest, *others}) == len(others) + 1


def test_a_made_dataset_logs_and_searches(fluent):
    dataset = from_pandas(frame(), source="iris.csv", name="iris")
    array = from_numpy(np.ones((2, 2)), name="ones")
    with fluent.start_run() as run:
        fluent.log_input(dataset, context="training")
        fluent.log_input(array, context="eval")
    stored = fluent.get_run(run.info.run_id).inputs.dataset_inputs
    assert [(i.dataset.name, i.dataset.digest, i.context) for i in stored] == [
        ("iris", dataset.digest, "training"),
        ("ones", array.digest, "eval"),
    ]
    assert stored[0].dataset.schema == dataset.schema
    assert stored[0].dataset.profile == dataset.profile
    assert type(stored[0].dataset) is Dataset  # stored as its fields, not the frame
    found = fluent.search_runs(
        filter_string=f"dataset.digest = '{dataset.digest}'", output_format="list"
    )
    assert [r.info.run_id for r in found] == [run.info.run_id]


def test_mlflow_scripts_reach_the_constructors_as_mlflow_data():
    from mltop import store as mlflow

    assert mlflow.data.from_pandas is from_pandas
    assert mlflow.data.from_numpy is from_numpy
