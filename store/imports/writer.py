"""An MLflow source's records written into an mltop store: what is new is added, what is
there already is counted, what changed is updated, what cannot be taken is reported with
its place and why. Run ids, times and version numbers are kept; experiments are matched
by name (MLflow's id kept as a tag)."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from mltop.store import keys
from mltop.store.entities import Dataset, DatasetInput, InputTag
from mltop.store.errors import MltopError, StoreError, ValidationError
from mltop.store.imports.records import (
    MODEL_ID,
    NO_FILES,
    RUN_ID,
    Problem,
    SourceExperiment,
    SourceLoggedModel,
    SourceModel,
    SourceReader,
    SourceRun,
    SourceSeries,
)
from mltop.store.integrity import FileDigest, folder_digests
from mltop.store.location import ARTIFACTS_DIR
from mltop.store.registry import validate_alias, validate_model_name
from mltop.store.sqlite.imports import ImportTarget, RunState
from mltop.store.sqlite.models import MODELS_DIR
from mltop.store.system import TAG_GIT_BRANCH, TAG_GIT_COMMIT

if TYPE_CHECKING:
    from mltop.store.sqlite.tracking import Store

Progress = Callable[[str, int, int], None]
T = TypeVar("T")

# What an import counts, in the order a summary shows them.
EXPERIMENTS = "experiments"
RUNS = "runs"
PARAMS = "params"
TAGS = "tags"
POINTS = "metric points"
DATASETS = "dataset inputs"
ARTIFACTS = "artifact files"
LOGGED_MODELS = "logged models"
MODEL_LINKS = "run-model links"
MODELS = "registered models"
VERSIONS = "model versions"
ALIASES = "aliases"
HISTORY = "registry history"  # records of mltop's trail on a tracking server
KINDS = (EXPERIMENTS, RUNS, PARAMS, TAGS, POINTS, DATASETS, ARTIFACTS, LOGGED_MODELS,
         MODEL_LINKS, MODELS, VERSIONS, ALIASES, HISTORY)  # fmt: skip

# The phases progress is reported for.
PHASE_EXPERIMENTS = "experiments"
PHASE_RUNS = "runs"
PHASE_MODELS = "logged models"
PHASE_REGISTRY = "registry"

MLFLOW_EXPERIMENT_TAG = "mltop.import.mlflow_experiment_id"
# MLflow's run tags that are our runs' columns.
NAME_TAG, USER_TAG, PARENT_TAG = "mlflow.runName", "mlflow.user", "mlflow.parentRunId"
GIT_TAGS = {"mlflow.source.git.commit": TAG_GIT_COMMIT, "mlflow.source.git.branch": TAG_GIT_BRANCH}


@dataclass
class ImportSummary:
    """What an import added, found there already, updated, and skipped (with why)."""

    source: str
    kind: str
    store: str
    dry_run: bool
    added: Counter[str] = field(default_factory=Counter)
    existing: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    skipped: list[Problem] = field(default_factory=list)

    @property
    def total_added(self) -> int:
        return sum(self.added.values())

    @property
    def total_updated(self) -> int:
        return sum(self.updated.values())


def _int_or(value: object, default: int = 0) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return default


def _clean(values: Mapping[str, str], limit: int, what: str, where: str, out: list[Problem]):
    """The key-values that our key rules and length limits take; the others reported."""
    kept = {}
    for key, value in values.items():
        try:
            keys.validate_key(key, f"{what} key")
            keys.validate_string_value(value, limit, f"{what} {key!r}")
        except ValidationError as exc:
            out.append(Problem(where, f"{exc}: {what} skipped"))
            continue
        kept[key] = value
    return kept


def copy_files(source: Path, dest: Path, dry_run: bool, problems: list[Problem]) -> tuple[int, int]:
    """Copy the plain files under `source` into `dest` (never out of it; links are not
    followed but reported); a file there already with the same size is kept. Returns
    (copied, already there)."""
    copied = kept = 0
    for dirpath, dirnames, filenames in os.walk(source, followlinks=False):
        dirnames.sort()
        base = Path(dirpath)
        for name in dirnames:
            if (base / name).is_symlink():
                problems.append(Problem(str(base / name), "a symbolic link: not copied"))
        for name in sorted(filenames):
            path = base / name
            if path.is_symlink() or not path.is_file():
                problems.append(Problem(str(path), "not a plain file (a link?): not copied"))
                continue
            relative = path.relative_to(source)
            if ".." in relative.parts:  # pragma: no cover - os.walk never yields '..'
                continue
            target = dest / relative
            try:
                size = path.stat().st_size
                if target.is_file() and target.stat().st_size == size:
                    kept += 1
                    continue
                copied += 1
                if dry_run:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_name(f".{target.name}.import-{os.getpid()}")
                shutil.copyfile(path, partial)
                os.replace(partial, target)
            except OSError as exc:
                problems.append(Problem(str(path), f"cannot be copied ({exc.strerror or exc})"))
    return copied, kept


class Importer:
    """One import of a reader's records into a store."""

    def __init__(
        self,
        reader: SourceReader,
        store: Store,
        summary: ImportSummary,
        *,
        progress: Progress | None = None,
        only: set[str] | None = None,
    ) -> None:
        self.reader = reader
        self.store = store
        self.target = ImportTarget(store)
        self.summary = summary
        self.dry_run = summary.dry_run
        self.progress = progress or (lambda phase, done, total: None)
        self.only = only
        self.problems: list[Problem] = []
        self.exp_ids: dict[str, int] = {}  # MLflow's experiment id -> ours (-1: dry run, new)
        self.comment = f"imported from MLflow ({summary.source})"
        self.artifact_uris: dict[str, str] = {}  # run id -> its artifact location in the source

    # -- the whole import ----------------------------------------------------------------

    def run(self) -> ImportSummary:
        reader = self.reader
        exps = reader.experiments()
        if self.only is not None:  # experiments named, or given by their MLflow ids
            known = {e.name for e in exps} | {e.mlflow_id for e in exps}
            for name in sorted(self.only - known):
                self.problems.append(Problem(self.summary.source, f"no experiment named {name!r}"))
            exps = [e for e in exps if e.name in self.only or e.mlflow_id in self.only]
        self.progress(PHASE_EXPERIMENTS, 0, len(exps))
        for done, exp in enumerate(exps, start=1):
            self.experiment(exp)
            self.progress(PHASE_EXPERIMENTS, done, len(exps))
        exps = [e for e in exps if e.mlflow_id in self.exp_ids]
        refs = [(exp, ref) for exp in exps for ref in reader.run_refs(exp)]
        self.progress(PHASE_RUNS, 0, len(refs))
        for done, (exp, ref) in enumerate(refs, start=1):
            found = reader.run(exp, ref)
            if found is not None:
                self._guarded(found.where, "run", self.import_run, found)
            self.progress(PHASE_RUNS, done, len(refs))
        models = [m for exp in exps for m in reader.logged_models(exp)]
        self.progress(PHASE_MODELS, 0, len(models))
        for done, model in enumerate(models, start=1):
            self._guarded(model.where, "logged model", self.logged_model, model)
            self.progress(PHASE_MODELS, done, len(models))
        registered = [] if self.only is not None else list(reader.registered_models())
        self.progress(PHASE_REGISTRY, 0, len(registered))
        for done, source_model in enumerate(registered, start=1):
            self._guarded(
                source_model.where, "registered model", self.registered_model, source_model
            )
            self.progress(PHASE_REGISTRY, done, len(registered))
        self.summary.skipped = [*reader.problems, *self.problems]
        return self.summary

    def _guarded(self, where: str, what: str, step: Callable[[T], None], item: T) -> None:
        """`step(item)`; a refusal of the store's rules (not a failing store: busy, full,
        damaged, which stops the import) is reported, and the import goes on."""
        try:
            step(item)
        except StoreError:
            raise
        except MltopError as exc:
            self.problems.append(Problem(where, f"{exc}: {what} not imported"))

    def _count(self, kind: str, added: int = 0, existing: int = 0, updated: int = 0) -> None:
        if added:
            self.summary.added[kind] += added
        if existing:
            self.summary.existing[kind] += existing
        if updated:
            self.summary.updated[kind] += updated

    # -- experiments ---------------------------------------------------------------------

    def experiment(self, exp: SourceExperiment) -> None:
        try:
            keys.validate_name(exp.name, "experiment name", keys.MAX_EXPERIMENT_NAME_LENGTH)
        except ValidationError as exc:
            self.problems.append(Problem(exp.where, f"{exc}: experiment skipped, with its runs"))
            return
        tags = _clean(exp.tags, keys.MAX_TAG_VALUE_LENGTH, "experiment tag", exp.where,
                      self.problems)  # fmt: skip
        tags[MLFLOW_EXPERIMENT_TAG] = exp.mlflow_id
        stage = "deleted" if exp.lifecycle_stage == "deleted" else "active"
        found = self.target.experiment(exp.name)
        if found is None:
            self._count(EXPERIMENTS, added=1)
            self._count(TAGS, added=len(tags))
            if self.dry_run:
                self.exp_ids[exp.mlflow_id] = -1
                return
            now = exp.creation_time or 0
            self.exp_ids[exp.mlflow_id] = self.target.add_experiment(
                exp.name, stage, now, exp.last_update_time or now, tags
            )
            return
        ours, our_stage, our_tags = found
        self.exp_ids[exp.mlflow_id] = ours
        if ours == 0 or our_tags.get(MLFLOW_EXPERIMENT_TAG, exp.mlflow_id) != exp.mlflow_id:
            # The Default experiment every store has, or another source's experiment of
            # that name: not marked as this source's.
            tags.pop(MLFLOW_EXPERIMENT_TAG)
        changed = {k: v for k, v in tags.items() if our_tags.get(k) != v}
        mine = our_tags.get(MLFLOW_EXPERIMENT_TAG) == exp.mlflow_id
        new_stage = stage if mine and stage != our_stage and ours != 0 else None
        self._count(TAGS, added=len(changed), existing=len(tags) - len(changed))
        if changed or new_stage:
            self._count(EXPERIMENTS, updated=1)
            if not self.dry_run:
                self.target.update_experiment(ours, new_stage, changed)
        else:
            self._count(EXPERIMENTS, existing=1)

    # -- runs ----------------------------------------------------------------------------

    def import_run(self, run: SourceRun) -> None:
        if not RUN_ID.fullmatch(run.run_id):
            self.problems.append(
                Problem(run.where, f"run id {run.run_id!r:.60} is not 32 hex digits: run skipped")
            )
            return
        exp = self.exp_ids[run.experiment]
        tags = dict(run.tags)
        name = tags.pop(NAME_TAG, "") or run.name
        user = tags.pop(USER_TAG, "") or run.user_id
        parent = tags.pop(PARENT_TAG, "") or None
        if parent is not None and not RUN_ID.fullmatch(parent):
            self.problems.append(
                Problem(run.where, f"parent run id {parent!r:.60} is not a run id")
            )
            parent = None
        for theirs, ours in GIT_TAGS.items():
            if theirs in tags:
                tags.setdefault(ours, tags[theirs])
        tags = _clean(tags, keys.MAX_TAG_VALUE_LENGTH, "tag", run.where, self.problems)
        params = _clean(run.params, keys.MAX_PARAM_VALUE_LENGTH, "param", run.where,
                        self.problems)  # fmt: skip
        if len(name) > keys.MAX_RUN_NAME_LENGTH or not name.strip():
            if name.strip():
                self.problems.append(Problem(run.where, "run name too long: cut"))
            name = name[: keys.MAX_RUN_NAME_LENGTH].strip() or run.run_id[:8]
        start, end = run.start_time, run.end_time
        for value, what in ((start, "start_time"), (end, "end_time")):
            if value is not None:
                try:
                    keys.time_ms(what, value)
                except ValidationError as exc:
                    self.problems.append(Problem(run.where, f"{exc}: left empty"))
                    if what == "start_time":
                        start = None
                    else:
                        end = None
        stage = "deleted" if run.lifecycle_stage == "deleted" else "active"
        state = None if exp < 0 else self.target.run(run.run_id)
        if state is None:
            row = -1
            if not self.dry_run:
                row = self.target.add_run(
                    run.run_id,
                    exp,
                    name=name,
                    status=run.status,
                    start_time=start,
                    end_time=end,
                    user_id=user,
                    lifecycle_stage=stage,
                    parent_run_id=parent,
                    tags=tags,
                    params=params,
                )
            self._count(RUNS, added=1)
            self._count(PARAMS, added=len(params))
            self._count(TAGS, added=len(tags))
        else:
            row = state.row
            if state.experiment_id != exp:
                self.problems.append(
                    Problem(run.where, f"run {run.run_id} is in another experiment of the "
                                       "store already: left there, its data merged")
                )  # fmt: skip
            self._merge_run(run, state, name, end, stage, user, parent, tags, params)
        self.artifact_uris[run.run_id] = run.artifact_uri
        self._run_data(run, row, exp, state)

    def _merge_run(
        self,
        run: SourceRun,
        state: RunState,
        name: str,
        end: int | None,
        stage: str,
        user: str,
        parent: str | None,
        tags: dict[str, str],
        params: dict[str, str],
    ) -> None:
        columns: dict[str, object] = {}
        if name != state.name:
            columns["name"] = name
        if run.status != state.status:
            columns["status"] = run.status
        if end != state.end_time and run.status in ("FINISHED", "FAILED", "KILLED"):
            columns["end_time"] = end
        if stage != state.lifecycle_stage:
            columns["lifecycle_stage"] = stage
        if user and state.tags.get(USER_TAG, "") != user:
            columns["user_id"] = user
        if parent and state.tags.get(PARENT_TAG) != parent:
            columns["parent_run_id"] = parent
        changed_tags = {k: v for k, v in tags.items() if state.tags.get(k) != v}
        new_params = {}
        for key, value in params.items():
            held = state.params.get(key)
            if held is None:
                new_params[key] = value
            elif held != value:
                self.problems.append(
                    Problem(run.where, f"param {key!r} is {held!r} in the store and {value!r:.80} "
                                       "in the source (params are immutable): kept as it was")
                )  # fmt: skip
        if columns or changed_tags or new_params:
            if not self.dry_run:
                self.target.update_run(state.row, columns, changed_tags, new_params)
            self._count(RUNS, updated=1)
        else:
            self._count(RUNS, existing=1)
        self._count(TAGS, added=len(changed_tags), existing=len(tags) - len(changed_tags))
        self._count(PARAMS, added=len(new_params), existing=len(params) - len(new_params))

    def _run_data(self, run: SourceRun, row: int, exp: int, state: RunState | None) -> None:
        reader = self.reader
        after = getattr(reader, "series_after", None)  # reads on from the store's counts
        found = reader.series(run) if after is None else after(run, state and state.counts)
        for series in found:
            self._series(series, row, state)
        inputs = []
        for item in run.inputs:
            try:
                keys.check_dataset_inputs([DatasetInput(
                    Dataset(item.name, item.digest, item.source_type, item.source, item.schema,
                            item.profile),
                    [InputTag(k, v) for k, v in item.tags.items()],
                )])  # fmt: skip
            except ValidationError as exc:
                self.problems.append(Problem(run.where, f"{exc}: dataset input skipped"))
                continue
            if state is not None and (item.name, item.digest) in state.datasets:
                self._count(DATASETS, existing=1)
                continue
            self._count(DATASETS, added=1)
            inputs.append((item.name, item.digest, item.source_type, item.source, item.schema,
                           item.profile, item.tags))  # fmt: skip
        if inputs and not self.dry_run:
            self.target.add_inputs(row, exp, inputs)
        links = []
        for model_id, direction, step in dict.fromkeys(run.model_links):
            if not MODEL_ID.fullmatch(model_id):
                self.problems.append(
                    Problem(run.where, f"model id {model_id!r:.60} is not m- and 32 hex digits: "
                                       f"model {direction} skipped")
                )  # fmt: skip
            elif state is not None and (model_id, direction) in state.model_links:
                self._count(MODEL_LINKS, existing=1)
            else:
                links.append((model_id, direction, step))
        if links and not self.dry_run:
            self.target.add_model_links(row, links)
        self._count(MODEL_LINKS, added=len(links))
        self._artifacts(run)

    def _series(self, series: SourceSeries, row: int, state: RunState | None) -> None:
        try:
            keys.validate_key(series.key, "metric key")
        except ValidationError as exc:
            self.problems.append(Problem(series.where, f"{exc}: metric skipped"))
            return
        held = 0 if state is None else state.counts.get(series.key, 0)
        new = series.points.after(max(0, held - series.skipped))
        self._count(POINTS, added=len(new), existing=min(held, series.skipped + len(series.points)))
        if not new or self.dry_run:
            return
        key = self.target.key_id(series.key)
        n = len(new)
        # One series a batch: the store summarises it without grouping points.
        self.target.add_points(list(zip(repeat(row, n), repeat(key, n), *new, strict=True)))

    def _remote_copy(self, location: str, where: str, dest: Path) -> bool:
        """Files of a source that holds them elsewhere (a tracking server) copied by its
        reader, straight into `dest` (those there already, of the same size, not fetched
        again; a dry run fetches nothing); False when the reader does not do that."""
        copy = getattr(self.reader, "copy_remote", None)
        if copy is None:
            return False
        copied, kept = copy(location, where, dest, self.dry_run, self.problems)
        self._count(ARTIFACTS, added=copied, existing=kept)
        return True

    def _artifacts(self, run: SourceRun) -> None:
        dest = self.store.path / ARTIFACTS_DIR / run.run_id
        if self._remote_copy(run.artifact_uri, run.where, dest):
            return
        found = self.reader.artifact_dir(run)
        if found is None:
            if run.artifact_uri:
                self.problems.append(
                    Problem(run.where, f"artifacts at {run.artifact_uri!r} not found here, "
                                       "nor under the source: not copied")
                )  # fmt: skip
            return
        if found == NO_FILES:
            return
        copied, kept = copy_files(found, dest, self.dry_run, self.problems)
        self._count(ARTIFACTS, added=copied, existing=kept)

    # -- logged models -------------------------------------------------------------------

    def logged_model(self, model: SourceLoggedModel) -> None:
        if not MODEL_ID.fullmatch(model.model_id):
            self.problems.append(
                Problem(model.where, f"model id {model.model_id!r:.60} is not m- and 32 hex "
                                     "digits: logged model skipped")
            )  # fmt: skip
            return
        exp = self.exp_ids.get(model.experiment, -1)
        if exp >= 0 and self.target.has_logged_model(model.model_id):
            self._count(LOGGED_MODELS, existing=1)
            return
        try:
            keys.validate_name(model.name, "model name", keys.MAX_RUN_NAME_LENGTH)
        except ValidationError as exc:
            self.problems.append(Problem(model.where, f"{exc}: logged model skipped"))
            return
        tags = _clean(model.tags, keys.MAX_TAG_VALUE_LENGTH, "tag", model.where, self.problems)
        params = _clean(model.params, keys.MAX_PARAM_VALUE_LENGTH, "param", model.where,
                        self.problems)  # fmt: skip
        metrics = []
        for metric in model.metrics:
            try:
                keys.validate_key(metric[0], "metric key")
            except ValidationError as exc:
                self.problems.append(Problem(model.where, f"{exc}: metric skipped"))
                continue
            metrics.append(metric)
        dest = self.store.path / MODELS_DIR / model.model_id / "artifacts"
        remote = self._remote_copy(model.artifact_location, model.where, dest)
        source = NO_FILES if remote else self.reader.model_artifact_dir(model)
        if source == NO_FILES:
            pass
        elif source is not None:
            copied, kept = copy_files(source, dest, self.dry_run, self.problems)
            self._count(ARTIFACTS, added=copied, existing=kept)
        elif model.artifact_location:
            self.problems.append(
                Problem(model.where, f"files at {model.artifact_location!r} not found here, "
                                     "nor under the source: not copied")
            )  # fmt: skip
        if self.dry_run:
            self._count(LOGGED_MODELS, added=1)
            return
        dest.mkdir(parents=True, exist_ok=True)
        files: dict[str, FileDigest] | None = None
        if model.status == "READY":
            try:
                files = folder_digests(dest)
            except (OSError, ValueError) as exc:
                self.problems.append(Problem(str(dest), f"files not recorded: {exc}"))
        self.target.add_logged_model(
            model.model_id,
            exp,
            name=model.name,
            source_run_id=model.source_run_id
            if model.source_run_id and RUN_ID.fullmatch(model.source_run_id)
            else None,
            model_type=model.model_type,
            status=model.status,
            status_message=model.status_message,
            creation_time=model.creation_time,
            last_update_time=model.last_update_time,
            lifecycle_stage="deleted" if model.lifecycle_stage == "deleted" else "active",
            tags=tags,
            params=params,
            metrics=metrics,
            files=files,
        )
        self._count(LOGGED_MODELS, added=1)

    # -- the registry --------------------------------------------------------------------

    def _storage(self, source: str, run_id: str, model_id: str | None) -> str | None:
        """Where a version's files are in this store, when its source names them by a
        location of the source's (a logged model's, or a path among its run's artifacts,
        as MLflow 2 recorded sources): the copies made here. None: its source says it."""
        if model_id and self.target.has_logged_model(model_id):
            return str(self.store.path / MODELS_DIR / model_id / "artifacts")
        root = self.artifact_uris.get(run_id, "").rstrip("/")
        if not root or source.startswith(("runs:/", "models:/")):
            return None
        if source != root and not source.startswith(root + "/"):
            return None
        rest = [p for p in source[len(root) :].split("/") if p]
        if ".." in rest:
            return None
        return str((self.store.path / ARTIFACTS_DIR / run_id).joinpath(*rest))

    def registered_model(self, model: SourceModel) -> None:
        try:
            validate_model_name(model.name)
        except ValidationError as exc:
            self.problems.append(Problem(model.where, f"{exc}: registered model skipped"))
            return
        tags = _clean(model.tags, keys.MAX_TAG_VALUE_LENGTH, "tag", model.where, self.problems)
        state = self.target.registered_model(model.name)
        if state is None:
            model_id = -1
            if not self.dry_run:
                model_id = self.target.add_registered_model(
                    model.name, model.creation_time, model.last_update_time, model.description,
                    tags,
                )  # fmt: skip
            self._count(MODELS, added=1)
            self._count(TAGS, added=len(tags))
            versions: dict[int, tuple] = {}
            aliases: dict[str, int] = {}
        else:
            model_id = state.id
            changed = {k: v for k, v in tags.items() if state.tags.get(k) != v}
            description = model.description if model.description != state.description else None
            self._count(TAGS, added=len(changed), existing=len(tags) - len(changed))
            if changed or description is not None:
                self._count(MODELS, updated=1)
                if not self.dry_run:
                    self.target.update_registered_model(state.id, description, changed)
            else:
                self._count(MODELS, existing=1)
            versions, aliases = state.versions, state.aliases
        held = set(versions)
        trail = getattr(self.reader, "trails", {}).get(model.name, {})
        rows, known = self._trail_rows(model.name, trail)
        for version in model.versions:
            vtags = _clean(version.tags, keys.MAX_TAG_VALUE_LENGTH, "tag", version.where,
                           self.problems)  # fmt: skip
            user = version.user_id or "unknown"
            stage = version.stage if version.stage in ("None", "Staging", "Production",
                                                       "Archived") else None  # fmt: skip
            if stage is None:
                self.problems.append(
                    Problem(version.where, f"unknown stage {version.stage!r:.40}: version skipped")
                )
                continue
            if version.version not in versions:
                self._count(VERSIONS, added=1)
                self._count(TAGS, added=len(vtags))
                held.add(version.version)
                if self.dry_run:
                    continue
                storage = self._storage(version.source, version.run_id, version.model_id)
                self.target.add_version(
                    model_id,
                    model.name,
                    version=version.version,
                    source=version.source,
                    run_id=version.run_id,
                    description=version.description,
                    creation_time=version.creation_time,
                    last_update_time=version.last_update_time,
                    user_id=user,
                    stage=stage,
                    tags=vtags,
                    run_link=version.run_link,
                    storage=storage,
                    comment=self.comment,
                    log_move=version.version not in known,
                )
                continue
            run_id, source, our_stage, description, our_tags = versions[version.version]
            if (run_id, source) != (version.run_id, version.source):
                self.problems.append(
                    Problem(version.where, f"model {model.name!r} version {version.version} in "
                            f"the store comes from {source!r}, not {version.source!r}: kept as it "
                            "was")
                )  # fmt: skip
                continue
            changed = {k: v for k, v in vtags.items() if our_tags.get(k) != v}
            move = (our_stage, stage) if stage != our_stage else None
            new_description = version.description if version.description != description else None
            self._count(TAGS, added=len(changed), existing=len(vtags) - len(changed))
            if move or changed or new_description is not None:
                self._count(VERSIONS, updated=1)
                if not self.dry_run:
                    self.target.update_version(
                        model_id, model.name, version.version, stage=move,
                        description=new_description, tags=changed, user_id=user,
                        time=version.last_update_time, comment=self.comment,
                        log_move=version.version not in known,
                    )  # fmt: skip
            else:
                self._count(VERSIONS, existing=1)
        for alias, number in model.aliases.items():
            try:
                validate_alias(alias)
            except ValidationError as exc:
                self.problems.append(Problem(model.where, f"{exc}: alias skipped"))
                continue
            if number not in held:
                self.problems.append(
                    Problem(model.where, f"alias {alias!r} names version {number}, which was not "
                                         "imported: alias skipped")
                )  # fmt: skip
                continue
            if aliases.get(alias) == number:
                self._count(ALIASES, existing=1)
                continue
            self._count(ALIASES, added=1)
            if not self.dry_run:
                self.target.set_alias(model_id, model.name, alias, number, aliases.get(alias),
                                      "unknown", model.last_update_time, self.comment,
                                      log=not any(r[5] == alias for r in rows))  # fmt: skip
        if not trail:
            return
        for version in model.versions:
            was = known.get(version.version)
            if was is not None and was != version.stage:  # moved since the last record
                rows.append((model.name, version.version, "transition", was, version.stage,
                             None, None, version.user_id or "unknown",
                             version.last_update_time, self.comment, "[]", None, 0))  # fmt: skip
        if model_id < 0:
            self._count(HISTORY, added=len(rows))
            return
        added, there = self.target.add_records(model_id, rows, dry_run=self.dry_run)
        self._count(HISTORY, added=added, existing=there)

    def _trail_rows(
        self, name: str, trail: Mapping[int, list[dict]]
    ) -> tuple[list[tuple], dict[int, str]]:
        """mltop's records of a model kept on a tracking server (by version; 0: the
        model's own), oldest first, as rows of our log; and the stage the records leave
        each version they name in (those versions' moves come from the records, not one
        'imported' transition)."""
        records = sorted(
            (r for found in trail.values() for r in found), key=lambda r: _int_or(r.get("time"))
        )
        rows: list[tuple] = []
        known: dict[int, str] = {}
        for record in records:
            try:
                kind = str(record.get("kind") or "transition")
                number = int(record.get("version") or 0)
                archived = [int(v) for v in record.get("archived") or []]
                policy = record.get("policy")
                from_version = record.get("from_version")
                row = (
                    str(record.get("name") or name), number, kind,
                    None if record.get("from") is None else str(record["from"]),
                    None if record.get("to") is None else str(record["to"]),
                    None if record.get("alias") is None else str(record["alias"]),
                    None if from_version is None else int(from_version),
                    str(record.get("user") or ""), int(record.get("time") or 0),
                    str(record.get("comment") or ""), json.dumps(archived),
                    json.dumps(policy) if isinstance(policy, dict) else None,
                    int(bool(record.get("forced"))),
                )  # fmt: skip
            except (TypeError, ValueError):
                self.problems.append(
                    Problem(name, f"an mltop record of model {name!r} cannot be read: "
                                  f"{str(record)[:80]!r}: not imported")
                )  # fmt: skip
                continue
            rows.append(row)
            if kind in ("transition", "rollback") and row[4] is not None:
                known[number] = row[4]
                for other in archived:
                    known[other] = "Archived"
            elif kind == "delete_version":
                known.pop(number, None)
        return rows, known
