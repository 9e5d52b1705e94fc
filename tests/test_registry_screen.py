"""The registry screen's moves, driven with Textual's Pilot: every move asks first."""

from __future__ import annotations

import pytest
from test_dashboard import NOW, held, settle, sync
from textual.widgets import DataTable, Input

from mltop.store import MltopClient, Store
from mltop.tui.app import MltopApp
from mltop.tui.screens.dialogs import AliasDialog, TransitionDialog
from mltop.tui.screens.help import HelpScreen
from mltop.tui.screens.registry import RegistryScreen

# A comment whose every first letter is a key somewhere: y/n (the dialog's old keys), r (the
# registry, an app key), h (the history), ? (help). Typed into a dialog, all of it is text.
TYPED = "y n r h ? yes, rerun looks fine"


@pytest.fixture
def models(store_path):
    """resnet: v1 in Production (alpha, acc 0.9), v2 in Staging (beta, acc 0.7)."""
    client = MltopClient(Store(store_path))
    runs = {}
    for name, acc in (("alpha", 0.9), ("beta", 0.7)):
        run = client.create_run(run_name=name, status="FINISHED", log_system_info=False)
        client.log_metric(run.info.run_id, "acc", acc)
        runs[name] = run.info.run_id
    client.flush()
    registry = client.store.registry
    registry.create_registered_model("resnet")
    registry.create_model_version("resnet", f"runs:/{runs['alpha']}/model")
    registry.create_model_version("resnet", f"runs:/{runs['beta']}/model")
    registry.transition("resnet", 1, "Production", "first", user="ana")
    registry.transition("resnet", 2, "Staging", "candidate", user="ana")
    client.close()
    return runs


async def open_registry(pilot, app) -> RegistryScreen:
    await pilot.pause(0.1)
    await pilot.press("r")
    await settle(pilot, lambda: isinstance(app.screen, RegistryScreen) and app.screen.versions)
    screen = app.screen
    versions = screen.query_one("#versions", DataTable)
    await settle(pilot, lambda: versions.row_count == 2)
    versions.focus()
    return screen


def stage(store_path, version: int) -> str:
    with Store(store_path) as store:
        return store.registry.get_model_version("resnet", version).current_stage


def history(store_path) -> list:
    with Store(store_path) as store:
        return store.registry.history("resnet")


async def choose(pilot, screen, version: int) -> None:
    versions = screen.query_one("#versions", DataTable)
    versions.move_cursor(row=[key.value for key in versions.rows].index(str(version)))
    await pilot.pause(0.05)


def planned(app):
    """A condition: the move dialog is up and shows what the move will do."""
    return lambda: isinstance(app.screen, TransitionDialog) and app.screen.plan is not None


async def open_dialog(pilot, app, key: str) -> Input:
    """Press `key` and wait for its dialog; its text box has the focus with no other key."""
    await pilot.press(key)
    await settle(
        pilot,
        lambda: (
            isinstance(app.screen, TransitionDialog | AliasDialog)
            and isinstance(app.focused, Input)
            and (isinstance(app.screen, AliasDialog) or app.screen.plan is not None)
        ),
    )
    return app.screen.query_one(Input)


def nothing_happened(app, screen, dialog, before: list) -> bool:
    """The dialog is still asking, and the keys typed reached nothing else."""
    return (
        app.screen is dialog
        and len([s for s in app.screen_stack if isinstance(s, RegistryScreen)]) == 1
        and not any(isinstance(s, HelpScreen) for s in app.screen_stack)
        and not screen.show_history
        and not screen.query_one("#history").has_class("shown")
        and history(app.store.path) == before
    )


@sync
async def test_promote_with_confirm_changes_the_store_and_logs_the_comment(models, store_path):
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await choose(pilot, screen, 2)
        await pilot.press("P")
        await settle(pilot, planned(app))
        plan = str(app.screen.query_one("#plan").render())
        assert "resnet v2: Staging → Production; v1 (Production) will be archived" in plan
        await pilot.press("enter")  # no comment: a move to Production needs one
        await settle(
            pilot, lambda: "needs a comment" in str(app.screen.query_one("#problem").render())
        )
        assert stage(store_path, 2) == "Staging"
        await pilot.press(*"beats v1")
        await pilot.press("enter")
        await settle(pilot, lambda: stage(store_path, 2) == "Production")
        assert stage(store_path, 1) == "Archived"
        last = history(store_path)[-1]
        assert (last.version, last.to_stage, last.comment, last.user_id) == (
            2,
            "Production",
            "beats v1",
            "tester",
        )
        versions = screen.query_one("#versions", DataTable)
        await settle(pilot, lambda: str(versions.get_row("2")[1]) == "Production")


@sync
@pytest.mark.parametrize(
    ("key", "version", "expected"),
    [
        ("P", 2, (2, "Production")),
        ("S", 1, (1, "Staging")),
        ("A", 2, (2, "Archived")),
        ("N", 2, (2, "None")),
        ("b", 2, (1, "Production")),  # roll back v2 (put live below) to v1
    ],
)
async def test_keys_typed_in_a_move_dialog_are_its_comment(
    models, store_path, key, version, expected
):
    if key == "b":
        with Store(store_path) as store:
            store.registry.transition("resnet", 2, "Production", "v2 live", user="bob")
    before = history(store_path)
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await choose(pilot, screen, version)
        comment = await open_dialog(pilot, app, key)
        dialog = app.screen
        await pilot.press(*TYPED)
        assert comment.value == TYPED
        assert nothing_happened(app, screen, dialog, before)
        await pilot.press("enter")
        await settle(pilot, lambda: stage(store_path, expected[0]) == expected[1])
        assert app.screen is screen
    last = history(store_path)[-1]
    assert (last.kind, last.version, last.to_stage) == (
        "rollback" if key == "b" else "transition",
        *expected,
    )
    assert last.comment == TYPED and len(history(store_path)) == len(before) + 1


@sync
async def test_keys_typed_in_the_alias_dialog_are_the_alias_and_a_bad_one_stays(models, store_path):
    before = history(store_path)
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await choose(pilot, screen, 1)
        alias = await open_dialog(pilot, app, "a")
        dialog = app.screen
        await pilot.press(*"y?nrh")  # not an alias: `?` is no letter, digit, _ or -
        await pilot.press("enter")
        problem = dialog.query_one("#problem")
        await settle(pilot, lambda: "must be 1 to 255 letters" in str(problem.render()))
        assert "'y?nrh'" in str(problem.render())  # the alias, shown as typed
        assert alias.value == "y?nrh" and app.focused is alias  # kept, to be fixed
        assert nothing_happened(app, screen, dialog, before)
        alias.value = ""
        await pilot.press(*"ynrh-rerun_ok")
        assert nothing_happened(app, screen, dialog, before)
        await pilot.press("enter")
        await settle(pilot, lambda: app.screen is screen)
        versions = screen.query_one("#versions", DataTable)
        await settle(pilot, lambda: str(versions.get_row("1")[2]) == "ynrh-rerun_ok")
    last = history(store_path)[-1]
    assert (last.kind, last.alias, last.version) == ("alias_set", "ynrh-rerun_ok", 1)


@sync
@pytest.mark.parametrize(("key", "version"), [("A", 2), ("P", 2), ("a", 1), ("b", 2)])
async def test_escape_cancels_and_changes_nothing(models, store_path, key, version):
    if key == "b":
        with Store(store_path) as store:
            store.registry.transition("resnet", 2, "Production", "v2 live", user="bob")
    before = history(store_path)
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await choose(pilot, screen, version)
        await open_dialog(pilot, app, key)
        await pilot.press(*"on second thought")
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is screen)
        await app.workers.wait_for_complete()  # a move confirmed by mistake is written now
    assert history(store_path) == before
    assert (stage(store_path, 1), stage(store_path, 2)) == (
        ("Archived", "Production") if key == "b" else ("Production", "Staging")
    )


@sync
@pytest.mark.parametrize(
    ("key", "problem"),
    [("P", "a move to Production needs a comment"), ("b", "a rollback needs a comment")],
)
async def test_a_move_to_production_without_a_comment_stays_open(models, store_path, key, problem):
    with Store(store_path) as store:
        store.registry.transition("resnet", 2, "Production", "v2 live", user="bob")
    before = history(store_path)
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await choose(pilot, screen, 1)  # archived: P would bring it back, as b does
        comment = await open_dialog(pilot, app, key)
        dialog = app.screen
        shown = dialog.query_one("#problem")
        for blank in ("", "   "):  # spaces are no comment either
            comment.value = blank
            await pilot.press("enter")
            await settle(pilot, lambda: problem in str(shown.render()))
            assert nothing_happened(app, screen, dialog, before) and app.focused is comment
            shown.update("")


@sync
async def test_app_keys_do_not_act_over_a_dialog_even_without_the_focus(models, store_path):
    before = history(store_path)
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await choose(pilot, screen, 2)
        await open_dialog(pilot, app, "N")
        dialog = app.screen
        dialog.set_focus(None)  # say a click took the focus off the comment box
        await pilot.press("y", "n", "r", "question_mark", "h", "b", "a", "P")
        assert nothing_happened(app, screen, dialog, before)
        # However an app action arrives (a priority key, the palette), it opens nothing.
        assert not await app.run_action("registry")
        assert not await app.run_action("toggle_help")
        assert nothing_happened(app, screen, dialog, before)
        await pilot.press("enter")  # confirms, as in the box
        await settle(pilot, lambda: stage(store_path, 2) == "None")
        assert history(store_path)[-1].comment == "ynr?hbaP"  # typed keys are the comment


@sync
async def test_over_the_help_the_registry_key_does_nothing_and_help_closes_it(models, store_path):
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await pilot.press("question_mark")
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_screen = app.screen
        await pilot.press("r")
        assert not await app.run_action("registry")
        assert app.screen is help_screen
        assert len([s for s in app.screen_stack if isinstance(s, RegistryScreen)]) == 1
        assert await app.run_action("toggle_help")  # the toggle still closes it
        await settle(pilot, lambda: app.screen is screen)


@sync
async def test_a_policy_failure_is_forced_only_with_a_comment(models, store_path):
    with Store(store_path) as store:
        store.registry.set_policy("resnet", "metrics.acc >= 0.8")
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await choose(pilot, screen, 2)  # beta: acc 0.7
        await pilot.press("P")
        await settle(pilot, planned(app))
        dialog = app.screen
        plan = str(dialog.query_one("#plan").render())
        assert "FAILS" in plan and "FAIL  metrics.acc >= 0.8   (actual: 0.7)" in plan
        assert dialog.force
        await pilot.press("enter")
        await settle(
            pilot,
            lambda: "forced move needs a comment" in str(dialog.query_one("#problem").render()),
        )
        assert stage(store_path, 2) == "Staging"
        await pilot.press(*"hotfix, ok by ana")
        await pilot.press("enter")
        await settle(pilot, lambda: stage(store_path, 2) == "Production")
    last = history(store_path)[-1]
    assert last.forced and last.comment == "hotfix, ok by ana"
    assert last.policy is not None and not last.policy["passed"]


@sync
async def test_rollback_and_alias(models, store_path):
    with Store(store_path) as store:
        store.registry.transition("resnet", 2, "Production", "v2 live", user="bob")
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await pilot.press("b")
        await settle(pilot, planned(app))
        plan = str(app.screen.query_one("#plan").render())
        assert (
            "roll back: resnet v1: Archived → Production; v2 (Production) will be archived" in plan
        )
        await pilot.press(*"v2 regressed")
        await pilot.press("enter")
        await settle(pilot, lambda: stage(store_path, 1) == "Production")
        assert stage(store_path, 2) == "Archived"
        assert history(store_path)[-1].kind == "rollback"
        await choose(pilot, screen, 1)
        await pilot.press("a")
        await settle(pilot, lambda: isinstance(app.screen, AliasDialog))
        await pilot.press(*"champion")
        await pilot.press("enter")

        def aliased() -> bool:
            with Store(store_path) as store:
                return store.registry.get_registered_model("resnet").aliases == {"champion": 1}

        await settle(pilot, aliased)
        versions = screen.query_one("#versions", DataTable)
        await settle(pilot, lambda: str(versions.get_row("1")[2]) == "champion")


@sync
async def test_the_screen_follows_a_promotion_made_in_another_terminal(models, store_path):
    import subprocess
    import sys

    app = MltopApp(store_path, clock=lambda: NOW)  # following the store, with file events
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await settle(pilot, lambda: app.follower is not None)
        command = [
            sys.executable, "-m", "mltop.tui.cli", "models", "transition", "resnet", "2",
            "Production", "--comment", "from the other terminal", "--yes",
            "--store", str(store_path),
        ]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True)
        versions = screen.query_one("#versions", DataTable)
        await settle(pilot, lambda: str(versions.get_row("2")[1]) == "Production")
        assert str(versions.get_row("1")[1]) == "Archived"


@sync
async def test_keys_typed_while_a_move_is_planned_are_its_comment(models, store_path, monkeypatch):
    """The dialog opens at once and the move is planned meanwhile (a read of the store):
    what is typed before the plan shows, fast as over SSH, is the comment already, never a
    key of the screen beneath, nor `q`, `?`, enter or escape of the app's."""
    from mltop.store.sqlite.registry import Registry

    release = held(monkeypatch, Registry, "plan_transition")
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await choose(pilot, screen, 2)
        before = history(store_path)
        await pilot.press("N", *"quick? hb")  # in one burst, before the plan is read
        dialog = app.screen
        assert isinstance(dialog, TransitionDialog) and dialog.plan is None
        await pilot.press("enter")  # too soon: it says so, and waits
        await pilot.pause(0.2)
        assert app.is_running and app.screen is dialog and not screen.show_history
        assert "still checking" in str(dialog.query_one("#problem").render())
        assert dialog.query_one("#comment", Input).value == "quick? hb"
        assert history(store_path) == before
        release.set()
        await settle(pilot, planned(app))
        assert "resnet v2: Staging → None" in str(dialog.query_one("#plan").render())
        await pilot.press("enter")
        await settle(pilot, lambda: stage(store_path, 2) == "None")
        assert history(store_path)[-1].comment == "quick? hb"
        await settle(pilot, lambda: app.screen is screen)


@sync
async def test_a_move_refused_keeps_the_dialog_and_its_comment(models, store_path):
    """Refused when confirmed (the version moved meanwhile, in another terminal): the
    dialog says it was not done and keeps the comment; escape then closes it."""
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await choose(pilot, screen, 2)
        box = await open_dialog(pilot, app, "N")
        dialog = app.screen
        with Store(store_path) as store:  # meanwhile, elsewhere
            store.registry.transition("resnet", 2, "None", "done elsewhere", user="bob")
        box.value = "mine"
        await pilot.press("enter")
        problem = dialog.query_one("#problem")
        await settle(pilot, lambda: "not done" in str(problem.render()))
        assert "already in None" in str(problem.render())
        assert app.screen is dialog and box.value == "mine"
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is screen)
        assert [r.comment for r in history(store_path)][-1] == "done elsewhere"


@sync
async def test_moving_out_of_production_needs_a_comment(models, store_path):
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await choose(pilot, screen, 1)  # v1 is in Production
        await open_dialog(pilot, app, "A")
        await pilot.press("enter")
        problem = app.screen.query_one("#problem")
        await settle(pilot, lambda: "out of Production needs a comment" in str(problem.render()))
        assert stage(store_path, 1) == "Production"
        await pilot.press(*"retired", "enter")
        await settle(pilot, lambda: stage(store_path, 1) == "Archived")


@sync
async def test_the_command_palette_runs_the_app_keys_too(models, store_path):
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("ctrl+p")
        await pilot.press(*"Registry")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, RegistryScreen))


@sync
async def test_keys_in_one_burst_with_the_move_key_are_its_comment(models, store_path):
    """`Nquick fix? yes` arriving at once (a paste, SSH): the dialog takes it all as its
    comment, though the keys came before it was even drawn."""
    from textual import events

    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await choose(pilot, screen, 2)
        for character in "Nquick fix? yes q":
            key = {" ": "space", "?": "question_mark"}.get(character, character)
            app.post_message(events.Key(key, character))
        await settle(pilot, planned(app))
        box = app.screen.query_one("#comment", Input)
        await settle(pilot, lambda: box.value == "quick fix? yes q")
        assert app.is_running and not screen.show_history
        await pilot.press("enter")
        await settle(pilot, lambda: stage(store_path, 2) == "None")
        assert history(store_path)[-1].comment == "quick fix? yes q"


@sync
async def test_a_move_changed_while_its_dialog_was_open_is_not_made_and_shown_anew(
    models, store_path
):
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await choose(pilot, screen, 2)
        await pilot.press("A")
        await settle(pilot, planned(app))
        dialog = app.screen
        assert "resnet v2: Staging → Archived" in str(dialog.query_one("#plan").render())
        with Store(store_path) as other:  # someone else, meanwhile
            other.registry.transition("resnet", 2, "Production", "hotfix", user="bob")
        before = history(store_path)
        await pilot.press(*"retire", "enter")
        await settle(
            pilot, lambda: "changed meanwhile" in str(dialog.query_one("#problem").render())
        )
        assert app.screen is dialog
        plan = str(dialog.query_one("#plan").render())
        assert "resnet v2: Production → Archived" in plan and "moving…" not in plan
        assert history(store_path) == before and stage(store_path, 2) == "Production"
        # Leaving Production needs a comment: the one typed is there; confirmed again, made.
        await pilot.press("enter")
        await settle(pilot, lambda: stage(store_path, 2) == "Archived")
        assert history(store_path)[-1].comment == "retire"


@sync
async def test_a_move_made_meanwhile_by_someone_else_is_said_to_be_no_longer_possible(
    models, store_path
):
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await choose(pilot, screen, 2)
        await pilot.press("P")
        await settle(pilot, planned(app))
        dialog = app.screen
        with Store(store_path) as other:  # the same move, by someone else, meanwhile
            other.registry.transition("resnet", 2, "Production", "hotfix", user="bob")
        await pilot.press(*"ship it", "enter")
        problem = dialog.query_one("#problem")
        await settle(pilot, lambda: "already in Production" in str(problem.render()))
        plan = str(dialog.query_one("#plan").render())
        assert "no longer possible" in plan and "moving…" not in plan
        assert history(store_path)[-1].user_id == "bob"
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is screen)


@sync
async def test_the_versions_runs_are_read_in_one_search_not_one_read_each(
    models, store_path, monkeypatch
):
    searches = []
    search = Store.search_run_rows

    def counting(self, *args, **kwargs):
        searches.append(kwargs.get("filter_string", args[1] if len(args) > 1 else None))
        return search(self, *args, **kwargs)

    def refused(self, *args, **kwargs):
        raise AssertionError("a version's run read on its own")

    monkeypatch.setattr(Store, "get_run", refused)
    with Store(store_path) as store:
        store.delete_run(models["beta"])  # a deleted run still names its version's row
    monkeypatch.setattr(Store, "search_run_rows", counting)
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        versions = screen.query_one("#versions", DataTable)
        rows = {key: [str(c) for c in versions.get_row(key)[3:5]] for key in ("1", "2")}
        assert rows == {"1": ["alpha", "acc 0.9"], "2": ["beta", "acc 0.7"]}
        assert len([f for f in searches if f and "attributes.run_id IN" in f]) == 1


@sync
async def test_the_history_shows_each_moves_verdict_at_120_columns_however_long_its_comment(
    models, store_path
):
    """The comment is free text and comes last, where a narrow terminal cuts it: the
    policy's verdict (here a forced move) stays on screen."""
    import html
    import re

    with Store(store_path) as store:
        store.registry.set_policy("resnet", "metrics.acc >= 0.8")
        store.registry.transition(
            "resnet", 2, "Production", "canary clean for 48 hours, " * 6, force=True, user="bo"
        )
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await pilot.press("h")
        history = screen.query_one("#history", DataTable)
        # Shown, its rows read in, and laid out with them (not with the header's widths).
        await settle(
            pilot,
            lambda: (
                history.has_class("shown")
                and history.row_count >= 1
                # (the long comment's column: the header alone is some 50 cells wide)
                and history.virtual_size.width > 100
            ),
        )
        await pilot.pause()
        svg = app.export_screenshot()
    shown = html.unescape(" ".join(re.findall(r">([^<]*)</text>", svg))).replace("\xa0", " ")
    assert "FAIL (forced)" in shown and "Staging → Production" in shown
    assert "canary clean for 48 hours" in shown


@sync
async def test_a_move_that_cannot_be_checked_says_why_and_checks_again_on_enter(
    models, store_path, monkeypatch
):
    """The store not answering while a move is planned (a server down): the dialog stays,
    says why with the comment kept, the header marks the problem; enter checks again."""
    from mltop.store.errors import ServerUnreachableError
    from mltop.store.sqlite.registry import Registry

    plan = Registry.plan_transition
    down = [True]

    def flaky_plan(self, *args, **kwargs):
        if down[0]:
            raise ServerUnreachableError("http://127.0.0.1:9 [Errno 111] Connection refused")
        return plan(self, *args, **kwargs)

    monkeypatch.setattr(Registry, "plan_transition", flaky_plan)
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await choose(pilot, screen, 2)
        await pilot.press("N", *"retry")
        dialog = app.screen
        assert isinstance(dialog, TransitionDialog)
        problem = dialog.query_one("#problem")
        await settle(pilot, lambda: "not checked" in str(problem.render()))
        assert "Connection refused" in str(problem.render())
        assert "enter checks again" in str(problem.render())
        assert "cannot check" in str(dialog.query_one("#plan").render())
        assert str(dialog.query_one("#hint").render()).startswith("enter checks the move again")
        assert app.problem == "server unreachable"
        assert dialog.plan is None and dialog.query_one("#comment", Input).value == "retry"
        await pilot.press("enter")  # still down: said again, nothing moved
        await settle(pilot, lambda: "not checked" in str(problem.render()))
        assert app.screen is dialog and stage(store_path, 2) == "Staging"
        down[0] = False
        await pilot.press("enter")  # up again: the plan shows, and enter then makes the move
        await settle(pilot, planned(app))
        assert "resnet v2: Staging → None" in str(dialog.query_one("#plan").render())
        assert "not checked" not in str(problem.render())
        assert str(dialog.query_one("#hint").render()).startswith("enter confirms")
        await pilot.press("enter")
        await settle(pilot, lambda: stage(store_path, 2) == "None")
        assert history(store_path)[-1].comment == "retry"
        await settle(pilot, lambda: app.screen is screen)
