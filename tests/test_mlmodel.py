"""Reading a logged model's folder (mltop.store.mlmodel): flavors and signature from its
MLmodel, the size of its files; anything missing or malformed is a reason, never an
exception."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from mltop.store.mlmodel import MAX_MLMODEL_BYTES, ModelFiles, parse_mlmodel, read_model_files

# As mlflow.sklearn.log_model(..., signature=infer_signature(X, y)) wrote it (MLflow 3.17).
MLMODEL = """\
artifact_path: /tmp/store/models/m-ac08ccf735224120bacfa2d58b11cabf/artifacts
flavors:
  python_function:
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    model_path: model.skops
    predict_fn: predict
    python_version: 3.11.7
  sklearn:
    code: null
    pickled_model: model.skops
    serialization_format: skops
    sklearn_version: 1.9.1
    skops_trusted_types: null
is_signature_from_type_hint: false
mlflow_version: 3.17.2
model_id: m-ac08ccf735224120bacfa2d58b11cabf
model_size_bytes: 9159
model_uuid: m-ac08ccf735224120bacfa2d58b11cabf
prompts: null
run_id: c061713632384d768ffd73bde574530c
signature:
  inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
  params: null
type_hint_from_example: false
utc_time_created: '2026-11-28 22:05:40.555846'
"""


def model_folder(tmp_path: Path, mlmodel: str | bytes | None = MLMODEL) -> Path:
    folder = tmp_path / "artifacts"
    folder.mkdir()
    (folder / "model.skops").write_bytes(b"x" * 9159)
    (folder / "requirements.txt").write_text("scikit-learn==1.9.1\n")
    if isinstance(mlmodel, str):
        (folder / "MLmodel").write_text(mlmodel)
    elif isinstance(mlmodel, bytes):
        (folder / "MLmodel").write_bytes(mlmodel)
    return folder


def expected_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_an_mlflow_model_gives_its_flavors_signature_and_size(tmp_path):
    folder = model_folder(tmp_path)
    found = read_model_files(folder)
    assert found == ModelFiles(
        ("python_function", "sklearn"), True, expected_size(folder), 3, problem=""
    )
    assert found.read
    assert found.size == 9159 + len("scikit-learn==1.9.1\n") + len(MLMODEL.encode())


def test_files_in_subfolders_count_and_a_model_without_signature_says_so(tmp_path):
    text = MLMODEL[: MLMODEL.index("signature:")]  # what log_model writes without one
    folder = model_folder(tmp_path, text)
    (folder / "code").mkdir()
    (folder / "code" / "helper.py").write_text("print(1)\n")
    found = read_model_files(folder)
    assert found.flavors == ("python_function", "sklearn")
    assert found.signature is False
    assert (found.size, found.files) == (expected_size(folder), 4)


def test_a_signature_of_nulls_is_no_signature():
    text = "flavors: {sklearn: {}}\nsignature: {inputs: null, outputs: null, params: null}\n"
    assert parse_mlmodel(text) == (("sklearn",), False)
    assert parse_mlmodel("flavors: {sklearn: {}}\nsignature: {outputs: '[1]'}\n")[1] is True


def test_a_missing_folder_or_mlmodel_is_a_reason(tmp_path):
    gone = read_model_files(tmp_path / "nowhere")
    assert gone.problem == f"the model's folder {tmp_path / 'nowhere'} does not exist"
    assert (gone.size, gone.flavors, gone.read) == (None, (), False)
    folder = model_folder(tmp_path, None)  # PENDING: MLflow writes the MLmodel last
    found = read_model_files(folder)
    assert found.problem == "no MLmodel file in the model's folder"
    assert found.size == expected_size(folder)  # the files there so far still count
    assert found.files == 2


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("flavors: [unclosed\n", "MLmodel is not valid YAML: "),
        ("- a list\n- of things\n", "MLmodel is not a mapping of settings"),
        ("", "MLmodel is not a mapping of settings"),
        ("artifact_path: x\n", "MLmodel names no flavors"),
        ("flavors: [sklearn, pytorch]\n", "MLmodel's flavors is not a mapping"),
        ("flavors: sklearn\n", "MLmodel's flavors is not a mapping"),
        # Python objects are refused by the safe loader, never built.
        ("flavors: !!python/object/apply:os.system ['echo pwned']\n", "MLmodel is not valid YAML"),
        ("flavors:\n  ? [a, b]\n  : 1\n", "MLmodel is not valid YAML"),  # an unhashable key
        ("a: " + "[" * 5000 + "]" * 5000 + "\n", "MLmodel is not valid YAML"),  # too deep
    ],
)
def test_a_malformed_mlmodel_is_a_reason_never_an_exception(tmp_path, text, problem):
    found = read_model_files(model_folder(tmp_path, text))
    assert found.problem.startswith(problem), found.problem
    assert "\n" not in found.problem  # one line, for a screen
    assert found.flavors == ()
    assert found.size is not None and found.size > 9159  # the files still counted


def test_a_yaml_error_says_where(tmp_path):
    found = read_model_files(model_folder(tmp_path, "flavors:\n  sklearn: {a: 1\n"))
    assert found.problem.startswith("MLmodel is not valid YAML: ")
    assert found.problem.endswith("(line 3, column 1)"), found.problem


def test_an_mlmodel_not_utf8_too_big_or_not_a_file_is_a_reason(tmp_path):
    assert read_model_files(model_folder(tmp_path, b"flavors: {\xff: 1}\n")).problem == (
        "MLmodel is not UTF-8 text"
    )
    big = tmp_path / "big"
    big.mkdir()
    (big / "MLmodel").write_text("flavors: {sklearn: {}}\n" + "#" * MAX_MLMODEL_BYTES)
    assert read_model_files(big).problem == (
        f"MLmodel is larger than {MAX_MLMODEL_BYTES:,} bytes: not read"
    )
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "MLmodel").mkdir()
    assert read_model_files(odd).problem == "MLmodel is not a plain file"


def test_a_fifo_named_mlmodel_does_not_hang_the_reader(tmp_path):
    folder = model_folder(tmp_path, None)
    os.mkfifo(folder / "MLmodel")
    done: list[ModelFiles] = []
    reader = threading.Thread(target=lambda: done.append(read_model_files(folder)), daemon=True)
    reader.start()
    reader.join(10)
    if not done:  # unblock the reader so the test process can end, then fail
        with open(folder / "MLmodel", "wb"):
            pass
        pytest.fail("reading a FIFO named MLmodel blocked")
    assert done[0].problem == "MLmodel is not a plain file"


def test_links_are_counted_as_links_not_followed_out_of_the_folder(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "huge.bin").write_bytes(b"y" * 100_000)
    folder = model_folder(tmp_path)
    (folder / "data").symlink_to(outside, target_is_directory=True)
    (folder / "weights.bin").symlink_to(outside / "huge.bin")
    found = read_model_files(folder)
    assert found.size is not None and found.size < 100_000
    assert found.flavors == ("python_function", "sklearn")


def test_flavor_names_are_returned_as_written_for_the_caller_to_show_literally(tmp_path):
    text = "flavors:\n  '[bold]x[/]': {}\n  '[@click=app.quit]': {}\n  \"\\e[2Jesc\": {}\n  7: {}\n"
    found = read_model_files(model_folder(tmp_path, text))
    assert found.flavors == ("[bold]x[/]", "[@click=app.quit]", "\x1b[2Jesc", "7")
