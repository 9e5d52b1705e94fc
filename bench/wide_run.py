"""Benchmark: one run with a million metric keys, read as a user reads it.

    python bench/wide_run.py [--keys 1000000] [--repeat 3] [--store DIR]

Builds (or reuses, with --store) a store holding a few ordinary runs and one run that
logged --keys metric keys, through the client's public API. Then, each in a fresh process,
--repeat times: `mltop runs show` (the first 1,000 metrics, a count), `mltop runs show
--metric` (a search across every key), `mltop runs list`, and the dashboard (headless,
120x40) opening the run from the runs table until its metrics tab is filled. Prints the
median wall time and the largest peak memory (RSS) of each, and, for reference, reading
the whole run at once (`get_run` without `max_metrics`, as MLflow's API does), which is
what `runs show` and the run screen used to do (issue 11: over 300 s and 3.9 GB).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

PROBE = """
import resource, sys, time
started = time.perf_counter()
{body}
elapsed = time.perf_counter() - started
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"RESULT {{elapsed}} {{peak_kib}}", file=sys.__stderr__)
"""

CASES = {
    "runs show": """
import contextlib, io
from mltop.tui.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    main(["--store", STORE, "runs", "show", RUN], standalone_mode=False)
""",
    "runs show --metric": """
import contextlib, io
from mltop.tui.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    main(["--store", STORE, "runs", "show", RUN, "--metric", "layer0999"],
         standalone_mode=False)
""",
    "runs list": """
import contextlib, io
from mltop.tui.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    main(["--store", STORE, "runs", "list"], standalone_mode=False)
""",
    "dashboard: open the run": """
import asyncio
from textual.widgets import DataTable
from mltop.tui.app import MltopApp
from mltop.tui.screens.run_detail import RunDetailScreen, SHOWN_METRICS
from mltop.tui.widgets.runs_table import RunsTable

async def main():
    app = MltopApp(STORE, follow=False)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(RunsTable)
        while len(table.runs) < 4:
            await pilot.pause(0.01)
        await pilot.pause(0.05)
        table.table.move_cursor(row=[r.info.run_id for r in table.runs].index(RUN))
        await pilot.press("enter")
        while not isinstance(app.screen, RunDetailScreen):
            await pilot.pause(0.01)
        metrics = app.screen.query_one("#metrics", DataTable)
        while metrics.row_count < SHOWN_METRICS:
            await pilot.pause(0.01)

asyncio.run(main())
""",
    "reference: get_run, whole": """
from mltop.store import Store
assert len(Store(STORE, create=False).get_run(RUN).data.summaries) > 0
""",
}


def build(path: Path, keys: int) -> str:
    from mltop.store import MltopClient, Store

    client = MltopClient(Store(path))
    for i in range(3):
        run_id = client.create_run(run_name=f"ordinary-{i}", log_system_info=False).info.run_id
        for step in range(50):
            client.log_metrics(run_id, {"loss": 1 / (step + 1), "acc": step / 50}, step=step)
        client.set_terminated(run_id)
    wide = client.create_run(run_name="wide", log_system_info=False).info.run_id
    for start in range(0, keys, 20_000):
        batch = range(start, min(keys, start + 20_000))
        client.log_metrics(wide, {f"layer{i:07d}.grad_norm": float(i) for i in batch})
        client.flush()
    client.set_terminated(wide)
    client.close()
    return wide


def measure(case: str, store: Path, run_id: str) -> tuple[float, int]:
    body = f"STORE, RUN = {str(store)!r}, {run_id!r}\n" + textwrap.dedent(CASES[case])
    code = PROBE.format(body=textwrap.indent(body, ""))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    line = next((x for x in done.stderr.splitlines() if x.startswith("RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"{case} failed:\n{done.stderr}")
    _, seconds, kib = line.split()
    return float(seconds), int(kib)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--store", type=Path, help="build here, or reuse the store built here")
    args = parser.parse_args()
    scratch = None
    if args.store is None:
        scratch = tempfile.TemporaryDirectory(prefix="mltop-wide-")
        args.store = Path(scratch.name) / "store"
    from mltop.store import Store

    marker = args.store.with_name(args.store.name + ".wide-run-id")
    if marker.exists():
        run_id = marker.read_text().strip()
        print(f"store: {args.store} (reused)")
    else:
        started = time.perf_counter()
        run_id = build(args.store, args.keys)
        marker.write_text(run_id)
        print(f"built {args.keys:,} metric keys in {time.perf_counter() - started:.1f} s")
    with Store(args.store, create=False) as store:
        total = store.get_run(run_id, max_metrics=1).data.more_metrics + 1
    print(f"run {run_id[:8]}: {total:,} metric keys; median of {args.repeat} fresh processes")
    print(f"{'':28}{'wall s':>10}{'peak RSS MiB':>15}")
    for case in CASES:
        runs = [measure(case, args.store, run_id) for _ in range(args.repeat)]
        seconds = statistics.median(r[0] for r in runs)
        mib = max(r[1] for r in runs) / 1024
        print(f"{case:28}{seconds:10.2f}{mib:15.0f}")
    if scratch is not None:
        scratch.cleanup()


if __name__ == "__main__":
    main()
