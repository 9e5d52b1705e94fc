"""How the command line and the dashboard show the same things: one place for each.

Every presenter returns Rich `Text` built from data (never a markup string)."""

from __future__ import annotations

import signal
from collections.abc import Sequence

from rich.text import Text

from mltop.store.entities import LOST, RUNNING, Experiment, Run, TransitionRecord
from mltop.store.registry import TransitionPlan
from mltop.store.system import (
    TAG_COMMAND,
    TAG_GIT_BRANCH,
    TAG_GIT_COMMIT,
    TAG_GIT_DIRTY,
    TAG_HOST,
)
from mltop.tui.text import clean, duration, number, plain, timestamp

# A run's status: its glyph and colour, the same in `mltop runs` and on every screen.
STATUS_STYLE: dict[str, tuple[str, str]] = {
    RUNNING: ("●", "green"),
    "FINISHED": ("✔", "blue"),
    "FAILED": ("✖", "red"),
    "KILLED": ("■", "yellow"),
    "SCHEDULED": ("◌", "cyan"),
    LOST: ("?", "magenta"),
}
# A model version's stage.
STAGE_STYLE = {"Production": "bold green", "Staging": "bold yellow", "Archived": "dim"}


def status_label(status: str) -> str:
    """The status with its glyph, as plain text (a table cell styled elsewhere)."""
    return f"{STATUS_STYLE.get(status, ('·', ''))[0]} {status}"


def status_text(status: str) -> Text:
    """The status with its glyph, in its colour."""
    return Text(status_label(status), style=STATUS_STYLE.get(status, ("·", ""))[1])


def stage_text(stage: str) -> Text:
    """A model version's stage, in its colour."""
    return Text(stage, style=STAGE_STYLE.get(stage, ""))


# -- where a run ran (the tags the client sets) -------------------------------------------


def host(tags: dict[str, str]) -> str:
    return tags.get(TAG_HOST, "")


def command(tags: dict[str, str]) -> str:
    return tags.get(TAG_COMMAND, "")


TAG_RERUN_OF = "mltop.rerun_of"  # set by `mltop run --rerun` (tui/cli/launch.py)


def rerun_filter(run_id: str) -> str:
    """A search filter for the runs that reran `run_id`."""
    return f"tags.`{TAG_RERUN_OF}` = '{run_id}'"


def project_label(tags: dict[str, str]) -> str:
    """`name:entry point (env manager)` of a run `mltop run` started; else empty."""
    entry = tags.get("mlflow.project.entryPoint")
    if not entry:
        return ""
    name = tags.get("mltop.project.name", "")
    env = tags.get("mlflow.project.env", "")
    return f"{name}:{entry}" + (f" ({env})" if env and env != "local" else "")


def exit_label(tags: dict[str, str]) -> str:
    """The command's exit status when it was not 0 (negative: the signal that ended it)."""
    code = tags.get("mltop.exit_code", "0")
    if code in ("", "0"):
        return ""
    if code.startswith("-") and code[1:].isdigit():
        try:
            return f"{code} ({signal.Signals(int(code[1:])).name})"
        except ValueError:
            return code
    return code


def git_commit(tags: dict[str, str]) -> str:
    return tags.get(TAG_GIT_COMMIT, "")


def git_label(tags: dict[str, str], *, short: bool = False) -> str:
    """The commit the run ran from, "(dirty)" when its work tree had changes, and (not
    `short`) the branch; empty when the run was not in a git work tree."""
    commit = git_commit(tags)
    if short:
        commit = commit[:12]
    dirty = " (dirty)" if tags.get(TAG_GIT_DIRTY) == "true" else ""
    branch = "" if short else tags.get(TAG_GIT_BRANCH, "")
    return f"{commit}{dirty} {branch}".strip()


# -- a run's facts ---------------------------------------------------------------------


def run_facts(
    run: Run,
    now: int,
    *,
    experiment: Experiment | None = None,
    parent: str | None = None,
    children: Sequence[str] = (),
    reruns: Sequence[str] = (),
) -> list[tuple[str, Text]]:
    """A run's facts, labelled, in the order shown: name and id, experiment, lifecycle
    (when not active), status, times, user, where it ran, parent, children, artifacts. A
    fact with nothing to say (no end yet, no git, no parent) is left out. The caller reads
    what the run does not hold: its `experiment`, its `children`'s ids (shown short), and
    how to name its `parent` (default: the parent's id)."""
    info, tags = run.info, run.data.tags
    if parent is None:
        parent = info.parent_run_id or ""
    rows = [
        ("Run", plain(f"{info.run_name}  {info.run_id}")),
        (
            "Experiment",
            plain(f"{experiment.name} ({experiment.experiment_id})" if experiment else ""),
        ),
        ("Status", status_text(info.display_status)),
        ("Started", plain(timestamp(info.start_time))),
        ("Ended", plain(timestamp(info.end_time))),
        ("Duration", plain(duration(info.start_time, info.end_time, now))),
        ("User", plain(info.user_id)),
        ("Host", plain(host(tags))),
        ("Command", plain(command(tags))),
        ("Git", plain(git_label(tags))),
        ("Parent", plain(parent)),
        ("Children", plain(", ".join(c[:8] for c in children))),
        ("Project", plain(project_label(tags))),
        ("Exit code", plain(exit_label(tags), "red")),
        ("Rerun of", plain(tags.get(TAG_RERUN_OF, "")[:8])),
        ("Reruns", plain(", ".join(r[:8] for r in reruns))),
        ("Artifacts", plain(info.artifact_uri)),
    ]
    if info.lifecycle_stage != "active":
        rows.insert(2, ("Lifecycle", plain(info.lifecycle_stage, "red")))
    return [(label, value) for label, value in rows if value.plain.strip()]


# -- the registry ----------------------------------------------------------------------


def plan_text(plan: TransitionPlan) -> Text:
    """What will happen, then the policy check, clause by clause."""
    text = Text(clean(plan.describe()), style="bold")
    if plan.policy is None:
        if plan.to_stage == "Production":
            text.append("\nno promotion policy for this model", style="dim")
        return text
    verdict = "passes" if plan.policy.passed else "FAILS"
    # Quoted as repr() would, but literally: repr() would double what `clean` escaped.
    policy = clean(plan.policy.expression)
    quote = '"' if "'" in policy and '"' not in policy else "'"
    text.append(f"\npolicy {quote}{policy}{quote} {verdict}:")
    for clause in plan.policy.clauses:
        if clause.actual is None:
            actual = "missing"
        elif isinstance(clause.actual, float):
            actual = number(clause.actual)
        else:
            actual = clean(clause.actual)
        mark, style = ("pass", "green") if clause.passed else ("FAIL", "bold red")
        text.append(f"\n  {mark}  ", style=style)
        text.append(f"{clean(clause.clause)}   (actual: {actual})")
    return text


# The comment last: free text, the column a narrow terminal cuts; the verdict stays in view.
HISTORY_COLUMNS = ("when", "who", "version", "change", "policy", "comment")


def history_row(record: TransitionRecord) -> tuple[Text, ...]:
    """One line of a model's history, in HISTORY_COLUMNS: a stage move (and the versions
    it archived), a rollback, or an alias set or removed; the policy's verdict, the comment."""
    if record.kind in ("transition", "rollback"):
        change = f"{record.from_stage} → {record.to_stage}"
        if record.kind == "rollback":
            change = f"rollback: {change}"
        if record.archived:
            change += f" (archived {', '.join(f'v{v}' for v in record.archived)})"
    elif record.kind == "alias_set":
        was = f" (was v{record.from_version})" if record.from_version else ""
        change = f"@{record.alias} → v{record.version}{was}"
    else:
        change = f"@{record.alias} removed"
    verdict = ""
    if record.policy is not None:
        verdict = "pass" if record.policy.get("passed") else "FAIL"
        if record.forced:
            verdict += " (forced)"
    return (
        Text(timestamp(record.time)),
        Text(clean(record.user_id)),
        Text(f"v{record.version}"),
        Text(clean(change)),
        Text(verdict, style="bold red" if verdict.startswith("FAIL") else ""),
        Text(clean(record.comment)),
    )


# -- datasets -----------------------------------------------------------------------------


def dataset_source(source_type: str, source: str) -> str:
    """Where a dataset came from, for a person: the path or URL in its source JSON (the
    script, for a dataset made in code), after its kind; the text itself when it is not
    such JSON."""
    import json

    try:
        found = json.loads(source)
    except ValueError:
        found = None
    where = None
    if isinstance(found, dict):
        where = found.get("uri") or found.get("url")
        tags = found.get("tags")
        if where is None and isinstance(tags, dict):
            where = tags.get("mlflow.source.name")
    return f"{source_type}: {where if isinstance(where, str) else source}"


def dataset_inputs(run: Run) -> list[tuple[Text, Text, Text, Text]]:
    """A run's dataset inputs as (name, digest, source, context) cells, in the order logged."""
    return [
        (
            plain(item.dataset.name),
            plain(item.dataset.digest),
            plain(dataset_source(item.dataset.source_type, item.dataset.source)),
            plain(item.context or ""),
        )
        for item in run.inputs.dataset_inputs
    ]


def dataset_summary(run: Run) -> str:
    """A run's dataset inputs on one line, `name (context)` each: the run detail's summary."""
    return ", ".join(
        f"{item.dataset.name} ({item.context})" if item.context else item.dataset.name
        for item in run.inputs.dataset_inputs
    )
