"""MLflow's own registry client on an mltop store (`mlflow.set_tracking_uri("mltop:///...")`).

Every registry call here is MLflow's (`mlflow.MlflowClient`, `mlflow.artifacts`); what it
wrote is read back through mltop: the registry's audit log, `mltop models`, policies. The
source runs are made with mltop's own client, so these tests lean on the registry store.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest
from click.testing import CliRunner
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion, RegisteredModel
from mlflow.exceptions import MlflowException
from mlflow.tracking._model_registry.utils import _get_store_registry
from test_dashboard import NOW, settle, sync
from textual.widgets import DataTable

from mltop.mlflow_plugin.registry import MLFLOW_CLIENT_COMMENT, MltopRegistryStore
from mltop.store import MltopClient, Store
from mltop.store.system import current_user
from mltop.tui.app import MltopApp
from mltop.tui.cli import main
from mltop.tui.screens.registry import RegistryScreen

# MLflow deprecates stages; mltop keeps them (its dashboard moves versions between them).
pytestmark = pytest.mark.filterwarnings("ignore:.*registry stages:FutureWarning")


@pytest.fixture
def mlf(store_path: Path):
    """MLflow's client, with MLflow's tracking URI (and so its registry URI) on the store."""
    mlflow.set_tracking_uri(f"mltop://{store_path}")
    client = MlflowClient()
    yield client
    registry = client._get_registry_client().store
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.tracking.fluent._active_experiment_id = None
    mlflow.set_tracking_uri(None)
    _get_store_registry()._get_store_with_resolved_uri.cache_clear()
    registry.store.close()


@pytest.fixture
def ours(store_path: Path):
    """mltop's own client on the same store: it makes the source runs and reads back."""
    client = MltopClient(Store(store_path))
    yield client
    client.close()


@pytest.fixture
def new_run(ours: MltopClient, tmp_path: Path):
    """A run of the store with metric `acc` and a model folder `model/` in its artifacts."""
    made = iter(range(1000))

    def make(acc: float = 0.95) -> str:
        run_id = ours.create_run(run_name=f"r{next(made)}", log_system_info=False).info.run_id
        ours.log_metric(run_id, "acc", acc)
        ours.flush()
        model = tmp_path / f"model-{run_id}"
        model.mkdir()
        (model / "weights.txt").write_text(f"the weights of {run_id}\n")
        ours.log_artifacts(run_id, model, "model")
        return run_id

    return make


def _version(mlf: MlflowClient, name: str, run_id: str, **kw) -> ModelVersion:
    return mlf.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id, **kw)


def _cli(store_path: Path, *args: str) -> str:
    out = CliRunner().invoke(main, [*args, "--store", str(store_path)])
    assert out.exit_code == 0, out.output
    return out.output


def test_mlflow_finds_the_store_for_the_scheme(mlf, store_path):
    store = mlf._get_registry_client().store
    assert isinstance(store, MltopRegistryStore)
    assert store.store.path == store_path


# -- what MLflow's client does lands in mltop's audit log ---------------------------------


def test_create_transition_archive_alias_and_delete_are_all_logged(mlf, new_run, ours, store_path):
    runs = [new_run(), new_run()]
    created = mlf.create_registered_model("clf", tags={"team": "vision"}, description="d")
    assert isinstance(created, RegisteredModel)
    assert (created.name, created.tags, created.description) == ("clf", {"team": "vision"}, "d")
    v1, v2 = (_version(mlf, "clf", r) for r in runs)
    assert isinstance(v1, ModelVersion)
    assert (v1.version, v2.version, v1.run_id, v1.current_stage) == (1, 2, runs[0], "None")
    assert v1.user_id == current_user() and v1.status == "READY"

    moved = mlf.transition_model_version_stage("clf", "1", "Production")
    assert moved.current_stage == "Production"
    moved = mlf.transition_model_version_stage(
        "clf", "2", "Production", archive_existing_versions=True
    )
    assert moved.current_stage == "Production"
    assert mlf.get_model_version("clf", "1").current_stage == "Archived"
    mlf.set_registered_model_alias("clf", "champion", "2")
    assert mlf.get_model_version_by_alias("clf", "champion").version == 2
    assert mlf.get_registered_model("clf").aliases == {"champion": 2}
    mlf.set_registered_model_alias("clf", "champion", "1")
    mlf.delete_registered_model_alias("clf", "champion")
    with pytest.raises(MlflowException) as missing:
        mlf.get_model_version_by_alias("clf", "champion")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    log = ours.store.registry.history("clf")
    assert [(r.kind, r.version, r.from_stage, r.to_stage, r.alias, r.archived) for r in log] == [
        ("transition", 1, "None", "Production", None, ()),
        ("transition", 2, "None", "Production", None, (1,)),
        ("alias_set", 2, None, None, "champion", ()),
        ("alias_set", 1, None, None, "champion", ()),
        ("alias_delete", 1, None, None, "champion", ()),
    ]
    assert {r.user_id for r in log} == {current_user()}
    assert log[0].comment == log[1].comment == MLFLOW_CLIENT_COMMENT

    # The command line reads the same log and the same registry.
    history = json.loads(_cli(store_path, "models", "history", "clf", "--json"))
    assert [(h["kind"], h["version"], h["user_id"]) for h in history] == [
        (r.kind, r.version, current_user()) for r in log
    ]
    assert "(archived v1)" in _cli(store_path, "models", "history", "clf")
    shown = json.loads(_cli(store_path, "models", "show", "clf", "--json"))
    assert json.dumps(shown).count('"Production"') >= 1

    mlf.delete_model_version("clf", "1")
    with pytest.raises(MlflowException) as gone:
        mlf.get_model_version("clf", "1")
    assert gone.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    mlf.delete_registered_model("clf")
    with pytest.raises(MlflowException) as gone:
        mlf.get_registered_model("clf")
    assert gone.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert json.loads(_cli(store_path, "models", "list", "--json")) == []


@sync
async def test_the_dashboard_shows_what_mlflows_client_moved(mlf, new_run, store_path):
    mlf.create_registered_model("clf")
    for run in (new_run(), new_run()):
        _version(mlf, "clf", run)
    mlf.transition_model_version_stage("clf", "1", "Production")
    mlf.transition_model_version_stage("clf", "2", "Production", archive_existing_versions=True)
    mlf.set_registered_model_alias("clf", "champion", "2")
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, RegistryScreen) and app.screen.versions)
        screen = app.screen
        await pilot.press("h")
        history = screen.query_one("#history", DataTable)
        await settle(pilot, lambda: history.row_count == 3)
        rows = [" | ".join(str(cell) for cell in history.get_row_at(i)) for i in range(3)]
    assert "@champion → v2" in rows[0]  # newest first
    assert "None → Production (archived v1)" in rows[1]
    assert "None → Production" in rows[2]
    assert all(current_user() in row for row in rows)
    assert MLFLOW_CLIENT_COMMENT in rows[1]


def test_archive_existing_versions_is_off_unless_asked_as_in_mlflow(mlf, new_run, ours):
    mlf.create_registered_model("m")
    for _ in range(3):
        _version(mlf, "m", new_run())
    mlf.transition_model_version_stage("m", "1", "Staging")
    mlf.transition_model_version_stage("m", "2", "Staging")
    assert [v.version for v in mlf.get_latest_versions("m", ["Staging"])] == [2]
    assert mlf.get_model_version("m", "1").current_stage == "Staging"
    mlf.transition_model_version_stage("m", "3", "staging", archive_existing_versions=True)
    stages = {v.version: v.current_stage for v in mlf.search_model_versions("name = 'm'")}
    assert stages == {1: "Archived", 2: "Archived", 3: "Staging"}
    assert ours.store.registry.history("m")[-1].archived == (1, 2)
    with pytest.raises(MlflowException) as refused:
        mlf.transition_model_version_stage("m", "3", "Archived", archive_existing_versions=True)
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    assert mlf.get_model_version("m", "3").current_stage == "Staging"


def test_a_failing_policy_refuses_production_and_names_the_clause(mlf, new_run, ours):
    good, bad = new_run(acc=0.95), new_run(acc=0.5)
    mlf.create_registered_model("gated")
    _version(mlf, "gated", good)
    _version(mlf, "gated", bad)
    ours.store.registry.set_policy("gated", "metrics.acc > 0.9")
    with pytest.raises(MlflowException) as refused:
        mlf.transition_model_version_stage("gated", "2", "Production")
    assert refused.value.error_code == "INVALID_STATE"
    assert "metrics.acc > 0.9" in refused.value.message
    assert "0.5" in refused.value.message
    assert "mltop models transition gated 2 Production --force" in refused.value.message
    assert mlf.get_model_version("gated", "2").current_stage == "None"
    assert ours.store.registry.history("gated") == []
    # Staging is not gated; Production is, for a run that passes.
    mlf.transition_model_version_stage("gated", "2", "Staging")
    assert mlf.transition_model_version_stage("gated", "1", "Production").current_stage == (
        "Production"
    )
    [*_, last] = ours.store.registry.history("gated")
    assert (last.version, last.to_stage, last.policy["passed"]) == (1, "Production", True)


# -- MLflow's error codes -----------------------------------------------------------------


def _code(call, *args, **kwargs) -> str:
    with pytest.raises(MlflowException) as caught:
        call(*args, **kwargs)
    return caught.value.error_code


def test_errors_carry_mlflows_codes(mlf, new_run):
    mlf.create_registered_model("m")
    _version(mlf, "m", new_run())
    assert _code(mlf.get_registered_model, "nope") == "RESOURCE_DOES_NOT_EXIST"
    assert _code(mlf.get_latest_versions, "nope") == "RESOURCE_DOES_NOT_EXIST"
    assert _code(mlf.get_model_version, "m", "7") == "RESOURCE_DOES_NOT_EXIST"
    assert _code(mlf.delete_registered_model, "nope") == "RESOURCE_DOES_NOT_EXIST"
    assert _code(mlf.transition_model_version_stage, "m", "7", "Staging") == (
        "RESOURCE_DOES_NOT_EXIST"
    )
    assert _code(mlf.create_model_version, "nope", "runs:/0123/model") == (
        "RESOURCE_DOES_NOT_EXIST"
    )
    assert _code(mlf.create_registered_model, "m") == "RESOURCE_ALREADY_EXISTS"
    mlf.create_registered_model("n")
    assert _code(mlf.rename_registered_model, "n", "m") == "RESOURCE_ALREADY_EXISTS"
    assert _code(mlf.transition_model_version_stage, "m", "1", "Prod") == (
        "INVALID_PARAMETER_VALUE"
    )
    assert _code(mlf.search_registered_models, "name = ") == "INVALID_PARAMETER_VALUE"
    assert _code(mlf.search_model_versions, "stage = 'x'") == "INVALID_PARAMETER_VALUE"
    bad_token = _code(mlf.search_registered_models, page_token="damaged")
    reserved_alias = _code(mlf.set_registered_model_alias, "m", "latest", "1")
    assert bad_token == reserved_alias == "INVALID_PARAMETER_VALUE"
    # A source whose run this store cannot tell, and one naming a run it does not have.
    assert _code(mlf.create_model_version, "m", "/somewhere/model") == "INVALID_PARAMETER_VALUE"
    assert _code(mlf.create_model_version, "m", "runs:/" + "ab" * 16 + "/model") == (
        "RESOURCE_DOES_NOT_EXIST"
    )


def test_what_mltop_lacks_is_refused_with_an_mlflow_exception(mlf):
    assert _code(mlf.create_registered_model, "m", deployment_job_id="job") == (
        "INVALID_PARAMETER_VALUE"
    )
    with pytest.raises(MlflowException, match="not prompts"):
        mlflow.genai.register_prompt("greeting", "Hello {{name}}")
    with pytest.raises(MlflowException, match="webhooks"):
        mlf.create_webhook("hook", "https://example.com/hook", ["registered_model.created"])
    with pytest.raises(MlflowException, match="webhooks"):
        mlf.list_webhooks()
    store = mlf._get_registry_client().store
    with pytest.raises(MlflowException, match="prompts"):
        store.create_prompt("p")
    # MLflow's server asks for the hooks of every registry event: there are none.
    assert list(store.list_webhooks_by_event("registered_model.created")) == []
    assert mlf.search_registered_models() == []


# -- models, versions, tags, searches ----------------------------------------------------


def test_update_rename_tags_and_descriptions(mlf, new_run):
    mlf.create_registered_model("m", tags={"a": "1"})
    run = new_run()
    mv = _version(mlf, "m", run, tags={"t": "x"}, description="first", run_link="http://l")
    assert (mv.tags, mv.description, mv.run_link) == ({"t": "x"}, "first", "http://l")
    assert mlf.update_registered_model("m", "about m").description == "about m"
    mlf.set_registered_model_tag("m", "b", 2)
    mlf.delete_registered_model_tag("m", "a")
    assert mlf.get_registered_model("m").tags == {"b": "2"}
    assert mlf.update_model_version("m", "1", "better").description == "better"
    mlf.set_model_version_tag("m", "1", "u", "y")
    mlf.delete_model_version_tag("m", "1", "t")
    assert mlf.get_model_version("m", "1").tags == {"u": "y"}
    mlf.rename_registered_model("m", "m2")  # MLflow's client returns None
    assert mlf.get_registered_model("m2").tags == {"b": "2"}
    assert mlf.get_model_version("m2", "1").run_id == run
    assert _code(mlf.get_registered_model, "m") == "RESOURCE_DOES_NOT_EXIST"
    latest = mlf.get_registered_model("m2").latest_versions
    assert [(v.version, v.current_stage) for v in latest] == [(1, "None")]


def test_search_registered_models_filters_orders_and_pages(mlf):
    for name, team in (("alpha", "a"), ("beta", "b"), ("gamma", "a"), ("delta", "a")):
        mlf.create_registered_model(name, tags={"team": team})
    found = mlf.search_registered_models("tags.team = 'a'", order_by=["name DESC"])
    assert [m.name for m in found] == ["gamma", "delta", "alpha"]
    assert [m.name for m in mlf.search_registered_models("name LIKE '%a'")] == [
        "alpha",
        "beta",
        "delta",
        "gamma",
    ]
    assert [m.name for m in mlf.search_registered_models("name IN ('beta', 'zeta')")] == ["beta"]
    pages, token = [], None
    while True:
        page = mlf.search_registered_models(max_results=3, page_token=token)
        pages.append([m.name for m in page])
        token = page.token
        if token is None:
            break
    assert pages == [["alpha", "beta", "delta"], ["gamma"]]


def test_search_model_versions_filters_orders_and_pages(mlf, new_run):
    runs = [new_run(), new_run()]
    for name in ("a", "b"):
        mlf.create_registered_model(name)
        for run in runs:
            _version(mlf, name, run, tags={"run": run[:4]})
    by_run = mlf.search_model_versions(f"run_id = '{runs[1]}'", order_by=["name DESC"])
    assert [(v.name, v.version) for v in by_run] == [("b", 2), ("a", 2)]
    assert [v.version for v in mlf.search_model_versions("name = 'a' AND version_number > 1")] == [
        2
    ]
    tagged = mlf.search_model_versions(f"tags.run = '{runs[0][:4]}'", order_by=["name"])
    assert [(v.name, v.version) for v in tagged] == [("a", 1), ("b", 1)]
    first = mlf.search_model_versions(max_results=3, order_by=["name", "version_number"])
    rest = mlf.search_model_versions(
        max_results=3, order_by=["name", "version_number"], page_token=first.token
    )
    assert [(v.name, v.version) for v in [*first, *rest]] == [
        ("a", 1),
        ("a", 2),
        ("b", 1),
        ("b", 2),
    ]
    assert rest.token is None


def test_copy_model_version_and_the_download_uri(mlf, new_run, ours):
    run = new_run()
    mlf.create_registered_model("src")
    _version(mlf, "src", run, tags={"k": "v"})
    copy = mlf.copy_model_version("models:/src/1", "dst")
    assert (copy.name, copy.version, copy.run_id, copy.tags) == ("dst", 1, run, {"k": "v"})
    where = Path(mlf.get_model_version_download_uri("dst", "1"))
    assert (where / "weights.txt").read_text() == f"the weights of {run}\n"
    assert where.is_relative_to(ours.store.path)


# -- models:/ URIs and logged models, through MLflow's own calls ------------------------


def _logged_model(mlf: MlflowClient, run, tmp_path: Path, text: str) -> str:
    """A logged model of `run` (MLflow 3's), holding weights.txt = `text`; its id."""
    model = mlf.create_logged_model(run.info.experiment_id, source_run_id=run.info.run_id)
    files = tmp_path / model.model_id
    files.mkdir()
    (files / "weights.txt").write_text(text)
    mlf.log_model_artifacts(model.model_id, str(files))
    return model.model_id


def test_models_uris_resolve_through_mlflow(mlf, ours, tmp_path):
    with mlflow.start_run() as run:
        ids = [_logged_model(mlf, run, tmp_path, f"weights {i}") for i in (1, 2, 3)]
    for model_id in ids:
        mlflow.register_model(f"models:/{model_id}", "clf")
    second = mlf.get_model_version("clf", "2")
    assert (second.source, second.model_id) == (f"models:/{ids[1]}", ids[1])
    assert second.run_id == run.info.run_id  # the logged model's run: the version links to it
    mlf.transition_model_version_stage("clf", "1", "Production")
    mlf.set_registered_model_alias("clf", "champion", "2")
    expected = {
        "models:/clf/Production": 1,
        "models:/clf@champion": 2,
        "models:/clf/3": 3,
        "models:/clf/latest": 3,
    }
    for n, (uri, version) in enumerate(expected.items()):
        got = Path(mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / f"dl{n}")))
        assert (got / "weights.txt").read_text() == f"weights {version}", uri
        assert ours.store.registry.resolve(uri).version == version  # mltop reads it alike
    with pytest.raises(MlflowException, match="Staging"):
        mlflow.artifacts.download_artifacts("models:/clf/Staging", dst_path=str(tmp_path / "s"))


def test_log_model_registers_and_the_registered_model_loads_back(mlf, ours, tmp_path):
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
    fitted = LogisticRegression().fit(x, np.array([0, 0, 0, 1, 1, 1]))
    with mlflow.start_run() as run:
        mlflow.log_metric("acc", 0.97)
        info = mlflow.sklearn.log_model(
            fitted, name="model", registered_model_name="clf", pip_requirements=[]
        )
    assert info.registered_model_version == 1
    ours.store.registry.set_policy("clf", "metrics.acc > 0.9")
    mlf.transition_model_version_stage("clf", "1", "Production")
    mlf.set_registered_model_alias("clf", "champion", "1")
    for uri in ("models:/clf@champion", "models:/clf/Production"):
        loaded = mlflow.pyfunc.load_model(uri)
        assert list(loaded.predict(x)) == list(fitted.predict(x))
    version = ours.store.registry.get_model_version("clf", 1)
    assert (version.source, version.run_id) == (info.model_uri, run.info.run_id)
    # A run's model by its runs:/ URI: MLflow registers the logged model it names.
    again = mlflow.register_model(f"runs:/{run.info.run_id}/model", "from-run")
    assert (again.source, again.run_id) == (info.model_uri, run.info.run_id)


def test_a_script_may_promote_what_it_just_logged_under_a_policy(mlf, ours, tmp_path):
    mlf.create_registered_model("m")
    ours.store.registry.set_policy("m", "metrics.acc > 0.9")
    with mlflow.start_run() as run:
        mlflow.log_metric("acc", 0.95)  # held in the tracking store's buffer
        version = mlflow.register_model(
            f"models:/{_logged_model(mlf, run, tmp_path, 'w')}", "m"
        ).version
        moved = mlf.transition_model_version_stage("m", version, "Production")
    assert moved.current_stage == "Production"
    assert ours.store.registry.history("m")[-1].policy["passed"] is True


def test_a_registry_in_another_store_than_the_runs_is_refused_up_front(tmp_path):
    from mlflow.tracking._model_registry.utils import _get_store_registry

    other = tmp_path / "registry"
    with pytest.raises(MlflowException, match="set both to") as exc:
        _get_store_registry().get_store(f"mltop://{other}", f"mltop://{tmp_path / 'runs'}")
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException, match="set both to"):
        _get_store_registry().get_store(f"mltop://{other}", f"sqlite:///{tmp_path}/mlflow.db")
    assert not other.exists()  # nothing made where nothing will be used
