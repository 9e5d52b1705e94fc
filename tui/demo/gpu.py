"""A simulated GPU for the demo's training jobs: NVML's functions (the ones mltop's
system-metrics sampler calls), answering for one GPU whose load follows the job.

A demo job on a machine without NVIDIA's library installs it as `pynvml` before its run
starts sampling, so the dashboard's GPU column, System tab and idle-GPU alert show what
they would on a GPU box. The job says when it computes (`busy()`) and when it waits;
utilisation, memory, power and temperature follow, with a little noise. The process
holding the GPU's memory is the job itself. Nothing here is a real reading; a machine
with NVML keeps its real GPUs (the demo never replaces an importable `pynvml`).
"""

from __future__ import annotations

import importlib.util
import math
import os
import random
import sys
import time
import types
from typing import Any

NVML_TEMPERATURE_GPU = 0
TOTAL_BYTES = 24 * 1024**3  # a 24 GiB card
LIMIT_MW = 300_000


class NVMLError(Exception):
    pass


class SimulatedGpu:
    """One GPU whose readings follow `busy()`/`idle()` calls of the job using it."""

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self._busy_until = 0.0
        self._heat = 35.0
        self._last = time.monotonic()
        self.memory = int(TOTAL_BYTES * (0.55 + 0.3 * self._rng.random()))

    def busy(self, seconds: float) -> None:
        """The job computes for about `seconds` from now."""
        self._busy_until = time.monotonic() + seconds

    def idle(self) -> None:
        self._busy_until = 0.0

    def utilization(self) -> int:
        if time.monotonic() < self._busy_until:
            return int(min(100, max(60, self._rng.gauss(93, 4))))
        return int(max(0, self._rng.gauss(1, 1)))

    def temperature(self) -> int:
        now = time.monotonic()
        target = 78.0 if now < self._busy_until else 38.0
        self._heat += (target - self._heat) * (1 - math.exp(-(now - self._last) / 60))
        self._last = now
        return int(self._heat)

    def power(self) -> int:
        share = self.utilization() / 100
        return int(LIMIT_MW * (0.12 + 0.8 * share))

    def module(self) -> types.ModuleType:
        gpu = self
        mod = types.ModuleType("pynvml")
        mod.__dict__.update(
            NVMLError=NVMLError,
            NVML_TEMPERATURE_GPU=NVML_TEMPERATURE_GPU,
            nvmlInit=lambda: None,
            nvmlShutdown=lambda: None,
            nvmlDeviceGetCount=lambda: 1,
            nvmlDeviceGetHandleByIndex=_handle,
            nvmlDeviceGetUtilizationRates=lambda h: types.SimpleNamespace(
                gpu=gpu.utilization(), memory=gpu.utilization() // 2
            ),
            nvmlDeviceGetMemoryInfo=lambda h: types.SimpleNamespace(
                used=gpu.memory, total=TOTAL_BYTES, free=TOTAL_BYTES - gpu.memory
            ),
            nvmlDeviceGetTemperature=lambda h, sensor: gpu.temperature(),
            nvmlDeviceGetPowerUsage=lambda h: gpu.power(),
            nvmlDeviceGetEnforcedPowerLimit=lambda h: LIMIT_MW,
            nvmlDeviceGetComputeRunningProcesses=lambda h: [
                types.SimpleNamespace(pid=os.getpid(), usedGpuMemory=gpu.memory)
            ],
            nvmlDeviceGetGraphicsRunningProcesses=lambda h: [],
        )
        return mod


def _handle(index: int) -> Any:
    if index != 0:
        raise NVMLError(f"no GPU {index}")
    return 0


def simulate(seed: int = 0) -> SimulatedGpu | None:
    """Install a simulated GPU as `pynvml`, unless NVML's real bindings are importable
    (then None: the real GPUs are sampled)."""
    if "pynvml" in sys.modules or importlib.util.find_spec("pynvml") is not None:
        return None
    gpu = SimulatedGpu(seed)
    sys.modules["pynvml"] = gpu.module()
    return gpu
