"""Health alerts: the rules (non-finite, divergence, stalled, idle GPUs), the GPU column's
value, and the two store reads the live rules use."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from mltop.store import Extremes, Metric, MltopClient, RunInfo, RunRow
from mltop.tui.alerts import (
    DIVERGENCE,
    IDLE_FOR_MS,
    IDLE_GPU,
    NON_FINITE,
    STALL_MIN_MS,
    STALLED,
    diverging,
    gpu_label,
    gpu_now,
    idle_gpus,
    live_alerts,
    metric_alerts,
    run_gpus,
    stalled,
)

NOW = 1_700_000_000_000
MIN = 60_000


def info(status: str = "RUNNING", *, start: int = NOW - 3600_000, beat: int = NOW) -> RunInfo:
    return RunInfo("a" * 32, "r", "0", "u", status, start, None, "active", None, "", beat, 5000)


def row(metrics: dict[str, float], status: str = "RUNNING", **extremes: Extremes) -> RunRow:
    return RunRow(info(status), {}, metrics, False, extremes)


def extremes_of(series: list[float]) -> tuple[float, float]:
    return min(series), max(series)


def alerts_of(key: str, series: list[float]):
    return metric_alerts({key: series[-1]}, {key: extremes_of(series)})


# -- non-finite ------------------------------------------------------------------------


def test_a_nan_or_infinite_latest_value_alerts_whatever_the_metric():
    for value, said in [(math.nan, "acc is NaN"), (math.inf, "acc is inf")]:
        [alert] = metric_alerts({"acc": value}, {"acc": (0.1, 0.9)})
        assert (alert.kind, alert.metric, alert.message) == (NON_FINITE, "acc", said)


def test_an_infinity_once_reached_alerts_even_when_the_latest_is_finite():
    [alert] = metric_alerts({"grad_norm": 3.0}, {"grad_norm": (1.0, math.inf)})
    assert alert.kind == NON_FINITE and alert.message == "grad_norm reached inf"
    [alert] = metric_alerts({"x": 3.0}, {"x": (-math.inf, 4.0)})
    assert alert.message == "x reached -inf"


def test_the_samplers_keys_are_not_judged():
    assert metric_alerts({"system/gpu_0_power_usage_watts": math.nan}, {}) == []
    assert alerts_of("system/loss_like", [1.0, 0.1, 5.0]) == []


# -- divergence ------------------------------------------------------------------------


def test_a_loss_climbing_back_well_above_its_best_alerts():
    [alert] = alerts_of("train/Loss", [2.3, 1.0, 0.4, 0.3, 1.9])
    assert alert.kind == DIVERGENCE and alert.metric == "train/Loss"
    assert alert.message == "train/Loss diverging: 1.9, best 0.3"


def test_a_metric_not_named_loss_does_not_diverge():
    assert alerts_of("accuracy", [0.1, 0.9, 0.1]) == []


def test_a_noisy_plateau_and_early_noise_do_not_alert():
    assert alerts_of("loss", [2.0, 0.6, 0.5, 0.55, 0.52, 0.58]) == []  # plateau near its best
    assert alerts_of("loss", [2.30, 2.31, 2.29, 2.33]) == []  # early: max close to min
    assert alerts_of("loss", [1.0, 0.001, 0.0012, 0.0018]) == []  # tiny values, small noise


def test_divergence_needs_both_the_middle_and_the_margin():
    assert not diverging(latest=1.2, best=1.0, worst=1.3)  # past the middle, within 25 %
    assert not diverging(latest=3.0, best=1.0, worst=10.0)  # 200 % up, yet under the middle
    assert diverging(latest=6.0, best=1.0, worst=10.0)
    assert diverging(latest=-50.0, best=-100.0, worst=-40.0)  # negative losses too
    assert not diverging(latest=math.nan, best=1.0, worst=2.0)


losses = st.lists(st.floats(1e-6, 1e6, allow_nan=False), min_size=1, max_size=80)


@given(losses)
def test_a_loss_that_only_decreases_never_alerts(values):
    series = sorted(values, reverse=True)
    assert alerts_of("loss", series) == []


@given(
    start=st.floats(1e-3, 1e3),
    decay=st.floats(0.5, 1.0),
    noise=st.lists(st.floats(-0.1, 0.1), min_size=1, max_size=200),
)
def test_a_decreasing_loss_with_ten_percent_noise_never_alerts(start, decay, noise):
    """A positive trend that never rises, times (1 ± 10 %) noise: however the noise falls,
    the latest value stays within 25 % of the best."""
    series = [start * decay**i * (1 + eta) for i, eta in enumerate(noise)]
    assert alerts_of("val_loss", series) == []


# -- stalled -----------------------------------------------------------------------------


def test_a_running_run_quiet_for_ten_usual_gaps_is_stalled():
    # 600 points in the hour since it started: one every 6 s; quiet for 5 min is the floor.
    run = info(start=NOW - 3600_000)
    assert stalled(run, (NOW - 4 * MIN, 600), NOW) is None
    alert = stalled(run, (NOW - 6 * MIN, 600), NOW)
    assert alert is not None and alert.kind == STALLED and alert.since_ms == NOW - 6 * MIN
    assert alert.message == "no new metric for 6 min"


def test_a_slow_logger_gets_ten_of_its_gaps():
    # 2 points in the 2 hours after it started: a point an hour; 5 hours quiet is not enough.
    assert stalled(info(start=NOW - 7 * 3600_000), (NOW - 5 * 3600_000, 2), NOW) is None
    # 2 points in its first hour: one each half hour; 11 hours quiet is more than 5.
    late = stalled(info(start=NOW - 12 * 3600_000), (NOW - 11 * 3600_000, 2), NOW)
    assert late is not None and late.message == "no new metric for 11 h 00 min"


def test_only_running_runs_with_fresh_heartbeats_and_some_points_stall():
    quiet = (NOW - 3 * 3600_000, 10)
    assert stalled(info("FINISHED"), quiet, NOW) is None
    assert stalled(info(beat=NOW - 3600_000), quiet, NOW) is None  # LOST: its own marker
    assert stalled(info(), None, NOW) is None  # never logged: no rhythm to miss
    assert stalled(info(), quiet, NOW) is not None
    assert STALL_MIN_MS == 5 * MIN


# -- GPUs ------------------------------------------------------------------------------


def util(gpu: int, values: list[float], every: int = 10_000, end: int = NOW) -> list[Metric]:
    first = end - every * (len(values) - 1)
    return [
        Metric(f"system/gpu_{gpu}_utilization_percentage", v, first + i * every, i)
        for i, v in enumerate(values)
    ]


def tails(*series: list[Metric], held: tuple[int, ...] = ()) -> dict[str, list[Metric]]:
    out: dict[str, list[Metric]] = {points[0].key: points for points in series}
    for gpu in held:
        out[f"system/gpu_{gpu}_process_memory_megabytes"] = []
    return out


def test_gpus_idle_for_five_minutes_are_flagged():
    samples = [90.0] * 5 + [1.0] * 31  # 31 samples 10 s apart: 5 min idle
    alert = idle_gpus(info(), tails(util(0, samples)), NOW)
    assert alert is not None and alert.kind == IDLE_GPU
    assert alert.since_ms == NOW - 30 * 10_000
    assert alert.message == "GPU 0 idle (under 5%) for 5 min"
    assert idle_gpus(info(), tails(util(0, [*samples[:-1], 50.0])), NOW) is None
    assert idle_gpus(info(), tails(util(0, [90.0] * 10 + [1.0] * 29)), NOW) is None  # 4:40
    assert idle_gpus(info("FINISHED"), tails(util(0, samples)), NOW) is None


def test_only_the_runs_own_gpus_count():
    idle, busy = util(0, [0.0] * 40), util(1, [99.0] * 40)
    assert idle_gpus(info(), tails(idle, busy), NOW) is None  # every GPU: one is busy
    alert = idle_gpus(info(), tails(idle, busy, held=(0,)), NOW)  # it holds GPU 0 only
    assert alert is not None and alert.message.startswith("GPU 0 idle")
    both = idle_gpus(info(), tails(idle, util(1, [2.0] * 40)), NOW)
    assert both is not None and both.message.startswith("GPUs 0-1 idle")


def test_the_run_gpus_and_their_labels():
    assert run_gpus(["system/gpu_0_utilization_percentage", "loss"]) == [0]
    keys = [f"system/gpu_{i}_utilization_percentage" for i in range(8)]
    assert run_gpus(keys) == list(range(8))
    assert run_gpus([*keys, "system/gpu_3_process_memory_megabytes"]) == [3]
    assert gpu_label([0, 1, 2, 3, 6]) == "0-3,6"
    assert gpu_label([0, 2]) == "0,2"


def test_the_gpu_column_shows_running_runs_only():
    one = {"system/gpu_0_utilization_percentage": 87.2}
    assert gpu_now(row(one), NOW) == "87%"
    assert gpu_now(row(one, "FINISHED"), NOW) == ""
    two = {
        "system/gpu_0_utilization_percentage": 80.0,
        "system/gpu_1_utilization_percentage": 90.0,
        "system/gpu_2_utilization_percentage": 0.0,
        "system/gpu_0_process_memory_megabytes": 1000.0,
        "system/gpu_1_process_memory_megabytes": 1000.0,
    }
    assert gpu_now(row(two), NOW) == "0-1 85%"
    assert gpu_now(row({"loss": 1.0}), NOW) == ""


# -- the store's reads, and the whole ------------------------------------------------------


def test_activity_and_tails_are_read_from_the_store(client: MltopClient):
    store = client.store
    run_id = client.create_run(run_name="r", log_system_info=False).info.run_id
    other = client.create_run(run_name="o", log_system_info=False).info.run_id
    for step in range(5):
        client.log_metric(run_id, "loss", 1.0, timestamp=NOW - 60_000 + step, step=step)
    client.log_metric(run_id, "acc", 1.0, timestamp=NOW - 30_000, step=0)
    client.log_metric(run_id, "system/cpu_utilization_percentage", 1.0, timestamp=NOW, step=0)
    for step in range(50):
        ts = NOW - (49 - step) * 10_000
        client.log_metric(run_id, "system/gpu_0_utilization_percentage", step, ts, step)
    client.log_metric(run_id, "system/gpu_1_utilization_percentage", math.nan, NOW - 900_000, 0)
    client.flush()
    assert store.metric_activity([run_id, other]) == {run_id: (NOW - 30_000, 5)}
    assert store.metric_activity([run_id], skip_prefix="acc") == {run_id: (NOW, 50)}
    found = store.metric_tails([run_id, other], "system/gpu_", NOW - 95_000)
    assert set(found) == {run_id}
    gpu0 = found[run_id]["system/gpu_0_utilization_percentage"]
    assert [p.step for p in gpu0] == list(range(40, 50))  # oldest first, 95 s back
    assert found[run_id]["system/gpu_1_utilization_percentage"] == []  # logged, not lately
    assert store.metric_tails([run_id], "system/disk", 0) == {}


def test_live_alerts_read_and_judge_every_rule(client: MltopClient):
    store = client.store
    run_id = client.create_run(run_name="r", log_system_info=False).info.run_id
    for step in range(3):
        client.log_metric(run_id, "loss", [1.0, 0.5, math.nan][step], NOW - 40 * MIN, step)
    for step in range(40):
        ts = NOW - IDLE_FOR_MS - 60_000 + step * 10_000
        client.log_metric(run_id, "system/gpu_0_utilization_percentage", 0.0, ts, step)
    client.flush()
    [live] = store.search_run_rows(None, "", None, 10)
    live = live._replace(info=live.info._replace(heartbeat_time=NOW, start_time=NOW - 50 * MIN))
    kinds = {a.kind for a in live_alerts(store, [live], NOW)[run_id]}
    assert kinds == {NON_FINITE, STALLED, IDLE_GPU}
    done = live._replace(info=live.info._replace(status="FINISHED"))
    assert [a.kind for a in live_alerts(store, [done], NOW)[run_id]] == [NON_FINITE]
