"""The same searches on both backends give the same runs in the same order.

The same runs (names, start times, params, tags, metric points: NaN and missing values
too) are written to a SQLite store and to a real MLflow tracking server; every search is
then asked of both and the answers compared, run by run, by name (the run ids differ).
Start times are distinct, so that the last tie-break (the run id) never decides between
the two backends' different ids; `test_server_ties_fall_to_the_run_id` checks that one on
the server alone.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mltop.store import MltopClient, Store
from mltop.store.entities import (
    DATASET_CONTEXT_TAG,
    Dataset,
    DatasetInput,
    InputTag,
    Metric,
)
from mltop.store.errors import FilterError, PageTokenError, ValidationError
from mltop.store.server import convert
from mltop.store.server.tracking import ServerStore

T0 = 1_700_000_000_000


@dataclass(frozen=True)
class Spec:
    name: str
    start: int
    params: Mapping[str, str]
    tags: Mapping[str, str]
    metrics: Mapping[str, Sequence[float]]  # points at steps 0, 1, ...
    status: str = "FINISHED"


NAN = math.nan
SPECS = [
    Spec("r0", T0 + 0, {"opt": "adam", "lr": "0.1"}, {"team": "vision"}, {"acc": [0.5, 0.9]}),
    Spec("r1", T0 + 10, {"opt": "sgd", "lr": "0.01"}, {"team": "nlp"}, {"acc": [0.7]}),
    Spec("r2", T0 + 20, {"opt": "adam", "lr": "0.01"}, {"team": "vision"}, {"acc": [0.9]},
         "FAILED"),
    Spec("r3", T0 + 30, {"opt": "Adam"}, {"team": "it's"}, {"acc": [NAN], "loss": [2.0]}),
    Spec("r4", T0 + 40, {"opt": "sgd", "note": 'say "hi"'}, {}, {"loss": [1.0, 0.5]}),
    Spec("r5", T0 + 50, {"lr": "0.1", "path": "C:\\data\\x"}, {"team": "nlp"},
         {"acc": [0.7], "loss": [0.5]}, "KILLED"),
    Spec("r6", T0 + 60, {}, {"team": "vision", "keep": "y"}, {}, "RUNNING"),
    Spec("r7", T0 + 70, {"opt": "adam%"}, {"keep": "n"}, {"acc": [0.9], "loss": [NAN]}),
    Spec("r8", T0 + 80, {}, {}, {"acc": [math.inf], "gain": [-math.inf]}),
]  # fmt: skip


def _fill(store: Store | ServerStore, experiment_id: str, specs: Sequence[Spec]) -> None:
    client = MltopClient(store) if isinstance(store, Store) else None
    for spec in specs:
        run = store.create_run(
            experiment_id, spec.name, start_time=spec.start, tags=dict(spec.tags)
        )
        run_id = run.info.run_id
        if spec.params:
            store.log_params(run_id, dict(spec.params))
        points = [
            Metric(key, value, spec.start + step, step)
            for key, values in spec.metrics.items()
            for step, value in enumerate(values)
        ]
        if points and client is not None:
            client.log_batch(run_id, metrics=points, synchronous=True)
        elif points and isinstance(store, ServerStore):
            store.rest.call(
                "POST",
                "runs/log-batch",
                {"run_id": run_id, "metrics": [convert.metric_to_json(p) for p in points]},
            )
        if spec.status != "RUNNING":
            store.update_run(run_id, status=spec.status, end_time=spec.start + 1000)
    if client is not None:
        client.close()


@dataclass
class Both:
    sqlite: Store
    server: ServerStore
    sqlite_exp: str
    server_exp: str

    def names(self, which: str, filter_string: str | None = None, **kwargs: Any) -> list[str]:
        store, exp = self.pick(which)
        runs = store.search_runs([exp], filter_string, max_results=1000, **kwargs)
        return [r.info.run_name for r in runs]

    def pick(self, which: str) -> tuple[Any, str]:
        if which == "sqlite":
            return self.sqlite, self.sqlite_exp
        return self.server, self.server_exp


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, mlflow_server: Any) -> Iterator[Both]:
    sqlite = Store(Path(tmp_path_factory.mktemp("contract-search")) / "store")
    server = ServerStore(mlflow_server.url, cache=tmp_path_factory.mktemp("server-cache"))
    name = f"contract-search-{uuid.uuid4().hex}"
    sqlite_exp = sqlite.create_experiment(name)
    server_exp = server.create_experiment(name)
    _fill(sqlite, sqlite_exp, SPECS)
    _fill(server, server_exp, SPECS)
    yield Both(sqlite, server, sqlite_exp, server_exp)
    sqlite.close()
    server.close()


CASES: list[tuple[str | None, list[str] | None]] = [
    (None, None),
    ("params.opt = 'adam'", None),
    ("params.opt LIKE 'adam%'", None),  # case-sensitive on both; % literal in r7's value
    ("params.opt ILIKE 'adam'", ["start_time ASC"]),
    ("params.opt != 'adam'", None),  # a run without the param never matches !=
    ("metrics.acc > 0.6", ["metrics.acc DESC"]),  # ties on 0.9 fall to start_time DESC
    ("metrics.acc != 0.9", None),  # NaN matches only !=
    ("metrics.loss <= 0.5", ["metrics.loss ASC"]),
    ("tags.team = 'it''s'", None),
    ("""params.note = 'say "hi"'""", None),
    ("params.path = 'C:\\data\\x'", None),
    ("tags.keep IS NULL", None),
    ("params.lr IS NOT NULL and tags.team = 'nlp'", None),
    ("status = 'FAILED' or status = 'KILLED'", None),
    ("params.opt = 'sgd' or tags.keep = 'y' or metrics.loss < 1", ["params.opt DESC"]),
    (
        "(params.opt = 'adam' or params.opt = 'sgd') and (metrics.acc >= 0.7 or metrics.loss > 0)",
        ["metrics.acc ASC", "params.lr DESC"],
    ),
    ("tags.team = 'vision' or params.lr = '0.1'", ["tags.team ASC", "metrics.loss DESC"]),
    ("metrics.acc > 0 or metrics.loss > 0", ["metrics.acc ASC"]),  # NaN, then missing, last
    ("metrics.acc > 0 or metrics.loss > 0", ["metrics.acc DESC"]),
    ("attributes.start_time >= 1700000000030 or run_name = 'r0'", ["end_time DESC"]),
    ("`Run name` LIKE 'r%' and status != 'RUNNING'", ["attributes.run_name DESC"]),
    (None, ["params.lr ASC", "tags.keep DESC"]),  # NULLs last both ways
    ("metrics.acc = 1e999 or metrics.gain <= -1e999", ["metrics.acc DESC"]),  # infinities
    ("metrics.acc > 0.95 or metrics.gain < 0", ["metrics.gain ASC"]),
    ("metrics.acc < 1e999", ["metrics.acc DESC"]),
]


@pytest.mark.parametrize(("filter_string", "order_by"), CASES)
def test_same_runs_in_the_same_order(
    both: Both, filter_string: str | None, order_by: list[str] | None
) -> None:
    expected = both.names("sqlite", filter_string, order_by=order_by)
    assert both.names("server", filter_string, order_by=order_by) == expected


def _all_pages(both: Both, which: str, filter_string: str | None, order_by: list[str] | None,
               size: int) -> list[str]:  # fmt: skip
    store, exp = both.pick(which)
    names: list[str] = []
    token = None
    for _ in range(len(SPECS) + 2):
        page = store.search_runs([exp], filter_string, order_by, size, token)
        assert len(page) <= size
        names += [r.info.run_name for r in page]
        token = page.token
        if token is None:
            return names
    raise AssertionError("paging never ended")


@pytest.mark.parametrize(
    ("filter_string", "order_by"),
    [
        (None, ["metrics.acc DESC"]),  # one query: the server's token, wrapped
        ("params.opt = 'sgd' or metrics.acc > 0.6 or tags.keep IS NOT NULL", ["params.lr ASC"]),
    ],
)
@pytest.mark.parametrize("size", [1, 2, 3])
def test_pages_join_up_across_boundaries(
    both: Both, filter_string: str | None, order_by: list[str], size: int
) -> None:
    whole = both.names("sqlite", filter_string, order_by=order_by)
    for which in ("sqlite", "server"):
        assert _all_pages(both, which, filter_string, order_by, size) == whole
        store, exp = both.pick(which)
        iterated = store.iter_runs([exp], filter_string, order_by, page_size=size)
        assert [r.info.run_name for r in iterated] == whole


@pytest.mark.parametrize("filter_string", [None, "params.opt = 'sgd' or tags.keep = 'y'"])
def test_bad_tokens_views_and_sizes_are_the_same_errors(
    both: Both, filter_string: str | None
) -> None:
    for which in ("sqlite", "server"):
        store, exp = both.pick(which)
        page = store.search_runs([exp], filter_string, ["params.lr"], 1)
        assert page.token is not None
        with pytest.raises(PageTokenError):  # the token of another search
            store.search_runs([exp], "params.lr = '0.1'", ["params.lr"], 1, page.token)
        with pytest.raises(PageTokenError):
            store.search_runs([exp], filter_string, ["params.lr"], 1, page.token[:-3] + "xyz")
        with pytest.raises(ValidationError, match="max_results"):
            store.search_runs([exp], filter_string, max_results=0)
        with pytest.raises(ValidationError, match="view must be one of"):
            store.search_runs([exp], filter_string, view="gone")


def test_counts_keys_rows_and_order_agree(both: Both) -> None:
    text = "params.opt = 'adam' or metrics.loss >= 0.5"
    counts = {w: both.pick(w)[0].count_runs([both.pick(w)[1]], text) for w in ("sqlite", "server")}
    assert counts["server"] == counts["sqlite"] == 5
    keys = {w: both.pick(w)[0].matching_keys([both.pick(w)[1]], text) for w in ("sqlite", "server")}
    assert keys["server"] == keys["sqlite"]
    rows: dict[str, list[tuple[str, dict[str, str], dict[str, float]]]] = {}
    for which in ("sqlite", "server"):
        store, exp = both.pick(which)
        order = store.run_order([exp], text, ["metrics.loss DESC"])
        found = store.run_rows_by_keys(list(order))
        assert all(row is not None for row in found)
        rows[which] = [
            (r.info.run_name, r.params, {k: v for k, v in r.metrics.items() if not math.isnan(v)})
            for r in found
            if r is not None
        ]
        by_id = store.run_keys([r.info.run_id for r in found if r is not None] + ["0" * 32])
        assert [by_id[r.info.run_id] for r in found if r is not None] == list(order)
        assert "0" * 32 not in by_id
    assert rows["server"] == rows["sqlite"]
    with ServerStore(both.server.url, cache=both.sqlite.path.parent / "fresh") as fresh:
        ids = [r.info.run_id for r in both.server.search_runs([both.server_exp], text)]
        keys = fresh.run_keys([*ids, "f" * 32, "not an id"])  # none met before by `fresh`
        assert list(keys) == ids
        again = fresh.run_rows_by_keys([keys[i] for i in ids])
        assert [r.info.run_id for r in again if r is not None] == ids
    iterated = {
        w: [
            r.info.run_name for r in both.pick(w)[0].iter_runs([both.pick(w)[1]], text, page_size=2)
        ]
        for w in ("sqlite", "server")
    }
    assert iterated["server"] == iterated["sqlite"]


def test_server_ties_fall_to_the_run_id(both: Both) -> None:
    """Runs started in the same millisecond: the run id decides, ascending, whether the
    server sorted them (one query) or this side merged an OR's queries."""
    server = both.server
    exp = server.create_experiment(f"ties-{uuid.uuid4().hex}")
    ids = []
    for i in range(6):
        run = server.create_run(exp, f"t{i}", start_time=T0, tags={"g": "ab"[i % 2]})
        ids.append(run.info.run_id)
    one = [r.info.run_id for r in server.search_runs([exp])]
    merged = [r.info.run_id for r in server.search_runs([exp], "tags.g = 'a' or tags.g = 'b'")]
    assert one == merged == sorted(ids)
    keys = server.run_order([exp], "tags.g = 'b' or tags.g = 'a'", ["tags.g DESC"])
    rows = server.run_rows_by_keys([*keys, 10**9])
    assert rows[-1] is None
    names = [r.info.run_name for r in rows[:-1] if r is not None]
    by_id = dict(zip(ids, (f"t{i}" for i in range(6)), strict=True))
    assert names == [by_id[i] for i in sorted(ids[1::2])] + [by_id[i] for i in sorted(ids[::2])]


def test_filters_the_server_cannot_run_are_refused_there_only(both: Both) -> None:
    for text in ("duration > 5", "params.a = 'both '' and \"'"):
        assert isinstance(both.names("sqlite", text), list)
        with pytest.raises(FilterError, match="the tracking server cannot"):
            both.names("server", text)
    with pytest.raises(FilterError, match="the tracking server cannot order by max"):
        both.names("server", None, order_by=["max(metrics.acc)"])
    with pytest.raises(FilterError, match="is a metric: compare it with a number"):
        both.names("server", "metrics.acc = 'x'")  # our own errors, on either backend


def test_experiments_search_alike(both: Both) -> None:
    prefix = f"contract-exp-{uuid.uuid4().hex[:8]}"
    by_id = {}
    for which, store in (("sqlite", both.sqlite), ("server", both.server)):
        a = store.create_experiment(f"{prefix}-a", tags={"team": "vision"})
        b = store.create_experiment(f"{prefix}-b", tags={"team": "nlp"})
        store.create_experiment(f"{prefix}-c")
        text = f"experiment_id = {a} or experiment_id IN ('{b}')"
        by_id[which] = [e.name for e in store.search_experiments(text, ["name DESC"])]
    assert by_id["sqlite"] == by_id["server"] == [f"{prefix}-b", f"{prefix}-a"]
    for text, order in [
        (f"name LIKE '{prefix}%'", None),
        (f"name = '{prefix}-c' or tags.team = 'nlp'", ["name ASC"]),
        (f"name LIKE '{prefix}%' and (tags.team = 'vision' or tags.team = 'nlp')", ["name DESC"]),
        (f"name LIKE '{prefix}%' and tags.team != 'nlp'", ["creation_time ASC"]),
        (f"name LIKE '{prefix}%' and (tags.team LIKE 'vis%' or creation_time < 0)", None),
    ]:
        found = {}
        for which, store in (("sqlite", both.sqlite), ("server", both.server)):
            found[which] = [e.name for e in store.search_experiments(text, order)]
        assert found["sqlite"], text
        assert found["server"] == found["sqlite"], text


def test_views_and_experiment_names_alike(both: Both) -> None:
    tag = uuid.uuid4().hex[:8]
    made: dict[str, tuple[str, str]] = {}
    for which, store in (("sqlite", both.sqlite), ("server", both.server)):
        kept = store.create_experiment(f"views-{tag}-kept")
        gone = store.create_experiment(f"views-{tag}-gone")
        store.create_run(kept, "alive", start_time=T0 + 1)
        dead = store.create_run(kept, "dead", start_time=T0 + 2).info.run_id
        store.delete_run(dead)
        store.create_run(gone, "orphan", start_time=T0 + 3)
        store.delete_experiment(gone)
        made[which] = (kept, gone)
    for view, expected in [
        ("active", ["alive"]),
        ("deleted", ["orphan", "dead"]),
        ("all", ["orphan", "dead", "alive"]),
    ]:
        for which, store in (("sqlite", both.sqlite), ("server", both.server)):
            found = store.search_runs(list(made[which]), view=view)
            assert [r.info.run_name for r in found] == expected, (which, view)
            assert store.count_runs(list(made[which]), view=view) == len(expected)
    for store in (both.sqlite, both.server):
        named = store.search_runs(experiment_names=[f"views-{tag}-kept"], view="all")
        assert [r.info.run_name for r in named] == ["dead", "alive"]


def test_system_tags_are_searched_alike(both: Both) -> None:
    """SQLite's backend keeps a run's name, user and parent as columns, the server as the
    tags mlflow.runName, mlflow.user and mlflow.parentRunId: searched alike."""
    found: dict[str, dict[str, list[str]]] = {}
    for which, store in (("sqlite", both.sqlite), ("server", both.server)):
        exp = store.create_experiment(f"system-tags-{uuid.uuid4().hex}")
        parent = store.create_run(exp, "parent", start_time=T0 + 1).info.run_id
        store.create_run(exp, "child", start_time=T0 + 2, parent_run_id=parent)
        store.create_run(exp, "other", start_time=T0 + 3, user_id="alice")
        for text, order in [
            ("tags.mlflow.runName = 'child'", None),
            ("tags.`mlflow.user` = 'alice' or run_name = 'parent'", None),
            ("tags.mlflow.parentRunId IS NULL", ["tags.mlflow.runName ASC"]),
            ("tags.mlflow.parentRunId IS NOT NULL or user_id = 'alice'", None),
            (None, ["tags.mlflow.parentRunId DESC"]),
        ]:
            names = [r.info.run_name for r in store.search_runs([exp], text, order)]
            found.setdefault(f"{text} {order}", {})[which] = names
    for case, by in found.items():
        assert by["sqlite"], case
        assert by["server"] == by["sqlite"], case


def test_dataset_filters_alike(both: Both) -> None:
    train = Dataset("train", "d1", "local", '{"uri": "/data/train"}')
    evals = Dataset("evals", "d2", "local", '{"uri": "/data/eval"}')
    exps = {}
    for which, store in (("sqlite", both.sqlite), ("server", both.server)):
        exp = store.create_experiment(f"datasets-{uuid.uuid4().hex}")
        exps[which] = exp
        for name, start, inputs in [
            ("t", T0 + 1, [DatasetInput(train, [InputTag(DATASET_CONTEXT_TAG, "training")])]),
            ("e", T0 + 2, [DatasetInput(evals, [InputTag(DATASET_CONTEXT_TAG, "eval")])]),
            ("none", T0 + 3, []),
        ]:
            run_id = store.create_run(exp, name, start_time=start).info.run_id
            if inputs:
                store.log_inputs(run_id, inputs)
    for text in [
        "dataset.name = 'train'",
        "dataset.name = 'train' or dataset.context = 'eval'",
        "dataset.digest IN ('d1', 'd2') and dataset.context != 'eval'",
        "datasets.name LIKE '%s' or params.x = 'y'",
    ]:
        found = {
            which: [r.info.run_name for r in store.search_runs([exps[which]], text)]
            for which, store in (("sqlite", both.sqlite), ("server", both.server))
        }
        assert found["sqlite"], text
        assert found["server"] == found["sqlite"], text


# -- a property: random filters of a small grammar, the same runs on both ----------------

_LEAVES = st.one_of(
    st.builds(
        lambda k, op, v: f"params.{k} {op} '{v}'",
        st.sampled_from(["opt", "lr"]),
        st.sampled_from(["=", "!=", "LIKE", "ILIKE"]),
        st.sampled_from(["adam", "sgd", "0.1", "0.01", "%a%", "Adam", "adam%"]),
    ),
    st.builds(
        lambda k, op, v: f"metrics.{k} {op} {v}",
        st.sampled_from(["acc", "loss"]),
        st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
        st.sampled_from(["0.5", "0.7", "0.9", "1", "0"]),
    ),
    st.builds(lambda v: f"tags.team = '{v}'", st.sampled_from(["vision", "nlp", "it''s"])),
    st.builds(
        lambda k, n: f"tags.{k} IS {n}NULL",
        st.sampled_from(["keep", "team"]),
        st.sampled_from(["", "NOT "]),
    ),
    st.builds(lambda v: f"status != '{v}'", st.sampled_from(["FINISHED", "RUNNING"])),
)


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda a, op, b: f"({a} {op} {b})", children, st.sampled_from(["and", "or"]), children
    )


FILTERS = st.recursive(_LEAVES, _combine, max_leaves=4)
ORDERS = st.lists(
    st.sampled_from(
        ["metrics.acc", "metrics.loss DESC", "params.lr", "tags.team DESC", "end_time"]
    ),
    max_size=2,
    unique_by=lambda o: o.split()[0],
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(filter_string=FILTERS, order_by=ORDERS)
def test_random_filters_find_the_same_runs(
    both: Both, filter_string: str, order_by: list[str]
) -> None:
    expected = both.names("sqlite", filter_string, order_by=order_by)
    assert both.names("server", filter_string, order_by=order_by) == expected
