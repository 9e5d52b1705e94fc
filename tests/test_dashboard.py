"""The dashboard's runs screen, driven with Textual's Pilot."""

from __future__ import annotations

import asyncio
import functools

import pytest
from textual import events

from mltop.store import MltopClient, Store
from mltop.tui.app import MltopApp
from mltop.tui.screens.runs import RunsLoaded, RunsPatched
from mltop.tui.widgets.runs_table import RunsTable

NOW = 1_800_000_000_000


@pytest.fixture
def filled(store_path):
    client = MltopClient(Store(store_path))
    exp = client.create_experiment("vision")
    ids = {}
    for i, (name, acc, opt) in enumerate(
        [("alpha", 0.9, "adam"), ("beta", 0.7, "sgd"), ("[bold red]x[/] \x1b[2J", 0.8, "adam")]
    ):
        run = client.create_run(
            exp,
            run_name=name,
            start_time=NOW - (i + 1) * 60_000,
            status="FINISHED",
            log_system_info=False,
        )
        client.log_params(run.info.run_id, {"opt": opt})
        client.log_metric(run.info.run_id, "acc", acc)
        ids[name] = run.info.run_id
    client.flush()
    client.close()
    return ids


@pytest.fixture
def rebuilds(monkeypatch) -> list[int]:
    """Each time a runs table took a new shape (a view opened, or its order was read again
    because rows came, went or moved), rather than having rows redrawn in place: the number
    of rows it then had."""
    shapes: list[int] = []
    for method in ("open_view", "set_order"):
        original = getattr(RunsTable, method)

        def counted(self, *args, _original=original, **kwargs):
            result = _original(self, *args, **kwargs)
            shapes.append(self.total)
            return result

        monkeypatch.setattr(RunsTable, method, counted)
    return shapes


def sync(coroutine_function):
    """Run an async test with asyncio (no plugin needed)."""

    @functools.wraps(coroutine_function)
    def run(*args, **kwargs):
        return asyncio.run(coroutine_function(*args, **kwargs))

    return run


def held(monkeypatch, owner, name: str):
    """Make `owner.name` (a function, or a method of a class) wait until the Event returned
    is set (10 s at most): a read that takes long, on purpose, to see what shows meanwhile."""
    import threading

    release = threading.Event()
    function = getattr(owner, name)

    def waiting(*args, **kwargs):
        release.wait(10)
        return function(*args, **kwargs)

    monkeypatch.setattr(owner, name, waiting)
    return release


def app_for(store_path, **kwargs) -> MltopApp:
    return MltopApp(store_path, follow=False, clock=lambda: NOW, **kwargs)


async def settle(pilot, condition, tries: int = 1000) -> None:
    for _ in range(tries):
        await pilot.pause(0.02)
        if condition():
            return
    raise AssertionError("the screen never got there")


async def type_filter(pilot, app, text: str) -> None:
    await pilot.press("slash")
    app.screen.query_one("#filter").value = text
    await pilot.press("enter")


def shown(app, count: int) -> bool:
    """The table for `count` runs is mounted and has the focus, as a user would see it."""
    runs_table = app.screen.query_one(RunsTable)
    table = runs_table.table
    return (
        runs_table.total == count
        and runs_table.order is not None
        and table.is_mounted
        and table.row_count == count
        and app.focused is table
    )


async def loaded(pilot, app, count: int) -> None:
    await settle(pilot, lambda: shown(app, count))
    await pilot.pause(0.05)  # the cursor is put back after the first refresh


async def sort_by_acc(pilot, app) -> tuple[RunsTable, int]:
    """Put the cursor on the acc column and press `s`: lowest accuracy (beta) first."""
    runs_table = app.screen.query_one(RunsTable)
    acc_column = column_of(runs_table, "acc")
    runs_table.table.move_cursor(column=acc_column)
    await pilot.press("s")
    await settle(pilot, lambda: names(app)[0] == "beta")
    return runs_table, acc_column


def column_of(runs_table: RunsTable, key: str) -> int:
    return [c.key for c in runs_table.columns].index(key)


def names(app) -> list[str | None]:
    """The names of the view's runs by position (None: not read, far from the screen)."""
    table = app.screen.query_one(RunsTable)
    return [None if (r := table.run_at(i)) is None else r.info.run_name for i in range(table.total)]


@sync
async def test_runs_appear_newest_first_and_literally(filled, store_path):
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        assert names(app) == ["alpha", "beta", "[bold red]x[/] \x1b[2J"]
        table = app.screen.query_one(RunsTable).table
        row = table.get_row_at(2)
        assert "[bold red]x[/] \\x1b[2J" in row  # shown literally, the escape made visible


@sync
async def test_filter_applies_and_a_bad_one_keeps_the_results(filled, store_path):
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        await type_filter(pilot, app, "params.opt = 'adam'")
        await settle(pilot, lambda: len(names(app)) == 2)
        assert set(names(app)) == {"alpha", "[bold red]x[/] \x1b[2J"}
        assert str(app.screen.query_one("#count").render()) == "2 runs match the filter"
        await type_filter(pilot, app, "metrics.acc > high")
        error = app.screen.query_one("#filter-error")
        await settle(pilot, lambda: "shown" in error.classes)
        assert "invalid filter at character 15" in str(error.render())
        assert len(names(app)) == 2  # the previous results stay, and the error says so
        assert "not applied: the runs below are still those of the filter " in str(
            error.render()
        ).replace("\n", " ")
        assert "params.opt = 'adam'" in str(error.render()).replace("\n", " ")
        await pilot.press("up")  # history: the filters typed, newest first
        assert app.screen.query_one("#filter").value == "metrics.acc > high"
        await pilot.press("up")
        assert app.screen.query_one("#filter").value == "params.opt = 'adam'"


@sync
async def test_a_filter_is_checked_without_a_read_and_read_once_applied(
    filled, store_path, monkeypatch
):
    from mltop.store import StoreBusyError

    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        reads: list[str] = []
        search = Store.search_run_rows

        def counting(self, *args, **kwargs):
            reads.append(kwargs.get("filter_string", args[1] if len(args) > 1 else ""))
            return search(self, *args, **kwargs)

        monkeypatch.setattr(Store, "search_run_rows", counting)
        filter_input = app.screen.query_one("#filter")
        error = app.screen.query_one("#filter-error")
        await type_filter(pilot, app, "attributes.colour = 'red'")  # it parses; no such thing
        await settle(pilot, lambda: "shown" in error.classes)
        assert "unknown attribute 'colour'" in str(error.render())
        assert reads == [] and app.focused is filter_input  # refused with no read at all
        await type_filter(pilot, app, "params.opt = 'sgd'")
        await settle(pilot, lambda: names(app) == ["beta"])
        assert reads == ["params.opt = 'sgd'"] and "shown" not in error.classes
        assert app.focused is app.screen.query_one(RunsTable).table

        # The store fails as the next filter is first read: not applied, the results stay,
        # and the filter bar has the keyboard to try again.
        def busy(self, *args, **kwargs):
            raise StoreBusyError("the store at /somewhere is busy")

        monkeypatch.setattr(Store, "search_run_rows", busy)
        await type_filter(pilot, app, "params.opt = 'adam'")
        await settle(pilot, lambda: any("is busy" in str(n.message) for n in app._notifications))
        await settle(pilot, lambda: app.focused is filter_input)
        assert names(app) == ["beta"] and app.screen.filter_string == "params.opt = 'sgd'"
        assert app.problem is None  # said; the store is not marked as failing
        monkeypatch.setattr(Store, "search_run_rows", counting)
        await pilot.press("escape")
        runs_table = app.screen.query_one(RunsTable)
        runs_table.table.move_cursor(column=column_of(runs_table, "name"))
        await pilot.press("s")  # sorted anew: read with the filter applied
        await settle(pilot, lambda: reads[-1:] == ["params.opt = 'sgd'"] and len(reads) == 2)


@sync
async def test_sort_by_the_column_under_the_cursor(filled, store_path):
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        await sort_by_acc(pilot, app)
        assert names(app) == ["beta", "[bold red]x[/] \x1b[2J", "alpha"]
        await pilot.press("S")
        await settle(pilot, lambda: names(app)[0] == "alpha")
        runs_table = app.screen.query_one(RunsTable)
        acc = column_of(runs_table, "acc")
        assert runs_table.table.labels[acc] == "acc ▼"  # the header says so


@sync
async def test_clicking_a_header_sorts_and_clicking_again_reverses(filled, store_path):
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        runs_table = app.screen.query_one(RunsTable)
        table = runs_table.table
        acc_column = column_of(runs_table, "acc")

        def header_of_acc() -> tuple[int, int]:
            return (table.offsets[acc_column] + 1, 0)

        await pilot.click(table, offset=header_of_acc())
        await settle(pilot, lambda: names(app)[0] == "beta")  # lowest accuracy first
        assert table.labels[acc_column] == "acc ▲"
        await pilot.click(table, offset=header_of_acc())
        await settle(pilot, lambda: names(app)[0] == "alpha")
        assert table.labels[acc_column] == "acc ▼"


@sync
async def test_marks_survive_a_filter(filled, store_path):
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        await pilot.press("j", "k")  # down and back up: vi keys move too
        await pilot.press("space")
        runs_table = app.screen.query_one(RunsTable)
        assert runs_table.marked == {filled["alpha"]}
        await pilot.press("j", "space")
        assert runs_table.marked == {filled["alpha"], filled["beta"]}
        await pilot.press("space", "k")
        assert runs_table.table.get_row_at(0)[0] == "•"
        await type_filter(pilot, app, "params.opt = 'sgd'")
        await settle(pilot, lambda: names(app) == ["beta"])
        await type_filter(pilot, app, "")
        await loaded(pilot, app, 3)
        assert runs_table.marked == {filled["alpha"]}
        assert runs_table.table.get_row_at(0)[0] == "•"
        assert str(app.screen.query_one("#count").render()) == "3 runs · 1 marked"


@sync
async def test_a_view_read_again_keeps_sort_and_cursor(filled, store_path):
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        runs_table, acc_column = await sort_by_acc(pilot, app)
        runs_table.table.move_cursor(row=1, column=acc_column)
        client = MltopClient(Store(store_path))
        client.log_metric(filled["beta"], "acc", 0.75, step=1, synchronous=True)
        app.screen.load_runs()
        await settle(pilot, lambda: runs_table.table.get_row_at(0)[acc_column] == "0.75")
        assert runs_table.table.cursor_coordinate == (1, acc_column)
        assert names(app) == ["beta", "[bold red]x[/] \x1b[2J", "alpha"]
        client.close()


@sync
async def test_new_runs_and_columns_arrive_in_place_while_sorted_and_scrolled(store_path):
    client = MltopClient(Store(store_path))
    ids = []
    for i in range(120):
        run = client.create_run(
            run_name=f"r{i:03}",
            start_time=NOW - i * 1000,
            status="FINISHED",
            log_system_info=False,
        )
        client.log_metric(run.info.run_id, "acc", i / 1000)
        ids.append(run.info.run_id)
    client.flush()
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 120)
        runs_table = app.screen.query_one(RunsTable)
        table = runs_table.table
        acc_column = column_of(runs_table, "acc")
        table.move_cursor(column=acc_column)
        await pilot.press("S")  # highest accuracy first: r119, r118, ...
        # A new sort shows its first runs.
        await settle(pilot, lambda: runs_table.order is not None and names(app)[0] == "r119")
        assert table.cursor_row == 0
        table.move_cursor(row=80)
        await pilot.pause(0.05)
        scrolled = table.scroll_y
        assert scrolled > 0 and names(app)[80] == "r039"
        # Elsewhere: a run that sorts to the top, and a metric no run had before.
        fresh = client.create_run(run_name="new", start_time=NOW, log_system_info=False)
        client.log_metric(fresh.info.run_id, "acc", 0.99)
        client.log_metric(fresh.info.run_id, "loss", 0.5, synchronous=True)
        app.screen.load_runs()
        await settle(pilot, lambda: runs_table.total == 121 and runs_table.order is not None)
        await pilot.pause(0.05)
        assert runs_table.table is table and table.is_mounted  # the same widget, never remounted
        assert names(app)[:2] == ["new", "r119"]  # still sorted by accuracy, descending
        assert "loss" in [c.key for c in runs_table.columns]
        assert runs_table.current_run().info.run_name == "r039"  # the cursor kept its run
        assert runs_table.current_column().key == "acc"  # and its column
        assert abs(table.scroll_y - scrolled) <= 1  # and the view did not jump
        assert app.focused is table
    client.close()


@sync
async def test_a_vanished_store_is_a_notification_not_a_crash(filled, store_path):
    import shutil

    app = MltopApp(store_path, poll=0.05, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        shutil.rmtree(store_path)
        await settle(pilot, lambda: any(n.title == "store gone" for n in app._notifications))
        assert app.is_running and app.sub_title.endswith("⚠ store gone")


@sync
async def test_slash_moves_to_the_filter_without_typing_itself(filled, store_path):
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        await pilot.press("slash")
        filter_input = app.screen.query_one("#filter")
        assert filter_input.has_focus and filter_input.value == ""
        await pilot.press("a", "b")
        assert filter_input.value == "ab"


@sync
async def test_a_running_runs_duration_ticks_and_a_stale_one_turns_lost(store_path, rebuilds):
    from mltop.store import now_ms

    clock = [now_ms()]
    client = MltopClient(Store(store_path))
    run = client.create_run(run_name="live", start_time=clock[0] - 5_000, log_system_info=False)
    app = MltopApp(store_path, follow=False, clock=lambda: clock[0])
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 1)
        runs_table = app.screen.query_one(RunsTable)
        keys = [c.key for c in runs_table.columns]
        assert runs_table.table.get_row_at(0)[keys.index("duration")] == "5s"
        assert runs_table.table.get_row_at(0)[keys.index("status")] == "● RUNNING"
        clock[0] += 60_000  # no heartbeat for a minute: its process is gone
        # The app's one-second tick, with no read of the store, updates the row; a LOST
        # run's duration stops at its last heartbeat.
        await settle(
            pilot, lambda: runs_table.table.get_row_at(0)[keys.index("status")] == "? LOST"
        )
        assert runs_table.table.get_row_at(0)[keys.index("duration")] in ("5s", "6s")
        assert rebuilds == [1, 1]  # the first load only (its first rows, then its order)
    client.set_terminated(run.info.run_id)
    client.close()


@sync
async def test_live_changes_patch_rows_in_place_and_reread_the_view_only_when_rows_move(
    filled, store_path, rebuilds
):
    app = MltopApp(store_path, clock=lambda: NOW)  # following the store, with file events
    client = MltopClient(Store(store_path))
    handled: list = []  # every message the app's screens and widgets handle, in order
    async with app.run_test(size=(120, 40), message_hook=handled.append) as pilot:
        await loaded(pilot, app, 3)
        screen = app.screen
        runs_table = screen.query_one(RunsTable)
        acc = column_of(runs_table, "acc")
        shapes, seen = len(rebuilds), len(handled)
        client.log_metric(filled["beta"], "acc", 0.71, step=1, synchronous=True)
        await settle(pilot, lambda: runs_table.table.get_row_at(1)[acc] == "0.71")
        # One row re-read (beta's) and set in place: no read of the view, no new shape.
        reads = [m for m in handled[seen:] if isinstance(m, RunsLoaded | RunsPatched)]
        assert reads and all(isinstance(m, RunsPatched) for m in reads)
        assert {run_id for m in reads for run_id in m.asked} == {filled["beta"]}
        assert len(rebuilds) == shapes
        # Sorted by accuracy, a change that reorders the runs reads the view again.
        await sort_by_acc(pilot, app)
        client.log_metric(filled["beta"], "acc", 0.95, step=2, synchronous=True)
        await settle(pilot, lambda: names(app)[-1] == "beta")
        assert runs_table.table.get_row_at(2)[acc] == "0.95"
        # A run that starts elsewhere, long after the last full read, appears; the cursor
        # keeps its run.
        screen._last_order -= 10
        runs_table.table.move_cursor(row=1)
        before = runs_table.current_run().info.run_id
        fresh = client.create_run(
            run_name="fresh", start_time=NOW, log_system_info=False
        ).info.run_id
        client.log_metric(fresh, "acc", 0.1, synchronous=True)
        await settle(pilot, lambda: "fresh" in names(app))
        assert names(app)[0] == "fresh"  # the lowest accuracy first
        assert runs_table.current_run().info.run_id == before
        client.set_terminated(fresh)
    client.close()


@sync
async def test_enter_opens_the_run_with_charts_and_escape_comes_back(filled, store_path):
    from mltop.tui.screens.run_detail import RunDetailScreen
    from mltop.tui.widgets.metric_chart import MetricChart

    client = MltopClient(Store(store_path))
    for step in range(1, 300):
        client.log_metric(filled["beta"], "acc", 0.7 + step / 1000, step=step)
    client.flush()
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        await pilot.press("j", "enter")
        await settle(
            pilot,
            lambda: (
                isinstance(app.screen, RunDetailScreen) and len(app.screen.query(MetricChart)) == 1
            ),
        )
        screen = app.screen
        assert screen.run_id == filled["beta"]
        chart = screen.query_one(MetricChart)
        await settle(pilot, lambda: len(chart.series) == 300)
        summary = str(screen.query_one("#summary").render())
        assert "beta" in summary and filled["beta"] in summary
        await pilot.press("l", "x", "plus", "plus")
        assert chart.log_scale and chart.by_time and chart.smoothing == 0.2
        client.log_metric(filled["beta"], "acc", 0.99, step=300, synchronous=True)
        screen.follow()
        await settle(pilot, lambda: len(chart.series) == 301)  # only the new point was read
        await pilot.press("escape")
        await settle(pilot, lambda: not isinstance(app.screen, RunDetailScreen))
        assert names(app)[1] == "beta"
    client.close()


@sync
async def test_question_mark_shows_every_binding_of_the_screen(filled, store_path):
    from textual.widgets import DataTable

    from mltop.tui.screens.help import HelpScreen

    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        await pilot.press("question_mark")
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        table = app.screen.query_one(DataTable)
        # (A row lists every key of one action: "q ^c ^q", "↑ ↓ j k".)
        keys = [k for i in range(table.row_count) for k in str(table.get_row_at(i)[0]).split()]
        assert {"/", "s", "S", "space", "enter", "j", "k", "q", "?"} <= set(keys)
        await pilot.press("question_mark")
        await settle(pilot, lambda: not isinstance(app.screen, HelpScreen))
        await pilot.press("j", "enter")  # and on the run detail screen, its own keys
        await settle(pilot, lambda: app.screen.__class__.__name__ == "RunDetailScreen")
        await pilot.press("question_mark")
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        table = app.screen.query_one(DataTable)
        keys = [k for i in range(table.row_count) for k in str(table.get_row_at(i)[0]).split()]
        assert {"x", "l", "+", "=", "-", "m", "1", "5", "esc"} <= set(keys)
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "RunDetailScreen")


@sync
async def test_the_command_palette_lists_and_runs_the_screens_actions(filled, store_path):
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert {"Filter", "Sort", "Reverse sort", "Mark", "Open", "Help"} <= set(titles)
        runs_table = app.screen.query_one(RunsTable)
        runs_table.table.move_cursor(column=column_of(runs_table, "acc"))
        await pilot.press("ctrl+p")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "CommandPalette")
        await pilot.press(*"Reverse sort")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot, lambda: names(app)[0] == "alpha")  # highest accuracy first
        assert names(app) == ["alpha", "[bold red]x[/] \x1b[2J", "beta"]


async def open_detail(pilot, app, row: int = 0):
    from mltop.tui.screens.run_detail import RunDetailScreen

    app.screen.query_one(RunsTable).table.move_cursor(row=row)
    await pilot.press("enter")
    await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.run)
    return app.screen


@sync
async def test_the_artifacts_tab_lists_files_literally_and_previews_text(filled, store_path):
    from textual.widgets import TextArea, Tree

    store = Store(store_path)
    repo = store.artifacts(filled["alpha"])
    repo.write_text("epochs: 3\nlr: 0.01\n\x1b]0;pwned\x07done\n", "config/[red]params.yaml")
    repo.write_bytes(b"\x00\x01\x02" * 100, "model.bin")
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        screen = await open_detail(pilot, app, row=0)
        await pilot.press("5")
        tree = screen.query_one(Tree)
        await settle(pilot, lambda: len(tree.root.children) == 2)
        labels = [str(node.label) for node in tree.root.children]
        assert labels == ["config/", "model.bin  300 B"]
        assert app.focused is tree and tree.cursor_line == 0
        await pilot.press("enter")  # expand config/ (the cursor starts on it)
        await settle(pilot, lambda: len(tree.root.children[0].children) == 1)
        assert str(tree.root.children[0].children[0].label).startswith("[red]params.yaml")
        await pilot.press("down")
        preview = screen.query_one(TextArea)
        await settle(pilot, lambda: preview.text.startswith("epochs: 3"))
        assert "\\x1b]0;pwned\\x07done" in preview.text  # the escape is shown, not obeyed
        heading = str(screen.query_one("#preview-heading").render())
        assert "[red]params.yaml" in heading
        await pilot.press("down")
        await settle(pilot, lambda: "binary" in preview.text)
    store.close()


@sync
async def test_m_chooses_which_metrics_are_charted(filled, store_path):
    from mltop.tui.widgets.metric_chart import MetricChart

    client = MltopClient(Store(store_path))
    for key in ("loss", "lr", "val_acc"):
        client.log_metric(filled["alpha"], key, 0.5)
    client.flush()
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        screen = await open_detail(pilot, app, row=0)

        def charted() -> list[str]:
            return [chart.key for chart in screen.query(MetricChart)]

        await settle(pilot, lambda: charted() == ["acc", "loss", "lr", "val_acc"])
        await pilot.press("m")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "ChooseMetrics")
        await pilot.press("n", "space", "down", "down", "down", "space", "enter")
        await settle(pilot, lambda: charted() == ["acc", "val_acc"])
        await pilot.press("m")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "ChooseMetrics")
        await pilot.press("down", "space", "escape")  # cancelled: nothing changes
        await settle(pilot, lambda: app.screen is screen)
        await pilot.pause(0.1)
        assert charted() == ["acc", "val_acc"]
        await pilot.press("m", "down", "space", "enter")  # loss comes back, in its place
        await settle(pilot, lambda: charted() == ["acc", "loss", "val_acc"])
        # Keys arriving in one burst (a paste, a fast typist over SSH) act in their order:
        # `n` (none) then enter applies "none", not the choice as it was before `n`.
        await pilot.press("m")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "ChooseMetrics")
        for key, character in (("n", "n"), ("enter", "\r")):
            app.post_message(events.Key(key, character))
        await settle(pilot, lambda: app.screen is screen and charted() == [])
    client.close()


@sync
async def test_every_chart_follows_the_screens_axis_scale_and_smoothing(filled, store_path):
    from mltop.tui.widgets.metric_chart import MetricChart

    client = MltopClient(Store(store_path))
    client.log_metric(filled["alpha"], "loss", 0.5)
    client.flush()
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        screen = await open_detail(pilot, app, row=0)

        def drawing() -> dict[str, tuple[bool, bool, float]]:
            return {c.key: (c.by_time, c.log_scale, c.smoothing) for c in screen.query(MetricChart)}

        await settle(pilot, lambda: list(drawing()) == ["acc", "loss"])
        await pilot.press("m", "down", "space", "enter")  # loss is charted no more
        await settle(pilot, lambda: list(drawing()) == ["acc"])
        await pilot.press("x", "l", "plus")
        assert drawing() == {"acc": (True, True, 0.1)}
        await pilot.press("m", "down", "space", "enter")  # a chart added follows them too
        await settle(
            pilot, lambda: drawing() == {"acc": (True, True, 0.1), "loss": (True, True, 0.1)}
        )
        await pilot.press("x", "x", "minus", "minus")  # step, elapsed, clock, step again
        assert drawing() == {"acc": (False, True, 0.0), "loss": (False, True, 0.0)}
    client.close()


@sync
async def test_compare_marked_runs_differences_and_best_values(filled, store_path):
    from textual.widgets import DataTable

    from mltop.tui.screens.compare import CompareScreen

    client = MltopClient(Store(store_path))
    for name, loss in (("alpha", 0.3), ("beta", 0.2)):
        client.log_metric(filled[name], "val_loss", loss)
    client.flush()
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        await pilot.press("space", "c")  # one marked run: nothing to compare yet
        await settle(
            pilot, lambda: any("two or more" in str(n.message) for n in app._notifications)
        )
        assert not isinstance(app.screen, CompareScreen)
        await pilot.press("j", "space", "c")
        await settle(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.shown_rows)
        screen = app.screen
        table = screen.query_one(DataTable)
        assert [r.info.run_name for r in screen.runs] == ["alpha", "beta"]  # table order

        def row(key: str) -> list:
            return table.get_row(key)

        def best(key: str) -> list[str]:
            cells = row(key)[1:]
            return [
                screen.runs[i].info.run_name
                for i, c in enumerate(cells)
                if "reverse" in str(c.style)
            ]

        assert [str(c) for c in row("metrics.acc")[1:]] == ["0.9", "0.7"]
        assert best("metrics.acc") == ["alpha"]  # higher is better
        assert best("metrics.val_loss") == ["beta"]  # a loss: lower is better
        assert "yellow" in str(row("params.opt")[0].style)  # adam vs sgd: they differ
        everything = len(screen.shown_rows)
        await pilot.press("d")  # only what differs
        await settle(pilot, lambda: len(screen.shown_rows) < everything)
        assert all(r.key != "user" for r in screen.shown_rows)  # the same user: hidden
        assert "params.opt" in [r.key for r in screen.shown_rows]
        # f on the val_loss row flips its direction: now the higher value is best.
        table.move_cursor(row=[r.key for r in screen.shown_rows].index("metrics.val_loss"))
        await pilot.press("f")
        await settle(pilot, lambda: best("metrics.val_loss") == ["alpha"])
        assert best("metrics.acc") == ["alpha"]  # other metrics keep theirs
        # Live: a new value elsewhere reaches the table.
        client.log_metric(filled["beta"], "acc", 0.95, step=1, synchronous=True)
        screen.follow()
        await settle(pilot, lambda: [str(c) for c in row("metrics.acc")[1:]] == ["0.9", "0.95"])
        assert best("metrics.acc") == ["beta"]
        await pilot.press("escape")
        await settle(pilot, lambda: not isinstance(app.screen, CompareScreen))
    client.close()


@sync
async def test_compare_stays_usable_with_fifty_runs(store_path):
    from textual.widgets import DataTable

    from mltop.tui.screens.compare import CompareScreen

    client = MltopClient(Store(store_path))
    for i in range(50):
        run = client.create_run(
            run_name=f"run-{i:02}",
            start_time=NOW - i * 1000,
            status="FINISHED",
            log_system_info=False,
        )
        client.log_params(run.info.run_id, {"lr": str(i / 100)})
        client.log_metric(run.info.run_id, "loss", 1 / (i + 1))
    client.flush()
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 50)
        runs_table = app.screen.query_one(RunsTable)
        runs_table.marked = {r.info.run_id for r in runs_table.runs}
        await pilot.press("c")
        await settle(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.shown_rows)
        table = app.screen.query_one(DataTable)
        assert len(table.columns) == 51 and table.fixed_columns == 1  # row names pinned
        assert table.virtual_size.width > table.size.width  # wider than the screen
        await pilot.press(*["right"] * 30)
        await settle(pilot, lambda: table.scroll_x > 0)
        best = [
            i for i, c in enumerate(table.get_row("metrics.loss")[1:]) if "reverse" in str(c.style)
        ]
        assert [app.screen.runs[i].info.run_name for i in best] == ["run-49"]
    client.close()


@sync
async def test_the_registry_screen_follows_promotions_and_opens_source_runs(filled, store_path):
    from textual.widgets import DataTable

    from mltop.tui.screens.registry import RegistryScreen
    from mltop.tui.screens.run_detail import RunDetailScreen

    store = Store(store_path)
    registry = store.registry
    registry.create_registered_model("resnet")
    registry.create_model_version("resnet", f"runs:/{filled['alpha']}/model")
    registry.create_model_version("resnet", f"runs:/{filled['beta']}/model")
    registry.transition("resnet", 1, "Production", "first release", user="ana")
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, RegistryScreen) and app.screen.versions)
        screen = app.screen
        models = screen.query_one("#models", DataTable)
        versions = screen.query_one("#versions", DataTable)
        await settle(pilot, lambda: versions.row_count == 2)
        assert [str(c) for c in models.get_row("resnet")[:4]] == ["resnet", "2", "v1", "-"]
        assert [str(c) for c in versions.get_row("1")[:2]] == ["v1", "Production"]
        # Another terminal promotes v2: the screen follows.
        registry.transition("resnet", 2, "Production", "better", user="bob")
        screen.follow()
        await settle(pilot, lambda: str(versions.get_row("2")[1]) == "Production")
        assert str(versions.get_row("1")[1]) == "Archived"
        assert str(models.get_row("resnet")[2]) == "v2"
        # h: the history, newest first, with who, what it archived, the verdict and why.
        await pilot.press("h")
        history = screen.query_one("#history", DataTable)
        await settle(pilot, lambda: history.row_count == 2)
        assert [str(c) for c in history.get_row_at(0)[1:6]] == [
            "bob",
            "v2",
            "None → Production (archived v1)",
            "",  # no policy
            "better",
        ]
        await pilot.press("h")
        # Enter on v1: the run that produced it.
        versions.focus()
        versions.move_cursor(row=[key.value for key in versions.rows].index("1"))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        assert app.screen.run_id == filled["alpha"]
    store.close()


@sync
async def test_a_fifo_among_the_artifacts_is_described_and_q_still_quits(filled, store_path):
    """Previewing a named pipe would block its reader for good (q could not quit)."""
    import os

    from textual.widgets import Tree

    store = Store(store_path)
    repo = store.artifacts(filled["alpha"])
    repo.write_text("x", "a.txt")
    os.mkfifo(repo.root / "b.pipe")
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        screen = await open_detail(pilot, app, row=0)
        await pilot.press("5")
        tree = screen.query_one(Tree)
        await settle(pilot, lambda: len(tree.root.children) == 2)
        await pilot.press("down")  # onto the pipe
        heading = screen.query_one("#preview-heading")
        await settle(pilot, lambda: "b.pipe: cannot be read" in str(heading.render()))
        await pilot.press("q")
        await settle(pilot, lambda: not app.is_running)
    store.close()


@sync
async def test_how_long_ago_a_finished_run_started_moves_with_the_clock(store_path, monkeypatch):
    from mltop.store import now_ms
    from mltop.tui.widgets import runs_table as module

    clock = [now_ms()]
    client = MltopClient(Store(store_path))
    client.create_run(
        run_name="done", start_time=clock[0] - 5_000, status="FINISHED", log_system_info=False
    )
    client.close()
    app = MltopApp(store_path, follow=False, clock=lambda: clock[0])
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 1)
        runs_table = app.screen.query_one(RunsTable)
        started = [c.key for c in runs_table.columns].index("started")

        def shown() -> str:
            return runs_table.table.get_row_at(0)[started]

        assert shown() == "5s ago"
        clock[0] += 20_000
        await settle(pilot, lambda: shown() == "25s ago")  # by the second, in its first minute
        clock[0] += 3 * 3_600_000
        await pilot.pause(1.5)
        assert shown() == "25s ago"  # past its first minute: looked at once a minute
        monkeypatch.setattr(module, "AGO_EVERY_TICKS", 1)  # (a minute is long for a test)
        await settle(pilot, lambda: shown() == "3h ago")
