"""Several processes at once, and a writer killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

from mltop.store import Store

WRITER = """
import sys, time
from pathlib import Path
from mltop import store as mt
store, go, n = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
mt.set_store(store)
with mt.start_run(run_name=sys.argv[4]) as run:
    print(run.info.run_id, flush=True)
    deadline = time.monotonic() + 60
    while not go.exists():  # start together, to collide as much as possible
        assert time.monotonic() < deadline
        time.sleep(0.001)
    for i in range(n):
        mt.log_metric("loss", 1.0 / (i + 1), step=i)
        if i % 1000 == 0:
            mt.log_metric("lr", 0.1, step=i)
"""


def test_four_processes_log_50000_points_each_into_one_store(store_path, tmp_path):
    Store(store_path).close()
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(store_path), str(go), "50000", f"w{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    run_ids = [p.stdout.readline().strip() for p in procs]
    go.touch()
    for proc in procs:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "locked" not in err
    with Store(store_path) as store:
        conn = store.thread_connection()
        for run_id in run_ids:
            run = store.get_run(run_id)
            assert run.info.status == "FINISHED"
            assert run.data.summaries["loss"].count == 50_000
            assert run.data.summaries["loss"].step == 49_999
            assert run.data.summaries["lr"].count == 50
        total = conn.execute("SELECT count(*) FROM metrics").fetchone()[0]
        assert total == 4 * (50_000 + 50)


KILLED = """
import sys
from mltop import store as mt
mt.set_store(sys.argv[1])
run = mt.start_run(run_name="doomed")
print(run.info.run_id, flush=True)
i = 0
while True:
    mt.log_metric("loss", float(i), step=i)
    i += 1
"""


def test_a_writer_killed_mid_run_leaves_whole_batches_and_reads_as_lost(store_path):
    Store(store_path).close()
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(store_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "MLTOP_HEARTBEAT_INTERVAL": "0.5"},
    )
    run_id = proc.stdout.readline().strip()
    store = Store(store_path)
    deadline = time.monotonic() + 60
    while store.get_run(run_id).data.summaries.get("loss") is None or (
        store.get_run(run_id).data.summaries["loss"].count < 30_000
    ):
        assert time.monotonic() < deadline, "the writer committed too little"
        time.sleep(0.01)
    live = store.get_run(run_id)
    assert live.info.status == "RUNNING" and not live.info.lost
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    conn = sqlite3.connect(store_path / "mltop.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    steps = [s for (s,) in conn.execute("SELECT step FROM metrics ORDER BY id")]
    assert steps == list(range(len(steps))), "a batch was committed in part"
    summary = store.get_run(run_id).data.summaries["loss"]
    assert summary.count == len(steps)
    assert summary.step == steps[-1] and summary.value == float(steps[-1])

    # The heartbeat window is three intervals (1.5 s): wait until it has passed.
    run = store.get_run(run_id)
    window_end = run.info.heartbeat_time + 3 * run.info.heartbeat_interval_ms
    time.sleep(max(0.0, window_end / 1000 - time.time()) + 0.05)
    lost = store.get_run(run_id)
    assert lost.info.status == "RUNNING"
    assert lost.info.lost and lost.info.display_status == "LOST"


def test_a_live_run_outlives_its_heartbeat_window(store_path):
    code = textwrap.dedent(f"""
        import sys, time
        from mltop import store as mt
        mt.set_store({str(store_path)!r})
        with mt.start_run() as run:
            print(run.info.run_id, flush=True)
            sys.stdin.readline()
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "MLTOP_HEARTBEAT_INTERVAL": "0.5"},
    )
    run_id = proc.stdout.readline().strip()
    store = Store(store_path)
    first = store.get_run(run_id).info.heartbeat_time
    time.sleep(2.0)  # past the 1.5 s window: a run without heartbeats would be lost by now
    info = store.get_run(run_id).info
    assert info.heartbeat_time > first
    assert not info.lost
    proc.communicate("\n", timeout=30)
    assert store.get_run(run_id).info.status == "FINISHED"


def test_processes_creating_a_new_store_at_once_all_succeed(store_path, tmp_path):
    go = tmp_path / "go"
    code = """
import sys, time
from pathlib import Path
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
from mltop.store import MltopClient
client = MltopClient(sys.argv[1])
client.create_run(run_name="first")
"""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(store_path), str(go)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    go.touch()
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with Store(store_path) as store:
        assert len(store.list_runs()) == 4
        assert [e.name for e in store.list_experiments()] == ["Default"]


FORKED = """
import os, sys
from mltop import store as mt
mt.set_store(sys.argv[1])
run = mt.start_run(run_name="parent")
for i in range(100):
    mt.log_metric("parent", float(i), step=i)   # still queued when the process forks
pid = os.fork()
if pid == 0:
    mt.log_metric("child", 1.0)
    sys.exit(0)                                  # a normal exit: atexit handlers run
_, status = os.waitpid(pid, 0)
assert status == 0, status
mt.log_metric("after", 2.0)
mt.end_run()
print(run.info.run_id)
"""


def test_a_forked_child_neither_duplicates_nor_ends_the_parents_run(store_path):
    out = subprocess.run(
        [sys.executable, "-c", FORKED, str(store_path)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    with Store(store_path) as store:
        run = store.get_run(out.stdout.strip())
        counts = {k: s.count for k, s in run.data.summaries.items()}
        assert counts == {"parent": 100, "child": 1, "after": 1}
        assert run.info.status == "FINISHED"


TERMINATED = """
import os, signal, sys, time
from mltop import store as mt
mt.set_store(sys.argv[1])
with mt.start_run(run_name="told-to-stop") as run:
    print(run.info.run_id, flush=True)
    for i in range(5000):
        mt.log_metric("loss", 1.0 / (i + 1), step=i)  # buffered: not committed yet
    os.kill(os.getpid(), signal.SIGTERM)  # kill, docker stop, scancel
    time.sleep(30)
    print("still alive", flush=True)
"""


def test_sigterm_while_logging_commits_every_point_ends_the_run_killed_and_kills(store_path):
    child = subprocess.run(
        [sys.executable, "-c", TERMINATED, str(store_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == -signal.SIGTERM, child.stderr  # died by the signal, as before
    assert "still alive" not in child.stdout and "Traceback" not in child.stderr
    run_id = child.stdout.split()[0]
    with Store(store_path) as store:
        run = store.get_run(run_id)
        assert run.info.status == "KILLED"
        assert run.data.summaries["loss"].count == 5000
        assert len(store.get_metric_history(run_id, "loss")) == 5000


OWN_HANDLER = """
import os, signal, sys
from mltop import store as mt
stopped = []
signal.signal(signal.SIGTERM, lambda signum, frame: stopped.append(signum))
mt.set_store(sys.argv[1])
with mt.start_run(run_name="handles-its-own") as run:
    os.kill(os.getpid(), signal.SIGTERM)
    print(run.info.run_id, "handled" if stopped else "not handled", flush=True)
"""


def test_a_programs_own_sigterm_handler_is_left_alone(store_path):
    child = subprocess.run(
        [sys.executable, "-c", OWN_HANDLER, str(store_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == 0, child.stderr
    run_id, verdict = child.stdout.split()
    assert verdict == "handled"
    with Store(store_path) as store:
        assert store.get_run(run_id).info.status == "FINISHED"


POOL = """
import multiprocessing, sys
from mltop import store as mt

def trial(i):
    # A worker forked from the training process logs into the active run, as a data
    # loader or a sweep's trial does; Pool workers leave by os._exit, running no atexit.
    mt.log_metric("trial", float(i), step=i)
    return i

if __name__ == "__main__":
    mt.set_store(sys.argv[1])
    with mt.start_run(run_name="pool") as run:
        with multiprocessing.get_context("fork").Pool(3) as pool:
            assert sorted(pool.map(trial, range(40))) == list(range(40))
        print(run.info.run_id)
"""


def test_points_logged_in_pool_workers_reach_the_store(store_path, tmp_path):
    script = tmp_path / "pool.py"
    script.write_text(POOL)
    out = subprocess.run(
        [sys.executable, str(script), str(store_path)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    run_id = out.stdout.split()[-1]
    with Store(store_path) as store:
        steps = sorted(p.step for p in store.get_metric_history(run_id, "trial"))
        assert steps == list(range(40))
        assert store.get_run(run_id).info.status == "FINISHED"
