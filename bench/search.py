"""Benchmark: search_runs over stores of 10,000 and 100,000 runs, and MLflow on the same runs.

    python bench/search.py [--sizes 10000 100000] [--repeat 7] [--mlflow-runs 10000]

Each run has 5 params, 5 metrics of 20 steps and 2 tags. The query is a two-clause filter
ordered by a metric, returning every match (one page) with params, tags and metric
summaries. Prints, per store size, the median time of a cold search (a freshly opened
store: the target is judged on this) and of a warm one (repeated on the same store), and,
when MLflow is installed, MLflow's time for the same query over the same runs in its
SQLite store and our ratio.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FILTER = "metrics.accuracy > 0.9 and params.optimizer = 'adam'"
ORDER_BY = ["metrics.val_loss ASC"]
TARGETS_MS = {10_000: 50, 100_000: 500}
OPTIMIZERS = ["adam", "sgd", "rmsprop"]
METRICS = ["loss", "accuracy", "val_loss", "val_accuracy", "grad_norm"]


def run_specs(n: int, seed: int = 0):
    """The same runs for every store: (name, params, tags, {metric: [20 values]})."""
    rng = random.Random(seed)
    for i in range(n):
        lr = rng.choice([0.1, 0.03, 0.01, 0.003, 0.001])
        params = {
            "optimizer": rng.choice(OPTIMIZERS),
            "lr": lr,
            "batch_size": rng.choice([32, 64, 128, 256]),
            "layers": rng.randint(2, 12),
            "dropout": rng.choice([0.0, 0.1, 0.2, 0.3]),
        }
        tags = {
            "team": rng.choice(["vision", "nlp", "speech"]),
            "stage": rng.choice(["dev", "prod"]),
        }
        final_acc = rng.uniform(0.5, 1.0)
        curves = {}
        for key in METRICS:
            start, end = (2.0, rng.uniform(0.05, 0.8)) if "loss" in key else (0.1, final_acc)
            if key == "grad_norm":
                start, end = 5.0, rng.uniform(0.1, 1.0)
            curves[key] = [start + (end - start) * (s / 19) ** 0.5 for s in range(20)]
        yield f"run-{i:06d}", params, tags, curves


def build_mltop(n: int, path: Path) -> str:
    from mltop.store import MltopClient, Store

    client = MltopClient(Store(path))
    exp = client.create_experiment("bench")
    for name, params, tags, curves in run_specs(n):
        run_id = client.store.create_run(exp, name, tags=tags, status="FINISHED").info.run_id
        client.log_params(run_id, params)
        for key, values in curves.items():
            for step, value in enumerate(values):
                client.log_metric(run_id, key, value, step=step)
    client.flush()
    client.close()
    return exp


def time_mltop(path: Path, exp: str, repeat: int) -> tuple[float, float, int]:
    """(cold median, warm median, matches). Cold: the first search of a freshly opened
    Store (its page cache and run cache empty; the OS has the file cached). Warm: the
    same search again on one Store, as a live view repeats it."""
    from mltop.store import Store

    cold = []
    for _ in range(repeat):
        store = Store(path)
        start = time.perf_counter()
        found = store.search_runs([exp], FILTER, ORDER_BY, max_results=50_000)
        cold.append(time.perf_counter() - start)
        store.close()
    warm = []
    for _ in range(repeat):
        start = time.perf_counter()
        found = store.search_runs([exp], FILTER, ORDER_BY, max_results=50_000)
        warm.append(time.perf_counter() - start)
    assert found.token is None
    return statistics.median(cold), statistics.median(warm), len(found)


MLFLOW_CHILD = r"""
import logging, statistics, sys, time, warnings
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
sys.path.insert(0, sys.argv[4])
from search import run_specs, FILTER, ORDER_BY
import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

n, uri, repeat = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
client = MlflowClient(tracking_uri=uri)
exp = client.create_experiment("bench")
t0 = time.time()
for name, params, tags, curves in run_specs(n):
    run = client.create_run(exp, run_name=name, tags=tags)
    ms = int(time.time() * 1000)
    metrics = [Metric(k, v, ms, s) for k, vs in curves.items() for s, v in enumerate(vs)]
    client.log_batch(run.info.run_id, metrics=metrics,
                     params=[Param(k, str(v)) for k, v in params.items()])
    client.set_terminated(run.info.run_id)
print("built", time.time() - t0, file=sys.stderr)
found = client.search_runs([exp], FILTER, order_by=ORDER_BY, max_results=50000)
times = []
for _ in range(repeat):
    start = time.perf_counter()
    found = client.search_runs([exp], FILTER, order_by=ORDER_BY, max_results=50000)
    times.append(time.perf_counter() - start)
print(statistics.median(times), len(found))
"""


def time_mlflow(n: int, folder: Path, repeat: int) -> tuple[float, int] | None:
    if importlib.util.find_spec("mlflow") is None:
        return None
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            MLFLOW_CHILD,
            str(n),
            f"sqlite:///{folder}/mlflow.db",
            str(repeat),
            str(Path(__file__).parent),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, count = out.stdout.split()
    return float(seconds), int(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--mlflow-runs", type=int, default=10_000)
    args = parser.parse_args()
    print(f"filter: {FILTER}\norder_by: {ORDER_BY}\n")
    ok = True
    ours_at: dict[int, float] = {}
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            exp = build_mltop(n, Path(tmp) / "store")
            built = time.perf_counter() - start
            cold, warm, count = time_mltop(Path(tmp) / "store", exp, args.repeat)
        ours_at[n] = cold
        target = TARGETS_MS.get(n)
        verdict = ""
        if target is not None:
            met = cold * 1000 < target
            ok &= met
            verdict = f"(target < {target} ms: {'met' if met else 'MISSED'})"
        print(
            f"{n:>7,} runs, {count:,} matches: median of {args.repeat}, cold "
            f"{cold * 1000:.1f} ms {verdict}, warm {warm * 1000:.1f} ms  "
            f"[store built in {built:.0f} s]",
            flush=True,
        )
    if args.mlflow_runs:
        with tempfile.TemporaryDirectory() as tmp:
            mlflow = time_mlflow(args.mlflow_runs, Path(tmp), args.repeat)
        if mlflow is None:
            print("MLflow: not installed, skipped")
        else:
            seconds, count = mlflow
            line = (
                f"MLflow search_runs, {args.mlflow_runs:,} runs (SQLite): median "
                f"{seconds * 1000:,.1f} ms, {count:,} matches"
            )
            if args.mlflow_runs in ours_at:
                ratio = seconds / ours_at[args.mlflow_runs]
                line += f"; mltop (cold) is {ratio:,.0f}x faster"
            print(line)
    print("all targets met" if ok else "TARGETS MISSED")


if __name__ == "__main__":
    main()
