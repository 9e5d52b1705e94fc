"""An MLflow tracking server (`http://` or `https://`) read over its REST API, as records
for the import: whatever store is behind the server (PostgreSQL, MySQL, SQLite, files).

    experiments/search        every experiment, deleted ones too (view_type ALL)
    runs/search               every run of an experiment, all pages (run_view_type ALL):
                              info, params, tags, the keys of its metrics, inputs, outputs
    metrics/get-history      every point of each metric, paged
    logged-models/search      MLflow 3's logged models of an experiment
    registered-models/search  the registry; registered-models/get for each model's aliases,
    model-versions/search     its versions (stages, tags, descriptions)
    mlflow-artifacts/...      files, through the server's proxied artifact service: a run
                              whose artifacts the server does not proxy (started with
                              --no-serve-artifacts, an s3:// location...) is reported, its
                              files not copied; the import goes on

Credentials and TLS are MLflow's variables, as `RestClient.from_env` reads them. A server
that cannot be reached at all is an `ImportSourceError` before anything is written; a call
that fails in the middle of the import (after the client's retries) stops it with the
store's error, what was imported so far kept (importing again goes on from there).

mltop's own bookkeeping on a server (`store/server/registry.py`) is not imported as user
tags. The trail of registry changes mltop made there (`mltop.transition.*` tags, one JSON
record each: who, when, from, to, comment, policy result) becomes the imported model's
history, as it was (`ServerReader.trails`, written by the importer): for a version it
names, no "imported" transition is made up; a stage the version reached after its last
record (moved by MLflow's own client or UI) is one more transition, marked as imported.
A version with no record gets the one imported transition into its stage, as from the
other sources. `mltop.former_name.*` and `mltop.policy` are left out (the policy is not
brought over: set it again with `mltop models policy`).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mltop.store.errors import InvalidStateError, NotFoundError, ServerError
from mltop.store.imports.lines import Columns
from mltop.store.imports.records import (
    NO_FILES,
    Problem,
    SourceDatasetInput,
    SourceExperiment,
    SourceLoggedModel,
    SourceModel,
    SourceRun,
    SourceSeries,
    SourceVersion,
    locate,
)
from mltop.store.server import convert
from mltop.store.server.artifacts import proxied_root
from mltop.store.server.registry import is_mltop_tag, read_records
from mltop.store.server.rest import RestClient, redact

EXPERIMENT_PAGE = 1000
RUN_PAGE = 1000  # runs/search's largest page
HISTORY_PAGE = 25_000  # metrics/get-history's largest page
MODEL_PAGE = 100  # logged-models/search's largest page
REGISTRY_PAGE = 1000  # registered-models/search and model-versions/search
_VIEW_ALL = "ALL"
PREFETCH_RUNS = 4  # runs whose points are being read ahead of the one being written
FETCH_THREADS = 4  # calls to the server at once
CHECK_RETRY_S = 10.0  # the first call's retries: how long a server that is not there takes


def _pairs(items: object) -> dict[str, str]:
    """MLflow's [{"key", "value"}] as a dict (a missing value is empty text)."""
    if not isinstance(items, list):
        return {}
    return {
        str(t["key"]): "" if t.get("value") is None else str(t["value"])
        for t in items
        if isinstance(t, Mapping) and t.get("key") is not None
    }


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _name_filter(name: str) -> str:
    """A model-versions/search filter finding the versions of the model called `name`
    (and maybe others: the caller keeps exact matches). MLflow's grammar cannot quote a
    name holding both quote characters or a backslash: those become LIKE's '_'."""
    if "\\" in name or ("'" in name and '"' in name):
        return "name LIKE '{}'".format(re.sub(r"['\"\\\\%]", "_", name))
    return f'name = "{name}"' if "'" in name else f"name = '{name}'"


class ServerReader:
    """An MLflow tracking server's contents, read as records; `problems` gathers what
    was skipped."""

    kind = "tracking server"

    def __init__(self, url: str, rest: RestClient | None = None) -> None:
        self.rest = rest if rest is not None else RestClient.from_env(url)
        self.label = redact(self.rest.url)
        self.problems: list[Problem] = []
        # Registered model name -> its versions' trail records that mltop wrote on the
        # server (by version; version 0: the model's own), read from their tags.
        self.trails: dict[str, dict[int, list[dict[str, Any]]]] = {}
        self._scratch: Path | None = None
        self._fetched: Path | None = None
        self._keys: dict[str, list[str]] = {}  # run id -> its metrics' keys, until read
        self._order: list[str] = []  # the runs' ids, in the order the import reads them
        self._position: dict[str, int] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._ahead: dict[tuple[str, str], Future[tuple[Columns, list[Problem]]]] = {}

    def check(self) -> None:
        """One cheap call: the server answers (else ServerUnreachableError or
        ServerRefusedError, nothing written)."""
        self.rest.call("POST", "experiments/search", {"max_results": 1, "view_type": _VIEW_ALL})

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._ahead.clear()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
        self.rest.close()

    def problem(self, where: str, reason: str) -> None:
        self.problems.append(Problem(where, reason))

    def _pages(self, method: str, endpoint: str, body: dict[str, Any], field: str,
               page: int) -> Iterator[dict[str, Any]]:  # fmt: skip
        """Every item of a paged answer's `field`."""
        token: str | None = None
        while True:
            call = dict(body, max_results=page)
            if token:
                call["page_token"] = token
            answer = self.rest.call(method, endpoint, call)
            for item in answer.get(field) or []:
                if isinstance(item, dict):
                    yield item
            token = answer.get("next_page_token") or None
            if not token:
                return

    # -- experiments and runs ------------------------------------------------------------

    def experiments(self) -> list[SourceExperiment]:
        found = []
        body = {"view_type": _VIEW_ALL}
        for data in self._pages("POST", "experiments/search", body, "experiments",
                                EXPERIMENT_PAGE):  # fmt: skip
            exp_id = _text(data.get("experiment_id"))
            where = f"{self.label} experiment {exp_id}"
            try:
                found.append(
                    SourceExperiment(
                        mlflow_id=exp_id,
                        name=convert.text(data.get("name"), "experiment name"),
                        lifecycle_stage=_text(data.get("lifecycle_stage")) or "active",
                        creation_time=convert.optional_integer(
                            data.get("creation_time"), "experiment creation_time"
                        ),
                        last_update_time=convert.optional_integer(
                            data.get("last_update_time"), "experiment last_update_time"
                        ),
                        tags=_pairs(data.get("tags")),
                        where=where,
                    )
                )
            except ServerError as exc:
                self.problem(where, f"{exc}: experiment skipped, with its runs")
        return found

    def run_refs(self, exp: SourceExperiment) -> list[dict[str, Any]]:
        body = {"experiment_ids": [exp.mlflow_id], "run_view_type": _VIEW_ALL}
        refs = list(self._pages("POST", "runs/search", body, "runs", RUN_PAGE))
        for ref in refs:
            run_id = _text(_dict(ref.get("info")).get("run_id"))
            # The metrics' keys (each with its latest point): `series` reads their points.
            metrics = _dict(ref.get("data")).get("metrics") or []
            self._keys[run_id] = sorted(
                {_text(m.get("key")) for m in metrics if isinstance(m, dict)}
            )
            self._position[run_id] = len(self._order)
            self._order.append(run_id)
        return refs

    def run(self, exp: SourceExperiment, ref: object) -> SourceRun | None:
        data = _dict(ref)
        info = _dict(data.get("info"))
        run_id = _text(info.get("run_id") or info.get("run_uuid"))
        where = f"{self.label} run {run_id or '?'}"
        body = _dict(data.get("data"))
        try:
            tags = _pairs(body.get("tags"))
            run = SourceRun(
                run_id=run_id,
                experiment=exp.mlflow_id,
                name=_text(info.get("run_name")) or tags.get("mlflow.runName", ""),
                status=_text(info.get("status")) or "FINISHED",
                start_time=convert.optional_integer(info.get("start_time"), "run start_time"),
                end_time=convert.optional_integer(info.get("end_time"), "run end_time"),
                user_id=_text(info.get("user_id")),
                lifecycle_stage=_text(info.get("lifecycle_stage")) or "active",
                artifact_uri=_text(info.get("artifact_uri")),
                tags=tags,
                params=_pairs(body.get("params")),
                where=where,
            )
        except ServerError as exc:
            self.problem(where, f"{exc}: run skipped")
            return None
        if run.status not in ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"):
            self.problem(where, f"unknown run status {run.status!r:.40}: run skipped")
            return None
        inputs = _dict(data.get("inputs"))
        for item in inputs.get("dataset_inputs") or []:
            try:
                found = convert.dataset_input_from_json(item)
            except ServerError as exc:
                self.problem(where, f"{exc}: dataset input skipped")
                continue
            ds = found.dataset
            run.inputs.append(
                SourceDatasetInput(ds.name, ds.digest, ds.source_type, ds.source, ds.schema,
                                   ds.profile, {t.key: t.value for t in found.tags})
            )  # fmt: skip
        for item in inputs.get("model_inputs") or []:
            if isinstance(item, dict) and item.get("model_id"):
                run.model_links.append((_text(item["model_id"]), "input", 0))
        outputs = _dict(data.get("outputs"))
        for item in outputs.get("model_outputs") or []:
            if isinstance(item, dict) and item.get("model_id"):
                try:
                    step = convert.optional_integer(item.get("step"), "model output step") or 0
                except ServerError:
                    step = 0
                run.model_links.append((_text(item["model_id"]), "output", step))
        return run

    def _history(
        self, run_id: str, key: str, where: str, start: int = 0
    ) -> tuple[Columns, list[Problem]]:
        """The points of one metric after the first `start`, in the server's order,
        paged; the points that cannot be read (reported, skipped). Runs on the reader's
        threads."""
        columns = Columns([], [], [])
        problems: list[Problem] = []
        offset = start
        while True:
            body: dict[str, Any] = {"run_id": run_id, "metric_key": key,
                                    "max_results": HISTORY_PAGE}  # fmt: skip
            if offset:
                body["page_token"] = convert.offset_token(offset)
            answer = self.rest.call("GET", "metrics/get-history", body)
            points = answer.get("metrics") or []
            for point in points:
                try:
                    value = convert.value_from_json(point.get("value"))
                    stamp = convert.integer(point.get("timestamp", 0), "metric timestamp")
                    step = convert.integer(point.get("step", 0), "metric step")
                except (ServerError, AttributeError) as exc:
                    problems.append(Problem(where, f"{exc}: point skipped"))
                    continue
                columns.steps.append(step)
                columns.timestamps.append(stamp)
                columns.values.append(None if math.isnan(value) else value)
            offset += len(points)
            if not points or not answer.get("next_page_token"):
                return columns, problems

    def _prefetch(self, run_id: str) -> None:
        """The histories of `run_id` and of the PREFETCH_RUNS runs after it asked for on
        the reader's threads (the server answers several calls at once while the store
        writes); those of runs before it (skipped by the import) dropped."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(FETCH_THREADS, thread_name_prefix="mltop-import")
        at = self._position.get(run_id)
        if at is None:
            return
        for stale in [k for k in self._ahead if self._position.get(k[0], at) < at]:
            self._ahead.pop(stale).cancel()
        for rid in self._order[at : at + 1 + PREFETCH_RUNS]:
            for key in self._keys.get(rid, []):
                if (rid, key) not in self._ahead:
                    where = f"{self.label} run {rid} metric {key!r}"
                    self._ahead[rid, key] = self._pool.submit(self._history, rid, key, where)

    def series(self, run: SourceRun) -> Iterator[SourceSeries]:
        return self.series_after(run, None)

    def series_after(
        self, run: SourceRun, held: Mapping[str, int] | None
    ) -> Iterator[SourceSeries]:
        """The run's metrics, each read from after the points the store holds already
        (`held`: their counts by key, None for a run new to the store; the server keeps
        a metric's points in a fixed order, by time then step). A new run reads the next
        runs' points ahead, on the reader's threads; a run imported before reads only
        what is new."""
        if held is None:
            self._prefetch(run.run_id)
        else:
            for stale in [k for k in self._ahead if k[0] == run.run_id]:
                self._ahead.pop(stale).cancel()
        for key in self._keys.pop(run.run_id, []):
            where = f"{run.where} metric {key!r}"
            start = (held or {}).get(key, 0)
            ahead = self._ahead.pop((run.run_id, key), None)
            if ahead is not None:
                columns, problems = ahead.result()
                start = 0
            else:
                columns, problems = self._history(run.run_id, key, where, start)
            self.problems += problems
            yield SourceSeries(key, columns, where, skipped=start)

    # -- artifacts -----------------------------------------------------------------------

    def _local(self, uri: str) -> Path | None:
        """A location the server does not proxy that is a folder on this machine (a
        server on this host with --no-serve-artifacts): read in place."""
        if uri.startswith("file:") or uri.startswith("/"):
            return locate(uri, [], None)
        return None

    def _download(self, uri: str, where: str) -> Path | None:
        """The files under a location, fetched into a scratch folder (the one fetched
        before is removed: the import copied it already); NO_FILES when there are none.
        (The importer uses `copy_remote`, which fetches straight into the store.)"""
        if self._fetched is not None:
            shutil.rmtree(self._fetched, ignore_errors=True)
            self._fetched = None
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="mltop-import-server-"))
        dest = self._fetched = Path(tempfile.mkdtemp(dir=self._scratch))
        copied, _ = self.copy_remote(uri, where, dest, False, self.problems)
        if copied:
            return dest
        local = None if uri.startswith("mlflow-artifacts:") else self._local(uri)
        return local or NO_FILES

    def copy_remote(
        self, uri: str, where: str, dest: Path, dry_run: bool, problems: list[Problem]
    ) -> tuple[int, int]:
        """The files under a location the server proxies, fetched straight into `dest`
        (never out of it): one there already with the server's size is kept, not fetched
        again; a dry run fetches nothing. A location the server does not proxy is read in
        place when it is a folder on this machine, else reported. (copied, already there)"""
        if not uri:
            return 0, 0
        try:
            root = proxied_root(uri)
        except InvalidStateError as exc:
            local = self._local(uri)
            if local is None:
                problems.append(Problem(where, f"{exc}: files not copied"))
                return 0, 0
            from mltop.store.imports.writer import copy_files

            return copy_files(local, dest, dry_run, problems)
        copied = kept = 0
        for relative, size in self._walk(root, where, problems):
            target = dest.joinpath(*relative.split("/"))
            try:
                if size is not None and target.is_file() and target.stat().st_size == size:
                    kept += 1
                    continue
                copied += 1
                if dry_run:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_name(f".{target.name}.import-{os.getpid()}")
                try:
                    with open(partial, "wb") as out:
                        for chunk in self.rest.artifact_get(f"{root}/{relative}"):
                            out.write(chunk)
                    os.replace(partial, target)
                finally:
                    partial.unlink(missing_ok=True)
            except (OSError, NotFoundError, ServerError) as exc:
                copied -= 1
                problems.append(Problem(f"{where} {relative}", f"cannot be fetched ({exc}): "
                                        "not copied"))  # fmt: skip
        return copied, kept

    def _walk(
        self, root: str, where: str, problems: list[Problem]
    ) -> Iterator[tuple[str, int | None]]:
        """(path under `root`, size) of every file the server lists under `root`; a name
        that could leave the folder (empty, '.', '..', a backslash) is reported, skipped."""
        pending = [""]
        while pending:
            relative = pending.pop()
            try:
                listing = self.rest.artifact_list(f"{root}/{relative}".rstrip("/"))
            except NotFoundError:
                continue
            for entry in sorted(listing, key=lambda e: _text(e.get("path"))):
                name = _text(entry.get("path")).strip("/").rsplit("/", 1)[-1]
                if name in ("", ".", "..") or "\\" in name or "\x00" in name:
                    problems.append(Problem(where, f"artifact name {name!r:.60} refused: "
                                            "not copied"))  # fmt: skip
                    continue
                child = f"{relative}/{name}".strip("/")
                if entry.get("is_dir"):
                    pending.append(child)
                    continue
                try:
                    size = convert.optional_integer(entry.get("file_size"), "artifact size")
                except ServerError:
                    size = None
                yield child, size

    def artifact_dir(self, run: SourceRun) -> Path | None:
        if not run.artifact_uri:
            return NO_FILES
        return self._download(run.artifact_uri, run.where)

    # -- logged models -------------------------------------------------------------------

    def logged_models(self, exp: SourceExperiment) -> Iterator[SourceLoggedModel]:
        body = {"experiment_ids": [exp.mlflow_id]}
        try:
            items = list(self._pages("POST", "logged-models/search", body, "models",
                                     MODEL_PAGE))  # fmt: skip
        except NotFoundError as exc:  # a server before MLflow 3: no logged models
            self.problem(f"{self.label} experiment {exp.mlflow_id}",
                         f"logged models cannot be listed ({exc}): none imported")  # fmt: skip
            return
        for item in items:
            try:
                model = convert.logged_model_from_json(item)
            except ServerError as exc:
                self.problem(f"{self.label} experiment {exp.mlflow_id}",
                             f"{exc}: logged model skipped")  # fmt: skip
                continue
            info = item.get("info") or {}
            yield SourceLoggedModel(
                model_id=model.model_id,
                experiment=exp.mlflow_id,
                name=model.name,
                artifact_location=model.artifact_location,
                creation_time=model.creation_timestamp,
                last_update_time=model.last_updated_timestamp,
                status=model.status,
                status_message=model.status_message,
                model_type=model.model_type,
                source_run_id=model.source_run_id,
                lifecycle_stage=_text(info.get("lifecycle_stage")) or "active",
                tags=dict(model.tags),
                params=dict(model.params),
                metrics=[
                    (
                        m.key,
                        None if math.isnan(m.value) else m.value,
                        m.step,
                        m.timestamp,
                        m.run_id,
                        m.dataset_name,
                        m.dataset_digest,
                    )
                    for m in model.metrics
                ],
                where=f"{self.label} logged model {model.model_id}",
            )

    def model_artifact_dir(self, model: SourceLoggedModel) -> Path | None:
        if not model.artifact_location:
            return NO_FILES
        return self._download(model.artifact_location, model.where)

    # -- the registry --------------------------------------------------------------------

    def _strip(self, tags: dict[str, str], name: str, version: int) -> dict[str, str]:
        """`tags` without mltop's bookkeeping; the trail records among them kept in
        `trails` (oldest first)."""
        records = read_records(tags)
        for key, record in records.items():
            if record is None:
                self.problem(f"{self.label} model {name!r} version {version} tag {key}",
                             "mltop's record cannot be read (damaged or incomplete): "
                             "not imported")  # fmt: skip
        if records:
            found = sorted(
                (r for r in records.values() if r is not None), key=lambda r: r.get("time") or 0
            )
            self.trails.setdefault(name, {})[version] = found
        return {k: v for k, v in tags.items() if not is_mltop_tag(k)}

    def registered_models(self) -> Iterator[SourceModel]:
        names = [
            _text(m.get("name"))
            for m in self._pages(
                "GET", "registered-models/search", {}, "registered_models", REGISTRY_PAGE
            )
        ]
        for name in names:
            where = f"{self.label} registered model {name!r}"
            try:
                data = self.rest.call("GET", "registered-models/get", {"name": name})
            except NotFoundError:
                continue  # deleted while importing
            info = data.get("registered_model") or {}
            try:
                model = SourceModel(
                    name=name,
                    creation_time=convert.optional_integer(
                        info.get("creation_timestamp"), "creation_timestamp") or 0,
                    last_update_time=convert.optional_integer(
                        info.get("last_updated_timestamp"), "last_updated_timestamp") or 0,
                    description=_text(info.get("description")),
                    tags=self._strip(_pairs(info.get("tags")), name, 0),
                    where=where,
                )  # fmt: skip
                for alias in info.get("aliases") or []:
                    if isinstance(alias, dict) and alias.get("alias"):
                        model.aliases[_text(alias["alias"])] = convert.integer(
                            alias.get("version"), "alias version"
                        )
            except ServerError as exc:
                self.problem(where, f"{exc}: registered model skipped")
                continue
            body = {"filter": _name_filter(name)}
            for item in self._pages("GET", "model-versions/search", body, "model_versions",
                                    REGISTRY_PAGE):  # fmt: skip
                if item.get("name") != name:
                    continue
                found = self._version(item, name)
                if found is not None:
                    model.versions.append(found)
            model.versions.sort(key=lambda v: v.version)
            yield model

    def _version(self, data: dict[str, Any], name: str) -> SourceVersion | None:
        where = f"{self.label} model {name!r} version {_text(data.get('version'))}"
        try:
            number = convert.integer(data.get("version"), "version")
            created = convert.optional_integer(data.get("creation_timestamp"), "creation") or 0
            return SourceVersion(
                version=number,
                creation_time=created,
                last_update_time=convert.optional_integer(
                    data.get("last_updated_timestamp"), "last_updated_timestamp") or created,
                description=_text(data.get("description")),
                user_id=_text(data.get("user_id")),
                stage=_text(data.get("current_stage")) or "None",
                source=_text(data.get("source")),
                run_id=_text(data.get("run_id")),
                run_link=data.get("run_link") or None,
                model_id=data.get("model_id") or None,
                tags=self._strip(_pairs(data.get("tags")), name, number),
                where=where,
            )  # fmt: skip
        except ServerError as exc:
            self.problem(where, f"{exc}: model version skipped")
            return None


def open_reader(url: str) -> ServerReader:
    """A reader of the server at `url`, checked to answer (nothing read yet): a server
    that is not there is said within CHECK_RETRY_S, not after minutes of backoff; once it
    answered, each call retries as MLflow's variables say."""
    reader = ServerReader(url)
    patience, reader.rest.retry_for = reader.rest.retry_for, CHECK_RETRY_S
    try:
        reader.check()
        reader.rest.retry_for = patience
    except BaseException:
        reader.close()
        raise
    return reader


__all__ = ["ServerReader", "open_reader"]
