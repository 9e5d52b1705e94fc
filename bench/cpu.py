"""Benchmark: how much CPU the dashboard takes while it follows live training runs.

    python bench/cpu.py [--seconds 20] [--settle 5] [--runs 1 8] [--store PATH]

`mltop ui --store X` is started in a 120×40 pseudo-terminal, as bench/dashboard.py starts
it (a separate process, nothing in it instrumented; what it draws is read and thrown away,
as a terminal would). Its CPU time (utime + stime of /proc/<pid>/stat, every thread) is
sampled once a second for `--seconds`; the figure is the median of those one-second samples,
in % of one core (the mean is printed too).

Training: each training run is a separate process logging 5 metrics at 20 steps a second
(`log_metrics(..., step=i)` through the fluent API, committed by the client's buffered writer
as in any training script). Cases:
- runs screen, following 1 and then 8 training runs (target <= 5%);
- a run's detail with its charts (the newest run, opened from the runs table with enter, as a
  user does), following 1 and 8 (target <= 15%);
- idle: no training, the runs screen over finished runs of the last hours (target <= 1%).

Also printed: the CPU the training processes themselves take (for scale).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

SIZE = (120, 40)
TICK = os.sysconf("SC_CLK_TCK")
TARGETS = {"idle": 1.0, "runs screen": 5.0, "run detail": 15.0}

TRAIN = """
import math, random, sys, time
from mltop import store as mt
mt.set_store(sys.argv[1])
mt.set_experiment("training")
with mt.start_run(run_name=sys.argv[2]):
    mt.log_params({"lr": 0.01, "batch_size": 64, "optimizer": "adam"})
    rng = random.Random(sys.argv[2])
    step, start = 0, time.monotonic()
    while True:
        x = step / 200
        mt.log_metrics(
            {
                "loss": math.exp(-x) + rng.random() * 0.02,
                "accuracy": 1 - math.exp(-x) * 0.9,
                "val_loss": math.exp(-x / 2) + rng.random() * 0.02,
                "grad_norm": 1 + rng.random(),
                "lr": 0.01 * 0.999**step,
            },
            step=step,
        )
        step += 1
        time.sleep(max(0.0, start + step / 20 - time.monotonic()))
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` (all its threads), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime: fields 14 and 15


def sample(pids: list[int], seconds: int) -> list[float]:
    """CPU % of one core taken by `pids` together, a sample for each second."""
    samples = []
    before, then = sum(cpu_seconds(p) for p in pids), time.monotonic()
    for _ in range(seconds):
        time.sleep(1.0)
        after, now = sum(cpu_seconds(p) for p in pids), time.monotonic()
        samples.append(100 * (after - before) / (now - then))
        before, then = after, now
    return samples


class Dashboard:
    """`mltop ui` in a pseudo-terminal; what it draws is read on a thread (a terminal reads
    it all) and kept in part, to wait for a text."""

    def __init__(self, store: Path) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(SIZE[0])}
        env["LINES"] = str(SIZE[1])
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mltop.tui.cli", "ui", "--store", str(store)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.seen = b""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.5)
                chunk = os.read(self.master, 1 << 16) if ready else b""
            except OSError:
                return
            if ready and not chunk:
                return
            with self._lock:
                self.seen = (self.seen + chunk)[-(1 << 16) :]

    def wait_for(self, text: bytes, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if text in self.seen:
                    return
            if self.process.poll() is not None:
                raise RuntimeError("the dashboard exited")
            time.sleep(0.05)
        raise TimeoutError(f"the dashboard did not show {text!r} in {timeout:.0f} s")

    def forget(self) -> None:
        with self._lock:
            self.seen = b""

    def press(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def close(self) -> None:
        if self.process.poll() is None:
            self.press(b"q")
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        os.close(self.master)


def add_finished_runs(store: Path, count: int) -> None:
    """Runs that ended hours ago, with the same metrics and params as the training runs."""
    from mltop.store import MltopClient, Store

    client = MltopClient(Store(store))
    exp = client.create_experiment("earlier")
    hour = 3_600_000
    start = int(time.time() * 1000) - 3 * hour
    for i in range(count):
        began = start + i * 60_000
        run = client.create_run(exp, began, run_name=f"earlier-{i}", log_system_info=False)
        run_id = run.info.run_id
        client.log_params(run_id, {"lr": 0.01, "batch_size": 64, "optimizer": "adam"})
        for step in range(200):
            for key in ("loss", "accuracy", "val_loss", "grad_norm", "lr"):
                client.log_metric(run_id, key, 1 / (1 + step), start + step * 50, step)
        client.set_terminated(run_id, "FINISHED", began + 600_000)
    client.close()


def start_training(store: Path, count: int, first: int) -> list[subprocess.Popen]:
    return [
        subprocess.Popen([sys.executable, "-c", TRAIN, str(store), f"train-{first + i:02d}"])
        for i in range(count)
    ]


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)  # the client commits what it holds, then stops
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def measure(
    store: Path, training: int, first: int, seconds: int, settle: float
) -> dict[str, tuple[list[float], list[float]]]:
    """{case: (dashboard samples, training samples)} for the runs screen and, when runs are
    training, a run's detail."""
    trainers = start_training(store, training, first)
    found: dict[str, tuple[list[float], list[float]]] = {}
    dashboard = None
    try:
        time.sleep(2.0)  # the runs exist and have points before the dashboard opens
        dashboard = Dashboard(store)
        dashboard.wait_for(b"runs" if training else b"earlier-")
        time.sleep(settle)
        pids = [t.pid for t in trainers]
        found["runs screen" if training else "idle"] = (
            sample([dashboard.process.pid], seconds),
            sample(pids, 1) if pids else [0.0],
        )
        if training:
            dashboard.press(b"g")  # the top row: the newest run, training
            dashboard.forget()
            dashboard.press(b"\r")
            dashboard.wait_for(b"Params")
            time.sleep(settle)
            found["run detail"] = (sample([dashboard.process.pid], seconds), sample(pids, 1))
    finally:
        if dashboard is not None:
            dashboard.close()
        stop(trainers)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20, help="measured, per case")
    parser.add_argument("--settle", type=float, default=5.0, help="waited before measuring")
    parser.add_argument("--runs", type=int, nargs="+", default=[1, 8], help="training runs")
    parser.add_argument("--store", type=Path, help="a folder for the store (default: temporary)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        store = args.store or Path(tmp) / "store"
        add_finished_runs(store, 8)
        rows: list[tuple[str, int, list[float], list[float]]] = []
        for case, (dash, _) in measure(store, 0, 0, args.seconds, args.settle).items():
            rows.append((case, 0, dash, [0.0]))
        first = 0
        for count in args.runs:
            for case, (dash, train) in measure(
                store, count, first, args.seconds, args.settle
            ).items():
                rows.append((case, count, dash, train))
            first += count

    print(f"dashboard CPU, % of one core, {args.seconds} one-second samples per case (120x40):")
    print(f"{'case':<14}{'training':>9}{'median':>8}{'mean':>7}{'max':>7}{'target':>8}"
          f"{'training procs':>16}")  # fmt: skip
    for case, count, dash, train in rows:
        target = TARGETS[case]
        verdict = "ok" if statistics.median(dash) <= target else "OVER"
        print(
            f"{case:<14}{count:>9}{statistics.median(dash):>7.1f}%{statistics.mean(dash):>6.1f}%"
            f"{max(dash):>6.1f}%{f'<= {target:g}%':>8} {verdict:<4}"
            f"{statistics.mean(train):>10.1f}%"
        )


if __name__ == "__main__":
    main()
