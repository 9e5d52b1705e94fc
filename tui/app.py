"""The mltop dashboard: a Textual app over a store, following it live."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, ListView, OptionList
from textual.worker import Worker

from mltop.store import (
    Changes,
    NotAnMlflowServerError,
    NotAStoreError,
    SchemaTooNewError,
    ServerError,
    ServerRefusedError,
    ServerUnreachableError,
    StoreBusyError,
    StoreCorruptError,
    StoreError,
    StoreFullError,
    StoreIOError,
    StoreNotFoundError,
    StoreReadOnlyError,
    TrackingStore,
    now_ms,
    open_store,
)
from mltop.store.location import server_url
from mltop.tui.list_keys import LIST_ACTIONS, list_bindings
from mltop.tui.live import DEFAULT_SERVER_POLL, FollowsStore, StoreFollower, touched_runs
from mltop.tui.screens.runs import RunsScreen
from mltop.tui.text import clean
from mltop.tui.workers import WorkFailed, report, store_work

PROBE_EVERY = 1.0  # seconds between looks at a store with a problem
DASHBOARD_BUSY_TIMEOUT = 5.0  # seconds a read or write waits on another process's lock
# What the header says of a store problem, by its kind.
PROBLEMS: dict[type[StoreError], str] = {
    StoreBusyError: "store busy",
    StoreFullError: "disk full",
    StoreReadOnlyError: "store read-only",
    StoreIOError: "store unreadable",
    StoreCorruptError: "store damaged",
    NotAStoreError: "store damaged",  # what reopening a damaged database file says
    SchemaTooNewError: "store too new",
    StoreNotFoundError: "store gone",
    ServerUnreachableError: "server unreachable",
    ServerRefusedError: "server refused access",
    NotAnMlflowServerError: "not an MLflow server",
    ServerError: "server error",
}


@dataclass
class StoreChanged(Message):
    changes: Changes


class StoreReplaced(Message):
    """The store's database file is another one now (a backup put back, say)."""


@dataclass
class StoreFailed(Message):
    error: Exception


class StoreWorks(Message):
    """A look at the store that had a problem found it working."""


class StoreReconnected(Message):
    """Connected to the store's new database file."""


def _is_registry(screen: Screen[Any] | None) -> bool:
    """Whether `screen` is the registry: without importing it (the dashboard's start does
    not need it), as a registry screen exists only once its module is imported."""
    module = sys.modules.get("mltop.tui.screens.registry")
    return module is not None and isinstance(screen, module.RegistryScreen)


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
        # Ctrl+C quits, as in htop and k9s (Textual only hints at ctrl+q with it); a
        # priority binding, so that a focused input's copy does not swallow it.
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="app.ctrl_c"),
        # vi's keys on every list (a table, an option list, a list view) that has the
        # focus, as in k9s and lazygit; a widget's or a screen's own binding wins.
        *list_bindings(),
    ]

    # Ended by one of these, the app exits as `q` does: a closed terminal (a dropped SSH
    # session), `kill`. EXIT_GRACE seconds after `on_exit` has run, the process is gone.
    EXIT_SIGNALS = (signal.SIGHUP, signal.SIGTERM)
    EXIT_GRACE = 2.0

    def __init__(
        self,
        store_path: str | Path | None = None,
        *,
        poll: float | None = None,
        follow: bool = True,
        clock: Callable[[], int] = now_ms,
        on_exit: Callable[[], None] | None = None,
        error_log: Path | None = None,
        bell: bool = False,
    ) -> None:
        """`on_exit` is called once as the app ends, however it ends: it stops what the
        caller started for it (`mltop demo`'s training jobs). Tracebacks of the dashboard's
        own bugs are appended to `error_log`, if given. With `bell`, the terminal's bell
        rings when a run gets a new health alert (the runs screen watches them)."""
        super().__init__()
        self.bell_on_alerts = bell
        self.store = open_store(store_path, create=False, busy_timeout=DASHBOARD_BUSY_TIMEOUT)
        self.error_log = error_log
        self.problem: str | None = None  # what is wrong with the store, as the header says
        self._probe_timer: Timer | None = None
        self._probe: Worker[Any] | None = None
        self._probe_write = False
        self._errors_said: set[tuple[str, str]] = set()
        self._leaving: weakref.WeakSet[Screen[Any]] = weakref.WeakSet()  # back, once built
        # A tracking server has no file to watch: it is looked at every second unless told.
        self.remote = server_url(self.store.location) is not None
        self.poll = DEFAULT_SERVER_POLL if poll is None and self.remote else poll
        self.follow = follow
        self.now = clock
        self.follower: StoreFollower | None = None
        self.on_exit = on_exit
        self.signalled: int | None = None  # the signal that ended the app, if one did
        # Signal handlers replaced while the app runs, put back as it ends.
        self._installed: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {}

    def on_mount(self) -> None:
        self._show_state()
        limits = self.store.capabilities.limits()
        if limits:  # a tracking server: what it cannot do is said, not hidden
            self.notify(
                "\n".join(f"• {line}" for line in limits),
                title="on a tracking server",
                severity="information",
                timeout=12,
                markup=False,
            )
        # Changes are followed from this moment on; the follower itself (a thread, file
        # events, its own connection) starts once the runs are on screen, or in 2 s.
        self._cursor = None
        if self.follow:
            try:
                self._cursor = self.store.cursor()
            except StoreError as exc:  # said, and retried; the follower starts from later
                self.store_failed(exc)
        self.push_screen(RunsScreen(self.store))
        self.set_timer(2.0, self.start_following)
        self.set_interval(1.0, self._tick)
        self._handle_exit_signals()

    def _handle_exit_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in self.EXIT_SIGNALS:
            previous = signal.getsignal(signum)
            try:
                loop.add_signal_handler(signum, self._exit_on_signal, signum)
            except (ValueError, RuntimeError, NotImplementedError):  # not the main thread
                continue
            self._installed[signum] = previous

    def _exit_on_signal(self, signum: int) -> None:
        # Textual restores the terminal on its way out. Once the terminal is gone (SIGHUP)
        # that can fail, or block for good (its writer thread dies on EIO, and the SIGCONT
        # sent with SIGHUP restarts application mode): so what must be stopped is stopped
        # first, and the process leaves EXIT_GRACE seconds later whatever Textual does.
        self.signalled = signum
        try:
            self._call_on_exit()
        finally:
            watchdog = threading.Timer(self.EXIT_GRACE, os._exit, (128 + signum,))
            watchdog.daemon = True
            watchdog.start()
            self.exit(return_code=128 + signum)

    def _call_on_exit(self) -> None:
        on_exit, self.on_exit = self.on_exit, None
        if on_exit is not None:
            on_exit()

    def start_following(self) -> None:
        if not self.follow or self.follower is not None:
            return
        self.follower = StoreFollower(
            self.store.location,
            lambda changes: self.post_message(StoreChanged(changes)),
            on_error=lambda error: self.post_message(StoreFailed(error)),
            on_replaced=lambda: self.post_message(StoreReplaced()),
            poll=self.poll,
            cursor=self._cursor,
        )
        self.follower.start()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Over a modal screen (a dialog, the help, the palette) the app's keys that open a
        screen do nothing, however they arrive: a key meant as text in a dialog must never
        open anything over it. (Textual already keeps the bindings of the screens beneath
        a modal from acting.) The help toggle may still close the help it opened. On the
        registry, its key is not listed: it does nothing there. The list keys act on a
        focused list only; elsewhere the key goes on, as if unbound."""
        if action in LIST_ACTIONS:
            return True if self._focused_list() is not None else None
        return self._acts_over(action, self.screen_stack[-1] if self.screen_stack else None)

    def _acts_over(self, action: str, top: Screen[Any] | None) -> bool | None:
        """`check_action` for one of the app's keys, `top` the screen on top (the one the
        command palette was opened over, for the palette)."""
        if action == "registry" and _is_registry(self._base_screen()):
            return False
        if action in ("registry", "toggle_help") and top is not None and top.is_modal:
            from mltop.tui.screens.help import HelpScreen

            if action == "toggle_help" and isinstance(top, HelpScreen):
                return True
            if action == "toggle_help" and getattr(top, "HELP_OVER", False):
                return True  # a modal of keys alone (no text box): its keys can be asked
            return None  # disabled, yet still listed: the footer beneath keeps its keys
        return True

    def _base_screen(self) -> Screen[Any] | None:
        """The topmost screen that is not a modal one (a dialog, the help)."""
        return next((s for s in reversed(self.screen_stack) if not s.is_modal), None)

    # -- the list keys: j k g G ctrl+d ctrl+u on whatever list has the focus --------------

    def _focused_list(self) -> DataTable[Any] | OptionList | ListView | None:
        focused = self.focused
        return focused if isinstance(focused, DataTable | OptionList | ListView) else None

    def _list_go(self, where: Callable[[int, int, int], int]) -> None:
        """Move the focused list's cursor to `where(row, rows, half a page)`."""
        widget = self._focused_list()
        if widget is None:
            return
        half = max(1, widget.scrollable_content_region.height // 2)
        if isinstance(widget, DataTable):
            if widget.row_count:
                row = where(widget.cursor_row, widget.row_count, half)
                widget.move_cursor(row=min(max(row, 0), widget.row_count - 1))
        elif isinstance(widget, OptionList):
            if widget.option_count:
                now = widget.highlighted if widget.highlighted is not None else 0
                row = where(now, widget.option_count, half)
                widget.highlighted = min(max(row, 0), widget.option_count - 1)
        elif len(widget):
            now = widget.index if widget.index is not None else 0
            widget.index = min(max(where(now, len(widget), half), 0), len(widget) - 1)

    def action_list_move(self, step: int) -> None:
        self._list_go(lambda row, rows, half: row + step)

    def action_list_end(self, last: int) -> None:
        self._list_go(lambda row, rows, half: rows - 1 if last else 0)

    def action_list_half(self, direction: int) -> None:
        self._list_go(lambda row, rows, half: row + direction * half)

    def action_toggle_help(self) -> None:
        """`?`: every binding of the current screen, in a window over it (again to close)."""
        from mltop.tui.screens.help import HelpScreen, help_rows

        screen = self.screen
        if isinstance(screen, HelpScreen):
            screen.dismiss()
            return
        self.push_screen(HelpScreen(getattr(screen, "HELP_TITLE", "mltop"), help_rows(screen)))

    def action_registry(self) -> None:
        from mltop.tui.screens.registry import RegistryScreen

        if not isinstance(self.screen, RegistryScreen):
            self.push_screen(RegistryScreen(self.store))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The command palette (ctrl+p) lists every action of the screen, by name, each
        once: one `Quit` (ctrl+c's, `q`'s and Textual's are one), one help (ours: Textual's
        `Keys` panel says less), no list keys (they move a cursor, they are not commands),
        no app key that does nothing there (the registry over the help), Textual's own commands
        under other names. Two actions of one name (the run detail's `m` and its metrics
        tab) are told apart by what they do."""
        from mltop.tui.screens.help import bindings_of

        own = {b.action for b in type(screen).BINDINGS if isinstance(b, Binding)}
        titles: set[str] = set()
        ours: list[SystemCommand] = []
        for binding, keys, does in bindings_of(screen):
            action = binding.action.partition("(")[0].removeprefix("app.")
            if action in LIST_ACTIONS or (action == "quit" and "Quit" in titles):
                continue
            node = screen if binding.action in own else self
            if node is self and self._acts_over(action, screen) is not True:
                continue
            title = binding.description or does
            if title in titles:
                title = does.partition(":")[0] if does.partition(":")[0] != title else does
                if title in titles:
                    continue
            titles.add(title)
            ours.append(
                SystemCommand(
                    title,
                    f"{does} (key: {keys})",
                    # The app's own keys (help, registry) are actions of the app.
                    partial(self.run_action, binding.action, node),
                )
            )
        for command in super().get_system_commands(screen):
            if command.title not in titles and command.title != "Keys":
                titles.add(command.title)
                yield command
        yield from ours

    def _tick(self) -> None:
        # Running runs' durations tick and their heartbeats can go stale: nothing else
        # changes with the clock, and store changes arrive through the follower.
        # Only the screen on top: one under a run's detail catches up when it shows again
        # (ticking it would repaint the screen over it each second).
        if isinstance(self.screen, RunsScreen):
            self.screen.tick()

    def on_store_changed(self, message: StoreChanged) -> None:
        # Every screen on the stack that follows the store hears of it (the runs screen
        # stays current under a run's detail); each decides from the runs touched.
        touched = touched_runs(message.changes)
        for screen in self.screen_stack:
            # A screen still being built reads the store once it is: nothing to follow yet.
            if isinstance(screen, FollowsStore) and screen.is_mounted:
                screen.store_changed(message.changes, touched)

    async def action_pop_screen(self) -> None:
        """Back. A screen just pushed may not be built yet (enter then escape typed, or
        delivered by a loaded machine, back to back): popping it in the middle of its
        mount breaks the mount. It goes back once it is built, once however often asked."""
        screen = self.screen
        if screen.is_mounted:
            if len(self.screen_stack) > 1:
                self.pop_screen()
        elif screen not in self._leaving:
            self._leaving.add(screen)
            screen.call_after_refresh(self._leave, screen)

    def _leave(self, screen: Screen[Any]) -> None:
        self._leaving.discard(screen)
        if self.screen is screen and len(self.screen_stack) > 1:
            self.pop_screen()

    def on_store_failed(self, message: StoreFailed) -> None:
        report(self, message.error)

    def on_work_failed(self, message: WorkFailed) -> None:
        report(self, message.error, loud=message.loud)

    # -- the error funnel: every failure of a read or write ends here ----------------------

    def store_failed(self, error: StoreError, *, loud: bool = False) -> None:
        """The store cannot be used: say so once (a notification, and a marker in the header
        that stays), keep every screen as it is, and look again every PROBE_EVERY seconds
        until the store works again. A different problem is said; the same one is not,
        unless `loud` (something the user asked for was not done)."""
        if self.store.read_only and isinstance(error, StoreReadOnlyError):
            # Opened read-only on purpose: nothing to mark or wait for, only what was refused.
            self.notify(clean(error), title="read-only", severity="warning", markup=False)
            return
        label = next(
            (text for kind, text in PROBLEMS.items() if isinstance(error, kind)), "store problem"
        )
        if label != self.problem or loud:
            self.notify(clean(error), title=label, severity="error", timeout=10, markup=False)
        if label != self.problem:
            self.problem = label
            self._show_state()
        # A lock held elsewhere, a full disk, read-only files stop writes only: then only a
        # write that could start shows that the store works again.
        self._probe_write = isinstance(error, StoreBusyError | StoreFullError | StoreReadOnlyError)
        if self._probe_timer is None:
            self._probe_timer = self.set_interval(PROBE_EVERY, self._look_again)

    def _look_again(self) -> None:
        # One look at a time: a look may wait on another's lock for the busy timeout.
        if self._probe is None or self._probe.is_finished:
            self._probe = self._check_store(self.store, self._probe_write)

    @store_work(group="probe")
    def _check_store(store: TrackingStore, write: bool) -> StoreWorks:
        store.check(write=write)
        return StoreWorks()

    def on_store_works(self, message: StoreWorks) -> None:
        self.store_recovered()

    def store_recovered(self) -> None:
        """The store works again: say so, and read again what every screen shows."""
        if self._probe_timer is not None:
            self._probe_timer.stop()
            self._probe_timer = None
        if self.problem is None:
            return
        self.problem = None
        self._show_state()
        self.notify(f"the store at {clean(self.store.location)} works again", markup=False)
        self._reload_screens()

    def on_store_replaced(self, message: StoreReplaced) -> None:
        self._reconnect(self.store)

    @store_work(group="reconnect")
    def _reconnect(store: TrackingStore) -> StoreReconnected:
        store.check()  # connects to the new file
        return StoreReconnected()

    def on_store_reconnected(self, message: StoreReconnected) -> None:
        self._reload_screens()

    def _reload_screens(self) -> None:
        """Every screen reads again what it shows (one still being built reads it once it
        is: reloading it in the middle of its mount would look for widgets not there yet)."""
        for screen in self.screen_stack:
            reload = getattr(screen, "reload", None)
            if reload is not None and screen.is_mounted:
                reload()

    def internal_error(self, error: BaseException) -> None:
        """A bug: the dashboard goes on; said once per kind, with its traceback logged."""
        where = ""
        if self.error_log is not None:
            try:
                self.error_log.parent.mkdir(parents=True, exist_ok=True)
                with self.error_log.open("a", encoding="utf-8") as log:
                    log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
                    log.write("".join(traceback.format_exception(error)))
                where = f"; details in {self.error_log}"
            except OSError:
                pass
        seen = (type(error).__name__, str(error))
        if seen not in self._errors_said:
            self._errors_said.add(seen)
            self.notify(
                clean(f"internal error, the dashboard goes on: {error!r}{where}"),
                title="mltop bug",
                severity="error",
                timeout=15,
                markup=False,
            )

    def _show_state(self) -> None:
        """The header: the store's path, then whether it is followed or has a problem."""
        if self.problem is not None:
            state = f"  ⚠ {self.problem}"
        elif not self.follow:
            state = ""
        elif self.poll is not None:
            state = f"  ● polling every {self.poll:g} s"
        else:
            state = "  ● live"
        read_only = "  (read-only)" if self.store.read_only else ""
        self.sub_title = f"{clean(self.store.location)}{read_only}{state}"

    def format_title(self, title: str, sub_title: str) -> Content:
        """As Textual's, with a store problem in the error colour."""
        marker = f"  ⚠ {self.problem}"
        if self.problem is None or not sub_title.endswith(marker):
            return super().format_title(title, sub_title)
        return Content.assemble(
            Content(title),
            (" — ", "dim"),
            Content(sub_title[: -len(marker)]).stylize("dim"),
            (marker, "bold red"),
        )

    def on_unmount(self) -> None:
        loop = asyncio.get_running_loop()
        for signum, previous in self._installed.items():
            loop.remove_signal_handler(signum)
            if previous is not None:  # None: not set from Python; SIG_DFL is left
                signal.signal(signum, previous)
        self._installed.clear()
        if self.follower is not None:
            self.follower.stop()
        self._call_on_exit()
