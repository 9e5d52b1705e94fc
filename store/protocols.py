"""What front ends rely on from a store: typed Protocols, one per concern.

The dashboard and the command line take a store as these types, never as a backend's
class, so that a second backend (an MLflow tracking server over REST, say) is one new
package beside `sqlite/` implementing them, and no screen changes. `mltop.store.Store`
(the SQLite backend, `sqlite/tracking.py`) implements all of them: mypy checks that it
does where `open_store` returns it as a `TrackingStore`, and checks every use.

- `TrackingReader`: experiments, runs, their params, tags and metric summaries, histories.
- `TrackingWriter`: creating and changing experiments and runs (metric points go through
  the buffered writer of the logging API, `client.py`).
- `RunSearch`: MLflow's filter and order language over runs and experiments, paged.
- `ChangeFeed`: what changed since a cursor, for live views.
- `ArtifactAccess`: a run's files.
- `StoreHandle`: where the store is, whether it can be written, is it usable now.
- `ModelRegistry`: registered models, versions, stages, aliases, plans and the audit log.
- `TrackingStore`: all of the above, as a dashboard or the CLI holds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from mltop.store.artifact_repo import ArtifactRepository
from mltop.store.blocks import MetricBlock
from mltop.store.entities import (
    ChangeCursor,
    Changes,
    DatasetInput,
    Experiment,
    LoggedModel,
    Metric,
    MetricSummary,
    ModelVersion,
    RegisteredModel,
    Run,
    RunRow,
    TransitionRecord,
)
from mltop.store.integrity import FileDigest
from mltop.store.query.paging import PagedList
from mltop.store.registry import ModelLog, TransitionPlan


class TrackingReader(Protocol):
    def get_experiment(self, experiment_id: str | int) -> Experiment: ...

    def get_experiment_by_name(self, name: str) -> Experiment | None: ...

    def list_experiments(self, view: str = "active") -> list[Experiment]: ...

    def experiment_run_counts(self) -> dict[str, tuple[int, int]]:
        """experiment id -> (active runs, RUNNING runs among them)."""
        ...

    def get_run(self, run_id: str, *, max_metrics: int | None = None) -> Run: ...

    def resolve_run_id(self, prefix: str) -> str:
        """A full run id from a unique prefix of at least 4 characters."""
        ...

    def child_run_ids(self, run_id: str) -> list[str]: ...

    def get_metric_history(
        self, run_id: str, key: str, *, after: int = 0, limit: int | None = None
    ) -> list[Metric]: ...

    def get_metric_blocks(
        self, run_id: str, key: str, *, points_up_to: int = ...
    ) -> tuple[list[MetricBlock], list[Metric]]:
        """A chart's history: every point, or block summaries and the points after them."""
        ...

    def iter_run_metrics(self, run_id: str, contains: str = "") -> Iterator[MetricSummary]: ...

    def search_run_metrics(
        self, run_id: str, contains: str = "", *, limit: int = 1000
    ) -> tuple[dict[str, MetricSummary], int]: ...

    def metric_activity(
        self, run_ids: Iterable[str], *, skip_prefix: str = "system/"
    ) -> dict[str, tuple[int, int]]:
        """Per run: (when its latest point was logged, the most points of one key), over
        keys not starting with `skip_prefix`; runs without such points are left out."""
        ...

    def get_logged_model(self, model_id: str) -> LoggedModel:
        """A logged model (MLflow 3's LoggedModel) by its id ("m-..."): NotFoundError if none."""
        ...

    def logged_models_of_run(self, run_id: str) -> list[LoggedModel]:
        """The models a run produced, newest first."""
        ...

    def logged_model_files(self, model_id: str) -> dict[str, FileDigest]:
        """A logged model's files as recorded when it became READY (relative path -> size
        and SHA-256); empty when none were recorded."""
        ...

    def metric_tails(
        self, run_ids: Iterable[str], prefix: str, since: int, *, limit: int = ...
    ) -> dict[str, dict[str, list[Metric]]]:
        """Per run, each key it logged starting with `prefix`, with its points logged at
        or after `since` (ms; the newest `limit` at most), oldest first."""
        ...


class TrackingWriter(Protocol):
    def create_experiment(self, name: str, tags: Mapping[str, object] | None = None) -> str: ...

    def rename_experiment(self, experiment_id: str | int, new_name: str) -> None: ...

    def delete_experiment(self, experiment_id: str | int) -> None: ...

    def restore_experiment(self, experiment_id: str | int) -> None: ...

    def set_experiment_tag(self, experiment_id: str | int, key: str, value: object) -> None: ...

    def delete_experiment_tag(self, experiment_id: str | int, key: str) -> None: ...

    def create_run(
        self,
        experiment_id: str | int | None = None,
        run_name: str | None = None,
        *,
        start_time: int | None = None,
        tags: Mapping[str, object] | None = None,
        parent_run_id: str | None = None,
        user_id: str | None = None,
        status: str = ...,
        heartbeat_interval_ms: int = ...,
    ) -> Run: ...

    def update_run(
        self,
        run_id: str,
        *,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
        heartbeat_interval_ms: int | None = None,
    ) -> None: ...

    def delete_run(self, run_id: str) -> None: ...

    def restore_run(self, run_id: str) -> None: ...

    def log_params(self, run_id: str, params: Mapping[str, object]) -> None: ...

    def set_tags(self, run_id: str, tags: Mapping[str, object]) -> None: ...

    def delete_tag(self, run_id: str, key: str) -> None: ...

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] | None = None) -> None: ...


class RunSearch(Protocol):
    def search_runs(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int | None = ...,
        page_token: str | None = None,
        *,
        view: str = "active",
        experiment_names: Iterable[str] | None = None,
    ) -> PagedList:
        """A page of `Run`s; the result's `token` fetches the next."""
        ...

    def search_run_rows(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int | None = ...,
        page_token: str | None = None,
        *,
        view: str = "active",
    ) -> PagedList:
        """A page of `RunRow`s (attributes, params, latest metric values): a table's rows."""
        ...

    def run_order(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        *,
        view: str = "active",
    ) -> Sequence[int]:
        """The keys of every matching run, in the search's order: a table reads the rows
        it shows by key (`run_rows_by_keys`), whatever the number of runs."""
        ...

    def count_runs(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        filter_string: str | None = None,
        *,
        view: str = "active",
    ) -> int: ...

    def run_rows_by_keys(self, keys: Sequence[int]) -> list[RunRow | None]:
        """RunRows in the order of `keys`; None for a run no longer in the store."""
        ...

    def run_keys(self, run_ids: Iterable[str]) -> dict[str, int]:
        """Run id -> key, for the runs that exist."""
        ...

    def iter_runs(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        *,
        view: str = "active",
        page_size: int = 1000,
    ) -> Iterator[Run]: ...

    def matching_keys(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        filter_string: str | None = None,
        *,
        view: str = "active",
    ) -> dict[str, list[str]]: ...

    def search_experiments(
        self,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int | None = ...,
        page_token: str | None = None,
        *,
        view: str = "active",
    ) -> PagedList: ...


class ChangeFeed(Protocol):
    def has_changed(self) -> bool:
        """Whether anything was committed since this thread last asked (cheap: poll it)."""
        ...

    def cursor(self) -> ChangeCursor:
        """The position of now: `changes_since(cursor())` returns only later changes."""
        ...

    def changes_since(self, cursor: ChangeCursor, *, metric_limit: int = ...) -> Changes:
        """Experiments and runs changed after `cursor`, and the metric points after it."""
        ...


class ArtifactAccess(Protocol):
    def artifacts(self, run_id: str) -> ArtifactRepository: ...


class StoreHandle(Protocol):
    @property
    def path(self) -> Path:
        """The store's folder (a tracking server's: this machine's cache for it)."""
        ...

    @property
    def location(self) -> str:
        """Where the store is, as `open_store` takes it again and as a user names it: a
        folder's path, or a tracking server's URL."""
        ...

    @property
    def read_only(self) -> bool: ...

    def check(self, *, write: bool = False) -> bool:
        """Raise the typed error that stops the store from being used now."""
        ...

    def close(self) -> None: ...


class ModelRegistry(Protocol):
    def create_registered_model(
        self, name: str, description: str = "", tags: Mapping[str, object] | None = None
    ) -> RegisteredModel: ...

    def get_registered_model(self, name: str) -> RegisteredModel: ...

    def search_registered_models(
        self, name_like: str | None = None, tags: Mapping[str, str] | None = None
    ) -> list[RegisteredModel]: ...

    def search_models(
        self,
        filter_string: str | None = None,
        max_results: int = ...,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """A page of `RegisteredModel`s as MLflow's `search_registered_models` finds them:
        a filter over `name` and `tags.<key>`, by name unless `order_by` (name, timestamp,
        last_updated_timestamp, creation_timestamp) says otherwise; the result's `token`
        fetches the next page. A bad filter raises FilterError."""
        ...

    def rename_registered_model(
        self, name: str, new_name: str, *, user: str | None = None
    ) -> None: ...

    def update_registered_model(self, name: str, description: str) -> None: ...

    def set_registered_model_tag(self, name: str, key: str, value: object) -> None: ...

    def delete_registered_model(self, name: str, *, user: str | None = None) -> None: ...

    def set_policy(self, name: str, expression: str | None) -> None: ...

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        description: str = "",
        tags: Mapping[str, object] | None = None,
        *,
        create_model: bool = True,
    ) -> ModelVersion: ...

    def get_model_version(self, name: str, version: object) -> ModelVersion: ...

    def search_model_versions(
        self, name: str | None = None, run_id: str | None = None, stage: str | None = None
    ) -> list[ModelVersion]: ...

    def search_versions(
        self,
        filter_string: str | None = None,
        max_results: int = ...,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """A page of `ModelVersion`s as MLflow's `search_model_versions` finds them: a filter
        over `name`, `run_id`, `source_path`, `version_number` and `tags.<key>`, the last
        updated first unless `order_by` (name, version_number, creation_timestamp,
        last_updated_timestamp) says otherwise; the result's `token` fetches the next page.
        A bad filter raises FilterError."""
        ...

    def set_model_version_tag(
        self, name: str, version: object, key: str, value: object
    ) -> None: ...

    def delete_model_version(
        self, name: str, version: object, *, user: str | None = None
    ) -> None: ...

    def plan_transition(
        self, name: str, version: object, stage: object, archive_existing: bool | None = None
    ) -> TransitionPlan:
        """What moving the version would do, changing nothing."""
        ...

    def transition(
        self,
        name: str,
        version: object,
        stage: object,
        comment: str = "",
        *,
        archive_existing: bool | None = None,
        force: bool = False,
        user: str | None = None,
        expected: TransitionPlan | None = None,
    ) -> TransitionPlan:
        """Make the move, recorded with who, when and why; `expected`: only if its plan is
        still that one (PlanChangedError otherwise)."""
        ...

    def plan_rollback(self, name: str) -> TransitionPlan: ...

    def rollback(
        self,
        name: str,
        comment: str = "",
        *,
        user: str | None = None,
        expected: TransitionPlan | None = None,
    ) -> TransitionPlan: ...

    def set_alias(
        self, name: str, alias: str, version: object, *, user: str | None = None
    ) -> None: ...

    def delete_alias(self, name: str, alias: str, *, user: str | None = None) -> None: ...

    def history(self, name: str, version: object | None = None) -> list[TransitionRecord]:
        """The log of the model called `name` (with what was done under its former names);
        when none is now, of the last one that was."""
        ...

    def model_logs(self, name: str) -> list[ModelLog]:
        """The log of every model that has been called `name`, each apart: those deleted or
        renamed since, then the one called `name` now."""
        ...

    def resolve(self, uri: str) -> ModelVersion:
        """The version a `models:/name/3`, `models:/name/Production` or `models:/name@alias`
        URI names."""
        ...


class TrackingStore(
    TrackingReader, TrackingWriter, RunSearch, ChangeFeed, ArtifactAccess, StoreHandle, Protocol
):
    """A whole store, as a front end holds it."""

    @property
    def registry(self) -> ModelRegistry: ...
