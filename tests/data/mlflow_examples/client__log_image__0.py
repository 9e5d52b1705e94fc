# MLflow 3.17.2, mlflow/tracking/client.py, the docstring example of MlflowClient.log_image (Apache License 2.0), unchanged.
import mlflow
import numpy as np

image = np.random.randint(0, 256, size=(100, 100, 3), dtype=np.uint8)
with mlflow.start_run() as run:
    client = mlflow.MlflowClient()
    client.log_image(run.info.run_id, image, key="dogs", step=3)
