"""The registry screen (`r`): registered models, the versions of the one under the cursor,
and its transition history (`h`); enter on a version opens the run that produced it. Under
the versions, the model of the one under the cursor (`widgets/model_panel.py`): its
flavors, files, signature and whether its files are still those logged, read and hashed
off the UI thread. A small model's files are hashed again each time the cursor lands on
its version; a big one's once, until `r` (which reads the registry and every model again)
or the store says the logged model changed.
A check that fails says why, and is tried again on the next visit.

`P` `S` `A` `N` move the version under the cursor to Production, Staging, Archived or None,
`b` rolls Production back, `a` points an alias at the version, `x` removes one of its
aliases: each change is planned first (nothing changes) and confirmed in a dialog that says
exactly what will happen, with the policy check (`dialogs.py`). An alias left on an
Archived version is flagged. The footer lists only the keys that act on what is shown. With
no model registered yet, the screen says how to register one. It follows the store live, so
a promotion made in another terminal shows at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from mltop.store import (
    Changes,
    MltopError,
    NotFoundError,
    PlanChangedError,
    StoreError,
    TrackingStore,
)
from mltop.store.entities import LoggedModel, ModelVersion, RegisteredModel, TransitionRecord
from mltop.store.query.paging import PagedList
from mltop.store.registry import TransitionPlan, logged_model_id_of
from mltop.tui.present import (
    CHECK_FAILURES,
    HISTORY_COLUMNS,
    Checksums,
    VersionModel,
    check_failed,
    check_version_model,
    checksums_known,
    history_row,
    read_version_model,
    stage_text,
    version_run_id,
    version_source_text,
)
from mltop.tui.screens.dialogs import AliasDialog, TransitionDialog, UnaliasDialog
from mltop.tui.text import clean, number, timestamp
from mltop.tui.widgets.footer import KeysFooter
from mltop.tui.widgets.model_panel import ModelPanel
from mltop.tui.workers import report, store_work


class SourceRun(NamedTuple):
    """The run that produced a version, as the versions table shows it."""

    name: str
    metrics: str  # its key metrics, as text


DELETED_RUN = SourceRun("(deleted run)", "")
IN_ONE_SEARCH = 500  # run ids per search for the versions' runs
PAGE = 1000  # models or versions per registry search
# What an empty registry says: the command that registers a model (`mltop models register`).
EMPTY = (
    "No model registered yet.\n\n"
    "Register the model a run logged as the next version of a model:\n\n"
    "    mltop models register runs:/<run_id>/model NAME\n\n"
    "(or mlflow.register_model / mltop.store.register_model from Python).\n"
    "It shows here at once; escape goes back to the runs."
)


@dataclass
class ModelRead(Message):
    """The model of a version, as read from its folder."""

    model: VersionModel


@dataclass
class ModelChecked(Message):
    """A logged model's files compared with their checksums, by check number `number`
    (a result older than the one wanted is dropped)."""

    model_id: str
    number: int
    checksums: Checksums
    failed: bool = False  # the check failed (`checksums` says why): tried again later
    bug: BaseException | None = None  # it failed with what is a bug: reported too


@dataclass
class RegistryLoaded(Message):
    models: list[RegisteredModel]
    versions: list[ModelVersion]
    runs: dict[str, SourceRun]  # by run id; a run deleted from the store is missing
    history: list[TransitionRecord] | None
    # The logged models the versions were made from (`models:/m-...`), by id; None: gone.
    logged: dict[str, LoggedModel | None] = field(default_factory=dict)


# A move asked for (`ask`: its number on the screen) is planned, then made, off the UI
# thread; each step ends in one of these, handled by the screen and its dialog.


@dataclass
class MovePlanned(Message):
    ask: int
    plan: TransitionPlan


@dataclass
class MoveNotPlanned(Message):
    """Nothing to ask about (the version is there already, or gone): `error` says why."""

    ask: int
    error: MltopError


@dataclass
class MoveMade(Message):
    ask: int
    done: TransitionPlan


@dataclass
class MoveRefused(Message):
    """Not made: the registry changed meanwhile, or refuses the move as it is now."""

    ask: int
    why: str
    now: TransitionPlan | None  # the move as the registry is now; None: none is possible


@dataclass
class MoveFailed(Message):
    """Not made: the store failed (nothing changed)."""

    ask: int
    error: StoreError


class AliasSet(Message):
    """The alias asked for points at its version now."""


@dataclass
class AliasRemoved(Message):
    name: str
    alias: str
    version: int


def all_pages(search: Callable[[str | None], PagedList]) -> list[Any]:
    """Every result of a paged registry search, `search(page_token)` a page at a time."""
    found: list[Any] = []
    token: str | None = None
    while True:
        page = search(token)
        found += page
        token = page.token
        if not token:
            return found


def archived_aliases(versions: list[ModelVersion]) -> list[tuple[str, int]]:
    """(alias, version) for each alias left on an Archived version: a warning."""
    return sorted(
        (alias, v.version) for v in versions if v.current_stage == "Archived" for alias in v.aliases
    )


def aliases_text(version: ModelVersion) -> Text:
    """A version's aliases; on an Archived version, in the warning colour, marked."""
    text = Text(clean(", ".join(version.aliases)))
    if version.aliases and version.current_stage == "Archived":
        text.stylize("bold yellow")
        text.append(" ⚠ archived", style="bold yellow")
    return text


def key_metrics(metrics: dict[str, float], policy: str | None) -> list[tuple[str, float]]:
    """The metrics a version is judged on: those its model's policy names, then others by
    name, three at most."""
    named = sorted(
        k for k in metrics if policy and (f"metrics.{k}" in policy or f"`{k}`" in policy)
    )
    others = sorted(k for k in metrics if k not in named)
    return [(k, metrics[k]) for k in [*named, *others][:3]]


def source_runs(
    store: TrackingStore, run_ids: list[str], policy: str | None
) -> dict[str, SourceRun]:
    """The runs that produced the versions, by id, read with one search (per
    IN_ONE_SEARCH), not one read per version; deleted runs too: only a run gone from the
    store is missing. A RunRow holds a run's first ROW_METRICS metrics: a run may log a
    million, and three are shown."""
    ids = sorted(set(run_ids))
    runs: dict[str, SourceRun] = {}
    for start in range(0, len(ids), IN_ONE_SEARCH):
        chunk = ids[start : start + IN_ONE_SEARCH]
        quoted = ", ".join("'" + run_id.replace("'", "''") + "'" for run_id in chunk)
        found = store.search_run_rows(
            filter_string=f"attributes.run_id IN ({quoted})", max_results=len(chunk), view="all"
        )
        for row in found:
            metrics = ", ".join(f"{k} {number(v)}" for k, v in key_metrics(row.metrics, policy))
            runs[row.info.run_id] = SourceRun(row.info.run_name, metrics)
    return runs


def changed(was: LoggedModel | None, now: LoggedModel | None) -> bool:
    """Whether a logged model changed between two reads (gone, back, or written to)."""
    if was is None or now is None:
        return was is not now
    return (was.status, was.last_updated_timestamp) != (now.status, now.last_updated_timestamp)


def logged_models(
    store: TrackingStore, versions: list[ModelVersion]
) -> dict[str, LoggedModel | None]:
    """The logged models the versions were made from, by id (None: no longer in the
    store)."""
    found: dict[str, LoggedModel | None] = {}
    for version in versions:
        model_id = logged_model_id_of(version.source)
        if model_id is not None and model_id not in found:
            try:
                found[model_id] = store.get_logged_model(model_id)
            except NotFoundError:
                found[model_id] = None
    return found


class RegistryScreen(Screen):
    show_history = var(False, init=False)  # `h`: the model's history instead of its versions
    CSS_PATH = "registry.tcss"
    HELP_TITLE = "registry"
    # The keys that open a dialog are priority keys: acted on as they arrive, so that the
    # dialog is up for the keys typed right after them in the same burst (a paste, a fast
    # typist over SSH), which are then its text; others would still go to the table.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", tooltip="Back", id="registry.back"),
        Binding(
            "P",
            "move('Production')",
            "→ Production",
            tooltip="Move the version to Production (asks first)",
            id="registry.production",
            priority=True,
        ),
        Binding(
            "S",
            "move('Staging')",
            "→ Staging",
            tooltip="Move the version to Staging (asks first)",
            id="registry.staging",
            priority=True,
        ),
        Binding(
            "A",
            "move('Archived')",
            "→ Archived",
            tooltip="Archive the version (asks first)",
            id="registry.archived",
            priority=True,
        ),
        Binding(
            "N",
            "move('None')",
            "→ None",
            show=False,
            tooltip="Move the version to stage None (asks first)",
            id="registry.none",
            priority=True,
        ),
        Binding(
            "b",
            "rollback",
            "Roll back",
            tooltip="Put back the previous Production version (asks first)",
            id="registry.rollback",
            priority=True,
        ),
        Binding(
            "a",
            "alias",
            "Alias",
            tooltip="Point an alias at the version",
            id="registry.alias",
            priority=True,
        ),
        Binding(
            "x",
            "unalias",
            "Remove alias",
            tooltip="Remove an alias from the version (asks first)",
            id="registry.unalias",
            priority=True,
        ),
        # `x` on a version without an alias: says so (a key that does nothing looks broken).
        # No description: not a key of its own in the help or the palette.
        Binding("x", "no_alias", "", show=False, id="registry.no_alias", priority=True),
        Binding(
            "h",
            "toggle_history",
            "History",
            tooltip="The model's transition history (who, when, from → to, why)",
            id="registry.history",
        ),
        Binding(
            "r",
            "recheck",
            "Re-check",
            show=False,
            tooltip="Check the model's files again (and read all again)",
            id="registry.recheck",
        ),
        Binding(
            "tab",
            "app.focus_next",
            "Models/versions",
            show=False,
            tooltip="Between the models and the versions",
            id="registry.next",
        ),
        Binding("q", "app.quit", "Quit", id="app.quit"),
    ]

    def __init__(self, store: TrackingStore) -> None:
        super().__init__()
        self.store = store
        self.models: list[RegisteredModel] = []
        self.versions: list[ModelVersion] = []
        self.logged: dict[str, LoggedModel | None] = {}
        self.model_name: str | None = None
        self._asked = 0  # the moves asked for so far: the last is the one its dialog shows
        self._dialog: TransitionDialog | None = None
        # The model panel: each version's model read once, by (name, version), until `r`.
        # Each logged model's files are hashed (a small model's at once, big ones one at a
        # time, the version under the cursor next), each check numbered: a result is kept
        # only from the check last asked for. A small model is checked again each time the
        # cursor lands on its version, a big one when `r` forgets every state; a failed
        # check at the next landing.
        self._model_read: dict[tuple[str, int], VersionModel] = {}
        self._model_reading: tuple[str, int] | None = None
        self._checked: dict[str, Checksums] = {}
        self._failed: set[str] = set()  # checked models whose check failed
        self._checks = 0  # the checks asked for so far
        self._wanted: dict[str, int] = {}  # by model id: the number of the check wanted
        self._hashing: dict[str, int] = {}  # by model id: the small model's check running
        self._checking: tuple[str, int] | None = None  # the big model being hashed (id, number)
        self._check_next: VersionModel | None = None  # the big model to hash next
        self._landed: tuple[str, int] | None = None  # the version the cursor is on
        self._fresh: tuple[str, int] | None = None  # landed on: its state checked again

    def compose(self) -> ComposeResult:
        yield Header()
        empty = Static(EMPTY, id="empty", markup=False)
        empty.display = False  # shown once a read finds no model
        yield empty
        with Vertical(id="registry"):
            yield Static("Models", classes="caption", markup=False)
            yield DataTable(id="models", cursor_type="row")
            yield Static("", id="versions-caption", classes="caption", markup=False)
            yield Static("", id="alias-warning", markup=False)
            yield DataTable(id="versions", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="history", cursor_type="row", zebra_stripes=True)
            yield ModelPanel(id="model-panel")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#models", DataTable).add_columns(
            "model", "versions", "Production", "Staging", "aliases", "policy"
        )
        self.query_one("#versions", DataTable).add_columns(
            "version", "stage", "aliases", "source run", "key metrics", "created", "by"
        )
        self.query_one("#history", DataTable).add_columns(*HISTORY_COLUMNS)
        self.query_one("#models", DataTable).focus()
        self.load()

    # -- loading ---------------------------------------------------------------------------

    def load(self) -> None:
        self._read(self.store, self.model_name, self.show_history)

    @store_work(group="registry", exclusive=True)
    def _read(store: TrackingStore, model_name: str | None, show_history: bool) -> RegistryLoaded:
        registry = store.registry
        models = all_pages(lambda token: registry.search_models(None, PAGE, None, token))
        name = model_name or (models[0].name if models else None)
        # All of them, a model's newest first: a registry is small, and each model's count
        # of versions is shown.
        order = ["name ASC", "version_number DESC"]
        versions = all_pages(lambda token: registry.search_versions(None, PAGE, order, token))
        policy = next((m.policy for m in models if m.name == name), None)
        mine = [v for v in versions if v.name == name]
        logged = logged_models(store, mine)
        run_ids = [version_run_id(v, logged.get(logged_model_id_of(v.source) or "")) for v in mine]
        runs = source_runs(store, [run_id for run_id in run_ids if run_id], policy)
        history = registry.history(name) if name and show_history else None
        return RegistryLoaded(models, versions, runs, history, logged)

    def store_changed(self, changes: Changes, touched: set[str] | None) -> None:
        """Models, versions and their runs' metrics: read again on any change."""
        self.follow()

    def follow(self) -> None:
        self.load()

    reload = follow

    def on_registry_loaded(self, message: RegistryLoaded) -> None:
        self.models, self.versions = message.models, message.versions
        for model_id, logged in message.logged.items():
            if model_id in self.logged and changed(self.logged[model_id], logged):
                self._forget_model(model_id)
        self.logged = message.logged
        if self.model_name is None and self.models:
            self.model_name = self.models[0].name
        self.query_one("#empty").display = not self.models
        self.query_one("#registry").display = bool(self.models)
        models = self.query_one("#models", DataTable)
        keep = models.cursor_row
        models.clear()
        for model in self.models:
            count = len([v for v in message.versions if v.name == model.name])
            stages = model.latest_by_stage
            models.add_row(
                Text(clean(model.name), style="bold"),
                str(count),
                f"v{stages['Production']}" if "Production" in stages else "-",
                f"v{stages['Staging']}" if "Staging" in stages else "-",
                self._model_aliases(model, message.versions),
                Text(clean(model.policy or "-")),
                key=model.name,
            )
        if self.models:
            models.move_cursor(row=min(keep, len(self.models) - 1))
        self._fill_versions(message.runs)
        if message.history is not None:
            self._fill_history(message.history)

    def _fill_versions(self, runs: dict[str, SourceRun]) -> None:
        table = self.query_one("#versions", DataTable)
        keep = table.cursor_row
        table.clear()
        mine = self._model_versions()
        for version in mine:
            logged = self._logged_model(version)
            run = runs.get(version_run_id(version, logged), DELETED_RUN)
            table.add_row(
                f"v{version.version}",
                stage_text(version.current_stage),
                aliases_text(version),
                version_source_text(run.name, version, logged),
                Text(clean(run.metrics)),
                timestamp(version.creation_timestamp),
                Text(clean(version.user_id)),
                key=str(version.version),
            )
        if mine:
            table.move_cursor(row=min(keep, len(mine) - 1))
        name = clean(self.model_name or "")
        caption = (
            f"History of {name}, newest first (h: the versions)"
            if self.show_history
            else f"Versions of {name} (enter: the run that produced it; h: history)"
        )
        self.query_one("#versions-caption", Static).update(caption if name else "")
        stray = archived_aliases(mine)
        warning = self.query_one("#alias-warning", Static)
        warning.display = bool(stray) and not self.show_history
        warning.update(
            Text(
                "⚠ "
                + "; ".join(f"alias {clean(a)} points at v{v}, which is Archived" for a, v in stray)
                + " (x removes an alias, a moves one)",
                style="bold yellow",
            )
        )
        self.refresh_bindings()
        self._show_model()

    # -- the model panel -------------------------------------------------------------------

    def _show_model(self) -> None:
        """The panel shows the model of the version under the cursor: read off the UI
        thread the first time, its files checked after."""
        panel = self.query_one(ModelPanel)
        version = None if self.show_history else self._current_version()
        panel.display = version is not None
        if version is None:
            return
        key = (version.name, version.version)
        if key != self._landed:
            self._landed = self._fresh = key
        model = self._model_read.get(key)
        if model is None or model.source != version.source:
            panel.reading(version)
            if self._model_reading != key:
                self._model_reading = key
                self._read_model(self.store, version)
            return
        checksums = checksums_known(model)
        if checksums is None and model.model_id is not None:
            if self._fresh == key and (model.quick_to_check or model.model_id in self._failed):
                self._forget(model.model_id)
            checksums = self._checked.get(model.model_id)
            if checksums is None:
                self._ask_check(model)
        if self._fresh == key:
            self._fresh = None
        panel.show(model, checksums)

    def _forget_model(self, model_id: str) -> None:
        """A logged model changed in the store (its status, tags, files recorded): read
        again, and checked again."""
        for key, read in list(self._model_read.items()):
            if read.model_id == model_id:
                del self._model_read[key]
        self._forget(model_id)

    def _forget(self, model_id: str) -> None:
        """The model's checksum state is checked again: by a new check (one running may
        have read the files before they changed: its result is dropped)."""
        self._checked.pop(model_id, None)
        self._failed.discard(model_id)
        self._wanted.pop(model_id, None)

    def action_recheck(self) -> None:
        """`r`: the registry read again, every model too, and the files of the one under
        the cursor checked again (others' when the cursor lands on them)."""
        self._model_read.clear()
        self._model_reading = None
        for model_id in list(self._checked) + list(self._wanted):
            self._forget(model_id)
        self._fresh = None
        self.load()
        self._show_model()

    @property
    def model_shown(self) -> bool:
        """The panel shows the model under the cursor whole: read, and its files checked
        (or nothing to show)."""
        version = None if self.show_history else self._current_version()
        if version is None:
            return True
        model = self._model_read.get((version.name, version.version))
        if model is None or model.source != version.source:
            return False
        return (
            checksums_known(model) is not None
            or model.model_id is None
            or model.model_id in self._checked
        )

    @store_work(group="registry-model", exclusive=True)
    def _read_model(store: TrackingStore, version: ModelVersion) -> ModelRead:
        return ModelRead(read_version_model(store, version))

    def on_model_read(self, message: ModelRead) -> None:
        model = message.model
        key = (model.name, model.version)
        self._model_read[key] = model
        if self._model_reading == key:
            self._model_reading = None
        self._show_model()

    def _ask_check(self, model: VersionModel) -> None:
        """Check a small model's files at once; a big one's when no other big one is
        being checked (the last asked for first). One check of a model at a time: while
        one runs, a newer one wanted waits for it (its result then dropped)."""
        model_id = model.model_id
        if model_id is None or model_id in self._checked:
            return
        if model_id not in self._wanted:
            self._checks += 1
            self._wanted[model_id] = self._checks
        number = self._wanted[model_id]
        if model.quick_to_check:
            if model_id not in self._hashing:
                self._hashing[model_id] = number
                self._check_model(self.store, model, number)
        elif self._checking is None or self._checking[0] != model_id:
            self._check_next = model
            self._next_check()

    def _next_check(self) -> None:
        """Check the model last asked for, unless a check is running (it is checked
        next) or it was checked already."""
        model = self._check_next
        if self._checking is not None or model is None or model.model_id is None:
            return
        self._check_next = None
        number = self._wanted.get(model.model_id)
        if number is not None and model.model_id not in self._checked:
            self._checking = (model.model_id, number)
            self._check_model(self.store, model, number)

    @store_work(group="registry-check")
    def _check_model(store: TrackingStore, model: VersionModel, number: int) -> ModelChecked:
        """Whatever the check fails with is its state, never "checking…" for good."""
        assert model.model_id is not None
        try:
            checksums = check_version_model(store, model)
        except Exception as error:
            bug = None if isinstance(error, CHECK_FAILURES) else error
            return ModelChecked(model.model_id, number, check_failed(error), True, bug)
        return ModelChecked(model.model_id, number, checksums)

    def on_model_checked(self, message: ModelChecked) -> None:
        model_id, number = message.model_id, message.number
        if self._hashing.get(model_id) == number:
            del self._hashing[model_id]
        if self._checking == (model_id, number):
            self._checking = None
        if self._wanted.get(model_id) == number:  # (else a newer check is wanted)
            self._checked[model_id] = message.checksums
            if message.failed:
                self._failed.add(model_id)
        if message.bug is not None:
            report(self.app, message.bug)
        self._show_model()
        self._next_check()

    def _model_aliases(self, model: RegisteredModel, versions: list[ModelVersion]) -> Text:
        """A model's aliases, alias→version; one on an Archived version marked ⚠."""
        archived = {
            v.version for v in versions if v.name == model.name and v.current_stage == "Archived"
        }
        text = Text()
        for i, (alias, version) in enumerate(sorted(model.aliases.items())):
            if i:
                text.append(", ")
            style = "bold yellow" if version in archived else ""
            text.append(f"{clean(alias)}→v{version}" + (" ⚠" if version in archived else ""), style)
        return text

    def _fill_history(self, records: list[TransitionRecord]) -> None:
        table = self.query_one("#history", DataTable)
        table.clear()
        table.add_rows([history_row(record) for record in reversed(records)])  # newest first

    # -- actions ---------------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#models")
    def _model_highlighted(self, event: DataTable.RowHighlighted) -> None:
        name = event.row_key.value if event.row_key is not None else None
        if name is not None and name != self.model_name:
            self.model_name = name
            self.load()

    @on(DataTable.RowHighlighted, "#versions")
    def _version_highlighted(self) -> None:
        self.refresh_bindings()  # `x` acts only on a version with an alias
        self._show_model()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer lists only the keys that act on what is shown: the version keys while
        the versions are shown and one is under the cursor (`x` if it has an alias), `b`
        while the model has a version in Production."""
        if action in ("move", "alias", "unalias", "no_alias"):
            version = None if self.show_history else self._current_version()
            if version is None:
                return False
            if action == "no_alias":
                return not version.aliases
            return action != "unalias" or bool(version.aliases)
        if action == "rollback":
            return any(
                v.name == self.model_name and v.current_stage == "Production" for v in self.versions
            )
        if action == "toggle_history":
            return self.model_name is not None
        return True

    @on(DataTable.RowSelected, "#versions")
    def _version_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a version: the run that produced it."""
        version = next(
            (
                v
                for v in self.versions
                if v.name == self.model_name and str(v.version) == event.row_key.value
            ),
            None,
        )
        if version is None:
            return
        run_id = version_run_id(version, self._logged_model(version))
        if not run_id:
            self.notify("no run is known to have produced this version", severity="warning")
            return
        from mltop.tui.screens.run_detail import RunDetailScreen

        self.app.push_screen(RunDetailScreen(self.store, run_id))

    def _logged_model(self, version: ModelVersion) -> LoggedModel | None:
        """The logged model the version was made from, if any (and still in the store)."""
        model_id = logged_model_id_of(version.source)
        return None if model_id is None else self.logged.get(model_id)

    def _model_versions(self) -> list[ModelVersion]:
        """The selected model's versions, newest first: the rows of the versions table."""
        mine = [v for v in self.versions if v.name == self.model_name]
        return sorted(mine, key=lambda v: -v.version)

    def _current_version(self) -> ModelVersion | None:
        table = self.query_one("#versions", DataTable)
        mine = self._model_versions()
        row = table.cursor_row
        return mine[row] if 0 <= row < len(mine) else None

    def action_move(self, stage: str) -> None:
        version = self._current_version()
        if version is None:
            self.notify("no version under the cursor", severity="warning")
            return
        self._ask(
            f"{version.name} v{version.version} → {stage}", version.name, version.version, stage
        )

    def action_rollback(self) -> None:
        if self.model_name is not None:
            self._ask(f"{self.model_name}: roll back Production", self.model_name, None, None)

    def _ask(self, what: str, name: str, version: int | None, stage: str | None) -> None:
        """The dialog opens at once (keys typed from now on are its text) and the move is
        planned meanwhile; `stage` None is a rollback."""
        self._asked += 1
        ask = self._asked

        def confirmed(comment: str, force: bool) -> None:
            assert dialog.plan is not None
            self._apply(self.store, ask, dialog.plan, stage, comment, force)

        def recheck() -> None:
            self._plan(self.store, ask, name, version, stage)

        dialog = TransitionDialog(what, confirmed, recheck)
        self._dialog = dialog
        self.app.push_screen(dialog)
        self._plan(self.store, ask, name, version, stage)

    def _dialog_for(self, ask: int) -> TransitionDialog | None:
        """The dialog of move `ask`; None for a move asked before the last."""
        return self._dialog if ask == self._asked else None

    @store_work(group="registry-plan", exclusive=True)
    def _plan(
        store: TrackingStore, ask: int, name: str, version: int | None, stage: str | None
    ) -> MovePlanned | MoveNotPlanned:
        registry = store.registry
        try:
            plan = (
                registry.plan_rollback(name)
                if stage is None
                else registry.plan_transition(name, version, stage)
            )
        except MltopError as error:
            return MoveNotPlanned(ask, error)
        return MovePlanned(ask, plan)

    def on_move_planned(self, message: MovePlanned) -> None:
        dialog = self._dialog_for(message.ask)
        if dialog is not None:
            dialog.show_plan(message.plan)

    def on_move_not_planned(self, message: MoveNotPlanned) -> None:
        """Nothing to ask about: said, and the dialog closed. The store not answering is
        no answer: the dialog says so and stays, to check again or be cancelled."""
        dialog = self._dialog_for(message.ask)
        if dialog is not None:
            if isinstance(message.error, StoreError):
                dialog.unchecked(str(message.error))
            else:
                self._close(dialog)
        report(self.app, message.error)

    def _close(self, dialog: TransitionDialog) -> None:
        if dialog.is_attached:
            dialog.dismiss(None)

    @store_work(group="registry-apply")
    def _apply(
        store: TrackingStore,
        ask: int,
        plan: TransitionPlan,
        stage: str | None,
        comment: str,
        force: bool,
    ) -> MoveMade | MoveRefused | MoveFailed:
        """Make the move confirmed; refused, or changed meanwhile, the dialog says why and
        nothing changes (a store problem is also marked in the header)."""
        registry = store.registry
        try:
            if stage is None:
                done = registry.rollback(plan.name, comment, expected=plan)
            else:
                done = registry.transition(
                    plan.name, plan.version, stage, comment, force=force, expected=plan
                )
        except PlanChangedError as exc:
            # Changed while the user read it: the dialog shows the move as it is now, to be
            # confirmed again (or cancelled); nothing was done.
            why = "the registry changed meanwhile (above: the move now); confirm again to make it"
            return MoveRefused(ask, why, exc.plan)
        except StoreError as exc:
            return MoveFailed(ask, exc)
        except MltopError as exc:
            # Refused as the registry is now (the version moved or went meanwhile): the
            # dialog shows what a move would do now, or that none can be made.
            now: TransitionPlan | None = None
            with contextlib.suppress(MltopError):
                now = (
                    registry.plan_rollback(plan.name)
                    if stage is None
                    else registry.plan_transition(plan.name, plan.version, stage)
                )
            return MoveRefused(ask, str(exc), now)
        return MoveMade(ask, done)

    def on_move_made(self, message: MoveMade) -> None:
        dialog = self._dialog_for(message.ask)
        if dialog is not None:
            self._close(dialog)
        self.notify("done: " + clean(message.done.describe(done=True)), markup=False)
        self.load()

    def on_move_refused(self, message: MoveRefused) -> None:
        dialog = self._dialog_for(message.ask)
        if dialog is not None:
            if message.now is None:
                dialog.no_move()
            else:
                dialog.show_plan(message.now)
            dialog.failed(message.why)
        self.load()

    def on_move_failed(self, message: MoveFailed) -> None:
        dialog = self._dialog_for(message.ask)
        if dialog is not None:
            dialog.failed(str(message.error))
        report(self.app, message.error)

    def action_alias(self) -> None:
        version = self._current_version()
        if version is None:
            self.notify("no version under the cursor", severity="warning")
            return

        def answered(alias: str | None) -> None:
            if alias:
                self._set_alias(self.store, version.name, alias, version.version)

        self.app.push_screen(AliasDialog(version.name, version.version), answered)

    @store_work(group="registry-apply", loud=True)
    def _set_alias(store: TrackingStore, name: str, alias: str, version: int) -> AliasSet:
        store.registry.set_alias(name, alias, version)
        return AliasSet()

    def on_alias_set(self, message: AliasSet) -> None:
        self.load()

    def action_unalias(self) -> None:
        """`x`: remove one of the version's aliases, once confirmed (logged, with who)."""
        version = self._current_version()
        if version is None or not version.aliases:
            self.notify("no alias on the version under the cursor", severity="warning")
            return

        def answered(alias: str | None) -> None:
            if alias:
                self._remove_alias(self.store, version.name, alias, version.version)

        self.app.push_screen(
            UnaliasDialog(version.name, version.version, version.current_stage, version.aliases),
            answered,
        )

    def action_no_alias(self) -> None:
        version = self._current_version()
        if version is not None:
            self.notify(
                f"{clean(version.name)} v{version.version} has no alias to remove "
                "(a points one at it)",
                severity="warning",
                markup=False,
            )

    @store_work(group="registry-apply", loud=True)
    def _remove_alias(store: TrackingStore, name: str, alias: str, version: int) -> AliasRemoved:
        store.registry.delete_alias(name, alias)
        return AliasRemoved(name, alias, version)

    def on_alias_removed(self, message: AliasRemoved) -> None:
        self.notify(
            f"done: alias {clean(message.alias)} removed from {clean(message.name)} "
            f"v{message.version}",
            markup=False,
        )
        self.load()

    def action_toggle_history(self) -> None:
        self.show_history = not self.show_history

    def watch_show_history(self, shown: bool) -> None:
        history = self.query_one("#history")
        history.set_class(shown, "shown")
        self.query_one("#versions").display = not shown
        if shown:
            self.query_one("#alias-warning").display = False
            history.focus()
        self.refresh_bindings()
        self._show_model()
        self.load()
