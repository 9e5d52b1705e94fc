"""The app's chrome, issue 14: vi's list keys on any focused list, the command palette
without duplicates, the help listing the list keys; snapshots of the help at 80×24 and
120×40."""

from __future__ import annotations

from typing import ClassVar

import pytest
from test_dashboard import NOW, settle, sync
from test_snapshots import fixed_store, make_app, wait_loaded  # noqa: F401
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Label, ListItem, ListView, OptionList

from mltop.tui.app import MltopApp
from mltop.tui.screens.help import HelpScreen, bindings_of
from mltop.tui.screens.registry import RegistryScreen
from mltop.tui.screens.runs import RunsScreen
from mltop.tui.widgets.runs_table import RunsTable

LIST_KEYS = ["j", "k", "g", "G", "ctrl+d", "ctrl+u"]


class Lists(Screen[None]):
    """A screen of lists with no keys of their own but `x`, bound to j for the test of a
    screen's binding winning."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("x", "noop", "Nothing")]
    DEFAULT_CSS = "Lists > * { height: 10; }"

    def __init__(self, own_j: bool = False) -> None:
        super().__init__()
        self.own_j = own_j
        self.js = 0

    def compose(self) -> ComposeResult:
        yield OptionList(*(f"option {i}" for i in range(40)), id="options")
        yield ListView(*(ListItem(Label(f"item {i}")) for i in range(40)), id="items")
        table: DataTable[str] = DataTable(id="table", cursor_type="row")
        table.add_column("n")
        table.add_rows([(str(i),) for i in range(40)])
        yield table

    def action_noop(self) -> None:
        pass


class OwnJ(Lists):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("j", "count_j", "Count")]

    def action_count_j(self) -> None:
        self.js += 1


def position(widget) -> int:
    if isinstance(widget, OptionList):
        return widget.highlighted or 0
    if isinstance(widget, ListView):
        return widget.index or 0
    return widget.cursor_row


@pytest.mark.parametrize("list_id", ["options", "items", "table"])
@sync
async def test_vi_keys_move_any_focused_list(store_path, list_id):
    from mltop.store import Store

    Store(store_path).close()
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        screen = Lists()
        await app.push_screen(screen)
        widget = screen.query_one(f"#{list_id}")
        widget.focus()
        await pilot.pause(0.05)
        await pilot.press("j", "j", "j", "k")
        assert position(widget) == 2
        await pilot.press("G")
        assert position(widget) == 39
        await pilot.press("g")
        assert position(widget) == 0
        await pilot.press("ctrl+d")
        half = position(widget)
        assert half == max(1, widget.scrollable_content_region.height // 2) and half > 1
        await pilot.press("ctrl+u")
        assert position(widget) == 0


@sync
async def test_a_screens_own_binding_wins_over_the_list_keys(store_path):
    from mltop.store import Store

    Store(store_path).close()
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        screen = OwnJ()
        await app.push_screen(screen)
        table = screen.query_one("#table", DataTable)
        table.focus()
        await pilot.press("j", "j")
        assert screen.js == 2 and table.cursor_row == 0
        await pilot.press("G")
        assert table.cursor_row == 39


@sync
async def test_the_list_keys_move_in_the_help_window(store_path):
    from mltop.store import Store

    Store(store_path).close()
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("question_mark")
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        table = app.screen.query_one(DataTable)
        table.focus()
        await pilot.press("G")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("g", "j")
        assert table.cursor_row == 1


@sync
async def test_the_help_lists_the_list_keys_on_every_screen(store_path):
    from mltop.store import Store

    Store(store_path).close()
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, RegistryScreen))
        keys = [keys for _binding, keys, _does in bindings_of(app.screen)]
        for key in ("j", "k", "g", "G", "^d", "^u"):
            assert key in keys
        # The app's `r` (the registry) does nothing there: `r` is the registry's own
        # Re-check, listed once.
        assert keys.count("r") == 1
        assert [b.action for b, k, _ in bindings_of(app.screen) if k == "r"] == ["recheck"]


@sync
async def test_the_command_palette_lists_each_command_once_on_each_screen(store_path):
    from mltop.store import MltopClient, Store

    client = MltopClient(Store(store_path))
    run = client.create_run(run_name="a", status="FINISHED", log_system_info=False)
    client.store.registry.create_model_version("m", f"runs:/{run.info.run_id}/model")
    client.close()
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, RunsScreen))
        seen = []
        for opens, kind in (("", RunsScreen), ("r", RegistryScreen)):
            if opens:
                await pilot.press(opens)
            await settle(pilot, lambda kind=kind: isinstance(app.screen, kind))
            titles = [command.title for command in app.get_system_commands(app.screen)]
            assert len(titles) == len(set(titles)), titles
            assert "Quit" in titles and "Help" in titles
            assert not {"First", "Last", "Half page down", "Half page up"} & set(titles)
            seen.append(titles)
        assert "Registry" in seen[0] and "Registry" not in seen[1]
        assert "Roll back" in seen[1]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_runs_help(snap_compare, fixed_store, size):  # noqa: F811
    async def run_before(pilot) -> None:
        await wait_loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.3)

    assert snap_compare(make_app(fixed_store), terminal_size=size, run_before=run_before)


@sync
async def test_the_command_palette_has_no_duplicates_over_details_and_the_help(store_path):
    """The run detail's `m` (choose metrics) and `3` (the metrics tab) share a name: both
    are listed, told apart. Textual's `Keys` panel is our help again: left out. Over the
    help, the list keys and the registry (which do nothing there) are not commands."""
    from mltop.store import MltopClient, Store
    from mltop.tui.screens.run_detail import RunDetailScreen

    client = MltopClient(Store(store_path))
    run = client.create_run(run_name="a", status="FINISHED", log_system_info=False)
    client.log_metric(run.info.run_id, "loss", 0.5)
    client.close()
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, RunsScreen))
        table = app.screen.query_one(RunsTable)
        await settle(pilot, lambda: len(table.runs) == 1)
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        commands = list(app.get_system_commands(app.screen))
        titles = [command.title for command in commands]
        assert len(titles) == len(set(titles)), titles
        assert {"Metrics", "Metrics tab", "Help", "Quit"} <= set(titles)
        assert "Keys" not in titles
        await pilot.press("question_mark")
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert len(titles) == len(set(titles)), titles
        assert "Close" in titles and "Quit" in titles
        assert not {"Down", "Up", "First", "Last", "Registry", "Keys"} & set(titles)


@pytest.mark.parametrize("where", ["runs", "detail", "registry"])
@sync
async def test_the_help_fits_80x24_lists_each_key_once_and_wraps_long_lines(store_path, where):
    from mltop.store import MltopClient, Store
    from mltop.tui.screens.run_detail import RunDetailScreen

    client = MltopClient(Store(store_path))
    run = client.create_run(run_name="a", status="FINISHED", log_system_info=False)
    client.log_metric(run.info.run_id, "loss", 0.5)
    client.store.registry.create_model_version("m", f"runs:/{run.info.run_id}/model")
    client.close()
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, RunsScreen))
        runs_table = app.screen.query_one(RunsTable)
        await settle(pilot, lambda: len(runs_table.runs) == 1)
        if where == "detail":
            await pilot.press("enter")
            await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        elif where == "registry":
            await pilot.press("r")
            await settle(pilot, lambda: isinstance(app.screen, RegistryScreen))
        await pilot.pause(0.1)
        await pilot.press("question_mark")
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_screen = app.screen
        await pilot.pause(0.1)
        table = help_screen.query_one(DataTable)
        rows = [
            (str(table.get_row_at(i)[0]), str(table.get_row_at(i)[1]))
            for i in range(table.row_count)
        ]
        keys = [key for shown, _ in rows for key in shown.split()]
        assert len(keys) == len(set(keys)), keys
        does = [text for _, text in rows]
        assert does.count("Quit") == 1 and not any(d.startswith("Quit ") for d in does)
        assert any("q" in shown.split() and "^c" in shown.split() for shown, _ in rows)
        assert sum("tab" in shown.split() for shown, _ in rows) == 1
        if where == "runs":  # the runs table's column keys
            assert any({"h", "l"} <= set(shown.split()) for shown, _ in rows)
        if where == "detail":  # `l` is the charts' log scale there, ← → their cursor
            assert "h" not in keys and keys.count("l") == 1
        # Every line of the window within the terminal; the longest description wrapped
        # (a row of two lines or more), not cut: its last word is on screen.
        window = help_screen.query_one("Vertical")
        assert window.region.right <= 80 and window.region.bottom <= 24
        assert sum(column.get_render_width(table) for column in table.columns.values()) <= (
            table.scrollable_content_region.width
        )
        does_width = list(table.columns.values())[1].width
        if where != "registry":  # at 80 columns some descriptions wrap
            assert any(len(text) > does_width for text in does)
        for i, text in enumerate(does):
            row = table.rows[table.coordinate_to_cell_key((i, 0)).row_key]
            assert row.height * does_width >= len(text), text


def footer_keys(screen) -> list[tuple[str, int, int]]:
    """(key, left, right) of each key the footer shows, left to right."""
    shown = [key for key in screen.query("FooterKey").results() if key.display]
    return sorted(((key.key, key.region.x, key.region.right) for key in shown), key=lambda k: k[1])


@pytest.mark.parametrize("width", [60, 80, 200])
@sync
async def test_the_footer_shows_whole_keys_only_and_always_help_and_quit(store_path, width):
    from mltop.store import MltopClient, Store
    from mltop.tui.widgets.footer import KeysFooter

    client = MltopClient(Store(store_path))
    client.create_run(run_name="a", status="FINISHED", log_system_info=False)
    client.close()
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(width, 24)) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, RunsScreen))
        footer = app.screen.query_one(KeysFooter)
        await settle(pilot, lambda: len(footer_keys(app.screen)) > 2)
        await pilot.pause(0.1)
        shown = footer_keys(app.screen)
        assert [key for key, _, _ in shown[:2]] == ["question_mark", "q"]
        assert all(right <= width for _, _, right in shown)
        for key in footer.query("FooterKey").results():
            if key.display:  # drawn whole: as wide as its text
                assert key.region.width == key.render().cell_len + key.styles.gutter.width
        everything = len(list(footer.query("FooterKey").results()))
        if width == 200:
            assert len(shown) == everything  # palette included
        else:
            assert 2 < len(shown) < everything
            assert "ctrl+p" not in [key for key, _, _ in shown]  # the first to go
        # Narrowed: fewer keys, still whole, still ? and q.
        await pilot.resize_terminal(40, 24)
        await settle(pilot, lambda: all(r <= 40 for _, _, r in footer_keys(app.screen)))
        assert [key for key, _, _ in footer_keys(app.screen)][:2] == ["question_mark", "q"]
