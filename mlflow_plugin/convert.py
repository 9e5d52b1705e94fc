"""mltop's tracking entities as MLflow's, and MLflow's as mltop's.

MLflow's client reads every field of what a store returns (`run.info.status`,
`run.data.metrics`, `run.inputs.dataset_inputs`, `model.artifact_location` ...), so each
of ours becomes the MLflow entity of the same shape: same ids, times in ms, statuses by
name, a metric's latest point as `run.data.metrics`, datasets and logged models as inputs
and outputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

# Bound once: `mlflow.entities` resolves its names lazily, at a cost on every lookup.
from mlflow.entities import (
    Dataset as MlflowDataset,
)
from mlflow.entities import (
    DatasetInput as MlflowDatasetInput,
)
from mlflow.entities import (
    Experiment as MlflowExperiment,
)
from mlflow.entities import (
    ExperimentTag,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelParameter,
    LoggedModelStatus,
    LoggedModelTag,
    Param,
    RunTag,
)
from mlflow.entities import (
    InputTag as MlflowInputTag,
)
from mlflow.entities import (
    LoggedModel as MlflowLoggedModel,
)
from mlflow.entities import (
    Metric as MlflowMetric,
)
from mlflow.entities import (
    Run as MlflowRun,
)
from mlflow.entities import (
    RunData as MlflowRunData,
)
from mlflow.entities import (
    RunInfo as MlflowRunInfo,
)
from mlflow.entities import (
    RunInputs as MlflowRunInputs,
)
from mlflow.entities import (
    RunOutputs as MlflowRunOutputs,
)

from mltop.store.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    InputTag,
    LoggedModel,
    Metric,
    Run,
    RunModel,
)


def experiment(found: Experiment) -> Any:
    return MlflowExperiment(
        experiment_id=found.experiment_id,
        name=found.name,
        artifact_location=found.artifact_location,
        lifecycle_stage=found.lifecycle_stage,
        tags=[ExperimentTag(k, v) for k, v in found.tags.items()],
        creation_time=found.creation_time,
        last_update_time=found.last_update_time,
    )


def run_info(run: Run) -> Any:
    info = run.info
    return MlflowRunInfo(
        run_id=info.run_id,
        experiment_id=info.experiment_id,
        user_id=info.user_id or "",
        status=info.status,
        start_time=info.start_time,
        end_time=info.end_time,
        lifecycle_stage=info.lifecycle_stage,
        artifact_uri=info.artifact_uri,
        run_name=info.run_name,
    )


def run(found: Run, links: Sequence[RunModel] = ()) -> Any:
    data = found.data
    metrics = [MlflowMetric(s.key, s.value, s.timestamp, s.step) for s in data.summaries.values()]
    params = [Param(k, v) for k, v in data.params.items()]
    tags = [RunTag(k, v) for k, v in data.tags.items()]
    datasets = [
        MlflowDatasetInput(
            MlflowDataset(
                item.dataset.name,
                item.dataset.digest,
                item.dataset.source_type,
                item.dataset.source,
                item.dataset.schema,
                item.dataset.profile,
            ),
            [MlflowInputTag(t.key, t.value) for t in item.tags],
        )
        for item in found.inputs.dataset_inputs
    ]
    inputs = [LoggedModelInput(link.model_id) for link in links if link.direction == "input"]
    outputs = [
        LoggedModelOutput(link.model_id, link.step) for link in links if link.direction == "output"
    ]
    return MlflowRun(
        run_info(found),
        MlflowRunData(metrics=metrics, params=params, tags=tags),
        MlflowRunInputs(dataset_inputs=datasets, model_inputs=inputs),
        MlflowRunOutputs(model_outputs=outputs),
    )


def metric(point: Metric, run_id: str) -> Any:
    return MlflowMetric(point.key, point.value, point.timestamp, point.step, run_id=run_id)


def dataset_inputs(items: Iterable[Any] | None) -> list[DatasetInput]:
    """MLflow's DatasetInputs as ours (the store checks every field)."""
    return [
        DatasetInput(
            Dataset(
                item.dataset.name,
                item.dataset.digest,
                item.dataset.source_type,
                item.dataset.source,
                item.dataset.schema,
                item.dataset.profile,
            ),
            [InputTag(tag.key, tag.value) for tag in (item.tags or [])],
        )
        for item in items or ()
    ]


def logged_model(found: LoggedModel) -> Any:
    return MlflowLoggedModel(
        experiment_id=found.experiment_id,
        model_id=found.model_id,
        name=found.name,
        artifact_location=found.artifact_location,
        creation_timestamp=found.creation_timestamp,
        last_updated_timestamp=found.last_updated_timestamp,
        model_type=found.model_type,
        source_run_id=found.source_run_id,
        status=LoggedModelStatus[found.status],
        status_message=found.status_message,
        tags=[LoggedModelTag(k, v) for k, v in found.tags.items()],
        params=[LoggedModelParameter(k, v) for k, v in found.params.items()],
        metrics=[
            MlflowMetric(
                m.key,
                m.value,
                m.timestamp,
                m.step,
                model_id=found.model_id,
                dataset_name=m.dataset_name,
                dataset_digest=m.dataset_digest,
                run_id=m.run_id,
            )
            for m in found.metrics
        ],
    )


def pairs(items: Iterable[Any] | None) -> dict[str, Any]:
    """MLflow's tag or param entities (key, value) as a dict, the last of a key winning."""
    return {item.key: item.value for item in items or ()}
