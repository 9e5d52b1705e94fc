"""One of several processes logging into one store at once, through MLflow's client: a run
named after the first argument in the experiment `shared` (made by whichever process comes
first), ten params, then N points of one metric in batches and N of another one by one.

    python log_points.py NAME N [READY_FOLDER PROCESSES]

With READY_FOLDER, the process says it is ready there once its run exists, and starts
logging points only when PROCESSES processes have said so: their logging overlaps. It prints
its run id and when it logged (wall-clock seconds), so that the overlap can be checked.
"""

import json
import sys
import time
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param


def wait_for_the_others(folder, name, processes):
    folder = Path(folder)
    (folder / f"{name}.ready").touch()
    deadline = time.monotonic() + 120
    while len(list(folder.glob("*.ready"))) < processes:
        if time.monotonic() > deadline:
            raise SystemExit(f"{name}: the other processes never got ready")
        time.sleep(0.01)


if __name__ == "__main__":
    name, n = sys.argv[1], int(sys.argv[2])
    experiment = mlflow.set_experiment("shared")
    client = MlflowClient()
    run_id = client.create_run(experiment.experiment_id, run_name=name).info.run_id
    client.log_batch(run_id, params=[Param(f"p{i}", f"{name}-{i}") for i in range(10)])
    if len(sys.argv) > 3:
        wait_for_the_others(sys.argv[3], name, int(sys.argv[4]))
    started = time.time()
    now = int(started * 1000)
    for lo in range(0, n, 500):
        batch = [Metric("batched", float(i), now, i) for i in range(lo, min(lo + 500, n))]
        client.log_batch(run_id, metrics=batch)
    for i in range(n):
        client.log_metric(run_id, "single", float(i), step=i)
    client.set_terminated(run_id)
    print(json.dumps({"run_id": run_id, "started": started, "ended": time.time()}))
