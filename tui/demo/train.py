"""A simulated training job that logs live through the public API (used by `mltop demo`).

    python -m mltop.tui.demo.train --store PATH --experiment NAME --run-name NAME \\
        --lr 0.01 --batch-size 64 --epochs 30 --steps-per-epoch 40 --step-seconds 0.25

Loss and accuracy curves respond to the learning rate and batch size the way real ones do:
a learning rate far from the sweet spot converges slowly or not at all, large batches give
smoother but slightly worse curves. SIGTERM, SIGHUP or Ctrl-C ends the run KILLED, and so
does `--parent-pid PID` going away (the job ends when the process that started it does,
however that ended, SIGKILL included).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from mltop import store as mt
from mltop.tui.demo.gpu import SimulatedGpu, simulate


@dataclass(frozen=True)
class Curve:
    """The shape of one simulated training run."""

    lr: float
    batch_size: int
    seed: int

    @property
    def quality(self) -> float:
        """1 at the best learning rate (0.01), falling off in log space."""
        return math.exp(-((math.log10(self.lr) + 2.0) ** 2) / 1.2)

    @property
    def diverges(self) -> bool:
        return self.lr >= 0.3

    def final_loss(self) -> float:
        gap = 0.04 * math.log2(self.batch_size / 32)  # large batches generalise a bit worse
        return 0.12 + 1.6 * (1 - self.quality) + max(gap, 0.0)

    def loss(self, progress: float, rng: random.Random) -> float:
        """Training loss at `progress` (0 to 1 of training), with batch noise."""
        if self.diverges and progress > 0.35:
            return math.nan
        start, end = 2.3, self.final_loss()
        rate = 3.0 + 6.0 * self.quality
        value = end + (start - end) * math.exp(-rate * progress)
        if self.diverges:
            value = start * (1 + 4 * progress**2)
        noise = rng.gauss(0, 0.25 / math.sqrt(self.batch_size))
        return max(0.01, value * (1 + noise))

    def val(self, progress: float, rng: random.Random) -> tuple[float, float]:
        """(validation loss, validation accuracy) at `progress`."""
        train = self.loss(progress, rng)
        if math.isnan(train):
            return math.nan, math.nan
        val_loss = train * (1.08 + 0.1 * progress) + rng.gauss(0, 0.01)
        acc = min(0.995, max(0.05, 1.0 - val_loss / 2.6 + rng.gauss(0, 0.004)))
        return val_loss, acc


def epoch_line(epoch: int, epochs: int, loss: float, val_acc: float) -> bytes:
    """What a training script prints at the end of an epoch (with ANSI colours, as many do)."""
    colour = "32" if val_acc >= 0.8 else "33"
    return (
        f"\x1b[1mepoch {epoch:>2}/{epochs}\x1b[0m  loss {loss:.4f}  "
        f"val_acc \x1b[{colour}m{val_acc:.4f}\x1b[0m\n"
    ).encode()


def train(
    curve: Curve,
    epochs: int,
    steps_per_epoch: int,
    step_seconds: float,
    *,
    start_step: int = 0,
    stopping: Callable[[], str | None] = lambda: None,
    gpu: SimulatedGpu | None = None,
) -> None:
    """Log one run's metrics into the active run (sleeping `step_seconds` per step).

    `stopping` is asked between steps and while sleeping; once it gives a reason, training
    ends with KeyboardInterrupt (so the run ends KILLED) there, never half-way through a
    write."""
    rng = random.Random(curve.seed)
    total = epochs * steps_per_epoch
    for step in range(start_step, total):
        if (reason := stopping()) is not None:
            raise KeyboardInterrupt(f"{reason}, before step {step}")
        progress = (step + 1) / total
        if gpu is not None:
            gpu.busy(step_seconds * 1.5)
        loss = curve.loss(progress, rng)
        mt.log_metric("loss", loss, step=step)
        if step % 10 == 0:
            print(f"step {step:>5}/{total}  loss {loss:.4f}", flush=True)
        mt.log_metric("lr", curve.lr * (0.5 + 0.5 * math.cos(math.pi * progress)), step=step)
        if math.isnan(loss):
            raise FloatingPointError(f"loss is NaN at step {step}: the learning rate is too high")
        if (step + 1) % steps_per_epoch == 0:
            epoch = (step + 1) // steps_per_epoch
            val_loss, val_acc = curve.val(progress, rng)
            mt.log_metrics({"val_loss": val_loss, "val_acc": val_acc, "epoch": epoch}, step=step)
            sys.stdout.buffer.write(epoch_line(epoch, epochs, loss, val_acc))
            sys.stdout.flush()
        _sleep(step_seconds, stopping)


def _sleep(seconds: float, stopping: Callable[[], str | None]) -> None:
    # In slices, so that a stop is noticed within a tenth of a second.
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0 and stopping() is None:
        time.sleep(min(left, 0.1))


_signalled: list[int] = []


def _remember(signum: int, frame: object) -> None:
    # Only noted here: raising from a signal handler could cut a write in half.
    _signalled.append(signum)


def _stopping(parent_pid: int | None) -> Callable[[], str | None]:
    """Why to stop, if we must: a stop signal arrived, or `parent_pid` is no longer our
    parent (it ended, however it ended, even by SIGKILL, and we were re-parented)."""

    def reason() -> str | None:
        if _signalled:
            return signal.Signals(_signalled[0]).name
        if parent_pid is not None and os.getppid() != parent_pid:
            return f"process {parent_pid}, which started this job, is gone"
        return None

    return reason


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A simulated training job for mltop demo.")
    parser.add_argument("--store", required=True)
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--run-name", required=True)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--steps-per-epoch", type=int, default=40)
    parser.add_argument("--step-seconds", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--parent-pid",
        type=int,
        metavar="PID",
        help="End the run KILLED as soon as PID is no longer this process's parent.",
    )
    args = parser.parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, _remember)
    mt.set_store(args.store)
    mt.set_experiment(args.experiment)
    curve = Curve(args.lr, args.batch_size, args.seed)
    # Its console output and system metrics (every 2 s, a simulated GPU where there is
    # none) are kept, as `mltop run` keeps a real job's.
    os.environ.setdefault("MLTOP_SYSTEM_METRICS_SAMPLING_INTERVAL", "2")
    gpu = simulate(args.seed)
    try:
        with mt.start_run(
            run_name=args.run_name,
            tags={"source": "mltop demo", "live": "yes"},
            capture_output=True,
            log_system_metrics=True,
        ):
            print(f"training {args.run_name}: resnet18, lr {args.lr}, batch {args.batch_size}")
            mt.log_params(
                {
                    "lr": args.lr,
                    "batch_size": args.batch_size,
                    "epochs": args.epochs,
                    "optimizer": "sgd",
                    "model": "resnet18",
                }
            )
            train(
                curve,
                args.epochs,
                args.steps_per_epoch,
                args.step_seconds,
                stopping=_stopping(args.parent_pid),
                gpu=gpu,
            )
    except KeyboardInterrupt as stop:
        print(f"{args.run_name} ended KILLED" + (f": {stop}" if str(stop) else ""), flush=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
