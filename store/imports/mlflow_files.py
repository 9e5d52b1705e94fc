"""MLflow's file store (an `mlruns/` folder) read without MLflow.

    mlruns/<exp id>/meta.yaml           an experiment (deleted ones under mlruns/.trash/)
    mlruns/<exp id>/tags/<key>          its tags, one file each (a key with '/' nests)
    mlruns/<exp id>/<run id>/meta.yaml  a run; params/, tags/, metrics/ (a line a point:
                                        "timestamp value step"), artifacts/, inputs/
    mlruns/<exp id>/datasets/<id>/meta.yaml   the datasets its runs used
    mlruns/<exp id>/models/<model id>/  MLflow 3's logged models: meta.yaml, params/,
                                        tags/, metrics/, artifacts/
    mlruns/models/<name>/meta.yaml      the registry: a model, its tags/ and aliases/,
    mlruns/models/<name>/version-<n>/   and each version (meta.yaml, tags/)

Whatever cannot be read (a corrupt meta.yaml, a missing folder, a file that is not text)
is recorded as a `Problem` with its path and skipped; reading goes on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mltop.store.imports.lines import parse_metric_file
from mltop.store.imports.records import (
    Problem,
    SourceDatasetInput,
    SourceExperiment,
    SourceLoggedModel,
    SourceModel,
    SourceRun,
    SourceSeries,
    SourceVersion,
    resolve_artifact_dir,
)

TRASH = ".trash"
REGISTRY = "models"
# Folders of an experiment that are not runs.
RESERVED = {"tags", "datasets", "models", "traces", "evaluation_datasets", "scorers", TRASH}
RUN_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
SOURCE_TYPE = {1: "NOTEBOOK", 2: "JOB", 3: "PROJECT", 4: "LOCAL", 1000: "UNKNOWN"}
MODEL_STATUS = {0: "PENDING", 1: "PENDING", 2: "READY", 3: "FAILED"}


class BadFile(Exception):
    """A file of the source that cannot be read as what it should be."""


def _yaml_loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_meta(path: Path) -> dict[str, Any]:
    """A meta.yaml as a mapping; BadFile when it is missing, unreadable or not a mapping."""
    import yaml

    try:
        text = path.read_bytes()
    except OSError as exc:
        raise BadFile(f"cannot be read ({exc.strerror or exc})") from exc
    try:
        data = yaml.load(text, Loader=_yaml_loader())
    except yaml.YAMLError as exc:
        raise BadFile(f"is not valid YAML ({str(exc).splitlines()[0]})") from exc
    if not isinstance(data, dict):
        raise BadFile("is not a YAML mapping (an empty or truncated file?)")
    return data


def _int(value: object, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise BadFile(f"has a {what} that is not a number: {value!r:.60}")
    try:
        return int(value)
    except ValueError:
        raise BadFile(f"has a {what} that is not a number: {value!r:.60}") from None


def _text(value: object) -> str:
    return "" if value is None else str(value)


class FileStoreReader:
    """An MLflow file store's contents, read as records; `problems` gathers what was
    skipped."""

    kind = "file store"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def close(self) -> None:
        pass

    def problem(self, path: Path | str, reason: str) -> None:
        self.problems.append(Problem(str(path), reason))

    def _entries(self, folder: Path) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(folder) as found:
                return sorted(found, key=lambda e: e.name)
        except FileNotFoundError:
            return []
        except OSError as exc:
            self.problem(folder, f"cannot be listed ({exc.strerror or exc})")
            return []

    def key_values(self, folder: Path) -> dict[str, str]:
        """Files under `folder` as {key: text}; a key with '/' is a nested path."""
        out: dict[str, str] = {}
        for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
            dirnames.sort()
            base = Path(dirpath)
            for name in sorted(filenames):
                path = base / name
                key = path.relative_to(folder).as_posix()
                if path.is_symlink():
                    self.problem(path, "a symbolic link: not read")
                    continue
                try:
                    out[key] = path.read_bytes().decode("utf-8")
                except UnicodeDecodeError:
                    self.problem(path, "is not UTF-8 text")
                except OSError as exc:
                    self.problem(path, f"cannot be read ({exc.strerror or exc})")
        return out

    # -- experiments and runs ------------------------------------------------------------

    def experiments(self) -> list[SourceExperiment]:
        if not self.root.is_dir():
            self.problem(self.root, "is not a folder")
            return []
        found = []
        folders = [e for e in self._entries(self.root) if e.name not in (TRASH, REGISTRY)]
        folders += self._entries(self.root / TRASH)
        for entry in folders:
            if not entry.is_dir(follow_symlinks=False) or entry.name.startswith("."):
                continue
            folder = Path(entry.path)
            meta_path = folder / "meta.yaml"
            try:
                meta = read_meta(meta_path)
                exp_id = _text(meta.get("experiment_id"))
                name = meta.get("name")
                if not isinstance(name, str) or not name:
                    raise BadFile("has no experiment name")
                exp = SourceExperiment(
                    mlflow_id=exp_id or entry.name,
                    name=name,
                    lifecycle_stage=_text(meta.get("lifecycle_stage")) or "active",
                    creation_time=_int(meta.get("creation_time"), "creation_time"),
                    last_update_time=_int(meta.get("last_update_time"), "last_update_time"),
                    tags=self.key_values(folder / "tags"),
                    where=str(folder),
                )
            except BadFile as exc:
                self.problem(meta_path, f"{exc}: experiment skipped, with its runs")
                continue
            if folder.parent.name == TRASH:
                exp.lifecycle_stage = "deleted"
            found.append(exp)
        return found

    def run_refs(self, exp: SourceExperiment) -> list[Path]:
        return [
            Path(e.path)
            for e in self._entries(Path(exp.where))
            if e.name not in RESERVED and e.is_dir(follow_symlinks=False)
        ]

    def run(self, exp: SourceExperiment, ref: object) -> SourceRun | None:
        folder = Path(str(ref))
        meta_path = folder / "meta.yaml"
        try:
            meta = read_meta(meta_path)
            run_id = _text(meta.get("run_id") or meta.get("run_uuid"))
            if run_id != folder.name:
                raise BadFile(f"names run {run_id!r}, not its folder's {folder.name!r}")
            named = {v: k for k, v in RUN_STATUS.items()}.get(_text(meta.get("status")).upper())
            status = named or _int(meta.get("status"), "status")
            if status not in RUN_STATUS:
                raise BadFile(f"has an unknown run status {meta.get('status')!r:.40}")
            tags = self.key_values(folder / "tags")
            run = SourceRun(
                run_id=run_id,
                experiment=exp.mlflow_id,
                name=_text(meta.get("run_name")) or tags.get("mlflow.runName", ""),
                status=RUN_STATUS[status],
                start_time=_int(meta.get("start_time"), "start_time"),
                end_time=_int(meta.get("end_time"), "end_time"),
                user_id=_text(meta.get("user_id")),
                lifecycle_stage=_text(meta.get("lifecycle_stage")) or "active",
                artifact_uri=_text(meta.get("artifact_uri")),
                tags=tags,
                params=self.key_values(folder / "params"),
                where=str(folder),
            )
            source_type = meta.get("source_type")
            if isinstance(source_type, int) and source_type in SOURCE_TYPE:
                run.tags.setdefault("mlflow.source.type", SOURCE_TYPE[source_type])
            for field, tag in (
                ("source_name", "mlflow.source.name"),
                ("source_version", "mlflow.source.git.commit"),
                ("entry_point_name", "mlflow.project.entryPoint"),
            ):
                if meta.get(field):
                    run.tags.setdefault(tag, _text(meta[field]))
        except BadFile as exc:
            self.problem(meta_path, f"{exc}: run skipped")
            return None
        run.inputs = self._inputs(exp, folder, run.model_links)
        for entry in self._entries(folder / "outputs"):
            meta_path = Path(entry.path) / "meta.yaml"
            try:
                meta = read_meta(meta_path)
                step = _int(meta.get("step"), "step") or 0
            except BadFile as exc:
                self.problem(meta_path, f"{exc}: model output skipped")
                continue
            # MLflow names the folder after the model (its meta.yaml swaps the two ids).
            run.model_links.append((entry.name, "output", step))
        return run

    def _inputs(
        self, exp: SourceExperiment, folder: Path, links: list[tuple[str, str, int]]
    ) -> list[SourceDatasetInput]:
        """The run's dataset inputs; the logged models it used are added to `links`."""
        found = []
        datasets = Path(exp.where) / "datasets"
        for entry in self._entries(folder / "inputs"):
            meta_path = Path(entry.path) / "meta.yaml"
            try:
                meta = read_meta(meta_path)
                if meta.get("source_type") == "MODEL":
                    links.append((_text(meta.get("source_id")), "input", 0))
                    continue
                if meta.get("source_type") != "DATASET":
                    continue
                dataset_path = datasets / _text(meta.get("source_id")) / "meta.yaml"
                if "/" in _text(meta.get("source_id")) or ".." in _text(meta.get("source_id")):
                    raise BadFile("names a dataset outside the experiment")
                data = read_meta(dataset_path)
                tags = meta.get("tags") or {}
                if not isinstance(tags, dict):
                    raise BadFile("has tags that are not a mapping")
                found.append(
                    SourceDatasetInput(
                        name=_text(data.get("name")),
                        digest=_text(data.get("digest")),
                        source_type=_text(data.get("source_type")),
                        source=_text(data.get("source")),
                        schema=None if data.get("schema") is None else _text(data["schema"]),
                        profile=None if data.get("profile") is None else _text(data["profile"]),
                        tags={_text(k): _text(v) for k, v in tags.items()},
                    )
                )
            except BadFile as exc:
                self.problem(meta_path, f"{exc}: dataset input skipped")
        return found

    def series(self, run: SourceRun) -> Iterator[SourceSeries]:
        folder = Path(run.where) / "metrics"
        for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath) / name
                if path.is_symlink():
                    self.problem(path, "a symbolic link: not read")
                    continue
                try:
                    data = path.read_bytes()
                except OSError as exc:
                    self.problem(path, f"cannot be read ({exc.strerror or exc}): metric skipped")
                    continue
                columns, skips = parse_metric_file(data)
                for skip in skips:
                    self.problem(f"{path}:{skip.line}", f"{skip.reason}: line skipped")
                yield SourceSeries(path.relative_to(folder).as_posix(), columns, str(path))

    def artifact_dir(self, run: SourceRun) -> Path | None:
        natural = Path(run.where) / "artifacts"
        if natural.is_dir():
            return natural
        roots = [self.root, self.root.parent]
        return resolve_artifact_dir(run.artifact_uri, roots, run.run_id)

    # -- logged models -------------------------------------------------------------------

    def logged_models(self, exp: SourceExperiment) -> Iterator[SourceLoggedModel]:
        for entry in self._entries(Path(exp.where) / "models"):
            folder = Path(entry.path)
            meta_path = folder / "meta.yaml"
            try:
                meta = read_meta(meta_path)
                status = _int(meta.get("status"), "status")
                model = SourceLoggedModel(
                    model_id=_text(meta.get("model_id")) or entry.name,
                    experiment=exp.mlflow_id,
                    name=_text(meta.get("name")),
                    artifact_location=_text(meta.get("artifact_location")),
                    creation_time=_int(meta.get("creation_timestamp"), "creation_timestamp") or 0,
                    last_update_time=_int(
                        meta.get("last_updated_timestamp"), "last_updated_timestamp"
                    )
                    or 0,
                    status=MODEL_STATUS.get(status or 0, "PENDING"),
                    status_message=meta.get("status_message"),
                    model_type=meta.get("model_type"),
                    source_run_id=meta.get("source_run_id"),
                    lifecycle_stage=_text(meta.get("lifecycle_stage")) or "active",
                    tags=self.key_values(folder / "tags"),
                    params=self.key_values(folder / "params"),
                    where=str(folder),
                )
            except BadFile as exc:
                self.problem(meta_path, f"{exc}: logged model skipped")
                continue
            for key, text in self.key_values(folder / "metrics").items():
                for number, line in enumerate(text.splitlines(), start=1):
                    fields = line.split(" ")
                    try:
                        value = float(fields[1])
                        model.metrics.append(
                            (
                                key,
                                None if value != value else value,
                                int(fields[2]),
                                int(fields[0]),
                                fields[3] if len(fields) > 3 else None,
                                fields[4] if len(fields) > 5 else None,
                                fields[5] if len(fields) > 5 else None,
                            )
                        )
                    except (IndexError, ValueError):
                        self.problem(f"{folder / 'metrics' / key}:{number}", "not a metric line")
            yield model

    def model_artifact_dir(self, model: SourceLoggedModel) -> Path | None:
        natural = Path(model.where) / "artifacts"
        if natural.is_dir():
            return natural
        roots = [self.root, self.root.parent]
        return resolve_artifact_dir(model.artifact_location, roots, model.model_id)

    # -- the registry --------------------------------------------------------------------

    def registered_models(self) -> Iterator[SourceModel]:
        for entry in self._entries(self.root / REGISTRY):
            folder = Path(entry.path)
            meta_path = folder / "meta.yaml"
            try:
                meta = read_meta(meta_path)
                model = SourceModel(
                    name=_text(meta.get("name")) or entry.name,
                    creation_time=_int(meta.get("creation_timestamp"), "creation_timestamp") or 0,
                    last_update_time=_int(
                        meta.get("last_updated_timestamp"), "last_updated_timestamp"
                    )
                    or 0,
                    description=_text(meta.get("description")),
                    tags=self.key_values(folder / "tags"),
                    where=str(folder),
                )
                aliases = self.key_values(folder / "aliases")
                for alias, version in aliases.items():
                    number = _int(version.strip(), f"alias {alias!r}")
                    if number is not None:
                        model.aliases[alias] = number
            except BadFile as exc:
                self.problem(meta_path, f"{exc}: registered model skipped")
                continue
            for sub in self._entries(folder):
                if not sub.name.startswith("version-") or not sub.is_dir():
                    continue
                found = self._version(Path(sub.path))
                if found is not None:
                    model.versions.append(found)
            model.versions.sort(key=lambda v: v.version)
            yield model

    def _version(self, folder: Path) -> SourceVersion | None:
        meta_path = folder / "meta.yaml"
        try:
            meta = read_meta(meta_path)
            number = _int(meta.get("version"), "version")
            if number is None or number < 1:
                raise BadFile("has no version number")
            return SourceVersion(
                version=number,
                creation_time=_int(meta.get("creation_timestamp"), "creation_timestamp") or 0,
                last_update_time=_int(meta.get("last_updated_timestamp"), "last_updated_timestamp")
                or 0,
                description=_text(meta.get("description")),
                user_id=_text(meta.get("user_id")),
                stage=_text(meta.get("current_stage")) or "None",
                source=_text(meta.get("source")),
                run_id=_text(meta.get("run_id")),
                run_link=meta.get("run_link") or None,
                model_id=meta.get("model_id") or None,
                tags=self.key_values(folder / "tags"),
                where=str(folder),
            )
        except BadFile as exc:
            self.problem(meta_path, f"{exc}: model version skipped")
            return None
