"""Placeholder until the signatures module lands (helper S writes the real one)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mltop.store.errors import MltopError


class SignatureError(MltopError, ValueError):
    column: str | None = None
    row: int | None = None


class Schema:
    def __init__(self, inputs: list[Any]) -> None:
        self.inputs = inputs

    def to_json(self) -> str:
        return json.dumps(self.inputs)

    @classmethod
    def from_json(cls, text: str) -> Schema:
        return cls(json.loads(text))


class ParamSchema(Schema):
    pass


class ModelSignature:
    def __init__(
        self,
        inputs: Schema | None = None,
        outputs: Schema | None = None,
        params: ParamSchema | None = None,
    ) -> None:
        self.inputs, self.outputs, self.params = inputs, outputs, params

    def to_dict(self) -> dict[str, str | None]:
        return {
            "inputs": self.inputs.to_json() if self.inputs else None,
            "outputs": self.outputs.to_json() if self.outputs else None,
            "params": self.params.to_json() if self.params else None,
        }

    @classmethod
    def from_dict(cls, mapping: Mapping[str, Any]) -> ModelSignature:
        def part(key: str) -> Any:
            return Schema.from_json(mapping[key]) if mapping.get(key) else None

        return cls(part("inputs"), part("outputs"), None)


def infer_signature(
    model_input: Any = None, model_output: Any = None, params: Any = None
) -> ModelSignature:
    return ModelSignature()


def enforce_schema(data: Any, schema: Schema) -> Any:
    return data


def enforce_params(params: Any, schema: Any) -> Any:
    return params
