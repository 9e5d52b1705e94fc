# MLflow 3.17.2, mlflow/tracking/fluent.py, the docstring example of log_metric (Apache License 2.0), unchanged.
import mlflow

# Log a metric
with mlflow.start_run():
    mlflow.log_metric("mse", 2500.00)

# Log a metric in async fashion.
with mlflow.start_run():
    mlflow.log_metric("mse", 2500.00, synchronous=False)
