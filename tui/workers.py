"""Store work off the UI thread, with one way to fail: the app's error funnel.

`store_work` makes a screen's (or widget's) method a thread worker that never takes the
dashboard down. What it raises goes to the app on the UI thread (`report`): a `StoreError`
(the store busy, unreadable, damaged or gone) to the app's `store_failed`, which says so
once and retries until the store works again; any other `MltopError` (a run deleted
meanwhile, a move refused) is said in a notification; anything else is a bug, reported as
an internal error with its traceback logged. Either way the screen keeps what it showed.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar, cast

from textual.app import App
from textual.dom import DOMNode
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


P = ParamSpec("P")
N = TypeVar("N", bound=DOMNode)


def store_work(
    *, group: str, exclusive: bool = False, loud: bool = False
) -> Callable[[Callable[Concatenate[N, P], object]], Callable[Concatenate[N, P], Worker[Any]]]:
    """Run the decorated method on a worker thread (Textual's thread worker, in `group`;
    `exclusive` cancels the group's earlier workers); what it raises is reported (`loud`:
    always said, for what the user asked for), never re-raised. Calling it returns the
    Worker."""

    def decorate(
        method: Callable[Concatenate[N, P], object],
    ) -> Callable[Concatenate[N, P], Worker[Any]]:
        @functools.wraps(method)
        def start(self: N, *args: P.args, **kwargs: P.kwargs) -> Worker[Any]:
            app = self.app  # here, on the UI thread: a screen gone meanwhile has no app

            def body() -> Any:
                try:
                    return method(self, *args, **kwargs)
                except Exception as error:
                    try:
                        app.call_from_thread(report, app, error, loud=loud)
                    except RuntimeError:  # the app has stopped meanwhile
                        log.debug("not reported, the app has stopped", exc_info=error)
                    return None

            return self.run_worker(
                body,
                name=method.__name__,
                group=group,
                exclusive=exclusive,
                thread=True,
                exit_on_error=False,
            )

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
