"""`mltop import mlflow http://SERVER`: a tracking server filled by MLflow's OWN client,
imported over REST into a fresh store and checked through mltop's read API. The server is
the session's (shared): everything here has a unique name and only those are looked at."""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from server_fixture import free_port

from mltop.store import Store
from mltop.store.entities import RunModel
from mltop.store.imports import ImportSourceError, import_mlflow
from mltop.store.server.registry import TRAIL_PREFIX, ServerRegistry
from mltop.store.server.rest import RestClient
from mltop.tui.cli import main


@dataclass
class Filled:
    url: str
    exp: str
    gone: str  # an experiment deleted on the server, with one run
    far: str  # an experiment whose artifacts the server does not proxy
    model: str
    runs: dict[str, str]  # name -> run id


@pytest.fixture(scope="module")
def filled(mlflow_server) -> Filled:
    import mlflow

    url = mlflow_server.url
    client = mlflow.MlflowClient(tracking_uri=url, registry_uri=url)
    tag = uuid.uuid4().hex[:10]
    exp_name, gone_name, far_name = f"imp-{tag}", f"imp-gone-{tag}", f"imp-far-{tag}"
    exp = client.create_experiment(exp_name, tags={"team": "[bold]vision[/]"})
    train = client.create_run(exp, run_name="train", tags={"note": "[red]not markup[/]"})
    rid = train.info.run_id
    client.log_param(rid, "lr", "0.1")
    client.log_param(rid, "layers", "4")
    for step in range(3):
        client.log_metric(rid, "loss", 1.0 / (step + 1), timestamp=1_700_000_000_000 + step,
                          step=step)  # fmt: skip
    client.log_metric(rid, "weird", math.nan, timestamp=1_700_000_000_100, step=0)
    client.log_metric(rid, "weird", math.inf, timestamp=1_700_000_000_101, step=1)
    client.log_metric(rid, "weird", -math.inf, timestamp=1_700_000_000_102, step=2)
    client.log_text(rid, "hello [b]there[/b]\n", "notes/readme.txt")
    client.log_dict(rid, {"depth": 4}, "config.json")
    client.set_terminated(rid, "FINISHED")
    child = client.create_run(exp, run_name="child", tags={"mlflow.parentRunId": rid})
    client.log_metric(child.info.run_id, "acc", 0.5, step=0)
    client.set_terminated(child.info.run_id, "FAILED")
    dropped = client.create_run(exp, run_name="dropped")
    client.set_terminated(dropped.info.run_id, "KILLED")
    client.delete_run(dropped.info.run_id)

    gone = client.create_experiment(gone_name)
    client.create_run(gone, run_name="in-gone")
    client.delete_experiment(gone)
    far = client.create_experiment(far_name, artifact_location="s3://nowhere-bucket/imp")
    client.create_run(far, run_name="far-run")

    model = f"imp-model-{tag}"
    client.create_registered_model(model, tags={"owner": "ana"}, description="a model")
    for _ in range(2):
        client.create_model_version(model, f"runs:/{rid}/model", run_id=rid,
                                    tags={"kind": "cnn"})  # fmt: skip
    client.transition_model_version_stage(model, "1", "Production")
    client.set_registered_model_alias(model, "champion", "2")
    client.update_model_version(model, "2", description="second")
    runs = {"train": rid, "child": child.info.run_id, "dropped": dropped.info.run_id}
    return Filled(url, exp_name, gone_name, far_name, model, runs)


def test_a_server_imports_with_its_runs_points_artifacts_and_registry(
    filled: Filled, tmp_path: Path
) -> None:
    summary = import_mlflow(filled.url, tmp_path / "store")
    assert summary.kind == "tracking server" and summary.source == filled.url
    assert summary.added["runs"] >= 5 and summary.added["artifact files"] >= 2
    with Store(tmp_path / "store") as store:
        exp = store.get_experiment_by_name(filled.exp)
        assert exp is not None and exp.tags["team"] == "[bold]vision[/]"
        runs = {r.info.run_name: r for r in store.list_runs([exp.experiment_id], view="all")}
        assert {n: r.info.run_id for n, r in runs.items()} == filled.runs  # the same ids
        train = store.get_run(filled.runs["train"])
        assert train.info.status == "FINISHED" and train.info.end_time is not None
        assert train.data.params == {"lr": "0.1", "layers": "4"}
        assert train.data.tags["note"] == "[red]not markup[/]"
        loss = store.get_metric_history(filled.runs["train"], "loss")
        assert [(p.step, p.value) for p in loss] == [(0, 1.0), (1, 0.5), (2, 1 / 3)]
        assert [p.timestamp for p in loss] == [1_700_000_000_000 + s for s in range(3)]
        weird = [p.value for p in store.get_metric_history(filled.runs["train"], "weird")]
        assert math.isnan(weird[0]) and weird[1:] == [math.inf, -math.inf]
        child = store.get_run(filled.runs["child"])
        assert child.info.parent_run_id == filled.runs["train"]
        assert child.info.status == "FAILED"
        assert store.get_run(filled.runs["dropped"]).info.lifecycle_stage == "deleted"
        folder = store.path / "artifacts" / filled.runs["train"]
        assert (folder / "notes" / "readme.txt").read_text() == "hello [b]there[/b]\n"
        assert json.loads((folder / "config.json").read_text()) == {"depth": 4}
        # A deleted experiment comes over, deleted, with its run.
        gone = store.get_experiment_by_name(filled.gone)
        assert gone is not None and gone.lifecycle_stage == "deleted"
        assert [r.info.run_name for r in store.list_runs([gone.experiment_id], view="all")] == [
            "in-gone"
        ]
        # The registry, through mltop's own registry API.
        registry = store.registry
        assert registry.get_registered_model(filled.model).description == "a model"
        assert registry.get_registered_model(filled.model).tags == {"owner": "ana"}
        v1 = registry.get_model_version(filled.model, 1)
        v2 = registry.get_model_version(filled.model, 2)
        assert (v1.current_stage, v2.current_stage) == ("Production", "None")
        assert v2.description == "second" and v1.tags == {"kind": "cnn"}
        assert v1.run_id == filled.runs["train"]
        assert registry.resolve(f"models:/{filled.model}@champion").version == 2
        moves = [h for h in registry.history(filled.model) if h.kind == "transition"]
        assert sorted((h.version, h.to_stage) for h in moves) == [(1, "Production"), (2, "None")]
        assert all(f"imported from MLflow ({filled.url})" == h.comment for h in moves)
    # A run whose artifacts the server does not proxy: said, the run imported anyway.
    far = [p for p in summary.skipped if "s3://nowhere-bucket" in p.reason]
    assert len(far) == 1 and "not served by the tracking server" in far[0].reason


def count_fetches(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The artifact downloads made from now on (their paths)."""
    fetched: list[str] = []
    real = RestClient.artifact_get

    def counting(self: RestClient, path: str):  # type: ignore[no-untyped-def]
        fetched.append(path)
        return real(self, path)

    monkeypatch.setattr(RestClient, "artifact_get", counting)
    return fetched


def test_a_second_import_adds_nothing_and_a_newer_server_adds_what_is_new(
    filled: Filled, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    first = import_mlflow(filled.url, tmp_path / "store", experiments=[filled.exp])
    assert first.added["metric points"] == 7 and first.added["runs"] == 3
    fetched = count_fetches(monkeypatch)
    histories: list[dict] = []
    real_call = RestClient.call

    def call(self: RestClient, method: str, endpoint: str, body=None, **kw):  # type: ignore[no-untyped-def]
        answer = real_call(self, method, endpoint, body, **kw)
        if endpoint == "metrics/get-history":
            histories.append(answer)
        return answer

    monkeypatch.setattr(RestClient, "call", call)
    again = import_mlflow(filled.url, tmp_path / "store", experiments=[filled.exp])
    assert (again.total_added, again.total_updated) == (0, 0)
    assert again.existing["metric points"] == 7 and again.existing["artifact files"] == 2
    assert fetched == []  # the files there already are not downloaded again
    # Each metric is read on from where the store's copy ends: no point read again.
    assert histories and not any(h.get("metrics") for h in histories)
    # A file changed in the store (another size) is fetched again, and only it.
    copy = tmp_path / "store" / "artifacts" / filled.runs["train"] / "config.json"
    copy.write_text("{}")
    fixed = import_mlflow(filled.url, tmp_path / "store", experiments=[filled.exp])
    assert fixed.added["artifact files"] == 1 and len(fetched) == 1
    assert json.loads(copy.read_text()) == {"depth": 4}
    # A server that moves on (an experiment of this test's own): a new point of a run
    # that was RUNNING, its end, a new tag, a new run.
    client = mlflow.MlflowClient(tracking_uri=filled.url)
    name = f"imp-grow-{uuid.uuid4().hex[:10]}"
    exp = client.create_experiment(name)
    live = client.create_run(exp, run_name="live").info.run_id
    client.log_metric(live, "acc", 0.5, step=0)
    import_mlflow(filled.url, tmp_path / "store", experiments=[name])
    client.log_metric(live, "acc", 0.75, step=1)
    client.set_tag(live, "phase", "two")
    client.set_terminated(live, "FINISHED")
    extra = client.create_run(exp, run_name="extra").info.run_id
    newer = import_mlflow(filled.url, tmp_path / "store", experiments=[name])
    assert newer.added["runs"] == 1 and newer.added["metric points"] == 1
    assert newer.existing["metric points"] == 1 and newer.updated["runs"] == 1
    with Store(tmp_path / "store") as store:
        assert store.get_run(extra).info.status == "RUNNING"
        run = store.get_run(live)
        assert run.info.status == "FINISHED" and run.data.tags["phase"] == "two"
        assert [p.value for p in store.get_metric_history(live, "acc")] == [0.5, 0.75]


def test_the_registry_is_idempotent_too(filled: Filled, tmp_path: Path) -> None:
    import_mlflow(filled.url, tmp_path / "store")
    again = import_mlflow(filled.url, tmp_path / "store")
    assert again.total_added == 0, dict(again.added)
    with Store(tmp_path / "store") as store:
        moves = [h for h in store.registry.history(filled.model) if h.kind == "transition"]
        assert len(moves) == 2


def test_mltops_trail_on_the_server_becomes_the_history_not_user_tags(
    filled: Filled, tmp_path: Path
) -> None:
    import mlflow

    name = f"imp-trail-{uuid.uuid4().hex[:10]}"
    client = mlflow.MlflowClient(tracking_uri=filled.url, registry_uri=filled.url)
    client.create_registered_model(name)
    for _ in range(2):
        client.create_model_version(name, f"runs:/{filled.runs['train']}/model",
                                    run_id=filled.runs["train"])  # fmt: skip
    rest = RestClient(filled.url, max_retries=0)
    try:
        reg = ServerRegistry(rest)
        reg.transition(name, 1, "Staging", "by mltop [b]x[/b]", user="ana")
        reg.set_alias(name, "best", 1, user="bo")
    finally:
        rest.close()
    assert any(k.startswith(TRAIL_PREFIX) for k in client.get_model_version(name, "1").tags)
    first = import_mlflow(filled.url, tmp_path / "store")
    with Store(tmp_path / "store") as store:
        version = store.registry.get_model_version(name, 1)
        assert version.current_stage == "Staging"
        assert not any(k.startswith("mltop.") for k in version.tags)
        history = store.registry.history(name)
        mine = [(h.version, h.kind, h.from_stage, h.to_stage, h.alias, h.user_id, h.comment)
                for h in history]  # fmt: skip
        # Version 1's moves are mltop's records as they were (no made-up 'imported' one);
        # version 2, of which the trail says nothing, has the one imported transition.
        assert mine == [
            (2, "transition", "None", "None", None, store.registry.get_model_version(
                name, 2).user_id, f"imported from MLflow ({filled.url})"),
            (1, "transition", "None", "Staging", None, "ana", "by mltop [b]x[/b]"),
            (1, "alias_set", None, None, "best", "bo", ""),
        ]  # fmt: skip
    assert first.added["registry history"] >= 2
    # Again: nothing new. Then a move made by MLflow's own client: one imported move.
    again = import_mlflow(filled.url, tmp_path / "store")
    assert again.added["registry history"] == 0 and again.total_added == 0
    client.transition_model_version_stage(name, "1", "Production")
    dry = import_mlflow(filled.url, tmp_path / "store", dry_run=True)
    assert dry.added["registry history"] == 1  # counted, not written:
    with Store(tmp_path / "store") as store:
        assert len(store.registry.history(name)) == 3
    import_mlflow(filled.url, tmp_path / "store")
    with Store(tmp_path / "store") as store:
        moves = [h for h in store.registry.history(name, 1) if h.kind == "transition"]
        assert [(h.from_stage, h.to_stage) for h in moves] == [
            ("None", "Staging"),
            ("Staging", "Production"),
        ]
        assert "imported from MLflow" in moves[-1].comment
        assert store.registry.get_model_version(name, 1).current_stage == "Production"


def test_dry_run_writes_nothing_and_counts_what_would_come(
    filled: Filled, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetched = count_fetches(monkeypatch)
    summary = import_mlflow(filled.url, tmp_path / "store", dry_run=True,
                            experiments=[filled.exp])  # fmt: skip
    assert summary.dry_run and summary.added["runs"] == 3
    assert summary.added["metric points"] == 7 and summary.added["artifact files"] == 2
    assert not (tmp_path / "store").exists()
    assert fetched == []  # counted from the listing: nothing downloaded


def test_an_unreachable_server_is_a_clear_error_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ImportSourceError, match="cannot import from http://127.0.0.1"):
        import_mlflow(url, tmp_path / "store")
    assert not (tmp_path / "store").exists()
    result = CliRunner().invoke(main, ["import", "mlflow", url, "--store", str(tmp_path / "s")])
    assert result.exit_code != 0
    assert "cannot import from" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "s").exists()


def test_the_cli_imports_a_server_and_prints_the_summary(filled: Filled, tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    args = ["import", "mlflow", filled.url, "--store", store, "--experiment", filled.exp]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert f"MLflow tracking server {filled.url}" in result.output
    result = CliRunner().invoke(main, [*args, "--json"])
    data = json.loads(result.output)
    assert data["kind"] == "tracking server" and data["added"] == {}
    assert data["existing"]["runs"] == 3


def test_datasets_and_logged_models_come_over_from_a_server(filled: Filled, tmp_path: Path) -> None:
    import mlflow
    from mlflow.entities import Dataset, DatasetInput, InputTag, LoggedModelOutput

    from mltop.store.server.artifacts import proxied_root

    client = mlflow.MlflowClient(tracking_uri=filled.url)
    name = f"imp-lm-{uuid.uuid4().hex[:10]}"
    exp = client.create_experiment(name)
    run_id = client.create_run(exp, run_name="fit").info.run_id
    dataset = Dataset("train-df", "a27a57c9", "local", '{"uri": "/data/train.csv"}')
    client.log_inputs(run_id, [DatasetInput(dataset, [InputTag("mlflow.data.context",
                                                               "training")])])  # fmt: skip
    model = client.create_logged_model(exp, name="lm", source_run_id=run_id,
                                       params={"p": "1"}, tags={"k": "v"})  # fmt: skip
    rest = RestClient(filled.url, max_retries=0)
    try:
        root = proxied_root(model.artifact_location)
        rest.artifact_put(f"{root}/MLmodel", b"flavors: {}\n")
    finally:
        rest.close()
    client.finalize_logged_model(model.model_id, "READY")
    client.log_outputs(run_id, [LoggedModelOutput(model.model_id, step=3)])
    client.log_metric(run_id, "acc", 0.5, model_id=model.model_id)
    summary = import_mlflow(filled.url, tmp_path / "store", experiments=[name])
    assert summary.added["dataset inputs"] == 1 and summary.added["logged models"] == 1
    with Store(tmp_path / "store") as store:
        (used,) = store.get_run(run_id).inputs.dataset_inputs
        assert (used.dataset.name, used.dataset.digest, used.context) == (
            "train-df",
            "a27a57c9",
            "training",
        )
        logged = store.get_logged_model(model.model_id)
        assert (logged.name, logged.status, logged.source_run_id) == ("lm", "READY", run_id)
        assert logged.params == {"p": "1"} and logged.tags == {"k": "v"}
        assert [(m.key, m.value, m.run_id) for m in logged.metrics] == [("acc", 0.5, run_id)]
        assert set(store.logged_model_files(model.model_id)) == {"MLmodel"}
        assert RunModel(model.model_id, "output", 3) in store.logged_models.run_links(run_id)
    again = import_mlflow(filled.url, tmp_path / "store", experiments=[name])
    assert again.total_added == 0 and again.existing["logged models"] == 1


def test_a_server_gone_midway_stops_with_its_error_and_a_new_import_goes_on(
    filled: Filled, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mltop.store.errors import ServerUnreachableError

    real_call = RestClient.call
    histories = 0

    def failing(self: RestClient, method: str, endpoint: str, body=None, **kw):  # type: ignore[no-untyped-def]
        nonlocal histories
        if endpoint == "metrics/get-history":
            histories += 1
            if histories > 1:
                raise ServerUnreachableError(f"tracking server {self.url} cannot be reached")
        return real_call(self, method, endpoint, body, **kw)

    monkeypatch.setattr(RestClient, "call", failing)
    args = ["import", "mlflow", filled.url, "--store", str(tmp_path / "store"),
            "--experiment", filled.exp]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "cannot be reached" in result.output and "Traceback" not in result.output
    monkeypatch.setattr(RestClient, "call", real_call)
    summary = import_mlflow(filled.url, tmp_path / "store", experiments=[filled.exp])
    with Store(tmp_path / "store") as store:
        history = store.get_metric_history(filled.runs["train"], "loss")
        assert [p.step for p in history] == [0, 1, 2]
    assert summary.added["metric points"] + summary.existing["metric points"] == 7


def test_the_reader_takes_mlflows_credentials_and_tls_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mltop.store.imports.mlflow_server import ServerReader

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ana")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "s3cret")
    monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "true")
    reader = ServerReader("https://user:pw@mlflow.example:5000/")
    try:
        creds = reader.rest.credentials
        assert (creds.username, creds.password, creds.verify) == ("ana", "s3cret", False)
        assert reader.label == "https://mlflow.example:5000"  # no secret in what is shown
    finally:
        reader.close()
