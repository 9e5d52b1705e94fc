"""What the command line and the screens both show: a run's facts."""

from __future__ import annotations

from mltop.store import Run
from mltop.store.entities import Experiment, RunData, RunInfo
from mltop.tui.present import run_facts

NOW = 1_700_000_600_000


def a_run(**info: object) -> Run:
    fields: dict = {
        "run_id": "f005bf0291a94340bb8da840a223f079",
        "run_name": "[red]evil[/] \x07name",
        "experiment_id": "4",
        "user_id": "ann",
        "status": "RUNNING",
        "start_time": 1_700_000_000_000,
        "end_time": None,
        "lifecycle_stage": "active",
        "parent_run_id": None,
        "artifact_uri": "/store/artifacts/f005",
        "heartbeat_time": NOW,
        "heartbeat_interval_ms": 5000,
    }
    tags = {"mltop.source.command": "python [b]train.py[/b]", "mltop.git.commit": "0123abc"}
    return Run(RunInfo(**{**fields, **info}), RunData({}, tags, {}))


def test_facts_show_user_text_literally_and_leave_out_what_is_unknown():
    facts = run_facts(a_run(), NOW)
    shown = {label: text.plain for label, text in facts}
    assert list(shown) == [
        "Run",
        "Status",
        "Started",
        "Duration",
        "User",
        "Command",
        "Git",
        "Artifacts",
    ]
    assert shown["Run"] == "[red]evil[/] \\x07name  f005bf0291a94340bb8da840a223f079"
    assert shown["Command"] == "python [b]train.py[/b]"
    assert shown["Duration"] == "10m00s"  # running: until now
    assert all(not text.spans for _, text in facts)  # no markup read into styles


def test_facts_name_the_experiment_lifecycle_parent_and_children_given():
    run = a_run(lifecycle_stage="deleted", parent_run_id="9" * 32, end_time=1_700_000_005_000)
    exp = Experiment("4", "vision", "active", creation_time=0, last_update_time=0)
    shown = dict(run_facts(run, NOW, experiment=exp, children=["a" * 32, "b" * 32]))
    assert [*shown][:4] == ["Run", "Experiment", "Lifecycle", "Status"]
    assert shown["Experiment"].plain == "vision (4)"
    assert shown["Lifecycle"].style == "red"
    assert shown["Parent"].plain == "9" * 32
    assert shown["Children"].plain == "aaaaaaaa, bbbbbbbb"
    assert shown["Duration"].plain == "5s"
    named = dict(run_facts(run, NOW, parent="base (99999999)"))
    assert named["Parent"].plain == "base (99999999)"


def test_a_lost_runs_duration_stops_at_its_last_heartbeat():
    # Started 10 min before NOW, last heard of 62 s after it started: its process is gone.
    lost = a_run(heartbeat_time=1_700_000_062_000).info.at(NOW)
    assert lost.lost
    shown = dict(run_facts(Run(lost, a_run().data), NOW))
    assert shown["Duration"].plain == "1m02s"
    alive = dict(run_facts(a_run(), NOW))
    assert alive["Duration"].plain == "10m00s"
