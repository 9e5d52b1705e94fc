"""`mltop import mlflow http://SERVER`: how fast a tracking server's history comes in.

Fills a server (a running one given by --url, else one started here on 127.0.0.1 with a
SQLite backend, as the tests do) with RUNS runs of POINTS points each, over REST
(runs/log-batch, 1000 points a call), then imports that experiment into a fresh mltop
store and prints points/s; then imports it again (nothing new: only the counts are read)
and prints the time. One run each (a fill of a server is slow: about 3,000-4,000 points/s
on a local SQLite-backed server); the figures are noisy on a shared machine.

    python bench/import_server.py [--url http://127.0.0.1:5000] [--runs 20] [--points 10000]

`server_import_rate(url, runs, points)` is what another benchmark calls.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def fill(url: str, runs: int, points: int) -> str:
    """A new experiment on the server with `runs` runs of `points` points of one metric
    (and a param); its name."""
    from mltop.store.server.rest import RestClient

    rest = RestClient(url)
    name = f"bench-import-{uuid.uuid4().hex[:8]}"
    try:
        exp = rest.call("POST", "experiments/create", {"name": name})["experiment_id"]
        for r in range(runs):
            info = rest.call("POST", "runs/create", {"experiment_id": exp, "run_name": f"r{r}",
                                                     "start_time": 1_700_000_000_000})  # fmt: skip
            run_id = info["run"]["info"]["run_id"]
            for start in range(0, points, 1000):
                metrics = [
                    {"key": "loss", "value": 1.0 / (s + 1), "timestamp": 1_700_000_000_000 + s,
                     "step": s}
                    for s in range(start, min(points, start + 1000))
                ]  # fmt: skip
                rest.call("POST", "runs/log-batch", {"run_id": run_id, "metrics": metrics})
            rest.call("POST", "runs/log-parameter", {"run_id": run_id, "key": "i",
                                                     "value": str(r)})  # fmt: skip
            rest.call("POST", "runs/update", {"run_id": run_id, "status": "FINISHED",
                                              "end_time": 1_700_000_100_000})  # fmt: skip
    finally:
        rest.close()
    return name


def server_import_rate(url: str, runs: int, points: int) -> dict[str, float]:
    """Fill the server, import the experiment, import it again: {"points/s": first
    import's rate, "again s": the second import's seconds}."""
    from mltop.store.imports import import_mlflow

    name = fill(url, runs, points)
    with tempfile.TemporaryDirectory(prefix="mltop-bench-import-") as folder:
        store = Path(folder) / "store"
        start = time.perf_counter()
        first = import_mlflow(url, store, experiments=[name])
        took = time.perf_counter() - start
        if first.added["metric points"] != runs * points:
            raise SystemExit(f"imported {first.added['metric points']} points, not {runs * points}")
        start = time.perf_counter()
        again = import_mlflow(url, store, experiments=[name])
        again_s = time.perf_counter() - start
        if again.total_added:
            raise SystemExit(f"the second import added {again.total_added}")
    return {"points/s": runs * points / took, "again s": again_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server (default: start one here)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--points", type=int, default=10_000)
    args = parser.parse_args()
    server = None
    url = args.url
    if url is None:
        sys.path.insert(0, str(ROOT / "tests"))
        from server_fixture import start_server, stop_server

        server = start_server(Path(tempfile.mkdtemp(prefix="mltop-bench-server-")))
        url = server.url
    try:
        found = server_import_rate(url, args.runs, args.points)
    finally:
        if server is not None:
            stop_server(server)
    total = args.runs * args.points
    print(f"import from a tracking server: {args.runs} runs x {args.points} points = {total:,} "
          f"points: {found['points/s']:,.0f} points/s (one run)")  # fmt: skip
    print(f"import again (nothing new): {found['again s']:.2f} s")


if __name__ == "__main__":
    main()
