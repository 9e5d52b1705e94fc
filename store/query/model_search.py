"""Searching logged models: MLflow's filter over a model's attributes, metrics, params and
tags, evaluated in Python (an experiment holds models by the dozen, not by the million).

Attributes: `name`, `model_id`, `model_type`, `status`, `source_run_id`,
`creation_timestamp` (or `creation_time`), `last_updated_timestamp`; `metrics.K` is the
model's latest value of K (highest step, then time), `params.K` and `tags.K` its values.
The comparison rules are the run search's (a missing key never matches).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mltop.store.entities import LoggedModel
from mltop.store.errors import FilterError
from mltop.store.query.compiler import ATTRIBUTES, ENTITIES, METRICS, PARAMS
from mltop.store.query.parser import BoolOp, Comparison, Identifier, Node, NullCheck, parse_filter
from mltop.store.query.policy import compare

_ATTRIBUTES: dict[str, str] = {
    "name": "name",
    "model_id": "model_id",
    "model_type": "model_type",
    "status": "status",
    "source_run_id": "source_run_id",
    "creation_timestamp": "creation_timestamp",
    "creation_time": "creation_timestamp",
    "last_updated_timestamp": "last_updated_timestamp",
}
_NUMERIC = {"creation_timestamp", "last_updated_timestamp"}


def latest_metrics(model: LoggedModel) -> dict[str, float]:
    """Each metric key's latest value (highest step, then timestamp, then last logged)."""
    best: dict[str, tuple[int, int, int, float]] = {}
    for order, point in enumerate(model.metrics):
        rank = (point.step, point.timestamp, order, point.value)
        if point.key not in best or rank[:3] > best[point.key][:3]:
            best[point.key] = rank
    return {key: rank[3] for key, rank in best.items()}


def _field(ident: Identifier, text: str) -> tuple[str, str]:
    """(entity, key) of an identifier, checked: attributes by their canonical names."""
    entity = ENTITIES.get((ident.entity or "").lower(), ATTRIBUTES if ident.entity is None else "")
    if not entity or entity not in (ATTRIBUTES, METRICS, PARAMS, "tags"):
        raise FilterError(
            f"{ident.text!r}: a logged-model filter names attributes, metrics.K, params.K or "
            "tags.K",
            text,
            ident.pos,
        )
    if entity == ATTRIBUTES:
        if ident.key not in _ATTRIBUTES:
            raise FilterError(
                f"unknown attribute {ident.key!r}; a logged model has {sorted(set(_ATTRIBUTES))}",
                text,
                ident.pos,
            )
        return entity, _ATTRIBUTES[ident.key]
    return entity, ident.key


def compile_filter(text: str | None) -> Callable[[LoggedModel], bool]:
    """A predicate over logged models for `text` (FilterError when it is not one)."""
    tree = parse_filter(text)
    if tree is None:
        return lambda model: True
    _check(tree, text or "")

    def matches(model: LoggedModel) -> bool:
        return _evaluate(tree, model, latest_metrics(model) if model.metrics else {}, text or "")

    return matches


def _check(node: Node, text: str) -> None:
    if isinstance(node, BoolOp):
        for item in node.items:
            _check(item, text)
        return
    entity, key = _field(node.ident, text)
    if isinstance(node, Comparison):
        numeric = entity == METRICS or key in _NUMERIC
        if numeric != isinstance(node.value, float):
            want = "a number" if numeric else "a quoted string"
            raise FilterError(f"{node.ident.text} compares with {want}", text, node.value_pos)


def _value(entity: str, key: str, model: LoggedModel, metrics: Mapping[str, float]) -> Any:
    if entity == ATTRIBUTES:
        return getattr(model, key)
    if entity == METRICS:
        return metrics.get(key)
    if entity == PARAMS:
        return model.params.get(key)
    return model.tags.get(key)


def _evaluate(node: Node, model: LoggedModel, metrics: Mapping[str, float], text: str) -> bool:
    if isinstance(node, BoolOp):
        results = (_evaluate(item, model, metrics, text) for item in node.items)
        return all(results) if node.op == "AND" else any(results)
    entity, key = _field(node.ident, text)
    actual = _value(entity, key, model, metrics)
    if isinstance(node, Comparison):
        return compare(actual, node.op, node.value)
    if isinstance(node, NullCheck):
        return (actual is not None) == node.negated
    return actual is not None and ((actual in node.values) != node.negated)


def sort_key(order_by: Sequence[Mapping[str, Any]] | None) -> Callable[[LoggedModel], tuple]:
    """A sort key for MLflow's `order_by` of logged models: dicts with `field_name` (an
    attribute or `metrics.K`) and `ascending` (default True). Missing values sort last either
    way; ties fall back to the newest first, then the model id."""
    fields: list[tuple[str, str, bool]] = []
    for i, item in enumerate(order_by or ()):
        if not isinstance(item, Mapping) or not isinstance(item.get("field_name"), str):
            raise FilterError(
                "an order_by entry is a dict with field_name (and ascending)", str(item), 0, item=i
            )
        name = item["field_name"]
        ident = parse_filter(f"{name} IS NULL")
        if not isinstance(ident, NullCheck):
            raise FilterError(f"cannot order by {name!r}", name, 0, item=i)
        entity, field = _field(ident.ident, name)
        fields.append((entity, field, bool(item.get("ascending", True))))

    def key(model: LoggedModel) -> tuple:
        metrics = latest_metrics(model) if model.metrics else {}
        parts: list[Any] = []
        for entity, name, ascending in fields:
            value = _value(entity, name, model, metrics)
            missing = value is None or (isinstance(value, float) and math.isnan(value))
            if missing:
                parts.append((1, 0))
            elif isinstance(value, (int, float)):
                parts.append((0, value if ascending else -value))
            else:
                parts.append((0, _Reversed(value) if not ascending else value))
        parts.append(-model.creation_timestamp)
        parts.append(model.model_id)
        return tuple(parts)

    return key


class _Reversed:
    """A string that sorts backwards."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __lt__(self, other: _Reversed) -> bool:
        return self.text > other.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.text == other.text

    __hash__ = None  # type: ignore[assignment]
