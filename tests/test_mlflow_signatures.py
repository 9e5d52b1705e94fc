"""Every MltopClient method and every `mltop.store` function named as one of MLflow's takes
MLflow's parameters first: same names, same order, same kinds, same defaults; our own extra
parameters only keyword-only after them. So a call written for MLflow 3.17 means the same.

MLflow's parameters come from `tests/data/mlflow_signatures.json`, made once from MLflow
3.17.2's source with `ast` (`tests/data/make_mlflow_signatures.py`; MLflow is never imported).
"""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path
from typing import Any

import pytest

import mltop.store as mt
from mltop.store import MltopClient, ViewType

TABLE = json.loads((Path(__file__).parent / "data" / "mlflow_signatures.json").read_text())

# MLflow's named defaults, by the value they stand for in MLflow 3.17.2.
MLFLOW_CONSTANTS: dict[str, Any] = {
    "SEARCH_MAX_RESULTS_DEFAULT": 1000,
    "SEARCH_MAX_RESULTS_PANDAS": 100_000,
    "SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT": 100,
    "SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT": 10_000,
    "DEFAULT_AWAIT_MAX_SLEEP_SECONDS": 300,
    "ViewType.ACTIVE_ONLY": ViewType.ACTIVE_ONLY,
    "RunStatus.to_string(RunStatus.FINISHED)": "FINISHED",
}

# Where MLflow requires an argument and mltop lets it be left out (a call written for MLflow
# passes it, and means the same): (section, name, parameter).
OUR_DEFAULTS_WHERE_MLFLOW_HAS_NONE = {
    ("client", "create_run", "experiment_id"),  # None: the default experiment
    ("client", "search_runs", "experiment_ids"),  # None: every experiment
}

# The everyday calls the issue names, which must exist (MLflow's parameters are then
# checked by the tests below).
REQUIRED_FLUENT = (
    "register_model",
    "log_input",
    "log_inputs",
    "active_run",
    "create_experiment",
    "delete_run",
    "delete_tag",
    "end_run",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_parent_run",
    "get_run",
    "get_tracking_uri",
    "last_active_run",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
)
REQUIRED_CLIENT = (
    # the registry under MLflow's names
    "create_registered_model",
    "get_registered_model",
    "search_registered_models",
    "search_model_versions",
    "get_model_version",
    "update_model_version",
    "transition_model_version_stage",
    "get_latest_versions",
    "set_registered_model_alias",
    "delete_registered_model_alias",
    "get_model_version_by_alias",
    "set_registered_model_tag",
    "delete_registered_model_tag",
    "set_model_version_tag",
    "delete_model_version_tag",
    "log_inputs",
    "create_experiment",
    "create_run",
    "delete_experiment",
    "delete_run",
    "delete_tag",
    "download_artifacts",
    "get_experiment_by_name",
    "get_metric_history",
    "list_artifacts",
    "log_batch",
    "log_dict",
    "log_figure",
    "log_image",
    "log_metric",
    "log_param",
    "log_table",
    "log_text",
    "rename_experiment",
    "restore_experiment",
    "restore_run",
    "search_experiments",
    "search_runs",
    "set_experiment_tag",
    "set_tag",
    "set_terminated",
    "update_run",
)


def mlflow_default(text: str) -> Any:
    if text in MLFLOW_CONSTANTS:
        return MLFLOW_CONSTANTS[text]
    try:
        return ast.literal_eval(text)
    except ValueError:
        raise AssertionError(
            f"MLflow default {text!r}: add its value to MLFLOW_CONSTANTS"
        ) from None


def ours(section: str) -> dict[str, inspect.Signature]:
    found = {}
    for name in TABLE[section]:
        if section == "client":
            member = getattr(MltopClient, name, None)
        else:
            member = getattr(mt, name, None)
            if not inspect.isfunction(member):
                member = None
        if member is None:
            continue
        params = list(inspect.signature(member).parameters.values())
        if section == "client":
            params = params[1:]  # self
        found[name] = inspect.Signature(params)
    return found


def mismatches(section: str, name: str, signature: inspect.Signature) -> list[str]:
    problems = []
    theirs = TABLE[section][name]
    mine = list(signature.parameters.values())
    for i, want in enumerate(theirs):
        if i >= len(mine):
            problems.append(f"missing MLflow's parameter {want['name']!r} (position {i})")
            continue
        have = mine[i]
        if have.name != want["name"]:
            problems.append(f"position {i}: {have.name!r} where MLflow has {want['name']!r}")
            continue
        if have.kind.name != want["kind"]:
            problems.append(f"{have.name!r} is {have.kind.name}, MLflow's {want['kind']}")
        if "default" in want:
            expected = mlflow_default(want["default"])
            if have.default is inspect.Parameter.empty:
                problems.append(f"{have.name!r} has no default; MLflow's is {expected!r}")
            elif have.default != expected or type(have.default) is not type(expected):
                problems.append(
                    f"{have.name!r} defaults to {have.default!r}, MLflow's {expected!r}"
                )
        elif (
            have.default is not inspect.Parameter.empty
            and (section, name, have.name) not in OUR_DEFAULTS_WHERE_MLFLOW_HAS_NONE
        ):
            problems.append(f"{have.name!r} has a default ({have.default!r}); MLflow's has none")
    for extra in mine[len(theirs) :]:
        if extra.kind is not inspect.Parameter.KEYWORD_ONLY:
            problems.append(f"our extra parameter {extra.name!r} is not keyword-only")
    return [f"{section} {name}: {p}" for p in problems]


@pytest.mark.parametrize("section", ["client", "fluent"])
def test_mlflows_parameters_come_first_with_mlflows_defaults(section):
    found = ours(section)
    assert found, "no namesake found: the table or the lookup is wrong"
    problems = [p for name, sig in sorted(found.items()) for p in mismatches(section, name, sig)]
    assert problems == []


def test_the_everyday_calls_exist():
    missing = [
        f"mltop.store.{n}" for n in REQUIRED_FLUENT if not inspect.isfunction(getattr(mt, n, None))
    ]
    missing += [
        f"MltopClient.{n}" for n in REQUIRED_CLIENT if not callable(getattr(MltopClient, n, None))
    ]
    assert missing == []


def test_the_required_names_are_mlflows():
    """A required name MLflow has not got would be checked against nothing."""
    for section, names in (("fluent", REQUIRED_FLUENT), ("client", REQUIRED_CLIENT)):
        for name in names:
            assert name in TABLE[section], (section, name)


def test_the_check_catches_a_wrong_order_a_positional_extra_and_a_default():
    def swapped(run_id, key, value, step=None, timestamp=None, synchronous=None):
        pass

    def extra(run_id, key, value, timestamp=None, step=None, synchronous=None, *, x=1):
        pass

    def shifted(run_id, key, value, timestamp=0, step=None, synchronous=None):
        pass

    def complete(
        run_id,
        key,
        value,
        timestamp=None,
        step=None,
        synchronous=None,
        dataset_name=None,
        dataset_digest=None,
        model_id=None,
        mine=None,
    ):
        pass

    def check(fn):
        return mismatches("client", "log_metric", inspect.signature(fn))

    assert check(swapped)[0] == "client log_metric: position 3: 'step' where MLflow has 'timestamp'"
    assert check(extra)[0] == "client log_metric: position 6: 'x' where MLflow has 'dataset_name'"
    assert check(shifted)[0] == "client log_metric: 'timestamp' defaults to 0, MLflow's None"
    assert check(complete) == ["client log_metric: our extra parameter 'mine' is not keyword-only"]
