"""Experiments: unique names, soft delete that keeps the name, tags."""

from __future__ import annotations

import pytest

from mltop.store import AlreadyExistsError, InvalidStateError, NotFoundError, ValidationError


def test_default_experiment_exists(store):
    default = store.get_experiment("0")
    assert default.name == "Default"
    assert [e.name for e in store.list_experiments()] == ["Default"]


def test_create_and_get_by_id_and_name(store):
    exp_id = store.create_experiment("resnet", tags={"team": "vision"})
    by_id = store.get_experiment(exp_id)
    by_name = store.get_experiment_by_name("resnet")
    assert by_id == by_name
    assert by_id.tags == {"team": "vision"}
    assert by_id.lifecycle_stage == "active"
    assert store.get_experiment_by_name("nope") is None


def test_names_are_unique(store):
    store.create_experiment("a")
    with pytest.raises(AlreadyExistsError, match="experiment 'a' already exists"):
        store.create_experiment("a")


def test_empty_name_is_refused(store):
    with pytest.raises(ValidationError, match="cannot be empty"):
        store.create_experiment("  ")


def test_unknown_experiment_is_a_clear_error(store):
    with pytest.raises(NotFoundError, match="no experiment with id '42'"):
        store.get_experiment("42")
    with pytest.raises(NotFoundError, match="no experiment with id 'abc'"):
        store.get_experiment("abc")


def test_rename(store):
    exp_id = store.create_experiment("old")
    store.create_experiment("taken")
    store.rename_experiment(exp_id, "new")
    assert store.get_experiment(exp_id).name == "new"
    assert store.get_experiment_by_name("old") is None
    with pytest.raises(AlreadyExistsError, match="'taken' already exists"):
        store.rename_experiment(exp_id, "taken")


def test_delete_hides_runs_reserves_name_and_forbids_new_runs(store):
    exp_id = store.create_experiment("gone")
    run = store.create_run(exp_id, "r")
    store.delete_experiment(exp_id)

    assert [e.name for e in store.list_experiments()] == ["Default"]
    assert [e.name for e in store.list_experiments("deleted")] == ["gone"]
    assert store.list_runs() == []
    assert [r.info.run_id for r in store.list_runs(view="deleted")] == [run.info.run_id]
    with pytest.raises(AlreadyExistsError, match="deleted state"):
        store.create_experiment("gone")
    with pytest.raises(InvalidStateError, match="'gone' is deleted"):
        store.create_run(exp_id, "r2")

    store.restore_experiment(exp_id)
    assert [r.info.run_id for r in store.list_runs()] == [run.info.run_id]
    store.create_run(exp_id, "r2")


def test_deleting_twice_or_the_default_is_refused(store):
    exp_id = store.create_experiment("x")
    store.delete_experiment(exp_id)
    with pytest.raises(InvalidStateError, match="already deleted"):
        store.delete_experiment(exp_id)
    with pytest.raises(InvalidStateError, match="Default experiment cannot be deleted"):
        store.delete_experiment("0")


def test_experiment_tags_set_overwrite_delete(store):
    exp_id = store.create_experiment("t")
    store.set_experiment_tag(exp_id, "stage", "dev")
    store.set_experiment_tag(exp_id, "stage", "prod")
    assert store.get_experiment(exp_id).tags == {"stage": "prod"}
    store.delete_experiment_tag(exp_id, "stage")
    assert store.get_experiment(exp_id).tags == {}
    with pytest.raises(NotFoundError, match="has no tag 'stage'"):
        store.delete_experiment_tag(exp_id, "stage")


def test_run_counts_per_experiment(store):
    exp_id = store.create_experiment("c")
    store.create_run(exp_id, "a")
    store.create_run(exp_id, "b", status="FINISHED")
    assert store.experiment_run_counts()[exp_id] == (2, 1)
