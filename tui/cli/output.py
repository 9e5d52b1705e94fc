"""How the command line prints: a console, JSON, a filter's error."""

from __future__ import annotations

import click
from rich.console import Console

from mltop.store import FilterError
from mltop.tui.cli.export import dumps
from mltop.tui.text import clean


def out() -> Console:
    return Console(highlight=False, soft_wrap=False)


def emit_json(data: object) -> None:
    click.echo(dumps(data, indent=2))


def bad_filter(exc: FilterError, param_hint: str) -> click.BadParameter:
    """A filter's error as a usage error (exit 2): the message, the text, a caret under
    the character it points at. The text is shown literally (`clean`)."""
    caret = " " * len(clean(exc.text[: exc.position]))
    return click.BadParameter(
        f"{clean(exc)}\n\n  {clean(exc.text)}\n  {caret}^", param_hint=param_hint
    )
