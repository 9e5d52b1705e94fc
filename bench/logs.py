"""Benchmark: the Logs tab on a console log of a million lines.

    python bench/logs.py [--lines 1000000] [--trials 3] [--store PATH]

A store with one run whose `logs/stdout.log` holds `--lines` lines of about 100 bytes
(training-like lines; every 7th coloured with SGR codes, every 50th a progress bar redrawn
with \\r, every 10th from stderr) and its `stdout.log.times`. The line `needle-near-start`
is the 11th line only.

Figures, in a 120×40 headless dashboard (Textual's Pilot), the run opened from the runs
table as a user does (enter), the median of `--trials` fresh apps:
- open: from pressing `6` (the Logs tab, made when first shown) until the last line of the
  log is drawn (LogView.render_line is wrapped to see it; nothing else is changed);
- indexed: from the same key until every line is indexed (the status says the count);
- find: `/` then the text near the start, enter: from the search's start (the view's
  `_start_find`, wrapped as render_line is) until its answer is taken in (`on_found`): the
  search goes down from the top of the screen, at the end, and wraps to the start;
- find back: then `N` after `G`: the same line, searching backwards from the end through
  the whole file;
- not found: a text the log does not hold: the whole file read.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

SIZE = (120, 40)
NEEDLE = "needle-near-start"


def build(store_path: Path, lines: int) -> tuple[str, str]:
    """The store and its run's log; (run id, the log's last line as shown)."""
    from mltop.store import MltopClient, Store

    client = MltopClient(Store(store_path))
    exp = client.create_experiment("logs-bench")
    run = client.store.create_run(exp, "chatty", start_time=int(time.time() * 1000))
    folder = client.store.artifacts(run.info.run_id).root / "logs"
    folder.mkdir(parents=True)
    rng = random.Random(7)
    t0 = int(time.time() * 1000) - lines * 10
    with (
        open(folder / "stdout.log", "wb", buffering=1 << 20) as out,
        open(folder / "stdout.log.times", "wb", buffering=1 << 20) as times,
    ):
        offset = 0
        last = ""
        for i in range(lines):
            loss, acc = rng.random(), rng.random()
            if i == 10:
                line = f"{NEEDLE}: checkpoint restored from /data/ckpt/epoch-0003.pt\n"
            elif i % 50 == 0:
                line = (
                    f"epoch {i // 10000:3d} {'#' * 10}{' ' * 20} 33%\r"
                    f"epoch {i // 10000:3d} {'#' * 30} 100% | {i:8d}/{lines} it/s 812.3\n"
                )
            elif i % 7 == 0:
                line = (
                    f"\x1b[32mINFO\x1b[0m  step {i:8d}  loss=\x1b[1m{loss:.5f}\x1b[0m "
                    f"acc={acc:.4f} lr=3.0e-04 grad_norm={loss * 9:.3f} tok/s=81234\n"
                )
            else:
                line = (
                    f"2026-01-01 12:00:00,123 train.py:88 step {i:8d} loss={loss:.5f} "
                    f"acc={acc:.4f} lr=3.0e-04 mem=31.2GiB\n"
                )
            data = line.encode()
            out.write(data)
            times.write(b"%d %d %d\n" % (offset, t0 + i * 10, 2 if i % 10 == 3 else 1))
            offset += len(data)
            last = line
    client.close()
    shown = re.sub("\x1b\\[[0-9;]*m", "", last.rstrip("\n").rsplit("\r", 1)[-1])
    return run.info.run_id, shown


async def one_trial(store_path: Path, last_line: str) -> dict[str, float]:
    from mltop.tui.app import MltopApp
    from mltop.tui.screens.run_detail import RunDetailScreen
    from mltop.tui.widgets.log_view import LogSearch, LogView

    drawn: dict[str, float] = {}
    original = LogView.render_line
    original_start, original_found = LogView._start_find, LogView.on_found

    def render_line(self, y):
        strip = original(self, y)
        if "open" not in drawn and last_line[:40] in strip.text:
            drawn["open"] = time.perf_counter()
        return strip

    def start_find(self, after, direction):
        drawn["asked"] = time.perf_counter()
        original_start(self, after, direction)

    def on_found(self, message):
        original_found(self, message)
        if not self.finding:
            drawn["found"] = time.perf_counter()

    LogView.render_line = render_line  # type: ignore[method-assign]
    LogView._start_find = start_find  # type: ignore[method-assign]
    LogView.on_found = on_found  # type: ignore[method-assign]
    figures: dict[str, float] = {}
    try:
        app = MltopApp(store_path, follow=False)
        async with app.run_test(size=SIZE) as pilot:

            async def until(condition, timeout: float = 60) -> float:
                deadline = time.perf_counter() + timeout
                while not condition():
                    if time.perf_counter() > deadline:
                        raise RuntimeError("timed out")
                    await pilot.pause(0.002)
                return time.perf_counter()

            await until(lambda: app.screen.query("RunsTable Grid"))
            grid = app.screen.query_one("RunsTable Grid")
            await until(lambda: grid.row_count == 1 and app.focused is grid)
            await pilot.press("enter")
            await until(
                lambda: isinstance(app.screen, RunDetailScreen) and app.screen.run is not None
            )
            await pilot.pause(0.3)
            screen = app.screen
            start = time.perf_counter()
            await pilot.press("7")  # the Logs tab
            await until(lambda: "open" in drawn)
            figures["open"] = drawn["open"] - start
            view = screen.query_one(LogView)
            indexed = await until(lambda: view.logfile.head_done)
            figures["indexed"] = indexed - start
            await pilot.pause(0.2)

            async def find(query: str, keys: tuple[str, ...] = ()) -> float:
                drawn.pop("found", None)
                if keys:
                    await pilot.press(*keys)
                else:
                    await pilot.press("slash")
                    screen.query_one(LogSearch).value = query
                    await pilot.press("enter")
                await until(lambda: "found" in drawn)
                return drawn["found"] - drawn["asked"]

            figures["find"] = await find(NEEDLE)
            assert view.match_line == 10, view.match_line
            await pilot.press("G")
            figures["find back"] = await find(NEEDLE, ("N",))
            assert view.match_line == 10, view.match_line
            figures["not found"] = await find("no such text in the log")
            assert view.match_line is None
    finally:
        LogView.render_line = original  # type: ignore[method-assign]
        LogView._start_find = original_start  # type: ignore[method-assign]
        LogView.on_found = original_found  # type: ignore[method-assign]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--store", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        store_path = args.store or Path(scratch) / "store"
        started = time.perf_counter()
        _, last_line = build(store_path, args.lines)
        log = next(store_path.glob("artifacts/*/logs/stdout.log"))
        print(
            f"log: {args.lines:,} lines, {log.stat().st_size / 1e6:.1f} MB "
            f"(written in {time.perf_counter() - started:.1f} s)"
        )
        trials = [asyncio.run(one_trial(store_path, last_line)) for _ in range(args.trials)]
    for name in ("open", "indexed", "find", "find back", "not found"):
        values = [trial[name] * 1000 for trial in trials]
        shown = ", ".join(f"{v:.0f}" for v in values)
        print(f"{name:>10}: median {statistics.median(values):7.1f} ms   ({shown})")


if __name__ == "__main__":
    sys.exit(main())
