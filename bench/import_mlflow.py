"""Benchmark: `mltop import mlflow` of an MLflow file store and SQLite database.

    python bench/import_mlflow.py [--runs 1000] [--points 10000] [--keys 2] [--repeat 1]
                                  [--no-db]

Writes an MLflow file store (`mlruns/`: runs of `--points` points each, over `--keys`
metric keys, with params and tags, as MLflow lays them out) straight to disk, and the same
content as an MLflow SQLite database (MLflow's tables, made here: MLflow is not needed),
then times importing each into a new mltop store and prints points/s (the median of
`--repeat` imports; one by default, as the default size takes a while). Every point is
checked to have arrived.

`bench/server.py` calls `import_rate(runs, points)`.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path


def _value(i: int) -> float:
    return math.exp(-i / 5000) + 0.01 * math.sin(i)


def write_file_store(root: Path, runs: int, points: int, keys: int = 2) -> list[str]:
    """An MLflow file store of `runs` runs in one experiment; their ids."""
    exp = root / "1"
    (exp / "tags").mkdir(parents=True)
    (root / "0").mkdir()
    (root / "0" / "meta.yaml").write_text(
        "artifact_location: file:///elsewhere/mlruns/0\ncreation_time: 1700000000000\n"
        "experiment_id: '0'\nlast_update_time: 1700000000000\nlifecycle_stage: active\n"
        "name: Default\n"
    )
    (exp / "meta.yaml").write_text(
        "artifact_location: file:///elsewhere/mlruns/1\ncreation_time: 1700000000000\n"
        "experiment_id: '1'\nlast_update_time: 1700000000000\nlifecycle_stage: active\n"
        "name: bench\n"
    )
    per_key = points // keys
    lines = [
        "".join(f"{1700000000000 + i} {_value(i + k)} {i}\n" for i in range(per_key)).encode()
        for k in range(keys)
    ]
    ids = []
    for n in range(runs):
        run_id = uuid.uuid4().hex
        ids.append(run_id)
        folder = exp / run_id
        for sub in ("metrics", "params", "tags", "artifacts"):
            (folder / sub).mkdir(parents=True)
        (folder / "meta.yaml").write_text(
            f"artifact_uri: file:///elsewhere/mlruns/1/{run_id}/artifacts\n"
            f"end_time: 1700000900000\nentry_point_name: ''\nexperiment_id: '1'\n"
            f"lifecycle_stage: active\nrun_id: {run_id}\nrun_name: run-{n}\nsource_name: ''\n"
            "source_type: 4\nsource_version: ''\nstart_time: 1700000000000\nstatus: 3\n"
            "tags: []\nuser_id: bench\n"
        )
        for k in range(keys):
            (folder / "metrics" / f"metric_{k}").write_bytes(lines[k])
        (folder / "params" / "lr").write_text(str(0.1 / (n + 1)))
        (folder / "tags" / "mlflow.runName").write_text(f"run-{n}")
        (folder / "artifacts" / "notes.txt").write_text("bench")
    return ids


def write_database(path: Path, runs: int, points: int, keys: int = 2) -> None:
    """The same content in MLflow's SQLite schema (the tables and columns the import
    reads)."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name TEXT,
            artifact_location TEXT, lifecycle_stage TEXT, creation_time BIGINT,
            last_update_time BIGINT);
        CREATE TABLE experiment_tags (key TEXT, value TEXT, experiment_id INTEGER);
        CREATE TABLE runs (run_uuid TEXT PRIMARY KEY, name TEXT, source_type TEXT,
            source_name TEXT, entry_point_name TEXT, user_id TEXT, status TEXT,
            start_time BIGINT, end_time BIGINT, source_version TEXT, lifecycle_stage TEXT,
            artifact_uri TEXT, experiment_id INTEGER);
        CREATE TABLE tags (key TEXT, value TEXT, run_uuid TEXT);
        CREATE TABLE params (key TEXT, value TEXT, run_uuid TEXT);
        CREATE TABLE metrics (key TEXT, value FLOAT, timestamp BIGINT, run_uuid TEXT,
            step BIGINT, is_nan BOOLEAN);
        INSERT INTO experiments VALUES (0, 'Default', '', 'active', 1700000000000,
            1700000000000);
        INSERT INTO experiments VALUES (1, 'bench', '', 'active', 1700000000000,
            1700000000000);
        """
    )
    per_key = points // keys
    for n in range(runs):
        run_id = uuid.uuid4().hex
        conn.execute(
            "INSERT INTO runs VALUES (?, ?, 'LOCAL', '', '', 'bench', 'FINISHED', "
            "1700000000000, 1700000900000, '', 'active', ?, 1)",
            (run_id, f"run-{n}", f"file:///elsewhere/{run_id}/artifacts"),
        )
        conn.execute("INSERT INTO params VALUES ('lr', ?, ?)", (str(0.1 / (n + 1)), run_id))
        conn.executemany(
            "INSERT INTO metrics VALUES (?, ?, ?, ?, ?, 0)",
            (
                (f"metric_{k}", _value(i + k), 1700000000000 + i, run_id, i)
                for k in range(keys)
                for i in range(per_key)
            ),
        )
    conn.execute("CREATE INDEX index_metrics_run_uuid ON metrics (run_uuid)")
    conn.commit()
    conn.close()


def time_import(source: Path, folder: Path, expected_points: int) -> float:
    """Seconds to import `source` into a new store (checking every point arrived)."""
    from mltop.store.imports import import_mlflow

    store = folder / f"store-{uuid.uuid4().hex[:8]}"
    start = time.perf_counter()
    summary = import_mlflow(source, store)
    elapsed = time.perf_counter() - start
    got = summary.added["metric points"]
    assert got == expected_points, f"{got} points imported of {expected_points}"
    shutil.rmtree(store)
    return elapsed


def import_rate(
    runs: int = 1000,
    points: int = 10_000,
    *,
    keys: int = 2,
    repeat: int = 1,
    db: bool = True,
    report: Callable[[str, float], None] | None = None,
) -> dict[str, float]:
    """Points/s of importing an MLflow file store (and an SQLite database of the same) of
    `runs` runs x `points` points: the median of `repeat` imports of each. `report` is
    called with each rate as it is measured."""
    total = runs * (points // keys) * keys
    rates = {}
    with tempfile.TemporaryDirectory(prefix="mltop-bench-import-") as tmp:
        folder = Path(tmp)
        write_file_store(folder / "mlruns", runs, points, keys)
        times = [time_import(folder / "mlruns", folder, total) for _ in range(repeat)]
        rates["file store"] = total / statistics.median(times)
        if report is not None:
            report("file store", rates["file store"])
        shutil.rmtree(folder / "mlruns")
        if db:
            write_database(folder / "mlflow.db", runs, points, keys)
            times = [time_import(folder / "mlflow.db", folder, total) for _ in range(repeat)]
            rates["sqlite"] = total / statistics.median(times)
            if report is not None:
                report("sqlite", rates["sqlite"])
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--points", type=int, default=10_000, help="points per run")
    parser.add_argument("--keys", type=int, default=2, help="metric keys per run")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-db", action="store_true", help="skip the SQLite database")
    args = parser.parse_args()
    total = args.runs * (args.points // args.keys) * args.keys
    what = "median of" if args.repeat > 1 else "one import, not a median:"
    print(
        f"import of {args.runs} runs x {args.points} points ({total:,} points, "
        f"{args.keys} keys a run; {what} {args.repeat} run(s))"
    )

    def report(kind: str, rate: float) -> None:
        print(f"  MLflow {kind:<10}  {rate:>12,.0f} points/s  ({total / rate:.1f} s)", flush=True)

    import_rate(
        args.runs, args.points, keys=args.keys, repeat=args.repeat, db=not args.no_db,
        report=report,
    )  # fmt: skip


if __name__ == "__main__":
    main()
