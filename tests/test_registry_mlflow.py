"""The model registry under MLflow's names, used as an MLflow script uses MlflowClient.

The searches, latest-versions and transition cases are ported from MLflow's
tests/store/model_registry/test_sqlalchemy_store.py (their data, their expected answers;
MLflow's made-up run ids become runs of this store, which a version's run must be). The
rest is what mltop keeps beside MLflow: the audit log, policies and required comments.
"""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mltop.store.sqlite.registry as sqlite_registry
from mltop import store as mlflow
from mltop.store import (
    AlreadyExistsError,
    CommentRequiredError,
    FilterError,
    InvalidValueError,
    MltopClient,
    NotFoundError,
    PageTokenError,
    PolicyError,
    ValidationError,
)
from mltop.store.entities import ModelVersion, RegisteredModel


@pytest.fixture
def clock(monkeypatch):
    """The registry's clock, one millisecond further at each reading: times are distinct
    and ordered as the calls were made."""
    ticks = itertools.count(1_700_000_000_000)
    monkeypatch.setattr(sqlite_registry, "now_ms", lambda: next(ticks))


@pytest.fixture
def new_run(client):
    def make(name: str = "r", acc: float | None = None) -> str:
        run_id = client.create_run(run_name=name, log_system_info=False).info.run_id
        if acc is not None:
            client.log_metrics(run_id, {"val_acc": acc})
            client.flush()
        return run_id

    return make


def _mv(client: MltopClient, name: str, new_run, source="path/to/source", run_id=None, **kw):
    return client.create_model_version(name, source, run_id or new_run(), **kw)


# -- registered models --------------------------------------------------------------------


def test_create_get_and_duplicate_registered_model(client):
    tags = {"key": "value", "anotherKey": "some other value"}
    rm = client.create_registered_model("model_1", tags)
    assert isinstance(rm, RegisteredModel)
    got = client.get_registered_model("model_1")
    assert got.name == "model_1" and got.tags == tags
    assert got.creation_timestamp == got.last_updated_timestamp > 0
    assert got.latest_versions == []
    assert got.description == ""  # MLflow says None: ours is never-set text
    with pytest.raises(AlreadyExistsError, match="model_1"):
        client.create_registered_model("model_1")
    for name in ("model_1extra", "model_1model_1"):
        assert client.create_registered_model(name).name == name
    described = client.create_registered_model("m3", description="the best model ever")
    assert described.description == "the best model ever"
    for bad in (None, ""):
        with pytest.raises(ValidationError):
            client.create_registered_model(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="Databricks"):
        client.create_registered_model("m4", deployment_job_id="job")


def test_update_and_rename_registered_model(client, new_run, clock):
    client.create_registered_model("original name")
    _mv(client, "original name", new_run)
    _mv(client, "original name", new_run)
    before = client.get_registered_model("original name")
    updated = client.update_registered_model("original name", "test model")
    assert updated.description == "test model"
    assert updated.last_updated_timestamp > before.last_updated_timestamp
    renamed = client.rename_registered_model("original name", "new name")
    assert renamed.name == "new name"
    assert [client.get_model_version("new name", v).name for v in (1, 2)] == ["new name"] * 2
    with pytest.raises(NotFoundError):
        client.get_registered_model("original name")
    client.create_registered_model("original name")
    with pytest.raises(AlreadyExistsError):
        client.rename_registered_model("new name", "original name")
    for bad in (None, ""):
        with pytest.raises(ValidationError):
            client.rename_registered_model("original name", bad)  # type: ignore[arg-type]


def test_delete_registered_model(client, new_run):
    client.create_registered_model("model_for_delete_RM")
    _mv(client, "model_for_delete_RM", new_run)
    client.delete_registered_model("model_for_delete_RM")
    with pytest.raises(NotFoundError):
        client.get_registered_model("model_for_delete_RM")
    with pytest.raises(NotFoundError):
        client.update_registered_model("model_for_delete_RM", "deleted")
    with pytest.raises(NotFoundError):
        client.delete_registered_model("model_for_delete_RM")
    with pytest.raises(NotFoundError):
        client.get_model_version("model_for_delete_RM", 1)


def test_registered_model_tags(client):
    initial = {"key": "value", "anotherKey": "some other value"}
    client.create_registered_model("SetRegisteredModelTag_TestMod", initial)
    client.create_registered_model("SetRegisteredModelTag_TestMod 2", initial)
    client.set_registered_model_tag("SetRegisteredModelTag_TestMod", "randomTag", "not random")
    client.set_registered_model_tag("SetRegisteredModelTag_TestMod", "key", "overriding")
    assert client.get_registered_model("SetRegisteredModelTag_TestMod").tags == {
        "key": "overriding",
        "anotherKey": "some other value",
        "randomTag": "not random",
    }
    assert client.get_registered_model("SetRegisteredModelTag_TestMod 2").tags == initial
    client.delete_registered_model_tag("SetRegisteredModelTag_TestMod", "randomTag")
    client.delete_registered_model_tag("SetRegisteredModelTag_TestMod", "never-set")
    assert "randomTag" not in client.get_registered_model("SetRegisteredModelTag_TestMod").tags
    with pytest.raises(NotFoundError):
        client.set_registered_model_tag("no such model", "k", "v")
    with pytest.raises(NotFoundError):
        client.delete_registered_model_tag("no such model", "k")


def test_get_latest_versions(client, new_run):
    name = "test_for_latest_versions"
    client.create_registered_model(name)
    assert client.get_registered_model(name).latest_versions == []

    def by_stage(versions: list[ModelVersion]) -> dict[str, str]:
        return {mv.current_stage: str(mv.version) for mv in versions}

    assert _mv(client, name, new_run).version == 1
    assert by_stage(client.get_registered_model(name).latest_versions) == {"None": "1"}
    for stage in ("Production", "Production", "Staging"):
        mv = _mv(client, name, new_run)
        client.transition_model_version_stage(
            mv.name, mv.version, stage, archive_existing_versions=False, comment="ship"
        )
    expected = {"None": "1", "Production": "3", "Staging": "4"}
    assert by_stage(client.get_registered_model(name).latest_versions) == expected
    assert client.get_registered_model(name).latest_by_stage == {
        "None": 1,
        "Production": 3,
        "Staging": 4,
    }
    assert by_stage(client.get_latest_versions(name, stages=None)) == expected
    assert by_stage(client.get_latest_versions(name, stages=[])) == expected
    for stages in (["Production"], ["production"], ["pROduction"]):
        assert by_stage(client.get_latest_versions(name, stages)) == {"Production": "3"}
    assert by_stage(client.get_latest_versions(name, ["None", "Production"])) == {
        "None": "1",
        "Production": "3",
    }
    client.delete_model_version(name, 3)
    assert by_stage(client.get_latest_versions(name)) == {
        "None": "1",
        "Production": "2",
        "Staging": "4",
    }


# -- model versions -----------------------------------------------------------------------


def test_create_model_version_has_mlflows_fields(client, new_run):
    run_id = new_run()
    client.create_registered_model("m")
    mv = client.create_model_version(
        "m",
        f"runs:/{run_id}/model",
        tags={"k": "v"},
        run_link="http://example.com/run",
        description="first",
    )
    assert (mv.name, mv.version, mv.run_id, mv.source) == ("m", 1, run_id, f"runs:/{run_id}/model")
    assert mv.status == "READY" and mv.status_message is None
    assert mv.current_stage == "None" and mv.user_id == "tester"
    assert mv.tags == {"k": "v"} and mv.run_link == "http://example.com/run"
    assert mv.aliases == [] and mv.description == "first"
    assert mv.creation_timestamp == mv.last_updated_timestamp > 0
    # A script passes back the version as MLflow's REST client hands it: a string.
    assert client.get_model_version("m", "1") == mv == client.get_model_version("m", 1)
    # The registered model must exist, as in MLflow's client.
    with pytest.raises(NotFoundError):
        client.create_model_version("missing", f"runs:/{run_id}/model")
    # A logged model named beside the source must be one of the store's.
    with pytest.raises(NotFoundError, match="no logged model"):
        client.create_model_version("m", f"runs:/{run_id}/model", model_id="m-123")


def test_update_and_delete_model_version(client, new_run, clock):
    client.create_registered_model("test_for_update_MV")
    mv = _mv(client, "test_for_update_MV", new_run)
    updated = client.update_model_version(mv.name, mv.version, description="test model version")
    assert updated.description == "test model version"
    assert updated.last_updated_timestamp > mv.last_updated_timestamp
    assert updated.current_stage == "None"
    client.delete_model_version(mv.name, mv.version)
    with pytest.raises(NotFoundError):
        client.get_model_version(mv.name, mv.version)
    with pytest.raises(NotFoundError):
        client.update_model_version(mv.name, mv.version, description="deleted!")
    with pytest.raises(NotFoundError):
        client.delete_model_version(mv.name, mv.version)


def test_model_version_tags_by_version_and_by_stage(client, new_run):
    client.create_registered_model("m")
    mv1 = _mv(client, "m", new_run, tags={"key": "value"})
    mv2 = _mv(client, "m", new_run)
    client.transition_model_version_stage("m", mv2.version, "Staging")
    client.set_model_version_tag("m", "1", "randomTag", "not a random value")
    client.set_model_version_tag("m", key="t1", value="1", stage="staging")
    assert client.get_model_version("m", 1).tags == {
        "key": "value",
        "randomTag": "not a random value",
    }
    assert client.get_model_version("m", 2).tags == {"t1": "1"}
    client.delete_model_version_tag("m", mv1.version, "key")
    client.delete_model_version_tag("m", key="t1", stage="Staging")
    assert client.get_model_version("m", 1).tags == {"randomTag": "not a random value"}
    assert client.get_model_version("m", 2).tags == {}
    with pytest.raises(ValidationError, match="exactly one of version and stage"):
        client.set_model_version_tag("m", "1", "k", "v", stage="Staging")
    with pytest.raises(ValidationError, match="exactly one of version and stage"):
        client.delete_model_version_tag("m", key="k")
    with pytest.raises(NotFoundError, match="no version in Production"):
        client.set_model_version_tag("m", key="k", value="v", stage="Production")


def test_copy_model_version_and_download_uri(client, new_run):
    run_id = new_run()
    client.create_registered_model("src")
    mv = client.create_model_version("src", f"runs:/{run_id}/model", tags={"k": "v"})
    copied = client.copy_model_version("models:/src/1", "dst")
    assert (copied.name, copied.version, copied.source, copied.run_id, copied.tags) == (
        "dst",
        1,
        mv.source,
        run_id,
        {"k": "v"},
    )
    assert client.copy_model_version("models:/src/1", "dst").version == 2
    uri = client.get_model_version_download_uri("src", "1")
    assert uri == client.get_run(run_id).info.artifact_uri.rstrip("/") + "/model"
    with pytest.raises(NotFoundError):
        client.get_model_version_download_uri("src", "2")


def test_a_version_of_a_logged_model_comes_from_its_run(client, new_run):
    run_id = new_run()
    logged = client.store.create_logged_model(name="clf", source_run_id=run_id)
    client.create_registered_model("m")
    mv = client.create_model_version("m", f"models:/{logged.model_id}")
    assert (mv.source, mv.run_id) == (f"models:/{logged.model_id}", run_id)
    assert mv.tags == {}  # where its files are is kept, and shown by the download URI
    assert client.get_model_version_download_uri("m", "1") == logged.artifact_location
    # model_id beside another source: the run is still the logged model's.
    other = client.create_model_version("m", "s3://bucket/clf", model_id=logged.model_id)
    assert other.run_id == run_id
    assert client.get_model_version_download_uri("m", "2") == "s3://bucket/clf"
    orphan = client.store.create_logged_model(name="no-run")
    with pytest.raises(ValidationError, match="not logged from a run"):
        client.create_model_version("m", f"models:/{orphan.model_id}")
    assert client.create_model_version("m", orphan.model_uri, run_id=run_id).run_id == run_id
    with pytest.raises(NotFoundError, match="no logged model"):
        client.create_model_version("m", "models:/m-" + "0" * 32)


def test_a_version_of_another_version_keeps_the_files_it_named(client, new_run):
    runs = [new_run(), new_run()]
    client.create_registered_model("m")
    for run_id in runs:
        client.create_model_version("m", f"runs:/{run_id}/model")
    client.set_registered_model_alias("m", "champion", "1")
    client.create_registered_model("copy")
    mv = client.create_model_version("copy", "models:/m@champion")
    assert (mv.source, mv.run_id, mv.tags) == ("models:/m@champion", runs[0], {})
    first = client.get_model_version_download_uri("m", "1")
    assert client.get_model_version_download_uri("copy", "1") == first
    client.set_registered_model_alias("m", "champion", "2")  # the alias moves on; v1 stays
    assert client.get_model_version_download_uri("copy", "1") == first
    # A copy of the copy has its files too, not the new champion's.
    copied = client.copy_model_version("models:/copy/1", "copy")
    assert (copied.source, copied.run_id) == ("models:/copy/1", runs[0])
    assert client.get_model_version_download_uri("copy", "2") == first
    with pytest.raises(NotFoundError, match="no alias 'nope'"):
        client.create_model_version("copy", "models:/m@nope")


def test_a_folder_of_the_store_tells_its_run(client, new_run):
    run_id = new_run()
    folder = client.get_run(run_id).info.artifact_uri.rstrip("/") + "/model"
    client.create_registered_model("m")
    assert client.create_model_version("m", folder).run_id == run_id
    assert client.create_model_version("m", "file://" + folder).run_id == run_id
    logged = client.store.create_logged_model(source_run_id=run_id)
    assert client.create_model_version("m", logged.artifact_location).run_id == run_id
    assert client.get_model_version_download_uri("m", "1") == folder
    for outside in ("/elsewhere/model", "relative/model", str(client.store.path / "mltop.db")):
        with pytest.raises(ValidationError, match="cannot tell the source run"):
            client.create_model_version("m", outside)


# -- stages: MLflow's call, mltop's log, comments and policies ------------------------------


def test_transition_lands_in_the_audit_log_with_user_and_comment(client, new_run):
    client.create_registered_model("m")
    _mv(client, "m", new_run)
    _mv(client, "m", new_run)
    moved = client.transition_model_version_stage("m", "1", "staging")
    assert isinstance(moved, ModelVersion) and moved.current_stage == "Staging"
    client.transition_model_version_stage(
        "m", "1", "Production", comment="beats v0 by 3 points", user="alice"
    )
    client.transition_model_version_stage(
        "m", 2, "Production", archive_existing_versions=True, comment="better still"
    )
    assert client.get_model_version("m", 1).current_stage == "Archived"
    log = client.store.registry.history("m")
    assert [(r.version, r.from_stage, r.to_stage, r.user_id, r.comment) for r in log] == [
        (1, "None", "Staging", "tester", ""),
        (1, "Staging", "Production", "alice", "beats v0 by 3 points"),
        (2, "None", "Production", "tester", "better still"),
    ]
    assert log[-1].archived == (1,)


def test_archive_existing_versions_off_by_default_as_in_mlflow(client, new_run):
    client.create_registered_model("m")
    for _ in range(2):
        mv = _mv(client, "m", new_run)
        client.transition_model_version_stage("m", mv.version, "Production", comment="go")
    assert [client.get_model_version("m", v).current_stage for v in (1, 2)] == [
        "Production",
        "Production",
    ]
    with pytest.raises(InvalidValueError, match="Staging or Production"):
        client.transition_model_version_stage("m", 1, "Archived", archive_existing_versions=True)
    with pytest.raises(InvalidValueError, match="unknown stage"):
        client.transition_model_version_stage("m", 1, "Live")


def test_a_move_into_or_out_of_production_needs_a_comment(client, new_run):
    client.create_registered_model("m")
    _mv(client, "m", new_run)
    with pytest.raises(CommentRequiredError, match=r"comment='\.\.\.'"):
        client.transition_model_version_stage("m", 1, "Production")
    assert client.get_model_version("m", 1).current_stage == "None"
    client.transition_model_version_stage("m", 1, "Production", comment="ship it")
    with pytest.raises(CommentRequiredError, match="out of Production.*comment="):
        client.transition_model_version_stage("m", 1, "Archived", comment="  ")
    assert client.get_model_version("m", 1).current_stage == "Production"
    assert len(client.store.registry.history("m")) == 1


def test_a_move_to_the_current_stage_is_a_no_op(client, new_run, clock):
    client.create_registered_model("m")
    _mv(client, "m", new_run)
    before = client.transition_model_version_stage("m", 1, "Staging")
    log = client.store.registry.history("m")
    again = client.transition_model_version_stage("m", "1", "staging")
    assert again == before  # not even its last_updated_timestamp moved
    assert client.store.registry.history("m") == log
    # ... including into Production, where a real move would need a comment.
    client.transition_model_version_stage("m", 1, "Production", comment="go")
    assert client.transition_model_version_stage("m", 1, "Production").current_stage == (
        "Production"
    )
    assert len(client.store.registry.history("m")) == 2


def test_a_policy_failure_names_the_clause_and_force_overrides_it(client, new_run):
    client.create_registered_model("m")
    client.create_model_version("m", "s", new_run("good", 0.95))
    client.create_model_version("m", "s", new_run("bad", 0.5))
    client.store.registry.set_policy("m", "metrics.val_acc >= 0.92")
    with pytest.raises(PolicyError, match=r"metrics.val_acc >= 0.92 \(actual: 0.5\)"):
        client.transition_model_version_stage("m", 2, "Production", comment="try")
    assert client.get_model_version("m", 2).current_stage == "None"
    assert client.transition_model_version_stage("m", 1, "Production", comment="ok").current_stage
    forced = client.transition_model_version_stage(
        "m", 2, "Production", True, comment="hotfix", force=True
    )
    assert forced.current_stage == "Production"
    last = client.store.registry.history("m")[-1]
    assert last.forced and last.comment == "hotfix" and last.archived == (1,)


# -- aliases ------------------------------------------------------------------------------


def test_a_policy_sees_the_points_this_process_has_not_committed_yet(client, new_run):
    run_id = new_run()
    client.create_registered_model("m")
    client.create_model_version("m", f"runs:/{run_id}/model")
    client.store.registry.set_policy("m", "metrics.val_acc > 0.9")
    client._writer.interval = 3600  # the writer's thread would commit only in an hour
    client.log_metric(run_id, "val_acc", 0.95)
    assert client._writer.queue  # still in memory
    plan = client.store.registry.plan_transition("m", 1, "Production")
    assert plan.policy is not None and plan.policy.passed
    moved = client.transition_model_version_stage("m", 1, "Production", comment="ship it")
    assert moved.current_stage == "Production"


def test_aliases(client, new_run):
    client.create_registered_model("m")
    _mv(client, "m", new_run)
    _mv(client, "m", new_run)
    client.set_registered_model_alias("m", "champion", "1")
    client.set_registered_model_alias("m", "challenger", 2, user="bob")
    assert client.get_model_version_by_alias("m", "champion").version == 1
    assert client.get_model_version("m", 1).aliases == ["champion"]
    assert client.get_registered_model("m").aliases == {"challenger": 2, "champion": 1}
    client.set_registered_model_alias("m", "champion", "2")  # moves it
    assert client.get_model_version("m", 2).aliases == ["challenger", "champion"]
    assert client.get_model_version("m", 1).aliases == []
    client.delete_registered_model_alias("m", "challenger")
    with pytest.raises(NotFoundError, match="challenger"):
        client.get_model_version_by_alias("m", "challenger")
    with pytest.raises(NotFoundError):
        client.delete_registered_model_alias("m", "challenger")
    with pytest.raises(ValidationError, match="reserved"):
        client.set_registered_model_alias("m", "latest", 1)
    log = client.store.registry.history("m")
    assert [(r.kind, r.alias, r.version, r.from_version, r.user_id) for r in log] == [
        ("alias_set", "champion", 1, None, "tester"),
        ("alias_set", "challenger", 2, None, "bob"),
        ("alias_set", "champion", 2, 1, "tester"),
        ("alias_delete", "challenger", 2, 2, "tester"),
    ]


# -- searches (ported from MLflow's SQL store tests) ----------------------------------------


def _names(client, filter_string, max_results=10, order_by=None, page_token=None):
    found = client.search_registered_models(filter_string, max_results, order_by, page_token)
    return [m.name for m in found], found.token


def test_search_registered_models(client):
    prefix = "test_for_search_"
    names = [prefix + name for name in ["RM1", "RM2", "RM3", "RM4", "RM4A", "RM4ab"]]
    for name in names:
        client.create_registered_model(name)
    assert _names(client, None)[0] == names
    assert _names(client, f"name='{names[0]}'")[0] == [names[0]]
    assert _names(client, f"name='{names[0]}cats'")[0] == []
    assert _names(client, f"name LIKE '{prefix}%'")[0] == names
    assert _names(client, "name LIKE '%RM%'")[0] == names
    assert _names(client, "name LIKE '_e%'")[0] == names
    assert _names(client, f"name LIKE '{prefix}RM4A%'")[0] == [names[4]]
    assert _names(client, f"name LIKE '{prefix}cats%'")[0] == []
    assert _names(client, "name lIkE '%blah%'")[0] == []
    assert _names(client, f"name like '{prefix}RM4A%'")[0] == [names[4]]
    assert _names(client, f"name ILIKE '{prefix}RM4A%'")[0] == names[4:]
    assert _names(client, "name ILIKE '%RM4a%'")[0] == names[4:]
    assert _names(client, f"name ILIKE '{prefix}cats%'")[0] == []
    assert _names(client, "name iLike '%%'")[0] == names
    assert _names(client, "name ilike '%RM4a%'")[0] == names[4:]
    assert _names(client, f"name IN ('{names[1]}', '{names[3]}')")[0] == [names[1], names[3]]
    assert _names(client, f"name != '{names[0]}'")[0] == names[1:]
    for bad in ("name!=something", "run_id='somerunID'", "source_path = 'A/D'", "evilhax = 'x'"):
        with pytest.raises(FilterError):
            client.search_registered_models(bad)
    client.delete_registered_model(names[-1])
    assert _names(client, None, max_results=1000) == (names[:-1], None)
    assert _names(client, f"name='{names[-1]}'") == ([], None)
    assert _names(client, f"name LIKE '{prefix}%'") == (names[0:5], None)
    assert _names(client, f"name ILIKE '{prefix}RM4A%'") == ([names[4]], None)


def test_search_registered_models_by_tag(client):
    name1, name2 = "test_for_search_RM_by_tag1", "test_for_search_RM_by_tag2"
    client.create_registered_model(name1, {"t1": "abc", "t2": "xyz"})
    client.create_registered_model(name2, {"t1": "abcd", "t2": "xyz123", "t3": "XYZ"})
    assert _names(client, "tag.t3 = 'XYZ'")[0] == [name2]
    assert _names(client, f"name = '{name1}' and tag.t1 = 'abc'")[0] == [name1]
    assert _names(client, "tag.t1 LIKE 'ab%'")[0] == [name1, name2]
    assert _names(client, "tag.t1 ILIKE 'aB%'")[0] == [name1, name2]
    assert _names(client, "tag.t1 LIKE 'ab%' AND tag.t2 LIKE 'xy%'")[0] == [name1, name2]
    assert _names(client, "tag.t3 = 'XYz'")[0] == []
    assert _names(client, "tag.T3 = 'XYZ'")[0] == []
    assert _names(client, "tag.t1 != 'abc'")[0] == [name2]
    assert _names(client, "tag.t1 != 'abcd' and tag.t1 LIKE 'ab%'")[0] == [name1]
    assert _names(client, "tags.t3 = 'XYZ' or tags.t2 = 'xyz'")[0] == [name1, name2]  # mltop's OR


def test_search_registered_models_order_by_and_pages(client, clock):
    names = [client.create_registered_model(f"RM{i:03}").name for i in range(50)]
    found, token = [], None
    while True:
        page, token = _names(client, "name LIKE 'RM%'", max_results=5, page_token=token)
        found += page
        if token is None:
            break
    assert found == names
    page, token1 = _names(client, "name LIKE 'RM%'", max_results=5)
    assert page == names[0:5] and token1 is not None
    page, token2 = _names(client, "name LIKE 'RM%'", max_results=10, page_token=token1)
    assert page == names[5:15]
    page, token3 = _names(client, "name LIKE 'RM%'", max_results=100, page_token=token2)
    assert page == names[15:] and token3 is None
    with pytest.raises(PageTokenError):
        _names(client, "name LIKE 'RM%'", page_token="evilhax")
    with pytest.raises(PageTokenError):  # a token from another search
        _names(client, "name LIKE 'RM0%'", page_token=token1)
    with pytest.raises(ValidationError):
        _names(client, "name LIKE 'RM%'", max_results=1e15)  # type: ignore[arg-type]
    assert _names(client, None, 3, ["name DESC"])[0] == names[::-1][:3]
    assert _names(client, None, 3, ["timestamp DESC"])[0] == names[::-1][:3]
    client.update_registered_model(names[10], "touched")
    assert _names(client, None, 1, ["last_updated_timestamp DESC"])[0] == [names[10]]
    assert _names(client, None, 1, ["creation_timestamp DESC"])[0] == [names[-1]]
    for duplicate in (
        ["last_updated_timestamp", "last_updated_timestamp"],
        ["timestamp", "last_updated_timestamp"],
        ["last_updated_timestamp ASC", "last_updated_timestamp DESC"],
    ):
        with pytest.raises(FilterError, match="twice"):
            client.search_registered_models(order_by=duplicate)
    with pytest.raises(FilterError, match="ordered by"):
        client.search_registered_models(order_by=["name ASC", "run_id DESC"])


def test_search_model_versions(client, new_run, clock):
    name = "test_for_search_MV"
    client.create_registered_model(name)
    run_id_1, run_id_2, run_id_3 = new_run(), new_run(), new_run()
    for source, run_id in (("A/B", run_id_1), ("A/C", run_id_2), ("A/D", run_id_2)):
        client.create_model_version(name, source, run_id)
    client.create_model_version(name, "A/D", run_id_3)

    def versions(filter_string, max_results=10, order_by=None, page_token=None):
        found = client.search_model_versions(filter_string, max_results, order_by, page_token)
        return [mv.version for mv in found]

    assert set(versions(f"name='{name}'")) == {1, 2, 3, 4}
    assert set(versions("version_number=2")) == {2}
    assert set(versions("version_number<=3")) == {1, 2, 3}
    assert set(versions(f"run_id='{run_id_1}'")) == {1}
    assert set(versions(f"run_id='{run_id_2}'")) == {2, 3}
    assert set(versions(f"run_id IN ('{run_id_1}','{run_id_2}')")) == {1, 2, 3}
    assert set(versions(f"run_id IN ('{run_id_1.upper()}','{run_id_2}')")) == {2, 3}
    assert set(versions(f"version_number=2 AND run_id IN ('{run_id_1.upper()}','{run_id_2}')")) == {
        2
    }
    assert set(versions(f"run_id IN ('{run_id_1}', '{run_id_2}')")) == {1, 2, 3}
    assert set(versions(f"run_id NOT IN ('{run_id_1}')")) == {2, 3, 4}
    assert set(versions(f"run_id LIKE '{run_id_2[:30]}%'")) == {2, 3}
    assert set(versions(f"run_id ILIKE '{run_id_2[:30].upper()}%'")) == {2, 3}
    for bad in ("run_id IN (1,2,3)", "run_id IN ()", "run_id IN (", "run_id IN", "name LIKE"):
        with pytest.raises(FilterError):
            versions(bad)
    for bad in ("run_id IN (,)", "run_id IN ('runid1',,'runid2')", "version_number = 'two'"):
        with pytest.raises(FilterError):
            versions(bad)
    assert set(versions("source_path = 'A/D'")) == {3, 4}
    assert versions("source_path = 'A'") == versions("source_path = 'A/'") == []
    assert versions("source_path = ''") == []
    client.delete_model_version(name, 4)
    assert set(versions("")) == set(versions(None)) == {1, 2, 3}
    assert set(versions(f"name='{name}'")) == {1, 2, 3}
    assert set(versions("source_path = 'A/D'")) == {3}
    client.transition_model_version_stage(name, 1, "production", comment="online")
    client.update_model_version(name, 1, description="Online prediction model!")
    found = client.search_model_versions(f"run_id = '{run_id_1}'", max_results=10)
    assert len(found) == 1 and isinstance(found[0], ModelVersion)
    assert (found[0].current_stage, found[0].run_id, found[0].source) == (
        "Production",
        run_id_1,
        "A/B",
    )
    assert found[0].description == "Online prediction model!"


def test_search_model_versions_order_by_simple(client, new_run, clock):
    names = ["RM1", "RM2", "RM3", "RM4", "RM1", "RM4"]
    sources = ["A"] * 3 + ["B"] * 3
    for name in sorted(set(names)):
        client.create_registered_model(name)
    for name, source in zip(names, sources, strict=True):
        client.create_model_version(name, source, new_run())

    def listed(order_by=None):
        found = client.search_model_versions(order_by=order_by)
        return [mv.name for mv in found], [mv.version for mv in found]

    assert listed() == (names[::-1], [2, 2, 1, 1, 1, 1])
    assert listed(["name DESC"]) == (sorted(names)[::-1], [2, 1, 1, 1, 2, 1])
    assert listed(["version_number DESC"]) == (
        ["RM1", "RM4", "RM1", "RM2", "RM3", "RM4"],
        [2, 2, 1, 1, 1, 1],
    )
    assert listed(["creation_timestamp DESC"]) == (names[::-1], [2, 2, 1, 1, 1, 1])
    client.update_model_version(names[0], 1, "latest updated")
    last = client.search_model_versions(order_by=["last_updated_timestamp ASC"])[-1]
    assert (last.name, last.version) == (names[0], 1)
    with pytest.raises(FilterError, match="ordered by"):
        client.search_model_versions("name LIKE 'RM%'", 5, ["name ASC", "run_id DESC"])
    with pytest.raises(FilterError):
        client.search_model_versions("name LIKE 'RM%'", 5, ["last_updated_timestamp DESC blah"])


def test_search_model_versions_pagination(client, new_run):
    name = "test_for_search_MV_pagination"
    client.create_registered_model(name)
    run_id = new_run()
    expected = [client.create_model_version(name, "s", run_id) for _ in range(50)][::-1]
    query = "name LIKE 'test_for_search_MV_pagination%'"
    found, token = [], None
    while True:
        page = client.search_model_versions(query, max_results=5, page_token=token)
        found += page
        if page.token is None:
            break
        token = page.token
    assert found == expected
    first = client.search_model_versions(query, max_results=5)
    assert list(first) == expected[0:5]
    second = client.search_model_versions(query, max_results=10, page_token=first.token)
    assert list(second) == expected[5:15]
    with pytest.raises(PageTokenError):
        client.search_model_versions(query, page_token="evilhax", max_results=20)
    for bad in (0, 200_001, 1e15):
        with pytest.raises(ValidationError, match="max_results"):
            client.search_model_versions(query, max_results=bad)  # type: ignore[arg-type]


def test_search_model_versions_by_tag(client, new_run):
    name = "test_for_search_MV_by_tag"
    client.create_registered_model(name)
    client.create_model_version(name, "A/B", new_run(), tags={"t1": "abc", "t2": "xyz"})
    client.create_model_version(name, "A/C", new_run(), tags={"t1": "abc", "t2": "x123"})

    def versions(filter_string):
        return [mv.version for mv in client.search_model_versions(filter_string)]

    assert versions(f"name = '{name}' and tag.t2 = 'xyz'") == [1]
    assert versions("name = 'wrong_name' and tag.t2 = 'xyz'") == []
    assert versions("tag.`t2` = 'xyz'") == [1]
    assert versions("tag.t3 = 'xyz'") == []
    assert versions("tag.t2 != 'xy'") == [2, 1]
    assert versions("tag.t2 LIKE 'xy%'") == [1]
    assert versions("tag.t2 LIKE 'xY%'") == []
    assert versions("tag.t2 ILIKE 'xY%'") == [1]
    assert versions("tag.t2 LIKE 'x%'") == [2, 1]
    assert versions("tag.T2 = 'xyz'") == []
    assert versions("tag.t1 = 'abc' and tag.t2 = 'xyz'") == [1]
    assert versions("tag.t1 = 'abc' and tag.t2 LIKE 'x%'") == [2, 1]
    assert versions("tag.t1 = 'abc' and tag.t2 LIKE 'y%'") == []
    assert versions("tag.t2 like 'x%' and tag.t2 != 'xyz'") == [2]


def test_hostile_text_is_data_never_sql_nor_markup(client, new_run):
    hostile = "it's 100% [bold]red"
    client.create_registered_model(hostile, {"note": "x' OR 1=1 --"})
    client.create_registered_model("it_s 1000 bold")
    client.create_model_version(hostile, "runs:/x/model", new_run(), tags={"t": "50%_off"})
    assert _names(client, "name = 'it''s 100% [bold]red'")[0] == [hostile]
    assert _names(client, 'name = "it\'s 100% [bold]red"')[0] == [hostile]
    assert _names(client, "name LIKE '%[bold]%'")[0] == [hostile]
    assert _names(client, "name LIKE 'it_s 100%'")[0] == [hostile, "it_s 1000 bold"]
    assert _names(client, "name LIKE '%*%'")[0] == []
    assert _names(client, "tags.note = 'x'' OR 1=1 --'")[0] == [hostile]
    assert [v.name for v in client.search_model_versions("tags.t LIKE '50%'")] == [hostile]
    assert [v.name for v in client.search_model_versions("tags.t = '50%'")] == []
    assert client.get_registered_model(hostile).name == hostile
    for bad in (
        "name = 'x'; DROP TABLE registered_models",
        "tags.note = 'x' OR 1=1",
        "name = ",
        "tags. = 'x'",
    ):
        with pytest.raises(FilterError):
            client.search_registered_models(bad)
    assert len(client.search_registered_models()) == 2


def test_bad_filters_raise_filter_error_with_the_position(client):
    with pytest.raises(FilterError) as caught:
        client.search_model_versions("name = 'm' and stage = 'Production'")
    assert caught.value.position == len("name = 'm' and ")
    assert "version_number" in caught.value.message
    with pytest.raises(FilterError, match="number"):
        client.search_model_versions("version_number LIKE '1%'")
    with pytest.raises(FilterError, match="IN and NOT IN"):
        client.search_model_versions("source_path IN ('a')")
    with pytest.raises(FilterError, match="IS NULL"):
        client.search_registered_models("tags.k IS NULL")
    with pytest.raises(FilterError, match="quote"):
        client.search_registered_models("name = 3")
    with pytest.raises(FilterError, match="params"):
        client.search_registered_models("params.lr = '0.1'")


# -- register_model -----------------------------------------------------------------------


def test_register_model_from_a_runs_uri(fluent):
    with fluent.start_run() as run:
        run_id = run.info.run_id
    mv = mlflow.register_model(f"runs:/{run_id}/model", "AwesomeModel", tags={"k": "v"})
    assert isinstance(mv, ModelVersion)
    assert (mv.name, mv.version, mv.run_id, mv.source) == (
        "AwesomeModel",
        1,
        run_id,
        f"runs:/{run_id}/model",
    )
    assert mv.tags == {"k": "v"} and mv.status == "READY"
    assert mlflow.register_model(f"runs:/{run_id}/model", "AwesomeModel").version == 2
    again = mlflow.register_model("models:/AwesomeModel/1", "Copy", 0)
    assert (again.name, again.version, again.run_id) == ("Copy", 1, run_id)
    client = mlflow.get_client()
    assert [m.name for m in client.search_registered_models()] == ["AwesomeModel", "Copy"]
    with pytest.raises(ValidationError, match="runs:/"):
        mlflow.register_model("s3://bucket/model", "Elsewhere")
    with pytest.raises(NotFoundError):
        mlflow.register_model("runs:/0123456789abcdef/model", "Ghost")


# -- the filter's string tests against a reference, on generated names and patterns ---------

_OPS = ["=", "!=", "LIKE", "ILIKE"]
_NAMES = ["a", "A", "ab", "aB_", "a%b", "a_b", "[ab]", "a*b", "a?b", "it's", "b'a%", "AB[b]"]


def _like(pattern: str, text: str, fold: bool) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.DOTALL | (re.IGNORECASE if fold else 0)) is not None


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pattern=st.text(alphabet="aAbB%_[]*?'", max_size=6), op=st.sampled_from(_OPS))
def test_name_tests_match_a_reference(client, pattern, op):
    if not client.search_registered_models(max_results=1):
        for name in _NAMES:
            client.create_registered_model(name)
    quoted = pattern.replace("'", "''")
    found = [m.name for m in client.search_registered_models(f"name {op} '{quoted}'", 100)]
    expected = {
        "=": lambda n: n == pattern,
        "!=": lambda n: n != pattern,
        "LIKE": lambda n: _like(pattern, n, fold=False),
        "ILIKE": lambda n: _like(pattern, n, fold=True),
    }[op]
    assert found == sorted(n for n in _NAMES if expected(n))
