"""Health alerts: what is wrong with a run, from what the dashboard reads of it.

Pure rules over plain values (`metric_alerts`, `stalled`, `idle_gpus`) and the one read
the live ones need (`live_alerts`, through the store's Protocol). The thresholds are here,
and only here (the README's "Health alerts" says them to users):

- non-finite: a metric's latest value is NaN or ±inf, or it reached ±inf once.
- divergence: a loss-like metric (its name contains "loss", any case) whose latest value
  is both above the middle of its best (its min) and its worst (its max) and above its
  best by DIVERGE_MARGIN of the best's size. A plateau, however noisy, stays near its
  best: it never passes the middle of a real descent; early noise (max close to min) never
  passes the margin. A loss that only decreased has its latest value as its best. (The
  latest point has the highest step; above the best, it is not the best's point: the best
  was reached earlier, at a lower step.)
- stalled: RUNNING (heartbeats fresh: not LOST) and no point of a training metric (keys
  outside `system/`: the sampler logs on while the training hangs) for STALL_GAPS times
  its usual gap, at least STALL_MIN_MS. The usual gap is the time since the run started
  over the points of its most logged key: no point is read.
- idle GPUs: RUNNING, and every one of the run's GPUs (those where it holds memory, else
  every GPU sampled) under IDLE_BELOW % in every sample for IDLE_FOR_MS or more.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from mltop.store import RUNNING, Metric, Run, RunInfo, RunRow, TrackingStore
from mltop.tui.text import clean, number

NON_FINITE = "non-finite"
DIVERGENCE = "divergence"
STALLED = "stalled"
IDLE_GPU = "idle GPU"
LIVE_KINDS = (STALLED, IDLE_GPU)  # those the live read finds (the others: from a row)

DIVERGE_MARGIN = 0.25  # above its best by this share of the best's size (at least)
DIVERGE_SHARE = 0.5  # ... and above best + this share of (worst - best)
STALL_GAPS = 10  # no new point for this many usual gaps...
STALL_MIN_MS = 5 * 60_000  # ... and at least this long
IDLE_BELOW = 5.0  # % utilisation: a GPU under it is idle
IDLE_FOR_MS = 5 * 60_000  # idle this long: flagged
LIVE_EVERY = 5.0  # seconds: a run's detail reads the live rules' data at most this often
SYSTEM = "system/"  # the sampler's keys (MLflow's names)
GPU_PREFIX = "system/gpu_"
_UTILISATION = re.compile(r"system/gpu_(\d+)_utilization_percentage")
_HELD = re.compile(r"system/gpu_(\d+)_process_memory_megabytes")


@dataclass(frozen=True)
class Alert:
    """One thing wrong with a run: its kind, the metric it is about ("" for none), what
    to tell the user, and since when (ms; None where not known)."""

    kind: str
    metric: str
    message: str
    since_ms: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        """What makes it the same alert from one look to the next."""
        return (self.kind, self.metric)


def is_loss(key: str) -> bool:
    return "loss" in key.lower() and not key.startswith(SYSTEM)


def diverging(latest: float, best: float, worst: float) -> bool:
    """Whether a loss at `latest` has climbed well above its `best` (min) towards its
    `worst` (max) so far."""
    if not all(math.isfinite(v) for v in (latest, best, worst)):
        return False
    return latest > best + DIVERGE_SHARE * (worst - best) and latest - best > DIVERGE_MARGIN * abs(
        best
    )


def metric_alerts(
    latest: Mapping[str, float], extremes: Mapping[str, tuple[float, float]]
) -> list[Alert]:
    """Non-finite values and diverging losses, from each metric's latest value and its
    (min, max); the sampler's `system/` keys are not looked at."""
    alerts = []
    for key, value in latest.items():
        if key.startswith(SYSTEM):
            continue
        low, high = extremes.get(key, (value, value))
        name = clean(key)
        if not math.isfinite(value):
            alerts.append(Alert(NON_FINITE, key, f"{name} is {number(value)}"))
        elif math.isinf(low) or math.isinf(high):
            reached = number(low if math.isinf(low) else high)
            alerts.append(Alert(NON_FINITE, key, f"{name} reached {reached}"))
        elif is_loss(key) and diverging(value, low, high):
            alerts.append(
                Alert(
                    DIVERGENCE,
                    key,
                    f"{name} diverging: {number(value)}, best {number(low)}",
                )
            )
    return alerts


def row_alerts(row: RunRow) -> list[Alert]:
    """`metric_alerts` of a table's row."""
    found = row.extremes or {}
    extremes = {k: (e.min, e.max) for k, e in found.items()}
    return metric_alerts(row.metrics, extremes)


def watched(info: RunInfo, now: int) -> bool:
    """Whether the live rules apply: RUNNING, its heartbeats fresh."""
    return info.status == RUNNING and not info.at(now).lost


def stalled(info: RunInfo, activity: tuple[int, int] | None, now: int) -> Alert | None:
    """A running run whose training metrics stopped coming (`activity`: when its latest
    point was logged, and how many points its most logged key has)."""
    if activity is None or info.start_time is None or not watched(info, now):
        return None
    last, points = activity
    gap = max(0, last - info.start_time) / max(1, points)
    limit = max(STALL_MIN_MS, STALL_GAPS * gap)
    quiet = now - last
    if quiet <= limit:
        return None
    return Alert(STALLED, "", f"no new metric for {_minutes(quiet)}", last)


def run_gpus(keys: Iterable[str]) -> list[int]:
    """The run's GPUs: those where it holds memory, else every GPU sampled."""
    keys = list(keys)
    held = sorted({int(m.group(1)) for k in keys if (m := _HELD.fullmatch(k))})
    if held:
        return held
    return sorted({int(m.group(1)) for k in keys if (m := _UTILISATION.fullmatch(k))})


def is_utilisation(key: str) -> bool:
    return key.startswith(GPU_PREFIX) and _UTILISATION.fullmatch(key) is not None


def utilisation_key(gpu: int) -> str:
    return f"system/gpu_{gpu}_utilization_percentage"


def gpu_label(gpus: Sequence[int]) -> str:
    """GPU numbers, runs shortened: `0-3,6`."""
    parts: list[str] = []
    for gpu in gpus:
        if parts and gpu == _last(parts) + 1:
            first = parts[-1].split("-")[0]
            parts[-1] = f"{first}-{gpu}"
        else:
            parts.append(str(gpu))
    return ",".join(parts)


def _last(parts: list[str]) -> int:
    return int(parts[-1].split("-")[-1])


def gpu_now(row: RunRow, now: int) -> str:
    """The GPU column: for a running run, its GPUs' mean latest utilisation (`87%`; with
    several GPUs on the machine, which: `0,1 87%`); blank otherwise (a finished run's last
    value is history, not now)."""
    if not watched(row.info, now):
        return ""
    metrics = row.metrics
    gpus = [g for g in run_gpus(metrics) if utilisation_key(g) in metrics]
    values = [v for g in gpus if math.isfinite(v := metrics[utilisation_key(g)])]
    if not values:
        return ""
    mean = f"{sum(values) / len(values):.0f}%"
    sampled = sum(1 for k in metrics if _UTILISATION.fullmatch(k))
    return mean if sampled == 1 else f"{gpu_label(gpus)} {mean}"


def idle_gpus(info: RunInfo, tails: Mapping[str, Sequence[Metric]], now: int) -> Alert | None:
    """A running run whose GPUs all sat under IDLE_BELOW % for IDLE_FOR_MS, from the
    recent points of its `system/gpu_*` keys (`tails`)."""
    if not watched(info, now):
        return None
    gpus = run_gpus(tails)
    busiest: dict[int, tuple[int, float]] = {}  # sample (step) -> (time, its busiest GPU)
    for gpu in gpus:
        for point in tails.get(utilisation_key(gpu), ()):
            time, value = busiest.get(point.step, (point.timestamp, -math.inf))
            busy = point.value if not math.isnan(point.value) else math.inf  # unknown: not idle
            busiest[point.step] = (min(time, point.timestamp), max(value, busy))
    since = newest = None
    for step in sorted(busiest, reverse=True):
        time, value = busiest[step]
        if value >= IDLE_BELOW:
            break
        newest = time if newest is None else newest
        since = time
    if since is None or newest is None or newest - since < IDLE_FOR_MS:
        return None
    which = "GPU" if len(gpus) == 1 else "GPUs"
    return Alert(
        IDLE_GPU,
        "",
        f"{which} {gpu_label(gpus)} idle (under {IDLE_BELOW:g}%) for {_minutes(now - since)}",
        since,
    )


def live_only(store: TrackingStore, infos: Sequence[RunInfo], now: int) -> dict[str, list[Alert]]:
    """The stalled and idle-GPU alerts of the runs among `infos` that are running, by run
    id, reading what those need (two cheap reads: summaries, and the last few minutes of
    the `system/gpu_*` keys)."""
    running = [info for info in infos if watched(info, now)]
    if not running:
        return {}
    ids = [info.run_id for info in running]
    activity = store.metric_activity(ids)
    tails = store.metric_tails(ids, GPU_PREFIX, now - IDLE_FOR_MS - 60_000)
    out: dict[str, list[Alert]] = {}
    for info in running:
        found = [
            alert
            for alert in (
                stalled(info, activity.get(info.run_id), now),
                idle_gpus(info, tails.get(info.run_id, {}), now),
            )
            if alert is not None
        ]
        if found:
            out[info.run_id] = found
    return out


def live_alerts(store: TrackingStore, runs: Sequence[RunRow], now: int) -> dict[str, list[Alert]]:
    """Every alert of `runs` (a table's rows), by run id: their metrics' and, for those
    running, the live rules' (`live_only`)."""
    live = live_only(store, [row.info for row in runs], now)
    out: dict[str, list[Alert]] = {}
    for row in runs:
        found = row_alerts(row) + live.get(row.info.run_id, [])
        if found:
            out[row.info.run_id] = found
    return out


def summary_alerts(run: Run) -> list[Alert]:
    """`metric_alerts` of one run, from the summaries read of it (its detail)."""
    summaries = run.data.summaries
    return metric_alerts(
        {k: s.value for k, s in summaries.items()},
        {k: (s.min, s.max) for k, s in summaries.items()},
    )


def _minutes(ms: int) -> str:
    minutes = ms // 60_000
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
