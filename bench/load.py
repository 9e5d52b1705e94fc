"""Benchmark: 8 writer processes x 100,000 points, killed and restarted at random, under load.

    python bench/load.py [--writers 8] [--points 100000] [--faults 24] [--rounds 1] [--seed 0]

Each writer logs its points (two metrics per step) through the fluent API into its own run
of one store; the writers are SIGKILLed at random moments (seeded: some while starting up,
the rest a random moment after reporting a random step committed) and restarted, attaching
to the same run and logging on from their last reported step. Meanwhile a headless
dashboard follows the store (used as a user would: moving, sorting, opening a run's charts
and back), a search loop in its own process searches fresh stores and follows one
incrementally, and a CLI loop runs `mltop runs list` and `mltop runs show`. See
bench/load_harness.py for what each part checks.

Prints the metric rows committed (steps committed but not yet reported when a writer was
killed are logged again after its restart: such a step is in the history twice), the time
from the first writer's start to the last one's end, points/s (rows / that time: writers'
start-ups and restarts included, on a machine busy with the readers too; the median over
rounds with --rounds), the faults injected, the loops' iterations and errors, whether the
dashboard stayed alive and showed every run to the end (and how late its event loop woke,
a measure of how loaded the machine was), the store's file sizes, PRAGMA integrity_check,
and whether every point reported committed is in the store with its value. Exits 1 when a
check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from load_harness import LoadConfig, LoadResult, run_load  # bench/ is this script's path


def failures(result: LoadResult) -> list[str]:
    """What went wrong in a round (nothing, when everything held)."""
    found = [*result.writer_errors, *result.problems]
    found += [f"search loop: {e}" for e in result.search.errors]
    found += [f"CLI loop: {e}" for e in result.cli.errors]
    if result.integrity != "ok":
        found.append(f"integrity_check: {result.integrity}")
    dashboard = result.dashboard
    if dashboard is not None:
        found += [f"dashboard: {e}" for e in dashboard.errors]
        if not dashboard.alive:
            found.append("the dashboard is not alive")
        if not dashboard.converged:
            found.append("the dashboard never showed every run finished with its last values")
        if dashboard.problem is not None:
            found.append(f"the dashboard says {dashboard.problem}")
    return found


def report(result: LoadResult, label: str) -> None:
    config = result.config
    logged_again = result.rows - result.distinct
    print(f"load, {label}:")
    print(
        f"  points committed          : {result.rows:>12,} rows ({result.distinct:,} distinct, "
        f"{logged_again:,} logged again after a restart)"
    )
    print(
        f"  wall time, writers        : {result.writing_seconds:>12.1f} s  (first start to "
        "last end)"
    )
    print(f"  throughput                : {result.points_per_second:>12,.0f} points/s")
    print(
        f"  faults injected           : {result.faults:>12} SIGKILLs of {config.faults} planned "
        f"({result.faults_at_spawn} while starting up), each followed by a restart"
    )
    print(
        f"  search loop               : {result.search.iterations:>12,} passes, "
        f"{len(result.search.errors)} errors ({result.search.followed:,} points followed)"
    )
    print(
        f"  CLI loop                  : {result.cli.iterations:>12,} rounds of 3 commands, "
        f"{len(result.cli.errors)} errors"
    )
    dashboard = result.dashboard
    if dashboard is None:
        print("  dashboard                 :  not run (--no-dashboard)")
    else:
        state = "alive" if dashboard.alive else "NOT ALIVE"
        end = "showed every run finished" if dashboard.converged else "NEVER CAUGHT UP"
        print(
            f"  dashboard                 : {state:>12}, {dashboard.runs_shown} of "
            f"{config.writers} runs in its table, {end}; {len(dashboard.errors)} errors"
        )
        lags = sorted(dashboard.lags) or [0.0]
        print(
            f"    used as a user would    : {dashboard.keys_pressed:>12} keys typed, a run's "
            f"charts opened {dashboard.runs_opened} times; its event loop late by "
            f"{statistics.median(lags) * 1000:,.0f} ms (median), {lags[-1] * 1000:,.0f} ms (max)"
        )
    print(
        f"  store files               : {result.db_bytes / 2**20:>12,.1f} MB database, WAL up "
        f"to {result.wal_peak / 2**20:,.1f} MB"
    )
    print(f"  PRAGMA integrity_check    : {result.integrity:>12}")
    verdict = "all present" if not result.problems else f"{len(result.problems)} PROBLEMS"
    print(f"  every committed point     : {verdict:>12}  (with its value, in order)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--points", type=int, default=100_000, help="per writer")
    parser.add_argument("--faults", type=int, default=24, help="SIGKILLs planned in a round")
    parser.add_argument("--report-every", type=int, default=1000, help="steps between flushes")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-dashboard", action="store_true")
    parser.add_argument("--keep", type=Path, help="run in this (new) folder, and keep it")
    args = parser.parse_args()

    rates, bad = [], []
    for attempt in range(args.rounds):
        config = LoadConfig(
            writers=args.writers,
            points=args.points,
            faults=args.faults,
            report_every=args.report_every,
            seed=args.seed + attempt,
            dashboard=not args.no_dashboard,
        )
        start = time.perf_counter()
        if args.keep is not None:
            folder = args.keep / f"round-{attempt + 1}"
            folder.mkdir(parents=True)
            result = asyncio.run(run_load(config, folder))
        else:
            with tempfile.TemporaryDirectory() as tmp:
                result = asyncio.run(run_load(config, Path(tmp)))
        total = time.perf_counter() - start
        label = (
            f"{config.writers} writers x {config.points:,} points, seed {config.seed}, "
            f"round {attempt + 1} of {args.rounds} ({total:.1f} s in all)"
        )
        report(result, label)
        rates.append(result.points_per_second)
        bad += failures(result)
    if args.rounds > 1:
        print(
            f"throughput, median of {args.rounds} rounds: {statistics.median(rates):,.0f} points/s"
        )
    if bad:
        print("CHECKS FAILED:")
        for line in bad[:20]:
            print(f"  {line}")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
