"""Health alerts on the dashboard: the marker on a run's row, the alerts in its detail,
the GPU column, the sampler's keys kept out of the default columns, and `--bell`."""

from __future__ import annotations

import math
from collections.abc import Callable

from click.testing import CliRunner
from test_dashboard import sync
from test_snapshots import NOW as SNAP_NOW
from test_snapshots import fixed_store, make_app, wait_loaded  # noqa: F401 (a fixture)

from mltop.store import MltopClient, Store, now_ms
from mltop.tui.alerts import IDLE_GPU, NON_FINITE
from mltop.tui.app import MltopApp
from mltop.tui.screens.run_detail import RunDetailScreen
from mltop.tui.screens.runs import RunsScreen
from mltop.tui.widgets.runs_table import ALERT, RunsTable

UTIL = "system/gpu_{}_utilization_percentage"


async def settle(pilot, done: Callable[[], bool], what: str, seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if done():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"never: {what}")


def mark_of(table: RunsTable, name: str) -> str:
    run = next(r for r in table.runs if r.info.run_name == name)
    position = table.position_of(run.info.run_id)
    assert position is not None
    cells = table.cells(position)
    assert cells is not None
    return cells[0]


def cell_of(table: RunsTable, name: str, key: str) -> str:
    run = next(r for r in table.runs if r.info.run_name == name)
    position = table.position_of(run.info.run_id)
    assert position is not None
    cells = table.cells(position)
    assert cells is not None
    return cells[[c.key for c in table.columns].index(key)]


def runs_screen(app: MltopApp) -> RunsScreen:
    return next(s for s in app.screen_stack if isinstance(s, RunsScreen))


@sync
async def test_a_loss_turning_nan_while_watched_marks_the_row_and_the_detail(store_path):
    client = MltopClient(Store(store_path))
    run_id = client.create_run(run_name="live", log_system_info=False).info.run_id
    other = client.create_run(run_name="calm", log_system_info=False).info.run_id
    for step in range(3):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
        client.log_metric(other, "loss", 1.0 / (step + 1), step=step)
    client.flush()
    app = MltopApp(store_path, poll=0.1)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.screen.query_one(RunsTable)
            await settle(pilot, lambda: len(table.runs) == 2, "the runs shown")
            assert ALERT not in mark_of(table, "live")
            client.log_metric(run_id, "loss", math.nan, step=3)
            client.flush()
            await settle(pilot, lambda: ALERT in mark_of(table, "live"), "the marker")
            assert ALERT not in mark_of(table, "calm")
            [alert] = table.alerted[run_id]
            assert (alert.kind, alert.message) == (NON_FINITE, "loss is NaN")
            position = table.position_of(run_id)
            assert position is not None
            assert table.cell_style(position, 0, mark_of(table, "live")) == "bold red"

            table.table.move_cursor(row=position)
            await pilot.press("enter")
            await settle(
                pilot,
                lambda: isinstance(app.screen, RunDetailScreen) and app.screen.run is not None,
                "the run's detail",
            )
            shown = str(app.screen.query_one("#alerts").render())
            assert shown == "⚠ loss is NaN"
            assert app.screen.query_one("#alerts").display
    finally:
        client.close()


@sync
async def test_a_run_whose_gpus_sit_idle_is_flagged_and_its_gpu_column_shown(store_path):
    client = MltopClient(Store(store_path))
    idle = client.create_run(run_name="idle", log_system_info=False).info.run_id
    busy = client.create_run(run_name="busy", log_system_info=False).info.run_id
    done = client.create_run(run_name="done", log_system_info=False).info.run_id
    now = now_ms()
    for sample in range(40):  # 10 s apart: the last 6.5 minutes
        at = now - (39 - sample) * 10_000
        client.log_metric(idle, UTIL.format(0), 1.0, at, sample)
        client.log_metric(idle, UTIL.format(1), 0.0, at, sample)
        client.log_metric(busy, UTIL.format(0), 90.0, at, sample)
        client.log_metric(done, UTIL.format(0), 0.0, at, sample)
        client.log_metric(busy, "system/cpu_utilization_percentage", 50.0, at, sample)
    for run in (idle, busy, done):
        client.log_metric(run, "loss", 0.5, now, 0)
    client.set_terminated(done, "FINISHED")
    client.flush()
    app = MltopApp(store_path, poll=0.1)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.screen.query_one(RunsTable)
            screen = runs_screen(app)
            await settle(
                pilot, lambda: len(table.runs) == 3 and screen.alerts_looked_at, "the first look"
            )
            await settle(pilot, lambda: ALERT in mark_of(table, "idle"), "the idle flag")
            [alert] = table.alerted[idle]
            assert alert.kind == IDLE_GPU
            assert alert.message.startswith("GPUs 0-1 idle (under 5%) for ")
            assert ALERT not in mark_of(table, "busy") and ALERT not in mark_of(table, "done")
            labels = [c.label for c in table.columns]
            assert labels[labels.index("duration") + 1] == "GPU"
            assert "loss" in labels
            assert not any(label.startswith("system/") for label in labels)
            assert cell_of(table, "idle", "gpu") == "0-1 0%"  # the mean of 1 % and 0 %
            assert cell_of(table, "busy", "gpu") == "90%"  # its machine: one GPU sampled
            assert cell_of(table, "done", "gpu") == ""  # finished: its last value is history
    finally:
        client.close()


@sync
async def test_the_samplers_keys_are_offered_in_the_column_picker(store_path):
    client = MltopClient(Store(store_path))
    run_id = client.create_run(run_name="r", log_system_info=False).info.run_id
    client.log_metric(run_id, "loss", 0.5, step=0)
    client.log_metric(run_id, "system/cpu_utilization_percentage", 12.0, step=0)
    client.set_terminated(run_id, "FINISHED")
    client.flush()
    app = MltopApp(store_path, follow=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.screen.query_one(RunsTable)
            await settle(pilot, lambda: len(table.runs) == 1, "the run shown")
            labels = [c.label for c in table.columns]
            assert "loss" in labels and "GPU" not in labels  # no GPU sampled: no column
            assert "system/cpu_utilization_percentage" not in labels
            await pilot.press("C")
            from mltop.tui.screens.columns import ColumnsScreen

            await settle(pilot, lambda: isinstance(app.screen, ColumnsScreen), "the picker")
            offered = {c.label: shown for c, shown in app.screen.items}
            assert offered["system/cpu_utilization_percentage"] is False  # offered, hidden
            assert offered["loss"] is True
    finally:
        client.close()


@sync
async def test_the_bell_rings_once_for_an_alert_arising_while_watching(store_path):
    client = MltopClient(Store(store_path))
    old = client.create_run(run_name="old", log_system_info=False).info.run_id
    new = client.create_run(run_name="new", log_system_info=False).info.run_id
    client.log_metric(old, "acc", math.nan, step=0)  # there before: not news
    client.log_metric(new, "loss", 1.0, step=0)
    client.flush()
    app = MltopApp(store_path, poll=0.1, bell=True)
    rung: list[int] = []
    app.bell = lambda: rung.append(1)  # type: ignore[method-assign]
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = runs_screen(app)
            await settle(pilot, lambda: screen.alerts_looked_at, "the first look")
            assert rung == []
            client.log_metric(new, "loss", math.nan, step=1)
            client.flush()
            await settle(pilot, lambda: new in screen.watched_alerts, "the new alert")
            assert rung == [1]
            for step in (2, 3):  # the same alert, looked at again: no second ring
                client.log_metric(new, "loss", math.nan, step=step)
                client.flush()
                before = screen.watched_alerts
                await settle(pilot, lambda b=before: screen.watched_alerts is not b, "another look")
            assert rung == [1]
            client.log_metric(new, "grad", math.inf, step=4)  # a second alert: one more ring
            client.flush()
            await settle(pilot, lambda: len(screen.watched_alerts[new]) == 2, "the second")
            assert rung == [1, 1]
    finally:
        client.close()


@sync
async def test_without_bell_nothing_rings(store_path):
    client = MltopClient(Store(store_path))
    run_id = client.create_run(run_name="r", log_system_info=False).info.run_id
    client.log_metric(run_id, "loss", 1.0, step=0)
    client.flush()
    app = MltopApp(store_path, poll=0.1)
    rung: list[int] = []
    app.bell = lambda: rung.append(1)  # type: ignore[method-assign]
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = runs_screen(app)
            await settle(pilot, lambda: screen.alerts_looked_at, "the first look")
            client.log_metric(run_id, "loss", math.nan, step=1)
            client.flush()
            await settle(pilot, lambda: run_id in screen.watched_alerts, "the alert")
            assert rung == []
    finally:
        client.close()


def test_ui_and_demo_take_bell(monkeypatch, store_path):
    from mltop.tui.cli import main, ui

    Store(store_path).close()
    asked: list[tuple] = []
    monkeypatch.setattr(ui, "run_dashboard", lambda *args: asked.append(args))
    result = CliRunner().invoke(main, ["ui", "--store", str(store_path), "--bell"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["ui", "--store", str(store_path)])
    assert result.exit_code == 0, result.output
    assert [args[-1] for args in asked] == [True, False]
    result = CliRunner().invoke(main, ["demo", "--help"])
    assert "--bell" in result.output


def test_runs_screen_with_a_gpu_column_and_alerts_120x40(snap_compare, fixed_store):  # noqa: F811
    """The running run sampled on GPUs 0 and 1 (it holds memory there; GPU 2 sits idle,
    someone else's), and stalled (its last metric an hour old): a yellow ⚠ and its GPUs'
    utilisation; the failed run's NaN: a red ⚠."""
    client = MltopClient(Store(fixed_store))
    [running] = client.store.search_runs(None, "attributes.status = 'RUNNING'")
    for sample in range(6):
        at = SNAP_NOW - (5 - sample) * 10_000
        for gpu, value in ((0, 87.0), (1, 91.0), (2, 0.0)):
            client.log_metric(running.info.run_id, UTIL.format(gpu), value, at, sample)
        for gpu in (0, 1):
            key = f"system/gpu_{gpu}_process_memory_megabytes"
            client.log_metric(running.info.run_id, key, 20_000.0, at, sample)
    client.close()
    assert snap_compare(make_app(fixed_store), terminal_size=(120, 40), run_before=wait_loaded)
