"""The registry's model panel: the model of the version under the cursor (flavors,
signature, files, checksum state), read and checked off the UI thread; and the checksum
state of a run's logged models in the run detail's Models tab."""

from __future__ import annotations

import itertools
import shutil
import threading
import uuid
from pathlib import Path

import pytest
from test_dashboard import settle, sync
from test_snapshots import NOW, fixed_store, make_app, model_shown, wait_loaded  # noqa: F401
from textual.widgets import DataTable, TabbedContent

from mltop.store import Store
from mltop.tui.present import (
    MAX_SHOWN_COLUMNS,
    Checksums,
    Column,
    VersionModel,
    columns_text,
    version_model_text,
)
from mltop.tui.screens.help import bindings_of
from mltop.tui.screens.registry import RegistryScreen
from mltop.tui.screens.run_detail import RunDetailScreen
from mltop.tui.text import file_size
from mltop.tui.widgets.model_panel import ModelPanel

HOSTILE_COLUMN = "[bold]x[/] [@click=app.quit]"
MLMODEL = f"""\
flavors:
  python_function:
    loader_module: mlflow.sklearn
    model_path: model.pkl
  sklearn:
    pickled_model: model.pkl
    serialization_format: cloudpickle
signature:
  inputs: '[{{"type": "double", "name": "mean_red", "required": true}}, {{"type": "long",
    "name": "pixels", "required": true}}, {{"type": "string", "name": "{HOSTILE_COLUMN}",
    "required": false}}]'
  outputs: '[{{"type": "string", "required": true}}]'
"""
UNSIGNED = "flavors:\n  python_function:\n    loader_module: mltop.models.pyfunc\n"
WEIGHTS = 3000


def model_files(folder: Path, mlmodel: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.pkl").write_bytes(b"\1" * WEIGHTS)
    (folder / "requirements.txt").write_text("scikit-learn==1.5.2\n")
    (folder / "MLmodel").write_text(mlmodel)


@pytest.fixture
def model_store(fixed_store):  # noqa: F811
    """The fixed store with a registered model `clf` whose versions' models are: v1 as
    logged (Production), v2 with model.pkl changed since, v3 with its MLmodel deleted, v4
    with its folder gone, v5 a folder among a run's artifacts (no checksums) with no
    signature; fixed ids and times."""
    from mltop.store.sqlite import registry as registry_module

    patch = pytest.MonkeyPatch()
    patch.setattr(registry_module, "now_ms", lambda: NOW - 600_000)
    ids = (uuid.UUID(int=n << 108) for n in itertools.count(0xD0DE1))
    patch.setattr(uuid, "uuid4", lambda: next(ids))
    with Store(fixed_store) as store:
        runs = {r.info.run_name: r.info.run_id for r in store.search_runs()}
        run = runs["resnet-lr0.1"]
        registry = store.registry
        folders = []
        for name in ("as-logged", "changed", "no-mlmodel", "gone"):
            model = store.create_logged_model(None, name, run)
            folder = Path(model.artifact_location)
            model_files(folder, MLMODEL)
            store.logged_models.finalize(model.model_id, "READY")
            registry.create_model_version("clf", model.model_uri, run_id=run)
            folders.append(folder)
        (folders[1] / "model.pkl").write_bytes(b"\2" * WEIGHTS)
        (folders[2] / "MLmodel").unlink()
        shutil.rmtree(folders[3])
        model_files(Path(store.get_run(run).info.artifact_uri) / "model", UNSIGNED)
        registry.create_model_version("clf", f"runs:/{run}/model", run_id=run)
        registry.transition("clf", 1, "Production", "first release", user="ana")
    patch.undo()
    return fixed_store


async def open_models(pilot, version: int = 1) -> RegistryScreen:
    await wait_loaded(pilot)
    await pilot.press("r")
    app = pilot.app
    await settle(
        pilot,
        lambda: (
            isinstance(app.screen, RegistryScreen)
            and app.screen.query_one("#versions", DataTable).row_count == 5
        ),
    )
    screen = app.screen
    versions = screen.query_one("#versions", DataTable)
    versions.focus()
    versions.move_cursor(row=[k.value for k in versions.rows].index(str(version)))
    await model_shown(pilot)
    return screen


def panel(screen) -> str:
    """The panel's lines under its caption, as text."""
    return screen.query_one(ModelPanel).text.plain.split("\n", 1)[1]


def caption(screen) -> str:
    return screen.query_one(ModelPanel).text.plain.split("\n", 1)[0]


# -- the registry's panel ------------------------------------------------------------------


@sync
async def test_the_panel_shows_each_versions_model_and_its_checksum_state(model_store):
    app = make_app(model_store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_models(pilot, 1)
        with Store(model_store) as store:
            run = next(r for r in store.search_runs() if r.info.run_name == "resnet-lr0.1")
            logged = {m.name: m for m in store.logged_models_of_run(run.info.run_id)}
        assert caption(screen) == f"Model of clf v1 ({logged['as-logged'].model_id[:10]})"
        lines = panel(screen).splitlines()
        assert lines[0].split() == ["flavors", "sklearn,", "pyfunc"]
        assert lines[1].startswith("files      3 files, ")
        assert lines[2] == "checksums  ✓ 3 files as logged"
        assert lines[3] == (
            f"inputs     mean_red double, pixels long, {HOSTILE_COLUMN} string (optional)"
        )
        assert lines[4] == "outputs    string"
        expected = {
            2: "checksums  ⚠ changed: model.pkl",
            3: "checksums  ⚠ missing: MLmodel",
            4: "checksums  ⚠ folder missing",
            5: "checksums  no checksums recorded",
        }
        for version, state in expected.items():
            await pilot.press("k")  # newest first: up is the next version
            await model_shown(pilot)
            assert caption(screen).startswith(f"Model of clf v{version}")
            assert state in panel(screen).splitlines()
        await pilot.press("k")  # (the top: stays on v5)
        assert "model      not a model folder" not in panel(screen)
        assert panel(screen).splitlines()[0:3] == [
            "flavors    pyfunc",
            f"files      3 files, {file_size(WEIGHTS + 20 + len(UNSIGNED))}",
            "checksums  no checksums recorded",
        ]
        assert "inputs     no signature" in panel(screen).splitlines()
        await pilot.press("j")  # v4: its folder gone
        await model_shown(pilot)
        assert panel(screen).splitlines() == [
            f"folder     {logged['gone'].artifact_location}",
            "checksums  ⚠ folder missing",
        ]
        await pilot.press("j")  # v3: its MLmodel deleted
        await model_shown(pilot)
        assert panel(screen).splitlines()[0] == "model      not a model folder (no MLmodel)"


@sync
async def test_enter_on_a_version_still_opens_its_source_run(model_store):
    app = make_app(model_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_models(pilot, 2)
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        with Store(model_store) as store:
            runs = {r.info.run_name: r.info.run_id for r in store.search_runs()}
        assert app.screen.run_id == runs["resnet-lr0.1"]


@pytest.fixture
def slow_hashing(monkeypatch):
    """Hashing a model's files waits until `release` is set; `threads`: who hashed;
    `hashed`: the logged models hashed (their names), in order."""
    from mltop.models import uri

    release = threading.Event()
    threads: list[threading.Thread] = []
    hashed: list[str] = []
    real = uri.integrity

    def slow(store, model):
        threads.append(threading.current_thread())
        hashed.append(model.name)
        assert release.wait(30)
        return real(store, model)

    monkeypatch.setattr(uri, "integrity", slow)
    yield release, threads, hashed
    release.set()


async def registry_at_v1(pilot) -> RegistryScreen:
    await wait_loaded(pilot)
    await pilot.press("r")
    await settle(pilot, lambda: isinstance(pilot.app.screen, RegistryScreen))
    screen = pilot.app.screen
    versions = screen.query_one("#versions", DataTable)
    await settle(pilot, lambda: versions.row_count == 5)
    versions.focus()
    versions.move_cursor(row=4)  # v1
    return screen


@sync
async def test_the_files_are_hashed_off_the_ui_thread_while_the_screen_still_moves(
    model_store, slow_hashing
):
    """A model's files take a while to hash: the panel says so meanwhile, and the keys
    still act; a small model is checked at once, even while another is."""
    release, threads, hashed = slow_hashing
    app = make_app(model_store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await registry_at_v1(pilot)
        await settle(pilot, lambda: threads)  # hashing, in its thread
        assert threads[0] is not threading.main_thread()
        assert "checking…" in panel(screen)
        assert "flavors" in panel(screen)  # what is read already shows
        await pilot.press("k", "k")  # the screen answers while the files are read
        assert caption(screen).startswith("Model of clf v3")
        await settle(pilot, lambda: len(threads) >= 2)  # v3's own check has started
        await pilot.press("j", "j")
        release.set()
        await settle(pilot, lambda: "✓ 3 files as logged" in panel(screen))
        # v1 once more: the cursor landed on it again while its first check ran (that
        # check may have read the files before they changed). One check of a model at a
        # time: v2's and v3's files once each.
        assert hashed.count("as-logged") == 2
        assert hashed.count("changed") <= 1 and hashed.count("no-mlmodel") <= 1


@sync
async def test_big_models_are_hashed_one_at_a_time_the_one_under_the_cursor_next(
    model_store, slow_hashing, monkeypatch
):
    from mltop.tui import present

    monkeypatch.setattr(present, "QUICK_CHECK_BYTES", 0)  # every model a big one
    release, threads, _hashed = slow_hashing
    app = make_app(model_store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await registry_at_v1(pilot)
        await settle(pilot, lambda: threads)
        await pilot.press("k")  # v2: waits for v1's check
        await settle(pilot, lambda: caption(screen).startswith("Model of clf v2"))
        await settle(pilot, lambda: "checking…" in panel(screen))
        await pilot.pause(0.3)
        assert len(threads) == 1
        release.set()
        await settle(pilot, lambda: "⚠ changed: model.pkl" in panel(screen))
        assert len(threads) == 2
        await pilot.press("j")
        assert "✓ 3 files as logged" in panel(screen)  # checked already: no hashing again
        assert len(threads) == 2


def logged_folder(store_path: Path, name: str) -> Path:
    """The folder of the logged model `name` of the model store's run."""
    with Store(store_path) as store:
        run = next(r.info.run_id for r in store.search_runs() if r.info.run_name == "resnet-lr0.1")
        model = next(m for m in store.logged_models_of_run(run) if m.name == name)
    return Path(model.artifact_location)


@sync
async def test_a_small_model_is_checked_again_each_time_the_cursor_lands_on_it(model_store):
    app = make_app(model_store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_models(pilot, 1)
        assert "checksums  ✓ 3 files as logged" in panel(screen).splitlines()
        (logged_folder(model_store, "as-logged") / "model.pkl").write_bytes(b"\3" * WEIGHTS)
        await pilot.press("k")  # v2, then back to v1: its files read again
        await model_shown(pilot)
        await pilot.press("j")
        await settle(pilot, lambda: "checksums  ⚠ changed: model.pkl" in panel(screen))
        assert caption(screen).startswith("Model of clf v1")


@sync
async def test_r_checks_the_model_under_the_cursor_again(model_store):
    """The tester's case: a model changed while the registry is open, the cursor on it."""
    app = make_app(model_store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_models(pilot, 1)
        assert "checksums  ✓ 3 files as logged" in panel(screen).splitlines()
        (logged_folder(model_store, "as-logged") / "model.pkl").write_bytes(b"\3" * WEIGHTS)
        await pilot.press("r")
        await settle(pilot, lambda: "checksums  ⚠ changed: model.pkl" in panel(screen))
        assert app.screen is screen  # (the registry's own `r`: no other screen opened)
        listed = [(keys, b.description) for b, keys, _does in bindings_of(screen)]
        assert ("r", "Re-check") in listed  # the help says so
        assert [keys for keys, _ in listed].count("r") == 1


@sync
async def test_a_big_model_is_checked_once_until_r(model_store, monkeypatch):
    from mltop.tui import present

    monkeypatch.setattr(present, "QUICK_CHECK_BYTES", 0)  # every model a big one
    app = make_app(model_store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_models(pilot, 1)
        assert "checksums  ✓ 3 files as logged" in panel(screen).splitlines()
        (logged_folder(model_store, "as-logged") / "model.pkl").write_bytes(b"\3" * WEIGHTS)
        await pilot.press("k")
        await model_shown(pilot)
        await pilot.press("j")
        await model_shown(pilot)
        assert "checksums  ✓ 3 files as logged" in panel(screen).splitlines()  # (cached)
        await pilot.press("r")
        await settle(pilot, lambda: "checksums  ⚠ changed: model.pkl" in panel(screen))


@sync
async def test_a_model_changed_in_the_store_is_read_and_checked_again(model_store, monkeypatch):
    """The store's change feed re-reads the registry (as `load` does here); a logged model
    written to since (its tags, status, files recorded) is read and checked again, even a
    big one."""
    from mltop.tui import present

    monkeypatch.setattr(present, "QUICK_CHECK_BYTES", 0)  # every model a big one
    app = make_app(model_store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_models(pilot, 1)
        assert "checksums  ✓ 3 files as logged" in panel(screen).splitlines()
        (logged_folder(model_store, "as-logged") / "model.pkl").write_bytes(b"\3" * WEIGHTS)
        screen.load()  # (nothing changed in the store: still the state checked)
        await app.workers.wait_for_complete()
        await pilot.pause()
        await model_shown(pilot)
        assert "checksums  ✓ 3 files as logged" in panel(screen).splitlines()
        with Store(model_store) as store:
            run = next(
                r.info.run_id for r in store.search_runs() if r.info.run_name == "resnet-lr0.1"
            )
            model = next(m for m in store.logged_models_of_run(run) if m.name == "as-logged")
            store.logged_models.set_tags(model.model_id, {"reviewed": "no"})
        screen.load()
        await settle(pilot, lambda: "checksums  ⚠ changed: model.pkl" in panel(screen))


def failing_check(monkeypatch, error: Exception) -> list[str]:
    """Checking a model's files raises `error` (until the list returned is cleared)."""
    from mltop.models import uri

    failing = ["on"]
    real = uri.integrity

    def check(store, model):
        if failing:
            raise error
        return real(store, model)

    monkeypatch.setattr(uri, "integrity", check)
    return failing


@pytest.mark.parametrize("big", [False, True], ids=["small", "big"])
@sync
async def test_a_check_that_fails_says_why_and_is_tried_again_at_the_next_visit(
    model_store, monkeypatch, big
):
    """A bug in the check (a symlink loop once made one) is its state, never "checking…"
    for good; it is reported as a bug too; the next landing tries again."""
    from mltop.tui import present

    if big:
        monkeypatch.setattr(present, "QUICK_CHECK_BYTES", 0)
    failing = failing_check(monkeypatch, RuntimeError("[bold]loop[/]"))
    app = make_app(model_store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_models(pilot, 1)
        assert "checksums  ⚠ cannot check: [bold]loop[/]" in panel(screen).splitlines()
        assert [n.title for n in app._notifications] == ["mltop bug"]
        failing.clear()
        await pilot.press("k")
        await model_shown(pilot)
        await pilot.press("j")
        await settle(pilot, lambda: "checksums  ✓ 3 files as logged" in panel(screen))


@sync
async def test_r_tries_a_failed_check_again(model_store, monkeypatch):
    failing = failing_check(monkeypatch, PermissionError(13, "Permission denied", "model.pkl"))
    app = make_app(model_store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_models(pilot, 1)
        state = "checksums  ⚠ cannot check: [Errno 13] Permission denied: 'model.pkl'"
        assert state in panel(screen).splitlines()
        assert not list(app._notifications)  # a disk's refusal is no bug: said in the panel
        failing.clear()
        await pilot.press("r")
        await settle(pilot, lambda: "checksums  ✓ 3 files as logged" in panel(screen))


@sync
async def test_the_panel_is_hidden_with_the_history(model_store):
    app = make_app(model_store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_models(pilot, 1)
        assert screen.query_one("#model-panel").display
        await pilot.press("h")
        await settle(pilot, lambda: not screen.query_one("#model-panel").display)
        await pilot.press("h")
        await settle(pilot, lambda: screen.query_one("#model-panel").display)


def test_snapshot_model_panel(snap_compare, model_store):
    async def run_before(pilot) -> None:
        await open_models(pilot, 1)

    assert snap_compare(make_app(model_store), terminal_size=(120, 40), run_before=run_before)


def test_snapshot_model_panel_80x24_changed_files(snap_compare, model_store):
    async def run_before(pilot) -> None:
        await open_models(pilot, 2)

    assert snap_compare(make_app(model_store), terminal_size=(80, 24), run_before=run_before)


# -- the presenters ------------------------------------------------------------------------


def test_columns_are_named_typed_and_counted_past_the_first_few():
    assert columns_text(None).plain == "no signature"
    assert columns_text((Column("", "tensor float32 (-1, 3)"),)).plain == "tensor float32 (-1, 3)"
    many = tuple(Column(f"c{i}", "double") for i in range(MAX_SHOWN_COLUMNS + 3))
    text = columns_text(many).plain
    assert text.startswith("c0 double, c1 double") and text.endswith(" and 3 more")
    hostile = columns_text((Column("[red]x[/]", "string", required=False),))
    assert hostile.plain == "[red]x[/] string (optional)"
    assert all("red" not in str(span.style) for span in hostile.spans)


def test_a_version_whose_source_leads_nowhere_says_why_in_one_line():
    model = VersionModel("clf", 1, "runs:/abc/model", problem="run abc not found")
    assert version_model_text(model, Checksums("no model found", None)).plain == (
        "model      run abc not found"
    )


# -- the run detail's Models tab -----------------------------------------------------------


@sync
async def test_the_models_tab_says_when_a_models_files_changed_since_logged(model_store):
    from test_logged_models_ui import note, open_detail

    with Store(model_store) as store:
        run = next(r.info.run_id for r in store.search_runs() if r.info.run_name == "resnet-lr0.1")
        order = [m.name for m in store.logged_models_of_run(run)]
    app = make_app(model_store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_detail(pilot, app, run)
        await pilot.press(*["j"] * order.index("changed"))
        await settle(pilot, lambda: "checking…" not in note(screen) and "⚠" in note(screen))
        assert note(screen).endswith("   ⚠ changed: model.pkl")
        await pilot.press(*["j"] * (order.index("as-logged") - order.index("changed")))
        await settle(pilot, lambda: "✓" in note(screen))
        assert note(screen).endswith("   ✓ 3 files as logged")


async def detail_at(pilot, app, name: str):
    """The run detail's Models tab, the cursor on the logged model `name`, checked."""
    from test_logged_models_ui import note, open_detail

    with Store(app.store.path) as store:
        run = next(r.info.run_id for r in store.search_runs() if r.info.run_name == "resnet-lr0.1")
        logged = store.logged_models_of_run(run)
    order = [m.name for m in logged]
    screen = await open_detail(pilot, app, run)
    await pilot.press(*["j"] * order.index(name))
    model_id = logged[order.index(name)].model_id
    await settle(pilot, lambda: model_id in note(screen) and "checking…" not in note(screen))
    return screen, order, model_id


@sync
async def test_the_models_tab_checks_a_small_model_again_each_time_the_cursor_lands_on_it(
    model_store,
):
    from test_logged_models_ui import note

    app = make_app(model_store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen, order, model_id = await detail_at(pilot, app, "as-logged")
        assert note(screen).endswith("   ✓ 3 files as logged")
        (logged_folder(model_store, "as-logged") / "model.pkl").write_bytes(b"\3" * WEIGHTS)
        away = "k" if order.index("as-logged") else "j"
        back = "j" if away == "k" else "k"
        await pilot.press(away)
        await settle(pilot, lambda: model_id not in note(screen))
        await pilot.press(back)
        await settle(pilot, lambda: note(screen).endswith("   ⚠ changed: model.pkl"))
        # Shown again, the tab checks the model under its cursor again (a run may log one).
        (logged_folder(model_store, "as-logged") / "model.pkl").write_bytes(b"\1" * WEIGHTS)
        await pilot.press("1")
        await settle(pilot, lambda: screen.query_one(TabbedContent).active != "models-tab")
        await pilot.press("8")
        await settle(pilot, lambda: note(screen).endswith("   ✓ 3 files as logged"))


@sync
async def test_the_models_tab_says_why_a_check_failed_and_tries_again(model_store, monkeypatch):
    from test_logged_models_ui import note

    failing = failing_check(monkeypatch, RuntimeError("[bold]loop[/]"))
    app = make_app(model_store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen, order, model_id = await detail_at(pilot, app, "as-logged")
        assert note(screen).endswith("   ⚠ cannot check: [bold]loop[/]")
        assert [n.title for n in app._notifications] == ["mltop bug"]
        failing.clear()
        away = "k" if order.index("as-logged") else "j"
        back = "j" if away == "k" else "k"
        await pilot.press(away)
        await settle(pilot, lambda: model_id not in note(screen))
        await pilot.press(back)
        await settle(pilot, lambda: note(screen).endswith("   ✓ 3 files as logged"))
