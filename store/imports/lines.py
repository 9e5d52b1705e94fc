"""MLflow's metric files, read without MLflow: one point a line, `timestamp value step`
(older files: `timestamp value`; newer ones may add a dataset's name and digest), each
line ending in a newline. A line that breaks the format is a typed `LineSkip`, never an
exception: a file truncated by a crash mid-write ends in a line without its newline,
which is skipped (it is read again, whole, by the next import of a newer copy)."""

from __future__ import annotations

import math
import re
from typing import NamedTuple

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_INT = rb"-?[0-9]{1,19}"
_FLOAT = rb"[-+]?(?:[0-9]+\.?[0-9]*(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?|nan|inf|infinity|NaN|Infinity|Inf)"  # noqa: E501
_LINE = re.compile(
    rb"(" + _INT + rb") (" + _FLOAT + rb")(?: (" + _INT + rb")(?: [^ \n\r]+ [^ \n\r]+)?)?"
)
# A whole file of plain three-field lines: read with C-level splits and conversions (the
# values' characters only are checked here; float() refuses what is not a number).
_PLAIN_FILE = re.compile(rb"(?:" + _INT + rb" [-+0-9.eEnaifNAIFty]+ " + _INT + rb"\n)*")


class Point(NamedTuple):
    """One metric point: value None stands for NaN (as the store keeps it)."""

    step: int
    timestamp: int
    value: float | None


class LineSkip(NamedTuple):
    """A line that is not a point: its 1-based number and why."""

    line: int
    reason: str


def _in_range(number: int) -> bool:
    return INT64_MIN <= number <= INT64_MAX


def parse_metric_line(line: bytes, number: int = 1) -> Point | LineSkip:
    """One line of a metric file (with its newline, as read) as a Point, or a LineSkip."""
    if not line.endswith(b"\n"):
        return LineSkip(number, "truncated line (no end of line): an interrupted write")
    found = _LINE.fullmatch(line, 0, len(line) - 1)
    if found is None:
        shown = line[:60].decode("utf-8", "replace").rstrip("\n")
        return LineSkip(number, f"not 'timestamp value step': {shown!r}")
    stamp = int(found.group(1))
    step = int(found.group(3)) if found.group(3) is not None else 0
    if not (_in_range(stamp) and _in_range(step)):
        return LineSkip(number, "timestamp or step does not fit in 64 bits")
    value = float(found.group(2))
    return Point(step, stamp, None if math.isnan(value) else value)


class Columns(NamedTuple):
    """A series' points as columns, in order (value None: NaN)."""

    steps: list[int]
    timestamps: list[int]
    values: list[float | None]

    def points(self) -> list[Point]:
        return list(map(Point, self.steps, self.timestamps, self.values))

    def __len__(self) -> int:
        return len(self.steps)

    def after(self, count: int) -> Columns:
        """The points after the first `count`."""
        return Columns(self.steps[count:], self.timestamps[count:], self.values[count:])


def parse_metric_file(data: bytes) -> tuple[Columns, list[LineSkip]]:
    """Every point of a metric file's bytes, in order, and the lines skipped."""
    if not data:
        return Columns([], [], []), []
    if _PLAIN_FILE.fullmatch(data):
        fields = data.split()
        stamps = list(map(int, fields[0::3]))
        steps = list(map(int, fields[2::3]))
        if (
            min(stamps) >= INT64_MIN
            and max(stamps) <= INT64_MAX
            and min(steps) >= INT64_MIN
            and max(steps) <= INT64_MAX
        ):
            try:
                values: list[float | None] = list(map(float, fields[1::3]))
            except ValueError:
                pass  # a value that is no number: found line by line below
            else:
                if b"n" in data or b"N" in data:  # nan, NaN (and inf): NaN is kept as None
                    values = [None if v != v else v for v in values]
                return Columns(steps, stamps, values), []
    out = Columns([], [], [])
    skips: list[LineSkip] = []
    for number, line in enumerate(data.splitlines(keepends=True), start=1):
        if line.endswith(b"\r\n"):
            line = line[:-2] + b"\n"
        elif line.endswith(b"\r"):
            skips.append(LineSkip(number, "a carriage return inside a line"))
            continue
        found = parse_metric_line(line, number)
        if isinstance(found, Point):
            out.steps.append(found.step)
            out.timestamps.append(found.timestamp)
            out.values.append(found.value)
        else:
            skips.append(found)
    return out, skips
