"""`mltop demo`: the store it builds, and the live training jobs it starts."""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from mltop.store import MltopClient, Store
from mltop.tui.cli import main
from mltop.tui.demo import store as demo
from mltop.tui.demo.train import Curve


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return demo.build(tmp_path_factory.mktemp("demo") / "store")


def test_the_demo_store_has_experiments_failures_nesting_and_models(built):
    store = Store(built.path)
    names = [e.name for e in store.list_experiments()]
    assert {"cifar10-resnet", "imdb-bert", "tabular-gbm"} <= set(names)
    runs = store.list_runs()
    assert len(runs) == built.runs >= 25
    failed = [r for r in runs if r.info.status == "FAILED"]
    assert failed and all("NaN" in r.data.tags["error"] for r in failed)
    children = [r for r in runs if r.info.parent_run_id]
    assert len(children) == 6
    assert {r.info.parent_run_id for r in children} <= {r.info.run_id for r in runs}
    reg = store.registry
    stages = {v.version: v.current_stage for v in reg.search_model_versions(name="cifar10-resnet")}
    assert stages == {1: "Archived", 2: "Production", 3: "Staging"}
    history = reg.history("cifar10-resnet")
    assert [r.user_id for r in history if r.kind == "transition"] == [
        "ci-bot",
        "ana",
        "ci-bot",
        "bob",
        "ci-bot",
    ]
    assert all(r.policy["passed"] for r in history if r.to_stage == "Production")
    assert reg.resolve("models:/cifar10-resnet@champion").version == 2


def test_curves_respond_to_learning_rate_and_batch_size(built):
    store = Store(built.path)
    runs = store.search_runs(
        experiment_names=["cifar10-resnet"], filter_string="attributes.status = 'FINISHED'"
    )
    best = {}
    for run in runs:
        lr = float(run.data.params["lr"])
        best.setdefault(lr, []).append(run.data.metrics["val_acc"])
    assert max(best[0.01]) > max(best[0.001]) and max(best[0.01]) > max(best[0.1])
    assert Curve(0.01, 32, 1).final_loss() < Curve(0.01, 256, 1).final_loss()
    assert Curve(0.3, 32, 1).diverges and not Curve(0.1, 32, 1).diverges


def test_the_demo_command_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "file").write_text("mine")
    result = CliRunner().invoke(main, ["demo", "--no-ui", "--store", str(tmp_path / "x")])
    assert result.exit_code == 2 and "not empty" in result.output
    assert (tmp_path / "x" / "file").read_text() == "mine"


def test_the_demo_command_refuses_a_file_and_leaves_it(tmp_path):
    (tmp_path / "f").write_text("hi")
    result = CliRunner().invoke(main, ["demo", "--no-ui", "--store", str(tmp_path / "f")])
    assert result.exit_code == 2 and "is a file" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert (tmp_path / "f").read_text() == "hi"


def test_the_demo_command_names_a_fresh_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mltop-demo").mkdir()
    result = CliRunner().invoke(main, ["demo", "--no-ui"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "mltop-demo-2" / "mltop.db").is_file()


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_live_jobs_log_while_running_and_end_killed_when_stopped(tmp_path):
    built = demo.DemoStore(tmp_path / "live")
    Store(built.path).close()
    demo.start_live_training(built, count=2, epochs=1000, step_seconds=0.01)
    store = Store(built.path)

    def logging() -> bool:
        runs = store.search_runs(filter_string="attributes.status = 'RUNNING'")
        return len(runs) == 2 and all(r.data.summaries.get("loss") for r in runs)

    wait_for(logging)
    first = {r.info.run_id: r.data.summaries["loss"].count for r in store.list_runs()}
    wait_for(
        lambda: all(
            r.data.summaries["loss"].count > first[r.info.run_id] for r in store.list_runs()
        )
    )
    demo.stop_live_training(built)
    statuses = {r.info.status for r in store.list_runs()}
    assert statuses == {"KILLED"}


def test_a_live_job_runs_to_the_end(tmp_path):
    built = demo.DemoStore(tmp_path / "short")
    Store(built.path).close()
    demo.start_live_training(built, count=1, epochs=2, steps_per_epoch=5, step_seconds=0)
    assert built.live[0].wait(timeout=60) == 0
    (run,) = Store(built.path).list_runs()
    assert run.info.status == "FINISHED"
    assert run.data.summaries["loss"].count == 10
    assert not math.isnan(run.data.metrics["val_acc"])


def test_without_a_terminal_the_demo_only_builds_and_says_how_to_open_it(tmp_path):
    target = tmp_path / "piped"
    result = CliRunner().invoke(main, ["demo", "--store", str(target)])
    assert result.exit_code == 0, result.output
    assert "Not a terminal" in result.output and f"mltop ui --store {target}" in result.output
    store = Store(target)
    assert not store.search_runs(filter_string="attributes.status = 'RUNNING'")
    store.close()


def test_the_demo_opens_the_dashboard_with_jobs_running_and_stops_them_on_quit(
    tmp_path, monkeypatch
):
    from mltop.tui import app as app_module
    from mltop.tui.cli import ui

    target = tmp_path / "shown"
    seen = {}

    def run_dashboard(self):  # stands in for the terminal session: waits for live points
        store = Store(target)

        def live_points() -> bool:
            runs = store.search_runs(filter_string="attributes.status = 'RUNNING'")
            return len(runs) == 2 and all(r.data.summaries.get("loss") for r in runs)

        wait_for(live_points)
        seen["path"] = self.store.path
        store.close()

    monkeypatch.setattr(ui, "_interactive", lambda: True)
    monkeypatch.setattr(app_module.MltopApp, "run", run_dashboard)
    result = CliRunner().invoke(main, ["demo", "--store", str(target), "--live", "2"])
    assert result.exit_code == 0, result.output
    assert seen["path"] == target
    store = Store(target)
    live = store.search_runs(filter_string="attributes.run_name LIKE '%-live-%'")
    assert sorted(r.info.status for r in live) == ["KILLED", "KILLED"]  # stopped on quit
    assert f"mltop ui --store {target}" in result.output
    store.close()


def test_a_job_that_does_not_stop_is_killed_and_its_run_ended_killed(tmp_path):
    built = demo.DemoStore(tmp_path / "stuck")
    client = MltopClient(Store(built.path))
    run = client.create_run("0", run_name="resnet18-live-stuck", tags={"live": "yes"})
    finished = client.create_run("0", run_name="done")
    client.set_terminated(finished.info.run_id)
    stuck = subprocess.Popen(  # deaf to SIGTERM, as a job stuck in a syscall would be
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, "
         "signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    assert stuck.stdout is not None and stuck.stdout.readline() == b"ready\n"
    built.live.append(stuck)
    started = time.monotonic()
    demo.stop_live_training(built, grace=0.5)
    assert time.monotonic() - started < 5
    assert stuck.returncode == -signal.SIGKILL
    assert client.store.get_run(run.info.run_id).info.status == "KILLED"
    assert client.store.get_run(finished.info.run_id).info.status == "FINISHED"
    stuck.stdout.close()
    client.close()
