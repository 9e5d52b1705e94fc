"""`mltop ui` and `mltop demo`: the commands that open the dashboard."""

from __future__ import annotations

import os
import shlex
import sys
from functools import partial
from pathlib import Path

import click
from rich.console import Console

from mltop.tui.cli.opening import chosen_store, opened, store_option
from mltop.tui.cli.output import out
from mltop.tui.text import plain


def error_log() -> Path:
    """Where the dashboard writes the tracebacks of its own bugs (it goes on, and says so)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "mltop" / "errors.log"


BELL_HELP = (
    "Ring the terminal's bell when a run gets a new health alert while you watch (a metric "
    "turning NaN or infinite, a diverging loss, a stalled run, idle GPUs); once per alert."
)


def run_dashboard(store_path: str | None, poll: float | None, bell: bool = False) -> None:
    from mltop.tui.app import MltopApp

    app = MltopApp(store_path, poll=poll, error_log=error_log(), bell=bell)
    app.run()
    if app.signalled is not None:  # SIGHUP, SIGTERM: the status a shell expects
        sys.exit(128 + app.signalled)
    if app.return_code:  # it failed (Textual printed why): a script must see it
        sys.exit(app.return_code)


@click.command("ui")
@click.option(
    "--poll",
    type=click.FloatRange(min=0.05),
    metavar="SECONDS",
    help="Check the store every SECONDS instead of listening for file events "
    "(for network filesystems).",
)
@click.option("--bell", is_flag=True, help=BELL_HELP)
@store_option
@click.pass_context
def ui_command(ctx: click.Context, poll: float | None, bell: bool, store_path: str | None) -> None:
    """Open the dashboard: runs, live."""
    chosen = chosen_store(ctx, store_path)
    opened(chosen).close()  # a clear error (or the upgrade) before the screen takes over
    run_dashboard(chosen, poll, bell)


def _interactive() -> bool:
    """A dashboard needs a terminal on both sides (not a pipe, not CI)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


@click.command("demo")
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
@click.option("--bell", is_flag=True, help=BELL_HELP)
def demo_command(store_path: str | None, no_ui: bool, live: int, bell: bool) -> None:
    """Build a demo store of realistic experiments and models, start training jobs that
    log into it live, and open the dashboard on it (the jobs stop when it ends)."""
    from mltop.store.location import redact, server_url
    from mltop.tui.demo import store as demo

    if store_path and server_url(store_path):
        raise click.UsageError(
            f"{redact(store_path)} is a tracking server: the demo builds a new local store "
            "(a folder; give a new or empty directory, or no --store)"
        )
    path = (
        Path(store_path).expanduser().absolute() if store_path else demo.fresh_directory(Path.cwd())
    )
    if path.exists() and not path.is_dir():
        raise click.UsageError(f"{path} is a file: the demo needs a new or empty directory")
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
        _models_hint(console, path)
        return
    if not _interactive():
        console.print(
            plain("Not a terminal, so no dashboard and no live training; open the store with:")
        )
        console.print(plain(f"  mltop ui --store {path}"), soft_wrap=True)
        _models_hint(console, path)
        return
    from mltop.tui.app import MltopApp

    stop = partial(demo.stop_live_training, built)  # their runs end KILLED
    # q, Ctrl+C, SIGHUP, SIGTERM
    app = MltopApp(path, on_exit=stop, error_log=error_log(), bell=bell)
    if live:
        demo.start_live_training(built, count=live)
    try:
        app.run()
    finally:  # also when the app failed; a second call returns at once
        stop()
    if app.signalled is not None:  # the terminal may be gone (SIGHUP): nothing to say
        sys.exit(128 + app.signalled)
    if app.return_code:
        sys.exit(app.return_code)
    console.print(plain(f"The demo store stays in {path}; open it again with:"), soft_wrap=True)
    console.print(plain(f"  mltop ui --store {path}"), soft_wrap=True)
    _models_hint(console, path)


def _models_hint(console: Console, path: Path) -> None:
    """How to try the demo's registered models on the inputs written beside them."""
    from mltop.tui.demo.store import IMAGE_INPUTS

    inputs = path / IMAGE_INPUTS
    console.print(plain("Its registered models predict; try:"), soft_wrap=True)
    console.print(
        plain(
            f"  mltop predict models:/cifar10-resnet/Production --input {shlex.quote(str(inputs))} "
            f"--output - --output-format csv --store {shlex.quote(str(path))}"
        ),
        soft_wrap=True,
    )
