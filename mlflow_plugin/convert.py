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

from mlflow import entities as mf

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
    return mf.Experiment(
        experiment_id=found.experiment_id,
        name=found.name,
        artifact_location=found.artifact_location,
        lifecycle_stage=found.lifecycle_stage,
        tags=[mf.ExperimentTag(k, v) for k, v in found.tags.items()],
        creation_time=found.creation_time,
        last_update_time=found.last_update_time,
    )


def run_info(run: Run) -> Any:
    info = run.info
    return mf.RunInfo(
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
    metrics = [mf.Metric(s.key, s.value, s.timestamp, s.step) for s in data.summaries.values()]
    params = [mf.Param(k, v) for k, v in data.params.items()]
    tags = [mf.RunTag(k, v) for k, v in data.tags.items()]
    datasets = [
        mf.DatasetInput(
            mf.Dataset(
                item.dataset.name,
                item.dataset.digest,
                item.dataset.source_type,
                item.dataset.source,
                item.dataset.schema,
                item.dataset.profile,
            ),
            [mf.InputTag(t.key, t.value) for t in item.tags],
        )
        for item in found.inputs.dataset_inputs
    ]
    inputs = [mf.LoggedModelInput(link.model_id) for link in links if link.direction == "input"]
    outputs = [
        mf.LoggedModelOutput(link.model_id, link.step)
        for link in links
        if link.direction == "output"
    ]
    return mf.Run(
        run_info(found),
        mf.RunData(metrics=metrics, params=params, tags=tags),
        mf.RunInputs(dataset_inputs=datasets, model_inputs=inputs),
        mf.RunOutputs(model_outputs=outputs),
    )


def metric(point: Metric, run_id: str) -> Any:
    return mf.Metric(point.key, point.value, point.timestamp, point.step, run_id=run_id)


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
    return mf.LoggedModel(
        experiment_id=found.experiment_id,
        model_id=found.model_id,
        name=found.name,
        artifact_location=found.artifact_location,
        creation_timestamp=found.creation_timestamp,
        last_updated_timestamp=found.last_updated_timestamp,
        model_type=found.model_type,
        source_run_id=found.source_run_id,
        status=mf.LoggedModelStatus[found.status],
        status_message=found.status_message,
        tags=[mf.LoggedModelTag(k, v) for k, v in found.tags.items()],
        params=[mf.LoggedModelParameter(k, v) for k, v in found.params.items()],
        metrics=[
            mf.Metric(
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
