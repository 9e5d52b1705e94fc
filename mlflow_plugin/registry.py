"""MLflow's model-registry store over mltop's registry (`mlflow.model_registry_store`).

MLflow's client (`MlflowClient().create_registered_model`, `transition_model_version_stage`,
`set_registered_model_alias`, `mlflow.register_model`, `models:/name@alias` URIs ...) calls
this store; it calls mltop's registry under MLflow's names (`client_registry.py`) and hands
back MLflow's entities. So what MLflow's client does is what the dashboard and `mltop models`
show: every stage move and alias change lands in the model's audit log with the user running
(`mltop.store.system.current_user()`), and a model's promotion policy gates Production (a
failing one raises an `MlflowException` naming the clause, and nothing moves).

MLflow's client has no way to say why a move was made; mltop asks for a comment on every
move into or out of Production, so the log records that the move came from MLflow's client.

What MLflow has and mltop does not (prompts, webhooks, Databricks deployment jobs) raises an
`MlflowException` saying so, never a silent no-op.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from mlflow.entities.model_registry import (
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelAlias,
    RegisteredModelTag,
)
from mlflow.exceptions import MlflowException
from mlflow.prompt.constants import IS_PROMPT_TAG_KEY
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, NOT_IMPLEMENTED
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.model_registry.abstract_store import AbstractStore

from mltop.mlflow_plugin.errors import refuse_unsupported, translate_errors
from mltop.store import Store, entities
from mltop.store.client_registry import RegistryMethods
from mltop.store.entities import STAGES
from mltop.store.errors import PolicyError
from mltop.store.location import MLTOP_SCHEME, store_path_from_uri
from mltop.store.query.registry_search import (
    MODEL_SEARCH_DEFAULT_MAX_RESULTS,
    VERSION_SEARCH_DEFAULT_MAX_RESULTS,
)
from mltop.store.registry import logged_model_id_of

# What MLflow's client adds to every `search_registered_models` filter to leave prompts out
# (`mlflow.prompt.registry_utils.add_prompt_filter_string`). A registry without prompts has
# nothing to leave out, and mltop's filters (like MLflow's) match only what carries a tag,
# so the condition as written would match no model at all: it is taken off.
_NO_PROMPTS = re.compile(
    r"(?:^|\s+AND\s+)tags?\.`" + re.escape(IS_PROMPT_TAG_KEY) + r"`\s*!=\s*'true'\s*$",
    re.IGNORECASE,
)
MLFLOW_CLIENT_COMMENT = "moved by MLflow's client (transition_model_version_stage)"


class _Registry(RegistryMethods):
    """mltop's registry calls under MlflowClient's names, on one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.backend = store  # the store RegistryMethods work on


def _unsupported(what: str) -> NoReturn:
    raise MlflowException(
        f"{what}: mltop's registry has no such thing (it keeps registered models, versions, "
        "stages, aliases and their audit log)",
        error_code=NOT_IMPLEMENTED,
    )


def _refuse_prompt_tags(keys: Iterable[str]) -> None:
    if IS_PROMPT_TAG_KEY in keys:
        raise MlflowException(
            f"tag {IS_PROMPT_TAG_KEY!r}: mltop's registry keeps models, not prompts",
            error_code=INVALID_PARAMETER_VALUE,
        )


def _without_prompt_filter(filter_string: str | None) -> str | None:
    if not filter_string:
        return filter_string
    return _NO_PROMPTS.sub("", filter_string) or None


def _tag_dict(tags: Iterable[Any] | None) -> dict[str, Any]:
    """MLflow's tag entities (or a mapping, as a caller may pass) as a dict."""
    if isinstance(tags, Mapping):
        return dict(tags)
    return {tag.key: tag.value for tag in tags or ()}


def _text(value: str) -> str | None:
    """A description: mltop keeps "" for never set, MLflow gives None."""
    return value or None


def to_mlflow_version(version: entities.ModelVersion) -> ModelVersion:
    """mltop's model version as MLflow's entity."""
    return ModelVersion(
        name=version.name,
        version=version.version,  # an int, as MLflow's SQL store gives it
        creation_timestamp=version.creation_timestamp,
        last_updated_timestamp=version.last_updated_timestamp,
        description=_text(version.description),
        user_id=version.user_id or None,
        current_stage=version.current_stage,
        source=version.source,
        run_id=version.run_id or None,
        status=version.status,
        status_message=version.status_message,
        tags=[ModelVersionTag(k, v) for k, v in version.tags.items()],
        run_link=version.run_link,
        aliases=list(version.aliases),
        model_id=logged_model_id_of(version.source),
    )


def to_mlflow_model(model: entities.RegisteredModel) -> RegisteredModel:
    """mltop's registered model as MLflow's entity (its policy is mltop's alone)."""
    return RegisteredModel(
        name=model.name,
        creation_timestamp=model.creation_timestamp,
        last_updated_timestamp=model.last_updated_timestamp,
        description=_text(model.description),
        latest_versions=[to_mlflow_version(v) for v in model.latest_versions],
        tags=[RegisteredModelTag(k, v) for k, v in model.tags.items()],
        aliases=[RegisteredModelAlias(a, v) for a, v in model.aliases.items()],
    )


def _refuse_another_tracking_store(path: Path, tracking_uri: str | None) -> None:
    """An mltop store's registry holds versions of the runs and logged models in that same
    store (their policies read them, their files are there): a tracking URI naming anything
    else would register models it can never find."""
    if tracking_uri is None:
        return
    scheme = tracking_uri.partition(":")[0].lower()
    if scheme == MLTOP_SCHEME and store_path_from_uri(tracking_uri) == path:
        return
    raise MlflowException(
        f"the registry URI names the mltop store {path}, whose registry holds versions of that "
        f"store's own runs and models, but the tracking URI is {tracking_uri!r}: set both to "
        f"mltop://{path} (or leave MLFLOW_REGISTRY_URI unset: it follows the tracking URI)",
        error_code=INVALID_PARAMETER_VALUE,
    )


@refuse_unsupported(AbstractStore)
@translate_errors
class MltopRegistryStore(AbstractStore):
    """The model registry of the mltop store `store_uri` (`mltop:///abs`, `mltop:rel`,
    `mltop:`) for MLflow's client."""

    def __init__(self, store_uri: str | None = None, tracking_uri: str | None = None) -> None:
        super().__init__(store_uri, tracking_uri)
        path = store_path_from_uri(store_uri or "mltop:")
        _refuse_another_tracking_store(path, tracking_uri)  # before any store is made
        self.store = Store(path)
        self._registry = _Registry(self.store)

    # -- registered models ---------------------------------------------------------------

    def create_registered_model(
        self,
        name: str,
        tags: list[RegisteredModelTag] | None = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        tag_dict = _tag_dict(tags)
        _refuse_prompt_tags(tag_dict)
        return to_mlflow_model(
            self._registry.create_registered_model(name, tag_dict, description, deployment_job_id)
        )

    def update_registered_model(
        self, name: str, description: str | None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        return to_mlflow_model(
            self._registry.update_registered_model(name, description, deployment_job_id)
        )

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return to_mlflow_model(self._registry.rename_registered_model(name, new_name))

    def delete_registered_model(self, name: str) -> None:
        self._registry.delete_registered_model(name)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        found = self._registry.search_registered_models(
            _without_prompt_filter(filter_string),
            MODEL_SEARCH_DEFAULT_MAX_RESULTS if max_results is None else max_results,
            order_by,
            page_token,
        )
        return PagedList([to_mlflow_model(m) for m in found], found.token)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return to_mlflow_model(self._registry.get_registered_model(name))

    def get_latest_versions(self, name: str, stages: list[str] | None = None) -> list[ModelVersion]:
        return [to_mlflow_version(v) for v in self._registry.get_latest_versions(name, stages)]

    def set_registered_model_tag(self, name: str, tag: RegisteredModelTag) -> None:
        _refuse_prompt_tags([tag.key])
        self._registry.set_registered_model_tag(name, tag.key, tag.value)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._registry.delete_registered_model_tag(name, key)

    # -- model versions ------------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: list[ModelVersionTag] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        local_model_path: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        tag_dict = _tag_dict(tags)
        _refuse_prompt_tags(tag_dict)
        return to_mlflow_version(
            self._registry.create_model_version(
                name,
                source,
                run_id,
                tag_dict,
                run_link,
                description,
                model_id=model_id,
            )
        )

    def copy_model_version(self, src_mv: ModelVersion, dst_name: str) -> ModelVersion:
        return to_mlflow_version(
            self._registry.copy_model_version(f"models:/{src_mv.name}/{src_mv.version}", dst_name)
        )

    def update_model_version(
        self, name: str, version: str, description: str | None = None
    ) -> ModelVersion:
        return to_mlflow_version(self._registry.update_model_version(name, version, description))

    def transition_model_version_stage(
        self, name: str, version: str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        try:
            moved = self._registry.transition_model_version_stage(
                name,
                version,
                stage,
                bool(archive_existing_versions),
                comment=MLFLOW_CLIENT_COMMENT,
            )
        except PolicyError as exc:
            raise PolicyError(
                f"{exc} (MLflow's client cannot force a move; mltop's command line can: "
                f"mltop models transition {name} {version} Production --force -m WHY)",
                exc.result,
            ) from exc
        return to_mlflow_version(moved)

    def delete_model_version(self, name: str, version: str) -> None:
        self._registry.delete_model_version(name, version)

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        return to_mlflow_version(self._registry.get_model_version(name, version))

    def get_model_version_download_uri(self, name: str, version: str) -> str:
        return self._registry.get_model_version_download_uri(name, version)

    def get_model_version_stages(self, name: str, version: str) -> list[str]:
        return list(STAGES)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        found = self._registry.search_model_versions(
            filter_string,
            VERSION_SEARCH_DEFAULT_MAX_RESULTS if max_results is None else max_results,
            order_by,
            page_token,
        )
        return PagedList([to_mlflow_version(v) for v in found], found.token)

    def set_model_version_tag(self, name: str, version: str, tag: ModelVersionTag) -> None:
        _refuse_prompt_tags([tag.key])
        self._registry.set_model_version_tag(name, version, tag.key, tag.value)

    def delete_model_version_tag(self, name: str, version: str, key: str) -> None:
        self._registry.delete_model_version_tag(name, version, key)

    # -- aliases -------------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        self._registry.set_registered_model_alias(name, alias, version)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self._registry.delete_registered_model_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return to_mlflow_version(self._registry.get_model_version_by_alias(name, alias))

    # -- what MLflow has and mltop has not -----------------------------------------------

    def create_prompt(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("prompts (create_prompt)")

    def search_prompts(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("prompts (search_prompts)")

    def delete_prompt(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("prompts (delete_prompt)")

    def set_prompt_tag(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("prompts (set_prompt_tag)")

    def delete_prompt_tag(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("prompts (delete_prompt_tag)")

    def get_prompt(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("prompts (get_prompt)")

    def create_prompt_version(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("prompts (create_prompt_version)")

    def get_prompt_version(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("prompts (get_prompt_version)")

    def delete_prompt_version(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("prompts (delete_prompt_version)")

    def get_prompt_version_by_alias(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("prompts (get_prompt_version_by_alias)")

    def set_prompt_alias(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("prompts (set_prompt_alias)")

    def delete_prompt_alias(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("prompts (delete_prompt_alias)")

    def search_prompt_versions(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("prompts (search_prompt_versions)")

    def link_prompts_to_trace(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("prompts (link_prompts_to_trace)")

    def set_prompt_version_tag(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("prompts (set_prompt_version_tag)")

    def delete_prompt_version_tag(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("prompts (delete_prompt_version_tag)")

    def link_prompt_version_to_model(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("prompts (link_prompt_version_to_model)")

    def link_prompt_version_to_run(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("prompts (link_prompt_version_to_run)")

    def create_webhook(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("webhooks (create_webhook)")

    def get_webhook(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("webhooks (get_webhook)")

    def list_webhooks(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("webhooks (list_webhooks)")

    def list_webhooks_by_event(self, *args: Any, **kwargs: Any) -> PagedList:
        """None: mltop keeps no webhooks (MLflow's server asks at every registry event)."""
        return PagedList([], None)

    def update_webhook(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("webhooks (update_webhook)")

    def delete_webhook(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("webhooks (delete_webhook)")

    def test_webhook(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("webhooks (test_webhook)")
