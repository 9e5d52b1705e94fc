"""Dialogs that ask before the registry changes: a stage move (or rollback), an alias set,
an alias removed.

The move dialog opens at once and states exactly what will happen once the plan is read
(`TransitionPlan.describe()`), the policy check clause by clause with the run's actual
values, and takes a comment, required for a move into or out of Production (a rollback
too) and for a forced move: the registry's rule, asked before confirming. A policy failure
can be forced only with a comment; a rollback under a failing policy says that the policy
does not block it (it puts back a version that was live) and that the result is recorded.
It stays open until the move is made, or says why it was not, keeping the comment.

Each dialog scrolls when the terminal is too small for it (80×24 shows them whole).

Each dialog's text box has the focus from the start, so every key typed is text, never a
command: enter confirms, escape cancels and changes nothing. (The app keeps its own keys
from acting over a dialog: `MltopApp.check_action`.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, TypeVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static

from mltop.store import CommentRequiredError, ValidationError
from mltop.store.registry import (
    TransitionPlan,
    comment_required,
    require_comment,
    validate_alias,
)
from mltop.tui.list_keys import list_bindings
from mltop.tui.present import plan_text
from mltop.tui.text import TYPABLE, clean

R = TypeVar("R")


class TextFirst(ModalScreen[R]):
    """A dialog whose text box takes every printable key, from the first: keys typed in
    one burst with the key that opened it (a paste, a fast typist over SSH) reach the
    dialog itself before its box has the focus, and go into the box rather than nowhere.
    (A key the box took never gets here: it stops the keys it inserts.)"""

    TEXT_BOX = "#comment"

    def on_key(self, event: events.Key) -> None:
        if event.is_printable and event.character:
            event.stop()
            box = self.query_one(self.TEXT_BOX, Input)
            box.insert_text_at_cursor(event.character)
            box.focus()


CONFIRM_HINT = "enter confirms; escape cancels and changes nothing"
RECHECK_HINT = "enter checks the move again; escape cancels and changes nothing"


class TransitionDialog(TextFirst[None]):
    """Asks before a move. It opens at once, reading the plan meanwhile (what is typed
    before the plan shows is the comment already), and stays open until the move is made
    or refused: `on_confirm(comment, force)` starts the move, which ends with `dismiss()`
    (done) or `failed(why)` (not done: said here, the comment kept to try again). When the
    plan cannot be read (the store is unreachable), `unchecked(why)` says so and the dialog
    stays: enter checks again (`on_recheck`), escape closes it."""

    AUTO_FOCUS = "#comment"  # from the first key on, what is typed is the comment
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel"),
        # The comment box answers enter itself; this is for when a click took its focus.
        Binding("enter", "confirm", "Confirm", show=False, id="dialog.confirm"),
    ]
    CSS_PATH = "dialogs.tcss"

    def __init__(
        self,
        what: str,
        on_confirm: Callable[[str, bool], object],
        on_recheck: Callable[[], object] | None = None,
    ) -> None:
        super().__init__()
        self.what = what  # the move asked for, until its plan is read
        self.on_confirm = on_confirm
        self.on_recheck = on_recheck
        self.unchecked_why: str | None = None  # why the plan could not be read, if it could not
        self.plan: TransitionPlan | None = None
        self.impossible = False  # the move cannot be made as the registry is now
        self.force = False
        self.moving = False  # confirmed; the move is being made

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(f"{clean(self.what)}: checking…", style="bold"), id="plan")
            force = Static("", id="force", classes="problem", markup=False)
            force.display = False  # shown when the policy fails: what that means for the move
            yield force
            yield Input(
                placeholder="comment: why this move",
                id="comment",
                select_on_focus=False,
                restrict=TYPABLE,
            )
            yield Static("", id="problem", classes="problem", markup=False)
            yield Static(CONFIRM_HINT, id="hint", markup=False)

    def show_plan(self, plan: TransitionPlan) -> None:
        """What the move will do (read off the UI thread), and whether it needs a comment."""
        if not self.is_attached:  # cancelled meanwhile
            return
        self.plan = plan
        self.unchecked_why = None
        self.query_one("#problem", Static).update("")
        self.query_one("#hint", Static).update(CONFIRM_HINT)
        self.impossible = False
        self.force = plan.blocked and not plan.rollback
        self.query_one("#plan", Static).update(plan_text(plan))
        note = self.query_one("#force", Static)
        note.display = plan.blocked
        if plan.rollback:
            note.update(
                "The policy fails, but does not block a rollback: it puts back a version "
                "that was in Production. The policy's result is recorded with the rollback."
            )
        else:
            note.update(
                "The policy fails: confirming forces the move, logged as forced, "
                "and needs a comment saying why."
            )
        hint = "required" if comment_required(plan, force=self.force) else "optional"
        self.query_one("#comment", Input).placeholder = f"comment ({hint}): why this move"

    def unchecked(self, why: str) -> None:
        """The plan could not be read (the store did not answer): said, and the dialog
        stays, its comment kept; enter checks again, escape closes it."""
        if not self.is_attached:
            return
        self.unchecked_why = why
        self.query_one("#plan", Static).update(
            Text(f"{clean(self.what)}: cannot check what the move would do", style="bold")
        )
        again = "enter checks again" if self.on_recheck is not None else "nothing was done"
        self.query_one("#problem", Static).update(Text(f"not checked: {clean(why)} ({again})"))
        if self.on_recheck is not None:
            self.query_one("#hint", Static).update(RECHECK_HINT)

    def no_move(self) -> None:
        """The registry as it is now allows no such move (the version is there already,
        or gone): said where the plan is (confirming again says why again)."""
        self.impossible = True

    def failed(self, why: str) -> None:
        """The move was not made: say why; the comment stays, to confirm again or cancel."""
        self.moving = False
        if self.is_attached:
            if self.plan is not None:  # no longer "moving…"
                shown = plan_text(self.plan)
                if self.impossible:
                    shown.append("\nno longer possible as the registry is now", style="bold")
                self.query_one("#plan", Static).update(shown)
            self.query_one("#problem", Static).update(Text(f"not done: {clean(why)}"))
            self.query_one("#comment", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_confirm()

    def action_confirm(self) -> None:
        problem = self.query_one("#problem", Static)
        if self.moving:
            return
        if self.plan is None:
            if self.unchecked_why is not None and self.on_recheck is not None:
                self.unchecked_why = None
                self.query_one("#plan", Static).update(
                    Text(f"{clean(self.what)}: checking again…", style="bold")
                )
                problem.update("")
                self.on_recheck()
                return
            problem.update("still checking what the move would do: confirm again in a moment")
            return
        comment = self.query_one("#comment", Input)
        try:  # the registry's own rule, so that nothing it would refuse is confirmed
            text = require_comment(self.plan, comment.value, force=self.force)
        except CommentRequiredError as exc:
            problem.update(Text(clean(exc)))
            comment.focus()
            return
        self.moving = True
        problem.update("")
        self.query_one("#plan", Static).update(
            plan_text(self.plan).append("\nmoving…", style="italic")
        )
        self.on_confirm(text, self.force)

    def action_cancel(self) -> None:
        if self.moving:  # being committed: it ends in a moment, one way or the other
            self.query_one("#problem", Static).update("the move is being made: a moment")
            return
        self.dismiss(None)


class AliasDialog(TextFirst[str | None]):
    """Asks for the alias to point at a version; dismissed with it (valid) or None."""

    AUTO_FOCUS = "#alias"  # from the first key on, what is typed is the alias
    TEXT_BOX = "#alias"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="alias.cancel"),
        Binding("enter", "confirm", "Set", show=False, id="alias.confirm"),
    ]
    CSS_PATH = "dialogs.tcss"

    def __init__(self, name: str, version: int) -> None:
        super().__init__()
        self.model = name
        self.version = version

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(f"Alias for {clean(self.model)} v{self.version}", markup=False)
            yield Input(
                placeholder="alias, e.g. champion",
                id="alias",
                select_on_focus=False,
                restrict=TYPABLE,
            )
            yield Static("", id="problem", classes="problem", markup=False)
            yield Static("enter sets it (moving it from another version); escape cancels",
                         markup=False)  # fmt: skip

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_confirm()

    def action_confirm(self) -> None:
        """Checked here, with the registry's rule: a bad alias stays in the box to fix."""
        alias = self.query_one("#alias", Input)
        try:
            text = validate_alias(alias.value.strip())
        except ValidationError as exc:
            self.query_one("#problem", Static).update(Text(clean(exc)))
            alias.focus()
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)


class UnaliasDialog(ModalScreen[str | None]):
    """Asks before removing an alias of a version (chosen from a list when it has several);
    dismissed with the alias, or None. The list has the focus: enter removes the alias
    highlighted, escape cancels and changes nothing."""

    AUTO_FOCUS = "#aliases"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="unalias.cancel"),
        *list_bindings("app."),
    ]
    CSS_PATH = "dialogs.tcss"

    def __init__(self, name: str, version: int, stage: str, aliases: list[str]) -> None:
        super().__init__()
        self.model = name
        self.version = version
        self.stage = stage
        self.aliases = aliases

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(
                Text(
                    f"Remove an alias of {clean(self.model)} v{self.version} ({self.stage})",
                    style="bold",
                )
            )
            yield OptionList(*(Text(clean(alias)) for alias in self.aliases), id="aliases")
            yield Static(
                f"The version stays as it is; models:/{clean(self.model)}@<alias> no longer "
                "finds it. Recorded in the model's history, with your user name.",
                markup=False,
            )
            yield Static(
                "enter removes the alias highlighted; escape cancels and changes nothing",
                markup=False,
            )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.aliases[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
