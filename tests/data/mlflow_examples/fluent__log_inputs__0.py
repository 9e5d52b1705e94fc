# MLflow 3.17.2, mlflow/tracking/fluent.py, the docstring example of log_inputs (Apache License 2.0), unchanged.
import numpy as np
import mlflow

array = np.asarray([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
dataset = mlflow.data.from_numpy(array, source="data.csv")

array2 = np.asarray([[-1, 2, 3], [-4, 5, 6]])
dataset2 = mlflow.data.from_numpy(array2, source="data2.csv")

# Log 2 input datasets used for training and test,
# the training dataset has no tag.
# the test dataset has tags `{"my_tag": "tag_value"}`.
with mlflow.start_run():
    mlflow.log_inputs(
        [dataset, dataset2],
        contexts=["training", "test"],
        tags_list=[None, {"my_tag": "tag_value"}],
        models=None,
    )
