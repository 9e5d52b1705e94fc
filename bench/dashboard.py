"""Benchmark: the dashboard on a store of 10,000 runs.

    python bench/dashboard.py [--runs 10000] [--starts 5] [--points 60] [--store PATH]

Figures (targets from the dashboard issue):
- open: `mltop ui` started in a 120×40 pseudo-terminal, as from a shell; the time from
  spawning it until what it draws holds "10,000 runs" (the line over the table, written
  once every run is in the table); the median of several starts (< 1.5 s), and the
  resident memory of that process then (< 300 MB RSS). Nothing in the dashboard's process
  is instrumented.
- live latency: a separate process commits a metric point every 100-300 ms into a running
  run of the same store; the dashboard follows the store with file events (watchdog); the
  time from the end of the commit until the value is in the runs table's cell, and until it
  is in the data a redrawn chart shows on the run detail screen; p50 and p95 (< 300 ms).
- a long run's charts: a run with 1,000,000 points in each of two metrics, opened as a user
  does (the cursor on its row of the runs table, enter), in a 120×40 headless dashboard
  (Textual's Pilot); the time from enter until every chart has drawn all its points (the
  median of several opens, < 1 s); then a separate process logs points into it every
  100-300 ms and each redraw of its chart (downsampling and plotext's picture) is timed:
  the median (< 100 ms), and the latency from commit to drawn. MetricChart's redraw and
  render are wrapped to time them; nothing else is changed.

The store (runs with 5 params, 5 metrics of 20 steps, 2 tags; as bench/search.py) is built
in a temporary folder unless --store names one already built by this script.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import importlib.util
import os
import pty
import random
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from functools import partial
from pathlib import Path

HERE = Path(__file__).parent
SIZE = (120, 40)


def _search_bench():
    spec = importlib.util.spec_from_file_location("bench_search", HERE / "search.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- open: `mltop ui` in a pseudo-terminal --------------------------------------------------


def proc_rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of process `pid`, MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def open_once(store: Path, shown_text: bytes, timeout: float = 60.0) -> dict:
    """Start `mltop ui` in a 120×40 pseudo-terminal, as a user would, and read what it
    draws until `shown_text` (the runs count over the table) appears."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(SIZE[0]), "LINES": str(SIZE[1])}
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "mltop.tui.cli", "ui", "--store", str(store)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    seen = b""
    try:
        while shown_text not in seen:
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"the dashboard did not show {shown_text!r} in {timeout} s")
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                seen = seen[-4096:] + os.read(master, 65536)
        shown = time.monotonic() - started
        current, peak = proc_rss_mb(child.pid)
        os.write(master, b"q")
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(master)
    return {"seconds": shown, "rss_mb": current, "peak_mb": peak}


def time_open(store: Path, starts: int) -> list[dict]:
    from mltop.store import Store

    with Store(store) as opened:
        count = len(opened.search_runs(max_results=50_000))
    shown_text = f"{count:,} runs".encode()
    return [open_once(store, shown_text) for _ in range(starts)]


# -- live latency -----------------------------------------------------------------------------

WRITER = """
import random, sys, time
from mltop.store import MltopClient, Store
client = MltopClient(Store(sys.argv[1]))
run_id, first, count = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
key = sys.argv[5] if len(sys.argv) > 5 else "probe"
rng = random.Random(first)
sys.stdin.readline()  # go
for i in range(first, first + count):
    time.sleep(rng.uniform(0.1, 0.3))
    client.log_metric(run_id, key, float(i), step=i, synchronous=True)
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
                return None if chart.last_drawn is None else int(chart.last_drawn)

            await follow(pilot, "chart", points + 1, chart_value)

    asyncio.run(main())
    return latencies


# -- a long run's charts, through the screens -----------------------------------------------

LONG_RUN = "long-run"
LONG_KEYS = ("loss", "acc")


def add_long_run(store: Path, points: int) -> str:
    """A run whose metrics have `points` points each, logged through the store's write path."""
    from mltop.store import MltopClient, Store

    client = MltopClient(Store(store))
    run_id = client.create_run(run_name=LONG_RUN, log_system_info=False).info.run_id
    row = client.store.run_row_id(run_id)
    keys = [client.store.metric_key_id(k) for k in LONG_KEYS]
    rng = random.Random(0)
    for start in range(0, points, 100_000):
        client.store.write_points(
            [
                (row, key, i, 1_700_000_000_000 + i * 50, 2.0 / (1 + i / 1000) + rng.gauss(0, 0.05))
                for i in range(start, min(points, start + 100_000))
                for key in keys
            ]
        )
    client.set_terminated(run_id, "FINISHED")
    client.close()
    return run_id


class Timed:
    """Wraps MetricChart.redraw and .render to time them (observing, changing nothing)."""

    def __init__(self) -> None:
        from mltop.tui.widgets.metric_chart import MetricChart

        self.costs: list[float] = []  # seconds per picture: redraw (downsample) + render (plotext)
        self.rendered_at: dict[int, float] = {}  # id(chart) -> when its latest picture was built
        self._pending: dict[int, float] = {}
        redraw, render = MetricChart.redraw, MetricChart.render
        timed = self

        def timed_redraw(chart) -> None:
            started = time.perf_counter()
            redraw(chart)
            timed._pending[id(chart)] = time.perf_counter() - started

        def timed_render(chart):
            started = time.perf_counter()
            picture = render(chart)
            done = time.perf_counter()
            if id(chart) in timed._pending:
                timed.costs.append(timed._pending.pop(id(chart)) + done - started)
                timed.rendered_at[id(chart)] = done
            return picture

        MetricChart.redraw = timed_redraw  # type: ignore[method-assign]
        MetricChart.render = timed_render  # type: ignore[method-assign]


def time_long_run(store: Path, run_id: str, points: int, starts: int, live: int) -> dict:
    """Open the long run as a user does (its row in the runs table, enter) and time until
    every chart has drawn all its points; then a separate process logs `live` points into
    it, one at a time, and each redraw is timed (and the latency from commit to drawn)."""
    from mltop.tui.app import MltopApp
    from mltop.tui.screens.run_detail import RunDetailScreen
    from mltop.tui.widgets.metric_chart import MetricChart
    from mltop.tui.widgets.runs_table import RunsTable

    timed = Timed()
    opens: list[float] = []
    latencies: list[float] = []
    live_costs: list[float] = []

    async def wait(pilot, condition, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("the dashboard never got there")
            await pilot.pause(0.002)

    async def open_it(pilot, app) -> tuple[RunDetailScreen, float]:
        table = app.screen.query_one(RunsTable)
        await wait(pilot, lambda: bool(table.runs))
        row = [r.info.run_id for r in table.runs].index(run_id)
        table.table.move_cursor(row=row)
        await pilot.pause(0.2)
        started = time.perf_counter()
        await pilot.press("enter")
        await wait(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        screen = app.screen

        def shown() -> bool:
            charts = list(screen.query(MetricChart))
            return len(charts) == len(LONG_KEYS) and all(
                c.drawn == points and timed.rendered_at.get(id(c), 0) > started for c in charts
            )

        await wait(pilot, shown)
        return screen, time.perf_counter() - started

    async def follow_live(pilot, chart: MetricChart) -> None:
        await pilot.pause(1.0)  # the follower listens from now on
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(store), run_id, str(points), str(live), "loss"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert writer.stdin is not None and writer.stdout is not None
        committed: dict[int, float] = {}

        def read(out=writer.stdout) -> None:
            for line in out:
                i, at = line.split()
                committed[int(i)] = float(at)

        threading.Thread(target=read, daemon=True).start()
        writer.stdin.write("go\n")
        writer.stdin.flush()
        timed.costs.clear()

        def drawn(i: int) -> bool:
            return chart.drawn > i and i in committed  # point i is the (i+1)th

        for i in range(points, points + live):
            await wait(pilot, partial(drawn, i))
            latencies.append(time.monotonic() - committed[i])
        live_costs.extend(timed.costs)
        writer.wait(timeout=30)

    async def main() -> None:
        for attempt in range(starts):
            last = attempt == starts - 1
            app = MltopApp(store, follow=last)
            async with app.run_test(size=SIZE) as pilot:
                screen, seconds = await open_it(pilot, app)
                opens.append(seconds)
                if last:
                    await follow_live(
                        pilot, next(c for c in screen.query(MetricChart) if c.key == "loss")
                    )

    asyncio.run(main())
    return {"opens": opens, "latencies": latencies, "redraws": live_costs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--points", type=int, default=60, help="live points per view")
    parser.add_argument("--chart-points", type=int, default=1_000_000, help="per metric")
    parser.add_argument("--chart-starts", type=int, default=5)
    parser.add_argument("--store", type=Path, help="a store built by an earlier run")
    args = parser.parse_args()

    from mltop.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        store = args.store or Path(tmp) / "store"
        if not (store / "mltop.db").exists():
            started = time.perf_counter()
            _search_bench().build_mltop(args.runs, store)
            print(f"built a store of {args.runs:,} runs in {time.perf_counter() - started:.0f} s")
        with Store(store) as opened:
            found = opened.search_runs(filter_string=f"attributes.run_name = '{LONG_RUN}'")
        if found:
            long_run = found[0].info.run_id
        else:
            started = time.perf_counter()
            long_run = add_long_run(store, args.chart_points)
            print(
                f"added a run of {args.chart_points:,} points in each of {len(LONG_KEYS)} "
                f"metrics in {time.perf_counter() - started:.0f} s"
            )

        opens = time_open(store, args.starts)
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

        long = time_long_run(store, long_run, args.chart_points, args.chart_starts, args.points)
        opens_ms = [s * 1000 for s in long["opens"]]
        print(
            f"a run of {args.chart_points:,} points per metric, enter on its row to every "
            f"chart drawn: median {statistics.median(opens_ms):.0f} ms "
            f"(each: {', '.join(f'{s:.0f}' for s in opens_ms)}; target < 1000 ms)"
        )
        redraws = [s * 1000 for s in long["redraws"]]
        print(
            f"its chart redrawn after a live point (downsample + plotext): median "
            f"{statistics.median(redraws):.1f} ms, max {max(redraws):.1f} ms over "
            f"{len(redraws)} redraws (target < 100 ms)"
        )
        ms = sorted(s * 1000 for s in long["latencies"])
        print(
            f"  commit to drawn: p50 {statistics.median(ms):.0f} ms, "
            f"p95 {ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]:.0f} ms"
        )


if __name__ == "__main__":
    main()
