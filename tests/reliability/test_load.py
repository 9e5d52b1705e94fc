"""Load, the small version of `bench/load.py`: eight writer processes logging into one
store, SIGKILLed at random moments and restarted, while a headless dashboard follows the
store, a search process searches and follows it, and a CLI loop lists and shows runs.
Nothing committed is lost, no reader fails, the dashboard stays up and catches up.

The processes and the checks are in bench/load_harness.py (shared with the benchmark)."""

from __future__ import annotations

import asyncio
import importlib.util
import signal
import sys
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[2] / "bench" / "load_harness.py"


def _harness():
    spec = importlib.util.spec_from_file_location("load_harness", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (dataclasses look their module up)
    spec.loader.exec_module(module)
    return module


load_harness = _harness()

CONFIG = load_harness.LoadConfig(
    writers=8,
    points=10_000,  # per writer: 5,000 steps of loss and acc
    faults=16,
    report_every=100,  # steps between a writer's flush() and its report
    kill_delay=0.1,
    seed=0,
    timeout=120,
)


def test_writers_killed_and_restarted_under_live_readers_lose_nothing(tmp_path):
    result = asyncio.run(load_harness.run_load(CONFIG, tmp_path))

    # Every writer process ended cleanly (exit 0, nothing on stderr) or by our SIGKILL.
    assert result.writer_errors == []
    killed = [g for g in result.generations if g.returncode == -signal.SIGKILL]
    assert len(killed) == CONFIG.faults, f"{len(killed)} of the 16 planned kills landed"
    assert any(g.reported is not None for g in killed), "no writer was killed while logging"
    assert len(result.generations) == CONFIG.writers + len(killed)  # one restart per kill

    # The store: for every run, each process's points are a prefix of what it logged,
    # every point reported committed is there with its value, the last process reached
    # the end, the summaries agree with the histories, no stray row; the file is sound.
    assert result.problems == []
    assert result.integrity == "ok"
    assert result.rows >= result.distinct == 8 * 10_000

    # The search loop never failed nor read a wrong value, and following the store
    # incrementally brought it every point.
    assert result.search.errors == []
    assert result.search.iterations >= 2
    assert result.search.followed == result.rows

    # Every `mltop runs list` / `runs show` exited 0, showing right values.
    assert result.cli.errors == []
    assert result.cli.iterations >= 1

    # The dashboard: no error said, no store problem, still following, and its table
    # caught up: every run FINISHED with the last values logged. A run was opened too.
    dashboard = result.dashboard
    assert dashboard.errors == []
    assert dashboard.problem is None
    assert dashboard.alive
    assert dashboard.converged
    assert dashboard.runs_shown == CONFIG.writers
    assert dashboard.runs_opened >= 1
