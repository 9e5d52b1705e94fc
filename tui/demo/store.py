"""`mltop demo`: a store full of realistic experiments, and training that keeps going.

Everything is written through the public API (`MltopClient` and the registry), the way a
user's scripts would: three experiments, a few dozen finished runs whose curves respond to
their learning rate and batch size (the ones with a learning rate too high diverge and
fail), a hyper-parameter sweep with nested runs, and registered models with versions in
Staging and Production and a history of who moved them. Then a few simulated training
jobs start in background processes and log live.
"""

from __future__ import annotations

import csv
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mltop.models import pyfunc
from mltop.models.signature import ColSpec, ModelSignature, Schema
from mltop.store import MltopClient, now_ms
from mltop.store.capture import ConsoleLog
from mltop.store.fluent import set_store
from mltop.tui.demo import models as demo_models
from mltop.tui.demo.train import Curve, epoch_line

HOUR = 3_600_000
DAY = 24 * HOUR
# Beside the store: rows to try the registered models on (`mltop predict ... --input`).
IMAGE_INPUTS = "inputs.csv"  # for cifar10-resnet
REVIEW_INPUTS = "reviews.csv"  # for imdb-sentiment


@dataclass
class DemoStore:
    path: Path
    runs: int = 0
    failed: int = 0
    experiments: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    live: list[subprocess.Popen] = field(default_factory=list)


def fresh_directory(base: Path) -> Path:
    """`mltop-demo`, or `mltop-demo-2`, `-3`... whichever does not exist yet."""
    candidate = base / "mltop-demo"
    number = 2
    while candidate.exists():
        candidate = base / f"mltop-demo-{number}"
        number += 1
    return candidate


def _finished_run(
    client: MltopClient,
    experiment: str,
    name: str,
    params: dict[str, object],
    curve: Curve,
    start: int,
    *,
    epochs: int = 20,
    steps_per_epoch: int = 10,
    step_ms: int = 9_000,
    parent: str | None = None,
    tags: dict[str, str] | None = None,
) -> tuple[str, float, str]:
    """One run as if it had trained from `start`: (run id, final val_acc, status)."""
    run = client.create_run(
        experiment,
        run_name=name,
        start_time=start,
        parent_run_id=parent,
        tags={"source": "mltop demo", **(tags or {})},
        log_system_info=False,
    )
    run_id = run.info.run_id
    client.log_params(run_id, params)
    rng = random.Random(curve.seed)
    total = epochs * steps_per_epoch
    val_acc = math.nan
    status, end = "FINISHED", start + total * step_ms
    clock = [start / 1000]
    console = ConsoleLog(client.store.artifacts(run_id), clock=lambda: clock[0])
    console.write(1, f"training {name}: {params}\n".encode())
    hardware = random.Random(curve.seed + 1)
    for step in range(total):
        stamp = start + step * step_ms
        clock[0] = stamp / 1000
        progress = (step + 1) / total
        loss = curve.loss(progress, rng)
        client.log_metric(run_id, "loss", loss, step=step, timestamp=stamp)
        if step % 2 == 0:
            client.log_metrics(run_id, _system_sample(hardware), step=step // 2, timestamp=stamp)
        if math.isnan(loss):
            client.set_tag(run_id, "error", f"FloatingPointError: loss is NaN at step {step}")
            console.write(2, _NAN_TRACEBACK.format(step=step).encode())
            status, end = "FAILED", stamp
            break
        if step == 1:
            console.write(2, b"UserWarning: the data loader has 2 workers; 8 CPUs would help\n")
        if (step + 1) % steps_per_epoch == 0:
            val_loss, val_acc = curve.val(progress, rng)
            client.log_metrics(
                run_id, {"val_loss": val_loss, "val_acc": val_acc}, step=step, timestamp=stamp
            )
            console.write(1, epoch_line((step + 1) // steps_per_epoch, epochs, loss, val_acc))
    console.finish()
    client.log_metric(
        run_id, "latency_ms", 8.0 + 30.0 / math.sqrt(curve.batch_size) * 4, step=0, timestamp=end
    )
    _artifacts(client, run_id, params, val_acc, status)
    client.set_terminated(run_id, status, end_time=end)
    return run_id, val_acc, status


_NAN_TRACEBACK = """Traceback (most recent call last):
  File "train.py", line 88, in <module>
    train(model, loader)
FloatingPointError: loss is NaN at step {step}: the learning rate is too high
"""


def _system_sample(rng: random.Random) -> dict[str, float]:
    """A simulated sample of the system metrics a GPU box logs while training."""
    util = min(100.0, max(0.0, rng.gauss(92, 4)))
    return {
        "system/cpu_utilization_percentage": round(min(100.0, rng.gauss(38, 6)), 1),
        "system/system_memory_usage_percentage": round(rng.gauss(41, 1), 1),
        "system/system_memory_usage_megabytes": round(rng.gauss(26_400, 300), 1),
        "system/gpu_0_utilization_percentage": round(util, 1),
        "system/gpu_0_memory_usage_megabytes": round(rng.gauss(17_800, 50), 1),
        "system/gpu_0_memory_usage_percentage": round(rng.gauss(69, 0.3), 1),
        "system/gpu_0_process_memory_megabytes": round(rng.gauss(17_500, 50), 1),
        "system/gpu_0_temperature_celsius": round(rng.gauss(76, 1.5), 1),
        "system/gpu_0_power_usage_watts": round(40 + 2.4 * util + rng.gauss(0, 5), 1),
    }


def _artifacts(
    client: MltopClient, run_id: str, params: dict[str, object], val_acc: float, status: str
) -> None:
    """What a training script leaves behind: its config and a report (its model is logged
    apart: `_log_model`)."""
    client.log_dict(run_id, {"params": params, "seed": 7}, "config.json")
    if status != "FINISHED":
        client.log_text(run_id, "Traceback (most recent call last):\n  ...\n"
                        "FloatingPointError: loss is NaN\n", "logs/train.log")  # fmt: skip
        return
    client.log_text(
        run_id,
        "\n".join([f"epoch {e:>2}  done" for e in range(1, 4)] + [f"final val_acc {val_acc:.4f}"])
        + "\n",
        "logs/train.log",
    )


def _signature(columns: dict[str, str]) -> ModelSignature:
    """Named input columns of the given types; one string out (the predicted label)."""
    return ModelSignature(
        Schema([ColSpec(kind, name) for name, kind in columns.items()]),
        Schema([ColSpec("string")]),
    )


def _log_model(client: MltopClient, run_id: str, experiment: str, seed: int, acc: float) -> str:
    """Log the model the run trained (as `mltop.models.log_model` in a training script
    would), with its signature and an input example; its id."""
    if experiment == "imdb-bert":
        model: object = demo_models.sentiment_model(seed, acc)
        columns = {"review": "string"}
        example: list[dict[str, Any]] = [*demo_models.review_rows()][:2]
    else:
        model = demo_models.image_classifier(seed, acc)
        columns = dict.fromkeys(demo_models.IMAGE_FEATURES, "double")
        example = [*demo_models.image_rows(2)]
    # The model is the finished run's: created for it, then saved and checked in by
    # log_model (which takes the store from the fluent API: `build` points it here).
    logged = client.store.logged_models.create(
        None, "model", run_id, params={"seed": seed}, model_type=type(model).__name__
    )
    info = pyfunc.log_model(
        name="model",
        python_model=model,
        signature=_signature(columns),
        input_example=example,
        model_id=logged.model_id,
        serialization_format="pickle",
    )
    return str(info.model_id)


def _write_inputs(path: Path) -> None:
    """Rows for `mltop predict` to try the registered models on, beside the store."""
    for name, rows in (
        (IMAGE_INPUTS, demo_models.image_rows(20)),
        (REVIEW_INPUTS, demo_models.review_rows()),
    ):
        with open(path / name, "w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


def build(path: Path, *, seed: int = 7) -> DemoStore:
    """Write the demo's finished runs, their models and the registry into a new store at
    `path`, and the rows to try the models on beside it."""
    client = MltopClient(path)
    set_store(path)  # (log_model writes into the store the fluent API uses)
    try:
        return _build(client, path, seed)
    finally:
        set_store(None)
        client.close()


def _build(client: MltopClient, path: Path, seed: int) -> DemoStore:
    demo = DemoStore(path)
    rng = random.Random(seed)
    now = now_ms()
    results: dict[str, list[tuple[float, str, str]]] = {}  # (val_acc, run id, model id)

    experiments = {
        "cifar10-resnet": ("resnet18", [0.3, 0.1, 0.03, 0.01, 0.003, 0.001], [32, 128]),
        "imdb-bert": ("bert-base", [0.05, 0.02, 0.01, 0.005], [16, 64]),
    }
    for exp_name, (model, lrs, batches) in experiments.items():
        exp = client.create_experiment(
            exp_name, tags={"team": "vision" if "cifar" in exp_name else "nlp"}
        )
        demo.experiments.append(exp_name)
        for lr in lrs:
            for batch in batches:
                start = now - rng.randint(2, 9) * DAY + rng.randint(0, 20) * HOUR
                name = f"{model}-lr{lr:g}-bs{batch}"
                params = {
                    "lr": lr,
                    "batch_size": batch,
                    "model": model,
                    "epochs": 20,
                    "optimizer": rng.choice(["sgd", "adam"]),
                }
                curve = Curve(lr, batch, rng.randrange(10**6))
                run_id, acc, status = _finished_run(
                    client,
                    exp,
                    name,
                    params,
                    curve,
                    start,
                    step_ms=rng.randint(4_000, 12_000) * (2 if batch < 64 else 1),
                )
                demo.runs += 1
                if status == "FAILED":
                    demo.failed += 1
                else:
                    model_id = _log_model(client, run_id, exp_name, curve.seed, acc)
                    results.setdefault(exp_name, []).append((acc, run_id, model_id))

    # A sweep: one parent run, its trials nested inside it.
    sweep_exp = client.create_experiment("tabular-gbm", tags={"team": "ranking"})
    demo.experiments.append("tabular-gbm")
    start = now - 1 * DAY
    parent = client.create_run(
        sweep_exp,
        run_name="sweep-depth-lr",
        start_time=start,
        tags={"source": "mltop demo", "kind": "sweep"},
        log_system_info=False,
    ).info.run_id
    demo.runs += 1
    best = 0.0
    for trial, (lr, depth) in enumerate(
        [(0.1, 4), (0.1, 8), (0.03, 6), (0.01, 6), (0.003, 8), (0.03, 10)]
    ):
        _id, acc, _status = _finished_run(
            client,
            sweep_exp,
            f"trial-{trial}",
            {"learning_rate": lr, "max_depth": depth, "n_estimators": 400},
            Curve(lr, 2**depth, rng.randrange(10**6)),
            start + trial * 20 * 60_000,
            epochs=10,
            parent=parent,
        )
        demo.runs += 1
        best = max(best, acc)
    client.log_metric(parent, "best_val_acc", best, timestamp=start + 3 * HOUR)
    client.log_param(parent, "trials", 6)
    client.set_terminated(parent, "FINISHED", end_time=start + 3 * HOUR)

    _registry(client, demo, results)
    _write_inputs(path)
    return demo


def _registry(
    client: MltopClient, demo: DemoStore, results: dict[str, list[tuple[float, str, str]]]
) -> None:
    """Versions of the best runs' models (their `models:/<model id>` URIs), moved through
    Staging to Production by the people and the CI bot of a team."""
    reg = client.store.registry
    ranked = sorted(results["cifar10-resnet"])[-3:]  # the three best, worst first
    for _acc, run_id, model_id in ranked:
        reg.create_model_version(
            "cifar10-resnet", f"models:/{model_id}", run_id, description="ResNet-18 on CIFAR-10"
        )
    reg.update_registered_model("cifar10-resnet", "Image classifier behind the photo tagger")
    reg.set_policy("cifar10-resnet", "metrics.val_acc >= 0.8 and metrics.latency_ms < 50")
    reg.transition("cifar10-resnet", 1, "Staging", "nightly eval passed", user="ci-bot")
    reg.transition("cifar10-resnet", 1, "Production", "first release", user="ana")
    reg.transition("cifar10-resnet", 2, "Staging", "nightly eval passed", user="ci-bot")
    reg.transition(
        "cifar10-resnet", 2, "Production", "better val acc; canary clean for 48h", user="bob"
    )
    reg.transition("cifar10-resnet", 3, "Staging", "nightly eval passed", user="ci-bot")
    reg.set_alias("cifar10-resnet", "champion", 2, user="bob")
    reg.set_alias("cifar10-resnet", "challenger", 3, user="ana")
    _acc, best_bert, bert_model = max(results["imdb-bert"])
    reg.create_model_version("imdb-sentiment", f"models:/{bert_model}", best_bert)
    reg.transition("imdb-sentiment", 1, "Staging", "first candidate", user="dee")
    demo.models += ["cifar10-resnet", "imdb-sentiment"]


LIVE = [  # (run name, lr, batch size)
    ("resnet18-live-lr0.01", 0.01, 64),
    ("resnet18-live-lr0.03", 0.03, 128),
    ("resnet18-live-lr0.003", 0.003, 32),
]


def start_live_training(
    demo: DemoStore,
    *,
    epochs: int = 60,
    steps_per_epoch: int = 40,
    step_seconds: float = 0.25,
    count: int = 3,
) -> None:
    """Start simulated training jobs in the background; they log live into the store.

    Each job watches this process: should it end without stopping them (SIGKILL, a
    crash), they notice within a step and end their runs KILLED on their own."""
    for index, (name, lr, batch) in enumerate(LIVE[:count]):
        options = {
            "--store": demo.path, "--experiment": "cifar10-resnet", "--run-name": name,
            "--lr": lr, "--batch-size": batch, "--epochs": epochs,
            "--steps-per-epoch": steps_per_epoch, "--step-seconds": step_seconds,
            "--seed": 100 + index, "--parent-pid": os.getpid(),
        }  # fmt: skip
        args = [sys.executable, "-m", "mltop.tui.demo.train"]
        for option, value in options.items():
            args += [option, str(value)]
        logs = demo.path / "demo-logs"
        logs.mkdir(exist_ok=True)
        with open(logs / f"{name}.log", "w") as log:  # the child keeps its own copy
            demo.live.append(
                subprocess.Popen(
                    args,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )


def stop_live_training(demo: DemoStore, *, grace: float = 2.0) -> None:
    """End the simulated jobs (their runs end KILLED): all are asked at once, then given
    `grace` seconds in all; any still running are killed, and their runs ended here."""
    killed = False
    with _signals_ignored():
        for proc in demo.live:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + grace
        for proc in demo.live:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                killed = True
    if killed:
        _end_left_runs(demo.path)


@contextmanager
def _signals_ignored() -> Iterator[None]:
    """A second Ctrl+C, SIGHUP or SIGTERM must not cut the stop short (it is quick)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signums = (signal.SIGINT, signal.SIGHUP, signal.SIGTERM)
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in signums}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)


def _end_left_runs(path: Path) -> None:
    # A job killed before it could end its run leaves it RUNNING (then lost). The store is
    # the demo's own (it needs a new directory) and every job has ended: a live run still
    # RUNNING is one of those.
    client = MltopClient(path)
    try:
        for run in client.store.search_runs(
            filter_string="attributes.status = 'RUNNING' and tags.live = 'yes'"
        ):
            client.set_terminated(run.info.run_id, "KILLED")
    finally:
        client.close()
