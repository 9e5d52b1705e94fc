"""`mltop predict`: a model's predictions for every row of a CSV, JSONL or Parquet file.

The input is read in chunks (`--batch-size` rows; Parquet too, whatever its row groups), so
memory stays flat whatever the file's size. Each chunk is typed, given to the model (rows that
do not fit its signature refused, each named by its line), and its predictions appended to a
temporary file beside `--output` (a symlink's target), renamed to it at the end: a failed run
leaves nothing at `--output` (a file already there is untouched; one replaced keeps its mode).
Standard output, a device (/dev/null) or a FIFO is written into as the chunks are predicted
(`Output.streaming`): a failure there says how many rows it already got. The output may not
be the input file.

What reaches the model: with pandas installed, a DataFrame per chunk (what MLflow's models
expect); without it, a list of row dicts (`--model-input` chooses). CSV values are text: they
are converted to the types the model's signature names ("1.5" to a float for a double
column, "" to a missing value); in a column it does not name, each value is typed by itself
(`guess_value`: an integer, else a number, else text), so the same whatever the chunk.

Rows are checked up front (`row_problems`) only when a CSV value failed its conversion;
otherwise the model's own check (`PyFuncModel.predict` enforces the signature) runs first,
and only when it refuses a chunk are that chunk's rows checked one by one, so valid input
is checked once.
"""

from __future__ import annotations

import codecs
import csv
import importlib
import io
import json
import os
import secrets
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import click

from mltop.store import MltopError
from mltop.tui.cli.opening import chosen_store, opened, store_option
from mltop.tui.text import clean, json_number

FORMATS = ("csv", "jsonl", "parquet")
_EXTENSIONS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
DEFAULT_BATCH_SIZE = 10_000
PARQUET_BUFFER = 1 << 16  # bytes read at a time from each Parquet column chunk
SHOWN_PROBLEMS = 20  # bad rows described one by one; the rest are counted
PREDICTION = "prediction"


class InputError(MltopError):
    """The input file cannot be read as its format (the message names the line)."""


class PredictError(MltopError):
    """The rows could not be predicted (refused by the signature, the model failed)."""


# -- reading ------------------------------------------------------------------------------


@dataclass
class Chunk:
    """Rows read from the input, as records (JSONL) or as columns (CSV's text, Parquet's
    values), with each row's place in the file (the physical line it starts on; Parquet:
    its row number) and how far the reading got (bytes; Parquet: rows)."""

    places: list[int]
    progress: int
    rows: list[dict[str, Any]] | None = None
    columns: dict[str, list[Any]] | None = None

    def __len__(self) -> int:
        return len(self.places)


class Reader:
    """An input file's rows, in chunks."""

    name = ""  # the file, as messages name it
    place_word = "line"  # how a row's place is named in messages
    unit = "bytes"
    total: int | None = None
    columns: list[str] | None = None  # known before reading (a header, a schema)
    text_values = False  # values are text to convert (CSV)

    def chunks(self, size: int) -> Iterator[Chunk]:
        raise NotImplementedError

    def close(self) -> None:
        pass


def _size(file: IO[bytes]) -> int | None:
    try:
        return os.fstat(file.fileno()).st_size if file.seekable() else None
    except (OSError, ValueError, io.UnsupportedOperation):
        return None


def _open_binary(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"no input file {path}") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not an input file") from None
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None


class CsvReader(Reader):
    text_values = True

    def __init__(self, path: str) -> None:
        self.name = "standard input" if path == "-" else path
        self._binary = _open_binary(path)
        self.total = _size(self._binary)
        # Bytes that are not UTF-8 are kept as surrogates (decoding is done in blocks, far
        # from the line at fault) and refused row by row, naming the line (`_utf8`).
        self._text = io.TextIOWrapper(
            self._binary, encoding="utf-8-sig", errors="surrogateescape", newline=""
        )
        self._reader = csv.reader(self._text, strict=True)
        self._line = 0  # the last physical line read
        header = self._next_row()
        if header is None:
            self.columns = []
            return
        self._header_line, names = header
        self._utf8([names], [self._header_line])
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise InputError(
                    f"{self.name}: line {self._header_line}: the header names the column "
                    f"{name!r} twice"
                )
            seen.add(name)
        self.columns = names

    def _position(self) -> int:
        try:
            return self._binary.tell()
        except (OSError, ValueError):
            return 0

    def _next_row(self) -> tuple[int, list[str]] | None:
        """(the line the row starts on, its fields); None at the end. Blank lines are
        skipped."""
        for line, fields in self._rows():
            return line, fields
        return None

    def _rows(self) -> Iterator[tuple[int, list[str]]]:
        """Each row with the line it starts on (a quoted field may span lines); blank
        lines are skipped."""
        reader = self._reader
        line = reader.line_num
        try:
            for fields in reader:
                start, line = line + 1, reader.line_num
                if fields:
                    yield start, fields
        except csv.Error as error:
            raise InputError(
                f"{self.name}: line {reader.line_num}: not valid CSV ({error})"
            ) from None

    def chunks(self, size: int) -> Iterator[Chunk]:
        width = len(self.columns or [])
        records: list[list[str]] = []
        places: list[int] = []
        for line, fields in self._rows():
            if len(fields) != width:
                raise InputError(
                    f"{self.name}: line {line}: {len(fields)} field"
                    f"{'' if len(fields) == 1 else 's'}, but the header has {width}"
                )
            records.append(fields)
            places.append(line)
            if len(records) >= size:
                self._utf8(records, places)
                yield Chunk(places, self._position(), columns=self._by_column(records))
                records, places = [], []
        self._utf8(records, places)
        yield Chunk(places, self.total or self._position(), columns=self._by_column(records))

    def _utf8(self, records: list[list[str]], places: list[int]) -> None:
        """Refuse the first row holding bytes that were not UTF-8 (one check per chunk)."""
        try:
            "".join(["".join(fields) for fields in records]).encode("utf-8")
        except UnicodeEncodeError:
            for fields, line in zip(records, places, strict=True):
                try:
                    "".join(fields).encode("utf-8")
                except UnicodeEncodeError:
                    raise InputError(f"{self.name}: line {line}: not UTF-8 text") from None

    def _by_column(self, records: list[list[str]]) -> dict[str, list[Any]]:
        names = self.columns or []
        if not records:
            return {name: [] for name in names}
        return {
            name: list(values)
            for name, values in zip(names, zip(*records, strict=True), strict=True)
        }

    def close(self) -> None:
        if self._binary is not sys.stdin.buffer:
            self._text.close()


class JsonlReader(Reader):
    def __init__(self, path: str) -> None:
        self.name = "standard input" if path == "-" else path
        self._binary = _open_binary(path)
        self.total = _size(self._binary)

    def chunks(self, size: int) -> Iterator[Chunk]:
        decoder = codecs.getincrementaldecoder("utf-8-sig")()  # (a BOM on line 1)
        rows: list[dict[str, Any]] = []
        places: list[int] = []
        done = 0
        for number, raw in enumerate(self._binary, start=1):
            done += len(raw)
            try:
                text = decoder.decode(raw) if number == 1 else raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise InputError(
                    f"{self.name}: line {number}: not UTF-8 text ({error.reason})"
                ) from None
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except ValueError as error:
                why = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
                raise InputError(f"{self.name}: line {number}: not valid JSON ({why})") from None
            if not isinstance(row, dict):
                raise InputError(
                    f"{self.name}: line {number}: each line must hold a JSON object "
                    f'({{"column": value, ...}}), not {_json_kind(row)}'
                )
            rows.append(row)
            places.append(number)
            if len(rows) >= size:
                yield Chunk(places, done, rows=rows)
                rows, places = [], []
        yield Chunk(places, done, rows=rows)

    def close(self) -> None:
        if self._binary is not sys.stdin.buffer:
            self._binary.close()


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return f"a {type(value).__name__}"


def _pyarrow(what: str) -> Any:
    try:
        importlib.import_module("pyarrow")
        return importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise MltopError(
            f"{what} Parquet needs pyarrow, which is not installed: pip install pyarrow "
            "(or use CSV or JSONL)"
        ) from None


class ParquetReader(Reader):
    """Parquet rows in batches of the chunk size, whatever the file's row groups: the
    column chunks are read through a small buffer (not a row group at a time), so memory
    stays flat even for a file written as one row group (what pandas does by default)."""

    place_word = "row"
    unit = "rows"

    def __init__(self, path: str) -> None:
        self.name = "standard input" if path == "-" else path
        parquet = _pyarrow("reading")
        self._pa = importlib.import_module("pyarrow")
        source: Any = path
        if path == "-":  # Parquet's footer is at the end: the whole input is read first
            source = self._pa.BufferReader(sys.stdin.buffer.read())
        elif not Path(path).is_file():
            _open_binary(path).close()  # the clear error for what is there
        try:
            self._file = parquet.ParquetFile(source, buffer_size=PARQUET_BUFFER, pre_buffer=False)
        except (self._pa.ArrowException, OSError) as error:
            raise InputError(f"{self.name}: not a readable Parquet file ({error})") from None
        self.total = self._file.metadata.num_rows
        self.columns = list(self._file.schema_arrow.names)

    def chunks(self, size: int) -> Iterator[Chunk]:
        first = 1
        batches = self._file.iter_batches(batch_size=size, use_threads=False)
        while True:
            try:
                batch = next(batches, None)
            except (self._pa.ArrowException, OSError) as error:
                raise InputError(
                    f"{self.name}: the rows from row {first} cannot be read ({error})"
                ) from None
            if batch is None:
                break
            places = list(range(first, first + batch.num_rows))
            first += batch.num_rows
            yield Chunk(places, first - 1, columns=batch.to_pydict())
        yield Chunk([], first - 1, columns={n: [] for n in self.columns or []})


def open_reader(path: str, kind: str) -> Reader:
    if kind == "csv":
        return CsvReader(path)
    if kind == "jsonl":
        return JsonlReader(path)
    return ParquetReader(path)


# -- CSV text to values -------------------------------------------------------------------


def _integer(text: str) -> int:
    if "_" in text:  # (int() reads "1_000")
        raise ValueError(text)
    return int(text)


def _floating(text: str) -> float:
    if "_" in text:
        raise ValueError(text)
    return float(text)


_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}


def _boolean(text: str) -> bool:
    return _BOOLEANS[text.strip().lower()]


def _binary(text: str) -> bytes:
    return text.encode("utf-8")


def _string(text: str) -> str:
    return text


_PARSERS: dict[str, tuple[Callable[[str], Any], str]] = {
    "double": (_floating, "a number"),
    "float": (_floating, "a number"),
    "integer": (_integer, "an integer"),
    "long": (_integer, "an integer"),
    "boolean": (_boolean, "true or false"),
    "string": (_string, "text"),
    "binary": (_binary, "text"),
    "datetime": (datetime.fromisoformat, "an ISO date and time"),
}
_FAST = {"double": float, "float": float, "integer": int, "long": int}


# The words read as numbers (what Python, pandas and mltop's own CSV write); "Nan" or
# "INF" stay text.
_NUMBER_WORDS = {"nan", "NaN", "inf", "+inf", "-inf", "Infinity", "+Infinity", "-Infinity"}


def guess_value(text: str) -> Any:
    """A CSV value no signature types, decided by itself (so the same whatever the chunk):
    an integer when int() reads it, else a number when float() does and it has a digit
    ("1.5", "1e5": 100000.0) or is one of nan, NaN, inf, -inf, Infinity, -Infinity; else
    the text. "" is missing (None); underscores ("1_000") and non-ASCII digits stay text."""
    if text == "":
        return None
    if "_" in text or not text.isascii():
        return text
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    if text.strip() in _NUMBER_WORDS or any(c.isdigit() for c in text):
        return number
    return text


def guess_column(texts: list[str]) -> list[Any]:
    """A CSV column no signature types, each value typed by itself (`guess_value`)."""
    joined = "".join(texts)
    if "_" not in joined and joined.isascii():
        try:
            return list(map(int, texts))  # (every value an integer: the common case)
        except ValueError:
            pass
    return list(map(guess_value, texts))


def convert_column(
    name: str, texts: list[str], kind: str | None, problems: list[Problem]
) -> list[Any]:
    """A CSV column's text as the values its signature type (`kind`) names; a value that
    is not one is missing (None) and a problem of its row."""
    if kind not in _PARSERS:
        return guess_column(texts)
    fast = _FAST.get(kind)
    if fast is not None and "_" not in "".join(texts):
        try:
            return list(map(fast, texts))  # (no gap, no bad value: the common case)
        except (ValueError, OverflowError):
            pass
    parse, what = _PARSERS[kind]
    values: list[Any] = []
    for position, text in enumerate(texts):
        if text == "":
            values.append(None)
            continue
        try:
            values.append(parse(text))
        except (ValueError, KeyError, OverflowError):
            values.append(None)
            problems.append(Problem(position, name, f"{text!r} is not {what} (a {kind} column)"))
    return values


# -- checking rows ------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    row: int  # position in its chunk
    column: str | None
    reason: str


@dataclass
class Refusals:
    """Rows refused by the signature: the first ones described, all counted."""

    place_word: str
    shown: list[str] = field(default_factory=list)
    count: int = 0

    def add(self, place: int, problems: Sequence[Problem]) -> None:
        self.count += 1
        if len(self.shown) >= SHOWN_PROBLEMS:
            return
        parts = [
            f"column {p.column!r}: {p.reason}" if p.column is not None else p.reason
            for p in problems[:3]
        ]
        if len(problems) > 3:
            parts.append(f"and {_count(len(problems) - 3, 'more problem')}")
        self.shown.append(f"{self.place_word} {place}: {'; '.join(parts)}")

    def lines(self) -> list[str]:
        more = self.count - len(self.shown)
        return self.shown + ([f"... and {_count(more, 'more row')}"] if more > 0 else [])


@dataclass
class Table:
    """A chunk's rows, as records or as columns; what the model is given is made from it."""

    names: list[str]
    rows: list[dict[str, Any]] | None = None
    columns: dict[str, list[Any]] | None = None

    @classmethod
    def of(cls, chunk: Chunk, known: list[str] | None) -> Table:
        if chunk.columns is not None:
            return cls(list(chunk.columns), columns=chunk.columns)
        rows = chunk.rows or []
        return cls(known or list(dict.fromkeys(k for row in rows for k in row)), rows=rows)

    def __len__(self) -> int:
        if self.rows is not None:
            return len(self.rows)
        return len(next(iter((self.columns or {}).values()), []))

    def column(self, name: str) -> list[Any]:
        if self.rows is not None:
            return [row.get(name) for row in self.rows]
        found = (self.columns or {}).get(name)
        return found if found is not None else [None] * len(self)

    def select(self, positions: list[int]) -> Table:
        if self.rows is not None:
            return Table(self.names, rows=[self.rows[i] for i in positions])
        columns = {n: [c[i] for i in positions] for n, c in (self.columns or {}).items()}
        return Table(self.names, columns=columns)

    def model_input(self, pandas: Any) -> Any:
        """A DataFrame (pandas given), else the row dicts."""
        if pandas is not None:
            return pandas.DataFrame({n: self.column(n) for n in self.names}, columns=self.names)
        if self.rows is not None:
            return self.rows
        lists = [self.column(n) for n in self.names]
        return [dict(zip(self.names, values, strict=True)) for values in zip(*lists, strict=True)]


def check_rows(data: Any, schema: Any, found: list[Problem]) -> dict[int, list[Problem]]:
    """The problems of each bad row: `found` (conversion problems) and the signature's for
    `data` (what the model is given); a column already found bad in a row is not reported
    twice."""
    problems = list(found)
    if schema is not None and not schema.is_tensor_spec() and len(data):
        from mltop.models.signature import row_problems

        limit = len(data) * (len(schema.inputs) + 1) + 1
        seen = {(p.row, p.column) for p in found}
        problems += [
            Problem(p.row, p.column, p.reason)
            for p in row_problems(data, schema, limit=limit)
            if (p.row, p.column) not in seen
        ]
    bad: dict[int, list[Problem]] = {}
    for problem in sorted(problems, key=lambda p: p.row):
        bad.setdefault(problem.row, []).append(problem)
    return bad


def load_pandas() -> Any:
    try:
        return importlib.import_module("pandas")
    except ImportError:
        return None


def _per_row(value: Any) -> list[Any] | None:
    """`value` as a list of one value per row (a list, a tuple, an array, a Series...); None
    when it is one value (a number, text, bytes, a dict, a 0-d array)."""
    if value is None or isinstance(value, (str, bytes, bytearray, Mapping)):
        return None
    tolist = getattr(value, "tolist", None)
    if callable(tolist):  # numpy, pandas: their values as plain Python ones
        listed = tolist()
        return listed if isinstance(listed, list) else None
    if not isinstance(value, Iterable):
        return None
    return list(value)


def prediction_columns(result: Any, count: int) -> tuple[list[str], list[list[Any]]]:
    """The model's output as named columns of plain values: a DataFrame's columns, a dict's
    keys (a list per key; a single value per key is one row), records' keys, a 2-D array's
    `prediction_0..n`, else one `prediction` column. Any other shape is a PredictError."""
    columns_attr = getattr(result, "columns", None)
    if columns_attr is not None and hasattr(result, "iloc"):  # a DataFrame
        names = [str(c) for c in columns_attr]
        columns = [_per_row(result.iloc[:, i]) or [] for i in range(len(names))]
    elif isinstance(result, Mapping):
        names = [str(k) for k in result]
        columns = [
            [value] if (rows := _per_row(value)) is None else rows for value in result.values()
        ]
    else:
        shape = getattr(result, "shape", None)
        if isinstance(shape, tuple) and len(shape) > 2:
            raise PredictError(
                f"the model returned an array of shape {shape}: mltop predict writes "
                "one or two dimensions"
            )
        values = _per_row(result)
        if values is None:
            raise PredictError(
                f"the model returned one value ({type(result).__name__}) for "
                f"{_count(count, 'row')}: mltop predict needs one prediction per row"
            )
        names, columns = _shaped(values)
    if not names:
        raise PredictError("the model returned no columns: mltop predict needs a prediction")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise PredictError(f"the model's output names the column {twice[0]!r} twice")
    for name, column in zip(names, columns, strict=True):
        if len(column) != count:
            raise PredictError(
                f"the model returned {_count(len(column), 'value')} in {name!r} for "
                f"{_count(count, 'row')}: mltop predict needs one prediction per row"
            )
    return names, columns


def _shaped(values: list[Any]) -> tuple[list[str], list[list[Any]]]:
    """A list of predictions as columns: records (dicts) by key, rows of lists as
    `prediction_0..n`, anything else one `prediction` column."""
    if values and all(isinstance(v, Mapping) for v in values):  # records
        records = [{str(k): x for k, x in v.items()} for v in values]
        names = list(dict.fromkeys(k for record in records for k in record))
        return names, [[record.get(n) for record in records] for n in names]
    if values and all(isinstance(v, (list, tuple)) for v in values):  # 2-D
        width = max(len(v) for v in values)
        if width == 1:
            return [PREDICTION], [[v[0] if v else None for v in values]]
        names = [f"{PREDICTION}_{i}" for i in range(width)]
        return names, [[v[i] if i < len(v) else None for v in values] for i in range(width)]
    return [PREDICTION], [values]


# -- writing ------------------------------------------------------------------------------


class Writer:
    """Rows written to the output (a temporary file until `commit`); `written` counts them."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.names: list[str] | None = None
        self.written = 0

    def write(self, names: list[str], columns: list[list[Any]]) -> None:
        if self.names is None:
            self.names = names
            self.start(names)
        elif names != self.names:
            raise PredictError(
                f"the model's output changed shape between chunks ({self.names} then {names})"
            )
        self.rows(columns)
        self.written += len(columns[0]) if columns else 0

    def start(self, names: list[str]) -> None:
        pass

    def rows(self, columns: list[list[Any]]) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        self.file.flush()

    def finish(self, names: list[str]) -> None:
        if self.names is None:  # no rows at all: the columns still
            self.names = names
            self.start(names)


_NATIVE = {str, int, float, type(None)}  # what the csv module writes as it should


def json_ready(value: Any) -> Any:
    """`value` as JSON holds it: NaN and infinities as the strings "NaN", "Infinity",
    "-Infinity" (as mltop's other JSON output writes them), bytes as text, dates in ISO
    8601, a dict's keys as text, lists and tuples as arrays, anything else its str()."""
    if value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "backslashreplace")
    if isinstance(value, datetime):
        return value.isoformat()
    tolist = getattr(value, "tolist", None)  # a numpy value or array
    if callable(tolist):
        plain = tolist()
        if type(plain) is not type(value):
            return json_ready(plain)
    return str(value)


def _csv_text(value: Any) -> Any:
    """A value the csv module does not write as it should: bytes and dates as text, nested
    values (lists, dicts) as JSON text."""
    if isinstance(value, float) and value != value:
        return "NaN"
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "backslashreplace")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (Mapping, list, tuple)):
        return json.dumps(json_ready(value), ensure_ascii=False, allow_nan=False)
    plain = json_ready(value)  # a numpy scalar: its Python value
    if isinstance(plain, str) and plain in ("NaN", "Infinity", "-Infinity"):
        return {"NaN": "NaN", "Infinity": "inf", "-Infinity": "-inf"}[plain]
    return plain if isinstance(plain, (str, int, float)) else str(value)


class CsvWriter(Writer):
    def _lines(self, rows: Any) -> None:
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(rows)
        self.file.write(text.getvalue().encode("utf-8", "backslashreplace"))

    def start(self, names: list[str]) -> None:
        self._lines([names])

    def rows(self, columns: list[list[Any]]) -> None:
        written = []
        for column in columns:
            kinds = set(map(type, column))
            if not kinds <= _NATIVE:
                column = list(map(_csv_text, column))
            elif float in kinds:  # NaN as mltop's CSV writes it (`mltop runs list`): NaN
                column = ["NaN" if value != value else value for value in column]
            written.append(column)
        self._lines(zip(*written, strict=True))

    def finish(self, names: list[str]) -> None:
        super().finish(names)
        self.file.flush()


class JsonlWriter(Writer):
    def rows(self, columns: list[list[Any]]) -> None:
        names = self.names or []
        lines = []
        for row in zip(*columns, strict=True):
            record = dict(zip(names, row, strict=True))
            try:
                lines.append(json.dumps(record, allow_nan=False, ensure_ascii=False))
            except (ValueError, TypeError):  # NaN or infinity, bytes, dates, other keys...
                lines.append(json.dumps(json_ready(record), allow_nan=False, ensure_ascii=False))
        if lines:
            self.file.write(("\n".join(lines) + "\n").encode("utf-8", "backslashreplace"))


class ParquetWriter(Writer):
    def __init__(self, file: IO[bytes]) -> None:
        super().__init__(file)
        self._parquet = _pyarrow("writing")
        self._pa = importlib.import_module("pyarrow")
        self._writer: Any = None
        self._schema: Any = None

    def rows(self, columns: list[list[Any]]) -> None:
        names = self.names or []
        pa = self._pa
        try:
            if self._writer is None:
                table = pa.Table.from_pydict(dict(zip(names, columns, strict=True)))
                self._writer = self._parquet.ParquetWriter(self.file, table.schema)
                self._schema = table.schema
            else:
                table = pa.Table.from_pydict(
                    dict(zip(names, columns, strict=True)), schema=self._schema
                )
        except (pa.ArrowException, TypeError, ValueError, OverflowError) as error:
            raise PredictError(f"the predictions cannot be written as Parquet ({error})") from None
        self._writer.write_table(table)

    def finish(self, names: list[str]) -> None:
        if self._writer is None:
            self.names = self.names or names
            empty = self._pa.Table.from_pydict({n: [] for n in self.names})
            self._writer = self._parquet.ParquetWriter(self.file, empty.schema)
        self._writer.close()


def make_writer(kind: str, file: IO[bytes]) -> Writer:
    if kind == "csv":
        return CsvWriter(file)
    if kind == "jsonl":
        return JsonlWriter(file)
    return ParquetWriter(file)


_KINDS = {
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}


def special_kind(path: str | Path) -> str | None:
    """What `path` is when it is something other than a regular file (symlinks followed):
    "a character device" (/dev/null), "a FIFO", ...; None for a regular file or a path not
    there yet: those are written beside and renamed over, the others written into."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as error:
        raise MltopError(f"cannot write {path}: {error.strerror or error}") from None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def _identity(path: str, standard: IO[Any]) -> tuple[int, int] | None:
    """A regular file's (device, inode): `path`'s, or for '-' the standard stream's."""
    try:
        found = os.fstat(standard.fileno()) if path == "-" else os.stat(path)
    except (OSError, ValueError):
        return None
    return (found.st_dev, found.st_ino) if stat.S_ISREG(found.st_mode) else None


def same_file(input_path: str, output_path: str) -> bool:
    """Whether the output is the input file (by device and inode: a symlink, a hard link,
    standard input or output redirected from or to it)."""
    read = _identity(input_path, sys.stdin)
    return read is not None and read == _identity(output_path, sys.stdout)


class Output:
    """Where the predictions go.

    A new path or a regular file (a symlink: its target): a temporary file beside it,
    renamed over it at the end, so a failed run leaves it as it was; a file replaced keeps
    its mode (and owner, where allowed). Standard output and anything that is not a regular
    file (a device such as /dev/null, a FIFO) are written into as the rows are predicted
    (`streaming`): renaming would replace them."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.name = "standard output" if path == "-" else path
        self.temporary: Path | None = None
        self.special: str | None = None  # what a streamed output other than stdout is
        self.streaming = True
        if path == "-":
            self.file: IO[bytes] = sys.stdout.buffer
            return
        if Path(path).is_dir():
            raise MltopError(f"{path} is a folder: --output names a file")
        # (what the path leads to, asked first: /dev/stdout's link to a pipe resolves to no
        # path at all)
        self.special = special_kind(path)
        if self.special is not None:
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_NOCTTY)
            except OSError as error:
                raise MltopError(f"cannot write to {path}: {error.strerror or error}") from None
            self.file = os.fdopen(descriptor, "wb", buffering=1 << 20)
            return
        self.streaming = False
        target = Path(os.path.realpath(path))
        if not target.parent.is_dir():
            raise MltopError(f"no folder {target.parent} for the output {target.name}")
        self.target = target
        self.temporary = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            descriptor = os.open(self.temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except OSError as error:
            raise MltopError(
                f"cannot write in {target.parent}: {error.strerror or error}"
            ) from None
        self.file = os.fdopen(descriptor, "wb", buffering=1 << 20)
        _same_mode_and_owner(descriptor, target)

    def commit(self) -> None:
        if self.temporary is None:
            self.file.flush()
            if self.special is not None:
                self.file.close()
            return
        self.file.close()
        os.replace(self.temporary, self.target)
        self.temporary = None

    def discard(self) -> None:
        if self.temporary is not None:
            self.file.close()
            self.temporary.unlink(missing_ok=True)
            self.temporary = None
        elif self.special is not None and not self.file.closed:
            # (a FIFO whose reader went away: the run's own error is the news)
            with suppress(OSError):
                self.file.close()


def _same_mode_and_owner(descriptor: int, target: Path) -> None:
    """The new file gets the permissions of the file it will replace (a 0600 file stays
    private, from the start), and its owner and group when this user may give them."""
    try:
        old = os.stat(target)
    except FileNotFoundError:
        return
    new = os.fstat(descriptor)
    if (old.st_uid, old.st_gid) != (new.st_uid, new.st_gid):
        for owner in ((old.st_uid, old.st_gid), (-1, old.st_gid)):
            try:
                os.fchown(descriptor, *owner)
                break
            except OSError:
                continue
    os.fchmod(descriptor, stat.S_IMODE(old.st_mode))


# -- the command --------------------------------------------------------------------------


def format_of(path: str, given: str | None, option: str) -> str:
    if given:
        return given
    kind = _EXTENSIONS.get(Path(path).suffix.lower()) if path != "-" else None
    if kind is None:
        what = "standard input/output" if path == "-" else f"{path!r}"
        raise click.UsageError(
            f"cannot tell the format of {what} from its name: give {option} "
            f"({', '.join(FORMATS)}); known extensions: {', '.join(_EXTENSIONS)}"
        )
    return kind


def input_schema(model: Any) -> Any:
    return model.metadata.get_input_schema()


def column_types(schema: Any) -> dict[str, str]:
    """What each named column of a column signature is ("double", "long", ...)."""
    if schema is None or schema.is_tensor_spec():
        return {}
    return {
        str(spec.name): str(spec.type)
        for spec in schema.inputs
        if getattr(spec, "name", None) is not None and isinstance(spec.type, str)
    }


def _places(word: str, places: list[int]) -> str:
    if not places:
        return f"no {word}s"
    if len(places) == 1:
        return f"{word} {places[0]}"
    return f"{word}s {places[0]}-{places[-1]}"


@dataclass
class Tally:
    rows: int = 0
    predicted: int = 0


@dataclass
class Predictor:
    """Each chunk read, typed, checked, predicted and written."""

    model: Any
    reader: Reader
    writer: Writer
    keep: Sequence[str]
    skip_invalid: bool
    pandas: Any
    refusals: Refusals
    tally: Tally = field(default_factory=Tally)
    names: list[str] | None = None

    def __post_init__(self) -> None:
        self.schema = input_schema(self.model)
        self.types = column_types(self.schema) if self.reader.text_values else None

    def chunk(self, chunk: Chunk) -> None:
        self.tally.rows += len(chunk)
        if not len(chunk):
            return
        raw = Table.of(chunk, self.reader.columns)
        found: list[Problem] = []
        table = raw
        if self.types is not None and raw.columns is not None:
            table = Table(
                raw.names,
                columns={
                    name: convert_column(name, texts, self.types.get(name), found)
                    for name, texts in raw.columns.items()
                },
            )
        counting = bool(self.refusals.count) and not self.skip_invalid
        bad = (
            check_rows(table.model_input(self.pandas), self.schema, found)
            if (found or counting)
            else {}
        )
        positions = list(range(len(table)))  # each row's position in the chunk
        result = self.predict(chunk, table, positions, bad)
        if result is None:
            return
        table, positions, predictions = result
        names, columns = prediction_columns(predictions, len(table))
        if self.names is None:
            clash = sorted(set(self.keep) & set(names))
            if clash:
                raise click.UsageError(
                    f"--keep {clash[0]!r}: the model's output has a column of that name"
                )
            self.names = [*self.keep, *names]
        kept = [[values[p] for p in positions] for values in map(raw.column, self.keep)]
        self.writer.write([*self.keep, *names], [*kept, *columns])
        self.tally.predicted += len(table)

    def predict(
        self, chunk: Chunk, table: Table, positions: list[int], bad: dict[int, list[Problem]]
    ) -> tuple[Table, list[int], Any] | None:
        """The rows' predictions (the rows refused left out, when that is asked); None
        when nothing is to be written."""
        from mltop.models.signature import SignatureError

        while True:
            if bad:
                for position, problems in bad.items():
                    self.refusals.add(chunk.places[positions[position]], problems)
                keepers = [i for i in range(len(table)) if i not in bad]
                positions = [positions[i] for i in keepers]
                table = table.select(keepers)
            if not len(table) or (self.refusals.count and not self.skip_invalid):
                return None
            data = table.model_input(self.pandas)
            lines = _places(self.reader.place_word, [chunk.places[p] for p in positions])
            where = f"{self.reader.name}'s {lines}"
            try:
                return table, positions, self.model.predict(data)
            except SignatureError as error:
                # Rows the signature refuses, found only now (checking is done up front
                # only when a conversion failed: the model's own check is the same).
                bad = check_rows(data, self.schema, [])
                if not bad:
                    raise PredictError(f"{where}: {error}") from None
            except MltopError as error:
                raise PredictError(f"{where}: {error}") from None
            except Exception as error:  # the model's own code failed: say where, not how
                raise PredictError(
                    f"the model failed on {where}: {type(error).__name__}: {error}"
                ) from None

    def finish(self) -> None:
        self.writer.finish(self.names or [*self.keep, PREDICTION])


def _progress(reader: Reader, stream: IO[str]) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(file=stream, highlight=False)
    amount = DownloadColumn() if reader.unit == "bytes" else MofNCompleteColumn()
    return Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        amount,
        TextColumn("{task.fields[rows]} rows", markup=False),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=False,
    )


MODEL_INPUT_HELP = (
    "What the model is given per chunk: a pandas DataFrame (what MLflow's models expect) or "
    "a list of row dicts. auto: a DataFrame when pandas is installed, else row dicts."
)


@click.command("predict")
@click.argument("model_uri")
@click.option(
    "-i",
    "--input",
    "input_path",
    required=True,
    metavar="FILE",
    help="Rows to predict: CSV with a header row, JSONL (one JSON object a line) or Parquet "
    "(needs pyarrow); '-' for standard input.",
)
@click.option(
    "-o",
    "--output",
    "output_path",
    required=True,
    metavar="FILE",
    help="Where the predictions go, one row per input row in order ('-' for standard "
    "output). A file is written beside it and renamed at the end (a symlink: its target), so "
    "a failed run leaves nothing there; standard output, a device or a FIFO is written into "
    "as rows are predicted.",
)
@click.option("--input-format", type=click.Choice(FORMATS), help="Default: from the extension.")
@click.option("--output-format", type=click.Choice(FORMATS), help="Default: from the extension.")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Rows read and predicted at a time (memory grows with it, not with the file).",
)
@click.option(
    "--keep",
    "keep",
    multiple=True,
    metavar="COLUMN",
    help="Copy this input column (an id) into the output, before the predictions, as it was "
    "read (repeatable).",
)
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Predict the rows that fit the model's signature and list the others on stderr; "
    "exit status 0, unless no row fits (then 1, and nothing is written). Without it, a row "
    "that does not fit is an error: they are listed and nothing is written.",
)
@click.option(
    "--allow-outside-store",
    is_flag=True,
    help="Load a model folder outside the store. Loading a model runs the code pickled in "
    "it: only for models you trust.",
)
@click.option(
    "--model-input",
    type=click.Choice(["auto", "dataframe", "records"]),
    default="auto",
    show_default=True,
    help=MODEL_INPUT_HELP,
)
@store_option
@click.pass_context
def predict_command(
    ctx: click.Context,
    model_uri: str,
    input_path: str,
    output_path: str,
    input_format: str | None,
    output_format: str | None,
    batch_size: int,
    keep: tuple[str, ...],
    skip_invalid: bool,
    allow_outside_store: bool,
    model_input: str,
    store_path: str | None,
) -> None:
    """Predict every row of an input file with a model and write the predictions.

    MODEL_URI: a model folder, runs:/RUN_ID/PATH, models:/MODEL_ID, models:/NAME/VERSION,
    models:/NAME/STAGE, models:/NAME/latest or models:/NAME@ALIAS.

    The model gets a pandas DataFrame per chunk when pandas is installed, else a list of
    row dicts (--model-input). CSV values are converted to the types the model's signature
    names ("" is missing); in a column it does not type, each value becomes an integer when
    it reads as one, else a number ("1.5", "1e5", nan, inf), else stays text.

    Rows that do not fit the signature (a missing required value, "abc" in a double
    column) are listed with their line numbers (Parquet: row numbers), the first 20 in
    full; then nothing is written, unless --skip-invalid.

    The output has the --keep columns, then `prediction` (or the model's own columns: a
    DataFrame's names, prediction_0..N for a 2-D array). JSONL writes NaN and infinities as
    "NaN", "Infinity", "-Infinity"; CSV writes lists and dicts as JSON text.
    """
    in_kind = format_of(input_path, input_format, "--input-format")
    out_kind = format_of(output_path, output_format, "--output-format")
    duplicated = sorted({c for c in keep if keep.count(c) > 1})
    if duplicated:
        raise click.UsageError(f"--keep {duplicated[0]!r} is given twice")
    if same_file(input_path, output_path):
        raise click.UsageError(
            f"the output {'(standard output)' if output_path == '-' else output_path} is the "
            f"input file {'(standard input)' if input_path == '-' else input_path}: writing "
            "it would destroy the rows before they are read (nothing read, nothing written)"
        )
    # Arrow's memory from the C allocator, which hands freed blocks back at once where
    # Arrow's default (mimalloc) keeps them: read when Arrow first allocates, so set before
    # anything imports pyarrow (measured on a million rows of dictionary-encoded Parquet in
    # one row group, the whole command's peak RSS: 300 MB with mimalloc, 288 MB without).
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    run = Run()
    try:
        with _stop_on_sigterm(run):
            _predict(
                run,
                model_uri,
                input_path,
                output_path,
                in_kind,
                out_kind,
                batch_size,
                keep,
                skip_invalid,
                allow_outside_store,
                model_input,
                chosen_store(ctx, store_path),
            )
    except KeyboardInterrupt:
        click.echo(f"mltop: stopped by Ctrl-C: {run.written()}", err=True)
        raise SystemExit(130) from None


@dataclass
class Run:
    """What a run has opened so far: what a message on the way out says was written."""

    output: Output | None = None
    writer: Writer | None = None

    def written(self) -> str:
        rows = self.writer.written if self.writer is not None else 0
        if self.output is None or not self.output.streaming or not rows:
            return "nothing written"
        return f"{_count(rows, 'row')} already written to {self.output.name}"


def _predict(
    run: Run,
    model_uri: str,
    input_path: str,
    output_path: str,
    in_kind: str,
    out_kind: str,
    batch_size: int,
    keep: tuple[str, ...],
    skip_invalid: bool,
    allow_outside_store: bool,
    model_input: str,
    chosen: str | None,
) -> None:
    started = time.perf_counter()
    model = _load(model_uri, chosen, allow_outside_store)
    loaded = time.perf_counter()
    pandas = None if model_input == "records" else load_pandas()
    if model_input == "dataframe" and pandas is None:
        raise click.UsageError("--model-input dataframe needs pandas, which is not installed")
    reader = open_reader(input_path, in_kind)
    try:
        _check_keep(reader, keep, in_kind)
        run.output = output = Output(output_path)
        if output.special is not None:
            click.echo(
                f"mltop: {clean(output_path)} is {output.special}, not a regular file: the "
                "predictions are written into it as they come (no temporary file)",
                err=True,
            )
        try:
            run.writer = writer = make_writer(out_kind, output.file)
            refusals = Refusals(reader.place_word)
            with _progress(reader, sys.stderr) as progress:
                task = progress.add_task(
                    f"predicting {clean(reader.name)}", total=reader.total, rows="0"
                )
                predictor = Predictor(model, reader, writer, keep, skip_invalid, pandas, refusals)
                try:
                    for chunk in reader.chunks(batch_size):
                        predictor.chunk(chunk)
                        if output.streaming:
                            writer.flush()  # (what is written is what was counted)
                        progress.update(
                            task, completed=chunk.progress, rows=f"{predictor.tally.rows:,}"
                        )
                except MltopError as error:
                    if output.streaming and writer.written:
                        raise PredictError(
                            f"{error}\n({run.written()} before it stopped)"
                        ) from None
                    raise
                tally = predictor.tally
                if refusals.count and not skip_invalid:
                    raise PredictError(
                        _refused(refusals, reader.place_word, tally.rows, run.written())
                    )
                if skip_invalid and tally.rows and not tally.predicted:
                    raise PredictError(
                        _refused(refusals, reader.place_word, tally.rows, run.written(), True)
                    )
                predictor.finish()
            output.commit()
        finally:
            output.discard()
    finally:
        reader.close()
    _summary(tally, refusals, output.name, loaded - started, time.perf_counter() - loaded)


def _check_keep(reader: Reader, keep: Sequence[str], kind: str) -> None:
    """Every --keep column is in the input (JSONL: rows may lack one)."""
    if not keep or reader.columns is None or kind == "jsonl":
        return
    if not reader.columns:
        what = "is empty (no header row)" if reader.text_values else "has no columns"
        raise click.UsageError(f"--keep {keep[0]!r}: the input {reader.name} {what}")
    missing = [c for c in keep if c not in reader.columns]
    if missing:
        raise click.UsageError(
            f"--keep {missing[0]!r}: the input has no such column (it has: "
            f"{', '.join(map(repr, reader.columns))})"
        )


def _count(number: int, word: str) -> str:
    return f"{number:,} {word}{'' if number == 1 else 's'}"


@contextmanager
def _stop_on_sigterm(run: Run) -> Iterator[None]:
    """SIGTERM (`timeout`, a job scheduler) stops the command as Ctrl+C does: the temporary
    output is removed on the way out."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        click.echo(f"mltop: stopped by SIGTERM: {run.written()}", err=True)
        raise SystemExit(128 + signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _load(model_uri: str, chosen: str | None, allow_outside_store: bool) -> Any:
    """The model, loaded (and checked) against the chosen store."""
    from mltop.models import load_model
    from mltop.store import fluent

    if model_uri.startswith(("runs:", "models:")):
        opened(chosen).close()  # no store here: say so (loading never creates one)
    if chosen is not None:
        fluent.set_store(chosen)
    try:
        return load_model(model_uri, allow_outside_store=allow_outside_store)
    finally:
        if chosen is not None:
            fluent.set_store(None)  # (closes the store: reading the rows needs none)


def _refused(refusals: Refusals, word: str, rows: int, written: str, all_bad: bool = False) -> str:
    if all_bad:
        head = f"every row ({rows:,}) fails the model's signature: {written}"
    else:
        verb = "fails" if refusals.count == 1 else "fail"
        hint = " (--skip-invalid predicts the others)" if refusals.count < rows else ""
        head = (
            f"{refusals.count:,} of {_count(rows, 'row')} {verb} the model's signature: "
            f"{written}{hint}"
        )
    return "\n".join([head, *refusals.lines()])


def _summary(tally: Tally, refusals: Refusals, where: str, loading: float, seconds: float) -> None:
    if refusals.count:
        verb = "fails" if refusals.count == 1 else "fail"
        click.echo(
            f"mltop: skipped {_count(refusals.count, 'row')} that {verb} the model's signature:",
            err=True,
        )
        for line in refusals.lines():
            click.echo(f"  {clean(line)}", err=True)
    rate = tally.predicted / seconds if seconds > 0 else 0.0
    click.echo(
        clean(
            f"mltop: {_count(tally.predicted, 'row')} predicted in {seconds:.1f} s "
            f"({rate:,.0f} rows/s; the model loaded in {loading:.1f} s) -> {where}"
        ),
        err=True,
    )
