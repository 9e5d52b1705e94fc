"""The run detail and compare screens as a user works them: `y` copies the run id, `o` pages
an artifact, the footer shows the keys of the tab shown (and always `?` and `q`), the list
keys on every table, the summary without empty facts; and what they look like at 80×24
and 120×40."""

from __future__ import annotations

import contextlib
import stat
from pathlib import Path

from test_dashboard import settle, sync
from test_snapshots import fixed_store, make_app, open_compare, open_run
from textual.widgets import DataTable, Tree
from textual.widgets._footer import FooterKey

from mltop.store import MltopClient, Store
from mltop.tui.screens.compare import CompareChart

__all__ = ["fixed_store"]  # the fixture, used by name

RUN_ROW = 1  # resnet-lr0.1: charted, two params
SMALL = (80, 24)
LARGE = (120, 40)


def last_note(app) -> str:
    """The message of the latest notification."""
    return list(app._notifications)[-1].message


def footer_keys(app) -> list[str]:
    return [key.key_display or key.key for key in app.screen.query(FooterKey)]


# -- y, o ----------------------------------------------------------------------------------


@sync
async def test_y_copies_the_run_id(fixed_store):
    app = make_app(fixed_store)
    async with app.run_test(size=LARGE) as pilot:
        await open_run(pilot, RUN_ROW)
        screen = app.screen
        await pilot.press("y")
        assert app.clipboard == screen.run_id
        await pilot.press("2", "y")  # on every tab
        assert app.clipboard == screen.run_id


def fake_pager(tmp_path: Path) -> tuple[str, Path]:
    """A $PAGER that writes what it was given (its arguments, then the file) to a file."""
    out = tmp_path / "paged.txt"
    script = tmp_path / "pager.sh"
    script.write_text(f'#!/bin/sh\necho "$@" > {out}\ncat "$1" >> {out}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script), out


@sync
async def test_o_pages_the_highlighted_artifact_and_refuses_folders_and_binaries(
    fixed_store, tmp_path, monkeypatch
):
    pager, paged = fake_pager(tmp_path)
    monkeypatch.setenv("PAGER", pager)
    app = make_app(fixed_store)
    suspended: list[bool] = []

    @contextlib.contextmanager
    def suspend():  # the headless driver cannot hand the terminal over
        suspended.append(True)
        yield

    monkeypatch.setattr(app, "suspend", suspend)
    async with app.run_test(size=LARGE) as pilot:
        await open_run(pilot, RUN_ROW)
        screen = app.screen
        with Store(fixed_store) as store:
            repo = store.artifacts(screen.run_id)
            repo.write_text("lr: 0.1\n", "config/[b]params.yaml")
            repo.write_bytes(b"\x00\x01" * 50, "model.bin")
            repo.write_text("hello\n", "notes.txt")
        await pilot.press("5")
        tree = screen.query_one(Tree)
        await settle(pilot, lambda: len(tree.root.children) == 3 and app.focused is tree)
        assert "o" in footer_keys(app)
        await pilot.press("o")  # config/ is a folder
        await pilot.pause()
        assert not suspended and "folder" in last_note(app)
        await pilot.press("j", "o")  # model.bin
        await pilot.pause()
        assert not suspended and "binary" in last_note(app)
        await pilot.press("j", "o")  # notes.txt
        await settle(pilot, lambda: paged.exists())
        assert suspended == [True]
        args, text = paged.read_text().split("\n", 1)
        assert Path(args).resolve() == repo.local_path("notes.txt").resolve()
        assert text == "hello\n"
        await pilot.press("g")
        assert tree.cursor_line == 0
        await pilot.press("G")
        assert tree.cursor_line == 2


@sync
async def test_o_refuses_a_path_leading_outside_the_store(fixed_store, tmp_path, monkeypatch):
    pager, paged = fake_pager(tmp_path)
    monkeypatch.setenv("PAGER", pager)
    app = make_app(fixed_store)
    monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours\n")
    async with app.run_test(size=LARGE) as pilot:
        await open_run(pilot, RUN_ROW)
        screen = app.screen
        with Store(fixed_store) as store:
            repo = store.artifacts(screen.run_id)
            repo.write_text("x\n", "a.txt")
            (repo.root / "link.txt").symlink_to(secret)
        await pilot.press("5")
        tree = screen.query_one(Tree)
        await settle(pilot, lambda: len(tree.root.children) == 2 and app.focused is tree)
        await pilot.press("j", "o")  # link.txt
        await pilot.pause(0.2)
        assert not paged.exists()
        assert "cannot open link.txt" in last_note(app)


# -- the footer, the lists, the summary ----------------------------------------------------


@sync
async def test_the_footer_shows_the_keys_of_the_tab_shown_and_always_help_and_quit(fixed_store):
    app = make_app(fixed_store)
    async with app.run_test(size=SMALL) as pilot:
        await open_run(pilot, RUN_ROW)
        await pilot.pause(0.1)
        charts = footer_keys(app)
        assert {"x", "l", "z", "+", "m", "q", "?"} <= set(charts), charts
        await pilot.press("2")  # params
        await pilot.pause(0.1)
        params = footer_keys(app)
        assert not {"x", "l", "z", "+", "m"} & set(params), params
        assert {"q", "?", "y", "esc"} <= set(params)
        await pilot.press("x")  # does nothing here
        assert app.screen.x_axis == "step"
        await pilot.press("3")  # metrics: what a search finds can be charted
        await pilot.pause(0.1)
        assert "m" in footer_keys(app) and "x" not in footer_keys(app)
        await pilot.press("1")
        await pilot.pause(0.1)
        assert set(footer_keys(app)) == set(charts)


@sync
async def test_the_compare_footer_follows_its_tab(fixed_store):
    app = make_app(fixed_store)
    async with app.run_test(size=SMALL) as pilot:
        await open_compare(pilot)
        await pilot.pause(0.1)
        table = footer_keys(app)
        assert {"d", "f", "q", "?"} <= set(table) and "x" not in table
        await pilot.press("2")
        await settle(pilot, lambda: bool(app.screen.query(CompareChart)))
        await pilot.pause(0.1)
        charts = footer_keys(app)
        assert {"x", "l", "z", "q", "?"} <= set(charts) and not {"d", "f"} & set(charts)


@sync
async def test_list_keys_move_on_the_detail_tables(fixed_store):
    client = MltopClient(Store(fixed_store))
    run_id = next(r.info.run_id for r in client.search_runs() if r.info.run_name == "resnet-lr0.1")
    client.log_params(run_id, {f"p{i:02}": i for i in range(60)})
    client.flush()
    client.close()
    app = make_app(fixed_store)
    async with app.run_test(size=SMALL) as pilot:
        await open_run(pilot, RUN_ROW)
        await pilot.press("2")
        table = app.screen.query_one("#params", DataTable)
        await settle(pilot, lambda: table.row_count == 62 and app.focused is table)
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.cursor_row == 1
        await pilot.press("G")
        assert table.cursor_row == 61
        await pilot.press("g")
        assert table.cursor_row == 0
        await pilot.press("ctrl+d")
        half = table.cursor_row
        assert 2 <= half <= 10
        await pilot.press("ctrl+d", "ctrl+u")
        assert table.cursor_row == half


@sync
async def test_list_keys_move_on_the_compare_table(fixed_store):
    app = make_app(fixed_store)
    async with app.run_test(size=SMALL) as pilot:
        await open_compare(pilot)
        table = app.screen.query_one(DataTable)
        await pilot.press("G")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("g", "j")
        assert table.cursor_row == 1


@sync
async def test_the_summary_leaves_out_a_host_it_does_not_know(fixed_store):
    app = make_app(fixed_store)
    async with app.run_test(size=LARGE) as pilot:
        await open_run(pilot, RUN_ROW)
        summary = str(app.screen.query_one("#summary").render())
        assert "started" in summary and "host" not in summary


# -- what they look like -------------------------------------------------------------------


def test_run_detail_small(snap_compare, fixed_store):
    async def run_before(pilot) -> None:
        await open_run(pilot, RUN_ROW)

    assert snap_compare(make_app(fixed_store), terminal_size=SMALL, run_before=run_before)


def test_run_detail_cursor_and_zoom(snap_compare, fixed_store):
    async def run_before(pilot) -> None:
        await open_run(pilot, RUN_ROW)
        await pilot.press("x", "left", "left", "left", "left", "z", "l")
        await pilot.pause(0.3)

    assert snap_compare(make_app(fixed_store), terminal_size=LARGE, run_before=run_before)


def test_run_detail_cursor_and_zoom_small(snap_compare, fixed_store):
    async def run_before(pilot) -> None:
        await open_run(pilot, RUN_ROW)
        await pilot.press("left", "left", "left", "left", "z")
        await pilot.pause(0.3)

    assert snap_compare(make_app(fixed_store), terminal_size=SMALL, run_before=run_before)


def test_run_detail_one_point_small(snap_compare, fixed_store):
    async def run_before(pilot) -> None:
        await open_run(pilot, 0)

    assert snap_compare(make_app(fixed_store), terminal_size=SMALL, run_before=run_before)


def test_run_detail_params_small(snap_compare, fixed_store):
    async def run_before(pilot) -> None:
        await open_run(pilot, 3)
        await pilot.press("2")
        await pilot.pause(0.2)

    assert snap_compare(make_app(fixed_store), terminal_size=SMALL, run_before=run_before)


def test_run_detail_metrics_small(snap_compare, fixed_store):
    async def run_before(pilot) -> None:
        await open_run(pilot, RUN_ROW)
        await pilot.press("3")
        await pilot.pause(0.2)

    assert snap_compare(make_app(fixed_store), terminal_size=SMALL, run_before=run_before)


def with_artifacts(path: Path) -> None:
    with Store(path) as store:
        run_id = next(
            r.info.run_id for r in store.search_runs() if r.info.run_name == "resnet-lr0.1"
        )
        repo = store.artifacts(run_id)
        repo.write_text("epochs: 60\nlr: 0.1\n", "config/params.yaml")
        repo.write_text("step,loss\n0,2.35\n", "metrics.csv")


async def show_artifacts(pilot) -> None:
    await open_run(pilot, RUN_ROW)
    await pilot.press("5")
    tree = pilot.app.screen.query_one(Tree)
    await settle(pilot, lambda: len(tree.root.children) == 2)
    await pilot.press("j")
    await pilot.pause(0.3)


def test_run_detail_artifacts_small(snap_compare, fixed_store):
    with_artifacts(fixed_store)
    assert snap_compare(make_app(fixed_store), terminal_size=SMALL, run_before=show_artifacts)


def test_run_detail_artifacts(snap_compare, fixed_store):
    with_artifacts(fixed_store)
    assert snap_compare(make_app(fixed_store), terminal_size=LARGE, run_before=show_artifacts)


def test_compare_small(snap_compare, fixed_store):
    assert snap_compare(make_app(fixed_store), terminal_size=SMALL, run_before=open_compare)


def test_compare_charts_small(snap_compare, fixed_store):
    async def run_before(pilot) -> None:
        await open_compare(pilot)
        await pilot.press("2")
        await settle(
            pilot,
            lambda: (
                len(charts := list(pilot.app.screen.query(CompareChart))) == 2
                and all(len(c.compared) == 3 for c in charts)
            ),
        )
        await pilot.pause(0.3)

    assert snap_compare(make_app(fixed_store), terminal_size=SMALL, run_before=run_before)


# -- cost ----------------------------------------------------------------------------------


@sync
async def test_changes_on_the_runs_screen_beneath_do_not_repaint_the_detail(
    fixed_store, monkeypatch
):
    """The runs screen stays live under a run's detail; what changes there is hidden, and
    must not repaint the whole detail screen each time (it did, about 20 times a second for
    a run logging 20 steps a second)."""
    from textual._compositor import Compositor

    from mltop.tui.widgets.runs_table import RunsTable

    app = make_app(fixed_store)
    async with app.run_test(size=LARGE) as pilot:
        await open_run(pilot, RUN_ROW)
        full: list[int] = []
        original = Compositor.render_full_update

        def counted(self, *args, **kwargs):
            full.append(1)
            return original(self, *args, **kwargs)

        monkeypatch.setattr(Compositor, "render_full_update", counted)
        beneath = app.screen_stack[-2].query_one(RunsTable).table
        for _ in range(5):
            beneath.refresh()
            await pilot.pause(0.05)
        assert not full
        await pilot.press("escape")  # back on the runs screen: it shows its changes
        await settle(pilot, lambda: bool(full))
