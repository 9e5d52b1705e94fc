"""Charts as a user works them: the x axis (`x`), round ticks, the log scale shown, the value
cursor (left / right), zoom (`z` `Z` `0`, escape), legends outside the plot, a marker per
compared run, one point shown as a number, and pictures built only when something changed."""

from __future__ import annotations

import io
import os
import re
import time

import pytest
from rich.console import Console
from test_dashboard import held, settle, sync
from test_snapshots import NOW, fixed_store, make_app, open_compare, open_run

from mltop.store import MltopClient, Store
from mltop.tui import ticks
from mltop.tui.screens.compare import CompareChart
from mltop.tui.screens.run_detail import RunDetailScreen
from mltop.tui.widgets.metric_chart import FULL, MetricChart, Plot

__all__ = ["fixed_store"]  # the fixture, used by name

# The fixed store's charted run (resnet-lr0.1): steps 0..59, a point every 20 s.
RUN_ROW = 1
SINGLE_ROW = 0  # resnet-lr0.01: one point per metric


def text_of(chart: Plot) -> str:
    """What the chart shows, as plain text."""
    console = Console(width=chart.size.width, file=io.StringIO(), record=True, color_system=None)
    console.print(chart.render())
    return console.export_text()


def loss_chart(screen: RunDetailScreen) -> MetricChart:
    return next(c for c in screen.query(MetricChart) if c.key == "loss")


# -- ticks ---------------------------------------------------------------------------------


def test_integer_steps_get_integer_ticks_at_round_values():
    xs, labels = ticks.step_ticks(0, 9, 4)
    assert all(x == int(x) for x in xs) and labels == ["0", "2", "4", "6", "8"]
    xs, labels = ticks.step_ticks(0, 3, 10)  # more ticks asked than steps: never a half step
    assert labels == ["0", "1", "2", "3"]
    assert ticks.step_ticks(3, 621, 3)[1] == ["200", "400", "600"]


def test_elapsed_ticks_are_round_spans_of_time():
    assert ticks.elapsed_ticks(0, 40, 4)[1] == ["0", "10s", "20s", "30s", "40s"]
    assert ticks.elapsed_ticks(0, 1200, 4)[1] == ["0", "5m", "10m", "15m", "20m"]
    assert ticks.elapsed_ticks(0, 3 * 3600, 3)[1] == ["0", "1h", "2h", "3h"]
    assert ticks.duration_label(90) == "1m30s" and ticks.duration_label(86400 * 2.5) == "2d12h"


@pytest.fixture
def utc():
    """Local time is UTC for the test (then as it was)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def test_clock_ticks_read_as_times_of_day_never_unix_seconds(utc):
    start = 1_800_000_000  # 2027-01-15 08:00:00 UTC
    assert ticks.clock_ticks(start, start + 3600, 4)[1] == [
        "08:00",
        "08:15",
        "08:30",
        "08:45",
        "09:00",
    ]
    assert ticks.clock_ticks(start, start + 60, 4)[1] == [
        "08:00:00",
        "08:00:15",
        "08:00:30",
        "08:00:45",
        "08:01:00",
    ]
    assert ticks.clock_ticks(start, start + 5 * 86400, 3)[1][0] == "01-16"  # days apart


# -- the run detail's charts ---------------------------------------------------------------


@sync
async def test_x_cycles_step_elapsed_clock_with_round_ticks(fixed_store):
    app = make_app(fixed_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_run(pilot, RUN_ROW)
        screen = app.screen
        chart = loss_chart(screen)
        shown = text_of(chart)
        assert "x: step" in shown and re.search(r"\b20 +40\b", shown)
        await pilot.press("x")
        assert chart.x_axis == "elapsed"
        await pilot.pause()
        shown = text_of(chart)
        assert "x: time since start" in shown
        # Points 20 s apart from the run's start, the last 20 minutes in.
        assert re.search(r"\b0 +5m +10m +15m\b", shown), shown
        await pilot.press("x")
        assert chart.x_axis == "clock"
        await pilot.pause()
        shown = text_of(chart)
        assert "x: clock time" in shown and re.search(r"\d\d:\d\d", shown)
        assert not re.search(r"\d{9}", shown)  # never raw Unix seconds
        await pilot.press("x")
        assert chart.x_axis == "step"


@sync
async def test_the_log_scale_says_it_is_on(fixed_store):
    app = make_app(fixed_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_run(pilot, RUN_ROW)
        chart = loss_chart(app.screen)
        assert "log y" not in text_of(chart)
        await pilot.press("l")
        await pilot.pause()
        assert chart.log_scale and "log y" in text_of(chart).splitlines()[0]
        await pilot.press("l")
        await pilot.pause()
        assert "log y" not in text_of(chart)


@sync
async def test_the_title_shows_the_latest_value_and_the_legend_is_below_the_plot(fixed_store):
    app = make_app(fixed_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_run(pilot, RUN_ROW)
        lines = text_of(loss_chart(app.screen)).splitlines()
        assert lines[0].startswith("loss  0.35  step 59")
        assert lines[-1].startswith("x: step")
        assert "└" in lines[-3]  # the plot's frame ends above the tick labels and legend
        await pilot.press("plus")  # smoothed: the legend names both lines
        await pilot.pause()
        assert re.search(r"raw .*EMA 0\.10", text_of(loss_chart(app.screen)).splitlines()[-1])


@sync
async def test_left_and_right_walk_a_value_cursor(fixed_store):
    app = make_app(fixed_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_run(pilot, RUN_ROW)
        screen = app.screen
        chart = loss_chart(screen)
        assert screen.cursor is None and chart.readout == ""
        await pilot.press("left")  # the cursor appears on the latest point
        await pilot.pause()
        text_of(chart)
        assert screen.cursor == 59  # an x value: the step
        # Step, time since the start (its last point, 20 minutes in) and clock time, then
        # the value.
        assert re.match(r"step 59 · 20m · \d\d:\d\d:\d\d 0\.35$", chart.readout)
        for _ in range(12):
            await pilot.press("left")
        await pilot.pause()
        text_of(chart)
        step = int(re.match(r"step (\d+)", chart.readout).group(1))
        assert 40 <= step <= 52
        await pilot.press("right")
        await pilot.pause()
        text_of(chart)
        assert int(re.match(r"step (\d+)", chart.readout).group(1)) > step
        assert "▏step" in text_of(chart).splitlines()[-1]  # said under the plot
        await pilot.press("shift+left", "shift+left", "shift+left", "shift+left", "shift+left")
        await pilot.press("shift+left", "shift+left")
        await pilot.pause()
        text_of(chart)
        assert screen.cursor == 0 and chart.readout.startswith("step 0 ")


@sync
async def test_the_cursor_stays_on_its_point_while_a_live_run_grows(fixed_store):
    """The cursor is a place on the x axis, not a fraction of the range: more points
    logged (the range doubles) leave it on the same step, on every axis."""
    app = make_app(fixed_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_run(pilot, RUN_ROW)
        screen = app.screen
        chart = loss_chart(screen)
        await pilot.press(*["left"] * 13)
        await pilot.pause()
        text_of(chart)
        before = chart.readout.split(" · ")[0]
        assert re.fullmatch(r"step 4\d", before), chart.readout
        client = MltopClient(Store(fixed_store))
        start = NOW - 2 * 3_600_000  # the run's start (the fixture's second run)
        for step in range(60, 120):
            client.log_metric(screen.run_id, "loss", 0.3, start + step * 20_000, step)
        client.close()
        screen.follow()  # as a live change does
        await settle(pilot, lambda: chart.drawn == 120)
        text_of(chart)
        assert chart.readout.split(" · ")[0] == before
        assert "step 119" in chart.title().plain or chart.whole == (0, 119)
        for axis in ("elapsed", "clock", "step"):  # and it stays there as the axis cycles
            await pilot.press("x")
            await pilot.pause()
            text_of(chart)
            assert screen.x_axis == axis and chart.readout.split(" · ")[0] == before


@sync
async def test_z_zooms_around_the_cursor_Z_and_0_and_escape_come_back(fixed_store):
    app = make_app(fixed_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_run(pilot, RUN_ROW)
        screen = app.screen
        chart = loss_chart(screen)
        await pilot.press("left", "z")
        assert screen.zoom == (0.5, 1.0) and chart.zoom == (0.5, 1.0)
        assert screen.cursor == 59  # still on the latest point
        await pilot.pause()
        shown = text_of(chart)
        assert "zoom 50%" in shown.splitlines()[0]
        assert re.search(r"\b30\b", shown) and not re.search(r"\b10\b", shown.splitlines()[-2])
        await pilot.press("z")
        assert screen.zoom == (0.75, 1.0)
        await pilot.press("Z")
        assert screen.zoom == (0.5, 1.0)
        await pilot.press("0")
        assert screen.zoom == FULL and screen.cursor is None
        await pilot.press("z", "escape")  # escape takes the zoom first...
        assert screen.zoom == FULL and app.screen is screen
        await pilot.press("escape")  # ...then the screen
        await settle(pilot, lambda: app.screen is not screen)


@sync
async def test_a_metric_with_one_point_is_a_number_not_an_empty_chart(fixed_store):
    app = make_app(fixed_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_run(pilot, SINGLE_ROW)
        shown = text_of(loss_chart(app.screen))
        assert "0.21" in shown and "one point, step 0" in shown
        assert "┌" not in shown  # no plot frame


@sync
async def test_a_picture_is_built_once_per_change_not_per_repaint(fixed_store, monkeypatch):
    app = make_app(fixed_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_run(pilot, RUN_ROW)
        chart = loss_chart(app.screen)
        builds: list[int] = []
        original = Plot._picture

        def counted(self, width, height):
            builds.append(1)
            return original(self, width, height)

        monkeypatch.setattr(Plot, "_picture", counted)
        first = chart.render()
        chart.refresh()
        await pilot.pause(0.1)
        assert chart.render() is first and not builds  # a repaint reuses the picture
        await pilot.press("l")
        await pilot.pause(0.1)
        assert chart.render() is not first and len(builds) == 2  # two charts, built once each


# -- compare -------------------------------------------------------------------------------


async def compare_charts(pilot) -> list[CompareChart]:
    await open_compare(pilot)
    await pilot.press("2")
    await settle(
        pilot,
        lambda: (
            len(charts := list(pilot.app.screen.query(CompareChart))) == 2
            and all(len(c.compared) == 3 for c in charts)
        ),
    )
    await pilot.pause(0.2)
    return sorted(pilot.app.screen.query(CompareChart), key=lambda c: c.metric)


@sync
async def test_each_compared_run_has_its_own_marker_so_no_colour_tells_them_apart(fixed_store):
    app = make_app(fixed_store)
    async with app.run_test(size=(120, 40)) as pilot:
        loss = (await compare_charts(pilot))[0]
        legend = text_of(loss).splitlines()[-2:]
        markers = re.findall(r"([•x+]) (resnet|\[bold)", " ".join(legend))
        assert [m for m, _name in markers] == ["•", "x", "+"]  # one each, all different
        plot = "\n".join(text_of(loss).splitlines()[1:-3])
        assert "x" in plot and "+" in plot  # the lines are drawn with them


@sync
async def test_compare_charts_follow_x_cursor_and_zoom(fixed_store):
    app = make_app(fixed_store)
    async with app.run_test(size=(120, 40)) as pilot:
        loss, val_acc = await compare_charts(pilot)
        screen = app.screen
        await pilot.press("x", "left", "z")
        assert {loss.x_axis, val_acc.x_axis} == {"elapsed"}
        assert loss.zoom == val_acc.zoom == (0.5, 1.0)
        assert loss.cursor == val_acc.cursor == 1200  # 20 minutes in: the latest point
        await pilot.pause()
        legend = " ".join(text_of(loss).splitlines()[-2:])
        assert re.search(r"▏step 59 · 20m · .*resnet-lr0\.1 0\.35", legend), legend
        await pilot.press("escape")
        assert screen.zoom == FULL and app.screen is screen


@pytest.mark.parametrize("axis", ["elapsed", "clock"])
def test_elapsed_and_clock_axes_use_the_points_times(axis):
    """The times charted are those logged (seconds), counted from the run's start."""
    from mltop.tui.downsample import Series
    from mltop.tui.widgets.metric_chart import series_lines

    class Point:
        def __init__(self, step: int) -> None:
            self.step, self.timestamp, self.value = step, NOW + step * 20_000, float(step)

    series = Series.of([Point(s) for s in range(10)])
    (line,) = series_lines(series, 40, axis, NOW / 1000 - 60, log=False, with_points=True)
    expected = [60 + 20 * s for s in range(10)] if axis == "elapsed" else None
    if expected is not None:
        assert line.xs == expected
    else:
        assert line.xs[0] == NOW / 1000
    assert line.steps == list(range(10)) and line.times[0] == NOW / 1000


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light", "clear"])
def test_a_chart_is_drawn_from_plotexts_cells_as_plotext_writes_it(theme):
    """The picture made from plotext's matrix of cells is what its ANSI text says: the
    same characters, colours and styles."""
    from rich.text import Text
    from textual_plotext.plot import Plot as Figure

    from mltop.tui.widgets.metric_chart import matrix_text

    def figure() -> Figure:
        fig = Figure()
        fig.plotsize(60, 12)
        fig._set_size(60, 12)
        fig.theme(theme)
        xs = list(range(80))
        fig.plot(xs, [1 / (1 + x) for x in xs], marker="braille")
        fig.plot(xs, [0.5 / (1 + x) for x in xs], marker="x", color=(200, 100, 50))
        fig.vline(40, "gray")
        return fig

    def styled(text: Text) -> str:
        console = Console(width=80, file=io.StringIO(), record=True, color_system="truecolor")
        console.print(text)
        return console.export_text(styles=True)

    expected = Text.from_ansi(figure().build().rstrip("\n"))
    assert styled(matrix_text(figure())) == styled(expected)


def test_live_charts_redraw_at_once_within_their_share_of_a_core_and_wait_beyond_it():
    from mltop.tui.widgets.metric_chart import BUILD_SHARE, BUILD_WINDOW, ChartGrid

    grid = ChartGrid()
    now = 1000.0
    build = BUILD_SHARE * BUILD_WINDOW / 4  # four builds fill the share
    assert grid.budget_wait(now, build) == 0  # nothing built lately: at once
    grid._builds.extend([(now - 0.9, build), (now - 0.5, build), (now - 0.2, build)])
    assert grid.budget_wait(now, build) == 0  # the fourth still fits
    grid._builds.append((now - 0.1, build))
    # A fifth must wait until the oldest leaves the window.
    assert grid.budget_wait(now, build) == pytest.approx(BUILD_WINDOW - 0.9)
    assert grid.budget_wait(now + 0.2, build) == 0  # (it has left by then)
    # A build dearer than the whole share: once the last build has left the window.
    dear = 2 * BUILD_SHARE * BUILD_WINDOW
    assert grid.budget_wait(now, dear) == pytest.approx(BUILD_WINDOW - 0.1)


@sync
async def test_the_charts_tab_says_it_is_reading_until_the_first_read_ends(
    fixed_store, monkeypatch
):
    """A long history on a server takes seconds to read: the tab says so meanwhile, not a
    blank pane, and the note goes once the charts are there."""
    from mltop.tui.screens import run_detail

    release = held(monkeypatch, run_detail, "chart_data")
    app = make_app(fixed_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: app.screen.query("RunsTable") and app.screen.query_one(
            "RunsTable").runs)  # fmt: skip
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        screen = app.screen
        note = screen.query_one("#no-charts")
        await pilot.pause(0.2)
        assert note.display and "reading the run and its metric histories" in str(note.render())
        assert not list(screen.query(MetricChart))
        release.set()
        await settle(pilot, lambda: len(screen.query(MetricChart)) > 0)
        await settle(pilot, lambda: not note.display)
