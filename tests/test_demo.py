"""`mltop demo`: the store it builds, and the live training jobs it starts."""

from __future__ import annotations

import csv
import math
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from mltop import models
from mltop.models.signature import SignatureError
from mltop.models.uri import integrity
from mltop.store import MltopClient, Store
from mltop.tui.cli import main
from mltop.tui.demo import models as demo_models
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


def _float_rows(path):
    with open(path, newline="") as file:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(file)]


def test_the_registered_versions_are_real_models_that_load_and_predict(built, fluent):
    fluent.set_store(built.path)
    store = Store(built.path)
    reg = store.registry
    rows = _float_rows(built.path / demo.IMAGE_INPUTS)
    assert len(rows) == 20 and list(rows[0]) == list(demo_models.IMAGE_FEATURES)
    predictions = {}
    for version in reg.search_model_versions(name="cifar10-resnet"):
        assert version.source.startswith("models:/m-")
        model = models.load_model(f"models:/cifar10-resnet/{version.version}")
        predicted = model.predict(rows)
        assert len(predicted) == len(rows) and set(predicted) <= set(demo_models.IMAGE_CLASSES)
        predictions[version.version] = predicted
        logged = store.get_logged_model(model.model_id)
        assert logged.source_run_id == version.run_id
        assert integrity(store, logged).ok  # every file as logged
        assert model.metadata.get_input_schema().input_names() == list(demo_models.IMAGE_FEATURES)
    assert len(predictions) == 3
    # Production classifies the rows near each class as that class.
    production = predictions[reg.resolve("models:/cifar10-resnet/Production").version]
    assert production[:5] == list(demo_models.IMAGE_CLASSES)
    sentiment = models.load_model("models:/imdb-sentiment/Staging")
    with open(built.path / demo.REVIEW_INPUTS, newline="") as file:
        reviews = list(csv.DictReader(file))
    assert sentiment.predict(reviews) == [
        "positive",
        "negative",
        "positive",
        "negative",
        "positive",
    ]
    store.close()


def test_a_demo_model_refuses_rows_missing_a_column(built, fluent):
    fluent.set_store(built.path)
    model = models.load_model("models:/cifar10-resnet@champion")
    with pytest.raises(SignatureError) as caught:
        model.predict([{"mean_red": 0.5, "mean_green": 0.5, "mean_blue": 0.5}])
    assert "edge_density" in str(caught.value)


def test_each_finished_run_of_the_demo_logged_its_model(built):
    store = Store(built.path)
    for run in store.search_runs(experiment_names=["cifar10-resnet", "imdb-bert"]):
        logged = store.logged_models_of_run(run.info.run_id)
        if run.info.status == "FINISHED":
            assert [m.status for m in logged] == ["READY"]
        else:
            assert logged == []
    store.close()


# The demo's models load where nothing heavy is installed (a bare `pip install mltop`).
BARE = """
import sys
for name in ("numpy", "pandas", "sklearn", "cloudpickle", "pyarrow", "textual", "rich"):
    sys.modules[name] = None  # importing it fails, as if it were not installed
from mltop.store import fluent
from mltop import models
fluent.set_store(sys.argv[1])
rows = [{"mean_red": 0.52, "mean_green": 0.58, "mean_blue": 0.71, "edge_density": 0.18}]
print(models.load_model("models:/cifar10-resnet/Production").predict(rows))
print(models.load_model("models:/imdb-sentiment/1").predict([{"review": "awful, dull"}]))
"""


def test_the_demo_models_load_and_predict_without_numpy_pandas_or_sklearn(built):
    done = subprocess.run(
        [sys.executable, "-c", BARE, str(built.path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["['airplane']", "['negative']"]


def test_the_demo_model_module_imports_nothing_heavy():
    code = (
        "import sys, mltop.tui.demo.models; "
        "print(sorted(m for m in ('numpy', 'pandas', 'textual', 'rich', 'mltop.store') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


class Frame:
    """What the demo's models use of a pandas DataFrame (pandas may not be installed)."""

    def __init__(self, rows):
        self.rows = rows
        self.columns = list(rows[0])

    def to_dict(self, orient):
        assert orient == "records"
        return [dict(row) for row in self.rows]


def test_the_demo_models_take_a_dataframe_or_one_row_too():
    classifier = demo_models.image_classifier(seed=3, accuracy=0.9)
    rows = demo_models.image_rows(10)
    assert classifier.predict(Frame(rows)) == classifier.predict(rows)
    assert classifier.predict(rows[0]) == classifier.predict(rows[:1])


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
