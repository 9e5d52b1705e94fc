# MLflow 3.17.2, mlflow/tracking/fluent.py, the docstring example of delete_experiment_tag (Apache License 2.0), unchanged.
import mlflow

exp = mlflow.set_experiment("test-delete-tag")
mlflow.set_experiment_tag("release.version", "1.0")
mlflow.delete_experiment_tag("release.version")
exp = mlflow.get_experiment(exp.experiment_id)
assert "release.version" not in exp.tags
