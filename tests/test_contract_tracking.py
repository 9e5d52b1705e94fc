"""The tracking Protocols' behaviour, asserted on the SQLite store and on a tracking server.

Each test runs on both backends (`contract_stores.backend`). Where a server cannot do what
the SQLite store does, the test asserts the documented difference (see
store/server/tracking.py's docstring), never a skip.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from contract_stores import Backend, backend_fixture  # noqa: F401 - the fixture `backend`

from mltop.store import (
    AlreadyExistsError,
    ArtifactPathError,
    Dataset,
    DatasetInput,
    InputTag,
    InvalidStateError,
    InvalidValueError,
    Metric,
    NotFoundError,
    ParamConflictError,
    ValidationError,
)

MISSING_RUN = "0123456789abcdef0123456789abcdef"


def _mine(backend: Backend, view: str = "active") -> dict[str, str]:
    """This test's experiments in `view`: name -> stage."""
    return {
        e.name: e.lifecycle_stage
        for e in backend.store.list_experiments(view)
        if e.name.startswith(backend.prefix)
    }


# -- experiments --------------------------------------------------------------------------


def test_experiments_create_read_rename_tag_delete_restore(backend: Backend) -> None:
    store = backend.store
    exp = backend.experiment("a", {"team": "vision", "n": 3})
    got = store.get_experiment(exp)
    assert (got.name, got.lifecycle_stage) == (backend.name("a"), "active")
    assert got.tags == {"team": "vision", "n": "3"}
    assert got.creation_time > 0
    assert store.get_experiment(int(exp)).experiment_id == exp
    by_name = store.get_experiment_by_name(backend.name("a"))
    assert by_name is not None and by_name.experiment_id == exp
    assert store.get_experiment_by_name(backend.name("nothing")) is None

    with pytest.raises(AlreadyExistsError):
        store.create_experiment(backend.name("a"))

    other = backend.experiment("other")
    with pytest.raises(AlreadyExistsError, match="already exists"):
        store.rename_experiment(exp, backend.name("other"))
    store.delete_experiment(other)
    with pytest.raises(AlreadyExistsError, match="deleted state"):
        store.rename_experiment(exp, backend.name("other"))
    with pytest.raises(AlreadyExistsError, match="deleted state"):
        store.create_experiment(backend.name("other"))
    store.restore_experiment(other)
    store.delete_experiment(other)  # (out of the lists below)
    store.rename_experiment(exp, backend.name("b"))
    assert store.get_experiment(exp).name == backend.name("b")
    assert store.get_experiment_by_name(backend.name("a")) is None
    store.rename_experiment(exp, backend.name("b"))  # to its own name: nothing changes

    store.set_experiment_tag(exp, "team", "audio")
    store.set_experiment_tag(exp, "extra", 1.5)
    store.delete_experiment_tag(exp, "n")
    assert store.get_experiment(exp).tags == {"team": "audio", "extra": "1.5"}
    with pytest.raises(NotFoundError):
        store.delete_experiment_tag(exp, "n")

    store.delete_experiment(exp)
    assert _mine(backend) == {}
    deleted = {backend.name("b"): "deleted", backend.name("other"): "deleted"}
    assert _mine(backend, "deleted") == deleted
    assert _mine(backend, "all") == deleted
    with pytest.raises(InvalidStateError):
        store.delete_experiment(exp)
    with pytest.raises(InvalidStateError):
        store.create_run(exp)  # no runs in a deleted experiment
    store.restore_experiment(exp)
    assert _mine(backend) == {backend.name("b"): "active"}
    assert _mine(backend, "all") == {backend.name("b"): "active", backend.name("other"): "deleted"}
    with pytest.raises(InvalidStateError):
        store.restore_experiment(exp)


def test_the_store_says_where_it_is(backend: Backend) -> None:
    store = backend.store
    if backend.is_server:
        assert store.location == backend.raw.url and store.location.startswith("http://")
    else:
        assert store.location == str(store.path)
    assert store.read_only is False
    assert store.check() is False  # not replaced since opened


def test_the_default_experiment_cannot_be_deleted(backend: Backend) -> None:
    with pytest.raises(InvalidStateError):
        backend.store.delete_experiment("0")


def test_missing_experiments_are_not_found(backend: Backend) -> None:
    store = backend.store
    for bad in ("987654321", 987654321, "not-a-number"):
        with pytest.raises(NotFoundError):
            store.get_experiment(bad)
    with pytest.raises(NotFoundError):
        store.rename_experiment("987654321", backend.name("x"))
    with pytest.raises(NotFoundError):
        store.create_run("987654321")


def test_bad_experiment_names_are_refused_before_any_call(backend: Backend) -> None:
    for bad in ("", "x" * 501):
        with pytest.raises(ValidationError):
            backend.store.create_experiment(bad)


# -- runs ---------------------------------------------------------------------------------


def test_runs_create_read_update_delete_restore(backend: Backend) -> None:
    store = backend.store
    exp = backend.experiment()
    run = store.create_run(
        exp, "first", start_time=1_700_000_000_000, tags={"k": "v"}, user_id="ada"
    )
    info = run.info
    assert (info.run_name, info.experiment_id, info.user_id) == ("first", exp, "ada")
    assert (info.status, info.start_time, info.end_time) == ("RUNNING", 1_700_000_000_000, None)
    assert info.lifecycle_stage == "active" and info.parent_run_id is None
    assert run.data.tags["k"] == "v"
    assert len(info.run_id) == 32
    assert store.get_run(info.run_id).info.run_name == "first"

    store.update_run(info.run_id, status="FINISHED", end_time=1_700_000_100_000)
    store.update_run(info.run_id, run_name="renamed")
    got = store.get_run(info.run_id).info
    assert (got.status, got.end_time, got.run_name) == ("FINISHED", 1_700_000_100_000, "renamed")
    with pytest.raises(InvalidValueError):
        store.update_run(info.run_id, status="SLEEPING")

    store.delete_run(info.run_id)
    assert store.get_run(info.run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(InvalidStateError):
        store.delete_run(info.run_id)
    with pytest.raises(InvalidStateError):
        store.set_tags(info.run_id, {"a": "b"})  # no logging to a deleted run
    with pytest.raises(InvalidStateError):
        store.log_params(info.run_id, {"a": "b"})
    store.update_run(info.run_id, status="FAILED")  # ending one is allowed
    store.restore_run(info.run_id)
    got = store.get_run(info.run_id).info
    assert (got.lifecycle_stage, got.status) == ("active", "FAILED")


def test_a_run_created_finished_is_stamped_ended(backend: Backend) -> None:
    run = backend.store.create_run(backend.experiment(), "done", status="FINISHED")
    got = backend.store.get_run(run.info.run_id).info
    assert got.status == "FINISHED" and got.end_time is not None


def test_children_counts_and_run_id_prefixes(backend: Backend) -> None:
    store = backend.store
    exp = backend.experiment()
    parent = store.create_run(exp, "parent").info.run_id
    first = store.create_run(exp, "c1", parent_run_id=parent, start_time=1000).info
    second = store.create_run(exp, "c2", tags={"mlflow.parentRunId": parent}, start_time=2000)
    assert first.parent_run_id == parent
    assert second.info.parent_run_id == parent
    assert store.child_run_ids(parent) == [first.run_id, second.info.run_id]
    assert store.child_run_ids(first.run_id) == []
    with pytest.raises(NotFoundError):
        store.create_run(exp, parent_run_id=MISSING_RUN)
    with pytest.raises(InvalidValueError):
        store.set_tags(parent, {"mlflow.parentRunId": parent})  # its own parent

    store.update_run(first.run_id, status="FINISHED")
    assert store.experiment_run_counts()[exp] == (3, 2)

    assert store.resolve_run_id(parent) == parent
    assert store.resolve_run_id(parent.upper()) == parent
    unique = next(
        n
        for n in range(4, 33)
        if all(not r.startswith(parent[:n]) for r in (first.run_id, second.info.run_id))
    )
    assert store.resolve_run_id(parent[:unique]) == parent
    for bad in ("abc", "zzzz", MISSING_RUN, "ffffffffffff0000"):
        with pytest.raises(NotFoundError):
            store.resolve_run_id(bad)


def test_missing_runs_are_not_found_everywhere(backend: Backend) -> None:
    store = backend.store
    calls = [
        lambda: store.get_run(MISSING_RUN),
        lambda: store.get_metric_history(MISSING_RUN, "loss"),
        lambda: store.log_params(MISSING_RUN, {"a": 1}),
        lambda: store.set_tags(MISSING_RUN, {"a": 1}),
        lambda: store.update_run(MISSING_RUN, status="FINISHED"),
        lambda: store.delete_run(MISSING_RUN),
        lambda: store.search_run_metrics(MISSING_RUN),
        lambda: store.artifacts(MISSING_RUN),
        lambda: store.get_run("../../etc/passwd"),
    ]
    for call in calls:
        with pytest.raises(NotFoundError):
            call()


# -- params and tags ----------------------------------------------------------------------


def test_params_are_immutable_and_all_or_nothing(backend: Backend) -> None:
    store = backend.store
    run_id = store.create_run(backend.experiment()).info.run_id
    store.log_params(run_id, {"lr": 0.1, "layers": 3})
    store.log_params(run_id, {"lr": "0.1"})  # the same value again: fine
    with pytest.raises(ParamConflictError) as caught:
        store.log_params(run_id, {"fresh": "x", "lr": 0.2})
    assert (caught.value.key, caught.value.old, caught.value.new) == ("lr", "0.1", "0.2")
    assert store.get_run(run_id).data.params == {"lr": "0.1", "layers": "3"}
    with pytest.raises(ValidationError):
        store.log_params(run_id, {"": 1})


def test_tags_set_overwrite_delete(backend: Backend) -> None:
    store = backend.store
    run_id = store.create_run(backend.experiment(), "tagged").info.run_id
    store.set_tags(run_id, {"a": "1", "b": 2})
    store.set_tags(run_id, {"a": "changed"})
    tags = store.get_run(run_id).data.tags
    assert (tags["a"], tags["b"]) == ("changed", "2")
    store.delete_tag(run_id, "a")
    assert "a" not in store.get_run(run_id).data.tags
    with pytest.raises(NotFoundError):
        store.delete_tag(run_id, "a")
    with pytest.raises(InvalidValueError):
        store.delete_tag(run_id, "mlflow.runName")
    store.set_tags(run_id, {"mlflow.runName": "by-tag", "mlflow.user": "grace"})
    info = store.get_run(run_id).info
    assert (info.run_name, info.user_id) == ("by-tag", "grace")


def test_dataset_inputs_round_trip(backend: Backend) -> None:
    store = backend.store
    run_id = store.create_run(backend.experiment()).info.run_id
    data = Dataset("train", "d1g3st", "local", '{"uri": "/data/train.csv"}', '{"cols": 3}')
    store.log_inputs(run_id, [DatasetInput(data, [InputTag("mlflow.data.context", "training")])])
    store.log_inputs(run_id, [DatasetInput(data)])  # the same dataset again: nothing new
    (got,) = store.get_run(run_id).inputs.dataset_inputs
    assert got.dataset == data
    assert got.context == "training"


# -- metrics ------------------------------------------------------------------------------


def test_nan_and_infinities_round_trip(backend: Backend) -> None:
    store = backend.store
    run_id = store.create_run(backend.experiment()).info.run_id
    values = [math.nan, math.inf, -math.inf, 1.5, -2.0, 0.0]
    backend.log_points(run_id, [Metric("m", v, 1000 + i, i) for i, v in enumerate(values)])
    got = [p.value for p in store.get_metric_history(run_id, "m")]
    assert math.isnan(got[0])
    assert got[1:] == values[1:]
    summary = store.get_run(run_id).data.summaries["m"]
    assert (summary.value, summary.step, summary.count) == (0.0, 5, 6)
    assert (summary.min, summary.max) == (-math.inf, math.inf)
    found, total = store.search_run_metrics(run_id, "M")
    assert total == 1 and found["m"] == summary
    assert list(store.iter_run_metrics(run_id)) == [summary]


def test_all_nan_summary_is_nan(backend: Backend) -> None:
    run_id = backend.store.create_run(backend.experiment()).info.run_id
    backend.log_points(run_id, [Metric("n", math.nan, 1, 0), Metric("n", math.nan, 2, 1)])
    summary = backend.store.get_run(run_id).data.summaries["n"]
    assert math.isnan(summary.min) and math.isnan(summary.max) and summary.count == 2


def test_a_long_history_pages_whole_and_reads_on_from_a_cursor(backend: Backend) -> None:
    store = backend.store
    run_id = store.create_run(backend.experiment()).info.run_id
    n = 25_000
    if backend.is_server:
        backend.raw.history_page = 10_000  # three pages of metrics/get-history
    backend.log_points(run_id, [Metric("loss", 1.0 / (i + 1), 1_000 + i, i) for i in range(n)])
    history = store.get_metric_history(run_id, "loss")
    assert [p.step for p in history] == list(range(n))
    assert history[-1].value == 1.0 / n
    assert all(p.run_id == run_id for p in history[:3])
    cursors = [p.cursor for p in history]
    assert cursors == sorted(set(cursors))  # strictly increasing: read on after any
    after = store.get_metric_history(run_id, "loss", after=history[9_999].cursor, limit=3)
    assert [p.step for p in after] == [10_000, 10_001, 10_002]
    assert store.get_metric_history(run_id, "loss", after=history[-1].cursor) == []
    blocks, points = store.get_metric_blocks(run_id, "loss")
    assert len(points) + sum(b.count for b in blocks) == n
    if backend.is_server:  # no block summaries on a server: every point
        assert blocks == [] and len(points) == n
    summary = store.get_run(run_id).data.summaries["loss"]
    assert (summary.count, summary.step, summary.min, summary.max) == (n, n - 1, 1.0 / n, 1.0)
    more = [Metric("loss", 9.0, 1_000 + n, n)]
    backend.log_points(run_id, more)
    (new,) = store.get_metric_history(run_id, "loss", after=history[-1].cursor)
    assert (new.step, new.value) == (n, 9.0)


def test_summaries_follow_points_logged_later(backend: Backend) -> None:
    store = backend.store
    run_id = store.create_run(backend.experiment()).info.run_id
    backend.log_points(run_id, [Metric("acc", v, 100 + i, i) for i, v in enumerate([3, 1, 2])])
    first = store.get_run(run_id).data.summaries["acc"]
    assert (first.count, first.min, first.max, first.value) == (3, 1.0, 3.0, 2.0)
    backend.log_points(run_id, [Metric("acc", -5.0, 200, 3), Metric("acc", math.nan, 201, 4)])
    later = store.get_run(run_id).data.summaries["acc"]
    assert (later.count, later.min, later.max, later.step) == (5, -5.0, 3.0, 4)
    assert math.isnan(later.value)
    # A point logged late with an old timestamp (it sorts first on a server): still counted.
    backend.log_points(run_id, [Metric("acc", 9.0, 1, 10)])
    found, _total = store.search_run_metrics(run_id, "acc")
    summary = found["acc"]
    assert (summary.count, summary.max, summary.step, summary.value) == (6, 9.0, 10, 9.0)
    assert store.get_run(run_id).data.summaries["acc"] == summary


def test_get_run_keeps_at_most_max_metrics(backend: Backend) -> None:
    run_id = backend.store.create_run(backend.experiment()).info.run_id
    backend.log_points(run_id, [Metric(f"k{i}", float(i), 1, 0) for i in range(5)])
    data = backend.store.get_run(run_id, max_metrics=2).data
    assert len(data.summaries) == 2 and data.more_metrics == 3
    found, total = backend.store.search_run_metrics(run_id, "k", limit=2)
    assert (len(found), total) == (2, 5)


# -- logged models ------------------------------------------------------------------------


def test_logged_models_of_a_run(backend: Backend) -> None:
    store = backend.store
    exp = backend.experiment()
    run_id = store.create_run(exp).info.run_id
    other = store.create_run(exp).info.run_id
    first = backend.logged_model(
        exp, "net", run_id, tags={"t": "v"}, params={"depth": "3"}, model_type="sk"
    )
    second = backend.logged_model(exp, "net-2", run_id)
    backend.logged_model(exp, "elsewhere", other)
    model = store.get_logged_model(first)
    assert (model.model_id, model.name, model.experiment_id) == (first, "net", exp)
    assert (model.source_run_id, model.model_type, model.status) == (run_id, "sk", "PENDING")
    assert (model.tags, model.params) == ({"t": "v"}, {"depth": "3"})
    assert model.model_uri == f"models:/{first}"
    ids = [m.model_id for m in store.logged_models_of_run(run_id)]
    assert sorted(ids) == sorted([first, second])
    created = [store.get_logged_model(i).creation_timestamp for i in ids]
    assert created == sorted(created, reverse=True)  # newest first
    assert store.logged_models_of_run(store.create_run(exp).info.run_id) == []
    assert store.logged_model_files(first) == {}  # nothing recorded while PENDING
    for missing in ("m-" + "0" * 32, "not-a-model", "../m-1"):
        with pytest.raises(NotFoundError):
            store.get_logged_model(missing)


# -- artifacts ----------------------------------------------------------------------------


def test_artifacts_upload_list_download(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    run_id = store.create_run(backend.experiment()).info.run_id
    repo = store.artifacts(run_id)
    repo.write_text("hello\n", "notes/readme.txt")
    source = tmp_path / "src"
    (source / "sub").mkdir(parents=True)
    (source / "a.bin").write_bytes(b"\x00\x01binary")
    (source / "sub" / "b.txt").write_text("bee")
    repo.log_dir(source, "data")
    single = tmp_path / "model.pkl"
    single.write_bytes(b"pickle" * 1000)
    assert repo.log_file(single, "models") == "models/model.pkl"

    top = repo.list()
    assert [(f.path, f.is_dir) for f in top] == [
        ("data", True),
        ("models", True),
        ("notes", True),
    ]
    files = {f.path: f.size for f in repo.walk() if not f.is_dir}
    assert files == {
        "data/a.bin": 8,
        "data/sub/b.txt": 3,
        "models/model.pkl": 6000,
        "notes/readme.txt": 6,
    }
    with repo.open("data/a.bin") as handle:
        assert handle.read() == b"\x00\x01binary"
    with repo.open("notes/readme.txt", "r") as handle:
        assert handle.read() == "hello\n"
    assert repo.local_path("data/sub/b.txt").read_text() == "bee"
    with pytest.raises(NotFoundError):
        repo.open("nothing/here.txt")
    with pytest.raises(NotFoundError, match="directory"):
        repo.open("data/sub")
    assert [(f.path, f.is_dir, f.size) for f in repo.list("data/a.bin")] == [
        ("data/a.bin", False, 8)
    ]
    assert repo.list("nothing") == []
    local = repo.local_path("data")
    assert (local / "sub" / "b.txt").read_text() == "bee"


@pytest.mark.parametrize(
    "hostile", ["../escape.txt", "/etc/passwd", "a/../../b.txt", "a\x00b", "..", "C:/x"]
)
def test_hostile_artifact_paths_are_refused(backend: Backend, hostile: str) -> None:
    store = backend.store
    repo = store.artifacts(store.create_run(backend.experiment()).info.run_id)
    with pytest.raises(ArtifactPathError):
        repo.write_text("x", hostile)
    with pytest.raises(ArtifactPathError):
        repo.open(hostile)
    with pytest.raises(ArtifactPathError):
        repo.list(hostile)
    assert repo.list() == []
