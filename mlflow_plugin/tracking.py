"""`MltopTrackingStore`: MLflow's tracking `AbstractStore` over an mltop store.

MLflow builds one per tracking URI and process (`mltop:///path`), and sends it every call
its client makes: experiments, runs, params, tags, metrics, datasets, logged models,
searches. Metric points go through mltop's buffered writer, as `mltop.store`'s own logging
does: `log_metric` validates and queues, a background thread commits in batches, and the
queue is drained when a run ends, at exit, and before any read (`get_run`, histories,
searches), so a script reads back everything it logged.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from typing import Any

from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking import SEARCH_MAX_RESULTS_DEFAULT
from mlflow.store.tracking.abstract_store import AbstractStore

from mltop.mlflow_plugin import convert
from mltop.mlflow_plugin.errors import refuse_unsupported, translate_errors
from mltop.store.buffered import ending_status, install_stop_handlers
from mltop.store.client import MltopClient, artifact_location_tags
from mltop.store.entities import (
    FINISHED,
    KILLED,
    RUN_STATUSES,
    RUNNING,
    TERMINAL_STATUSES,
    LoggedModelMetric,
)
from mltop.store.location import store_path_from_uri
from mltop.store.query import paging
from mltop.store.sqlite.tracking import Store

# Where MLflow 2's clients kept a run's models (a JSON list of MLmodel dicts), as its own
# stores keep it: `record_logged_model`.
MODEL_HISTORY_TAG = "mlflow.log-model.history"

_VIEWS = {ViewType.ACTIVE_ONLY: "active", ViewType.DELETED_ONLY: "deleted", ViewType.ALL: "all"}


def _view(view_type: Any) -> str:
    try:
        return _VIEWS[view_type]
    except (KeyError, TypeError):
        raise MlflowException(
            f"unknown view type {view_type!r}", error_code=INVALID_PARAMETER_VALUE
        ) from None


def _status_name(status: Any) -> str:
    """A run status as MLflow passes it (RunStatus's number, or its name) as its name."""
    if isinstance(status, int) and not isinstance(status, bool) and 1 <= status <= 5:
        return RUN_STATUSES[status - 1]
    if isinstance(status, str) and status.upper() in RUN_STATUSES:
        return status.upper()
    raise MlflowException(f"unknown run status {status!r}", error_code=INVALID_PARAMETER_VALUE)


@refuse_unsupported(AbstractStore)
@translate_errors
class MltopTrackingStore(AbstractStore):
    """MLflow's tracking store for `mltop:` URIs (see the package's docstring)."""

    def __init__(self, store_uri: str | None = None, artifact_uri: str | None = None) -> None:
        super().__init__()
        self.store_uri = store_uri or "mltop:"
        # A default artifact root MLflow may pass is not used: artifacts live in the store.
        self.client = MltopClient(Store(store_path_from_uri(self.store_uri)))
        self.store = self.client.store

    def __repr__(self) -> str:
        return f"MltopTrackingStore({str(self.store.path)!r})"

    # -- experiments ---------------------------------------------------------------------

    def search_experiments(
        self,
        view_type: Any = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> Any:
        page = self.store.search_experiments(
            filter_string, order_by, max_results, page_token, view=_view(view_type)
        )
        return PagedList([convert.experiment(e) for e in page], page.token)

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Any = None
    ) -> str:
        return self.store.create_experiment(
            name, artifact_location_tags(artifact_location, convert.pairs(tags))
        )

    def get_experiment(self, experiment_id: str) -> Any:
        return convert.experiment(self.store.get_experiment(experiment_id))

    def get_experiment_by_name(self, experiment_name: str) -> Any:
        found = self.store.get_experiment_by_name(experiment_name)
        return None if found is None else convert.experiment(found)

    def delete_experiment(self, experiment_id: str) -> None:
        self.store.delete_experiment(experiment_id)

    def restore_experiment(self, experiment_id: str) -> None:
        self.store.restore_experiment(experiment_id)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.store.rename_experiment(experiment_id, new_name)

    def set_experiment_tag(self, experiment_id: str, tag: Any) -> None:
        self.store.set_experiment_tag(experiment_id, tag.key, tag.value)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self.store.delete_experiment_tag(experiment_id, key)

    # -- runs ----------------------------------------------------------------------------

    def _run(self, run: Any) -> Any:
        links = self.store.logged_models.run_links(run.info.run_id)
        return convert.run(run, links)

    def get_run(self, run_id: str) -> Any:
        return self._run(self.client.get_run(run_id))  # commits pending points first

    def create_run(
        self,
        experiment_id: str | None,
        user_id: str | None,
        start_time: int | None,
        tags: Any,
        run_name: str | None,
    ) -> Any:
        # A training process: its stop signals end its runs KILLED with every point kept.
        install_stop_handlers()
        tag_map = convert.pairs(tags)
        # MlflowClient.create_run says "unknown" (its fluent API sets `mlflow.user`): the
        # user running the process is known here (mltop's rule: MLTOP_USER, else the OS's).
        if user_id and user_id != "unknown" and "mlflow.user" not in tag_map:
            tag_map["mlflow.user"] = user_id
        run = self.client.create_run(
            experiment_id, start_time=start_time, tags=tag_map, run_name=run_name or None
        )
        return self._run(run)

    def update_run_info(
        self, run_id: str, run_status: Any, end_time: int | None, run_name: str | None
    ) -> Any:
        status = _status_name(run_status)
        if isinstance(sys.exc_info()[1], KeyboardInterrupt):
            # Leaving `with mlflow.start_run()` on Ctrl-C or a stop signal (MLflow says
            # FAILED): the run was stopped, as mltop's own API records it.
            status = KILLED
        elif status == FINISHED:
            # MLflow's exit hook ends a run left active FINISHED, even when the program is
            # dying of Ctrl-C, a stop signal or an error: say what really ended it.
            status = ending_status() or status
        if status in TERMINAL_STATUSES:
            self.client.set_terminated(run_id, status, end_time)  # commits its points first
        elif status == RUNNING:
            self.client.resume_run(run_id)  # (start_run(run_id=...)): this process beats for it
        else:
            self.store.update_run(run_id, status=status)
        if run_name:
            self.store.update_run(run_id, run_name=run_name)
        return convert.run_info(self.store.get_run(run_id, max_metrics=0))

    def delete_run(self, run_id: str) -> None:
        self.client.delete_run(run_id)  # and no more points to it from this process

    def restore_run(self, run_id: str) -> None:
        self.store.restore_run(run_id)

    # -- params, tags, metrics -----------------------------------------------------------

    def log_param(self, run_id: str, param: Any) -> None:
        self.store.log_params(run_id, {param.key: param.value})

    def set_tag(self, run_id: str, tag: Any) -> None:
        self.store.set_tags(run_id, {tag.key: tag.value})

    def delete_tag(self, run_id: str, key: str) -> None:
        self.store.delete_tag(run_id, key)

    def log_metric(self, run_id: str, metric: Any) -> None:
        if metric.model_id is not None:
            self.log_batch(run_id, [metric], [], [])
            return
        self.client.log_metric(run_id, metric.key, metric.value, metric.timestamp, metric.step)

    def log_batch(self, run_id: str, metrics: Any, params: Any, tags: Any) -> None:
        metrics = list(metrics or ())
        linked = [m for m in metrics if getattr(m, "model_id", None) is not None]
        if linked:
            metrics = [m for m in metrics if m not in linked] + self._new_points(run_id, linked)
        self.client.log_batch(run_id, metrics, list(params or ()), list(tags or ()))
        for model_id in dict.fromkeys(m.model_id for m in linked):
            self.store.logged_models.log_metrics(
                model_id,
                [
                    LoggedModelMetric(
                        m.key,
                        m.value,
                        m.timestamp,
                        m.step,
                        run_id,
                        m.dataset_name,
                        m.dataset_digest,
                    )
                    for m in linked
                    if m.model_id == model_id
                ],
            )

    def _new_points(self, run_id: str, metrics: list[Any]) -> list[Any]:
        """Of metrics linked to a model, those the run does not hold yet: MLflow's `log_model`
        links the run's points of a step to the model by logging them again, which its own
        stores absorb (a point is a key) and which must not double a run's history here."""
        new = []
        for m in metrics:
            same = any(
                p.step == m.step
                and p.timestamp == m.timestamp
                and (p.value == m.value or (math.isnan(p.value) and math.isnan(m.value)))
                for p in self.client.get_metric_history(run_id, m.key)
            )
            if not same:
                new.append(m)
        return new

    def get_metric_history(
        self,
        run_id: str,
        metric_key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> Any:
        after = 0
        shape = paging.fingerprint("metric_history", run_id, metric_key)
        if page_token:
            after = paging.decode_token(page_token, shape, 1)[0]
        points = self.client.get_metric_history(run_id, metric_key, after=after, limit=max_results)
        token = None
        if max_results is not None and len(points) == max_results:
            token = paging.encode_token([points[-1].cursor], shape)
        return PagedList([convert.metric(p, run_id) for p in points], token)

    # -- search --------------------------------------------------------------------------

    def _search_runs(
        self,
        experiment_ids: Any,
        filter_string: str | None,
        run_view_type: Any,
        max_results: int | None,
        order_by: Sequence[str] | None,
        page_token: str | None,
    ) -> tuple[list[Any], str | None]:
        page = self.client.search_runs(
            list(experiment_ids or ()),
            filter_string or "",
            max_results=max_results,
            order_by=order_by,
            page_token=page_token,
            view=_view(run_view_type),
        )
        links = self.store.logged_models.run_links_of([r.info.run_id for r in page])
        return [convert.run(r, links.get(r.info.run_id, ())) for r in page], page.token

    # -- inputs and outputs --------------------------------------------------------------

    def log_inputs(self, run_id: str, datasets: Any = None, models: Any = None) -> None:
        if datasets:
            self.store.log_inputs(run_id, convert.dataset_inputs(datasets))
        if models:
            self.store.logged_models.link_run(
                run_id, [(m.model_id, 0) for m in models], direction="input"
            )

    def log_outputs(self, run_id: str, models: Any) -> None:
        self.store.logged_models.link_run(
            run_id, [(m.model_id, m.step or 0) for m in models or ()], direction="output"
        )

    def record_logged_model(self, run_id: str, mlflow_model: Any) -> None:
        run = self.store.get_run(run_id, max_metrics=0)
        history = json.loads(run.data.tags.get(MODEL_HISTORY_TAG, "[]"))
        history.append(mlflow_model.to_dict())
        self.store.set_tags(run_id, {MODEL_HISTORY_TAG: json.dumps(history)})

    def link_traces_to_run(self, trace_ids: list[str], run_id: str) -> None:
        raise MlflowException(
            "mltop stores keep no traces: MLflow's tracing is not supported by the mltop: "
            "tracking store",
            error_code=INVALID_PARAMETER_VALUE,
        )

    # -- logged models -------------------------------------------------------------------

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Any = None,
        params: Any = None,
        model_type: str | None = None,
    ) -> Any:
        created = self.store.logged_models.create(
            experiment_id,
            name,
            source_run_id,
            convert.pairs(tags),
            convert.pairs(params),
            model_type,
        )
        return convert.logged_model(created)

    def log_logged_model_params(self, model_id: str, params: Any) -> None:
        self.store.logged_models.log_params(model_id, convert.pairs(params))

    def finalize_logged_model(self, model_id: str, status: Any) -> Any:
        return convert.logged_model(self.store.logged_models.finalize(model_id, status))

    def set_logged_model_tags(self, model_id: str, tags: Any) -> None:
        self.store.logged_models.set_tags(model_id, convert.pairs(tags))

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        self.store.logged_models.delete_tag(model_id, key)

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> Any:
        found = self.store.logged_models.get(model_id, allow_deleted=allow_deleted)
        return convert.logged_model(found)

    def delete_logged_model(self, model_id: str) -> None:
        self.store.logged_models.delete(model_id)

    def search_logged_models(
        self,
        experiment_ids: list[str],
        filter_string: str | None = None,
        datasets: list[dict[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: list[dict[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> Any:
        if datasets:
            raise MlflowException(
                "search_logged_models: filtering metrics by dataset is not supported by mltop "
                "stores; leave datasets out",
                error_code=INVALID_PARAMETER_VALUE,
            )
        page = self.store.logged_models.search(
            experiment_ids, filter_string, order_by, max_results, page_token
        )
        return PagedList([convert.logged_model(m) for m in page], page.token)
