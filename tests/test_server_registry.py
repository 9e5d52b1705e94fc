"""The registry over a tracking server, what only a server has: the audit trail kept as
tags that MLflow's own client reads, moves made outside mltop (MLflow's client, a crash
between a move and its record) shown as such rather than lost, records longer than the
server's tag limit, two mltop clients moving one model at once, and what the server's
filter grammar cannot say refused by name."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest
from test_contract_registry import server_run_maker

from mltop.store.errors import FilterError, ValidationError
from mltop.store.server.registry import (
    OUTSIDE_COMMENT,
    POLICY_TAG,
    TAG_VALUE_LIMIT,
    TRAIL_PREFIX,
    ServerRegistry,
    TrailWriteError,
)
from mltop.store.server.rest import RestClient, ServerUnreachableError
from mltop.store.server.tracking import ServerStore

pytestmark = pytest.mark.filterwarnings("ignore:.*registry stages:FutureWarning")


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


def test_two_clients_moving_one_model_at_once_end_consistent_with_both_moves(mlflow_server, model):
    clients = [RestClient(mlflow_server.url) for _ in range(2)]
    regs = [ServerRegistry(c) for c in clients]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def move(reg: ServerRegistry, version: int, user: str) -> None:
        try:
            barrier.wait(timeout=30)
            reg.transition(model, version, "Production", f"by {user}", user=user)
        except BaseException as exc:  # the test reports it below
            errors.append(exc)

    threads = [
        threading.Thread(target=move, args=(regs[0], 1, "ana")),
        threading.Thread(target=move, args=(regs[1], 2, "bo")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    stages = {v.version: v.current_stage for v in regs[0].search_model_versions(name=model)}
    assert sorted(stages.values()) == ["Archived", "Production"]
    log = regs[1].history(model)
    assert sorted(r.user_id for r in log) == ["ana", "bo"]
    assert OUTSIDE_COMMENT not in [r.comment for r in log]  # the trail accounts for it all
    winner = next(v for v, s in stages.items() if s == "Production")
    archived = {r.version: r.archived for r in log}
    assert archived == {winner: (3 - winner,), 3 - winner: ()}
    for c in clients:
        c.close()


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


def test_what_the_servers_filter_cannot_say_is_refused_by_name(reg, model):
    with pytest.raises(FilterError, match="OR"):
        reg.search_versions(f"name = '{model}' OR version_number = 1")
    with pytest.raises(FilterError, match="both quote"):
        reg.search_models("name = 'a''b\"c'")
    found = reg.search_versions(f"name = '{model}' AND version_number != 1")
    assert [v.version for v in found] == [2]
