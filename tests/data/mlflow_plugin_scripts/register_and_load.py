"""Autologging, a model logged and registered under the name `m`, then loaded back by the
registry's URI `models:/m/1` as a pyfunc: its predictions are printed beside the fitted
model's."""

import json

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
from sklearn.datasets import make_regression
from sklearn.linear_model import Ridge

if __name__ == "__main__":
    mlflow.sklearn.autolog()
    X, y = make_regression(n_samples=200, n_features=3, noise=5.0, random_state=7)
    with mlflow.start_run() as run:
        model = Ridge(alpha=0.3).fit(X, y)
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name="m")

    loaded = mlflow.pyfunc.load_model("models:/m/1")
    print(
        json.dumps(
            {
                "run_id": run.info.run_id,
                "model_id": info.model_id,
                "registered_version": info.registered_model_version,
                "fitted": model.predict(X[:20]).tolist(),
                "loaded": [float(v) for v in loaded.predict(X[:20])],
            }
        )
    )
