"""Load: writer processes killed and restarted at random, under a live dashboard, a search
loop and a CLI loop. The shared part of `bench/load.py` (the big version, 8 x 100,000
points) and `tests/reliability/test_load.py` (a small one, in the suite).

What runs at once:
- `writers` processes, each logging `points` points through the fluent API into its own
  run of one store: at step s, `loss` and `acc` with values that are a function of
  (writer, key, step) (`value`), so that any point read anywhere can be checked. After
  every `report_every` steps a writer calls `flush()` and, once it has returned, prints
  `committed <step>`: those points are known to be in the store.
- a supervisor thread per writer: it reads those lines, SIGKILLs the writer as the seeded
  kill plan says (either a random moment after its start, import and attach included, or
  a random moment after it has reported a given step), and restarts it: the new process
  attaches to the same run (`start_run(run_id=...)`) and logs on from the step after the
  last one reported, as a training script resumes from its last checkpoint (points
  committed but not reported are logged again: such a step is in the history twice).
- a search loop, in a process of its own (`search` below): a freshly opened
  `Store(path, create=False)` per pass for `search_runs` and `search_run_rows` with
  several filters, and one long-lived Store following the store incrementally
  (`get_metric_history(after=...)`, `changes_since`); every value it reads is checked,
  and every committed point must reach it.
- a CLI loop, in a thread: `mltop runs list --format json`, `mltop runs show ID --json`
  and `mltop runs list` (a table) as subprocesses; each must exit 0 with what it printed
  checked.
- the dashboard, `MltopApp(store, follow=True)` headless (Textual's `run_test`), used as a
  user would (keys typed: moving, sorting, opening a run's detail, its charts following
  it, and back); every notification it makes is kept (toasts expire). Once the writers
  are done it must be alive, still following, with no error said, and its runs table
  must catch up: every run FINISHED with the last values logged.

Then `check` reads the store: for every run, the points each process committed are a
prefix of what it logged (whole batches, in order), every point reported as committed is
there with its value, the last process completed the run, the summaries agree with the
history, and `PRAGMA integrity_check` says ok.

Run as a script, this file is one of those processes: `writer ...` or `search ...`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HARNESS = Path(__file__).resolve()
KEYS = ("loss", "acc")
RUN_PREFIX = "load-w"
EXPERIMENT = "load"
CLI = [sys.executable, "-m", "mltop.tui.cli"]


# -- the points: a value for every (writer, key, step) ----------------------------------------


def value(slot: int, key: str, step: int) -> float:
    """What writer `slot` logs for `key` at `step` (exact in a double; some NaN)."""
    base = slot * 10_000_000 + step
    if key == "loss":
        return base + 0.25
    if step % 997 == 996:
        return math.nan
    return -(base + 0.5)


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def step_of(slot: int, key: str, v: float) -> int | None:
    """The step at which writer `slot` logs `v` for `key` (None: it never does; or NaN)."""
    if math.isnan(v):
        return None
    raw = v - 0.25 if key == "loss" else -v - 0.5
    step = int(raw) - slot * 10_000_000
    return step if step >= 0 and same(value(slot, key, step), v) else None


def slot_of(run_name: str | None) -> int | None:
    if run_name is None or not run_name.startswith(RUN_PREFIX):
        return None
    return int(run_name[len(RUN_PREFIX) :])


def latest_ok(slot: int, key: str, v: float, steps: int) -> bool:
    """`v` can be the latest value of `key` in writer `slot`'s run."""
    if math.isnan(v):
        return key == "acc"
    step = step_of(slot, key, v)
    return step is not None and step < steps


# -- configuration and results ------------------------------------------------------------


@dataclass
class LoadConfig:
    writers: int = 8
    points: int = 100_000  # per writer: points // 2 steps of two metrics
    faults: int = 24  # SIGKILLs planned, spread over the writers
    report_every: int = 1000  # steps between a writer's flush-and-report
    kill_delay: float = 0.1  # at most this many seconds from a reported step to the kill
    spawn_kills: float = 0.25  # the share of kills aimed at a writer starting up...
    spawn_window: float = 0.8  # ...at a random moment in its first this many seconds
    heartbeat: float = 0.5  # MLTOP_HEARTBEAT_INTERVAL of the writers
    seed: int = 0
    dashboard: bool = True
    timeout: float = 900.0  # seconds for the writers to finish, kills and restarts included

    @property
    def steps(self) -> int:
        return self.points // len(KEYS)


@dataclass
class Kill:
    at_spawn: bool  # a random moment after the process starts, or:
    after_step: int  # a random moment after it reports this step (or a later one)
    delay: float


@dataclass
class Generation:
    """One process of one writer."""

    slot: int
    number: int
    start: int  # the first step it logs
    reported: int | None = None  # the last step it reported committed
    boundary: int = 0  # the store's metric cursor once it had ended
    returncode: int | None = None
    kill: Kill | None = None


@dataclass
class LoopStats:
    iterations: int = 0
    errors: list[str] = field(default_factory=list)
    followed: int = 0  # points read by following the store (search loop)


@dataclass
class DashboardStats:
    alive: bool = False
    runs_shown: int = 0
    converged: bool = False  # showed every run finished with its last values
    problem: str | None = None
    errors: list[str] = field(default_factory=list)  # error notifications, logged bugs
    keys_pressed: int = 0
    lags: list[float] = field(default_factory=list)  # how late its event loop woke us, s
    runs_opened: int = 0  # times a run's detail screen was opened (enter on a row) and shown


@dataclass
class LoadResult:
    config: LoadConfig
    rows: int = 0  # metric rows in the store
    distinct: int = 0  # distinct (run, key, step) points
    writing_seconds: float = 0.0  # from the first writer's start to the last one's end
    generations: list[Generation] = field(default_factory=list)
    writer_errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what the store check found
    integrity: str = ""
    db_bytes: int = 0
    wal_peak: int = 0
    search: LoopStats = field(default_factory=LoopStats)
    cli: LoopStats = field(default_factory=LoopStats)
    dashboard: DashboardStats | None = None

    @property
    def faults(self) -> int:
        """Writer processes that died by a SIGKILL (only the supervisors send one)."""
        return sum(1 for g in self.generations if g.returncode == -signal.SIGKILL)

    @property
    def faults_at_spawn(self) -> int:
        return sum(
            1
            for g in self.generations
            if g.returncode == -signal.SIGKILL and g.kill is not None and g.kill.at_spawn
        )

    @property
    def points_per_second(self) -> float:
        return self.rows / self.writing_seconds if self.writing_seconds else 0.0


def kill_plan(config: LoadConfig) -> list[list[Kill]]:
    """For each writer, the kills of its successive processes (seeded)."""
    rng = random.Random(config.seed)
    slots = [i % config.writers for i in range(config.faults)]
    rng.shuffle(slots)
    plans: list[list[Kill]] = [[] for _ in range(config.writers)]
    for slot in slots:
        if rng.random() < config.spawn_kills:
            kill = Kill(True, 0, rng.uniform(0.0, config.spawn_window))
        else:
            kill = Kill(False, rng.randrange(max(1, config.steps * 8 // 10)), 0.0)
            kill.delay = rng.uniform(0.0, config.kill_delay)
        plans[slot].append(kill)
    for plan in plans:  # progress goes one way: step kills in order, spawn kills among them
        steps = iter(sorted(k.after_step for k in plan if not k.at_spawn))
        for kill in plan:
            if not kill.at_spawn:
                kill.after_step = next(steps)
    return plans


# -- the run of it: writers and their supervisors, the loops -------------------------------


class Load:
    def __init__(self, config: LoadConfig, store_path: Path, folder: Path) -> None:
        from mltop.store import Store

        self.config = config
        self.store_path = store_path
        self.folder = folder
        self.store = Store(store_path)
        self.run_ids: list[str] = []
        self.plans = kill_plan(config)
        self.generations: list[list[Generation]] = [[] for _ in range(config.writers)]
        self.writer_errors: list[str] = []
        self.writers_done = threading.Event()
        self.started = 0.0
        self.ended = 0.0
        self._lock = threading.Lock()
        self._procs: dict[int, subprocess.Popen[str]] = {}
        self._supervisors: list[threading.Thread] = []
        self._stop_loops = threading.Event()
        self._aborted = threading.Event()  # no more restarts
        self._cli_thread: threading.Thread | None = None
        self._search: subprocess.Popen[str] | None = None
        self.cli = LoopStats()
        self.search = LoopStats()
        self.db_bytes = 0  # the database file's size when the writers were done
        self.wal_peak = 0  # the largest WAL seen (as each writer process ended)
        self.env = {**os.environ, "MLTOP_HEARTBEAT_INTERVAL": str(config.heartbeat)}

    def create_runs(self) -> None:
        """A run for each writer, SCHEDULED: its processes attach to it."""
        from mltop.store import MltopClient

        client = MltopClient(self.store)
        experiment = client.create_experiment(EXPERIMENT)
        for slot in range(self.config.writers):
            run = client.create_run(
                experiment,
                run_name=f"{RUN_PREFIX}{slot}",
                status="SCHEDULED",
                log_system_info=False,
            )
            self.run_ids.append(run.info.run_id)
        client.close()

    def start(self) -> None:
        """Start the readers, then the writers."""
        self._search = subprocess.Popen(
            [sys.executable, str(HARNESS), "search", str(self.store_path), str(self.config.steps)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )
        self._cli_thread = threading.Thread(target=self._cli_loop, name="cli-loop", daemon=True)
        self._cli_thread.start()
        self.started = time.perf_counter()
        for slot in range(self.config.writers):
            thread = threading.Thread(
                target=self._supervise_safely, args=(slot,), name=f"writer-{slot}", daemon=True
            )
            self._supervisors.append(thread)
            thread.start()
        threading.Thread(target=self._await_writers, name="writers-done", daemon=True).start()

    def _await_writers(self) -> None:
        deadline = time.monotonic() + self.config.timeout
        for thread in self._supervisors:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in self._supervisors):
            with self._lock:
                self.writer_errors.append(f"the writers did not finish in {self.config.timeout} s")
            self.abort()
            for thread in self._supervisors:
                thread.join()
        self.ended = time.perf_counter()
        self._measure()
        self.writers_done.set()

    def _supervise_safely(self, slot: int) -> None:
        try:
            self._supervise(slot)
        except Exception:
            with self._lock:
                self.writer_errors.append(f"writer {slot}: supervisor failed\n" + _trace())

    def _supervise(self, slot: int) -> None:
        steps = self.config.steps
        plan = list(self.plans[slot])
        start = 0
        number = 0
        while True:
            gen = Generation(slot, number, start, kill=plan.pop(0) if plan else None)
            stderr_path = self.folder / f"writer-{slot}-{number}.err"
            args = [self.run_ids[slot], slot, number, start, steps, self.config.report_every]
            with self._lock, stderr_path.open("w") as stderr:
                if self._aborted.is_set():
                    return
                proc = subprocess.Popen(
                    [sys.executable, str(HARNESS), "writer", str(self.store_path), *map(str, args)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                    text=True,
                    env=self.env,
                )
                self._procs[slot] = proc
                self.generations[slot].append(gen)
            timer: threading.Timer | None = None
            if gen.kill is not None and gen.kill.at_spawn:
                timer = _kill_later(proc, gen.kill.delay)
            done = False
            assert proc.stdout is not None
            for line in proc.stdout:  # until it ends: a killed process's lines are all here
                if not line.endswith("\n"):
                    break
                word, _, arg = line.strip().partition(" ")
                if word == "committed":
                    gen.reported = int(arg)
                    kill = gen.kill
                    if (
                        timer is None
                        and kill is not None
                        and not kill.at_spawn
                        and gen.reported >= kill.after_step
                    ):
                        timer = _kill_later(proc, kill.delay)
                elif word == "finishing":
                    if timer is None and gen.kill is not None:  # it reported no step
                        timer = _kill_later(proc, gen.kill.delay)
                    if timer is not None:
                        timer.join()  # its kill lands now, if it has not yet
                    else:
                        _answer(proc)
                elif word == "done":
                    done = True
            gen.returncode = proc.wait()
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
            if timer is not None:
                timer.cancel()
                timer.join()
            gen.boundary = self.store.cursor().metric_id  # nothing of this writer after it
            self._measure()
            err = stderr_path.read_text()
            if gen.returncode == 0 and done:
                if err.strip():
                    self._error(slot, number, f"wrote to stderr:\n{err}")
                return
            if gen.returncode != -signal.SIGKILL:
                self._error(slot, number, f"exited with {gen.returncode}:\n{err}")
                return
            if gen.reported is not None:
                start = gen.reported + 1
            number += 1

    def _measure(self) -> None:
        """The sizes of the store's files now (the WAL grows while readers hold it)."""
        sizes = []
        for suffix in ("", "-wal"):
            try:
                sizes.append(os.path.getsize(f"{self.store_path / 'mltop.db'}{suffix}"))
            except FileNotFoundError:
                sizes.append(0)
        with self._lock:
            self.db_bytes = max(self.db_bytes, sizes[0])
            self.wal_peak = max(self.wal_peak, sizes[1])

    def _error(self, slot: int, number: int, what: str) -> None:
        with self._lock:
            self.writer_errors.append(f"writer {slot}, process {number}: {what}")

    # -- the CLI loop ----------------------------------------------------------------------

    def _cli_loop(self) -> None:
        rng = random.Random(self.config.seed + 1)
        store = ["--store", str(self.store_path)]
        while True:
            stop = self._stop_loops.is_set()  # at least one whole round, then until told
            try:
                listing = self._cli(["runs", "list", "--format", "json", *store])
                if listing is not None:
                    runs = json.loads(listing)
                    self._check_cli_runs(runs, "runs list --format json")
                    if stop:  # the writers are done: every run is finished, complete
                        self._check_cli_end(runs)
                run_id = rng.choice(self.run_ids)
                shown = self._cli(["runs", "show", run_id[: rng.randint(8, 32)], "--json", *store])
                if shown is not None:
                    one = json.loads(shown)
                    if one.get("run_id") != run_id:
                        self._cli_error(f"runs show {run_id}: showed {one.get('run_id')}")
                    self._check_cli_runs([one], "runs show --json")
                table = self._cli(["runs", "list", *store])
                if table is not None and RUN_PREFIX not in table:
                    self._cli_error(f"runs list shows none of the runs:\n{table}")
            except Exception:
                self._cli_error(_trace())
            self.cli.iterations += 1
            if stop:
                return

    def _cli(self, args: list[str]) -> str | None:
        out = subprocess.run(
            [*CLI, *args], capture_output=True, text=True, env=self.env, timeout=120
        )
        if out.returncode != 0 or out.stderr.strip():
            self._cli_error(f"mltop {' '.join(args)}: exit {out.returncode}\n{out.stderr}")
            return None
        return out.stdout

    def _cli_error(self, what: str) -> None:
        with self._lock:
            self.cli.errors.append(what)

    def _check_cli_runs(self, runs: list[dict[str, Any]], what: str) -> None:
        for run in runs:
            slot = slot_of(run.get("run_name"))
            if slot is None:
                self._cli_error(f"{what}: a run not logged here: {run.get('run_name')!r}")
                continue
            if run["status"] not in ("SCHEDULED", "RUNNING", "LOST", "FINISHED"):
                self._cli_error(f"{what}: {run['run_name']} is {run['status']}")
            for key, metric in run["metrics"].items():
                v = float(metric["value"])  # "NaN" is written as a string
                if key not in KEYS or not same(v, value(slot, key, metric["step"])):
                    self._cli_error(f"{what}: {run['run_name']} {key} {metric}")

    def _check_cli_end(self, runs: list[dict[str, Any]]) -> None:
        last = self.config.steps - 1
        ends = {
            r["run_id"]: (r["status"], {k: m["step"] for k, m in r["metrics"].items()})
            for r in runs
        }
        want = {run_id: ("FINISHED", dict.fromkeys(KEYS, last)) for run_id in self.run_ids}
        if ends != want:
            self._cli_error(f"runs list at the end: {ends}, not {want}")

    # -- stopping --------------------------------------------------------------------------

    def stop_loops(self) -> None:
        """Once the writers are done: the loops end after a last whole round (the search
        loop's last round reads everything committed, and must have seen it all)."""
        self._stop_loops.set()
        if self._cli_thread is not None:
            self._cli_thread.join()
        if self._search is not None:
            out, err = self._search.communicate(timeout=600)  # closing stdin stops it
            if self._search.returncode != 0 or err.strip():
                self.search.errors.append(f"exit {self._search.returncode}:\n{err}")
            else:
                stats = json.loads(out)
                self.search.iterations = stats["iterations"]
                self.search.errors += stats["errors"]
                self.search.followed = stats["followed"]

    def abort(self) -> None:
        """Something failed: end every process this started."""
        self._stop_loops.set()
        with self._lock:
            self._aborted.set()
            procs = list(self._procs.values())
        if self._search is not None:
            procs.append(self._search)
        for proc in procs:
            if proc.poll() is None:
                proc.kill()

    # -- the verdict -----------------------------------------------------------------------

    def check(self, result: LoadResult) -> None:
        """Read the store: every point reported is there, each process left a prefix of
        what it logged, the runs are complete, the summaries agree, the file is sound."""
        from mltop.store import Store

        problems = result.problems
        steps = self.config.steps
        total = 0
        with Store(self.store_path, create=False) as store:
            for slot, run_id in enumerate(self.run_ids):
                gens = self.generations[slot]
                run = store.get_run(run_id)
                if run.info.status != "FINISHED":
                    problems.append(f"writer {slot}: its run is {run.info.status}")
                if run.data.params.get("slot") != str(slot):
                    problems.append(f"writer {slot}: params {run.data.params}")
                if gens and run.data.tags.get("generation") != str(gens[-1].number):
                    problems.append(f"writer {slot}: tag generation {run.data.tags}")
                for key in KEYS:
                    history = store.get_metric_history(run_id, key)
                    total += len(history)
                    problems += _check_history(slot, key, history, gens, steps)
                    summary = run.data.summaries.get(key)
                    problems += _check_summary(slot, key, history, summary, steps)
            result.rows = sum(
                s.count for r in store.list_runs(view="all") for s in r.data.summaries.values()
            )
        if result.rows != total:
            problems.append(f"{result.rows} points in the summaries, {total} in the histories")
        result.distinct = self.config.writers * steps * len(KEYS)
        conn = sqlite3.connect(self.store_path / "mltop.db")
        try:
            result.integrity = "; ".join(r[0] for r in conn.execute("PRAGMA integrity_check"))
            stray = conn.execute("SELECT count(*) FROM metrics").fetchone()[0]
            if stray != total:
                problems.append(f"{stray} rows in the metrics table, {total} in the histories")
            if conn.execute("PRAGMA foreign_key_check").fetchall():
                problems.append("PRAGMA foreign_key_check found rows")
        finally:
            conn.close()

    def result(self) -> LoadResult:
        return LoadResult(
            self.config,
            writing_seconds=self.ended - self.started,
            generations=[g for gens in self.generations for g in gens],
            writer_errors=list(self.writer_errors),
            db_bytes=self.db_bytes,
            wal_peak=self.wal_peak,
            search=self.search,
            cli=self.cli,
        )

    def close(self) -> None:
        self.store.close()


def _answer(proc: subprocess.Popen[str]) -> None:
    """Let a writer waiting to finish end (it may have been killed meanwhile)."""
    assert proc.stdin is not None
    with contextlib.suppress(OSError):
        proc.stdin.write("\n")
        proc.stdin.flush()


def _kill_later(proc: subprocess.Popen[str], delay: float) -> threading.Timer:
    # send_signal does nothing to a process already waited for (its pid may be another's).
    timer = threading.Timer(delay, proc.send_signal, (signal.SIGKILL,))
    timer.daemon = True
    timer.start()
    return timer


def _trace() -> str:
    return traceback.format_exc()


def _check_history(slot: int, key: str, history: list, gens: list[Generation], steps: int):
    """Each process's points (told apart by the store cursor when it ended) are the steps
    it started at, then the following ones, without a gap: a prefix of what it logged.
    They reach at least the last step it reported, and the last process reached the end."""
    problems = []
    name = f"writer {slot} {key}"
    lower = 0
    for gen in gens:
        mine = [p for p in history if lower < p.cursor <= gen.boundary]
        lower = gen.boundary
        got = [p.step for p in mine]
        if got != list(range(gen.start, gen.start + len(got))):
            problems.append(f"{name}, process {gen.number}: steps {_span(got)}, not a prefix")
        end = gen.start + len(got) - 1  # the last step it committed
        if gen.reported is not None and end < gen.reported:
            problems.append(
                f"{name}, process {gen.number}: reported step {gen.reported} committed, "
                f"the store has up to {end}"
            )
        if gen is gens[-1] and end != steps - 1:
            problems.append(f"{name}: the last process ended at step {end}, not {steps - 1}")
        problems += [
            f"{name}: step {p.step} is {p.value!r}, logged {value(slot, key, p.step)!r}"
            for p in mine
            if not same(p.value, value(slot, key, p.step))
        ]
    after = [p for p in history if p.cursor > lower]
    if after:
        problems.append(f"{name}: {len(after)} points committed after its last process ended")
    if {p.step for p in history} != set(range(steps)):
        missing = sorted(set(range(steps)) - {p.step for p in history})
        problems.append(f"{name}: steps missing: {_span(missing)}")
    return problems


def _check_summary(slot: int, key: str, history: list, summary: Any, steps: int) -> list[str]:
    name = f"writer {slot} {key}"
    if summary is None:
        return [f"{name}: no summary"]
    values = [p.value for p in history if not math.isnan(p.value)]
    want = (len(history), steps - 1, value(slot, key, steps - 1), min(values), max(values))
    got = (summary.count, summary.step, summary.value, summary.min, summary.max)
    if not all(same(a, b) for a, b in zip(want, got, strict=True)):
        return [f"{name}: summary (count, step, value, min, max) {got}, history says {want}"]
    return []


def _span(steps: list[int]) -> str:
    if len(steps) <= 6:
        return str(steps)
    return f"[{steps[0]}, {steps[1]}, {steps[2]} ... {steps[-2]}, {steps[-1]}] ({len(steps)})"


# -- the dashboard -------------------------------------------------------------------------


def watched_app(store_path: Path, error_log: Path) -> Any:
    """The dashboard, following the store, keeping every notification it makes."""
    from mltop.tui.app import MltopApp

    class WatchedApp(MltopApp):
        def __init__(self) -> None:
            super().__init__(store_path, follow=True, error_log=error_log)
            self.said: list[tuple[str, str, str]] = []

        def notify(
            self, message: Any, *, title: str = "", severity: Any = "information", **kwargs: Any
        ) -> None:
            self.said.append((str(severity), title, str(message)))
            super().notify(message, title=title, severity=severity, **kwargs)

    return WatchedApp()


def on_runs_screen(app: Any) -> bool:
    from mltop.tui.screens.runs import RunsScreen

    return isinstance(app.screen, RunsScreen)


def runs_on_screen(app: Any) -> list:
    """The runs in the runs table, once all are in its rows ([] on another screen)."""
    from mltop.tui.widgets.runs_table import RunsTable

    if not on_runs_screen(app):
        return []
    table = app.screen.query_one(RunsTable)
    if not table.table.is_mounted or table.table.row_count != len(table.runs):
        return []
    return list(table.runs)


def shows_the_end(app: Any, load: Load) -> bool:
    """Every run in the table, finished, with the last values its writer logged."""
    rows = {r.info.run_id: r for r in runs_on_screen(app)}
    if set(rows) != set(load.run_ids):
        return False
    last = load.config.steps - 1
    for slot, run_id in enumerate(load.run_ids):
        row = rows[run_id]
        if row.info.status != "FINISHED":
            return False
        if not all(same(row.metrics.get(k, 0.5), value(slot, k, last)) for k in KEYS):
            return False
    return True


def screen_up(app: Any) -> bool:
    """The current screen and everything on it mounted: built, as a user sees it."""
    screen = app.screen
    return bool(screen.is_mounted and all(w.is_mounted for w in screen.walk_children()))


LOOK = 0.25  # seconds between two keys a user types


async def look(stats: DashboardStats) -> None:
    asleep = time.perf_counter()
    await asyncio.sleep(LOOK)  # (Pilot.pause would wait for every widget to be idle)
    stats.lags.append(time.perf_counter() - asleep - LOOK)


async def use_like_a_user(app: Any, load: Load, stats: DashboardStats) -> None:
    """Until the writers are done: move about, sort, open a run and look at its charts (they
    follow it live), go back. Keys are typed as they would be (not waiting for the app to
    be idle), but a screen is left only once it is up, as a user who sees it: escape typed
    at a detail screen still being built crashes the dashboard (a separate bug)."""

    async def wait_for(condition: Any) -> bool:
        for _ in range(40):
            if condition():
                return True
            if load.writers_done.is_set():
                return False
            await look(stats)
        return False

    def type_key(key: str) -> None:
        app.simulate_key(key)  # (Pilot.press would wait for an idle process)
        stats.keys_pressed += 1

    script = ["open", "j", "j", "s", "k", "S", "end", "open", "home"]
    for key in itertools.cycle(script):
        if load.writers_done.is_set():
            return
        if key != "open":
            type_key(key)
            await look(stats)
            continue
        if not await wait_for(lambda: on_runs_screen(app) and screen_up(app)):
            continue
        type_key("enter")
        if not await wait_for(lambda: not on_runs_screen(app) and screen_up(app)):
            continue
        stats.runs_opened += 1
        await look(stats)
        await look(stats)
        type_key("escape")
        await wait_for(lambda: on_runs_screen(app))


async def until(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def _with_dashboard(load: Load, folder: Path) -> DashboardStats:
    stats = DashboardStats()
    error_log = folder / "dashboard-errors.log"
    app = watched_app(load.store_path, error_log)
    async with app.run_test(size=(120, 40)):
        # Up, its (empty) table shown and the store followed, before anything is logged.
        started = await until(lambda: on_runs_screen(app) and app.follower is not None, 30)
        assert started, "the dashboard did not start"
        load.create_runs()
        shown = await until(lambda: len(runs_on_screen(app)) == load.config.writers, 30)
        assert shown, "the dashboard did not show the runs created"
        load.start()
        await use_like_a_user(app, load, stats)
        stopping = asyncio.ensure_future(asyncio.to_thread(load.stop_loops))
        # Back to the runs (keys typed may still be on their way), until the table has
        # caught up with the end: every run finished, showing its last values.
        deadline = time.monotonic() + 60
        while not shows_the_end(app, load) and time.monotonic() < deadline:
            if not on_runs_screen(app) and screen_up(app):
                app.simulate_key("escape")
                await until(lambda: on_runs_screen(app), 10)
            await asyncio.sleep(0.1)
        stats.converged = shows_the_end(app, load)
        stats.runs_shown = len(runs_on_screen(app))
        await stopping
        follower = app.follower
        stats.alive = bool(
            app.is_running
            and follower is not None
            and follower._thread is not None
            and follower._thread.is_alive()
        )
        stats.problem = app.problem
        stats.errors = [f"{t}: {m}" for sev, t, m in app.said if sev == "error"]
        stats.errors += [
            f"toast {n.title}: {n.message}" for n in app._notifications if n.severity == "error"
        ]
    if error_log.exists():
        stats.errors.append(error_log.read_text())
    return stats


async def run_load(config: LoadConfig, folder: Path) -> LoadResult:
    """One round in `folder`: the store, the processes, the checks."""
    from mltop.store import Store

    store_path = folder / "store"
    Store(store_path).close()
    load = Load(config, store_path, folder)
    try:
        if config.dashboard:
            dashboard: DashboardStats | None = await _with_dashboard(load, folder)
        else:
            dashboard = None
            load.create_runs()
            load.start()
            await asyncio.to_thread(load.writers_done.wait)
            await asyncio.to_thread(load.stop_loops)
    except BaseException:
        load.abort()
        raise
    result = load.result()
    result.dashboard = dashboard
    load.check(result)
    load.close()
    return result


# -- the processes -------------------------------------------------------------------------


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def writer_main(
    store: str, run_id: str, slot: int, number: int, start: int, steps: int, every: int
) -> None:
    """One writer process: attach to the run, log on from `start`, report what is committed."""
    from mltop import store as mt

    mt.set_store(store)
    with mt.start_run(run_id=run_id):
        mt.log_param("slot", slot)  # the same value again after a restart: a no-op
        mt.set_tag("generation", number)
        log_metric = mt.log_metric
        for step in range(start, steps):
            log_metric("loss", value(slot, "loss", step), step=step)
            log_metric("acc", value(slot, "acc", step), step=step)
            if (step + 1) % every == 0 or step == steps - 1:
                mt.flush()
                say(f"committed {step}")
        # A kill planned for this process lands before it may end (the supervisor answers
        # once none is pending): every planned fault is injected, however fast it ran.
        say("finishing")
        sys.stdin.readline()
    say("done")


class SearchLoop:
    """The search process: fresh stores searched, a long-lived one followed; all checked."""

    FILTERS = (
        ("metrics.loss >= 0 and attributes.status != 'KILLED'", ["metrics.loss DESC"]),
        ("params.slot = '3' or tags.generation = '1'", None),
        (f"attributes.run_name LIKE '{RUN_PREFIX}%' and metrics.acc < 0", ["metrics.acc ASC"]),
        ("attributes.status = 'RUNNING'", None),
    )

    def __init__(self, store_path: str, steps: int) -> None:
        from mltop.store import ChangeCursor, Store

        self.store_path = store_path
        self.steps = steps
        self.live = Store(store_path, create=False)
        self.changes_cursor = ChangeCursor()
        self.history_cursor: dict[tuple[str, str], int] = {}
        self.history_count: dict[tuple[str, str], int] = {}
        self.counts: dict[tuple[str, str], int] = {}  # summary counts: never going down
        self.slots: dict[str, int] = {}
        self.followed = 0
        self.errors: list[str] = []

    def error(self, what: str) -> None:
        if len(self.errors) < 100:
            self.errors.append(what)

    def one_pass(self) -> None:
        from mltop.store import Store

        fresh = Store(self.store_path, create=False)
        try:
            for filter_string, order_by in self.FILTERS:
                for run in fresh.search_runs(
                    filter_string=filter_string, order_by=order_by, max_results=1000
                ):
                    self.check_run(run, filter_string)
            for row in fresh.search_run_rows(filter_string="metrics.loss > 0 or metrics.acc < 0"):
                slot = slot_of(row.info.run_name)
                if slot is None:
                    self.error(f"search_run_rows: a run not logged here: {row.info.run_name!r}")
                    continue
                for key, v in row.metrics.items():
                    if not latest_ok(slot, key, v, self.steps):
                        self.error(f"search_run_rows: {row.info.run_name} {key} = {v!r}")
        finally:
            fresh.close()
        self.follow_histories()
        self.follow_changes()

    def check_run(self, run: Any, filter_string: str) -> None:
        name = run.info.run_name
        slot = slot_of(name)
        if slot is None:
            self.error(f"search_runs: a run not logged here: {name!r}")
            return
        self.slots[run.info.run_id] = slot
        if "slot = '3'" in filter_string and not (
            run.data.params.get("slot") == "3" or run.data.tags.get("generation") == "1"
        ):
            self.error(f"{filter_string!r} matched {name}: {run.data.params} {run.data.tags}")
        for key, summary in run.data.summaries.items():
            if key not in KEYS or not same(summary.value, value(slot, key, summary.step)):
                self.error(f"search_runs: {name} {key} summary {summary}")
                continue
            seen = self.counts.get((run.info.run_id, key), 0)
            if summary.count < seen:
                self.error(f"search_runs: {name} {key} had {seen} points, now {summary.count}")
            self.counts[(run.info.run_id, key)] = summary.count

    # A pass reads at most PAGE new points of each history and of the changes: searches
    # come round often; the last pass (nothing written any more) reads to the end.
    PAGE = 5_000

    def follow_histories(self, limit: int | None = PAGE) -> bool:
        """Read on in every history; whether there may be more."""
        more = False
        for run_id, slot in self.slots.items():
            for key in KEYS:
                after = self.history_cursor.get((run_id, key), 0)
                points = self.live.get_metric_history(run_id, key, after=after, limit=limit)
                more = more or len(points) == limit
                for p in points:
                    if p.cursor <= after or not same(p.value, value(slot, key, p.step)):
                        self.error(f"get_metric_history(after={after}): {p}")
                    after = p.cursor
                self.history_cursor[(run_id, key)] = after
                count = self.history_count.get((run_id, key), 0)
                self.history_count[(run_id, key)] = count + len(points)
        return more

    def follow_changes(self, limit: int = PAGE) -> bool:
        """Read on in the store's changes; whether there are more."""
        changes = self.live.changes_since(self.changes_cursor, metric_limit=limit)
        for p in changes.metrics:
            slot = self.slots.get(p.run_id)
            if slot is None:
                slot = self.slots[p.run_id] = slot_of(self.live.get_run(p.run_id).info.run_name)
            if slot is None or not same(p.value, value(slot, p.key, p.step)):
                self.error(f"changes_since: {p}")
        self.followed += len(changes.metrics)
        self.changes_cursor = changes.cursor
        return changes.more

    def final_check(self) -> None:
        """Nothing is written any more: following to the end must bring every point."""
        from mltop.store import Store

        while self.follow_histories(limit=None) or self.follow_changes(limit=50_000):
            pass
        with Store(self.store_path, create=False) as fresh:
            total = 0
            for run in fresh.list_runs():
                for key, summary in run.data.summaries.items():
                    total += summary.count
                    got = self.history_count.get((run.info.run_id, key), 0)
                    if got != summary.count:
                        self.error(
                            f"{run.info.run_name} {key}: {summary.count} points, "
                            f"{got} read by following its history"
                        )
        if self.followed != total:
            self.error(f"{total} points in the store, {self.followed} read by changes_since")


def search_main(store_path: str, steps: int) -> None:
    """Search until stdin is closed; then a last pass, the final check, and the figures."""
    loop = SearchLoop(store_path, steps)
    iterations = 0
    while True:
        stop = bool(select.select([sys.stdin], [], [], 0)[0])  # closed: the writers are done
        try:
            loop.one_pass()
        except Exception:
            loop.error(_trace())
        iterations += 1
        if stop:
            break
    try:
        loop.final_check()
    except Exception:
        loop.error(_trace())
    say(json.dumps({"iterations": iterations, "errors": loop.errors, "followed": loop.followed}))


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "writer":
        store, run_id, *numbers = args
        slot, number, start, steps, every = map(int, numbers)
        writer_main(store, run_id, slot, number, start, steps, every)
    elif mode == "search":
        search_main(args[0], int(args[1]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
