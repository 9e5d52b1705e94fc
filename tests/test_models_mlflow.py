"""Models made by MLflow load in mltop, and models made by mltop load in MLflow.

The folders in tests/data/mlflow_models were written by MLflow 3.17.2's own
`mlflow.sklearn.save_model` (their `make.py`), so the first tests run without MLflow. The
tests that run MLflow itself (saving a fresh folder, loading mltop's, logging through the
plugin) need it importable; CI installs it.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from model_classes import Scaler

from mltop import models
from mltop.models import sklearn as mt_sklearn
from mltop.models.errors import IntegrityError, MissingDependencyError, UntrustedModelError
from mltop.store import Store

FIXTURES = Path(__file__).parent / "data" / "mlflow_models"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
NAMES = sorted(EXPECTED["models"])
COLUMNS: list[str] = EXPECTED["columns"]
ROWS: list[list[float]] = EXPECTED["rows"]
# Training rows for the models these tests fit themselves (make.py's formula, 20 rows).
TRAIN = [[(i * 7 % 11) / 10, (i * 3 % 5) / 4, i / 19] for i in range(20)]
LABELS = [int(a + b + 0.5 * c > 1.0) for a, b, c in TRAIN]


def _frame(rows: list[list[float]]) -> Any:
    import pandas as pd

    return pd.DataFrame(rows, columns=COLUMNS)


def _records(rows: list[list[float]]) -> list[dict[str, float]]:
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]


def _fitted() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=100.0).fit(_frame(TRAIN), LABELS)


@pytest.fixture
def mlflow_allowed(monkeypatch: pytest.MonkeyPatch) -> Any:
    """MLflow, allowed to unpickle (its loaders refuse to without the setting)."""
    mlflow = pytest.importorskip("mlflow")
    importlib.import_module("mlflow.pyfunc")
    importlib.import_module("mlflow.sklearn")
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    return mlflow


# -- folders MLflow wrote, committed ------------------------------------------------------


def test_the_fixtures_are_mlflows_and_name_no_folder_of_this_machine():
    assert EXPECTED["mlflow_version"] == "3.17.2"
    for name in NAMES:
        meta = models.get_model_info(FIXTURES / name)
        assert meta.extra["mlflow_version"] == "3.17.2"
        assert meta.flavors["python_function"]["loader_module"] == "mlflow.sklearn"
        fmt = meta.flavors["sklearn"]["serialization_format"]
        assert fmt == EXPECTED["models"][name]["serialization_format"]
        assert meta.signature is not None and meta.saved_input_example_info is not None
        total = sum(p.stat().st_size for p in (FIXTURES / name).iterdir())
        assert total < 20_000  # kilobytes, not a real model
        for path in (FIXTURES / name).iterdir():
            if path.suffix in (".pkl", ".skops"):
                continue
            text = path.read_text()
            for root in ("/work/", "/home/", "/tmp/", "/root/", "/Users/"):
                assert root not in text, (path, root)


@pytest.mark.parametrize("name", NAMES)
def test_a_folder_outside_the_store_is_refused_naming_it(name, tmp_path, monkeypatch):
    monkeypatch.chdir(FIXTURES)  # a relative path: the message names the folder in full
    for load in (models.load_model, mt_sklearn.load_model):
        with pytest.raises(UntrustedModelError, match="allow_outside_store=True") as refused:
            load(name)
        assert str(FIXTURES / name) in str(refused.value)
    assert not (FIXTURES / ".mltop").exists()  # loading created no store


@pytest.mark.parametrize("name", NAMES)
def test_mltop_predicts_what_mlflow_predicted(name):
    expected = EXPECTED["models"][name]
    loaded = models.load_model(FIXTURES / name, allow_outside_store=True)
    assert [int(v) for v in loaded.predict(_frame(ROWS))] == expected["predict"]
    # Rows as dicts (no DataFrame built by the caller) predict the same.
    assert [int(v) for v in loaded.predict(_records(ROWS))] == expected["predict"]
    assert loaded.loader_module == "mlflow.sklearn"


@pytest.mark.parametrize("name", NAMES)
def test_the_estimator_itself_predicts_what_mlflow_predicted(name):
    from sklearn.linear_model import LogisticRegression

    expected = EXPECTED["models"][name]
    estimator = mt_sklearn.load_model(str(FIXTURES / name), allow_outside_store=True)
    assert type(estimator) is LogisticRegression
    assert estimator.predict(_frame(ROWS)).tolist() == expected["predict"]
    probabilities = estimator.predict_proba(_frame(ROWS)).ravel().tolist()
    assert probabilities == pytest.approx(
        [p for row in expected["predict_proba"] for p in row], rel=1e-12
    )


def test_the_signature_mlflow_wrote_is_read_and_enforced():
    loaded = models.load_model(FIXTURES / "sklearn_pickle", allow_outside_store=True)
    schema = loaded.metadata.get_input_schema()
    assert schema is not None and schema.input_names() == COLUMNS
    with pytest.raises(models.SignatureError, match="'b'") as error:
        loaded.predict([{"a": 1.0, "c": 2.0}])
    assert error.value.column == "b"


def test_a_loaded_models_metadata_gives_its_model_info(fluent):
    """MLflow's `model.metadata.get_model_info()`: what log_model returned, from the MLmodel."""
    saved = models.load_model(FIXTURES / "sklearn_pickle", allow_outside_store=True)
    info = saved.metadata.get_model_info()
    assert (info.model_uri, info.run_id, info.model_id) == ("", None, "")
    assert info.flavors["sklearn"]["serialization_format"] == "pickle"
    assert info.model_uuid == saved.metadata.model_uuid
    with fluent.start_run():
        logged = models.log_model(Scaler(2.0), "scaler", metadata={"team": "risk"})
    info = models.load_model(logged.model_uri).metadata.get_model_info()
    assert (info.model_uri, info.model_id) == (logged.model_uri, logged.model_id)
    assert (info.run_id, info.artifact_path, info.name) == (logged.run_id, "scaler", "scaler")
    assert info.metadata == {"team": "risk"}


def test_mlflows_skops_file_loads_with_skops():
    expected = EXPECTED["models"]["sklearn_skops"]
    loaded = models.load_model(FIXTURES / "sklearn_skops", allow_outside_store=True)
    assert [int(v) for v in loaded.predict(_frame(ROWS))] == expected["predict"]


def test_mlflows_skops_file_without_skops_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "skops", None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, "skops.io", None)
    with pytest.raises(MissingDependencyError, match="skops format: pip install skops"):
        models.load_model(FIXTURES / "sklearn_skops", allow_outside_store=True)


@pytest.fixture
def plugin(mlflow_allowed, store_path, fluent):
    """MLflow's tracking URI set to the store the fluent API (and load_model) uses."""
    mlflow = mlflow_allowed
    mlflow.set_tracking_uri(f"mltop://{store_path}")
    yield mlflow
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.tracking.fluent._active_experiment_id = None
    mlflow.set_tracking_uri(None)


# -- MLflow's client logging into an mltop store (the plugin) ------------------------------


def test_a_model_mlflow_logs_through_the_plugin_is_checked_and_loads_in_mltop(plugin, store_path):
    mlflow = plugin
    fitted = _fitted()
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            fitted,
            name="clf",
            registered_model_name="clf",
            input_example=_frame(TRAIN[:3]),
            pip_requirements=["scikit-learn"],
        )
    assert info.registered_model_version == 1
    store = Store(store_path)
    try:
        logged = store.get_logged_model(info.model_id)
        folder = Path(logged.artifact_location)
        recorded = store.logged_model_files(info.model_id)
    finally:
        store.close()
    on_disk = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()}
    assert set(recorded) == set(on_disk) and "MLmodel" in recorded
    for path, digest in recorded.items():
        data = on_disk[path].read_bytes()
        assert (digest.size, digest.sha256) == (len(data), hashlib.sha256(data).hexdigest())

    expected = fitted.predict(_frame(ROWS)).tolist()
    assert models.load_model("models:/clf/1").predict(_frame(ROWS)).tolist() == expected
    # MLflow's client loads it through the plugin too; loading a registered version, it
    # writes its `registered_model_meta` (name and version) into the model's folder...
    assert mlflow.pyfunc.load_model("models:/clf/1").predict(_frame(ROWS)).tolist() == expected
    assert (folder / "registered_model_meta").is_file()
    # ... which is no change of the model to mltop.
    assert models.load_model("models:/clf/1").predict(_frame(ROWS)).tolist() == expected

    pickled = models.get_model_info("models:/clf/1").flavors["sklearn"]["pickled_model"]
    with open(folder / pickled, "ab") as file:
        file.write(b"\0")  # changed after it was logged
    with pytest.raises(IntegrityError, match=f"changed: {pickled}"):
        models.load_model("models:/clf/1")
    with pytest.raises(IntegrityError, match=f"changed: {pickled}"):
        mt_sklearn.load_model(f"models:/{info.model_id}")


def test_an_mlflow_folder_copied_into_a_run_loads_by_its_run_uri(fluent, store_path):
    """A folder MLflow wrote, logged as a run's artifacts: `runs:/` finds it in the store,
    so no permission is needed."""
    with fluent.start_run() as run:
        fluent.log_artifacts(str(FIXTURES / "sklearn_pickle"), "model")
    loaded = models.load_model(f"runs:/{run.info.run_id}/model")
    assert [int(v) for v in loaded.predict(_frame(ROWS))] == (
        EXPECTED["models"]["sklearn_pickle"]["predict"]
    )
