"""MLflow's own client writing into an mltop store, through MLflow's plugin system.

Installed with the `mlflow` extra (`pip install 'mltop[mlflow]'`), this package registers,
through the entry points MLflow documents, a tracking store (`mlflow.tracking_store`) and a
model registry store (`mlflow.model_registry_store`) for the URI scheme `mltop:`:

    MLFLOW_TRACKING_URI=mltop:///path/to/store python train.py

and every `mlflow.*` call of `train.py` (fluent logging, autolog, `log_model`, the registry)
reads and writes the mltop store at `/path/to/store`. `mltop:relative/path` and `mltop:`
alone (the store found as mltop finds it: `MLTOP_STORE`, else the nearest `.mltop/`) work too.

Artifacts need no repository of their own: runs and logged models get plain folders inside
the store as their artifact locations, which MLflow's local artifact repository writes.

This is the only part of mltop that imports MLflow; nothing imports it back.
"""
