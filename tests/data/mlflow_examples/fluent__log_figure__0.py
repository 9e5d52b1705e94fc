# MLflow 3.17.2, mlflow/tracking/fluent.py, the docstring example of log_figure (Apache License 2.0), unchanged.
import mlflow
import matplotlib.pyplot as plt

fig, ax = plt.subplots()
ax.plot([0, 1], [2, 3])

with mlflow.start_run():
    mlflow.log_figure(fig, "figure.png")
