"""`mlflow.exceptions` under MLflow's name: every mltop error is an `MltopError`, which
`MlflowException` names, so `except MlflowException:` catches what it caught in MLflow."""

from mltop.store.errors import MltopError

MlflowException = MltopError

__all__ = ["MlflowException"]
