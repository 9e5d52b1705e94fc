"""How the command line prints: a console, tables at their natural width, JSON."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from mltop.tui.cli.export import dumps


def out() -> Console:
    return Console(highlight=False, soft_wrap=False)


def print_wide(console: Console, table: Table) -> None:
    """Print a table at its natural width when it goes to a file or pipe (nothing squeezed
    for grep or less); on a terminal, columns shrink, but never below their `min_width`."""
    if not console.is_terminal:
        console.width = 100_000
    console.print(table)


def emit_json(data: object) -> None:
    click.echo(dumps(data, indent=2))
