"""Runs: names, statuses, nesting, soft delete, and the facts recorded at start."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from helpers import run_python

from mltop.store import InvalidStateError, InvalidValueError, NotFoundError


def test_run_gets_a_readable_name_when_none_is_given(client):
    run = client.create_run()
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d{3}", run.info.run_name)
    assert re.fullmatch(r"[0-9a-f]{32}", run.info.run_id)
    assert run.info.experiment_id == "0"
    assert run.info.status == "RUNNING"
    assert run.info.end_time is None


def test_terminating_sets_status_and_end_time(client):
    run = client.create_run(run_name="r")
    client.set_terminated(run.info.run_id, "FAILED")
    info = client.get_run(run.info.run_id).info
    assert info.status == "FAILED"
    assert info.end_time is not None and info.end_time >= info.start_time


@pytest.mark.parametrize("status", ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"])
def test_every_status_is_accepted(client, status):
    run = client.create_run(status=status)
    assert client.get_run(run.info.run_id).info.status == status


def test_unknown_status_is_refused_with_the_valid_ones(client):
    run = client.create_run()
    with pytest.raises(InvalidValueError, match="RUNNING, SCHEDULED, FINISHED, FAILED, KILLED"):
        client.store.update_run(run.info.run_id, status="DONE")


def test_nested_runs_record_their_parent(client):
    parent = client.create_run(run_name="parent")
    child = client.create_run(run_name="child", parent_run_id=parent.info.run_id)
    assert child.info.parent_run_id == parent.info.run_id
    assert client.store.child_run_ids(parent.info.run_id) == [child.info.run_id]
    with pytest.raises(NotFoundError, match="no run with id 'f+'"):
        client.create_run(parent_run_id="f" * 32)


def test_deleted_run_is_hidden_and_cannot_be_logged_to(client):
    run = client.create_run(run_name="d")
    client.delete_run(run.info.run_id)
    assert client.list_runs() == []
    assert [r.info.run_id for r in client.list_runs(view="deleted")] == [run.info.run_id]
    with pytest.raises(InvalidStateError, match="is deleted"):
        client.log_param(run.info.run_id, "a", 1)
    client.restore_run(run.info.run_id)
    client.log_param(run.info.run_id, "a", 1)
    assert [r.info.run_id for r in client.list_runs()] == [run.info.run_id]


def test_a_run_deleted_while_training_can_still_be_ended(fluent):
    run = fluent.start_run()
    fluent.get_store().delete_run(run.info.run_id)
    fluent.end_run()
    info = fluent.get_store().get_run(run.info.run_id).info
    assert (info.status, info.lifecycle_stage) == ("FINISHED", "deleted")
    with pytest.raises(InvalidStateError, match="is deleted"):
        fluent.start_run(run_id=run.info.run_id)
    assert fluent.get_store().get_run(run.info.run_id).info.status == "FINISHED"


def test_runs_are_listed_newest_first(client):
    first = client.create_run(run_name="first", start_time=1000)
    second = client.create_run(run_name="second", start_time=2000)
    assert [r.info.run_id for r in client.list_runs()] == [second.info.run_id, first.info.run_id]
    assert [r.info.run_name for r in client.list_runs(max_results=1)] == ["second"]


def test_unknown_run_is_a_clear_error(client):
    with pytest.raises(NotFoundError, match="no run with id 'abc'"):
        client.get_run("abc")


def test_run_id_prefixes_resolve_like_git(client):
    run = client.create_run()
    assert client.store.resolve_run_id(run.info.run_id[:6]) == run.info.run_id
    with pytest.raises(NotFoundError, match="not a run id"):
        client.store.resolve_run_id("ab")


def test_system_facts_are_recorded(client):
    run = client.create_run()
    tags = run.data.tags
    assert run.info.user_id == "tester"
    assert tags["mltop.user"] == "tester"
    assert tags["mltop.host"]
    assert tags["mltop.python"] == ".".join(map(str, sys.version_info[:3]))
    assert "pytest" in tags["mltop.source.command"] or "python" in tags["mltop.source.command"]


def test_git_commit_branch_and_dirty_flag_are_recorded(tmp_path, store_path):
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=repo,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    git("init", "-q", "-b", "feature")
    script = repo / "train.py"
    script.write_text(
        "import sys\nfrom mltop import store as mt\nmt.set_store(sys.argv[1])\n"
        "with mt.start_run() as run:\n    print(run.info.run_id)\n"
    )
    git("add", "train.py")
    git("commit", "-q", "-m", "init")
    commit = git("rev-parse", "HEAD")

    def run_script() -> dict[str, str]:
        out = subprocess.run(
            [sys.executable, str(script), str(store_path)],
            check=True,
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        from mltop.store import Store

        with Store(store_path) as store:
            return store.get_run(out.stdout.strip()).data.tags

    tags = run_script()
    assert tags["mltop.git.commit"] == commit
    assert tags["mltop.git.branch"] == "feature"
    assert tags["mltop.git.dirty"] == "false"
    assert "train.py" in tags["mltop.source.command"]
    script.write_text(script.read_text() + "# edited\n")
    assert run_script()["mltop.git.dirty"] == "true"


def test_outside_git_no_git_tags_are_recorded(tmp_path, store_path):
    out = run_python(f"""
        from mltop import store as mt
        mt.set_store({str(store_path)!r})
        with mt.start_run() as run:
            print(sorted(k for k in mt.get_run(run.info.run_id).data.tags if 'git' in k))
    """)
    assert out.stdout.strip() == "[]"
