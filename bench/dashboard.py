"""Benchmark: the dashboard on a store of 10,000 runs (or a million).

    python bench/dashboard.py [--runs 10000] [--starts 5] [--points 60] [--store PATH]
    python bench/dashboard.py --runs 1000000 [--pages 10] [--all]

Over 100,000 runs (a store built by copying runs in SQL, see build_big), the figures are:
- open: as below, until the count line says "1,000,000 runs" (target < 1 s);
- paging: in a 120×40 headless dashboard, pgdn from the top, G to the end, pgup from
  there: from the key until every row on screen is read and drawn (target < 200 ms);
- memory: `mltop ui` in a pseudo-terminal after opening, G and 20 pgup: RSS (< 200 MB).

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


def spawn_ui(store: Path) -> tuple[int, subprocess.Popen]:
    """`mltop ui --store STORE` in a 120×40 pseudo-terminal of its own: (its terminal's
    side, the process)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(SIZE[0]), "LINES": str(SIZE[1])}
    child = subprocess.Popen(
        [sys.executable, "-m", "mltop.tui.cli", "ui", "--store", str(store)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    return master, child


def open_once(store: Path, shown_text: bytes, timeout: float = 60.0) -> dict:
    """Start `mltop ui` in a 120×40 pseudo-terminal, as a user would, and read what it
    draws until `shown_text` (the runs count over the table) appears."""
    started = time.monotonic()
    master, child = spawn_ui(store)
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
        drain(master, child)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(master)
    return {"seconds": shown, "rss_mb": current, "peak_mb": peak}


def drain(master: int, child: subprocess.Popen, timeout: float = 10.0) -> None:
    """Read what the dashboard draws as it ends (unread, a full terminal blocks it) until
    it has."""
    deadline = time.monotonic() + timeout
    while child.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                os.read(master, 65536)
            except OSError:
                break
    child.wait(timeout=max(0.1, deadline - time.monotonic()))


def time_open(store: Path, starts: int) -> list[dict]:
    from mltop.store import Store

    with Store(store) as opened:
        count = opened.count_runs()
    shown_text = f"{count:,} runs".encode()
    return [open_once(store, shown_text) for _ in range(starts)]


# -- a million runs: build, page through, memory ----------------------------------------------

BASE_RUNS = 1000  # logged through the client; the rest are copies of these (see build_big)


def build_big(n: int, path: Path) -> None:
    """A store of `n` runs, quickly: BASE_RUNS runs logged through the client (5 params,
    2 tags, 5 metrics' last values), then copied in SQL with new ids, names and start
    times (a minute older each copy) until there are `n`. Logging a million runs through
    the client would take an hour; what the dashboard reads is the same either way."""
    import sqlite3

    from mltop.store import MltopClient, Store

    client = MltopClient(Store(path))
    exp = client.create_experiment("sweep")
    for name, params, tags, curves in _search_bench().run_specs(BASE_RUNS):
        run_id = client.store.create_run(exp, name, tags=tags, status="FINISHED").info.run_id
        client.log_params(run_id, params)
        client.log_metrics(run_id, {k: v[-1] for k, v in curves.items()}, step=19)
    client.flush()
    client.close()
    conn = sqlite3.connect(path / "mltop.db")
    conn.execute("BEGIN")
    lo, hi = conn.execute("SELECT min(id), max(id) FROM runs").fetchone()
    copied = {
        "params": "key, value",
        "tags": "key, value",
        "metric_summaries": "key, value, step, timestamp, min, max, count, min_step, max_step",
    }
    for k in range(1, n // BASE_RUNS):
        shift = k * BASE_RUNS
        conn.execute(
            "INSERT INTO runs (id, run_id, experiment_id, name, status, start_time, end_time, "
            "user_id, lifecycle_stage, parent_run_id, heartbeat_time, heartbeat_interval_ms, "
            f"seq) SELECT id + {shift}, lower(hex(randomblob(16))), experiment_id, "
            f"name || '-{k}', status, start_time - {k} * 60000, end_time - {k} * 60000, "
            "user_id, lifecycle_stage, parent_run_id, heartbeat_time, heartbeat_interval_ms, "
            f"seq FROM runs WHERE id BETWEEN {lo} AND {hi}"
        )
        for table, columns in copied.items():
            conn.execute(
                f"INSERT INTO {table} (run, {columns}) SELECT run + {shift}, {columns} "
                f"FROM {table} WHERE run BETWEEN {lo} AND {hi}"
            )
    conn.commit()
    conn.close()


def time_pages(store: Path, pages: int) -> dict[str, list[float]]:
    """Page through the runs as a user does (pgdn from the top; G, then pgup from the
    end), in a 120×40 headless dashboard: the time from the key until every row on screen
    is read and drawn, for each page."""
    from mltop.tui.app import MltopApp
    from mltop.tui.widgets.runs_table import RunsTable

    times: dict[str, list[float]] = {"pgdn from the top": [], "G to the end": [], "pgup": []}

    async def main() -> None:
        app = MltopApp(store, follow=False)
        async with app.run_test(size=SIZE) as pilot:
            while not app.screen.query(RunsTable) or app.screen.query_one(RunsTable).order is None:
                await pilot.pause(0.01)
            runs_table = app.screen.query_one(RunsTable)
            grid = runs_table.table

            async def timed(key: str, into: list[float]) -> None:
                before = grid.cursor_row
                started = time.perf_counter()
                await pilot.press(key)
                while grid.cursor_row == before or any(
                    runs_table.cells(i) is None for i in grid.visible_range()
                ):
                    await pilot.pause(0.001)
                await pilot.pause()  # drawn
                into.append(time.perf_counter() - started)

            for _ in range(pages):
                await timed("pagedown", times["pgdn from the top"])
            await timed("G", times["G to the end"])
            for _ in range(pages):
                await timed("pageup", times["pgup"])

    asyncio.run(main())
    return times


def scroll_rss(store: Path, count: int, timeout: float = 120.0) -> dict:
    """`mltop ui` in a pseudo-terminal: open, then G (the last run shown) and 20 pgup; the
    resident memory then (current and peak), MB."""
    master, child = spawn_ui(store)
    started = time.monotonic()

    def until(text: bytes) -> None:
        seen = b""
        while text not in seen:
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"the dashboard did not show {text!r}")
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                seen = seen[-4096:] + os.read(master, 65536)

    try:
        until(f"{count:,} runs".encode())
        time.sleep(3)  # the whole order read
        os.write(master, b"G")
        until(f"run-000000-{count // BASE_RUNS - 1}".encode())  # the oldest run
        for _ in range(20):
            os.write(master, b"\x1b[5~")  # pgup
            time.sleep(0.1)
        time.sleep(1)
        current, peak = proc_rss_mb(child.pid)
        os.write(master, b"q")
        drain(master, child)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(master)
    return {"rss_mb": current, "peak_mb": peak}


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
                row = runs_table.table.get_row_at(0)
                cell = None if row is None else row[keys.index("probe")]
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


BIG = 100_000  # runs: a store this big is built by copying (build_big)


def scale(store: Path, runs: int, starts: int, pages: int) -> None:
    """Open time, paging time and memory on a big store."""
    from mltop.store import Store

    with Store(store) as opened:
        count = opened.count_runs()
    opens = time_open(store, starts)
    seconds = [o["seconds"] for o in opens]
    print(
        f"open, {count:,} runs, the count and first rows drawn: median "
        f"{statistics.median(seconds):.2f} s (each: {', '.join(f'{s:.2f}' for s in seconds)}; "
        "target < 1 s)"
    )
    for name, values in time_pages(store, pages).items():
        ms = [v * 1000 for v in values]
        print(
            f"page, {name}: median {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms over "
            f"{len(ms)} (target < 200 ms a page)"
        )
    memory = scroll_rss(store, count)
    print(
        f"memory after opening, G and 20 pgup: RSS {memory['rss_mb']:.0f} MB, peak "
        f"{memory['peak_mb']:.0f} MB (target < 200 MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--points", type=int, default=60, help="live points per view")
    parser.add_argument("--chart-points", type=int, default=1_000_000, help="per metric")
    parser.add_argument("--chart-starts", type=int, default=5)
    parser.add_argument("--store", type=Path, help="a store built by an earlier run")
    parser.add_argument("--pages", type=int, default=10, help="pages timed each way")
    parser.add_argument(
        "--all",
        action="store_true",
        help=f"over {BIG:,} runs, the live and long-run figures too (by default only "
        "open, paging and memory)",
    )
    args = parser.parse_args()
    big = args.runs > BIG

    from mltop.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        store = args.store or Path(tmp) / "store"
        if not (store / "mltop.db").exists():
            started = time.perf_counter()
            if big:
                build_big(args.runs, store)
            else:
                _search_bench().build_mltop(args.runs, store)
            print(f"built a store of {args.runs:,} runs in {time.perf_counter() - started:.0f} s")
        if big:
            scale(store, args.runs, args.starts, args.pages)
            if not args.all:
                return
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
