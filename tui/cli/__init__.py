"""The `mltop` command line: readable Rich tables, `--json` for scripts.

Exit status: 0 on success, 1 when the operation failed (the message says why), 2 for a
usage error.

The root group is here; each command group has a module of its own, registered below.
"""

from __future__ import annotations

from typing import Any

import click

from mltop.store import MltopError
from mltop.tui.cli import experiments, imports, launch, models, predict, runs, ui
from mltop.tui.cli.opening import opened, store_option
from mltop.tui.text import clean


class MltopGroup(click.Group):
    """Turns MltopError into a one-line message and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MltopError as exc:
            first, *more = str(exc).splitlines() or [""]
            click.echo(f"mltop: error: {clean(first)}", err=True)
            for line in more:  # (a build's output, a YAML error's place)
                click.echo(f"  {clean(line)}", err=True)
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
        ui.run_dashboard(store_path, None)


main.add_command(experiments.experiments)
main.add_command(runs.runs)
main.add_command(models.models)
main.add_command(ui.ui_command)
main.add_command(ui.demo_command)
main.add_command(launch.run_command)
main.add_command(predict.predict_command)
main.add_command(imports.import_group)
