"""What the runs screen looks like at 80×24 (the sidebar folded away), marked rows, a
name search, and with nothing to show (fixed store, fixed clock)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from test_snapshots import fixed_store, make_app, wait_loaded  # noqa: F401 (a fixture)

from mltop.store import Store
from mltop.tui.app import MltopApp

SMALL = (80, 24)


def test_runs_screen_80x24(snap_compare, fixed_store):  # noqa: F811
    async def run_before(pilot) -> None:
        await wait_loaded(pilot)
        await pilot.press("j", "space", "j", "space")  # two rows marked

    assert snap_compare(make_app(fixed_store), terminal_size=SMALL, run_before=run_before)


def test_runs_screen_80x24_with_the_experiments_shown(snap_compare, fixed_store):  # noqa: F811
    async def run_before(pilot) -> None:
        await wait_loaded(pilot)
        await pilot.press("e")

    assert snap_compare(make_app(fixed_store), terminal_size=SMALL, run_before=run_before)


def test_name_search_with_no_match_80x24(snap_compare, fixed_store):  # noqa: F811
    async def run_before(pilot) -> None:
        await wait_loaded(pilot)
        await pilot.press("slash")
        pilot.app.screen.query_one("#filter").cursor_blink = False
        await pilot.press(*"zzz")
        for _ in range(500):
            await pilot.pause(0.02)
            if "shown" in pilot.app.screen.query_one("#empty").classes:
                break
        await pilot.pause(0.1)

    assert snap_compare(make_app(fixed_store), terminal_size=SMALL, run_before=run_before)


def _empty_store(folder: str) -> MltopApp:
    # At a fixed path: the header shows it.
    path = Path(tempfile.gettempdir()) / folder / "store"
    shutil.rmtree(path.parent, ignore_errors=True)
    Store(path).close()
    return MltopApp(path, follow=False, clock=lambda: 1_800_000_000_000)


async def _empty_shown(pilot) -> None:
    for _ in range(500):
        await pilot.pause(0.02)
        if "shown" in pilot.app.screen.query_one("#empty").classes:
            break
    await pilot.pause(0.1)


def test_an_empty_store_80x24(snap_compare):
    app = _empty_store("mltop-snapshots-empty")
    assert snap_compare(app, terminal_size=SMALL, run_before=_empty_shown)


def _picker_with_a_best_so_far_column(size: tuple[int, int]):
    async def run_before(pilot) -> None:
        from mltop.tui.screens.columns import ColumnsScreen

        await wait_loaded(pilot)
        await pilot.press("C")
        for _ in range(500):
            await pilot.pause(0.02)
            if isinstance(pilot.app.screen, ColumnsScreen):
                break
        await pilot.press("G")  # the last offered: a metric's max so far
        await pilot.press("space")
        await pilot.pause(0.1)

    return run_before


def test_column_picker_80x24(snap_compare, fixed_store):  # noqa: F811
    run_before = _picker_with_a_best_so_far_column(SMALL)
    assert snap_compare(make_app(fixed_store), terminal_size=SMALL, run_before=run_before)


def test_column_picker_120x40(snap_compare, fixed_store):  # noqa: F811
    run_before = _picker_with_a_best_so_far_column((120, 40))
    assert snap_compare(make_app(fixed_store), terminal_size=(120, 40), run_before=run_before)


def test_a_best_so_far_column_120x40(snap_compare, fixed_store):  # noqa: F811
    async def run_before(pilot) -> None:
        await _picker_with_a_best_so_far_column((120, 40))(pilot)
        await pilot.press(*"KKKKKKK", "enter")  # moved up to the first metric, applied
        await pilot.pause(0.3)

    assert snap_compare(make_app(fixed_store), terminal_size=(120, 40), run_before=run_before)


def test_an_empty_store_120x40(snap_compare):
    app = _empty_store("mltop-snapshots-empty-wide")
    assert snap_compare(app, terminal_size=(120, 40), run_before=_empty_shown)
