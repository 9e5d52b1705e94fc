"""What an MLflow source holds, read into plain records (whatever it was read from: the
file store or the SQLite database), and the problems met reading it."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from mltop.store.imports.lines import Columns

RUN_ID = re.compile(r"[0-9a-f]{32}")
MODEL_ID = re.compile(r"m-[0-9a-f]{32}")


@dataclass(frozen=True)
class Problem:
    """Something of the source that was skipped: where (a path, or a table and row) and why."""

    where: str
    reason: str


@dataclass
class SourceExperiment:
    mlflow_id: str
    name: str
    lifecycle_stage: str
    creation_time: int | None
    last_update_time: int | None
    tags: dict[str, str] = field(default_factory=dict)
    where: str = ""


@dataclass
class SourceDatasetInput:
    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None
    profile: str | None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class SourceRun:
    run_id: str
    experiment: str  # the MLflow id of its experiment
    name: str
    status: str
    start_time: int | None
    end_time: int | None
    user_id: str
    lifecycle_stage: str
    artifact_uri: str
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    inputs: list[SourceDatasetInput] = field(default_factory=list)
    # Logged models the run used ("input") or produced ("output"): (model id, direction, step)
    model_links: list[tuple[str, str, int]] = field(default_factory=list)
    where: str = ""


@dataclass
class SourceSeries:
    """One metric of a run: its points in logging order."""

    key: str
    points: Columns
    where: str
    # Points before these that were not read (a reader that can start where the store's
    # copy ends, told by `series_after`): the store holds them already.
    skipped: int = 0


@dataclass
class SourceLoggedModel:
    model_id: str
    experiment: str
    name: str
    artifact_location: str
    creation_time: int
    last_update_time: int
    status: str
    status_message: str | None
    model_type: str | None
    source_run_id: str | None
    lifecycle_stage: str
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    # (key, value or None for NaN, step, timestamp, run id, dataset name, dataset digest)
    metrics: list[tuple] = field(default_factory=list)
    where: str = ""


@dataclass
class SourceVersion:
    version: int
    creation_time: int
    last_update_time: int
    description: str
    user_id: str
    stage: str
    source: str
    run_id: str
    run_link: str | None
    model_id: str | None
    tags: dict[str, str] = field(default_factory=dict)
    where: str = ""


@dataclass
class SourceModel:
    name: str
    creation_time: int
    last_update_time: int
    description: str
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    versions: list[SourceVersion] = field(default_factory=list)
    where: str = ""


NO_FILES = Path("/dev/null/no-files")  # the place was found, and nothing was logged there


def resolve_artifact_dir(uri: str, roots: list[Path], run_id: str | None) -> Path | None:
    """`locate` for an artifact location, or for its parent folder: when the folder that
    holds it is found and it is not, nothing was logged there (MLflow makes the folder
    with the first file): NO_FILES. So too when the run's own folder is missing from an
    experiment's folder that is found (an artifact store makes a run's folder only when
    the run logs its first file)."""
    found = locate(uri, roots, run_id)
    if found is not None:
        return found
    parent = uri.rstrip("/").rsplit("/", 1)[0] if "/" in uri.rstrip("/") else ""
    if parent and run_id is not None and run_id in parent and locate(parent, roots, run_id):
        return NO_FILES
    if run_id is not None and f"/{run_id}" in uri:
        experiment_folder = uri[: uri.index(f"/{run_id}")]
        if locate(experiment_folder, roots, None) is not None:
            return NO_FILES
    return None


def locate(uri: str, roots: list[Path], run_id: str | None) -> Path | None:
    """The local folder an artifact location names, as it is here: the path itself when it
    exists, else the same place under one of `roots` (the source store's folders), found
    by the longest tail of the path that exists there (holding the run id, when the path
    does); None for a location that is not a local path or is nowhere to be found."""
    from urllib.parse import unquote, urlsplit

    text = uri.strip()
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme in ("file", "mlflow-artifacts") or (parts.scheme == "" and text):
        path = unquote(parts.path) if parts.scheme else text
    elif len(parts.scheme) == 1:  # a Windows drive letter
        path = text
    else:
        return None
    pieces = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in pieces:
        return None
    if parts.scheme != "mlflow-artifacts" and path.startswith("/") and Path(path).is_dir():
        return Path(path)
    must = pieces.index(run_id) if run_id is not None and run_id in pieces else None
    for start in range(len(pieces)):
        if must is not None and start > must:
            break
        if must is None and len(pieces) - start < 2 and len(pieces) >= 2:
            break
        tail = pieces[start:]
        for root in roots:
            candidate = root.joinpath(*tail)
            if candidate.is_dir():
                return candidate
    return None


class SourceReader(Protocol):
    """What an import reads from a source (MLflow's file store, its database, ...)."""

    kind: str  # "file store", "SQLite database": how a summary names the source
    problems: list[Problem]  # what could not be read, gathered while reading

    def experiments(self) -> list[SourceExperiment]: ...

    def run_refs(self, exp: SourceExperiment) -> Sequence[object]:
        """Where each run of `exp` is (read one at a time by `run`)."""
        ...

    def run(self, exp: SourceExperiment, ref: object) -> SourceRun | None: ...

    def series(self, run: SourceRun) -> Iterator[SourceSeries]: ...

    def artifact_dir(self, run: SourceRun) -> Path | None: ...

    def logged_models(self, exp: SourceExperiment) -> Iterator[SourceLoggedModel]: ...

    def model_artifact_dir(self, model: SourceLoggedModel) -> Path | None: ...

    def registered_models(self) -> Iterator[SourceModel]: ...

    def close(self) -> None: ...
