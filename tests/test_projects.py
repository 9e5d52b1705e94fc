"""MLproject files read and checked, and the command an entry point runs (issue 15)."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mltop.store.projects import (
    EntryPoint,
    Parameter,
    ProjectError,
    load_project,
    parse_project,
)

MLPROJECT = """
name: resnet
python_env: python_env.yaml
entry_points:
  main:
    parameters:
      lr: {type: float, default: 0.01}
      epochs: {type: int, default: 10}
      data: path
      note: {type: string, default: "a b"}
    command: "python train.py --lr {lr} --epochs {epochs} --data {data} --note {note}"
  evaluate: python eval.py
"""


def project(tmp_path: Path, text: str = MLPROJECT, files: tuple[str, ...] = ()):
    (tmp_path / "MLproject").write_text(text)
    for name in files:
        (tmp_path / name).write_text("print('hi')\n")
    return load_project(tmp_path)


def test_a_project_reads_as_mlflow_writes_it(tmp_path):
    found = project(tmp_path)
    assert found.name == "resnet"
    assert found.environment == ("python_env", "python_env.yaml")
    main = found.entry_point(None)
    assert main.parameters["lr"] == Parameter("lr", "float", "0.01")
    assert main.parameters["data"] == Parameter("data", "path", None)
    command = main.command_for({"data": "d/x", "epochs": "3", "seed": "7"}, tmp_path)
    assert shlex.split(command) == [
        "python", "train.py", "--lr", "0.01", "--epochs", "3",
        "--data", str((tmp_path / "d" / "x").resolve()), "--note", "a b", "--seed", "7",
    ]  # fmt: skip
    assert found.entry_point("evaluate").command_for({}) == "python eval.py"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({}, "entry point 'main' needs 'data' (pass -P data=VALUE)"),
        ({"data": "x", "epochs": "ten"}, "epochs must be an integer, not 'ten'"),
        ({"data": "x", "epochs": "2.5"}, "epochs must be an integer"),
        ({"data": "x", "lr": "fast"}, "lr must be a number, not 'fast'"),
        ({"data": "x", "lr": "nan"}, "lr must be a finite number"),
        ({"data": ""}, "data must be a path, not empty"),
        ({"data": "x", "bad name": "1"}, "parameter name 'bad name' must be letters"),
        ({"data": "x", "-x": "1"}, "parameter name '-x' must be letters"),
    ],
)
def test_parameters_are_checked_against_their_types(tmp_path, given, message):
    with pytest.raises(ProjectError, match=re.escape(message)):
        project(tmp_path).entry_point("main").command_for(given, tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("entry_points: [1, 2", "is not valid YAML"),
        ("- a\n- b\n", "must be a mapping"),
        ("python_env: a.yaml\nconda_env: b.yaml\n", "declares python_env and conda_env"),
        ("entry_points:\n  main: {parameters: {}}\n", "entry point 'main' has no command"),
        ("entry_points:\n  main: {command: 'python t.py {lr}'}\n", "names 'lr', not a parameter"),
        (
            "entry_points:\n  main:\n    parameters: {lr: {type: double}}\n    command: x {lr}\n",
            "has type 'double'; expected one of float, int, string, path, uri",
        ),
        (
            "entry_points:\n  main:\n    parameters: {n: {type: int, default: x}}\n"
            "    command: run {n}\n",
            "the default of 'main': n must be an integer",
        ),
        ("entry_points:\n  main: {command: 'run {0}'}\n", "{0} is not a parameter's name"),
        ("[" * 10_000, "is not valid YAML"),
    ],
)
def test_a_wrong_mlproject_says_what_is_wrong(tmp_path, text, message):
    with pytest.raises(ProjectError, match=re.escape(message)):
        project(tmp_path, text)


def test_without_an_mlproject_a_script_is_the_entry_point(tmp_path):
    (tmp_path / "train.py").write_text("print('hi')\n")
    (tmp_path / "my job.sh").write_text("echo hi\n")
    found = load_project(tmp_path)
    assert found.entry_points == {}
    assert shlex.split(found.entry_point("train.py").command_for({"lr": "0.1", "x": "a b"})) == [
        "python", "train.py", "--lr", "0.1", "--x", "a b",
    ]  # fmt: skip
    assert shlex.split(found.entry_point("my job.sh").command_for({})) == ["bash", "my job.sh"]
    with pytest.raises(ProjectError, match="no MLproject file in"):
        found.entry_point(None)
    # An argparse-style name is passed as it is.
    assert (
        found.entry_point("train.py").command_for({"batch-size": "32"}).endswith("--batch-size 32")
    )
    with pytest.raises(ProjectError, match="no file 'missing.py'"):
        found.entry_point("missing.py")
    with pytest.raises(ProjectError, match="outside the project folder"):
        found.entry_point("../elsewhere.py")


@given(st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))))
def test_any_text_reaches_the_command_as_one_argument(value):
    """Values are quoted for the shell: whatever a user passes, the command line splits
    back into exactly that value, never into more words or a command of its own."""
    entry = EntryPoint("main", "python t.py --note {note}", {"note": Parameter("note")})
    words = shlex.split(entry.command_for({"note": value, "extra": value}))
    assert words == ["python", "t.py", "--note", value, "--extra", value]


@given(st.integers(min_value=-(10**30), max_value=10**30), st.sampled_from(["", " ", "+"]))
def test_integers_are_accepted_as_written_and_normalised(number, prefix):
    entry = EntryPoint("main", "run {n}", {"n": Parameter("n", "int")})
    text = prefix + str(number) if number >= 0 or prefix == " " else str(number)
    assert entry.values({"n": text}) == {"n": str(number)}


@given(st.text().filter(lambda t: not _is_int(t)))
def test_anything_else_is_refused_as_an_integer(text):
    entry = EntryPoint("main", "run {n}", {"n": Parameter("n", "int")})
    with pytest.raises(ProjectError, match="n must be an integer"):
        entry.values({"n": text})


def _is_int(text: str) -> bool:
    try:
        int(text.strip(), 10)
    except ValueError:
        return False
    return True


def test_a_project_folder_must_exist(tmp_path):
    with pytest.raises(ProjectError, match="is not a folder"):
        load_project(tmp_path / "none")
    assert parse_project("", tmp_path).name == tmp_path.name


QUOTING = """
name: q
entry_points:
  main:
    parameters: {v: string, my-param: {type: string, default: d}}
    command: "printf '%s|' \\"{v}\\" '{v}' {v} \\"a{v}b\\" 'x{v}y' {my-param}"
"""


@settings(max_examples=150, deadline=None)
@given(
    value=st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"))
)
def test_a_value_stays_data_wherever_the_template_puts_it(value: str) -> None:
    """Bare, inside "...", inside '...', between letters: the shell gets the value back
    exactly, and nothing in it runs (the MLflow flaw: a quoted placeholder let $() run)."""
    project = parse_project(QUOTING, Path("/tmp"))
    command = project.entry_point(None).command_for({"v": value}, Path("/tmp"))
    done = subprocess.run(["/bin/sh", "-c", command], capture_output=True, check=True)
    expected = [value, value, value, f"a{value}b", f"x{value}y", "d"]
    assert done.stdout.decode("utf-8", "surrogateescape") == "".join(f"{e}|" for e in expected)


def test_a_backslash_before_a_placeholder_is_refused() -> None:
    text = (
        "name: q\nentry_points:\n  main:\n    parameters: {v: string}\n    command: 'echo \\{v}'\n"
    )
    with pytest.raises(ProjectError, match="backslash right before"):
        parse_project(text, Path("/tmp"))


def test_relative_uris_are_made_absolute_like_paths(tmp_path: Path) -> None:
    text = "entry_points:\n  main:\n    parameters: {u: uri}\n    command: 'echo {u}'\n"
    entry = parse_project(text, tmp_path).entry_point(None)
    assert entry.values({"u": "./data"}, tmp_path) == {"u": str(tmp_path / "data")}
    assert entry.values({"u": "s3://b/k"}, tmp_path) == {"u": "s3://b/k"}
    assert entry.values({"u": "file:///x"}, tmp_path) == {"u": "file:///x"}


def test_without_an_mlproject_a_name_that_is_not_a_script_says_so(tmp_path: Path) -> None:
    project = load_project(tmp_path)
    with pytest.raises(ProjectError, match="no MLproject file in .*give a script"):
        project.entry_point(None)
