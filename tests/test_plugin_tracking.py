"""The MLflow plugin's tracking store, through MLflow's own client: `mltop:` URIs.

Every test talks to MLflow's API (fluent `mlflow.*` and `MlflowClient`) with the tracking URI
pointing at a fresh mltop store, and reads what landed through `mltop.store`.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.entities import LoggedModelStatus, Metric, Param, RunTag
from mlflow.exceptions import MlflowException

from mltop.mlflow_plugin.tracking import MltopTrackingStore
from mltop.store import Store
from mltop.store.location import store_path_from_uri


@pytest.fixture
def uri(tmp_path: Path):
    """MLflow's tracking URI set to a fresh mltop store; any active run ended after, and
    MLflow's active experiment forgotten (it is a global of its fluent API)."""
    uri = f"mltop://{tmp_path / 'store'}"
    mlflow.set_tracking_uri(uri)
    yield uri
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.tracking.fluent._active_experiment_id = None
    mlflow.set_tracking_uri(None)


def _store(uri: str) -> Store:
    return Store(store_path_from_uri(uri))


def _code(exc: pytest.ExceptionInfo[MlflowException]) -> str:
    return exc.value.error_code


# -- the scheme ------------------------------------------------------------------------


def test_mlflow_finds_the_store_for_the_scheme_through_the_entry_point(tmp_path: Path):
    from mlflow.tracking._tracking_service.utils import _get_store

    found = _get_store(f"mltop://{tmp_path}/a")
    assert isinstance(found, MltopTrackingStore)
    assert found.store.path == tmp_path / "a"


@pytest.mark.parametrize(
    ("uri", "where"),
    [
        ("mltop:///{tmp}/abs", "{tmp}/abs"),
        ("mltop:rel/store", "{cwd}/rel/store"),
        ("mltop://localhost/{tmp}/local", "{tmp}/local"),
        ("mltop:///{tmp}/with%20space", "{tmp}/with space"),
    ],
)
def test_uri_forms(tmp_path: Path, uri: str, where: str):
    tmp = str(tmp_path).lstrip("/")
    store = MltopTrackingStore(uri.format(tmp=tmp))
    expected = where.format(tmp="/" + tmp, cwd=os.getcwd())
    assert store.store.path == Path(expected)


def test_the_bare_scheme_is_the_store_mltop_finds(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("MLTOP_STORE", str(tmp_path / "found"))
    assert MltopTrackingStore("mltop:").store.path == tmp_path / "found"


def test_a_query_is_refused_not_dropped(tmp_path: Path):
    with pytest.raises(MlflowException, match="no query") as exc:
        MltopTrackingStore(f"mltop://{tmp_path}/x?mode=ro")
    assert _code(exc) == "INVALID_PARAMETER_VALUE"
    assert not (tmp_path / "x").exists()


def test_another_host_is_refused():
    mlflow.set_tracking_uri("mltop://gpu-box/x")
    try:
        with pytest.raises(MlflowException, match="another host") as exc:
            MlflowClient().search_experiments()
        assert _code(exc) == "INVALID_PARAMETER_VALUE"
    finally:
        mlflow.set_tracking_uri(None)


# -- logging through MLflow's API lands in the store ------------------------------------


def test_a_fluent_run_reads_back_through_mltop(uri: str):
    mlflow.set_experiment("exp")
    with mlflow.start_run(run_name="first", tags={"team": "vision"}) as run:
        mlflow.log_params({"lr": 0.1, "layers": 3})
        for step in range(200):
            mlflow.log_metric("loss", 1 / (step + 1), step=step)
        mlflow.log_metrics({"acc": 0.9, "nan": float("nan"), "inf": float("inf")}, step=5)
        with mlflow.start_run(run_name="child", nested=True) as child:
            mlflow.log_metric("x", 1.0)
    run_id = run.info.run_id
    store = _store(uri)
    got = store.get_run(run_id)
    assert got.info.status == "FINISHED" and got.info.run_name == "first"
    assert got.data.params == {"lr": "0.1", "layers": "3"}
    assert got.data.tags["team"] == "vision"
    assert got.data.tags["mlflow.source.type"] == "LOCAL"
    summaries = got.data.summaries
    assert summaries["loss"].count == 200 and summaries["loss"].value == pytest.approx(1 / 200)
    assert math.isnan(summaries["nan"].value) and summaries["inf"].value == math.inf
    assert store.get_experiment(got.info.experiment_id).name == "exp"
    kid = store.get_run(child.info.run_id)
    assert kid.info.parent_run_id == run_id and kid.info.status == "FINISHED"
    # ... and MLflow reads the same back.
    again = mlflow.get_run(run_id)
    assert again.data.metrics["loss"] == pytest.approx(1 / 200)
    assert again.data.params == {"lr": "0.1", "layers": "3"}
    assert again.info.run_name == "first" and again.info.status == "FINISHED"
    history = MlflowClient().get_metric_history(run_id, "loss")
    assert [m.step for m in history] == list(range(200))
    assert all(m.run_id == run_id for m in history)


def test_log_batch_and_the_metrics_of_a_run_still_running(uri: str):
    client = MlflowClient()
    run = client.create_run("0", run_name="batch")
    run_id = run.info.run_id
    metrics = [Metric("m", float(i), 1000 + i, i) for i in range(1000)]
    client.log_batch(run_id, metrics=metrics, params=[Param("p", "1")], tags=[RunTag("t", "v")])
    # Read while RUNNING: every point queued before the read is counted.
    got = client.get_run(run_id)
    assert got.data.metrics["m"] == 999.0 and got.data.params == {"p": "1"}
    assert len(client.get_metric_history(run_id, "m")) == 1000
    assert _store(uri).get_run(run_id).data.summaries["m"].count == 1000
    client.set_terminated(run_id)
    assert client.get_run(run_id).info.status == "FINISHED"


def test_a_resumed_run_is_running_with_this_process_beating_for_it(uri: str):
    with mlflow.start_run() as run:
        mlflow.log_metric("m", 1.0)
    store = _store(uri)
    with mlflow.start_run(run_id=run.info.run_id):
        mlflow.log_metric("m", 2.0, step=1)
        with store.db.write() as conn:  # as if the last beat were long ago
            conn.execute("UPDATE runs SET heartbeat_time = 1 WHERE run_id = ?", (run.info.run_id,))
        deadline = time.monotonic() + 30
        while store.get_run(run.info.run_id).info.heartbeat_time == 1:
            assert time.monotonic() < deadline, "no heartbeat for the resumed run"
            time.sleep(0.02)
        info = store.get_run(run.info.run_id).info
        assert info.status == "RUNNING" and not info.lost
    got = store.get_run(run.info.run_id)
    assert got.info.status == "FINISHED" and got.data.summaries["m"].count == 2


def test_mlflows_async_logging_lands_whole(uri: str):
    with mlflow.start_run() as run:
        operations = [
            mlflow.log_metric("m", float(i), step=i, synchronous=False) for i in range(500)
        ]
        mlflow.log_params({"p": 1}, synchronous=False).wait()
        for operation in operations:
            operation.wait()
    got = _store(uri).get_run(run.info.run_id)
    assert got.data.summaries["m"].count == 500 and got.data.params == {"p": "1"}


def test_mlflows_system_metrics_land_under_its_keys(uri: str):
    from mlflow.system_metrics import (
        set_system_metrics_samples_before_logging,
        set_system_metrics_sampling_interval,
    )

    set_system_metrics_sampling_interval(0.1)
    set_system_metrics_samples_before_logging(1)
    store = _store(uri)
    try:
        with mlflow.start_run(log_system_metrics=True) as run:
            deadline = time.monotonic() + 60
            while (
                "system/cpu_utilization_percentage"
                not in mlflow.get_run(run.info.run_id).data.metrics
            ):
                assert time.monotonic() < deadline, "no system metrics logged"
                time.sleep(0.05)
    finally:
        set_system_metrics_sampling_interval(None)
        set_system_metrics_samples_before_logging(None)
    assert store.get_run(run.info.run_id).data.summaries["system/cpu_utilization_percentage"]


def test_a_run_made_by_mlflows_client_is_the_users(uri: str):
    run = MlflowClient().create_run("0")  # MLflow's client passes user_id="unknown"
    assert _store(uri).get_run(run.info.run_id).info.user_id == "tester"
    assert run.info.user_id == "tester"


def test_metric_history_pages(uri: str):
    client = MlflowClient()
    run_id = client.create_run("0").info.run_id
    client.log_batch(run_id, metrics=[Metric("m", float(i), 1, i) for i in range(25)])
    store = MltopTrackingStore(uri)
    steps, token, pages = [], None, 0
    while True:
        page = store.get_metric_history(run_id, "m", max_results=10, page_token=token)
        steps += [m.step for m in page]
        pages += 1
        token = page.token
        if not token:
            break
    assert steps == list(range(25)) and pages == 3


def test_errors_carry_mlflows_codes(uri: str):
    client = MlflowClient()
    with pytest.raises(MlflowException) as exc:
        client.get_run("0" * 32)
    assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"
    client.create_experiment("taken")
    with pytest.raises(MlflowException) as exc:
        client.create_experiment("taken")
    assert _code(exc) == "RESOURCE_ALREADY_EXISTS"
    run_id = client.create_run("0").info.run_id
    client.log_param(run_id, "p", "1")
    with pytest.raises(MlflowException) as exc:
        client.log_param(run_id, "p", "2")
    assert _code(exc) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as exc:
        client.log_metric(run_id, "bad key\n", 1.0)
    assert _code(exc) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as exc:
        client.search_runs(["0"], "metrics.x >> 1")
    assert _code(exc) == "INVALID_PARAMETER_VALUE"
    assert client.get_experiment_by_name("missing") is None


def test_experiments(uri: str):
    client = MlflowClient()
    exp = client.create_experiment("e1", tags={"k": "v"})
    assert client.get_experiment(exp).tags == {"k": "v"}
    client.set_experiment_tag(exp, "k2", "v2")
    client.rename_experiment(exp, "e2")
    found = client.get_experiment_by_name("e2")
    assert found.experiment_id == exp and found.tags == {"k": "v", "k2": "v2"}
    client.delete_experiment(exp)
    names = {e.name for e in client.search_experiments()}
    assert "e2" not in names
    from mlflow.entities import ViewType

    assert "e2" in {e.name for e in client.search_experiments(view_type=ViewType.ALL)}
    client.restore_experiment(exp)
    assert [e.name for e in client.search_experiments(filter_string="name = 'e2'")] == ["e2"]
    # An experiment created by mltop is found by MLflow, and the other way round.
    assert _store(uri).get_experiment_by_name("e2").experiment_id == exp


def test_search_runs_filters_orders_and_pages_as_mlflow(uri: str):
    client = MlflowClient()
    ids = []
    for i in range(12):
        run_id = client.create_run("0", run_name=f"r{i}").info.run_id
        client.log_batch(run_id, metrics=[Metric("acc", i / 10, 1, 0)], params=[Param("i", str(i))])
        client.set_terminated(run_id, "FINISHED" if i % 2 else "FAILED")
        ids.append(run_id)
    found = client.search_runs(["0"], "metrics.acc >= 0.5 and attributes.status = 'FINISHED'")
    assert {r.info.run_id for r in found} == {ids[i] for i in (5, 7, 9, 11)}
    ordered = client.search_runs(["0"], order_by=["metrics.acc DESC"], max_results=5)
    assert [r.info.run_id for r in ordered] == ids[::-1][:5]
    seen, token = [], None
    while True:
        page = client.search_runs(["0"], order_by=["params.i ASC"], max_results=5, page_token=token)
        seen += [r.data.params["i"] for r in page]
        token = page.token
        if not token:
            break
    assert seen == sorted(str(i) for i in range(12))
    frame = mlflow.search_runs(experiment_ids=["0"], filter_string="params.i = '3'")
    assert list(frame["run_id"]) == [ids[3]] and list(frame["metrics.acc"]) == [0.3]


def test_nested_runs_are_found_by_their_parent_tag(uri: str):
    with mlflow.start_run() as parent:
        for _ in range(3):
            with mlflow.start_run(nested=True):
                mlflow.log_metric("x", 1)
    frame = mlflow.search_runs(filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert len(frame) == 3
    store = _store(uri)
    assert len(store.child_run_ids(parent.info.run_id)) == 3


def test_datasets_logged_as_inputs(uri: str):
    data = mlflow.data.from_numpy(np.arange(12.0).reshape(4, 3), name="train-set")
    with mlflow.start_run() as run:
        mlflow.log_input(data, context="training")
    got = mlflow.get_run(run.info.run_id).inputs.dataset_inputs
    assert [(d.dataset.name, d.dataset.digest) for d in got] == [("train-set", data.digest)]
    stored = _store(uri).get_run(run.info.run_id).inputs.dataset_inputs
    assert stored[0].context == "training" and stored[0].dataset.name == "train-set"


def test_artifacts_go_inside_the_store_and_download(uri: str, tmp_path: Path):
    folder = tmp_path / "outputs"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.txt").write_text("b")
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(folder), "out")
        mlflow.log_dict({"k": 1}, "config.json")
    store = _store(uri)
    root = store.artifacts(run.info.run_id).root
    assert (root / "out" / "sub" / "b.txt").read_text() == "b"
    assert str(root).startswith(str(store.path))
    local = mlflow.artifacts.download_artifacts(f"runs:/{run.info.run_id}/out")
    assert (Path(local) / "a.txt").read_text() == "a"
    assert mlflow.artifacts.load_dict(f"runs:/{run.info.run_id}/config.json") == {"k": 1}


# -- logged models ------------------------------------------------------------------------


def test_log_model_makes_a_logged_model_that_loads_and_predicts(uri: str):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.RandomState(0)
    x = rng.rand(60, 3)
    y = (x[:, 0] > 0.5).astype(int)
    model = LogisticRegression().fit(x, y)
    with mlflow.start_run() as run:
        mlflow.log_metric("acc", model.score(x, y))
        info = mlflow.sklearn.log_model(
            model, name="clf", signature=mlflow.models.infer_signature(x, model.predict(x))
        )
    run_id = run.info.run_id
    store = _store(uri)
    stored = store.get_logged_model(info.model_id)
    assert stored.status == "READY" and stored.source_run_id == run_id and stored.name == "clf"
    assert (Path(stored.artifact_location) / "MLmodel").is_file()
    assert Path(stored.artifact_location).is_relative_to(store.path)
    assert [m.model_id for m in store.logged_models_of_run(run_id)] == [info.model_id]
    # log_model links the run's metrics to the model without doubling the run's history.
    assert store.get_run(run_id).data.summaries["acc"].count == 1
    assert [m.key for m in stored.metrics] == ["acc"]
    for model_uri in (info.model_uri, f"runs:/{run_id}/clf"):
        loaded = mlflow.pyfunc.load_model(model_uri)
        assert (loaded.predict(x) == model.predict(x)).all()
    outputs = mlflow.get_run(run_id).outputs.model_outputs
    assert [o.model_id for o in outputs] == [info.model_id]
    found = mlflow.search_logged_models(filter_string="name = 'clf'", output_format="list")
    assert [m.model_id for m in found] == [info.model_id]
    assert mlflow.search_logged_models(filter_string="metrics.acc > 2", output_format="list") == []


def test_logged_model_tags_params_status_and_delete(uri: str):
    client = MlflowClient()
    model = client.create_logged_model("0", name="m", params={"p": "1"}, tags={"t": "x"})
    assert model.status == LoggedModelStatus.PENDING
    client.set_logged_model_tags(model.model_id, {"t": "y", "u": "z"})
    client.delete_logged_model_tag(model.model_id, "u")
    client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    got = client.get_logged_model(model.model_id)
    assert got.tags == {"t": "y"} and got.params == {"p": "1"}
    assert got.status == LoggedModelStatus.READY
    client.delete_logged_model(model.model_id)
    with pytest.raises(MlflowException) as exc:
        client.get_logged_model(model.model_id)
    assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as exc:
        client.get_logged_model("m-../../etc")
    assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"


def test_search_logged_models_orders_and_pages(uri: str):
    client = MlflowClient()
    made = []
    for i in range(7):
        m = client.create_logged_model("0", name=f"m{i}")
        client.log_metric(
            client.create_run("0").info.run_id, "score", float(i), model_id=m.model_id
        )
        made.append(m.model_id)
    store = MltopTrackingStore(uri)
    order = [{"field_name": "metrics.score", "ascending": False}]
    seen, token = [], None
    while True:
        page = store.search_logged_models(["0"], order_by=order, max_results=3, page_token=token)
        seen += [m.model_id for m in page]
        token = page.token
        if not token:
            break
    assert seen == made[::-1]
    with pytest.raises(MlflowException) as exc:
        store.search_logged_models(["0"], filter_string="colour = 'red'")
    assert _code(exc) == "INVALID_PARAMETER_VALUE"


# -- how processes end ------------------------------------------------------------------


def _script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "train.py"
    path.write_text(textwrap.dedent(body))
    return path


def _run(script: Path, uri: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    return subprocess.run(
        [sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def test_a_script_that_never_ends_its_run_keeps_every_point(uri: str, tmp_path: Path):
    script = _script(
        tmp_path,
        """
        import mlflow
        mlflow.log_param("p", 1)
        for i in range(20000):
            mlflow.log_metric("m", i, step=i)
        print(mlflow.active_run().info.run_id)
        """,
    )
    done = _run(script, uri)
    assert done.returncode == 0, done.stderr
    run = _store(uri).get_run(done.stdout.split()[-1])
    assert run.info.status == "FINISHED" and run.data.summaries["m"].count == 20000


def test_a_script_that_raises_ends_its_run_failed_keeping_its_points(uri: str, tmp_path: Path):
    script = _script(
        tmp_path,
        """
        import mlflow
        with mlflow.start_run() as run:
            print(run.info.run_id, flush=True)
            for i in range(5000):
                mlflow.log_metric("m", i, step=i)
            raise RuntimeError("diverged")
        """,
    )
    done = _run(script, uri)
    assert done.returncode == 1 and "diverged" in done.stderr
    run = _store(uri).get_run(done.stdout.split()[0])
    assert run.info.status == "FAILED" and run.data.summaries["m"].count == 5000


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
@pytest.mark.parametrize("within", [True, False], ids=["with-block", "no-with"])
def test_a_stop_signal_commits_what_was_logged_and_ends_the_run_killed(
    uri: str, tmp_path: Path, signum: int, within: bool
):
    # Without a `with` block MLflow's own exit hook ends the run, and would say FINISHED.
    start = (
        "with mlflow.start_run() as run:" if within else "if True:\n    run = mlflow.start_run()"
    )
    script = _script(
        tmp_path,
        f"""
import sys, mlflow
{start}
    for i in range(3000):
        mlflow.log_metric("m", i, step=i)
    print(run.info.run_id, flush=True)
    sys.stdin.readline()  # the test signals us here
""",
    )
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run_id = proc.stdout.readline().strip()
    proc.send_signal(signum)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signum, err  # it dies by the signal, as it would have
    run = _store(uri).get_run(run_id)
    assert run.data.summaries["m"].count == 3000
    assert run.info.status == "KILLED"


def test_an_error_outside_a_with_block_ends_the_run_failed(uri: str, tmp_path: Path):
    script = _script(
        tmp_path,
        """
        import mlflow
        run = mlflow.start_run()
        print(run.info.run_id, flush=True)
        mlflow.log_metric("m", 1.0)
        raise RuntimeError("diverged")
        """,
    )
    done = _run(script, uri)
    assert done.returncode == 1 and "diverged" in done.stderr
    assert _store(uri).get_run(done.stdout.split()[0]).info.status == "FAILED"
