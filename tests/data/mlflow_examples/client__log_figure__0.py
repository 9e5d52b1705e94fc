# MLflow 3.17.2, mlflow/tracking/client.py, the docstring example of MlflowClient.log_figure (Apache License 2.0), unchanged.
import mlflow
import matplotlib.pyplot as plt

fig, ax = plt.subplots()
ax.plot([0, 1], [2, 3])

run = client.create_run(experiment_id="0")
client.log_figure(run.info.run_id, fig, "figure.png")
