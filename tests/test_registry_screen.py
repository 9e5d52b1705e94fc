"""The registry screen's moves, driven with Textual's Pilot: every move asks first."""

from __future__ import annotations

import pytest
from test_dashboard import NOW, settle, sync
from textual.widgets import DataTable, Input

from mltop.store import MltopClient, Store
from mltop.tui.app import MltopApp
from mltop.tui.screens.dialogs import AliasDialog, TransitionDialog
from mltop.tui.screens.registry import RegistryScreen


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


@sync
async def test_promote_with_confirm_changes_the_store_and_logs_the_comment(models, store_path):
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await choose(pilot, screen, 2)
        await pilot.press("P")
        await settle(pilot, lambda: isinstance(app.screen, TransitionDialog))
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
async def test_promote_then_cancel_changes_nothing(models, store_path):
    before = history(store_path)
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await choose(pilot, screen, 2)
        await pilot.press("A")  # archive: no comment needed, so y/n are keys
        await settle(pilot, lambda: isinstance(app.screen, TransitionDialog) and not app.focused)
        await pilot.press("n")
        await settle(pilot, lambda: app.screen is screen)
        await pilot.press("P")
        await settle(pilot, lambda: isinstance(app.screen, TransitionDialog))
        app.screen.query_one("#comment", Input).value = "on second thought"
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is screen)
    assert stage(store_path, 2) == "Staging" and history(store_path) == before


@sync
async def test_archive_confirms_with_y(models, store_path):
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await choose(pilot, screen, 2)
        await pilot.press("A")
        await settle(pilot, lambda: isinstance(app.screen, TransitionDialog) and not app.focused)
        await pilot.press("y")
        await settle(pilot, lambda: stage(store_path, 2) == "Archived")


@sync
async def test_a_policy_failure_is_forced_only_with_a_comment(models, store_path):
    with Store(store_path) as store:
        store.registry.set_policy("resnet", "metrics.acc >= 0.8")
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(pilot, app)
        await choose(pilot, screen, 2)  # beta: acc 0.7
        await pilot.press("P")
        await settle(pilot, lambda: isinstance(app.screen, TransitionDialog))
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
        await settle(pilot, lambda: isinstance(app.screen, TransitionDialog))
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
