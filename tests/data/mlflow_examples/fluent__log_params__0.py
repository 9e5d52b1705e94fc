# MLflow 3.17.2, mlflow/tracking/fluent.py, the docstring example of log_params (Apache License 2.0), unchanged.
import mlflow

params = {"learning_rate": 0.01, "n_estimators": 10}

# Log a batch of parameters
with mlflow.start_run():
    mlflow.log_params(params)

# Log a batch of parameters in async fashion.
with mlflow.start_run():
    mlflow.log_params(params, synchronous=False)
