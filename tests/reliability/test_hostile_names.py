"""Text is data, never markup, actions or terminal control (issue 11).

A store whose every user-given string is hostile (experiment, run and model names, param,
tag and metric keys and values, aliases, comments, policies, artifact names and contents,
the user's name, the store's own path), shown on every screen, list, dialog and toast of
the dashboard: each string appears literally (as `clean` shows it: control characters and
bidi overrides made visible), nothing drawn carries an action or a link, no control
character reaches the terminal, and clicking on the text does nothing. What is on screen
is read from the compositor, the way the terminal gets it.
"""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import pytest
from rich.cells import cell_len
from test_dashboard import NOW, loaded, settle, sync, type_filter
from textual import events
from textual.strip import Strip
from textual.widgets import DataTable, Input, OptionList, Static, TextArea, Tree

from mltop.store import MltopClient, NotFoundError, Store, ValidationError
from mltop.store.registry import validate_alias
from mltop.store.sqlite.errors import store_error
from mltop.tui import app as app_module
from mltop.tui.app import MltopApp
from mltop.tui.screens.compare import CompareChart, CompareScreen
from mltop.tui.screens.dialogs import AliasDialog, TransitionDialog
from mltop.tui.screens.help import HelpScreen
from mltop.tui.screens.registry import RegistryScreen
from mltop.tui.screens.run_detail import ChooseMetrics, RunDetailScreen
from mltop.tui.text import clean, clean_text
from mltop.tui.widgets.metric_chart import MetricChart
from mltop.tui.widgets.runs_table import RunsTable

SHOTS = "shots"  # where the screenshot actions below would write (the tests run in tmp_path)

MARKUP = "[bold red]x[/]"
LINK = "[link=https://evil.example]y[/link]"
SHOT = f"[@click=app.screenshot('f','{SHOTS}')]c[/]"
QUIT = "[@click=app.quit]quit[/]"
OPEN = "[b] $variable {braces}"  # a tag never closed; what templates would substitute
CONTROLS = "\x1b[2J\x9b31m\u202eevil [/b]"  # an escape, a C1 CSI, an RTL override; a stray close
RUN_NAMES = [MARKUP, LINK, SHOT, QUIT, OPEN, CONTROLS]  # newest first, as the table lists them

EXPERIMENTS = ["[@click=app.quit]q[/]", "[i]\u202eevil $v {b}"]
USER = "[@click=app.quit]u[/]\u202e"
STORE_DIR = "[@click=app.quit]q[/]\x1b[2J\u202e"  # the store's path is the user's text too
# Keys follow MLflow's rules (letters, digits, `_-./ :`): Rich's emoji codes are what fits.
METRIC = "acc:warning:"
PARAM = "opt:smile:"
PARAM_VALUE = f"{MARKUP}\x9b31m"
NOTE = f"{QUIT} \x1b]0;retitled\x07"  # an OSC sequence that would retitle the terminal
# Model names may not hold '/' or ':': tags left open, which markup would apply to the end.
MODEL = "[@click=app.quit]res[b]net \u202eevil\x1b[2J $v {b}"
OTHER_MODEL = f"[@click=app.screenshot('f','{SHOTS}')]m [link=evil]"
POLICY = f"tags.note = '{QUIT}\x1b[2J'"
COMMENT = f"{SHOT} \x1b[2J"
TYPED_COMMENT = f"{LINK} {OPEN}"
TYPED_ALIAS = QUIT
FOLDER = "[bold red]d"
FILE = "[@click=app.quit]quit \x1b[2J\u202eevil.txt"
FILE_TEXT = f"{QUIT}\n{LINK}\n\x1b[2J\x9b31m\u202eevil\n"

# What must never reach the terminal: C0 and C1 controls, DEL, bidi overrides and isolates.
CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / STORE_DIR


@pytest.fixture
def hostile(store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store, written through the public API. (Version descriptions are not shown by
    the dashboard; they are hostile all the same.)"""
    monkeypatch.setenv("MLTOP_USER", USER)
    (tmp_path / SHOTS).mkdir()
    client = MltopClient(Store(store_path))
    experiments = [client.create_experiment(name) for name in EXPERIMENTS]
    ids: dict[str, str] = {}
    for i, name in enumerate(RUN_NAMES):
        run = client.create_run(
            experiments[i // 3],
            run_name=name,
            start_time=NOW - (i + 1) * 60_000,
            status="FINISHED",
            tags={"note": NOTE, "mltop.host": LINK, "mltop.source.command": SHOT + "\x1b[2J"},
            parent_run_id=ids[MARKUP] if name == QUIT else None,
            log_system_info=False,
        )
        run_id = run.info.run_id
        client.log_params(run_id, {PARAM: PARAM_VALUE})
        client.log_metric(run_id, METRIC, 0.5 + i / 10, step=0)
        client.log_metric(run_id, METRIC, 0.6 + i / 10, step=1)
        ids[name] = run_id
    client.log_text(ids[QUIT], FILE_TEXT, FILE)
    client.log_text(ids[QUIT], "inside", f"{FOLDER}/inner.txt")
    client.flush()
    registry = client.store.registry
    registry.create_model_version(MODEL, f"runs:/{ids[MARKUP]}/model", description=LINK)
    registry.create_model_version(MODEL, f"runs:/{ids[QUIT]}/model", description=CONTROLS)
    registry.create_model_version(OTHER_MODEL, f"runs:/{ids[SHOT]}/model", description=QUIT)
    registry.transition(MODEL, 1, "Production", COMMENT, user=USER)
    registry.transition(MODEL, 2, "Staging", NOTE, user=SHOT)
    registry.set_alias(MODEL, "champion", 1, user=LINK)
    registry.set_policy(MODEL, POLICY)
    client.close()


SIZE = (120, 40)
WIDE = (200, 40)  # the registry's tables, whole: names, policies and history rows are long


def app_for(store_path: Path) -> MltopApp:
    return MltopApp(store_path, follow=False, clock=lambda: NOW)


# -- what the terminal gets ----------------------------------------------------------------


def drawn(app: MltopApp) -> list[Strip]:
    """The current screen as the terminal gets it, a strip a line (toasts included)."""
    return app.screen._compositor.render_strips()


def lines(app: MltopApp) -> list[str]:
    return ["".join(segment.text for segment in strip) for strip in drawn(app)]


def on_screen(app: MltopApp, *texts: str) -> bool:
    """Whether each text is on screen literally, as `clean` shows it."""
    screen = lines(app)
    return all(any(clean(text) in line for line in screen) for text in texts)


def assert_shown(app: MltopApp, *texts: str) -> None:
    """Each text is on screen literally; nothing drawn acts when clicked (an action in its
    style), links anywhere, or is a control character."""
    strips = drawn(app)
    screen = ["".join(segment.text for segment in strip) for strip in strips]
    for text in texts:
        shown = clean(text)
        assert any(shown in line for line in screen), f"{shown!r} is not on screen:\n" + "\n".join(
            screen
        )
    acting = [
        (segment.text, segment.style.link or segment.style.meta["@click"])
        for strip in strips
        for segment in strip
        if segment.style is not None and (segment.style.link or "@click" in segment.style.meta)
    ]
    assert not acting
    controls = [line for line in screen if CONTROL_CHARACTER.search(line)]
    assert not controls, controls


async def until_shown(pilot, app: MltopApp, *texts: str) -> None:
    """Wait until every text is on screen, then check the screen."""
    try:
        await settle(pilot, lambda: on_screen(app, *texts), tries=250)
    finally:
        assert_shown(app, *texts)


async def click_on(pilot, app: MltopApp, *texts: str) -> None:
    """Click in the middle of where each text is drawn."""
    for text in texts:
        shown = clean(text)
        spot = next(((y, line) for y, line in enumerate(lines(app)) if shown in line), None)
        assert spot is not None, f"{shown!r} is not on screen"
        y, line = spot
        x = cell_len(line[: line.index(shown)]) + cell_len(shown) // 2
        await pilot.click(offset=(x, y))


async def assert_nothing_acted(pilot, app: MltopApp) -> None:
    """No click so far ran an action. The control: a click on real markup does act (the
    same screenshot action, into the same folder), and its file is the only one there."""
    control = Static(f"[@click=app.screenshot('control.svg','{SHOTS}')]CONTROL[/]")
    control.styles.dock = "top"
    await app.screen.mount(control)
    await settle(pilot, lambda: on_screen(app, "CONTROL"))
    await click_on(pilot, app, "CONTROL")
    made = Path(SHOTS) / "control.svg"
    await settle(pilot, lambda: made.exists() and said(app, "Saved screenshot"))
    app.clear_notifications()  # Textual's own toast for it: out of the way of what follows
    assert os.listdir(SHOTS) == ["control.svg"]  # no screenshot but the control's
    made.unlink()
    await control.remove()
    assert app.is_running and app.return_code is None  # nothing quit


def cells(table: DataTable) -> list[str]:
    return [str(cell) for row in range(table.row_count) for cell in table.get_row_at(row)]


def toasts(app: MltopApp) -> list[str]:
    """The text of each toast on screen, as its widget renders it."""
    return [str(toast.render()) for toast in app.screen.query("Toast")]


def said(app: MltopApp, text: str) -> bool:
    """A toast on screen shows `text` literally."""
    return any(clean(text) in shown for shown in toasts(app))


# -- the runs screen -------------------------------------------------------------------------


@sync
async def test_the_runs_screen_shows_every_name_literally(hostile, store_path, monkeypatch):
    app = app_for(store_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await loaded(pilot, app, len(RUN_NAMES))
        screen = app.screen
        runs_table = screen.query_one(RunsTable)
        assert [r.info.run_name for r in runs_table.runs] == RUN_NAMES
        # The table's cells and column labels, and the experiments list, as data...
        table = runs_table.table
        for row, name in enumerate(RUN_NAMES):
            assert clean(name) in table.get_row_at(row)
            assert clean(PARAM_VALUE) in table.get_row_at(row)
        labels = [column.label for column in runs_table.columns]
        assert METRIC in labels and PARAM in labels
        listing = screen.query_one("#experiments", OptionList)
        prompts = [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]
        assert [f"{clean(name)} (3)" for name in EXPERIMENTS] == prompts[-2:]
        # ...and as drawn. The header holds the store's path (its end cut to the width).
        assert app.sub_title == clean(store_path)
        assert clean(store_path) in str(screen.query_one("HeaderTitle").render())
        assert_shown(app, *RUN_NAMES, *EXPERIMENTS)  # each name twice: list and column
        await click_on(pilot, app, *RUN_NAMES)
        await pilot.click("HeaderTitle")
        # The metrics, right of the experiment column: as far as the cursor goes.
        table.move_cursor(column=labels.index(METRIC))
        await until_shown(pilot, app, METRIC)
        assert_shown(app, METRIC)
        table.move_cursor(column=labels.index(PARAM))  # the params, further right
        await until_shown(pilot, app, PARAM, PARAM_VALUE)
        await click_on(pilot, app, PARAM_VALUE)
        await assert_nothing_acted(pilot, app)

        # Pasted into the filter box: control characters are refused (the box shows its
        # text as it is); markup is taken as text, and the error under the filter that
        # does not parse shows it literally.
        box = screen.query_one("#filter", Input)
        await pilot.press("slash")
        bad = f"params.`{PARAM}` = '{OPEN}' AND {QUIT}"
        box.post_message(events.Paste(f"tags.note = '{CONTROLS}'"))
        box.post_message(events.Paste(bad))
        await settle(pilot, lambda: box.value == bad)
        assert_shown(app, bad)
        await pilot.press("enter")
        error = screen.query_one("#filter-error", Static)
        await settle(pilot, lambda: error.has_class("shown"))
        assert clean(bad) in str(error.render()).splitlines()
        assert_shown(app, bad)
        await click_on(pilot, app, bad)
        await assert_nothing_acted(pilot, app)

        # The store fails as the next filter is checked: the error toast names its path.
        def busy(*args: object, **kwargs: object) -> None:
            raise store_error(sqlite3.OperationalError("database is locked"), store_path)

        with monkeypatch.context() as patch:
            patch.setattr(Store, "search_run_rows", busy)
            await type_filter(pilot, app, "params.opt = 'adam'")
            await settle(pilot, lambda: said(app, STORE_DIR))
        assert_shown(app)
        await click_on(pilot, app, "is busy")  # on the toast: it goes, as toasts do
        await settle(pilot, lambda: not toasts(app))
        await assert_nothing_acted(pilot, app)

        # The help, over the runs.
        await pilot.press("escape", "question_mark")
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert_shown(app, "Keys: runs")
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is screen)

        # Last, the experiments: a click chooses one, and shows its runs, literally.
        await click_on(pilot, app, EXPERIMENTS[1])
        await settle(pilot, lambda: len(runs_table.runs) == 3)
        assert_shown(app, *EXPERIMENTS, *RUN_NAMES[3:])
        await assert_nothing_acted(pilot, app)


# -- the run detail ----------------------------------------------------------------------------


async def open_run(pilot, app: MltopApp, row: int) -> RunDetailScreen:
    await loaded(pilot, app, len(RUN_NAMES))
    app.screen.query_one(RunsTable).table.move_cursor(row=row)
    await pilot.press("enter")
    await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.run)
    screen = app.screen
    assert isinstance(screen, RunDetailScreen)
    await settle(pilot, lambda: [chart.drawn for chart in screen.query(MetricChart)] == [2])
    return screen


@sync
async def test_the_run_detail_shows_every_value_literally(hostile, store_path):
    app = app_for(store_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_run(pilot, app, RUN_NAMES.index(QUIT))
        summary = str(screen.query_one("#summary", Static).render())
        for text in (QUIT, USER, LINK, SHOT + "\x1b[2J", f"parent {MARKUP}"):
            assert clean(text) in summary
        # The summary and the chart (its title is the metric's key).
        await until_shown(pilot, app, QUIT, USER, METRIC)
        await click_on(pilot, app, QUIT, USER, METRIC)
        await assert_nothing_acted(pilot, app)

        for tab, table_id, texts in (
            ("params-tab", "#params", [PARAM, PARAM_VALUE]),
            ("metrics-tab", "#metrics", [METRIC]),
            ("tags-tab", "#tags", ["note", NOTE, LINK, SHOT + "\x1b[2J"]),
        ):
            await pilot.click(f"#--content-tab-{tab}")
            table = screen.query_one(table_id, DataTable)
            await until_shown(pilot, app, *texts)
            assert all(clean(text) in cells(table) for text in texts)
            await click_on(pilot, app, *texts)
        await assert_nothing_acted(pilot, app)

        # The artifacts: the tree, and the file's heading and text in the preview.
        await pilot.click("#--content-tab-artifacts-tab")
        await settle(pilot, lambda: bool(screen.query("#artifact-tree")))
        tree = screen.query_one("#artifact-tree", Tree)
        await settle(pilot, lambda: len(tree.root.children) == 2)
        labels = [str(node.label) for node in tree.root.children]
        assert f"{clean(FOLDER)}/" in labels
        assert any(label.startswith(clean(FILE)) for label in labels)
        tree.move_cursor(next(n for n in tree.root.children if str(n.label).startswith("[@")))
        preview = screen.query_one(TextArea)
        await settle(pilot, lambda: preview.text == clean_text(FILE_TEXT))
        heading = screen.query_one("#preview-heading", Static)
        assert str(heading.render()).startswith(clean(FILE))
        shown = [QUIT, LINK, "\x1b[2J\x9b31m\u202eevil"]  # the file's lines
        await until_shown(pilot, app, f"{FOLDER}/", FILE, *shown)
        await click_on(pilot, app, FILE, *shown)
        await assert_nothing_acted(pilot, app)

        # `m`: the metrics to chart, listed by key.
        await pilot.click("#--content-tab-charts-tab")
        await pilot.press("m")
        await settle(pilot, lambda: isinstance(app.screen, ChooseMetrics))
        await until_shown(pilot, app, "Metrics to chart", METRIC)
        await click_on(pilot, app, METRIC)
        await assert_nothing_acted(pilot, app)
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is screen)


# -- compare -----------------------------------------------------------------------------------


@sync
async def test_compare_shows_every_name_literally(hostile, store_path):
    compared = [MARKUP, QUIT, CONTROLS]
    app = app_for(store_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await loaded(pilot, app, len(RUN_NAMES))
        table = app.screen.query_one(RunsTable).table
        for name in compared:
            table.move_cursor(row=RUN_NAMES.index(name))
            await pilot.press("space")
        await pilot.press("c")
        await settle(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.shown_rows)
        screen = app.screen
        labels = [str(column.label) for column in screen.query_one(DataTable).columns.values()]
        assert labels == ["run", *(clean(name) for name in compared)]
        assert_shown(app, *compared, f"params.{PARAM}", PARAM_VALUE, f"metrics.{METRIC}", USER)
        await click_on(pilot, app, *compared, PARAM_VALUE, USER)
        await assert_nothing_acted(pilot, app)

        # The charts: the metric's key over the chart, each run's name in the legend.
        await pilot.press("2")
        await settle(pilot, lambda: [len(c.lines) for c in screen.query(CompareChart)] == [3])
        legend = [clean(name)[:24] for name in compared]
        await until_shown(pilot, app, METRIC, *legend)
        await click_on(pilot, app, METRIC, *legend)
        await assert_nothing_acted(pilot, app)


# -- the registry, its dialogs and its toasts ----------------------------------------------------


async def open_registry(pilot, app: MltopApp) -> RegistryScreen:
    await loaded(pilot, app, len(RUN_NAMES))
    await pilot.press("r")
    await settle(pilot, lambda: isinstance(app.screen, RegistryScreen) and app.screen.versions)
    screen = app.screen
    assert isinstance(screen, RegistryScreen)
    await settle(pilot, lambda: screen.query_one("#versions", DataTable).row_count == 2)
    return screen


async def choose(pilot, screen: RegistryScreen, version: int) -> None:
    versions = screen.query_one("#versions", DataTable)
    versions.focus()
    versions.move_cursor(row=[key.value for key in versions.rows].index(str(version)))
    await pilot.pause(0.05)


@sync
async def test_the_registry_its_dialogs_and_toasts_show_every_name_literally(hostile, store_path):
    app = app_for(store_path)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        screen = await open_registry(pilot, app)
        assert screen.model_name == MODEL
        models = cells(screen.query_one("#models", DataTable))
        assert clean(MODEL) in models and clean(OTHER_MODEL) in models
        assert clean(POLICY) in models
        # The models, the versions (source runs, who made them) and the caption.
        assert_shown(app, MODEL, OTHER_MODEL, POLICY, MARKUP, QUIT, USER, METRIC)
        assert_shown(app, f"Versions of {MODEL} (enter: the run that produced it; h: history)")
        await click_on(pilot, app, OTHER_MODEL, POLICY, MODEL)
        await assert_nothing_acted(pilot, app)

        # The history: who, the move (aliases too), the comments.
        await pilot.press("h")
        history = screen.query_one("#history", DataTable)
        await settle(pilot, lambda: history.row_count == 3 and on_screen(app, COMMENT))
        assert clean(COMMENT) in cells(history) and clean(NOTE) in cells(history)
        assert_shown(app, f"History of {MODEL}", USER, SHOT, LINK, COMMENT, NOTE)
        await click_on(pilot, app, USER, SHOT, LINK, COMMENT, NOTE)
        await assert_nothing_acted(pilot, app)
        await pilot.press("h")
        await settle(pilot, lambda: screen.query_one("#versions").display)

        # The move dialog: the plan, and the policy it fails, with the run's actual value.
        await choose(pilot, screen, 2)
        await pilot.press("P")
        await settle(pilot, lambda: isinstance(app.screen, TransitionDialog) and app.screen.plan)
        dialog = app.screen
        plan = str(dialog.query_one("#plan", Static).render())
        assert f"{clean(MODEL)} v2: Staging → Production" in plan
        assert f'policy "{clean(POLICY)}" FAILS:' in plan  # in quotes, as it was written
        assert f"FAIL  {clean(POLICY)}   (actual: {clean(NOTE)})" in plan
        assert_shown(app, f"{MODEL} v2: Staging", POLICY, NOTE)
        await click_on(pilot, app, MODEL, POLICY, NOTE)
        await assert_nothing_acted(pilot, app)
        # Forced with a comment: done, and the toast says so with the model's name.
        comment = dialog.query_one("#comment", Input)
        comment.post_message(events.Paste(f"{SHOT}\x1b[2J"))  # refused: control characters
        comment.post_message(events.Paste(TYPED_COMMENT))
        await settle(pilot, lambda: comment.value == TYPED_COMMENT)
        assert_shown(app, TYPED_COMMENT)
        await pilot.press("enter")
        done = f"done: {MODEL} v2: Staging → Production; v1 (Production) archived"
        await settle(pilot, lambda: app.screen is screen and said(app, done))
        assert any(n.message == clean(done) for n in app._notifications)
        await until_shown(pilot, app, "done: ")
        await click_on(pilot, app, "done: ")  # on the toast: it goes, as toasts do
        await settle(pilot, lambda: not toasts(app))
        await assert_nothing_acted(pilot, app)
        await pilot.press("h")
        await until_shown(pilot, app, TYPED_COMMENT, USER)
        await pilot.press("h")

        # The alias dialog: the model's name, and a refused alias said literally.
        await settle(pilot, lambda: screen.query_one("#versions").display)
        await choose(pilot, screen, 2)
        await pilot.press("a")
        await settle(pilot, lambda: isinstance(app.screen, AliasDialog))
        dialog = app.screen
        alias = dialog.query_one("#alias", Input)
        alias.post_message(events.Paste(TYPED_ALIAS))
        await settle(pilot, lambda: alias.value == TYPED_ALIAS)
        await pilot.press("enter")
        with pytest.raises(ValidationError) as refused:
            validate_alias(TYPED_ALIAS)
        problem = dialog.query_one("#problem", Static)
        await settle(pilot, lambda: clean(refused.value) in str(problem.render()))
        assert_shown(app, f"Alias for {MODEL} v2", TYPED_ALIAS)
        await click_on(pilot, app, MODEL, TYPED_ALIAS)
        await assert_nothing_acted(pilot, app)
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is screen)


@sync
async def test_error_toasts_show_names_and_paths_literally(hostile, store_path, monkeypatch):
    monkeypatch.setattr(app_module, "DASHBOARD_BUSY_TIMEOUT", 0.3)
    app = app_for(store_path)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        screen = await open_registry(pilot, app)
        # A version deleted elsewhere meanwhile: the move cannot be planned; the toast
        # names the model.
        with Store(store_path) as other:
            other.registry.delete_model_version(MODEL, 1)
            with pytest.raises(NotFoundError) as gone:
                other.registry.plan_transition(MODEL, 1, "Archived")
        assert repr(MODEL) in str(gone.value)
        await choose(pilot, screen, 1)
        await pilot.press("A")
        await settle(pilot, lambda: app.screen is screen and said(app, str(gone.value)))
        assert_shown(app)
        await click_on(pilot, app, "has no version")
        await settle(pilot, lambda: not toasts(app))
        await assert_nothing_acted(pilot, app)

        # The store busy as a move is made: the dialog and the toast name the store's path,
        # and so does the toast saying it works again.
        await choose(pilot, screen, 2)
        lock = sqlite3.connect(store_path / "mltop.db", isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
        try:
            await pilot.press("A")
            await settle(
                pilot, lambda: isinstance(app.screen, TransitionDialog) and app.screen.plan
            )
            dialog = app.screen
            await pilot.press("enter")
            problem = dialog.query_one("#problem", Static)
            await settle(pilot, lambda: "is busy" in str(problem.render()))
            assert f"not done: the store at {clean(store_path)} is busy" in str(problem.render())
            await settle(pilot, lambda: said(app, f"the store at {store_path} is busy"))
            assert app.sub_title == f"{clean(store_path)}  ⚠ store busy"
            assert_shown(app, STORE_DIR)
            await click_on(pilot, app, STORE_DIR, "is busy")
            await assert_nothing_acted(pilot, app)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        await settle(pilot, lambda: said(app, f"the store at {store_path} works again"))
        assert_shown(app)
        await assert_nothing_acted(pilot, app)
