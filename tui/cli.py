"""The `mltop` command line: readable Rich tables, `--json` for scripts.

Exit status: 0 on success, 1 when the operation failed (the message says why), 2 for a
usage error.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from mltop.store import ROW_METRICS, FilterError, MltopError, Run, TrackingStore, now_ms
from mltop.store.entities import VIEWS, Experiment
from mltop.tui import models_cli
from mltop.tui.export import dumps, run_json, write_csv, write_json, write_run_json
from mltop.tui.opening import opened
from mltop.tui.present import command, git_label, host, status_text
from mltop.tui.text import ago, clean, duration, number, plain, timestamp

F = TypeVar("F", bound=Callable[..., Any])

SHOW_METRICS = 1000  # metrics `runs show` lists unless asked for more
TABLE_METRICS = 10_000  # metrics a `runs show` table lists at most (--json: all)
MAX_COLUMNS = 8  # params and metrics each, in `runs list`; --json has them all


def store_option(command: F) -> F:
    """`--store` on every command (it may also be given before the command name)."""
    return click.option(
        "--store",
        "store_path",
        metavar="PATH",
        help="Store directory (default: $MLTOP_STORE, else the nearest .mltop/ upwards).",
    )(command)


def open_store(ctx: click.Context, store_path: str | None) -> TrackingStore:
    chosen = store_path or ctx.find_root().params.get("store_path")
    return opened(chosen)


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


class MltopGroup(click.Group):
    """Turns MltopError into a one-line message and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MltopError as exc:
            click.echo(f"mltop: error: {clean(exc)}", err=True)
            ctx.exit(1)


@click.group(
    cls=MltopGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@store_option
@click.version_option(package_name="mltop")
@click.pass_context
def main(ctx: click.Context, store_path: str | None) -> None:
    """mltop: a terminal-native experiment tracker and model registry.

    With no command, opens the dashboard on the store (or shows this help when there is
    no store here).
    """
    if ctx.invoked_subcommand is None:
        try:
            opened(store_path).close()
        except MltopError as exc:
            click.echo(ctx.get_help())
            click.echo(f"\n{clean(exc)}")
            return
        _run_dashboard(store_path, None)


def error_log() -> Path:
    """Where the dashboard writes the tracebacks of its own bugs (it goes on, and says so)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "mltop" / "errors.log"


def _run_dashboard(store_path: str | None, poll: float | None) -> None:
    from mltop.tui.app import MltopApp

    app = MltopApp(store_path, poll=poll, error_log=error_log())
    app.run()
    if app.signalled is not None:  # SIGHUP, SIGTERM: the status a shell expects
        sys.exit(128 + app.signalled)


@main.command("ui")
@click.option(
    "--poll",
    type=click.FloatRange(min=0.05),
    metavar="SECONDS",
    help="Check the store every SECONDS instead of listening for file events "
    "(for network filesystems).",
)
@store_option
@click.pass_context
def ui_command(ctx: click.Context, poll: float | None, store_path: str | None) -> None:
    """Open the dashboard: runs, live."""
    chosen = store_path or ctx.find_root().params.get("store_path")
    opened(chosen).close()  # a clear error (or the upgrade) before the screen takes over
    _run_dashboard(chosen, poll)


# -- experiments ---------------------------------------------------------------------------


@main.group()
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
    store = open_store(ctx, store_path)
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


# -- runs ----------------------------------------------------------------------------------


@main.group()
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
    help="Sort key, e.g. 'metrics.loss ASC'; repeat for more (default: newest first).",
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
    store = open_store(ctx, store_path)
    scope = _experiment_ids(store, experiment)
    order = list(order_by) or None
    try:
        if fmt == "table":
            page = store.search_run_rows(
                scope, filter_string, order, max_results=max_results or TABLE_DEFAULT_MAX, view=view
            )
            found, more = list(page), page.token is not None
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
        raise click.BadParameter(
            f"{clean(exc)}\n\n  {clean(exc.text)}\n  {' ' * len(clean(exc.text[: exc.position]))}^",
            param_hint="--order-by" if exc.item is not None else "--filter",
        ) from None
    names = {e.experiment_id: e.name for e in store.list_experiments("all")}
    param_keys, more_params = _first(sorted({k for r in found for k in r.params}), MAX_COLUMNS)
    metric_keys, more_metrics = _first(sorted({k for r in found for k in r.metrics}), MAX_COLUMNS)
    now = now_ms()
    show_experiment = experiment is None and len({r.info.experiment_id for r in found}) > 1
    rows: list[list[Any]] = []
    for run in found:
        info = run.info
        cells: list[Any] = [status_text(info.display_status), info.run_id[:8], plain(info.run_name)]
        if show_experiment:
            cells.append(plain(names.get(info.experiment_id, info.experiment_id)))
        cells += [ago(info.start_time, now), duration(info.start_time, info.end_time, now)]
        cells += [number(run.metrics[k]) if k in run.metrics else "" for k in metric_keys]
        cells += [plain(run.params.get(k, "")) for k in param_keys]
        rows.append(cells)

    table = Table()
    table.add_column("Status", no_wrap=True, min_width=10)
    table.add_column("Run ID", no_wrap=True, style="dim", min_width=8)
    table.add_column("Name", no_wrap=True, style="bold", min_width=12, overflow="ellipsis")
    if show_experiment:
        table.add_column("Experiment", no_wrap=True, min_width=8, overflow="ellipsis")
    table.add_column("Started", no_wrap=True, min_width=7)
    table.add_column("Duration", justify="right", no_wrap=True, min_width=6)
    first_metric = len(table.columns)
    both = set(metric_keys) & set(param_keys)  # `lr` logged as a metric and as a param
    for i, key in enumerate(metric_keys):
        # Numbers are never cut: as wide as the widest value (a long key may be).
        widest = max((len(str(r[first_metric + i])) for r in rows), default=0)
        table.add_column(
            plain(f"metrics.{key}" if key in both else key, "magenta"),
            justify="right",
            no_wrap=True,
            min_width=max(widest, min(len(key), 8)),
        )
    for key in param_keys:
        table.add_column(
            plain(f"params.{key}" if key in both else key, "cyan"),
            no_wrap=True,
            overflow="ellipsis",
            min_width=min(len(key), 8),
        )
    for cells in rows:
        table.add_row(*cells)
    console = out()
    console.print(plain(f"Runs in {store.path}", "italic"))
    print_wide(console, table)
    if not found:
        console.print("No runs match." if filter_string else "No runs.")
    if more:
        console.print(
            f"(showing the first {len(found)}: --max-results N for more, "
            "--format csv or json for all)"
        )
    hidden = [
        f"{n} more {what}" for n, what in [(more_params, "params"), (more_metrics, "metrics")] if n
    ]
    if hidden:
        console.print(f"({', '.join(hidden)} not shown: use --json or `mltop runs show`)")
    wide = [run.info.run_id[:8] for run in found if run.metrics_cut]
    if wide:
        console.print(
            f"(run{'s' if len(wide) > 1 else ''} {', '.join(wide[:5])}"
            f"{' and more' if len(wide) > 5 else ''} logged over {ROW_METRICS:,} metrics: "
            "the first ones are shown; `mltop runs show ID --metric TEXT` finds the others)"
        )


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
    """Show one run: its facts, params, metrics, tags and artifacts.

    RUN_ID may be a unique prefix of at least 4 characters. Metrics are listed by key, the
    first --max-metrics of them (of the first keys logged, for a run with more);
    --metric finds others.
    """
    store = open_store(ctx, store_path)
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
    if as_json:
        head = {
            **run_json(run),
            "more_metrics": 0 if every else more,
            "children": children,
            "artifacts": [asdict(a) for a in artifacts],
        }
        if every:
            write_run_json(head, store.iter_run_metrics(run_id, contains or ""), sys.stdout)
        else:
            emit_json(head)
        return
    info = run.info
    console = out()
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    exp = store.get_experiment(info.experiment_id)
    tags = run.data.tags
    rows: list[tuple[str, Any]] = [
        ("Run", plain(f"{info.run_name}  {info.run_id}")),
        ("Experiment", plain(f"{exp.name} ({exp.experiment_id})")),
        ("Status", status_text(info.display_status)),
        ("Started", timestamp(info.start_time)),
        ("Ended", timestamp(info.end_time)),
        ("Duration", duration(info.start_time, info.end_time, now_ms())),
        ("User", plain(info.user_id)),
        ("Host", plain(host(tags))),
        ("Command", plain(command(tags))),
        ("Git", plain(git_label(tags))),
        ("Parent", plain(info.parent_run_id or "")),
        ("Children", plain(", ".join(c[:8] for c in children))),
        ("Artifacts", plain(info.artifact_uri)),
    ]
    if info.lifecycle_stage != "active":
        rows.insert(2, ("Lifecycle", plain(info.lifecycle_stage, "red")))
    for label, value in rows:
        if str(value).strip():
            facts.add_row(label, value)
    console.print(facts)
    _print_pairs(console, "Params", run.data.params)
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
    _print_pairs(console, "Tags", {k: v for k, v in tags.items() if not k.startswith("mltop.")})
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


def _print_pairs(console: Console, title: str, pairs: dict[str, str]) -> None:
    if not pairs:
        return
    table = Table(title=title, title_justify="left")
    table.add_column("Key")
    table.add_column("Value")
    for key, value in pairs.items():
        table.add_row(plain(key), plain(value))
    console.print(table)


main.add_command(models_cli.models)


def _interactive() -> bool:
    """A dashboard needs a terminal on both sides (not a pipe, not CI)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


@main.command("demo")
@click.option(
    "--store",
    "store_path",
    metavar="PATH",
    help="Where to build the demo store (default: a new ./mltop-demo folder).",
)
@click.option("--no-ui", is_flag=True, help="Only build the store: no live training, no dashboard.")
@click.option(
    "--live",
    type=click.IntRange(0, 3),
    default=3,
    show_default=True,
    help="How many simulated training jobs to start.",
)
def demo_command(store_path: str | None, no_ui: bool, live: int) -> None:
    """Build a demo store of realistic experiments and models, start training jobs that
    log into it live, and open the dashboard on it (the jobs stop when it ends)."""
    from mltop.tui import demo

    path = (
        Path(store_path).expanduser().absolute() if store_path else demo.fresh_directory(Path.cwd())
    )
    if path.exists() and any(path.iterdir()):
        raise click.UsageError(f"{path} is not empty: the demo needs a new or empty directory")
    console = out()
    console.print(plain(f"Building a demo store in {path} ...", "italic"), soft_wrap=True)
    built = demo.build(path)
    console.print(
        plain(
            f"{built.runs} runs ({built.failed} failed) in {len(built.experiments)} experiments: "
            f"{', '.join(built.experiments)}; registered models: {', '.join(built.models)}."
        )
    )
    if no_ui:
        return
    if not _interactive():
        console.print(
            plain("Not a terminal, so no dashboard and no live training; open the store with:")
        )
        console.print(plain(f"  mltop ui --store {path}"), soft_wrap=True)
        return
    from mltop.tui.app import MltopApp

    stop = partial(demo.stop_live_training, built)  # their runs end KILLED
    app = MltopApp(path, on_exit=stop, error_log=error_log())  # q, Ctrl+C, SIGHUP, SIGTERM
    if live:
        demo.start_live_training(built, count=live)
    try:
        app.run()
    finally:  # also when the app failed; a second call returns at once
        stop()
    if app.signalled is not None:  # the terminal may be gone (SIGHUP): nothing to say
        sys.exit(128 + app.signalled)
    console.print(plain(f"The demo store stays in {path}; open it again with:"), soft_wrap=True)
    console.print(plain(f"  mltop ui --store {path}"), soft_wrap=True)


if __name__ == "__main__":
    sys.exit(main())
