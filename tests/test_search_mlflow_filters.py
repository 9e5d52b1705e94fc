"""MLflow's filter and order_by lists (its `tests/utils/test_search_utils.py`), ported:
valid filters are accepted and select the runs MLflow selects; invalid ones raise
FilterError naming the problem. Where our extensions (OR, parentheses) or our stricter
type check change an answer, the case says so. Dataset rows are ported with `log_input`."""

from __future__ import annotations

import pytest

from mltop.store import FilterError, MltopClient, Store
from mltop.store.query import check_run_search

VALID = [
    "metric.acc >= 0.94",
    "metric.acc>=100",
    "params.m!='tf'",
    'params."m"!="tf"',
    'metric."legit name" >= 0.243',
    "metrics.XYZ = 3",
    'params."cat dog" = "pets"',
    'metrics."X-Y-Z" = 3',
    'metrics."X//Y#$$@&Z" = 3',
    "params.model = 'LinearRegression'",
    "metrics.rmse < 1 and params.model_class = 'LR'",
    "",
    "`metric`.a >= 0.1",
    "tags.version = 'commit-hash'",
    "`tags`.source_name = 'a notebook'",
    'metrics."accuracy.2.0" > 5',
    "metrics.`spacey name` > 5",
    'params."p.a.r.a.m" != "a"',
    'tags."t.a.g" = "a"',
    "attribute.artifact_uri = '1/23/4'",
    "attribute.start_time >= 1234",
    "run.status = 'RUNNING'",
    "tags.version IS NULL",
    "tags.version IS NOT NULL",
    "params.lr IS NULL",
    "params.lr IS NOT NULL",
    "tags.a IS NULL AND params.b = 'val'",
    # test_correct_quote_trimming
    "params.m = 'LR'",
    'params.m = "LR"',
    'params.m = "L\'Hosp"',
]


@pytest.mark.parametrize("text", VALID)
def test_mlflows_valid_filters_are_accepted(text):
    check_run_search(text)


def test_a_params_order_comparison_mlflow_parses_is_refused_when_typed():
    # MLflow's parser returns "`params`.model >= 'LR'" and refuses it when the runs are
    # filtered ("Invalid comparator"); our type check refuses it at once.
    with pytest.raises(FilterError, match="params compare as strings"):
        check_run_search("`params`.model >= 'LR'")


ERRORS = [
    # test_error_filter
    ("metric.acc >= 0.94; metrics.rmse < 1", "';' is not allowed"),
    ("m.acc >= 0.94", "unknown kind 'm'"),
    ("acc >= 0.94", "unknown attribute 'acc'"),
    ("p.model >= 'LR'", "unknown kind 'p'"),
    ("attri.x != 1", "unknown kind 'attri'"),
    ("a.x != 1", "unknown kind 'a'"),
    ("model >= 'LR'", "unknown attribute 'model'"),
    ("metrics.A > 0.1 NAND params.B = 'LR'", "expected AND, OR"),
    ("`metrics.A > 0.1", "unterminated quoted name"),
    ("param`.A > 0.1", "unterminated quoted name"),
    ("`dummy.A > 0.1", "unterminated quoted name"),
    ("dummy`.A > 0.1", "unterminated quoted name"),
    ("attribute.start != 1", "unknown attribute 'start'"),
    ("attribute.experiment_id != 1", "unknown attribute 'experiment_id'"),
    ("attribute.lifecycle_stage = 'ACTIVE'", "unknown attribute 'lifecycle_stage'"),
    ("attribute.name != 1", "unknown attribute 'name'"),
    ("attribute.time != 1", "unknown attribute 'time'"),
    ("attribute._status != 'RUNNING'", "unknown attribute '_status'"),
    ("attribute.status = true", "quote strings"),
    ("metrics.acc IS NULL", "IS NULL works on params and tags"),
    ("attribute.status IS NULL", "IS NULL works on params and tags"),
    # test_error_comparison_clauses
    ("metric.model = 'LR'", "compare it with a number"),
    ("metric.model = '5'", "compare it with a number"),
    ("params.acc = 5", "quote the value"),
    ("tags.acc = 5", "quote the value"),
    ("metrics.acc != metrics.acc", "expected a number or a quoted string"),
    ("1.0 > metrics.acc", "expected an identifier"),
    ("attribute.status = 1", "quote the value"),
    # test_bad_quotes
    ("params.acc = LR", "quote strings"),
    ("tags.acc = LR", "quote strings"),
    ("params.acc = `LR`", "expected a number or a quoted string"),
    ("params.'acc = LR", "expected a key"),
    ("params.acc = 'LR", "unterminated string"),
    ("params.acc = LR'", "unterminated string"),
    ("params.acc = \"LR'", "unterminated string"),
    ("tags.acc = \"LR'", "unterminated string"),
    ("tags.acc = = 'LR'", "expected a number or a quoted string"),
    ("attribute.status IS 'RUNNING'", "expected NULL"),
    # test_invalid_clauses
    ("params.acc LR !=", "expected an operator"),
    ("params.acc LR", "expected an operator"),
    ("metric.acc !=", "expected a number or a quoted string"),
    ("acc != 1.0", "unknown attribute 'acc'"),
    ("foo is null", "IS NULL works on params and tags"),
    ("1=1", "expected an identifier"),
    ("1==2", "use '='"),
    # test_bad_comparators
    ("metrics.abc ~ 1.0", "unexpected character '~'"),
    ("metrics.abc ~= 1.0", "unexpected character '~'"),
    *[
        (f"{kind}.abc {op} {value}", f"{kind} compare as strings")
        for kind, value in (("params", "'my-param-value'"), ("tags", "'my-tag-value'"))
        for op in (">", "<", ">=", "<=")
    ],
    *[(f"attributes.status {op} 'x'", "is a string") for op in (">", "<", ">=", "<=")],
    ("attributes.status ~ 'x'", "unexpected character '~'"),
    ("attributes.start_time LIKE 1234", "is a number"),
    ("attributes.start_time ILIKE 1234", "is a number"),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_mlflows_invalid_filters_raise_filter_error(text, message):
    with pytest.raises(FilterError) as info:
        check_run_search(text)
    assert message in info.value.message


@pytest.mark.parametrize(
    "text",
    [
        "metrics.A > 0.1 OR params.B = 'LR'",  # MLflow: invalid clause; OR is our extension
        "metrics.A > 0.1 AND (params.B = 'LR')",  # MLflow: invalid; parentheses are ours
    ],
)
def test_or_and_parentheses_mlflow_refuses_are_our_extension(text):
    check_run_search(text)


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    """MLflow's three runs of test_correct_filtering / test_correct_sorting (run ids are
    ours; MLflow's are "9", "8", "7")."""
    store = Store(tmp_path_factory.mktemp("filters") / "store")
    client = MltopClient(store)
    e0 = store.create_experiment("e0")
    e1 = store.create_experiment("e1")
    ids = []
    for exp, status, start, value, param, tags in [
        (e0, "FAILED", 0, 121, "A", {}),
        (e0, "FINISHED", 1, 123, "A", {"tag1": "C"}),
        (e1, "FAILED", 1, 125, "B", {"tag1": "D"}),
    ]:
        run_id = store.create_run(
            exp, "r", start_time=start, user_id="user-id", tags=tags
        ).info.run_id
        client.log_metric(run_id, "key1", value, 1, 0)
        client.log_param(run_id, "my_param", param)
        client.flush()
        store.update_run(run_id, status=status, end_time=1)
        ids.append(run_id)
    yield store, ids
    store.close()


@pytest.mark.parametrize(
    ("text", "matching"),
    [
        (None, [0, 1, 2]),
        ("", [0, 1, 2]),
        ("attributes.status = 'FAILED'", [0, 2]),
        ("metrics.key1 = 123", [1]),
        ("metrics.key1 != 123", [0, 2]),
        ("metrics.key1 >= 123", [1, 2]),
        ("params.my_param = 'A'", [0, 1]),
        ("tags.tag1 = 'D'", [2]),
        ("tags.tag1 != 'D'", [1]),
        ("params.my_param = 'A' AND attributes.status = 'FAILED'", [0]),
    ],
)
def test_correct_filtering(three, text, matching):
    store, ids = three
    found = {r.info.run_id for r in store.search_runs(None, text)}
    assert found == {ids[i] for i in matching}


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (["attributes.status"], [2, 0, 1]),
        (["metrics.key1 asc"], [0, 1, 2]),
        (['metrics."key1"  desc'], [2, 1, 0]),
        (["params.my_param aSc", "attributes.status  ASC"], [0, 1, 2]),
        (["params.my_param DESC", "attributes.status   DESC"], [2, 1, 0]),
        (["params.`my_param` DESC", "attributes.status DESC"], [2, 1, 0]),
        (["tags.tag1    DESC"], [2, 1, 0]),
    ],
)
def test_correct_sorting(three, order_by, expected):
    """MLflow's cases whose ties its run ids ("9", "8", "7") do not decide."""
    store, ids = three
    found = [r.info.run_id for r in store.search_runs(None, None, order_by)]
    assert found == [ids[i] for i in expected]


@pytest.mark.parametrize(
    ("order_by", "first"),
    [
        (None, {1, 2}),
        ([], {1, 2}),
        (["tags.noSuchTag"], {1, 2}),
        (["params.my_param"], {0, 1}),
        (["params.my_param", "attributes.status DESC"], {1}),
        (["tags.tag1"], {1}),
        (["attributes.start_time"], {0}),
    ],
)
def test_correct_sorting_where_run_ids_break_ties(three, order_by, first):
    """The rest of MLflow's list: ties left to run ids, which are ours; the untied head of
    the order is MLflow's (start_time DESC before the id)."""
    store, ids = three
    found = [r.info.run_id for r in store.search_runs(None, None, order_by)]
    assert set(found[: len(first)]) == {ids[i] for i in first}
    assert len(found) == 3


ORDER_BY_ERRORS = [
    ("m.acc", "unknown kind 'm'"),
    ("acc", "unknown attribute 'acc'"),
    ("attri.x", "unknown kind 'attri'"),
    ("`metrics.A", "unterminated quoted name"),
    ("`metrics.A`", "unknown attribute 'metrics.A'"),
    ("attribute.start", "unknown attribute 'start'"),
    ("attribute.experiment_id", "unknown attribute 'experiment_id'"),
    ("metrics.A != 1", "expected ASC, DESC or the end"),
    ("attribute.run_id ACS", "expected ASC, DESC or the end"),
    ("attribute.run_id decs", "expected ASC, DESC or the end"),
]


@pytest.mark.parametrize(("order_by", "message"), ORDER_BY_ERRORS)
def test_invalid_order_by_search_runs(order_by, message):
    with pytest.raises(FilterError) as info:
        check_run_search(None, [order_by])
    assert message in info.value.message


def test_an_order_by_with_a_trailing_space_is_read():
    # MLflow refuses "params.my_param " (an invalid order_by clause); we ignore the space.
    check_run_search(None, ["params.my_param "])


@pytest.mark.parametrize(
    "order_by",
    [
        "metrics.`Mean Square Error`",
        "metrics.`Mean Square Error` ASC",
        "metrics.`Mean Square Error` DESC",
    ],
)
def test_space_order_by_search_runs(order_by):
    check_run_search(None, [order_by])


def test_order_by_metric_with_nans_infs_nones(tmp_path):
    with Store(tmp_path / "store") as store:
        client = MltopClient(store)
        exp = store.create_experiment("x")
        for name in ["nan", "inf", "-inf", "-1000", "0", "1000", "None"]:
            run_id = store.create_run(exp, name, start_time=0).info.run_id
            if name != "None":
                client.log_metric(run_id, "x", float(name), 1, 0)
        client.flush()

        def names(direction):
            runs = store.search_runs([exp], None, [f"metrics.x {direction}"])
            return [r.info.run_name for r in runs]

        assert names("asc") == ["-inf", "-1000", "0", "1000", "inf", "nan", "None"]
        assert names("desc") == ["inf", "1000", "0", "-1000", "-inf", "nan", "None"]
