"""Fluent logging with no `start_run`, as MLflow's examples/quickstart does it: the first
`log_param` starts a run, the metric is logged three times, a folder of outputs goes up with
`log_artifacts`, and the run ends when the interpreter exits."""

import json
import os

from mlflow import active_run, log_artifacts, log_metric, log_param

if __name__ == "__main__":
    log_param("param1", 42)

    log_metric("foo", 0.25)
    log_metric("foo", 1.25)
    log_metric("foo", 2.25)

    os.makedirs("outputs/nested", exist_ok=True)
    with open("outputs/test.txt", "w") as f:
        f.write("hello world!")
    with open("outputs/nested/numbers.csv", "w") as f:
        f.write("a,b\n1,2\n")
    log_artifacts("outputs")

    print(json.dumps({"run_id": active_run().info.run_id}))
