"""The model registry on `MltopClient`, under `MlflowClient`'s method names and parameters.

Each method takes MLflow 3.17's parameters, in its order and with its defaults; what
mltop adds comes after them, keyword-only: `comment` (recorded in the model's audit log,
and required for a move into or out of Production), `force` (past a failing policy, with
a comment), `user` (who the log names; by default the one running). Every stage move and
alias change made here lands in the registry's append-only log, as the dashboard's do.

Differences from MLflow, all deliberate: a version's source run must be in this store (a
policy reads it); `version` is an int as MLflow's SQL store returns it (every method also
takes "3"); a description never set is "" rather than None; and a move to the stage a
version is already in changes nothing and records nothing.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from mltop.store.entities import STAGES, ModelVersion, RegisteredModel
from mltop.store.errors import (
    AlreadyExistsError,
    CommentRequiredError,
    InvalidStateError,
    InvalidValueError,
    NotFoundError,
    ValidationError,
)
from mltop.store.query.paging import PagedList
from mltop.store.query.registry_search import (
    MODEL_SEARCH_DEFAULT_MAX_RESULTS,
    VERSION_SEARCH_DEFAULT_MAX_RESULTS,
)
from mltop.store.registry import (
    PRODUCTION,
    STAGING,
    canonical_stage,
    is_registered_model_uri,
)

if TYPE_CHECKING:
    from mltop.store.server.registry import ServerRegistry
    from mltop.store.server.tracking import ServerStore
    from mltop.store.sqlite.registry import Registry
    from mltop.store.sqlite.tracking import Store

AWAIT_SECONDS = 300  # MLflow's DEFAULT_AWAIT_MAX_SLEEP_SECONDS; versions here are READY at once


def _not_databricks(what: str, value: object) -> None:
    if value is not None:
        raise InvalidValueError(f"{what} is a Databricks feature; mltop has none, pass None")


class RegistryMethods:
    """MlflowClient's model-registry methods (mixed into `MltopClient`)."""

    backend: Store | ServerStore

    @property
    def _registry(self) -> Registry | ServerRegistry:
        return self.backend.registry

    # -- registered models ---------------------------------------------------------------

    def create_registered_model(
        self,
        name: str,
        tags: dict[str, Any] | None = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        """A new registered model (AlreadyExistsError if the name is taken)."""
        _not_databricks("deployment_job_id", deployment_job_id)
        return self._registry.create_registered_model(name, description or "", tags)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        self._registry.rename_registered_model(name, new_name)
        return self._registry.get_registered_model(new_name)

    def update_registered_model(
        self, name: str, description: str | None = None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        _not_databricks("deployment_job_id", deployment_job_id)
        if description is not None:
            self._registry.update_registered_model(name, description)
        return self._registry.get_registered_model(name)

    def delete_registered_model(self, name: str) -> None:
        """Delete a model with its versions, tags and aliases; its audit log stays."""
        self._registry.delete_registered_model(name)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self._registry.get_registered_model(name)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = MODEL_SEARCH_DEFAULT_MAX_RESULTS,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """Models matching a filter over `name` (= != LIKE ILIKE IN) and `tags.<key>`
        (= != LIKE ILIKE), by name unless `order_by` (name, timestamp,
        last_updated_timestamp, creation_timestamp) says otherwise; `.token` is the next
        page's. A bad filter raises FilterError."""
        return self._registry.search_models(filter_string, max_results, order_by, page_token)

    def get_latest_versions(self, name: str, stages: list[str] | None = None) -> list[ModelVersion]:
        """The newest version in each of `stages` (every stage when None or empty)."""
        wanted = {canonical_stage(s) for s in stages} if stages else set(STAGES)
        latest = self._registry.get_registered_model(name).latest_versions
        return [v for v in latest if v.current_stage in wanted]

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        self._registry.set_registered_model_tag(name, key, value)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._registry.delete_registered_model_tag(name, key)

    # -- model versions ------------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        await_creation_for: int = AWAIT_SECONDS,
        model_id: str | None = None,
    ) -> ModelVersion:
        """The next version of the registered model `name`, from `source`: a
        `runs:/<run_id>/path` URI, a logged model's `models:/<model_id>` (or `model_id=`:
        the version's run is the one it was logged from), another version's
        `models:/NAME/VERSION`, or a folder of the store's runs (any source with `run_id`).
        The run must be in this store. The model must exist, as in MLflow (`register_model`
        creates it)."""
        return self._registry.create_model_version(
            name,
            source,
            run_id,
            description or "",
            tags,
            create_model=False,
            run_link=run_link,
            model_id=model_id,
        )

    def copy_model_version(self, src_model_uri: str, dst_name: str) -> ModelVersion:
        """A new version of `dst_name` (created when missing) with the source, run,
        description and tags of the version `src_model_uri` (`models:/NAME/VERSION`,
        `models:/NAME@ALIAS`, ...) names. A source naming another version (which may
        since name a different one) becomes the copied version itself, so that the copy
        has the copied version's files."""
        src = self._registry.resolve(src_model_uri)
        with contextlib.suppress(AlreadyExistsError):
            self._registry.create_registered_model(dst_name)
        tags = dict(src.tags)
        source = src.source
        if is_registered_model_uri(source):
            source = f"models:/{src.name}/{src.version}"
        return self._registry.create_model_version(
            dst_name,
            source,
            src.run_id,
            src.description,
            tags,
            create_model=False,
            run_link=src.run_link,
        )

    def update_model_version(
        self, name: str, version: str, description: str | None = None
    ) -> ModelVersion:
        if description is not None:
            self._registry.update_model_version(name, version, description)
        return self._registry.get_model_version(name, version)

    def transition_model_version_stage(
        self,
        name: str,
        version: str,
        stage: str,
        archive_existing_versions: bool = False,
        *,
        comment: str | None = None,
        force: bool = False,
        user: str | None = None,
    ) -> ModelVersion:
        """Move a version to `stage`, recorded in the model's audit log with `user` and
        `comment`. A move into or out of Production needs `comment=` (CommentRequiredError
        otherwise); entering Production under the model's policy needs its source run to
        pass it (PolicyError naming the failing clause), unless `force=True` with a
        comment. `archive_existing_versions` archives the versions already in `stage`
        (Staging or Production only). A move to the version's current stage changes
        nothing, records nothing and returns the version."""
        to_stage = canonical_stage(stage)
        if archive_existing_versions and to_stage not in (STAGING, PRODUCTION):
            raise InvalidValueError(
                f"archive_existing_versions archives the versions in Staging or Production, "
                f"not in {to_stage}"
            )
        current = self._registry.get_model_version(name, version)
        if current.current_stage == to_stage:
            return current
        try:
            self._registry.transition(
                name,
                version,
                to_stage,
                comment or "",
                archive_existing=bool(archive_existing_versions),
                force=force,
                user=user,
            )
        except CommentRequiredError as exc:
            raise CommentRequiredError(
                f"{exc}: pass comment='...' to transition_model_version_stage"
            ) from None
        except InvalidStateError:
            # Another writer moved it to `stage` meanwhile: the move is then a no-op.
            now = self._registry.get_model_version(name, version)
            if now.current_stage != to_stage:
                raise
            return now
        return self._registry.get_model_version(name, version)

    def delete_model_version(self, name: str, version: str) -> None:
        self._registry.delete_model_version(name, version)

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        return self._registry.get_model_version(name, version)

    def get_model_version_download_uri(self, name: str, version: str) -> str:
        """Where the version's files are: for a `runs:/<run_id>/path` source, that path
        under the run's artifacts; for a `models:/` source, the files it named when
        registered (a logged model's folder); else the source as registered."""
        return self._registry.download_uri(name, version)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = VERSION_SEARCH_DEFAULT_MAX_RESULTS,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """Versions matching a filter over `name`, `run_id` (= != LIKE ILIKE IN),
        `source_path` (= != LIKE ILIKE), `version_number` (= != < <= > >=) and
        `tags.<key>`, the last updated first unless `order_by` (name, version_number,
        creation_timestamp, last_updated_timestamp) says otherwise; `.token` is the next
        page's. A bad filter raises FilterError."""
        return self._registry.search_versions(filter_string, max_results, order_by, page_token)

    def get_model_version_stages(self, name: str, version: str) -> list[str]:
        return list(STAGES)

    def _version_for(self, name: str, version: str | None, stage: str | None) -> int:
        if (version is None) == (stage is None):
            raise ValidationError("give exactly one of version and stage")
        if version is not None:
            return self._registry.get_model_version(name, version).version
        latest = self.get_latest_versions(name, [str(stage)])
        if not latest:
            raise NotFoundError(f"model {name!r} has no version in {canonical_stage(stage)}")
        return latest[0].version

    def set_model_version_tag(
        self,
        name: str,
        version: str | None = None,
        key: str | None = None,
        value: Any = None,
        stage: str | None = None,
    ) -> None:
        """Tag a version, named by `version` or (deprecated in MLflow) as the latest in
        `stage`."""
        number = self._version_for(name, version, stage)
        self._registry.set_model_version_tag(name, number, _key(key), value)

    def delete_model_version_tag(
        self,
        name: str,
        version: str | None = None,
        key: str | None = None,
        stage: str | None = None,
    ) -> None:
        number = self._version_for(name, version, stage)
        self._registry.delete_model_version_tag(name, number, _key(key))

    # -- aliases -------------------------------------------------------------------------

    def set_registered_model_alias(
        self, name: str, alias: str, version: str, *, user: str | None = None
    ) -> None:
        """Point `alias` at `version` (moving it if it pointed elsewhere); logged."""
        self._registry.set_alias(name, alias, version, user=user)

    def delete_registered_model_alias(
        self, name: str, alias: str, *, user: str | None = None
    ) -> None:
        self._registry.delete_alias(name, alias, user=user)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self._registry.get_version_by_alias(name, alias)


def _key(key: str | None) -> str:
    if key is None:
        raise ValidationError("a tag key is needed (key=...)")
    return key
