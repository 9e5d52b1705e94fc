"""The runs table's columns: the default order (by how many runs have each key), the column
picker `C` (show, hide, reorder, best so far), remembered per experiment in the store."""

from __future__ import annotations

import json
import os

import pytest
from test_dashboard import NOW, app_for, loaded, names, settle, sync
from textual import events
from textual.widgets import SelectionList

from mltop.store import MltopClient, Store
from mltop.tui.columns import PREFS_FILE, Choice, Column, ColumnPrefs, data_columns
from mltop.tui.screens.columns import ColumnsScreen
from mltop.tui.widgets.runs_table import RunsTable

HOSTILE = "[@click=app.quit]q[/]"  # an experiment's name
ODD = "z/sub: key"


@pytest.fixture
def sweep(store_path):
    """Two experiments. "sweep": 4 runs with loss (each a history: its min not its latest)
    and lr, 1 run of the 4 with two sparse metrics; an experiment named as markup: 1 run
    with acc."""
    client = MltopClient(Store(store_path))
    exp = client.create_experiment("sweep")
    other = client.create_experiment(HOSTILE)
    histories = {"a": [3, 1, 2], "b": [0.5, 4, 4], "c": [2, 2, 2], "d": [9, 8, 0.25]}
    for i, (name, history) in enumerate(histories.items()):
        run = client.create_run(
            exp, run_name=name, start_time=NOW - (i + 1) * 60_000, status="FINISHED",
            log_system_info=False,
        )  # fmt: skip
        for step, value in enumerate(history):
            client.log_metric(run.info.run_id, "loss", value, step=step * 10)
        client.log_params(run.info.run_id, {"lr": str(i)})
        if name == "a":
            client.log_metric(run.info.run_id, "rare", 1.0)
            client.log_metric(run.info.run_id, ODD, 1.0)
    run = client.create_run(
        other, run_name="o", start_time=NOW - 10 * 60_000, status="FINISHED",
        log_system_info=False,
    )  # fmt: skip
    client.log_metric(run.info.run_id, "acc", 0.5)
    client.flush()
    client.close()
    return {"sweep": exp, HOSTILE: other}


def labels(app) -> list[str]:
    return [c.label for c in app.screen.query_one(RunsTable).columns]


async def open_experiment(pilot, app, name: str, count: int) -> None:
    listing = app.screen.query_one("#experiments")
    index = next(
        i
        for i in range(listing.option_count)
        if str(listing.get_option_at_index(i).prompt).startswith(name)
    )
    listing.highlighted = index
    listing.action_select()
    await settle(pilot, lambda: app.screen.query_one(RunsTable).total == count)
    await loaded(pilot, app, count)


def picker_items(app) -> list[tuple[str, bool]]:
    screen = app.screen
    assert isinstance(screen, ColumnsScreen)
    ticked = set(screen.query_one(SelectionList).selected)
    return [(c.label, i in ticked) for i, (c, _s) in enumerate(screen.items)]


def test_sparse_keys_go_last_and_metrics_before_params():
    default, extra = data_columns({"loss": 10, "rare": 1, "acc": 10}, {"lr": 10, "seed": 2}, 10)
    assert [c.label for c in default] == ["acc", "loss", "lr", "rare", "seed"]
    assert [c.label for c in extra] == [
        "min(acc)", "max(acc)", "min(loss)", "max(loss)", "min(rare)", "max(rare)",
    ]  # fmt: skip
    assert Column("metric", "loss", "min(loss)", "min").order_key == "min(metrics.`loss`)"


def test_the_samplers_keys_are_offered_not_shown_by_default():
    cpu, gpu = "system/cpu_utilization_percentage", "system/gpu_0_utilization_percentage"
    default, extra = data_columns({"loss": 3, cpu: 3, gpu: 3}, {}, 3)
    assert [c.label for c in default] == ["loss"]
    assert [c.label for c in extra][:2] == [cpu, gpu]  # their latest, then every min and max
    assert f"max({gpu})" in [c.label for c in extra]


@sync
async def test_columns_follow_how_many_runs_have_them_and_all_experiments_shows_the_experiment(
    sweep, store_path
):
    app = app_for(store_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot, app, 5)  # All experiments
        await settle(pilot, lambda: app.screen.query_one(RunsTable).experiment_names)
        experiments = [app.screen.query_one(RunsTable).cells(i)[3] for i in range(5)]
        assert experiments == ["sweep"] * 4 + [HOSTILE]  # literally
        assert labels(app)[:6] == [" ", "status", "name", "experiment", "started", "duration"]
        assert labels(app)[6:] == ["loss", "lr", "acc", "rare", ODD]  # dense, then sparse
        await open_experiment(pilot, app, "sweep", 4)
        assert "experiment" not in labels(app)
        assert labels(app)[5:] == ["loss", "lr", "rare", ODD]


@sync
async def test_the_picker_hides_moves_and_adds_a_best_so_far_column_remembered_per_experiment(
    sweep, store_path
):
    app = app_for(store_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot, app, 5)
        await open_experiment(pilot, app, "sweep", 4)
        await pilot.press("C")
        await settle(pilot, lambda: isinstance(app.screen, ColumnsScreen))
        items = picker_items(app)
        assert items[:4] == [
            ("status", True),
            ("name", True),
            ("started", True),
            ("duration", True),
        ]
        assert ("min(loss)", False) in items and ("max(loss)", False) in items
        assert (ODD, True) in items
        # Hide "started"; bring min(loss) up to just after "name".
        await pilot.press("j", "j", "space")
        at = [label for label, _ in items].index("min(loss)")
        await pilot.press("g", *["j"] * at, "space", *["K"] * (at - 2))
        await pilot.press("enter")
        await settle(pilot, lambda: not isinstance(app.screen, ColumnsScreen))
        assert labels(app)[:5] == [" ", "status", "name", "min(loss)", "duration"]
        runs_table = app.screen.query_one(RunsTable)
        assert runs_table.cells(0)[3] == "1 @10"  # a: min 1 at step 10
        assert [runs_table.cells(i)[3] for i in range(1, 4)] == ["0.5 @0", "2 @0", "0.25 @20"]
        # s on it sorts by the best so far, not the latest value.
        runs_table.table.move_cursor(column=3)
        await pilot.press("s")
        await settle(pilot, lambda: names(app)[0] == "d")
        assert names(app) == ["d", "b", "a", "c"]
        saved = json.loads((store_path / PREFS_FILE).read_text())
        assert saved["experiments"][sweep["sweep"]]["shown"][:3] == [
            "attribute:status", "attribute:name", "metric.min:loss",
        ]  # fmt: skip
        # Another experiment keeps its own (default) columns.
        await open_experiment(pilot, app, HOSTILE, 1)
        assert "started" in labels(app) and "min(acc)" not in labels(app)

    app = app_for(store_path)  # the next session
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot, app, 5)
        await open_experiment(pilot, app, "sweep", 4)
        assert labels(app)[:5] == [" ", "status", "name", "min(loss)", "duration"]


@sync
async def test_escape_changes_nothing_and_r_puts_the_defaults_back(sweep, store_path):
    app = app_for(store_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot, app, 5)
        before = labels(app)
        await pilot.press("C")
        await settle(pilot, lambda: isinstance(app.screen, ColumnsScreen))
        await pilot.press("space", "J", "escape")
        await settle(pilot, lambda: not isinstance(app.screen, ColumnsScreen))
        assert labels(app) == before
        assert not (store_path / PREFS_FILE).exists()
        await pilot.press("C")
        await settle(pilot, lambda: isinstance(app.screen, ColumnsScreen))
        await pilot.press("space", "enter")  # status hidden
        await settle(pilot, lambda: "status" not in labels(app))
        hidden = labels(app)
        await pilot.press("C")
        await settle(pilot, lambda: isinstance(app.screen, ColumnsScreen))
        await pilot.press("r")  # the defaults in the list, not yet applied
        assert picker_items(app)[0] == ("status", True)
        await pilot.press("escape")
        await settle(pilot, lambda: not isinstance(app.screen, ColumnsScreen))
        assert labels(app) == hidden
        await pilot.press("C")
        await settle(pilot, lambda: isinstance(app.screen, ColumnsScreen))
        await pilot.press("r", "enter")
        await settle(pilot, lambda: labels(app) == before)
        saved = json.loads((store_path / PREFS_FILE).read_text())
        assert saved["experiments"] == {}


@sync
async def test_keys_typed_in_one_burst_tick_the_rows_they_were_typed_on(sweep, store_path):
    app = app_for(store_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot, app, 5)
        await pilot.press("C")
        await settle(pilot, lambda: isinstance(app.screen, ColumnsScreen))
        await pilot.press("G")
        last = len(picker_items(app)) - 1
        # Four hidden rows at the end (min/max of loss and rare...): tick the last three
        # from the bottom up, and apply, all keys queued at once (fast typing, auto-repeat).
        for key, character in [("space", " "), ("k", "k"), ("space", " "), ("k", "k"),
                               ("space", " "), ("enter", "\r")]:  # fmt: skip
            app.post_message(events.Key(key, character))
        await settle(pilot, lambda: not isinstance(app.screen, ColumnsScreen))
        runs_table = app.screen.query_one(RunsTable)
        shown = {c.label for c in runs_table.columns}
        offered = [c.label for c in runs_table.offered()[1]]
        assert set(offered[-3:]) <= shown, (offered, shown)
        assert last > 3


@sync
async def test_a_broken_column_file_is_said_kept_and_never_crashes(sweep, store_path):
    (store_path / PREFS_FILE).write_text('{"experiments": [1, 2')
    app = app_for(store_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot, app, 5)
        assert any("is not JSON" in str(n.message) for n in app._notifications)
        assert labels(app)[3] == "experiment"  # the defaults
        await pilot.press("C")
        await settle(pilot, lambda: isinstance(app.screen, ColumnsScreen))
        await pilot.press("space", "enter")
        await settle(pilot, lambda: "status" not in labels(app))
    assert (store_path / (PREFS_FILE + ".bad")).read_text() == '{"experiments": [1, 2'
    assert json.loads((store_path / PREFS_FILE).read_text())["experiments"]["all"]["hidden"]


@sync
async def test_columns_that_cannot_be_saved_still_hold_for_the_session(sweep, store_path):
    app = app_for(store_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot, app, 5)
        app.screen.column_prefs.path = store_path / "gone" / PREFS_FILE  # a folder removed
        await pilot.press("C")
        await settle(pilot, lambda: isinstance(app.screen, ColumnsScreen))
        await pilot.press("space", "enter")
        await settle(pilot, lambda: "status" not in labels(app))
        assert any("columns not remembered" in str(n.message) for n in app._notifications)


@sync
async def test_one_experiment_with_runs_needs_no_experiment_column_but_offers_it(
    store_path,
):
    client = MltopClient(Store(store_path))
    exp = client.create_experiment("only")
    client.create_run(exp, run_name="r", start_time=NOW - 1000, log_system_info=False)
    client.close()
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 1)
        await settle(pilot, lambda: app.screen.query_one(RunsTable).experiment_names)
        assert "experiment" not in labels(app)
        await pilot.press("C")
        await settle(pilot, lambda: isinstance(app.screen, ColumnsScreen))
        assert ("experiment", False) in picker_items(app)


@sync
async def test_s_on_duration_sorts_by_how_long_runs_ran(store_path):
    client = MltopClient(Store(store_path))
    exp = client.create_experiment("timed")
    for i, minutes in enumerate([5, 50, 20]):
        start = NOW - (i + 1) * 3_600_000
        run = client.store.create_run(exp, f"ran{minutes}m", start_time=start)
        client.store.update_run(
            run.info.run_id, status="FINISHED", end_time=start + minutes * 60_000
        )
    client.close()
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 3)
        runs_table = app.screen.query_one(RunsTable)
        runs_table.table.move_cursor(column=[c.key for c in runs_table.columns].index("duration"))
        await pilot.press("S")  # longest first
        await settle(pilot, lambda: names(app)[0] == "ran50m")
        assert names(app) == ["ran50m", "ran20m", "ran5m"]
        await pilot.press("s")
        await settle(pilot, lambda: names(app)[0] == "ran5m")
        assert names(app) == ["ran5m", "ran20m", "ran50m"]


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("[" * 200_000, "is not JSON"),  # nested past Python's recursion limit
        ('{"experiments": {}, "pad": "' + "x" * 5_000_000 + '"}', "bytes"),
        (b"\xff\xfe not text", "is not JSON"),
        ("[1, 2]", "is not a column choice of mltop"),
    ],
)
def test_a_column_file_that_cannot_be_used_is_said_and_left_alone(tmp_path, content, said):
    path = tmp_path / PREFS_FILE
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    before = path.read_bytes()
    prefs = ColumnPrefs(tmp_path)
    prefs.load()
    assert prefs.problem is not None and said in prefs.problem
    assert prefs.get(None) is None and path.read_bytes() == before
    (tmp_path / (PREFS_FILE + ".bad")).write_text("an older one")
    prefs.set(None, Choice(["attribute:name"], []))
    assert (tmp_path / (PREFS_FILE + ".bad")).read_text() == "an older one"
    assert (tmp_path / (PREFS_FILE + ".bad.1")).read_bytes() == before
    assert prefs.moved_aside == tmp_path / (PREFS_FILE + ".bad.1")


def test_two_dashboards_on_one_store_keep_each_others_choices(tmp_path):
    first, second = ColumnPrefs(tmp_path), ColumnPrefs(tmp_path)
    first.load()
    second.load()
    first.set("1", Choice(["attribute:name"], ["attribute:status"]))
    second.set("2", Choice(["metric:loss"], []))
    again = ColumnPrefs(tmp_path)
    again.load()
    assert again.get("1") == Choice(["attribute:name"], ["attribute:status"])
    assert again.get("2") == Choice(["metric:loss"], [])
    assert (tmp_path / PREFS_FILE).stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@sync
async def test_a_sort_by_a_hidden_column_is_said_over_the_table(sweep, store_path):
    app = app_for(store_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot, app, 5)
        runs_table = app.screen.query_one(RunsTable)
        runs_table.table.move_cursor(column=[c.key for c in runs_table.columns].index("loss"))
        await pilot.press("S")
        await settle(pilot, lambda: runs_table.sorted_by is not None and runs_table.order)
        count = app.screen.query_one("#count")
        assert "sorted by" not in str(count.render())  # the header has the arrow
        await pilot.press("C")
        await settle(pilot, lambda: isinstance(app.screen, ColumnsScreen))
        at = [label for label, _ in picker_items(app)].index("loss")
        await pilot.press(*["j"] * at, "space", "enter")
        await settle(pilot, lambda: "loss" not in labels(app))
        assert str(count.render()) == "5 runs · sorted by loss ▼ (hidden)"


@sync
async def test_enter_on_an_experiment_goes_on_to_its_runs(sweep, store_path):
    app = app_for(store_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot, app, 5)
        await pilot.press("shift+tab", "shift+tab")  # table -> filter -> experiments
        listing = app.screen.query_one("#experiments")
        assert app.focused is listing
        await pilot.press("j", "j", "enter")  # All, Default, sweep
        await settle(pilot, lambda: app.screen.query_one(RunsTable).total == 4)
        assert app.focused is app.screen.query_one(RunsTable).table


@sync
async def test_question_mark_in_the_picker_lists_its_keys(sweep, store_path):
    from mltop.tui.screens.help import HelpScreen

    app = app_for(store_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app, 5)
        await pilot.press("C")
        await settle(pilot, lambda: isinstance(app.screen, ColumnsScreen))
        await pilot.press("question_mark")
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = " ".join(str(row) for row in app.screen.query_one("DataTable")._data.values())
        for does in ("Show or hide the column", "Move the column down", "The default columns"):
            assert does in text, text
        await pilot.press("question_mark")
        await settle(pilot, lambda: isinstance(app.screen, ColumnsScreen))


@sync
async def test_the_runs_name_stays_in_sight_as_the_table_scrolls_to_far_columns(store_path):
    client = MltopClient(Store(store_path))
    exp = client.create_experiment("wide")
    run = client.create_run(exp, run_name="the-run", start_time=NOW - 1000, log_system_info=False)
    client.log_metrics(run.info.run_id, {f"metric_number_{i:02}": i / 7 for i in range(30)})
    client.close()
    app = app_for(store_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app, 1)
        runs_table = app.screen.query_one(RunsTable)
        await pilot.press("G")
        for _ in range(len(runs_table.columns)):
            await pilot.press("l")
        await pilot.pause(0.1)
        grid = runs_table.table
        assert grid.cursor_column == len(runs_table.columns) - 1 and grid.scroll_offset.x > 0
        lines = ["".join(s.text for s in strip) for strip in app.screen._compositor.render_strips()]
        header = next(line for line in lines if "metric_number_29" in line)
        row = next(line for line in lines if "the-run" in line)
        assert "name" in header and header.index("name") < header.index("metric_number_29")
        assert row.index("the-run") < row.index(f"{29 / 7:.6g}"[:5])
