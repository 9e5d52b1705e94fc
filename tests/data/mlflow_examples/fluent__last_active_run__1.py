# MLflow 3.17.2, mlflow/tracking/fluent.py, the docstring example of last_active_run (Apache License 2.0), unchanged.
import mlflow

mlflow.start_run()
mlflow.end_run()
run = mlflow.last_active_run()
