"""Metrics: exact round trips, the latest-value rule, summaries and incremental history."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from mltop.store import InvalidKeyError, InvalidValueError, Store


@pytest.fixture
def run_id(client):
    return client.create_run(run_name="m").info.run_id


def history(client, run_id, key):
    return [(m.step, m.value) for m in client.get_metric_history(run_id, key)]


def test_nan_and_infinities_round_trip_exactly(client, run_id):
    for step, value in enumerate([math.nan, math.inf, -math.inf, 0.1 + 0.2, -0.0, 5e-324]):
        client.log_metric(run_id, "v", value, step=step)
    client.flush()
    values = [v for _s, v in history(client, run_id, "v")]
    assert math.isnan(values[0])
    assert values[1:] == [math.inf, -math.inf, 0.1 + 0.2, -0.0, 5e-324]
    summary = client.get_run(run_id).data.summaries["v"]
    assert summary.value == 5e-324 and summary.step == 5
    assert summary.min == -math.inf and summary.max == math.inf and summary.count == 6


def test_a_nan_latest_value_reads_back_as_nan(client, run_id):
    client.log_metric(run_id, "v", 1.0, step=0)
    client.log_metric(run_id, "v", math.nan, step=1)
    client.flush()
    summary = client.get_run(run_id).data.summaries["v"]
    assert math.isnan(summary.value)
    assert (summary.min, summary.max, summary.count) == (1.0, 1.0, 2)


def test_all_nan_series_has_nan_min_and_max(client, run_id):
    client.log_metric(run_id, "v", math.nan)
    client.flush()
    s = client.get_run(run_id).data.summaries["v"]
    assert math.isnan(s.value) and math.isnan(s.min) and math.isnan(s.max) and s.count == 1


@pytest.mark.parametrize("bad", [True, False, "0.5", None, [1.0], 1j, b"1"])
def test_non_numbers_and_bools_are_refused_at_the_call(client, run_id, bad):
    with pytest.raises(InvalidValueError, match="metric 'loss': value must be a real number"):
        client.log_metric(run_id, "loss", bad)
    client.flush()
    assert history(client, run_id, "loss") == []


def test_integers_and_other_reals_are_accepted(client, run_id):
    client.log_metric(run_id, "v", 3, step=0)
    client.log_metric(run_id, "v", Fraction(1, 4), step=1)
    client.flush()
    assert history(client, run_id, "v") == [(0, 3.0), (1, 0.25)]


@pytest.mark.parametrize("bad_step", [1.5, "3", True, 2**63])
def test_bad_steps_are_refused(client, run_id, bad_step):
    with pytest.raises(InvalidValueError, match="step"):
        client.log_metric(run_id, "v", 1.0, step=bad_step)


def test_bad_metric_key_is_refused_and_named(client, run_id):
    with pytest.raises(InvalidKeyError, match="invalid key '../x'"):
        client.log_metric(run_id, "../x", 1.0)


def test_step_defaults_to_zero_and_timestamp_to_now(client, run_id):
    import time

    before = int(time.time() * 1000)
    client.log_metric(run_id, "v", 1.0)
    client.flush()
    (point,) = client.get_metric_history(run_id, "v")
    assert point.step == 0
    assert before <= point.timestamp <= int(time.time() * 1000)


def test_latest_is_highest_step_then_timestamp_then_last_logged(client, run_id):
    client.log_metric(run_id, "v", 10.0, step=5, timestamp=100)
    client.log_metric(run_id, "v", 20.0, step=3, timestamp=999)  # older step, newer time
    client.flush()
    assert client.get_run(run_id).data.summaries["v"].value == 10.0
    client.log_metric(run_id, "v", 30.0, step=5, timestamp=200)  # same step, newer time
    client.log_metric(run_id, "v", 40.0, step=5, timestamp=150)  # same step, older time
    client.flush()
    assert client.get_run(run_id).data.summaries["v"].value == 30.0
    client.log_metric(run_id, "v", 50.0, step=5, timestamp=200)  # a tie: last logged wins
    client.flush()
    s = client.get_run(run_id).data.summaries["v"]
    assert (s.value, s.step, s.timestamp, s.min, s.max, s.count) == (50.0, 5, 200, 10.0, 50.0, 5)


def test_latest_rule_holds_within_one_batch(client, run_id):
    client.log_metrics(run_id, {"a": 1.0}, step=7)
    for step, value in [(9, 2.0), (8, 3.0), (9, 4.0)]:
        client.log_metric(run_id, "a", value, step=step, timestamp=50)
    client.flush()
    assert client.get_run(run_id).data.summaries["a"].value == 4.0


def test_summaries_of_several_runs_and_keys_in_one_batch(client):
    runs = [client.create_run().info.run_id for _ in range(3)]
    for step in range(100):
        for i, run in enumerate(runs):
            client.log_metrics(run, {"loss": 1.0 / (step + 1) + i, "acc": step / 100}, step=step)
    client.flush()
    for i, run in enumerate(runs):
        s = client.get_run(run).data.summaries
        assert s["loss"].count == 100 and s["acc"].count == 100
        assert s["loss"].value == pytest.approx(0.01 + i)
        assert s["loss"].max == pytest.approx(1.0 + i)
        assert s["acc"].value == pytest.approx(0.99)
        assert s["acc"].min == 0.0


def test_history_reads_incrementally_after_a_cursor(client, run_id):
    for step in range(10):
        client.log_metric(run_id, "v", float(step), step=step)
    client.flush()
    first = client.get_metric_history(run_id, "v", limit=4)
    assert [m.step for m in first] == [0, 1, 2, 3]
    rest = client.get_metric_history(run_id, "v", after=first[-1].cursor)
    assert [m.step for m in rest] == list(range(4, 10))
    assert client.get_metric_history(run_id, "v", after=rest[-1].cursor) == []
    assert client.get_metric_history(run_id, "missing") == []


def test_buffered_points_are_invisible_until_flush_then_all_there(client, store_path, run_id):
    for step in range(1000):
        client.log_metric(run_id, "v", float(step), step=step)
    other = Store(store_path)
    client.flush()
    assert len(other.get_metric_history(run_id, "v")) == 1000
    assert other.get_run(run_id).data.summaries["v"].count == 1000


def test_synchronous_writes_through_without_flush(client, store_path, run_id):
    client.log_metric(run_id, "v", 1.5, step=1, synchronous=True)
    other = Store(store_path)
    assert [(m.step, m.value) for m in other.get_metric_history(run_id, "v")] == [(1, 1.5)]


def test_run_data_metrics_gives_latest_values(client, run_id):
    client.log_metrics(run_id, {"a": 1.0, "b": 2.0}, step=1)
    client.log_metrics(run_id, {"a": 3.0}, step=2)
    client.flush()
    assert client.get_run(run_id).data.metrics == {"a": 3.0, "b": 2.0}


def test_log_metrics_validates_everything_before_queueing(client, run_id):
    with pytest.raises(InvalidValueError):
        client.log_metrics(run_id, {"good": 1.0, "bad": "x"})
    client.flush()
    assert client.get_run(run_id).data.summaries == {}


def test_a_call_written_for_mlflows_client_means_the_same(client, run_id):
    """MlflowClient.log_metric(run_id, key, value, timestamp=None, step=None): a positional
    call written for MLflow stores its timestamp as the timestamp and its step as the step
    (it once stored the timestamp as the step)."""
    client.log_metric(run_id, "loss", 0.5, 1_700_000_000_123, 7)
    client.log_metric(run_id, "loss", 0.4, 1_700_000_000_456)  # no step: step 0, as MLflow
    client.log_metric(run_id, "acc", 0.9, None, 3, True)  # synchronous, positionally too
    client.flush()
    points = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.timestamp, m.value) for m in points] == [
        (7, 1_700_000_000_123, 0.5),
        (0, 1_700_000_000_456, 0.4),
    ]
    (acc,) = client.get_metric_history(run_id, "acc")
    assert acc.step == 3 and acc.value == 0.9
