"""Searching runs with MLflow's filter language: a table of filters, semantics, paging,
and properties that hold for any input."""

from __future__ import annotations

import contextlib
import math
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mltop.store import FilterError, MltopClient, PageTokenError, Store
from mltop.store.query.compiler import like_to_glob
from mltop.store.sqlite.search import compile_run_search


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Five runs in two experiments, built to tell every rule apart."""
    path = tmp_path_factory.mktemp("search") / "store"
    client = MltopClient(Store(path))
    a = client.create_experiment("A")
    b = client.create_experiment("B")
    ids = {}

    def run(name, exp, start, user, params, metrics, tags, status):
        r = client.store.create_run(
            exp, name, start_time=start, user_id=user, tags=tags, status="RUNNING"
        )
        rid = r.info.run_id
        ids[name] = rid
        client.log_params(rid, params)
        for key, values in metrics.items():
            for step, value in enumerate(values):
                client.log_metric(rid, key, value, step=step)
        client.flush()
        if status != "RUNNING":
            client.store.update_run(rid, status=status, end_time=start + 500)

    run(
        "alpha",
        a,
        1000,
        "ana",
        {"lr": 0.1, "opt": "adam", "model": "resnet50"},
        {"acc": [0.5, 0.95], "loss": [0.9, 0.1]},
        {"team": "vision", "note": "L'Hosp"},
        "FINISHED",
    )
    run(
        "beta",
        a,
        2000,
        "bob",
        {"lr": 0.01, "opt": "sgd", "model": "ResNet18"},
        {"acc": [0.85], "loss": [0.3]},
        {"team": "nlp"},
        "FAILED",
    )
    run(
        "gamma",
        a,
        3000,
        "ana",
        {"lr": 0.1, "opt": "Adam"},
        {"acc": [0.7, math.nan], "loss": [0.2]},
        {},
        "RUNNING",
    )
    run(
        "delta",
        b,
        4000,
        "cy",
        {"opt": "adam", "model": "res*net[1]"},
        {"val loss": [0.5], "a/b": [1.0]},
        {"team": "vision"},
        "KILLED",
    )
    run("[bold]epsilon[/]", b, 5000, "dee", {}, {"acc": [math.inf]}, {}, "FINISHED")
    client.close()
    store = Store(path)
    store.ids = ids  # type: ignore[attr-defined]
    return store


ALL = {"alpha", "beta", "gamma", "delta", "[bold]epsilon[/]"}
EPS = "[bold]epsilon[/]"

VALID = [
    ("", ALL),
    ("   ", ALL),
    ("metrics.acc > 0.9", {"alpha", EPS}),
    ("metric.acc > 0.9", {"alpha", EPS}),
    ("metrics.acc >= 0.85", {"alpha", "beta", EPS}),
    ("metrics.acc < 0.9", {"beta"}),
    ("metrics.acc <= 0.85", {"beta"}),
    ("metrics.acc = 0.85", {"beta"}),
    ("metrics.acc != 0.85", {"alpha", "gamma", EPS}),
    ("metrics.acc < 0.6", set()),  # alpha logged 0.5 once, but its latest is 0.95
    ("metrics.acc > -1e9", {"alpha", "beta", EPS}),
    ("metrics.loss < .25", {"alpha", "gamma"}),
    ("params.opt = 'adam'", {"alpha", "delta"}),
    ("param.opt = 'adam'", {"alpha", "delta"}),
    ('parameters.opt = "adam"', {"alpha", "delta"}),
    ("params.opt != 'adam'", {"beta", "gamma"}),
    ("params.opt LIKE 'a%'", {"alpha", "delta"}),
    ("params.opt ILIKE 'a%'", {"alpha", "gamma", "delta"}),
    ("params.model LIKE '%Net%'", {"beta"}),
    ("params.model ILIKE '%net%'", {"alpha", "beta", "delta"}),
    ("params.model LIKE 'res*net[1]'", {"delta"}),
    ("params.model LIKE 'res_net%'", {"delta"}),
    ("params.lr = '0.1'", {"alpha", "gamma"}),
    ("params.opt IS NULL", {EPS}),
    ("params.opt is not null", {"alpha", "beta", "gamma", "delta"}),
    ("tags.team = 'vision'", {"alpha", "delta"}),
    ("tag.team != 'vision'", {"beta"}),
    ("tags.team IS NULL", {"gamma", EPS}),
    ('tags.note = "L\'Hosp"', {"alpha"}),
    ("tags.note = 'L''Hosp'", {"alpha"}),
    ("attributes.status = 'FAILED'", {"beta"}),
    ("attribute.status != 'FINISHED'", {"beta", "gamma", "delta"}),
    ("attr.status LIKE 'F%'", {"alpha", "beta", EPS}),
    ("run.status ILIKE 'f%'", {"alpha", "beta", EPS}),
    ("attributes.run_name = 'beta'", {"beta"}),
    ("attributes.run_name = '[bold]epsilon[/]'", {EPS}),
    ("attributes.user_id = 'ana'", {"alpha", "gamma"}),
    ("attributes.start_time > 2500", {"gamma", "delta", EPS}),
    ("attributes.created <= 2000", {"alpha", "beta"}),
    ("attributes.end_time > 0", {"alpha", "beta", "delta", EPS}),
    ("attributes.run_id IN ('{alpha}', '{beta}')", {"alpha", "beta"}),
    ("attributes.run_id NOT IN ('{alpha}')", ALL - {"alpha"}),
    ("attributes.run_id = '{gamma}'", {"gamma"}),
    ("attributes.artifact_uri LIKE '%{alpha}'", {"alpha"}),
    ("metrics.`val loss` < 1", {"delta"}),
    ('metrics."a/b" = 1', {"delta"}),
    ("metrics.a/b = 1", {"delta"}),
    ("metrics.acc > 0.9 and params.opt = 'adam'", {"alpha"}),
    ("metrics.acc > 0.9 AND params.opt = 'adam'", {"alpha"}),
    ("metrics.acc > 0.9 And params.opt = 'adam'", {"alpha"}),
    ("params.opt = 'sgd' or tags.team = 'vision'", {"alpha", "beta", "delta"}),
    ("params.opt = 'sgd' OR tags.team = 'vision' AND metrics.acc > 0.9", {"alpha", "beta"}),
    ("(params.opt = 'sgd' or tags.team = 'vision') and metrics.acc > 0.9", {"alpha"}),
    ("((metrics.loss < 1))", {"alpha", "beta", "gamma"}),
    (
        "(params.opt = 'sgd' or params.opt = 'adam') and (tags.team = 'vision' or "
        "attributes.status = 'FAILED')",
        {"alpha", "beta", "delta"},
    ),
    (
        "(metrics.acc > 0.9 and tags.team = 'vision') or (params.opt = 'sgd' and metrics.loss < 1)",
        {"alpha", "beta"},
    ),
    ("params.opt IS NOT NULL and tags.team IS NULL", {"gamma"}),
    (
        "params.lr = '0.1' and (metrics.loss < 0.15 or metrics.loss > 0.15) and "
        "attributes.user_id = 'ana'",
        {"alpha", "gamma"},
    ),
    ("metrics.missing > 0", set()),
    ("metrics.missing != 0", set()),
    ("params.opt = 'adam' and params.opt = 'sgd'", set()),
]

INVALID = [
    ("1=1", "expected an identifier"),
    ("metric.model = 'LR'", "compare it with a number"),
    ("params.acc = 5", "quote the value"),
    ("params.opt = adam", "quote strings"),
    ("metrics.acc > 0.9; drop table runs", "';' is not allowed"),
    ("foo.bar = 'x'", "unknown kind 'foo'"),
    ("Metrics.acc > 1", "unknown kind 'Metrics'"),
    ("attributes.color = 'red'", "unknown attribute 'color'"),
    ("metrics.acc IS NULL", "IS NULL works on params and tags"),
    ("attributes.status IN ('RUNNING')", "IN works on attributes.run_id only"),
    ("metrics.acc LIKE '1%'", "metrics compare with"),
    ("params.opt > 'a'", "compare as strings"),
    ("attributes.start_time LIKE '1%'", "is a number"),
    ("attributes.start_time > '5'", "compare it with a number"),
    ("attributes.status IN ('DONE')", "IN works on attributes.run_id only"),
    ("acc > 1", "needs its kind"),
    ("metrics.acc >", "expected a number or a quoted string"),
    ("(metrics.acc > 1", "never closed"),
    ("metrics.acc > 1)", "unmatched ')'"),
    ("metrics.acc == 1", "use '='"),
    ("metrics.acc <> 1", "use '!='"),
    ("params.x = 'unterminated", "unterminated string"),
    ("metrics.acc > 0.9 params.opt = 'a'", "expected AND, OR"),
    ("params.opt IS 'x'", "expected NULL"),
    ("attributes.run_id IN 'a'", "expected '('"),
    ("attributes.run_id IN (1)", "quoted strings"),
    ("metrics. > 1", "expected a key"),
    ("metrics.acc > 1 and", "expected an identifier"),
    ("()", "empty parentheses"),
    ("metrics.acc", "expected an operator"),
]


def names(runs) -> set[str]:
    return {r.info.run_name for r in runs}


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_valid_filters(small, text, expected):
    text = text.format(**small.ids)
    assert names(small.search_runs(filter_string=text)) == expected


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_invalid_filters_raise_filter_error_with_a_position(small, text, message):
    with pytest.raises(FilterError) as info:
        small.search_runs(filter_string=text)
    error = info.value
    assert message in error.message
    assert 0 <= error.position <= len(text)
    assert str(error).startswith(f"invalid filter at character {error.position + 1}: ")


def test_error_positions_point_at_the_problem(small):
    cases = {
        "params.opt = adam": "adam",
        "metrics.acc > 0.9 params.opt = 'a'": "params.opt",
        "metrics.acc > 0.9; drop": ";",
        "metric.model = 'LR'": "'LR'",
        "metrics.acc > 1 AND attributes.status IN ('RUNNING')": "IN",
    }
    for text, culprit in cases.items():
        with pytest.raises(FilterError) as info:
            small.search_runs(filter_string=text)
        assert text[info.value.position :].startswith(culprit), (text, info.value)
        line, caret = info.value.caret().splitlines()
        assert line == text and caret.index("^") == text.index(culprit)


def test_reads_follow_changes_made_by_another_connection(tmp_path):
    reader = Store(tmp_path / "s")
    writer = MltopClient(Store(tmp_path / "s"))
    run_id = writer.create_run(run_name="r").info.run_id
    assert reader.get_run(run_id).data.params == {}
    writer.log_param(run_id, "lr", 0.1)
    writer.log_metric(run_id, "loss", 1.0)
    writer.flush()
    data = reader.search_runs(filter_string="params.lr = '0.1'")[0].data
    assert data.params == {"lr": "0.1"} and data.metrics == {"loss": 1.0}
    data.params["lr"] = "changed by the caller"
    assert reader.get_run(run_id).data.params == {"lr": "0.1"}
    writer.set_tag(run_id, "t", "v")
    assert reader.get_run(run_id).data.tags["t"] == "v"
    writer.close()


def test_experiments_by_name_and_id(small):
    b = small.get_experiment_by_name("B").experiment_id
    assert names(small.search_runs([b])) == {"delta", EPS}
    assert names(small.search_runs(experiment_names=["A"])) == {"alpha", "beta", "gamma"}
    assert names(small.search_runs([], filter_string="")) == set()


def order(small, *keys: str, **kwargs) -> list[str]:
    return [r.info.run_name for r in small.search_runs(order_by=list(keys), **kwargs)]


def test_default_order_is_newest_first(small):
    assert order(small) == [EPS, "delta", "gamma", "beta", "alpha"]


def test_nan_and_missing_sort_last_in_both_directions(small):
    # acc: alpha 0.95, beta 0.85, gamma NaN, delta missing, epsilon inf
    asc = order(small, "metrics.acc ASC")
    desc = order(small, "metrics.acc DESC")
    assert asc[:3] == ["beta", "alpha", EPS]
    assert desc[:3] == [EPS, "alpha", "beta"]
    assert set(asc[3:]) == set(desc[3:]) == {"gamma", "delta"}


def test_several_order_keys_and_params_sort_as_strings(small):
    by_lr = order(small, "params.lr DESC", "metrics.loss ASC")
    assert by_lr[:3] == ["alpha", "gamma", "beta"]  # '0.1' > '0.01'; then loss 0.1 < 0.2
    assert set(by_lr[3:]) == {"delta", EPS}  # no lr: last
    assert order(small, "attributes.user_id", "start_time DESC")[:2] == ["gamma", "alpha"]
    assert order(small, "tags.team", "start_time DESC") == [
        "beta",
        "delta",
        "alpha",
        EPS,
        "gamma",
    ]


def test_bad_order_by_names_the_entry(small):
    with pytest.raises(FilterError, match="order_by entry 2 at character 1: unknown attribute"):
        small.search_runs(order_by=["metrics.acc", "colour DESC"])
    with pytest.raises(FilterError, match="order_by entry 1 .*expected ASC, DESC"):
        small.search_runs(order_by=["metrics.acc DOWN"])


def test_pages_cover_every_run_once_in_order(small):
    expected = order(small, "metrics.acc DESC")
    seen, token = [], None
    while True:
        page = small.search_runs(order_by=["metrics.acc DESC"], max_results=2, page_token=token)
        assert len(page) <= 2
        seen += [r.info.run_name for r in page]
        token = page.token
        if token is None:
            break
    assert seen == expected


def test_pages_are_stable_under_concurrent_inserts(tmp_path):
    store = Store(tmp_path / "s")
    client = MltopClient(store)
    for i in range(10):
        client.create_run(run_name=f"old{i}", start_time=1000 + i)
    first = store.search_runs(max_results=4)
    for i in range(5):  # newer runs sort first: offsets would shift every later page
        client.create_run(run_name=f"new{i}", start_time=5000 + i)
    rest, token = [], first.token
    while token:
        page = store.search_runs(max_results=4, page_token=token)
        rest += page
        token = page.token
    got = [r.info.run_name for r in [*first, *rest]]
    assert got == [f"old{i}" for i in range(9, -1, -1)]


def test_a_token_from_another_search_is_refused(small):
    page = small.search_runs(max_results=1)
    with pytest.raises(PageTokenError, match="belongs to another search"):
        small.search_runs(filter_string="metrics.acc > 0", max_results=1, page_token=page.token)
    with pytest.raises(PageTokenError):
        small.search_runs(max_results=1, page_token="garbage!!")


def test_max_results_bounds(small):
    from mltop.store import ValidationError

    assert len(small.search_runs(max_results=1)) == 1
    for bad in (0, -1, 50_001, 2.5, True):
        with pytest.raises(ValidationError, match="max_results"):
            small.search_runs(max_results=bad)


def test_deleted_view(tmp_path):
    store = Store(tmp_path / "s")
    keep = store.create_run(run_name="keep")
    gone = store.create_run(run_name="gone")
    store.delete_run(gone.info.run_id)
    assert names(store.search_runs()) == {"keep"}
    assert names(store.search_runs(view="deleted")) == {"gone"}
    assert names(store.search_runs(view="all")) == {"keep", "gone"}
    assert keep.info.run_id


def test_search_experiments(small):
    def exp_names(*args, **kwargs):
        return [e.name for e in small.search_experiments(*args, **kwargs)]

    # Newest first, as MLflow's default order; experiments made in the same millisecond
    # newest (highest id) first too.
    everything = small.search_experiments(order_by=["experiment_id"])
    newest_first = [
        e.name for e in sorted(everything, key=lambda e: (-e.creation_time, -int(e.experiment_id)))
    ]
    assert exp_names() == newest_first
    assert exp_names(order_by=["experiment_id"]) == ["Default", "A", "B"]
    assert exp_names("name LIKE 'A%'") == ["A"]
    assert exp_names("attributes.name != 'A'", order_by=["experiment_id"]) == ["Default", "B"]
    assert exp_names(order_by=["name DESC"]) == ["Default", "B", "A"]
    small.set_experiment_tag(small.get_experiment_by_name("B").experiment_id, "team", "cv")
    assert exp_names("tags.team = 'cv'") == ["B"]
    assert exp_names("tags.team IS NULL", order_by=["experiment_id"]) == ["Default", "A"]
    page = small.search_experiments(max_results=2, order_by=["experiment_id"])
    assert [e.name for e in page] == ["Default", "A"]
    rest = small.search_experiments(order_by=["experiment_id"], page_token=page.token)
    assert [e.name for e in rest] == ["B"]
    with pytest.raises(FilterError, match="unknown kind 'metrics'"):
        small.search_experiments("metrics.acc > 1")


def test_like_translation_keeps_other_characters_literal():
    assert like_to_glob("a%b_c*d?e[f]") == "a*b?c[*]d[?]e[[]f]"


# -- properties ----------------------------------------------------------------------------


def snapshot(store: Store) -> tuple:
    conn = store.thread_connection()
    return tuple(
        tuple(conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall())
        for table in ("experiments", "runs", "params", "tags", "metrics", "metric_summaries")
    )


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=80))
def test_any_text_searches_or_raises_filter_error_and_changes_nothing(small, text):
    before = snapshot(small)
    changes = small.thread_connection().total_changes
    try:
        small.search_runs(filter_string=text)
    except FilterError as exc:
        assert 0 <= exc.position <= len(text)
    assert small.thread_connection().total_changes == changes
    assert snapshot(small) == before


FRAGMENTS = st.sampled_from(
    [
        "metrics.",
        "params.",
        "tags.",
        "attributes.",
        "status",
        "run_id",
        " = ",
        " != ",
        " > ",
        " LIKE ",
        " ILIKE ",
        " IS NULL",
        " IS NOT NULL",
        " IN (",
        ")",
        "(",
        " and ",
        " OR ",
        "'",
        '"',
        "`",
        "0.5",
        "-1",
        ";",
        ",",
        "x",
        "acc",
        "'adam'",
        "DROP TABLE runs",
    ]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(FRAGMENTS, max_size=12).map("".join))
def test_grammar_shaped_text_searches_or_raises_filter_error(small, text):
    before = snapshot(small)
    with contextlib.suppress(FilterError):
        small.search_runs(filter_string=text, order_by=["metrics.acc DESC"])
    assert snapshot(small) == before


KEY = st.from_regex(r"[a-z][a-z0-9_]{2,8}", fullmatch=True).map(lambda s: "zq" + s)
VALUE = st.from_regex(r"[A-Za-z0-9 %_']{1,10}", fullmatch=True).map(lambda s: "vq" + s)


@st.composite
def filters(draw) -> tuple[str, list[str]]:
    """Valid filters whose keys and values carry a marker, and the literals they hold."""
    literals: list[str] = []

    def clause() -> str:
        key = draw(KEY)
        literals.append(key)
        kind = draw(st.sampled_from(["metrics", "params", "tags", "attributes"]))
        if kind == "metrics":
            return f"metrics.`{key}` {draw(st.sampled_from(['<', '>=', '!=']))} 0.5"
        if kind == "attributes":
            literals.pop()
            value = draw(VALUE)
            literals.append(value)
            quoted = value.replace("'", "''")
            return f"attributes.run_name {draw(st.sampled_from(['=', 'LIKE']))} '{quoted}'"
        value = draw(VALUE)
        literals.append(value)
        quoted = value.replace("'", "''")
        return f"{kind}.{key} {draw(st.sampled_from(['=', '!=', 'ILIKE']))} '{quoted}'"

    parts = [clause() for _ in range(draw(st.integers(1, 4)))]
    text = parts[0]
    for part in parts[1:]:
        text = f"({text}) {draw(st.sampled_from(['AND', 'OR']))} {part}"
    return text, literals


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(filters())
def test_user_text_never_reaches_sql_text(small, case):
    text, literals = case
    head, where, _columns, _fp = compile_run_search(small, None, text, ["metrics.zqorder"], "all")
    sql = head.sql() + where.sql()
    for literal in literals:
        assert literal not in sql
        assert re.sub("[%_]", "", literal)[:4] not in sql
    assert sql.count("?") == len(head.params) + len(where.params)
    small.search_runs(filter_string=text)  # and it runs


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_policy_evaluator_agrees_with_the_sql_engine(small, text, expected):
    """Promotion policies are checked in Python against one run; the search runs in SQL.
    On every valid filter of the table, both must pick the same runs."""
    from mltop.store.query.policy import matches, validate

    text = text.format(**small.ids)
    if not text.strip():
        return
    tree = validate(text)
    picked = {r.info.run_name for r in small.search_runs() if matches(tree, r)}
    assert picked == expected


@pytest.mark.parametrize(
    "text, order",
    [
        ("", None),
        ("metrics.acc > 0.5", ["metrics.acc DESC"]),
        ("params.opt = 'adam' or tags.team = 'nlp'", ["attributes.run_name"]),
    ],
)
def test_run_rows_are_the_runs_as_a_table_shows_them(small, text, order):
    """search_run_rows: the same runs in the same order and pages as search_runs, each
    with its attributes, params and latest metric values (NaN kept)."""
    runs = small.search_runs(filter_string=text, order_by=order)
    rows = small.search_run_rows(filter_string=text, order_by=order)
    assert [r.info for r in rows] == [r.info for r in runs]
    for row, run in zip(rows, runs, strict=True):
        assert row.params == run.data.params
        assert row.metrics.keys() == run.data.metrics.keys()
        for key, value in run.data.metrics.items():
            assert row.metrics[key] == value or (math.isnan(value) and math.isnan(row.metrics[key]))
    first = small.search_run_rows(filter_string=text, order_by=order, max_results=1)
    if len(runs) > 1:
        second = small.search_run_rows(
            filter_string=text, order_by=order, max_results=1, page_token=first.token
        )
        assert [r.info.run_id for r in [*first, *second]] == [r.info.run_id for r in runs[:2]]


def test_filters_beyond_the_limits_are_refused_with_a_filter_error(client):
    """Deep parentheses, hundreds of conditions, dozens of sort keys: each is said as a
    FilterError naming the limit, never a RecursionError or SQLite's own error."""
    from mltop.store.query.parser import MAX_CONDITIONS, MAX_DEPTH, MAX_ORDER_KEYS

    run_id = client.create_run(run_name="r", log_system_info=False).info.run_id
    client.log_params(run_id, {"lr": "0.1"})
    client.flush()
    store = client.store
    deep = "(" * MAX_DEPTH + "params.lr = '0.1'" + ")" * MAX_DEPTH
    assert len(store.search_runs(filter_string=deep)) == 1
    with pytest.raises(FilterError, match=f"nest at most {MAX_DEPTH} deep"):
        store.search_runs(filter_string="(" + deep + ")")
    with pytest.raises(FilterError, match=f"nest at most {MAX_DEPTH} deep"):
        store.search_runs(filter_string="(" * 5000 + "params.lr = '0.1'" + ")" * 5000)
    many = " OR ".join(f"params.lr = '{i / 10}'" for i in range(MAX_CONDITIONS))
    assert len(store.search_runs(filter_string=many)) == 1
    with pytest.raises(FilterError, match=f"at most {MAX_CONDITIONS} conditions"):
        store.search_runs(filter_string=many + " OR params.lr = 'x'")
    keys = [f"metrics.m{i}" for i in range(MAX_ORDER_KEYS)]
    assert len(store.search_runs(order_by=keys)) == 1
    with pytest.raises(FilterError, match=f"at most {MAX_ORDER_KEYS} entries"):
        store.search_runs(order_by=[*keys, "metrics.more"])
    with pytest.raises(FilterError):
        store.search_experiments(filter_string="(" * 100 + "name = 'x'" + ")" * 100)


ORDERS = [None, ["metrics.acc DESC"], ["colour DESC"], ["params.opt", "metrics.x DOWN"], ["tags.t"]]


def _outcome(call):
    try:
        call()
    except FilterError as exc:
        return (exc.message, exc.position, str(exc))
    return None


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(FRAGMENTS, max_size=12).map("".join), st.sampled_from(ORDERS))
def test_the_check_without_a_store_says_what_the_search_says(small, text, order_by):
    """`check_run_search` (a front end's check as the user types, reading nothing) raises
    exactly the error the store's search raises, and passes exactly what it runs."""
    from mltop.store.query import check_run_search

    assert _outcome(lambda: check_run_search(text, order_by)) == _outcome(
        lambda: small.search_runs(filter_string=text, order_by=order_by)
    )


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_the_check_without_a_store_refuses_every_invalid_filter(small, text, message):
    from mltop.store.query import check_run_search

    with pytest.raises(FilterError) as info:
        check_run_search(text)
    assert message in info.value.message


def test_runs_sort_and_filter_by_how_long_they_ran(client):
    """`duration` (beyond MLflow, ms): to the end; a LOST run to its last heartbeat; a
    running one to now."""
    now = int(time.time() * 1000)
    store = client.store
    for name, start, end in [
        ("short", now - 10_000, now - 5_000),
        ("long", now - 100_000, now - 1_000),
        ("running", now - 50_000, None),
        ("lost", now - 1_000_000, None),
    ]:
        interval = 1_000 if name == "lost" else 10**9
        run = store.create_run("0", name, start_time=start, heartbeat_interval_ms=interval)
        if end is not None:
            store.update_run(run.info.run_id, status="FINISHED", end_time=end)
        if name == "lost":  # its process gone two seconds in
            conn = store.thread_connection()
            conn.execute(
                "UPDATE runs SET heartbeat_time = ? WHERE run_id = ?",
                (start + 2_000, run.info.run_id),
            )
            conn.commit()

    def names(filter_string: str = "", *order_by: str) -> list[str]:
        return [r.info.run_name for r in store.search_run_rows(None, filter_string, order_by, 10)]

    assert names("", "duration DESC") == ["long", "running", "short", "lost"]
    assert names("", "attributes.duration") == ["lost", "short", "running", "long"]
    assert names("duration > 20000", "duration") == ["running", "long"]
