"""`mlflow.sklearn.autolog()` of a grid search, as MLflow's examples/sklearn_autolog does it:
one parent run, a child run per candidate, then the children found again with
`search_runs` on `tags.mlflow.parentRunId`."""

import json

import mlflow
from mlflow import MlflowClient
from sklearn import svm
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV


def logged_data(run_id):
    """The params, metrics, tags (not MLflow's own) and artifact paths of a run."""
    client = MlflowClient()
    data = client.get_run(run_id).data
    tags = {k: v for k, v in data.tags.items() if not k.startswith("mlflow.")}

    def artifacts(path=None):
        for item in client.list_artifacts(run_id, path):
            if item.is_dir:
                yield from artifacts(item.path)
            else:
                yield item.path

    return {
        "params": data.params,
        "metrics": data.metrics,
        "tags": tags,
        "artifacts": sorted(artifacts()),
    }


def main():
    mlflow.sklearn.autolog()

    X, y = make_classification(
        n_samples=120, n_features=4, n_informative=3, n_redundant=1, random_state=0
    )
    parameters = {"kernel": ("linear", "rbf"), "C": [1, 10]}
    clf = GridSearchCV(svm.SVC(), parameters)

    with mlflow.start_run() as run:
        clf.fit(X, y)

    filter_child_runs = f"tags.mlflow.parentRunId = '{run.info.run_id}'"
    runs = mlflow.search_runs(filter_string=filter_child_runs)
    children = runs[["run_id", "params.kernel", "params.C", "metrics.mean_test_score"]]
    print(children.to_string())
    print(
        json.dumps(
            {
                "parent": run.info.run_id,
                "parent_data": logged_data(run.info.run_id),
                "children": children.to_dict(orient="records"),
                "best_params": {k: str(v) for k, v in clf.best_params_.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
