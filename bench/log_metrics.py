"""Benchmark: log_metric throughput against raw SQLite, and memory over 10M points.

    python bench/log_metrics.py [--points 1000000] [--repeat 3] [--memory-points 10000000]

Prints the median rate of mltop's buffered `log_metric` (measured until the last point is
committed), the median rate of raw SQLite `executemany` (batches of 10,000 into an
equivalent indexed table, same machine, same run), their ratio, MLflow's rate when MLflow
is installed, and the peak RSS of a process logging the memory-test points.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the standard library's `logging`: keep its folder off the import
# path so that `import logging` (done by MLflow, among others) finds the real one.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

TARGET_RATE = 200_000
TARGET_RATIO = 0.40
TARGET_RSS_MB = 150


def values(n: int) -> list[float]:
    return [math.exp(-i / n) + 0.01 * math.sin(i) for i in range(n)]


def bench_mltop(n: int, folder: Path) -> float:
    from mltop import store as mt

    mt.set_store(folder / "store")
    vals = values(n)
    with mt.start_run(run_name="bench", log_system_info=False):
        log_metric = mt.log_metric
        start = time.perf_counter()
        for i in range(n):
            log_metric("loss", vals[i], step=i)
        mt.flush()
        elapsed = time.perf_counter() - start
    run = mt.get_store().list_runs()[0]
    assert run.data.summaries["loss"].count == n, "points were lost"
    mt.set_store(None)
    return n / elapsed


def bench_raw(n: int, folder: Path) -> float:
    conn = sqlite3.connect(folder / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(
        "CREATE TABLE metrics (id INTEGER PRIMARY KEY, run INTEGER NOT NULL, key INTEGER NOT "
        "NULL, step INTEGER NOT NULL, timestamp INTEGER NOT NULL, value FLOAT)"
    )
    conn.execute("CREATE INDEX idx_metrics_run_key ON metrics (run, key)")
    now = int(time.time() * 1000)
    vals = values(n)
    rows = [(1, 1, i, now, vals[i]) for i in range(n)]
    start = time.perf_counter()
    for lo in range(0, n, 10_000):
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO metrics (run, key, step, timestamp, value) VALUES (?, ?, ?, ?, ?)",
            rows[lo : lo + 10_000],
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return n / elapsed


def bench_mlflow(n: int, folder: Path) -> float | None:
    if importlib.util.find_spec("mlflow") is None:
        return None
    code = f"""
import time, mlflow, logging
logging.disable(logging.WARNING)
mlflow.set_tracking_uri("sqlite:///{folder}/mlflow.db")
with mlflow.start_run():
    start = time.perf_counter()
    for i in range({n}):
        mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
    print({n} / (time.perf_counter() - start))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def memory_child(n: int, folder: str) -> None:
    from mltop import store as mt

    mt.set_store(Path(folder) / "store")
    with mt.start_run(run_name="memory", log_system_info=False):
        for i in range(n):
            mt.log_metric("loss", 1.0 / (i + 1), step=i)
        mt.flush()
    print(peak_rss_mb())


def peak_rss_mb() -> float:
    """Peak RSS of this process image. (ru_maxrss would include the memory of the parent
    that forked us before exec, which VmHWM does not.)"""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-points", type=int, default=10_000_000)
    parser.add_argument("--mlflow-points", type=int, default=2_000)
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_points, args.memory_child)
        return

    ours, raw = [], []
    for attempt in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            raw.append(bench_raw(args.points, Path(tmp)))
        with tempfile.TemporaryDirectory() as tmp:
            ours.append(bench_mltop(args.points, Path(tmp)))
        print(
            f"  run {attempt + 1}: mltop {ours[-1]:,.0f} points/s, raw SQLite {raw[-1]:,.0f} "
            "points/s",
            flush=True,
        )
    m_ours, m_raw = statistics.median(ours), statistics.median(raw)
    ratio = m_ours / m_raw
    print(f"log_metric, {args.points:,} points, median of {args.repeat}, until committed:")
    print(f"  mltop buffered log_metric : {m_ours:>12,.0f} points/s  (target >= {TARGET_RATE:,})")
    print(f"  raw SQLite executemany    : {m_raw:>12,.0f} points/s  (batches of 10,000)")
    print(f"  ratio mltop / raw SQLite  : {ratio:>12.2f}         (target >= {TARGET_RATIO:.2f})")

    with tempfile.TemporaryDirectory() as tmp:
        mlflow_rate = bench_mlflow(args.mlflow_points, Path(tmp))
    if mlflow_rate is None:
        print("  MLflow                    : not installed, skipped")
    else:
        print(
            f"  MLflow log_metric (SQLite): {mlflow_rate:>12,.0f} points/s  "
            f"(ratio mltop / MLflow {m_ours / mlflow_rate:,.0f}x)"
        )

    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--memory-points",
                str(args.memory_points),
                "--memory-child",
                tmp,
            ],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ},
        )
    rss = float(out.stdout.strip().splitlines()[-1])
    print(
        f"memory, logging {args.memory_points:,} points: peak RSS {rss:,.0f} MB "
        f"(target < {TARGET_RSS_MB} MB)"
    )
    ok = m_ours >= TARGET_RATE and ratio >= TARGET_RATIO and rss < TARGET_RSS_MB
    print("all targets met" if ok else "TARGETS MISSED")


if __name__ == "__main__":
    main()
