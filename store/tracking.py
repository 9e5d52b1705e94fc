"""`mlflow.tracking`'s client under its MLflow name: `mltop.store.tracking.MlflowClient`, so
that `mlflow.tracking.MlflowClient()` ports by changing the import of `mlflow` alone."""

from mltop.store.client import MltopClient

MlflowClient = MltopClient

__all__ = ["MlflowClient", "MltopClient"]
