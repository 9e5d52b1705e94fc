"""A script written for MLflow, its imports changed, covers every call issue 13 lists; what it
logged is then read back from another process, through the client and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import port

from mltop.store import MltopClient

SCRIPT = Path(__file__).parent / "data" / "mlflow_style_script.py"


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    work = tmp_path_factory.mktemp("mlflow_style")
    script = work / "train.py"
    source = SCRIPT.read_text()
    script.write_text(port(source))
    assert "import mlflow\n" in source and "import mlflow\n" not in port(source)
    store = work / "store"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLTOP_")}
    env["MPLBACKEND"] = "Agg"
    proc = subprocess.run(
        [sys.executable, str(script), str(store)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-6000:]
    return json.loads(proc.stdout.splitlines()[-1]), store


def test_tracking_uri_and_a_run_started_for_the_first_log(landed: tuple[dict, Path]) -> None:
    out, store = landed
    assert out["tracking_uri"] == f"file://{store}"
    assert out["last_active"] == out["auto_id"]
    client = MltopClient(store)
    run = client.get_run(out["auto_id"])
    assert run.data.params == {"auto": "yes"}
    assert run.info.status == "FINISHED"


def test_positional_client_calls_mean_what_they_mean_in_mlflow(landed: tuple[dict, Path]) -> None:
    out, _store = landed
    assert out["m_history"] == [[1.5, 1_700_000_000_000, 7]]
    assert out["b_history"] == [[2.0, 1_700_000_000_001, 3]]
    assert out["experiments"][:2] == ["low-level", "mlflow-style"] or set(out["experiments"]) >= {
        "low-level",
        "mlflow-style",
        "Default",
    }
    assert out["deleted"] == [out["low"]]


def test_searches_answer_as_mlflow(landed: tuple[dict, Path]) -> None:
    out, _store = landed
    # ascending loss: finite values (parent 0.2, child-2 0.25), then +inf (child)
    assert out["by_loss"] == ["parent", "child-2", "child"]
    assert out["children"] == ["child", "child-2"]
    assert out["named"] == [out["child"]]
    assert out["bare"] == 3
    assert out["dataset"] == ["parent"]
    assert out["parent_tags"]["mlflow.runName"] == "parent"
    assert out["parent_tags"]["mlflow.source.type"] == "LOCAL"
    assert out["parent_tags"]["mlflow.source.name"].endswith("train.py")
    assert "mlflow.user" in out["parent_tags"]
    assert out["child_parent_tag"] == out["parent"]


def test_search_runs_gives_a_dataframe_with_mlflows_columns(landed: tuple[dict, Path]) -> None:
    out, _store = landed
    assert out["df_type"] == "DataFrame"
    for column in (
        "run_id",
        "experiment_id",
        "status",
        "artifact_uri",
        "start_time",
        "end_time",
        "metrics.loss",
        "metrics.acc",
        "params.lr",
        "tags.team",
        "tags.mlflow.runName",
    ):
        assert column in out["df_columns"], column
    # metrics.loss DESC as MLflow's own tests order it: +inf, then finite values downwards
    # (then NaN, then missing)
    assert out["df_names"] == ["child", "child-2", "parent"]
    assert out["all_runs"] == 5


def test_artifacts_figures_images_tables(landed: tuple[dict, Path]) -> None:
    out, store = landed
    assert out["downloaded"] == ["params.json"]
    assert out["downloaded_file"] == {"a": 1}
    client = MltopClient(store)
    parent = out["parent"]
    with client.open_artifact(parent, "plots/line.png") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with client.open_artifact(parent, "plots/scatter.html") as f:
        assert b"plotly" in f.read()
    with client.open_artifact(parent, "images/black.png") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    images = [p.path for p in client.list_artifacts(parent, "images")]
    assert any("samples" in p for p in images), images
    with client.open_artifact(parent, "table.json") as f:
        table = json.load(f)
    assert table["columns"] == ["a", "b"]
    assert table["data"] == [[1, "x"], [2, "y"]]


def test_the_registry_under_mlflows_names(landed: tuple[dict, Path]) -> None:
    out, store = landed
    assert out["same_stage"] == "Staging"
    assert out["latest"] == [["Production", "2"], ["Staging", "1"]]
    assert out["model_times"] == [True, True]
    assert out["by_alias"] == "2"
    assert out["latest_prod"] == ["2"]
    assert out["searched_models"] == ["classifier"]
    assert out["searched_versions"] == ["2"]
    assert out["mv1"] == ["first", "Staging", "READY"]
    assert out["aliases_after"] == {}
    # mltop's audit log recorded the moves made through MLflow's names, with the comment
    history = MltopClient(store).store.registry.history("classifier")
    moves = [(h.version, h.to_stage, h.comment) for h in history if h.kind == "transition"]
    assert (1, "Staging", "") in moves
    assert (2, "Production", "beats v1 on val") in moves
    assert len([m for m in moves if m[0] == 1]) == 1  # the repeated move was a no-op


def test_the_cli_shows_and_filters_mlflows_system_tags(landed: tuple[dict, Path]) -> None:
    out, store = landed
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mltop.tui.cli",
            "runs",
            "list",
            "--store",
            str(store),
            "--all-experiments",
            "--filter",
            f"tags.mlflow.parentRunId = '{out['parent']}'",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(r["run_id"] for r in json.loads(proc.stdout)) == sorted(
        [out["child"], out["child2"]]
    )
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "mltop.tui.cli",
            "runs",
            "show",
            out["child"],
            "--store",
            str(store),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert "mlflow.parentRunId" in shown.stdout
    parent = subprocess.run(
        [
            sys.executable,
            "-m",
            "mltop.tui.cli",
            "runs",
            "show",
            out["parent"],
            "--store",
            str(store),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert parent.returncode == 0, parent.stderr
    assert "iris-train" in parent.stdout and "training" in parent.stdout
