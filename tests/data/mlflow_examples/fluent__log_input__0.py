# MLflow 3.17.2, mlflow/tracking/fluent.py, the docstring example of log_input (Apache License 2.0), unchanged.
import numpy as np
import mlflow

array = np.asarray([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
dataset = mlflow.data.from_numpy(array, source="data.csv")

# Log an input dataset used for training
with mlflow.start_run():
    mlflow.log_input(dataset, context="training")
