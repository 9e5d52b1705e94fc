"""Benchmark: `mltop runs list` of 10,000 runs, as a table and as CSV, timed as a user runs it.

    python bench/cli_table.py [--runs 10000] [--repeat 5] [--store PATH]

Each figure is the median wall time of `mltop runs list --max-results N` started as a
separate process, from spawn to exit (interpreter start, imports and the store's read
included): the table written to /dev/null, the table written to a 120-column
pseudo-terminal (with its colours, read until the process exits), and `--format csv` to
/dev/null; all measured in the same run, alternately. Target: the table of 10,000 rows in
< 1 s.

The store (runs with 5 params, 5 metrics of 20 steps, 2 tags; as bench/search.py) is built
in a temporary folder unless --store names one already built.
"""

from __future__ import annotations

import argparse
import fcntl
import importlib.util
import os
import pty
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

HERE = Path(__file__).parent
TARGET_S = 1.0


def _search_bench():
    spec = importlib.util.spec_from_file_location("bench_search", HERE / "search.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def command(store: Path, runs: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "mltop.tui.cli", "runs", "list", "--store", str(store),
            "--max-results", str(runs), *extra]  # fmt: skip


def to_null(args: list[str]) -> float:
    started = time.perf_counter()
    with open(os.devnull, "w") as null:
        subprocess.run(args, stdout=null, check=True)
    return time.perf_counter() - started


def to_terminal(args: list[str]) -> tuple[float, int]:
    """Seconds until the process exits with everything it wrote read, and the bytes read."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    started = time.perf_counter()
    child = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    size = 0
    try:
        while True:
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:  # the child exited and closed its side
                break
            if not chunk:
                break
            size += len(chunk)
        child.wait()
    finally:
        os.close(master)
    if child.returncode != 0:
        raise RuntimeError(f"{args} exited with {child.returncode}")
    return time.perf_counter() - started, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--store", type=Path, help="a store built by an earlier run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        store = args.store or Path(tmp) / "store"
        if not (store / "mltop.db").exists():
            started = time.perf_counter()
            _search_bench().build_mltop(args.runs, store)
            print(f"built a store of {args.runs:,} runs in {time.perf_counter() - started:.0f} s")
        table, csv = command(store, args.runs), command(store, args.runs, "--format", "csv")
        to_null(table)  # the OS's file cache, Python's bytecode: warm for every figure
        times: dict[str, list[float]] = {"table": [], "table, terminal": [], "csv": []}
        for _ in range(args.repeat):
            times["table"].append(to_null(table))
            seconds, written = to_terminal(table)
            times["table, terminal"].append(seconds)
            times["csv"].append(to_null(csv))
        for name, values in times.items():
            each = ", ".join(f"{v:.2f}" for v in values)
            median = statistics.median(values)
            print(f"runs list of {args.runs:,} runs, {name}: median {median:.2f} s (each: {each})")
        ratio = statistics.median(times["table"]) / statistics.median(times["csv"])
        print(
            f"table / csv: {ratio:.2f}; table target < {TARGET_S:.0f} s "
            f"(terminal: {written / 1e6:.1f} MB written)"
        )


if __name__ == "__main__":
    main()
