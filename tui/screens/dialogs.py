"""Dialogs that ask before the registry changes: a stage move (or rollback) and an alias.

The move dialog states exactly what will happen (`TransitionPlan.describe()`), the policy
check clause by clause with the run's actual values, and takes a comment, required for
Production and for a forced move. A policy failure can be forced only with a comment.
`y` or enter confirms; `n` or escape cancels and changes nothing.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from mltop.store.registry import TransitionPlan
from mltop.tui.text import clean, number

DIALOG_CSS = """
    align: center middle;
    & > Vertical {
        width: 84; height: auto; border: thick $primary; background: $surface; padding: 0 1;
    }
    & Static { height: auto; }
    & .problem { color: $error; }
"""


def plan_text(plan: TransitionPlan) -> Text:
    """What will happen, then the policy check, clause by clause."""
    text = Text(clean(plan.describe()), style="bold")
    if plan.policy is None:
        if plan.to_stage == "Production":
            text.append("\nno promotion policy for this model", style="dim")
        return text
    verdict = "passes" if plan.policy.passed else "FAILS"
    text.append(f"\npolicy {clean(plan.policy.expression)!r} {verdict}:")
    for clause in plan.policy.clauses:
        if clause.actual is None:
            actual = "missing"
        elif isinstance(clause.actual, float):
            actual = number(clause.actual)
        else:
            actual = clean(clause.actual)
        mark, style = ("pass", "green") if clause.passed else ("FAIL", "bold red")
        text.append(f"\n  {mark}  ", style=style)
        text.append(f"{clean(clause.clause)}   (actual: {actual})")
    return text


class TransitionDialog(ModalScreen[str | None]):
    """Confirms a move; dismissed with the comment (confirmed) or None (cancelled)."""

    AUTO_FOCUS = None  # the comment box takes the focus only when a comment is required
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Confirm", id="dialog.yes"),
        Binding("n,escape", "cancel", "Cancel", id="dialog.no"),
    ]
    DEFAULT_CSS = "TransitionDialog {" + DIALOG_CSS + "}"

    def __init__(self, plan: TransitionPlan) -> None:
        super().__init__()
        self.plan = plan
        self.force = plan.blocked and not plan.rollback
        self.needs_comment = plan.to_stage == "Production" or self.force

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(plan_text(self.plan), id="plan")
            if self.force:
                yield Static(
                    "The policy fails: confirming forces the move, logged as forced, "
                    "and needs a comment saying why.",
                    classes="problem",
                    markup=False,
                )
            hint = "required" if self.needs_comment else "optional"
            yield Input(placeholder=f"comment ({hint}): why this move", id="comment")
            yield Static("", id="problem", classes="problem", markup=False)
            keys = "enter confirms" if self.needs_comment else "y or enter confirms"
            yield Static(f"{keys}; escape cancels and changes nothing", markup=False)

    def on_mount(self) -> None:
        if self.needs_comment:
            self.query_one("#comment", Input).focus()
        else:  # y and n are keys, not text (tab reaches the optional comment)
            self.call_after_refresh(self.set_focus, None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_confirm()

    def on_key(self, event) -> None:  # enter without the input focused
        if event.key == "enter" and not self.query_one("#comment", Input).has_focus:
            event.stop()
            self.action_confirm()

    def action_confirm(self) -> None:
        comment = self.query_one("#comment", Input).value.strip()
        if self.needs_comment and not comment:
            why = "a forced move" if self.force else "a move to Production"
            self.query_one("#problem", Static).update(f"{why} needs a comment")
            self.query_one("#comment", Input).focus()
            return
        self.dismiss(comment)

    def action_cancel(self) -> None:
        self.dismiss(None)


class AliasDialog(ModalScreen[str | None]):
    """Asks for the alias to point at a version; dismissed with it or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="alias.no")]
    DEFAULT_CSS = "AliasDialog {" + DIALOG_CSS + "}"

    def __init__(self, name: str, version: int) -> None:
        super().__init__()
        self.model = name
        self.version = version

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Alias for {clean(self.model)} v{self.version}", markup=False)
            yield Input(placeholder="alias, e.g. champion", id="alias")
            yield Static("enter sets it (moving it from another version); escape cancels",
                         markup=False)  # fmt: skip

    def on_mount(self) -> None:
        self.query_one("#alias", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
