"""Benchmark: MLflow's own client writing into an mltop store (`mltop:`) and into MLflow's
SQLite store (`sqlite:`), on the same machine, in the same run.

    python bench/mlflow_plugin.py [--points 100000] [--runs 10000] [--repeat 3]
                                  [--search-repeat 7] [--sqlite-points 5000]

- `mlflow.log_metric`: --points points logged one by one in a run, timed from the first
  call until `end_run` returns (every point committed), then counted back.
  The same for mltop with MLFLOW_REGISTRY_URI set too (printed, not judged: see
  bench_points).
- `MlflowClient().log_batch`: the same points, 1,000 metrics a call, timed until
  `set_terminated` returns, then counted back.
- `mlflow.search_runs` (a pandas DataFrame, as scripts use it; the target is judged on it)
  and `MlflowClient().search_runs` (Run entities: the store's part without the DataFrame)
  on --runs runs of a few params and metrics each: a filter on a param and a metric, ordered
  by a metric, every match returned. The runs are made as fast as each store allows (one
  `log_batch` a run); only the search is timed, in a fresh process: its first search (the
  store opened by a look-up just before), then the median of --search-repeat more.

Each measurement runs in its own process (MLflow keeps its stores per process). Rates are
medians of --repeat runs. MLflow's SQLite store takes minutes for 100,000 single
`log_metric` calls: it is timed on --sqlite-points points and its rate extrapolated, and the
output says so (0: all --points).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"log_metric": 20.0, "log_batch": 5.0, "search_runs": 10.0}
BATCH = 1_000
FILTER = "metrics.accuracy > 0.9 and params.optimizer = 'adam'"
ORDER_BY = ["metrics.loss ASC"]


# -- the children: one measurement each, its result printed as JSON --------------------------


def quiet_mlflow(uri: str):
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    import mlflow

    mlflow.set_tracking_uri(uri)
    return mlflow


def child_log_metric(uri: str, n: int) -> dict:
    mlflow = quiet_mlflow(uri)
    mlflow.set_experiment("bench")
    run = mlflow.start_run()
    log_metric = mlflow.log_metric
    start = time.perf_counter()
    for i in range(n):
        log_metric("loss", 1.0 / (i + 1), step=i)
    mlflow.end_run()
    seconds = time.perf_counter() - start
    count = len(mlflow.MlflowClient().get_metric_history(run.info.run_id, "loss"))
    return {"seconds": seconds, "count": count}


def child_log_batch(uri: str, n: int) -> dict:
    mlflow = quiet_mlflow(uri)
    from mlflow.entities import Metric

    client = mlflow.MlflowClient()
    experiment_id = client.create_experiment("bench")
    run_id = client.create_run(experiment_id).info.run_id
    now = int(time.time() * 1000)
    batches = [
        [Metric("loss", 1.0 / (i + 1), now, i) for i in range(lo, min(lo + BATCH, n))]
        for lo in range(0, n, BATCH)
    ]
    start = time.perf_counter()
    for batch in batches:
        client.log_batch(run_id, metrics=batch)
    client.set_terminated(run_id)
    seconds = time.perf_counter() - start
    count = len(client.get_metric_history(run_id, "loss"))
    return {"seconds": seconds, "count": count}


def child_build(uri: str, runs: int) -> dict:
    """`runs` finished runs in the experiment `bench`, each with 3 params and 3 metrics,
    made with one log_batch each."""
    mlflow = quiet_mlflow(uri)
    from mlflow.entities import Metric, Param

    client = mlflow.MlflowClient()
    experiment_id = client.create_experiment("bench")
    rng = random.Random(0)
    now = int(time.time() * 1000)
    start = time.perf_counter()
    for i in range(runs):
        run_id = client.create_run(experiment_id, run_name=f"run-{i:05d}").info.run_id
        params = {
            "optimizer": rng.choice(["adam", "sgd", "rmsprop"]),
            "lr": str(rng.choice([0.1, 0.01, 0.001])),
            "layers": str(rng.randint(2, 12)),
        }
        metrics = {
            "accuracy": rng.uniform(0.5, 1.0),
            "loss": rng.uniform(0.05, 2.0),
            "val_loss": rng.uniform(0.05, 2.0),
        }
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, now, 0) for k, v in metrics.items()],
            params=[Param(k, v) for k, v in params.items()],
        )
        client.set_terminated(run_id)
    return {"seconds": time.perf_counter() - start, "experiment_id": experiment_id}


def child_search(uri: str, experiment_id: str, repeat: int) -> dict:
    """The search timed as `mlflow.search_runs` (a DataFrame, the target) and as
    `MlflowClient().search_runs` (the store's part: Run entities, every match in one page)."""
    mlflow = quiet_mlflow(uri)
    client = mlflow.MlflowClient()
    client.get_experiment(experiment_id)  # the store opened, not yet searched

    def frame():
        return mlflow.search_runs([experiment_id], FILTER, order_by=ORDER_BY)

    def entities():
        return client.search_runs([experiment_id], FILTER, order_by=ORDER_BY, max_results=50_000)

    result = {}
    for name, search in (("frame", frame), ("client", entities)):
        start = time.perf_counter()
        found = search()
        first = time.perf_counter() - start
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            found = search()
            times.append(time.perf_counter() - start)
        result[name] = {"first": first, "median": statistics.median(times), "found": len(found)}
    result["runs"] = len(mlflow.search_runs([experiment_id], max_results=100_000))
    return result


CHILDREN = {
    "log_metric": child_log_metric,
    "log_batch": child_log_batch,
    "build": child_build,
    "search": child_search,
}


def child(kind: str, uri: str, *args: object, registry: bool = False) -> dict:
    """A child process's measurement (fresh interpreter, MLflow's telemetry off; with
    `registry`, MLFLOW_REGISTRY_URI set to the tracking URI too)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MLTOP_"))}
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    if registry:
        env["MLFLOW_REGISTRY_URI"] = uri
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, uri, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{kind} on {uri} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- the parent: the measurements, their medians and ratios ----------------------------------


def uris(folder: Path) -> dict[str, str]:
    return {"mltop": f"mltop://{folder}/store", "sqlite": f"sqlite:///{folder}/mlflow.db"}


def rate(kind: str, store: str, n: int, repeat: int, *, registry: bool = False) -> float:
    """Median points/s of `repeat` runs of `kind` logging `n` points into a fresh store."""
    rates = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            result = child(kind, uris(Path(tmp))[store], n, registry=registry)
        if result["count"] != n:
            raise SystemExit(f"{kind} into {store}: {result['count']:,} of {n:,} points read back")
        rates.append(n / result["seconds"])
    return statistics.median(rates)


def verdict(ratio: float, target: float) -> tuple[str, bool]:
    met = ratio >= target
    return f"(target >= {target:.0f}x: {'met' if met else 'MISSED'})", met


def bench_points(args: argparse.Namespace) -> bool:
    n, repeat = args.points, args.repeat
    ok = True
    ours_log_metric = 0.0
    print(f"{n:,} points into one run, median of {repeat}, timed until committed:")
    for kind in ("log_metric", "log_batch"):
        ours = rate(kind, "mltop", n, repeat)
        subset = args.sqlite_points if kind == "log_metric" and args.sqlite_points else n
        theirs = rate(kind, "sqlite", subset, repeat)
        label = "mlflow.log_metric" if kind == "log_metric" else f"log_batch ({BATCH:,} a call)"
        note = ""
        if subset != n:
            note = f"  [timed on {subset:,} points; {n:,} extrapolated: ~{n / theirs:,.0f} s]"
        if kind == "log_metric":
            ours_log_metric = ours
        ratio = ours / theirs
        said, met = verdict(ratio, TARGETS[kind])
        ok &= met
        print(f"  {label:<24} mltop: {ours:>10,.0f} points/s")
        print(f"  {label:<24} MLflow sqlite: {theirs:>10,.0f} points/s{note}")
        print(f"  {label:<24} ratio mltop / sqlite: {ratio:,.1f}x {said}", flush=True)
    # Without a registry URI, MLflow's fluent log_metric builds two MlflowClients a call,
    # and each tries to import pyspark to ask a Spark session for one: the registry URI set
    # (as `mltop run` sets it) skips that. Not part of the target: a plain script has none.
    also = rate("log_metric", "mltop", n, repeat, registry=True)
    print(
        f"  {'mlflow.log_metric':<24} mltop, MLFLOW_REGISTRY_URI set too: {also:>10,.0f} points/s "
        f"({also / ours_log_metric:,.1f}x the rate above; not judged)"
    )
    return ok


def bench_search(args: argparse.Namespace) -> bool:
    print(
        f"search on {args.runs:,} runs (3 params, 3 metrics each), filter {FILTER!r}, "
        f"order_by {ORDER_BY}, every match; first search, then the median of "
        f"{args.search_repeat} more:"
    )
    times = {}
    for store in ("mltop", "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            uri = uris(Path(tmp))[store]
            built = child("build", uri, args.runs)
            found = child("search", uri, built["experiment_id"], args.search_repeat)
        if found["runs"] != args.runs:
            raise SystemExit(f"{store}: {found['runs']:,} of {args.runs:,} runs read back")
        times[store] = found
        print(f"  {store}: {args.runs:,} runs built in {built['seconds']:,.0f} s", flush=True)
    met = True
    for name, label in (
        ("frame", "mlflow.search_runs (DataFrame)"),
        ("client", "MlflowClient().search_runs"),
    ):
        ours, theirs = times["mltop"][name], times["sqlite"][name]
        if ours["found"] != theirs["found"]:
            raise SystemExit(f"{label}: the two stores found different numbers of runs")
        for store, t in (("mltop", ours), ("sqlite", theirs)):
            print(
                f"  {label:<31} {store:<6} first {t['first'] * 1000:>8,.1f} ms, "
                f"median {t['median'] * 1000:>8,.1f} ms, {t['found']:,} matches"
            )
        ratio = theirs["median"] / ours["median"]
        first = theirs["first"] / ours["first"]
        if name == "frame":
            said, met = verdict(ratio, TARGETS["search_runs"])
        else:
            said = "(the store's part, no DataFrame)"
        print(f"  {label:<31} ratio sqlite / mltop: {ratio:,.1f}x {said}; first {first:,.1f}x")
    return met


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, uri, *rest = sys.argv[2:]
        function = CHILDREN[kind]
        values = [rest[0]] if kind == "search" else []
        values += [int(v) for v in rest[len(values) :]]
        print(json.dumps(function(uri, *values)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000, help="0: no logging measured")
    parser.add_argument("--runs", type=int, default=10_000, help="0: no search measured")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each logging measure")
    parser.add_argument(
        "--search-repeat", type=int, default=7, help="searches timed after the first"
    )
    parser.add_argument(
        "--sqlite-points",
        type=int,
        default=5_000,
        help="points MLflow's sqlite log_metric is timed on (0: all --points)",
    )
    args = parser.parse_args()
    ok = True
    if args.points:
        ok &= bench_points(args)
    if args.runs:
        ok &= bench_search(args)
    print("all targets met" if ok else "TARGETS MISSED")


if __name__ == "__main__":
    main()
