# MLflow 3.17.2, mlflow/tracking/fluent.py, the docstring example of active_run (Apache License 2.0), unchanged.
import mlflow

mlflow.start_run()
run = mlflow.active_run()
print(f"Active run_id: {run.info.run_id}")
mlflow.end_run()
