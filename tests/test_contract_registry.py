"""The model registry's contract, on both backends: the SQLite store and a tracking server
(`ServerRegistry` over a real `mlflow server`). Each behaviour is asserted on both; where
the server cannot do what SQLite does, the test asserts the documented difference.

On the server, tests share one server: each makes models of unique names and looks only
at those."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from mltop.store import MltopClient, Store
from mltop.store.errors import (
    AlreadyExistsError,
    CommentRequiredError,
    FilterError,
    InvalidStateError,
    NotFoundError,
    PlanChangedError,
    PolicyError,
)
from mltop.store.protocols import ModelRegistry
from mltop.store.server.registry import OUTSIDE_COMMENT
from mltop.store.server.rest import RestClient
from mltop.store.server.tracking import ServerStore

HOSTILE = "[bold red]boom[/bold red] [link=file:///etc/passwd]x[/link]\n\tline two \x1b[31m é ✓"


@dataclass
class Backend:
    kind: str  # "sqlite" or "server"
    registry: ModelRegistry
    new_run: Callable[[dict[str, float]], str]  # a run with these metrics: its id

    def name(self, base: str = "m") -> str:
        """A model name no other test on a shared server uses."""
        return f"{base}-{uuid.uuid4().hex[:10]}"


def _sqlite_backend(tmp_path) -> Iterator[Backend]:
    store = Store(tmp_path / "store")
    client = MltopClient(store)

    def new_run(metrics: dict[str, float]) -> str:
        run_id = client.create_run(run_name="r", log_system_info=False).info.run_id
        if metrics:
            client.log_metrics(run_id, metrics)
        client.flush()
        return run_id

    try:
        yield Backend("sqlite", store.registry, new_run)
    finally:
        client.close()
        store.close()


def server_run_maker(rest: RestClient) -> Callable[[dict[str, float]], str]:
    """Runs made through the REST API (an experiment of a unique name per test)."""
    experiment: list[str] = []

    def new_run(metrics: dict[str, float]) -> str:
        if not experiment:
            made = rest.call("POST", "experiments/create", {"name": f"reg-{uuid.uuid4().hex}"})
            experiment.append(made["experiment_id"])
        run = rest.call("POST", "runs/create", {"experiment_id": experiment[0]})
        run_id = run["run"]["info"]["run_id"]
        for key, value in metrics.items():
            rest.call(
                "POST",
                "runs/log-metric",
                {"run_id": run_id, "key": key, "value": value, "timestamp": 1, "step": 0},
            )
        return str(run_id)

    return new_run


def _server_backend(url: str, tmp_path) -> Iterator[Backend]:
    store = ServerStore(url, cache=tmp_path / "cache")
    try:
        yield Backend("server", store.registry, server_run_maker(store.rest))
    finally:
        store.close()


@pytest.fixture(params=["sqlite", "server"])
def backend(request, tmp_path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield from _sqlite_backend(tmp_path)
    else:
        server = request.getfixturevalue("mlflow_server")
        yield from _server_backend(server.url, tmp_path)


def src(run_id: str) -> str:
    return f"runs:/{run_id}/model"


def moves(records) -> list[tuple]:
    return [(r.kind, r.version, r.from_stage, r.to_stage, r.archived) for r in records]


# -- models and versions ----------------------------------------------------------------


def test_versions_are_numbered_with_their_source_run_and_description(backend):
    reg, name = backend.registry, backend.name()
    run_id = backend.new_run({})
    model = reg.create_registered_model(name, "what it is", {"team": "vision"})
    assert (model.name, model.description, model.tags) == (name, "what it is", {"team": "vision"})
    with pytest.raises(AlreadyExistsError):
        reg.create_registered_model(name)
    v1 = reg.create_model_version(name, src(run_id), description="first", tags={"k": "v"})
    v2 = reg.create_model_version(name, src(run_id))
    assert (v1.version, v2.version) == (1, 2)
    got = reg.get_model_version(name, "1")
    assert (got.run_id, got.source, got.description, got.tags) == (
        run_id,
        src(run_id),
        "first",
        {"k": "v"},
    )
    assert got.current_stage == "None"
    assert [v.version for v in reg.search_model_versions(name=name)] == [2, 1]
    with pytest.raises(NotFoundError, match="no version 9"):
        reg.get_model_version(name, 9)
    with pytest.raises(NotFoundError):
        reg.get_registered_model(backend.name("missing"))


def test_creating_a_version_makes_the_model_when_missing(backend):
    reg, name = backend.registry, backend.name()
    reg.create_model_version(name, src(backend.new_run({})))
    assert reg.get_registered_model(name).name == name


# -- stages -----------------------------------------------------------------------------


def test_promotion_archives_the_previous_production_version_and_is_recorded(backend):
    reg, name = backend.registry, backend.name()
    run_id = backend.new_run({})
    for _ in range(3):
        reg.create_model_version(name, src(run_id))
    reg.transition(name, 1, "staging")
    with pytest.raises(CommentRequiredError):
        reg.transition(name, 1, "Production")
    assert reg.get_model_version(name, 1).current_stage == "Staging"  # a refusal moved nothing
    reg.transition(name, 1, "Production", "ship it", user="ana")
    plan = reg.plan_transition(name, 2, "Production")
    assert plan.archives == (1,) and reg.get_model_version(name, 2).current_stage == "None"
    reg.transition(name, 2, "Production", "better", user="bo")
    stages = {v.version: v.current_stage for v in reg.search_model_versions(name=name)}
    assert stages == {1: "Archived", 2: "Production", 3: "None"}
    assert reg.get_registered_model(name).latest_by_stage == {
        "None": 3,
        "Production": 2,
        "Archived": 1,
    }
    log = reg.history(name)
    assert moves(log) == [
        ("transition", 1, "None", "Staging", ()),
        ("transition", 1, "Staging", "Production", ()),
        ("transition", 2, "None", "Production", (1,)),
    ]
    assert [(r.user_id, r.comment) for r in log] == [
        ("tester", ""),
        ("ana", "ship it"),
        ("bo", "better"),
    ]
    assert [r.version for r in reg.history(name, version=1)] == [1, 1]
    with pytest.raises(InvalidStateError, match="already in Production"):
        reg.transition(name, 2, "Production", "again")


def test_a_policy_blocks_production_unless_forced_and_the_verdict_is_recorded(backend):
    reg, name = backend.registry, backend.name()
    good, bad = backend.new_run({"acc": 0.95}), backend.new_run({"acc": 0.5})
    reg.create_model_version(name, src(good))
    reg.create_model_version(name, src(bad))
    reg.set_policy(name, "metrics.acc >= 0.9")
    assert reg.get_registered_model(name).policy == "metrics.acc >= 0.9"
    with pytest.raises(PolicyError, match="acc"):
        reg.transition(name, 2, "Production", "try")
    assert reg.get_model_version(name, 2).current_stage == "None"
    reg.transition(name, 1, "Production", "passes")
    reg.transition(name, 2, "Production", "needed now", force=True)
    passed, forced = reg.history(name)
    assert passed.policy is not None and passed.policy["passed"] and not passed.forced
    assert forced.policy is not None and not forced.policy["passed"] and forced.forced
    assert forced.policy["clauses"][0]["actual"] == 0.5
    reg.set_policy(name, None)
    assert reg.get_registered_model(name).policy is None
    with pytest.raises(FilterError):
        reg.set_policy(name, "metrics.acc >>> 1")


def test_rollback_puts_back_the_previous_production_version(backend):
    reg, name = backend.registry, backend.name()
    run_id = backend.new_run({})
    for _ in range(2):
        reg.create_model_version(name, src(run_id))
    with pytest.raises(InvalidStateError, match="no version in Production"):
        reg.plan_rollback(name)
    reg.transition(name, 1, "Production", "v1")
    reg.transition(name, 2, "Production", "v2")
    plan = reg.plan_rollback(name)
    assert (plan.version, plan.from_stage, plan.archives, plan.rollback) == (
        1,
        "Archived",
        (2,),
        True,
    )
    with pytest.raises(CommentRequiredError):
        reg.rollback(name)
    reg.rollback(name, "v2 is broken", expected=plan)
    assert reg.resolve(f"models:/{name}/Production").version == 1
    last = reg.history(name)[-1]
    assert (last.kind, last.version, last.archived, last.comment) == (
        "rollback",
        1,
        (2,),
        "v2 is broken",
    )


def test_a_plan_the_registry_has_moved_past_is_refused_and_nothing_is_done(backend):
    reg, name = backend.registry, backend.name()
    run_id = backend.new_run({})
    for _ in range(2):
        reg.create_model_version(name, src(run_id))
    plan = reg.plan_transition(name, 2, "Production")
    assert plan.archives == ()
    reg.transition(name, 1, "Production", "meanwhile")  # someone else's move
    with pytest.raises(PlanChangedError) as caught:
        reg.transition(name, 2, "Production", "confirmed", expected=plan)
    assert caught.value.plan.archives == (1,)
    assert reg.get_model_version(name, 2).current_stage == "None"
    assert len(reg.history(name)) == 1


# -- aliases and URIs -------------------------------------------------------------------


def test_aliases_resolve_move_and_are_recorded(backend):
    reg, name = backend.registry, backend.name()
    run_id = backend.new_run({})
    for _ in range(2):
        reg.create_model_version(name, src(run_id))
    reg.set_alias(name, "champion", 1)
    reg.set_alias(name, "champion", 2)
    assert reg.get_registered_model(name).aliases == {"champion": 2}
    assert reg.get_model_version(name, 2).aliases == ["champion"]
    assert reg.resolve(f"models:/{name}@champion").version == 2
    reg.delete_alias(name, "champion")
    with pytest.raises(NotFoundError, match="alias"):
        reg.resolve(f"models:/{name}@champion")
    with pytest.raises(NotFoundError, match="alias"):
        reg.delete_alias(name, "champion")
    log = reg.history(name)
    assert [(r.kind, r.alias, r.version, r.from_version) for r in log] == [
        ("alias_set", "champion", 1, None),
        ("alias_set", "champion", 2, 1),
        ("alias_delete", "champion", 2, 2),
    ]


def test_model_uris_resolve_with_clear_errors(backend):
    reg, name = backend.registry, backend.name()
    run_id = backend.new_run({})
    for _ in range(3):
        reg.create_model_version(name, src(run_id))
    reg.transition(name, 2, "Staging")
    assert reg.resolve(f"models:/{name}/1").version == 1
    assert reg.resolve(f"models:/{name}/latest").version == 3
    assert reg.resolve(f"models:/{name}/staging").version == 2
    with pytest.raises(NotFoundError, match="no version in Production"):
        reg.resolve(f"models:/{name}/Production")
    with pytest.raises(NotFoundError, match="no registered model"):
        reg.resolve(f"models:/{backend.name('missing')}/1")


# -- renames and deletions --------------------------------------------------------------


def test_a_rename_is_recorded_and_the_history_follows_the_model(backend):
    reg, name = backend.registry, backend.name()
    new = backend.name("renamed")
    reg.create_model_version(name, src(backend.new_run({})))
    reg.transition(name, 1, "Staging")
    reg.rename_registered_model(name, new, user="ana")
    assert reg.get_model_version(new, 1).current_stage == "Staging"
    log = reg.history(new)
    assert [(r.kind, r.name) for r in log] == [("transition", name), ("rename", name)]
    assert log[-1].user_id == "ana"
    assert [m.name for m in reg.model_logs(new)] == [new]


def test_deleting_a_version_records_its_stage_and_keeps_its_history(backend):
    reg, name = backend.registry, backend.name()
    run_id = backend.new_run({})
    for _ in range(2):
        reg.create_model_version(name, src(run_id))
    reg.transition(name, 2, "Staging")
    reg.set_alias(name, "next", 2)
    reg.delete_model_version(name, 2)
    kinds = [(r.kind, r.version, r.from_stage, r.alias) for r in reg.history(name)]
    assert kinds == [
        ("transition", 2, "None", None),
        ("alias_set", 2, None, "next"),
        ("alias_delete", 2, None, "next"),
        ("delete_version", 2, "Staging", None),
    ]
    assert [v.version for v in reg.search_model_versions(name=name)] == [1]


def test_a_deleted_models_log(backend):
    """SQLite keeps a deleted model's log; a server deletes a model's tags with it, so
    its trail is gone (the documented difference)."""
    reg, name = backend.registry, backend.name()
    reg.create_model_version(name, src(backend.new_run({})))
    reg.transition(name, 1, "Staging")
    reg.delete_registered_model(name)
    with pytest.raises(NotFoundError):
        reg.get_registered_model(name)
    if backend.kind == "sqlite":
        (log,) = reg.model_logs(name)
        assert log.deleted and [r.kind for r in log.records][-1] == "delete_model"
    else:
        with pytest.raises(NotFoundError):
            reg.model_logs(name)


# -- searches ---------------------------------------------------------------------------


def test_searches_in_the_filter_grammar(backend):
    reg = backend.registry
    base = backend.name("srch")
    run_id = backend.new_run({})
    reg.create_model_version(f"{base}-a", src(run_id), tags={"team": "vision"})
    reg.create_model_version(f"{base}-b", src(run_id))
    reg.create_model_version(f"{base}-b", src(run_id))
    reg.set_registered_model_tag(f"{base}-a", "team", "vision")
    found = reg.search_models(f"name LIKE '{base}-%' AND tags.team = 'vision'")
    assert [m.name for m in found] == [f"{base}-a"]
    page = reg.search_models(f"name LIKE '{base}-%'", max_results=1, order_by=["name DESC"])
    assert [m.name for m in page] == [f"{base}-b"] and page.token
    rest = reg.search_models(f"name LIKE '{base}-%'", 1, ["name DESC"], page.token)
    assert [m.name for m in rest] == [f"{base}-a"]
    versions = reg.search_versions(
        f"name = '{base}-b' AND version_number >= 2", order_by=["version_number"]
    )
    assert [(v.name, v.version) for v in versions] == [(f"{base}-b", 2)]
    assert [m.name for m in reg.search_registered_models(f"{base}-%", {"team": "vision"})] == [
        f"{base}-a"
    ]
    with pytest.raises(FilterError):
        reg.search_versions("version_number = 'x'")
    either = f"name = '{base}-a' OR name = '{base}-b'"
    if backend.kind == "sqlite":
        assert sorted(m.name for m in reg.search_models(either)) == [f"{base}-a", f"{base}-b"]
    else:  # the server's grammar has no OR: refused, saying so
        with pytest.raises(FilterError, match="OR"):
            reg.search_models(either)


# -- hostile text -----------------------------------------------------------------------


def test_hostile_names_and_comments_are_stored_and_read_back_exactly(backend):
    reg = backend.registry
    name = f'it\'s "{backend.name()}" [b]x[\\b] %_\nline'
    long_comment = HOSTILE + "é" * 12_000 + "\nend"
    run_id = backend.new_run({})
    reg.create_model_version(name, src(run_id))
    reg.create_model_version(name, src(run_id))
    reg.transition(name, 1, "Production", long_comment)
    reg.transition(name, 2, "Staging", HOSTILE)
    reg.set_alias(name, "a-1", 2)
    assert reg.get_registered_model(name).name == name
    assert [v.version for v in reg.search_model_versions(name=name)] == [2, 1]
    assert reg.resolve(f"models:/{name}@a-1").version == 2
    log = reg.history(name)
    assert [r.comment for r in log] == [long_comment, HOSTILE, ""]
    assert all(r.name == name for r in log)
    assert OUTSIDE_COMMENT not in [r.comment for r in log]
