"""Streaming exports of runs: JSON and CSV written as the pages of a search arrive."""

from __future__ import annotations

import csv
import json
import textwrap
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import IO, Any

from mltop.store import MetricSummary, Run
from mltop.tui.text import clean, json_number


def run_json(run: Run) -> dict[str, Any]:
    info = run.info._asdict()
    info["status"] = run.info.display_status
    return {
        **info,
        "params": run.data.params,
        "tags": run.data.tags,
        "metrics": {key: metric_json(s) for key, s in sorted(run.data.summaries.items())},
    }


def metric_json(s: MetricSummary) -> dict[str, Any]:
    return {
        "value": json_number(s.value),
        "step": s.step,
        "timestamp": s.timestamp,
        "min": json_number(s.min),
        "max": json_number(s.max),
        "count": s.count,
    }


def write_run_json(head: dict[str, Any], metrics: Iterable[MetricSummary], out: IO[str]) -> int:
    """`head` as `dumps(..., indent=2)` writes it, with its "metrics" written one at a time
    from `metrics` (a run may log a million: never all of them in memory). How many."""
    text = dumps({**head, "metrics": {}}, indent=2)
    before, after = text.split('\n  "metrics": {}', 1)
    out.write(before + '\n  "metrics": {')
    count = 0
    for summary in metrics:
        entry = dumps({summary.key: metric_json(summary)}, indent=2)[2:-2]
        out.write(("," if count else "") + "\n" + textwrap.indent(entry, "  "))
        count += 1
    out.write(("\n  }" if count else "}") + after + "\n")
    return count


# Characters JSON would leave raw that a terminal acts on or that reorder text: C1 controls
# (U+0080-U+009F: some terminals take U+009B as an escape sequence), DEL, and the
# bidirectional overrides and isolates. Written as \uXXXX escapes, which any parser reads back.
_JSON_ESCAPES = {
    c: f"\\u{c:04x}"
    for c in [0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
}


def dumps(data: object, **options: Any) -> str:
    """JSON text of `data` that shows literally on a terminal (non-ASCII text kept as is)."""
    text = json.dumps(data, ensure_ascii=False, **options)
    return text if text.isprintable() else text.translate(_JSON_ESCAPES)


def write_json(runs: Iterable[Run], out: IO[str]) -> int:
    """A JSON array, one run at a time (never the whole list in memory)."""
    count = 0
    out.write("[")
    for run in runs:
        out.write(",\n  " if count else "\n  ")
        out.write(dumps(run_json(run)))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def _iso(ms: int | None) -> str:
    if ms is None:
        return ""
    try:
        when = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):  # no calendar holds it: the number itself
        return str(ms)
    return when.isoformat(timespec="milliseconds")


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: object) -> str:
    """A text cell a spreadsheet will not run: one starting as a formula does (=, +, -, @,
    tab, CR) gets a leading `'`, as OWASP advises, unless it is a plain number; control
    characters are written as visible \\xNN escapes."""
    text = str(value)
    if text.startswith(_FORMULA_STARTS):
        try:
            float(text)
        except ValueError:
            text = "'" + text
    return clean(text)


def _csv_number(value: float) -> str:
    """Shortest round-tripping text; NaN as `NaN`, infinities as `inf` and `-inf`."""
    return "NaN" if value != value else repr(value)


CSV_FIXED = [
    "run_id", "run_name", "experiment_id", "experiment", "status", "user_id", "start_time",
    "end_time", "duration_s", "parent_run_id",
]  # fmt: skip


def write_csv(
    runs: Iterable[Run],
    out: IO[str],
    *,
    keys: dict[str, list[str]],
    experiment_names: dict[str, str],
) -> int:
    """One header (fixed columns, then metrics.K, params.K, tags.K), one row per run,
    written as each run arrives. Metrics hold the latest value; times are ISO 8601 UTC."""
    writer = csv.writer(out)
    writer.writerow(
        CSV_FIXED
        + [csv_text(f"metrics.{k}") for k in keys["metrics"]]
        + [csv_text(f"params.{k}") for k in keys["params"]]
        + [csv_text(f"tags.{k}") for k in keys["tags"]]
    )
    count = 0
    for run in runs:
        info, data = run.info, run.data
        seconds = ""
        if info.start_time is not None and info.end_time is not None:
            seconds = f"{(info.end_time - info.start_time) / 1000:.3f}"
        row = [
            info.run_id, csv_text(info.run_name), info.experiment_id,
            csv_text(experiment_names.get(info.experiment_id, "")), info.display_status,
            csv_text(info.user_id), _iso(info.start_time), _iso(info.end_time), seconds,
            info.parent_run_id or "",
        ]  # fmt: skip
        row += [
            _csv_number(data.summaries[k].value) if k in data.summaries else ""
            for k in keys["metrics"]
        ]
        row += [csv_text(data.params.get(k, "")) for k in keys["params"]]
        row += [csv_text(data.tags.get(k, "")) for k in keys["tags"]]
        writer.writerow(row)
        count += 1
    return count
