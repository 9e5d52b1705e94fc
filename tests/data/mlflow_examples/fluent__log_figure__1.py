# MLflow 3.17.2, mlflow/tracking/fluent.py, the docstring example of log_figure (Apache License 2.0), unchanged.
import mlflow
from plotly import graph_objects as go

fig = go.Figure(go.Scatter(x=[0, 1], y=[2, 3]))

with mlflow.start_run():
    mlflow.log_figure(fig, "figure.html")
