"""Validation of keys, names and values, following MLflow's rules so habits carry over."""

from __future__ import annotations

import math
import numbers
import posixpath
import re
from collections.abc import Mapping

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
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        hint = " (call .item() on a tensor or array)" if hasattr(value, "item") else ""
        raise InvalidValueError(
            f"metric {key!r}: value must be a real number, not {type(value).__name__} "
            f"{value!r:.60}{hint}"
        )
    return float(value)


def integer(name: str, value: object) -> int:
    """An int64 step or timestamp; bools, floats and strings are refused."""
    if type(value) is not int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise InvalidValueError(f"{name} must be an integer, not {type(value).__name__}")
        value = int(value)
    if not INT64_MIN <= value <= INT64_MAX:
        raise InvalidValueError(f"{name} {value} does not fit in 64 bits")
    return value


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
