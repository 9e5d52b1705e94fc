"""Streaming exports of runs: JSON and CSV written as the pages of a search arrive."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import IO, Any

from mltop.store import Run
from mltop.tui.text import json_number


def run_json(run: Run) -> dict[str, Any]:
    info = run.info._asdict()
    info["status"] = run.info.display_status
    return {
        **info,
        "params": run.data.params,
        "tags": run.data.tags,
        "metrics": {
            key: {
                "value": json_number(s.value),
                "step": s.step,
                "timestamp": s.timestamp,
                "min": json_number(s.min),
                "max": json_number(s.max),
                "count": s.count,
            }
            for key, s in sorted(run.data.summaries.items())
        },
    }


def write_json(runs: Iterable[Run], out: IO[str]) -> int:
    """A JSON array, one run at a time (never the whole list in memory)."""
    count = 0
    out.write("[")
    for run in runs:
        out.write(",\n  " if count else "\n  ")
        out.write(json.dumps(run_json(run), ensure_ascii=False))
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
        + [f"metrics.{k}" for k in keys["metrics"]]
        + [f"params.{k}" for k in keys["params"]]
        + [f"tags.{k}" for k in keys["tags"]]
    )
    count = 0
    for run in runs:
        info, data = run.info, run.data
        seconds = ""
        if info.start_time is not None and info.end_time is not None:
            seconds = f"{(info.end_time - info.start_time) / 1000:.3f}"
        row = [
            info.run_id, info.run_name, info.experiment_id,
            experiment_names.get(info.experiment_id, ""), info.display_status, info.user_id,
            _iso(info.start_time), _iso(info.end_time), seconds, info.parent_run_id or "",
        ]  # fmt: skip
        row += [
            _csv_number(data.summaries[k].value) if k in data.summaries else ""
            for k in keys["metrics"]
        ]
        row += [data.params.get(k, "") for k in keys["params"]]
        row += [data.tags.get(k, "") for k in keys["tags"]]
        writer.writerow(row)
        count += 1
    return count
