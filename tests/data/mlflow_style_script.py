"""A training script written for MLflow 3.17 (`import mlflow`), as its users write them.

tests/test_mlflow_script.py changes only its imports and runs it; then it checks, from a
separate process, what landed in the store. Every call the script makes is MLflow's, with
MLflow's parameter names and positions. The one mltop addition is `comment=` on the move into
Production: mltop requires a reason for a change of what is in Production.
"""

import json
import math
import os
import sys
import time

import matplotlib
import mlflow
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from mlflow import MlflowClient
from mlflow.artifacts import download_artifacts
from mlflow.entities import Metric, Param, RunTag, ViewType
from PIL import Image

matplotlib.use("Agg")
import matplotlib.pyplot as plt

store = sys.argv[1]
out = {}

mlflow.set_tracking_uri(f"file://{store}")
out["tracking_uri"] = mlflow.get_tracking_uri()

# MLflow's quick start: no start_run, the first log starts a run.
mlflow.log_param("auto", "yes")
auto_id = mlflow.active_run().info.run_id
mlflow.end_run()
out["auto_id"] = auto_id
out["last_active"] = mlflow.last_active_run().info.run_id

experiment = mlflow.set_experiment("mlflow-style")
train_df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
with mlflow.start_run(run_name="parent") as parent:
    mlflow.log_params({"lr": 0.01, "optimizer": "adam"})
    for step in range(5):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.log_metrics({"acc": 0.9, "odd": math.nan})
    mlflow.set_tag("team", "vision")
    mlflow.set_tags({"stage": "dev"})
    mlflow.log_dict({"a": 1}, "config/params.json")
    mlflow.log_text("hello", "notes.txt")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    mlflow.log_figure(fig, "plots/line.png")
    mlflow.log_figure(go.Figure(go.Scatter(x=[0, 1], y=[2, 3])), "plots/scatter.html")
    mlflow.log_image(np.zeros((8, 8, 3), dtype=np.uint8), "images/black.png")
    mlflow.log_image(Image.new("RGB", (4, 4)), key="samples", step=2)
    mlflow.log_table({"a": [1, 2], "b": ["x", "y"]}, "table.json")
    mlflow.log_input(
        mlflow.data.from_pandas(train_df, source="train.csv", name="iris-train"), context="training"
    )
    with mlflow.start_run(run_name="child", nested=True) as child:
        mlflow.log_metric("loss", 0.5)
        mlflow.log_metric("loss", math.inf, step=1)
    with mlflow.start_run(run_name="child-2", nested=True) as child2:
        mlflow.log_metric("loss", 0.25)
out["parent"] = parent.info.run_id
out["child"] = child.info.run_id
out["child2"] = child2.info.run_id

client = MlflowClient()
# Positional calls in MLflow's order.
exp_id = client.create_experiment("low-level", None, {"k": "v"})
run = client.create_run(exp_id, int(time.time() * 1000), {"t": "1"}, "low-run")
rid = run.info.run_id
client.log_metric(rid, "m", 1.5, 1_700_000_000_000, 7)
client.log_batch(
    rid, [Metric("b", 2.0, 1_700_000_000_001, 3)], [Param("p", "v")], [RunTag("rt", "x")]
)
client.log_param(rid, "q", 3)
client.set_tag(rid, "mlflow.note.content", "a note")
client.set_terminated(rid, "FINISHED")
out["low"] = rid
out["m_history"] = [(m.value, m.timestamp, m.step) for m in client.get_metric_history(rid, "m")]
out["b_history"] = [(m.value, m.timestamp, m.step) for m in client.get_metric_history(rid, "b")]

found = client.search_runs(
    [experiment.experiment_id], "", ViewType.ACTIVE_ONLY, 100, ["metrics.loss ASC"]
)
out["by_loss"] = [r.info.run_name for r in found]
out["children"] = sorted(
    r.info.run_name
    for r in client.search_runs(
        [experiment.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
)
out["named"] = [
    r.info.run_id
    for r in client.search_runs([experiment.experiment_id], "tags.`mlflow.runName` = 'child'")
]
out["bare"] = len(client.search_runs([experiment.experiment_id], "status = 'FINISHED'"))
out["dataset"] = [
    r.info.run_name
    for r in client.search_runs([experiment.experiment_id], "dataset.name = 'iris-train'")
]
out["parent_tags"] = {
    k: v for k, v in client.get_run(parent.info.run_id).data.tags.items() if k.startswith("mlflow.")
}
out["child_parent_tag"] = client.get_run(child.info.run_id).data.tags.get("mlflow.parentRunId")
out["experiments"] = [e.name for e in client.search_experiments(ViewType.ACTIVE_ONLY, 100)]
out["all_experiments"] = sorted(e.name for e in mlflow.search_experiments())

df = mlflow.search_runs(order_by=["metrics.loss DESC"])
out["df_type"] = type(df).__name__
out["df_columns"] = sorted(c for c in df.columns if not c.startswith("tags.mltop"))
out["df_names"] = list(df["tags.mlflow.runName"])
everywhere = mlflow.search_runs(search_all_experiments=True, output_format="list")
out["all_runs"] = len(everywhere)

client.delete_run(rid)
out["deleted"] = [r.info.run_id for r in client.search_runs([exp_id], "", ViewType.DELETED_ONLY)]
client.restore_run(rid)

local = download_artifacts(run_id=parent.info.run_id, artifact_path="config")
out["downloaded"] = sorted(os.listdir(local))
with open(client.download_artifacts(parent.info.run_id, "config/params.json")) as f:
    out["downloaded_file"] = json.load(f)

# The registry, under MLflow's names.
mv1 = mlflow.register_model(f"runs:/{parent.info.run_id}/model", "classifier")
client.update_model_version("classifier", mv1.version, description="first")
mv2 = client.create_model_version(
    "classifier", f"runs:/{child.info.run_id}/model", child.info.run_id
)
client.transition_model_version_stage("classifier", mv1.version, "Staging")
same = client.transition_model_version_stage("classifier", mv1.version, "Staging")  # no-op
client.transition_model_version_stage(
    "classifier", mv2.version, "Production", comment="beats v1 on val"
)
client.set_registered_model_alias("classifier", "champion", mv2.version)
client.set_registered_model_tag("classifier", "task", "cls")
client.set_model_version_tag("classifier", mv2.version, "validated", "yes")
out["same_stage"] = same.current_stage
model = client.get_registered_model("classifier")
out["latest"] = sorted((v.current_stage, str(v.version)) for v in model.latest_versions)
out["model_times"] = [model.creation_timestamp > 0, model.last_updated_timestamp > 0]
out["by_alias"] = str(client.get_model_version_by_alias("classifier", "champion").version)
out["latest_prod"] = [
    str(v.version) for v in client.get_latest_versions("classifier", ["Production"])
]
out["searched_models"] = [m.name for m in client.search_registered_models("name LIKE 'class%'")]
out["searched_versions"] = sorted(
    str(v.version) for v in client.search_model_versions(f"run_id = '{child.info.run_id}'")
)
mv = client.get_model_version("classifier", mv1.version)
out["mv1"] = [mv.description, mv.current_stage, mv.status]
client.delete_registered_model_alias("classifier", "champion")
out["aliases_after"] = dict(client.get_registered_model("classifier").aliases)

print(json.dumps(out))
