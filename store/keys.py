"""Validation of keys, names and values, following MLflow's rules so habits carry over."""

from __future__ import annotations

import math
import numbers
import posixpath
import re
from collections.abc import Mapping

from mltop.store.entities import Dataset, DatasetInput, InputTag
from mltop.store.errors import InvalidKeyError, InvalidValueError, ValidationError

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_RUN_NAME_LENGTH = 250
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
LAST_TIME_MS = 253_402_300_799_999  # 9999-12-31 23:59:59.999 UTC

# A full match: `$` would also match before a trailing newline ("loss\n").
_KEY_CHARS = re.compile(r"[\w\-./ :]+")


def validate_key(key: object, what: str = "key") -> str:
    """Return `key` if it is a valid param, metric or tag key, else raise InvalidKeyError."""
    if not isinstance(key, str):
        raise InvalidKeyError(key, f"a {what} must be a string, not {type(key).__name__}")
    if not key:
        raise InvalidKeyError(key, f"a {what} cannot be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKeyError(
            key, f"a {what} is at most {MAX_KEY_LENGTH} characters (this one has {len(key)})"
        )
    if not _KEY_CHARS.fullmatch(key):
        raise InvalidKeyError(
            key,
            f"a {what} may contain only letters, digits, underscores, dashes, periods, "
            "slashes, spaces and colons",
        )
    normal = posixpath.normpath(key)
    if key.startswith("/") or normal.startswith("..") or normal != key or normal == ".":
        raise InvalidKeyError(
            key,
            f"a {what} must be a plain relative path: no leading '/', no '..', '.' or "
            "empty segments, no trailing '/'",
        )
    return key


def validate_string_value(value: object, limit: int, what: str) -> str:
    """Stringify a param or tag value and check its length."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        raise ValidationError(f"{what} is {len(text)} characters long; the limit is {limit}")
    return text


def clean_tags(tags: Mapping[str, object], limit: int = MAX_TAG_VALUE_LENGTH) -> dict[str, str]:
    """Tags checked (valid keys, string values of at most `limit` characters), as strings."""
    return {
        validate_key(k, "tag key"): validate_string_value(v, limit, f"tag {k!r}")
        for k, v in tags.items()
    }


def metric_value(key: str, value: object) -> float:
    """A metric value as float; bools and non-numbers are refused."""
    if type(value) is float:
        return value
    if not isinstance(value, bool) and isinstance(value, numbers.Number):
        try:  # any real number, as MLflow takes: int, numpy scalars, Decimal, Fraction
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            pass  # complex, or a Decimal too large
    hint = " (call .item() on a tensor or array)" if hasattr(value, "item") else ""
    raise InvalidValueError(
        f"metric {key!r}: value must be a real number, not {type(value).__name__} "
        f"{value!r:.60}{hint}"
    )


def integer(name: str, value: object) -> int:
    """An int64 step or timestamp; a whole float (`3.0`, as MLflow takes it) counts; bools,
    fractions and strings are refused."""
    number: int
    if type(value) is int:
        number = value
    else:
        if isinstance(value, bool) or not isinstance(value, numbers.Number):
            raise InvalidValueError(f"{name} must be an integer, not {type(value).__name__}")
        try:
            number = int(value)  # type: ignore[call-overload]
            whole = isinstance(value, numbers.Integral) or float(value) == number  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            whole = False
        if not whole:
            raise InvalidValueError(f"{name} must be a whole number, not {value!r}")
    if not INT64_MIN <= number <= INT64_MAX:
        raise InvalidValueError(f"{name} {number} does not fit in 64 bits")
    return number


def time_ms(name: str, value: object) -> int:
    """A run's start or end time: integer milliseconds since the epoch, from 1970 to 9999.
    (Seconds, microseconds or nanoseconds given by mistake are refused, not stored.)"""
    ms = integer(name, value)
    if not 0 <= ms <= LAST_TIME_MS:
        raise InvalidValueError(
            f"{name} {ms} is not a time in milliseconds since 1970 (from 0 to {LAST_TIME_MS}, "
            "the end of year 9999): milliseconds, not seconds or nanoseconds"
        )
    return ms


def validate_name(name: object, what: str, limit: int) -> str:
    """An experiment or run name: a non-empty string of bounded length."""
    if not isinstance(name, str):
        raise ValidationError(f"{what} must be a string, not {type(name).__name__}")
    if not name.strip():
        raise ValidationError(f"{what} cannot be empty")
    if len(name) > limit:
        raise ValidationError(f"{what} is at most {limit} characters (this one has {len(name)})")
    return name


def is_nan(value: float | None) -> bool:
    return value is None or math.isnan(value)


# Datasets as run inputs (MLflow's limits, so that what logs there logs here).
MAX_DATASET_NAME_LENGTH = 500
MAX_DATASET_DIGEST_LENGTH = 36
MAX_DATASET_SOURCE_LENGTH = 65535
MAX_DATASET_SCHEMA_LENGTH = 1048575
MAX_DATASET_PROFILE_LENGTH = 16777215
MAX_INPUT_TAG_KEY_LENGTH = 255
MAX_INPUT_TAG_VALUE_LENGTH = 500


def _dataset_text(value: object, what: str, limit: int, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str):
        found = "None" if value is None else type(value).__name__
        raise InvalidValueError(f"{what} must be a string, not {found}")
    if len(value) > limit:
        raise InvalidValueError(f"{what} is {len(value)} characters long; the limit is {limit}")


def check_dataset_inputs(inputs: object) -> list[DatasetInput]:
    """Dataset inputs (`DatasetInput`s: a dataset and its input tags) checked against
    MLflow's rules, as a list; InvalidValueError names the first that breaks one."""
    if inputs is None:
        return []
    if isinstance(inputs, (str, bytes, Mapping)) or not hasattr(inputs, "__iter__"):
        raise InvalidValueError(
            f"datasets must be a list of DatasetInput, not {type(inputs).__name__}"
        )
    checked = list(inputs)
    for item in checked:
        if not isinstance(item, DatasetInput):
            raise InvalidValueError(
                f"datasets must hold DatasetInput objects, not {type(item).__name__}"
            )
        dataset = item.dataset
        if not isinstance(dataset, Dataset):
            found = "None" if dataset is None else type(dataset).__name__
            raise InvalidValueError(f"a dataset input needs a Dataset, not {found}")
        _dataset_text(dataset.name, "dataset name", MAX_DATASET_NAME_LENGTH)
        _dataset_text(dataset.digest, "dataset digest", MAX_DATASET_DIGEST_LENGTH)
        _dataset_text(dataset.source_type, "dataset source_type", MAX_DATASET_SOURCE_LENGTH)
        _dataset_text(dataset.source, "dataset source", MAX_DATASET_SOURCE_LENGTH)
        _dataset_text(dataset.schema, "dataset schema", MAX_DATASET_SCHEMA_LENGTH, optional=True)
        _dataset_text(dataset.profile, "dataset profile", MAX_DATASET_PROFILE_LENGTH, optional=True)
        for tag in item.tags:
            if not isinstance(tag, InputTag):
                raise InvalidValueError(
                    f"input tags must be InputTag objects, not {type(tag).__name__}"
                )
            _dataset_text(tag.key, "input tag key", MAX_INPUT_TAG_KEY_LENGTH)
            _dataset_text(tag.value, "input tag value", MAX_INPUT_TAG_VALUE_LENGTH)
    return checked
