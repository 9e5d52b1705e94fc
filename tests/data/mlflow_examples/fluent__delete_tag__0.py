# MLflow 3.17.2, mlflow/tracking/fluent.py, the docstring example of delete_tag (Apache License 2.0), unchanged.
import mlflow

tags = {"engineering": "ML Platform", "engineering_remote": "ML Platform"}

with mlflow.start_run() as run:
    mlflow.set_tags(tags)

with mlflow.start_run(run_id=run.info.run_id):
    mlflow.delete_tag("engineering_remote")
