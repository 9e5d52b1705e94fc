"""A stand-in for NVIDIA's `pynvml` (nvidia-ml-py): GPUs whose readings a test sets.

`install(monkeypatch, nvml)` puts it in `sys.modules` as `pynvml`, where the sampler imports
it. Each GPU's readings are plain attributes of a `FakeGpu`; a name in `GpuFake.failing`
(a function's name, optionally with the GPU's index: "nvmlDeviceGetPowerUsage:1") raises
NVMLError on that GPU, as a device failing mid-run does.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field
from typing import Any

import pytest

NVML_TEMPERATURE_GPU = 0


class NVMLError(Exception):
    """pynvml's error class (the real one carries a return code)."""


@dataclass
class FakeProcess:
    pid: int
    usedGpuMemory: int | None  # bytes; None where the driver does not say


@dataclass
class FakeGpu:
    utilization: int = 0  # %
    memory_utilization: int = 0  # % of time memory was read or written
    used: int = 0  # bytes
    total: int = 24_000_000_000
    temperature: int = 40  # °C
    power: int = 50_000  # mW
    power_limit: int = 300_000  # mW
    processes: list[FakeProcess] = field(default_factory=list)
    graphics: list[FakeProcess] = field(default_factory=list)


@dataclass
class Handle:
    index: int


class GpuFake:
    """The fake module's state: its GPUs, what fails, and what was called."""

    def __init__(self, gpus: list[FakeGpu] | None = None) -> None:
        self.gpus = gpus if gpus is not None else []
        self.failing: set[str] = set()
        self.init_error: NVMLError | None = None
        self.inits = 0
        self.shutdowns = 0

    def module(self) -> types.ModuleType:
        fake = self
        mod = types.ModuleType("pynvml")
        mod.NVMLError = NVMLError  # type: ignore[attr-defined]
        mod.NVML_TEMPERATURE_GPU = NVML_TEMPERATURE_GPU  # type: ignore[attr-defined]

        def check(name: str, handle: Handle | None = None) -> None:
            if name in fake.failing or (
                handle is not None and f"{name}:{handle.index}" in fake.failing
            ):
                raise NVMLError(f"{name} failed")

        def gpu(handle: Handle) -> FakeGpu:
            return fake.gpus[handle.index]

        def nvmlInit() -> None:
            if fake.init_error is not None:
                raise fake.init_error
            fake.inits += 1

        def nvmlShutdown() -> None:
            fake.shutdowns += 1

        def nvmlDeviceGetCount() -> int:
            check("nvmlDeviceGetCount")
            return len(fake.gpus)

        def nvmlDeviceGetHandleByIndex(index: int) -> Handle:
            check("nvmlDeviceGetHandleByIndex")
            return Handle(index)

        def nvmlDeviceGetUtilizationRates(handle: Handle) -> Any:
            check("nvmlDeviceGetUtilizationRates", handle)
            g = gpu(handle)
            return types.SimpleNamespace(gpu=g.utilization, memory=g.memory_utilization)

        def nvmlDeviceGetMemoryInfo(handle: Handle) -> Any:
            check("nvmlDeviceGetMemoryInfo", handle)
            g = gpu(handle)
            return types.SimpleNamespace(used=g.used, total=g.total, free=g.total - g.used)

        def nvmlDeviceGetTemperature(handle: Handle, sensor: int) -> int:
            check("nvmlDeviceGetTemperature", handle)
            assert sensor == NVML_TEMPERATURE_GPU
            return gpu(handle).temperature

        def nvmlDeviceGetPowerUsage(handle: Handle) -> int:
            check("nvmlDeviceGetPowerUsage", handle)
            return gpu(handle).power

        def nvmlDeviceGetEnforcedPowerLimit(handle: Handle) -> int:
            check("nvmlDeviceGetEnforcedPowerLimit", handle)
            return gpu(handle).power_limit

        def nvmlDeviceGetComputeRunningProcesses(handle: Handle) -> list[FakeProcess]:
            check("nvmlDeviceGetComputeRunningProcesses", handle)
            return list(gpu(handle).processes)

        def nvmlDeviceGetGraphicsRunningProcesses(handle: Handle) -> list[FakeProcess]:
            check("nvmlDeviceGetGraphicsRunningProcesses", handle)
            return list(gpu(handle).graphics)

        for function in (
            nvmlInit,
            nvmlShutdown,
            nvmlDeviceGetCount,
            nvmlDeviceGetHandleByIndex,
            nvmlDeviceGetUtilizationRates,
            nvmlDeviceGetMemoryInfo,
            nvmlDeviceGetTemperature,
            nvmlDeviceGetPowerUsage,
            nvmlDeviceGetEnforcedPowerLimit,
            nvmlDeviceGetComputeRunningProcesses,
            nvmlDeviceGetGraphicsRunningProcesses,
        ):
            setattr(mod, function.__name__, function)
        return mod


def install(monkeypatch: pytest.MonkeyPatch, fake: GpuFake | None) -> None:
    """Make `import pynvml` give the fake (None: fail, as without nvidia-ml-py)."""
    monkeypatch.setitem(sys.modules, "pynvml", None if fake is None else fake.module())
