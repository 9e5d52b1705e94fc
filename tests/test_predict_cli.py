"""`mltop predict`: batch prediction from CSV, JSONL and Parquet files, through the command
line (click's runner, and a subprocess without pandas, numpy, pyarrow or cloudpickle)."""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mltop import models
from mltop.models.signature import ColSpec, ModelSignature, Schema
from mltop.tui.cli import main

DATA = Path(__file__).parent / "data" / "predict"
sys.path.insert(0, str(DATA))

from predict_models import (  # noqa: E402
    Echo,
    Failing,
    Kinds,
    Linear,
    Returns,
    Scores,
    TwoColumns,
    Waiting,
)

SIGNATURE = ModelSignature(Schema([ColSpec("double", "a"), ColSpec("long", "b")]))
LINEAR = Linear({"a": 2.0, "b": 10.0}, bias=1.0)


def expected(a: float, b: float) -> float:
    return 2.0 * a + 10.0 * b + 1.0


def log(fluent, model, signature=SIGNATURE, name="m"):
    """A logged model (plain pickle: it loads where cloudpickle is not installed) and its
    URI."""
    with fluent.start_run():
        info = models.log_model(
            model,
            name,
            signature=signature,
            serialization_format="pickle",
            registered_model_name=name,
        )
    return info.model_uri


def predict(store_path, *args):
    return CliRunner().invoke(main, ["predict", *map(str, args), "--store", str(store_path)])


def read_csv(path: Path) -> list[list[str]]:
    import csv

    with open(path, newline="") as file:
        return list(csv.reader(file))


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def linear(fluent):
    return log(fluent, LINEAR)


def test_csv_round_trip_in_order_across_chunks_with_kept_ids(linear, store_path, tmp_path):
    source = tmp_path / "in.csv"
    rows = [(f"id-{i}", i * 0.5, i) for i in range(25)]
    source.write_text("id,a,b\n" + "".join(f"{i},{a},{b}\n" for i, a, b in rows))
    result = predict(
        store_path,
        "models:/m/1",
        "-i",
        source,
        "-o",
        tmp_path / "out.csv",
        "--keep",
        "id",
        "--batch-size",
        7,
    )
    assert result.exit_code == 0, result.output
    out = read_csv(tmp_path / "out.csv")
    assert out[0] == ["id", "prediction"]
    assert [(r[0], float(r[1])) for r in out[1:]] == [(i, expected(a, b)) for i, a, b in rows]
    assert "25 rows predicted" in result.stderr and "out.csv" in result.stderr
    assert leftovers(tmp_path) == []


def test_jsonl_in_and_out(linear, store_path, tmp_path):
    source = write(
        tmp_path / "in.jsonl",
        """
        {"id": 7, "a": 1.5, "b": 2}

        {"id": "x", "b": 3, "a": 4}
        """,
    )
    result = predict(
        store_path, linear, "-i", source, "-o", tmp_path / "out.ndjson", "--keep", "id"
    )
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "out.ndjson").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"id": 7, "prediction": expected(1.5, 2)},
        {"id": "x", "prediction": expected(4, 3)},
    ]


def test_parquet_in_and_out(linear, store_path, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"id": [1, 2, 3, 4, 5], "a": [0.5, 1.0, 1.5, 2.0, 2.5], "b": [1, 2, 3, 4, 5]})
    pq.write_table(table, tmp_path / "in.parquet", row_group_size=2)
    result = predict(
        store_path,
        linear,
        "-i",
        tmp_path / "in.parquet",
        "-o",
        tmp_path / "out.pq",
        "--keep",
        "id",
        "--batch-size",
        3,
    )
    assert result.exit_code == 0, result.output
    assert pq.read_table(tmp_path / "out.pq").to_pylist() == [
        {"id": i, "prediction": expected(a, b)}
        for i, a, b in zip([1, 2, 3, 4, 5], [0.5, 1.0, 1.5, 2.0, 2.5], [1, 2, 3, 4, 5], strict=True)
    ]


def test_parquet_is_read_in_batches_whatever_its_row_groups(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mltop.tui.cli.predict import ParquetReader

    # One row group of 8 rows (pandas writes one for up to a million): chunks of the batch
    # size, progress counted in rows (the bar's total is the file's row count).
    pq.write_table(pa.table({"a": list(range(8))}), tmp_path / "one.parquet", row_group_size=8)
    reader = ParquetReader(str(tmp_path / "one.parquet"))
    assert (reader.total, reader.unit) == (8, "rows")
    chunks = [(c.places, c.progress, c.columns) for c in reader.chunks(3)]
    assert chunks == [
        ([1, 2, 3], 3, {"a": [0, 1, 2]}),
        ([4, 5, 6], 6, {"a": [3, 4, 5]}),
        ([7, 8], 8, {"a": [6, 7]}),
        ([], 8, {"a": []}),
    ]


def test_a_scikit_learn_model_predicts_what_the_estimator_does(fluent, store_path, tmp_path):
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    train = pd.DataFrame(rng.normal(size=(50, 3)), columns=["x0", "x1", "x2"])
    estimator = LinearRegression().fit(train, train @ [1.0, -2.0, 0.5] + 3)
    with fluent.start_run():
        info = models.log_model(
            estimator, "lr", input_example=train.head(3), registered_model_name="lr"
        )
    test = pd.DataFrame(rng.normal(size=(9, 3)), columns=["x0", "x1", "x2"])
    test.insert(0, "id", range(9))
    test.to_csv(tmp_path / "in.csv", index=False, float_format="%.17g")
    result = predict(
        store_path,
        info.model_uri,
        "-i",
        tmp_path / "in.csv",
        "-o",
        tmp_path / "out.jsonl",
        "--keep",
        "id",
        "--batch-size",
        4,
    )
    assert result.exit_code == 0, result.output
    got = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [g["id"] for g in got] == [str(i) for i in range(9)]  # kept as read: CSV text
    want = estimator.predict(test[["x0", "x1", "x2"]])
    assert [g["prediction"] for g in got] == pytest.approx(list(want), rel=1e-12)


def test_several_output_columns(fluent, store_path, tmp_path):
    uri = log(fluent, TwoColumns())
    write(tmp_path / "in.csv", "a,b\n3,1\n5,2\n")
    result = predict(store_path, uri, "-i", tmp_path / "in.csv", "-o", tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    assert read_csv(tmp_path / "out.csv") == [
        ["prediction_0", "prediction_1"],
        ["4.0", "2.0"],
        ["7.0", "3.0"],
    ]


def test_a_dataframe_output_names_its_columns(fluent, store_path, tmp_path):
    uri = log(fluent, Scores())
    write(tmp_path / "in.csv", "id,a,b\nx,3,1\ny,5,2\n")
    result = predict(
        store_path, uri, "-i", tmp_path / "in.csv", "-o", tmp_path / "out.csv", "--keep", "id"
    )
    assert result.exit_code == 0, result.output
    assert read_csv(tmp_path / "out.csv") == [
        ["id", "low", "high"],
        ["x", "2.0", "4.0"],
        ["y", "4.0", "6.0"],
    ]


def test_an_input_without_rows_gives_an_output_without_rows(linear, store_path, tmp_path):
    write(tmp_path / "in.csv", "id,a,b\n")
    result = predict(
        store_path, linear, "-i", tmp_path / "in.csv", "-o", tmp_path / "out.csv", "--keep", "id"
    )
    assert result.exit_code == 0, result.output
    assert read_csv(tmp_path / "out.csv") == [["id", "prediction"]]
    assert "0 rows predicted" in result.stderr


def test_csv_values_follow_the_signature_and_are_guessed_without_one(fluent, store_path, tmp_path):
    typed = log(
        fluent,
        Kinds(),
        ModelSignature(
            Schema([ColSpec("double", "n"), ColSpec("string", "s"), ColSpec("long", "k", False)])
        ),
        name="typed",
    )
    untyped = log(fluent, Kinds(), None, name="untyped")
    # Without a signature each value is typed by itself: an integer, else a number, else
    # text ("" missing).
    write(tmp_path / "in.csv", "n,s,k\n1,007,\n2.5,8,3\n")
    for uri, want in (
        (typed, ["list|float,str,None", "list|float,str,int"]),
        (untyped, ["list|int,int,None", "list|float,int,int"]),
    ):
        result = predict(
            store_path,
            uri,
            "-i",
            tmp_path / "in.csv",
            "-o",
            tmp_path / "out.csv",
            "--model-input",
            "records",
        )
        assert result.exit_code == 0, result.output
        assert [row[0] for row in read_csv(tmp_path / "out.csv")[1:]] == want
    # pandas is installed: the model gets DataFrames, where a long column holds no gap (as
    # in MLflow): that row is refused, named, and the other predicted.
    result = predict(
        store_path, typed, "-i", tmp_path / "in.csv", "-o", tmp_path / "out.csv", "--skip-invalid"
    )
    assert result.exit_code == 0, result.output
    assert "line 2: column 'k': missing value" in result.stderr
    assert read_csv(tmp_path / "out.csv")[1:] == [["DataFrame|float,str,int"]]


def test_a_malformed_csv_names_the_physical_line_and_writes_nothing(linear, store_path, tmp_path):
    # The second row's quoted field spans lines 3 and 4: the bad row starts on line 5.
    write(tmp_path / "in.csv", 'a,b\n1,2\n"1\n.5",3\n1,2,3\n4,5\n')
    out = tmp_path / "out.csv"
    result = predict(store_path, linear, "-i", tmp_path / "in.csv", "-o", out)
    assert result.exit_code == 1
    assert "in.csv: line 5: 3 fields, but the header has 2" in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists() and leftovers(tmp_path) == []
    out.write_text("precious\n")  # a file already there stays as it was
    result = predict(store_path, linear, "-i", tmp_path / "in.csv", "-o", out)
    assert result.exit_code == 1 and out.read_text() == "precious\n"
    assert leftovers(tmp_path) == []


def test_a_bad_quote_in_csv_names_its_line(linear, store_path, tmp_path):
    write(tmp_path / "in.csv", 'a,b\n1,2\n1,"2"x\n')
    result = predict(store_path, linear, "-i", tmp_path / "in.csv", "-o", tmp_path / "o.csv")
    assert result.exit_code == 1
    assert "in.csv: line 3: not valid CSV" in result.stderr


def test_bytes_that_are_not_utf8_name_their_line(linear, store_path, tmp_path):
    # Far from the start (text is decoded in blocks): the line is the row's own.
    good = "".join(f"{i},{i}\n" for i in range(3000)).encode()
    (tmp_path / "in.csv").write_bytes(b"a,b\n" + good + b"1,\xff2\n")
    result = predict(store_path, linear, "-i", tmp_path / "in.csv", "-o", tmp_path / "o.csv")
    assert result.exit_code == 1
    assert "in.csv: line 3002: not UTF-8 text" in result.stderr
    (tmp_path / "in.jsonl").write_bytes(b'{"a": 1, "b": 2}\n{"a": "\xff", "b": 2}\n')
    result = predict(store_path, linear, "-i", tmp_path / "in.jsonl", "-o", tmp_path / "o.csv")
    assert result.exit_code == 1
    assert "in.jsonl: line 2: not UTF-8 text" in result.stderr
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1, "b": 2}\n{"a": 1, "b": \n', "line 2: not valid JSON"),
        ('{"a": 1, "b": 2}\n\n[1, 2]\n', "line 3: each line must hold a JSON object"),
        ('{"a": 1, "b": 2}\n"text"\n', "line 2: each line must hold a JSON object"),
    ],
)
def test_malformed_jsonl(linear, store_path, tmp_path, text, message):
    (tmp_path / "in.jsonl").write_text(text)
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")
    result = predict(store_path, linear, "-i", tmp_path / "in.jsonl", "-o", out)
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.output
    assert out.read_text() == "old\n" and leftovers(tmp_path) == []


def test_an_unreadable_parquet_file(linear, store_path, tmp_path):
    (tmp_path / "in.parquet").write_bytes(b"a,b\n1,2\n")
    result = predict(store_path, linear, "-i", tmp_path / "in.parquet", "-o", tmp_path / "o.csv")
    assert result.exit_code == 1
    assert "in.parquet: not a readable Parquet file" in result.stderr
    assert not (tmp_path / "o.csv").exists()


def test_rows_failing_the_signature_are_listed_and_nothing_is_written(linear, store_path, tmp_path):
    lines = ["a,b"] + [f"{i},{i}" for i in range(40)]
    lines[3] = "abc,2"  # line 4
    lines[10] = "10,"  # line 11: a missing required value (a double's gap is NaN: a value)
    for n in range(20, 41):
        lines[n] = f"{n},1.5"  # lines 21-41: not an integer
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.csv"
    result = predict(store_path, linear, "-i", tmp_path / "in.csv", "-o", out, "--batch-size", 8)
    assert result.exit_code == 1
    err = result.stderr
    assert "23 of 40 rows fail the model's signature: nothing written" in err
    assert "line 4: column 'a': 'abc' is not a number (a double column)" in err
    assert "line 11: column 'b': missing value" in err
    assert "line 21: column 'b': '1.5' is not an integer (a long column)" in err
    assert "line 38:" in err and "line 39:" not in err  # the first 20, then a count
    assert "... and 3 more rows" in err
    assert not out.exists() and leftovers(tmp_path) == []


def test_skip_invalid_predicts_the_rest_and_lists_the_skipped(linear, store_path, tmp_path):
    write(
        tmp_path / "in.jsonl", '{"a": 1, "b": 1}\n{"a": "x", "b": 1}\n{"a": 2}\n{"a": 3, "b": 4}\n'
    )
    out = tmp_path / "out.csv"
    result = predict(store_path, linear, "-i", tmp_path / "in.jsonl", "-o", out, "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert [float(r[0]) for r in read_csv(out)[1:]] == [expected(1, 1), expected(3, 4)]
    assert "skipped 2 rows" in result.stderr
    assert "line 2: column 'a'" in result.stderr and "line 3: column 'b'" in result.stderr
    assert "2 rows predicted" in result.stderr


def test_skip_invalid_with_every_row_bad_fails_and_writes_nothing(linear, store_path, tmp_path):
    write(tmp_path / "in.csv", "a,b\nx,1\ny,2\n")
    out = tmp_path / "out.csv"
    result = predict(store_path, linear, "-i", tmp_path / "in.csv", "-o", out, "--skip-invalid")
    assert result.exit_code == 1
    assert "every row (2) fails the model's signature: nothing written" in result.stderr
    assert not out.exists()


def test_a_model_outside_the_store_needs_the_flag(store_path, tmp_path, fluent):
    folder = tmp_path / "elsewhere" / "model"
    models.save_model(LINEAR, folder, signature=SIGNATURE, serialization_format="pickle")
    write(tmp_path / "in.csv", "a,b\n1,2\n")
    out = tmp_path / "out.csv"
    result = predict(store_path, folder, "-i", tmp_path / "in.csv", "-o", out)
    assert result.exit_code == 1
    assert "is outside the store" in result.stderr and "--allow-outside-store" in result.stderr
    assert not out.exists()
    result = predict(
        store_path, folder, "-i", tmp_path / "in.csv", "-o", out, "--allow-outside-store"
    )
    assert result.exit_code == 0, result.output
    assert read_csv(out) == [["prediction"], [str(expected(1, 2))]]


def test_a_changed_model_file_is_refused(linear, store_path, tmp_path):
    model = models.get_model_info("models:/m/1")
    pickled = next(Path(p) for p in Path(store_path, "models").rglob("python_model.pkl"))
    pickled.write_bytes(pickled.read_bytes() + b"\0")
    write(tmp_path / "in.csv", "a,b\n1,2\n")
    result = predict(store_path, "models:/m/1", "-i", tmp_path / "in.csv", "-o", tmp_path / "o.csv")
    assert result.exit_code == 1
    assert f"logged model {model.model_id}" in result.stderr
    assert "changed since it was logged" in result.stderr and "python_model.pkl" in result.stderr
    assert "Traceback" not in result.output and not (tmp_path / "o.csv").exists()


def test_an_unknown_model_and_no_store(store_path, tmp_path, fluent):
    write(tmp_path / "in.csv", "a,b\n1,2\n")
    log(fluent, LINEAR)
    result = predict(
        store_path, "models:/nope/1", "-i", tmp_path / "in.csv", "-o", tmp_path / "o.csv"
    )
    assert result.exit_code == 1 and result.stderr.startswith("mltop: error:")
    assert "nope" in result.stderr and "Traceback" not in result.output
    result = predict(
        tmp_path / "none", "models:/m/1", "-i", tmp_path / "in.csv", "-o", tmp_path / "o.csv"
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert not (tmp_path / "none").exists()  # loading never creates a store


def test_a_failing_model_is_one_line_naming_the_rows(fluent, store_path, tmp_path):
    uri = log(fluent, Failing())
    write(tmp_path / "in.csv", "a,b\n1,2\n3,4\n")
    result = predict(store_path, uri, "-i", tmp_path / "in.csv", "-o", tmp_path / "o.csv")
    assert result.exit_code == 1
    assert "the model failed on" in result.stderr and "lines 2-3" in result.stderr
    assert "ZeroDivisionError: the model divided by zero" in result.stderr
    assert "Traceback" not in result.output and not (tmp_path / "o.csv").exists()


def test_hostile_column_names_and_values_print_as_themselves(fluent, store_path, tmp_path):
    hostile = "[bold red]id[/]\x1b[2J"
    uri = log(
        fluent, Linear({"[b]a[/b]": 1.0}), ModelSignature(Schema([ColSpec("double", "[b]a[/b]")]))
    )
    (tmp_path / "in.csv").write_text(f'"{hostile}",[b]a[/b]\n1,2\n2,[red]x[/red]\n')
    result = predict(
        store_path, uri, "-i", tmp_path / "in.csv", "-o", tmp_path / "o.csv", "--keep", hostile
    )
    assert result.exit_code == 1
    assert "line 3: column '[b]a[/b]': '[red]x[/red]' is not a number" in result.stderr
    assert "\x1b" not in result.output
    result = predict(
        store_path,
        uri,
        "-i",
        tmp_path / "in.csv",
        "-o",
        tmp_path / "o.csv",
        "--keep",
        hostile,
        "--skip-invalid",
    )
    assert result.exit_code == 0, result.output
    assert read_csv(tmp_path / "o.csv") == [[hostile, "prediction"], ["1", "2.0"]]
    assert "'[red]x[/red]'" in result.stderr and "\x1b" not in result.output
    result = predict(
        store_path,
        uri,
        "-i",
        tmp_path / "in.csv",
        "-o",
        tmp_path / "o.csv",
        "--keep",
        "[i]nope[/i]",
    )
    assert result.exit_code == 2 and "'[i]nope[/i]'" in result.output
    assert "\\x1b[2J" in result.output  # the header's escape, made visible


def test_formats_from_extensions_and_options(linear, store_path, tmp_path):
    write(tmp_path / "in.txt", "a,b\n1,2\n")
    result = predict(store_path, linear, "-i", tmp_path / "in.txt", "-o", tmp_path / "o.csv")
    assert result.exit_code == 2 and "--input-format" in result.output
    result = predict(
        store_path,
        linear,
        "-i",
        tmp_path / "in.txt",
        "--input-format",
        "csv",
        "-o",
        tmp_path / "o.data",
        "--output-format",
        "jsonl",
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "o.data").read_text()) == {"prediction": expected(1, 2)}


def test_standard_input_and_output(linear, store_path, tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "predict",
            linear,
            "-i",
            "-",
            "--input-format",
            "jsonl",
            "-o",
            "-",
            "--output-format",
            "csv",
            "--store",
            str(store_path),
        ],
        input='{"a": 1, "b": 2}\n{"a": 0, "b": 0}\n',
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == f"prediction\n{expected(1, 2)}\n{expected(0, 0)}\n"


def test_kept_text_survives_quotes_commas_and_newlines(linear, store_path, tmp_path):
    import csv

    ids = ["plain", "a,b", 'say "hi"', "two\nlines", "", "ünï 漢字", " padded "]
    with open(tmp_path / "in.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["id", "a", "b"])
        writer.writerows([text, i, i] for i, text in enumerate(ids))
    for out in ("out.csv", "out.jsonl"):
        result = predict(
            store_path, linear, "-i", tmp_path / "in.csv", "-o", tmp_path / out, "--keep", "id"
        )
        assert result.exit_code == 0, result.output
    assert [row[0] for row in read_csv(tmp_path / "out.csv")[1:]] == ids
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ids


def test_jsonl_rows_may_lack_a_kept_column(linear, store_path, tmp_path):
    write(tmp_path / "in.jsonl", '{"id": 1, "a": 1, "b": 1}\n{"a": 2, "b": 2}\n')
    result = predict(
        store_path, linear, "-i", tmp_path / "in.jsonl", "-o", tmp_path / "o.jsonl", "--keep", "id"
    )
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "o.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [1, None]


def test_csv_from_standard_input(linear, store_path, tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "predict",
            linear,
            "-i",
            "-",
            "--input-format",
            "csv",
            "-o",
            str(tmp_path / "o.jsonl"),
            "--store",
            str(store_path),
        ],
        input="a,b\n1,2\n",
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "o.jsonl").read_text()) == {"prediction": expected(1, 2)}


# -- a bare install: no pandas, numpy, pyarrow nor cloudpickle -----------------------------

BLOCKER = """
import sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"pandas", "numpy", "pyarrow", "cloudpickle", "sklearn"}:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None

sys.meta_path.insert(0, Block())
"""


def bare(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    site = tmp_path / "bare-site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER)
    paths = [str(site), str(DATA), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    return subprocess.run(
        [sys.executable, "-m", "mltop.tui.cli", "predict", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


def test_without_pandas_the_model_gets_row_dicts(fluent, store_path, tmp_path):
    kinds = log(
        fluent,
        Kinds(),
        ModelSignature(Schema([ColSpec("double", "a"), ColSpec("long", "b")])),
        name="kinds",
    )
    linear = log(fluent, LINEAR)
    write(tmp_path / "in.csv", "id,a,b\nr1,1,2\nr2,3,\nr3,2.5,4\n")
    done = bare(
        tmp_path,
        kinds,
        "-i",
        "in.csv",
        "-o",
        "kinds.csv",
        "--store",
        str(store_path),
        "--skip-invalid",
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert read_csv(tmp_path / "kinds.csv") == [
        ["prediction"],
        ["list|float,int"],  # (the columns the signature names)
        ["list|float,int"],
    ]
    assert "line 3: column 'b': missing value" in done.stderr
    done = bare(
        tmp_path,
        linear,
        "-i",
        "in.csv",
        "-o",
        "out.jsonl",
        "--store",
        str(store_path),
        "--keep",
        "id",
        "--skip-invalid",
    )
    assert done.returncode == 0, done.stderr
    assert [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()] == [
        {"id": "r1", "prediction": expected(1, 2)},
        {"id": "r3", "prediction": expected(2.5, 4)},
    ]
    done = bare(tmp_path, linear, "-i", "in.csv", "-o", "out.parquet", "--store", str(store_path))
    assert done.returncode == 1
    assert "Parquet needs pyarrow, which is not installed" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "out.parquet").exists()
    done = bare(
        tmp_path,
        linear,
        "-i",
        "in.csv",
        "-o",
        "o.csv",
        "--model-input",
        "dataframe",
        "--store",
        str(store_path),
    )
    assert done.returncode == 2 and "needs pandas" in done.stderr


def _stopped_midway(store_path: Path, tmp_path: Path, uri: str, signum: int) -> tuple[int, str]:
    """Start `mltop predict` on a model that waits, send `signum` once its temporary
    output exists (predicting has begun); its exit status and stderr."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mltop.tui.cli",
            "predict",
            uri,
            "-i",
            "in.csv",
            "-o",
            "out.csv",
            "--store",
            str(store_path),
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(DATA), *sys.path])},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not leftovers(tmp_path):  # the temporary output exists: predicting has begun
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            assert time.monotonic() < deadline, "the temporary output never appeared"
            time.sleep(0.05)
        child.send_signal(signum)
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    return child.returncode, err


def test_sigterm_leaves_nothing_behind(fluent, store_path, tmp_path):
    uri = log(fluent, Waiting(), None)
    write(tmp_path / "in.csv", "a,b\n1,2\n")
    out = tmp_path / "out.csv"
    out.write_text("old\n")
    code, err = _stopped_midway(store_path, tmp_path, uri, signal.SIGTERM)
    assert code == 128 + signal.SIGTERM
    assert "stopped by SIGTERM: nothing written" in err and "Traceback" not in err
    assert leftovers(tmp_path) == [] and out.read_text() == "old\n"


# -- where the output goes: files replaced safely, other things written into ----------------


def test_a_symlinked_output_writes_its_target_and_keeps_the_link(linear, store_path, tmp_path):
    write(tmp_path / "in.csv", "a,b\n1,2\n")
    real = tmp_path / "real"
    real.mkdir()
    (real / "out.csv").write_text("old\n")
    (tmp_path / "link.csv").symlink_to(real / "out.csv")
    (tmp_path / "dangling.csv").symlink_to(real / "new.csv")  # its target not there yet
    for link in ("link.csv", "dangling.csv"):
        result = predict(store_path, linear, "-i", tmp_path / "in.csv", "-o", tmp_path / link)
        assert result.exit_code == 0, result.output
        assert (tmp_path / link).is_symlink()
    for target in ("out.csv", "new.csv"):
        assert read_csv(real / target) == [["prediction"], [str(expected(1, 2))]]
    assert leftovers(tmp_path) == [] and leftovers(real) == []


def test_a_replaced_file_keeps_its_mode(linear, store_path, tmp_path):
    write(tmp_path / "in.csv", "a,b\n1,2\n")
    out = tmp_path / "out.csv"
    for mode in (0o600, 0o640):
        out.write_text("secret\n")
        out.chmod(mode)
        result = predict(store_path, linear, "-i", tmp_path / "in.csv", "-o", out)
        assert result.exit_code == 0, result.output
        assert stat.S_IMODE(out.stat().st_mode) == mode
        assert read_csv(out) == [["prediction"], [str(expected(1, 2))]]


def test_only_a_new_path_or_a_regular_file_is_replaced(tmp_path):
    from mltop.tui.cli.predict import special_kind

    (tmp_path / "file.csv").write_text("x\n")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "null").symlink_to("/dev/null")
    assert special_kind(tmp_path / "file.csv") is None
    assert special_kind(tmp_path / "new.csv") is None
    assert special_kind("/dev/null") == "a character device"
    assert special_kind(tmp_path / "null") == "a character device"
    assert special_kind(tmp_path / "fifo") == "a FIFO"


def test_a_fifo_output_is_written_into_not_replaced(linear, store_path, tmp_path):
    write(tmp_path / "in.csv", "a,b\n1,2\n3,4\n")
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def drain() -> None:
        with open(fifo, "rb") as file:
            got.append(file.read())

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    result = predict(store_path, linear, "-i", tmp_path / "in.csv", "-o", fifo)
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(os.stat(fifo).st_mode), "the FIFO was replaced"
    assert got == [f"prediction\n{expected(1, 2)}\n{expected(3, 4)}\n".encode()]
    assert "pipe.csv is a FIFO, not a regular file" in result.stderr
    assert leftovers(tmp_path) == []


def test_a_link_to_a_pipe_is_written_into(linear, store_path, tmp_path):
    # /dev/stdout when standard output is a pipe: a link that resolves to no path at all.
    read, written = os.pipe()
    try:
        write(tmp_path / "in.csv", "a,b\n1,2\n")
        result = predict(
            store_path,
            linear,
            "-i",
            tmp_path / "in.csv",
            "-o",
            f"/proc/self/fd/{written}",
            "--output-format",
            "csv",
        )
        assert result.exit_code == 0, result.output
        assert os.read(read, 1 << 16) == f"prediction\n{expected(1, 2)}\n".encode()
    finally:
        os.close(read)
        os.close(written)


def test_a_device_output_stays_a_device(linear, store_path, tmp_path):
    # A terminal (a pty's far end) stands in for /dev/null: a character device that a
    # regression could not replace (no file can be made in /dev/pts).
    import tty

    master, slave = os.openpty()
    try:
        tty.setraw(slave)
        device = os.ttyname(slave)
        write(tmp_path / "in.csv", "a,b\n1,2\n")
        result = predict(
            store_path, linear, "-i", tmp_path / "in.csv", "-o", device, "--output-format", "csv"
        )
        assert result.exit_code == 0, result.output
        assert stat.S_ISCHR(os.stat(device).st_mode)
        assert os.read(master, 1 << 16) == f"prediction\n{expected(1, 2)}\n".encode()
        assert "is a character device, not a regular file" in result.stderr
    finally:
        os.close(slave)
        os.close(master)


def test_the_output_may_not_be_the_input(linear, store_path, tmp_path):
    source = write(tmp_path / "in.csv", "a,b\n1,2\n")
    (tmp_path / "link.csv").symlink_to(source)
    os.link(source, tmp_path / "hard.csv")
    for out in (source, tmp_path / "link.csv", tmp_path / "hard.csv"):
        result = predict(store_path, linear, "-i", source, "-o", out)
        assert result.exit_code == 2
        assert "is the input file" in result.output and "nothing read" in result.output
        assert source.read_text() == "a,b\n1,2\n"
    with open(source, "rb") as stdin:  # standard input redirected from the output file
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "mltop.tui.cli",
                "predict",
                linear,
                "-i",
                "-",
                "--input-format",
                "csv",
                "-o",
                str(source),
                "--store",
                str(store_path),
            ],
            stdin=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 2 and "is the input file" in done.stderr
    assert source.read_text() == "a,b\n1,2\n" and leftovers(tmp_path) == []


# -- what the messages say -------------------------------------------------------------------


def to_stdout(store_path, *args):
    return CliRunner().invoke(
        main,
        [
            "predict",
            *map(str, args),
            "-o",
            "-",
            "--output-format",
            "csv",
            "--store",
            str(store_path),
        ],
    )


def test_standard_output_failing_midway_says_what_was_written(linear, store_path, tmp_path):
    first = f"prediction\n{expected(1, 1)}\n{expected(2, 2)}\n"
    write(tmp_path / "bad.csv", "a,b\n1,1\n2,2\nabc,3\n4,4\n")
    result = to_stdout(store_path, linear, "-i", tmp_path / "bad.csv", "--batch-size", 2)
    assert result.exit_code == 1
    assert result.stdout == first  # the first chunk, already out: said so
    assert (
        "1 of 4 rows fails the model's signature: 2 rows already written to standard output"
        in result.stderr
    )
    assert "nothing written" not in result.stderr
    write(tmp_path / "torn.csv", "a,b\n1,1\n2,2\n3\n")
    result = to_stdout(store_path, linear, "-i", tmp_path / "torn.csv", "--batch-size", 2)
    assert result.exit_code == 1 and result.stdout == first
    assert "torn.csv: line 4: 1 field, but the header has 2" in result.stderr
    assert "(2 rows already written to standard output before it stopped)" in result.stderr


def test_standard_output_gets_no_header_before_a_chunk_succeeds(linear, store_path, tmp_path):
    write(tmp_path / "in.csv", "a,b\nx,1\n")
    result = to_stdout(store_path, linear, "-i", tmp_path / "in.csv")
    assert result.exit_code == 1 and result.stdout == ""
    assert "1 of 1 row fails the model's signature: nothing written\n" in result.stderr


def test_counts_are_singular_for_one(linear, store_path, tmp_path):
    write(tmp_path / "in.csv", "a,b\nx,1\n1,2\n")
    result = predict(
        store_path, linear, "-i", tmp_path / "in.csv", "-o", tmp_path / "o.csv", "--skip-invalid"
    )
    assert result.exit_code == 0, result.output
    assert "skipped 1 row that fails the model's signature:" in result.stderr
    assert "mltop: 1 row predicted in" in result.stderr


@pytest.mark.parametrize("text", ["", "\n\n", "\ufeff"])
def test_keep_on_an_empty_csv_says_it_is_empty(linear, store_path, tmp_path, text):
    (tmp_path / "in.csv").write_text(text)
    result = predict(
        store_path, linear, "-i", tmp_path / "in.csv", "-o", tmp_path / "o.csv", "--keep", "id"
    )
    assert result.exit_code == 2
    assert "--keep 'id': the input" in result.output
    assert "is empty (no header row)" in result.output and "it has:" not in result.output


def test_ctrl_c_stops_like_sigterm(fluent, store_path, tmp_path):
    uri = log(fluent, Waiting(), None)
    write(tmp_path / "in.csv", "a,b\n1,2\n")
    code, err = _stopped_midway(store_path, tmp_path, uri, signal.SIGINT)
    assert code == 130, err
    assert "mltop: stopped by Ctrl-C: nothing written" in err
    assert "Aborted" not in err and "Traceback" not in err
    assert leftovers(tmp_path) == [] and not (tmp_path / "out.csv").exists()


# -- any output shape; values typed the same whatever the chunk --------------------------------


def test_a_dict_of_single_values_is_one_row_and_too_few_values_an_error(
    fluent, store_path, tmp_path
):
    uri = log(fluent, Returns({"a": 1, "b": [2]}), None)
    write(tmp_path / "one.csv", "x\n1\n")
    result = predict(store_path, uri, "-i", tmp_path / "one.csv", "-o", tmp_path / "o.csv")
    assert result.exit_code == 0, result.output
    assert read_csv(tmp_path / "o.csv") == [["a", "b"], ["1", "2"]]
    write(tmp_path / "two.csv", "x\n1\n2\n")
    result = predict(store_path, uri, "-i", tmp_path / "two.csv", "-o", tmp_path / "o.csv")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "the model returned 1 value in 'a' for 2 rows" in result.stderr


def _nested():
    from hypothesis import strategies as st

    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats()
        | st.text(max_size=4)
        | st.binary(max_size=4)
    )
    keys = st.text(max_size=3) | st.integers(-3, 3) | st.none() | st.tuples(st.integers(0, 2))
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.tuples(inner, inner)
            | st.dictionaries(keys, inner, max_size=3)
        ),
        max_leaves=10,
    )


def test_any_output_shape_is_written_or_refused_cleanly():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from mltop.tui.cli.predict import FORMATS, PredictError, make_writer, prediction_columns

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(result=_nested(), count=st.integers(1, 3))
    def check(result, count):
        try:
            names, columns = prediction_columns(result, count)
        except PredictError:
            return
        assert names and all(len(column) == count for column in columns)
        for kind in FORMATS:
            writer = make_writer(kind, io.BytesIO())
            try:
                writer.write(names, columns)
                writer.finish(names)
            except PredictError:
                continue
            assert writer.written == count

    check()


def test_numpy_and_pandas_outputs(fluent, store_path, tmp_path):
    import numpy as np
    import pandas as pd

    from mltop.tui.cli.predict import PredictError, prediction_columns

    assert prediction_columns(np.array([1, 2]), 2) == (["prediction"], [[1, 2]])
    assert prediction_columns(pd.Series([1.5, 2.5]), 2) == (["prediction"], [[1.5, 2.5]])
    assert prediction_columns(np.zeros((2, 2)), 2)[0] == ["prediction_0", "prediction_1"]
    assert prediction_columns({"a": np.array([1, 2])}, 2) == (["a"], [[1, 2]])
    for bad in (np.float64(1.0), np.array(3), np.zeros((2, 0)), np.zeros((2, 1, 1)), {}, []):
        with pytest.raises(PredictError):
            prediction_columns(bad, 2)
    with pytest.raises(PredictError, match="names the column '1' twice"):
        prediction_columns({1: [1], "1": [2]}, 1)


def test_untyped_csv_values_are_typed_one_by_one():
    from mltop.tui.cli.predict import guess_column, guess_value

    assert [guess_value(t) for t in ["1", "-2", " 3 ", "1.5", "1e5", ".5"]] == [
        1,
        -2,
        3,
        1.5,
        100000.0,
        0.5,
    ]
    words = [guess_value(t) for t in ["nan", "NaN", "inf", "-inf", "Infinity", "-Infinity"]]
    assert all(isinstance(w, float) for w in words) and words[0] != words[0]
    assert words[2:] == [float("inf"), float("-inf"), float("inf"), float("-inf")]
    for text in ["Nan", "INF", "infinity", "1_000", "١٢", "abc", "0x10", "1,5"]:
        assert guess_value(text) == text
    assert guess_value("") is None
    assert guess_column(["1", "2"]) == [1, 2]
    assert guess_column(["1", "2.5", "x", ""]) == [1, 2.5, "x", None]


def test_untyped_csv_values_do_not_depend_on_the_batch_size(fluent, store_path, tmp_path):
    echo = log(fluent, Echo(), None, name="echo")
    numbers = log(fluent, Linear({"a": 2.0, "b": 10.0}, bias=1.0), None, name="numbers")
    write(tmp_path / "in.csv", "a,b,c\n1,1,x\n2.5,,1\n-3,1e2,nan\n4,7,\n5,6,007\n")
    seen = {}
    for size in (1, 2, 3, 10000):
        for uri, given in ((echo, "records"), (numbers, "records"), (numbers, "dataframe")):
            result = predict(
                store_path,
                uri,
                "-i",
                tmp_path / "in.csv",
                "-o",
                tmp_path / "o.csv",
                "--batch-size",
                size,
                "--model-input",
                given,
            )
            assert result.exit_code == 0, result.output
            seen.setdefault((uri, given), []).append(read_csv(tmp_path / "o.csv"))
    for outputs in seen.values():
        assert all(output == outputs[0] for output in outputs)
    assert [row[0] for row in seen[(echo, "records")][0][1:]] == [
        "int:1|int:1|str:'x'",
        "float:2.5|NoneType:None|int:1",
        "int:-3|float:100.0|float:nan",
        "int:4|int:7|NoneType:None",
        "int:5|int:6|int:7",
    ]


def test_json_and_csv_write_infinities_and_nested_values(fluent, store_path, tmp_path):
    value = {"score": [float("inf"), float("-inf"), float("nan")], "tags": [["a", {"b": 1}]] * 3}
    uri = log(fluent, Returns(value), None)
    write(tmp_path / "in.csv", "x\n1\n2\n3\n")
    for out in ("o.jsonl", "o.csv"):
        result = predict(store_path, uri, "-i", tmp_path / "in.csv", "-o", tmp_path / out)
        assert result.exit_code == 0, result.output
    lines = (tmp_path / "o.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"score": "Infinity", "tags": ["a", {"b": 1}]},
        {"score": "-Infinity", "tags": ["a", {"b": 1}]},
        {"score": "NaN", "tags": ["a", {"b": 1}]},
    ]
    rows = read_csv(tmp_path / "o.csv")
    assert rows[0] == ["score", "tags"]
    assert [row[0] for row in rows[1:]] == ["inf", "-inf", "NaN"]  # as `mltop runs list`
    assert [json.loads(row[1]) for row in rows[1:]] == [["a", {"b": 1}]] * 3
