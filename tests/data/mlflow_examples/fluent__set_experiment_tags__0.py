# MLflow 3.17.2, mlflow/tracking/fluent.py, the docstring example of set_experiment_tags (Apache License 2.0), unchanged.
import mlflow

tags = {
    "engineering": "ML Platform",
    "release.candidate": "RC1",
    "release.version": "2.2.0",
}

# Set a batch of tags
with mlflow.start_run():
    mlflow.set_experiment_tags(tags)
