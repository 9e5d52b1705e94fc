"""`mltop experiments ...`: the experiments and their run counts."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import click
from rich.table import Table

from mltop.store.entities import VIEWS, Experiment
from mltop.tui.cli.opening import store_from, store_option
from mltop.tui.cli.output import emit_json, out, print_wide
from mltop.tui.text import plain, timestamp


@click.group()
def experiments() -> None:
    """List experiments."""


def experiment_json(exp: Experiment, counts: dict[str, tuple[int, int]]) -> dict[str, Any]:
    total, running = counts.get(exp.experiment_id, (0, 0))
    return {**asdict(exp), "runs": total, "running": running}


@experiments.command("list")
@click.option("--view", type=click.Choice(VIEWS), default="active", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@store_option
@click.pass_context
def experiments_list(ctx: click.Context, view: str, as_json: bool, store_path: str | None) -> None:
    """List experiments with their run counts."""
    store = store_from(ctx, store_path)
    exps = store.list_experiments(view)
    counts = store.experiment_run_counts()
    if as_json:
        emit_json([experiment_json(e, counts) for e in exps])
        return
    table = Table()
    for name, justify in [
        ("ID", "right"),
        ("Name", "left"),
        ("Runs", "right"),
        ("Running", "right"),
        ("Created", "left"),
        ("Tags", "left"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for exp in exps:
        total, running = counts.get(exp.experiment_id, (0, 0))
        label = plain(exp.name, "strike dim" if exp.lifecycle_stage == "deleted" else "bold")
        tags = ", ".join(f"{k}={v}" for k, v in exp.tags.items())
        table.add_row(
            exp.experiment_id,
            label,
            str(total),
            str(running) if running else "",
            timestamp(exp.creation_time),
            plain(tags),
        )
    console = out()
    console.print(plain(f"Experiments in {store.path}", "italic"))
    print_wide(console, table)
