# MLflow 3.17.2, mlflow/tracking/fluent.py, the docstring example of set_experiment_tag (Apache License 2.0), unchanged.
import mlflow

with mlflow.start_run():
    mlflow.set_experiment_tag("release.version", "2.2.0")
