"""Searching runs over a tracking server: our filter language written in MLflow's.

The translation is pure (our AST in, MLflow filter strings out): these tests check it
against MLflow's own parser, which is what the server runs on every filter it is sent.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlflow.utils.search_utils import SearchUtils

from mltop.store.errors import FilterError, InvalidValueError
from mltop.store.server.rest import RestClient
from mltop.store.server.search import (
    MAX_QUERIES,
    SortKey,
    compare_values,
    number_text,
    quote_key,
    quote_value,
    translate_experiment_filter,
    translate_filter,
    translate_order,
)
from mltop.store.server.tracking import ServerStore


def parsed(text: str) -> list[dict[str, object]]:
    return SearchUtils.parse_search_filter(text)  # type: ignore[no-any-return]


def test_a_filter_without_or_is_one_query() -> None:
    assert translate_filter(None) == [""]
    assert translate_filter("  ") == [""]
    [query] = translate_filter("metrics.loss < 0.5 and params.lr = '0.1' and status = 'RUNNING'")
    assert query == "metrics.`loss` < 0.5 AND params.`lr` = '0.1' AND attributes.status = 'RUNNING'"
    assert parsed(query) == [
        {"type": "metric", "key": "loss", "comparator": "<", "value": "0.5"},
        {"type": "parameter", "key": "lr", "comparator": "=", "value": "0.1"},
        {"type": "attribute", "key": "status", "comparator": "=", "value": "RUNNING"},
    ]


def test_or_and_parentheses_become_the_or_of_ands() -> None:
    queries = translate_filter(
        "(params.opt = 'adam' or params.opt = 'sgd') and (metrics.acc > 0.9 or tags.keep = 'y')"
    )
    assert queries == [
        "params.`opt` = 'adam' AND metrics.`acc` > 0.9",
        "params.`opt` = 'adam' AND tags.`keep` = 'y'",
        "params.`opt` = 'sgd' AND metrics.`acc` > 0.9",
        "params.`opt` = 'sgd' AND tags.`keep` = 'y'",
    ]
    for query in queries:
        assert len(parsed(query)) == 2


def test_too_many_or_terms_are_refused_saying_why() -> None:
    five = " and ".join(f"(params.{k} = '1' or params.{k} = '2')" for k in "abcde")  # 32
    with pytest.raises(FilterError, match="the tracking server cannot run this filter") as info:
        translate_filter(five)
    assert f"at most {MAX_QUERIES} queries" in str(info.value)
    four = " and ".join(f"(params.{k} = '1' or params.{k} = '2')" for k in "abcd")  # 16
    assert len(translate_filter(four)) == 16


def test_our_own_errors_come_first() -> None:
    with pytest.raises(FilterError, match="is a metric: compare it with a number"):
        translate_filter("metrics.loss = 'low'")
    with pytest.raises(FilterError, match="unmatched"):
        translate_filter("params.a = '1')")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("duration > 1000", "the tracking server cannot search by duration"),
        ("params.a = 'x\\'", "ending with a backslash"),
        ("""params.a = 'say "it''s"'""", "both ' and \""),
        ("""tags.`a``b"c` = 'x'""", "cannot quote a key"),
    ],
)
def test_what_mlflow_cannot_say_is_refused(text: str, says: str) -> None:
    with pytest.raises(FilterError, match="the tracking server cannot") as info:
        translate_filter(text)
    assert says in str(info.value)


def test_orders_mlflow_cannot_sort_by_are_refused() -> None:
    with pytest.raises(FilterError, match="cannot order by min") as info:
        translate_order(["params.a", "min(metrics.loss)"])
    assert info.value.item == 1
    with pytest.raises(FilterError, match="cannot order by duration"):
        translate_order(["duration DESC"])


def test_order_by_adds_mlflow_tie_breaks() -> None:
    server, keys = translate_order(["metrics.`val loss` DESC", "created"])
    assert server == ["metrics.`val loss` DESC", "attributes.start_time ASC"]
    assert keys == [
        SortKey("metrics", "val loss", True),
        SortKey("attributes", "start_time", False),
        SortKey("attributes", "run_id", False),
    ]
    assert SearchUtils.parse_order_by_for_search_runs(server[0]) == ("metric", "val loss", False)
    _server, default = translate_order(None)
    assert default == [
        SortKey("attributes", "start_time", True),
        SortKey("attributes", "run_id", False),
    ]


def test_merge_order_puts_nan_and_missing_last_both_ways() -> None:
    keys = [SortKey("metrics", "m", True)]
    value, nan, missing = [0, 2.0], [1, None], [2, None]
    assert compare_values(value, nan, keys) < 0
    assert compare_values(nan, missing, keys) < 0
    assert compare_values([0, 3.0], value, keys) < 0  # descending
    keys = [SortKey("metrics", "m", False)]
    assert compare_values(value, nan, keys) < 0
    assert compare_values([0, 3.0], value, keys) > 0


def test_numbers_are_written_as_mlflow_reads_them() -> None:
    assert number_text(3.0) == "3"
    assert number_text(-0.5) == "-0.5"
    assert number_text(1e20) == "1e20"
    assert number_text(math.inf) == "1.7976931348623157e308"  # a logged inf, as MLflow keeps it
    assert float(parsed(f"metrics.x > {number_text(-math.inf)}")[0]["value"]) == -sys.float_info.max  # type: ignore[arg-type]


def test_experiment_filters_translate_or() -> None:
    assert translate_experiment_filter("name LIKE 'a%' or tags.team = 'x'") == [
        "name LIKE 'a%'",
        "tags.`team` = 'x'",
    ]
    with pytest.raises(FilterError, match="the tracking server cannot search experiments with IS"):
        translate_experiment_filter("tags.team IS NULL")


class RefusingRest(RestClient):
    """A server that knows one experiment and refuses every run search's filter."""

    def call(self, method: str, endpoint: str, body: Any = None, **kwargs: Any) -> dict[str, Any]:
        if endpoint == "experiments/search" and not (body or {}).get("filter"):
            return {
                "experiments": [{"experiment_id": "1", "name": "e", "lifecycle_stage": "active"}]
            }
        raise InvalidValueError(f"tracking server {self.url}: {endpoint}: Invalid clause")


def test_a_server_refusing_what_it_was_sent_is_a_filter_error() -> None:
    store = ServerStore("http://127.0.0.1:9", rest=RefusingRest("http://127.0.0.1:9"))
    with pytest.raises(FilterError, match="the tracking server cannot run this search") as info:
        store.search_runs(["1"], "params.a = 'x' or params.b = 'y'")
    assert "params.`a` = 'x'" in str(info.value) and "Invalid clause" in str(info.value)
    with pytest.raises(FilterError, match="refused the order_by"):
        store.search_runs(["1"], None, ["params.a"])
    with pytest.raises(FilterError, match="refused the filter"):
        store.search_experiments("name = 'e' or name = 'f'")
    with pytest.raises(InvalidValueError):  # no filter, no order: the error as it was
        store.search_runs(["1"])


def test_experiment_ids_are_sent_quoted() -> None:
    assert translate_experiment_filter("experiment_id = 3 or experiment_id != '4'") == [
        "experiment_id = '3'",
        "experiment_id != '4'",
    ]


# -- round trips through MLflow's parser -----------------------------------------------------

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(value=TEXT, key=TEXT.filter(lambda k: k.strip() == k and k != ""))
def test_quoted_values_and_keys_read_back_unchanged(value: str, key: str) -> None:
    """Whatever quote_value and quote_key accept, MLflow's parser reads back exactly, even
    in the middle of a filter; what they refuse is a FilterError saying so."""
    try:
        literal = quote_value(value)
        name = quote_key(key)
    except FilterError as exc:
        assert "the tracking server cannot" in exc.message
        assert value.endswith("\\") or ("'" in value and '"' in value) or "`" in key
        return
    found = parsed(f"params.{name} = {literal} AND tags.`t` = 'z'")
    assert found == [
        {"type": "parameter", "key": key, "comparator": "=", "value": value},
        {"type": "tag", "key": "t", "comparator": "=", "value": "z"},
    ]


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.floats(allow_nan=False),
        st.integers(min_value=-(10**20), max_value=10**20).map(float),
    )
)
def test_numbers_read_back_unchanged(value: float) -> None:
    [found] = parsed(f"metrics.`m` >= {number_text(value)}")
    expected = value if math.isfinite(value) else math.copysign(sys.float_info.max, value)
    assert float(found["value"]) == expected  # type: ignore[arg-type]
