"""Runs that log every step for hours, opened as a user opens them: the runs table, enter,
the charts; compare, its charts. Then another process keeps logging into them and the new
points are drawn. Nothing here feeds a chart directly."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_dashboard import settle, sync

from mltop.store import MltopClient, Store
from mltop.tui.app import MltopApp
from mltop.tui.screens.compare import CompareChart, CompareScreen
from mltop.tui.screens.run_detail import RunDetailScreen
from mltop.tui.widgets.metric_chart import MetricChart
from mltop.tui.widgets.runs_table import RunsTable

SIZES = {"short": 10_001, "long": 1_000_000}
KEYS = ("loss", "acc")


def loss(i: int) -> float:
    return 2.0 / (1 + i / 1000) + 0.01 * math.sin(i)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A store with a 10,001-point run and a 1,000,000-point run (two metrics each), logged
    through the store's own write path in large batches."""
    path = tmp_path_factory.mktemp("long") / "store"
    store = Store(path)
    client = MltopClient(store)
    for name, n in SIZES.items():
        run_id = client.create_run(run_name=name, log_system_info=False).info.run_id
        row = store.run_row_id(run_id)
        keys = [store.metric_key_id(k) for k in KEYS]
        for start in range(0, n, 100_000):
            store.write_points(
                [
                    (row, key, i, 1_700_000_000_000 + i, loss(i) if key == keys[0] else i / n)
                    for i in range(start, min(n, start + 100_000))
                    for key in keys
                ]
            )
    client.close()
    return path


@pytest.fixture
def store_copy(built, tmp_path) -> Path:
    """A copy of the built store for a test to log into."""
    path = tmp_path / "store"
    shutil.copytree(built, path)
    return path


APPEND = """
import sys
from mltop.store import MltopClient, Store
client = MltopClient(Store(sys.argv[1]))
run_id, first, count = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for i in range(first, first + count):
    client.log_metric(run_id, "loss", -1.0 - i, step=i, synchronous=True)
client.close()
"""


def append(store: Path, run_id: str, first: int, count: int) -> None:
    """Log `count` points into the run from another process (the training's)."""
    subprocess.run(
        [sys.executable, "-c", APPEND, str(store), run_id, str(first), str(count)],
        check=True,
        timeout=60,
    )


def run_ids(store: Path) -> dict[str, str]:
    with Store(store, create=False) as opened:
        return {r.info.run_name: r.info.run_id for r in opened.search_runs()}


async def open_run(pilot, app: MltopApp, name: str) -> RunDetailScreen:
    """Put the cursor on the run's row and press enter, as a user does."""
    runs_table = app.screen.query_one(RunsTable)
    await settle(pilot, lambda: len(runs_table.runs) == len(SIZES))
    row = [r.info.run_name for r in runs_table.runs].index(name)
    runs_table.table.move_cursor(row=row)
    await pilot.press("enter")
    await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen))
    screen = app.screen
    assert isinstance(screen, RunDetailScreen)
    return screen


async def open_only_run(pilot, app: MltopApp) -> RunDetailScreen:
    runs_table = app.screen.query_one(RunsTable)
    await settle(pilot, lambda: len(runs_table.runs) == 1)
    await pilot.press("enter")
    await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen))
    screen = app.screen
    assert isinstance(screen, RunDetailScreen)
    return screen


def charts_of(screen: RunDetailScreen) -> dict[str, MetricChart]:
    return {chart.key: chart for chart in screen.query(MetricChart)}


@pytest.mark.parametrize("name", list(SIZES))
@sync
async def test_a_long_run_opens_with_its_charts_and_follows_new_points(store_copy, name):
    n = SIZES[name]
    run_id = run_ids(store_copy)[name]
    app = MltopApp(store_copy)  # following the store, as `mltop ui` does
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, app, name)
        await settle(
            pilot,
            lambda: {k: c.drawn for k, c in charts_of(screen).items()} == dict.fromkeys(KEYS, n),
        )
        chart = charts_of(screen)["loss"]
        assert chart.last_drawn == pytest.approx(loss(n - 1))
        (xs, ys), _ = chart.series.view(chart.size.width)
        assert 0 < len(xs) <= 2 * chart.size.width  # downsampled, the whole run in view
        bucket = n / chart.size.width  # the whole run is in view, its first value the top
        assert xs[0] < bucket and xs[-1] > n - 1 - bucket
        assert max(ys) == max(loss(i) for i in range(100))
        assert chart.is_mounted and not app._exit  # the dashboard is alive

        await pilot.pause(0.3)  # the follower is listening (it starts with the first screen)
        append(store_copy, run_id, n, 5)
        await settle(pilot, lambda: chart.drawn == n + 5)
        assert chart.last_drawn == -1.0 - (n + 4)
        (xs, ys), _ = chart.series.view(chart.size.width)
        assert xs[-1] == n + 4 and min(ys) == -1.0 - (n + 4)  # the new point is drawn
        assert charts_of(screen)["acc"].drawn == n  # only what changed was read

        # Log scale, time axis and smoothing redraw from the same summaries.
        await pilot.press("l", "x", "plus")
        assert chart.log_scale and chart.by_time and chart.smoothing == 0.1
        await pilot.press("escape")
        await settle(pilot, lambda: not isinstance(app.screen, RunDetailScreen))


@sync
async def test_long_runs_compared_chart_every_point_and_follow(store_copy):
    ids = run_ids(store_copy)
    app = MltopApp(store_copy)
    async with app.run_test(size=(120, 40)) as pilot:
        runs_table = app.screen.query_one(RunsTable)
        await settle(pilot, lambda: len(runs_table.runs) == len(SIZES))
        await pilot.press("space", "j", "space", "c")  # mark both, compare
        await settle(pilot, lambda: isinstance(app.screen, CompareScreen))
        screen = app.screen
        await pilot.press("2")  # the charts
        lengths = sorted(SIZES.values())

        def drawn() -> dict[str, list[int]]:
            return {c.metric: sorted(c.drawn) for c in screen.query(CompareChart)}

        await settle(pilot, lambda: drawn() == dict.fromkeys(KEYS, lengths))
        await pilot.pause(0.3)
        append(store_copy, ids["long"], SIZES["long"], 3)
        await settle(pilot, lambda: drawn()["loss"] == [SIZES["short"], SIZES["long"] + 3])
        chart = next(c for c in screen.query(CompareChart) if c.metric == "loss")
        long_line = next(series for name, _hue, series in chart.lines if name == "long")
        (xs, ys), _ = long_line.view(chart.size.width)
        assert xs[-1] == SIZES["long"] + 2 and ys[-1] == -1.0 - (SIZES["long"] + 2)
        assert drawn()["acc"] == lengths


@sync
async def test_a_long_history_is_read_as_summaries_not_points(store_copy, monkeypatch):
    """Opening the million-point run reads its blocks, never a million points."""
    read: list[int] = []
    original = Store.get_metric_history

    def counting(self, *args, **kwargs):
        points = original(self, *args, **kwargs)
        read.append(len(points))
        return points

    monkeypatch.setattr(Store, "get_metric_history", counting)
    app = MltopApp(store_copy, follow=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, app, "long")
        await settle(
            pilot,
            lambda: (
                len(charts_of(screen)) == len(KEYS)
                and all(c.drawn == SIZES["long"] for c in charts_of(screen).values())
            ),
        )
        assert max(read) < 256  # the points after the last whole block, at most


EXTREMES = {
    "diverging": [0.5, 3.0, 1e10, 1e100, 1e300, 1.5e308, math.inf, math.nan, -1.7e308],
    "subnormal": [0.0, 1e-320, 2e-320, 5e-324, 1e-310],
    "all-negative": [-3.0, -2.5, -2.0, -1.0],
    "all-nan": [math.nan, math.nan],
}


@pytest.mark.parametrize("name", list(EXTREMES))
@sync
async def test_a_chart_of_any_values_is_drawn_on_any_axis_and_never_exits(store_path, name):
    """Values plotext cannot put on an axis (near the float range's ends, subnormal), and
    a log scale with nothing above zero: the chart draws what it can and the app goes on."""
    client = MltopClient(Store(store_path))
    run_id = client.create_run(run_name=name, log_system_info=False).info.run_id
    for step, value in enumerate(EXTREMES[name]):
        client.log_metric(run_id, "loss", value, step=step)
        client.log_metric(run_id, "elbo", -value if math.isfinite(value) else value, step=step)
    client.close()
    app = MltopApp(store_path, follow=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_only_run(pilot, app)
        await settle(pilot, lambda: len(charts_of(screen)) == 2)
        for keys in (("l",), ("x", "plus"), ("x", "plus", "l"), ("minus",)):
            await pilot.press(*keys)
            await pilot.pause(0.2)  # each chart redrawn and rendered
            for chart in charts_of(screen).values():
                chart.render()  # what the screen drew, drawn again here: it must not raise
        assert app.is_running
        assert not [n for n in app._notifications if n.severity == "error"]


@sync
async def test_many_charts_scroll_from_the_keyboard(store_path):
    client = MltopClient(Store(store_path))
    run_id = client.create_run(run_name="many", log_system_info=False).info.run_id
    for k in range(12):
        for step in range(3):
            client.log_metric(run_id, f"m{k:02d}", float(step * k), step=step)
    client.close()
    app = MltopApp(store_path, follow=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_only_run(pilot, app)
        await settle(pilot, lambda: len(charts_of(screen)) == 6)
        await pilot.press("m", "a", "enter")  # all twelve
        await settle(pilot, lambda: len(charts_of(screen)) == 12)
        grid = screen.query_one("#charts")
        assert app.focused is grid and grid.max_scroll_y > 0
        await pilot.press("pagedown")
        await settle(pilot, lambda: grid.scroll_y > 0)
        await pilot.press("end")
        await settle(pilot, lambda: grid.scroll_y == grid.max_scroll_y)
