"""`register_model`, as MLflow's fluent `mlflow.register_model`: a model a run logged
(`runs:/<run_id>/path`) or a registered version (`models:/NAME/VERSION`, `@ALIAS`, ...)
becomes the next version of a registered model, created when missing."""

from __future__ import annotations

import contextlib
from typing import Any

from mltop.store.client_registry import (
    AWAIT_SECONDS,
    MODEL_SEARCH_DEFAULT_MAX_RESULTS,
    VERSION_SEARCH_DEFAULT_MAX_RESULTS,
)
from mltop.store.entities import ModelVersion, RegisteredModel
from mltop.store.errors import AlreadyExistsError, InvalidValueError
from mltop.store.fluent import get_client
from mltop.store.registry import logged_model_id_of


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
    store) or a logged model's `models:/<model_id>` (its run is the version's), or the
    source of the version a `models:/NAME/...` URI names. `await_registration_for`
    is accepted and not needed: a version is READY once registered."""
    if env_pack is not None:
        raise InvalidValueError("env_pack is a Databricks feature; mltop has none, pass None")
    client = get_client()
    registry = client.store.registry
    source, run_id = model_uri, None
    logged_id = logged_model_id_of(model_uri) if isinstance(model_uri, str) else None
    if logged_id is not None:  # MLflow 3's logged model: the version links its run
        run_id = client.store.get_logged_model(logged_id).source_run_id
    elif isinstance(model_uri, str) and model_uri.startswith("models:/"):
        found = registry.resolve(model_uri)
        source, run_id = found.source, found.run_id
    with contextlib.suppress(AlreadyExistsError):
        client.create_registered_model(name)
    return client.create_model_version(name, source, run_id, tags)


def _every_page(
    search: Any,
    filter_string: str | None,
    order_by: list[str] | None,
    max_results: int | None,
    page_size: int,
) -> list[Any]:
    found: list[Any] = []
    token = None
    while True:
        want = page_size if max_results is None else min(page_size, max_results - len(found))
        page = search(filter_string, want, order_by, token)
        found.extend(page)
        token = page.token
        if token is None or (max_results is not None and len(found) >= max_results):
            return found


def search_registered_models(
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[RegisteredModel]:
    """Every registered model matching the filter (at most `max_results`), as MLflow's
    fluent `mlflow.search_registered_models`; see MltopClient.search_registered_models."""
    client = get_client()
    return _every_page(
        client.search_registered_models,
        filter_string,
        order_by,
        max_results,
        MODEL_SEARCH_DEFAULT_MAX_RESULTS,
    )


def search_model_versions(
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[ModelVersion]:
    """Every model version matching the filter (at most `max_results`), as MLflow's fluent
    `mlflow.search_model_versions`; see MltopClient.search_model_versions."""
    client = get_client()
    return _every_page(
        client.search_model_versions,
        filter_string,
        order_by,
        max_results,
        VERSION_SEARCH_DEFAULT_MAX_RESULTS,
    )


def set_model_version_tag(
    name: str, version: str | None = None, key: str | None = None, value: Any = None
) -> None:
    """Set a tag of a model version, as MLflow's fluent `mlflow.set_model_version_tag`."""
    get_client().set_model_version_tag(name, version, key, value)
