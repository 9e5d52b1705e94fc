"""NO_COLOR=1: every screen draws without colour, and nothing of ours trips Textual's
monochrome filter (a segment without a style crashed it at start)."""

from __future__ import annotations

from test_dashboard import app_for, filled, loaded, settle, sync  # noqa: F401 (a fixture)

from mltop.tui.screens.columns import ColumnsScreen
from mltop.tui.screens.compare import CompareScreen
from mltop.tui.screens.help import HelpScreen
from mltop.tui.screens.registry import RegistryScreen
from mltop.tui.screens.run_detail import RunDetailScreen


@sync
async def test_every_screen_draws_without_colour(filled, store_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("NO_COLOR", "1")
    app = app_for(store_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app, 3)
        assert app.no_color

        def drawn() -> str:
            return "\n".join(
                "".join(s.text for s in strip) for strip in app.screen._compositor.render_strips()
            )

        assert "alpha" in drawn()
        # The picker says in words which columns are shown (its ticks look alike).
        await pilot.press("C")
        await settle(pilot, lambda: isinstance(app.screen, ColumnsScreen))
        assert "status  run  · shown" in drawn()
        await pilot.press("space")
        await pilot.pause(0.1)
        assert "status  run  · hidden" in drawn()
        await pilot.press("escape")
        await settle(pilot, lambda: not isinstance(app.screen, ColumnsScreen))
        for key, screen in [("C", ColumnsScreen), ("question_mark", HelpScreen)]:
            await pilot.press(key)
            await settle(pilot, lambda screen=screen: isinstance(app.screen, screen))
            drawn()
            await pilot.press("escape")
            await pilot.pause(0.1)
        await pilot.press("escape")
        await settle(pilot, lambda: len(app.screen_stack) == 2)
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        await pilot.pause(0.5)
        drawn()
        await pilot.press("escape")
        await settle(pilot, lambda: not isinstance(app.screen, RunDetailScreen))
        await pilot.press("space", "j", "space", "c")
        await settle(pilot, lambda: isinstance(app.screen, CompareScreen))
        await pilot.press("2")
        await pilot.pause(0.5)
        drawn()
        await pilot.press("escape")
        await settle(pilot, lambda: not isinstance(app.screen, CompareScreen))
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, RegistryScreen))
        drawn()
