# MLflow 3.17.2, mlflow/tracking/client.py, the docstring example of MlflowClient.log_image (Apache License 2.0), unchanged.
import mlflow
from PIL import Image

image = Image.new("RGB", (100, 100))
with mlflow.start_run() as run:
    client = mlflow.MlflowClient()
    client.log_image(run.info.run_id, image, key="dogs", step=3)
