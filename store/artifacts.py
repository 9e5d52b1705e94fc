"""Artifacts under MLflow's `mlflow.artifacts` names: `download_artifacts`, `load_text`,
`load_dict`, `list_artifacts`. (The files themselves are kept by `artifact_repo.py`.)

    from mltop.store.artifacts import download_artifacts   # was: from mlflow.artifacts ...

An artifact is named by `run_id` and `artifact_path`, or by one `artifact_uri`: a
`runs:/<run_id>/<path>` URI, or the location `get_artifact_uri()` gave (a path, or its
`file:` URI, inside the store's artifacts). Nothing outside a run's artifacts is read.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from mltop.store.artifact_repo import ArtifactRepository, clean_relative
from mltop.store.entities import FileInfo
from mltop.store.errors import ArtifactPathError, InvalidValueError
from mltop.store.location import ARTIFACTS_DIR

if TYPE_CHECKING:
    from mltop.store.client import MltopClient

__all__ = [
    "ArtifactRepository",
    "clean_relative",
    "download_artifacts",
    "list_artifacts",
    "load_dict",
    "load_text",
]

_RUNS_URI = re.compile(r"^runs:/([0-9a-fA-F]{32})(?:/(.*))?$")


def _client(tracking_uri: str | None) -> tuple[MltopClient, bool]:
    """(the client to read with, whether it is ours to close)."""
    from mltop.store import fluent  # the backend, only when an artifact is asked for
    from mltop.store.client import MltopClient
    from mltop.store.location import store_path_from_uri

    if tracking_uri is None:
        return fluent.get_client(), False
    return MltopClient(store_path_from_uri(tracking_uri)), True


def _locate(
    client: MltopClient, artifact_uri: str | None, run_id: str | None, artifact_path: str | None
) -> tuple[str, str]:
    """(run id, path inside its artifacts) of what the caller named."""
    if artifact_uri is not None:
        if run_id is not None or artifact_path is not None:
            raise InvalidValueError(
                "give either artifact_uri, or run_id (and artifact_path), not both"
            )
        match = _RUNS_URI.match(artifact_uri)
        if match:
            return match.group(1).lower(), clean_relative(match.group(2) or "")
        parsed = urlparse(artifact_uri)
        if parsed.scheme not in ("", "file") or (parsed.scheme == "file" and parsed.netloc):
            raise InvalidValueError(
                f"artifact_uri {artifact_uri!r} is neither runs:/<run_id>/<path> nor a "
                "location in this store"
            )
        local = Path(unquote(parsed.path) if parsed.scheme == "file" else artifact_uri)
        root = Path(os.path.realpath(client.store.path / ARTIFACTS_DIR))
        try:
            inside = Path(os.path.realpath(local.absolute())).relative_to(root)
        except ValueError:
            raise ArtifactPathError(
                f"{artifact_uri!r} is not inside the store's artifacts ({root})"
            ) from None
        if not inside.parts:
            raise InvalidValueError(f"{artifact_uri!r} names no run's artifacts")
        return inside.parts[0], "/".join(inside.parts[1:])
    if run_id is None:
        raise InvalidValueError("give artifact_uri, or run_id (and artifact_path)")
    return run_id, clean_relative(artifact_path or "")


def download_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    dst_path: str | None = None,
    tracking_uri: str | None = None,
) -> str:
    """Copy an artifact file or folder into `dst_path` (a new temporary folder when None);
    the local path of the copy, as MLflow's `mlflow.artifacts.download_artifacts`."""
    client, own = _client(tracking_uri)
    try:
        run, path = _locate(client, artifact_uri, run_id, artifact_path)
        return client.download_artifacts(run, path, dst_path)
    finally:
        if own:
            client.close()


def list_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    tracking_uri: str | None = None,
) -> list[FileInfo]:
    """The files and folders directly in an artifact folder."""
    client, own = _client(tracking_uri)
    try:
        run, path = _locate(client, artifact_uri, run_id, artifact_path)
        return client.list_artifacts(run, path or None)
    finally:
        if own:
            client.close()


def load_text(artifact_uri: str) -> str:
    """An artifact's text (UTF-8)."""
    client, _own = _client(None)
    run, path = _locate(client, artifact_uri, None, None)
    with client.open_artifact(run, path, "rb") as f:
        data: bytes = f.read()
    return data.decode("utf-8")


def load_dict(artifact_uri: str) -> Any:
    """An artifact read as JSON."""
    try:
        return json.loads(load_text(artifact_uri))
    except json.JSONDecodeError as exc:
        raise InvalidValueError(f"{artifact_uri!r} is not JSON: {exc}") from None
