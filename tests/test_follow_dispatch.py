"""What a store change makes each screen read again: the runs screen patches its rows, the
registry reads again, and a run's screens (detail, compare) only when one of their runs
changed (a sweep of busy runs must not make an open run re-read on every commit)."""

from __future__ import annotations

from test_dashboard import NOW, settle, sync

from mltop.store import MltopClient, Store
from mltop.store.entities import ChangeCursor, Changes, Metric
from mltop.tui.app import MltopApp, StoreChanged
from mltop.tui.screens.run_detail import RunDetailScreen
from mltop.tui.widgets.runs_table import RunsTable


def changes(run_ids: list[str], points: list[str], *, more: bool = False) -> Changes:
    metrics = [Metric("loss", 0.5, NOW, 1, run_id, 99) for run_id in points]
    return Changes([], run_ids, metrics, ChangeCursor(0, 0), more)


@sync
async def test_an_open_run_reads_again_only_when_it_changed(store_path):
    client = MltopClient(Store(store_path))
    mine, other = (
        client.create_run(run_name=name, log_system_info=False).info.run_id
        for name in ("mine", "other")
    )
    client.log_metric(mine, "loss", 1.0)
    client.flush()
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(RunsTable)
        await settle(pilot, lambda: len(table.runs) == 2)
        await pilot.pause(0.1)
        table.table.move_cursor(row=[r.info.run_id for r in table.runs].index(mine))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.run)
        screen = app.screen
        follows: list[int] = []
        screen.follow = lambda: follows.append(1)  # type: ignore[method-assign]
        # Messages are handled in order: each one this run cares about is counted after
        # every one before it was handled, so the count shows which of them were followed.
        app.post_message(StoreChanged(changes([other], [other])))  # another run: nothing
        for change, expected in (
            (changes([mine], []), 1),  # a tag of this run
            (changes([], [mine]), 2),  # a point of this run
            (changes([other], [], more=True), 3),  # a feed read in part: maybe this run too
        ):
            app.post_message(StoreChanged(change))
            await settle(pilot, lambda expected=expected: len(follows) >= expected)
            assert len(follows) == expected
