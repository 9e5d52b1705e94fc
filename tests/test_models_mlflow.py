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
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from model_classes import Scaler

from mltop import models
from mltop.models import pyfunc
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
        for path in (FIXTURES / name).iterdir():  # the pickles too
            data = path.read_bytes()
            for root in (b"/work/", b"/home/", b"/tmp/", b"/root/", b"/Users/"):
                assert root not in data, (path, root)


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


# -- folders MLflow writes now (MLflow installed) -----------------------------------------


@pytest.mark.parametrize("serialization_format", ["cloudpickle", "pickle", "skops"])
def test_a_folder_mlflow_saves_now_predicts_the_same_in_mltop(
    mlflow_allowed, tmp_path, serialization_format
):
    mlflow = mlflow_allowed
    fitted = _fitted()
    folder = tmp_path / f"saved-{serialization_format}"
    mlflow.sklearn.save_model(
        fitted,
        str(folder),
        serialization_format=serialization_format,
        input_example=_frame(TRAIN[:3]),
        pip_requirements=["scikit-learn"],  # (MLflow's inference runs a process: slow)
    )
    theirs = mlflow.pyfunc.load_model(str(folder))
    ours = models.load_model(folder, allow_outside_store=True)
    assert ours.predict(_frame(ROWS)).tolist() == theirs.predict(_frame(ROWS)).tolist()
    estimator = mt_sklearn.load_model(folder, allow_outside_store=True)
    assert estimator.predict_proba(_frame(ROWS)).tolist() == (
        mlflow.sklearn.load_model(str(folder)).predict_proba(_frame(ROWS)).tolist()
    )
    their_signature = mlflow.models.get_model_info(str(folder)).signature
    assert ours.metadata.signature is not None
    assert ours.metadata.signature.to_dict() == their_signature.to_dict()


def test_a_python_model_mlflow_saves_loads_in_mltop_with_mlflows_loader(mlflow_allowed, tmp_path):
    """MLflow's own PythonModel folders name MLflow's loader (`mlflow.pyfunc.model`): mltop
    imports it, as MLflow would, and predicts the same through it."""
    import pandas as pd

    mlflow = mlflow_allowed

    class Upper(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return [text.upper() for text in model_input["s"]]

    folder = tmp_path / "upper"
    mlflow.pyfunc.save_model(
        str(folder),
        python_model=Upper(),
        input_example=pd.DataFrame({"s": ["a"]}),
        pip_requirements=["pandas"],
    )
    ours = models.load_model(folder, allow_outside_store=True)
    assert ours.loader_module == "mlflow.pyfunc.model"
    frame = pd.DataFrame({"s": ["x", "y"]})
    assert list(ours.predict(frame)) == list(mlflow.pyfunc.load_model(str(folder)).predict(frame))
    assert list(ours.predict(frame)) == ["X", "Y"]
    with pytest.raises(models.SignatureError, match="'s'"):
        ours.predict(pd.DataFrame({"t": ["x"]}))


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


# -- folders mltop writes, loaded by MLflow -------------------------------------------------


@pytest.mark.parametrize("serialization_format", ["cloudpickle", "pickle"])
def test_mlflow_loads_an_sklearn_model_mltop_saved(mlflow_allowed, tmp_path, serialization_format):
    mlflow = mlflow_allowed
    fitted = _fitted()
    folder = tmp_path / "ours"
    models.save_model(
        fitted,
        folder,
        input_example=_frame(TRAIN[:3]),
        serialization_format=serialization_format,
    )
    theirs = mlflow.pyfunc.load_model(str(folder))
    assert theirs.predict(_frame(ROWS)).tolist() == fitted.predict(_frame(ROWS)).tolist()
    estimator = mlflow.sklearn.load_model(str(folder))
    assert type(estimator) is type(fitted)
    assert estimator.coef_.tolist() == fitted.coef_.tolist()
    _same_signature(mlflow, folder)


def _same_signature(mlflow: Any, folder: Path) -> None:
    """MLflow reads the signature mltop wrote as mltop does."""
    ours = models.get_model_info(folder).signature
    theirs = mlflow.models.get_model_info(str(folder)).signature
    assert ours is not None and theirs is not None
    assert theirs.to_dict() == ours.to_dict()


def test_mlflow_loads_an_sklearn_model_mltop_logged(plugin, fluent):
    """(MLflow's get_model_info asks its tracking store about the MLmodel's model_id: the
    plugin points it at mltop's.)"""
    mlflow = plugin
    fitted = _fitted()
    with fluent.start_run():
        info = models.log_model(fitted, "clf", input_example=_frame(TRAIN[:3]))
    theirs = mlflow.pyfunc.load_model(info.path)
    assert theirs.predict(_frame(ROWS)).tolist() == fitted.predict(_frame(ROWS)).tolist()
    assert type(mlflow.sklearn.load_model(info.path)) is type(fitted)
    assert theirs.metadata.model_id == info.model_id
    _same_signature(mlflow, Path(info.path))


def test_mlflow_loads_a_python_object_from_a_module(plugin, fluent):
    mlflow = plugin
    rows = [{"x": 1.0}, {"x": 2.5}, {"x": -4.0}]
    for serialization_format in ("pickle", "cloudpickle"):
        with fluent.start_run():
            info = models.log_model(
                Scaler(3.0),
                f"scaler-{serialization_format}",
                input_example=rows,
                serialization_format=serialization_format,
            )
        theirs = mlflow.pyfunc.load_model(info.path)
        import pandas as pd

        assert list(theirs.predict(pd.DataFrame(rows))) == [3.0, 7.5, -12.0]
        _same_signature(mlflow, Path(info.path))


def test_mlflow_loads_a_class_defined_in_the_test_in_another_process(mlflow_allowed, tmp_path):
    """cloudpickle carries a class defined here (not importable elsewhere) in the model: a
    fresh process, with MLflow and mltop but not this file, loads and runs it."""

    class Offset:
        def __init__(self, by: float) -> None:
            self.by = by

        def predict(self, model_input: Any) -> list[float]:
            return [float(v) + self.by for v in model_input["x"]]

    folder = tmp_path / "offset"
    models.save_model(Offset(0.5), folder)
    assert models.get_model_info(folder).flavors["python_function"]["serialization_format"] == (
        "cloudpickle"
    )
    code = f"""
        import json, mlflow, pandas as pd
        model = mlflow.pyfunc.load_model({str(folder)!r})
        print(json.dumps(list(model.predict(pd.DataFrame({{"x": [1, 2, 3]}})))))
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == [1.5, 2.5, 3.5]


class Shifted(pyfunc.PythonModel):
    """mltop's PythonModel (MLflow's form): an artifact read at load, params at predict."""

    def load_context(self, context: pyfunc.PythonModelContext) -> None:
        self.shift = float(Path(context.artifacts["shift"]).read_text())

    def predict(self, context: Any, model_input: Any, params: Any = None) -> list[float]:
        scale = (params or {}).get("scale", 1.0)
        return [scale * float(v) + self.shift for v in model_input["x"]]


def test_mlflow_loads_a_python_model_with_artifacts(mlflow_allowed, tmp_path):
    import pandas as pd

    mlflow = mlflow_allowed
    (tmp_path / "shift.txt").write_text("10")
    folder = tmp_path / "shifted"
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    pyfunc.save_model(
        folder,
        python_model=Shifted(),
        artifacts={"shift": str(tmp_path / "shift.txt")},
        signature=models.infer_signature(frame, [11.0, 12.0], params={"scale": 1.0}),
    )
    (tmp_path / "shift.txt").unlink()  # the model keeps its own copy
    theirs = mlflow.pyfunc.load_model(str(folder))
    ours = models.load_model(folder, allow_outside_store=True)
    for loaded in (theirs, ours):
        assert list(loaded.predict(frame)) == [11.0, 12.0]
        assert list(loaded.predict(frame, params={"scale": 2.0})) == [12.0, 14.0]
    _same_signature(mlflow, folder)


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


def test_a_model_mltop_logs_loads_in_mlflows_client_by_every_uri(plugin, fluent):
    mlflow = plugin
    fitted = _fitted()
    with fluent.start_run() as run:
        info = models.log_model(
            fitted, "clf", input_example=_frame(TRAIN[:3]), registered_model_name="clf"
        )
    expected = fitted.predict(_frame(ROWS)).tolist()
    for uri in (info.model_uri, f"runs:/{run.info.run_id}/clf", "models:/clf/1"):
        assert mlflow.pyfunc.load_model(uri).predict(_frame(ROWS)).tolist() == expected, uri
        assert models.load_model(uri).predict(_frame(ROWS)).tolist() == expected, uri
    assert mlflow.models.get_model_info(info.model_uri).signature.to_dict() == (
        info.signature.to_dict()
    )
