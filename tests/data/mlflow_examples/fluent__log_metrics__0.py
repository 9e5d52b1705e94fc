# MLflow 3.17.2, mlflow/tracking/fluent.py, the docstring example of log_metrics (Apache License 2.0), unchanged.
import mlflow

metrics = {"mse": 2500.00, "rmse": 50.00}

# Log a batch of metrics
with mlflow.start_run():
    mlflow.log_metrics(metrics)

# Log a batch of metrics in async fashion.
with mlflow.start_run():
    mlflow.log_metrics(metrics, synchronous=False)
