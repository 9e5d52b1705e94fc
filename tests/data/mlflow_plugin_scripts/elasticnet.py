"""An elastic net trained as MLflow's examples/sklearn_elasticnet_wine trains one, on data made
here (no download): params and metrics in a run, then the model logged with a signature
inferred from the data and an input example.

    python elasticnet.py [alpha] [l1_ratio]
"""

import json
import sys

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from sklearn.datasets import make_regression
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split


def eval_metrics(actual, pred):
    rmse = np.sqrt(mean_squared_error(actual, pred))
    mae = mean_absolute_error(actual, pred)
    r2 = r2_score(actual, pred)
    return rmse, mae, r2


if __name__ == "__main__":
    X, y = make_regression(n_samples=400, n_features=6, noise=10.0, random_state=40)
    columns = [f"feature_{i}" for i in range(X.shape[1])]
    data = pd.DataFrame(X, columns=columns)
    data["quality"] = y
    train, test = train_test_split(data, random_state=40)
    train_x = train.drop(["quality"], axis=1)
    test_x = test.drop(["quality"], axis=1)
    train_y = train[["quality"]]
    test_y = test[["quality"]]

    alpha = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
    l1_ratio = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5

    mlflow.set_experiment("elasticnet")
    with mlflow.start_run() as run:
        lr = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=42)
        lr.fit(train_x, train_y)
        predicted = lr.predict(test_x)
        (rmse, mae, r2) = eval_metrics(test_y, predicted)

        mlflow.log_param("alpha", alpha)
        mlflow.log_param("l1_ratio", l1_ratio)
        mlflow.log_metric("rmse", rmse)
        mlflow.log_metric("r2", r2)
        mlflow.log_metric("mae", mae)

        signature = infer_signature(train_x, lr.predict(train_x))
        info = mlflow.sklearn.log_model(
            lr, name="model", signature=signature, input_example=train_x.head(3)
        )

    print(
        json.dumps(
            {
                "run_id": run.info.run_id,
                "experiment_id": run.info.experiment_id,
                "model_id": info.model_id,
                "model_uri": info.model_uri,
                "rmse": float(rmse),
                "r2": float(r2),
                "mae": float(mae),
                "columns": columns,
            }
        )
    )
