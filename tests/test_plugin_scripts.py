"""Scripts that use MLflow as MLflow's own examples do, run unchanged with
`MLFLOW_TRACKING_URI=mltop:///<store>`: each exits 0, and what it logged reads back through
`mltop.store`, the command line and the dashboard.

The scripts (tests/data/mlflow_plugin_scripts) are ours, written after the calls of MLflow's
examples/quickstart, sklearn_elasticnet_wine, sklearn_logistic_regression and sklearn_autolog,
on data they make themselves. Each runs in its own process and working directory; the
example scripts all log into one store, as a user's scripts would.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from test_dashboard import loaded, names, settle, sync, type_filter
from textual.widgets import DataTable

from mltop.store import MltopClient, Store
from mltop.tui.app import MltopApp
from mltop.tui.cli import main
from mltop.tui.screens.run_detail import RunDetailScreen
from mltop.tui.widgets.runs_table import RunsTable

SCRIPTS = Path(__file__).parent / "data" / "mlflow_plugin_scripts"
EXAMPLES = [
    "quickstart",
    "elasticnet",
    "logistic_regression",
    "grid_search_autolog",
    "register_and_load",
]


def script_env(store: Path) -> dict[str, str]:
    """The environment a user would run a script in, the store given as MLflow's tracking
    URI (PYTHONPATH kept: it is how the tests find this checkout's mltop)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLTOP_", "MLFLOW_"))}
    env["MLFLOW_TRACKING_URI"] = f"mltop://{store}"
    env["MPLBACKEND"] = "Agg"
    env["MLTOP_USER"] = "tester"
    return env


def run_script(name: str, work: Path, store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    work.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, str(SCRIPTS / f"{name}.py"), *args],
        cwd=work,
        env=script_env(store),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def printed(proc: subprocess.CompletedProcess[str]) -> dict:
    """What a script printed last (its run ids), once it is known to have exited 0."""
    assert proc.returncode == 0, proc.stderr[-8000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    """Every example script run into one store (two at a time): their processes, by name."""
    root = tmp_path_factory.mktemp("plugin_scripts")
    store = root / "store"  # made by whichever script comes first
    with ThreadPoolExecutor(max_workers=2) as pool:
        procs = dict(
            zip(
                EXAMPLES,
                pool.map(lambda name: run_script(name, root / name, store), EXAMPLES),
                strict=True,
            )
        )
    return procs, store


@pytest.fixture
def client(landed: tuple[dict, Path]) -> MltopClient:
    c = MltopClient(Store(landed[1]))
    yield c
    c.close()


def invoke(*args: str):
    """The command line, its tables as wide as they need (nothing wrapped)."""
    return CliRunner().invoke(main, list(args), env={"COLUMNS": "250"}, catch_exceptions=False)


# -- the quickstart: fluent calls, no start_run ---------------------------------------------


def test_quickstart_run_started_by_its_first_call_and_ended_at_exit(landed, client) -> None:
    out = printed(landed[0]["quickstart"])
    run = client.get_run(out["run_id"])
    assert run.info.status == "FINISHED" and run.info.end_time is not None
    assert run.info.experiment_id == client.get_experiment_by_name("Default").experiment_id
    assert run.data.params == {"param1": "42"}
    history = client.get_metric_history(out["run_id"], "foo")
    assert [(m.value, m.step) for m in history] == [(0.25, 0), (1.25, 0), (2.25, 0)]
    assert run.data.metrics == {"foo": 2.25}
    assert run.data.tags["mlflow.source.name"].endswith("quickstart.py")


def test_quickstart_artifacts_are_the_folder_logged(landed, client) -> None:
    out = printed(landed[0]["quickstart"])
    run_id = out["run_id"]
    top = {(f.path, f.is_dir) for f in client.list_artifacts(run_id)}
    assert top == {("test.txt", False), ("nested", True)}
    assert [f.path for f in client.list_artifacts(run_id, "nested")] == ["nested/numbers.csv"]
    assert client.artifact_local_path(run_id, "test.txt").read_text() == "hello world!"
    assert client.artifact_local_path(run_id, "nested/numbers.csv").read_text() == "a,b\n1,2\n"


# -- models logged with a signature ---------------------------------------------------------


def mlmodel(model) -> dict:
    """A logged model's MLmodel file, read from its artifact location."""
    return yaml.safe_load((Path(model.artifact_location) / "MLmodel").read_text())


def test_elasticnet_params_metrics_and_experiment(landed, client) -> None:
    out = printed(landed[0]["elasticnet"])
    run = client.get_run(out["run_id"])
    experiment = client.get_experiment_by_name("elasticnet")
    assert experiment is not None and run.info.experiment_id == experiment.experiment_id
    assert out["experiment_id"] == experiment.experiment_id
    assert run.info.status == "FINISHED"
    assert run.data.params == {"alpha": "0.5", "l1_ratio": "0.5"}
    assert run.data.metrics == {"rmse": out["rmse"], "r2": out["r2"], "mae": out["mae"]}


def test_elasticnet_model_logged_with_signature_and_input_example(landed, client) -> None:
    out = printed(landed[0]["elasticnet"])
    store = client.store
    models = store.logged_models_of_run(out["run_id"])
    assert [(m.model_id, m.name) for m in models] == [(out["model_id"], "model")]
    model = store.get_logged_model(out["model_id"])
    assert model.status == "READY"
    assert model.source_run_id == out["run_id"]
    assert model.experiment_id == out["experiment_id"]
    location = Path(model.artifact_location)
    assert location.is_relative_to(landed[1])  # inside the store, written by MLflow itself
    spec = mlmodel(model)
    assert set(spec["flavors"]) == {"python_function", "sklearn"}
    assert spec["model_id"] == out["model_id"]
    inputs = json.loads(spec["signature"]["inputs"])
    assert [column["name"] for column in inputs] == out["columns"]
    assert json.loads(spec["signature"]["outputs"])[0]["type"] == "tensor"
    example = json.loads((location / spec["saved_input_example_info"]["artifact_path"]).read_text())
    assert example["columns"] == out["columns"] and len(example["data"]) == 3


def test_logistic_regression_run_started_by_log_metric_with_its_model(landed, client) -> None:
    out = printed(landed[0]["logistic_regression"])
    run = client.get_run(out["run_id"])
    assert run.info.status == "FINISHED"  # ended at exit
    assert run.data.metrics == {"score": out["score"]}
    models = client.store.logged_models_of_run(out["run_id"])
    assert [(m.model_id, m.name, m.status) for m in models] == [(out["model_id"], "model", "READY")]
    spec = mlmodel(models[0])
    assert spec["signature"]["inputs"] and spec["signature"]["outputs"]
    assert "saved_input_example_info" in spec


# -- autolog of a grid search: child runs ---------------------------------------------------


def test_grid_search_children_are_linked_to_their_parent(landed, client) -> None:
    out = printed(landed[0]["grid_search_autolog"])
    parent = out["parent"]
    children = {row["run_id"] for row in out["children"]}
    assert len(children) == 4  # search_runs on tags.mlflow.parentRunId found every candidate
    assert set(client.store.child_run_ids(parent)) == children
    for child in children:
        run = client.get_run(child)
        assert client.get_parent_run(child).info.run_id == parent
        assert run.data.tags["mlflow.parentRunId"] == parent
        assert run.info.status == "FINISHED"
        assert {"kernel", "C"} <= set(run.data.params)
        assert "mean_test_score" in run.data.metrics
    grid = {(row["params.kernel"], row["params.C"]) for row in out["children"]}
    assert grid == {("linear", "1"), ("linear", "10"), ("rbf", "1"), ("rbf", "10")}
    found = client.search_runs(filter_string=f"tags.mlflow.parentRunId = '{parent}'")
    assert {run.info.run_id for run in found} == children


def test_grid_search_parent_has_what_autolog_logged(landed, client) -> None:
    out = printed(landed[0]["grid_search_autolog"])
    parent = client.get_run(out["parent"])
    logged = out["parent_data"]
    assert parent.data.params == logged["params"]
    assert parent.data.params["best_C"] == out["best_params"]["C"]
    assert parent.data.params["best_kernel"] == out["best_params"]["kernel"]
    assert parent.data.metrics == logged["metrics"]
    assert {k: v for k, v in parent.data.tags.items() if not k.startswith("mlflow.")} == (
        logged["tags"]
    )
    assert "cv_results.csv" in logged["artifacts"]
    assert client.artifact_local_path(out["parent"], "cv_results.csv").stat().st_size > 0
    models = client.store.logged_models_of_run(out["parent"])
    assert sorted(m.name for m in models) == ["best_estimator", "model"]
    assert all(m.status == "READY" for m in models)


# -- the registry: autolog, registered, loaded by models:/m/1 --------------------------------


def test_registered_model_loads_back_and_predicts_the_same(landed, client) -> None:
    out = printed(landed[0]["register_and_load"])
    assert out["registered_version"] == 1
    assert out["loaded"] == out["fitted"]
    version = client.store.registry.get_model_version("m", 1)
    assert version.run_id == out["run_id"]  # the logged model links back to its run
    assert version.source == f"models:/{out['model_id']}"
    models = client.store.logged_models_of_run(out["run_id"])
    assert out["model_id"] in {m.model_id for m in models}
    assert client.get_run(out["run_id"]).info.status == "FINISHED"


# -- the command line -----------------------------------------------------------------------


def test_cli_lists_every_run_the_scripts_made(landed) -> None:
    procs, store = landed
    result = invoke("runs", "list", "--json", "--store", str(store))
    assert result.exit_code == 0, result.output
    listed = {run["run_id"]: run for run in json.loads(result.output)}
    grid = printed(procs["grid_search_autolog"])
    expected = {
        printed(procs[name])["run_id"] for name in EXAMPLES if name != "grid_search_autolog"
    }
    expected |= {grid["parent"]} | {row["run_id"] for row in grid["children"]}
    assert set(listed) == expected
    elastic = listed[printed(procs["elasticnet"])["run_id"]]
    assert elastic["params"] == {"alpha": "0.5", "l1_ratio": "0.5"}
    assert elastic["metrics"]["rmse"]["value"] == printed(procs["elasticnet"])["rmse"]
    table = invoke("runs", "list", "-e", "elasticnet", "--store", str(store))
    assert table.exit_code == 0 and "0.5" in table.output and "FINISHED" in table.output


def test_cli_shows_a_parent_with_its_children_and_artifacts(landed) -> None:
    procs, store = landed
    grid = printed(procs["grid_search_autolog"])
    result = invoke("runs", "show", grid["parent"], "--json", "--store", str(store))
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert set(shown["children"]) == {row["run_id"] for row in grid["children"]}
    assert {a["path"] for a in shown["artifacts"]} >= {"cv_results.csv", "estimator.html"}
    table = invoke("runs", "show", printed(procs["quickstart"])["run_id"], "--store", str(store))
    assert table.exit_code == 0, table.output
    assert "param1" in table.output and "foo" in table.output and "test.txt" in table.output


def test_cli_shows_the_registered_model_with_the_run_that_made_it(landed) -> None:
    procs, store = landed
    out = printed(procs["register_and_load"])
    result = invoke("models", "show", "m", "--json", "--store", str(store))
    assert result.exit_code == 0, result.output
    versions = json.loads(result.output)["versions"]
    assert [(v["version"], v["run_id"], v["source"]) for v in versions] == [
        (1, out["run_id"], f"models:/{out['model_id']}")
    ]
    with Store(store) as reader:
        run_name = reader.get_run(out["run_id"]).info.run_name
    table = invoke("models", "show", "m", "--store", str(store))
    assert table.exit_code == 0 and "v1" in table.output and run_name in table.output


def test_cli_shows_the_models_a_run_logged_and_the_version_made_from_one(landed) -> None:
    procs, store = landed
    for name in ("elasticnet", "register_and_load"):
        out = printed(procs[name])
        result = invoke("runs", "show", out["run_id"], "--json", "--store", str(store))
        assert result.exit_code == 0, result.output
        models = {m["model_id"]: m for m in json.loads(result.output)["logged_models"]}
        model = models[out["model_id"]]
        assert model["name"] == "model" and model["status"] == "READY"
        assert set(model["flavors"]) == {"python_function", "sklearn"}
        assert model["problem"] is None and model["size"] > 0
        registered = [(v["name"], v["version"]) for v in model["registered_versions"]]
        assert registered == ([("m", 1)] if name == "register_and_load" else [])
    elastic = printed(procs["elasticnet"])
    result = invoke("runs", "show", elastic["run_id"], "--json", "--store", str(store))
    (model,) = json.loads(result.output)["logged_models"]
    assert model["signature"] is True  # logged with the one infer_signature made
    table = invoke("runs", "show", elastic["run_id"], "--store", str(store))
    assert elastic["model_id"] in table.output and "sklearn" in table.output


# -- the dashboard --------------------------------------------------------------------------


@sync
async def test_dashboard_shows_the_runs_the_children_and_a_runs_params_and_model(landed) -> None:
    procs, store = landed
    grid = printed(procs["grid_search_autolog"])
    elastic = printed(procs["elasticnet"])
    with Store(store) as reader:
        every = {run.info.run_name for run in reader.list_runs()}
        child_names = {reader.get_run(row["run_id"]).info.run_name for row in grid["children"]}
    app = MltopApp(store, follow=False)
    async with app.run_test(size=(160, 50)) as pilot:
        await loaded(pilot, app, 9)
        assert set(names(app)) == every
        await type_filter(pilot, app, f"tags.mlflow.parentRunId = '{grid['parent']}'")
        await settle(pilot, lambda: set(names(app)) == child_names)
        await type_filter(pilot, app, "params.alpha = '0.5'")
        await settle(pilot, lambda: len(names(app)) == 1)
        await pilot.press("enter")
        await settle(
            pilot,
            lambda: isinstance(app.screen, RunDetailScreen) and app.screen.run is not None,
        )
        assert app.screen.run.info.run_id == elastic["run_id"]
        await pilot.press("2")  # the params tab

        def params_shown() -> set[str]:
            return {
                str(table.get_row_at(i)[0])
                for table in app.screen.query(DataTable)
                if table.display
                for i in range(table.row_count)
            }

        await settle(pilot, lambda: {"alpha", "l1_ratio"} <= params_shown())
        await pilot.press("8")  # the models tab: the one model the script logged
        models = app.screen.query_one("#models", DataTable)
        await settle(pilot, lambda: models.display and models.row_count == 1)
        row = [str(cell) for cell in models.get_row_at(0)]
        assert row[0] == "model" and elastic["model_id"].startswith(row[1])
        assert "sklearn" in row[2] and row[4] == "READY"


@sync
async def test_dashboard_shows_a_grid_search_live_as_mlflow_logs_it(tmp_path) -> None:
    store = tmp_path / "store"
    Store(store).close()  # an empty store, the dashboard open on it before any run
    app = MltopApp(store)  # following the store, as `mltop ui` does
    async with app.run_test(size=(160, 50)) as pilot:
        runs_table = app.screen.query_one(RunsTable)
        await settle(pilot, lambda: runs_table.order is not None and runs_table.total == 0)
        script = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SCRIPTS / "grid_search_autolog.py"),
            cwd=tmp_path,
            env=script_env(store),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await script.communicate()
        assert script.returncode == 0, stderr.decode()[-8000:]
        out = json.loads(stdout.decode().strip().splitlines()[-1])
        with Store(store) as reader:
            expected = {reader.get_run(out["parent"]).info.run_name} | {
                reader.get_run(row["run_id"]).info.run_name for row in out["children"]
            }
        # No key pressed, nothing reloaded by hand: the five runs came by following the store.
        await settle(pilot, lambda: set(names(app)) == expected, tries=3000)


# -- two processes at once ------------------------------------------------------------------


def test_two_processes_logging_through_mlflow_at_once_lose_nothing(tmp_path) -> None:
    store = tmp_path / "store"
    ready = tmp_path / "ready"
    ready.mkdir()
    n = 20_000
    with ThreadPoolExecutor(max_workers=2) as pool:
        procs = list(
            pool.map(
                lambda name: run_script(
                    "log_points", tmp_path / name, store, name, str(n), str(ready), "2"
                ),
                ["first", "second"],
            )
        )
    outs = [printed(proc) for proc in procs]
    # Each started logging points before the other had finished: the two wrote at once.
    assert max(o["started"] for o in outs) < min(o["ended"] for o in outs)
    run_ids = [o["run_id"] for o in outs]
    client = MltopClient(Store(store))
    try:
        shared = client.get_experiment_by_name("shared")
        assert shared is not None
        runs = client.search_runs([shared.experiment_id])
        assert {run.info.run_id for run in runs} == set(run_ids)
        for name, run_id in zip(["first", "second"], run_ids, strict=True):
            run = client.get_run(run_id)
            assert run.info.run_name == name and run.info.status == "FINISHED"
            assert run.data.params == {f"p{i}": f"{name}-{i}" for i in range(10)}
            for key in ("batched", "single"):
                history = client.get_metric_history(run_id, key)
                assert sorted((m.step, m.value) for m in history) == [
                    (i, float(i)) for i in range(n)
                ]
                assert run.data.summaries[key].count == n
                assert run.data.summaries[key].value == n - 1  # the highest step's
    finally:
        client.close()
