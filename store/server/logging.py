"""The logging API over a tracking server: metric points buffered into `runs/log-batch`.

`ServerWriter` is the buffered writer (`mltop.store.buffered`) with a tracking server at its
end: `log_metric` appends a point to the same in-memory queue, and the writer's thread
sends what gathered every 0.1 s, as `runs/log-batch` calls of at most 1000 points of one
run each (MLflow's limit), in the order they were logged. Everything the SQLite writer
promises holds:

- `flush()` returns once the server has answered every call: a read from any client sees
  every point logged before it. Reads through a client of this process sync first.
- Retries: `RestClient` retries 429 and 5xx with exponential backoff (honouring
  `Retry-After`). When the retries are exhausted (the server stays down, refuses the
  credentials), the points are kept, in order (at most `MAX_HELD`), and the error is raised
  at the next `log_metric` or at `flush`; the next send tries again. Points the server
  refuses for good (a 4xx: the run was deleted meanwhile, a value it rejects) are let go,
  and the error raised says how many and why: nothing is dropped silently.
- A batch sent again after a failure that the server had in fact stored (a 5xx from a proxy
  after the commit) is not doubled: MLflow's SQL store keys a point by (run, key,
  timestamp, step, value) and ignores a point it has.
- Process endings: as the SQLite writer (the same exit hook, SIGTERM and SIGHUP handling),
  the queue is sent at exit. In a forked child (a data loader's worker, which may leave by
  `os._exit`), each point is sent as it is logged, as the SQLite writer commits it, on an
  HTTP session of the child's own.
- Heartbeats: a tracking server keeps none. `watch` does nothing: a run whose process died
  stays RUNNING on the server (the dashboard shows what the server says; it cannot tell a
  crashed run from a running one).
- The training loop does not wait for the server: the thread sends while the loop runs.
  Only when `HOLD_SIZE` points are waiting (a loop logging faster than the server takes
  them) does `log_metric` send them itself, which bounds memory; not while the server is
  down (the last send failed): then the loop goes on, and the points are held, as many as
  `MAX_HELD` (beyond, the newest are let go and the error raised says how many).
- Exiting (a normal exit, Ctrl-C, SIGTERM, SIGHUP) while the server is down says how many
  points it is sending, retries for at most the exit budget (`writer.EXIT_BUDGET_S`, 30 s),
  then says exactly how many were not sent, and the process ends as it would have.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from mltop.store import keys
from mltop.store.buffered import (
    DEFAULT_INTERVAL_S,
    BufferedWriter,
    LossSaidError,
    Point,
    exit_deadline,
    points_text,
)
from mltop.store.entities import ACTIVE
from mltop.store.errors import InvalidStateError, MetricWriteError, MltopError, StoreError
from mltop.store.server.convert import value_to_json
from mltop.store.server.rest import RestClient, ServerError

# MLflow's limit on the metrics of one runs/log-batch call (MAX_METRICS_PER_BATCH).
MAX_METRICS_PER_CALL = 1000
# Points waiting when log_metric wakes the thread at once (instead of at its next tick).
KICK_SIZE = 5_000
# Points waiting when log_metric sends them itself (back-pressure on a loop that logs faster
# than the server takes points).
HOLD_SIZE = 200_000


class ServerWriter(BufferedWriter[None]):
    """Metric points of runs on one tracking server, buffered and sent by runs/log-batch."""

    write_size = MAX_METRICS_PER_CALL

    def __init__(
        self,
        rest: RestClient,
        *,
        interval: float = DEFAULT_INTERVAL_S,
        batch_size: int = KICK_SIZE,
        hold_size: int = HOLD_SIZE,
    ) -> None:
        self.rest = rest
        self.hold_size = hold_size
        self.down = False  # the last send failed and its points are held: no back-pressure
        self._pid = os.getpid()
        self._announced = False  # the line saying what is sent at exit was printed
        self._lost_said: int | None = None  # the points said at exit not to have been sent
        # The client's retries bounded by the exit deadline, and their bound before: a stop
        # the program caught lifts the deadline, and the next write puts the bound back.
        self._bounded = False
        self._retry_for_before: float | None = None
        # The queue holds small integers for runs and keys (as the SQLite writer's does);
        # these lists turn them back into a run id and a key when sending.
        self._run_ids: list[str] = []
        self._run_rows: dict[str, int] = {}
        self._keys: list[str] = []
        self._key_ids: dict[str, int] = {}
        super().__init__(interval=interval, batch_size=batch_size)

    def _reset(self) -> None:
        super()._reset()
        if getattr(self, "_pid", os.getpid()) != os.getpid():
            # A forked child: the parent's HTTP connections are the parent's; share none.
            self.rest = fresh_client(self.rest)
            self._pid = os.getpid()

    def flush(self) -> None:
        """As `BufferedWriter.flush`; at exit, bounded: a line on stderr says how many
        points are being sent where, the retries (of this and every call of the store's
        client) stop at the exit deadline, and the error then says how many were not sent."""
        deadline = exit_deadline()
        if deadline is None:
            self._unbound()
            super().flush()
            return
        if not self._bounded:
            self._bounded, self._retry_for_before = True, self.rest.retry_for
        if not self._announced and self.held():
            self._announced = True
            left = max(0.0, deadline - time.monotonic())
            print(
                f"mltop: sending {points_text(self.held())} buffered to {self.rest.url} "
                f"(retrying for at most {left:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
        self.rest.retry_for = max(0.0, deadline - time.monotonic())
        # The writer's thread may be waiting between retries with a batch: wait for it
        # only until the deadline (its next retry sees the budget spent and gives up).
        if not self._commit_lock.acquire(timeout=self.rest.retry_for + 1.0):
            raise self._lost("it was still being retried when the time given at exit ran out")
        try:
            self.rest.retry_for = max(0.0, deadline - time.monotonic())  # what is left now
            if self.queue:
                self._drain(None, raise_errors=True)
            self.raise_error()
        except MetricWriteError as exc:
            raise self._lost(str(exc).split(": ", 1)[-1]) from None
        finally:
            self._commit_lock.release()

    def _unbound(self) -> None:
        """Not exiting (any more: a stop was caught, and the program goes on): the client
        retries as before the exit bound, and what is lost is said again."""
        if self._bounded:
            self._bounded = False
            self.rest.retry_for = self._retry_for_before
        self._announced = False
        self._lost_said = None

    def _lost(self, reason: str) -> MetricWriteError:
        """The error saying how many points were not sent at exit, and why; a LossSaidError
        when those are the points it said a moment before (the exit hooks try in turn)."""
        held = self.held()
        verb = "was" if held == 1 else "were"
        text = f"{points_text(held)} {verb} not sent to {self.where()}: {reason}"
        repeated = self._lost_said == held
        self._lost_said = held
        return LossSaidError(text) if repeated else MetricWriteError(text)

    # -- ids for the queue -------------------------------------------------------------

    def run_row(self, run_id: str) -> int:
        """The run's integer in the queue; NotFoundError for a run the server does not
        have, InvalidStateError for a deleted one (asked afresh each time)."""
        answer = self.rest.call("GET", "runs/get", {"run_id": run_id})
        info = (answer.get("run") or {}).get("info") or {}
        if info.get("lifecycle_stage", ACTIVE) != ACTIVE:
            raise InvalidStateError(f"run {run_id} is deleted; restore it before logging to it")
        run_id = str(info.get("run_id") or run_id)
        row = self._run_rows.get(run_id)
        if row is None:
            row = self._run_rows[run_id] = len(self._run_ids)
            self._run_ids.append(run_id)
        return row

    def key_id(self, key: str) -> int:
        """A (valid) metric key's integer in the queue."""
        kid = self._key_ids.get(key)
        if kid is None:
            keys.validate_key(key, "metric key")
            kid = self._key_ids[key] = len(self._keys)
            self._keys.append(key)
        return kid

    # -- the producer side ---------------------------------------------------------------

    def kick(self) -> None:
        """Many points are waiting: wake the thread; past `hold_size`, send them here
        (unless the server is known to be down: the training loop is not stalled by the
        retries, and the points are held, up to `max_held`)."""
        if len(self.queue) < self.hold_size or self.down:
            self._wake.set()
        else:
            super().kick()

    def watch(self, run_row: int, interval_ms: int) -> None:
        """A tracking server keeps no heartbeats: nothing to refresh."""

    # -- sending -------------------------------------------------------------------------

    def where(self) -> str:
        return f"the tracking server {self.rest.url}"

    def _caller_handle(self) -> None:
        return None

    def _open(self) -> None:
        return None

    def _write(self, rows: list[Point], handle: None) -> None:
        """One runs/log-batch call per run among `rows` (at most 1000 points), in order."""
        if self._bounded and exit_deadline() is None:
            self._unbound()
        names = self._keys
        by_run: dict[int, list[dict[str, Any]]] = {}
        for row, kid, step, timestamp, value in rows:
            metrics = by_run.get(row)
            if metrics is None:
                metrics = by_run[row] = []
            metrics.append(
                {
                    "key": names[kid],
                    "value": "NaN" if value is None else _json_number(value),
                    "timestamp": timestamp,
                    "step": step,
                }
            )
        for row, metrics in by_run.items():
            self.rest.call(
                "POST", "runs/log-batch", {"run_id": self._run_ids[row], "metrics": metrics}
            )
        self.down = False

    def _keeps(self, exc: Exception) -> bool | None:
        if isinstance(exc, StoreError):  # unreachable, retries exhausted, credentials refused
            self.down = True
            return True
        if isinstance(exc, ServerError) and (
            exc.status is None or exc.status >= 500 or exc.status == 429
        ):
            self.down = True
            return True
        # Refused for good (a deleted run, a value the server rejects): let go, and said.
        return False if isinstance(exc, MltopError) else None


def _json_number(value: float) -> float | str:
    # Finite numbers go as they are; the infinities as MLflow's JSON writes them.
    if value - value == 0.0:
        return value
    return value_to_json(value)


def fresh_client(rest: RestClient) -> RestClient:
    """A client of the same server with the same settings and no connection yet."""
    return RestClient(
        rest.url,
        credentials=rest.credentials,
        timeout=rest.timeout,
        max_retries=rest.max_retries,
        backoff_factor=rest.backoff_factor,
    )
