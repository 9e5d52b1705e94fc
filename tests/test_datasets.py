"""Datasets as run inputs: logging (`Store.log_inputs`, `MltopClient.log_inputs`, fluent
`log_input`), reading (`run.inputs`), searching (`dataset.name / digest / context`), the
schema migration that adds them, and `mltop runs show`.

The cases named after MLflow's keep its data and its expected answers: the store's
(`tests/store/tracking/test_sqlalchemy_store.py`) and the filter's
(`tests/utils/test_search_utils.py`)."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mltop.store import (
    Dataset,
    DatasetInput,
    FilterError,
    InputTag,
    InvalidStateError,
    InvalidValueError,
    MltopClient,
    Run,
    RunInputs,
    Store,
    keys,
    upgrade_pending,
)
from mltop.store.entities import DATASET_CONTEXT_TAG, NO_INPUTS
from mltop.store.query.compiler import check_run_search
from mltop.store.sqlite import schema
from mltop.tui.cli import main

CONTEXT = DATASET_CONTEXT_TAG


def _dataset(i: object) -> Dataset:
    return Dataset(
        name=f"name{i}",
        digest=f"digest{i}",
        source_type=f"st{i}",
        source=f"source{i}",
        schema=f"schema{i}",
        profile=f"profile{i}",
    )


def _run(store: Store, experiment_id: str, start_time: int | None = None) -> str:
    return store.create_run(experiment_id, "name", start_time=start_time).info.run_id


def _ids(store: Store, experiment_id: str, filter_string: str) -> set[str]:
    return {r.info.run_id for r in store.search_runs([experiment_id], filter_string)}


def assert_inputs_equal(found: tuple[DatasetInput, ...], expected: list[DatasetInput]) -> None:
    """MLflow's comparison: the same datasets (every field), each with the same tags,
    whatever the order."""

    def key(item: DatasetInput) -> tuple[str, str]:
        return (item.dataset.name, item.dataset.digest)

    assert len(found) == len(expected)
    for got, want in zip(sorted(found, key=key), sorted(expected, key=key), strict=True):
        assert got.dataset.to_dictionary() == want.dataset.to_dictionary()
        assert sorted((t.key, t.value) for t in got.tags) == sorted(
            (t.key, t.value) for t in want.tags
        )


# -- MLflow's store cases -------------------------------------------------------------------


def test_log_inputs_and_retrieve_runs_behaves_as_expected(store):
    exp = store.create_experiment("test exp")
    run1, run2, run3 = (_run(store, exp, t) for t in (1, 3, 2))
    d1, d2, d3 = _dataset(1), _dataset(2), _dataset(3)
    tags1 = [InputTag("key1", "value1"), InputTag("key2", "value2")]
    tags2 = [InputTag("key3", "value3"), InputTag("key4", "value4")]
    tags3 = [InputTag("key5", "value5"), InputTag("key6", "value6")]
    inputs1 = [DatasetInput(d1, tags1), DatasetInput(d2, tags1)]
    inputs2 = [DatasetInput(d1, tags2), DatasetInput(d3, tags3)]
    inputs3 = [DatasetInput(d2, tags3)]
    store.log_inputs(run1, inputs1)
    store.log_inputs(run2, inputs2)
    store.log_inputs(run3, inputs3)

    assert_inputs_equal(store.get_run(run1).inputs.dataset_inputs, inputs1)
    assert_inputs_equal(store.get_run(run2).inputs.dataset_inputs, inputs2)
    assert_inputs_equal(store.get_run(run3).inputs.dataset_inputs, inputs3)

    ascending = list(store.search_runs([exp], None, ["start_time ASC"], max_results=4))
    assert [r.info.run_id for r in ascending] == [run1, run3, run2]
    assert_inputs_equal(ascending[0].inputs.dataset_inputs, inputs1)
    assert_inputs_equal(ascending[2].inputs.dataset_inputs, inputs2)
    assert_inputs_equal(ascending[1].inputs.dataset_inputs, inputs3)
    descending = list(store.search_runs([exp], None, ["start_time DESC"], max_results=4))
    assert [r.info.run_id for r in descending] == [run2, run3, run1]
    assert_inputs_equal(descending[2].inputs.dataset_inputs, inputs1)
    assert_inputs_equal(descending[0].inputs.dataset_inputs, inputs2)
    assert_inputs_equal(descending[1].inputs.dataset_inputs, inputs3)


def test_log_input_multiple_times_does_not_overwrite_tags_or_dataset(store):
    exp = store.create_experiment("test exp")
    run = _run(store, exp)
    dataset = Dataset("name", "digest", "st", "source", "schema", "profile")
    tags = [InputTag("key1", "value1"), InputTag("key2", "value2")]
    store.log_inputs(run, [DatasetInput(dataset, tags)])
    for i in range(3):
        # The same name and digest: neither the dataset nor the input's tags change.
        overwrite = Dataset("name", "digest", f"st{i}", f"source{i}", f"schema{i}", f"profile{i}")
        overwrite_tags = [
            InputTag(f"key{i}", f"value{i}"),
            InputTag(f"key{i + 1}", f"value{i + 1}"),
        ]
        store.log_inputs(run, [DatasetInput(overwrite, overwrite_tags)])
    assert_inputs_equal(store.get_run(run).inputs.dataset_inputs, [DatasetInput(dataset, tags)])

    other_name = Dataset("other_name", "digest", "st", "source", "schema", "profile")
    other_name_tags = [InputTag("k1", "v1")]
    store.log_inputs(run, [DatasetInput(other_name, other_name_tags)])
    other_digest = Dataset("name", "other_digest", "st", "source", "schema", "profile")
    other_digest_tags = [InputTag("k2", "v2")]
    store.log_inputs(run, [DatasetInput(other_digest, other_digest_tags)])
    assert_inputs_equal(
        store.get_run(run).inputs.dataset_inputs,
        [
            DatasetInput(dataset, tags),
            DatasetInput(other_name, other_name_tags),
            DatasetInput(other_digest, other_digest_tags),
        ],
    )

    # The same dataset logged to new runs: each run has its own input tags.
    for i in range(3):
        new_run = store.create_run(exp, None, start_time=0).info.run_id
        new_tags = [InputTag(f"key{i}", f"value{i}"), InputTag(f"key{i + 1}", f"value{i + 1}")]
        store.log_inputs(new_run, [DatasetInput(dataset, new_tags)])
        assert_inputs_equal(
            store.get_run(new_run).inputs.dataset_inputs, [DatasetInput(dataset, new_tags)]
        )


def test_log_inputs_handles_case_when_no_datasets_are_specified(store):
    run = _run(store, store.create_experiment("test exp"))
    store.log_inputs(run)
    store.log_inputs(run, datasets=None)
    assert store.get_run(run).inputs == NO_INPUTS


def test_log_inputs_fails_with_missing_inputs(store):
    run = _run(store, store.create_experiment("test exp"))
    dataset = Dataset("name1", "digest1", "type", "source")
    tags = [InputTag("key", "train")]
    cases = [
        (DatasetInput(dataset, [InputTag(None, "train")]), "input tag key must be a string"),  # type: ignore[arg-type]
        (DatasetInput(dataset, [InputTag("key", None)]), "input tag value must be a string"),  # type: ignore[arg-type]
        (DatasetInput(Dataset(None, "d", "type", "s"), tags), "dataset name must be a string"),  # type: ignore[arg-type]
        (DatasetInput(Dataset("n", None, "type", "s"), tags), "dataset digest must be a string"),  # type: ignore[arg-type]
        (
            DatasetInput(Dataset("n", "d", None, "s"), tags),  # type: ignore[arg-type]
            "dataset source_type must be a string",
        ),
        (DatasetInput(Dataset("n", "d", "type", None), tags), "dataset source must be a string"),  # type: ignore[arg-type]
    ]
    for item, message in cases:
        with pytest.raises(InvalidValueError, match=message):
            store.log_inputs(run, [item])
    assert store.get_run(run).inputs.dataset_inputs == ()


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("input tag key", keys.MAX_INPUT_TAG_KEY_LENGTH),
        ("input tag value", keys.MAX_INPUT_TAG_VALUE_LENGTH),
        ("dataset name", keys.MAX_DATASET_NAME_LENGTH),
        ("dataset digest", keys.MAX_DATASET_DIGEST_LENGTH),
        ("dataset source", keys.MAX_DATASET_SOURCE_LENGTH),
        ("dataset schema", keys.MAX_DATASET_SCHEMA_LENGTH),
        ("dataset profile", keys.MAX_DATASET_PROFILE_LENGTH),
    ],
)
def test_log_inputs_with_large_inputs_limit_check(store, field, limit):
    # MLflow's limits: 255, 500, 500, 36, 65535, 1048575, 16777215.
    assert (
        limit
        == {
            "input tag key": 255,
            "input tag value": 500,
            "dataset name": 500,
            "dataset digest": 36,
            "dataset source": 65535,
            "dataset schema": 1048575,
            "dataset profile": 16777215,
        }[field]
    )

    def item(length: int) -> DatasetInput:
        text = "a" * length
        parts = {"name": "name1", "digest": "digest1", "source_type": "type", "source": "source"}
        tag = InputTag("key", "train")
        if field == "input tag key":
            tag = InputTag(text, "train")
        elif field == "input tag value":
            tag = InputTag("key", text)
        else:
            parts[field.split()[1]] = text
        return DatasetInput(Dataset(**parts), [tag])

    exp = store.create_experiment("limits")
    fits = item(limit)
    run = _run(store, exp)
    store.log_inputs(run, [fits])
    assert_inputs_equal(store.get_run(run).inputs.dataset_inputs, [fits])
    other = _run(store, exp)
    with pytest.raises(InvalidValueError, match=f"{field} is {limit + 1} characters long"):
        store.log_inputs(other, [item(limit + 1)])
    assert store.get_run(other).inputs.dataset_inputs == ()


def test_log_inputs_with_duplicates_in_single_request(store):
    run = _run(store, store.create_experiment("test exp"), 1)
    tags = [InputTag("key1", "value1"), InputTag("key2", "value2")]
    store.log_inputs(run, [DatasetInput(_dataset(1), tags), DatasetInput(_dataset(1), tags)])
    assert_inputs_equal(store.get_run(run).inputs.dataset_inputs, [DatasetInput(_dataset(1), tags)])


def test_search_runs_datasets(store):
    exp = store.create_experiment("test_search_runs_datasets")
    run1, run2, run3 = (_run(store, exp, t) for t in (1, 3, 2))
    test_tag = [InputTag(CONTEXT, "test")]
    train_tag = [InputTag(CONTEXT, "train")]
    eval_tag = [InputTag(CONTEXT, "eval")]
    store.log_inputs(
        run1, [DatasetInput(_dataset(1), train_tag), DatasetInput(_dataset(2), eval_tag)]
    )
    store.log_inputs(
        run2, [DatasetInput(_dataset(1), train_tag), DatasetInput(_dataset(3), eval_tag)]
    )
    store.log_inputs(run3, [DatasetInput(_dataset(2), test_tag)])
    expected = {
        "dataset.name = 'name1'": {run1, run2},
        "dataset.digest = 'digest2'": {run1, run3},
        "dataset.name = 'name4'": set(),
        "dataset.context = 'train'": {run1, run2},
        "dataset.context = 'test'": {run3},
        "dataset.context = 'test' and dataset.name = 'name2'": {run3},
        "dataset.name = 'name2' and dataset.context = 'test'": {run3},
        "datasets.name IN ('name1', 'name2')": {run1, run2, run3},
        "datasets.digest IN ('digest1', 'digest2')": {run1, run2, run3},
        "datasets.name LIKE 'Name%'": set(),
        "datasets.name ILIKE 'Name%'": {run1, run2, run3},
        "datasets.context ILIKE 'test%'": {run3},
        "datasets.context IN ('test', 'train')": {run1, run2, run3},
    }
    for filter_string, runs in expected.items():
        assert _ids(store, exp, filter_string) == runs, filter_string


def test_search_runs_datasets_with_param_filters(store):
    exp = store.create_experiment("test_search_runs_datasets_with_param_filters")
    run1, run2 = _run(store, exp), _run(store, exp)
    store.log_params(run1, {"learning_rate": "0.01", "batch_size": "32"})
    store.log_params(run2, {"learning_rate": "0.02"})
    train = [InputTag(CONTEXT, "training")]
    dataset = Dataset("train_data", "digest1", "local", "source1")
    store.log_inputs(run1, [DatasetInput(dataset, train)])
    store.log_inputs(run2, [DatasetInput(dataset, train)])
    for filter_string in (
        "params.learning_rate = '0.01' AND dataset.name = 'train_data'",
        "params.learning_rate = '0.01' AND dataset.context = 'training'",
        "params.learning_rate = '0.01' AND params.batch_size = '32' "
        "AND dataset.name = 'train_data'",
        "params.learning_rate = '0.01' AND dataset.name = 'train_data' "
        "AND dataset.context = 'training'",
    ):
        assert _ids(store, exp, filter_string) == {run1}, filter_string


# -- MLflow's filter cases (test_search_utils.py), through our store -------------------------


@pytest.mark.parametrize(
    ("filter_string", "matching_runs"),
    [
        ("datasets.name = 'name1'", [0, 1]),
        ("datasets.name IN ('name1', 'name2')", [0, 1, 2]),
        ("datasets.digest IN ('digest1', 'digest2')", [0, 1, 2]),
        ("datasets.name = 'name1' AND datasets.digest = 'digest2'", []),
        ("datasets.context = 'train'", [0]),
        ("datasets.name = 'name1' AND datasets.context = 'train'", [0]),
    ],
)
def test_correct_filtering(store, filter_string, matching_runs):
    second = store.create_experiment("1")
    runs = [_run(store, "0"), _run(store, "0"), _run(store, second)]
    dataset1 = Dataset("name1", "digest1", "my_source_type", "source")
    dataset2 = Dataset("name2", "digest2", "my_source_type", "source")
    store.log_inputs(runs[0], [DatasetInput(dataset1, [InputTag(CONTEXT, "train")])])
    store.log_inputs(runs[1], [DatasetInput(dataset1, [])])
    store.log_inputs(runs[2], [DatasetInput(dataset2, [])])
    found = {r.info.run_id for r in store.search_runs(["0", second], filter_string)}
    assert found == {runs[i] for i in matching_runs}


@pytest.mark.parametrize("comparator", [">", "<", ">=", "<=", "~"])
def test_bad_comparators(store, comparator):
    with pytest.raises(FilterError):
        list(store.search_runs(None, f"datasets.name {comparator} 'my-dataset-name'"))


@pytest.mark.parametrize(
    ("filter_string", "message"),
    [
        ("dataset.status = 'true'", "unknown dataset key 'status'"),
        ("dataset.profile = 'num_rows: 10'", "unknown dataset key 'profile'"),
    ],
)
def test_error_filter(filter_string, message):
    with pytest.raises(FilterError, match=message):
        check_run_search(filter_string)


@pytest.mark.parametrize(
    ("filter_string", "message"),
    [
        ("dataset.name = 5", "quote the value"),
        ("dataset.digest IN ('a', 5)", "quote the value"),
        ("dataset.name IS NULL", "not IS NULL"),
        ("dataset.context > 'a'", "not >"),
        ("datasets.name LIKE 3", "quote the value"),
    ],
)
def test_dataset_filters_refused_with_a_clear_error(filter_string, message):
    with pytest.raises(FilterError, match=message):
        check_run_search(filter_string)


def test_dataset_conditions_hold_of_any_input_and_negations_too(store):
    """`!=` and NOT IN hold when some input differs (MLflow's meaning); a run without
    inputs matches no dataset condition, not even a negated one."""
    exp = store.create_experiment("neg")
    both, only_a, none = _run(store, exp), _run(store, exp), _run(store, exp)
    a = Dataset("a", "1", "local", "s")
    b = Dataset("b", "2", "local", "s")
    store.log_inputs(both, [DatasetInput(a, [InputTag(CONTEXT, "train")]), DatasetInput(b)])
    store.log_inputs(only_a, [DatasetInput(a)])
    assert _ids(store, exp, "dataset.name != 'a'") == {both}
    assert _ids(store, exp, "dataset.name NOT IN ('a')") == {both}
    assert _ids(store, exp, "dataset.name NOT IN ('a', 'b')") == set()
    assert _ids(store, exp, "dataset.context != 'eval'") == {both}
    assert _ids(store, exp, "dataset.name = 'a' OR params.x = 'y'") == {both, only_a}
    assert none not in _ids(store, exp, "dataset.digest != 'zzz'")


def test_experiment_searches_have_no_datasets(store):
    with pytest.raises(FilterError, match="unknown kind 'dataset'"):
        store.search_experiments("dataset.name = 'x'")


# -- datasets stored per experiment, the change feed, deleted runs ------------------------


def test_a_dataset_is_stored_once_per_experiment_and_first_logged_wins(store):
    one, two = store.create_experiment("one"), store.create_experiment("two")
    first = Dataset("d", "v1", "local", '{"uri": "a"}', None, '{"num_rows": 1}')
    later = Dataset("d", "v1", "local", '{"uri": "b"}')
    store.log_inputs(_run(store, one), [DatasetInput(first)])
    store.log_inputs(_run(store, one), [DatasetInput(later)])
    run_two = _run(store, two)
    store.log_inputs(run_two, [DatasetInput(later)])
    rows = store.thread_connection().execute(
        "SELECT experiment_id, source, profile FROM datasets ORDER BY id"
    )
    assert rows.fetchall() == [
        (int(one), '{"uri": "a"}', '{"num_rows": 1}'),
        (int(two), '{"uri": "b"}', None),
    ]
    assert store.get_run(run_two).inputs.dataset_inputs[0].dataset == later


def test_logging_inputs_is_a_change_the_dashboard_sees_and_relogging_is_not(store):
    run = _run(store, "0")
    item = DatasetInput(Dataset("d", "1", "local", "s"), [InputTag(CONTEXT, "train")])
    cursor = store.cursor()
    store.log_inputs(run, [item])
    changes = store.changes_since(cursor)
    assert changes.run_ids == [run]
    again = store.cursor()
    store.log_inputs(run, [item])  # the same input: nothing written
    assert store.changes_since(again).run_ids == []
    assert store.cursor().seq == again.seq
    # A search re-reads the run after its inputs changed (its cached data is stale).
    (found,) = store.search_runs()
    assert found.inputs.dataset_inputs == (item,)
    store.log_inputs(run, [DatasetInput(Dataset("e", "1", "local", "s"))])
    (found,) = store.search_runs()
    assert len(found.inputs.dataset_inputs) == 2


def test_a_deleted_run_takes_no_inputs_and_nothing_of_a_failed_call_is_kept(store):
    run = _run(store, "0")
    good = DatasetInput(Dataset("good", "1", "local", "s"))
    bad = DatasetInput(Dataset("bad", "x" * 37, "local", "s"))
    with pytest.raises(InvalidValueError):
        store.log_inputs(run, [good, bad])
    assert store.get_run(run).inputs.dataset_inputs == ()
    store.delete_run(run)
    with pytest.raises(InvalidStateError, match="deleted"):
        store.log_inputs(run, [good])
    with pytest.raises(InvalidValueError, match="list of DatasetInput"):
        store.log_inputs(run, "not inputs")  # type: ignore[arg-type]


def test_inputs_are_read_in_the_order_logged_and_runs_without_are_cheap_to_build(store):
    run = _run(store, "0")
    names = ["z", "a", "m"]
    for name in names:
        store.log_inputs(run, [DatasetInput(Dataset(name, "1", "local", "s"))])
    assert [i.dataset.name for i in store.get_run(run).inputs.dataset_inputs] == names
    assert [i.dataset.name for i in store.get_run(run, max_metrics=0).inputs.dataset_inputs] == (
        names
    )
    bare = Run(store.get_run(run).info, store.get_run(run).data)  # as every caller builds one
    assert bare.inputs == RunInputs() and bare.inputs.model_inputs == ()


# -- the client and the fluent API --------------------------------------------------------


def test_client_log_inputs_takes_mlflows_parameters_and_refuses_models(client):
    run = client.create_run(run_name="r", log_system_info=False).info.run_id
    item = DatasetInput(Dataset("d", "1", "local", "s"))
    client.log_inputs(run, [item])
    assert client.get_run(run).inputs.dataset_inputs == (item,)
    with pytest.raises(InvalidValueError, match="logged models"):
        client.log_inputs(run, None, ["model-input"])
    client.log_inputs(run, models=[])  # empty: nothing asked


def test_fluent_log_input_with_context_and_tags(fluent):
    dataset = Dataset("iris", "abc", "local", '{"uri": "iris.csv"}', '{"s": 1}', '{"p": 2}')
    with fluent.start_run() as run:
        fluent.log_input(dataset, context="training", tags={"split": "80%", "seed": "1"})
        fluent.log_input(Dataset("iris", "def", "local", "{}"))
        fluent.log_input()  # nothing to log: a no-op, as MLflow's
    inputs = fluent.get_run(run.info.run_id).inputs.dataset_inputs
    assert [i.dataset for i in inputs] == [dataset, Dataset("iris", "def", "local", "{}")]
    assert inputs[0].tags == (
        InputTag("split", "80%"),
        InputTag("seed", "1"),
        InputTag(CONTEXT, "training"),
    )
    assert inputs[0].context == "training" and inputs[1].context is None
    found = fluent.search_runs(filter_string="dataset.context = 'training'", output_format="list")
    assert [r.info.run_id for r in found] == [run.info.run_id]


def test_fluent_log_input_refuses_what_it_cannot_log(fluent):
    with fluent.start_run():
        with pytest.raises(InvalidValueError, match="logged models"):
            fluent.log_input(Dataset("d", "1", "local", "s"), model=object())
        with pytest.raises(InvalidValueError, match="give the dataset"):
            fluent.log_input(None, context="training")
        with pytest.raises(InvalidValueError, match="must be a Dataset"):
            fluent.log_input({"name": "d"})  # type: ignore[arg-type]


# -- hostile names --------------------------------------------------------------------------

HOSTILE = ["[bold]x[/]", "'; DROP TABLE runs; --", "a%b_c*?[d]", '\\ " ` \n']


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_stored_and_found_literally(store, name):
    run, other = _run(store, "0"), _run(store, "0")
    store.log_inputs(run, [DatasetInput(Dataset(name, name[:36], "local", name), [])])
    store.log_inputs(other, [DatasetInput(Dataset("plain", "1", "local", "s"), [])])
    quoted = "'" + name.replace("'", "''") + "'"
    assert _ids(store, "0", f"dataset.name = {quoted}") == {run}
    assert _ids(store, "0", f"dataset.name IN ({quoted}, 'nothing')") == {run}
    assert _ids(store, "0", f"dataset.name LIKE {quoted}") == {run}  # matches itself
    assert store.get_run(run).inputs.dataset_inputs[0].dataset.name == name
    assert store.thread_connection().execute("SELECT count(*) FROM runs").fetchone()[0] == 2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(min_size=1, max_size=30))
def test_any_name_is_found_by_equality(name):
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "s") as store:
        run = store.create_run("0", "r").info.run_id
        store.log_inputs(run, [DatasetInput(Dataset(name, "d", "local", "s"))])
        quoted = "'" + name.replace("'", "''") + "'"
        assert _ids(store, "0", f"dataset.name = {quoted}") == {run}


def test_runs_show_lists_inputs_literally_in_text_and_json(store_path):
    client = MltopClient(Store(store_path))
    run = client.create_run(run_name="r", log_system_info=False).info.run_id
    hostile = "[bold]x[/]"
    client.log_inputs(
        run,
        [
            DatasetInput(
                Dataset(hostile, "c0ffee", "s3", json.dumps({"uri": "s3://b/[red]t[/].csv"})),
                [InputTag(CONTEXT, "[i]training[/i]")],
            ),
            DatasetInput(Dataset("plain", "1", "local", "not json")),
        ],
    )
    client.close()
    runner = CliRunner()
    shown = runner.invoke(main, ["runs", "show", run, "--store", str(store_path)])
    assert shown.exit_code == 0, shown.output
    assert "Datasets" in shown.stdout
    for text in (
        hostile,
        "c0ffee",
        "s3: s3://b/[red]t[/].csv",
        "[i]training[/i]",
        "local: not json",
    ):
        assert text in shown.stdout
    as_json = runner.invoke(main, ["runs", "show", run, "--json", "--store", str(store_path)])
    inputs = json.loads(as_json.stdout)["inputs"]["dataset_inputs"]
    assert inputs[0]["dataset"]["name"] == hostile
    assert inputs[0]["context"] == "[i]training[/i]"
    assert inputs[0]["tags"] == {CONTEXT: "[i]training[/i]"}
    assert inputs[1]["dataset"] == {
        "name": "plain",
        "digest": "1",
        "source_type": "local",
        "source": "not json",
        "schema": None,
        "profile": None,
    }


def test_runs_show_says_nothing_of_datasets_for_a_run_without(store_path):
    client = MltopClient(Store(store_path))
    run = client.create_run(run_name="r", log_system_info=False).info.run_id
    client.close()
    shown = CliRunner().invoke(main, ["runs", "show", run, "--store", str(store_path)])
    assert shown.exit_code == 0 and "Datasets" not in shown.stdout
    as_json = CliRunner().invoke(main, ["runs", "show", run, "--json", "--store", str(store_path)])
    assert json.loads(as_json.stdout)["inputs"] == {"dataset_inputs": []}


# -- the migration --------------------------------------------------------------------------


def _set_back_to_v3(path: Path) -> None:
    conn = sqlite3.connect(path / "mltop.db")
    conn.execute("DROP TABLE run_inputs")
    conn.execute("DROP TABLE datasets")
    conn.execute("PRAGMA user_version = 3")  # as the previous mltop left it
    conn.commit()
    conn.close()


def test_a_store_of_schema_3_is_upgraded_keeping_its_data(store_path):
    client = MltopClient(Store(store_path))
    run = client.create_run(run_name="old", log_system_info=False).info.run_id
    client.log_param(run, "lr", 0.1)
    client.log_metric(run, "loss", 0.5, step=3)
    client.close()
    client.store.close()
    _set_back_to_v3(store_path)
    assert upgrade_pending(store_path)

    store = Store(store_path)
    conn = store.thread_connection()
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST_VERSION == 8
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"datasets", "run_inputs"} <= tables
    kept = store.get_run(run)
    assert kept.info.run_name == "old" and kept.data.params == {"lr": "0.1"}
    assert kept.data.metrics == {"loss": 0.5} and kept.inputs == NO_INPUTS
    store.log_inputs(run, [DatasetInput(Dataset("d", "1", "local", "s"))])
    assert _ids(store, "0", "dataset.name = 'd'") == {run}
    assert not upgrade_pending(store_path)
    store.close()


def test_the_v4_migration_on_a_database_built_by_migrations_1_to_3(tmp_path):
    """A database as mltop's schema 3 made it (no table of this change), upgraded."""
    folder = tmp_path / "store"
    folder.mkdir()
    conn = sqlite3.connect(folder / "mltop.db", isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    for migration in schema.MIGRATIONS[:3]:
        migration(conn)
    conn.execute("PRAGMA user_version = 3")
    conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    conn.execute(
        "INSERT INTO runs (run_id, experiment_id, name, status, start_time) "
        "VALUES ('a' || hex(randomblob(15)) || 'b', 0, 'made at 3', 'FINISHED', 1)"
    )
    conn.execute("COMMIT")
    assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'datasets'").fetchone()
    conn.close()
    with Store(folder) as store:
        (run,) = store.list_runs()
        assert run.info.run_name == "made at 3"
        store.log_inputs(run.info.run_id, [DatasetInput(Dataset("d", "1", "local", "s"))])
        assert store.get_run(run.info.run_id).inputs.dataset_inputs[0].dataset.name == "d"


# -- the dashboard ------------------------------------------------------------------------


def test_the_run_detail_summary_names_the_datasets_literally(store_path):
    import asyncio

    from mltop.tui.app import MltopApp
    from mltop.tui.screens.run_detail import RunDetailScreen

    client = MltopClient(Store(store_path))
    run = client.create_run(run_name="r", log_system_info=False).info.run_id
    client.log_inputs(
        run,
        [
            DatasetInput(Dataset("[bold]train[/]", "1", "local", "s"), [InputTag(CONTEXT, "fit")]),
            DatasetInput(Dataset("test", "2", "local", "s")),
        ],
    )
    client.close()

    async def scenario() -> str:
        app = MltopApp(store_path, follow=False)
        async with app.run_test(size=(140, 40)) as pilot:
            app.push_screen(RunDetailScreen(app.store, run))
            for _ in range(500):
                await pilot.pause(0.02)
                screen = app.screen
                if isinstance(screen, RunDetailScreen):
                    text = str(screen.query_one("#summary").render())
                    if "data" in text:
                        return text
            raise AssertionError("the summary never named the datasets")

    assert "data [bold]train[/] (fit), test" in asyncio.run(scenario())
