"""One behaviour, asserted on both backends: the contract tests' store fixture.

`backend` is parametrized: each test runs once on a fresh SQLite `Store` (in tmp_path) and
once on a `ServerStore` over the session's real `mlflow server` (`server_fixture.py`).
The server is shared by every test of the session, so on it "fresh" means: name what you
make with `backend.name(...)` (a prefix unique to the test) and look only at that: never
at every experiment, never at counts over the whole server.

Use it in a test file with
`from contract_stores import Backend, backend_fixture  # noqa: F401` (the fixture is
named `backend`); a test takes `backend: Backend` and uses `backend.store` (typed as the
Protocols: `TrackingStore`).
`backend.log_points` writes metric points as each backend takes them from outside the
logging API (the SQLite store's `write_points`; the server's REST `runs/log-batch`): the
buffered logging path is tested apart (test_contract_logging.py).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from mltop.store import Metric, Store, TrackingStore
from mltop.store.server import convert
from mltop.store.server.rest import RestClient, chunks
from mltop.store.server.tracking import ServerStore

SQLITE, SERVER = "sqlite", "server"
BACKENDS = (SQLITE, SERVER)
LOG_BATCH_METRICS = 1000  # MLflow's MAX_METRICS_PER_BATCH


@dataclass
class Backend:
    kind: str  # SQLITE or SERVER
    store: TrackingStore
    prefix: str  # unique to the test: begins every name it makes
    raw: Any  # the backend's own object: Store, or ServerStore
    rest: RestClient | None = None  # the server's REST client (None on SQLite)

    @property
    def is_server(self) -> bool:
        return self.kind == SERVER

    def name(self, label: str = "exp") -> str:
        """A name unique to this test (experiments and models on a shared server)."""
        return f"{self.prefix}{label}"

    def experiment(self, label: str = "exp", tags: dict[str, object] | None = None) -> str:
        return self.store.create_experiment(self.name(label), tags)

    def logged_model(
        self,
        experiment_id: str,
        name: str,
        source_run_id: str | None = None,
        *,
        tags: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        model_type: str | None = None,
    ) -> str:
        """A PENDING logged model (MLflow 3's), made as each backend makes one: its id."""
        if self.rest is not None:
            body: dict[str, Any] = {
                "experiment_id": experiment_id,
                "name": name,
                "tags": convert.pairs_to_json(tags),
                "params": convert.pairs_to_json(params),
            }
            if source_run_id is not None:
                body["source_run_id"] = source_run_id
            if model_type is not None:
                body["model_type"] = model_type
            answer = self.rest.call("POST", "logged-models", body)
            return str(answer["model"]["info"]["model_id"])
        model = cast(Store, self.raw).create_logged_model(
            experiment_id, name, source_run_id, tags, params, model_type
        )
        return model.model_id

    def log_points(self, run_id: str, points: Sequence[Metric]) -> None:
        """Write metric points (NaN and infinities included) as the backend takes them."""
        if self.rest is not None:
            for group in chunks(points, LOG_BATCH_METRICS):
                self.rest.call(
                    "POST",
                    "runs/log-batch",
                    {"run_id": run_id, "metrics": [convert.metric_to_json(m) for m in group]},
                )
            return
        sqlite = cast(Store, self.raw)
        row = sqlite.run_row_id(run_id)
        rows = [
            (
                row,
                sqlite.metric_key_id(m.key),
                m.step,
                m.timestamp,
                None if math.isnan(m.value) else m.value,
            )
            for m in points
        ]
        for group in chunks(rows, 50_000):
            sqlite.write_points(group)


@pytest.fixture(params=BACKENDS, name="backend")
def backend_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    prefix = f"t{uuid.uuid4().hex[:12]}-"
    if request.param == SQLITE:
        sqlite = Store(tmp_path / "store")
        try:
            yield Backend(SQLITE, cast(TrackingStore, sqlite), prefix, sqlite)
        finally:
            sqlite.close()
        return
    server = request.getfixturevalue("mlflow_server")
    remote = ServerStore(server.url, cache=tmp_path / "server-cache")
    try:
        yield Backend(SERVER, cast(TrackingStore, remote), prefix, remote, remote.rest)
    finally:
        remote.close()
