"""`ChangeFeed` over a tracking server, by polling (helper A3): a mixin of `ServerStore`.

A server tells nobody what changed, and MLflow keeps no change sequence: the feed compares
snapshots. A snapshot holds the experiments (id -> name, stage, last update, tags) and the
*live* runs: those RUNNING and those started in the window since the previous snapshot (a
run created finished, by an import say), each with its status, end time, name, stage,
params and tags, and the latest point of each metric key (timestamp, step, value), which
`runs/search` returns with every run. What moved between two snapshots is what changed:

- a new run, or one whose status, end time, name, stage, params or tags differ;
- a RUNNING run that is no longer among the live ones (it ended, or was deleted);
- a metric whose latest point moved: its new points are read with `metrics/get-history`
  from the position already read (the server pages a history by offset, in (timestamp,
  step, value) order, so only the new part travels); the first time a key is followed,
  the whole history is read once and the points after the old latest one are reported.
  A point logged later with an older timestamp than those already read lands before the
  read position, and is missed by the feed (a chart that re-reads its history sees it).

Changes to runs that are neither RUNNING nor new (a tag set on a run finished last week)
are not seen by the feed: a reader sees them when it reads again. A snapshot reads every
RUNNING run: on a server where killed runs were never ended, thousands may be RUNNING for
good, and each look reads them all (2,000 such runs: about 2 s on a local server).

A cursor is `ChangeCursor(seq, 0)`: `seq` names a snapshot kept in this process (the last
`KEEP_SNAPSHOTS` per server, shared by every `ServerStore` of the same URL, since a
dashboard takes its cursor on one store and follows on another). A cursor whose snapshot
is gone reports every live run as changed, without points: readers read those again.

`has_changed()` costs at most one request a call, and none until `poll_interval` seconds
(1 s by default; settable) have passed since the last: it takes turns between the newest
`LIVE_PAGE` RUNNING runs (their status and latest points), the newest `NEWEST_RUNS` runs
(runs created in a terminal state), the experiments (a new one holds runs to follow) and
the registry's `REGISTRY_PAGE` most recently changed models (a change there is reported as
an empty change: the registry's readers read again), comparing each answer with what the
same request answered before.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mltop.store.entities import ChangeCursor, Changes, Metric, now_ms
from mltop.store.errors import NotFoundError
from mltop.store.server import convert

if TYPE_CHECKING:
    from mltop.store.server.rest import RestClient

DEFAULT_POLL_S = 1.0
NEWEST_RUNS = 50
KEEP_SNAPSHOTS = 16
# New runs are looked for among those started since the previous snapshot, less this much:
# a run's start time is the logging machine's clock, not the server's.
CLOCK_SLACK_MS = 5 * 60_000
LIVE_PAGE = 1000
REGISTRY_PAGE = 100  # the registry's most recently changed models looked at a turn

LatestPoint = tuple[int, int, float] | None  # (timestamp, step, value); None: read again


@dataclass
class _RunState:
    experiment_id: str
    status: str
    end_time: int | None
    lifecycle_stage: str
    name: str
    params: str  # a digest of the params and tags: any change shows
    tags: str
    latest: dict[str, LatestPoint]
    counts: dict[str, int] = field(default_factory=dict)  # points read so far, by key


@dataclass
class _Snapshot:
    taken: int  # ms, this machine's clock
    experiments: dict[str, tuple[Any, ...]]
    runs: dict[str, _RunState]


class _Snapshots:
    """The snapshots of one server, shared by every store of its URL in this process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.kept: OrderedDict[int, _Snapshot] = OrderedDict()
        self.last_seq = 0

    def add(self, snapshot: _Snapshot) -> int:
        with self.lock:
            seq = max(self.last_seq + 1, snapshot.taken)
            self.last_seq = seq
            self.kept[seq] = snapshot
            while len(self.kept) > KEEP_SNAPSHOTS:
                self.kept.popitem(last=False)
            return seq

    def get(self, seq: int) -> _Snapshot | None:
        with self.lock:
            return self.kept.get(seq)


_BY_URL: dict[str, _Snapshots] = {}
_BY_URL_LOCK = threading.Lock()


def _snapshots(url: str) -> _Snapshots:
    with _BY_URL_LOCK:
        return _BY_URL.setdefault(url, _Snapshots())


def _digest(pairs: Mapping[str, str]) -> str:
    text = json.dumps(sorted(pairs.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _state(run_json: Mapping[str, Any]) -> tuple[str, _RunState]:
    run = convert.run_from_json(run_json)
    info = run.info
    latest: dict[str, LatestPoint] = {
        key: (s.timestamp, s.step, s.value) for key, s in run.data.summaries.items()
    }
    return info.run_id, _RunState(
        info.experiment_id,
        info.status,
        info.end_time,
        info.lifecycle_stage,
        info.run_name,
        _digest(run.data.params),
        _digest(run.data.tags),
        latest,
    )


def _same_point(a: LatestPoint, b: LatestPoint) -> bool:
    if a is None or b is None:
        return False
    # NaN != NaN: compare the value's text
    return (a[0], a[1], repr(a[2])) == (b[0], b[1], repr(b[2]))


class ServerChanges:
    """The change feed of a tracking server (see the module)."""

    rest: RestClient
    poll_interval: float = DEFAULT_POLL_S

    if TYPE_CHECKING:  # ServerStore's: a history from a position, with cursors set

        def _history(
            self, run_id: str, key: str, after: int = 0, limit: int | None = None
        ) -> list[Metric]: ...

    # -- reading the server ---------------------------------------------------------------

    def _experiment_states(self) -> dict[str, tuple[Any, ...]]:
        out: dict[str, tuple[Any, ...]] = {}
        token: str | None = None
        while True:
            body: dict[str, Any] = {"max_results": LIVE_PAGE, "view_type": "ALL"}
            if token:
                body["page_token"] = token
            answer = self.rest.call("POST", "experiments/search", body)
            for item in answer.get("experiments") or []:
                exp = convert.experiment_from_json(item)
                out[exp.experiment_id] = (
                    exp.name,
                    exp.lifecycle_stage,
                    exp.last_update_time,
                    _digest(exp.tags),
                )
            token = answer.get("next_page_token") or None
            if not token:
                return out

    def _runs_json(
        self,
        experiment_ids: Sequence[str],
        filter_string: str,
        *,
        order_by: Sequence[str] = (),
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        if not experiment_ids:
            return found
        token: str | None = None
        while True:
            size = LIVE_PAGE if limit is None else min(LIVE_PAGE, limit - len(found))
            body: dict[str, Any] = {
                "experiment_ids": list(experiment_ids),
                "run_view_type": "ALL",
                "max_results": size,
            }
            if filter_string:
                body["filter"] = filter_string
            if order_by:
                body["order_by"] = list(order_by)
            if token:
                body["page_token"] = token
            answer = self.rest.call("POST", "runs/search", body)
            found += [r for r in answer.get("runs") or [] if isinstance(r, dict)]
            token = answer.get("next_page_token") or None
            if not token or (limit is not None and len(found) >= limit):
                return found

    def _snapshot(self, window_from: int) -> _Snapshot:
        taken = now_ms()
        experiments = self._experiment_states()
        ids = list(experiments)
        runs: dict[str, _RunState] = {}
        for text in ("attributes.status = 'RUNNING'", f"attributes.start_time >= {window_from}"):
            for item in self._runs_json(ids, text):
                run_id, state = _state(item)
                runs[run_id] = state
        self.__dict__["_feed_experiments"] = ids
        return _Snapshot(taken, experiments, runs)

    # -- ChangeFeed -------------------------------------------------------------------

    def cursor(self) -> ChangeCursor:
        """The position of now: a snapshot of the live runs, kept under a sequence number."""
        snapshot = self._snapshot(now_ms() - CLOCK_SLACK_MS)
        return ChangeCursor(_snapshots(self.rest.url).add(snapshot), 0)

    def changes_since(self, cursor: ChangeCursor, *, metric_limit: int = 100_000) -> Changes:
        """Experiments and runs changed after `cursor`, and the metric points after it (at
        most `metric_limit`; `more` says whether to call again for the rest)."""
        kept = _snapshots(self.rest.url)
        old = kept.get(cursor.seq)
        window = (old.taken if old is not None else cursor.seq) - CLOCK_SLACK_MS
        new = self._snapshot(window)
        if old is None:  # a cursor of another process, or too old: every live run
            seq = kept.add(new)
            exps = sorted(new.experiments, key=lambda e: (len(e), e))
            return Changes(exps, sorted(new.runs), [], ChangeCursor(seq, 0), False)
        experiments = [
            exp_id for exp_id, state in new.experiments.items()
            if old.experiments.get(exp_id) != state
        ]  # fmt: skip
        changed: list[str] = []
        for run_id, state in new.runs.items():
            before = old.runs.get(run_id)
            if before is None or (
                before.status, before.end_time, before.lifecycle_stage, before.name,
                before.params, before.tags,
            ) != (
                state.status, state.end_time, state.lifecycle_stage, state.name,
                state.params, state.tags,
            ):  # fmt: skip
                changed.append(run_id)
        for run_id, before in old.runs.items():
            if run_id not in new.runs and before.status == "RUNNING":
                changed.append(run_id)  # ended (or deleted) since
        points, more = self._new_points(old, new, metric_limit)
        for point in points:
            if point.run_id not in changed:
                changed.append(point.run_id)
        seq = kept.add(new)
        return Changes(experiments, changed, points, ChangeCursor(seq, 0), more)

    def _new_points(
        self, old: _Snapshot, new: _Snapshot, metric_limit: int
    ) -> tuple[list[Metric], bool]:
        """The points logged between two snapshots, read from the histories that moved;
        the new snapshot learns how far each was read."""
        points: list[Metric] = []
        more = False
        for run_id, state in new.runs.items():
            before = old.runs.get(run_id)
            for key, latest in state.latest.items():
                was = before.latest.get(key) if before is not None else None
                counted = before.counts.get(key) if before is not None else None
                if _same_point(was, latest):  # unmoved
                    if counted is not None:
                        state.counts[key] = counted
                    continue
                room = metric_limit - len(points)
                if room <= 0:
                    more = True
                    state.latest[key] = None  # read again next time
                    if counted is not None:
                        state.counts[key] = counted
                    continue
                found = self._points_after(run_id, key, was, counted)
                if len(found) > room:
                    found, more = found[:room], True
                    state.latest[key] = None
                points += found
                if found:
                    state.counts[key] = found[-1].cursor
                elif counted is not None:
                    state.counts[key] = counted
        return points, more

    def _points_after(
        self, run_id: str, key: str, was: LatestPoint, counted: int | None
    ) -> list[Metric]:
        """The points of a key after those already seen: from the position read so far,
        or (the first time) after the old latest point in the server's order."""
        try:
            if counted is not None:
                return self._history(run_id, key, counted)
            history = self._history(run_id, key)
        except NotFoundError:  # deleted meanwhile
            return []
        if was is None:
            return history
        seen = (was[0], was[1])
        return [p for p in history if (p.timestamp, p.step) > seen]

    def has_changed(self) -> bool:
        """Whether the live runs look different than at the last look (see the module):
        at most one small request, and none within `poll_interval` of the last."""
        state: dict[str, Any] = self.__dict__.setdefault("_feed_look", {"at": None, "turn": 0})
        now = time.monotonic()
        # (a tenth of the interval spared: a follower waking every `poll_interval` seconds
        # may come a hair early, and must not lose every other look to that)
        if state["at"] is not None and now - state["at"] < 0.9 * self.poll_interval:
            return False
        state["at"] = now
        ids: list[str] | None = self.__dict__.get("_feed_experiments")
        turn = state["turn"]
        state["turn"] = turn + 1
        listed: list[Any]
        if ids is not None and turn % 4 == 3:
            # The registry: its newest changed models, whole (a move, a new version, an
            # alias or tag, mltop's trail records: each changes a model's answer). An
            # empty change is reported: readers of the registry read it again.
            kind = "registry"
            answer = self.rest.call(
                "GET",
                "registered-models/search",
                {"max_results": REGISTRY_PAGE, "order_by": ["last_updated_timestamp DESC"]},
            )
            listed = answer.get("registered_models") or []
        elif ids is None or turn % 4 == 2:
            kind = "experiments"
            experiments = self._experiment_states()
            self.__dict__["_feed_experiments"] = list(experiments)
            listed = sorted(experiments.items())
        else:
            if turn % 4 == 0:
                kind = "running"
                found = self._runs_json(  # one page: the newest RUNNING runs
                    ids,
                    "attributes.status = 'RUNNING'",
                    order_by=["attributes.start_time DESC"],
                    limit=LIVE_PAGE,
                )
            else:
                kind = "newest"
                found = self._runs_json(
                    ids, "", order_by=["attributes.start_time DESC"], limit=NEWEST_RUNS
                )
            listed = []
            for run_id, s in sorted((_state(item) for item in found), key=lambda p: p[0]):
                latest = sorted((k, repr(v)) for k, v in s.latest.items())
                listed.append(
                    [run_id, s.status, s.end_time, s.lifecycle_stage, s.name, s.params, s.tags,
                     latest]
                )  # fmt: skip
        digest = hashlib.sha256(json.dumps(listed).encode()).hexdigest()
        changed = state.get(kind) != digest
        state[kind] = digest
        return changed

    # -- the live views' reads ---------------------------------------------------------

    def metric_activity(
        self, run_ids: Iterable[str], *, skip_prefix: str = "system/"
    ) -> dict[str, tuple[int, int]]:
        """Per run that logged any: when its latest point was logged, and the most points
        of one key, over keys not starting with `skip_prefix`. The server counts no points:
        a key's count is taken as its latest step + 1 (steps counting from 0, as a
        training loop logs them), which is what the stall rule needs (a typical gap)."""
        out: dict[str, tuple[int, int]] = {}
        for run in self._runs_by_id(run_ids):
            info = run.info
            summaries = [s for k, s in run.data.summaries.items() if not k.startswith(skip_prefix)]
            if summaries:
                last = max(s.timestamp for s in summaries)
                points = max(max(1, s.step + 1) for s in summaries)
                out[info.run_id] = (last, points)
        return out

    def metric_tails(
        self, run_ids: Iterable[str], prefix: str, since: int, *, limit: int = 1000
    ) -> dict[str, dict[str, list[Metric]]]:
        """Per run, every key it logged starting with `prefix`, with its newest points (at
        most `limit`) logged at or after `since` (ms), oldest first. Only the keys whose
        latest point is that recent have their history read (the server cannot read a
        history from a time: the whole of it travels)."""
        out: dict[str, dict[str, list[Metric]]] = {}
        for run in self._runs_by_id(run_ids):
            for key, summary in sorted(run.data.summaries.items()):
                if not key.startswith(prefix):
                    continue
                points: list[Metric] = []
                if summary.timestamp >= since:
                    try:
                        history = self._history(run.info.run_id, key)
                    except NotFoundError:
                        continue
                    points = [p for p in history if p.timestamp >= since][-limit:]
                out.setdefault(run.info.run_id, {})[key] = points
        return out

    def _runs_by_id(self, run_ids: Iterable[str]) -> list[Any]:
        """The runs of these ids that exist (their latest metrics), any lifecycle stage."""
        wanted = [r for r in dict.fromkeys(run_ids) if isinstance(r, str) and r.isalnum()]
        if not wanted:
            return []
        ids: list[str] | None = self.__dict__.get("_feed_experiments")
        if ids is None:
            ids = list(self._experiment_states())
            self.__dict__["_feed_experiments"] = ids
        found = []
        for start in range(0, len(wanted), 100):
            batch = ", ".join(f"'{r}'" for r in wanted[start : start + 100])
            items = self._runs_json(ids, f"attributes.run_id IN ({batch})")
            found += [convert.run_from_json(item) for item in items]
        seen = {run.info.run_id for run in found}
        missing = [r for r in wanted if r not in seen]
        if missing:  # a run of an experiment made since the list was read
            ids = list(self._experiment_states())
            self.__dict__["_feed_experiments"] = ids
            for start in range(0, len(missing), 100):
                batch = ", ".join(f"'{r}'" for r in missing[start : start + 100])
                items = self._runs_json(ids, f"attributes.run_id IN ({batch})")
                found += [convert.run_from_json(item) for item in items]
        return found
