# MLflow 3.17.2, mlflow/tracking/fluent.py, the docstring example of set_tag (Apache License 2.0), unchanged.
import mlflow

# Set a tag.
with mlflow.start_run():
    mlflow.set_tag("release.version", "2.2.0")

# Set a tag in async fashion.
with mlflow.start_run():
    mlflow.set_tag("release.version", "2.2.1", synchronous=False)
