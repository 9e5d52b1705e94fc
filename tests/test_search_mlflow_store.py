"""MLflow's own search tests, ported: the `test_search_*` and `test_order_by_*` cases of
MLflow's `tests/store/tracking/sqlalchemy_store/test_sqlalchemy_store_runs.py` and
`..._experiments.py` (3.x), with MLflow's data and MLflow's expected answers, asked
through our Store. Where one of our rules changes the data or the answer, a comment says
which rule. Dataset filters are ported with `log_input`, elsewhere."""

from __future__ import annotations

import time
import uuid

import pytest

from mltop.store import FilterError, MltopClient, Store
from mltop.store.errors import ValidationError

ALL, ACTIVE, DELETED = "all", "active", "deleted"


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "store") as s:
        yield s


@pytest.fixture
def client(store):
    c = MltopClient(store)
    yield c
    c.flush()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _create_experiments(store, names):
    if isinstance(names, list):
        ids = []
        for name in names:
            time.sleep(0.002)  # distinct creation times, as MLflow's helper ensures
            ids.append(store.create_experiment(name))
        return ids
    time.sleep(0.002)
    return store.create_experiment(names)


def _run(store, exp, *, start_time=None, run_name="name", tags=None, user_id="Anderson"):
    start = _now_ms() if start_time is None else start_time
    run = store.create_run(exp, run_name, start_time=start, user_id=user_id, tags=tags)
    return run.info.run_id


def _search(store, exp, filter_string=None, view=ALL, max_results=1000):
    exps = [exp] if isinstance(exp, str) else exp
    return [
        r.info.run_id for r in store.search_runs(exps, filter_string, None, max_results, view=view)
    ]


def _ordered(store, order_by, exp):
    runs = store.search_runs([exp], "", order_by, view=ALL)
    return [r.data.tags["mlflow.runName"] for r in runs]


# -- runs -------------------------------------------------------------------------------


def test_order_by_metric_tag_param(store, client):
    exp = store.create_experiment("order_by_metric")

    def create_and_log_run(names):
        name = str(names[0]) + "/" + names[1]
        run_id = store.create_run(
            exp, name, start_time=123, user_id="MrDuck", tags={"metric": names[1]}
        ).info.run_id
        if names[0] is not None:
            client.log_metric(run_id, "x", float(names[0]), 1, 0)
            client.log_metric(run_id, "y", float(names[1]), 1, 0)
        client.log_param(run_id, "metric", names[1])

    for names in zip(
        [None, "nan", "inf", "-inf", "-1000", "0", "0", "1000"],
        ["1", "2", "3", "4", "5", "6", "7", "8"],
        strict=True,
    ):
        create_and_log_run(names)
    client.flush()

    ascending = ["-inf/4", "-1000/5", "0/6", "0/7", "1000/8", "inf/3", "nan/2", "None/1"]
    assert _ordered(store, ["metrics.x asc", "metrics.y asc"], exp) == ascending
    assert _ordered(store, ["metrics.x asc", "tag.metric asc"], exp) == ascending
    asc_desc = ["-inf/4", "-1000/5", "0/7", "0/6", "1000/8", "inf/3", "nan/2", "None/1"]
    assert _ordered(store, ["metrics.x asc", "metrics.y desc"], exp) == asc_desc
    assert _ordered(store, ["metrics.x asc", "tag.metric desc"], exp) == asc_desc
    assert _ordered(store, ["metrics.x desc", "metrics.y asc"], exp) == [
        "inf/3", "1000/8", "0/6", "0/7", "-1000/5", "-inf/4", "nan/2", "None/1",
    ]  # fmt: skip
    assert _ordered(store, ["metrics.x desc", "param.metric desc"], exp) == [
        "inf/3", "1000/8", "0/7", "0/6", "-1000/5", "-inf/4", "nan/2", "None/1",
    ]  # fmt: skip


@pytest.mark.parametrize("page_size", [1, 2, 3])
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_order_by_metric_with_nan_inf_and_missing_pages_the_same(
    store, client, page_size, direction
):
    """Not MLflow's: the same order read a page at a time (the ranks are in the token)."""
    exp = store.create_experiment("paged")
    for value in [None, "nan", "inf", "-inf", "-1000", "0", "0", "1000", None, "nan"]:
        run_id = _run(store, exp, start_time=123, run_name=str(value))
        if value is not None:
            client.log_metric(run_id, "x", float(value), 1, 0)
    client.flush()
    whole = [r.info.run_id for r in store.search_runs([exp], order_by=[f"metrics.x {direction}"])]
    paged, token = [], None
    while True:
        page = store.search_runs(
            [exp], order_by=[f"metrics.x {direction}"], max_results=page_size, page_token=token
        )
        paged += [r.info.run_id for r in page]
        token = page.token
        if token is None:
            break
    assert paged == whole
    names = [store.get_run(r).info.run_name for r in whole]
    numbers = ["-inf", "-1000", "0", "0", "1000", "inf"]
    assert names[:6] == (numbers if direction == "asc" else numbers[::-1])
    assert names[6:] == ["nan", "nan", "None", "None"]


def test_order_by_attributes(store):
    exp = store.create_experiment("order_by_attributes")
    start_time = 123
    # MLflow's data has end_time -123; our store refuses times before 1970, so 0 stands in
    # (the same place in the order). The run without an end time stays RUNNING: ending a
    # run stamps an end time in our store.
    for end in [234, None, 456, 0, 789, 123]:
        run_id = _run(store, exp, start_time=start_time, run_name=str(end), user_id="MrDuck")
        if end is not None:
            store.update_run(run_id, status="FINISHED", end_time=end)
        start_time += 1

    assert _ordered(store, ["attribute.end_time asc"], exp) == [
        "0", "123", "234", "456", "789", "None",
    ]  # fmt: skip
    assert _ordered(store, ["attribute.end_time desc"], exp) == [
        "789", "456", "234", "123", "0", "None",
    ]  # fmt: skip
    assert _ordered(store, ["attribute.start_time asc", "attribute.end_time desc"], exp) == [
        "234", "None", "456", "0", "789", "123",
    ]  # fmt: skip


def test_search_vanilla(store):
    exp = _create_experiments(store, "search_vanilla")
    runs = [_run(store, exp) for _ in range(3)]
    assert sorted(runs) == sorted(_search(store, exp, view=ALL))
    assert sorted(runs) == sorted(_search(store, exp, view=ACTIVE))
    assert _search(store, exp, view=DELETED) == []

    first = runs[0]
    store.delete_run(first)
    assert sorted(runs) == sorted(_search(store, exp, view=ALL))
    assert sorted(runs[1:]) == sorted(_search(store, exp, view=ACTIVE))
    assert _search(store, exp, view=DELETED) == [first]

    store.restore_run(first)
    assert sorted(runs) == sorted(_search(store, exp, view=ALL))
    assert sorted(runs) == sorted(_search(store, exp, view=ACTIVE))
    assert _search(store, exp, view=DELETED) == []


def test_search_params(store, client):
    exp = _create_experiments(store, "search_params")
    r1, r2 = _run(store, exp), _run(store, exp)
    client.log_param(r1, "generic_param", "p_val")
    client.log_param(r2, "generic_param", "p_val")
    client.log_param(r1, "generic_2", "some value")
    client.log_param(r2, "generic_2", "another value")
    client.log_param(r1, "p_a", "abc")
    client.log_param(r2, "p_b", "ABC")

    both = sorted([r1, r2])
    assert sorted(_search(store, exp, "params.generic_param = 'p_val'")) == both
    assert _search(store, exp, "params.generic_2 = 'some value'") == [r1]
    assert _search(store, exp, "params.generic_2 = 'another value'") == [r2]
    assert _search(store, exp, "params.generic_param = 'wrong_val'") == []
    assert _search(store, exp, "params.generic_param != 'p_val'") == []
    assert sorted(_search(store, exp, "params.generic_param != 'wrong_val'")) == both
    assert sorted(_search(store, exp, "params.generic_2 != 'wrong_val'")) == both
    assert _search(store, exp, "params.p_a = 'abc'") == [r1]
    assert _search(store, exp, "params.p_a = 'ABC'") == []
    assert _search(store, exp, "params.p_a != 'ABC'") == [r1]
    assert _search(store, exp, "params.p_b = 'ABC'") == [r2]
    assert _search(store, exp, "params.generic_2 LIKE '%other%'") == [r2]
    assert _search(store, exp, "params.generic_2 LIKE 'other%'") == []
    assert _search(store, exp, "params.generic_2 LIKE '%other'") == []
    assert _search(store, exp, "params.generic_2 LIKE 'other'") == []
    assert _search(store, exp, "params.generic_2 LIKE '%Other%'") == []
    assert _search(store, exp, "params.generic_2 ILIKE '%Other%'") == [r2]


def test_search_tags(store):
    exp = _create_experiments(store, "search_tags")
    r1, r2 = _run(store, exp), _run(store, exp)
    store.set_tags(r1, {"generic_tag": "p_val", "generic_2": "some value", "p_a": "abc"})
    store.set_tags(r2, {"generic_tag": "p_val", "generic_2": "another value", "p_b": "ABC"})

    both = sorted([r1, r2])
    assert sorted(_search(store, exp, "tags.generic_tag = 'p_val'")) == both
    assert _search(store, exp, "tags.generic_tag = 'P_VAL'") == []
    assert sorted(_search(store, exp, "tags.generic_tag != 'P_VAL'")) == both
    assert _search(store, exp, "tags.generic_2 = 'some value'") == [r1]
    assert _search(store, exp, "tags.generic_2 = 'another value'") == [r2]
    assert _search(store, exp, "tags.generic_tag = 'wrong_val'") == []
    assert _search(store, exp, "tags.generic_tag != 'p_val'") == []
    assert sorted(_search(store, exp, "tags.generic_tag != 'wrong_val'")) == both
    assert sorted(_search(store, exp, "tags.generic_2 != 'wrong_val'")) == both
    assert _search(store, exp, "tags.p_a = 'abc'") == [r1]
    assert _search(store, exp, "tags.p_b = 'ABC'") == [r2]
    assert _search(store, exp, "tags.generic_2 LIKE '%other%'") == [r2]
    assert _search(store, exp, "tags.generic_2 LIKE '%Other%'") == []
    assert _search(store, exp, "tags.generic_2 LIKE 'other%'") == []
    assert _search(store, exp, "tags.generic_2 LIKE '%other'") == []
    assert _search(store, exp, "tags.generic_2 LIKE 'other'") == []
    assert _search(store, exp, "tags.generic_2 ILIKE '%Other%'") == [r2]
    text = "tags.generic_2 ILIKE '%Other%' and tags.generic_tag = 'p_val'"
    assert _search(store, exp, text) == [r2]
    text = "tags.generic_2 ILIKE '%Other%' and tags.generic_tag ILIKE 'p_val'"
    assert _search(store, exp, text) == [r2]


def test_search_metrics(store, client):
    exp = _create_experiments(store, "search_metric")
    r1, r2 = _run(store, exp), _run(store, exp)
    client.log_metric(r1, "common", 1.0, 1, 0)
    client.log_metric(r2, "common", 1.0, 1, 0)
    client.log_metric(r1, "measure_a", 1.0, 1, 0)
    client.log_metric(r2, "measure_a", 200.0, 2, 0)
    client.log_metric(r2, "measure_a", 400.0, 3, 0)
    client.log_metric(r1, "m_a", 2.0, 2, 0)
    client.log_metric(r2, "m_b", 3.0, 2, 0)
    client.log_metric(r2, "m_b", 4.0, 8, 0)  # the last timestamp
    client.log_metric(r2, "m_b", 8.0, 3, 0)
    client.flush()

    both = sorted([r1, r2])
    for text in [
        "metrics.common = 1.0",
        "metrics.common > 0.0",
        "metrics.common >= 0.0",
        "metrics.common < 4.0",
        "metrics.common <= 4.0",
        "metrics.measure_a > 0.0",
        "metrics.measure_a < 1000.0",
        "metrics.measure_a != -12.0",
    ]:
        assert sorted(_search(store, exp, text)) == both, text
    for text in ["metrics.common != 1.0", "metrics.common >= 3.0", "metrics.common <= 0.75"]:
        assert _search(store, exp, text) == [], text
    assert _search(store, exp, "metrics.measure_a < 50.0") == [r1]
    assert _search(store, exp, "metrics.measure_a > 50.0") == [r2]
    assert _search(store, exp, "metrics.measure_a = 1.0") == [r1]
    assert _search(store, exp, "metrics.measure_a = 400.0") == [r2]
    assert _search(store, exp, "metrics.m_a > 1.0") == [r1]
    assert _search(store, exp, "metrics.m_b > 1.0") == [r2]
    assert _search(store, exp, "metrics.m_b > 5.0") == []  # logged, but not the latest
    assert _search(store, exp, "metrics.m_b = 4.0") == [r2]


def test_search_attrs(store):
    e1 = _create_experiments(store, "search_attributes_1")
    r1 = _run(store, e1)
    e2 = _create_experiments(store, "search_attrs_2")
    r2 = _run(store, e2)
    uri = store.get_run(r1).info.artifact_uri
    upper = uri.upper()
    mismatched = f"{uri}/unexpected"  # our artifact URIs do not hold the experiment id

    both = sorted([r1, r2])
    assert sorted(_search(store, [e1, e2], "")) == both
    assert sorted(_search(store, [e1, e2], "attribute.status != 'blah'")) == both
    assert sorted(_search(store, [e1, e2], "attribute.status = 'RUNNING'")) == both

    store.update_run(r2, status="FAILED", end_time=300)
    assert _search(store, [e1, e2], "attribute.status = 'RUNNING'") == [r1]
    assert _search(store, [e1, e2], "attribute.status = 'FAILED'") == [r2]
    assert sorted(_search(store, [e1, e2], "attribute.status != 'SCHEDULED'")) == both
    assert _search(store, [e1, e2], "attribute.status = 'SCHEDULED'") == []
    assert _search(store, [e1, e2], "attribute.status = 'KILLED'") == []

    assert _search(store, [e1, e2], f"attr.artifact_uri = '{uri}'") == [r1]
    assert _search(store, [e1, e2], f"attr.artifact_uri = '{upper}'") == []
    assert sorted(_search(store, [e1, e2], f"attr.artifact_uri != '{upper}'")) == both
    assert _search(store, [e1, e2], f"attr.artifact_uri = '{mismatched}'") == []
    assert _search(store, [e1, e2], "attribute.artifact_uri = 'random_artifact_path'") == []
    text = "attribute.artifact_uri != 'random_artifact_path'"
    assert sorted(_search(store, [e1, e2], text)) == both
    for part in [r1, r1[:16], r1[-16:]]:
        assert _search(store, [e1, e2], f"attribute.artifact_uri LIKE '%{part}%'") == [r1]
        text = f"attribute.artifact_uri ILIKE '%{part.upper()}%'"
        assert _search(store, [e1, e2], text) == [r1]
    assert _search(store, [e1, e2], f"attribute.artifact_uri LIKE '%{r1.upper()}%'") == []

    for key, value in {"experiment_id": e1, "lifecycle_stage": "ACTIVE"}.items():
        with pytest.raises(FilterError, match=rf"unknown attribute '{key}'"):
            _search(store, [e1, e2], f"attribute.{key} = '{value}'")


def test_search_full(store, client):
    exp = _create_experiments(store, "search_params")
    r1, r2 = _run(store, exp), _run(store, exp)
    client.log_param(r1, "generic_param", "p_val")
    client.log_param(r2, "generic_param", "p_val")
    client.log_param(r1, "p_a", "abc")
    client.log_param(r2, "p_b", "ABC")
    client.log_metric(r1, "common", 1.0, 1, 0)
    client.log_metric(r2, "common", 1.0, 1, 0)
    client.log_metric(r1, "m_a", 2.0, 2, 0)
    client.log_metric(r2, "m_b", 3.0, 2, 0)
    client.log_metric(r2, "m_b", 4.0, 8, 0)
    client.log_metric(r2, "m_b", 8.0, 3, 0)
    client.flush()

    base = "params.generic_param = 'p_val' and metrics.common = 1.0"
    assert sorted(_search(store, exp, base)) == sorted([r1, r2])
    assert _search(store, exp, base + " and metrics.m_a > 1.0") == [r1]
    assert _search(store, exp, base + " and metrics.m_a > 1.0 and params.p_a LIKE 'a%'") == [r1]
    assert _search(store, exp, base + " and metrics.m_a > 1.0 and params.p_a LIKE 'A%'") == []
    assert _search(store, exp, base + " and metrics.m_a > 1.0 and params.p_a ILIKE 'A%'") == [r1]
    text = "params.random_bad_name = 'p_val' and metrics.common = 1.0 and metrics.m_a > 1.0"
    assert _search(store, exp, text) == []
    assert _search(store, exp, base + " and metrics.m_a > 100.0") == []


def test_search_with_max_results(store):
    exp = _create_experiments(store, "search_with_max_results")
    runs = [_run(store, exp, start_time=i) for i in range(1200)]
    runs.reverse()  # created in increasing start_time

    assert runs[:1000] == _search(store, exp)
    for n in [1, 2, 4, 8, 10, 20, 50, 100, 500, 1000, 1200, 2000]:
        assert runs[: min(1200, n)] == _search(store, exp, max_results=n)
    with pytest.raises(ValidationError, match="max_results must be between 1 and 50000"):
        _search(store, exp, max_results=50_001)


def test_search_with_deterministic_max_results(store):
    exp = _create_experiments(store, "test_search_with_deterministic_max_results")
    runs = sorted(_run(store, exp, start_time=10) for _ in range(10))  # ties: by run id
    for n in [1, 2, 4, 8, 10, 20]:
        assert runs[: min(10, n)] == _search(store, exp, max_results=n)


def test_search_runs_pagination(store):
    exp = _create_experiments(store, "test_search_runs_pagination")
    runs = sorted(_run(store, exp, start_time=10) for _ in range(10))
    result = store.search_runs([exp], None, max_results=4, view=ALL)
    assert [r.info.run_id for r in result] == runs[0:4]
    assert result.token is not None
    result = store.search_runs([exp], None, max_results=4, page_token=result.token, view=ALL)
    assert [r.info.run_id for r in result] == runs[4:8]
    assert result.token is not None
    result = store.search_runs([exp], None, max_results=4, page_token=result.token, view=ALL)
    assert [r.info.run_id for r in result] == runs[8:]
    assert result.token is None


def test_search_runs_pagination_last_page_exact(store):
    exp = _create_experiments(store, "test_search_runs_pagination_last_page_exact")
    runs = sorted(_run(store, exp, start_time=10) for _ in range(8))
    result = store.search_runs([exp], None, max_results=4, view=ALL)
    assert [r.info.run_id for r in result] == runs[0:4]
    assert result.token is not None
    result = store.search_runs([exp], None, max_results=4, page_token=result.token, view=ALL)
    assert [r.info.run_id for r in result] == runs[4:8]
    assert result.token is None


def test_search_runs_pagination_with_max_results_none(store):
    exp = _create_experiments(store, "test_search_runs_pagination_with_max_results_none")
    runs = sorted(_run(store, exp, start_time=10) for _ in range(5))
    # max_results=None: our default page (1,000), which holds all five, as in MLflow.
    result = store.search_runs([exp], None, max_results=None, view=ALL)
    assert [r.info.run_id for r in result] == runs
    assert result.token is None


def test_search_runs_run_name(store):
    exp = _create_experiments(store, "test_search_runs_pagination")
    run1 = _run(store, exp, run_name="run_name1")
    run2 = _run(store, exp, run_name="run_name2")
    assert _search(store, exp, "attributes.run_name = 'run_name1'", ACTIVE) == [run1]
    assert _search(store, exp, "attributes.`Run name` = 'run_name1'", ACTIVE) == [run1]
    assert _search(store, exp, "attributes.`run name` = 'run_name2'", ACTIVE) == [run2]
    assert _search(store, exp, "attributes.`Run Name` = 'run_name2'", ACTIVE) == [run2]
    assert _search(store, exp, "tags.`mlflow.runName` = 'run_name2'", ACTIVE) == [run2]

    store.update_run(run1, status="FINISHED", run_name="new_run_name1")
    assert _search(store, exp, "attributes.run_name = 'new_run_name1'", ACTIVE) == [run1]
    assert _search(store, exp, "tags.`mlflow.runName` = 'new_run_name1'", ACTIVE) == [run1]
    # Not ported: MLflow's check of runs logged by MLflow <= 1.29 (an empty name column
    # beside a mlflow.runName tag row); our store keeps the name in one place.


def test_search_runs_run_id(store):
    exp = _create_experiments(store, "test_search_runs_run_id")
    run_id1 = _run(store, exp, start_time=1)
    run_id2 = _run(store, exp, start_time=2)
    name1 = store.get_run(run_id1).info.run_name

    assert _search(store, exp, f"attributes.run_id = '{run_id1}'", ACTIVE) == [run_id1]
    assert _search(store, exp, f"attributes.run_id != '{run_id1}'", ACTIVE) == [run_id2]
    assert _search(store, exp, f"attributes.run_id IN ('{run_id1}')", ACTIVE) == [run_id1]
    assert _search(store, exp, f"attributes.run_id NOT IN ('{run_id1}')", ACTIVE) == [run_id2]
    text = f"run_name = '{name1}' AND run_id IN ('{run_id1}')"
    assert _search(store, exp, text, ACTIVE) == [run_id1]
    for text in [
        f"attributes.run_id IN ('{run_id1}','{run_id2}')",
        f"attributes.run_id IN ('{run_id1}', '{run_id2}')",
        f"attributes.run_id IN ('{run_id1}',  '{run_id2}')",
    ]:
        assert _search(store, exp, text, ACTIVE) == [run_id2, run_id1]
    text = f"attributes.run_id NOT IN ('{run_id1}', '{run_id2}')"
    assert _search(store, exp, text, ACTIVE) == []


def test_search_runs_start_time_alias(store):
    exp = _create_experiments(store, "test_search_runs_start_time_alias")
    run_id1 = _run(store, exp, start_time=1)
    run_id2 = _run(store, exp, start_time=2)

    def ids(text, order_by=None):
        return [r.info.run_id for r in store.search_runs([exp], text, order_by, view=ACTIVE)]

    assert ids("attributes.run_name = 'name'", ["attributes.start_time DESC"]) == [
        run_id2,
        run_id1,
    ]
    assert ids("attributes.run_name = 'name'", ["attributes.created ASC"]) == [run_id1, run_id2]
    assert ids("attributes.run_name = 'name'", ["attributes.Created DESC"]) == [run_id2, run_id1]
    assert set(ids("attributes.start_time > 0")) == {run_id1, run_id2}
    assert ids("attributes.created > 1") == [run_id2]
    assert ids("attributes.Created > 2") == []


def test_search_runs_keep_all_runs_when_sorting(store):
    exp = store.create_experiment("test_experiment1")
    r1 = _run(store, exp, start_time=0, user_id="Me")
    r2 = _run(store, exp, start_time=0, user_id="Me")
    store.set_tags(r1, {"t1": "1", "t2": "1"})
    store.set_tags(r2, {"t2": "1"})
    assert len(store.search_runs([exp], None, ["tag.t1"], max_results=1000, view=ALL)) == 2


def _generate_large_data(store, client, nb_runs=1000):
    """MLflow's large experiment, cut to the keys its searches read (key 0 of the 100
    metrics, params and tags MLflow gives each run): the latest mkey_0 is the run's
    number, tkey_0 is tval_<number % 10>, pkey_0 is pval_<(number + 1) % 11>."""
    exp = store.create_experiment(f"test_experiment_{uuid.uuid4().hex}")
    run_ids = []
    for current in range(nb_runs):
        run_id = store.create_run(
            exp,
            "name",
            start_time=current,
            user_id="Anderson",
            tags={"tkey_0": f"tval_{current % 10}"},
        ).info.run_id
        run_ids.append(run_id)
        client.log_param(run_id, "pkey_0", f"pval_{(current + 1) % 11}")
        client.log_metric(run_id, "mkey_0", current, 200, 300)
    client.flush()
    return exp, run_ids


def test_search_runs_returns_expected_results_with_large_experiment(store, client):
    exp, run_ids = _generate_large_data(store, client)
    results = store.search_runs([exp], None, max_results=100, view=ALL)
    assert len(results) == 100
    assert [r.info.run_id for r in results] == list(reversed(run_ids[900:]))


def test_search_runs_correctly_filters_large_data(store, client):
    exp, _ = _generate_large_data(store, client, 1000)
    text = "metrics.mkey_0 < 26 and metrics.mkey_0 > 5 "
    assert len(store.search_runs([exp], text, max_results=50, view=ALL)) == 20
    text += "and tags.tkey_0 = 'tval_0' "
    assert len(store.search_runs([exp], text, max_results=10, view=ALL)) == 2
    text += "and params.pkey_0 = 'pval_0'"
    assert len(store.search_runs([exp], text, max_results=5, view=ALL)) == 1


def test_order_by_duplicate_fields_are_refused(store):
    """MLflow's `_get_orderby_clauses` cases, through search."""
    exp = store.create_experiment("dups")
    for order_by in [
        ["attribute.start_time", "attribute.start_time"],
        ["param.p", "param.p"],
        ["metric.m", "metric.m"],
        ["tag.t", "tag.t"],
    ]:
        with pytest.raises(FilterError, match="duplicate fields"):
            store.search_runs([exp], order_by=order_by)
    store.search_runs([exp], order_by=["param.a", "metric.a", "tag.a"])  # different kinds


def test_default_order_and_tie_breaks_are_mlflows(store):
    """MLflow: no order_by is start_time DESC then run id; after the caller's keys, the
    same two, start_time left out when a key already sorts by it."""
    exp = store.create_experiment("ties")
    runs = {start: sorted(_run(store, exp, start_time=start) for _ in range(3)) for start in (5, 9)}
    assert _search(store, exp) == runs[9] + runs[5]
    by_name = [r.info.run_id for r in store.search_runs([exp], order_by=["attributes.run_name"])]
    assert by_name == runs[9] + runs[5]  # every name ties: start_time DESC, then the id
    oldest = [r.info.run_id for r in store.search_runs([exp], order_by=["start_time ASC"])]
    assert oldest == runs[5] + runs[9]


# -- experiments ------------------------------------------------------------------------


def _names(experiments):
    return [e.name for e in experiments]


def test_search_experiments_view_type(store):
    ids = _create_experiments(store, ["a", "b"])
    store.delete_experiment(ids[1])
    assert _names(store.search_experiments(view=ACTIVE)) == ["a", "Default"]
    assert _names(store.search_experiments(view=DELETED)) == ["b"]
    assert _names(store.search_experiments(view=ALL)) == ["b", "a", "Default"]


def test_search_experiments_filter_by_attribute(store):
    _create_experiments(store, ["a", "ab", "Abc"])
    assert _names(store.search_experiments("name = 'a'")) == ["a"]
    assert _names(store.search_experiments("attribute.name = 'a'")) == ["a"]
    assert _names(store.search_experiments("attribute.`name` = 'a'")) == ["a"]
    assert _names(store.search_experiments("attribute.`name` != 'a'")) == ["Abc", "ab", "Default"]
    assert _names(store.search_experiments("name LIKE 'a%'")) == ["ab", "a"]
    assert _names(store.search_experiments("name ILIKE 'a%'")) == ["Abc", "ab", "a"]
    assert _names(store.search_experiments("name ILIKE 'a%' AND name ILIKE '%b'")) == ["ab"]


def test_search_experiments_filter_by_time_attribute(store):
    time.sleep(0.002)
    before1 = _now_ms()
    id1 = store.create_experiment("1")
    exp1 = store.get_experiment(id1)
    time.sleep(0.002)
    before2 = _now_ms()
    id2 = store.create_experiment("2")
    exp2 = store.get_experiment(id2)

    def ids(text):
        return [e.experiment_id for e in store.search_experiments(text)]

    assert ids(f"creation_time = {exp1.creation_time}") == [id1]
    assert ids(f"creation_time != {exp1.creation_time}") == [id2, "0"]
    assert ids(f"creation_time >= {before1}") == [id2, id1]
    assert ids(f"creation_time < {before2}") == [id1, "0"]
    time.sleep(0.002)
    assert ids(f"creation_time >= {_now_ms()}") == []

    time.sleep(0.002)
    before_rename = _now_ms()
    store.rename_experiment(id1, "new_name")
    assert ids(f"last_update_time >= {before_rename}") == [id1]
    assert set(ids(f"last_update_time <= {_now_ms()}")) == {id1, id2, "0"}
    assert ids(f"last_update_time = {exp2.last_update_time}") == [id2]


def test_search_experiments_filter_by_tag(store):
    for name, tags in [
        ("exp1", {"key1": "value", "key2": "value"}),
        ("exp2", {"key1": "vaLue", "key2": "vaLue"}),
        ("exp3", {"k e y 1": "value"}),
    ]:
        time.sleep(0.002)
        store.create_experiment(name, tags=tags)

    def names(text):
        return _names(store.search_experiments(text))

    assert names("tag.key1 = 'value'") == ["exp1"]
    assert names("tag.`k e y 1` = 'value'") == ["exp3"]
    assert names("tag.\"k e y 1\" = 'value'") == ["exp3"]
    assert names("tag.key1 != 'value'") == ["exp2"]
    assert names("tag.key1 != 'VALUE'") == ["exp2", "exp1"]
    assert names("tag.key1 LIKE 'val%'") == ["exp1"]
    assert names("tag.key1 LIKE '%Lue'") == ["exp2"]
    assert names("tag.key1 ILIKE '%alu%'") == ["exp2", "exp1"]
    assert names("tag.key1 LIKE 'va%' AND tag.key2 LIKE '%Lue'") == ["exp2"]
    assert names("tag.KEY = 'value'") == []


def test_search_experiments_filter_by_tag_is_null(store):
    for name, tags in [
        ("exp1", {"key1": "value", "key2": "value"}),
        ("exp2", {"key1": "value"}),
        ("exp3", {}),
    ]:
        time.sleep(0.002)
        store.create_experiment(name, tags=tags)

    def names(text):
        return _names(store.search_experiments(text))

    assert names("tag.key1 IS NOT NULL") == ["exp2", "exp1"]
    assert names("tag.key2 IS NULL") == ["exp3", "exp2", "Default"]
    assert names("tag.key1 IS NOT NULL AND tag.key2 IS NULL") == ["exp2"]
    assert names("tag.key1 = 'value' AND tag.key2 IS NULL") == ["exp2"]
    with pytest.raises(FilterError, match="IS NULL works on params and tags"):
        names("name IS NULL")


def test_search_experiments_filter_by_attribute_and_tag(store):
    store.create_experiment("exp1", tags={"a": "1", "b": "2"})
    store.create_experiment("exp2", tags={"a": "3", "b": "4"})
    assert _names(store.search_experiments("name ILIKE 'exp%' AND tags.a = '1'")) == ["exp1"]


def test_search_experiments_order_by(store):
    _create_experiments(store, ["x", "y", "z"])
    assert _names(store.search_experiments(order_by=["name"])) == ["Default", "x", "y", "z"]
    assert _names(store.search_experiments(order_by=["name ASC"])) == ["Default", "x", "y", "z"]
    assert _names(store.search_experiments(order_by=["name DESC"])) == ["z", "y", "x", "Default"]
    by_id = store.search_experiments(order_by=["experiment_id DESC"])
    assert _names(by_id) == ["z", "y", "x", "Default"]
    by_both = store.search_experiments(order_by=["name", "experiment_id"])
    assert _names(by_both) == ["Default", "x", "y", "z"]


def test_search_experiments_order_by_time_attribute(store):
    time.sleep(0.002)
    id1 = store.create_experiment("1")
    time.sleep(0.002)
    id2 = store.create_experiment("2")

    def ids(order_by):
        return [e.experiment_id for e in store.search_experiments(order_by=order_by)]

    assert ids(["creation_time"]) == ["0", id1, id2]
    assert ids(["creation_time DESC"]) == [id2, id1, "0"]
    assert ids(["last_update_time"]) == ["0", id1, id2]
    time.sleep(0.002)
    store.rename_experiment(id1, "new_name")
    assert ids(["last_update_time"]) == ["0", id2, id1]


def test_search_experiments_max_results(store):
    names = [str(i) for i in range(9)]
    _create_experiments(store, names)
    assert _names(store.search_experiments()) == [*names[::-1], "Default"]
    assert _names(store.search_experiments(max_results=3)) == names[::-1][:3]


def test_search_experiments_max_results_validation(store):
    # MLflow refuses None; ours reads None as the default page size (documented rule).
    assert _names(store.search_experiments(max_results=None)) == ["Default"]
    for bad in [0, 1_000_000]:
        with pytest.raises(ValidationError, match="max_results must be between 1 and 50000"):
            store.search_experiments(max_results=bad)


def test_search_experiments_pagination(store):
    names = [str(i) for i in range(9)]
    _create_experiments(store, names)
    newest = names[::-1]
    page = store.search_experiments(max_results=4)
    assert _names(page) == newest[:4]
    assert page.token is not None
    page = store.search_experiments(max_results=4, page_token=page.token)
    assert _names(page) == newest[4:8]
    assert page.token is not None
    page = store.search_experiments(max_results=4, page_token=page.token)
    assert _names(page) == [*newest[8:], "Default"]
    assert page.token is None


def test_search_experiments_by_quoted_experiment_id(store):
    """MLflow quotes experiment ids and lists them with IN."""
    ids = _create_experiments(store, ["a", "b"])
    assert _names(store.search_experiments(f"experiment_id = '{ids[0]}'")) == ["a"]
    text = f"experiment_id IN ('{ids[0]}', '{ids[1]}')"
    assert _names(store.search_experiments(text)) == ["b", "a"]
    text = f"experiment_id NOT IN ('{ids[0]}')"
    assert _names(store.search_experiments(text)) == ["b", "Default"]
    with pytest.raises(FilterError, match="an experiment id is an integer"):
        store.search_experiments("experiment_id = 'x'")


# -- MLflow's system tags ---------------------------------------------------------------


def test_mlflow_system_tags_are_the_runs_columns(store):
    exp = store.create_experiment("system")
    parent = store.create_run(exp, "parent", start_time=1, user_id="ana").info.run_id
    child = store.create_run(
        exp, None, start_time=2, tags={"mlflow.runName": "child", "mlflow.user": "bob",
                                       "mlflow.parentRunId": parent},
    ).info.run_id  # fmt: skip
    run = store.get_run(child)
    assert (run.info.run_name, run.info.user_id, run.info.parent_run_id) == ("child", "bob", parent)
    assert run.data.tags["mlflow.runName"] == "child"
    assert run.data.tags["mlflow.user"] == "bob"
    assert run.data.tags["mlflow.parentRunId"] == parent
    assert "mlflow.parentRunId" not in store.get_run(parent).data.tags  # no parent: no tag

    def ids(text, order_by=None):
        return [r.info.run_id for r in store.search_runs([exp], text, order_by)]

    assert ids(f"tags.mlflow.parentRunId = '{parent}'") == [child]
    assert ids("tags.mlflow.parentRunId IS NULL") == [parent]
    assert ids("tags.mlflow.parentRunId IS NOT NULL") == [child]
    assert ids(f"tags.mlflow.parentRunId != '{parent}'") == []  # the parent has no such tag
    assert ids("tags.`mlflow.runName` = 'child'") == [child]
    assert ids("tags.\"mlflow.runName\" LIKE 'par%'") == [parent]
    assert ids("tags.mlflow.user ILIKE 'ANA'") == [parent]
    assert ids(None, ["tags.mlflow.runName"]) == [child, parent]
    assert ids(None, ["tags.`mlflow.user` DESC"]) == [child, parent]
    assert ids(None, ["tags.mlflow.parentRunId"]) == [child, parent]  # missing last
    assert ids(None, ["tags.mlflow.parentRunId DESC"]) == [child, parent]
    assert [r.data.tags["mlflow.runName"] for r in store.search_runs([exp])] == ["child", "parent"]


def test_renaming_a_run_moves_its_mlflow_run_name_tag(store):
    exp = store.create_experiment("rename")
    run_id = store.create_run(exp, "old").info.run_id
    store.set_tags(run_id, {"mlflow.runName": "new"})
    assert store.get_run(run_id).info.run_name == "new"
    assert [r.info.run_id for r in store.search_runs([exp], "tags.mlflow.runName = 'new'")] == [
        run_id
    ]
    assert store.search_runs([exp], "tags.mlflow.runName = 'old'") == []
    store.update_run(run_id, run_name="newer")
    assert store.search_runs([exp], "tags.mlflow.runName = 'newer'")[0].info.run_id == run_id
    assert store.get_run(run_id).data.tags["mlflow.runName"] == "newer"


def test_mlflow_column_tags_are_checked(store):
    exp = store.create_experiment("checks")
    run_id = store.create_run(exp, "r").info.run_id
    with pytest.raises(ValidationError, match="different values"):
        store.create_run(exp, "a", tags={"mlflow.runName": "b"})
    with pytest.raises(ValidationError, match="cannot be deleted"):
        store.delete_tag(run_id, "mlflow.runName")
    with pytest.raises(ValidationError, match="its own parent"):
        store.set_tags(run_id, {"mlflow.parentRunId": run_id})
    other = store.create_run(exp, "other").info.run_id
    store.set_tags(run_id, {"mlflow.parentRunId": other, "mlflow.user": "zoe", "k": "v"})
    run = store.get_run(run_id)
    assert (run.info.parent_run_id, run.info.user_id, run.data.tags["k"]) == (other, "zoe", "v")


def test_mlflow_source_tags_are_recorded_as_mlflow_records_them(store, monkeypatch, tmp_path):
    script = tmp_path / "train.py"
    script.write_text("")
    monkeypatch.setattr("sys.argv", [str(script)])
    run = MltopClient(store).create_run(store.create_experiment("src"))
    assert run.data.tags["mlflow.source.name"] == str(script)
    assert run.data.tags["mlflow.source.type"] == "LOCAL"
    assert "mlflow.source.git.commit" not in run.data.tags  # tmp_path is no git work tree
    monkeypatch.setattr("sys.argv", [""])
    run = MltopClient(store).create_run(store.create_experiment("console"))
    assert run.data.tags["mlflow.source.name"] == "<console>"
