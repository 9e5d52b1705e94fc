"""`mltop experiments ...`: the experiments and their run counts."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import click

from mltop.store.entities import VIEWS, Experiment
from mltop.tui.cli.opening import store_from, store_option
from mltop.tui.cli.output import emit_json, out
from mltop.tui.cli.table import Cell, Column, print_table
from mltop.tui.text import plain, timestamp

NAME_WIDTH = 40  # cells of an experiment's name shown at most
TAGS_WIDTH = 60


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
    columns = [
        Column("ID", justify="right", max_width=None),
        Column("Name", max_width=NAME_WIDTH),
        Column("Runs", justify="right", max_width=None),
        Column("Running", justify="right", max_width=None),
        Column("Created", max_width=None),
        Column("Tags", max_width=TAGS_WIDTH),
    ]
    rows: list[list[Cell]] = []
    for exp in exps:
        total, running = counts.get(exp.experiment_id, (0, 0))
        deleted = exp.lifecycle_stage == "deleted"
        rows.append(
            [
                exp.experiment_id,
                (exp.name, "strike dim" if deleted else "bold"),
                str(total),
                str(running) if running else "",
                timestamp(exp.creation_time),
                ", ".join(f"{k}={v}" for k, v in exp.tags.items()),
            ]
        )
    console = out()
    console.print(plain(f"Experiments in {store.location}", "italic"))
    print_table(console, columns, rows)
