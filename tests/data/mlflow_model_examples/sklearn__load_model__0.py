# MLflow 3.17.2, mlflow/sklearn/__init__.py, the docstring example of load_model (Apache License 2.0), unchanged.
import mlflow.sklearn

sk_model = mlflow.sklearn.load_model("runs:/96771d893a5e46159d9f3b49bf9013e2/sk_models")

# use Pandas DataFrame to make predictions
pandas_df = ...
predictions = sk_model.predict(pandas_df)
