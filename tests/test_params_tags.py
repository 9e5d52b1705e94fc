"""Params are immutable strings of up to 6000 characters; tags are mutable."""

from __future__ import annotations

import pytest

from mltop.store import InvalidKeyError, NotFoundError, ParamConflictError, ValidationError


@pytest.fixture
def run_id(client):
    return client.create_run(run_name="p").info.run_id


def test_params_are_stored_as_strings(client, run_id):
    client.log_params(run_id, {"lr": 0.1, "layers": 3, "opt": "adam", "flag": True})
    assert client.get_run(run_id).data.params == {
        "lr": "0.1",
        "layers": "3",
        "opt": "adam",
        "flag": "True",
    }


def test_logging_the_same_value_again_is_a_no_op(client, run_id):
    client.log_param(run_id, "lr", 0.1)
    client.log_param(run_id, "lr", "0.1")
    assert client.get_run(run_id).data.params == {"lr": "0.1"}


def test_changing_a_param_names_old_and_new_value(client, run_id):
    client.log_param(run_id, "lr", 0.1)
    with pytest.raises(ParamConflictError) as info:
        client.log_param(run_id, "lr", 0.2)
    message = str(info.value)
    assert "'0.1'" in message and "'0.2'" in message and "'lr'" in message
    assert client.get_run(run_id).data.params == {"lr": "0.1"}


def test_a_conflict_in_a_batch_logs_nothing_of_it(client, run_id):
    client.log_param(run_id, "lr", 0.1)
    with pytest.raises(ParamConflictError):
        client.log_params(run_id, {"batch": 32, "lr": 0.5})
    assert client.get_run(run_id).data.params == {"lr": "0.1"}


def test_param_values_up_to_6000_characters(client, run_id):
    client.log_param(run_id, "ok", "x" * 6000)
    with pytest.raises(ValidationError, match="6001 characters long; the limit is 6000"):
        client.log_param(run_id, "too_long", "x" * 6001)
    assert "too_long" not in client.get_run(run_id).data.params


def test_bad_param_key_is_named(client, run_id):
    with pytest.raises(InvalidKeyError, match="invalid key 'a\\?b'") as info:
        client.log_param(run_id, "a?b", 1)
    assert info.value.key == "a?b"


def test_tags_are_mutable_and_deletable(client, run_id):
    client.set_tag(run_id, "stage", "dev")
    client.set_tags(run_id, {"stage": "prod", "owner": "ana"})
    tags = client.get_run(run_id).data.tags
    assert tags["stage"] == "prod" and tags["owner"] == "ana"
    client.delete_tag(run_id, "stage")
    assert "stage" not in client.get_run(run_id).data.tags
    with pytest.raises(NotFoundError, match="has no tag 'stage'"):
        client.delete_tag(run_id, "stage")


def test_tag_values_are_shown_literally_and_limited(client, run_id):
    client.set_tag(run_id, "note", "[bold red]x[/] \x1b[31m")
    assert client.get_run(run_id).data.tags["note"] == "[bold red]x[/] \x1b[31m"
    with pytest.raises(ValidationError, match="limit is 8000"):
        client.set_tag(run_id, "big", "y" * 8001)
