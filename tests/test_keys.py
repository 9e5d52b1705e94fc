"""Key rules follow MLflow: at most 250 characters of letters, digits and _ - . / space :
as a plain relative path."""

from __future__ import annotations

import posixpath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mltop.store import InvalidKeyError
from mltop.store.keys import validate_key

VALID = [
    "loss",
    "val/acc",
    "train loss",
    "a:b",
    "a-b_c.d",
    "layer.0/grad norm",
    "x" * 250,
    "épsilon",
    "a..b",
]
INVALID = [
    ("", "cannot be empty"),
    ("x" * 251, "at most 250"),
    ("/abs", "no leading '/'"),
    ("..", "plain relative path"),
    ("../up", "plain relative path"),
    ("a/../b", "plain relative path"),
    ("a//b", "plain relative path"),
    ("a/", "plain relative path"),
    ("./a", "plain relative path"),
    (".", "plain relative path"),
    ("a?b", "may contain only"),
    ("a\nb", "may contain only"),
    ("a;drop", "may contain only"),
    ("tab\there", "may contain only"),
    ("loss\n", "may contain only"),  # `$` matches before a trailing newline: a full match
    ("loss\r", "may contain only"),
]


@pytest.mark.parametrize("key", VALID)
def test_valid_keys(key):
    assert validate_key(key) == key


@pytest.mark.parametrize(("key", "reason"), INVALID)
def test_invalid_keys_name_the_key_and_the_rule(key, reason):
    with pytest.raises(InvalidKeyError) as info:
        validate_key(key, "metric key")
    assert info.value.key == key
    assert repr(key) in str(info.value)
    assert reason in str(info.value)


def test_non_string_key_is_refused():
    with pytest.raises(InvalidKeyError, match="must be a string, not int"):
        validate_key(5)


@given(st.text(max_size=300))
def test_any_text_is_accepted_or_refused_with_invalid_key_error(text):
    try:
        result = validate_key(text)
    except InvalidKeyError as exc:
        assert exc.key == text
        return
    assert result == text
    assert 0 < len(text) <= 250
    assert all(c.isalnum() or c in "_-./ :" for c in text)  # no control character
    assert not text.startswith("/")
    assert posixpath.normpath(text) == text
    assert not text.startswith("..")
