"""The mltop dashboard: a Textual app over a store, following it live."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen

from mltop.store import Changes, MltopError, Store
from mltop.store.tracking import now_ms
from mltop.tui.live import StoreFollower
from mltop.tui.screens.runs import RunsScreen


class StoreChanged(Message):
    def __init__(self, changes: Changes) -> None:
        super().__init__()
        self.changes = changes


class StoreFailed(Message):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error


class MltopApp(App):
    TITLE = "mltop"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "toggle_help", "Help", tooltip="These keys", id="app.help"),
        Binding(
            "r",
            "registry",
            "Registry",
            tooltip="Models, versions, stages and history",
            id="app.registry",
        ),
    ]

    def __init__(
        self,
        store_path: str | Path | None = None,
        *,
        poll: float | None = None,
        follow: bool = True,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        super().__init__()
        self.store = Store(store_path, create=False)
        self.poll = poll
        self.follow = follow
        self.now = clock
        self.follower: StoreFollower | None = None

    def on_mount(self) -> None:
        live = (
            ""
            if not self.follow
            else (f"  ● polling every {self.poll:g} s" if self.poll is not None else "  ● live")
        )
        self.sub_title = f"{self.store.path}{live}"
        # Changes are followed from this moment on; the follower itself (a thread, file
        # events, its own connection) starts once the runs are on screen, or in 2 s.
        self._cursor = None
        if self.follow:
            try:
                self._cursor = self.store.cursor()
            except MltopError as exc:  # the follower will report it, and retry
                self.notify(f"store problem: {exc}", severity="error", timeout=8)
        self.push_screen(RunsScreen(self.store))
        self.set_timer(2.0, self.start_following)
        self.set_interval(1.0, self._tick)

    def start_following(self) -> None:
        if not self.follow or self.follower is not None:
            return
        self.follower = StoreFollower(
            self.store.path,
            lambda changes: self.post_message(StoreChanged(changes)),
            on_error=lambda error: self.post_message(StoreFailed(error)),
            poll=self.poll,
            cursor=self._cursor,
        )
        self.follower.start()

    def action_toggle_help(self) -> None:
        """`?`: every binding of the current screen, in a window over it (again to close)."""
        from mltop.tui.screens.help import HelpScreen, bindings_of

        screen = self.screen
        if isinstance(screen, HelpScreen):
            screen.dismiss()
            return
        rows = [(keys, does) for _binding, keys, does in bindings_of(screen)]
        self.push_screen(HelpScreen(getattr(screen, "HELP_TITLE", "mltop"), rows))

    def action_registry(self) -> None:
        from mltop.tui.screens.registry import RegistryScreen

        if not isinstance(self.screen, RegistryScreen):
            self.push_screen(RegistryScreen(self.store))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The command palette (ctrl+p) lists every action of the screen, by name."""
        from mltop.tui.screens.help import bindings_of

        yield from super().get_system_commands(screen)
        for binding, keys, does in bindings_of(screen):
            yield SystemCommand(
                binding.description or does,
                f"{does} (key: {keys})",
                partial(self.run_action, binding.action, screen),
            )

    def _tick(self) -> None:
        # Running runs' durations tick and their heartbeats can go stale: nothing else
        # changes with the clock, and store changes arrive through the follower.
        for screen in self.screen_stack:
            if isinstance(screen, RunsScreen):
                screen.tick()

    def on_store_changed(self, message: StoreChanged) -> None:
        from mltop.tui.screens.compare import CompareScreen
        from mltop.tui.screens.registry import RegistryScreen
        from mltop.tui.screens.run_detail import RunDetailScreen

        for screen in self.screen_stack:  # the runs screen stays current under the detail
            if isinstance(screen, RunsScreen):
                screen.apply_changes(message.changes)
            elif isinstance(screen, RunDetailScreen | CompareScreen | RegistryScreen):
                screen.follow()

    def on_store_failed(self, message: StoreFailed) -> None:
        self.notify(f"store problem: {message.error}", severity="error", timeout=8)

    def on_unmount(self) -> None:
        if self.follower is not None:
            self.follower.stop()
