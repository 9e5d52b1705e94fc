"""What MLflow wrote, as the dashboard and the CLI show it: a run's logged models (name, id,
flavors from the MLmodel, size, status, the versions registered from them) in the run
detail's Models tab and in `mltop runs show`, live as they are written; a registered
version made from a logged model names it in the registry and opens its run; names a user
chose are shown literally."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_dashboard import settle, shown, sync
from test_snapshots import NOW, fixed_store, make_app, open_run
from textual.widgets import DataTable, Static

from mltop.store import Store
from mltop.store.entities import ModelVersion
from mltop.store.mlmodel import read_model_files
from mltop.tui.app import MltopApp
from mltop.tui.cli import main
from mltop.tui.present import (
    LOGGED_MODEL_COLUMNS,
    flavors_label,
    made_from,
)
from mltop.tui.screens.registry import RegistryScreen
from mltop.tui.screens.run_detail import RunDetailScreen

__all__ = ["fixed_store"]  # the fixture, used by name

SKLEARN_MLMODEL = """\
flavors:
  python_function:
    loader_module: mlflow.sklearn
    model_path: model.pkl
  sklearn:
    pickled_model: model.pkl
    serialization_format: cloudpickle
mlflow_version: 3.17.2
signature:
  inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
"""
HOSTILE_MLMODEL = "flavors:\n  '[bold]x[/]': {}\n  python_function: {}\n"
RUN_NAME = "[bold]x[/] fit"
HOSTILE_NAME = "[@click=app.quit]"
HOSTILE_TYPE = "[red]type"
FAILURE = "[bold]boom[/] [@click=app.quit]"


def write_model(store: Store, model_id: str, mlmodel: str | None, weights: int = 4000) -> None:
    """The files a flavor's save_model writes: an MLmodel beside the model's own."""
    folder = Path(store.get_logged_model(model_id).artifact_location)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.pkl").write_bytes(b"\0" * weights)
    (folder / "requirements.txt").write_text("scikit-learn\n")
    if mlmodel is not None:
        (folder / "MLmodel").write_text(mlmodel)


def folder_bytes(folder: str) -> int:
    return sum(
        os.lstat(os.path.join(root, name)).st_size
        for root, _dirs, names in os.walk(folder)
        for name in names
    )


@pytest.fixture
def models(store_path: Path) -> dict[str, str]:
    """A run with three logged models (a sklearn one registered twice, a hostile one, a
    failed one with a broken MLmodel), another run with a registered model of its own.
    Each model is made a second after the one before (listed newest first)."""
    from mltop.store.sqlite import models as models_module

    clock = itertools.count(NOW - 100_000, 1000)
    patch = pytest.MonkeyPatch()
    patch.setattr(models_module, "now_ms", lambda: next(clock))
    with Store(store_path) as store:
        exp = store.create_experiment("vision")
        run = store.create_run(exp, RUN_NAME).info.run_id
        other = store.create_run(exp, "other").info.run_id
        lm = store.logged_models
        fine = store.create_logged_model(exp, "model", run).model_id
        write_model(store, fine, SKLEARN_MLMODEL)
        lm.finalize(fine, "READY")
        hostile = store.create_logged_model(exp, HOSTILE_NAME, run, model_type=HOSTILE_TYPE)
        write_model(store, hostile.model_id, HOSTILE_MLMODEL, weights=10)
        lm.finalize(hostile.model_id, "READY")
        broken = store.create_logged_model(exp, "broken", run).model_id
        write_model(store, broken, "flavors: [unclosed\n")
        lm.finalize(broken, "FAILED", FAILURE)
        elsewhere = store.create_logged_model(exp, "model", other).model_id
        write_model(store, elsewhere, SKLEARN_MLMODEL)
        lm.finalize(elsewhere, "READY")
        registry = store.registry
        # As MLflow 3's register_model makes them: `models:/<id>`, the model's run.
        registry.create_model_version("clf", f"models:/{fine}", run_id=run)
        registry.transition("clf", 1, "Production", "first", user="ana")
        registry.create_model_version("clf", f"runs:/{run}/model")  # its path in the run
        registry.create_model_version("clf", f"models:/{elsewhere}", run_id=other)
        registry.create_model_version("clf", f"runs:/{run}/other-path")  # another path
        store.update_run(run, status="FINISHED", end_time=NOW)
    patch.undo()
    return {
        "run": run,
        "other": other,
        "fine": fine,
        "hostile": hostile.model_id,
        "broken": broken,
        "elsewhere": elsewhere,
    }


def app_for(store_path: Path, **kwargs: object) -> MltopApp:
    kwargs.setdefault("follow", False)
    return MltopApp(store_path, clock=lambda: NOW, **kwargs)  # type: ignore[arg-type]


async def open_detail(pilot, app, run_id: str) -> RunDetailScreen:
    """The run's detail, as enter on its row opens it, on the Models tab (`8`)."""
    await pilot.pause(0.1)
    app.push_screen(RunDetailScreen(app.store, run_id))
    await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.run)
    await pilot.press("8")
    screen = app.screen
    await settle(pilot, lambda: screen.models_shown)
    return screen


def rows(screen) -> list[list[str]]:
    table = screen.query_one("#models", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def note(screen) -> str:
    return str(screen.query_one("#model-note", Static).render())


# -- what is shown, by the pure presenters -----------------------------------------------


def version(source: str, run_id: str = "", number: int = 1) -> ModelVersion:
    return ModelVersion("clf", number, 0, 0, source=source, run_id=run_id)


def test_a_version_is_made_from_a_model_by_its_uri_its_path_in_its_run_or_its_folder(
    models, store_path
):
    with Store(store_path) as store:
        fine = store.get_logged_model(models["fine"])
    run = models["run"]
    found = made_from(
        fine,
        [
            version(f"models:/{fine.model_id}", run, 3),
            version(f"runs:/{run}/model/", run, 2),  # (a trailing slash is the same path)
            version(f"runs:/{run}/other", run, 4),
            version(f"runs:/{models['other']}/model", models["other"], 5),
            version(f"models:/{models['elsewhere']}", run, 6),
            version(fine.artifact_location, run, 7),  # its folder, as a source
            version(fine.artifact_location + "-not", run, 8),
        ],
    )
    assert [v.version for v in found] == [2, 3, 7]


def test_flavors_are_the_models_own_then_pyfunc():
    assert flavors_label(("python_function", "sklearn")) == "sklearn, pyfunc"
    assert flavors_label(("pytorch",)) == "pytorch"
    assert flavors_label(("python_function",)) == "pyfunc"


# -- the run detail --------------------------------------------------------------------------


@sync
async def test_the_models_tab_lists_the_runs_models_with_flavors_size_and_versions(
    models, store_path
):
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_detail(pilot, app, models["run"])
        assert app.focused is screen.query_one("#models")
        with Store(store_path) as store:
            sizes = {
                key: folder_bytes(store.get_logged_model(models[key]).artifact_location)
                for key in ("fine", "hostile", "broken")
            }
        from mltop.tui.text import file_size

        head = [str(c.label) for c in screen.query_one("#models", DataTable).columns.values()]
        assert head == list(LOGGED_MODEL_COLUMNS)
        assert (
            rows(screen)
            == [  # newest first
                [
                    "broken",
                    models["broken"][:10],
                    "⚠ MLmodel unreadable",
                    file_size(sizes["broken"]),
                    "FAILED",
                    "",
                ],
                [
                    HOSTILE_NAME,
                    models["hostile"][:10],
                    "[bold]x[/], pyfunc",
                    file_size(sizes["hostile"]),
                    "READY",
                    "",
                ],
                [
                    "model",
                    models["fine"][:10],
                    "sklearn, pyfunc",
                    file_size(sizes["fine"]),
                    "READY",
                    "clf v1 (Production), clf v2",
                ],
            ]
        )
        # The line under the table: the model under the cursor, what went wrong whole.
        assert note(screen).startswith(f"models:/{models['broken']}   3 files   {FAILURE}   ")
        reason = note(screen).split(f"{FAILURE}   ")[1]
        assert reason.startswith("MLmodel is not valid YAML: ")  # what the parser said, where
        assert reason.endswith("']' (line 2, column 1)")
        await pilot.press("j")
        # A READY model's files are checked against their checksums, off the UI thread.
        await settle(pilot, lambda: "checking…" not in note(screen))
        assert note(screen) == (
            f"models:/{models['hostile']}   type {HOSTILE_TYPE}   no signature   3 files   "
            "✓ 3 files as logged"
        )
        await pilot.press("j", "y")  # `y` on this tab copies the model's URI
        await settle(pilot, lambda: "checking…" not in note(screen))
        assert note(screen) == (
            f"models:/{models['fine']}   with a signature   3 files   ✓ 3 files as logged"
        )
        assert app.clipboard == f"models:/{models['fine']}"
        await pilot.press("1", "y")  # elsewhere, the run id as ever
        assert app.clipboard == models["run"]
        assert app.is_running


@sync
async def test_user_text_in_the_models_tab_is_shown_literally(models, store_path):
    """A model named `[@click=app.quit]`, a flavor `[bold]x[/]`, a failure message with
    markup: the text on screen is the text written, with no style or action of its own."""
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_detail(pilot, app, models["run"])
        table = screen.query_one("#models", DataTable)
        cells = [cell for i in range(table.row_count) for cell in table.get_row_at(i)]
        for cell in cells:
            for span in cell.spans:  # only the styles mltop gives (bold names, colours)
                assert "@click" not in str(span.style) and "link" not in str(span.style)
        assert any(cell.plain == HOSTILE_NAME for cell in cells)
        assert any(cell.plain == "[bold]x[/], pyfunc" for cell in cells)
        rendered = screen.query_one("#model-note", Static).render()
        assert FAILURE in rendered.plain
        assert all("@click" not in str(span.style) for span in rendered.spans)
        assert RUN_NAME in str(screen.query_one("#summary").render())
        await pilot.press("enter", "j", "enter")  # nothing to click, nothing quits
        assert app.is_running


@sync
async def test_a_run_without_models_says_how_to_log_one(store_path):
    with Store(store_path) as store:
        run = store.create_run(None, "plain").info.run_id
    app = app_for(store_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_detail(pilot, app, run)
        assert screen.query_one("#no-models").display
        assert not screen.query_one("#models").display
        assert "log_model" in str(screen.query_one("#no-models", Static).render())


@sync
async def test_a_model_logged_while_the_detail_is_open_appears_and_follows_its_status(
    store_path,
):
    """Following the store as `mltop ui` does: a model created from the run shows at once,
    as being written, then with its flavors once finalized; a version registered from it
    (a change of the registry only) shows too; the cursor keeps to its model."""
    with Store(store_path) as store:
        run = store.create_run(None, "training").info.run_id
    app = app_for(store_path, follow=True, poll=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_detail(pilot, app, run)
        await settle(pilot, lambda: app.follower is not None)
        assert rows(screen) == []
        with Store(store_path) as store:
            model_id = store.create_logged_model(None, "late", run).model_id
        await settle(pilot, lambda: len(rows(screen)) == 1)
        assert rows(screen)[0][2:5] == ["being written…", "0 B", "PENDING"]
        assert note(screen).endswith("no MLmodel file in the model's folder")
        with Store(store_path) as store:
            write_model(store, model_id, SKLEARN_MLMODEL)
            store.logged_models.finalize(model_id, "READY")
        await settle(pilot, lambda: rows(screen)[0][4] == "READY")
        assert rows(screen)[0][2] == "sklearn, pyfunc"
        with Store(store_path) as store:
            store.registry.create_model_version("late-clf", f"models:/{model_id}", run_id=run)
        await settle(pilot, lambda: rows(screen)[0][5] == "late-clf v1")
        # Another, logged later, lists above it: the cursor stays on the model it was on.
        with Store(store_path) as store:
            store.create_logged_model(None, "later", run)
        await settle(pilot, lambda: len(rows(screen)) == 2)
        assert [row[0] for row in rows(screen)] == ["later", "late"]
        assert screen.query_one("#models", DataTable).cursor_row == 1
        assert note(screen).startswith(f"models:/{model_id}   ")


# -- the registry ------------------------------------------------------------------------------


@sync
async def test_a_version_made_from_a_logged_model_names_it_and_opens_its_run(models, store_path):
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, RegistryScreen) and app.screen.versions)
        screen = app.screen
        table = screen.query_one("#versions", DataTable)
        await settle(pilot, lambda: table.row_count == 4)
        head = [str(c.label) for c in table.columns.values()]
        shown = {
            str(table.get_row(str(v))[0]): {
                label: str(cell) for label, cell in zip(head, table.get_row(str(v)), strict=True)
            }
            for v in (1, 2, 3, 4)
        }
        # The run, then the logged model it was made from (a `runs:/` source: the run).
        assert shown["v1"]["source run"] == f"{RUN_NAME} › model ({models['fine'][:10]})"
        assert shown["v2"]["source run"] == RUN_NAME
        assert shown["v3"]["source run"] == f"other › model ({models['elsewhere'][:10]})"
        assert shown["v4"]["source run"] == RUN_NAME
        cell = table.get_row("1")[3]
        # The run's name unstyled (its markup is text), the model after it dim.
        assert [(span.start, str(span.style)) for span in cell.spans] == [(len(RUN_NAME), "dim")]
        table.focus()
        table.move_cursor(row=[k.value for k in table.rows].index("3"))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.run)
        assert app.screen.run_id == models["other"]


@sync
async def test_a_version_whose_logged_model_is_gone_says_so(models, store_path):
    with Store(store_path) as store:
        store.logged_models.delete(models["elsewhere"])
    app = app_for(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, RegistryScreen) and app.screen.versions)
        table = app.screen.query_one("#versions", DataTable)
        await settle(pilot, lambda: table.row_count == 4)
        assert (
            str(table.get_row("3")[3])
            == (  # its run still known
                f"other › (deleted model) ({models['elsewhere'][:10]})"
            )
        )


# -- mltop runs show ---------------------------------------------------------------------------


def invoke(*args: str, columns: int = 80):
    return CliRunner().invoke(
        main, list(args), catch_exceptions=False, env={"COLUMNS": str(columns)}
    )


def test_runs_show_lists_the_models_whole_and_literally(models, store_path):
    result = invoke("runs", "show", models["run"], "--store", str(store_path), columns=200)
    assert result.exit_code == 0, result.output
    lines = result.output[result.output.index("Logged models") :].splitlines()
    head = next(line for line in lines if "┃" in line)
    assert [c.strip() for c in head.split("┃")[1:-1]] == list(LOGGED_MODEL_COLUMNS)
    cells: list[list[str]] = []
    for line in lines:
        if "│" in line:
            row = [c.strip() for c in line.split("│")[1:-1]]
            if row[0]:
                cells.append(row)
            else:  # a cell wrapped onto the next line, at a space
                cells[-1] = [f"{a} {b}".strip() for a, b in zip(cells[-1], row, strict=True)]
    assert [row[:3] + row[4:] for row in cells] == [
        [
            "broken",
            models["broken"],  # whole: `models:/<id>` takes it
            "⚠ MLmodel is not valid YAML: " + cells[0][2].split(": ", 1)[1],  # the reason, whole
            f"FAILED: {FAILURE}",
            "",
        ],
        [HOSTILE_NAME, models["hostile"], "[bold]x[/], pyfunc", "READY", ""],
        ["model", models["fine"], "sklearn, pyfunc", "READY", "clf v1 (Production), clf v2"],
    ]
    assert cells[0][2].endswith("(line 2, column 1)")
    assert "\x1b" not in result.output
    # On a narrow terminal the cells fold: nothing is cut.
    narrow = invoke("runs", "show", models["run"], "--store", str(store_path), columns=80)
    shown = narrow.output[narrow.output.index("Logged models") :]
    assert "…" not in shown and max(len(line) for line in shown.splitlines()) <= 80
    for model_id in (models["fine"], models["broken"]):
        assert model_id[:8] in shown


def test_runs_show_json_lists_the_models(models, store_path):
    result = invoke("runs", "show", models["run"], "--json", "--store", str(store_path))
    data = json.loads(result.output)
    found = {m["name"]: m for m in data["logged_models"]}
    assert [m["name"] for m in data["logged_models"]] == ["broken", HOSTILE_NAME, "model"]
    fine = found["model"]
    with Store(store_path) as store:
        folder = store.get_logged_model(models["fine"]).artifact_location
    assert fine["model_id"] == models["fine"]
    assert fine["artifact_location"] == folder
    assert fine["flavors"] == ["python_function", "sklearn"]
    assert fine["signature"] is True
    assert (fine["size"], fine["files"]) == (folder_bytes(folder), 3)
    assert fine["status"] == "READY" and fine["problem"] is None
    assert fine["registered_versions"] == [
        {"name": "clf", "version": 1, "stage": "Production", "source": f"models:/{models['fine']}"},
        {"name": "clf", "version": 2, "stage": "None", "source": f"runs:/{models['run']}/model"},
    ]
    broken = found["broken"]
    assert broken["status"] == "FAILED" and broken["status_message"] == FAILURE
    assert broken["problem"].startswith("MLmodel is not valid YAML")
    assert found[HOSTILE_NAME]["model_type"] == HOSTILE_TYPE
    other = json.loads(
        invoke("runs", "show", models["other"], "--json", "--store", str(store_path)).output
    )
    assert [m["model_id"] for m in other["logged_models"]] == [models["elsewhere"]]


# -- a store MLflow's own client wrote -------------------------------------------------------

MLFLOW_SCRIPT = """
import mlflow
import numpy as np
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

X = np.random.RandomState(0).rand(60, 3)
y = (X[:, 0] > 0.5).astype(int)
model = LogisticRegression().fit(X, y)
mlflow.set_experiment("logged-models")
with mlflow.start_run(run_name="fit") as run:
    mlflow.log_metric("accuracy", model.score(X, y))
    info = mlflow.sklearn.log_model(
        model,
        name="classifier",
        signature=infer_signature(X, model.predict(X)),
        registered_model_name="classifier",
    )
print(run.info.run_id, info.model_id)
"""


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory) -> tuple[Path, str, str]:
    """A store MLflow's client wrote: one run, one sklearn model logged with a signature and
    registered (MLflow's registry client, through mltop's registry store)."""
    path = tmp_path_factory.mktemp("mlflow") / "store"
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"mltop://{path}"}
    env.pop("MLFLOW_REGISTRY_URI", None)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(MLFLOW_SCRIPT)],
        capture_output=True,
        text=True,
        env=env,
        cwd=path.parent,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    run_id, model_id = done.stdout.split()[-2:]
    return path, run_id, model_id


@sync
async def test_a_model_logged_by_mlflows_client_shows_in_the_detail_and_registry(mlflow_store):
    path, run_id, model_id = mlflow_store
    with Store(path) as store:
        folder = store.get_logged_model(model_id).artifact_location
        [registered] = store.registry.search_versions()
    assert (registered.source, registered.run_id) == (f"models:/{model_id}", run_id)
    files = read_model_files(folder)
    assert files.read and files.signature
    assert files.flavors == ("python_function", "sklearn")
    from mltop.tui.text import file_size

    app = app_for(path)
    async with app.run_test(size=(120, 40)) as pilot:
        # Through the runs screen: enter on the run, then its Models tab.
        await settle(pilot, lambda: shown(app, 1))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.run)
        screen = app.screen
        assert screen.run_id == run_id
        await pilot.press("8")
        await settle(pilot, lambda: screen.models_shown and rows(screen))
        assert rows(screen) == [
            [
                "classifier",
                model_id[:10],
                "sklearn, pyfunc",
                file_size(folder_bytes(folder)),
                "READY",
                "classifier v1",
            ]
        ]
        # MLflow's client logged it through the plugin: its files' checksums were recorded.
        await settle(pilot, lambda: "checking…" not in note(screen))
        assert note(screen) == (
            f"models:/{model_id}   with a signature   {files.files} files   "
            f"✓ {files.files} files as logged"
        )
        await pilot.press("escape", "r")
        await settle(pilot, lambda: isinstance(app.screen, RegistryScreen) and app.screen.versions)
        table = app.screen.query_one("#versions", DataTable)
        await settle(pilot, lambda: table.row_count == 1)
        assert str(table.get_row("1")[3]) == f"fit › classifier ({model_id[:10]})"
        table.focus()
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        assert app.screen.run_id == run_id


def test_runs_show_of_a_model_mlflows_client_logged(mlflow_store):
    path, run_id, model_id = mlflow_store
    data = json.loads(invoke("runs", "show", run_id, "--json", "--store", str(path)).output)
    [model] = data["logged_models"]
    assert (model["model_id"], model["name"], model["status"]) == (model_id, "classifier", "READY")
    assert model["flavors"] == ["python_function", "sklearn"] and model["signature"] is True
    assert model["size"] == folder_bytes(model["artifact_location"])
    assert model["registered_versions"] == [
        {"name": "classifier", "version": 1, "stage": "None", "source": f"models:/{model_id}"}
    ]


# -- what it looks like ------------------------------------------------------------------------


@pytest.fixture
def snapshot_models(fixed_store):
    """The fixed store, its charted run with two logged models (ids fixed), one registered."""
    from mltop.store.sqlite import models as models_module

    # Ids that differ in their first digits: a table shows the first eight.
    ids = (uuid.UUID(int=n << 100) for n in itertools.count(0xBEEF))
    clock = itertools.count(NOW - 100_000, 1000)
    patch = pytest.MonkeyPatch()
    patch.setattr(uuid, "uuid4", lambda: next(ids))
    patch.setattr(models_module, "now_ms", lambda: next(clock))
    with Store(fixed_store) as store:
        run = next(r for r in store.search_runs() if r.info.run_name == "resnet-lr0.1")
        run_id = run.info.run_id
        fine = store.create_logged_model(None, "resnet", run_id).model_id
        write_model(store, fine, SKLEARN_MLMODEL, weights=2_400_000)
        store.logged_models.finalize(fine, "READY")
        broken = store.create_logged_model(None, HOSTILE_NAME, run_id).model_id
        write_model(store, broken, None, weights=100)
        store.logged_models.finalize(broken, "FAILED", "saving the model failed")
        store.registry.create_model_version("resnet", f"models:/{fine}", run_id=run_id)
        store.registry.transition("resnet", 1, "Staging", "nightly", user="ci")
    patch.undo()
    return fixed_store


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_run_detail_models_tab(snap_compare, snapshot_models, size):
    async def run_before(pilot) -> None:
        await open_run(pilot, 1)
        await pilot.press("8")
        screen = pilot.app.screen
        await settle(pilot, lambda: screen.models_shown and len(rows(screen)) == 2)
        await pilot.pause(0.2)

    assert snap_compare(make_app(snapshot_models), terminal_size=size, run_before=run_before)
