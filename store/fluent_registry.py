"""`register_model`, as MLflow's fluent `mlflow.register_model`: a model a run logged
(`runs:/<run_id>/path`) or a registered version (`models:/NAME/VERSION`, `@ALIAS`, ...)
becomes the next version of a registered model, created when missing."""

from __future__ import annotations

import contextlib
from typing import Any

from mltop.store.client_registry import AWAIT_SECONDS
from mltop.store.entities import ModelVersion
from mltop.store.errors import AlreadyExistsError, InvalidValueError
from mltop.store.fluent import get_client


def register_model(
    model_uri: str,
    name: str,
    await_registration_for: int = AWAIT_SECONDS,
    *,
    tags: dict[str, Any] | None = None,
    env_pack: Any = None,
) -> ModelVersion:
    """Register the model at `model_uri` under `name` and return the new version. The
    version's source is `model_uri` itself for a `runs:/` URI (the run must be in the
    store), or the source of the version a `models:/` URI names. `await_registration_for`
    is accepted and not needed: a version is READY once registered."""
    if env_pack is not None:
        raise InvalidValueError("env_pack is a Databricks feature; mltop has none, pass None")
    client = get_client()
    registry = client.store.registry
    source, run_id = model_uri, None
    if isinstance(model_uri, str) and model_uri.startswith("models:/"):
        found = registry.resolve(model_uri)
        source, run_id = found.source, found.run_id
    with contextlib.suppress(AlreadyExistsError):
        client.create_registered_model(name)
    return client.create_model_version(name, source, run_id, tags)
