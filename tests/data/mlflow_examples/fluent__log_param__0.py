# MLflow 3.17.2, mlflow/tracking/fluent.py, the docstring example of log_param (Apache License 2.0), unchanged.
import mlflow

with mlflow.start_run():
    value = mlflow.log_param("learning_rate", 0.01)
    assert value == 0.01
    value = mlflow.log_param("learning_rate", 0.02, synchronous=False)
