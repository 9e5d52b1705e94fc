"""`mltop import mlflow`: both stores of the MLflow fixture (written by MLflow 3.17's own
client) imported and checked against its expected.json, through mltop's own read API."""

from __future__ import annotations

import json
import math
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mltop.store import Store
from mltop.store.entities import RunModel
from mltop.store.imports import ImportSourceError, UnsupportedSourceError, import_mlflow
from mltop.tui.cli import main

FIXTURE = Path(__file__).resolve().parent / "data" / "mlflow-3.17-seed1"  # MLflow-made
SOURCES = {"file_store": "mlruns", "sqlite": "mlflow.db"}


@pytest.fixture
def fx(tmp_path: Path) -> Path:
    """A writable copy of the fixture (the shared one is read-only)."""
    copy = tmp_path / "fixture"
    shutil.copytree(FIXTURE, copy)
    for root, dirs, files in os.walk(copy):
        for name in [*dirs, *files]:
            path = Path(root) / name
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    copy.chmod(copy.stat().st_mode | stat.S_IWUSR)
    return copy


def expected() -> dict:
    return json.loads((FIXTURE / "expected.json").read_text())


def runs_by_name(store: Store) -> dict:
    return {run.info.run_name: run for run in store.list_runs(view="all")}


def source_run_ids(fx: Path, kind: str) -> set[str]:
    if kind == "file_store":
        return {
            p.parent.name
            for p in (fx / "mlruns").glob("*/*/meta.yaml")
            if p.parent.parent.name not in ("models",)
        }
    conn = sqlite3.connect(fx / "mlflow.db")
    try:
        return {r[0] for r in conn.execute("SELECT run_uuid FROM runs")}
    finally:
        conn.close()


@pytest.mark.parametrize("kind", ["file_store", "sqlite"])
def test_both_stores_import_as_expected(fx: Path, tmp_path: Path, kind: str) -> None:
    want = expected()[kind]
    summary = import_mlflow(fx / SOURCES[kind], tmp_path / "store")
    assert summary.added["runs"] == sum(want["experiments"].values())
    assert not summary.updated  # a new store: nothing was there to update
    assert summary.existing["experiments"] == 1  # MLflow's Default is the store's
    # A clean source: nothing to report (runs that logged no file have no artifact folder,
    # which is no problem).
    assert summary.skipped == []
    with Store(tmp_path / "store") as store:
        for name, count in want["experiments"].items():
            exp = store.get_experiment_by_name(name)
            assert exp is not None, name
            assert len(store.list_runs([exp.experiment_id], view="all")) == count
            assert exp.tags["team"] == "vision"  # the fixture's experiment tag
            assert exp.tags["mltop.import.mlflow_experiment_id"] not in ("", "0")
        runs = runs_by_name(store)
        assert {r.info.run_id for r in runs.values()} == source_run_ids(fx, kind)
        for name, facts in want["runs"].items():
            run = runs[name]
            if "status" in facts:
                assert run.info.status == facts["status"]
                continue
            assert run.info.status == "FINISHED"
            assert facts["params"].items() <= run.data.params.items()
            loss = store.get_metric_history(run.info.run_id, "loss")
            assert len(loss) == facts["loss_steps"]
            assert loss[-1].value == facts["last_loss"]
            assert run.data.metrics["val_acc"] == facts["val_acc"]
            assert run.info.user_id == "root"
            weird = store.get_metric_history(run.info.run_id, "weird")
            assert [math.isnan(p.value) for p in weird] == [True]
            files = {f.path for f in store.artifacts(run.info.run_id).list()}
            assert {"notes.txt", "config"} <= files
            assert run.info.start_time is not None and run.info.end_time is not None
        children = [r for r in runs.values() if r.info.parent_run_id]
        assert children and all(c.info.parent_run_id in {r.info.run_id for r in runs.values()}
                                for c in children)  # fmt: skip
        marked = [r for r in runs.values() if r.data.tags.get("note")]
        assert marked and {r.data.tags["note"] for r in marked} == {"[bold red]not markup[/]"}
        # The registry, through mltop's own registry API.
        registry = store.registry
        model = want["models"]["model-1"]
        versions = registry.search_model_versions(name="model-1")
        assert len(versions) == model["versions"]
        assert registry.resolve("models:/model-1/Production").version == model["production"]
        assert registry.resolve("models:/model-1@champion").version == model["alias_champion"]
        assert registry.get_registered_model("model-1").description == "fixture model"
        history = registry.history("model-1")
        moves = [h for h in history if h.kind == "transition"]
        assert sorted(h.version for h in moves) == [1, 2, 3]
        assert all("imported from MLflow" in h.comment for h in history)
        assert {h.to_stage for h in moves} == {"Production", "Staging", "None"}
        staged = {v.version: v for v in versions}
        for h in moves:
            assert h.time in (staged[h.version].creation_timestamp,
                              staged[h.version].last_updated_timestamp)  # fmt: skip
        # Searched as any run is.
        found = store.search_runs(filter_string="params.lr = '0.1'", view="all")
        lr = [n for n, f in want["runs"].items() if f.get("params", {}).get("lr") == "0.1"]
        assert sorted(r.info.run_name for r in found) == sorted(lr)


@pytest.mark.parametrize("kind", ["file_store", "sqlite"])
def test_a_second_import_adds_nothing(fx: Path, tmp_path: Path, kind: str) -> None:
    first = import_mlflow(fx / SOURCES[kind], tmp_path / "store")
    assert first.total_added > 0
    again = import_mlflow(fx / SOURCES[kind], tmp_path / "store")
    assert again.total_added == 0
    assert again.total_updated == 0
    assert again.existing["metric points"] == first.added["metric points"]
    assert again.existing["runs"] == first.added["runs"]
    with Store(tmp_path / "store") as store:
        history = store.registry.history("model-1")
        assert len([h for h in history if h.kind == "transition"]) == 3


def test_sqlite_uri_and_infinities_read_back(fx: Path, tmp_path: Path) -> None:
    db = fx / "mlflow.db"
    conn = sqlite3.connect(db)
    run_id = conn.execute("SELECT run_uuid FROM runs WHERE name = 'exp-1-0-run0'").fetchone()[0]
    rows = conn.execute(
        "SELECT rowid FROM metrics WHERE run_uuid = ? AND key = 'loss' ORDER BY rowid", (run_id,)
    ).fetchall()
    conn.execute("UPDATE metrics SET value = 1.7976931348623157e308 WHERE rowid = ?", rows[0])
    conn.execute("UPDATE metrics SET value = -1.7976931348623157e308 WHERE rowid = ?", rows[1])
    conn.commit()
    conn.close()
    import_mlflow(f"sqlite:///{db}", tmp_path / "store")
    with Store(tmp_path / "store") as store:
        loss = store.get_metric_history(run_id, "loss")
        assert loss[0].value == math.inf
        assert loss[1].value == -math.inf
        summary = store.get_run(run_id).data.summaries["loss"]
        assert summary.max == math.inf and summary.min == -math.inf


def test_a_newer_copy_adds_only_what_is_new(fx: Path, tmp_path: Path) -> None:
    mlruns = fx / "mlruns"
    run_dir = next(p.parent.parent for p in mlruns.glob("*/*/metrics/loss"))
    loss_file = run_dir / "metrics" / "loss"
    meta = run_dir / "meta.yaml"
    full_loss, full_meta = loss_file.read_bytes(), meta.read_text()
    lines = full_loss.splitlines(keepends=True)
    # The older copy: the run was still RUNNING, with its first 5 points.
    loss_file.write_bytes(b"".join(lines[:5]))
    meta.write_text(full_meta.replace("status: 3", "status: 1"))
    import_mlflow(mlruns, tmp_path / "store")
    with Store(tmp_path / "store") as store:
        assert store.get_run(run_dir.name).info.status == "RUNNING"
    # The newer copy: finished, every point, a new tag, a new run, a version moved.
    loss_file.write_bytes(full_loss)
    meta.write_text(full_meta)
    (run_dir / "tags" / "reviewed").write_text("yes")
    new_id = "ab" * 16
    shutil.copytree(run_dir, run_dir.parent / new_id)
    new_meta = run_dir.parent / new_id / "meta.yaml"
    new_meta.write_text(new_meta.read_text().replace(run_dir.name, new_id))
    version = mlruns / "models" / "model-1" / "version-3" / "meta.yaml"
    version.write_text(version.read_text().replace("current_stage: None", "current_stage: Staging"))
    dry = import_mlflow(mlruns, tmp_path / "store", dry_run=True)
    with Store(tmp_path / "store") as store:
        assert store.get_run(run_dir.name).info.status == "RUNNING"  # nothing written
        assert len(store.get_metric_history(run_dir.name, "loss")) == 5
        assert not store.run_keys([new_id])
    summary = import_mlflow(mlruns, tmp_path / "store")
    assert (dry.added, dry.updated) == (summary.added, summary.updated)
    assert summary.added["runs"] == 1
    assert summary.updated["runs"] == 1
    assert summary.added["metric points"] == (len(lines) - 5) + sum(
        len(f.read_bytes().splitlines()) for f in (run_dir.parent / new_id / "metrics").iterdir()
    )
    assert summary.updated["model versions"] == 1
    assert summary.added["model versions"] == 0
    with Store(tmp_path / "store") as store:
        run = store.get_run(run_dir.name)
        assert run.info.status == "FINISHED" and run.info.end_time is not None
        assert run.data.tags["reviewed"] == "yes"
        loss = store.get_metric_history(run_dir.name, "loss")
        assert len(loss) == len(lines)
        assert run.data.summaries["loss"].count == len(lines)
        assert store.get_run(new_id).info.run_name == run.info.run_name
        assert store.registry.get_model_version("model-1", 3).current_stage == "Staging"
        moves = [h for h in store.registry.history("model-1", 3) if h.kind == "transition"]
        assert [(h.from_stage, h.to_stage) for h in moves] == [
            ("None", "None"),
            ("None", "Staging"),
        ]
    assert import_mlflow(mlruns, tmp_path / "store").total_added == 0


def test_truncated_metric_file_and_corrupt_meta_are_skipped_with_a_message(
    fx: Path, tmp_path: Path
) -> None:
    mlruns = fx / "mlruns"
    runs = sorted(p.parent.parent for p in mlruns.glob("*/*/metrics/loss"))
    loss_file = runs[0] / "metrics" / "loss"
    data = loss_file.read_bytes()
    loss_file.write_bytes(data[:-7])  # a crash mid-write: the last line cut short
    kept = len(data.splitlines()) - 1
    (runs[1] / "meta.yaml").write_text("run_id: [unclosed\nstatus: 3\n")
    summary = import_mlflow(mlruns, tmp_path / "store")
    reasons = {p.where: p.reason for p in summary.skipped}
    assert any(
        where.startswith(str(loss_file)) and "truncated" in reason
        for where, reason in reasons.items()
    )
    assert "not valid YAML" in reasons[str(runs[1] / "meta.yaml")]
    with Store(tmp_path / "store") as store:
        assert len(store.get_metric_history(runs[0].name, "loss")) == kept
        ids = {r.info.run_id for r in store.list_runs(view="all")}
        assert runs[1].name not in ids
        assert len(ids) == len(source_run_ids(fx, "file_store")) - 1


def test_bad_rows_and_hostile_keys_are_skipped(fx: Path, tmp_path: Path) -> None:
    db = fx / "mlflow.db"
    conn = sqlite3.connect(db)
    run_id = conn.execute("SELECT run_uuid FROM runs WHERE name = 'exp-1-0-run1'").fetchone()[0]
    conn.execute(
        "INSERT INTO tags (key, value, run_uuid) VALUES ('../../escape', 'x', ?)", (run_id,)
    )
    conn.execute("INSERT INTO params (key, value, run_uuid) VALUES ('bad\nkey', '1', ?)", (run_id,))
    conn.execute(
        "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
        "VALUES ('loss', 'abc', 1, ?, 999, 0)",
        (run_id,),
    )
    conn.commit()
    conn.close()
    summary = import_mlflow(db, tmp_path / "store")
    reasons = " | ".join(p.reason for p in summary.skipped)
    assert "'../../escape'" in reasons and "tag skipped" in reasons
    assert "param skipped" in reasons
    assert "not a number" in reasons
    with Store(tmp_path / "store") as store:
        run = store.get_run(run_id)
        assert "../../escape" not in run.data.tags
        assert (
            len(store.get_metric_history(run_id, "loss"))
            == expected()["sqlite"]["runs"]["exp-1-0-run1"]["loss_steps"]
        )
    assert not (tmp_path / "escape").exists()


def test_artifact_links_out_of_the_source_are_not_followed(fx: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    run_dir = next(p.parent.parent for p in (fx / "mlruns").glob("*/*/artifacts/notes.txt"))
    (run_dir / "artifacts" / "leak.txt").symlink_to(secret)
    summary = import_mlflow(fx / "mlruns", tmp_path / "store")
    assert any(p.where.endswith("leak.txt") and "link" in p.reason for p in summary.skipped)
    copied = tmp_path / "store" / "artifacts" / run_dir.name
    assert (copied / "notes.txt").is_file()
    assert not (copied / "leak.txt").exists()


def test_missing_source_and_server_url_are_clear_errors(fx: Path, tmp_path: Path) -> None:
    with pytest.raises(ImportSourceError, match="does not exist"):
        import_mlflow(tmp_path / "nowhere", tmp_path / "store")
    with pytest.raises(UnsupportedSourceError, match="not a folder, file or URL"):
        import_mlflow("ftp://127.0.0.1:5000/mlruns", tmp_path / "store")
    not_mlflow = tmp_path / "other.db"
    sqlite3.connect(not_mlflow).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(ImportSourceError, match="not MLflow's"):
        import_mlflow(not_mlflow, tmp_path / "store")
    with pytest.raises(ImportSourceError, match=r"did you mean .*mlruns"):
        import_mlflow(fx, tmp_path / "store")  # the folder holding mlruns/
    import_mlflow(fx / "mlruns", tmp_path / "store")
    with pytest.raises(ImportSourceError, match="an mltop store, not an MLflow one"):
        import_mlflow(tmp_path / "store", tmp_path / "other")
    assert not (tmp_path / "other").exists()


def test_cli_dry_run_then_import_then_again(fx: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    args = ["import", "mlflow", str(fx / "mlruns"), "--store", str(store)]
    dry = CliRunner().invoke(main, [*args, "--dry-run"], catch_exceptions=False)
    assert dry.exit_code == 0, dry.output
    assert "Dry run: nothing was written" in dry.output
    assert "would be added" in dry.output.lower()
    assert not store.exists()
    done = CliRunner().invoke(main, args, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    total = len(source_run_ids(fx, "file_store"))
    assert "runs" in done.output and str(total) in done.output
    again = CliRunner().invoke(main, [*args, "--json"], catch_exceptions=False)
    data = json.loads(again.output)
    assert data["added"] == {} and data["updated"] == {}
    assert data["existing"]["runs"] == total
    url = CliRunner().invoke(
        main,
        ["import", "mlflow", "https://mlflow.example:5000", "--store", str(tmp_path / "s")],
        env={"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"},
    )
    assert url.exit_code == 1
    assert "cannot import from https://mlflow.example:5000" in url.output
    assert "cannot be reached" in url.output and not (tmp_path / "s").exists()


def test_cli_lists_skipped_files_literally(fx: Path, tmp_path: Path) -> None:
    hostile = fx / "mlruns" / "[blink red]evil"
    hostile.mkdir()  # a folder whose meta.yaml is missing, named as Rich markup
    result = CliRunner().invoke(
        main, ["import", "mlflow", str(fx / "mlruns"), "--store", str(tmp_path / "s")]
    )
    assert result.exit_code == 0, result.output
    assert "Skipped (1)" in result.output
    assert "[blink red]evil" in result.output.replace("\n", "")  # shown, not interpreted


def test_import_runs_with_mlflow_unimportable(fx: Path, tmp_path: Path) -> None:
    code = (
        "import sys, json\n"
        "sys.modules['mlflow'] = None\n"  # `import mlflow` raises ImportError
        "from mltop.store.imports import import_mlflow\n"
        "a = import_mlflow(sys.argv[1], sys.argv[3])\n"
        "b = import_mlflow(sys.argv[2], sys.argv[3])\n"
        "assert 'mlflow' not in [m.split('.')[0] for m in sys.modules if sys.modules[m]]\n"
        "print(json.dumps([a.added['runs'], b.added['runs']]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(fx / "mlruns"), str(fx / "mlflow.db"),
         str(tmp_path / "store")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [14, 14]


def _logged_model_store(root: Path) -> tuple[str, str]:
    """A small file store laid out as MLflow 3.17 writes one: a run that used a dataset
    and logged a model (MLflow 3's LoggedModel, its files under the experiment)."""
    run_id, model_id, dataset = "cd" * 16, "m-" + "ef" * 16, "0123456789abcdef" * 2
    exp = root / "5"
    (exp / "datasets" / dataset).mkdir(parents=True)
    (exp / "meta.yaml").write_text(
        "artifact_location: file:///gone/mlruns/5\ncreation_time: 1795920525000\n"
        "experiment_id: '5'\nlast_update_time: 1795920525000\nlifecycle_stage: active\n"
        "name: ds-exp\n"
    )
    (exp / "datasets" / dataset / "meta.yaml").write_text(
        "digest: a27a57c9\nname: train-df\nprofile: '{\"num_rows\": 2}'\n"
        'schema: \'{"mlflow_colspec": []}\'\nsource: \'{"uri": "data.csv"}\'\n'
        "source_type: local\n"
    )
    run = exp / run_id
    for sub in ("metrics", "tags", "inputs/1", "inputs/2"):
        (run / sub).mkdir(parents=True)
    (run / "meta.yaml").write_text(
        f"artifact_uri: file:///gone/mlruns/5/{run_id}/artifacts\nend_time: 1795920525500\n"
        f"experiment_id: '5'\nlifecycle_stage: active\nrun_id: {run_id}\nrun_name: with-ds\n"
        "source_type: 4\nstart_time: 1795920525100\nstatus: 3\nuser_id: ana\n"
    )
    (run / "metrics" / "m").write_text("1795920525393 inf 1\n1795920525394 -inf 2\n")
    (run / "tags" / "mlflow.source.git.commit").write_text("abc123")
    (run / "inputs" / "1" / "meta.yaml").write_text(
        f"destination_id: {run_id}\ndestination_type: RUN\nsource_id: {dataset}\n"
        "source_type: DATASET\ntags:\n  mlflow.data.context: training\n"
    )
    (run / "inputs" / "2" / "meta.yaml").write_text(
        f"destination_id: {run_id}\ndestination_type: RUN\nsource_id: {model_id}\n"
        "source_type: MODEL\ntags: {}\n"
    )
    model = exp / "models" / model_id
    for sub in ("params", "tags", "metrics", "artifacts"):
        (model / sub).mkdir(parents=True)
    (model / "meta.yaml").write_text(
        f"artifact_location: file:///gone/mlruns/5/models/{model_id}/artifacts\n"
        "creation_timestamp: 1795920525396\nexperiment_id: '5'\n"
        f"last_updated_timestamp: 1795920525400\nmodel_id: {model_id}\nmodel_type: agent\n"
        f"name: lm\nsource_run_id: {run_id}\nstatus: 2\nstatus_message: null\n"
    )
    (model / "params" / "p").write_text("1")
    (model / "tags" / "k").write_text("v")
    (model / "metrics" / "acc").write_text(f"1795920525398 0.5 0 {run_id}\n")
    (model / "artifacts" / "MLmodel").write_text("flavors: {}\n")
    (run / "outputs" / model_id).mkdir(parents=True)
    (run / "outputs" / model_id / "meta.yaml").write_text(  # the ids swapped, as MLflow does
        f"destination_id: {run_id}\ndestination_type: MODEL_OUTPUT\nsource_id: {model_id}\n"
        "source_type: RUN_OUTPUT\nstep: 3\ntags: {}\n"
    )
    return run_id, model_id


def test_datasets_and_logged_models_come_over(tmp_path: Path) -> None:
    run_id, model_id = _logged_model_store(tmp_path / "mlruns")
    phases: list[tuple[str, int, int]] = []
    summary = import_mlflow(
        tmp_path / "mlruns", tmp_path / "store", progress=lambda *p: phases.append(p)
    )
    assert summary.added["dataset inputs"] == 1
    assert summary.added["logged models"] == 1
    assert {p[0] for p in phases} == {"experiments", "runs", "logged models", "registry"}
    assert ("runs", 1, 1) in phases
    with Store(tmp_path / "store") as store:
        run = store.get_run(run_id)
        (used,) = run.inputs.dataset_inputs
        assert (used.dataset.name, used.dataset.digest, used.context) == (
            "train-df",
            "a27a57c9",
            "training",
        )
        assert [p.value for p in store.get_metric_history(run_id, "m")] == [math.inf, -math.inf]
        assert run.data.tags["mltop.git.commit"] == "abc123"
        logged = store.get_logged_model(model_id)
        assert (logged.name, logged.status, logged.source_run_id) == ("lm", "READY", run_id)
        assert logged.params == {"p": "1"} and logged.tags == {"k": "v"}
        assert [(m.key, m.value, m.run_id) for m in logged.metrics] == [("acc", 0.5, run_id)]
        assert (Path(logged.artifact_location) / "MLmodel").is_file()
        assert set(store.logged_model_files(model_id)) == {"MLmodel"}
        assert store.logged_models.run_links(run_id) == [
            RunModel(model_id, "input", 0),
            RunModel(model_id, "output", 3),
        ]
    again = import_mlflow(tmp_path / "mlruns", tmp_path / "store")
    assert again.total_added == 0 and again.existing["logged models"] == 1


def test_only_the_experiments_named(fx: Path, tmp_path: Path) -> None:
    summary = import_mlflow(fx / "mlruns", tmp_path / "store", experiments=["exp-1-0"])
    assert summary.added["runs"] == expected()["file_store"]["experiments"]["exp-1-0"]
    assert summary.skipped == []
    # An experiment given by its MLflow id, as `mltop runs list -e` takes one.
    meta = next(p for p in (fx / "mlruns").glob("*/meta.yaml") if "exp-1-1" in p.read_text())
    by_id = import_mlflow(fx / "mlruns", tmp_path / "store", experiments=[meta.parent.name])
    assert by_id.added["runs"] == expected()["file_store"]["experiments"]["exp-1-1"]
    assert summary.added["registered models"] == 0
    with Store(tmp_path / "store") as store:
        assert store.get_experiment_by_name("exp-1-0") is not None
        assert store.get_experiment_by_name("exp-1-1") is not None


@pytest.mark.parametrize("kind", ["mlruns", "mlflow.db"])
def test_an_experiment_not_in_the_source_refuses_the_import_and_makes_no_store(
    fx: Path, tmp_path: Path, kind: str
) -> None:
    """A name mistyped imports nothing, not even the experiments named right, and makes no
    target store: the error names the ones missing and those there are."""
    with pytest.raises(ImportSourceError) as caught:
        import_mlflow(fx / kind, tmp_path / "store", experiments=["exp-1-0", "nope"])
    assert "no experiment named 'nope'" in str(caught.value)
    assert "'Default', 'exp-1-0', 'exp-1-1'" in str(caught.value)
    assert not (tmp_path / "store").exists()
    result = CliRunner().invoke(
        main, ["import", "mlflow", str(fx / kind), "--store", str(tmp_path / "store"),
               "--experiment", "[red]nope"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "no experiment named '[red]nope'" in result.output
    assert not (tmp_path / "store").exists()


def test_deleted_experiments_and_folders_without_meta(fx: Path, tmp_path: Path) -> None:
    mlruns = fx / "mlruns"
    exp = next(p.parent for p in mlruns.glob("*/meta.yaml") if "exp-1-1" in p.read_text())
    (mlruns / ".trash").mkdir()
    exp.rename(mlruns / ".trash" / exp.name)  # as MLflow deletes an experiment
    (mlruns / "12345").mkdir()  # an experiment's folder, its meta.yaml lost
    summary = import_mlflow(mlruns, tmp_path / "store")
    reasons = {p.where: p.reason for p in summary.skipped}
    assert "cannot be read" in reasons[str(mlruns / "12345" / "meta.yaml")]
    with Store(tmp_path / "store") as store:
        deleted = store.get_experiment_by_name("exp-1-1")
        assert deleted is not None and deleted.lifecycle_stage == "deleted"
        count = expected()["file_store"]["experiments"]["exp-1-1"]
        assert len(store.list_runs([deleted.experiment_id], view="all")) == count
        assert store.list_runs([deleted.experiment_id]) == []  # hidden in the active view


def test_a_run_the_store_refuses_is_reported_and_the_import_goes_on(
    fx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mltop.store.errors import InvalidValueError, StoreFullError
    from mltop.store.sqlite.imports import ImportTarget

    refused = sorted(source_run_ids(fx, "file_store"))[0]
    add_run = ImportTarget.add_run

    def picky(self: ImportTarget, run_id: str, *args: object, **kwargs: object) -> int:
        if run_id == refused:
            raise InvalidValueError("refused by a rule")
        return add_run(self, run_id, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ImportTarget, "add_run", picky)
    summary = import_mlflow(fx / "mlruns", tmp_path / "store")
    assert summary.added["runs"] == len(source_run_ids(fx, "file_store")) - 1
    assert any(refused in p.where and "refused by a rule" in p.reason for p in summary.skipped)

    def full(self: ImportTarget, *args: object, **kwargs: object) -> int:
        raise StoreFullError("the disk is full")

    monkeypatch.setattr(ImportTarget, "add_run", full)
    with pytest.raises(StoreFullError):  # a failing store stops the import
        import_mlflow(fx / "mlruns", tmp_path / "store")


def test_a_version_recorded_by_its_artifact_path_finds_the_copied_files(
    fx: Path, tmp_path: Path
) -> None:
    mlruns = fx / "mlruns"
    meta = mlruns / "models" / "model-1" / "version-1" / "meta.yaml"
    run_id = next(line.split()[1] for line in meta.read_text().splitlines() if "run_id:" in line)
    run_dir = next(mlruns.glob(f"*/{run_id}"))
    (run_dir / "artifacts" / "model").mkdir()
    (run_dir / "artifacts" / "model" / "MLmodel").write_text("flavors: {}\n")
    # As MLflow 2 recorded a version's source: its files' place on the machine it ran on.
    old = f"file:///fixture/seed1/mlruns/{run_dir.parent.name}/{run_id}/artifacts/model"
    meta.write_text(meta.read_text().replace(f"source: runs:/{run_id}/model", f"source: {old}"))
    import_mlflow(mlruns, tmp_path / "store")
    with Store(tmp_path / "store") as store:
        assert store.registry.get_model_version("model-1", 1).source == old  # as recorded
        where = Path(store.registry.download_uri("model-1", 1))
        assert where == tmp_path / "store" / "artifacts" / run_id / "model"
        assert (where / "MLmodel").is_file()


def test_datasets_and_logged_models_from_the_database(fx: Path, tmp_path: Path) -> None:
    db = fx / "mlflow.db"
    conn = sqlite3.connect(db)
    run_id, exp = conn.execute(
        "SELECT run_uuid, experiment_id FROM runs WHERE name = 'exp-1-0-run2'"
    ).fetchone()
    model_id = "m-" + "12" * 16
    conn.execute(
        "INSERT INTO datasets VALUES ('d1', ?, 'train', 'abc', 'local', '{\"uri\": \"x\"}', "
        "NULL, NULL)",
        (exp,),
    )
    conn.execute("INSERT INTO inputs VALUES ('i1', 'DATASET', 'd1', 'RUN', ?, 0)", (run_id,))
    conn.execute("INSERT INTO input_tags VALUES ('i1', 'mlflow.data.context', 'eval')")
    conn.execute(
        "INSERT INTO inputs VALUES ('i2', 'RUN_OUTPUT', ?, 'MODEL_OUTPUT', ?, 7)",
        (run_id, model_id),
    )
    conn.execute(
        "INSERT INTO logged_models VALUES (?, ?, 'clf', '/gone/models/x/artifacts', 1, 2, 2, "
        "'active', 'sklearn', ?, NULL)",
        (model_id, exp, run_id),
    )
    conn.execute("INSERT INTO logged_model_params VALUES (?, ?, 'C', '0.5')", (model_id, exp))
    conn.execute("INSERT INTO logged_model_tags VALUES (?, ?, 'team', 'a')", (model_id, exp))
    conn.execute(
        "INSERT INTO logged_model_metrics VALUES (?, 'f1', 5, 0, NULL, ?, ?, NULL, NULL, NULL)",
        (model_id, exp, run_id),
    )
    conn.commit()
    conn.close()
    summary = import_mlflow(db, tmp_path / "store")
    assert summary.added["logged models"] == 1
    assert summary.added["dataset inputs"] == 1
    assert summary.added["run-model links"] == 1
    assert any(model_id in p.where and "not found" in p.reason for p in summary.skipped)
    with Store(tmp_path / "store") as store:
        (used,) = store.get_run(run_id).inputs.dataset_inputs
        assert (used.dataset.name, used.dataset.digest, used.context) == ("train", "abc", "eval")
        logged = store.get_logged_model(model_id)
        assert (logged.name, logged.model_type, logged.status) == ("clf", "sklearn", "READY")
        assert logged.params == {"C": "0.5"} and logged.tags == {"team": "a"}
        assert [(m.key, math.isnan(m.value)) for m in logged.metrics] == [("f1", True)]
        assert store.logged_models.run_links(run_id) == [RunModel(model_id, "output", 7)]
    assert import_mlflow(db, tmp_path / "store").total_added == 0


def test_run_status_by_name_or_unknown(fx: Path, tmp_path: Path) -> None:
    metas = sorted((fx / "mlruns").glob("*/*/metrics/loss"))
    named, unknown = (p.parent.parent / "meta.yaml" for p in metas[:2])
    named.write_text(named.read_text().replace("status: 3", "status: KILLED"))
    unknown.write_text(unknown.read_text().replace("status: 3", "status: 7"))
    summary = import_mlflow(fx / "mlruns", tmp_path / "store")
    assert "unknown run status 7" in {p.where: p.reason for p in summary.skipped}[str(unknown)]
    with Store(tmp_path / "store") as store:
        assert store.get_run(named.parent.name).info.status == "KILLED"
        assert not store.run_keys([unknown.parent.name])
