# MLflow 3.17.2, mlflow/tracking/fluent.py, the docstring example of get_artifact_uri (Apache License 2.0), unchanged.
import tempfile

import mlflow

features = "rooms, zipcode, median_price, school_rating, transport"
with tempfile.NamedTemporaryFile("w") as tmp_file:
    tmp_file.write(features)
    tmp_file.flush()

    # Log the artifact in a directory "features" under the root artifact_uri/features
    with mlflow.start_run():
        mlflow.log_artifact(tmp_file.name, artifact_path="features")

        # Fetch the artifact uri root directory
        artifact_uri = mlflow.get_artifact_uri()
        print(f"Artifact uri: {artifact_uri}")

        # Fetch a specific artifact uri
        artifact_uri = mlflow.get_artifact_uri(artifact_path="features/features.txt")
        print(f"Artifact uri: {artifact_uri}")
