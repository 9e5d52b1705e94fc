"""`mltop models inspect` and `mltop models verify`: a model described from its MLmodel and
its files checked against the checksums recorded when it was logged (nothing unpickled)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from model_classes import Scaler

from mltop import models
from mltop.tui.cli import main


def _mltop(*args: str, store: Path):
    return CliRunner().invoke(main, [*args, "--store", str(store)])


def test_inspect_describes_a_registered_version(fluent, store_path):
    with fluent.start_run() as run:
        info = models.log_model(Scaler(2.0), "scaler", registered_model_name="[red]hostile")
    result = _mltop("models", "inspect", "models:/[red]hostile/1", store=store_path)
    assert result.exit_code == 0, result.output
    assert "[red]hostile v1" in result.output  # shown as typed, not as markup
    assert "python_function" in result.output
    assert "mltop.models.pyfunc" in result.output
    assert run.info.run_id in result.output
    assert "5 files as logged" in result.output
    data = json.loads(
        _mltop("models", "inspect", info.model_uri, "--json", store=store_path).output
    )
    assert data["logged_model"]["model_id"] == info.model_id
    assert data["checksums_ok"] is True
    assert {f["path"] for f in data["files"]} >= {"MLmodel", "python_model.pkl"}


def test_verify_exits_1_when_a_file_changed(fluent, store_path):
    with fluent.start_run():
        info = models.log_model(Scaler(2.0), "scaler")
    ok = _mltop("models", "verify", info.model_uri, store=store_path)
    assert ok.exit_code == 0
    assert ok.output.strip().endswith("5 files as logged")
    (Path(info.path) / "requirements.txt").write_text("evil==1\n")
    changed = _mltop("models", "verify", info.model_uri, store=store_path)
    assert changed.exit_code == 1
    assert "CHANGED: changed: requirements.txt" in changed.output
    inspected = _mltop("models", "inspect", info.model_uri, store=store_path)
    assert inspected.exit_code == 0
    assert "changed: requirements.txt" in inspected.output


def test_inspect_a_folder_that_is_not_a_model(fluent, store_path, tmp_path):
    fluent.get_client()
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "big.bin").write_bytes(b"x" * 10)
    result = _mltop("models", "inspect", str(tmp_path / "plain"), store=store_path)
    assert result.exit_code == 0
    assert "no MLmodel file" in result.output
    assert "not checked (not a model folder)" in result.output
    verify = _mltop("models", "verify", str(tmp_path / "plain"), store=store_path)
    assert verify.exit_code == 1


def test_inspect_names_what_is_not_found(fluent, store_path):
    fluent.get_client()
    result = _mltop("models", "inspect", "models:/nobody/1", store=store_path)
    assert result.exit_code == 1
    assert "no registered model named 'nobody'" in result.output


def test_inspect_lists_signature_columns_one_a_line(fluent, store_path):
    with fluent.start_run():
        info = models.log_model(Scaler(2.0), "m", input_example=[{"x": 1.0, "id": 2}])
    result = _mltop("models", "inspect", info.model_uri, store=store_path)
    assert "\\x0a" not in result.output
    lines = result.output.splitlines()
    inputs = next(i for i, line in enumerate(lines) if "Inputs" in line)
    assert "x: double" in lines[inputs]
    assert "id: long" in lines[inputs + 1]


def test_a_broken_mlmodel_does_not_hide_the_checksums(fluent, store_path):
    with fluent.start_run():
        info = models.log_model(Scaler(2.0), "m")
    (Path(info.path) / "MLmodel").write_text("flavors: [unclosed")
    inspected = _mltop("models", "inspect", info.model_uri, store=store_path)
    assert "not valid YAML" in inspected.output
    assert "changed: MLmodel" in inspected.output
    assert _mltop("models", "verify", info.model_uri, store=store_path).exit_code == 1
    (Path(info.path) / "MLmodel").unlink()
    verify = _mltop("models", "verify", info.model_uri, store=store_path)
    assert verify.exit_code == 1
    assert "missing: MLmodel" in verify.output
