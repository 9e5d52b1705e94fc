"""`ServerStore`: mltop's store Protocols over an MLflow tracking server's REST API.

One `ServerStore` per server URL. It reads and writes through `RestClient` (retries,
credentials, typed errors) and converts with `convert.py`; searches and the change feed
are the mixins `ServerSearch` and `ServerChanges`; the registry is `ServerRegistry`.

Where the server cannot do what mltop's SQLite store does, this module decides:

- `path`: a server has no folder. A store's `path` is a per-server cache folder
  (`$XDG_CACHE_HOME/mltop/servers/<host>-<port>-<hash>`, made only when something is
  written there: downloaded artifacts, a dashboard's column choices); `location` is the
  URL, what to show and to open the store again with.
- Heartbeats: the server keeps none; a run read from it never shows LOST.
- Metric summaries: a run's JSON holds only each key's latest point. `get_run`,
  `iter_run_metrics` and `search_run_metrics` read the histories (in parallel, a page
  at a time) to give the same min, max and count as the SQLite store;
  `get_run(max_metrics=n)` reads n. What was read is remembered per (run, key): the next
  read goes on from the last point read, when that point is still where it was (a point
  logged with an older timestamp moves it: the history is then read again whole). The
  points read are kept too (compactly, `POINTS_KEPT` in all, the least recently read let
  go first), so a history travels once: the summaries' read serves the chart's, and a
  chart opened again reads only what is new.
- Metric history cursors: the server orders a history by (timestamp, step, value) and
  pages it by offset; a point's `cursor` is its position (1-based) in that order, and
  `get_metric_history(after=n)` reads on from position n. A point logged later with an
  older timestamp than those already read lands before the cursor (the SQLite store's
  cursor is the logging order): a chart re-reads the history to see it.
- `get_metric_blocks`: no block summaries on a server: every point, no blocks.
- `resolve_run_id`: a full id (32 hex digits) is looked up; a shorter prefix is
  searched for with `attributes.run_id LIKE '<prefix>%'` over every experiment (deleted
  runs included); a server refusing that filter has its runs read whole.
- `logged_model_files`: the server records no checksums: `{}`.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mltop.store import keys
from mltop.store.blocks import MetricBlock
from mltop.store.entities import (
    ACTIVE,
    DEFAULT_EXPERIMENT_ID,
    RUN_STATUSES,
    RUNNING,
    TERMINAL_STATUSES,
    VIEWS,
    Capabilities,
    DatasetInput,
    Experiment,
    LoggedModel,
    Metric,
    MetricSummary,
    Run,
    now_ms,
)
from mltop.store.errors import (
    AlreadyExistsError,
    InvalidStateError,
    InvalidValueError,
    NotFoundError,
    ParamConflictError,
    StoreReadOnlyError,
    ValidationError,
)
from mltop.store.integrity import FileDigest
from mltop.store.names import generate_run_name
from mltop.store.server import convert
from mltop.store.server.artifacts import ServerArtifactRepository
from mltop.store.server.changes import ServerChanges
from mltop.store.server.registry import ServerRegistry
from mltop.store.server.rest import RestClient, chunks
from mltop.store.server.search import ServerSearch

# MLflow's limits (mlflow/utils/validation.py, mlflow/store/tracking/__init__.py).
HISTORY_PAGE = 25_000  # GET_METRIC_HISTORY_MAX_RESULTS
SEARCH_PAGE = 50_000  # SEARCH_MAX_RESULTS_THRESHOLD
EXPERIMENT_PAGE = 1000
BATCH_PARAMS = 100  # MAX_PARAMS_TAGS_PER_BATCH
BATCH_TAGS = 100  # MAX_PARAMS_TAGS_PER_BATCH: the server refuses more tags a call
EXPERIMENT_IDS_PER_SEARCH = 100
HISTORY_READERS = 8  # histories read at once for summaries
SUMMARIES_KEPT = 20_000  # (run, key) summaries remembered to read on from
# Points of the histories read, kept (24 bytes a point: about 50 MB) so that a history is
# read once, then read on: the summaries' read serves the chart's, and a chart opened
# again reads only the points new since. Past this, the least recently read are let go.
POINTS_KEPT = 2_000_000

_VIEW_TYPES = {"active": "ACTIVE_ONLY", "deleted": "DELETED_ONLY", "all": "ALL"}
_HEX = re.compile(r"^[0-9a-f]+$")
_DERIVED_TAGS = {
    convert.RUN_NAME_TAG: "run name",
    convert.USER_TAG: "user",
    convert.PARENT_TAG: "parent run",
}


class _Points:
    """A metric's history as read so far, in the server's order, compactly (24 bytes a
    point instead of a Metric's ~200)."""

    __slots__ = ("stamps", "steps", "values")

    def __init__(self) -> None:
        self.steps = array("q")
        self.stamps = array("q")
        self.values = array("d")

    def __len__(self) -> int:
        return len(self.steps)

    def add(self, points: Sequence[Metric]) -> None:
        """Append `points` (OverflowError for a step or time past 64 bits: not kept)."""
        self.steps.extend([p.step for p in points])
        self.stamps.extend([p.timestamp for p in points])
        self.values.extend([p.value for p in points])

    def metrics(self, key: str, run_id: str, start: int) -> list[Metric]:
        """The points from position `start` on (0-based), each with its cursor; as many as
        were whole when called (`add` extends the values last)."""
        stop = len(self.values)
        return [
            Metric(key, value, stamp, step, run_id, position)
            for position, step, stamp, value in zip(
                range(start + 1, stop + 1),
                self.steps[start:stop],
                self.stamps[start:stop],
                self.values[start:stop],
                strict=True,
            )
        ]


@dataclass
class _Seen:
    """What was read of one metric's history: its summary, how many points, the last, and
    the points themselves while they are kept (None: let go, or too many to keep)."""

    summary: MetricSummary | None = None
    position: int = 0
    last: Metric | None = None
    points: _Points | None = None

    def take(self, key: str, page: Sequence[Metric]) -> None:
        """Fold a page read on into what is known (its points kept, if they are)."""
        if not page:
            return
        self.summary = convert.summary_from_points(key, page, self.summary)
        self.position += len(page)
        self.last = page[-1]
        if self.points is not None:
            try:
                self.points.add(page)
            except OverflowError:  # a step or time past 64 bits: served by reading
                self.points = None


def cache_folder(url: str) -> Path:
    """Where this machine keeps what it downloads from the server at `url` (not made)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", url.split("://", 1)[-1]).strip("-")[:60]
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return Path(base).expanduser().absolute() / "mltop" / "servers" / f"{slug}-{digest}"


def _view_type(view: str) -> str:
    if view not in VIEWS:
        raise ValidationError(f"view must be one of {', '.join(VIEWS)}, not {view!r}")
    return _VIEW_TYPES[view]


def _status(status: object) -> str:
    text = status.upper() if isinstance(status, str) else status
    if text not in RUN_STATUSES:
        raise InvalidValueError(
            f"run status must be one of {', '.join(RUN_STATUSES)}, not {status!r}"
        )
    return str(text)


def _experiment_id(experiment_id: str | int) -> str:
    if isinstance(experiment_id, bool) or not isinstance(experiment_id, (str, int)):
        raise NotFoundError(f"no experiment with id {experiment_id!r}")
    text = str(experiment_id).strip()
    if not text or len(text) > 64 or not text.replace("-", "").isalnum():
        raise NotFoundError(f"no experiment with id {experiment_id!r}")
    return text


def _run_id(run_id: object) -> str:
    if not isinstance(run_id, str) or not run_id.strip() or len(run_id) > 64:
        raise NotFoundError(f"no run with id {run_id!r}")
    if not run_id.replace("-", "").replace("_", "").isalnum():
        raise NotFoundError(f"no run with id {run_id!r}")
    return run_id


def _quote(value: str) -> str:
    """`value` as a string literal of MLflow's search language."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class ServerStore(ServerSearch, ServerChanges):
    """A tracking server as a `TrackingStore`."""

    def __init__(
        self,
        url: str,
        *,
        rest: RestClient | None = None,
        read_only: bool = False,
        cache: str | os.PathLike[str] | None = None,
    ) -> None:
        self.rest = rest if rest is not None else RestClient.from_env(url)
        self.url = self.rest.url
        self._read_only = bool(read_only)
        self._path = Path(cache).absolute() if cache is not None else cache_folder(self.url)
        self._registry: ServerRegistry | None = None
        self.history_page = HISTORY_PAGE  # points per metrics/get-history call
        # Per (run, key): the summary of the points read so far, read on from there.
        self._seen: OrderedDict[tuple[str, str], _Seen] = OrderedDict()
        self._seen_lock = threading.Lock()
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}  # one reader a history

    def __repr__(self) -> str:
        return f"ServerStore({self.url!r})"

    def __enter__(self) -> ServerStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- StoreHandle ------------------------------------------------------------------

    @property
    def location(self) -> str:
        """The server's URL (without credentials): what to show, and to open it again."""
        return self.url

    @property
    def path(self) -> Path:
        """This machine's cache folder for the server (made only when written to)."""
        return self._path

    @property
    def capabilities(self) -> Capabilities:
        """A server keeps no heartbeat, sends no file events, keeps no transition table
        (mltop's own tags stand in) and records no checksums of a model's files."""
        return Capabilities(
            heartbeats=False, file_events=False, transition_log=False, model_checksums=False
        )

    @property
    def read_only(self) -> bool:
        return self._read_only

    def check(self, *, write: bool = False) -> bool:
        """Ask the server: ServerUnreachableError, ServerRefusedError... when it cannot be
        used now; StoreReadOnlyError to write through a read-only handle. Returns whether
        the store was replaced since the last look (the SQLite store's database file can
        be): a server's never is, False."""
        if write:
            self._writable()
        self.rest.call("GET", "experiments/search", {"max_results": 1})
        return False

    def close(self) -> None:
        self.rest.close()

    @property
    def registry(self) -> ServerRegistry:
        if self._registry is None:
            self._registry = ServerRegistry(self.rest, read_only=self._read_only)
        return self._registry

    def _writable(self) -> None:
        if self._read_only:
            raise StoreReadOnlyError(f"the tracking server {self.url} was opened read-only")

    # -- experiments --------------------------------------------------------------------

    def get_experiment(self, experiment_id: str | int) -> Experiment:
        exp = _experiment_id(experiment_id)
        try:
            answer = self.rest.call("GET", "experiments/get", {"experiment_id": exp})
        except (NotFoundError, InvalidValueError):
            raise NotFoundError(f"no experiment with id {experiment_id!r} on {self.url}") from None
        return convert.experiment_from_json(answer.get("experiment"))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        if not isinstance(name, str) or not name:
            return None
        try:
            answer = self.rest.call("GET", "experiments/get-by-name", {"experiment_name": name})
        except NotFoundError:
            return None
        return convert.experiment_from_json(answer.get("experiment"))

    def list_experiments(self, view: str = "active") -> list[Experiment]:
        view_type = _view_type(view)
        found: list[Experiment] = []
        token: str | None = None
        while True:
            body: dict[str, Any] = {"max_results": EXPERIMENT_PAGE, "view_type": view_type}
            if token:
                body["page_token"] = token
            answer = self.rest.call("POST", "experiments/search", body)
            for item in answer.get("experiments") or []:
                found.append(convert.experiment_from_json(item))
            token = answer.get("next_page_token") or None
            if not token:
                break
        return sorted(found, key=lambda e: (len(e.experiment_id), e.experiment_id))

    def experiment_run_counts(self) -> dict[str, tuple[int, int]]:
        """Experiment id -> (active runs, RUNNING among them), of the active experiments.
        The server counts nothing: every active run is read (pages of 50,000)."""
        ids = [e.experiment_id for e in self.list_experiments("active")]
        counts: dict[str, tuple[int, int]] = {}
        for run in self._search_json(ids, None, "active"):
            info = run.get("info") or {}
            exp = str(info.get("experiment_id", ""))
            total, running = counts.get(exp, (0, 0))
            counts[exp] = (total + 1, running + (info.get("status") == RUNNING))
        return counts

    # -- a private search over runs' JSON (the RunSearch Protocol is ServerSearch's) ----

    def _search_json(
        self,
        experiment_ids: Sequence[str] | None,
        filter_string: str | None,
        view: str,
        order_by: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        if experiment_ids is None:
            experiment_ids = [e.experiment_id for e in self.list_experiments("all")]
        seen = 0
        for group in chunks(experiment_ids, EXPERIMENT_IDS_PER_SEARCH):
            token: str | None = None
            while True:
                page = SEARCH_PAGE if limit is None else min(SEARCH_PAGE, limit - seen)
                body: dict[str, Any] = {
                    "experiment_ids": group,
                    "run_view_type": _view_type(view),
                    "max_results": page,
                }
                if filter_string:
                    body["filter"] = filter_string
                if order_by:
                    body["order_by"] = list(order_by)
                if token:
                    body["page_token"] = token
                answer = self.rest.call("POST", "runs/search", body)
                for run in answer.get("runs") or []:
                    if isinstance(run, dict):
                        seen += 1
                        yield run
                        if limit is not None and seen >= limit:
                            return
                token = answer.get("next_page_token") or None
                if not token:
                    break

    # -- runs ---------------------------------------------------------------------------

    def _run_json(self, run_id: str) -> dict[str, Any]:
        rid = _run_id(run_id)
        try:
            answer = self.rest.call("GET", "runs/get", {"run_id": rid})
        except (NotFoundError, InvalidValueError):
            raise NotFoundError(f"no run with id {run_id!r} on {self.url}") from None
        run = answer.get("run")
        if not isinstance(run, dict):
            raise convert.malformed("run", answer)
        return run

    def get_run(self, run_id: str, *, max_metrics: int | None = None) -> Run:
        """The run, with each metric's summary read from its history (min, max, count as
        the SQLite store keeps them); `max_metrics`: at most that many keys, by name."""
        run = convert.run_from_json(self._run_json(run_id), max_metrics=max_metrics)
        exact = self._exact_summaries(run.info.run_id, run.data.summaries)
        return run._replace(data=run.data._replace(summaries=exact))

    def _exact_summaries(
        self, run_id: str, latest: Mapping[str, MetricSummary]
    ) -> dict[str, MetricSummary]:
        names = list(latest)
        if not names:
            return {}
        if len(names) == 1:
            summaries = [self._summary(run_id, names[0])]
        else:
            with ThreadPoolExecutor(min(HISTORY_READERS, len(names))) as pool:
                summaries = list(pool.map(lambda k: self._summary(run_id, k), names))
        return {
            key: summary if summary is not None else latest[key]
            for key, summary in zip(names, summaries, strict=True)
        }

    def _summary(self, run_id: str, key: str) -> MetricSummary | None:
        """A key's exact summary, read on from where the last read of it stopped."""
        seen = self._read_on(run_id, key, want_points=False)
        return None if seen is None else seen.summary

    def _read_on(self, run_id: str, key: str, *, want_points: bool) -> _Seen | None:
        """What is known of a key's history, brought up to date: read on from where the last
        read stopped, when the point it stopped at is still there (else, or when the points
        are wanted and were let go, read whole), a page at a time. None: no points."""
        with self._seen_lock:
            lock = self._key_locks.setdefault((run_id, key), threading.Lock())
        with lock:  # one reader of a history at a time: two would append the same points
            with self._seen_lock:
                seen = self._seen.get((run_id, key))
            usable = seen is not None and (seen.points is not None or not want_points)
            if seen is not None and seen.last is not None and usable:
                pages = self._pages(run_id, key, seen.position - 1)
                first: list[Metric] = next(pages, [])
                if first and convert.same_point(first[0], seen.last):
                    seen.take(key, first[1:])
                    for page in pages:
                        seen.take(key, page)
                    return self._keep(run_id, key, seen)
            seen = _Seen(points=_Points())
            for page in self._pages(run_id, key, 0):
                seen.take(key, page)
                if seen.points is not None and len(seen.points) > POINTS_KEPT:
                    seen.points = None  # too long to keep: its summary only
            if seen.last is None:
                return None
            return self._keep(run_id, key, seen)

    def _pages(self, run_id: str, key: str, offset: int) -> Iterator[list[Metric]]:
        while True:
            points, more = self._history_page(run_id, key, offset, self.history_page)
            if points:
                yield points
            offset += len(points)
            if not more or not points:
                return

    def _keep(self, run_id: str, key: str, seen: _Seen) -> _Seen:
        """Remember `seen` (most recently read last); past POINTS_KEPT points in all, the
        points of the least recently read histories are let go (their summaries stay)."""
        with self._seen_lock:
            self._seen.pop((run_id, key), None)
            self._seen[(run_id, key)] = seen
            kept = sum(len(s.points) for s in self._seen.values() if s.points is not None)
            for other in self._seen.values():
                if kept <= POINTS_KEPT:
                    break
                if other is not seen and other.points is not None:
                    kept -= len(other.points)
                    other.points = None
            while len(self._seen) > SUMMARIES_KEPT:
                (old_run, old_key), _ = self._seen.popitem(last=False)
                self._key_locks.pop((old_run, old_key), None)
        return seen

    def resolve_run_id(self, prefix: str) -> str:
        """A full run id from a unique prefix of at least 4 characters. A full id is looked
        up; a prefix is searched for among every run of the server (see the module)."""
        text = prefix.strip().lower() if isinstance(prefix, str) else ""
        if len(text) == 32 and _HEX.match(text):
            self._run_json(text)
            return text
        if len(text) < 4 or not _HEX.match(text):
            raise NotFoundError(
                f"{prefix!r} is not a run id (32 hex characters, or a unique prefix of 4 or more)"
            )
        matches: list[str] = []
        try:  # MLflow's stores take LIKE on run_id; one that does not is read whole
            found = list(
                self._search_json(None, f"attributes.run_id LIKE '{text}%'", "all", limit=2)
            )
        except InvalidValueError:
            found = list(self._search_json(None, None, "all"))
        for run in found:
            rid = str((run.get("info") or {}).get("run_id", ""))
            if rid.startswith(text) and rid not in matches:
                matches.append(rid)
                if len(matches) > 1:
                    raise NotFoundError(
                        f"run id prefix {prefix!r} is ambiguous; give more characters"
                    )
        if not matches:
            raise NotFoundError(f"no run id starts with {prefix!r} on {self.url}")
        return matches[0]

    def child_run_ids(self, run_id: str) -> list[str]:
        """The runs whose `mlflow.parentRunId` tag is `run_id` (deleted ones included), by
        start time."""
        rid = _run_id(run_id)
        runs = self._search_json(
            None, f"tags.`{convert.PARENT_TAG}` = {_quote(rid)}", "all", ["start_time ASC"]
        )
        found = [convert.run_info_from_json(r.get("info")) for r in runs]
        found.sort(key=lambda info: (info.start_time or 0, info.run_id))
        return [info.run_id for info in found]

    # -- metric histories ------------------------------------------------------------------

    def _history_page(
        self, run_id: str, key: str, offset: int, size: int
    ) -> tuple[list[Metric], bool]:
        body: dict[str, Any] = {"run_id": run_id, "metric_key": key, "max_results": size}
        if offset:
            body["page_token"] = convert.offset_token(offset)
        answer = self.rest.call("GET", "metrics/get-history", body)
        points = convert.metrics_from_json(answer.get("metrics"), run_id)
        return points, bool(answer.get("next_page_token"))

    def _history(
        self, run_id: str, key: str, after: int = 0, limit: int | None = None
    ) -> list[Metric]:
        if limit is None:  # the rest of the history: from what is kept, read on
            seen = self._read_on(run_id, key, want_points=True)
            if seen is None:
                return []
            if seen.points is not None:
                return seen.points.metrics(key, run_id, max(0, after))
        found: list[Metric] = []
        offset = max(0, after)
        page = self.history_page
        while limit is None or len(found) < limit:
            size = page if limit is None else min(page, limit - len(found))
            points, more = self._history_page(run_id, key, offset, size)
            for position, point in enumerate(points, start=offset + 1):
                found.append(point._replace(cursor=position))
            offset += len(points)
            if not more or not points:
                break
        return found

    def get_metric_history(
        self, run_id: str, key: str, *, after: int = 0, limit: int | None = None
    ) -> list[Metric]:
        """Points of one metric in the server's order, after the cursor `after` (a
        position: see the module); at most `limit`."""
        rid = _run_id(run_id)
        if limit is not None and limit <= 0:
            return []
        try:
            points = self._history(rid, key, after, limit)
        except NotFoundError:
            raise NotFoundError(f"no run with id {run_id!r} on {self.url}") from None
        if not points:
            self._run_json(rid)  # the server answers [] for a run it does not have
        return points

    def get_metric_blocks(
        self, run_id: str, key: str, *, points_up_to: int = 64 * 1024
    ) -> tuple[list[MetricBlock], list[Metric]]:
        """A chart's history: the server keeps no block summaries, so every point."""
        return [], self.get_metric_history(run_id, key)

    def _matching_summaries(
        self, run_id: str, contains: str, limit: int | None
    ) -> tuple[dict[str, MetricSummary], int]:
        run = convert.run_from_json(self._run_json(run_id))
        needle = contains.lower()
        names = sorted(k for k in run.data.summaries if needle in k.lower())
        kept = names if limit is None else names[: max(0, limit)]
        latest = {k: run.data.summaries[k] for k in kept}
        return self._exact_summaries(run.info.run_id, latest), len(names)

    def iter_run_metrics(self, run_id: str, contains: str = "") -> Iterator[MetricSummary]:
        """Every metric summary of the run whose key contains `contains` (any case), by
        key (read from the histories, a page of keys at a time)."""
        run = convert.run_from_json(self._run_json(run_id))
        needle = contains.lower()
        names = sorted(k for k in run.data.summaries if needle in k.lower())
        for group in chunks(names, 64):
            found = self._exact_summaries(
                run.info.run_id, {k: run.data.summaries[k] for k in group}
            )
            yield from (found[k] for k in group)

    def search_run_metrics(
        self, run_id: str, contains: str = "", *, limit: int = 1000
    ) -> tuple[dict[str, MetricSummary], int]:
        return self._matching_summaries(run_id, contains, limit)

    # -- logged models ------------------------------------------------------------------

    def get_logged_model(self, model_id: str) -> LoggedModel:
        if not isinstance(model_id, str) or not re.match(r"^m-[0-9A-Za-z]{1,64}$", model_id):
            raise NotFoundError(f"no logged model with id {model_id!r}")
        try:
            answer = self.rest.call("GET", f"logged-models/{model_id}")
        except (NotFoundError, InvalidValueError):
            raise NotFoundError(f"no logged model with id {model_id!r} on {self.url}") from None
        return convert.logged_model_from_json(answer.get("model"))

    def logged_models_of_run(self, run_id: str) -> list[LoggedModel]:
        """The models a run produced (logged from it, or recorded as its outputs), newest
        first; deleted ones left out."""
        run = self._run_json(run_id)
        rid = str(run["info"].get("run_id", run_id))
        exp = str(run["info"].get("experiment_id", ""))
        found: dict[str, LoggedModel] = {}
        token: str | None = None
        while True:
            body: dict[str, Any] = {
                "experiment_ids": [exp],
                "filter": f"source_run_id = {_quote(rid)}",
                "max_results": 100,
            }
            if token:
                body["page_token"] = token
            answer = self.rest.call("POST", "logged-models/search", body)
            for item in answer.get("models") or []:
                model = convert.logged_model_from_json(item)
                found[model.model_id] = model
            token = answer.get("next_page_token") or None
            if not token:
                break
        outputs = (run.get("outputs") or {}).get("model_outputs") or []
        for output in outputs:
            model_id = str(output.get("model_id", "")) if isinstance(output, dict) else ""
            if model_id and model_id not in found:
                try:
                    found[model_id] = self.get_logged_model(model_id)
                except NotFoundError:
                    continue
        models = [m for m in found.values() if m.lifecycle_stage == ACTIVE]
        return sorted(models, key=lambda m: (m.creation_timestamp, m.model_id), reverse=True)

    def logged_model_files(self, model_id: str) -> dict[str, FileDigest]:
        """The server records no file checksums: always empty."""
        self.get_logged_model(model_id)
        return {}

    # -- writing experiments ------------------------------------------------------------

    def create_experiment(self, name: str, tags: Mapping[str, object] | None = None) -> str:
        self._writable()
        keys.validate_name(name, "experiment name", keys.MAX_EXPERIMENT_NAME_LENGTH)
        clean = keys.clean_tags(tags or {}, keys.MAX_TAG_VALUE_LENGTH)
        self._refuse_taken_name(name)
        answer = self.rest.call(
            "POST", "experiments/create", {"name": name, "tags": convert.pairs_to_json(clean)}
        )
        return convert.text(answer.get("experiment_id"), "experiment id")

    def rename_experiment(self, experiment_id: str | int, new_name: str) -> None:
        self._writable()
        keys.validate_name(new_name, "experiment name", keys.MAX_EXPERIMENT_NAME_LENGTH)
        exp = self.get_experiment(experiment_id)
        if exp.name == new_name:
            return
        self._refuse_taken_name(new_name)
        self.rest.call(
            "POST",
            "experiments/update",
            {"experiment_id": exp.experiment_id, "new_name": new_name},
        )

    def _refuse_taken_name(self, name: str) -> None:
        """AlreadyExistsError, as the SQLite store words it, for a name in use (the server
        would refuse it too, a rename with a database error's text)."""
        taken = self.get_experiment_by_name(name)
        if taken is None:
            return
        if taken.lifecycle_stage != ACTIVE:
            raise AlreadyExistsError(
                f"experiment {name!r} exists in the deleted state (id {taken.experiment_id}); "
                "restore it or choose another name"
            )
        raise AlreadyExistsError(f"experiment {name!r} already exists (id {taken.experiment_id})")

    def delete_experiment(self, experiment_id: str | int) -> None:
        self._set_experiment_stage(experiment_id, "deleted")

    def restore_experiment(self, experiment_id: str | int) -> None:
        self._set_experiment_stage(experiment_id, ACTIVE)

    def _set_experiment_stage(self, experiment_id: str | int, stage: str) -> None:
        self._writable()
        exp = self.get_experiment(experiment_id)
        if stage != ACTIVE and exp.experiment_id == DEFAULT_EXPERIMENT_ID:
            raise InvalidStateError("the Default experiment cannot be deleted")
        if exp.lifecycle_stage == stage:
            raise InvalidStateError(f"experiment {exp.name!r} is already {stage}")
        if stage == ACTIVE:
            self.rest.call("POST", "experiments/restore", {"experiment_id": exp.experiment_id})
        else:
            self.rest.call("POST", "experiments/delete", {"experiment_id": exp.experiment_id})

    def set_experiment_tag(self, experiment_id: str | int, key: str, value: object) -> None:
        self._writable()
        clean = keys.clean_tags({key: value}, keys.MAX_TAG_VALUE_LENGTH)
        exp = self.get_experiment(experiment_id)
        for k, v in clean.items():
            self.rest.call(
                "POST",
                "experiments/set-experiment-tag",
                {"experiment_id": exp.experiment_id, "key": k, "value": v},
            )

    def delete_experiment_tag(self, experiment_id: str | int, key: str) -> None:
        self._writable()
        exp = self.get_experiment(experiment_id)
        if key not in exp.tags:
            raise NotFoundError(f"experiment {exp.name!r} has no tag {key!r}")
        self.rest.call(
            "POST",
            "experiments/delete-experiment-tag",
            {"experiment_id": exp.experiment_id, "key": key},
        )

    # -- writing runs -------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str | int | None = None,
        run_name: str | None = None,
        *,
        start_time: int | None = None,
        tags: Mapping[str, object] | None = None,
        parent_run_id: str | None = None,
        user_id: str | None = None,
        status: str = RUNNING,
        heartbeat_interval_ms: int = convert.SERVER_HEARTBEAT_INTERVAL_MS,
    ) -> Run:
        """A new run (the server keeps no heartbeat: `heartbeat_interval_ms` is unused)."""
        self._writable()
        status = _status(status)
        clean = keys.clean_tags(tags or {}, keys.MAX_TAG_VALUE_LENGTH)
        tag_name = clean.pop(convert.RUN_NAME_TAG, "")
        if run_name and tag_name and tag_name != run_name:
            raise InvalidValueError(
                f"both run_name and the {convert.RUN_NAME_TAG} tag are given, with different "
                f"values (run_name={run_name!r}, {convert.RUN_NAME_TAG}={tag_name!r})"
            )
        run_name = run_name or tag_name or generate_run_name()
        keys.validate_name(run_name, "run name", keys.MAX_RUN_NAME_LENGTH)
        user = clean.pop(convert.USER_TAG, "") or user_id or ""
        tag_parent = clean.pop(convert.PARENT_TAG, "")
        if parent_run_id and tag_parent and tag_parent != parent_run_id:
            raise InvalidValueError(
                f"both parent_run_id and the {convert.PARENT_TAG} tag are given, with "
                f"different values ({parent_run_id!r}, {tag_parent!r})"
            )
        parent = parent_run_id or tag_parent or None
        start = keys.time_ms("start_time", start_time) if start_time is not None else now_ms()
        exp = self.get_experiment(DEFAULT_EXPERIMENT_ID if experiment_id is None else experiment_id)
        if exp.lifecycle_stage != ACTIVE:
            raise InvalidStateError(
                f"experiment {exp.name!r} is deleted; restore it before creating runs in it"
            )
        if parent is not None:
            self._run_json(parent)
            clean[convert.PARENT_TAG] = parent
        if user:
            clean[convert.USER_TAG] = user
        clean[convert.RUN_NAME_TAG] = run_name
        body: dict[str, Any] = {
            "experiment_id": exp.experiment_id,
            "run_name": run_name,
            "start_time": start,
            "tags": convert.pairs_to_json(clean),
        }
        if user:
            body["user_id"] = user
        answer = self.rest.call("POST", "runs/create", body)
        run = convert.run_from_json(answer.get("run"))
        if status != RUNNING:
            self.rest.call(
                "POST",
                "runs/update",
                {
                    "run_id": run.info.run_id,
                    "status": status,
                    **({"end_time": start} if status in TERMINAL_STATUSES else {}),
                },
            )
        return self.get_run(run.info.run_id)

    def update_run(
        self,
        run_id: str,
        *,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
        heartbeat_interval_ms: int | None = None,
    ) -> None:
        """Change a run's status (a terminal status stamps end_time) or name; allowed on a
        deleted run too, as in the SQLite store. (No heartbeat on a server.)"""
        self._writable()
        if run_name is not None:
            keys.validate_name(run_name, "run name", keys.MAX_RUN_NAME_LENGTH)
        info = self._run_json(run_id)["info"]
        rid = info.get("run_id", run_id)
        body: dict[str, Any] = {"run_id": rid}
        if status is not None:
            status = _status(status)
            body["status"] = status
            if status in TERMINAL_STATUSES:
                body["end_time"] = (
                    keys.time_ms("end_time", end_time) if end_time is not None else now_ms()
                )
        if run_name is not None:
            body["run_name"] = run_name
        if len(body) == 1:
            return
        if info.get("lifecycle_stage", ACTIVE) == ACTIVE:
            self.rest.call("POST", "runs/update", body)
            return
        # The server changes only active runs; a script must still be able to end a run
        # deleted from view meanwhile: restored for the update, then deleted again.
        self.rest.call("POST", "runs/restore", {"run_id": rid})
        try:
            self.rest.call("POST", "runs/update", body)
        finally:
            self.rest.call("POST", "runs/delete", {"run_id": rid})

    def delete_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, "deleted")

    def restore_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, ACTIVE)

    def _set_run_stage(self, run_id: str, stage: str) -> None:
        self._writable()
        info = self._run_json(run_id)["info"]
        if info.get("lifecycle_stage") == stage:
            raise InvalidStateError(f"run {run_id} is already {stage}")
        endpoint = "runs/restore" if stage == ACTIVE else "runs/delete"
        self.rest.call("POST", endpoint, {"run_id": info.get("run_id", run_id)})

    def _active_run(self, run_id: str) -> dict[str, Any]:
        """The run's JSON; InvalidStateError when it is deleted (no logging to it)."""
        self._writable()
        run = self._run_json(run_id)
        if run["info"].get("lifecycle_stage", ACTIVE) != ACTIVE:
            raise InvalidStateError(f"run {run_id} is deleted; restore it before logging to it")
        return run

    def log_params(self, run_id: str, params: Mapping[str, object]) -> None:
        """Log params; re-logging a value is a no-op, changing one raises
        ParamConflictError before anything of the call is sent."""
        clean = {
            keys.validate_key(k, "param key"): keys.validate_string_value(
                v, keys.MAX_PARAM_VALUE_LENGTH, f"param {k!r} value"
            )
            for k, v in params.items()
        }
        if not clean:
            return
        run = self._active_run(run_id)
        rid = str(run["info"]["run_id"])
        existing = convert.pairs_from_json((run.get("data") or {}).get("params"), "params")
        for key, value in clean.items():
            if key in existing and existing[key] != value:
                raise ParamConflictError(rid, key, existing[key], value)
        new = {k: v for k, v in clean.items() if k not in existing}
        for group in chunks(new.items(), BATCH_PARAMS):
            try:
                self.rest.call(
                    "POST",
                    "runs/log-batch",
                    {"run_id": rid, "params": convert.pairs_to_json(dict(group))},
                )
            except InvalidValueError:
                self._raise_conflict(rid, dict(group))
                raise

    def _raise_conflict(self, run_id: str, params: Mapping[str, str]) -> None:
        """After the server refused params: ParamConflictError if one was logged meanwhile
        with another value."""
        data = self._run_json(run_id).get("data") or {}
        existing = convert.pairs_from_json(data.get("params"), "params")
        for key, value in params.items():
            if key in existing and existing[key] != value:
                raise ParamConflictError(run_id, key, existing[key], value) from None

    def set_tags(self, run_id: str, tags: Mapping[str, object]) -> None:
        clean = keys.clean_tags(tags, keys.MAX_TAG_VALUE_LENGTH)
        if not clean:
            return
        run = self._active_run(run_id)
        rid = str(run["info"]["run_id"])
        parent = clean.get(convert.PARENT_TAG)
        if parent:
            if parent == rid:
                raise InvalidValueError(f"run {rid} cannot be its own parent")
            self._run_json(parent)
        for group in chunks(clean.items(), BATCH_TAGS):
            self.rest.call(
                "POST",
                "runs/log-batch",
                {"run_id": rid, "tags": convert.pairs_to_json(dict(group))},
            )
        name = clean.get(convert.RUN_NAME_TAG)
        if name:
            self.rest.call("POST", "runs/update", {"run_id": rid, "run_name": name})

    def delete_tag(self, run_id: str, key: str) -> None:
        if key in _DERIVED_TAGS:
            raise InvalidValueError(
                f"{key} is the run's {_DERIVED_TAGS[key]}, not a stored tag: it cannot be "
                "deleted (set it to change it)"
            )
        run = self._active_run(run_id)
        tags = convert.pairs_from_json((run.get("data") or {}).get("tags"), "tags")
        rid = str(run["info"]["run_id"])
        if key not in tags:
            raise NotFoundError(f"run {rid} has no tag {key!r}")
        self.rest.call("POST", "runs/delete-tag", {"run_id": rid, "key": key})

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] | None = None) -> None:
        """Record datasets as inputs of a run (the server keeps a dataset once per
        experiment and (name, digest), an input once per run, as the SQLite store)."""
        inputs = keys.check_dataset_inputs(datasets)
        run = self._active_run(run_id)
        if not inputs:
            return
        seen: set[tuple[str, str]] = set()
        items = []
        for item in inputs:
            pair = (item.dataset.name, item.dataset.digest)
            if pair not in seen:
                seen.add(pair)
                items.append(convert.dataset_input_to_json(item))
        self.rest.call(
            "POST", "runs/log-inputs", {"run_id": str(run["info"]["run_id"]), "datasets": items}
        )

    # -- artifacts ----------------------------------------------------------------------

    def artifacts(self, run_id: str) -> ServerArtifactRepository:
        info = self._run_json(run_id)["info"]
        rid = str(info.get("run_id", run_id))
        uri = str(info.get("artifact_uri", ""))
        return ServerArtifactRepository(self.rest, uri, self._path / "artifacts" / rid)
