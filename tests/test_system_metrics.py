"""System metrics: the sampler's keys and values (with a fake NVML), its cadence, how it
stops, and start_run(log_system_metrics=True) with the environment that turns it on."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from unittest import mock

import pytest
from fake_nvml import FakeGpu, FakeProcess, GpuFake, NVMLError, install

from mltop.store import InvalidValueError, Store, system_metrics
from mltop.store.errors import StoreFullError
from mltop.store.system_metrics import GPUS_TAG, SystemMetricsSampler, start_sampler

ME = os.getpid()
OTHER = 4_000_000  # a process id of someone else's training (above Linux's pid_max)
BASE_KEYS = {
    "system/cpu_utilization_percentage",
    "system/system_memory_usage_megabytes",
    "system/system_memory_usage_percentage",
    "system/disk_usage_percentage",
    "system/disk_usage_megabytes",
    "system/disk_available_megabytes",
    "system/network_receive_megabytes",
    "system/network_transmit_megabytes",
}
GPU_KEYS = {
    "utilization_percentage",
    "memory_usage_megabytes",
    "memory_usage_percentage",
    "power_usage_watts",
    "power_usage_percentage",
    "temperature_celsius",
}


def two_gpus() -> GpuFake:
    """GPU 0 busy with another user's process; GPU 1 with ours (and another's)."""
    return GpuFake(
        [
            FakeGpu(
                utilization=97, used=20_000_000_000, temperature=81, power=250_000,
                processes=[FakeProcess(OTHER, 19_000_000_000)],
            ),
            FakeGpu(
                utilization=35, used=6_000_000_000, temperature=55, power=120_000,
                processes=[FakeProcess(ME, 4_500_000_000), FakeProcess(OTHER, 1_000_000_000)],
            ),
        ]
    )  # fmt: skip


class Ticks:
    """A clock and a wait for the sampler: waiting moves the clock; the wait says stop
    after `samples` samples. `cost` seconds pass during each sample (read when the sampler
    asks for the run's processes)."""

    def __init__(self, samples: int, cost: float = 0.0) -> None:
        self.now = 1000.0
        self.samples = samples
        self.cost = cost
        self.waits: list[float] = []
        self.cpu_reads = 0

    def clock(self) -> float:
        return self.now

    def wait(self, timeout: float) -> bool:
        self.waits.append(timeout)
        self.now += timeout
        return len(self.waits) >= self.samples

    def pids(self) -> set[int]:
        self.now += self.cost
        return {ME}

    def cpu_times(self) -> tuple[float, float]:
        """The machine's (all, busy) CPU seconds: 40 % busy, ten seconds a reading (the
        samples of a fake clock come within a millisecond: no real CPU time between)."""
        self.cpu_reads += 1
        return (10.0 * self.cpu_reads, 4.0 * self.cpu_reads)


def run_sampler(store: Store, run_id: str, samples: int, **kwargs) -> SystemMetricsSampler:
    """Sample `samples` times on the sampler's thread, and wait for it to end."""
    ticks = kwargs.pop("ticks", None) or Ticks(samples)
    sampler = SystemMetricsSampler(
        store, run_id, kwargs.pop("interval", 10.0), kwargs.pop("pids", ticks.pids),
        clock=ticks.clock, wait=ticks.wait, **kwargs,
    )  # fmt: skip
    with (
        mock.patch.object(system_metrics, "_cpu_times", ticks.cpu_times),
        mock.patch.object(system_metrics, "CPU_WINDOW_S", 0.0),
    ):
        sampler.start()
        assert sampler.thread is not None
        sampler.thread.join(10)
    assert not sampler.running
    return sampler


def latest(store: Store, run_id: str) -> dict[str, float]:
    return {k: v for k, v in store.get_run(run_id).data.metrics.items() if k.startswith("system/")}


def test_two_gpus_logged_under_mlflow_names_and_our_process_memory(store, monkeypatch):
    install(monkeypatch, two_gpus())
    run_id = store.create_run(run_name="train").info.run_id
    run_sampler(store, run_id, 1)
    values = latest(store, run_id)
    gpu_keys = {f"system/gpu_{i}_{k}" for i in (0, 1) for k in GPU_KEYS}
    assert set(values) == BASE_KEYS | gpu_keys | {"system/gpu_1_process_memory_megabytes"}
    assert values["system/gpu_0_utilization_percentage"] == 97
    assert values["system/gpu_1_utilization_percentage"] == 35
    assert values["system/gpu_0_memory_usage_megabytes"] == 20_000
    assert values["system/gpu_0_memory_usage_percentage"] == pytest.approx(83.3)
    assert values["system/gpu_0_temperature_celsius"] == 81
    assert values["system/gpu_1_power_usage_watts"] == 120
    assert values["system/gpu_1_power_usage_percentage"] == 40
    # Only our process on GPU 1 counts: another's there, and GPU 0's, are not the run's.
    assert values["system/gpu_1_process_memory_megabytes"] == 4_500
    assert store.get_run(run_id).data.tags[GPUS_TAG] == "1"
    assert values["system/cpu_utilization_percentage"] == 40
    assert 0 < values["system/system_memory_usage_percentage"] <= 100
    assert values["system/system_memory_usage_megabytes"] > 0
    assert 0 < values["system/disk_usage_percentage"] <= 100
    assert values["system/network_receive_megabytes"] >= 0  # counted from the start


def test_steps_are_sample_numbers_and_timestamps_wall_time(store, monkeypatch):
    install(monkeypatch, None)
    run_id = store.create_run().info.run_id
    run_sampler(store, run_id, 3)
    history = store.get_metric_history(run_id, "system/system_memory_usage_percentage")
    assert [p.step for p in history] == [0, 1, 2]
    start = store.get_run(run_id).info.start_time
    assert all(start - 1000 <= p.timestamp <= start + 60_000 for p in history)


def test_cpu_use_is_the_samplers_own_measure_whatever_else_reads_psutil(store, monkeypatch):
    import psutil

    install(monkeypatch, two_gpus())  # (the run's processes are asked for: GPUs)
    run_id = store.create_run().info.run_id
    readings = iter([(100.0, 40.0), (200.0, 65.0), (300.0, 165.0)])  # (all, busy) seconds
    ticks = Ticks(2)
    ticks.cpu_times = lambda: next(readings)

    def pids() -> set[int]:
        psutil.cpu_percent(interval=None)  # the training's own reading changes nothing
        return {ME}

    run_sampler(store, run_id, 2, ticks=ticks, pids=pids)
    history = store.get_metric_history(run_id, "system/cpu_utilization_percentage")
    assert [(p.step, p.value) for p in history] == [(0, 25.0), (1, 100.0)]


def test_real_cpu_use_is_measured_over_a_tenth_of_a_second_at_least(store, monkeypatch):
    install(monkeypatch, None)
    run_id = store.create_run().info.run_id
    sampler = start_sampler(store, run_id, interval=3600)
    sampler.stop()  # at once: the first sample is still whole
    cpu = latest(store, run_id)["system/cpu_utilization_percentage"]
    assert 0 <= cpu <= 100


def test_a_resumed_run_goes_on_after_its_last_sample(store, monkeypatch):
    install(monkeypatch, None)
    run_id = store.create_run().info.run_id
    run_sampler(store, run_id, 2)
    run_sampler(store, run_id, 2)
    history = store.get_metric_history(run_id, "system/disk_usage_percentage")
    assert [p.step for p in history] == [0, 1, 2, 3]


def test_without_pynvml_no_gpu_keys_and_no_noise(store, monkeypatch, capsys, caplog):
    install(monkeypatch, None)
    run_id = store.create_run().info.run_id
    with caplog.at_level(logging.DEBUG, logger="mltop.system_metrics"):
        sampler = run_sampler(store, run_id, 3)
    assert set(latest(store, run_id)) == BASE_KEYS
    assert GPUS_TAG not in store.get_run(run_id).data.tags
    assert sampler.errors == 0
    assert capsys.readouterr().err == ""
    said = [r for r in caplog.records if r.name == "mltop.system_metrics"]
    assert len(said) == 1 and said[0].levelno == logging.DEBUG  # one debug line, not one a sample


@pytest.mark.parametrize("case", ["init fails", "no GPU", "count fails"])
def test_nvml_without_gpus_logs_no_gpu_keys(store, monkeypatch, capsys, case):
    fake = two_gpus()
    if case == "init fails":
        fake.init_error = NVMLError("Driver Not Loaded")
    elif case == "no GPU":
        fake.gpus = []
    else:
        fake.failing.add("nvmlDeviceGetCount")
    install(monkeypatch, fake)
    run_id = store.create_run().info.run_id
    sampler = run_sampler(store, run_id, 2)
    assert set(latest(store, run_id)) == BASE_KEYS
    assert sampler.errors == 0
    assert capsys.readouterr().err == ""
    assert fake.shutdowns == fake.inits  # NVML left as found


def test_a_gpu_failing_mid_run_loses_that_reading_for_that_sample_only(store, monkeypatch):
    fake = two_gpus()
    install(monkeypatch, fake)
    run_id = store.create_run().info.run_id
    ticks = Ticks(3)

    def pids() -> set[int]:
        # The second sample: GPU 1's power reading fails; the third: it works again.
        fake.failing = {"nvmlDeviceGetPowerUsage:1"} if len(ticks.waits) == 1 else set()
        return {ME}

    sampler = run_sampler(store, run_id, 3, ticks=ticks, pids=pids)
    steps = {
        key: [p.step for p in store.get_metric_history(run_id, key)]
        for key in ("system/gpu_1_power_usage_watts", "system/gpu_0_power_usage_watts",
                    "system/gpu_1_utilization_percentage")
    }  # fmt: skip
    assert steps == {
        "system/gpu_1_power_usage_watts": [0, 2],
        "system/gpu_0_power_usage_watts": [0, 1, 2],
        "system/gpu_1_utilization_percentage": [0, 1, 2],
    }
    assert sampler.errors == 1
    assert sampler.samples == 3


def test_the_gpus_tag_grows_as_the_run_takes_more_gpus(store, monkeypatch):
    fake = two_gpus()
    install(monkeypatch, fake)
    run_id = store.create_run().info.run_id
    ticks = Ticks(3)

    def pids() -> set[int]:
        if len(ticks.waits) == 1:  # the second sample: a worker of ours starts on GPU 0
            fake.gpus[0].processes.append(FakeProcess(ME + 1, 2_000_000_000))
        return {ME, ME + 1}

    run_sampler(store, run_id, 3, ticks=ticks, pids=pids)
    assert store.get_run(run_id).data.tags[GPUS_TAG] == "0,1"
    history = store.get_metric_history(run_id, "system/gpu_0_process_memory_megabytes")
    assert [(p.step, p.value) for p in history] == [(1, 2000.0), (2, 2000.0)]


def test_process_memory_counts_graphics_processes_once_and_skips_unknown_amounts(
    store, monkeypatch
):
    fake = GpuFake([FakeGpu(used=9_000_000_000)])
    fake.gpus[0].processes = [FakeProcess(ME, 3_000_000_000), FakeProcess(ME + 1, None)]
    fake.gpus[0].graphics = [FakeProcess(ME, 3_000_000_000), FakeProcess(ME + 2, 500_000_000)]
    install(monkeypatch, fake)
    run_id = store.create_run().info.run_id
    run_sampler(store, run_id, 1, pids=lambda: {ME, ME + 1, ME + 2})
    assert latest(store, run_id)["system/gpu_0_process_memory_megabytes"] == 3_500


def test_samples_keep_to_the_interval_however_long_a_sample_takes(store, monkeypatch):
    install(monkeypatch, two_gpus())
    run_id = store.create_run().info.run_id
    ticks = Ticks(4, cost=3.0)
    sampler = run_sampler(store, run_id, 4, ticks=ticks, interval=10.0)
    assert ticks.waits == [7.0, 7.0, 7.0, 7.0]  # 10 s from one sample's start to the next
    assert sampler.samples == 4  # one at once, then one after each wait but the last


def test_a_sample_longer_than_the_interval_does_not_make_the_next_ones_rush(store, monkeypatch):
    install(monkeypatch, two_gpus())
    run_id = store.create_run().info.run_id
    ticks = Ticks(3, cost=25.0)
    run_sampler(store, run_id, 3, ticks=ticks, interval=10.0)
    assert ticks.waits == [0.0, 0.0, 0.0]


def test_the_interval_comes_from_the_environment(store, monkeypatch):
    install(monkeypatch, None)
    run_id = store.create_run().info.run_id
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "2.5")
    assert SystemMetricsSampler(store, run_id).interval == 2.5
    monkeypatch.setenv("MLTOP_SYSTEM_METRICS_SAMPLING_INTERVAL", "30")  # ours first
    assert SystemMetricsSampler(store, run_id).interval == 30
    monkeypatch.setenv("MLTOP_SYSTEM_METRICS_SAMPLING_INTERVAL", "often")
    with pytest.raises(InvalidValueError, match="MLTOP_SYSTEM_METRICS_SAMPLING_INTERVAL"):
        SystemMetricsSampler(store, run_id)


def test_stop_is_prompt_and_the_thread_is_a_daemon(store, monkeypatch):
    install(monkeypatch, two_gpus())
    run_id = store.create_run().info.run_id
    sampler = start_sampler(store, run_id, interval=3600)
    assert sampler.thread is not None and sampler.thread.daemon
    sampler.stop()  # waits at most STOP_WAIT_S for a sample under way
    assert not sampler.running
    assert sampler.samples == 1  # the one taken at start; none at stop


def test_a_store_that_cannot_be_written_stops_it_said_once(store, monkeypatch, capsys):
    install(monkeypatch, two_gpus())
    run_id = store.create_run().info.run_id
    real = store.write_points
    calls = []

    def full(rows, conn=None):
        calls.append(len(rows))
        if len(calls) > 1:
            raise StoreFullError(f"the disk holding {store.path} is full")
        real(rows, conn)

    monkeypatch.setattr(store, "write_points", full)
    ticks = Ticks(samples=50)
    sampler = run_sampler(store, run_id, 50, ticks=ticks)
    assert sampler.samples == 1
    assert len(calls) == 2 and len(ticks.waits) == 1  # no sample after the failure
    assert isinstance(sampler.failure, StoreFullError)
    err = capsys.readouterr().err
    assert err.count("mltop: system metrics of run") == 1
    assert "is full" in err


def test_a_deleted_store_stops_it_said_once(store, monkeypatch, capsys):
    install(monkeypatch, two_gpus())
    run_id = store.create_run().info.run_id
    ticks = Ticks(samples=50)

    def pids() -> set[int]:
        if len(ticks.waits) == 1:  # before the second sample is written: the store goes
            shutil.rmtree(store.path)
        return {ME}

    sampler = run_sampler(store, run_id, 50, ticks=ticks, pids=pids)
    assert sampler.samples == 1 and len(ticks.waits) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is gone" in err


def test_a_store_given_by_its_path_is_opened_and_closed_by_the_sampler(store, monkeypatch):
    install(monkeypatch, None)
    run_id = store.create_run().info.run_id
    sampler = start_sampler(str(store.path), run_id, interval=3600)
    sampler.stop()
    assert not sampler.running
    assert sampler.store is not store
    assert set(latest(store, run_id)) == BASE_KEYS


def test_an_unknown_run_is_refused_at_start(store):
    with pytest.raises(Exception, match="nope"):
        start_sampler(store, "nope")


# -- start_run and the environment ---------------------------------------------------------


def test_start_run_with_log_system_metrics_samples_until_the_run_ends(fluent, monkeypatch):
    install(monkeypatch, two_gpus())
    monkeypatch.setenv("MLTOP_SYSTEM_METRICS_SAMPLING_INTERVAL", "3600")
    with fluent.start_run(log_system_metrics=True) as run:
        sampler = run.sampler
        assert sampler is not None and sampler.running
        fluent.log_metric("loss", 0.5)
    assert not sampler.running  # stopped by the run's end
    stored = fluent.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.data.metrics["system/gpu_1_process_memory_megabytes"] == 4_500
    assert stored.data.metrics["loss"] == 0.5
    assert stored.data.tags[GPUS_TAG] == "1"


def test_end_run_stops_the_sampler_of_a_nested_run_too(fluent, monkeypatch):
    install(monkeypatch, None)
    monkeypatch.setenv("MLTOP_SYSTEM_METRICS_SAMPLING_INTERVAL", "3600")
    outer = fluent.start_run(log_system_metrics=True)
    inner = fluent.start_run(nested=True, log_system_metrics=True)
    fluent.end_run()
    fluent.end_run()
    assert not outer.sampler.running and not inner.sampler.running


@pytest.mark.parametrize(
    ("env", "value", "asked", "sampled"),
    [
        ("MLTOP_ENABLE_SYSTEM_METRICS_LOGGING", "true", None, True),
        ("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "1", None, True),
        ("MLTOP_ENABLE_SYSTEM_METRICS_LOGGING", "TRUE", None, True),
        ("MLTOP_ENABLE_SYSTEM_METRICS_LOGGING", "false", None, False),
        ("MLTOP_ENABLE_SYSTEM_METRICS_LOGGING", "true", False, False),  # the call wins
        ("MLTOP_ENABLE_SYSTEM_METRICS_LOGGING", "false", True, True),
    ],
)
def test_the_environment_turns_sampling_on(fluent, monkeypatch, env, value, asked, sampled):
    install(monkeypatch, None)
    monkeypatch.setenv(env, value)
    monkeypatch.setenv("MLTOP_SYSTEM_METRICS_SAMPLING_INTERVAL", "3600")
    with fluent.start_run(log_system_metrics=asked) as run:
        assert (run.sampler is not None) == sampled
    has = any(k.startswith("system/") for k in fluent.get_run(run.info.run_id).data.metrics)
    assert has == sampled


def test_not_a_second_sampler_when_mltop_run_samples_the_run(fluent, monkeypatch):
    install(monkeypatch, None)
    monkeypatch.setenv("MLTOP_SYSTEM_METRICS_SAMPLING_INTERVAL", "3600")
    monkeypatch.setenv("MLTOP_SYSTEM_METRICS_BY", str(os.getppid()))  # a live process
    with fluent.start_run(log_system_metrics=True) as run:
        assert run.sampler is None
    assert not any(k.startswith("system/") for k in fluent.get_run(run.info.run_id).data.metrics)


def test_a_dead_sampling_process_does_not_stop_the_run_sampling(fluent, monkeypatch):
    install(monkeypatch, None)
    monkeypatch.setenv("MLTOP_SYSTEM_METRICS_SAMPLING_INTERVAL", "3600")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    monkeypatch.setenv("MLTOP_SYSTEM_METRICS_BY", gone.stdout.strip())
    with fluent.start_run(log_system_metrics=True) as run:
        assert run.sampler is not None


def test_a_bad_interval_is_refused_before_the_run_is_made(fluent, monkeypatch):
    monkeypatch.setenv("MLTOP_SYSTEM_METRICS_SAMPLING_INTERVAL", "0")
    with pytest.raises(InvalidValueError, match="between"):
        fluent.start_run(log_system_metrics=True)
    assert fluent.active_run() is None
    assert fluent.search_runs(output_format="list") == []


def test_a_script_exiting_without_end_run_stops_sampling_and_keeps_the_samples(tmp_path):
    store_dir = tmp_path / "s"
    script = f"""
import sys
sys.modules["pynvml"] = None
from mltop import store as mt
mt.set_store({str(store_dir)!r})
run = mt.start_run(log_system_metrics=True)
print(run.info.run_id)
"""  # no end_run: the interpreter's exit ends the run and its sampler
    env = {**os.environ, "MLTOP_SYSTEM_METRICS_SAMPLING_INTERVAL": "3600"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    run_id = done.stdout.strip()
    with Store(store_dir) as store:
        run = store.get_run(run_id)
        assert run.info.status == "FINISHED"
        assert "system/cpu_utilization_percentage" in run.data.metrics
