"""MLflow's everyday calls under MLflow's parameters: a script written for MLflow means the
same thing here (client positional calls, log_batch, views, tracking URIs, searches)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_python
from hypothesis import given, settings
from hypothesis import strategies as st

from mltop.store import (
    ActiveRunError,
    ArtifactPathError,
    InvalidValueError,
    Metric,
    MltopClient,
    NotFoundError,
    Param,
    ParamConflictError,
    RunTag,
    Store,
    ValidationError,
    ViewType,
)
from mltop.store.client import ArtifactLocationWarning
from mltop.store.location import store_path_from_uri

T0 = 1_700_000_000_000


# -- the client's MLflow signatures, called positionally ---------------------------------------


def test_create_experiment_positional_and_artifact_location(client):
    exp = client.create_experiment("e", None, {"team": "cv"})
    assert client.get_experiment(exp).tags == {"team": "cv"}
    with pytest.warns(ArtifactLocationWarning, match="artifacts inside itself") as caught:
        made = client.create_experiment("f", "s3://bucket/path")
    assert caught[0].filename == __file__  # the warning points at the caller's line
    experiment = client.get_experiment(made)
    assert experiment.tags == {"mltop.requested_artifact_location": "s3://bucket/path"}
    assert experiment.artifact_location == str(client.store.path / "artifacts")
    with pytest.raises(InvalidValueError, match="must be a string"):
        client.create_experiment("g", 3)
    assert client.get_experiment_by_name("g") is None


def test_create_run_positional_as_mlflow(client):
    exp = client.create_experiment("e")
    run = client.create_run(exp, T0, {"k": "v"}, "named")
    assert run.info.start_time == T0
    assert run.info.run_name == "named"
    assert run.data.tags["k"] == "v"
    assert run.info.experiment_id == exp


def test_update_run_and_set_terminated_positional(client):
    run_id = client.create_run("0", log_system_info=False).info.run_id
    client.update_run(run_id, None, "renamed")
    assert client.get_run(run_id).info.run_name == "renamed"
    client.set_terminated(run_id)
    assert client.get_run(run_id).info.status == "FINISHED"


def test_log_param_and_set_tag_take_synchronous(client):
    run_id = client.create_run("0", log_system_info=False).info.run_id
    assert client.log_param(run_id, "p", 1, True) == 1
    client.set_tag(run_id, "t", "v", False)
    data = client.get_run(run_id).data
    assert data.params == {"p": "1"} and data.tags["t"] == "v"


def test_log_metric_refuses_dataset_and_model_links(client):
    run_id = client.create_run("0", log_system_info=False).info.run_id
    with pytest.raises(InvalidValueError, match="dataset_name"):
        client.log_metric(run_id, "m", 1.0, T0, 0, True, "train", None, None)
    with pytest.raises(InvalidValueError, match="model_id"):
        client.log_metric(run_id, "m", 1.0, model_id="m-123")
    client.flush()
    assert client.get_run(run_id).data.metrics == {}


@pytest.fixture
def three_runs(client):
    """Two experiments; a deleted run beside two active ones."""
    a = client.create_experiment("A")
    b = client.create_experiment("B")
    ids = {}
    for name, exp, acc in (("keep", a, 0.9), ("gone", a, 0.8), ("other", b, 0.7)):
        run_id = client.create_run(exp, T0, None, name, log_system_info=False).info.run_id
        client.log_metric(run_id, "acc", acc, T0, 1, True)
        ids[name] = run_id
    client.delete_run(ids["gone"])
    return a, b, ids


def names(runs):
    return sorted(r.info.run_name for r in runs)


def test_search_runs_positional_as_mlflow(client, three_runs):
    a, b, _ = three_runs
    assert names(client.search_runs([a])) == ["keep"]
    assert names(client.search_runs([a], "", ViewType.ALL)) == ["gone", "keep"]
    assert names(client.search_runs([a], "", ViewType.DELETED_ONLY)) == ["gone"]
    found = client.search_runs([a, b], "metrics.acc > 0.75", ViewType.ALL, 1, ["metrics.acc"])
    assert names(found) == ["gone"] and found.token
    rest = client.search_runs(
        [a, b], "metrics.acc > 0.75", ViewType.ALL, 1, ["metrics.acc"], found.token
    )
    assert names(rest) == ["keep"]
    # mltop's own view string, keyword-only, still works and wins
    assert names(client.search_runs([a], run_view_type=ViewType.ALL, view="deleted")) == ["gone"]


def test_search_experiments_positional_as_mlflow(client, three_runs):
    _, b, _ = three_runs
    client.delete_experiment(b)
    assert {e.name for e in client.search_experiments()} == {"A", "Default"}
    assert [e.name for e in client.search_experiments(ViewType.DELETED_ONLY)] == ["B"]
    found = client.search_experiments(ViewType.ALL, 10, "name LIKE '%'", ["name DESC"])
    assert [e.name for e in found] == ["Default", "B", "A"]


def test_view_type_as_mlflow():
    assert (ViewType.ACTIVE_ONLY, ViewType.DELETED_ONLY, ViewType.ALL) == (1, 2, 3)
    assert ViewType.from_string("deleted_only") == ViewType.DELETED_ONLY
    assert ViewType.to_string(ViewType.ALL) == "all"
    with pytest.raises(InvalidValueError):
        ViewType.from_string("everything")


def test_a_bad_view_type_is_refused(client):
    with pytest.raises(InvalidValueError, match="run_view_type"):
        client.search_runs(["0"], "", 7)


# -- log_batch ----------------------------------------------------------------------------------


def test_metric_is_built_in_mlflows_order():
    m = Metric("loss", 0.5, T0, 3)
    assert (m.key, m.value, m.timestamp, m.step) == ("loss", 0.5, T0, 3)
    assert (m.run_id, m.cursor) == ("", 0)


def test_log_batch_writes_metrics_params_and_tags(client):
    run_id = client.create_run("0", log_system_info=False).info.run_id
    client.log_batch(
        run_id,
        [Metric("loss", 0.5, T0, 3), Metric("loss", 0.25, T0 + 1, 4)],
        [Param("lr", "0.1")],
        [RunTag("team", "cv")],
        synchronous=True,
    )
    history = client.get_metric_history(run_id, "loss")
    assert [(p.value, p.timestamp, p.step) for p in history] == [(0.5, T0, 3), (0.25, T0 + 1, 4)]
    data = client.get_run(run_id).data
    assert data.params == {"lr": "0.1"} and data.tags["team"] == "cv"


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ({"metrics": [Metric("ok", 1.0, T0, 0), Metric("bad", "x", T0, 0)]}, "real number"),
        ({"metrics": [Metric("ok", 1.0, T0, 0), Metric("bad", 1.0, 1.5, 0)]}, "timestamp"),
        ({"metrics": [Metric("../up", 1.0, T0, 0)]}, "relative path"),
        ({"tags": [RunTag("t", "x" * 8001)]}, "limit is 8000"),
        ({"params": [Param("p", "1"), Param("p", "2")]}, "twice"),
        ({"params": [Param(f"p{i}", i) for i in range(101)]}, "at most 100 params"),
        ({"metrics": [Metric("m", 1.0, T0, i) for i in range(1001)]}, "at most 1000 metrics"),
        (
            {
                "metrics": [Metric("m", 1.0, T0, i) for i in range(950)],
                "params": [Param(f"p{i}", i) for i in range(51)],
            },
            "at most 1000 metrics, params and tags",
        ),
        ({"params": [("p", "1")]}, "Param objects"),
    ],
)
def test_log_batch_checks_everything_before_writing_anything(client, batch, message):
    run_id = client.create_run("0", log_system_info=False).info.run_id
    full = {"metrics": [Metric("first", 1.0, T0, 0)], "params": [Param("lr", "0.1")], **batch}
    full.setdefault("tags", [RunTag("team", "cv")])
    with pytest.raises(ValidationError, match=message):
        client.log_batch(run_id, **full)
    client.flush()
    data = client.get_run(run_id).data
    assert data.metrics == {} and data.params == {} and "team" not in data.tags


def test_log_batch_param_conflict_is_mlflows(client):
    run_id = client.create_run("0", log_system_info=False).info.run_id
    client.log_param(run_id, "lr", "0.1")
    with pytest.raises(ParamConflictError):
        client.log_batch(run_id, params=[Param("lr", "0.2")])


def test_log_batch_on_an_unknown_run(client):
    with pytest.raises(NotFoundError):
        client.log_batch("f" * 32, metrics=[Metric("m", 1.0, T0, 0)])


# -- tracking URIs ------------------------------------------------------------------------------


def _uri_store_is(fluent, folder: Path) -> None:
    with fluent.start_run() as run:
        fluent.log_param("p", 1)
    with Store(folder, create=False) as store:
        assert store.get_run(run.info.run_id).data.params == {"p": "1"}


def test_set_tracking_uri_forms(fluent, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    forms = {
        "plain": (str(tmp_path / "plain"), tmp_path / "plain"),
        "path": (tmp_path / "pathobj", tmp_path / "pathobj"),
        "file-abs": ((tmp_path / "fa").as_uri(), tmp_path / "fa"),
        "file-rel": ("file:frel", tmp_path / "frel"),
        "sqlite-abs": (f"sqlite:///{tmp_path / 'sa' / 'mltop.db'}", tmp_path / "sa"),
        "sqlite-rel": ("sqlite:///sr/mltop.db", tmp_path / "sr"),
        # as MLflow's docs write it: the store is a folder by that name
        "sqlite-mlflow-style": ("sqlite:///mlruns.db", tmp_path / "mlruns.db"),
    }
    for uri, folder in forms.values():
        fluent.set_tracking_uri(uri)
        expected = uri if isinstance(uri, str) else uri.as_uri()
        assert fluent.get_tracking_uri() == expected
        _uri_store_is(fluent, folder)


def test_get_tracking_uri_defaults_to_the_store_found(fluent, tmp_path, monkeypatch):
    monkeypatch.setenv("MLTOP_STORE", str(tmp_path / "env-store"))
    fluent.set_tracking_uri(None)
    assert fluent.get_tracking_uri() == (tmp_path / "env-store").as_uri()
    _uri_store_is(fluent, tmp_path / "env-store")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("databricks", "local folders"),
        ("databricks-uc", "local folders"),
        ("databricks://profile", "local folders"),
        ("postgresql://u@h/db", "local folders"),
        ("sqlite://relative/mltop.db", "sqlite:///"),
        ("file://otherhost/x", "another host"),
        ("s3://bucket/x", "unknown scheme"),
        ("", "non-empty"),
    ],
)
def test_remote_and_foreign_uris_are_refused(fluent, uri, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = fluent.get_tracking_uri()
    with pytest.raises(InvalidValueError, match=message):
        fluent.set_tracking_uri(uri)
    assert fluent.get_tracking_uri() == before


@pytest.mark.parametrize("uri", ["http://localhost:5000", "https://mlflow.example.com/prefix"])
def test_a_tracking_servers_url_is_taken_as_a_server(fluent, uri, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fluent.set_tracking_uri(uri)  # nothing is asked of the server yet
    assert fluent.get_tracking_uri() == uri
    assert not any(tmp_path.iterdir())  # no folder named after the URL


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\\x00"),
        min_size=1,
        max_size=30,
    ).filter(lambda name: name not in (".", ".."))
)
def test_every_uri_form_names_the_same_folder(name):
    folder = Path("/tmp/stores") / name
    assert store_path_from_uri(folder) == folder
    assert store_path_from_uri(str(folder)) == folder
    assert store_path_from_uri(folder.as_uri()) == folder
    if "?" not in name:
        assert store_path_from_uri(f"sqlite:///{folder}/mltop.db") == folder


def test_a_sqlite_file_that_is_not_a_store_is_refused_untouched(fluent, tmp_path):
    foreign = tmp_path / "mlflow.db"
    foreign.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    before = foreign.read_bytes()
    with pytest.raises(InvalidValueError, match="not an mltop store"):
        fluent.set_tracking_uri(f"sqlite:///{foreign}")
    assert foreign.read_bytes() == before


def test_an_in_memory_uri_is_a_store_of_this_process_alone(tmp_path):
    script = (
        "import os, mltop.store as mlflow\n"
        "mlflow.set_tracking_uri('sqlite:///:memory:')\n"
        "mlflow.log_metric('m', 1.0)\n"
        "mlflow.end_run()\n"
        "store = mlflow.get_store().path\n"
        "print(store)\n"
        "assert len(mlflow.search_runs(output_format='list')) == 1\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    store = Path(proc.stdout.strip())
    assert not store.exists()  # removed at exit
    assert list(tmp_path.iterdir()) == []  # nothing left where the script ran


def test_tracking_uri_cannot_change_during_a_run(fluent, tmp_path):
    with fluent.start_run(), pytest.raises(ActiveRunError):
        fluent.set_tracking_uri(str(tmp_path / "elsewhere"))


# -- download_artifacts -------------------------------------------------------------------------


@pytest.fixture
def with_artifacts(client, tmp_path):
    run_id = client.create_run("0", log_system_info=False).info.run_id
    client.log_text(run_id, "hello", "notes/a.txt")
    client.log_text(run_id, "world", "notes/deep/b.txt")
    client.log_text(run_id, "top", "top.txt")
    return run_id


def test_download_a_file_into_a_temporary_folder(client, with_artifacts):
    local = Path(client.download_artifacts(with_artifacts, "notes/a.txt"))
    assert local.read_text() == "hello"
    assert local.name == "a.txt" and local.parent.name == "notes"
    store_root = client.store.path.resolve()
    assert store_root not in local.resolve().parents  # a copy, not the store's file


def test_download_a_folder_and_everything(client, with_artifacts, tmp_path):
    folder = Path(client.download_artifacts(with_artifacts, "notes", str(tmp_path / "out")))
    assert folder == tmp_path / "out" / "notes"
    assert (folder / "deep" / "b.txt").read_text() == "world"
    assert not (tmp_path / "out" / "top.txt").exists()
    everything = Path(client.download_artifacts(with_artifacts, "", str(tmp_path / "all")))
    found = sorted(p.relative_to(everything).as_posix() for p in everything.rglob("*.txt"))
    assert found == ["notes/a.txt", "notes/deep/b.txt", "top.txt"]


@pytest.mark.parametrize("path", ["../other", "/etc/passwd", "notes/../../x"])
def test_download_outside_the_run_is_refused(client, with_artifacts, path, tmp_path):
    with pytest.raises(ArtifactPathError):
        client.download_artifacts(with_artifacts, path, str(tmp_path / "out"))


def test_download_through_a_link_leading_out_is_refused(client, with_artifacts, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    root = client.store.artifacts(with_artifacts).root
    os.symlink(secret, root / "notes" / "link.txt")
    with pytest.raises(ArtifactPathError):
        client.download_artifacts(with_artifacts, "notes", str(tmp_path / "out"))
    with pytest.raises(ArtifactPathError):
        client.download_artifacts(with_artifacts, "notes/link.txt", str(tmp_path / "out2"))


def test_download_a_missing_artifact(client, with_artifacts, tmp_path):
    with pytest.raises(NotFoundError):
        client.download_artifacts(with_artifacts, "nope.txt", str(tmp_path))


# -- fluent: experiments, runs, search_runs ------------------------------------------------------


def test_fluent_experiment_calls(fluent):
    exp = fluent.create_experiment("made", None, {"a": "1"})
    with pytest.warns(ArtifactLocationWarning) as caught:
        other = fluent.create_experiment("other", "/somewhere")
    assert caught[0].filename == __file__
    assert fluent.get_experiment(other).tags == {"mltop.requested_artifact_location": "/somewhere"}
    fluent.set_experiment(experiment_id=exp)
    fluent.set_experiment_tag("b", "2")
    fluent.set_experiment_tags({"c": "3", "d": "4"})
    fluent.delete_experiment_tag("d")
    assert fluent.get_experiment(exp).tags == {"a": "1", "b": "2", "c": "3"}
    assert [e.name for e in fluent.search_experiments(filter_string="name = 'made'")] == ["made"]
    fluent.delete_experiment(exp)
    assert [e.name for e in fluent.search_experiments(ViewType.DELETED_ONLY)] == ["made"]
    fluent.restore_experiment(exp)
    assert fluent.search_experiments(max_results=1)[0].name == "other"  # the newest active


def test_fluent_run_calls(fluent):
    with fluent.start_run() as parent, fluent.start_run(nested=True) as child:
        assert fluent.get_artifact_uri("a/b.txt").endswith(f"{child.info.run_id}/a/b.txt")
    assert fluent.get_parent_run(child.info.run_id).info.run_id == parent.info.run_id
    assert fluent.get_parent_run(parent.info.run_id) is None
    fluent.delete_run(child.info.run_id)
    assert fluent.get_run(child.info.run_id).info.lifecycle_stage == "deleted"
    fluent.restore_run(child.info.run_id)
    assert fluent.get_run(child.info.run_id).info.lifecycle_stage == "active"


def test_start_run_refuses_trace_location(fluent):
    with pytest.raises(InvalidValueError, match="traces"):
        fluent.set_experiment("x", trace_location="somewhere")


def test_fluent_metric_links_are_refused(fluent):
    with fluent.start_run():
        with pytest.raises(InvalidValueError, match="model_id"):
            fluent.log_metric("m", 1.0, model_id="m-1")
        with pytest.raises(InvalidValueError, match="dataset"):
            fluent.log_metrics({"m": 1.0}, dataset=object())


@pytest.fixture
def searched(fluent):
    fluent.set_experiment("other")
    with fluent.start_run(run_name="elsewhere"):
        fluent.log_metric("acc", 0.99)
    fluent.set_experiment("main")
    with fluent.start_run(run_name="first") as first:
        fluent.log_metric("acc", 0.5)
        fluent.log_param("lr", "0.1")
    with fluent.start_run(run_name="second") as second:
        fluent.log_metric("loss", 0.25)
        fluent.set_tag("team", "cv")
    return fluent, first.info.run_id, second.info.run_id


def test_search_runs_returns_mlflows_dataframe(searched):
    import pandas as pd

    fluent, first, second = searched
    frame = fluent.search_runs(order_by=["attributes.run_name"])
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns[:6]) == [
        "run_id",
        "experiment_id",
        "status",
        "artifact_uri",
        "start_time",
        "end_time",
    ]
    assert list(frame["run_id"]) == [first, second]
    assert str(frame["start_time"].dtype).startswith("datetime64") and "UTC" in str(
        frame["start_time"].dtype
    )
    row = fluent.get_run(first).info
    assert frame["start_time"][0] == pd.Timestamp(row.start_time, unit="ms", tz="UTC")
    assert frame["metrics.acc"][0] == 0.5 and math.isnan(frame["metrics.acc"][1])
    assert frame["metrics.loss"][1] == 0.25
    # missing: None, as pandas keeps it in the column's dtype (pandas 3: NaN in a str column)
    assert frame["params.lr"][0] == "0.1" and pd.isna(frame["params.lr"][1])
    assert frame["tags.team"][1] == "cv" and pd.isna(frame["tags.team"][0])
    assert list(frame["tags.mlflow.runName"]) == ["first", "second"]
    assert set(frame["status"]) == {"FINISHED"}


def test_an_empty_search_is_an_empty_dataframe_with_the_columns(searched):
    fluent, _, _ = searched
    frame = fluent.search_runs(filter_string="metrics.acc > 5")
    assert len(frame) == 0
    assert list(frame.columns) == [
        "run_id",
        "experiment_id",
        "status",
        "artifact_uri",
        "start_time",
        "end_time",
    ]


def test_search_runs_scopes_as_mlflow(searched):
    fluent, _, _ = searched
    listed = fluent.search_runs(output_format="list")
    assert names(listed) == ["first", "second"]  # the current experiment only
    everywhere = fluent.search_runs(search_all_experiments=True, output_format="list")
    assert names(everywhere) == ["elsewhere", "first", "second"]
    by_name = fluent.search_runs(experiment_names=["other"], output_format="list")
    assert names(by_name) == ["elsewhere"]
    assert len(fluent.search_runs(max_results=1, output_format="list")) == 1
    with pytest.raises(InvalidValueError, match="not both"):
        fluent.search_runs(["0"], experiment_names=["main"])
    with pytest.raises(InvalidValueError, match="output_format"):
        fluent.search_runs(output_format="arrow")


def test_search_runs_without_pandas_is_a_list(fluent, store_path):
    with fluent.start_run(run_name="only"):
        fluent.log_metric("acc", 0.5)
    out = run_python(f"""
        import sys
        sys.modules["pandas"] = None  # as if pandas were not installed
        from mltop import store as mt
        mt.set_tracking_uri({str(store_path)!r})
        found = mt.search_runs()
        print(type(found).__name__, [r.info.run_name for r in found])
    """)
    assert out.stdout.strip() == "list ['only']"


def test_mlflows_quick_start_runs_with_its_imports_changed(store_path, tmp_path):
    """MLflow's tracking quick start, `import mlflow` changed: the run starts by itself."""
    out = run_python(
        f"""
        import os
        from random import random, randint
        from mltop import store as mlflow

        os.chdir({str(tmp_path)!r})
        mlflow.set_tracking_uri({str(store_path)!r})
        mlflow.log_param("param1", randint(0, 100))
        mlflow.log_metric("foo", random())
        mlflow.log_metric("foo", random() + 1)
        mlflow.log_metric("foo", random() + 2)
        os.makedirs("outputs", exist_ok=True)
        with open("outputs/test.txt", "w") as f:
            f.write("hello world!")
        mlflow.log_artifacts("outputs")
        print(mlflow.active_run().info.run_id)
        """
    )
    client = MltopClient(Store(store_path))
    run = client.get_run(out.stdout.strip())
    assert run.info.status == "FINISHED"
    assert set(run.data.params) == {"param1"}
    assert len(client.get_metric_history(run.info.run_id, "foo")) == 3
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["test.txt"]
    client.close()


# -- MLflow's module names and small entities ----------------------------------------------


def test_mlflows_module_paths_port_by_the_import_alone():
    import mltop.store as mlflow
    from mltop.store.client import MlflowClient as FromClientModule
    from mltop.store.exceptions import MlflowException

    assert mlflow.tracking.MlflowClient is mlflow.MltopClient
    assert FromClientModule is mlflow.MltopClient
    assert mlflow.MlflowException is MlflowException is mlflow.MltopError
    with pytest.raises(MlflowException):  # `except MlflowException` catches mltop's errors
        mlflow.set_tracking_uri("databricks")


def test_run_status_and_lifecycle_stage_as_mlflow_names_them():
    from mltop.store import LifecycleStage, RunStatus

    assert RunStatus.to_string(RunStatus.FINISHED) == "FINISHED"
    assert RunStatus.from_string("FAILED") == RunStatus.FAILED == 4
    assert [RunStatus.to_string(s) for s in RunStatus.all_status()] == [
        "RUNNING",
        "SCHEDULED",
        "FINISHED",
        "FAILED",
        "KILLED",
    ]
    assert RunStatus.is_terminated(RunStatus.KILLED) and not RunStatus.is_terminated(1)
    with pytest.raises(ValueError):
        RunStatus.from_string("finished")
    assert (LifecycleStage.ACTIVE, LifecycleStage.DELETED) == ("active", "deleted")


def test_a_description_is_mlflows_note_tag(fluent):
    with fluent.start_run(description="why this run") as run:
        pass
    tags = fluent.get_run(run.info.run_id).data.tags
    assert tags["mlflow.note.content"] == "why this run"
    found = fluent.search_runs(
        filter_string="tags.mlflow.note.content = 'why this run'", output_format="list"
    )
    assert [r.info.run_id for r in found] == [run.info.run_id]


def test_whole_float_steps_and_any_real_value_as_mlflow_takes_them(client):
    from decimal import Decimal
    from fractions import Fraction

    run_id = client.create_run("0").info.run_id
    client.log_metric(run_id, "m", Decimal("1.5"), step=2.0)
    client.log_metric(run_id, "m", Fraction(1, 4), step=3)
    assert [(p.value, p.step) for p in client.get_metric_history(run_id, "m")] == [
        (1.5, 2),
        (0.25, 3),
    ]
    for step in (1.5, float("nan"), True, "3"):
        with pytest.raises(InvalidValueError, match="step must be"):
            client.log_metric(run_id, "m", 1.0, step=step)
    with pytest.raises(InvalidValueError, match="real number"):
        client.log_metric(run_id, "m", 1j)


def test_fluent_registry_searches_page_through_everything(fluent):
    with fluent.start_run() as run:
        pass
    for i in range(3):
        fluent.register_model(f"runs:/{run.info.run_id}/model", f"model-{i}")
    fluent.register_model(f"runs:/{run.info.run_id}/model", "model-0")
    assert [m.name for m in fluent.search_registered_models()] == [
        "model-0",
        "model-1",
        "model-2",
    ]
    assert len(fluent.search_registered_models(max_results=2)) == 2
    versions = fluent.search_model_versions(filter_string="name = 'model-0'")
    assert sorted(v.version for v in versions) == [1, 2]
    fluent.set_model_version_tag("model-0", "2", "checked", "yes")
    client = fluent.get_client()
    assert client.get_model_version("model-0", 2).tags == {"checked": "yes"}
