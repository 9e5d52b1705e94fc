# MLflow 3.17.2, mlflow/tracking/fluent.py, the docstring example of log_artifacts (Apache License 2.0), unchanged.
import json
import tempfile
from pathlib import Path

import mlflow

# Create some files to preserve as artifacts
features = "rooms, zipcode, median_price, school_rating, transport"
data = {"state": "TX", "Available": 25, "Type": "Detached"}
with tempfile.TemporaryDirectory() as tmp_dir:
    tmp_dir = Path(tmp_dir)
    with (tmp_dir / "data.json").open("w") as f:
        json.dump(data, f, indent=2)
    with (tmp_dir / "features.json").open("w") as f:
        f.write(features)
    # Write all files in `tmp_dir` to root artifact_uri/states
    with mlflow.start_run():
        mlflow.log_artifacts(tmp_dir, artifact_path="states")
