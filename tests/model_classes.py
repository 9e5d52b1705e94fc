"""Small models the model tests pickle: importable classes, so plain pickle finds them."""

from __future__ import annotations

from typing import Any


class Scaler:
    """Predicts `factor * x` for each row's `x` (rows as dicts, or a DataFrame)."""

    def __init__(self, factor: float) -> None:
        self.factor = factor

    def predict(self, model_input: Any) -> list[float]:
        if hasattr(model_input, "to_dict"):
            model_input = model_input.to_dict(orient="records")
        return [self.factor * float(row["x"]) for row in model_input]


def double_all(model_input: Any) -> list[float]:
    if hasattr(model_input, "to_dict"):
        model_input = model_input.to_dict(orient="records")
    return [2.0 * float(row["x"]) for row in model_input]
