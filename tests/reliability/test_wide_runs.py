"""A run that logs a great many metric keys (per layer, per parameter group): every read
of a run's metrics is paged, and every screen shows the first keys with a count and a
search, in bounded memory. 50,000 keys here (200 times what any screen reads at once);
`bench/wide_run.py` does a million."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_dashboard import settle, sync
from textual.widgets import DataTable, Input, SelectionList, Static, TabbedContent

from mltop.store import ROW_METRICS, MltopClient, Store
from mltop.tui.app import MltopApp
from mltop.tui.cli import main
from mltop.tui.screens.run_detail import SHOWN_METRICS, ChooseMetrics, RunDetailScreen
from mltop.tui.widgets.metric_chart import MetricChart
from mltop.tui.widgets.runs_table import RunsTable

WIDE = 50_000
NOW = 1_800_000_000_000


def key(i: int) -> str:
    return f"layer{i:06d}/grad_norm"


@pytest.fixture(scope="module")
def wide(tmp_path_factory) -> tuple[Path, str, str]:
    """A store: a narrow run (loss, acc), then a run that logged WIDE keys at step 0 and
    key(0) again at steps 1-9."""
    path = tmp_path_factory.mktemp("wide") / "store"
    client = MltopClient(Store(path))
    narrow = client.create_run(run_name="narrow", log_system_info=False).info.run_id
    for step in range(5):
        client.log_metrics(narrow, {"loss": 1 / (step + 1), "acc": step / 5}, step=step)
    client.set_terminated(narrow)
    run_id = client.create_run(run_name="wide", log_system_info=False).info.run_id
    for start in range(0, WIDE, 10_000):
        client.log_metrics(run_id, {key(i): float(i) for i in range(start, start + 10_000)})
        client.flush()
    for step in range(1, 10):
        client.log_metric(run_id, key(0), -float(step), step=step)
    client.set_terminated(run_id)
    client.close()
    return path, run_id, narrow


def test_a_run_is_read_a_page_of_metrics_at_a_time(wide):
    path, run_id, narrow = wide
    with Store(path, create=False) as store:
        run = store.get_run(run_id, max_metrics=300)
        assert list(run.data.summaries) == [key(i) for i in range(300)]  # the first logged
        assert run.data.more_metrics == WIDE - 300
        assert run.data.summaries[key(0)].count == 10
        assert run.data.summaries[key(0)].value == -9.0
        small = store.get_run(narrow, max_metrics=300)
        assert sorted(small.data.summaries) == ["acc", "loss"] and small.data.more_metrics == 0
        found, total = store.search_run_metrics(run_id, "LAYER0499", limit=50)
        assert total == 100 and list(found) == [key(i) for i in range(49_900, 49_950)]
        assert found[key(49_901)].value == 49_901.0
        assert store.search_run_metrics(run_id, "no such key") == ({}, 0)
        # Text searched for is text: no LIKE wildcard, no SQL.
        assert store.search_run_metrics(run_id, "%")[1] == 0
        assert store.search_run_metrics(run_id, "' OR 1=1 --")[1] == 0
        rows = {r.info.run_name: r for r in store.search_run_rows()}
        assert len(rows["wide"].metrics) == ROW_METRICS and rows["wide"].metrics_cut
        assert list(rows["wide"].metrics)[:2] == [key(0), key(1)]
        assert rows["narrow"].metrics == {"loss": 0.2, "acc": 0.8}
        assert not rows["narrow"].metrics_cut
        # The whole run, when asked for (MLflow's get_run), is all of it.
        assert len(store.get_run(run_id).data.summaries) == WIDE


def test_memory_for_a_page_does_not_grow_with_the_run(wide):
    path, run_id, _narrow = wide
    with Store(path, create=False) as store:
        store.get_run(run_id, max_metrics=SHOWN_METRICS)  # connections, caches: warm
        tracemalloc.start()
        store.get_run(run_id, max_metrics=SHOWN_METRICS)
        list(store.search_run_rows())
        store.search_run_metrics(run_id, "grad", limit=SHOWN_METRICS)
        paged = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        store._data_cache.clear()
        store.get_run(run_id)
        whole = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert paged < 2_000_000 and whole > 10 * paged, (paged, whole)


def cli(path: Path, *args: str):
    result = CliRunner().invoke(main, ["--store", str(path), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_command_line_shows_the_first_metrics_a_count_and_finds_others(wide):
    path, run_id, _narrow = wide
    shown = cli(path, "runs", "show", run_id[:8])
    assert f"Metrics (1,000 of {WIDE:,})" in shown
    assert key(999) in shown and key(1000) not in shown
    assert f"({WIDE - 1000:,} more metrics not shown" in shown
    found = cli(path, "runs", "show", run_id[:8], "--metric", "layer04999")
    assert "Metrics matching 'layer04999'" in found
    assert key(49_999) in found and key(0) not in found
    none = cli(path, "runs", "show", run_id[:8], "--metric", "nothing like it")
    assert "No metric key contains 'nothing like it'" in none
    data = json.loads(cli(path, "runs", "show", run_id[:8], "--json", "--max-metrics", "10"))
    assert len(data["metrics"]) == 10 and data["more_metrics"] == WIDE - 10
    everything = json.loads(cli(path, "runs", "show", run_id[:8], "--json", "--max-metrics", "0"))
    assert len(everything["metrics"]) == WIDE and everything["more_metrics"] == 0
    # Every one, streamed: the same JSON as a whole document would be.
    narrow_id = wide[2]
    assert cli(path, "runs", "show", narrow_id, "--json", "--max-metrics", "0") == cli(
        path, "runs", "show", narrow_id, "--json"
    )
    late = json.loads(
        cli(path, "runs", "show", run_id, "--json", "--max-metrics", "0", "--metric", "R0499")
    )
    assert list(late["metrics"]) == [key(i) for i in range(49_900, 50_000)]
    # A table is laid out whole: 10,000 rows at most, then where the others are.
    table = cli(path, "runs", "show", run_id[:8], "--max-metrics", "0")
    assert f"Metrics (10,000 of {WIDE:,})" in table
    assert "a table shows 10,000 at most" in table and "--json --max-metrics 0" in table
    listed = cli(path, "runs", "list")
    assert f"run {run_id[:8]} logged over {ROW_METRICS} metrics" in listed
    assert "narrow" in listed


@sync
async def test_the_run_screen_lists_the_first_metrics_and_finds_the_others(wide):
    path, run_id, _narrow = wide
    app = MltopApp(path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(RunsTable)
        await settle(pilot, lambda: len(table.runs) == 2)
        await pilot.pause(0.1)
        table.table.move_cursor(row=[r.info.run_id for r in table.runs].index(run_id))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.run)
        screen = app.screen
        await settle(pilot, lambda: len(screen.query(MetricChart)) == 6)
        await pilot.press("3")
        metrics = screen.query_one("#metrics", DataTable)
        count = screen.query_one("#metric-count", Static)
        assert metrics.row_count == SHOWN_METRICS
        assert str(count.render()) == (
            f"{WIDE:,} metrics: the first {SHOWN_METRICS} logged are listed; / finds the others"
        )
        await pilot.press("slash")
        assert isinstance(app.focused, Input) and app.focused.id == "metric-search"
        await pilot.press(*"r049999", "enter")  # any case
        await settle(pilot, lambda: metrics.row_count == 1)
        assert str(metrics.get_row_at(0)[0]) == key(49_999)
        assert str(count.render()) == "1 metric key contains 'r049999'"
        # The one found can be charted: it is in the chooser.
        await pilot.press("m")
        await settle(pilot, lambda: isinstance(app.screen, ChooseMetrics))
        chooser = app.screen.query_one(SelectionList)
        chooser.deselect_all()
        chooser.select(key(49_999))
        await pilot.press("enter")
        await settle(pilot, lambda: [c.key for c in screen.query(MetricChart)] == [key(49_999)])
        # The tab keys go on working: the keyboard follows the tab shown, the search stays.
        tabs = screen.query_one(TabbedContent)
        for press, tab in (("1", "charts-tab"), ("2", "params-tab"), ("3", "metrics-tab")):
            await pilot.press(press)
            await settle(pilot, lambda tab=tab: tabs.active == tab)
            assert not isinstance(app.focused, Input)
        assert screen.query_one("#metric-search", Input).value == "r049999"
        await pilot.press("1")
        await settle(pilot, lambda: tabs.active == "charts-tab")
        await pilot.pause(0.2)
        assert tabs.active == "charts-tab"  # not pulled back to the metrics tab
        await pilot.press("3")
        # An empty search lists the first ones again.
        await pilot.press("slash", "ctrl+u", "enter")
        await settle(pilot, lambda: metrics.row_count == SHOWN_METRICS)
        assert app.is_running
