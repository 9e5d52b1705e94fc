"""Regenerate the README's screenshots from the demo store, at 120×40.

    python screenshots/make.py

Builds the demo store (without live training; each finished run logged its model, and
the registry's versions are made from them) in a temporary folder, adds models one of its
runs logged as MLflow's pytorch flavor writes them (an MLmodel beside the model's files),
opens the dashboard on it headless, and saves SVG screenshots here.
Convert one to PNG to look at it: `rsvg-convert screenshots/runs.svg -o /tmp/runs.png`.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from mltop.store import Store, now_ms
from mltop.tui.app import MltopApp
from mltop.tui.demo import store as demo
from mltop.tui.widgets.runs_table import RunsTable

HERE = Path(__file__).parent
SIZE = (120, 40)
MODELS_RUN = "resnet18-lr0.01-bs32"  # the run whose logged models are shown
MLMODEL = """\
flavors:
  python_function:
    data: data
    env: {conda: conda.yaml, virtualenv: python_env.yaml}
    loader_module: mlflow.pytorch
    python_version: 3.11.7
  pytorch:
    code: null
    model_data: data
    pytorch_version: 2.5.1
mlflow_version: 3.17.2
signature:
  inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3, 32, 32]}}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 10]}}]'
"""


def add_logged_models(path: Path) -> None:
    """Two models of MODELS_RUN as `mlflow.pytorch.log_model` leaves them: its best
    checkpoint (registered as `resnet18-export`) and its last one; and a third whose saving
    failed."""
    with Store(path) as store:
        run = store.search_runs(filter_string=f"attributes.run_name = '{MODELS_RUN}'")[0]
        run_id = run.info.run_id
        for name, weights in (("last-epoch", 44_780_000), ("best-val-acc", 44_780_000)):
            model = store.create_logged_model(None, name, run_id, model_type="classifier")
            folder = Path(model.artifact_location)
            (folder / "data").mkdir(parents=True, exist_ok=True)
            with open(folder / "data" / "model.pth", "wb") as file:
                file.truncate(weights)  # (sparse: its size, without writing 44 MB)
            (folder / "MLmodel").write_text(MLMODEL)
            for extra in ("requirements.txt", "conda.yaml", "python_env.yaml"):
                (folder / extra).write_text("torch==2.5.1\n")
            store.logged_models.finalize(model.model_id, "READY")
        store.registry.create_model_version(
            "resnet18-export", model.model_uri, run_id=run_id, description="best val_acc"
        )
        failed = store.create_logged_model(None, "onnx-export", run_id)
        store.logged_models.finalize(
            failed.model_id, "FAILED", "torch.onnx.export: unsupported operator"
        )


async def wait_loaded(pilot) -> None:
    app = pilot.app
    for _ in range(1000):
        await pilot.pause(0.02)
        runs_table = app.screen.query_one(RunsTable)
        if runs_table.runs and runs_table.table.is_mounted and app.focused is runs_table.table:
            break
    await pilot.pause(0.2)


async def shoot(store: Path, name: str, steps) -> None:
    now = now_ms()
    app = MltopApp(store, follow=False, clock=lambda: now)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await steps(pilot)
        app.save_screenshot(str(HERE / f"{name}.svg"))
    print(f"wrote {HERE / (name + '.svg')}")


async def store_problem(store: Path) -> None:
    """The runs screen after the store's folder was removed under it (a copy's)."""
    copy = store.parent / "elsewhere" / "mltop-demo"
    shutil.copytree(store, copy)
    now = now_ms()
    app = MltopApp(copy, poll=0.2, clock=lambda: now)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_loaded(pilot)
        shutil.rmtree(copy)
        for _ in range(500):
            await pilot.pause(0.02)
            if app.problem is not None and app.screen.query("Toast"):
                break
        await pilot.pause(1.0)
        app.save_screenshot(str(HERE / "store-problem.svg"))
    print(f"wrote {HERE / 'store-problem.svg'}")


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = demo.build(Path(tmp) / "mltop-demo").path
        add_logged_models(store)

        async def nothing(pilot) -> None:
            return None

        def typed_filter(text: str):
            async def steps(pilot) -> None:
                await pilot.press("slash")
                box = pilot.app.screen.query_one("#filter")
                box.cursor_blink = False  # a blinking cursor would flicker between shots
                box.value = text
                await pilot.press("enter")
                await pilot.pause(0.5)

            return steps

        filtered = typed_filter("metrics.val_acc > 0.8 and params.optimizer = 'sgd'")
        filter_error = typed_filter("metrics.val_acc > high")

        async def detail(pilot) -> None:
            screen = pilot.app.screen
            screen.filter_string = "attributes.run_name = 'resnet18-lr0.01-bs32'"
            screen.load_runs()
            await pilot.pause(0.8)
            await pilot.press("enter")
            await pilot.pause(1.5)

        def detail_tab(run_name: str, *keys: str):
            async def steps(pilot) -> None:
                screen = pilot.app.screen
                screen.filter_string = f"attributes.run_name = '{run_name}'"
                screen.load_runs()
                await pilot.pause(0.8)
                await pilot.press("enter")
                await pilot.pause(1.0)
                await pilot.press(*keys)
                await pilot.pause(1.5)

            return steps

        def compare(charts: bool):
            async def steps(pilot) -> None:
                screen = pilot.app.screen
                screen.filter_string = "attributes.run_name LIKE 'resnet18-lr0.0%'"
                screen.load_runs()
                await pilot.pause(0.8)
                await pilot.press("space", "j", "space", "j", "space", "j", "space", "c")
                await pilot.pause(1.0)
                if charts:
                    await pilot.press("2")
                    await pilot.pause(1.5)

            return steps

        async def registry(pilot) -> None:
            """The Production version's model: its flavors, files, checksums, signature."""
            await pilot.press("r")
            await pilot.pause(1.0)
            await pilot.press("tab", "j")
            for _ in range(500):
                await pilot.pause(0.02)
                if pilot.app.screen.model_shown:
                    break
            await pilot.pause(0.3)

        await shoot(store, "runs", nothing)

        async def promotion(pilot) -> None:
            await pilot.press("r")
            await pilot.pause(1.0)
            await pilot.press("tab", "P")  # v3 (Staging) to Production
            await pilot.pause(1.0)
            pilot.app.screen.query_one("#comment").cursor_blink = False

        async def picker(pilot) -> None:
            """cifar10-resnet's columns: its val_acc at its best (max), moved up front."""
            screen = pilot.app.screen
            screen.experiment_id = next(
                e.experiment_id
                for e in screen.store.list_experiments()
                if e.name == "cifar10-resnet"
            )
            screen.load_runs()
            await pilot.pause(0.8)
            await pilot.press("C")
            await pilot.pause(0.5)
            labels = [c.label for c, _shown in pilot.app.screen.items]
            at = labels.index("max(val_acc)")
            first_metric = next(
                i for i, (c, _s) in enumerate(pilot.app.screen.items) if c.kind == "metric"
            )
            await pilot.press("g", *["j"] * at, "space", *["K"] * (at - first_metric))
            await pilot.pause(0.3)

        async def best_so_far(pilot) -> None:
            await picker(pilot)
            await pilot.press("enter")
            await pilot.pause(0.5)
            screen = pilot.app.screen
            runs_table = screen.query_one(RunsTable)
            runs_table.table.move_cursor(
                column=[c.label for c in runs_table.columns].index("max(val_acc)")
            )
            await pilot.press("S")  # highest first
            await pilot.pause(0.8)

        await shoot(store, "columns", picker)
        await shoot(store, "runs-best", best_so_far)
        await shoot(store, "registry", registry)
        await shoot(store, "promotion", promotion)
        await shoot(store, "compare", compare(False))
        await shoot(store, "compare-charts", compare(True))
        await shoot(store, "run-detail", detail)
        await shoot(store, "run-logs", detail_tab("resnet18-lr0.3-bs32", "7", "t"))
        await shoot(store, "run-system", detail_tab("resnet18-lr0.01-bs32", "6"))
        await shoot(store, "run-models", detail_tab(MODELS_RUN, "8", "j"))
        await shoot(store, "runs-filtered", filtered)
        await shoot(store, "filter-error", filter_error)
        await store_problem(store)


if __name__ == "__main__":
    asyncio.run(main())
