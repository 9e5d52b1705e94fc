"""The registry's rules on their own, over facts given as plain values: no database. A
second backend applies exactly these (store/registry.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mltop.store import (
    CommentRequiredError,
    InvalidStateError,
    PlanChangedError,
    PolicyError,
    Run,
    RunData,
    RunInfo,
    ValidationError,
)
from mltop.store.entities import MetricSummary
from mltop.store.registry import (
    ModelUri,
    check_move,
    parse_model_uri,
    plan_move,
    rollback_target,
)


def run_with(accuracy: float) -> Run:
    info = RunInfo("a" * 32, "r", "0", "", "FINISHED", 0, 1, "active", None, "/x", 0, 5000)
    summary = MetricSummary("acc", accuracy, 1, 0, accuracy, accuracy, 1)
    return Run(info, RunData({}, {}, {"acc": summary}))


def plan(to_stage="Production", *, holders=(1, 2), policy=None, acc=0.9, archive=None, **kw):
    read = []

    def source_run():
        read.append(1)
        return run_with(acc)

    made = plan_move(
        name="m",
        version=3,
        from_stage=kw.get("from_stage", "Staging"),
        to_stage=to_stage,
        archive_existing=archive,
        in_stage=lambda stage: [*holders, 3] if stage == to_stage else [],
        policy_text=policy,
        source_run=source_run,
        rollback=kw.get("rollback", False),
    )
    return made, read


def test_a_move_into_production_archives_the_others_there_by_default():
    made, _ = plan()
    assert made.archives == (1, 2) and made.policy is None
    assert made.describe() == "m v3: Staging → Production; v1, v2 (Production) will be archived"


def test_a_move_into_staging_archives_only_when_asked():
    assert plan("Staging", from_stage="None")[0].archives == ()
    assert plan("Staging", from_stage="None", archive=True)[0].archives == (1, 2)
    assert plan("Archived", archive=True)[0].archives == ()  # Archived never archives


def test_a_move_to_where_the_version_is_is_refused():
    with pytest.raises(InvalidStateError, match="already in Staging"):
        plan("Staging")


def test_the_policy_is_read_only_when_entering_production():
    made, read = plan(policy="metrics.acc >= 0.95", acc=0.9)
    assert made.blocked and read == [1]
    assert "metrics.acc >= 0.95 (actual: 0.9) FAIL" in made.policy.failing()[0].describe()
    _, read = plan("Staging", from_stage="None", policy="metrics.acc >= 0.95")
    assert read == []


def test_the_gate_asks_why_blocks_on_policy_unless_forced_and_sees_changed_plans():
    passing, _ = plan(policy="metrics.acc >= 0.5")
    with pytest.raises(CommentRequiredError):
        check_move(passing, "  ")
    assert check_move(passing, " ship it ") == "ship it"
    blocked, _ = plan(policy="metrics.acc >= 0.95")
    with pytest.raises(PolicyError, match=r"m v3 cannot enter Production: the policy"):
        check_move(blocked, "please")
    with pytest.raises(CommentRequiredError, match="forced"):
        check_move(blocked, "", force=True)
    assert check_move(blocked, "override", force=True) == "override"
    other, _ = plan(holders=(1,))
    with pytest.raises(PlanChangedError, match="Nothing was done") as caught:
        check_move(other, "ok", expected=passing)
    assert caught.value.plan == other


def test_a_rollback_is_never_blocked_by_the_policy():
    made, _ = plan(policy="metrics.acc >= 0.95", rollback=True)
    assert made.blocked
    assert check_move(made, "v3 was live yesterday") == "v3 was live yesterday"


def test_a_rollback_goes_to_the_latest_earlier_production_version_still_registered():
    assert rollback_target("m", 5, [5, 4, 3], {3, 4, 5}) == 4
    assert rollback_target("m", 5, [5, 4, 5, 3], {3, 5}) == 3  # v4 was deleted
    with pytest.raises(InvalidStateError, match="no version in Production"):
        rollback_target("m", None, [], set())
    with pytest.raises(InvalidStateError, match="no earlier Production version"):
        rollback_target("m", 5, [5], {5})


# -- model URIs ---------------------------------------------------------------------------

NAMES = st.text(
    st.characters(blacklist_characters="/@", blacklist_categories=("Cs",)), min_size=1, max_size=20
)


@given(NAMES, st.integers(min_value=0, max_value=10**6))
def test_a_version_uri_names_the_model_and_version(name, version):
    assert parse_model_uri(f"models:/{name}/{version}") == ModelUri(name, version=version)


@given(NAMES, st.sampled_from(["latest", "LATEST", "Latest"]))
def test_latest_in_any_case(name, latest):
    assert parse_model_uri(f"models:/{name}/{latest}") == ModelUri(name, latest=True)


@given(NAMES, st.text(st.characters(blacklist_characters="/"), max_size=20))
def test_an_alias_uri_keeps_the_alias_whole(name, alias):
    assert parse_model_uri(f"models:/{name}@{alias}") == ModelUri(name, alias=alias)


@given(st.one_of(st.text(max_size=40), st.integers(), st.none()))
def test_any_input_is_taken_apart_or_refused_with_a_validation_error(text):
    try:
        found = parse_model_uri(text)
    except ValidationError as exc:
        assert "is not a model URI" in str(exc)
        return
    assert isinstance(text, str) and text.startswith("models:/")
    chosen = [found.version is not None, found.latest, found.alias is not None, found.stage]
    assert sum(map(bool, chosen)) <= 1


def test_a_stage_is_kept_as_written_for_the_backend_to_check():
    assert parse_model_uri("models:/m/production") == ModelUri("m", stage="production")
    assert parse_model_uri("models:/m/") == ModelUri("m", stage="")
    for bad in ("models:/m", "models:/a/b/c", "model:/m/1", "models:/m/1/"):
        with pytest.raises(ValidationError, match="is not a model URI"):
            parse_model_uri(bad)
