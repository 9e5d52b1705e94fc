"""Keys that arrive faster than screens are built (a paste, a loaded machine over SSH, a
user who knows the keys): enter and escape back to back, many times. Going back from a
screen not built yet waits until it is, once; a run opened twice by keys read late is
opened once. The dashboard never falls over."""

from __future__ import annotations

from test_dashboard import settle, sync

from mltop.store import MltopClient, Store
from mltop.tui.app import MltopApp
from mltop.tui.screens.run_detail import RunDetailScreen
from mltop.tui.screens.runs import RunsScreen
from mltop.tui.widgets.runs_table import RunsTable

NOW = 1_800_000_000_000


@sync
async def test_enter_and_escape_in_a_burst_never_break_a_screen(store_path):
    client = MltopClient(Store(store_path))
    for i in range(3):
        run_id = client.create_run(run_name=f"r{i}", log_system_info=False).info.run_id
        for step in range(100):
            client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
        client.set_terminated(run_id)
    client.close()
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: len(app.screen.query_one(RunsTable).runs) == 3)
        await pilot.pause(0.1)
        read = []
        for _ in range(40):  # queued at once: each is read before any screen is built
            app.simulate_key("enter")
            app.simulate_key("escape")
        app.call_later(read.append, True)  # after every key above
        await settle(pilot, lambda: read and all(s.is_mounted for s in app.screen_stack))
        await pilot.pause(0.3)
        stack = [type(s).__name__ for s in app.screen_stack[1:]]
        assert stack in (["RunsScreen"], ["RunsScreen", "RunDetailScreen"]), stack
        if isinstance(app.screen, RunDetailScreen):  # an enter whose selection came last
            await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, RunsScreen))
        assert len(app.screen_stack) == 2
        assert not [n for n in app._notifications if n.severity == "error"]
        assert app.is_running and app._exception is None
        # And the keys still work as keys.
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.run)
        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, RunsScreen))
