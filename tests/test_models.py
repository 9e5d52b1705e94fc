"""mltop.models: saving, logging and loading models in MLflow's MLmodel format, by every URI
form, with the store's checksums checked before anything is unpickled."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest
import yaml
from helpers import run_python
from model_classes import Scaler, double_all

from mltop import models
from mltop.models import pyfunc
from mltop.models import sklearn as mt_sklearn
from mltop.models.errors import (
    IntegrityError,
    ModelError,
    ModelFormatError,
    ModelNotReadyError,
    ModelUriError,
    UntrustedModelError,
)
from mltop.store import NotFoundError, Store
from mltop.store.integrity import folder_digests, verify_folder

ROWS = [{"x": 1.0}, {"x": 2.5}, {"x": -4.0}]


class Shifted(pyfunc.PythonModel):
    """MLflow's PythonModel form: a context with artifacts, read at load."""

    def load_context(self, context: pyfunc.PythonModelContext) -> None:
        self.shift = float(Path(context.artifacts["shift"]).read_text())

    def predict(self, context, model_input, params=None):
        scale = (params or {}).get("scale", 1.0)
        return [scale * row["x"] + self.shift for row in model_input]


class ParamsEcho(pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return params


def _sklearn_model():
    import numpy as np
    from sklearn import linear_model as linear

    features = np.array([[1.0, 2.0], [2.0, 0.5], [3.0, 1.5], [4.0, 3.0], [5.0, 1.0]])
    target = features @ np.array([1.5, -2.0]) + 0.25
    return linear.LinearRegression().fit(features, target), features


# -- round trips per flavor --------------------------------------------------------------


@pytest.mark.parametrize("serialization_format", ["cloudpickle", "pickle"])
def test_sklearn_round_trip_predicts_the_same(fluent, serialization_format):
    model, features = _sklearn_model()
    with fluent.start_run():
        info = mt_sklearn.log_model(model, name="reg", serialization_format=serialization_format)
    loaded = models.load_model(info.model_uri)
    assert list(loaded.predict(features)) == list(model.predict(features))
    estimator = mt_sklearn.load_model(info.model_uri)
    assert type(estimator) is type(model)
    assert list(estimator.coef_) == list(model.coef_)
    flavor = loaded.metadata.flavors["sklearn"]
    assert flavor["serialization_format"] == serialization_format
    assert flavor["pickled_model"] == "model.pkl"
    assert loaded.metadata.flavors["python_function"]["loader_module"] == "mlflow.sklearn"


def test_sklearn_predict_fn_names_another_method(fluent):
    import numpy as np
    from sklearn import linear_model as linear

    features = np.array([[0.0], [1.0], [2.0], [3.0]])
    classifier = linear.LogisticRegression().fit(features, [0, 0, 1, 1])
    models.sklearn.save_model(classifier, "clf", pyfunc_predict_fn="predict_proba")
    loaded = models.load_model("clf", allow_outside_store=True)
    assert loaded.predict(features).tolist() == classifier.predict_proba(features).tolist()


def test_python_object_round_trip(fluent):
    with fluent.start_run():
        info = models.log_model(Scaler(3.0), "scaler")
    loaded = models.load_model(info.model_uri)
    assert loaded.predict(ROWS) == [3.0, 7.5, -12.0]
    assert isinstance(loaded.unwrap_python_model(), Scaler)
    assert loaded.metadata.flavors["python_function"]["loader_module"] == "mltop.models.pyfunc"


def test_a_function_is_a_model(fluent):
    info = models.log_model(double_all, "doubler")
    assert models.load_model(info.model_uri).predict(ROWS) == [2.0, 5.0, -8.0]


def test_python_model_gets_its_artifacts_and_params(fluent, tmp_path):
    shift = tmp_path / "shift.txt"
    shift.write_text("10")
    signature = models.infer_signature(ROWS, [0.0, 0.0, 0.0], params={"scale": 1.0})
    with fluent.start_run():
        info = pyfunc.log_model(
            name="shifted",
            python_model=Shifted(),
            artifacts={"shift": str(shift)},
            signature=signature,
        )
    shift.write_text("99")  # the model keeps its own copy
    loaded = models.load_model(info.model_uri)
    assert loaded.predict(ROWS) == [11.0, 12.5, 6.0]
    assert loaded.predict(ROWS, params={"scale": 2.0}) == [12.0, 15.0, 2.0]
    # As in MLflow, params the signature does not declare are not passed
    unsigned = models.log_model(ParamsEcho(), "unsigned")
    assert models.load_model(unsigned.model_uri).predict(ROWS, params={"scale": 2.0}) in ({}, None)


def test_plain_pickle_refuses_a_class_defined_in_the_script(tmp_path):
    result = run_python(
        f"""
        import os
        os.chdir({str(tmp_path)!r})
        from mltop import models
        class Local:
            def predict(self, rows):
                return rows
        try:
            models.save_model(Local(), "local", serialization_format="pickle")
        except models.ModelError as error:
            print("refused:", error)
        print("left behind:", os.path.exists("local"))
        """
    )
    assert "defined in the script itself (__main__)" in result.stdout
    assert "left behind: False" in result.stdout


def test_an_object_without_predict_is_refused(tmp_path):
    with pytest.raises(ModelError, match="must have a predict method"):
        models.save_model(object(), tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_saving_into_a_folder_with_files_is_refused(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "keep.txt").write_text("mine")
    with pytest.raises(ModelError, match="already exists and is not empty"):
        models.save_model(Scaler(1.0), tmp_path / "m")
    assert (tmp_path / "m" / "keep.txt").read_text() == "mine"


# -- the MLmodel folder ------------------------------------------------------------------


def test_the_folder_is_mlflows(fluent):
    with fluent.start_run() as run:
        info = models.log_model(
            Scaler(2.0), "scaler", pip_requirements=["numpy==1.0"], metadata={"team": "risk"}
        )
    folder = Path(info.path)
    assert sorted(p.name for p in folder.iterdir()) == [
        "MLmodel",
        "conda.yaml",
        "python_env.yaml",
        "python_model.pkl",
        "requirements.txt",
    ]
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    assert mlmodel["run_id"] == run.info.run_id
    assert mlmodel["model_id"] == info.model_id
    assert mlmodel["artifact_path"] == "scaler"
    assert mlmodel["metadata"] == {"team": "risk"}
    assert len(mlmodel["model_uuid"]) == 32
    assert "mlflow_version" not in mlmodel
    assert mlmodel["flavors"]["python_function"]["env"] == {
        "conda": "conda.yaml",
        "virtualenv": "python_env.yaml",
    }
    assert (folder / "requirements.txt").read_text() == "numpy==1.0\n"
    conda = yaml.safe_load((folder / "conda.yaml").read_text())
    assert conda["dependencies"][-1] == {"pip": ["numpy==1.0"]}
    python_env = yaml.safe_load((folder / "python_env.yaml").read_text())
    assert python_env["dependencies"] == ["-r requirements.txt"]


def test_extra_requirements_add_to_the_defaults(tmp_path):
    models.save_model(Scaler(1.0), tmp_path / "m", extra_pip_requirements=["tiny==0.1"])
    lines = (tmp_path / "m" / "requirements.txt").read_text().splitlines()
    assert lines[0].startswith("mltop")
    assert lines[-1] == "tiny==0.1"


def test_a_malformed_mlmodel_is_a_clear_error(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: [unclosed")
    with pytest.raises(ModelFormatError, match="not valid YAML"):
        models.load_model(folder, allow_outside_store=True)
    (folder / "MLmodel").write_text("flavors:\n  sklearn: {}\n")
    with pytest.raises(ModelFormatError, match="no python_function flavor"):
        models.load_model(folder, allow_outside_store=True)
    (folder / "MLmodel").unlink()
    with pytest.raises(ModelFormatError, match="no MLmodel file"):
        models.load_model(folder, allow_outside_store=True)


def test_a_loader_that_is_not_installed_is_named(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "MLmodel").write_text(
        "flavors:\n  python_function:\n    loader_module: mlflow.no_such_flavor\n"
    )
    with pytest.raises(models.MissingDependencyError, match=r"mlflow\.no_such_flavor"):
        models.load_model(folder, allow_outside_store=True)


# -- every URI form ----------------------------------------------------------------------


def test_every_uri_form_loads_the_same_model(fluent, store_path):
    with fluent.start_run() as run:
        info = models.log_model(Scaler(5.0), "five", registered_model_name="fives")
        models.save_model(Scaler(5.0), "saved")
        fluent.log_artifacts("saved", "exported")
    client = fluent.get_client()
    client.transition_model_version_stage("fives", 1, "Staging")
    client.set_registered_model_alias("fives", "champion", 1)
    run_id = run.info.run_id
    forms = [
        info.model_uri,
        f"runs:/{run_id}/five",
        f"runs:/{run_id}/exported",
        "models:/fives/1",
        "models:/fives/Staging",
        "models:/fives/staging",
        "models:/fives/latest",
        "models:/fives@champion",
        info.path,
        Path(info.path),
        f"file://{info.path}",
    ]
    for uri in forms:
        assert models.load_model(uri).predict(ROWS) == [5.0, 12.5, -20.0], uri
    assert info.registered_model_version == 1
    version = client.get_model_version("fives", 1)
    assert version.source == info.model_uri
    assert version.run_id == run_id


def test_register_model_takes_a_logged_models_uri(fluent):
    with fluent.start_run() as run:
        info = models.log_model(Scaler(1.0), "m")
    version = fluent.register_model(info.model_uri, "by-id")
    assert version.run_id == run.info.run_id
    assert models.load_model("models:/by-id/1").predict(ROWS) == [1.0, 2.5, -4.0]


@pytest.mark.parametrize(
    ("uri", "error", "message"),
    [
        ("runs:/not-a-run/model", ModelUriError, "runs:/<run_id>/<path>"),
        ("runs:/" + "0" * 32 + "/model", NotFoundError, "0" * 32),
        ("models:/nobody/1", NotFoundError, "nobody"),
        ("models:/m-" + "0" * 32, NotFoundError, "m-" + "0" * 32),
        ("s3://bucket/model", ModelUriError, "not s3"),
        ("", ModelUriError, "non-empty"),
    ],
)
def test_uris_that_name_nothing(fluent, uri, error, message):
    fluent.get_client()  # the store exists
    with pytest.raises(error, match=message):
        models.load_model(uri)


def test_a_run_uri_cannot_lead_out_of_the_run(fluent):
    with fluent.start_run() as run:
        models.log_model(Scaler(1.0), "m")
    for path in ("../../mltop.db", "../" + run.info.run_id, "x/../../.."):
        with pytest.raises(ModelUriError, match="leads out of the run's artifacts"):
            models.load_model(f"runs:/{run.info.run_id}/{path}")


def test_the_run_has_no_model_of_that_name(fluent):
    with fluent.start_run() as run:
        models.log_model(Scaler(1.0), "m")
    with pytest.raises(NotFoundError, match="no logged model of that name"):
        models.load_model(f"runs:/{run.info.run_id}/other")


def test_mlflow_named_modules_through_the_store(fluent):
    import mltop.store as mlflow

    assert mlflow.pyfunc is pyfunc
    assert mlflow.sklearn is mt_sklearn
    assert mlflow.models is models
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="m", python_model=Scaler(2.0))
    assert mlflow.pyfunc.load_model(info.model_uri).predict(ROWS) == [2.0, 5.0, -8.0]
    with pytest.raises(AttributeError, match="no_such"):
        _ = mlflow.no_such  # type: ignore[attr-defined]


# -- where a model may be loaded from ----------------------------------------------------


def test_a_folder_outside_the_store_needs_permission(fluent, tmp_path):
    models.save_model(Scaler(1.0), tmp_path / "elsewhere")
    with pytest.raises(UntrustedModelError, match="allow_outside_store=True"):
        models.load_model(tmp_path / "elsewhere")
    loaded = models.load_model(tmp_path / "elsewhere", allow_outside_store=True)
    assert loaded.predict(ROWS) == [1.0, 2.5, -4.0]


def test_loading_from_a_folder_creates_no_store(tmp_path):
    models.save_model(Scaler(1.0), tmp_path / "m")
    models.load_model(tmp_path / "m", allow_outside_store=True)
    with pytest.raises(UntrustedModelError):
        models.load_model(tmp_path / "m")
    assert not (tmp_path / ".mltop").exists()


def test_a_registered_folder_outside_the_store_needs_permission(fluent, tmp_path):
    """A version whose source is a folder: the folder is what gets loaded."""
    models.save_model(Scaler(1.0), tmp_path / "outside")
    with fluent.start_run() as run:
        pass
    client = fluent.get_client()
    client.create_registered_model("ext")
    client.create_model_version("ext", str(tmp_path / "outside"), run.info.run_id)
    with pytest.raises(UntrustedModelError):
        models.load_model("models:/ext/1")
    assert models.load_model("models:/ext/1", allow_outside_store=True).predict(ROWS)[0] == 1.0


# -- integrity ---------------------------------------------------------------------------


def test_every_file_is_recorded_when_logged(fluent, store_path):
    with fluent.start_run():
        info = models.log_model(Scaler(1.0), "m")
    recorded = Store(store_path).logged_model_files(info.model_id)
    folder = Path(info.path)
    assert set(recorded) == {p.name for p in folder.iterdir()}
    for name, digest in recorded.items():
        data = (folder / name).read_bytes()
        assert digest.size == len(data)
        assert digest.sha256 == hashlib.sha256(data).hexdigest()


def test_a_changed_file_is_refused_naming_it(fluent):
    with fluent.start_run():
        info = models.log_model(Scaler(1.0), "m", registered_model_name="guarded")
    pickled = Path(info.path) / "python_model.pkl"
    pickled.write_bytes(pickled.read_bytes() + b"\0")
    for uri in (info.model_uri, "models:/guarded/1", info.path):
        with pytest.raises(IntegrityError, match=r"changed: python_model\.pkl"):
            models.load_model(uri)


def test_missing_and_added_files_are_refused(fluent):
    with fluent.start_run():
        info = models.log_model(Scaler(1.0), "m")
    folder = Path(info.path)
    (folder / "conda.yaml").unlink()
    (folder / "evil.py").write_text("import os")
    with pytest.raises(IntegrityError) as caught:
        models.load_model(info.model_uri)
    assert "missing: conda.yaml" in str(caught.value)
    assert "added: evil.py" in str(caught.value)


def test_a_model_whose_save_failed_is_failed_and_not_loaded(fluent, store_path):
    class Unpicklable:
        def __init__(self) -> None:
            self.lock = __import__("threading").Lock()

        def predict(self, rows):
            return rows

    with fluent.start_run() as run, pytest.raises(ModelError, match="cannot be pickled"):
        models.log_model(Unpicklable(), "broken")
    store = Store(store_path)
    (broken,) = [m for m in store.logged_models.search(["0"]) if m.name == "broken"]
    assert broken.status == "FAILED"
    assert "cannot be pickled" in (broken.status_message or "")
    assert broken.source_run_id == run.info.run_id
    with pytest.raises((ModelNotReadyError, NotFoundError)):
        models.load_model(broken.model_uri)


def test_a_pending_model_is_not_loaded(fluent, store_path):
    fluent.get_client()
    store = Store(store_path)
    pending = store.logged_models.create(name="half")
    models.pyfunc.save_model(pending.artifact_location, python_model=Scaler(1.0))
    with pytest.raises(ModelNotReadyError, match="PENDING"):
        models.load_model(pending.model_uri)


def test_a_store_from_before_checksums_still_loads(fluent, store_path):
    """Models logged by an mltop without checksums (schema v7) load: nothing to compare."""
    with fluent.start_run():
        info = models.log_model(Scaler(1.0), "old")
    conn = sqlite3.connect(store_path / "mltop.db")
    conn.execute("DELETE FROM logged_model_files")
    conn.commit()
    conn.close()
    assert models.load_model(info.model_uri).predict(ROWS) == [1.0, 2.5, -4.0]


def test_verify_folder_reports_each_kind(tmp_path):
    folder = tmp_path / "m"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.bin").write_bytes(b"abc")
    (folder / "sub" / "b.txt").write_text("b")
    recorded = folder_digests(folder)
    assert set(recorded) == {"a.bin", "sub/b.txt"}
    assert verify_folder(folder, recorded).ok
    (folder / "a.bin").write_bytes(b"abd")  # same size, other bytes
    (folder / "sub" / "b.txt").unlink()
    (folder / "new").write_text("n")
    report = verify_folder(folder, recorded)
    assert (report.changed, report.missing, report.added) == (("a.bin",), ("sub/b.txt",), ("new",))
    assert report.describe() == "changed: a.bin; missing: sub/b.txt; added: new"


def test_a_link_out_of_the_folder_is_never_read(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (tmp_path / "secret").write_text("s")
    os.symlink(tmp_path / "secret", folder / "link")
    with pytest.raises(ValueError, match="link"):
        folder_digests(folder)
    assert verify_folder(folder, {}).unreadable == ("link",)


def test_registering_needs_a_run_and_nothing_is_logged_without_one(fluent, store_path):
    with pytest.raises(ModelError, match="inside start_run"):
        models.log_model(Scaler(1.0), "m", registered_model_name="needs-run")
    assert Store(store_path).logged_models.search(["0"]) == []


def test_set_signature_rewrites_the_mlmodel_and_records_it(fluent, store_path):
    with fluent.start_run() as run:
        info = models.log_model(Scaler(2.0), "m", registered_model_name="sig")
    signature = models.infer_signature([{"x": 1.0}], [2.0])
    models.set_signature(info.model_uri, signature)
    loaded = models.load_model(info.model_uri)  # still as recorded: the change was ours
    assert loaded.metadata.signature == signature
    with pytest.raises(models.SignatureError, match="'x'"):
        loaded.predict([{"y": 1.0}])
    with pytest.raises(ModelUriError, match="registered version"):
        models.set_signature("models:/sig/1", signature)
    (Path(info.path) / "python_model.pkl").write_bytes(b"tampered")
    with pytest.raises(IntegrityError):  # no blessing of a change that was not ours
        models.set_signature(f"runs:/{run.info.run_id}/m", signature)


def test_validate_schema_names_the_column():
    signature = models.infer_signature([{"x": 1.0, "y": "a"}])
    models.validate_schema([{"x": 2.0, "y": "b"}], signature.inputs)
    with pytest.raises(models.SignatureError, match="'y'"):
        models.validate_schema([{"x": 2.0}], signature.inputs)


# -- after a fresh tester's report ----------------------------------------------------------


def test_a_link_loop_in_a_model_is_a_typed_refusal(fluent):
    with fluent.start_run():
        info = models.log_model(Scaler(1.0), "m")
    os.symlink("loop", Path(info.path) / "loop")
    with pytest.raises(IntegrityError, match="unreadable: loop"):
        models.load_model(info.model_uri)
    with pytest.raises(ValueError, match="loop"):
        folder_digests(info.path)


def test_artifacts_are_there_when_the_signature_is_inferred(fluent, tmp_path):
    shift = tmp_path / "shift.txt"
    shift.write_text("1")
    with fluent.start_run():
        info = models.log_model(
            Shifted(), "pm", artifacts={"shift": str(shift)}, input_example=ROWS
        )
    loaded = models.load_model(info.model_uri)
    assert loaded.metadata.signature is not None
    assert loaded.predict(ROWS) == [2.0, 3.5, -3.0]


def test_two_artifacts_of_one_name_are_refused(tmp_path):
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.txt").write_text(folder)
    with pytest.raises(ModelError, match="both called 'a.txt'"):
        pyfunc.save_model(
            tmp_path / "m",
            python_model=Shifted(),
            artifacts={"x": tmp_path / "x" / "a.txt", "y": tmp_path / "y" / "a.txt"},
        )
    assert not (tmp_path / "m").exists()


def test_what_cannot_be_saved_leaves_no_failed_model(fluent, store_path):
    with fluent.start_run():
        with pytest.raises(ModelError, match="predict method"):
            models.log_model(len, "builtin")
        with pytest.raises(ModelError, match="predict method"):
            models.log_model(object(), "object")
        with pytest.raises(ModelError, match=r"__main__"):
            models.log_model(
                type("Local", (), {"__module__": "__main__", "predict": lambda s, x: x})(),
                "local",
                serialization_format="pickle",
            )
    assert Store(store_path).logged_models.search(["0"]) == []


def test_a_signature_that_cannot_be_inferred_is_said(tmp_path):
    mixed = [{"x": 1, "b": "x"}, {"x": 2.5, "b": None}]
    with pytest.warns(pyfunc.ModelSignatureWarning, match="no signature could be inferred"):
        meta = models.save_model(Scaler(1.0), tmp_path / "m", input_example=mixed)
    assert meta.signature is None
    with pytest.warns(pyfunc.ModelSignatureWarning, match="failed on its input example"):
        meta = models.save_model(Scaler(1.0), tmp_path / "n", input_example=[{"y": 1.0}])
    assert meta.signature is not None and meta.signature.outputs is None


def test_a_logged_models_folder_linked_out_of_the_store_is_outside_it(fluent, tmp_path):
    import shutil

    with fluent.start_run():
        info = models.log_model(Scaler(1.0), "m")
    elsewhere = tmp_path / "elsewhere"
    shutil.move(info.path, elsewhere)
    os.symlink(elsewhere, info.path)
    with pytest.raises(UntrustedModelError, match="outside the store"):
        models.load_model(info.model_uri)


def test_a_tilde_of_no_user_is_a_typed_error(fluent):
    with pytest.raises(ModelUriError, match="no home folder"):
        models.load_model("~no-such-user-here/model")
