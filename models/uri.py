"""Where a model URI's files are, and whether they may be loaded.

Forms: a folder (a path, or `file://`), `runs:/<run_id>/<path>` (a folder among the run's
artifacts, else the run's logged model called `<path>`, as MLflow 3 finds it),
`models:/<model_id>` (a logged model), and a registered version: `models:/NAME/VERSION`,
`models:/NAME/STAGE`, `models:/NAME/latest`, `models:/NAME@ALIAS`.

Before anything is loaded: a logged model must be READY and its files as recorded when it
was logged (their SHA-256), and a folder outside the store is refused unless asked for.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urlparse

from mltop.models.errors import (
    IntegrityError,
    ModelNotReadyError,
    ModelUriError,
    UntrustedModelError,
)
from mltop.store.entities import MODEL_READY, LoggedModel, ModelVersion
from mltop.store.errors import NotFoundError
from mltop.store.integrity import IntegrityReport, verify_folder
from mltop.store.protocols import TrackingStore
from mltop.store.registry import logged_model_id_of, run_id_of

# MLflow's client, loading a registered version from a local folder (the plugin's store),
# writes this file into the model's folder: the version's name and number, as YAML. It is no
# part of the model (nothing loads code from it), so the checksums pass it over.
MLFLOW_REGISTRY_NOTE = "registered_model_meta"
_RUNS = re.compile(r"^runs:/+([0-9a-fA-F]{32})(?:/(.*))?$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


@dataclass(frozen=True)
class ResolvedModel:
    """A model URI's folder, and what it is in the store (a logged model, a version)."""

    uri: str
    path: Path
    logged_model: LoggedModel | None = None
    version: ModelVersion | None = None
    run_id: str | None = None
    inside_store: bool = True


def _file_path(uri: str) -> Path:
    parsed = urlparse(uri)
    if parsed.netloc not in ("", "localhost"):
        raise ModelUriError(f"{uri!r} names another machine ({parsed.netloc}): not loadable")
    return Path(unquote(parsed.path))


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _run_model(store: TrackingStore, uri: str, run_id: str, relative: str) -> ResolvedModel:
    run = store.get_run(run_id)  # NotFoundError names the run
    root = Path(run.info.artifact_uri)
    relative = relative.strip("/")
    candidate = root / relative if relative else root
    if ".." in relative.split("/") or not _inside(candidate, root):
        raise ModelUriError(f"{uri!r} leads out of the run's artifacts")
    if candidate.is_dir():
        return ResolvedModel(uri, candidate, run_id=run.info.run_id)
    named = [
        model
        for model in store.logged_models_of_run(run.info.run_id)
        if model.name == relative and model.source_run_id == run.info.run_id
    ]
    if named:  # newest first: the last one logged under that name
        model = named[0]
        return ResolvedModel(uri, Path(model.artifact_location), model, run_id=run.info.run_id)
    raise NotFoundError(
        f"run {run.info.run_id} has no model at {relative!r}: no such folder among its "
        "artifacts and no logged model of that name"
    )


def _placed(found: ResolvedModel, store: TrackingStore) -> ResolvedModel:
    """`found`, saying whether its folder, links followed, is inside the store (a logged
    model's folder replaced by a link to elsewhere is not)."""
    return dataclasses.replace(found, inside_store=_inside(found.path, store.path))


def version_model(store: TrackingStore, version: ModelVersion, uri: str = "") -> ResolvedModel:
    """The files of a registered version: its logged model's, or the folder its `runs:/`
    source names."""
    return _placed(_version_model(store, version, uri), store)


def _version_model(store: TrackingStore, version: ModelVersion, uri: str = "") -> ResolvedModel:
    uri = uri or f"models:/{version.name}/{version.version}"
    logged_id = logged_model_id_of(version.source)
    if logged_id is not None:
        model = store.get_logged_model(logged_id)
        return ResolvedModel(
            uri, Path(model.artifact_location), model, version, version.run_id or None
        )
    run_id = run_id_of(version.source)
    if run_id is not None:
        match = _RUNS.match(version.source)
        found = _run_model(store, version.source, run_id, match.group(2) or "" if match else "")
        return ResolvedModel(
            uri, found.path, found.logged_model, version, run_id, found.inside_store
        )
    path = Path(version.source)
    return ResolvedModel(
        uri, path, None, version, version.run_id or None, _inside(path, store.path)
    )


def _plain_path(uri: str | os.PathLike[str]) -> Path | None:
    """The folder a path or `file:` URI names; None for `runs:/` and `models:/`."""
    if isinstance(uri, os.PathLike):
        return Path(uri)
    if not isinstance(uri, str) or not uri:
        raise ModelUriError(f"a model URI is a non-empty string, not {uri!r}")
    if "\x00" in uri:
        raise ModelUriError(f"{uri!r}: a model URI cannot hold a NUL character")
    if uri.startswith(("runs:", "models:")):
        return None
    scheme = _SCHEME.match(uri)
    if scheme is not None and len(scheme.group(1)) > 1:  # (C:\\ is a Windows path)
        if scheme.group(1).lower() != "file":
            raise ModelUriError(
                f"{uri!r}: mltop loads models from folders, runs:/ and models:/ URIs, not "
                f"{scheme.group(1)}: (copy the model to a folder first)"
            )
        return _file_path(uri)
    try:
        return Path(uri).expanduser()
    except (RuntimeError, KeyError):  # `~name` of no user here
        raise ModelUriError(f"{uri!r}: no home folder for {uri.split('/')[0]!r}") from None


def resolve_model_uri(uri: str | os.PathLike[str], store: TrackingStore) -> ResolvedModel:
    """The folder `uri` names (nothing checked but that it is found)."""
    return _placed(_resolve(uri, store), store)


def _resolve(uri: str | os.PathLike[str], store: TrackingStore) -> ResolvedModel:
    path = _plain_path(uri)
    if path is not None:
        return ResolvedModel(str(uri), path, inside_store=_inside(path, store.path))
    assert isinstance(uri, str)
    if uri.startswith("runs:"):
        match = _RUNS.match(uri)
        if match is None:
            raise ModelUriError(
                f"{uri!r} is not of the form runs:/<run_id>/<path> (a run id is 32 hex digits)"
            )
        return _run_model(store, uri, match.group(1).lower(), match.group(2) or "")
    logged_id = logged_model_id_of(uri)
    if logged_id is not None:
        model = store.get_logged_model(logged_id)
        path = Path(model.artifact_location)
        return ResolvedModel(
            uri, path, model, run_id=model.source_run_id, inside_store=_inside(path, store.path)
        )
    return _version_model(store, store.registry.resolve(uri), uri)


def integrity(store: TrackingStore, model: LoggedModel) -> IntegrityReport | None:
    """How a logged model's folder compares with the files recorded when it was logged;
    None when none were recorded."""
    recorded = store.logged_model_files(model.model_id)
    if not recorded:
        return None
    report = verify_folder(model.artifact_location, recorded)
    return replace(
        report,
        **{
            kind: tuple(p for p in getattr(report, kind) if p != MLFLOW_REGISTRY_NOTE)
            for kind in ("changed", "missing", "added", "unreadable")
        },
    )


def logged_model_at(store: TrackingStore, path: Path) -> LoggedModel | None:
    """The logged model whose folder `path` is (`<store>/models/<id>/artifacts`)."""
    models_dir = (store.path / "models").resolve()
    resolved = path.resolve()
    if resolved.parent.parent != models_dir or resolved.name != "artifacts":
        return None
    try:
        return store.get_logged_model(resolved.parent.name)
    except (NotFoundError, ValueError):
        return None


def check_loadable(store: TrackingStore, found: ResolvedModel, allow_outside_store: bool) -> None:
    """Raise unless the model may be loaded: inside the store (or allowed), READY, and with
    its files as recorded."""
    if not found.inside_store and not allow_outside_store:
        raise UntrustedModelError(_untrusted(found.path, store.path))
    model = found.logged_model or (logged_model_at(store, found.path))
    if model is None:
        return
    if model.status != MODEL_READY:
        why = f": {model.status_message}" if model.status_message else ""
        raise ModelNotReadyError(
            f"logged model {model.model_id} is {model.status}{why}; only READY models load"
        )
    report = integrity(store, model)
    if report is not None and not report.ok:
        raise IntegrityError(
            f"logged model {model.model_id} ({model.name}) changed since it was logged: "
            f"{report.describe()}. Loading runs the code in its files: it is refused; log the "
            "model again if the change is yours"
        )


def resolve_for_loading(
    uri: str | os.PathLike[str], *, allow_outside_store: bool = False
) -> ResolvedModel:
    """Resolve `uri` against the store the logging API uses and check it may be loaded."""
    from mltop.store import fluent
    from mltop.store.location import resolve_store_path

    path = _plain_path(uri)
    if path is not None and not _inside(path, resolve_store_path()):
        # A folder elsewhere: no store is opened (loading never creates one).
        if not allow_outside_store:
            raise UntrustedModelError(_untrusted(path, resolve_store_path()))
        if not path.is_dir():
            raise NotFoundError(f"no model folder at {path}")
        return ResolvedModel(str(uri), path, inside_store=False)
    store = fluent.get_store()
    found = resolve_model_uri(uri, store)
    if not found.path.is_dir():
        raise NotFoundError(f"{found.uri}: the model's folder {found.path} is missing")
    check_loadable(store, found, allow_outside_store)
    return found


def _untrusted(path: Path, store_path: Path) -> str:
    return (
        f"{path.absolute()} is outside the store ({store_path}); loading a model runs the code "
        "pickled in it: pass allow_outside_store=True (mltop predict: --allow-outside-store) "
        "for a model you trust"
    )
