"""Store work off the UI thread: plain values in, one message out, one way to fail.

`store_work` makes a function a thread worker of the screen (or widget) it is called on.
The function gets no `self`: it cannot read or change the screen from its thread. What it
needs (the store, the screen's state) is passed as plain values on the UI thread when the
work starts, and what it read comes back only as the Message it returns, posted to the
screen and handled on the UI thread.

What it raises goes to the app's error funnel, as a `WorkFailed` message (`report`): a
`StoreError` (the store busy, unreadable, damaged or gone) to the app's `store_failed`,
which says so once and retries until the store works again; any other `MltopError` (a run
deleted meanwhile, a move refused) is said in a notification; anything else is a bug,
reported as an internal error with its traceback logged. Either way the screen keeps what
it showed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, Protocol, cast

from textual.app import App
from textual.dom import DOMNode
from textual.message import Message
from textual.worker import Worker

from mltop.store import MltopError, StoreError
from mltop.tui.text import clean

log = logging.getLogger("mltop.tui")


class Funnel(Protocol):
    """What the app does with failures (MltopApp implements it)."""

    def store_failed(self, error: StoreError, *, loud: bool = False) -> None: ...

    def internal_error(self, error: BaseException) -> None: ...


def report(app: App[Any], error: BaseException, *, loud: bool = False) -> None:
    """Say what went wrong, on the UI thread. A store problem already shown is not said
    again, unless `loud` (what the user asked for did not happen: always say so)."""
    funnel = cast(Funnel, app) if hasattr(app, "store_failed") else None
    if isinstance(error, StoreError) and funnel is not None:
        funnel.store_failed(error, loud=loud)
    elif isinstance(error, MltopError):
        app.notify(clean(error), severity="error", timeout=10, markup=False)
    elif funnel is not None:
        funnel.internal_error(error)
    else:
        log.error("internal error", exc_info=error)
        app.notify(f"internal error: {error!r}", severity="error", markup=False)


@dataclass
class WorkFailed(Message):
    """Store work raised `error`: for the app to `report` (MltopApp handles it)."""

    error: BaseException
    loud: bool = False


P = ParamSpec("P")


def store_work(
    *, group: str, exclusive: bool = False, loud: bool = False
) -> Callable[[Callable[P, Message | None]], Callable[Concatenate[DOMNode, P], Worker[None]]]:
    """Make `work` a thread worker (Textual's, in `group`; `exclusive` cancels the group's
    earlier workers) of the node it is called on, as a method: `node.work(store, ...)`
    starts it, on the UI thread, and returns the Worker. The Message `work` returns is
    posted to that node; what it raises is reported (`loud`: always said, for what the
    user asked for), never re-raised.

    `work` is written in the class without `self` (its first argument is the store, or
    whatever it reads): on its thread it has nothing of the node but the values given."""

    def decorate(
        work: Callable[P, Message | None],
    ) -> Callable[Concatenate[DOMNode, P], Worker[None]]:
        def start(node: DOMNode, /, *args: P.args, **kwargs: P.kwargs) -> Worker[None]:
            app = node.app  # here, on the UI thread: a screen gone meanwhile has no app

            def body() -> None:
                try:
                    message = work(*args, **kwargs)
                except Exception as error:
                    try:
                        reported = app.post_message(WorkFailed(error, loud))
                    except RuntimeError:  # the app's loop has closed meanwhile
                        reported = False
                    if not reported:
                        log.debug("not reported, the app has stopped", exc_info=error)
                    return
                if message is not None:
                    node.post_message(message)

            return node.run_worker(
                body,
                name=work.__name__,
                group=group,
                exclusive=exclusive,
                thread=True,
                exit_on_error=False,
            )

        start.__name__, start.__qualname__ = work.__name__, work.__qualname__
        start.__doc__ = work.__doc__
        return start

    return decorate


class OneAtATime:
    """A read that runs one at a time: asked for while one runs, it runs once more after
    it (a live run commits several times a second; each read takes what is new). The
    owner calls `ended` from its `Worker.StateChanged` handler."""

    def __init__(self, start: Callable[[], Worker[Any]]) -> None:
        self._start = start
        self._worker: Worker[Any] | None = None
        self._again = False

    def __call__(self) -> None:
        if self._worker is not None and not self._worker.is_finished:
            self._again = True
            return
        self._again = False
        self._worker = self._start()

    def ended(self, worker: Worker[Any]) -> None:
        if worker is self._worker and worker.is_finished and self._again:
            self()
