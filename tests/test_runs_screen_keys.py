"""The runs screen's keys, sizes and counts, driven as a user drives them (Pilot)."""

from __future__ import annotations

import pytest
import test_dashboard
from test_dashboard import NOW, app_for, loaded, names, settle, sync
from textual.widgets import Input, OptionList, Static

from mltop.store import MltopClient, Store
from mltop.tui.app import MltopApp
from mltop.tui.screens.runs import is_plain_words, name_search
from mltop.tui.widgets.runs_table import RunsTable


@pytest.fixture
def many(store_path):
    """2,500 finished runs, newest first r0000, r0001, ..."""
    client = MltopClient(Store(store_path))
    exp = client.create_experiment("sweep")
    for i in range(2500):
        run = client.create_run(
            exp,
            run_name=f"r{i:04}",
            start_time=NOW - (i + 1) * 1000,
            status="FINISHED",
            log_system_info=False,
        )
        client.log_metric(run.info.run_id, "acc", i / 10_000)
    client.flush()
    client.close()
    return store_path


filled = test_dashboard.filled  # alpha, beta and a name of markup: the same three runs


def count_line(app) -> str:
    return str(app.screen.query_one("#count", Static).render())


@sync
async def test_paging_through_thousands_of_runs_reads_rows_as_they_come_on_screen(many):
    app = app_for(many)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 2500)
        runs_table = app.screen.query_one(RunsTable)
        grid = runs_table.table
        assert count_line(app) == "2,500 runs"
        listing = app.screen.query_one("#experiments", OptionList)
        await settle(pilot, lambda: listing.option_count == 3)
        prompts = [str(listing.get_option_at_index(i).prompt) for i in range(3)]
        assert prompts[0] == "All experiments (2,500)" and prompts[2] == "sweep (2,500)"
        assert len(runs_table.runs) < 300  # only the window around the screen is held
        await pilot.press("G")
        await settle(pilot, lambda: runs_table.current_run() is not None)
        assert grid.cursor_row == 2499
        assert runs_table.current_run().info.run_name == "r2499"
        assert all(runs_table.cells(i) is not None for i in grid.visible_range())
        assert runs_table.run_at(0) is None  # the top let go
        await pilot.press("ctrl+u")
        half = grid.visible_rows // 2
        assert grid.cursor_row == 2499 - half
        await pilot.press("g")
        await settle(pilot, lambda: runs_table.current_run() is not None)
        assert runs_table.current_run().info.run_name == "r0000"
        await pilot.press("ctrl+d", "ctrl+d")
        assert grid.cursor_row == 2 * half
        await pilot.press("pagedown")
        await settle(pilot, lambda: runs_table.current_run() is not None)
        assert runs_table.current_run().info.run_name == f"r{2 * half + grid.visible_rows:04}"
        await pilot.press("j", "j", "k")
        assert runs_table.current_run().info.run_name == f"r{2 * half + grid.visible_rows + 1:04}"


@sync
async def test_keys_typed_right_after_slash_all_reach_the_filter_bar(filled, store_path):
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        await pilot.press("slash", *"params.opt")
        assert app.screen.query_one("#filter", Input).value == "params.opt"


@sync
async def test_plain_words_find_runs_by_name_as_they_are_typed(filled, store_path):
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        await pilot.press("slash", "a", "p")  # fuzzy: a...p finds "alpha"
        await settle(pilot, lambda: app.screen.query_one(RunsTable).total == 1)
        assert names(app) == ["alpha"]
        assert count_line(app) == '1 run matches "ap" in the name'
        # escape with the applied text leaves the bar; the filter stays applied
        await pilot.press("escape")
        assert app.focused is app.screen.query_one(RunsTable).table
        assert app.screen.query_one("#filter", Input).value == "ap"


@sync
async def test_escape_puts_back_the_applied_filter_then_leaves(filled, store_path):
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        await pilot.press("slash")
        filter_input = app.screen.query_one("#filter", Input)
        filter_input.value = "params.opt = 'adam'"
        await pilot.press("enter")
        await settle(pilot, lambda: app.screen.query_one(RunsTable).total == 2)
        await pilot.press("slash")
        filter_input.value = "params.opt = 'sg"  # being edited, not applied
        await pilot.press("escape")
        assert filter_input.value == "params.opt = 'adam'"  # the bar shows what is applied
        assert app.focused is filter_input
        await pilot.press("escape")
        assert app.focused is app.screen.query_one(RunsTable).table


@sync
async def test_tab_and_shift_tab_move_between_the_areas(filled, store_path):
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        table = app.screen.query_one(RunsTable).table
        experiments = app.screen.query_one("#experiments", OptionList)
        filter_input = app.screen.query_one("#filter", Input)
        await pilot.press("tab")
        assert app.focused is experiments
        await pilot.press("tab")
        assert app.focused is filter_input
        await pilot.press("tab")
        assert app.focused is table
        await pilot.press("shift+tab")
        assert app.focused is filter_input


@sync
async def test_the_experiments_list_hides_below_100_columns_and_e_toggles_it(filled, store_path):
    app = app_for(store_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app, 3)
        experiments = app.screen.query_one("#experiments", OptionList)
        assert not experiments.display
        await pilot.press("e")
        assert experiments.display
        await pilot.press("tab")
        assert app.focused is experiments
        await pilot.press("e")
        assert not experiments.display
        assert app.focused is app.screen.query_one(RunsTable).table


@sync
async def test_y_copies_the_run_id(filled, store_path):
    app = app_for(store_path)
    copied: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        app.copy_to_clipboard = copied.append  # what Textual sends as OSC 52
        await loaded(pilot, app, 3)
        await pilot.press("y")
        assert copied == [filled["alpha"]]


@sync
async def test_an_empty_store_and_an_empty_result_say_what_to_do(store_path, filled):
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        await pilot.press("slash")
        app.screen.query_one("#filter", Input).value = "metrics.acc > 5"
        await pilot.press("enter")
        await settle(pilot, lambda: app.screen.query_one(RunsTable).total == 0)
        empty = str(app.screen.query_one("#empty", Static).render())
        assert "No run matches 'metrics.acc > 5'" in empty
        assert not app.screen.query_one(RunsTable).display


@sync
async def test_an_empty_store_shows_how_to_log_a_run(tmp_path):
    Store(tmp_path / "empty").close()
    app = app_for(tmp_path / "empty")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: "shown" in app.screen.query_one("#empty").classes)
        text = str(app.screen.query_one("#empty", Static).render())
        assert "No runs yet" in text and "mlflow.start_run()" in text
        assert f"mlflow.set_tracking_uri({str(tmp_path / 'empty')!r})" in text


@sync
async def test_sidebar_counts_leave_out_deleted_experiments_and_lost_runs(store_path):
    client = MltopClient(Store(store_path))
    kept = client.create_experiment("kept")
    gone = client.create_experiment("gone")
    client.create_run(kept, run_name="a", status="FINISHED", log_system_info=False)
    for name in ("b", "c"):
        client.create_run(gone, run_name=name, status="FINISHED", log_system_info=False)
    client.delete_experiment(gone)
    # A run left RUNNING by a process that died long ago: shown LOST, not running.
    client.store.create_run(kept, "stale", start_time=NOW - 10**9, status="RUNNING")
    conn = client.store.thread_connection()
    conn.execute("UPDATE runs SET heartbeat_time = 1 WHERE name = 'stale'")
    client.close()
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = app.screen.query_one("#experiments", OptionList)
        await settle(pilot, lambda: listing.option_count == 3)
        labels = [str(listing.get_option_at_index(i).prompt) for i in range(3)]
        assert labels[0] == "All experiments (2)"
        assert "kept (2)" in labels


def test_plain_words_are_told_from_filters():
    assert is_plain_words("resnet")
    assert is_plain_words("resnet lr0.1")
    assert not is_plain_words("status = 'FAILED'")
    assert not is_plain_words("metrics.acc > 0.5")
    assert not is_plain_words("")
    assert name_search("rn 01") == "attributes.run_name ILIKE '%r%n%0%1%'"


@sync
async def test_under_a_runs_detail_the_runs_screen_reads_nothing_and_catches_up_after(
    filled, store_path
):
    from mltop.tui.app import StoreChanged
    from mltop.tui.screens.run_detail import RunDetailScreen
    from mltop.tui.screens.runs import RunsPatched

    app = MltopApp(store_path, clock=lambda: NOW)  # following the store, with file events
    handled: list = []
    client = MltopClient(Store(store_path))
    async with app.run_test(size=(120, 40), message_hook=handled.append) as pilot:
        await loaded(pilot, app, 3)
        runs_table = app.screen.query_one(RunsTable)
        acc = [c.key for c in runs_table.columns].index("acc")
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        seen = len(handled)
        client.log_metric(filled["beta"], "acc", 0.42, step=5, synchronous=True)
        await settle(pilot, lambda: any(isinstance(m, StoreChanged) for m in handled[seen:]))
        await pilot.pause(0.2)
        assert not [m for m in handled[seen:] if isinstance(m, RunsPatched)]
        await pilot.press("escape")
        await settle(pilot, lambda: runs_table.table.get_row_at(1)[acc] == "0.42")
    client.close()


@sync
async def test_a_move_made_while_the_order_is_read_is_kept(filled, store_path, monkeypatch):
    import threading

    go = threading.Event()
    read_order = Store.run_order

    def held_back(self, *args, **kwargs):
        go.wait(10)  # until the user has moved
        return read_order(self, *args, **kwargs)

    monkeypatch.setattr(Store, "run_order", held_back)
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        runs_table = app.screen.query_one(RunsTable)
        await settle(pilot, lambda: runs_table.total == 3 and runs_table.order is None)
        await pilot.press("j")
        assert runs_table.current_run().info.run_name == "beta"
        go.set()
        await settle(pilot, lambda: runs_table.order is not None)
        assert runs_table.current_run().info.run_name == "beta"


@sync
async def test_keys_sent_in_one_burst_with_slash_all_reach_the_filter_bar(filled, store_path):
    from textual import events

    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        for key, character in [("slash", "/"), ("b", "b"), ("e", "e"), ("t", "t"), ("a", "a")]:
            app.post_message(events.Key(key, character))  # queued at once, as a paste is
        box = app.screen.query_one("#filter", Input)
        await settle(pilot, lambda: box.value == "beta")
        assert app.screen.query_one("#experiments", OptionList).display  # `e` only typed
        await pilot.press("q")  # typed on after them (not replacing them, nor quitting)
        assert box.value == "betaq" and app.is_running


@sync
async def test_emptying_a_name_search_shows_every_run_again(filled, store_path):
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        await pilot.press("slash", "b", "t")
        runs_table = app.screen.query_one(RunsTable)
        await settle(pilot, lambda: runs_table.total == 1)
        await pilot.press("backspace", "backspace")
        await settle(pilot, lambda: runs_table.total == 3)
        assert count_line(app) == "3 runs"


@sync
async def test_a_new_sort_shows_its_first_runs_and_g_at_the_end_reads_only_a_window(many):
    app = app_for(many)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 2500)
        runs_table = app.screen.query_one(RunsTable)
        grid = runs_table.table
        await pilot.press("pagedown", "pagedown")
        runs_table.table.move_cursor(column=[c.key for c in runs_table.columns].index("acc"))
        await pilot.press("S")  # highest accuracy first: r2499
        await settle(pilot, lambda: runs_table.order is not None and grid.cursor_row == 0)
        assert runs_table.current_run().info.run_name == "r2499"
        assert grid.scroll_offset.y == 0
        await pilot.press("G")
        await settle(pilot, lambda: runs_table.current_run() is not None)
        assert runs_table.current_run().info.run_name == "r0000"
        assert len(runs_table.runs) <= 5 * grid.visible_rows  # the end and a margin only


@sync
async def test_g_pressed_while_the_order_is_read_stays_at_the_end(many, monkeypatch):
    import threading

    go = threading.Event()
    read_order = Store.run_order

    def held_back(self, *args, **kwargs):
        go.wait(10)  # until the user has pressed G
        return read_order(self, *args, **kwargs)

    monkeypatch.setattr(Store, "run_order", held_back)
    app = app_for(many)
    async with app.run_test(size=(120, 40)) as pilot:
        runs_table = app.screen.query_one(RunsTable)
        await settle(pilot, lambda: runs_table.total == 2500 and runs_table.order is None)
        await pilot.press("G")
        go.set()
        await settle(pilot, lambda: runs_table.current_run() is not None)
        assert runs_table.table.cursor_row == 2499
        assert runs_table.current_run().info.run_name == "r2499"


@sync
async def test_g_pressed_while_a_new_sort_is_read_goes_to_its_end(many, monkeypatch):
    import threading

    go = threading.Event()
    count_runs = Store.count_runs
    app = app_for(many)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 2500)
        runs_table = app.screen.query_one(RunsTable)
        runs_table.table.move_cursor(column=[c.key for c in runs_table.columns].index("acc"))

        def held_back(self, *args, **kwargs):
            go.wait(10)  # until the user has pressed G
            return count_runs(self, *args, **kwargs)

        monkeypatch.setattr(Store, "count_runs", held_back)
        await pilot.press("S", "G")  # highest accuracy first, then straight to its end
        go.set()
        await settle(pilot, lambda: runs_table.order is not None)
        await settle(pilot, lambda: runs_table.current_run() is not None)
        assert runs_table.current_run().info.run_name == "r0000"  # the lowest accuracy
