"""What the dashboard looks like, at 120×40, on a fixed store with a fixed clock."""

from __future__ import annotations

import fcntl
import itertools
import math
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from mltop.store import MltopClient, Store
from mltop.tui.app import MltopApp
from mltop.tui.widgets.runs_table import RunsTable

NOW = 1_800_000_000_000
SIZE = (120, 40)


@pytest.fixture
def fixed_store():
    """A store at a fixed path (it is shown in the header) with fixed times."""
    path = Path(tempfile.gettempdir()) / "mltop-snapshots" / "store"
    # Two test sessions at once on one machine would share the path: take turns.
    lock = open(Path(tempfile.gettempdir()) / "mltop-snapshots.lock", "w")  # noqa: SIM115
    fcntl.flock(lock, fcntl.LOCK_EX)
    shutil.rmtree(path.parent, ignore_errors=True)
    # Run ids are shown on the detail screen: make them the same every time.
    ids = (uuid.UUID(int=n) for n in itertools.count(0xC0FFEE0000))
    # (A patch of its own: undoing the test's would undo the environment's isolation too.)
    patch = pytest.MonkeyPatch()
    patch.setattr(uuid, "uuid4", lambda: next(ids))
    client = MltopClient(Store(path))
    exp = client.create_experiment("cifar10")
    rows = [
        ("resnet-lr0.01", "RUNNING", 0.912, 0.21, {"lr": "0.01", "opt": "sgd"}),
        ("resnet-lr0.1", "FINISHED", 0.874, 0.35, {"lr": "0.1", "opt": "sgd"}),
        ("resnet-lr0.3", "FAILED", float("nan"), float("nan"), {"lr": "0.3", "opt": "adam"}),
        ("[bold red]injected[/] \x1b[2J", "KILLED", 0.5, 1.2, {"lr": "[i]0.2[/i]"}),
    ]
    for i, (name, status, acc, loss, params) in enumerate(rows):
        start = NOW - (i + 1) * 3_600_000
        run = client.store.create_run(
            exp, name, start_time=start, status="RUNNING", heartbeat_interval_ms=10**12
        )
        client.log_params(run.info.run_id, params)
        if name == "resnet-lr0.1":  # a history to chart, ending on the values above
            for step in range(59):
                client.log_metrics(
                    run.info.run_id,
                    {
                        "loss": loss + 2 * math.exp(-step / 12) + 0.05 * math.sin(step),
                        "val_acc": acc - 0.6 * math.exp(-step / 15),
                    },
                    step=step,
                    timestamp=start + step * 20_000,
                )
            client.log_metrics(
                run.info.run_id,
                {"val_acc": acc, "loss": loss},
                step=59,
                timestamp=start + 1_200_000,
            )
        else:
            client.log_metrics(run.info.run_id, {"val_acc": acc, "loss": loss}, timestamp=start)
        client.flush()
        if status != "RUNNING":
            client.store.update_run(run.info.run_id, status=status, end_time=start + 1_500_000)
    client.close()
    patch.undo()
    yield path
    shutil.rmtree(path.parent, ignore_errors=True)
    lock.close()


def make_app(path: Path) -> MltopApp:
    return MltopApp(path, follow=False, clock=lambda: NOW)


async def wait_loaded(pilot) -> None:
    app = pilot.app
    for _ in range(1000):
        await pilot.pause(0.02)
        runs_table = app.screen.query_one(RunsTable)
        table = runs_table.table
        ready = runs_table.order is not None and len(runs_table.runs) == 4
        ready = ready and app.screen.alerts_looked_at  # the running run's alerts shown too
        if ready and table.is_mounted and app.focused is table:
            break
    await pilot.pause(0.1)


def test_runs_screen(snap_compare, fixed_store):
    assert snap_compare(make_app(fixed_store), terminal_size=SIZE, run_before=wait_loaded)


def test_filter_error(snap_compare, fixed_store):
    async def run_before(pilot) -> None:
        await wait_loaded(pilot)
        await pilot.press("slash")
        filter_input = pilot.app.screen.query_one("#filter")
        filter_input.cursor_blink = False  # a blinking cursor would make the picture flicker
        filter_input.value = "metrics.val_acc > high"
        await pilot.press("enter")
        await pilot.pause(0.2)

    assert snap_compare(make_app(fixed_store), terminal_size=SIZE, run_before=run_before)


async def open_run(pilot, row: int) -> None:
    from mltop.tui.screens.run_detail import RunDetailScreen
    from mltop.tui.widgets.metric_chart import MetricChart

    await wait_loaded(pilot)
    app = pilot.app
    app.screen.query_one(RunsTable).table.move_cursor(row=row)
    await pilot.press("enter")
    for _ in range(1000):
        await pilot.pause(0.02)
        screen = app.screen
        if isinstance(screen, RunDetailScreen) and screen.run is not None:
            charts = list(screen.query(MetricChart))
            if len(charts) == 2 and all(chart.drawn for chart in charts):
                break
    await pilot.pause(0.3)


def test_run_detail(snap_compare, fixed_store):
    async def run_before(pilot) -> None:
        await open_run(pilot, 1)

    assert snap_compare(make_app(fixed_store), terminal_size=SIZE, run_before=run_before)


def test_injected_run_detail_shows_the_text_literally(snap_compare, fixed_store):
    async def run_before(pilot) -> None:
        await open_run(pilot, 3)
        await pilot.press("2")  # the params tab: lr = "[i]0.2[/i]"
        await pilot.pause(0.2)

    assert snap_compare(make_app(fixed_store), terminal_size=SIZE, run_before=run_before)


def test_help(snap_compare, fixed_store):
    async def run_before(pilot) -> None:
        await wait_loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.3)

    assert snap_compare(make_app(fixed_store), terminal_size=SIZE, run_before=run_before)


async def open_compare(pilot) -> None:
    from mltop.tui.screens.compare import CompareScreen

    await wait_loaded(pilot)
    await pilot.press("space", "j", "space", "j", "j", "space", "c")
    for _ in range(1000):
        await pilot.pause(0.02)
        if isinstance(pilot.app.screen, CompareScreen) and pilot.app.screen.shown_rows:
            break
    await pilot.pause(0.2)


def test_compare(snap_compare, fixed_store):
    assert snap_compare(make_app(fixed_store), terminal_size=SIZE, run_before=open_compare)


def test_compare_charts(snap_compare, fixed_store):
    from mltop.tui.screens.compare import CompareChart

    async def run_before(pilot) -> None:
        await open_compare(pilot)
        await pilot.press("2")
        for _ in range(1000):
            await pilot.pause(0.02)
            charts = list(pilot.app.screen.query(CompareChart))
            if len(charts) == 2 and all(chart.lines for chart in charts):
                break
        await pilot.pause(0.3)

    assert snap_compare(make_app(fixed_store), terminal_size=SIZE, run_before=run_before)


@pytest.fixture
def registry_store(fixed_store):
    """The fixed store plus a model: v1 Production, v2 Staging, a policy; fixed times."""
    from mltop.store.sqlite import registry as registry_module

    patch = pytest.MonkeyPatch()
    patch.setattr(registry_module, "now_ms", lambda: NOW - 600_000)
    with Store(fixed_store) as store:
        runs = {r.info.run_name: r.info.run_id for r in store.search_runs()}
        registry = store.registry
        registry.create_registered_model("resnet")
        registry.create_model_version("resnet", f"runs:/{runs['resnet-lr0.1']}/model")
        registry.create_model_version("resnet", f"runs:/{runs['resnet-lr0.01']}/model")
        injected = runs["[bold red]injected[/] \x1b[2J"]
        registry.create_model_version("resnet", f"runs:/{injected}/model")
        registry.transition("resnet", 1, "Production", "first release", user="ana")
        registry.transition("resnet", 2, "Staging", "nightly eval passed", user="ci-bot")
        registry.set_alias("resnet", "champion", 1, user="ana")
        registry.set_policy("resnet", "metrics.val_acc >= 0.9 and metrics.loss < 0.3")
    patch.undo()
    return fixed_store


async def model_shown(pilot) -> None:
    """The registry's model panel shows the version under the cursor whole (read, its
    files checked)."""
    for _ in range(1000):
        if pilot.app.screen.model_shown:
            break
        await pilot.pause(0.02)
    await pilot.pause(0.05)


async def open_registry(pilot, version: int | None = None, key: str | None = None) -> None:
    from textual.widgets import DataTable

    from mltop.tui.screens.registry import RegistryScreen

    await wait_loaded(pilot)
    await pilot.press("r")
    app = pilot.app
    for _ in range(1000):
        await pilot.pause(0.02)
        screen = app.screen
        if isinstance(screen, RegistryScreen) and screen.query_one("#versions").row_count == 3:
            break
    versions = app.screen.query_one("#versions", DataTable)
    versions.focus()
    if version is not None:
        versions.move_cursor(row=[k.value for k in versions.rows].index(str(version)))
    await model_shown(pilot)
    if version is not None:
        await pilot.press(key)
        for _ in range(1000):
            await pilot.pause(0.02)
            if app.screen.__class__.__name__ == "TransitionDialog" and app.screen.plan:
                break
        app.screen.query_one("#comment").cursor_blink = False
    await pilot.pause(0.3)


def test_registry(snap_compare, registry_store):
    assert snap_compare(make_app(registry_store), terminal_size=SIZE, run_before=open_registry)


def test_promotion_dialog_policy_passes(snap_compare, registry_store):
    async def run_before(pilot) -> None:
        await open_registry(pilot, 2, "P")  # resnet-lr0.01: val_acc 0.912, loss 0.21

    assert snap_compare(make_app(registry_store), terminal_size=SIZE, run_before=run_before)


def test_promotion_dialog_policy_fails(snap_compare, registry_store):
    async def run_before(pilot) -> None:
        await open_registry(pilot, 3, "P")  # the injected run: val_acc 0.5, loss 1.2

    assert snap_compare(make_app(registry_store), terminal_size=SIZE, run_before=run_before)
