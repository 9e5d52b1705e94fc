"""The compare screen, issue 14: a 250-character metric key at 80 columns (cut in the
middle, whole under the table on its row, the values still on screen); the footer offers
only the keys that act on the tab shown; snapshot at 80×24."""

from __future__ import annotations

import pytest
from test_dashboard import NOW, held, settle, sync
from test_snapshots import fixed_store, make_app, wait_loaded  # noqa: F401
from textual.widgets import DataTable, Static

from mltop.store import MltopClient, Store
from mltop.tui.app import MltopApp
from mltop.tui.screens.compare import CompareScreen
from mltop.tui.widgets.runs_table import RunsTable

LONG = "m" * 240 + "_top1"  # 245 characters (MLflow allows 250)
OTHER = "m" * 240 + "_top5"  # differs only at its end


def add_long_keys(path) -> None:
    """Two metrics with long keys, on the first two runs of the store."""
    client = MltopClient(Store(path))
    experiment = client.get_experiment_by_name("cifar10")
    runs = client.search_runs([experiment.experiment_id], order_by=["start_time DESC"])[:2]
    assert [run.info.run_name for run in runs] == ["resnet-lr0.01", "resnet-lr0.1"]
    for i, run in enumerate(runs):
        client.log_metrics(run.info.run_id, {LONG: 0.5 + i, OTHER: 1234.5}, timestamp=NOW)
    client.close()


async def open_compare(pilot, app) -> CompareScreen:
    await settle(pilot, lambda: len(app.screen.query_one(RunsTable).runs) >= 2)
    await pilot.pause(0.05)
    await pilot.press("space", "j", "space", "c")
    await settle(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.shown_rows)
    await pilot.pause(0.05)
    return app.screen


@pytest.fixture
def long_keys(fixed_store):  # noqa: F811
    add_long_keys(fixed_store)
    return fixed_store


@sync
async def test_a_long_metric_key_is_cut_and_shown_whole_on_its_row(long_keys):
    app = MltopApp(long_keys, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compare(pilot, app)
        table = screen.query_one(DataTable)
        label = table.columns[next(iter(table.columns))]
        assert label.width <= 80 // 3
        labels = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        ours = [text for text in labels if text.startswith("metrics.m")]
        assert len(ours) == 2 and ours[0] != ours[1]  # told apart by their ends
        assert ours[0].endswith("_top1") and "…" in ours[0]
        # The values are on screen, right of the names.
        row = labels.index(ours[0])
        values = [str(cell) for cell in table.get_row_at(row)[1:]]
        assert "0.5" in values or "1.5" in values
        assert label.get_render_width(table) + 2 < table.size.width
        key_line = screen.query_one("#compare-key", Static)
        assert not key_line.display  # the cursor is on a short name
        table.move_cursor(row=row)
        await settle(pilot, lambda: key_line.display)
        assert str(key_line.render()) == f"metrics.{LONG}"
        assert key_line.region.bottom <= 24 and key_line.region.right <= 80
        table.move_cursor(row=0)
        await settle(pilot, lambda: not key_line.display)


@sync
async def test_the_footer_offers_only_the_keys_of_the_tab_shown(long_keys):
    app = MltopApp(long_keys, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_compare(pilot, app)

        def footer() -> list[str]:
            return [k.key for k in screen.query("FooterKey").results() if k.display]

        await settle(pilot, lambda: "d" in footer())
        assert footer()[:2] == ["question_mark", "q"]
        assert "2" in footer() and "1" not in footer() and "x" not in footer()
        await pilot.press("2")
        await settle(pilot, lambda: "x" in footer())
        assert "1" in footer() and "2" not in footer() and "d" not in footer()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_compare_long_keys(snap_compare, long_keys, size):
    async def run_before(pilot) -> None:
        await wait_loaded(pilot)
        screen = await open_compare(pilot, pilot.app)
        table = screen.query_one(DataTable)
        labels = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        table.move_cursor(row=next(i for i, t in enumerate(labels) if t.startswith("metrics.m")))
        await pilot.pause(0.2)

    assert snap_compare(make_app(long_keys), terminal_size=size, run_before=run_before)


@sync
async def test_the_charts_say_they_are_being_read_then_show_or_say_why_none(long_keys, monkeypatch):
    """A long history takes a while to read: the charts tab says so meanwhile (not a blank
    pane), and the note goes when the charts are drawn."""
    from mltop.tui.screens import compare
    from mltop.tui.screens.compare import CompareChart

    release = held(monkeypatch, compare, "chart_data")
    app = MltopApp(long_keys, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_compare(pilot, app)
        await pilot.press("2")
        note = screen.query_one("#charts-note", Static)
        await settle(pilot, lambda: "reading" in str(note.render()))
        assert str(note.render()) == "reading the metric histories of 2 runs…"
        assert note.display and note.region.height == 1
        assert not list(screen.query(CompareChart))
        release.set()
        await settle(pilot, lambda: len(screen.query(CompareChart)) > 0)
        await settle(pilot, lambda: not note.display)


@sync
async def test_runs_with_no_metrics_say_there_is_nothing_to_chart(store_path):
    client = MltopClient(Store(store_path))
    for name in ("a", "b"):
        run = client.create_run(run_name=name, status="FINISHED", log_system_info=False)
        client.log_param(run.info.run_id, "lr", "0.1")
    client.close()
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_compare(pilot, app)
        await pilot.press("2")
        note = screen.query_one("#charts-note", Static)
        await settle(pilot, lambda: "nothing to chart" in str(note.render()))
        assert note.display and str(note.render()).startswith("no metrics logged by these runs")
