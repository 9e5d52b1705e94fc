"""`mltop import mlflow SOURCE`: MLflow's history (a file store, a database, a tracking
server) brought into the store, with a progress bar per phase (on a terminal) and a
summary of what was added, what was there already, what was updated, and what was
skipped (where, and why)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from rich.console import Console
from rich.text import Text

from mltop.store.imports import KINDS, ImportSummary, import_mlflow
from mltop.tui.cli.opening import chosen_store, store_option
from mltop.tui.cli.output import emit_json, out
from mltop.tui.cli.table import Column, print_table
from mltop.tui.text import clean, plain

SKIPPED_SHOWN = 50  # problems listed in full; the rest are counted (all are in --json)


@click.group("import")
def import_group() -> None:
    """Bring history in from another tracker."""


@contextmanager
def _progress_bars(show: bool) -> Iterator[Callable[[str, int, int], None]]:
    """A progress callback (phase, done, total) drawing a bar per phase on stderr, when it
    is a terminal (and `show`); else one that draws nothing."""
    console = Console(file=sys.stderr, highlight=False)
    if not show or not console.is_terminal:
        yield lambda phase, done, total: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description:<16}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bars:

        def update(phase: str, done: int, total: int) -> None:
            task = tasks.get(phase)
            if task is None:
                task = tasks[phase] = bars.add_task(phase, total=total)
            bars.update(task, completed=done, total=total)

        yield update


def summary_json(summary: ImportSummary) -> dict[str, object]:
    return {
        "source": summary.source,
        "kind": summary.kind,
        "store": summary.store,
        "dry_run": summary.dry_run,
        "added": dict(summary.added),
        "existing": dict(summary.existing),
        "updated": dict(summary.updated),
        "skipped": [{"where": p.where, "reason": p.reason} for p in summary.skipped],
    }


def print_summary(console: Console, summary: ImportSummary) -> None:
    verb = "would be added" if summary.dry_run else "added"
    head = Text()
    head.append("Dry run: nothing was written. " if summary.dry_run else "", style="bold")
    head.append(f"MLflow {summary.kind} {clean(summary.source)} → {clean(summary.store)}")
    console.print(head)
    columns = [
        Column("What", max_width=None),
        Column(verb.capitalize(), justify="right", max_width=None),
        Column("Already there", justify="right", max_width=None),
        Column("Would be updated" if summary.dry_run else "Updated", justify="right",
               max_width=None),
    ]  # fmt: skip
    rows = []
    for kind in KINDS:
        added, there, updated = (
            summary.added[kind],
            summary.existing[kind],
            summary.updated[kind],
        )
        if added or there or updated:
            rows.append([kind, str(added), str(there), str(updated)])
    if rows:
        print_table(console, columns, rows)
    total = summary.total_added
    console.print(plain(f"{total} {verb} in all, {summary.total_updated} updated", "bold"))
    if summary.skipped:
        console.print(plain(f"Skipped ({len(summary.skipped)}):", "bold yellow"))
        for problem in summary.skipped[:SKIPPED_SHOWN]:
            line = Text("  ")
            line.append(clean(problem.where), style="cyan")
            line.append(f": {clean(problem.reason)}")
            console.print(line)
        more = len(summary.skipped) - SKIPPED_SHOWN
        if more > 0:
            console.print(plain(f"  ... and {more} more (--json lists them all)", "dim"))


@import_group.command("mlflow")
@click.argument("source")
@click.option("--dry-run", is_flag=True, help="Write nothing; report what would be added.")
@click.option(
    "--experiment",
    "experiments",
    multiple=True,
    metavar="NAME|ID",
    help="Import only this experiment, by name or MLflow id (repeat for more); the registry "
    "is then left out.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@store_option
@click.pass_context
def import_mlflow_command(
    ctx: click.Context,
    source: str,
    dry_run: bool,
    experiments: tuple[str, ...],
    as_json: bool,
    store_path: str | None,
) -> None:
    """Import MLflow's history: SOURCE is an mlruns/ folder (its models/ is the registry),
    an mlflow.db (a path or sqlite:///PATH), or a tracking server's http(s):// URL (read
    over its REST API; credentials and TLS from MLFLOW_TRACKING_TOKEN,
    MLFLOW_TRACKING_USERNAME/PASSWORD, MLFLOW_TRACKING_INSECURE_TLS, ..._SERVER_CERT_PATH,
    ..._CLIENT_CERT_PATH). MLflow need not be installed.

    Run ids, times, params, tags, every metric point, artifacts, datasets, logged models
    and registered models (versions, stages, aliases) come over; importing again adds only
    what is new. What cannot be read is listed with its path and skipped."""
    with _progress_bars(not as_json) as progress:
        summary = import_mlflow(
            source,
            chosen_store(ctx, store_path),
            dry_run=dry_run,
            progress=progress,
            experiments=list(experiments) or None,
        )
    if as_json:
        emit_json(summary_json(summary))
        return
    print_summary(out(), summary)
