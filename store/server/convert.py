"""MLflow's JSON (as its REST API answers) to mltop's entities, and back.

The registry's conversions live in registry.py. What the server sends is checked as it is
read: a field of the wrong type is a `ServerError` naming it (a proxy's error page, a server
of another version), never an AttributeError deep in a screen.

Metric values travel as MLflow's protobuf JSON writes doubles: numbers, and the strings
"NaN", "Infinity" and "-Infinity" (a JSON number cannot hold them). MLflow's SQL-backed
server stores an infinity as the largest finite double (its `sanitize_metric_value`), so
`value_from_json` reads ±1.7976931348623157e308 back as ±inf: what was logged is what is
read, as with mltop's own store. (A script that logs exactly the largest double reads inf.)
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from mltop.store.entities import (
    ACTIVE,
    MODEL_FAILED,
    MODEL_PENDING,
    MODEL_READY,
    Dataset,
    DatasetInput,
    Experiment,
    FileInfo,
    InputTag,
    LoggedModel,
    LoggedModelMetric,
    Metric,
    MetricSummary,
    Run,
    RunData,
    RunInfo,
    RunInputs,
)
from mltop.store.server.rest import ServerError

# The tags MLflow keeps a run's name, user and parent in.
RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "mlflow.user"
PARENT_TAG = "mlflow.parentRunId"

# A server knows no heartbeat: runs read from it carry this interval and never turn LOST.
SERVER_HEARTBEAT_INTERVAL_MS = 5000

# MLflow 3's LoggedModelStatus names (protobuf) <-> mltop's.
_MODEL_STATUS_IN = {
    "LOGGED_MODEL_PENDING": MODEL_PENDING,
    "LOGGED_MODEL_READY": MODEL_READY,
    "LOGGED_MODEL_UPLOAD_FAILED": MODEL_FAILED,
    "LOGGED_MODEL_STATUS_UNSPECIFIED": MODEL_PENDING,
    MODEL_PENDING: MODEL_PENDING,
    MODEL_READY: MODEL_READY,
    MODEL_FAILED: MODEL_FAILED,
}
_MODEL_STATUS_OUT = {
    MODEL_PENDING: "LOGGED_MODEL_PENDING",
    MODEL_READY: "LOGGED_MODEL_READY",
    MODEL_FAILED: "LOGGED_MODEL_UPLOAD_FAILED",
}

_MAX = sys.float_info.max


def malformed(what: str, value: object) -> ServerError:
    shown = repr(value)
    if len(shown) > 200:
        shown = shown[:197] + "..."
    return ServerError(f"the tracking server answered a malformed {what}: {shown}")


# -- scalars ----------------------------------------------------------------------------


def text(value: object, what: str, default: str = "") -> str:
    if value is None:
        return default
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise malformed(what, value)


def integer(value: object, what: str) -> int:
    """An int64 as MLflow's JSON writes it: a number, or its text."""
    if isinstance(value, bool):
        raise malformed(what, value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise malformed(what, value) from None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise malformed(what, value)


def optional_integer(value: object, what: str) -> int | None:
    return None if value is None or value == "" else integer(value, what)


def value_from_json(value: object, what: str = "metric value") -> float:
    """A double as MLflow's JSON writes it ("NaN", "Infinity", "-Infinity" or a number);
    the largest finite double (how MLflow's SQL store keeps an infinity) reads as inf."""
    if isinstance(value, bool):
        raise malformed(what, value)
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        special = {"nan": math.nan, "infinity": math.inf, "-infinity": -math.inf}
        lowered = value.strip().lower()
        if lowered in special:
            return special[lowered]
        try:
            number = float(value)
        except ValueError:
            raise malformed(what, value) from None
    else:
        raise malformed(what, value)
    if number == _MAX:
        return math.inf
    if number == -_MAX:
        return -math.inf
    return number


def value_to_json(value: float) -> float | str:
    """A double as MLflow's protobuf JSON takes it: NaN and the infinities as text."""
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return number


# -- key/value lists ----------------------------------------------------------------------


def _items(value: object, what: str) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise malformed(what, value)
    return value


def pairs_from_json(value: object, what: str = "tags") -> dict[str, str]:
    """MLflow's `[{"key": k, "value": v}, ...]` (tags, params) as a dict; later keys win."""
    return {
        text(item.get("key"), f"{what} key"): text(item.get("value"), f"{what} value")
        for item in _items(value, what)
    }


def pairs_to_json(values: Mapping[str, object] | None) -> list[dict[str, str]]:
    """A dict as MLflow's `[{"key": k, "value": v}, ...]` (values as text)."""
    return [{"key": str(k), "value": str(v)} for k, v in (values or {}).items()]


# -- experiments ------------------------------------------------------------------------


def experiment_from_json(data: object) -> Experiment:
    if not isinstance(data, Mapping):
        raise malformed("experiment", data)
    created = optional_integer(data.get("creation_time"), "experiment creation_time")
    updated = optional_integer(data.get("last_update_time"), "experiment last_update_time")
    return Experiment(
        experiment_id=text(data.get("experiment_id"), "experiment id"),
        name=text(data.get("name"), "experiment name"),
        lifecycle_stage=text(data.get("lifecycle_stage"), "experiment stage", ACTIVE),
        creation_time=created or 0,
        last_update_time=updated if updated is not None else (created or 0),
        tags=pairs_from_json(data.get("tags"), "experiment tags"),
        artifact_location=text(data.get("artifact_location"), "artifact location"),
    )


# -- runs -------------------------------------------------------------------------------


def run_info_from_json(info: object, tags: Mapping[str, str] | None = None) -> RunInfo:
    """A run's attributes; its name, user and parent fall back on (or come from) the tags
    MLflow keeps them in. A server has no heartbeat: `heartbeat_time` is None."""
    if not isinstance(info, Mapping):
        raise malformed("run info", info)
    tags = tags or {}
    run_id = text(info.get("run_id") or info.get("run_uuid"), "run id")
    if not run_id:
        raise malformed("run info (no run id)", info)
    parent = tags.get(PARENT_TAG) or None
    return RunInfo(
        run_id=run_id,
        run_name=text(info.get("run_name"), "run name") or tags.get(RUN_NAME_TAG, ""),
        experiment_id=text(info.get("experiment_id"), "run experiment id"),
        # The tag wins, as mltop's store reads a run's user from it once set.
        user_id=tags.get(USER_TAG) or text(info.get("user_id"), "run user"),
        status=text(info.get("status"), "run status", "RUNNING"),
        start_time=optional_integer(info.get("start_time"), "run start_time"),
        end_time=optional_integer(info.get("end_time"), "run end_time"),
        lifecycle_stage=text(info.get("lifecycle_stage"), "run stage", ACTIVE),
        parent_run_id=parent,
        artifact_uri=text(info.get("artifact_uri"), "run artifact_uri"),
        heartbeat_time=None,
        heartbeat_interval_ms=SERVER_HEARTBEAT_INTERVAL_MS,
    )


def latest_summary(metric: Metric) -> MetricSummary:
    """What a run's JSON says of a key: only its latest point. min and max are that
    point's value and count is 1 until the history is read (`summary_from_points`)."""
    return MetricSummary(
        metric.key, metric.value, metric.step, metric.timestamp, metric.value, metric.value, 1
    )


def summary_from_points(
    key: str, points: Sequence[Metric], base: MetricSummary | None = None
) -> MetricSummary | None:
    """A key's summary from its history, as mltop's store keeps it: the latest point
    (highest step, then timestamp; the later logged of equals), min and max ignoring NaN
    (NaN when all are), count. `base`: the summary of the points before these."""
    if base is None and not points:
        return None
    if base is not None:
        value, step, stamp = base.value, base.step, base.timestamp
        low, high, count = base.min, base.max, base.count
    else:
        value, step, stamp = points[0].value, points[0].step, points[0].timestamp
        low = high = math.nan
        count = 0
    for point in points:
        if (point.step, point.timestamp) >= (step, stamp):
            value, step, stamp = point.value, point.step, point.timestamp
        number = point.value
        if not math.isnan(number):
            if math.isnan(low) or number < low:
                low = number
            if math.isnan(high) or number > high:
                high = number
    return MetricSummary(key, value, step, stamp, low, high, count + len(points))


def same_point(a: Metric, b: Metric) -> bool:
    """The same logged point (NaN equal to NaN)."""
    return (
        a.step == b.step
        and a.timestamp == b.timestamp
        and (a.value == b.value or (math.isnan(a.value) and math.isnan(b.value)))
    )


def dataset_input_from_json(data: object) -> DatasetInput:
    if not isinstance(data, Mapping) or not isinstance(data.get("dataset"), Mapping):
        raise malformed("dataset input", data)
    found = data["dataset"]
    schema = found.get("schema")
    profile = found.get("profile")
    return DatasetInput(
        Dataset(
            name=text(found.get("name"), "dataset name"),
            digest=text(found.get("digest"), "dataset digest"),
            source_type=text(found.get("source_type"), "dataset source_type"),
            source=text(found.get("source"), "dataset source"),
            schema=None if schema in (None, "") else text(schema, "dataset schema"),
            profile=None if profile in (None, "") else text(profile, "dataset profile"),
        ),
        [InputTag(k, v) for k, v in pairs_from_json(data.get("tags"), "input tags").items()],
    )


def dataset_input_to_json(item: DatasetInput) -> dict[str, Any]:
    found = item.dataset
    dataset: dict[str, Any] = {
        "name": found.name,
        "digest": found.digest,
        "source_type": found.source_type,
        "source": found.source,
    }
    if found.schema is not None:
        dataset["schema"] = found.schema
    if found.profile is not None:
        dataset["profile"] = found.profile
    return {"tags": [{"key": t.key, "value": t.value} for t in item.tags], "dataset": dataset}


def run_from_json(data: object, *, max_metrics: int | None = None) -> Run:
    """A `Run` from MLflow's run JSON. Its summaries hold only the latest point of each
    key (`latest_summary`); `max_metrics` keeps the first that many keys (by name) and
    counts the rest in `more_metrics`."""
    if not isinstance(data, Mapping):
        raise malformed("run", data)
    body = data.get("data") or {}
    if not isinstance(body, Mapping):
        raise malformed("run data", body)
    tags = pairs_from_json(body.get("tags"), "run tags")
    info = run_info_from_json(data.get("info"), tags)
    params = pairs_from_json(body.get("params"), "run params")
    summaries: dict[str, MetricSummary] = {}
    for item in _items(body.get("metrics"), "run metrics"):
        point = metric_from_json(item, info.run_id)
        summaries[point.key] = latest_summary(point)
    more = 0
    if max_metrics is not None and len(summaries) > max_metrics:
        kept = sorted(summaries)[: max(0, max_metrics)]
        more = len(summaries) - len(kept)
        summaries = {k: summaries[k] for k in kept}
    inputs = data.get("inputs") or {}
    if not isinstance(inputs, Mapping):
        raise malformed("run inputs", inputs)
    dataset_inputs = tuple(
        dataset_input_from_json(d) for d in _items(inputs.get("dataset_inputs"), "run inputs")
    )
    return Run(info, RunData(params, tags, summaries, more), RunInputs(dataset_inputs))


# -- metrics ----------------------------------------------------------------------------


def metric_from_json(data: object, run_id: str = "") -> Metric:
    if not isinstance(data, Mapping):
        raise malformed("metric", data)
    return Metric(
        key=text(data.get("key"), "metric key"),
        value=value_from_json(data.get("value")),
        timestamp=integer(data.get("timestamp", 0), "metric timestamp"),
        step=integer(data.get("step", 0), "metric step"),
        run_id=run_id or text(data.get("run_id"), "metric run id"),
    )


def metric_to_json(metric: Metric) -> dict[str, Any]:
    """A point as `runs/log-batch` takes it."""
    return {
        "key": metric.key,
        "value": value_to_json(metric.value),
        "timestamp": int(metric.timestamp),
        "step": int(metric.step),
    }


def metrics_from_json(items: object, run_id: str = "") -> list[Metric]:
    return [metric_from_json(item, run_id) for item in _items(items, "metrics")]


# -- logged models ----------------------------------------------------------------------


def model_status_from_json(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return {1: MODEL_PENDING, 2: MODEL_READY, 3: MODEL_FAILED}.get(value, MODEL_PENDING)
    status = text(value, "logged model status", "LOGGED_MODEL_PENDING")
    if status not in _MODEL_STATUS_IN:
        raise malformed("logged model status", value)
    return _MODEL_STATUS_IN[status]


def model_status_to_json(status: str) -> str:
    return _MODEL_STATUS_OUT[status]


def logged_model_from_json(data: object) -> LoggedModel:
    """MLflow 3's `{"info": ..., "data": {"params", "metrics"}}` as a LoggedModel."""
    if not isinstance(data, Mapping) or not isinstance(data.get("info"), Mapping):
        raise malformed("logged model", data)
    info = data["info"]
    body = data.get("data") or {}
    if not isinstance(body, Mapping):
        raise malformed("logged model data", body)
    metrics = []
    for item in _items(body.get("metrics"), "logged model metrics"):
        metrics.append(
            LoggedModelMetric(
                key=text(item.get("key"), "metric key"),
                value=value_from_json(item.get("value")),
                timestamp=integer(item.get("timestamp", 0), "metric timestamp"),
                step=integer(item.get("step", 0), "metric step"),
                run_id=text(item.get("run_id"), "metric run id") or None,
                dataset_name=text(item.get("dataset_name"), "dataset name") or None,
                dataset_digest=text(item.get("dataset_digest"), "dataset digest") or None,
            )
        )
    created = optional_integer(info.get("creation_timestamp_ms"), "model creation time") or 0
    updated = optional_integer(info.get("last_updated_timestamp_ms"), "model update time")
    return LoggedModel(
        model_id=text(info.get("model_id"), "model id"),
        experiment_id=text(info.get("experiment_id"), "model experiment id"),
        name=text(info.get("name"), "model name"),
        artifact_location=text(info.get("artifact_uri"), "model artifact_uri"),
        creation_timestamp=created,
        last_updated_timestamp=updated if updated is not None else created,
        model_type=text(info.get("model_type"), "model type") or None,
        source_run_id=text(info.get("source_run_id"), "model source run") or None,
        status=model_status_from_json(info.get("status")),
        status_message=text(info.get("status_message"), "model status message") or None,
        tags=pairs_from_json(info.get("tags"), "model tags"),
        params=pairs_from_json(body.get("params"), "model params"),
        metrics=metrics,
    )


# -- artifacts --------------------------------------------------------------------------


def file_info_from_json(data: object, prefix: str = "") -> FileInfo:
    """An artifact listing entry; `path` made relative to `prefix` (the run's root) when
    the server names it from further up."""
    if not isinstance(data, Mapping):
        raise malformed("artifact listing", data)
    path = text(data.get("path"), "artifact path").strip("/")
    if prefix and path.startswith(prefix.rstrip("/") + "/"):
        path = path[len(prefix.rstrip("/")) + 1 :]
    is_dir = bool(data.get("is_dir", False))
    size = None if is_dir else optional_integer(data.get("file_size"), "artifact size")
    return FileInfo(path, is_dir, size)


def offset_token(offset: int) -> str:
    """A page token starting a listing at `offset`, as MLflow's stores write theirs
    (base64 of `{"offset": n}`): how a history is read on from a cursor."""
    import base64
    import json

    return base64.b64encode(json.dumps({"offset": int(offset)}).encode()).decode()
