"""The demo's models: small, real and pure Python, so that the demo's registry versions load
and predict (`mltop predict models:/cifar10-resnet/Production --input inputs.csv ...`) in
an environment with no numpy, pandas or scikit-learn.

They are pickled with the demo's runs (plain pickle finds these classes by this module's
name), so this module imports nothing heavy: `predict` takes a list of row dicts, or a
pandas DataFrame (recognised by its methods, pandas is never imported here), and returns a
list. "Training" one draws its parameters around the true ones, further off the worse the
run did, so that each version predicts a little differently.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# The image classifier: four statistics of an image in, one of CIFAR-10's classes out.
IMAGE_FEATURES = ("mean_red", "mean_green", "mean_blue", "edge_density")
IMAGE_CLASSES = ("airplane", "automobile", "bird", "cat", "deer")
_TRUE_CENTROIDS = {
    "airplane": (0.52, 0.58, 0.71, 0.18),
    "automobile": (0.47, 0.45, 0.44, 0.46),
    "bird": (0.49, 0.51, 0.43, 0.31),
    "cat": (0.45, 0.40, 0.36, 0.39),
    "deer": (0.43, 0.42, 0.32, 0.27),
}

# The sentiment model: a review's text in, "positive" or "negative" out.
_WORD_WEIGHTS = {
    "great": 1.2, "loved": 1.4, "brilliant": 1.5, "fun": 0.8, "moving": 0.9, "best": 1.0,
    "boring": -1.3, "awful": -1.6, "waste": -1.4, "dull": -1.0, "worst": -1.5, "mess": -0.9,
}  # fmt: skip
_WORD = re.compile(r"[a-z']+")


def records(model_input: Any) -> list[Mapping[str, Any]]:
    """The rows of `model_input`: a pandas DataFrame (its records), one row as a dict, or
    rows as dicts."""
    if hasattr(model_input, "to_dict") and hasattr(model_input, "columns"):
        rows: Any = model_input.to_dict(orient="records")
        return list(rows)
    if isinstance(model_input, Mapping):
        return [model_input]
    rows = list(model_input)
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise TypeError(f"row {index} is a {type(row).__name__}, not a mapping of columns")
    return rows


class NearestCentroid:
    """Classifies a row of numeric features as the class whose centroid is nearest."""

    def __init__(self, features: Sequence[str], centroids: Mapping[str, Sequence[float]]) -> None:
        self.features = tuple(features)
        self.centroids = {label: tuple(point) for label, point in centroids.items()}

    def predict(self, model_input: Any) -> list[str]:
        return [self._classify(row) for row in records(model_input)]

    def _classify(self, row: Mapping[str, Any]) -> str:
        point = [float(row[name]) for name in self.features]
        return min(self.centroids, key=lambda label: math.dist(point, self.centroids[label]))


class KeywordSentiment:
    """A review is positive when its words' weights sum above the bias."""

    def __init__(self, weights: Mapping[str, float], bias: float = 0.0, column: str = "review"):
        self.weights = dict(weights)
        self.bias = bias
        self.column = column

    def predict(self, model_input: Any) -> list[str]:
        return [self._label(str(row[self.column])) for row in records(model_input)]

    def _label(self, text: str) -> str:
        score = sum(self.weights.get(word, 0.0) for word in _WORD.findall(text.lower()))
        return "positive" if score > self.bias else "negative"


def image_classifier(seed: int, accuracy: float) -> NearestCentroid:
    """The classifier a run reaching `accuracy` would have learnt."""
    rng = random.Random(seed)
    spread = 0.05 * (1.0 - min(max(accuracy, 0.0), 1.0))
    return NearestCentroid(
        IMAGE_FEATURES,
        {
            label: tuple(round(x + rng.gauss(0.0, spread), 4) for x in point)
            for label, point in _TRUE_CENTROIDS.items()
        },
    )


def sentiment_model(seed: int, accuracy: float) -> KeywordSentiment:
    rng = random.Random(seed)
    noise = 0.5 * (1.0 - min(max(accuracy, 0.0), 1.0))
    weights = {word: round(w + rng.gauss(0.0, noise), 3) for word, w in _WORD_WEIGHTS.items()}
    return KeywordSentiment(weights, bias=round(rng.gauss(0.0, noise / 2), 3))


def image_rows(count: int, seed: int = 11) -> list[dict[str, float]]:
    """Rows to classify: images' statistics drawn around each class in turn."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        point = _TRUE_CENTROIDS[IMAGE_CLASSES[index % len(IMAGE_CLASSES)]]
        rows.append(
            {
                name: round(x + rng.gauss(0.0, 0.02), 3)
                for name, x in zip(IMAGE_FEATURES, point, strict=True)
            }
        )
    return rows


REVIEWS = (
    "A brilliant, moving film; I loved it.",
    "Boring and far too long: a waste of an evening.",
    "Great fun from start to finish.",
    "The worst script in years, a dull mess.",
    "Best thing I have seen this year.",
)


def review_rows(texts: Iterable[str] = REVIEWS) -> list[dict[str, str]]:
    return [{"review": text} for text in texts]
