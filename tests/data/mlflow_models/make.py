"""Make the model folders here with MLflow's own `mlflow.sklearn.save_model` (test data).

    python tests/data/mlflow_models/make.py      # in an environment with MLflow 3.17.2

Not run by the tests: they load what it wrote (committed) with mltop alone. Each folder is a
small scikit-learn LogisticRegression fitted on 20 fixed rows of 3 columns, saved with a
signature and an input example in one of MLflow's serialization formats; `expected.json`
holds rows to predict and what MLflow's own `mlflow.pyfunc.load_model(...).predict` and the
estimator's `predict_proba` gave for them.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).parent
COLUMNS = ["a", "b", "c"]
FORMATS = {
    "sklearn_cloudpickle": "cloudpickle",
    "sklearn_pickle": "pickle",
    "sklearn_skops": "skops",
}


def training_rows() -> tuple[list[list[float]], list[int]]:
    """20 rows, fixed: no randomness, so the fitted model is the same on every machine."""
    rows = [[(i * 7 % 11) / 10, (i * 3 % 5) / 4, i / 19] for i in range(20)]
    labels = [int(a + b + 0.5 * c > 1.0) for a, b, c in rows]
    return rows, labels


def rows_to_predict() -> list[list[float]]:
    return [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.5, 0.25, 0.9], [0.9, 0.1, 0.05], [0.1, 0.2, 0.3]]


def main() -> None:
    os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"
    import mlflow
    import mlflow.sklearn
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    rows, labels = training_rows()
    train = pd.DataFrame(rows, columns=COLUMNS)
    model = LogisticRegression(C=100.0).fit(train, labels)
    inputs = pd.DataFrame(rows_to_predict(), columns=COLUMNS)
    expected = {
        "mlflow_version": mlflow.__version__,
        "columns": COLUMNS,
        "rows": rows_to_predict(),
        "models": {},
    }
    for name, serialization_format in FORMATS.items():
        target = HERE / name
        shutil.rmtree(target, ignore_errors=True)
        mlflow.sklearn.save_model(
            model,
            str(target),
            serialization_format=serialization_format,
            input_example=train.head(3),
        )
        loaded = mlflow.pyfunc.load_model(str(target))
        estimator = mlflow.sklearn.load_model(str(target))
        expected["models"][name] = {
            "serialization_format": serialization_format,
            "predict": [int(v) for v in loaded.predict(inputs)],
            "predict_proba": estimator.predict_proba(inputs).tolist(),
        }
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    for path in sorted(HERE.rglob("*")):  # nothing here may name this machine's folders
        if path.is_file() and path.suffix in (".json", ".yaml", ".txt", ""):
            assert str(HERE) not in path.read_text(errors="replace"), path
    print(f"wrote {', '.join(FORMATS)} and expected.json with MLflow {mlflow.__version__}")


if __name__ == "__main__":
    sys.exit(main())
