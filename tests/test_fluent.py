"""The MLflow-shaped fluent API: active runs, nesting, attach, and how runs end."""

from __future__ import annotations

import pytest
from helpers import run_python

from mltop.store import ActiveRunError, InvalidStateError, NotFoundError, Store


def test_context_manager_logs_and_finishes(fluent):
    fluent.set_experiment("exp")
    with fluent.start_run(run_name="r", tags={"team": "cv"}) as run:
        assert fluent.active_run() is run
        fluent.log_param("lr", 0.1)
        fluent.log_params({"bs": 32})
        fluent.log_metric("loss", 0.5, step=1)
        fluent.log_metrics({"acc": 0.9, "loss": 0.4}, step=2)
        fluent.set_tag("a", "1")
        fluent.set_tags({"b": "2"})
        fluent.delete_tag("b")
        fluent.log_text("t", "t.txt")
        fluent.log_dict({"k": 1}, "d.json")
    assert fluent.active_run() is None
    stored = fluent.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.info.experiment_id == fluent.get_experiment_by_name("exp").experiment_id
    assert stored.data.params == {"bs": "32", "lr": "0.1"}
    assert stored.data.metrics == {"acc": 0.9, "loss": 0.4}
    assert stored.data.tags["team"] == "cv" and stored.data.tags["a"] == "1"
    assert "b" not in stored.data.tags


def test_an_exception_ends_the_run_failed(fluent):
    with pytest.raises(ZeroDivisionError), fluent.start_run() as run:
        1 / 0  # noqa: B018
    assert fluent.get_run(run.info.run_id).info.status == "FAILED"


def test_keyboard_interrupt_ends_the_run_killed(fluent):
    with pytest.raises(KeyboardInterrupt), fluent.start_run() as run:
        raise KeyboardInterrupt
    assert fluent.get_run(run.info.run_id).info.status == "KILLED"


def test_a_second_run_needs_nested(fluent):
    with fluent.start_run() as parent:
        with pytest.raises(ActiveRunError, match="already active.*nested=True"):
            fluent.start_run()
        with fluent.start_run(nested=True) as child:
            assert fluent.active_run() is child
        assert fluent.active_run() is parent
    assert fluent.get_run(child.info.run_id).info.parent_run_id == parent.info.run_id


def test_ending_a_parent_ends_its_open_children(fluent):
    parent = fluent.start_run()
    child = fluent.start_run(nested=True)
    with pytest.raises(ValueError), parent:
        raise ValueError
    assert fluent.get_run(child.info.run_id).info.status == "FAILED"
    assert fluent.active_run() is None


@pytest.mark.parametrize(
    ("call", "check"),
    [
        (lambda mt: mt.log_metric("x", 1.0), lambda run: run.data.metrics == {"x": 1.0}),
        (
            lambda mt: mt.log_metrics({"x": 1.0, "y": 2.0}),
            lambda run: run.data.metrics == {"x": 1.0, "y": 2.0},
        ),
        (lambda mt: mt.log_param("x", 1), lambda run: run.data.params == {"x": "1"}),
        (lambda mt: mt.log_params({"x": 1}), lambda run: run.data.params == {"x": "1"}),
        (lambda mt: mt.set_tag("x", "v"), lambda run: run.data.tags["x"] == "v"),
        (lambda mt: mt.set_tags({"x": "v"}), lambda run: run.data.tags["x"] == "v"),
        (lambda mt: mt.log_text("hi", "a.txt"), lambda run: run.data.params == {}),
        (lambda mt: mt.log_dict({"k": 1}, "a.json"), lambda run: run.data.params == {}),
        (lambda mt: mt.log_table({"k": [1]}, "t.json"), lambda run: run.data.params == {}),
        (lambda mt: mt.get_artifact_uri(), lambda run: run.data.params == {}),
    ],
)
def test_logging_without_an_active_run_starts_one(fluent, call, check):
    fluent.set_experiment("auto")
    call(fluent)
    active = fluent.active_run()
    assert active is not None
    fluent.end_run()
    run = fluent.get_run(active.run_id)
    assert run.info.status == "FINISHED"
    assert run.info.experiment_id == fluent.get_experiment_by_name("auto").experiment_id
    assert check(run)
    assert fluent.last_active_run().info.run_id == active.run_id


def test_delete_tag_without_an_active_run_starts_one_as_mlflow_does(fluent):
    with pytest.raises(NotFoundError, match="no tag .absent."):
        fluent.delete_tag("absent")
    assert fluent.active_run() is not None  # MLflow starts the run before deleting


def test_a_script_logging_without_start_run_ends_its_run_finished(store_path):
    out = run_python(f"""
        from mltop import store as mt
        mt.set_tracking_uri({str(store_path)!r})
        mt.log_param("lr", 0.1)
        for i in range(100):
            mt.log_metric("loss", 1.0 / (i + 1), step=i)
        print(mt.active_run().info.run_id)
    """)
    with Store(store_path) as store:
        stored = store.get_run(out.stdout.strip())
        assert stored.info.status == "FINISHED"
        assert stored.data.summaries["loss"].count == 100
        assert stored.data.params == {"lr": "0.1"}


def test_last_active_run(fluent):
    assert fluent.last_active_run() is None
    with fluent.start_run(run_name="first") as run:
        fluent.log_metric("m", 1.0)
        assert fluent.last_active_run().info.run_id == run.info.run_id
    last = fluent.last_active_run()
    assert last.info.run_id == run.info.run_id
    assert last.info.status == "FINISHED" and last.data.metrics == {"m": 1.0}


def test_end_run_with_a_status(fluent):
    run = fluent.start_run()
    fluent.end_run("KILLED")
    assert fluent.get_run(run.info.run_id).info.status == "KILLED"
    fluent.end_run()  # nothing active: a no-op


def test_a_deleted_experiment_cannot_be_set(fluent):
    exp = fluent.set_experiment("old")
    fluent.get_store().delete_experiment(exp.experiment_id)
    with pytest.raises(InvalidStateError, match="'old' is deleted"):
        fluent.set_experiment("old")


def test_mltop_run_id_attaches_to_an_existing_run(fluent, store_path):
    with fluent.start_run(run_name="scheduled") as run:
        fluent.log_param("lr", 0.1)
    out = run_python(
        f"""
        from mltop import store as mt
        mt.set_store({str(store_path)!r})
        with mt.start_run() as run:
            mt.log_metric("loss", 0.25, step=3)
            print(run.info.run_id)
        """,
        env={"MLTOP_RUN_ID": run.info.run_id},
    )
    assert out.stdout.strip() == run.info.run_id
    with Store(store_path) as store:
        stored = store.get_run(run.info.run_id)
        assert stored.data.metrics == {"loss": 0.25}
        assert stored.data.params == {"lr": "0.1"}
        assert stored.info.status == "FINISHED"


def test_at_exit_pending_points_are_committed_and_the_run_finished(store_path):
    out = run_python(f"""
        from mltop import store as mt
        mt.set_store({str(store_path)!r})
        run = mt.start_run()
        for i in range(25_000):
            mt.log_metric("loss", 1.0 / (i + 1), step=i)
        print(run.info.run_id)
    """)
    with Store(store_path) as store:
        stored = store.get_run(out.stdout.strip())
        assert stored.info.status == "FINISHED"
        assert stored.data.summaries["loss"].count == 25_000


@pytest.mark.parametrize(
    ("error", "status"), [("ValueError", "FAILED"), ("KeyboardInterrupt", "KILLED")]
)
def test_an_uncaught_exception_at_top_level_ends_the_run(store_path, error, status):
    out = run_python(
        f"""
        from mltop import store as mt
        mt.set_store({str(store_path)!r})
        run = mt.start_run()
        mt.log_metric("loss", 1.0)
        print(run.info.run_id, flush=True)
        raise {error}
        """,
        check=False,
    )
    assert out.returncode != 0
    with Store(store_path) as store:
        stored = store.get_run(out.stdout.strip())
        assert stored.info.status == status
        assert stored.data.metrics == {"loss": 1.0}


def test_experiment_from_environment(fluent, monkeypatch):
    monkeypatch.setenv("MLTOP_EXPERIMENT_NAME", "from-env")
    with fluent.start_run() as run:
        pass
    exp = fluent.get_experiment(run.info.experiment_id)
    assert exp.name == "from-env"


def test_search_runs_in_the_active_experiment(fluent):
    fluent.set_experiment("other")
    with fluent.start_run(run_name="elsewhere"):
        fluent.log_metric("acc", 0.99)
    fluent.set_experiment("main")
    for acc in (0.5, 0.95):
        with fluent.start_run(run_name=f"acc-{acc}"):
            fluent.log_metric("acc", acc)
    found = fluent.search_runs(filter_string="metrics.acc > 0.9", output_format="list")
    assert [r.info.run_name for r in found] == ["acc-0.95"]
    everywhere = fluent.search_runs(
        experiment_names=["main", "other"],
        filter_string="metrics.acc > 0.9",
        order_by=["metrics.acc"],
        output_format="list",
    )
    assert [r.info.run_name for r in everywhere] == ["acc-0.95", "elsewhere"]
    client = fluent.get_client()
    assert [e.name for e in client.search_experiments(filter_string="name LIKE 'm%'")] == ["main"]
