"""The example the README points at logs what it says, into the store it finds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mltop.store import Store

EXAMPLE = Path(__file__).parent.parent / "examples" / "quickstart.py"


def test_the_quickstart_example_logs_three_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("MLTOP_STORE", raising=False)
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    store = Store(tmp_path / ".mltop", create=False)
    runs = store.search_runs(experiment_names=["quickstart"])
    assert sorted(r.info.run_name for r in runs) == [
        "linear-lr-0.01",
        "linear-lr-0.1",
        "linear-lr-0.3",
    ]
    assert all(r.info.status == "FINISHED" and r.data.summaries["mse"].count == 30 for r in runs)
    assert [f.path for f in store.artifacts(runs[0].info.run_id).walk()] == [
        "model",
        "model/weights.json",
    ]
    store.close()
