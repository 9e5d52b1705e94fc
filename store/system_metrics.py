"""System metrics of a run: CPU, memory, disk, network and NVIDIA GPUs, sampled by a thread.

Logged under MLflow's names (`mlflow/system_metrics/metrics/*.py`), so that charts and
habits carry over: `system/cpu_utilization_percentage`, `system/system_memory_usage_megabytes`
and `..._percentage`, `system/disk_usage_percentage`, `system/disk_usage_megabytes`,
`system/disk_available_megabytes`, `system/network_receive_megabytes` and
`system/network_transmit_megabytes` (since the sampler started, as MLflow counts them), and
per GPU `system/gpu_<i>_utilization_percentage`, `..._memory_usage_megabytes`,
`..._memory_usage_percentage`, `..._power_usage_watts` and `..._power_usage_percentage`.
Beyond MLflow's, under the same prefix: `system/gpu_<i>_temperature_celsius`, and
`system/gpu_<i>_process_memory_megabytes`, the memory the run's own processes hold on GPU i
(NVML's running processes, matched by process id to the run's process tree), logged only for
the GPUs where the run holds memory; the run's tag `mltop.gpus` ("0,1") lists those GPUs.
Megabytes are 10**6 bytes, as MLflow's.

Each sample is one batch: step = the sample's number (0, 1, 2, ...; a resumed run goes on
after its last), timestamp = the sample's wall time. GPUs are read through NVIDIA's NVML
(`nvidia-ml-py`, the `gpu` extra, imported as `pynvml` here only): without it, without a
GPU, or when NVML fails to start, there are simply no GPU keys. The sampler never stops or
slows the training: a reading that fails is left out of that sample (and counted in
`errors`); a store that cannot be written (deleted, full) stops the sampler, said once on
stderr.

The environment: `MLTOP_SYSTEM_METRICS_SAMPLING_INTERVAL` (or MLflow's
`MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL`) sets the interval in seconds (10 by default).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import psutil

from mltop.store.client import MltopClient
from mltop.store.errors import InvalidValueError
from mltop.store.sqlite.tracking import Store

log = logging.getLogger("mltop.system_metrics")

PREFIX = "system/"
GPUS_TAG = "mltop.gpus"
DEFAULT_INTERVAL_S = 10.0
INTERVAL_ENV = ("MLTOP_SYSTEM_METRICS_SAMPLING_INTERVAL", "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL")
# Set by a process that samples its child's run itself (`mltop run`): the child's
# start_run(log_system_metrics=True) then starts no second sampler while that process lives.
SAMPLED_BY_ENV = "MLTOP_SYSTEM_METRICS_BY"
CPU_WINDOW_S = 0.1  # the first sample's CPU use is measured over this long at least
STOP_WAIT_S = 5.0  # stop() waits at most this long for a sample under way (a slow NVML call)
MB = 1e6


def sampled_elsewhere() -> bool:
    """Whether another live process samples this one's run (`MLTOP_SYSTEM_METRICS_BY`)."""
    raw = os.environ.get(SAMPLED_BY_ENV, "").strip()
    try:
        pid = int(raw)
    except ValueError:
        return False
    return pid > 0 and psutil.pid_exists(pid)


def interval_from_env(default: float = DEFAULT_INTERVAL_S) -> float:
    """The sampling interval the environment sets, else `default`."""
    for name in INTERVAL_ENV:
        raw = os.environ.get(name)
        if raw:
            try:
                value = float(raw)
            except ValueError:
                raise InvalidValueError(
                    f"{name} must be a number of seconds, not {raw!r}"
                ) from None
            if not 0.1 <= value <= 86400:
                raise InvalidValueError(f"{name} must be between 0.1 and 86400 seconds")
            return value
    return default


def process_tree() -> set[int]:
    """This process and its descendants (the run's processes, by default)."""
    me = psutil.Process()
    pids = {me.pid}
    with contextlib.suppress(psutil.Error):
        pids.update(child.pid for child in me.children(recursive=True))
    return pids


def _round(value: float) -> float:
    return round(float(value), 1)


def _cpu_times() -> tuple[float, float]:
    """(all, busy) CPU seconds of the machine so far, as psutil.cpu_percent counts them."""
    times = psutil.cpu_times()
    total = sum(times)
    # On Linux, guest time is counted in user and nice already.
    total -= getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
    idle = times.idle + getattr(times, "iowait", 0.0)
    return total, total - idle


class Gpus:
    """NVIDIA's GPUs through NVML, started once; none when the library, the driver or a GPU
    is missing."""

    def __init__(self) -> None:
        self.nvml: Any = None
        self.handles: list[Any] = []
        try:
            import pynvml  # the `gpu` extra (nvidia-ml-py)
        except ImportError:
            log.debug("no GPU metrics: nvidia-ml-py (pynvml) is not installed")
            return
        try:
            pynvml.nvmlInit()
        except Exception as exc:  # NVMLError: no driver, no GPU
            log.debug("no GPU metrics: NVML did not start (%s)", exc)
            return
        try:
            count = pynvml.nvmlDeviceGetCount()
            handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except Exception as exc:
            log.debug("no GPU metrics: NVML lists no GPU (%s)", exc)
            self._shutdown(pynvml)
            return
        if not handles:
            log.debug("no GPU metrics: NVML finds no GPU")
            self._shutdown(pynvml)
            return
        self.nvml = pynvml
        self.handles = handles

    @staticmethod
    def _shutdown(nvml: Any) -> None:
        with contextlib.suppress(Exception):
            nvml.nvmlShutdown()

    def close(self) -> None:
        if self.nvml is not None:
            self._shutdown(self.nvml)
            self.nvml = None
            self.handles = []

    def read(self, pids: set[int], out: dict[str, float]) -> int:
        """Each GPU's readings into `out`; a query that fails leaves its keys out. How
        many queries failed."""
        nvml, failed = self.nvml, 0
        for i, handle in enumerate(self.handles):
            key = f"{PREFIX}gpu_{i}_"
            try:
                memory = nvml.nvmlDeviceGetMemoryInfo(handle)
                out[key + "memory_usage_megabytes"] = _round(memory.used / MB)
                out[key + "memory_usage_percentage"] = _round(memory.used / memory.total * 100)
            except Exception:
                failed += 1
            try:
                out[key + "utilization_percentage"] = float(
                    nvml.nvmlDeviceGetUtilizationRates(handle).gpu
                )
            except Exception:
                failed += 1
            try:
                milliwatts = nvml.nvmlDeviceGetPowerUsage(handle)
                out[key + "power_usage_watts"] = _round(milliwatts / 1000)
                limit = nvml.nvmlDeviceGetEnforcedPowerLimit(handle)
                out[key + "power_usage_percentage"] = _round(milliwatts / limit * 100)
            except Exception:
                failed += 1
            try:
                out[key + "temperature_celsius"] = float(
                    nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU)
                )
            except Exception:
                failed += 1
            try:
                held = self._held(handle, pids)
            except Exception:
                failed += 1
            else:
                if held:
                    out[key + "process_memory_megabytes"] = _round(held / MB)
        return failed

    def _held(self, handle: Any, pids: set[int]) -> int:
        """Bytes the processes `pids` hold on the GPU (compute and graphics processes; a
        process in both lists counted once)."""
        nvml = self.nvml
        used: dict[int, int] = {}
        lists = [nvml.nvmlDeviceGetComputeRunningProcesses]
        graphics = getattr(nvml, "nvmlDeviceGetGraphicsRunningProcesses", None)
        if graphics is not None:
            lists.append(graphics)
        for running in lists:
            for process in running(handle):
                memory = process.usedGpuMemory  # None where the driver does not say
                if process.pid in pids and memory is not None:
                    used[process.pid] = max(used.get(process.pid, 0), int(memory))
        return sum(used.values())


class SystemMetricsSampler:
    """Samples system metrics of a run into its store, on a daemon thread: one sample at
    `start()`, then one every `interval` seconds (kept to that cadence however long a sample
    takes), until `stop()` or a store that cannot be written.

    `client_or_store`: an MltopClient, a Store, or a store folder's path. `pids`: a function
    giving the process ids of the run (default: this process and its descendants), whose
    GPU memory is logged as `system/gpu_<i>_process_memory_megabytes`. Disk usage is of the
    filesystem holding the store (MLflow reads "/"; on a GPU box, runs and data usually sit
    on a data disk, which is the one that fills). `clock` and `wait` are for tests: a
    monotonic clock, and a wait for a timeout that returns True once the sampler is to stop.
    """

    def __init__(
        self,
        client_or_store: MltopClient | Store | str | os.PathLike[str],
        run_id: str,
        interval: float | None = None,
        pids: Callable[[], Iterable[int]] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        if isinstance(client_or_store, MltopClient):
            store = client_or_store.store
        elif isinstance(client_or_store, Store):
            store = client_or_store
        else:
            store = Store(client_or_store)
        self.store = store
        self._own_store = store is not client_or_store and not isinstance(
            client_or_store, MltopClient
        )  # opened here from a path: closed as the sampler ends
        self.run_id = run_id
        self.interval = interval_from_env() if interval is None else float(interval)
        if self.interval <= 0:
            raise InvalidValueError(f"interval must be above 0 seconds, not {self.interval}")
        self.pids = pids or process_tree
        self.clock = clock
        self._stop = threading.Event()
        self.wait = wait or self._stop.wait
        self.thread: threading.Thread | None = None
        self.step = 0
        self.samples = 0  # samples written
        self.errors = 0  # readings that failed (left out of their sample)
        self.failure: BaseException | None = None  # what stopped it: the store's error
        self.gpus_tagged: tuple[int, ...] = ()
        self._run_row: int | None = None
        self._key_ids: dict[str, int] = {}
        self._disk_path = str(Path(store.path))
        self._gpus: Gpus | None = None
        self._net_start: tuple[float, float] | None = None
        self._cpu_last: tuple[float, float] | None = None

    # -- the thread ---------------------------------------------------------------------

    def start(self) -> SystemMetricsSampler:
        """Start sampling (a no-op when started already); returns the sampler."""
        if self.thread is not None:
            return self
        self._run_row = self.store.run_row_id(self.run_id)  # an unknown run is refused here
        self.step = self._next_step()
        self.thread = threading.Thread(
            target=self._run, name=f"mltop-system-metrics:{self.run_id[:8]}", daemon=True
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop sampling (no last sample), waiting briefly for one under way."""
        self._stop.set()
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(STOP_WAIT_S)

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def _run(self) -> None:
        try:
            self._open()
            due = self.clock()
            while True:  # the first sample even when stopped at once: a short run gets one
                if not self.sample():
                    return
                due += self.interval
                now = self.clock()
                if due < now:  # a sample took longer than the interval: no catching up
                    due = now
                if self.wait(due - now):
                    return
        except Exception as exc:  # a bug of ours: never the training's problem
            self._say(f"system metrics of run {self.run_id} stopped: {exc!r}")
        finally:
            if self._gpus is not None:
                self._gpus.close()
            if self._own_store:
                self.store.close()

    def _open(self) -> None:
        # CPU use is a difference of two readings: the first is taken here. (The sampler's
        # own, not psutil.cpu_percent's, whose last reading is shared by every caller in
        # the process: the training's own calls, another run's sampler.)
        try:
            self._cpu_last = _cpu_times()
        except Exception:
            self._cpu_last = None
        else:
            # The first sample comes at once: over a few milliseconds (or none of the
            # kernel's clock ticks) CPU use means nothing. (Not a wait stop() cuts short:
            # a short run gets a first sample whole.)
            time.sleep(CPU_WINDOW_S)
        try:
            net = psutil.net_io_counters()
            self._net_start = (net.bytes_recv, net.bytes_sent)
        except Exception:
            self._net_start = None
        self._gpus = Gpus()

    def _next_step(self) -> int:
        """0, or after the last sample of a resumed run."""
        summaries, _total = self.store.search_run_metrics(self.run_id, PREFIX, limit=1000)
        steps = [s.step for key, s in summaries.items() if key.startswith(PREFIX)]
        return max(steps) + 1 if steps else 0

    # -- one sample ---------------------------------------------------------------------

    def read(self) -> dict[str, float]:
        """One sample's readings, by key (a reading that fails is left out)."""
        out: dict[str, float] = {}
        readers: list[Callable[[dict[str, float]], None]] = [
            self._cpu, self._memory, self._disk, self._network,
        ]  # fmt: skip
        for reader in readers:
            try:
                reader(out)
            except Exception:
                self.errors += 1
        if self._gpus is not None and self._gpus.handles:
            try:
                pids = set(self.pids())
            except Exception:
                self.errors += 1
                pids = set()
            self.errors += self._gpus.read(pids, out)
        return out

    def _cpu(self, out: dict[str, float]) -> None:
        now, last = _cpu_times(), self._cpu_last
        self._cpu_last = now
        if last is None:
            return
        total, busy = now[0] - last[0], now[1] - last[1]
        if total > 0:
            share = min(100.0, max(0.0, busy / total * 100))
            out[PREFIX + "cpu_utilization_percentage"] = _round(share)

    @staticmethod
    def _memory(out: dict[str, float]) -> None:
        memory = psutil.virtual_memory()
        out[PREFIX + "system_memory_usage_megabytes"] = _round(memory.used / MB)
        out[PREFIX + "system_memory_usage_percentage"] = _round(memory.used / memory.total * 100)

    def _disk(self, out: dict[str, float]) -> None:
        disk = psutil.disk_usage(self._disk_path)
        out[PREFIX + "disk_usage_percentage"] = _round(disk.percent)
        out[PREFIX + "disk_usage_megabytes"] = _round(disk.used / MB)
        out[PREFIX + "disk_available_megabytes"] = _round(disk.free / MB)

    def _network(self, out: dict[str, float]) -> None:
        if self._net_start is None:
            return
        net = psutil.net_io_counters()
        received, sent = self._net_start
        out[PREFIX + "network_receive_megabytes"] = (net.bytes_recv - received) / MB
        out[PREFIX + "network_transmit_megabytes"] = (net.bytes_sent - sent) / MB

    def sample(self) -> bool:
        """Read and write one sample; False (said once on stderr) when the store could not
        be written: the sampler stops."""
        readings = self.read()
        stamp = int(time.time() * 1000)
        try:
            self._write(readings, stamp)
        except Exception as exc:
            self.failure = exc
            self._say(f"system metrics of run {self.run_id} stopped: {exc}")
            return False
        self.step += 1
        self.samples += 1
        return True

    def _write(self, readings: dict[str, float], stamp: int) -> None:
        assert self._run_row is not None
        rows = []
        for key, value in readings.items():
            kid = self._key_ids.get(key)
            if kid is None:
                kid = self._key_ids[key] = self.store.metric_key_id(key)
            rows.append((self._run_row, kid, self.step, stamp, None if value != value else value))
        self.store.write_points(rows)
        held = {
            int(key[len(PREFIX) + 4 : -len("_process_memory_megabytes")])
            for key in readings
            if key.endswith("_process_memory_megabytes")
        }
        gpus = tuple(sorted(held.union(self.gpus_tagged)))
        if gpus != self.gpus_tagged:
            self.store.set_tags(self.run_id, {GPUS_TAG: ",".join(map(str, gpus))})
            self.gpus_tagged = gpus

    @staticmethod
    def _say(text: str) -> None:
        with contextlib.suppress(Exception):
            print(f"mltop: {text}", file=sys.stderr)


def start_sampler(
    store_or_client: MltopClient | Store | str | os.PathLike[str],
    run_id: str,
    pids: Callable[[], Iterable[int]] | None = None,
    interval: float | None = None,
) -> SystemMetricsSampler:
    """Start sampling the system metrics of `run_id` (the interval from the environment,
    else 10 s), the GPU memory of the processes `pids()` gives; `stop()` ends it."""
    return SystemMetricsSampler(store_or_client, run_id, interval, pids).start()
