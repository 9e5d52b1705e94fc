"""`mltop models ...`: the model registry on the command line.

A transition or rollback first shows what will happen (the version moving, the versions
that will be archived, the policy check clause by clause) and asks. `--yes` skips the
question; with no terminal to ask on and no `--yes`, it refuses rather than guess.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from mltop.store import CommentRequiredError, FilterError, PlanChangedError
from mltop.store.protocols import ModelRegistry, TrackingStore
from mltop.store.registry import TransitionPlan, require_comment, version_number
from mltop.tui.cli.export import dumps
from mltop.tui.cli.opening import store_from, store_option
from mltop.tui.cli.output import bad_filter
from mltop.tui.present import (
    HISTORY_COLUMNS,
    history_row,
    model_log_title,
    plan_text,
    stage_text,
)
from mltop.tui.text import clean, plain, timestamp


def _registry(ctx: click.Context, store_path: str | None) -> ModelRegistry:
    return store_from(ctx, store_path).registry


def _console() -> Console:
    return Console(highlight=False)


def _echo_json(data: object) -> None:
    click.echo(dumps(data, indent=2, default=str))


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group()
def models() -> None:
    """The model registry: versions, stages, aliases, policies and their history."""


@models.command("list")
@json_option
@store_option
@click.pass_context
def models_list(ctx: click.Context, as_json: bool, store_path: str | None) -> None:
    """Registered models, with what is in Production and Staging."""
    reg = _registry(ctx, store_path)
    found = reg.search_registered_models()
    if as_json:
        _echo_json([asdict(m) for m in found])
        return
    table = Table()
    for column in ("Model", "Versions", "Production", "Staging", "Aliases", "Policy"):
        table.add_column(column)
    for model in found:
        versions = reg.search_model_versions(name=model.name)
        by_stage = {
            stage: ", ".join(f"v{v.version}" for v in versions if v.current_stage == stage)
            for stage in ("Production", "Staging")
        }
        aliases = ", ".join(f"@{a}→v{v}" for a, v in model.aliases.items())
        table.add_row(
            plain(model.name, "bold"),
            str(len(versions)),
            plain(by_stage["Production"], "green"),
            plain(by_stage["Staging"], "yellow"),
            plain(aliases),
            plain(model.policy or ""),
        )
    _console().print(table)
    if not found:
        _console().print("No registered models.")


@models.command("show")
@click.argument("name")
@json_option
@store_option
@click.pass_context
def models_show(ctx: click.Context, name: str, as_json: bool, store_path: str | None) -> None:
    """One model and its versions, with each version's source run."""
    store: TrackingStore = store_from(ctx, store_path)
    reg = store.registry
    model = reg.get_registered_model(name)
    versions = reg.search_model_versions(name=name)
    if as_json:
        _echo_json({**asdict(model), "versions": [asdict(v) for v in versions]})
        return
    console = _console()
    console.print(plain(model.name, "bold"), plain(model.description, "italic"))
    if model.policy:
        console.print(plain(f"Production policy: {model.policy}"))
    table = Table()
    for column in ("Version", "Stage", "Aliases", "Run", "Metrics", "Created", "By"):
        table.add_column(column)
    for v in versions:
        try:
            run = store.get_run(v.run_id)
            run_name = run.info.run_name
            metrics = ", ".join(
                f"{k}={s.value:.4g}" for k, s in sorted(run.data.summaries.items())[:4]
            )
        except Exception:  # a run deleted from the store still leaves its version
            run_name, metrics = v.run_id[:8], ""
        table.add_row(
            f"v{v.version}",
            stage_text(v.current_stage),
            plain(", ".join(f"@{a}" for a in v.aliases)),
            plain(run_name),
            plain(metrics),
            timestamp(v.creation_timestamp),
            plain(v.user_id),
        )
    console.print(table)


@models.command("register")
@click.argument("source")
@click.argument("name")
@click.option("--description", default="", help="What this version is.")
@json_option
@store_option
@click.pass_context
def models_register(
    ctx: click.Context,
    source: str,
    name: str,
    description: str,
    as_json: bool,
    store_path: str | None,
) -> None:
    """Register SOURCE (runs:/<run_id>/<path>) as the next version of NAME."""
    version = _registry(ctx, store_path).create_model_version(name, source, description=description)
    if as_json:
        _echo_json(asdict(version))
    else:
        click.echo(f"Registered {version.name} v{version.version} from run {version.run_id}")


def _show_plan(plan: TransitionPlan) -> None:
    _console().print(plan_text(plan))


def _interactive() -> bool:
    """Whether someone is at a terminal to answer a question."""
    return sys.stdin.isatty()


def _check_comment(plan: TransitionPlan, comment: str, force: bool = False) -> None:
    """The registry's rule on comments, asked before the question: nobody should confirm a
    move the registry will refuse."""
    try:
        require_comment(plan, comment, force=force)
    except CommentRequiredError as exc:
        raise click.UsageError(f"{exc}: give --comment WHY") from None


def _confirm(plan: TransitionPlan, yes: bool) -> None:
    _show_plan(plan)
    if yes:
        return
    if not _interactive():
        raise click.ClickException(
            "no terminal to confirm on: pass --yes to make this change non-interactively"
        )
    if not click.confirm("Proceed?", default=False):
        raise click.ClickException("cancelled: nothing was changed")


@contextmanager
def _as_confirmed() -> Iterator[None]:
    """A move made only as it was shown and confirmed: if the registry changed meanwhile
    (another user, a CI job), nothing is done and the move as it would be now is shown."""
    try:
        yield
    except PlanChangedError as exc:
        click.echo("The registry changed while you decided; nothing was done. The move now:")
        _show_plan(exc.plan)
        raise click.ClickException(
            "not done: the move changed since it was shown; run the command again to make it"
        ) from None


@models.command("transition")
@click.argument("name")
@click.argument("version")
@click.argument("stage")
@click.option("--comment", "-m", default="", help="Why (required for Production and --force).")
@click.option("--no-archive", is_flag=True, help="Keep other versions in the target stage.")
@click.option("--force", is_flag=True, help="Override a failing policy (needs --comment).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@store_option
@click.pass_context
def models_transition(
    ctx: click.Context,
    name: str,
    version: str,
    stage: str,
    comment: str,
    no_archive: bool,
    force: bool,
    yes: bool,
    store_path: str | None,
) -> None:
    """Move VERSION of NAME to STAGE (None, Staging, Production, Archived)."""
    reg = _registry(ctx, store_path)
    archive = False if no_archive else None
    plan = reg.plan_transition(name, version, stage, archive)
    _check_comment(plan, comment, force)
    if plan.blocked and not force:
        _show_plan(plan)
        raise click.ClickException("the policy fails: fix the run, or --force with --comment")
    _confirm(plan, yes)
    with _as_confirmed():
        done = reg.transition(
            name, version, stage, comment, archive_existing=archive, force=force, expected=plan
        )
    click.echo(f"Done: {done.describe(done=True)}")


@models.command("rollback")
@click.argument("name")
@click.option("--comment", "-m", default="", help="Why (required).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@store_option
@click.pass_context
def models_rollback(
    ctx: click.Context, name: str, comment: str, yes: bool, store_path: str | None
) -> None:
    """Put back in Production the version that was there before the current one."""
    reg = _registry(ctx, store_path)
    plan = reg.plan_rollback(name)
    _check_comment(plan, comment)
    _confirm(plan, yes)
    with _as_confirmed():
        done = reg.rollback(name, comment, expected=plan)
    click.echo(f"Done: {done.describe(done=True)}")


@models.command("alias")
@click.argument("name")
@click.argument("alias")
@click.argument("version")
@store_option
@click.pass_context
def models_alias(
    ctx: click.Context, name: str, alias: str, version: str, store_path: str | None
) -> None:
    """Point ALIAS of NAME at VERSION (moving it if it pointed elsewhere)."""
    _registry(ctx, store_path).set_alias(name, alias, version)
    click.echo(f"{name}@{alias} → v{version.lstrip('vV')}")


@models.command("unalias")
@click.argument("name")
@click.argument("alias")
@store_option
@click.pass_context
def models_unalias(ctx: click.Context, name: str, alias: str, store_path: str | None) -> None:
    """Remove ALIAS from NAME."""
    _registry(ctx, store_path).delete_alias(name, alias)
    click.echo(f"{name}@{alias} removed")


@models.command("history")
@click.argument("name")
@click.option("--version", "version", default=None, help="Only this version.")
@json_option
@store_option
@click.pass_context
def models_history(
    ctx: click.Context, name: str, version: str | None, as_json: bool, store_path: str | None
) -> None:
    """Every stage move, rollback, alias change, rename and deletion of NAME: who, when,
    why. A model deleted, or renamed since, that was called NAME has its own table, before
    the model called NAME now; --json marks each row with its table (`log`, `deleted`)."""
    logs = _registry(ctx, store_path).model_logs(name)
    number = None if version is None else version_number(version)
    shown = [
        (log, [r for r in log.records if number is None or r.version == number]) for log in logs
    ]
    if as_json:
        _echo_json(
            [
                {**asdict(r), "log": i, "deleted": log.deleted}
                for i, (log, records) in enumerate(shown)
                for r in records
            ]
        )
        return
    console = _console()
    titled = len(logs) > 1 or logs[0].deleted or logs[0].name != name
    for log, records in shown:
        if titled:
            console.print(model_log_title(log, name))
        table = Table()
        for column in HISTORY_COLUMNS:
            table.add_column(column.capitalize())
        for record in records:
            table.add_row(*history_row(record))
        console.print(table)


@models.command("policy")
@click.argument("name")
@click.argument("expression", required=False)
@click.option("--clear", is_flag=True, help="Remove the policy.")
@store_option
@click.pass_context
def models_policy(
    ctx: click.Context, name: str, expression: str | None, clear: bool, store_path: str | None
) -> None:
    """Show, set or clear the filter a version's run must pass to enter Production,
    e.g. "metrics.val_acc >= 0.92 and metrics.latency_ms < 50"."""
    reg = _registry(ctx, store_path)
    if clear and expression:
        raise click.UsageError("give an EXPRESSION or --clear, not both")
    # Printed literally: escape sequences in a name or a quoted string are made visible.
    if clear:
        reg.set_policy(name, None)
        click.echo(f"{clean(name)}: policy cleared")
    elif expression:
        try:
            reg.set_policy(name, expression)
        except FilterError as exc:
            raise bad_filter(exc, "EXPRESSION") from None
        click.echo(f"{clean(name)}: policy set: {clean(expression)}")
    else:
        current = reg.get_registered_model(name).policy
        click.echo(clean(current) if current else f"{clean(name)} has no policy")


def _schema_lines(schema: Any) -> list[str]:
    """One line per column of a signature's schema (`age: long`, `x: Tensor float64 (-1, 3)`,
    `tags: array<string> (optional)`)."""
    return [spec.describe() for spec in schema] if schema is not None else []


def _model_facts(ctx: click.Context, uri: str, store_path: str | None) -> dict[str, Any]:
    """What `inspect` and `verify` say of a model: read from its MLmodel, and its files
    compared with the checksums recorded when it was logged. Nothing is unpickled."""
    from mltop.models.errors import ModelError
    from mltop.models.mlmodel import Model
    from mltop.models.uri import integrity, resolve_model_uri
    from mltop.store.integrity import folder_digests

    store: TrackingStore = store_from(ctx, store_path)
    found = resolve_model_uri(uri, store)
    if not found.path.is_dir():
        raise click.ClickException(f"{clean(uri)}: no model folder at {clean(str(found.path))}")
    facts: dict[str, Any] = {"uri": uri, "path": str(found.path)}
    try:
        meta = Model.load(found.path)
    except ModelError as error:
        facts["problem"] = str(error)
        meta = None
    if meta is not None:
        facts["flavors"] = {name: conf for name, conf in meta.flavors.items()}
        facts["model_id"] = meta.model_id
        facts["run_id"] = meta.run_id
        facts["created"] = meta.utc_time_created
        facts["signature"] = meta.signature.to_dict() if meta.signature else None
        facts["inputs"] = _schema_lines(meta.get_input_schema())
        facts["outputs"] = _schema_lines(meta.get_output_schema())
    logged = found.logged_model
    if logged is not None:
        facts["logged_model"] = {
            "model_id": logged.model_id,
            "name": logged.name,
            "status": logged.status,
            "source_run_id": logged.source_run_id,
        }
    if found.version is not None:
        facts["version"] = f"{found.version.name} v{found.version.version}"
    if meta is None and logged is None:  # not a model folder: its files are not read
        facts["files"] = []
        facts["checksums"] = "not checked (not a model folder)"
        return facts
    try:
        files = folder_digests(found.path)
    except (OSError, ValueError) as error:
        facts["files"] = []
        facts["checksums"] = f"cannot read the folder whole: {error}"
        return facts
    facts["files"] = [
        {"path": path, "size": digest.size, "sha256": digest.sha256}
        for path, digest in sorted(files.items())
    ]
    report = integrity(store, logged) if logged is not None else None
    if logged is None:
        facts["checksums"] = "not a logged model: no checksums recorded"
    elif report is None:
        facts["checksums"] = "no checksums recorded (logged before mltop recorded them)"
    else:
        facts["checksums"] = (
            f"{len(files)} files as logged" if report.ok else f"CHANGED: {report.describe()}"
        )
        facts["checksums_ok"] = report.ok
    return facts


@models.command("inspect")
@click.argument("model_uri")
@json_option
@store_option
@click.pass_context
def models_inspect(
    ctx: click.Context, model_uri: str, as_json: bool, store_path: str | None
) -> None:
    """A model's flavors, signature, files and checksum state, from its MLmodel (nothing
    is loaded). MODEL_URI: a folder, runs:/RUN_ID/PATH, models:/MODEL_ID, models:/NAME/VERSION,
    models:/NAME/STAGE, models:/NAME/latest or models:/NAME@ALIAS."""
    facts = _model_facts(ctx, model_uri, store_path)
    if as_json:
        _echo_json(facts)
        return
    console = _console()
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("Model", plain(str(facts["uri"])))
    table.add_row("Folder", plain(str(facts["path"])))
    if "version" in facts:
        table.add_row("Version", plain(str(facts["version"])))
    if "problem" in facts:
        table.add_row("Problem", plain(str(facts["problem"]), "red"))
    flavors = facts.get("flavors")
    if isinstance(flavors, dict):
        table.add_row("Flavors", plain(", ".join(flavors)))
        loader = (flavors.get("python_function") or {}).get("loader_module")
        if loader:
            table.add_row("Loader", plain(str(loader)))
    for key, label in (("model_id", "Model id"), ("run_id", "Run"), ("created", "Created")):
        if facts.get(key):
            table.add_row(label, plain(str(facts[key])))
    if "flavors" in facts:
        inputs = facts.get("inputs") or ["no signature"]
        for label, lines in (("Inputs", inputs), ("Outputs", facts.get("outputs") or [])):
            for number, line in enumerate(lines):
                table.add_row(label if number == 0 else "", plain(line))
    files = facts.get("files") or []
    size = sum(f["size"] for f in files)
    table.add_row("Files", plain(f"{len(files)} ({size:,} bytes)"))
    ok = facts.get("checksums_ok")
    table.add_row(
        "Checksums",
        plain(str(facts["checksums"]), "green" if ok else "red" if ok is False else ""),
    )
    console.print(table)


@models.command("verify")
@click.argument("model_uri")
@store_option
@click.pass_context
def models_verify(ctx: click.Context, model_uri: str, store_path: str | None) -> None:
    """Compare a logged model's files with the SHA-256 recorded when it was logged: exit 0
    when every file is as logged, 1 when any changed, is missing or was added (or none
    were recorded)."""
    facts = _model_facts(ctx, model_uri, store_path)
    click.echo(f"{clean(model_uri)}: {clean(str(facts['checksums']))}")
    if facts.get("checksums_ok") is not True:
        ctx.exit(1)


def register(group: click.Group) -> None:
    group.add_command(models)
