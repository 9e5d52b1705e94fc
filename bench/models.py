"""Benchmark: `mltop predict` on a million rows, and loading a model against MLflow's loader.

    python bench/models.py [--rows 1000000] [--columns 20] [--repeat 3] [--loads 20]
                           [--cold 5] [--batch-size 10000]

- `mltop predict`, run as the real command (a subprocess), on --rows rows of --columns
  numeric columns, from CSV to CSV, from Parquet to CSV and from Parquet to Parquet (the
  input written to a temporary folder first, not timed; the Parquet input as one row group,
  the worst case), with two logged models: a scikit-learn LinearRegression fitted on the
  columns (its signature inferred) and a pure-Python linear model (a plain object with
  `predict`, given row dicts: `--model-input records`). For each: the child's peak RSS
  (its own `wait4` rusage; target: under 300 MB) and rows/s (rows over the command's wall
  time, loading included). Medians of --repeat runs.
- Loading the scikit-learn model's folder (in the store) with `mltop.models.load_model`
  (which checks the files' SHA-256 against those recorded when it was logged) and with
  MLflow's `mlflow.pyfunc.load_model`: warm (one process, imports done, the median of
  --loads loads each, alternating) and cold (a fresh interpreter per load, imports included,
  the median of --cold). MLflow is skipped, with a note, when it is not importable.

The machine is shared and noisy: every figure is a median, measured in the same run.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file would shadow nothing today, but keep its folder off the import
# path all the same (bench/logs.py, bench/search.py...: names other packages import).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import csv  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

TARGET_RSS_MB = 300


class PurePythonLinear:
    """A linear model in plain Python: weights by column name and a bias (row dicts in)."""

    def __init__(self, weights: dict[str, float], bias: float) -> None:
        self.weights = weights
        self.bias = bias

    def predict(self, rows: Any) -> list[float]:
        items = list(self.weights.items())
        bias = self.bias
        return [sum(w * row[c] for c, w in items) + bias for row in rows]


# -- data and models (not timed) ---------------------------------------------------------------


def names(columns: int) -> list[str]:
    return [f"x{i}" for i in range(columns)]


def write_csv(path: Path, rows: int, columns: int) -> None:
    rng = random.Random(0)
    header = names(columns)
    with open(path, "w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(["id", *header])
        block = 10_000
        for start in range(0, rows, block):
            writer.writerows(
                [i, *(f"{rng.gauss(0, 1):.6f}" for _ in header)]
                for i in range(start, min(start + block, rows))
            )


def write_parquet(csv_path: Path, path: Path) -> bool:
    """The CSV's rows as Parquet in ONE row group (what pandas' to_parquet writes by
    default for a million rows): the worst case for a reader that holds a row group."""
    if importlib.util.find_spec("pyarrow") is None:
        return False
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pacsv.read_csv(csv_path)
    pq.write_table(table, path, row_group_size=max(table.num_rows, 1))
    return True


def log_models(store: Path, columns: int) -> dict[str, str]:
    """The two models logged in `store`; their URIs by name (and the sklearn folder)."""
    from mltop import models
    from mltop import store as mt
    from mltop.models.signature import ColSpec, ModelSignature, Schema

    mt.set_store(store)
    header = names(columns)
    rng = random.Random(1)
    weights = {c: rng.uniform(-1, 1) for c in header}
    uris: dict[str, str] = {}
    with mt.start_run(run_name="bench-models"):
        info = models.log_model(
            PurePythonLinear(weights, 0.5),
            "python",
            signature=ModelSignature(Schema([ColSpec("double", c) for c in header])),
            registered_model_name="bench-python",
        )
        uris["python"] = info.model_uri
        if importlib.util.find_spec("sklearn") is not None:
            import numpy as np
            import pandas as pd
            from sklearn.linear_model import LinearRegression

            generator = np.random.default_rng(0)
            train = pd.DataFrame(generator.normal(size=(1_000, columns)), columns=header)
            target = train.to_numpy() @ np.array(list(weights.values())) + 0.5
            estimator = LinearRegression().fit(train, target)
            info = models.log_model(
                estimator, "sklearn", input_example=train.head(5), registered_model_name="bench-lr"
            )
            uris["sklearn"] = info.model_uri
            found = mt.get_store().get_logged_model(info.model_id)
            uris["sklearn_folder"] = found.artifact_location
    mt.set_store(None)
    return uris


# -- mltop predict ----------------------------------------------------------------------------


def run_predict(store: Path, uri: str, source: Path, output: Path, extra: list[str]) -> dict:
    """One `mltop predict` in a child process: its wall time and peak RSS (wait4's)."""
    command = [
        sys.executable,
        "-m",
        "mltop.tui.cli",
        "predict",
        uri,
        "--input",
        str(source),
        "--output",
        str(output),
        "--store",
        str(store),
        *extra,
    ]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert child.stderr is not None
    err = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"mltop predict failed ({child.returncode}):\n{err.decode()}")
    peak_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
    said = re.search(r"rows? predicted in ([0-9.]+) s .*loaded in ([0-9.]+) s", err.decode())
    if said is None:
        raise SystemExit(f"no summary from mltop predict:\n{err.decode()}")
    return {
        "seconds": seconds,
        "rss_mb": peak_mb,
        "predicting": float(said.group(1)),
        "loading": float(said.group(2)),
    }


def count_rows(path: Path, fmt: str) -> int:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    with open(path, "rb") as file:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(1 << 20), b""))
    return lines - 1  # (the header)


def bench_predict(args: argparse.Namespace, folder: Path, store: Path, uris: dict) -> None:
    sources = {"csv": folder / "rows.csv"}
    if (folder / "rows.parquet").exists():
        sources["parquet"] = folder / "rows.parquet"
    ways = [("csv", "csv")] + (
        [("parquet", "csv"), ("parquet", "parquet")] if "parquet" in sources else []
    )
    cases = []
    for kind in ("sklearn", "python"):
        if kind not in uris:
            continue
        for fmt, out_fmt in ways:
            extra = ["--batch-size", str(args.batch_size), "--keep", "id"]
            if kind == "python":
                extra += ["--model-input", "records"]
            cases.append((kind, fmt, out_fmt, sources[fmt], extra))
    print(
        f"mltop predict: {args.rows:,} rows x {args.columns} columns "
        f"(CSV {sources['csv'].stat().st_size / 1e6:.0f} MB"
        + (
            f", Parquet {sources['parquet'].stat().st_size / 1e6:.0f} MB in one row group"
            if "parquet" in sources
            else ""
        )
        + f"), --batch-size {args.batch_size:,}, median of {args.repeat}"
    )
    print(
        "  model    input > output       the whole command (wall)    predicting only (its summary)"
        "        peak RSS"
    )
    worst = 0.0
    for kind, fmt, out_fmt, source, extra in cases:
        results = []
        for _ in range(args.repeat):
            output = folder / f"out-{kind}-{fmt}.{out_fmt}"
            results.append(run_predict(store, uris[kind], source, output, extra))
            written = count_rows(output, out_fmt)
            if written != args.rows:
                raise SystemExit(f"{kind} {fmt}: {written:,} rows written for {args.rows:,}")
            output.unlink()
        seconds = statistics.median(r["seconds"] for r in results)
        predicting = statistics.median(r["predicting"] for r in results)
        loading = statistics.median(r["loading"] for r in results)
        rss = statistics.median(r["rss_mb"] for r in results)
        worst = max(worst, max(r["rss_mb"] for r in results))
        way = f"{fmt} > {out_fmt}"
        print(
            f"  {kind:8} {way:19} {args.rows / seconds:>9,.0f} rows/s ({seconds:5.1f} s)  "
            f"{args.rows / predicting:>9,.0f} rows/s ({predicting:5.1f} s, load {loading:.1f} s)"
            f"  {rss:5.0f} MB"
        )
    verdict = "met" if worst < TARGET_RSS_MB else "MISSED"
    print(f"  highest peak RSS of any run: {worst:.0f} MB (target < {TARGET_RSS_MB} MB: {verdict})")


# -- load_model against MLflow's ----------------------------------------------------------------

WARM = """
import json, os, statistics, sys, time, warnings, logging
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
folder, loads, with_mlflow = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
from mltop.models import load_model
load_model(folder)  # imports done (scikit-learn's too)
loaders = {"mltop": load_model}
if with_mlflow:
    import mlflow.pyfunc
    mlflow.pyfunc.load_model(folder)
    loaders["mlflow"] = mlflow.pyfunc.load_model
times = {name: [] for name in loaders}
for _ in range(loads):
    for name, load in loaders.items():
        start = time.perf_counter()
        load(folder)
        times[name].append(time.perf_counter() - start)
print(json.dumps({name: statistics.median(t) for name, t in times.items()}))
"""

COLD = {
    "mltop": """
import sys, time
start = time.perf_counter()
from mltop.models import load_model
load_model(sys.argv[1])
print(time.perf_counter() - start)
""",
    "mlflow": """
import sys, time, warnings, logging
start = time.perf_counter()
warnings.filterwarnings("ignore")
import mlflow.pyfunc
logging.disable(logging.WARNING)
mlflow.pyfunc.load_model(sys.argv[1])
print(time.perf_counter() - start)
""",
}


def bench_load(args: argparse.Namespace, store: Path, folder: str) -> None:
    with_mlflow = importlib.util.find_spec("mlflow") is not None
    env = {
        **os.environ,
        "MLTOP_STORE": str(store),
        "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    print(f"load_model of the scikit-learn model's folder ({folder}):")
    if not with_mlflow:
        print("  (MLflow is not importable here: mltop's figures alone)")
    done = subprocess.run(
        [sys.executable, "-c", WARM, folder, str(args.loads), "1" if with_mlflow else "0"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    warm = json.loads(done.stdout.strip().splitlines()[-1])
    cold: dict[str, float] = {}
    for name in ("mltop", "mlflow") if with_mlflow else ("mltop",):
        times = []
        for _ in range(args.cold):
            done = subprocess.run(
                [sys.executable, "-c", COLD[name], folder],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            times.append(float(done.stdout.strip().splitlines()[-1]))
        cold[name] = statistics.median(times)
    print(f"  warm (one process, median of {args.loads}):")
    for name in warm:
        print(f"    {name:6} {warm[name] * 1000:8.2f} ms")
    if "mlflow" in warm:
        print(f"    ratio MLflow/mltop: {warm['mlflow'] / warm['mltop']:.1f}x")
    print(f"  cold (a fresh interpreter per load, imports included, median of {args.cold}):")
    for name in cold:
        print(f"    {name:6} {cold[name] * 1000:8.0f} ms")
    if "mlflow" in cold:
        print(f"    ratio MLflow/mltop: {cold['mlflow'] / cold['mltop']:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--loads", type=int, default=20)
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--prepare", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:  # the child that writes the data and logs the models
        folder = Path(args.prepare)
        write_csv(folder / "rows.csv", args.rows, args.columns)
        if not write_parquet(folder / "rows.csv", folder / "rows.parquet"):
            print("(pyarrow is not importable: no Parquet figures)", file=sys.stderr)
        print(json.dumps(log_models(folder / "store", args.columns)))
        return
    folder = Path(tempfile.mkdtemp(prefix="mltop-bench-models-"))
    try:
        # Done in a child: this process stays small, so that a child's peak RSS (which
        # counts the memory it was forked with) is the command's own.
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--prepare",
                str(folder),
                "--rows",
                str(args.rows),
                "--columns",
                str(args.columns),
            ],
            stdout=subprocess.PIPE,
            check=True,
        )
        uris = json.loads(done.stdout.decode().strip().splitlines()[-1])
        if "sklearn" not in uris:
            print("(scikit-learn is not importable: no scikit-learn figures)")
        store = folder / "store"
        bench_predict(args, folder, store, uris)
        if "sklearn_folder" in uris:
            bench_load(args, store, uris["sklearn_folder"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
