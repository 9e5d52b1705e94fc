# MLflow 3.17.2, mlflow/tracking/fluent.py, the docstring example of log_image (Apache License 2.0), unchanged.
import mlflow
from PIL import Image

image = Image.new("RGB", (100, 100))

with mlflow.start_run():
    mlflow.log_image(image, "image.png")
