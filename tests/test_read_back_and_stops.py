"""What a script logged is there when it reads it back, and when it is told to stop.

MLflow's client writes each point as it is logged; mltop's buffers them (far faster). So
that no MLflow script can tell: a read through any client commits every point this process
has queued, and SIGTERM (a pool's `terminate()`, `kill`) and SIGHUP (a closed SSH session)
commit the queues before the process dies by the signal.
"""

from __future__ import annotations

import signal
import textwrap

import pytest
from helpers import run_python

from mltop.store import MltopClient, Store


def test_a_client_reads_back_what_it_just_logged(tmp_path):
    client = MltopClient(tmp_path / "s")
    run_id = client.create_run("0").info.run_id
    client.log_metric(run_id, "m", 1.0, step=0)
    client.log_metric(run_id, "m", 2.0, step=1)
    # no flush, no wait: each read sees both points
    assert [p.value for p in client.get_metric_history(run_id, "m")] == [1.0, 2.0]
    assert client.get_run(run_id).data.metrics == {"m": 2.0}
    assert [r.info.run_id for r in client.search_runs(["0"], "metrics.m > 1")] == [run_id]
    assert [r.info.run_id for r in client.list_runs(["0"])] == [run_id]
    client.close()


def test_another_client_and_the_fluent_api_see_a_clients_points(tmp_path):
    import mltop.store as mlflow

    mlflow.set_tracking_uri(str(tmp_path / "s"))
    try:
        writer = mlflow.MlflowClient()
        run_id = writer.create_run("0").info.run_id
        writer.log_metric(run_id, "m", 3.0)
        assert mlflow.get_run(run_id).data.metrics == {"m": 3.0}
        reader = mlflow.MlflowClient()
        writer.log_metric(run_id, "m", 4.0, step=1)
        assert reader.get_run(run_id).data.metrics == {"m": 4.0}
        writer.log_metric(run_id, "n", 5.0)
        mlflow.flush()  # commits every client's points, not only the fluent API's own
        assert Store(tmp_path / "s").get_run(run_id).data.metrics == {"m": 4.0, "n": 5.0}
        writer.close()
        reader.close()
    finally:
        mlflow.set_tracking_uri(None)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_client_told_to_stop_commits_every_point_then_dies_by_the_signal(tmp_path, signum):
    store = tmp_path / "s"
    proc = run_python(
        f"""
        import os
        from mltop.store import MltopClient
        client = MltopClient({str(store)!r})
        run_id = client.create_run("0").info.run_id
        print(run_id, flush=True)
        for step in range(5000):
            client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
        os.kill(os.getpid(), {int(signum)})  # the points are still queued
        raise SystemExit("not reached")
        """,
        check=False,
    )
    assert proc.returncode == -signum, proc.stderr
    assert "Traceback" not in proc.stderr
    run_id = proc.stdout.split()[0]
    assert len(Store(store).get_metric_history(run_id, "loss")) == 5000


def test_a_closed_ssh_session_ends_the_run_killed_with_every_point(tmp_path):
    store = tmp_path / "s"
    proc = run_python(
        f"""
        import os, signal
        import mltop.store as mlflow
        mlflow.set_tracking_uri({str(store)!r})
        with mlflow.start_run() as run:
            print(run.info.run_id, flush=True)
            for step in range(5000):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
            os.kill(os.getpid(), signal.SIGHUP)
            raise SystemExit("not reached")
        """,
        check=False,
    )
    assert proc.returncode == -signal.SIGHUP, proc.stderr
    run = Store(store).get_run(proc.stdout.split()[0])
    assert run.info.status == "KILLED"
    assert run.data.summaries["loss"].count == 5000


def test_a_handler_of_the_programs_own_is_kept(tmp_path):
    store = tmp_path / "s"
    proc = run_python(
        f"""
        import os, signal
        from mltop.store import MltopClient
        seen = []
        signal.signal(signal.SIGTERM, lambda s, f: seen.append(s))
        client = MltopClient({str(store)!r})
        run_id = client.create_run("0").info.run_id
        client.log_metric(run_id, "m", 1.0)
        os.kill(os.getpid(), signal.SIGTERM)
        assert seen == [signal.SIGTERM], seen
        print("handled")
        """,
    )
    assert proc.stdout.strip() == "handled"


@pytest.mark.parametrize("method", ["spawn", "forkserver", "fork"])
def test_pool_workers_keep_every_point_when_the_pool_is_terminated(tmp_path, method):
    """Leaving `with Pool(...)` calls terminate(): SIGTERM to workers whose points may
    still be queued."""
    store = tmp_path / "s"
    script = tmp_path / "pool.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import multiprocessing as mp
            from mltop.store import MlflowClient

            def work(args):
                run_id, k = args
                client = MlflowClient({str(store)!r})
                for i in range(2000):
                    client.log_metric(run_id, f"w{{k}}", float(i), step=i)
                return k

            if __name__ == "__main__":
                client = MlflowClient({str(store)!r})
                run_id = client.create_run("0").info.run_id
                with mp.get_context({method!r}).Pool(4) as pool:
                    assert pool.map(work, [(run_id, k) for k in range(8)]) == list(range(8))
                client.set_terminated(run_id)
                print(run_id)
            """
        )
    )
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    run = Store(store).get_run(proc.stdout.split()[-1])
    assert {k: s.count for k, s in run.data.summaries.items()} == {f"w{k}": 2000 for k in range(8)}
