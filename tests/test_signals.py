"""`mltop demo` in a real terminal stops its training jobs however the dashboard ends.

Each test starts `mltop demo` in a pseudo-terminal that is its controlling terminal, as a
shell in tmux or an SSH session runs it: closing the terminal's other side hangs it up
(SIGHUP), as a dropped connection does. The jobs' pids are read from /proc while the
dashboard is their parent; each job's log says why it ended, and before which step.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mltop.store import Store

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc; Linux ptys")

JOBS = 3
ESCAPES = re.compile(rb"\x1b\[[0-9;?<>=$]*[A-Za-z~]")
# setsid() is done by Popen; this makes the terminal on fd 0 the controlling one, then
# becomes the dashboard (same pid).
LAUNCH = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def alive(pid: int) -> bool:
    """Running (a zombie has ended: only its parent has not collected it yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def children(pid: int) -> list[int]:
    """The demo's training jobs among the processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        if ppid == pid and b"mltop.tui.demo.train" in command:
            found.append(int(entry.name))
    return sorted(found)


class Dashboard:
    """`mltop demo --store STORE` in a pseudo-terminal of its own, 120x40."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL")}
        env["TERM"] = "xterm-256color"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, "-m", "mltop.tui.cli", "demo", "--store", str(store)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            env=env,
        )
        os.close(slave)
        self.output = bytearray()
        self._stop_reading = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.jobs: list[int] = []

    def _read(self) -> None:
        # The terminal's side: read all the dashboard draws, or it blocks writing.
        while not self._stop_reading.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:  # EIO: the dashboard's side is closed
                    return
                if not data:
                    return
                self.output.extend(data)

    def wait_until_training(self, timeout: float = 60.0) -> None:
        """Until the dashboard is drawn and each of its jobs has logged into its run."""
        wait_for(lambda: "● live".encode() in self.text(), timeout, "the dashboard")
        wait_for(lambda: len(children(self.proc.pid)) == JOBS, timeout, "the jobs")
        self.jobs = children(self.proc.pid)
        wait_for(lambda: len(self.live_runs("RUNNING", logged=True)) == JOBS, timeout, "runs")

    def live_runs(self, status: str, *, logged: bool = False) -> list:
        if not (self.store / "mltop.db").exists():
            return []
        with Store(self.store, create=False) as store:
            runs = store.search_runs(filter_string="tags.live = 'yes'")
        return [
            r for r in runs if r.info.status == status and (not logged or "loss" in r.data.metrics)
        ]

    def text(self, start: int = 0) -> bytes:
        """What was drawn from byte `start` on, without the escape sequences."""
        return ESCAPES.sub(b"", bytes(self.output[start:]))

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def hang_up(self) -> None:
        """Close the terminal, as a dropped SSH connection or `tmux kill-session` does."""
        self._stop_reading.set()
        self._reader.join()
        os.close(self.master)
        self.master = -1

    def close(self) -> None:
        for pid in [self.proc.pid, *self.jobs]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        if self.master != -1:
            self._stop_reading.set()
            self._reader.join()
            os.close(self.master)


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[Dashboard]:
    started = Dashboard(tmp_path / "demo")
    try:
        started.wait_until_training()
        yield started
    finally:
        started.close()


def assert_jobs_ended_killed(dashboard: Dashboard, since: float, reason: str) -> None:
    """Every job is gone within 5 s of `since`; its run ended KILLED, every point it
    logged is in the store, and its log says it stopped for `reason`."""
    wait_for(
        lambda: not any(alive(pid) for pid in dashboard.jobs),
        5.0 - (time.monotonic() - since),
        "the jobs to end",
    )
    runs = dashboard.live_runs("KILLED")
    assert len(runs) == JOBS, [(r.info.run_name, r.info.status) for r in runs]
    for run in runs:
        log = (dashboard.store / "demo-logs" / f"{run.info.run_name}.log").read_text()
        ended = re.search(r"ended KILLED: (.*), before step (\d+)", log)
        assert ended, log
        assert reason in ended[1]
        steps = int(ended[2])
        assert run.data.summaries["loss"].count == steps  # flushed: none lost
        assert run.data.summaries["lr"].count == steps


def test_closing_the_terminal_stops_the_jobs(dashboard):
    since = time.monotonic()
    dashboard.hang_up()
    assert dashboard.proc.wait(timeout=5) == 128 + signal.SIGHUP  # its exit, not SIGHUP's
    assert_jobs_ended_killed(dashboard, since, "SIGTERM")  # stopped by the dashboard


def test_sigterm_stops_the_jobs_and_restores_the_terminal(dashboard):
    since = time.monotonic()
    dashboard.proc.terminate()
    assert dashboard.proc.wait(timeout=5) == 128 + signal.SIGTERM
    assert_jobs_ended_killed(dashboard, since, "SIGTERM")
    wait_for(lambda: b"\x1b[?1049l" in dashboard.output, 5, "the main screen back")


def test_ctrl_c_quits_even_from_the_filter_bar_and_stops_the_jobs(dashboard):
    # Into the filter bar, where `q` is text, not quit. `/` moves the focus once it has
    # been handled, and keys typed meanwhile go to the table: type until one shows.
    start = len(dashboard.output)
    dashboard.type(b"/")
    deadline = time.monotonic() + 10
    while b"Z" not in dashboard.text(start):
        assert time.monotonic() < deadline, "the filter bar never showed what was typed"
        dashboard.type(b"Z")
        time.sleep(0.2)
    dashboard.type(b"q")
    wait_for(lambda: re.search(rb"Z+q", dashboard.text(start)), 10, "the filter text")
    since = time.monotonic()
    dashboard.type(b"\x1b[1;2H\x03")  # shift+home selects the text: ctrl+c would copy it
    assert dashboard.proc.wait(timeout=5) == 0
    assert_jobs_ended_killed(dashboard, since, "SIGTERM")
    assert b"mltop ui --store" in dashboard.output  # said how to open the store again


def test_q_quits_and_stops_the_jobs(dashboard):
    since = time.monotonic()
    dashboard.type(b"q")
    assert dashboard.proc.wait(timeout=5) == 0
    assert_jobs_ended_killed(dashboard, since, "SIGTERM")


def test_jobs_notice_a_killed_dashboard_and_end_on_their_own(dashboard):
    since = time.monotonic()
    dashboard.proc.kill()  # no handler runs: the jobs must see for themselves
    assert dashboard.proc.wait(timeout=5) == -signal.SIGKILL
    assert_jobs_ended_killed(dashboard, since, f"process {dashboard.proc.pid}")
