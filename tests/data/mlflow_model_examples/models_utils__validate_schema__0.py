# MLflow 3.17.2, mlflow/models/utils.py, the docstring example of validate_schema (Apache License 2.0), unchanged.
import mlflow.models

# Suppose you've already got a model_uri
model_info = mlflow.models.get_model_info(model_uri)
# Get model signature directly
model_signature = model_info.signature
# validate schema
mlflow.models.validate_schema(input_data, model_signature.inputs)
