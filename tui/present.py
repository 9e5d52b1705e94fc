"""How the command line and the dashboard show the same things: one place for each.

Every presenter returns Rich `Text` built from data (never a markup string)."""

from __future__ import annotations

import signal
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from rich.text import Text

from mltop.store import MltopError, TrackingStore
from mltop.store.entities import (
    LOST,
    MODEL_FAILED,
    MODEL_PENDING,
    MODEL_READY,
    RUNNING,
    Experiment,
    LoggedModel,
    ModelVersion,
    Run,
    TransitionRecord,
)
from mltop.store.mlmodel import NO_MLMODEL, PYFUNC, ModelFiles, read_model_files
from mltop.store.registry import (
    DELETE_MODEL,
    DELETE_VERSION,
    MODEL_ROW,
    RENAME,
    ModelLog,
    TransitionPlan,
    logged_model_id_of,
)
from mltop.store.system import (
    TAG_COMMAND,
    TAG_GIT_BRANCH,
    TAG_GIT_COMMIT,
    TAG_GIT_DIRTY,
    TAG_HOST,
)
from mltop.tui.text import clean, duration, ended, file_size, number, plain, timestamp

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
        ("Duration", plain(duration(info.start_time, ended(info), now))),
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
    it archived), a rollback, an alias set or removed, a rename, a version or the model
    deleted; the policy's verdict, the comment."""
    if record.kind in ("transition", "rollback"):
        change = f"{record.from_stage} → {record.to_stage}"
        if record.kind == "rollback":
            change = f"rollback: {change}"
        if record.archived:
            change += f" (archived {', '.join(f'v{v}' for v in record.archived)})"
    elif record.kind == "alias_set":
        was = f" (was v{record.from_version})" if record.from_version else ""
        change = f"@{record.alias} → v{record.version}{was}"
    elif record.kind == "alias_delete":
        change = f"@{record.alias} removed"
    elif record.kind == RENAME:
        change = f"renamed from {record.name}"
    elif record.kind == DELETE_VERSION:
        was = f" (was {record.from_stage})" if record.from_stage else ""
        change = f"v{record.version} deleted{was}"
    elif record.kind == DELETE_MODEL:
        change = "model deleted"
    else:  # a kind a newer mltop logs
        change = record.kind
    verdict = ""
    if record.policy is not None:
        verdict = "pass" if record.policy.get("passed") else "FAIL"
        if record.forced:
            verdict += " (forced)"
    return (
        Text(timestamp(record.time)),
        Text(clean(record.user_id)),
        Text("" if record.version == MODEL_ROW else f"v{record.version}"),
        Text(clean(change)),
        Text(verdict, style="bold red" if verdict.startswith("FAIL") else ""),
        Text(clean(record.comment)),
    )


def model_log_title(log: ModelLog, name: str) -> Text:
    """Which model a log is, among those that have been called `name`: one deleted, one
    renamed since, or the one called so now."""
    if log.deleted and log.name == name:
        note = "deleted"
    elif log.deleted:
        note = f"renamed to {log.name}, then deleted"
    elif log.name != name:
        note = f"renamed since: now {log.name}"
    else:
        note = "current"
    return Text(f"{clean(name)} ({clean(note)})", style="bold")


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


# -- logged models (MLflow 3's LoggedModel) ------------------------------------------------

MODEL_STATUS_STYLE = {"READY": "green", "PENDING": "yellow", "FAILED": "red"}
LOGGED_MODEL_COLUMNS = ("Name", "Model id", "Flavors", "Size", "Status", "Registered")
SHORT_MODEL_ID = 10  # "m-" and 8 hex digits, as a table shows a model's id
MODELS_IN_ONE_SEARCH = 50  # models per registry search for the versions made from them


@dataclass(frozen=True)
class ShownModel:
    """A run's logged model as the run detail and `mltop runs show` show it: the model,
    its folder as read (`mltop.store.mlmodel`), and the registered versions made from it."""

    model: LoggedModel
    files: ModelFiles
    versions: tuple[ModelVersion, ...] = ()


# A model's files, once read, by model id, with what they were read at (its status and last
# change): a live run's detail reads them again only when the model changed.
FilesRead = dict[str, tuple[tuple[str, int], ModelFiles]]


def model_sources(model: LoggedModel) -> set[str]:
    """The sources a registered version made from `model` has: `models:/<id>` (MLflow 3's
    register_model), `runs:/<its run>/<its name>` (the run's path to it), or its folder."""
    sources = {model.model_uri, model.artifact_location.rstrip("/")}
    if model.source_run_id:
        sources.add(f"runs:/{model.source_run_id}/{model.name}")
    return sources


def made_from(model: LoggedModel, versions: Iterable[ModelVersion]) -> list[ModelVersion]:
    """The versions registered from `model`, by model name then version."""
    sources = model_sources(model)
    found = [v for v in versions if v.source.rstrip("/") in sources]
    return sorted(found, key=lambda v: (v.name, v.version))


def quoted(value: str) -> str:
    """`value` as a string of the filter language."""
    return "'" + value.replace("'", "''") + "'"


def versions_made_from(store: TrackingStore, models: Sequence[LoggedModel]) -> list[ModelVersion]:
    """The registered versions whose source may be one of `models` (`made_from` tells
    which): one registry search per MODELS_IN_ONE_SEARCH models, by their ids and their
    runs' (a model's name never enters the filter)."""
    registry = store.registry
    found: list[ModelVersion] = []
    for start in range(0, len(models), MODELS_IN_ONE_SEARCH):
        chunk = models[start : start + MODELS_IN_ONE_SEARCH]
        runs = sorted({m.source_run_id for m in chunk if m.source_run_id})
        clauses = [f"source_path = {quoted(m.model_uri)}" for m in chunk]
        clauses += [f"source_path = {quoted(m.artifact_location)}" for m in chunk]
        clauses += [f"run_id = {quoted(run_id)}" for run_id in runs]
        token: str | None = None
        while True:
            page = registry.search_versions(" OR ".join(clauses), page_token=token)
            found += page
            token = page.token
            if not token:
                break
    return found


def read_run_models(
    store: TrackingStore, run_id: str, known: FilesRead | None = None
) -> tuple[list[ShownModel], FilesRead]:
    """A run's logged models, newest first, each with its files (read again only when the
    model changed since `known`) and the versions made from it; and the files as read."""
    models = store.logged_models_of_run(run_id)
    versions = versions_made_from(store, models) if models else []
    known = known or {}
    read: FilesRead = {}
    shown = []
    for model in models:
        at = (model.status, model.last_updated_timestamp)
        was = known.get(model.model_id)
        files = (
            was[1]
            if was is not None and was[0] == at
            else read_model_files(model.artifact_location)
        )
        read[model.model_id] = (at, files)
        shown.append(ShownModel(model, files, tuple(made_from(model, versions))))
    return shown, read


def version_run_id(version: ModelVersion, logged: LoggedModel | None) -> str:
    """The run that produced a version: its own run id, else its logged model's run."""
    return version.run_id or (logged.source_run_id if logged is not None else None) or ""


def version_source_text(run_name: str, version: ModelVersion, logged: LoggedModel | None) -> Text:
    """The run that produced a version, and the logged model of it the version was made
    from when its source names one (`models:/m-...`): `run › model (m-1234abcd)`."""
    text = plain(run_name)
    model_id = logged_model_id_of(version.source)
    if model_id is not None:
        name = logged.name if logged is not None else "(deleted model)"
        text.append(f" › {clean(name)} ({model_id[:SHORT_MODEL_ID]})", style="dim")
    return text


def model_status_text(status: str) -> Text:
    return Text(clean(status), style=MODEL_STATUS_STYLE.get(status, ""))


def flavors_label(flavors: Sequence[str]) -> str:
    """The flavors a model loads as: its own first, then `pyfunc` (MLflow's
    python_function, which nearly every model has)."""
    own = [f for f in flavors if f != PYFUNC]
    return ", ".join([*own, "pyfunc"] if PYFUNC in flavors else own)


def flavors_text(shown: ShownModel, *, full: bool = False) -> Text:
    """The model's flavors; while it is being written, that; else why its MLmodel could
    not be read (in a few words unless `full`)."""
    files, status = shown.files, shown.model.status
    if files.read:
        return plain(flavors_label(files.flavors) or "(none)")
    if status == MODEL_PENDING:
        return Text("being written…", style="dim")
    if full:
        why = files.problem
    elif files.size is None:
        why = "no files"
    else:
        why = "no MLmodel" if files.problem == NO_MLMODEL else "MLmodel unreadable"
    return plain(f"⚠ {why}", "dim" if status == MODEL_FAILED else "yellow")


def version_label(version: ModelVersion) -> str:
    stage = version.current_stage
    return f"{version.name} v{version.version}" + (f" ({stage})" if stage != "None" else "")


def logged_model_row(shown: ShownModel, *, full: bool = False) -> tuple[Text, ...]:
    """A logged model's cells, in LOGGED_MODEL_COLUMNS: its id short and any problem in a
    few words (a screen's table: `logged_model_note` says the rest), or, `full`, whole (a
    printed table)."""
    model = shown.model
    status = model_status_text(model.status)
    if full and model.status_message:
        status.append(f": {clean(model.status_message)}")
    return (
        plain(model.name, "bold"),
        plain(model.model_id if full else model.model_id[:SHORT_MODEL_ID]),
        flavors_text(shown, full=full),
        plain(file_size(shown.files.size)),
        status,
        plain(", ".join(version_label(v) for v in shown.versions)),
    )


def logged_model_note(shown: ShownModel, checksums: Checksums | None = None) -> Text:
    """One line more of the model: its URI, signature, files, their checksum state (a
    READY model's: `checksums` None while being checked), and what went wrong, if anything
    (the problem reading it, the failure MLflow recorded)."""
    model, files = shown.model, shown.files
    parts = [model.model_uri]
    if model.model_type:
        parts.append(f"type {model.model_type}")
    if files.read:
        parts.append("with a signature" if files.signature else "no signature")
    if files.size is not None:
        parts.append(f"{files.files} file{'' if files.files == 1 else 's'}")
    text = plain("   ".join(parts))
    if model.status == MODEL_READY and files.size is not None:
        text.append("   ")
        text.append_text(checksums_text(checksums))
    if model.status_message:
        text.append("   ")
        text.append(clean(model.status_message), style="red")
    if not files.read:
        text.append("   ")
        text.append(clean(files.problem), style="yellow" if model.status == MODEL_READY else "dim")
    return text


def logged_model_json(shown: ShownModel) -> dict[str, object]:
    """A logged model for `mltop runs show --json`."""
    model, files = shown.model, shown.files
    return {
        "model_id": model.model_id,
        "name": model.name,
        "status": model.status,
        "status_message": model.status_message,
        "model_type": model.model_type,
        "source_run_id": model.source_run_id,
        "artifact_location": model.artifact_location,
        "creation_timestamp": model.creation_timestamp,
        "flavors": list(files.flavors),
        "signature": files.signature,
        "size": files.size,
        "files": files.files,
        "problem": files.problem or None,
        "params": model.params,
        "tags": model.tags,
        "registered_versions": [
            {"name": v.name, "version": v.version, "stage": v.current_stage, "source": v.source}
            for v in shown.versions
        ],
    }


# -- a registered version's model (the registry's model panel) ---------------------------

MODEL_MISSING = "folder missing"
NOT_A_MODEL = "not a model folder (no MLmodel)"
NO_CHECKSUMS = "no checksums recorded"
MAX_SHOWN_COLUMNS = 8  # a signature's columns shown; the rest counted
# A model whose files take no more is hashed at once, even while a bigger one is (those are
# hashed one at a time: a few gigabytes take seconds).
QUICK_CHECK_BYTES = 64 << 20


@dataclass(frozen=True)
class Column:
    """One input or output of a signature: its name ("" when unnamed) and type."""

    name: str
    type: str
    required: bool = True


@dataclass(frozen=True)
class VersionModel:
    """A registered version's model as read from its folder (`read_version_model`): what
    the registry's model panel shows. `problem` is "" when its MLmodel was read."""

    name: str
    version: int
    source: str
    path: str = ""
    model_id: str | None = None  # the logged model whose checksums are compared
    flavors: tuple[str, ...] = ()
    inputs: tuple[Column, ...] | None = None  # None: no signature
    outputs: tuple[Column, ...] | None = None
    files: int = 0
    size: int | None = None  # None: no folder
    problem: str = ""
    recorded_bytes: int | None = None  # the bytes checksummed when it was logged

    @property
    def quick_to_check(self) -> bool:
        return self.recorded_bytes is not None and self.recorded_bytes <= QUICK_CHECK_BYTES


@dataclass(frozen=True)
class Checksums:
    """How a model's files compare with the checksums recorded when it was logged:
    `ok` True (as logged), False (changed, missing, ...), None (nothing to compare)."""

    text: str
    ok: bool | None


def _columns(schema: object) -> tuple[Column, ...] | None:
    """A signature schema's inputs (ColSpec: name and type; TensorSpec: its dtype and
    shape), as plain values."""
    if schema is None:
        return None
    found = []
    for spec in getattr(schema, "inputs", None) or []:
        name = getattr(spec, "name", None) or ""
        if hasattr(spec, "dtype"):
            shape = ", ".join(str(d) for d in getattr(spec, "shape", ()))
            kind = f"tensor {spec.dtype} ({shape})"
        else:
            kind = str(getattr(spec, "type", "?"))
        found.append(Column(str(name), kind, bool(getattr(spec, "required", True))))
    return tuple(found)


def read_version_model(store: TrackingStore, version: ModelVersion) -> VersionModel:
    """Where a version's model is, its flavors, signature and files (never its contents:
    nothing is unpickled, nothing hashed). Reads the disk: call it off the UI thread."""
    from mltop.models.errors import ModelFormatError
    from mltop.models.mlmodel import MLMODEL, Model
    from mltop.models.uri import version_model
    from mltop.store.mlmodel import folder_size

    facts = VersionModel(version.name, version.version, version.source)
    try:
        found = version_model(store, version)
    except MltopError as error:  # (its run or logged model gone from the store)
        return replace(facts, problem=str(error))
    model_id = found.logged_model.model_id if found.logged_model is not None else None
    recorded = store.logged_model_files(model_id) if model_id is not None else {}
    facts = replace(
        facts,
        path=str(found.path),
        model_id=model_id,
        recorded_bytes=sum(digest.size for digest in recorded.values()) if recorded else None,
    )
    try:
        if not found.path.is_dir():
            return replace(facts, problem=MODEL_MISSING)
        size, files = folder_size(found.path)
        facts = replace(facts, size=size, files=files)
        if not (found.path / MLMODEL).exists():
            return replace(facts, problem=NOT_A_MODEL)
        model = Model.load(found.path)
    except ModelFormatError as error:
        return replace(facts, problem=str(error))
    except OSError as error:
        return replace(facts, problem=f"cannot read {found.path}: {error.strerror or error}")
    signature = model.signature
    return replace(
        facts,
        flavors=tuple(model.flavors),
        inputs=_columns(signature.inputs) if signature is not None else None,
        outputs=_columns(signature.outputs) if signature is not None else None,
    )


def checksums_known(model: VersionModel) -> Checksums | None:
    """The checksum state when no file needs reading to know it (no folder, or nothing
    recorded to compare with); None: the files must be hashed (`check_version_model`)."""
    if not model.path:
        return Checksums("no model found", None)
    if model.size is None:
        return Checksums(MODEL_MISSING, False)
    if model.model_id is None:
        return Checksums(NO_CHECKSUMS, None)
    return None


def check_logged_model(store: TrackingStore, model: LoggedModel) -> Checksums:
    """How a logged model's files compare with the checksums recorded when it was logged
    (reads every file: off the UI thread)."""
    from mltop.models.uri import integrity

    report = integrity(store, model)
    if report is None:
        return Checksums(NO_CHECKSUMS, None)
    if report.ok:
        count = len(store.logged_model_files(model.model_id))
        return Checksums(f"{count} file{'' if count == 1 else 's'} as logged", True)
    return Checksums(report.describe(limit=3), False)


# What checking a model's files may fail with, as the model or its disk is now (a file
# unreadable, the store gone): said as its state. Anything else is a bug (said too).
CHECK_FAILURES = (MltopError, OSError, ValueError)


def check_failed(error: BaseException) -> Checksums:
    """The checksum state when checking the files failed: the reason, to be tried again
    (by a later visit, or a refresh)."""
    return Checksums(f"cannot check: {error or type(error).__name__}", False)


def check_version_model(store: TrackingStore, model: VersionModel) -> Checksums:
    """How a version's model files compare with their checksums (reads every file: off
    the UI thread)."""
    known = checksums_known(model)
    if known is not None or model.model_id is None:
        return known or Checksums(NO_CHECKSUMS, None)
    return check_logged_model(store, store.get_logged_model(model.model_id))


def columns_text(columns: Sequence[Column] | None) -> Text:
    """`mean_red double, ...`; unnamed columns by their type; "no signature"."""
    if columns is None:
        return Text("no signature", style="dim")
    text = Text()
    for i, column in enumerate(columns[:MAX_SHOWN_COLUMNS]):
        if i:
            text.append(", ")
        if column.name:
            text.append(clean(column.name), style="bold")
            text.append(" ")
        text.append(clean(column.type), style="cyan")
        if not column.required:
            text.append(" ")
            text.append("(optional)", style="dim")
    if len(columns) > MAX_SHOWN_COLUMNS:
        text.append(" ")
        text.append(f"and {len(columns) - MAX_SHOWN_COLUMNS} more", style="dim")
    return text


def checksums_text(checksums: Checksums | None) -> Text:
    if checksums is None:
        return Text("checking…", style="dim")
    if checksums.ok:
        return Text("✓ " + clean(checksums.text), style="green")
    if checksums.ok is None:
        return Text(clean(checksums.text), style="dim")
    return Text("⚠ " + clean(checksums.text), style="bold yellow")


def version_model_lines(model: VersionModel, checksums: Checksums | None) -> list[tuple[str, Text]]:
    """The model panel's lines, (label, value): flavors, files, checksums, inputs, outputs
    (or what is wrong: its folder gone, no MLmodel in it, its MLmodel unreadable)."""
    if not model.path:  # (the version's source leads nowhere in the store)
        return [("model", plain(model.problem, "yellow"))]
    lines = []
    if model.problem == MODEL_MISSING:
        lines.append(("folder", plain(model.path, "dim")))
    elif model.problem:
        lines.append(("model", plain(model.problem, "yellow")))
    else:
        lines.append(("flavors", plain(flavors_label(model.flavors) or "(none)")))
    if model.size is not None:
        files = f"{model.files} file{'' if model.files == 1 else 's'}, {file_size(model.size)}"
        lines.append(("files", plain(files)))
    lines.append(("checksums", checksums_text(checksums)))
    if not model.problem:  # (last: a signature of many columns may take a few lines)
        lines.append(("inputs", columns_text(model.inputs)))
        if model.inputs is not None:
            lines.append(("outputs", columns_text(model.outputs)))
    return lines


def version_model_text(model: VersionModel, checksums: Checksums | None) -> Text:
    """The model panel's lines as one text, each label padded (as a command prints it)."""
    text = Text()
    for label, value in version_model_lines(model, checksums):
        if text:
            text.append("\n")
        text.append(f"{label:<11}", style="dim")
        text.append_text(value)
    return text
