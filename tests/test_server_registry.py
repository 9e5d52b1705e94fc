"""The registry over a tracking server, what only a server has: the audit trail kept as
tags that MLflow's own client reads, moves made outside mltop (MLflow's client, a crash
between a move and its record) shown as such rather than lost, records longer than the
server's tag limit, two mltop clients moving one model at once, and what the server's
filter grammar cannot say refused by name."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from mltop.store.entities import ModelVersion, TransitionRecord
from mltop.store.errors import FilterError, StoreReadOnlyError, ValidationError
from mltop.store.server.registry import (
    OUTSIDE_COMMENT,
    POLICY_TAG,
    TAG_VALUE_LIMIT,
    TRAIL_PREFIX,
    ServerRegistry,
    TrailWriteError,
    read_records,
    reconcile,
    record_pieces,
)
from mltop.store.server.rest import RestClient, ServerUnreachableError
from mltop.store.server.tracking import ServerStore

pytestmark = pytest.mark.filterwarnings("ignore:.*registry stages:FutureWarning")


def server_run_maker(rest: RestClient) -> Callable[[dict[str, float]], str]:
    """Runs made through the REST API (an experiment of a unique name per test)."""
    experiment: list[str] = []

    def make(metrics: dict[str, float]) -> str:
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

    return make


@pytest.fixture
def rest(mlflow_server):
    client = RestClient(mlflow_server.url, max_retries=0)
    yield client
    client.close()


@pytest.fixture
def reg(rest) -> ServerRegistry:
    return ServerRegistry(rest)


@pytest.fixture
def mlf(mlflow_server):
    import mlflow

    return mlflow.MlflowClient(tracking_uri=mlflow_server.url, registry_uri=mlflow_server.url)


@pytest.fixture
def model(reg, rest) -> str:
    """A model of a unique name with two versions of one run logging acc=0.95."""
    name = f"srv-{uuid.uuid4().hex[:10]}"
    run_id = server_run_maker(rest)({"acc": 0.95})
    for _ in range(2):
        reg.create_model_version(name, f"runs:/{run_id}/model")
    return name


def trail(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k.startswith(TRAIL_PREFIX)}


def test_the_store_hands_out_a_registry_on_its_own_connection(mlflow_server, tmp_path):
    store = ServerStore(mlflow_server.url, cache=tmp_path / "cache")
    assert isinstance(store.registry, ServerRegistry)
    assert store.registry.rest is store.rest
    store.close()


def test_the_trail_and_the_policy_are_tags_mlflows_own_client_reads(reg, model, mlf):
    reg.set_policy(model, "metrics.acc >= 0.9")
    reg.transition(model, 1, "Production", "ship [b]it[/b]", user="ana")
    assert mlf.get_registered_model(model).tags[POLICY_TAG] == "metrics.acc >= 0.9"
    version = mlf.get_model_version(model, "1")
    (key, value), *others = trail(version.tags).items()
    assert not others
    record = json.loads(value)
    assert record["kind"] == "transition" and record["user"] == "ana"
    assert (record["from"], record["to"], record["comment"]) == (
        "None",
        "Production",
        "ship [b]it[/b]",
    )
    assert record["policy"]["passed"] is True
    assert record["policy"]["clauses"][0]["actual"] == 0.95
    # The record's time is the server's time of the move, and its key sorts by it.
    assert record["time"] == int(version.last_updated_timestamp)
    assert key.startswith(f"{TRAIL_PREFIX}{record['time']:013d}.")
    # mltop's readers hide their bookkeeping among the tags.
    assert reg.get_model_version(model, 1).tags == {}
    assert POLICY_TAG not in reg.get_registered_model(model).tags


def test_a_move_by_mlflows_client_shows_as_made_outside_mltop(reg, model, mlf):
    reg.transition(model, 1, "Staging", user="ana")
    mlf.transition_model_version_stage(model, "1", "Production", archive_existing_versions=True)
    mlf.transition_model_version_stage(model, "2", "Staging")
    log = reg.history(model)
    rows = [(r.version, r.from_stage, r.to_stage, r.user_id, r.comment) for r in log]
    assert rows == [
        (1, "None", "Staging", "ana", ""),
        (1, "Staging", "Production", "", OUTSIDE_COMMENT),
        (2, "None", "Staging", "", OUTSIDE_COMMENT),
    ]
    # mltop's next move follows on from where MLflow's client left the version.
    reg.transition(model, 1, "Archived", "retired", user="bo")
    rows = [(r.version, r.from_stage, r.to_stage, r.user_id) for r in reg.history(model)]
    assert rows[1:] == [
        (1, "Staging", "Production", ""),
        (1, "Production", "Archived", "bo"),
        (2, "None", "Staging", ""),
    ]


def test_a_failure_between_the_move_and_its_record_is_said_and_shows_in_the_history(
    reg, model, monkeypatch
):
    real = reg.rest.call

    def no_trail(method: str, endpoint: str, body: Any = None, **kwargs: Any) -> dict:
        if endpoint == "model-versions/set-tag" and str(body["key"]).startswith(TRAIL_PREFIX):
            raise ServerUnreachableError("tracking server gone (test)")
        return real(method, endpoint, body, **kwargs)

    monkeypatch.setattr(reg.rest, "call", no_trail)
    with pytest.raises(TrailWriteError, match="the change was made") as caught:
        reg.transition(model, 2, "Production", "go")
    assert caught.value.plan is not None and caught.value.plan.version == 2
    monkeypatch.setattr(reg.rest, "call", real)
    assert reg.get_model_version(model, 2).current_stage == "Production"  # it moved
    (record,) = reg.history(model)
    assert (record.version, record.from_stage, record.to_stage, record.comment) == (
        2,
        "None",
        "Production",
        OUTSIDE_COMMENT,
    )
    reg.transition(model, 1, "Production", "next", user="ana")
    rows = [(r.version, r.to_stage, r.archived, r.user_id) for r in reg.history(model)]
    assert rows == [(2, "Production", (), ""), (1, "Production", (2,), "ana")]


def test_a_record_longer_than_the_servers_tag_limit_is_split_and_kept_whole(reg, model, mlf):
    comment = "line\n" + "é" * (3 * TAG_VALUE_LIMIT) + "[/]"
    reg.transition(model, 1, "Production", comment)
    tags = trail(mlf.get_model_version(model, "1").tags)
    assert all(len(v) <= TAG_VALUE_LIMIT for v in tags.values())
    (key,) = [k for k in tags if k.count(".") == 3]
    pieces = sorted((int(k.rsplit(".", 1)[1]), v) for k, v in tags.items() if k != key)
    assert [i for i, _ in pieces] == list(range(1, len(pieces) + 1)) and len(pieces) >= 3
    joined = tags[key] + "".join(v for _, v in pieces)
    assert json.loads(joined)["comment"] == comment
    assert reg.history(model)[0].comment == comment


def test_a_damaged_record_is_shown_as_unreadable_and_the_rest_stays(reg, model, mlf):
    reg.transition(model, 1, "Staging")
    mlf.set_model_version_tag(model, "2", f"{TRAIL_PREFIX}{1:013d}.deadbeef", "{not json")
    log = reg.history(model)
    assert [r.kind for r in log] == ["unreadable", "transition"]
    assert "cannot be read" in log[0].comment


def race(regs: list[ServerRegistry], model: str) -> list[BaseException]:
    """v1 (by ana, through regs[0]) and v2 (by bo, regs[1]) moved to Production at once."""
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def move(mover: ServerRegistry, version: int, user: str) -> None:
        try:
            barrier.wait(timeout=30)
            mover.transition(model, version, "Production", f"by {user}", user=user)
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    threads = [
        threading.Thread(target=move, args=(regs[0], 1, "ana")),
        threading.Thread(target=move, args=(regs[1], 2, "bo")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_two_clients_moving_one_model_at_once_end_consistent_with_both_moves(
    mlflow_server, reg, rest
):
    """The server's own archiving can miss a move made at the same instant (both end in
    Production): each mltop client looks again after its move, so one stays."""
    clients = [RestClient(mlflow_server.url) for _ in range(2)]
    regs = [ServerRegistry(c) for c in clients]
    run_id = server_run_maker(rest)({})
    for _ in range(3):  # rounds: the race is not won the same way each time
        model = f"race-{uuid.uuid4().hex[:10]}"
        for _ in range(2):
            reg.create_model_version(model, f"runs:/{run_id}/model")
        errors = race(regs, model)
        assert not errors
        stages = {v.version: v.current_stage for v in reg.search_model_versions(name=model)}
        assert sorted(stages.values()) == ["Archived", "Production"]
        log = reg.history(model)
        assert sorted(r.user_id for r in log if r.to_stage == "Production") == ["ana", "bo"]
        assert OUTSIDE_COMMENT not in [r.comment for r in log]  # the trail accounts for all
        winner = next(v for v, s in stages.items() if s == "Production")
        loser = 3 - winner
        said = [
            r for r in log if loser in r.archived or (r.version, r.to_stage) == (loser, "Archived")
        ]
        assert said, log
    for c in clients:
        c.close()


def test_a_version_the_servers_archiving_missed_is_archived_by_the_mover(reg, model, monkeypatch):
    """As when two moves run at once: the server's transaction did not see v1 in
    Production (simulated: the move is sent without archiving)."""
    reg.transition(model, 1, "Production", "first", user="ana")
    real = reg.rest.call

    def missing(method: str, endpoint: str, body: Any = None, **kwargs: Any) -> dict:
        if endpoint == "model-versions/transition-stage" and body["version"] == "2":
            body = {**body, "archive_existing_versions": False}
        return real(method, endpoint, body, **kwargs)

    monkeypatch.setattr(reg.rest, "call", missing)
    reg.transition(model, 2, "Production", "second", user="bo")
    stages = {v.version: v.current_stage for v in reg.search_model_versions(name=model)}
    assert stages == {1: "Archived", 2: "Production"}
    rows = [(r.version, r.to_stage, r.archived, r.user_id) for r in reg.history(model)]
    assert rows == [(1, "Production", (), "ana"), (2, "Production", (1,), "bo")]


def test_a_read_only_registry_changes_nothing(reg, model, rest):
    looking = ServerRegistry(rest, read_only=True)
    assert looking.plan_transition(model, 1, "Staging").to_stage == "Staging"
    for change in (
        lambda: looking.transition(model, 1, "Staging"),
        lambda: looking.set_alias(model, "a", 1),
        lambda: looking.set_policy(model, "metrics.acc > 0"),
        lambda: looking.create_model_version(model, "runs:/" + "0" * 32 + "/m"),
        lambda: looking.delete_model_version(model, 2),
    ):
        with pytest.raises(StoreReadOnlyError, match="read-only"):
            change()
    assert [v.current_stage for v in reg.search_model_versions(name=model)] == ["None", "None"]
    assert reg.history(model) == [] and reg.get_registered_model(model).aliases == {}


def test_a_move_sends_the_processs_buffered_points_before_the_policy_reads_the_run(
    reg, model, monkeypatch
):
    from mltop.store.server import registry as module

    reg.set_policy(model, "metrics.acc >= 0.9")
    events: list[str] = []
    real = reg.rest.call

    def recording(method: str, endpoint: str, body: Any = None, **kwargs: Any) -> dict:
        events.append(endpoint)
        return real(method, endpoint, body, **kwargs)

    monkeypatch.setattr(reg.rest, "call", recording)
    monkeypatch.setattr(module, "sync_all", lambda: events.append("sync"))
    reg.plan_transition(model, 1, "Production")
    assert events.index("sync") < events.index("runs/get")
    events.clear()
    reg.transition(model, 1, "Production", "go")
    assert events.index("sync") < events.index("runs/get")


def test_mltops_own_tags_cannot_be_set_as_user_tags(reg, model):
    with pytest.raises(ValidationError, match="mltop's own"):
        reg.set_model_version_tag(model, 1, f"{TRAIL_PREFIX}{1:013d}.deadbeef", "{}")
    with pytest.raises(ValidationError, match="mltop's own"):
        reg.set_registered_model_tag(model, POLICY_TAG, "metrics.acc > 0")
    assert reg.history(model) == [] and reg.get_registered_model(model).policy is None


def test_a_deleted_versions_records_stay_on_the_model(reg, model, mlf):
    reg.transition(model, 2, "Staging", user="ana")
    reg.delete_model_version(model, 2, user="bo")
    kept = trail(mlf.get_registered_model(model).tags)
    records = sorted((json.loads(v) for v in kept.values()), key=lambda r: r["time"])
    assert [(r["kind"], r["user"]) for r in records] == [
        ("transition", "ana"),
        ("delete_version", "bo"),
    ]
    assert [(r.kind, r.version) for r in reg.history(model, version=2)] == [
        ("transition", 2),
        ("delete_version", 2),
    ]


def test_a_version_deleted_by_mlflows_client_takes_its_records_with_it(reg, model, mlf):
    """The documented limit: mltop copies a version's records to the model before it
    deletes it; MLflow's client deletes the version's tags, records included."""
    reg.transition(model, 2, "Staging", user="ana")
    reg.delete_model_version(model, 1)
    mlf.delete_model_version(model, "2")
    kinds = [(r.kind, r.version, r.comment) for r in reg.history(model)]
    assert kinds == [("delete_version", 1, "")]


def test_an_or_runs_as_one_server_search_per_alternative(reg, model, monkeypatch):
    real, sent = reg.rest.call, []

    def recording(method: str, endpoint: str, body: Any = None, **kwargs: Any) -> dict:
        if endpoint == "model-versions/search":
            sent.append(body["filter"])
        return real(method, endpoint, body, **kwargs)

    monkeypatch.setattr(reg.rest, "call", recording)
    found = reg.search_versions(
        f"(name = '{model}' OR name = 'nothing') AND (version_number = 1 OR tags.k = 'v')"
    )
    assert [(v.name, v.version) for v in found] == [(model, 1)]
    assert len(sent) == 4 and all(" OR " not in f for f in sent)
    # Plain `name =` (or `run_id =`) alternatives are one IN list.
    sent.clear()
    assert [v.version for v in reg.search_versions(f"name = '{model}' OR name = 'x'")] == [2, 1]
    assert sent == [f"name IN ('{model}', 'x')"]


def test_a_value_with_a_quote_or_backslash_is_searched_for_as_written(reg, rest):
    """MLflow's filter takes the text between the quotes as it is (no escapes): a value
    holding ' is sent in double quotes."""
    run_id = server_run_maker(rest)({})
    name = f"o'brien\\{uuid.uuid4().hex[:8]}"
    reg.create_model_version(name, f"runs:/{run_id}/model", tags={"note": "a'b\\c"})
    literal = name.replace("'", "''")
    assert [v.name for v in reg.search_versions(f"name = '{literal}'")] == [name]
    assert [m.name for m in reg.search_models(f"name = '{literal}' AND tags.x != 'y'")] == []
    found = reg.search_versions(f"name = '{literal}' AND tags.note = 'a''b\\c'")
    assert [v.version for v in found] == [1]


def test_what_the_servers_filter_cannot_say_is_refused_by_name(reg, model):
    many = " AND ".join(f"(version_number = {i} OR version_number = {i + 1})" for i in range(9))
    with pytest.raises(FilterError, match="more than 200"):
        reg.search_versions(many)
    with pytest.raises(FilterError, match="both quote"):
        reg.search_models("name = 'a''b\"c'")
    found = reg.search_versions(f"name = '{model}' AND version_number != 1")
    assert [v.version for v in found] == [2]


# -- the trail's parts, without a server ----------------------------------------------------


def _move(version: int, from_stage: str, to_stage: str, time: int, archived=()):
    return TransitionRecord(
        0, "m", version, "transition", from_stage, to_stage, None, None, "u", time, "", archived,
        None, False,
    )  # fmt: skip


def _version(number: int, stage: str, updated: int = 100) -> ModelVersion:
    return ModelVersion("m", number, 1, updated, current_stage=stage)


def test_reconcile_adds_what_no_record_accounts_for_and_nothing_else():
    recorded = [_move(1, "None", "Production", 10), _move(2, "None", "Production", 20, (1,))]
    assert reconcile("m", recorded, [_version(1, "Archived"), _version(2, "Production")]) == (
        recorded
    )
    # v2 moved to Staging by another tool, v3 made and moved, v1 deleted without a record.
    found = reconcile("m", recorded, [_version(2, "Staging", 30), _version(3, "Staging", 40)])
    added = [(r.kind, r.version, r.from_stage, r.to_stage, r.time) for r in found[2:]]
    assert added == [
        ("transition", 2, "Production", "Staging", 30),
        ("transition", 3, "None", "Staging", 40),
        ("delete_version", 1, "Archived", None, 40),
    ]
    assert all(r.comment == OUTSIDE_COMMENT and r.user_id == "" for r in found[2:])
    # Two clients making the same move at once: two records, no move invented between.
    twice = [_move(1, "None", "Staging", 10), _move(1, "None", "Staging", 11)]
    assert reconcile("m", twice, [_version(1, "Staging")]) == twice


def test_a_move_outside_mltop_between_two_of_its_records_stays_in_the_history():
    """Found by a tester: mltop moved v1 to Production, MLflow's client moved it back to
    Staging, mltop moved it to Production again: the move back vanished from the history
    (taken for the same move made twice at once)."""
    minute = 60_000
    recorded = [_move(1, "None", "Production", 0), _move(1, "Staging", "Production", 5 * minute)]
    found = reconcile("m", recorded, [_version(1, "Production")])
    rows = [(r.from_stage, r.to_stage, r.comment == OUTSIDE_COMMENT) for r in found]
    assert rows == [
        ("None", "Production", False),
        ("Production", "Staging", True),
        ("Staging", "Production", False),
    ]


def test_a_record_is_cut_into_pieces_and_joined_back_whatever_its_text():
    record = {"kind": "transition", "comment": "[b]\n" + "é✓" * 7000, "policy": None}
    pieces = record_pieces(f"{TRAIL_PREFIX}{5:013d}.0123abcd", record)
    assert len(pieces) == 3 and all(len(v) <= TAG_VALUE_LIMIT for _, v in pieces)
    assert pieces[-1][0] == f"{TRAIL_PREFIX}{5:013d}.0123abcd"  # the record's own key last
    assert read_records(dict(pieces)) == {pieces[-1][0]: record}
    # A piece missing: the record is unreadable, not wrong (its JSON may still parse).
    assert read_records(dict(pieces[1:])) == {pieces[-1][0]: None}
    # Pieces without the record's own key (a crash before it was written): no record.
    assert read_records(dict(pieces[:-1])) == {}
