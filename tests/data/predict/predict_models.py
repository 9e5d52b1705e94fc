"""Small pure-Python models for tests/test_predict_cli.py, importable by name (so that a
model pickled with plain pickle loads in a subprocess without cloudpickle)."""

from __future__ import annotations

from typing import Any


def _records(data: Any) -> list[dict[str, Any]]:
    if hasattr(data, "to_dict"):  # a pandas DataFrame
        return [
            {k: (None if v != v else v) for k, v in row.items()}  # NaN is missing
            for row in data.to_dict("records")
        ]
    return list(data)


class Linear:
    """prediction = sum(weight * row[column]) + bias; missing values count as 0."""

    def __init__(self, weights: dict[str, float], bias: float = 0.0) -> None:
        self.weights = weights
        self.bias = bias

    def predict(self, data: Any) -> list[float]:
        return [
            sum(w * (row.get(c) or 0) for c, w in self.weights.items()) + self.bias
            for row in _records(data)
        ]


class Kinds:
    """What the model was given and the type of each value: 'list|int,float,str,None'."""

    def predict(self, data: Any) -> list[str]:
        given = "DataFrame" if hasattr(data, "to_dict") else type(data).__name__
        return [
            given
            + "|"
            + ",".join(type(v).__name__ if v is not None else "None" for v in row.values())
            for row in _records(data)
        ]


class TwoColumns:
    """Two outputs per row: a list of [sum, difference] pairs."""

    def predict(self, data: Any) -> list[list[float]]:
        return [[row["a"] + row["b"], row["a"] - row["b"]] for row in _records(data)]


class Failing:
    def predict(self, data: Any) -> list[float]:
        raise ZeroDivisionError("the model divided by zero")


class Scores:
    """A DataFrame of named columns per chunk (pandas installed)."""

    def predict(self, data: Any) -> Any:
        import pandas as pd

        return pd.DataFrame({"low": data["a"] - 1, "high": data["a"] + 1})


class Waiting:
    """Waits (up to a minute) for the test to stop the command."""

    def predict(self, data: Any) -> list[float]:
        import time

        time.sleep(60)
        return [0.0] * len(data)


class Returns:
    """Returns what it was made with, whatever the rows (an output of any shape)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def predict(self, data: Any) -> Any:
        return self.value


class Echo:
    """Each row's values as given: 'int:1|float:2.5|NoneType:None' (types and values)."""

    def predict(self, data: Any) -> list[str]:
        return [
            "|".join(f"{type(v).__name__}:{v!r}" for v in row.values()) for row in _records(data)
        ]
