"""The model registry: versions, stages, aliases, policies, rollback and the log."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from mltop.store import (
    AlreadyExistsError,
    CommentRequiredError,
    FilterError,
    InvalidStateError,
    InvalidValueError,
    MltopClient,
    NotFoundError,
    PlanChangedError,
    PolicyError,
    Store,
    ValidationError,
)


@pytest.fixture
def reg(client):
    return client.store.registry


@pytest.fixture
def runs(client):
    """Three runs with val_acc 0.95, 0.5 and none."""
    ids = []
    for name, acc in (("good", 0.95), ("bad", 0.5), ("bare", None)):
        run_id = client.create_run(run_name=name, log_system_info=False).info.run_id
        if acc is not None:
            client.log_metrics(run_id, {"val_acc": acc, "latency_ms": 20.0})
        ids.append(run_id)
    client.flush()
    return ids


def src(run_id: str) -> str:
    return f"runs:/{run_id}/model"


def test_versions_are_numbered_and_never_reused(reg, runs):
    assert reg.create_model_version("m", src(runs[0])).version == 1
    assert reg.create_model_version("m", src(runs[1])).version == 2
    reg.delete_model_version("m", 2)
    v3 = reg.create_model_version("m", src(runs[1]), description="again")
    assert v3.version == 3 and v3.run_id == runs[1] and v3.user_id == "tester"
    assert v3.current_stage == "None" and v3.description == "again"
    assert [v.version for v in reg.search_model_versions(name="m")] == [3, 1]


def test_a_version_needs_an_existing_source_run(reg):
    with pytest.raises(NotFoundError, match="no run"):
        reg.create_model_version("m", "runs:/" + "f" * 32 + "/model")
    with pytest.raises(ValidationError, match="cannot tell the source run"):
        reg.create_model_version("m", "s3://bucket/model")


def test_model_names(reg, runs):
    reg.create_registered_model("resnet", description="d", tags={"team": "cv"})
    with pytest.raises(AlreadyExistsError, match="'resnet' already exists"):
        reg.create_registered_model("resnet")
    for bad in ("a/b", "a:b", "", "  "):
        with pytest.raises(ValidationError):
            reg.create_registered_model(bad)
    reg.create_model_version("resnet", src(runs[0]))
    reg.rename_registered_model("resnet", "resnet50")
    assert reg.get_model_version("resnet50", 1).name == "resnet50"
    with pytest.raises(NotFoundError, match="no registered model named 'resnet'"):
        reg.get_registered_model("resnet")
    model = reg.get_registered_model("resnet50")
    assert model.tags == {"team": "cv"} and model.description == "d"


@pytest.mark.parametrize("typed", ["production", "PRODUCTION", " Production "])
def test_stages_are_case_insensitive_and_stored_canonical(reg, runs, typed):
    reg.create_model_version("m", src(runs[0]))
    reg.transition("m", 1, typed, "release")
    assert reg.get_model_version("m", 1).current_stage == "Production"


def test_unknown_stage_lists_the_valid_ones(reg, runs):
    reg.create_model_version("m", src(runs[0]))
    with pytest.raises(InvalidValueError, match="None, Staging, Production, Archived"):
        reg.transition("m", 1, "Prod")
    with pytest.raises(InvalidStateError, match="already in None"):
        reg.transition("m", 1, "none")


def test_promotion_archives_the_previous_production_version(reg, runs):
    for run in runs[:2]:
        reg.create_model_version("m", src(run))
    reg.transition("m", 1, "Production", "first")
    plan = reg.plan_transition("m", 2, "Production")
    assert plan.archives == (1,)
    assert plan.describe() == "m v2: None → Production; v1 (Production) will be archived"
    reg.transition("m", 2, "Production", "second")
    assert reg.get_model_version("m", 1).current_stage == "Archived"
    log = reg.history("m")
    assert [(r.version, r.to_stage, r.archived, r.comment, r.user_id) for r in log] == [
        (1, "Production", (), "first", "tester"),
        (2, "Production", (1,), "second", "tester"),
    ]
    reg.transition("m", 1, "Staging")
    reg.transition("m", 1, "Production", "both live", archive_existing=False)
    assert {v.version for v in reg.search_model_versions(name="m", stage="production")} == {1, 2}


def test_policy_pass_records_every_clause_with_its_value(reg, runs):
    reg.create_model_version("m", src(runs[0]))
    reg.set_policy("m", "metrics.val_acc >= 0.92 and metrics.latency_ms < 50")
    reg.transition("m", 1, "Production", "ship it")
    (record,) = reg.history("m")
    assert record.policy["passed"] is True
    assert record.policy["clauses"] == [
        {"clause": "metrics.val_acc >= 0.92", "actual": 0.95, "passed": True},
        {"clause": "metrics.latency_ms < 50", "actual": 20.0, "passed": True},
    ]
    assert record.forced is False


def test_policy_failure_refuses_and_changes_nothing(reg, runs):
    reg.create_model_version("m", src(runs[1]))
    reg.set_policy("m", "metrics.val_acc >= 0.92")
    with pytest.raises(PolicyError, match=r"metrics.val_acc >= 0.92 \(actual: 0.5\) FAIL") as e:
        reg.transition("m", 1, "Production", "release")
    assert not e.value.result.passed
    assert reg.get_model_version("m", 1).current_stage == "None"
    assert reg.history("m") == []
    reg.transition("m", 1, "Staging")  # the gate is for Production only


def test_forcing_past_a_policy_needs_a_comment_and_is_logged(reg, runs):
    reg.create_model_version("m", src(runs[2]))  # no val_acc at all: the clause fails
    reg.set_policy("m", "metrics.val_acc >= 0.92")
    with pytest.raises(CommentRequiredError, match="forced move needs a comment"):
        reg.transition("m", 1, "Production", force=True)
    reg.transition("m", 1, "Production", "incident 42: ship the fix", force=True)
    (record,) = reg.history("m")
    assert record.forced and record.comment == "incident 42: ship the fix"
    assert record.policy["clauses"][0]["actual"] is None


@pytest.mark.parametrize("comment", ["", "   \n\t"])
def test_production_needs_a_comment_and_a_refusal_changes_nothing(reg, runs, comment):
    reg.create_model_version("m", src(runs[0]))
    with pytest.raises(CommentRequiredError, match="move to Production needs a comment"):
        reg.transition("m", 1, "Production", comment)
    assert isinstance(CommentRequiredError("x"), ValidationError)  # callers may catch either
    assert reg.get_model_version("m", 1).current_stage == "None" and reg.history("m") == []
    reg.transition("m", 1, "Staging")  # moves that leave Production alone go without one
    reg.transition("m", 1, "Archived", comment)
    assert [r.comment for r in reg.history("m")] == ["", ""]


@pytest.mark.parametrize("to_stage", ["Staging", "Archived", "None"])
def test_moving_out_of_production_needs_a_comment(reg, runs, to_stage):
    reg.create_model_version("m", src(runs[0]))
    reg.transition("m", 1, "Production", "live")
    with pytest.raises(CommentRequiredError, match="out of Production needs a comment"):
        reg.transition("m", 1, to_stage, " ")
    assert reg.get_model_version("m", 1).current_stage == "Production"
    reg.transition("m", 1, to_stage, "retired: replaced by the new pipeline")
    assert reg.history("m")[-1].comment == "retired: replaced by the new pipeline"


@pytest.mark.parametrize("comment", ["", "   "])
def test_a_rollback_needs_a_comment_and_a_refusal_changes_nothing(reg, runs, comment):
    for version, run in enumerate(runs[:2], 1):
        reg.create_model_version("m", src(run))
        reg.transition("m", version, "Production", f"v{version} live")
    before = reg.history("m")
    with pytest.raises(CommentRequiredError, match="rollback needs a comment"):
        reg.rollback("m", comment)
    assert reg.resolve("models:/m/Production").version == 2 and reg.history("m") == before
    reg.rollback("m", "  v2 regressed  ")
    assert reg.resolve("models:/m/Production").version == 1
    assert reg.history("m")[-1].comment == "v2 regressed"  # as typed, less the spaces around


def test_a_bad_policy_is_refused_when_set(reg, runs):
    reg.create_model_version("m", src(runs[0]))
    with pytest.raises(FilterError, match="compare it with a number"):
        reg.set_policy("m", "metrics.val_acc >= 'high'")
    reg.set_policy("m", "metrics.val_acc > 0.9")
    reg.set_policy("m", None)
    assert reg.get_registered_model("m").policy is None


def test_rollback_restores_the_previous_production_version(reg, runs):
    for run in runs[:2]:
        reg.create_model_version("m", src(run))
    with pytest.raises(InvalidStateError, match="no version in Production"):
        reg.rollback("m", "why")
    reg.transition("m", 1, "Production", "first")
    with pytest.raises(InvalidStateError, match="no earlier Production version"):
        reg.rollback("m", "why")
    reg.transition("m", 2, "Production", "second")
    assert reg.plan_rollback("m").describe() == (
        "roll back: m v1: Archived → Production; v2 (Production) will be archived"
    )
    reg.rollback("m", "v2 leaks memory")
    assert reg.resolve("models:/m/Production").version == 1
    assert reg.get_model_version("m", 2).current_stage == "Archived"
    last = reg.history("m")[-1]
    assert (last.kind, last.version, last.archived, last.comment) == (
        "rollback",
        1,
        (2,),
        "v2 leaks memory",
    )


def test_aliases_move_are_logged_and_die_with_their_version(reg, runs):
    for run in runs:
        reg.create_model_version("m", src(run))
    reg.set_alias("m", "champion", 1)
    reg.set_alias("m", "champion", 2)
    assert reg.resolve("models:/m@champion").version == 2
    assert reg.get_registered_model("m").aliases == {"champion": 2}
    reg.set_alias("m", "challenger", 3)
    reg.delete_model_version("m", 3)
    with pytest.raises(NotFoundError, match="no alias 'challenger'"):
        reg.resolve("models:/m@challenger")
    reg.delete_alias("m", "champion")
    kinds = [(r.kind, r.alias, r.version, r.from_version) for r in reg.history("m")]
    assert kinds == [
        ("alias_set", "champion", 1, None),
        ("alias_set", "champion", 2, 1),
        ("alias_set", "challenger", 3, None),
        ("alias_delete", "challenger", 3, 3),
        ("delete_version", None, 3, None),
        ("alias_delete", "champion", 2, 2),
    ]


@pytest.mark.parametrize(
    "bad", ["latest", "LATEST", "v1", "V12", "has space", "a/b", "", "x" * 256]
)
def test_alias_rules(reg, runs, bad):
    reg.create_model_version("m", src(runs[0]))
    with pytest.raises(ValidationError):
        reg.set_alias("m", bad, 1)


def test_uris_resolve_with_clear_errors(reg, runs):
    for run in runs:
        reg.create_model_version("m", src(run))
    reg.transition("m", 2, "Staging")
    assert reg.resolve("models:/m/1").version == 1
    assert reg.resolve("models:/m/staging").version == 2
    assert reg.resolve("models:/m/latest").version == 3
    with pytest.raises(NotFoundError, match="no version in Production"):
        reg.resolve("models:/m/Production")
    with pytest.raises(NotFoundError, match="has no version 9"):
        reg.resolve("models:/m/9")
    with pytest.raises(NotFoundError, match="no registered model named 'x'"):
        reg.resolve("models:/x/1")
    for bad in ("runs:/abc/model", "models:/m", "models:/m/1/2"):
        with pytest.raises(ValidationError, match="not a model URI"):
            reg.resolve(bad)
    with pytest.raises(InvalidValueError, match="unknown stage"):
        reg.resolve("models:/m/Prod")


def test_search(reg, runs):
    reg.create_registered_model("resnet", tags={"team": "cv"})
    reg.create_registered_model("bert", tags={"team": "nlp"})
    reg.create_model_version("resnet", src(runs[0]))
    assert [m.name for m in reg.search_registered_models("res%")] == ["resnet"]
    assert [m.name for m in reg.search_registered_models(tags={"team": "nlp"})] == ["bert"]
    assert [v.name for v in reg.search_model_versions(run_id=runs[0])] == ["resnet"]


def test_the_log_cannot_be_changed(reg, runs, store_path):
    reg.create_model_version("m", src(runs[0]))
    reg.transition("m", 1, "Production", "why")
    assert not any(
        name.startswith(("update_", "delete_", "edit_")) and "transition" in name
        for name in dir(reg)
    )
    conn = sqlite3.connect(store_path / "mltop.db", isolation_level=None)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE model_transitions SET comment = 'rewritten'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM model_transitions")
    reg.delete_registered_model("m")
    kinds = [k for (k,) in conn.execute("SELECT kind FROM model_transitions ORDER BY id")]
    assert kinds == ["transition", "delete_version", "delete_model"]  # the log outlives it


PROMOTE = """
import sys, time
from pathlib import Path
from mltop.store import Store
store = Store(sys.argv[1])
go = Path(sys.argv[3])
while not go.exists():
    time.sleep(0.0005)
store.registry.transition("m", int(sys.argv[2]), "Production", "race")
"""


def test_two_processes_promoting_at_once_leave_exactly_one_in_production(store_path, tmp_path):
    client = MltopClient(Store(store_path))
    run = client.create_run(log_system_info=False).info.run_id
    reg = client.store.registry
    for _ in range(2):
        reg.create_model_version("m", src(run))
    for attempt in range(12):
        for version in (1, 2):  # both start from Staging, so both moves are legal
            if reg.get_model_version("m", version).current_stage != "Staging":
                reg.transition("m", version, "Staging", "reset", archive_existing=False)
        go = tmp_path / f"go{attempt}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", PROMOTE, str(store_path), str(v), str(go)],
                stderr=subprocess.PIPE,
                text=True,
            )
            for v in (1, 2)
        ]
        go.touch()
        for proc in procs:
            _out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
        production = reg.search_model_versions(name="m", stage="Production")
        assert len(production) == 1
        first, second = [r for r in reg.history("m") if r.comment == "race"][-2:]
        assert {first.version, second.version} == {1, 2}
        assert first.archived == () and second.archived == (first.version,)
        assert production[0].version == second.version


def test_version_tags_and_descriptions(reg, runs):
    reg.create_model_version("m", src(runs[0]), tags={"framework": "torch"})
    reg.set_model_version_tag("m", "v1", "framework", "jax")
    reg.update_registered_model("m", "a linear model")
    assert reg.get_model_version("m", 1).tags == {"framework": "jax"}
    assert reg.get_registered_model("m").description == "a linear model"
    with pytest.raises(ValidationError, match="not a version number"):
        reg.get_model_version("m", "one")


def test_user_comes_from_mltop_user(reg, runs, monkeypatch):
    reg.create_model_version("m", src(runs[0]))
    monkeypatch.setenv("MLTOP_USER", "release-bot")
    reg.transition("m", 1, "Staging", "nightly")
    assert reg.history("m")[0].user_id == "release-bot"


def test_a_model_made_again_after_delete_has_its_own_history(reg, runs):
    """The new model takes neither the old one's id nor its log: its history starts empty
    and a rollback has nothing to restore."""
    reg.create_model_version("m", src(runs[0]))
    reg.create_model_version("m", src(runs[1]))
    reg.transition("m", 1, "Production", "v1 live")
    reg.transition("m", 2, "Production", "v2 live")
    reg.delete_registered_model("m")
    reg.create_registered_model("other")  # would have taken the freed id
    reg.create_model_version("m", src(runs[0]))
    assert reg.get_registered_model("m").name == "m"
    assert reg.history("m") == [] and reg.history("other") == []
    reg.transition("m", 1, "Production", "the new m, live")
    with pytest.raises(InvalidStateError, match="no earlier Production version"):
        reg.rollback("m", "back to what?")
    assert [r.comment for r in reg.history("m")] == ["the new m, live"]


def test_a_confirmed_plan_the_registry_has_moved_past_is_refused(client, reg):
    runs = [client.create_run(log_system_info=False).info.run_id for _ in range(3)]
    reg.create_registered_model("m")
    for run in runs:
        reg.create_model_version("m", f"runs:/{run}/model")
    reg.transition("m", 1, "Production", "first")
    confirmed = reg.plan_transition("m", 2, "Production")
    assert confirmed.archives == (1,)
    reg.transition("m", 3, "Production", "meanwhile", user="bob")
    before = reg.history("m")
    with pytest.raises(PlanChangedError) as refused:
        reg.transition("m", 2, "Production", "as confirmed", expected=confirmed)
    assert refused.value.plan.archives == (3,)
    assert "Nothing was done" in str(refused.value)
    assert reg.history("m") == before
    assert reg.get_model_version("m", 2).current_stage == "None"
    # The same move, confirmed as it is now, is made.
    done = reg.transition("m", 2, "Production", "ok", expected=refused.value.plan)
    assert done.same_move(refused.value.plan)
    assert reg.get_model_version("m", 3).current_stage == "Archived"
    # A rollback whose target changed is refused too.
    rollback = reg.plan_rollback("m")
    assert rollback.version == 3
    reg.transition("m", 1, "Production", "back to one")
    with pytest.raises(PlanChangedError):
        reg.rollback("m", "undo", expected=rollback)
    assert reg.resolve("models:/m/Production").version == 1
