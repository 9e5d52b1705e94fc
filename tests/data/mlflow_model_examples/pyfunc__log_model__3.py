# MLflow 3.17.2, mlflow/pyfunc/__init__.py, the docstring example of log_model (Apache License 2.0), unchanged.
from mlflow.models import infer_signature

train = df.drop_column("target_label")
predictions = ...  # compute model predictions
signature = infer_signature(train, predictions)
