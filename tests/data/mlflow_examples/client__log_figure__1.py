# MLflow 3.17.2, mlflow/tracking/client.py, the docstring example of MlflowClient.log_figure (Apache License 2.0), unchanged.
import mlflow
from plotly import graph_objects as go

fig = go.Figure(go.Scatter(x=[0, 1], y=[2, 3]))

run = client.create_run(experiment_id="0")
client.log_figure(run.info.run_id, fig, "figure.html")
