# MLflow 3.17.2, mlflow/pyfunc/__init__.py, the docstring example of log_model (Apache License 2.0), unchanged.
from typing import List
import mlflow


def predict(model_input: List[str]) -> List[str]:
    return [i.upper() for i in model_input]


with mlflow.start_run():
    model_info = mlflow.pyfunc.log_model(
        name="model", python_model=predict, input_example=["a"]
    )

loaded_model = mlflow.pyfunc.load_model(model_uri=model_info.model_uri)
print(loaded_model.predict(["a", "b", "c"]))  # -> ["A", "B", "C"]
