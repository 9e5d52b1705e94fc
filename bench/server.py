"""Benchmark: mltop's client next to MLflow's own on one local MLflow tracking server.

    python bench/server.py [--points 10000] [--repeat 5] [--runs 1000] [--searches 5]
                           [--import-runs 1000] [--import-points 10000]

Starts `mlflow server` (SQLite backend, proxied artifacts, in a temporary folder; as the
tests' fixture does: tests/server_fixture.py) and, in one run:

- logging: `--points` points of one run logged by mltop's client (`log_metric` in a loop,
  buffered, until `flush()` returns) and by MLflow's `MlflowClient.log_batch` (the points
  made beforehand as MLflow `Metric`s, one call: MLflow sends them 1000 a request), each
  into a run of its own, alternately (each first every other time), `--repeat` times:
  points/s each (median), their ratio (target: mltop >= MLflow), and every point counted
  on the server afterwards; after one uncounted round of each, to warm up. The server's
  own work per point dominates both.
- search: `search_runs` of `--runs` runs (each with params and metrics), one page of up to
  1000, `--searches` times each client: the median time each, and their ratio.
- import (1,000 runs unless `--import-runs 0`): `bench/import_mlflow.py`'s `import_rate` (helper I's),
  MLflow's file store and SQLite database into an mltop store, points/s.

MLflow must be installed (the `mlflow` test extra): it runs the server and the baseline.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This folder's scripts are named like modules others import (`search`, `models`, `load`): keep
# it off the import path; tests/ goes on it, for the server fixture the tests use.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent / "tests"))

import argparse  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

from server_fixture import start_server, stop_server  # noqa: E402

TARGET_LOG_RATIO = 1.0  # mltop's logging rate / MLflow's log_batch rate


def values(n: int) -> list[float]:
    return [math.exp(-i / n) + 0.01 * math.sin(i) for i in range(n)]


def count_points(url: str, run_id: str, key: str) -> int:
    """Points of `key` the server holds for the run (read with MLflow's REST API, paged)."""
    from mltop.store.server.rest import RestClient

    rest = RestClient(url)
    total, token = 0, None
    while True:
        body: dict[str, Any] = {"run_id": run_id, "metric_key": key, "max_results": 25_000}
        if token:
            body["page_token"] = token
        answer = rest.call("GET", "metrics/get-history", body)
        total += len(answer.get("metrics", []))
        token = answer.get("next_page_token")
        if not token:
            return total


# -- logging --------------------------------------------------------------------------------


def log_mltop(url: str, experiment_id: str, n: int) -> tuple[float, str]:
    """Points/s of mltop's buffered log_metric until flush() returns; the run's id."""
    from mltop.store import MltopClient

    client = MltopClient(url)
    run_id = client.create_run(experiment_id, run_name="mltop", log_system_info=False).info.run_id
    vals = values(n)
    log_metric = client.log_metric
    start = time.perf_counter()
    for i in range(n):
        log_metric(run_id, "loss", vals[i], None, i)
    client.flush()
    elapsed = time.perf_counter() - start
    client.set_terminated(run_id)
    client.close()
    return n / elapsed, run_id


def log_mlflow(url: str, experiment_id: str, n: int) -> tuple[float, str]:
    """Points/s of MLflow's MlflowClient.log_batch (points made beforehand); the run's id."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient(tracking_uri=url)
    run_id = client.create_run(experiment_id, run_name="mlflow").info.run_id
    now = int(time.time() * 1000)
    vals = values(n)
    metrics = [Metric("loss", vals[i], now, i) for i in range(n)]
    start = time.perf_counter()
    client.log_batch(run_id, metrics=metrics)
    elapsed = time.perf_counter() - start
    client.set_terminated(run_id)
    return n / elapsed, run_id


# -- search ---------------------------------------------------------------------------------


def make_runs(url: str, experiment_id: str, runs: int) -> None:
    """`runs` finished runs with 3 params, 2 tags and 3 metrics each (written over REST)."""
    from mltop.store.server.rest import RestClient

    rest = RestClient(url)
    now = int(time.time() * 1000)
    for i in range(runs):
        run = rest.call(
            "POST",
            "runs/create",
            {"experiment_id": experiment_id, "run_name": f"run-{i}", "start_time": now + i},
        )
        run_id = run["run"]["info"]["run_id"]
        rest.call(
            "POST",
            "runs/log-batch",
            {
                "run_id": run_id,
                "params": [
                    {"key": "lr", "value": str(0.001 * (i % 10 + 1))},
                    {"key": "layers", "value": str(i % 5)},
                    {"key": "optimizer", "value": "adam" if i % 2 else "sgd"},
                ],
                "tags": [{"key": "team", "value": "vision"}, {"key": "i", "value": str(i)}],
                "metrics": [
                    {"key": k, "value": v, "timestamp": now + i, "step": 10}
                    for k, v in (("loss", 1 / (i + 1)), ("acc", i / runs), ("lr", 0.1))
                ],
            },
        )
        rest.call(
            "POST", "runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": now + i}
        )


def time_search(search: Callable[[], int], runs: int, times: int) -> float:
    """The median seconds of `search` (which returns the number of runs found)."""
    took = []
    for _ in range(times):
        start = time.perf_counter()
        found = search()
        took.append(time.perf_counter() - start)
        assert found == min(runs, 1000), f"found {found} runs of {runs}"
    return statistics.median(took)


def search_mltop(url: str, experiment_id: str) -> Callable[[], int]:
    from mltop.store import MltopClient

    client = MltopClient(url)
    return lambda: len(client.search_runs([experiment_id], max_results=1000))


def search_mlflow(url: str, experiment_id: str) -> Callable[[], int]:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=url)
    return lambda: len(client.search_runs([experiment_id], max_results=1000))


# -- the import benchmark (helper I's bench/import_mlflow.py), when asked for ----------------


def import_benchmark(runs: int, points: int) -> None:
    sys.path.insert(0, str(_HERE))
    try:
        from import_mlflow import import_rate  # type: ignore[import-not-found]
    except ImportError as exc:
        print(f"import: bench/import_mlflow.py not available ({exc}); skipped")
        return
    finally:
        sys.path.remove(str(_HERE))
    total = runs * points
    print(f"import of {runs:,} runs x {points:,} points ({total:,} points), one import each:")
    for kind, rate in import_rate(runs, points).items():
        print(f"  MLflow {kind:<10}: {rate:>12,.0f} points/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000, help="points logged a repeat")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--runs", type=int, default=1000, help="runs searched (0: no search)")
    parser.add_argument("--searches", type=int, default=5)
    parser.add_argument("--import-runs", type=int, default=1000, help="0: no import benchmark")
    parser.add_argument("--import-points", type=int, default=10_000)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # MLflow's client chatters about every run it ends

    with tempfile.TemporaryDirectory(prefix="mltop-bench-server-") as tmp:
        server = start_server(Path(tmp) / "server")
        try:
            run_benchmarks(server.url, args)
        finally:
            stop_server(server)
    if args.import_runs > 0:
        import_benchmark(args.import_runs, args.import_points)


def run_benchmarks(url: str, args: argparse.Namespace) -> None:
    from mltop.store.server.rest import RestClient

    rest = RestClient(url)
    logging_exp = rest.call("POST", "experiments/create", {"name": f"log-{uuid.uuid4().hex}"})
    experiment_id = logging_exp["experiment_id"]
    # Warm both up first (imports, connections, the server's first requests), uncounted.
    log_mltop(url, experiment_id, min(1000, args.points))
    log_mlflow(url, experiment_id, min(1000, args.points))
    ours, theirs = [], []
    lost = 0
    for attempt in range(args.repeat):
        # Alternately first: a server's table grows, and a busy machine's load drifts.
        order = [(log_mltop, ours), (log_mlflow, theirs)]
        for log, rates in order if attempt % 2 == 0 else reversed(order):
            rate, run_id = log(url, experiment_id, args.points)
            rates.append(rate)
            lost += args.points - count_points(url, run_id, "loss")
        print(
            f"  run {attempt + 1}: mltop {ours[-1]:,.0f} points/s, "
            f"MLflow log_batch {theirs[-1]:,.0f} points/s",
            flush=True,
        )
    m_ours, m_theirs = statistics.median(ours), statistics.median(theirs)
    ratio = m_ours / m_theirs
    # Each repeat's two runs share the machine's load of the moment: their ratio is steadier.
    paired = statistics.median(a / b for a, b in zip(ours, theirs, strict=True))
    print(f"logging {args.points:,} points into one run, median of {args.repeat}, until stored:")
    print(f"  mltop log_metric + flush : {m_ours:>10,.0f} points/s")
    print(f"  MLflow MlflowClient.log_batch: {m_theirs:>6,.0f} points/s")
    print(f"  ratio mltop / MLflow     : {ratio:>10.2f}        (target >= {TARGET_LOG_RATIO:.2f})")
    print(f"  median of paired ratios  : {paired:>10.2f}        (each repeat's two runs)")
    print(f"  points lost              : {lost:>10,}        (counted on the server)")

    ok = ratio >= TARGET_LOG_RATIO and lost == 0
    if args.runs > 0:
        bench_search(url, args)
    print("all targets met" if ok else "TARGETS MISSED")


def bench_search(url: str, args: argparse.Namespace) -> None:
    from mltop.store.server.rest import RestClient

    rest = RestClient(url)
    search_exp = rest.call("POST", "experiments/create", {"name": f"search-{uuid.uuid4().hex}"})
    search_id = search_exp["experiment_id"]
    start = time.perf_counter()
    make_runs(url, search_id, args.runs)
    print(f"search_runs over {args.runs:,} runs (made in {time.perf_counter() - start:.0f} s):")
    t_ours = time_search(search_mltop(url, search_id), args.runs, args.searches)
    t_theirs = time_search(search_mlflow(url, search_id), args.runs, args.searches)
    print(f"  mltop search_runs        : {t_ours * 1000:>10,.0f} ms  (median of {args.searches})")
    print(f"  MLflow search_runs       : {t_theirs * 1000:>10,.0f} ms")
    print(f"  ratio MLflow / mltop     : {t_theirs / t_ours:>10.2f}        (> 1: mltop faster)")


if __name__ == "__main__":
    main()
