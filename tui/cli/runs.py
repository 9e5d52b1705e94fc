"""`mltop runs ...`: runs listed (a table, JSON or CSV) and one run shown."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict

import click
from rich.console import Console
from rich.table import Table

from mltop.store import ROW_METRICS, FilterError, Run, TrackingStore, now_ms
from mltop.store.entities import VIEWS, RunRow
from mltop.store.query import paging
from mltop.tui.cli.export import run_json, write_csv, write_json, write_run_json
from mltop.tui.cli.opening import store_from, store_option
from mltop.tui.cli.output import bad_filter, emit_json, out
from mltop.tui.cli.table import Cell, Column, print_table
from mltop.tui.present import (
    LOGGED_MODEL_COLUMNS,
    STATUS_STYLE,
    dataset_inputs,
    logged_model_json,
    logged_model_row,
    read_run_models,
    rerun_filter,
    run_facts,
    status_label,
)
from mltop.tui.text import ago, duration, ended, number, plain

SHOW_METRICS = 1000  # metrics `runs show` lists unless asked for more
TABLE_METRICS = 10_000  # metrics a `runs show` table lists at most (--json: all)
SYSTEM = "system/"  # MLflow's prefix of system metrics (mltop.store.system_metrics)
MAX_COLUMNS = 8  # params and metrics each, in `runs list`; --json has them all
NAME_WIDTH = 40  # a run's or experiment's name in `runs list` is cut beyond this (cells)
VALUE_WIDTH = 30  # and a param's value


@click.group()
def runs() -> None:
    """List and inspect runs."""


def _experiment_ids(store: TrackingStore, experiment: str | None) -> list[str] | None:
    if experiment is None:
        return None
    found = store.get_experiment_by_name(experiment)
    if found is None and experiment.isdigit():
        found = store.get_experiment(experiment)
    if found is None:
        names = ", ".join(repr(e.name) for e in store.list_experiments())
        raise click.BadParameter(
            f"no experiment named {experiment!r} (experiments: {names})", param_hint="--experiment"
        )
    return [found.experiment_id]


def _first(keys: list[str], limit: int) -> tuple[list[str], int]:
    return keys[:limit], max(0, len(keys) - limit)


TABLE_DEFAULT_MAX = 100


def _limited(runs: Iterable[Run], limit: int | None) -> Iterator[Run]:
    """At most `limit` runs, the first fetched now: a bad filter fails before any output."""
    iterator = iter(runs)
    first = next(iterator, None)
    return itertools.islice(itertools.chain([] if first is None else [first], iterator), limit)


@runs.command("list")
@click.option(
    "--experiment", "-e", metavar="NAME", help="Only runs of this experiment (name or id)."
)
@click.option("--all-experiments", is_flag=True, help="Runs of every experiment (the default).")
@click.option(
    "--filter",
    "-f",
    "filter_string",
    metavar="FILTER",
    help="MLflow search filter, e.g. \"metrics.acc > 0.9 and params.opt = 'adam'\".",
)
@click.option(
    "--order-by",
    "-o",
    "order_by",
    metavar="KEY [ASC|DESC]",
    multiple=True,
    help="Sort key, e.g. 'metrics.loss ASC', 'min(metrics.loss)' (best so far), "
    "'duration DESC'; repeat for more (default: newest first).",
)
@click.option(
    "--max-results",
    type=click.IntRange(min=1),
    metavar="N",
    help=f"At most N runs (table: {TABLE_DEFAULT_MAX} unless given; json, csv: all).",
)
@click.option("--view", type=click.Choice(VIEWS), default="active", show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="csv and json are streamed: fine for many thousands.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@store_option
@click.pass_context
def runs_list(
    ctx: click.Context,
    experiment: str | None,
    all_experiments: bool,
    filter_string: str | None,
    order_by: tuple[str, ...],
    max_results: int | None,
    view: str,
    fmt: str,
    as_json: bool,
    store_path: str | None,
) -> None:
    """List runs with their params and latest metric values, filtered and sorted with
    MLflow's search syntax (plus OR and parentheses)."""
    if experiment is not None and all_experiments:
        raise click.UsageError("give --experiment or --all-experiments, not both")
    fmt = "json" if as_json else fmt
    store = store_from(ctx, store_path)
    scope = _experiment_ids(store, experiment)
    order = list(order_by) or None
    try:
        if fmt == "table":
            found, more = _table_rows(
                store, scope, filter_string, order, max_results or TABLE_DEFAULT_MAX, view
            )
        else:
            runs = _limited(store.iter_runs(scope, filter_string, order, view=view), max_results)
            if fmt == "json":
                write_json(runs, sys.stdout)
            else:
                names = {e.experiment_id: e.name for e in store.list_experiments("all")}
                keys = store.matching_keys(scope, filter_string, view=view)
                write_csv(runs, sys.stdout, keys=keys, experiment_names=names)
            return
    except FilterError as exc:
        raise bad_filter(exc, "--order-by" if exc.item is not None else "--filter") from None
    names = {e.experiment_id: e.name for e in store.list_experiments("all")}
    param_keys, more_params = _first(sorted({k for r in found for k in r.params}), MAX_COLUMNS)
    # System metrics (`system/...`, sampled every 10 s) are columns only when asked about.
    asked = " ".join([filter_string or "", *(order or [])])
    metric_keys, more_metrics = _first(
        sorted({k for r in found for k in r.metrics if not k.startswith(SYSTEM) or k in asked}),
        MAX_COLUMNS,
    )
    now = now_ms()
    show_experiment = experiment is None and len({r.info.experiment_id for r in found}) > 1
    both = set(metric_keys) & set(param_keys)  # `lr` logged as a metric and as a param
    columns = [
        Column("Status", min_width=10, max_width=None),
        Column("Run ID", style="dim", min_width=8, max_width=None),
        Column("Name", style="bold", min_width=12, max_width=NAME_WIDTH),
    ]
    if show_experiment:
        columns.append(Column("Experiment", min_width=8, max_width=NAME_WIDTH))
    columns += [
        Column("Started", min_width=7, max_width=None),
        Column("Duration", justify="right", min_width=6, max_width=None),
    ]
    # Numbers are never cut: as wide as the widest value (a long key may be cut).
    columns += [
        Column(
            f"metrics.{key}" if key in both else key,
            "magenta",
            justify="right",
            min_width=min(len(key), 8),
            max_width=None,
        )
        for key in metric_keys
    ]
    columns += [
        Column(
            f"params.{key}" if key in both else key,
            "cyan",
            min_width=min(len(key), 8),
            max_width=VALUE_WIDTH,
        )
        for key in param_keys
    ]
    rows: list[list[Cell]] = []
    for run in found:
        info = run.info
        status = info.display_status
        style = STATUS_STYLE.get(status, ("", ""))[1]
        cells: list[Cell] = [(status_label(status), style), info.run_id[:8]]
        cells.append(info.run_name)
        if show_experiment:
            cells.append(names.get(info.experiment_id, info.experiment_id))
        cells += [ago(info.start_time, now), duration(info.start_time, ended(info), now)]
        metrics, params = run.metrics, run.params
        cells += [number(metrics[k]) if k in metrics else "" for k in metric_keys]
        cells += [params.get(k, "") for k in param_keys]
        rows.append(cells)
    console = out()
    console.print(plain(f"Runs in {store.location}", "italic"))
    left_out = print_table(console, columns, rows)
    if not found:
        console.print("No runs match." if filter_string else "No runs.")
    if more:
        console.print(
            f"(showing the first {len(found):,}: --max-results N for more, "
            "--format csv or json for all)"
        )
    hidden = [
        f"{n} more {what}" for n, what in [(more_params, "params"), (more_metrics, "metrics")] if n
    ]
    if hidden:
        console.print(f"({', '.join(hidden)} not shown: use --json or `mltop runs show`)")
    if left_out:
        console.print(
            f"({left_out} column{'s' if left_out > 1 else ''} did not fit the terminal: "
            "a wider one, or --format csv, shows them)"
        )
    wide = [run.info.run_id[:8] for run in found if run.metrics_cut]
    if wide:
        console.print(
            f"(run{'s' if len(wide) > 1 else ''} {', '.join(wide[:5])}"
            f"{' and more' if len(wide) > 5 else ''} logged over {ROW_METRICS:,} metrics: "
            "the first ones are shown; `mltop runs show ID --metric TEXT` finds the others)"
        )


def _table_rows(
    store: TrackingStore,
    scope: list[str] | None,
    filter_string: str | None,
    order: list[str] | None,
    limit: int,
    view: str,
) -> tuple[list[RunRow], bool]:
    """The first `limit` rows, read a page at a time (any `limit`: a page holds at most the
    store's page limit), and whether more match."""
    found: list[RunRow] = []
    token: str | None = None
    while True:
        page = store.search_run_rows(
            scope,
            filter_string,
            order,
            max_results=min(limit - len(found), paging.MAX_RESULTS_LIMIT),
            page_token=token,
            view=view,
        )
        found += page
        token = page.token
        if token is None or len(found) >= limit:
            return found, token is not None


@runs.command("show")
@click.argument("run_id")
@click.option(
    "--metric",
    "contains",
    default=None,
    metavar="TEXT",
    help="Only the metrics whose key contains TEXT (any case).",
)
@click.option(
    "--max-metrics",
    type=click.IntRange(min=0),
    default=SHOW_METRICS,
    show_default=True,
    help="Metrics shown at most (0: all, streamed, with --json; a table shows 10,000 at "
    "most); a run may log a million keys.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@store_option
@click.pass_context
def runs_show(
    ctx: click.Context,
    run_id: str,
    contains: str | None,
    max_metrics: int,
    as_json: bool,
    store_path: str | None,
) -> None:
    """Show one run: its facts, params, datasets, metrics, tags, artifacts and logged models.

    RUN_ID may be a unique prefix of at least 4 characters. Metrics are listed by key, the
    first --max-metrics of them (of the first keys logged, for a run with more);
    --metric finds others.
    """
    store = store_from(ctx, store_path)
    run_id = store.resolve_run_id(run_id)
    every = as_json and max_metrics == 0  # streamed, however many
    # A table is laid out whole: at most TABLE_METRICS rows, --json for every one.
    limit = 0 if every else min(max_metrics or TABLE_METRICS, TABLE_METRICS)
    run = store.get_run(run_id, max_metrics=limit)
    more = run.data.more_metrics
    if contains is not None and not every:
        found, total = store.search_run_metrics(run_id, contains, limit=limit)
        run = run._replace(data=run.data._replace(summaries=found, more_metrics=total - len(found)))
        more = total - len(found)
    artifacts = list(store.artifacts(run_id).walk())
    children = store.child_run_ids(run_id)
    reruns = [
        r.info.run_id
        for r in store.search_runs(
            None, rerun_filter(run_id), ["attributes.start_time"], 1000, view="all"
        )
    ]
    models = read_run_models(store, run_id)[0]
    if as_json:
        head = {
            **run_json(run),
            "more_metrics": 0 if every else more,
            "children": children,
            "reruns": reruns,
            "artifacts": [asdict(a) for a in artifacts],
            "inputs": {
                "dataset_inputs": [
                    {
                        "dataset": item.dataset.to_dictionary(),
                        "tags": {tag.key: tag.value for tag in item.tags},
                        "context": item.context,
                    }
                    for item in run.inputs.dataset_inputs
                ]
            },
            "logged_models": [logged_model_json(shown) for shown in models],
        }
        if every:
            write_run_json(head, store.iter_run_metrics(run_id, contains or ""), sys.stdout)
        else:
            emit_json(head)
        return
    console = out()
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    exp = store.get_experiment(run.info.experiment_id)
    for label, value in run_facts(run, now_ms(), experiment=exp, children=children, reruns=reruns):
        facts.add_row(label, value)
    console.print(facts)
    _print_pairs(console, "Params", run.data.params)
    if run.inputs.dataset_inputs:
        table = Table(title="Datasets", title_justify="left")
        for name in ("Name", "Digest", "Source", "Context"):
            table.add_column(name)
        for row in dataset_inputs(run):
            table.add_row(*row)
        console.print(table)
    if contains is not None and not run.data.summaries:
        console.print(plain(f"No metric key contains {contains!r}."))
    elif run.data.summaries:
        matching = f" matching {contains!r}" if contains is not None else ""
        shown = len(run.data.summaries)
        title = (
            f"Metrics{matching} ({shown:,} of {shown + more:,})" if more else f"Metrics{matching}"
        )
        table = Table(title=plain(title), title_justify="left")
        for name in ("Key", "Latest", "Step", "Min", "Max", "Points"):
            table.add_column(name, justify="left" if name == "Key" else "right")
        for key, s in sorted(run.data.summaries.items()):
            table.add_row(
                plain(key), number(s.value), str(s.step), number(s.min), number(s.max), str(s.count)
            )
        console.print(table)
        if more and len(run.data.summaries) >= TABLE_METRICS:
            console.print(
                f"({more:,} more metrics not shown: a table shows {TABLE_METRICS:,} at most; "
                "--metric TEXT finds them, --json --max-metrics 0 lists every one)"
            )
        elif more:
            console.print(
                f"({more:,} more metrics not shown: --metric TEXT finds them, "
                "--max-metrics N shows more)"
            )
    tags = {k: v for k, v in run.data.tags.items() if not k.startswith("mltop.")}
    _print_pairs(console, "Tags", tags)
    if artifacts:
        table = Table(title="Artifacts", title_justify="left")
        table.add_column("Path")
        table.add_column("Size", justify="right")
        for item in artifacts:
            table.add_row(
                plain(item.path + ("/" if item.is_dir else "")),
                "" if item.size is None else f"{item.size:,}",
            )
        console.print(table)
    if models:
        table = Table(title="Logged models", title_justify="left")
        for name in LOGGED_MODEL_COLUMNS:
            # Folded on a narrow terminal, never cut: the id whole, as `models:/<id>`
            # takes it; the size on one line.
            table.add_column(
                name,
                justify="right" if name == "Size" else "left",
                no_wrap=name == "Size",
                overflow="fold",
            )
        for model in models:
            table.add_row(*logged_model_row(model, full=True))
        console.print(table)


def _print_pairs(console: Console, title: str, pairs: dict[str, str]) -> None:
    if not pairs:
        return
    table = Table(title=title, title_justify="left")
    table.add_column("Key")
    table.add_column("Value")
    for key, value in pairs.items():
        table.add_row(plain(key), plain(value))
    console.print(table)
