"""The metric-line parser of `mltop import mlflow`: any bytes are a point or a typed skip,
never an exception; every line MLflow writes reads back as the point it wrote."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from mltop.store.imports.lines import (
    INT64_MAX,
    INT64_MIN,
    LineSkip,
    Point,
    parse_metric_file,
    parse_metric_line,
)

int64 = st.integers(min_value=INT64_MIN, max_value=INT64_MAX)


@given(st.binary(max_size=80))
def test_any_bytes_are_a_point_or_a_typed_skip(data: bytes) -> None:
    found = parse_metric_line(data)
    assert isinstance(found, (Point, LineSkip))
    if isinstance(found, Point):
        assert data.endswith(b"\n")
        assert INT64_MIN <= found.step <= INT64_MAX
        assert INT64_MIN <= found.timestamp <= INT64_MAX
        assert found.value is None or not math.isnan(found.value)
    else:
        assert found.reason


@given(st.lists(st.binary(max_size=30), max_size=8))
def test_any_file_splits_into_points_and_skips_line_by_line(lines: list[bytes]) -> None:
    data = b"\n".join(lines)
    columns, skips = parse_metric_file(data)
    assert len(columns) + len(skips) == len(data.splitlines())
    assert all(1 <= skip.line <= len(data.splitlines()) for skip in skips)


@given(int64, st.floats(allow_nan=True, allow_infinity=True), int64)
def test_lines_as_mlflow_writes_them_read_back(stamp: int, value: float, step: int) -> None:
    line = f"{stamp} {value} {step}\n".encode()
    found = parse_metric_line(line)
    assert isinstance(found, Point)
    assert (found.timestamp, found.step) == (stamp, step)
    if math.isnan(value):
        assert found.value is None
    else:
        assert found.value == value
    # The fast path of a whole file reads the same.
    columns, skips = parse_metric_file(line * 3)
    assert (columns.points(), skips) == ([found] * 3, [])


def test_old_two_field_lines_and_truncated_tails() -> None:
    columns, skips = parse_metric_file(b"5 0.5\n6 0.25 1\n7 0.1")
    assert columns.points() == [Point(0, 5, 0.5), Point(1, 6, 0.25)]
    assert skips == [LineSkip(3, "truncated line (no end of line): an interrupted write")]
    assert isinstance(parse_metric_line(b"1 1_0 2\n"), LineSkip)  # Python's float() takes it
    assert isinstance(parse_metric_line(b"1 \t2 3\n"), LineSkip)
    assert isinstance(parse_metric_line(b"99999999999999999999 1 2\n"), LineSkip)


def test_a_file_of_number_like_junk_is_read_line_by_line() -> None:
    columns, skips = parse_metric_file(b"1 naf 2\n3 0.5 4\n5 e 6\n7 -inf 8\n")
    assert columns.points() == [Point(4, 3, 0.5), Point(8, 7, -math.inf)]
    assert [skip.line for skip in skips] == [1, 3]
    columns, skips = parse_metric_file(b"1 nan 2\n3 NaN 4\n")
    assert columns.values == [None, None] and skips == []
