"""The run detail's System tab: system metrics logged by the sampler (with a fake NVML)
charted in groups, the run's GPU memory, the empty state, following a live run, 80×24 and
what it looks like at 120×40."""

from __future__ import annotations

import fcntl
import itertools
import math
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from fake_nvml import install
from test_dashboard import settle, sync
from test_system_metrics import run_sampler, two_gpus

from mltop.store import MltopClient, Store
from mltop.tui.app import MltopApp
from mltop.tui.screens.run_detail import RunDetailScreen
from mltop.tui.widgets.metric_chart import MetricChart
from mltop.tui.widgets.runs_table import RunsTable
from mltop.tui.widgets.system_view import EMPTY, SystemView

NOW = 1_800_000_000_000
SMALL = (80, 24)
LARGE = (120, 40)
ALL_GROUPS = [
    "CPU %",
    "memory %",
    "GPU utilisation %",
    "GPU memory MB",
    "GPU temperature °C",
    "GPU power W",
    "disk %",
    "network MB since start",
]


def make_app(path: Path) -> MltopApp:
    return MltopApp(path, follow=False, clock=lambda: NOW)


async def open_detail(pilot, runs: int, row: int) -> RunDetailScreen:
    """The runs table of `runs` runs shown: open the run on `row`, as a user does."""
    app = pilot.app

    def listed() -> bool:
        table = app.screen.query_one(RunsTable)
        return table.order is not None and len(table.runs) == runs and table.table.is_mounted

    await settle(pilot, listed)
    app.screen.query_one(RunsTable).table.move_cursor(row=row)
    await pilot.press("enter")
    await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.run)
    return app.screen


async def show_system(pilot, groups: int) -> SystemView:
    """`6`: the System tab, once read and its `groups` charts drawn."""
    await pilot.press("6")
    view = pilot.app.screen.query_one(SystemView)

    def drawn() -> bool:
        charts = view.charts()
        return view.loaded and len(charts) == groups and all(c.points() for c in charts)

    await settle(pilot, drawn)
    await pilot.pause(0.2)
    return view


def lines_of(view: SystemView) -> dict[str, list[str]]:
    return {
        chart.group.title: [label for _k, label, _s, _v in chart.lines] for chart in view.charts()
    }


@pytest.fixture
def sampled(tmp_path, monkeypatch) -> tuple[Path, str]:
    """A store with a run sampled three times (two GPUs, ours on GPU 1) that logged a loss."""
    install(monkeypatch, two_gpus())
    path = tmp_path / "store"
    with Store(path) as store:
        run_id = store.create_run(run_name="train").info.run_id
        run_sampler(store, run_id, 3)
        client = MltopClient(store)
        client.log_metrics(run_id, {"loss": 0.5}, step=1)
        client.close()
    return path, run_id


@sync
async def test_the_system_tab_charts_the_sampled_metrics_in_groups(sampled):
    path, _run_id = sampled
    app = make_app(path)
    async with app.run_test(size=LARGE) as pilot:
        screen = await open_detail(pilot, 1, 0)
        # The charts tab keeps to the user's own metrics.
        await settle(pilot, lambda: bool(screen.query(MetricChart)))
        assert [chart.key for chart in screen.query(MetricChart)] == ["loss"]
        view = await show_system(pilot, len(ALL_GROUPS))
        assert [chart.group.title for chart in view.charts()] == ALL_GROUPS
        lines = lines_of(view)
        assert lines["GPU utilisation %"] == ["gpu 0", "gpu 1"]
        assert lines["GPU memory MB"] == ["gpu 0", "gpu 1", "gpu 1 this run"]
        assert lines["network MB since start"] == ["received", "sent"]
        assert all(chart.points() == 3 * len(chart.lines) for chart in view.charts())
        table = str(view.query_one("#gpu-memory").render())
        assert "this run's memory" in table
        rows = table.splitlines()[1:]
        assert len(rows) == 1 and rows[0].split()[:3] == ["1", "4500", "MB"]
        assert "6000 MB (25 %)" in rows[0]
        assert not view.query_one("#system-empty").display
        assert app.focused is view.query_one("#system-charts")  # the keys scroll the charts


@sync
async def test_a_run_without_system_metrics_says_how_to_get_them(tmp_path):
    path = tmp_path / "store"
    with Store(path) as store:
        run_id = store.create_run(run_name="plain").info.run_id
        client = MltopClient(store)
        client.log_metrics(run_id, {"loss": 0.5})
        client.close()
    app = make_app(path)
    async with app.run_test(size=SMALL) as pilot:
        await open_detail(pilot, 1, 0)
        await pilot.press("6")
        view = app.screen.query_one(SystemView)
        await settle(pilot, lambda: view.loaded)
        empty = view.query_one("#system-empty")
        assert empty.display and str(empty.render()) == EMPTY
        assert view.charts() == []


@sync
async def test_a_run_with_only_system_metrics_says_where_they_are(tmp_path, monkeypatch):
    install(monkeypatch, None)
    path = tmp_path / "store"
    with Store(path) as store:
        run_sampler(store, store.create_run(run_name="idle").info.run_id, 1)
    app = make_app(path)
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_detail(pilot, 1, 0)
        note = screen.query_one("#no-charts")
        await settle(pilot, lambda: note.display)
        assert str(note.render()) == (
            "no metrics logged for this run; its system metrics are on the System tab (6)"
        )
        assert not screen.query(MetricChart)


@sync
async def test_the_system_tab_follows_new_samples_only_while_shown(sampled, monkeypatch):
    path, run_id = sampled
    app = make_app(path)
    async with app.run_test(size=LARGE) as pilot:
        screen = await open_detail(pilot, 1, 0)
        view = await show_system(pilot, len(ALL_GROUPS))
        cpu = next(c for c in view.charts() if c.group.title == "CPU %")
        with Store(path) as store:
            run_sampler(store, run_id, 2)  # steps 3 and 4
        screen.follow()  # what the app does when the store says the run changed
        await settle(pilot, lambda: cpu.points() == 5)
        await pilot.press("1")  # hidden: it reads nothing more...
        with Store(path) as store:
            run_sampler(store, run_id, 1)
        screen.follow()
        await pilot.pause(0.3)
        assert cpu.points() == 5 and view.stale
        await pilot.press("6")  # ...until shown again
        await settle(pilot, lambda: cpu.points() == 6)


@sync
async def test_the_system_tab_at_80x24_shows_the_gpu_table_and_a_row_of_charts(sampled):
    path, _run_id = sampled
    app = make_app(path)
    async with app.run_test(size=SMALL) as pilot:
        await open_detail(pilot, 1, 0)
        view = await show_system(pilot, len(ALL_GROUPS))
        table = view.query_one("#gpu-memory")
        assert table.region.height == 2 and table.region.width > 0
        first, second = view.charts()[:2]
        for chart in (first, second):
            assert chart.region.height >= 8  # readable: heading, plot, legend
            assert chart.region.right <= 80 and chart.region.bottom < 24
        assert first.region.y == second.region.y  # two a row
        grid = view.query_one("#system-charts")
        await pilot.press("end")  # the rest scroll into view
        await pilot.pause(0.1)
        assert grid.scroll_y > 0


# -- what it looks like ----------------------------------------------------------------------


@pytest.fixture
def system_store():
    """A store at a fixed path with fixed ids, times and readings: a run on two GPUs, ours
    on GPU 1, sampled every 10 s for five minutes."""
    path = Path(tempfile.gettempdir()) / "mltop-snapshots" / "store"
    lock = open(Path(tempfile.gettempdir()) / "mltop-snapshots.lock", "w")  # noqa: SIM115
    fcntl.flock(lock, fcntl.LOCK_EX)
    shutil.rmtree(path.parent, ignore_errors=True)
    ids = (uuid.UUID(int=n) for n in itertools.count(0x5157E30000))
    patch = pytest.MonkeyPatch()
    patch.setattr(uuid, "uuid4", lambda: next(ids))
    client = MltopClient(Store(path))
    exp = client.create_experiment("gpu-box")
    start = NOW - 600_000
    run = client.store.create_run(
        exp, "llama-ft", start_time=start, status="RUNNING", heartbeat_interval_ms=10**12
    )
    run_id = run.info.run_id
    for step in range(31):
        wave = math.sin(step / 4)
        warm = 1 - math.exp(-step / 6)
        values = {
            "system/cpu_utilization_percentage": 38 + 12 * wave,
            "system/system_memory_usage_megabytes": 41_000 + 300 * step,
            "system/system_memory_usage_percentage": 32 + 0.25 * step,
            "system/disk_usage_percentage": 61 + 0.1 * step,
            "system/disk_usage_megabytes": 1_220_000 + 2_000 * step,
            "system/disk_available_megabytes": 780_000 - 2_000 * step,
            "system/network_receive_megabytes": 14.5 * step,
            "system/network_transmit_megabytes": 2.25 * step,
            "system/gpu_0_utilization_percentage": 96 + 3 * wave,
            "system/gpu_0_memory_usage_megabytes": 19_800,
            "system/gpu_0_memory_usage_percentage": 82.5,
            "system/gpu_0_temperature_celsius": 78 + 2 * wave,
            "system/gpu_0_power_usage_watts": 260 + 15 * wave,
            "system/gpu_0_power_usage_percentage": 86.7 + 5 * wave,
            "system/gpu_1_utilization_percentage": 70 * warm + 10 * wave,
            "system/gpu_1_memory_usage_megabytes": 1_000 + 14_000 * warm,
            "system/gpu_1_memory_usage_percentage": (1_000 + 14_000 * warm) / 240,
            "system/gpu_1_temperature_celsius": 40 + 25 * warm,
            "system/gpu_1_power_usage_watts": 60 + 140 * warm,
            "system/gpu_1_power_usage_percentage": (60 + 140 * warm) / 3,
            "system/gpu_1_process_memory_megabytes": 13_500 * warm,
        }
        rounded = {key: round(value, 1) for key, value in values.items()}  # as sampled
        client.log_metrics(run_id, rounded, step=step, timestamp=start + step * 10_000)
        client.log_metrics(
            run_id,
            {"loss": 2 * math.exp(-step / 10)},
            step=step * 10,
            timestamp=start + step * 10_000,
        )
    client.store.set_tags(run_id, {"mltop.gpus": "1"})
    client.flush()
    client.close()
    patch.undo()
    yield path
    shutil.rmtree(path.parent, ignore_errors=True)
    lock.close()


def test_system_tab(snap_compare, system_store):
    async def run_before(pilot) -> None:
        await open_detail(pilot, 1, 0)
        await show_system(pilot, len(ALL_GROUPS))

    assert snap_compare(make_app(system_store), terminal_size=LARGE, run_before=run_before)
