"""Benchmark: the dashboard on a store of 10,000 runs.

    python bench/dashboard.py [--runs 10000] [--starts 5] [--points 60] [--store PATH]

Figures (targets from the dashboard issue):
- open: a fresh `python` process starts the dashboard (headless Textual driver, 120×40,
  following the store); from before the process was spawned, imports included, the time
  until the runs table holds every run and has painted; the median of several starts
  (< 1.5 s), and the resident memory of that process once the table is shown (< 300 MB).
- live latency: a separate process commits a metric point every 100-300 ms into a running
  run of the same store; the dashboard follows the store with file events (watchdog); the
  time from the end of the commit until the value is in the runs table's cell, and until it
  is in the data a redrawn chart shows on the run detail screen; p50 and p95 (< 300 ms).
- chart redraw: one chart over a 1,000,000-point history, downsampled and rebuilt by
  plotext at 120 columns; the median of several redraws (< 100 ms).

The store (runs with 5 params, 5 metrics of 20 steps, 2 tags; as bench/search.py) is built
in a temporary folder unless --store names one already built by this script.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).parent
SIZE = (120, 40)


def _search_bench():
    spec = importlib.util.spec_from_file_location("bench_search", HERE / "search.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process, MB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


# -- open: run in a child process -------------------------------------------------------------


def child_open(store: str, spawned: float, runs: int) -> None:
    from mltop.tui.app import MltopApp
    from mltop.tui.widgets.runs_table import RunsTable

    async def main() -> dict:
        app = MltopApp(store)
        async with app.run_test(size=SIZE) as pilot:
            while True:
                tables = app.screen.query(RunsTable)
                if tables and tables.first().table.row_count >= runs:
                    break
                await pilot.pause(0.002)
            await pilot.pause()  # the frame that paints it
            shown = time.monotonic() - spawned
            current, peak = rss_mb()
            return {"seconds": shown, "rss_mb": current, "peak_mb": peak}

    print(json.dumps(asyncio.run(main())))


def time_open(store: Path, runs: int, starts: int) -> list[dict]:
    results = []
    for _ in range(starts):
        spawned = time.monotonic()
        out = subprocess.run(
            [sys.executable, __file__, "--child-open", str(store), str(spawned), str(runs)],
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return results


# -- live latency -----------------------------------------------------------------------------

WRITER = """
import random, sys, time
from mltop.store import MltopClient, Store
client = MltopClient(Store(sys.argv[1]))
run_id, first, count = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(first)
sys.stdin.readline()  # go
for i in range(first, first + count):
    time.sleep(rng.uniform(0.1, 0.3))
    client.log_metric(run_id, "probe", float(i), step=i, synchronous=True)
    print(i, time.monotonic(), flush=True)
client.close()
"""


def time_live(store: Path, points: int) -> dict[str, list[float]]:
    from mltop.store import MltopClient, Store
    from mltop.tui.app import MltopApp
    from mltop.tui.screens.run_detail import RunDetailScreen
    from mltop.tui.widgets.metric_chart import MetricChart
    from mltop.tui.widgets.runs_table import RunsTable

    client = MltopClient(Store(store))
    run_id = client.create_run(run_name="live-probe", log_system_info=False).info.run_id
    client.log_metric(run_id, "probe", 0.0, step=0, synchronous=True)
    client.close()
    latencies: dict[str, list[float]] = {"table": [], "chart": []}

    def start_writer(first: int) -> tuple[subprocess.Popen, dict[int, float]]:
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(store), run_id, str(first), str(points)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        committed: dict[int, float] = {}

        def read() -> None:
            assert writer.stdout is not None
            for line in writer.stdout:
                i, at = line.split()
                committed[int(i)] = float(at)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        assert writer.stdin is not None
        writer.stdin.write("go\n")
        writer.stdin.flush()
        return writer, committed

    async def follow(pilot, where: str, first: int, seen_value) -> None:
        writer, committed = start_writer(first)
        seen: dict[int, float] = {}
        last = first + points - 1
        deadline = time.monotonic() + points * 0.3 + 30
        while last not in seen and time.monotonic() < deadline:
            value = seen_value()
            if value is not None and value >= first and value not in seen:
                seen[value] = time.monotonic()
            await pilot.pause(0.002)
        writer.wait(timeout=30)
        for i in seen:
            if i in committed and i >= first + 2:  # the first points settle the screen
                latencies[where].append(seen[i] - committed[i])

    async def main() -> None:
        app = MltopApp(store)
        async with app.run_test(size=SIZE) as pilot:
            while not app.screen.query(RunsTable) or not app.screen.query_one(RunsTable).runs:
                await pilot.pause(0.01)
            runs_table = app.screen.query_one(RunsTable)

            def table_value():
                run = runs_table.runs[0] if runs_table.runs else None
                keys = [c.key for c in runs_table.columns]
                if run is None or run.info.run_id != run_id or "probe" not in keys:
                    return None
                cell = runs_table.table.get_row_at(0)[keys.index("probe")]
                return int(cell) if cell else None

            await follow(pilot, "table", 1, table_value)
            app.push_screen(RunDetailScreen(app.store, run_id))
            while not app.screen.query(MetricChart):
                await pilot.pause(0.01)
            chart = app.screen.query_one(MetricChart)

            def chart_value():
                return int(chart.values[chart.drawn - 1]) if chart.drawn else None

            await follow(pilot, "chart", points + 1, chart_value)

    asyncio.run(main())
    return latencies


# -- chart redraw -----------------------------------------------------------------------------


def time_chart(points: int, repeat: int) -> list[float]:
    from textual.app import App

    from mltop.store import Metric
    from mltop.tui.widgets.metric_chart import MetricChart

    rng = random.Random(0)
    history = [
        Metric("loss", 2.0 / (1 + i / 1000) + rng.gauss(0, 0.05), i, 1_700_000_000_000 + i, "r", i)
        for i in range(points)
    ]
    timings: list[float] = []

    class ChartApp(App):
        def compose(self):
            yield MetricChart("loss")

    async def main() -> None:
        app = ChartApp()
        async with app.run_test(size=SIZE) as pilot:
            chart = app.query_one(MetricChart)
            chart.extend(history)
            await pilot.pause(0.1)
            for i in range(repeat):
                chart.smoothing = 0.6 if i % 2 else 0.0  # the EMA line too, every other time
                started = time.perf_counter()
                chart.redraw()
                chart.render()  # plotext builds the picture here
                timings.append(time.perf_counter() - started)
                await pilot.pause()

    asyncio.run(main())
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--points", type=int, default=60, help="live points per view")
    parser.add_argument("--chart-points", type=int, default=1_000_000)
    parser.add_argument("--store", type=Path, help="a store built by an earlier run")
    parser.add_argument("--child-open", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_open:
        store, spawned, runs = args.child_open
        child_open(store, float(spawned), int(runs))
        return

    with tempfile.TemporaryDirectory() as tmp:
        store = args.store or Path(tmp) / "store"
        if not (store / "mltop.db").exists():
            started = time.perf_counter()
            _search_bench().build_mltop(args.runs, store)
            print(f"built a store of {args.runs:,} runs in {time.perf_counter() - started:.0f} s")

        opens = time_open(store, args.runs, args.starts)
        seconds = [o["seconds"] for o in opens]
        print(
            f"open, all {args.runs:,} runs in the table: median {statistics.median(seconds):.2f} s "
            f"(each: {', '.join(f'{s:.2f}' for s in seconds)}; target < 1.5 s)"
        )
        rss = [o["rss_mb"] for o in opens]
        peak = [o["peak_mb"] for o in opens]
        print(
            f"memory once shown: median RSS {statistics.median(rss):.0f} MB, "
            f"peak {statistics.median(peak):.0f} MB (target < 300 MB)"
        )

        latencies = time_live(store, args.points)
        for where, values in latencies.items():
            ms = sorted(v * 1000 for v in values)
            p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
            print(
                f"live latency, commit to {where}: p50 {statistics.median(ms):.0f} ms, "
                f"p95 {p95:.0f} ms, max {ms[-1]:.0f} ms over {len(ms)} points "
                "(file events; target p95 < 300 ms)"
            )

    redraws = [t * 1000 for t in time_chart(args.chart_points, 9)]
    print(
        f"chart redraw over {args.chart_points:,} points: median "
        f"{statistics.median(redraws):.1f} ms, max {max(redraws):.1f} ms (target < 100 ms)"
    )


if __name__ == "__main__":
    main()
