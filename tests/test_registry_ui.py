"""The registry screen, issue 14: full-row cursors, vi's list keys, removing an alias,
the warning for an alias on an Archived version, the empty registry, the rollback dialog
under a failing policy, the footer; snapshots at 80×24 and 120×40."""

from __future__ import annotations

import pytest
from test_dashboard import NOW, settle, sync
from test_snapshots import (  # noqa: F401
    fixed_store,
    make_app,
    model_shown,
    open_registry,
    registry_store,
)
from textual.widgets import DataTable, OptionList, Static

from mltop.store import MltopClient, Store
from mltop.store.sqlite.registry import Registry
from mltop.tui.app import MltopApp
from mltop.tui.screens.dialogs import AliasDialog, TransitionDialog, UnaliasDialog
from mltop.tui.screens.help import bindings_of
from mltop.tui.screens.registry import RegistryScreen

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def many(store_path):
    """resnet with 30 versions (v1 Production with alias champion, v2 Staging with aliases
    canary and next) and a second model, vit, with one."""
    client = MltopClient(Store(store_path))
    run = client.create_run(run_name="alpha", status="FINISHED", log_system_info=False)
    client.log_metric(run.info.run_id, "acc", 0.9)
    client.flush()
    registry = client.store.registry
    for _ in range(30):
        registry.create_model_version("resnet", f"runs:/{run.info.run_id}/model")
    registry.create_model_version("vit", f"runs:/{run.info.run_id}/model")
    registry.transition("resnet", 1, "Production", "first", user="ana")
    registry.transition("resnet", 2, "Staging", "candidate", user="ana")
    registry.set_alias("resnet", "champion", 1, user="ana")
    registry.set_alias("resnet", "canary", 2, user="ana")
    registry.set_alias("resnet", "next", 2, user="ana")
    client.close()
    return store_path


async def registry_open(pilot, app, rows: int) -> RegistryScreen:
    await pilot.pause(0.1)
    await pilot.press("r")
    await settle(pilot, lambda: isinstance(app.screen, RegistryScreen) and app.screen.versions)
    screen = app.screen
    await settle(pilot, lambda: screen.query_one("#versions", DataTable).row_count == rows)
    return screen


def version_at(screen: RegistryScreen) -> str:
    table = screen.query_one("#versions", DataTable)
    return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)


@sync
async def test_every_registry_table_has_a_row_cursor(many):
    app = MltopApp(many, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await registry_open(pilot, app, 30)
        for name in ("models", "versions", "history"):
            assert screen.query_one(f"#{name}", DataTable).cursor_type == "row"


@sync
async def test_vi_keys_move_on_the_versions_and_the_models(many):
    app = MltopApp(many, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await registry_open(pilot, app, 30)
        versions = screen.query_one("#versions", DataTable)
        versions.focus()
        await pilot.pause(0.05)
        assert version_at(screen) == "30"  # newest first
        await pilot.press("j", "j")
        assert version_at(screen) == "28"
        await pilot.press("k")
        assert version_at(screen) == "29"
        await pilot.press("G")
        assert version_at(screen) == "1"
        await pilot.press("g")
        assert version_at(screen) == "30"
        half = versions.scrollable_content_region.height // 2
        assert half >= 2
        await pilot.press("ctrl+d")
        assert versions.cursor_row == half
        await pilot.press("ctrl+d", "ctrl+u")
        assert versions.cursor_row == half
        await pilot.press("ctrl+u", "ctrl+u")  # stops at the top
        assert versions.cursor_row == 0
        models = screen.query_one("#models", DataTable)
        models.focus()
        await pilot.pause(0.05)
        assert models.cursor_row == 0
        await pilot.press("j")
        await settle(pilot, lambda: screen.model_name == "vit")
        await pilot.press("k")
        await settle(pilot, lambda: screen.model_name == "resnet")
        await pilot.press("G")
        await settle(pilot, lambda: screen.model_name == "vit")


@sync
async def test_x_asks_then_removes_the_alias_and_the_history_says_who(many):
    app = MltopApp(many, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await registry_open(pilot, app, 30)
        screen.query_one("#versions", DataTable).focus()
        await pilot.press("G")  # v1: champion
        await pilot.press("x")
        await settle(pilot, lambda: isinstance(app.screen, UnaliasDialog))
        assert isinstance(app.focused, OptionList)
        with Store(many) as store:  # asked, nothing done yet
            assert store.registry.get_model_version("resnet", 1).aliases == ["champion"]
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, RegistryScreen))
        with Store(many) as store:
            await settle(pilot, lambda: not store.registry.get_model_version("resnet", 1).aliases)
            last = store.registry.history("resnet")[-1]
        assert (last.kind, last.alias, last.version, last.user_id) == (
            "alias_delete",
            "champion",
            1,
            "tester",
        )
        await settle(
            pilot,
            lambda: "champion" not in str(screen.query_one("#models", DataTable).get_row("resnet")),
        )


@sync
async def test_x_on_a_version_with_two_aliases_removes_the_one_chosen_and_escape_nothing(many):
    app = MltopApp(many, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await registry_open(pilot, app, 30)
        screen.query_one("#versions", DataTable).focus()
        await pilot.press("G", "k")  # v2: canary, next
        await pilot.press("x")
        await settle(pilot, lambda: isinstance(app.screen, UnaliasDialog))
        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, RegistryScreen))
        await pilot.press("x")
        await settle(pilot, lambda: isinstance(app.screen, UnaliasDialog))
        await pilot.press("j", "enter")  # the second: next
        with Store(many) as store:
            await settle(
                pilot, lambda: store.registry.get_model_version("resnet", 2).aliases == ["canary"]
            )
            assert [r.kind for r in store.registry.history("resnet")].count("alias_delete") == 1


@sync
async def test_x_is_not_offered_on_a_version_without_an_alias_and_says_why(many):
    app = MltopApp(many, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await registry_open(pilot, app, 30)
        screen.query_one("#versions", DataTable).focus()
        await pilot.pause(0.05)
        assert "unalias" not in {b.binding.action for b in screen.active_bindings.values()}
        footer = [key.key for key in screen.query("FooterKey").results()]
        assert "x" not in footer
        await pilot.press("x")
        await settle(pilot, lambda: len(app._notifications) == 1)
        assert app.screen is screen
        (said,) = app._notifications
        assert said.message == "resnet v30 has no alias to remove (a points one at it)"
        assert said.severity == "warning" and not said.markup
        assert [keys for _binding, keys, _does in bindings_of(screen)].count("x") == 1
        await pilot.press("G")
        await settle(
            pilot,
            lambda: "unalias" in {b.binding.action for b in screen.active_bindings.values()},
        )


@sync
async def test_an_alias_on_an_archived_version_is_flagged(many):
    with Store(many) as store:
        store.registry.transition("resnet", 1, "Archived", "retired", user="ana")
    app = MltopApp(many, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await registry_open(pilot, app, 30)
        warning = screen.query_one("#alias-warning", Static)
        assert warning.display
        assert "alias champion points at v1, which is Archived" in str(warning.render())
        versions = screen.query_one("#versions", DataTable)
        assert "⚠" in str(versions.get_row("1")[2])
        assert "⚠" not in str(versions.get_row("2")[2])  # canary, next: on Staging
        assert "champion→v1 ⚠" in str(screen.query_one("#models", DataTable).get_row("resnet")[4])


@sync
async def test_no_warning_while_every_alias_is_on_a_live_version(many):
    app = MltopApp(many, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await registry_open(pilot, app, 30)
        assert not screen.query_one("#alias-warning").display


@sync
async def test_an_empty_registry_says_the_command_that_registers_a_model(store_path):
    Store(store_path).close()
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, RegistryScreen))
        screen = app.screen
        await settle(pilot, lambda: screen.query_one("#empty").display)
        assert not screen.query_one("#registry").display
        said = str(screen.query_one("#empty", Static).render())
        assert "mltop models register runs:/<run_id>/model NAME" in said
        actions = {b.binding.action for b in screen.active_bindings.values() if b.binding.show}
        assert not actions & {"move('Production')", "rollback", "alias", "toggle_history"}


def test_the_empty_registrys_command_is_the_clis():
    """What the empty registry says is what `mltop models register --help` takes."""
    from click.testing import CliRunner

    from mltop.tui.cli import main

    usage = CliRunner().invoke(main, ["models", "register", "--help"], prog_name="mltop").output
    assert "mltop models register [OPTIONS] SOURCE NAME" in usage
    assert "runs:/<run_id>/<path>" in usage


@pytest.fixture
def rollback_store(registry_store):  # noqa: F811
    """The registry store after v3 (the injected run, failing the policy) was forced into
    Production and v1 put back: a rollback would put v3 back."""
    from mltop.store.sqlite import registry as registry_module

    patch = pytest.MonkeyPatch()
    patch.setattr(registry_module, "now_ms", lambda: NOW - 300_000)
    with Store(registry_store) as store:
        store.registry.transition("resnet", 3, "Production", "try it", force=True, user="ana")
        store.registry.transition("resnet", 1, "Production", "back to v1", force=True, user="ana")
    patch.undo()
    return registry_store


@sync
async def test_the_rollback_dialog_says_why_a_failing_policy_does_not_block_it(rollback_store):
    app = make_app(rollback_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await registry_open(pilot, app, 3)
        await pilot.press("b")
        await settle(pilot, lambda: isinstance(app.screen, TransitionDialog) and app.screen.plan)
        note = app.screen.query_one("#force", Static)
        assert note.display
        assert "does not block a rollback" in str(note.render())
        assert "FAILS" in str(app.screen.query_one("#plan", Static).render())


@sync
async def test_the_footer_keeps_help_and_quit_first_and_lists_only_keys_that_act(many):
    app = MltopApp(many, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await registry_open(pilot, app, 30)
        screen.query_one("#versions", DataTable).focus()

        def footer() -> list[tuple[str, int]]:
            keys = screen.query("FooterKey").results()
            return [(key.key, key.region.right) for key in keys if key.region.width]

        # The footer is rebuilt for the focused table: wait for its version keys.
        await settle(pilot, lambda: "P" in [key for key, _ in footer()])
        shown = footer()
        assert [key for key, _ in shown[:2]] == ["question_mark", "q"]
        assert all(right <= 80 for _, right in shown[:2])
        assert "r" not in [key for key, _ in shown]  # the registry's key does nothing here
        assert "P" in [key for key, _ in shown]
        await pilot.press("h")  # the history: no version under a cursor
        await settle(pilot, lambda: "P" not in [key for key, _ in footer()])
        assert [key for key, _ in footer()][:2] == ["question_mark", "q"]


@sync
async def test_the_screen_reads_with_the_registry_searches(many, monkeypatch):
    """The models and versions come from search_models / search_versions (MLflow's
    filter searches, in the ModelRegistry Protocol), not the older reads."""

    def gone(*args, **kwargs):
        raise AssertionError("an older read")

    monkeypatch.setattr(Registry, "search_registered_models", gone)
    monkeypatch.setattr(Registry, "search_model_versions", gone)
    app = MltopApp(many, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await registry_open(pilot, app, 30)
        assert [m.name for m in screen.models] == ["resnet", "vit"]
        assert screen.query_one("#models", DataTable).get_row("resnet")[1] == "30"


# -- snapshots, at 80×24 and 120×40 ---------------------------------------------------------


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_registry_models(snap_compare, registry_store, size):  # noqa: F811
    async def run_before(pilot) -> None:
        await open_registry(pilot)
        pilot.app.screen.query_one("#models").focus()
        await pilot.pause(0.2)

    assert snap_compare(make_app(registry_store), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_registry_versions(snap_compare, registry_store, size):  # noqa: F811
    assert snap_compare(make_app(registry_store), terminal_size=size, run_before=open_registry)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_registry_empty(snap_compare, fixed_store, size):  # noqa: F811
    async def run_before(pilot) -> None:
        from test_snapshots import wait_loaded

        await wait_loaded(pilot)
        await pilot.press("r")
        await settle(
            pilot,
            lambda: (
                isinstance(pilot.app.screen, RegistryScreen)
                and pilot.app.screen.query_one("#empty").display
            ),
        )
        await pilot.pause(0.2)

    assert snap_compare(make_app(fixed_store), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("version", [2, 3], ids=["policy_passes", "policy_fails"])
def test_promotion_dialog(snap_compare, registry_store, size, version):  # noqa: F811
    async def run_before(pilot) -> None:
        await open_registry(pilot, version, "P")

    assert snap_compare(make_app(registry_store), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_rollback_dialog_policy_fails(snap_compare, rollback_store, size):
    async def run_before(pilot) -> None:
        await open_registry(pilot, 1, "b")

    assert snap_compare(make_app(rollback_store), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_alias_removal_dialog(snap_compare, registry_store, size):  # noqa: F811
    async def run_before(pilot) -> None:
        await open_registry(pilot)
        versions = pilot.app.screen.query_one("#versions", DataTable)
        versions.move_cursor(row=[k.value for k in versions.rows].index("1"))
        await model_shown(pilot)
        await pilot.press("x")
        await settle(pilot, lambda: isinstance(pilot.app.screen, UnaliasDialog))
        await pilot.pause(0.2)

    assert snap_compare(make_app(registry_store), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_registry_help(snap_compare, registry_store, size):  # noqa: F811
    async def run_before(pilot) -> None:
        await open_registry(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.3)

    assert snap_compare(make_app(registry_store), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_alias_dialog(snap_compare, registry_store, size):  # noqa: F811
    async def run_before(pilot) -> None:
        await open_registry(pilot)
        versions = pilot.app.screen.query_one("#versions", DataTable)
        versions.move_cursor(row=[k.value for k in versions.rows].index("1"))
        await model_shown(pilot)
        await pilot.press("a")
        await settle(pilot, lambda: isinstance(pilot.app.screen, AliasDialog))
        pilot.app.screen.query_one("#alias").cursor_blink = False
        await pilot.pause(0.2)

    assert snap_compare(make_app(registry_store), terminal_size=size, run_before=run_before)
