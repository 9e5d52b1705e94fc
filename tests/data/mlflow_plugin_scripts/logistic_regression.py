"""A logistic regression as MLflow's examples/sklearn_logistic_regression logs it: no
`start_run`; the score goes up with `log_metric` (which starts the run) and the model with
`log_model`, a signature and an input example."""

import json

import mlflow
import mlflow.sklearn
import numpy as np
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

if __name__ == "__main__":
    X = np.array([-2, -1, 0, 1, 2, 1]).reshape(-1, 1)
    y = np.array([0, 0, 1, 1, 1, 0])
    lr = LogisticRegression()
    lr.fit(X, y)
    score = lr.score(X, y)
    mlflow.log_metric("score", score)
    predictions = lr.predict(X)
    signature = infer_signature(X, predictions)
    info = mlflow.sklearn.log_model(lr, name="model", signature=signature, input_example=X)
    print(
        json.dumps(
            {
                "run_id": mlflow.active_run().info.run_id,
                "model_id": info.model_id,
                "model_uri": info.model_uri,
                "score": score,
                "predictions": predictions.tolist(),
            }
        )
    )
