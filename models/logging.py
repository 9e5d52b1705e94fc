"""Logging a model: saved as a logged model of the store (MLflow 3's LoggedModel), linked to
the active run as its output, its files' checksums recorded, registered when asked."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mltop.models.errors import ModelError
from mltop.models.mlmodel import Model
from mltop.models.signature import ModelSignature
from mltop.store.entities import MODEL_FAILED, MODEL_READY, ModelVersion
from mltop.store.errors import AlreadyExistsError


@dataclass(frozen=True)
class ModelInfo:
    """What `log_model` logged, with MLflow's field names: `model_uri` loads it."""

    name: str
    model_id: str
    model_uri: str
    run_id: str | None
    artifact_path: str
    flavors: dict[str, dict[str, Any]]
    model_uuid: str
    utc_time_created: str
    signature: ModelSignature | None = None
    saved_input_example_info: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    registered_model_version: int | None = None
    path: str = ""  # the folder holding the model's files, inside the store
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def log_saved(
    save: Callable[[Path, Model], None],
    name: str | None,
    registered_model_name: str | None,
    params: dict[str, Any] | None,
    tags: dict[str, Any] | None,
    model_type: str | None,
    step: int,
    model_id: str | None,
) -> ModelInfo:
    """Create the logged model, let `save` write its folder, then mark it READY (which
    records every file's size and SHA-256). A save that fails leaves the model FAILED,
    with the reason, and raises."""
    from mltop.store import fluent

    client = fluent.get_client()
    store = client.store
    models = store.logged_models
    active = fluent.active_run()
    run_id = active.info.run_id if active is not None else None
    if model_id is not None:
        logged = models.get(model_id)
        run_id = logged.source_run_id or run_id
    if registered_model_name is not None and run_id is None:
        raise ModelError(
            f"registering {registered_model_name!r} needs the run the model came from: log it "
            "inside start_run() (a registered version links its source run; policies read it)"
        )
    if model_id is None:
        experiment = None if run_id else fluent._default_experiment_id(client)
        logged = models.create(experiment, name, run_id, tags, params, model_type)
    folder = Path(logged.artifact_location)
    meta = Model(artifact_path=logged.name, run_id=run_id, model_id=logged.model_id)
    try:
        save(folder, meta)
    except BaseException as error:
        with contextlib.suppress(Exception):
            models.finalize(logged.model_id, MODEL_FAILED, f"{type(error).__name__}: {error}")
        raise
    if run_id is not None:
        models.link_run(run_id, [(logged.model_id, step)], "output")
    logged = models.finalize(logged.model_id, MODEL_READY)
    version: ModelVersion | None = None
    if registered_model_name is not None:
        with contextlib.suppress(AlreadyExistsError):
            client.create_registered_model(registered_model_name)
        version = client.create_model_version(
            registered_model_name, logged.model_uri, run_id, model_id=logged.model_id
        )
    return ModelInfo(
        name=logged.name,
        model_id=logged.model_id,
        model_uri=logged.model_uri,
        run_id=run_id,
        artifact_path=logged.name,
        flavors=meta.flavors,
        model_uuid=meta.model_uuid,
        utc_time_created=meta.utc_time_created,
        signature=meta.signature,
        saved_input_example_info=meta.saved_input_example_info,
        metadata=meta.metadata,
        registered_model_version=version.version if version is not None else None,
        path=str(folder),
        params=dict(logged.params),
        tags=dict(logged.tags),
    )
