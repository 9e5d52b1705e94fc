"""The command line: tables, JSON, exit statuses, and literal display of logged text."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from mltop.store import MltopClient, Store
from mltop.tui.cli import main


@pytest.fixture
def filled(store_path):
    client = MltopClient(Store(store_path))
    exp = client.create_experiment("vision", tags={"team": "cv"})
    parent = client.create_run(exp, run_name="parent", log_system_info=False)
    child = client.create_run(
        exp, run_name="[bold red]x[/] \x1b[2J", parent_run_id=parent.info.run_id
    )
    client.log_params(child.info.run_id, {"lr": 0.1, "opt": "[link=evil]adam"})
    for step in range(5):
        client.log_metric(child.info.run_id, "loss", 1.0 / (step + 1), step=step)
    client.log_metric(child.info.run_id, "weird", math.nan)
    client.log_text(child.info.run_id, "hello", "notes/a.txt")
    client.set_terminated(child.info.run_id, "FAILED")
    client.set_terminated(parent.info.run_id)
    client.close()
    return {"exp": exp, "parent": parent.info.run_id, "child": child.info.run_id}


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_experiments_list_table_and_json(filled, store_path):
    result = invoke("experiments", "list", "--store", str(store_path))
    assert result.exit_code == 0
    assert "vision" in result.output and "Default" in result.output
    data = json.loads(invoke("--store", str(store_path), "experiments", "list", "--json").output)
    vision = next(e for e in data if e["name"] == "vision")
    assert vision["runs"] == 2 and vision["tags"] == {"team": "cv"}


def test_runs_list_shows_names_literally(filled, store_path):
    result = invoke("runs", "list", "--store", str(store_path))
    assert result.exit_code == 0, result.output
    assert "[bold red]x[/] \\x1b[2J" in result.output
    assert "\x1b" not in result.output
    assert "[link=evil]adam" in result.output
    assert "FAILED" in result.output and "FINISHED" in result.output
    assert "0.2" in result.output  # latest loss


def test_runs_list_filters_by_experiment_and_errors_on_unknown(filled, store_path):
    data = json.loads(
        invoke("runs", "list", "-e", "vision", "--json", "--store", str(store_path)).output
    )
    assert {r["run_name"] for r in data} == {"parent", "[bold red]x[/] \x1b[2J"}
    assert (
        json.loads(
            invoke("runs", "list", "-e", "Default", "--json", "--store", str(store_path)).output
        )
        == []
    )
    result = invoke("runs", "list", "-e", "nope", "--store", str(store_path))
    assert result.exit_code == 2
    assert "no experiment named 'nope'" in result.output


def test_runs_json_has_everything_and_valid_json_for_nan(filled, store_path):
    out = invoke("runs", "list", "--json", "--store", str(store_path)).output
    assert "NaN" in out
    data = json.loads(out, parse_constant=lambda c: pytest.fail(f"bare {c} in JSON"))
    child = next(r for r in data if r["run_id"] == filled["child"])
    assert child["status"] == "FAILED"
    assert child["params"] == {"lr": "0.1", "opt": "[link=evil]adam"}
    assert child["metrics"]["loss"]["value"] == 0.2 and child["metrics"]["loss"]["count"] == 5
    assert child["metrics"]["weird"]["value"] == "NaN"
    assert child["parent_run_id"] == filled["parent"]


def test_runs_show_by_prefix(filled, store_path):
    result = invoke("runs", "show", filled["child"][:8], "--store", str(store_path))
    assert result.exit_code == 0, result.output
    for text in ("vision", "FAILED", "notes/a.txt", "loss", "lr", "tester", filled["parent"]):
        assert text in result.output
    data = json.loads(
        invoke("runs", "show", filled["parent"], "--json", "--store", str(store_path)).output
    )
    assert data["children"] == [filled["child"]]


def test_failures_exit_1_with_a_message(filled, store_path, tmp_path):
    result = CliRunner().invoke(main, ["runs", "show", "ffff", "--store", str(store_path)])
    assert result.exit_code == 1
    assert "mltop: error: no run id starts with 'ffff'" in result.output
    result = CliRunner().invoke(main, ["runs", "list", "--store", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "no mltop store" in result.output
    assert not (tmp_path / "none").exists()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "mltop.db").write_text("junk")
    result = CliRunner().invoke(main, ["runs", "list", "--store", str(bad)])
    assert result.exit_code == 1 and "not an mltop store" in result.output


def test_no_command_without_a_store_shows_help():
    result = CliRunner().invoke(main, [])
    assert result.exit_code == 0
    assert "experiments" in result.output and "runs" in result.output
    assert "no mltop store" in result.output


def test_ui_on_a_missing_store_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["ui", "--store", str(tmp_path / "none")])
    assert result.exit_code == 1 and "no mltop store" in result.output


def test_usage_errors_exit_2(store_path):
    assert CliRunner().invoke(main, ["runs", "show"]).exit_code == 2
    assert CliRunner().invoke(main, ["runs", "list", "--max-results", "0"]).exit_code == 2
    assert CliRunner().invoke(main, ["bogus"]).exit_code == 2


def test_store_from_environment(filled, store_path, monkeypatch):
    monkeypatch.setenv("MLTOP_STORE", str(store_path))
    result = invoke("runs", "list", "--json")
    assert len(json.loads(result.output)) == 2


def test_runs_list_filter_and_order(filled, store_path):
    out = invoke(
        "runs",
        "list",
        "--store",
        str(store_path),
        "--format",
        "json",
        "--filter",
        "metrics.loss < 0.5",
    )
    assert [r["run_id"] for r in json.loads(out.output)] == [filled["child"]]
    out = invoke(
        "runs",
        "list",
        "--store",
        str(store_path),
        "--json",
        "-f",
        "attributes.status = 'FINISHED' or params.lr = '0.1'",
        "--order-by",
        "attributes.run_name DESC",
    )
    assert [r["run_name"] for r in json.loads(out.output)] == ["parent", "[bold red]x[/] \x1b[2J"]


def test_a_bad_filter_is_a_usage_error_with_a_caret(filled, store_path):
    result = CliRunner().invoke(
        main, ["runs", "list", "--store", str(store_path), "--filter", "params.lr = 0.1"]
    )
    assert result.exit_code == 2
    assert "invalid filter at character 13: " in result.output
    assert "params.lr = 0.1\n" in result.output and "^" in result.output
    result = CliRunner().invoke(
        main, ["runs", "list", "--store", str(store_path), "--order-by", "metrics.loss UP"]
    )
    assert result.exit_code == 2 and "order_by entry 1" in result.output
    for fmt in ("json", "csv"):
        result = CliRunner().invoke(
            main, ["runs", "list", "--store", str(store_path), "--format", fmt, "-f", "x"]
        )
        assert result.exit_code == 2 and result.stdout == ""  # nothing half-written


def test_experiment_and_all_experiments_exclude_each_other(filled, store_path):
    result = CliRunner().invoke(
        main, ["runs", "list", "--store", str(store_path), "-e", "vision", "--all-experiments"]
    )
    assert result.exit_code == 2


def test_csv_export_has_a_column_per_key_and_a_row_per_run(filled, store_path):
    import csv
    import io

    out = invoke(
        "runs",
        "list",
        "--store",
        str(store_path),
        "--format",
        "csv",
        "--order-by",
        "attributes.run_name",
    )
    rows = list(csv.DictReader(io.StringIO(out.output)))
    # Control characters are written visibly: a terminal showing the CSV is not driven by it.
    assert [r["run_name"] for r in rows] == ["[bold red]x[/] \\x1b[2J", "parent"]
    child = rows[0]
    assert child["run_id"] == filled["child"] and child["experiment"] == "vision"
    assert child["status"] == "FAILED"
    assert child["metrics.loss"] == "0.2" and child["metrics.weird"] == "NaN"
    assert child["params.lr"] == "0.1" and child["params.opt"] == "[link=evil]adam"
    assert child["start_time"].endswith("+00:00") and float(child["duration_s"]) >= 0
    assert rows[1]["metrics.loss"] == "" and rows[1]["parent_run_id"] == ""
    limited = invoke(
        "runs", "list", "--store", str(store_path), "--format", "csv", "--max-results", "1"
    )
    assert len(list(csv.DictReader(io.StringIO(limited.output)))) == 1


def test_csv_of_thousands_of_runs_streams_in_pages(tmp_path):
    import csv
    import io

    path = tmp_path / "many"
    store = Store(path)
    for i in range(2500):
        run = store.create_run(run_name=f"r{i}", start_time=i, status="FINISHED")
        store.log_params(run.info.run_id, {"i": i})
    out = invoke("runs", "list", "--store", str(path), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out.output)))
    assert len(rows) == 2500
    assert [r["params.i"] for r in rows[:3]] == ["2499", "2498", "2497"]


def test_a_store_from_the_previous_mltop_is_upgraded_once_and_said(store_path):
    import sqlite3

    client = MltopClient(Store(store_path))
    run_id = client.create_run(run_name="old", log_system_info=False).info.run_id
    client.log_metric(run_id, "loss", 0.5)
    client.close()
    conn = sqlite3.connect(store_path / "mltop.db")
    conn.execute("DROP TABLE metric_blocks")
    conn.execute("PRAGMA user_version = 2")  # as the previous mltop left it
    conn.commit()
    conn.close()
    runner = CliRunner()
    first = runner.invoke(main, ["runs", "list", "--store", str(store_path)])
    assert first.exit_code == 0 and "old" in first.stdout
    assert f"upgrading the store at {store_path}" in first.stderr
    again = runner.invoke(main, ["runs", "list", "--store", str(store_path)])
    assert again.exit_code == 0 and "upgrading" not in again.stderr


def test_a_dashboard_that_failed_exits_non_zero(store_path, monkeypatch):
    """A crash of the dashboard itself (Textual prints the traceback) is a failure to the
    shell: `mltop ui && next` must not go on."""
    from mltop.tui import app as app_module

    def failed_run(self, *args, **kwargs):
        self._return_code = 1  # what Textual sets when an unhandled error ends the app

    Store(store_path).close()
    monkeypatch.setattr(app_module.MltopApp, "run", failed_run)
    result = CliRunner().invoke(main, ["ui", "--store", str(store_path)])
    assert result.exit_code == 1 and result.output == ""


def test_runs_list_shows_system_metrics_only_when_asked_about(store_path):
    client = MltopClient(Store(store_path))
    run = client.create_run("0", run_name="sampled", log_system_info=False)
    client.log_metrics(
        run.info.run_id,
        {
            "loss": 0.5,
            "system/cpu_utilization_percentage": 40.0,
            "system/gpu_0_temperature_celsius": 71.0,
        },
    )
    client.close()
    shown = invoke("runs", "list", "--store", str(store_path))
    assert "loss" in shown.output and "system/" not in shown.output
    ordered = invoke(
        "runs",
        "list",
        "--store",
        str(store_path),
        "-o",
        "metrics.`system/gpu_0_temperature_celsius`",
    )
    assert "system/gpu_0" in ordered.output and "71" in ordered.output
    assert "system/cpu" not in ordered.output
    # Every key is still in --json.
    data = json.loads(invoke("runs", "list", "--store", str(store_path), "--json").output)
    assert data[0]["metrics"]["system/cpu_utilization_percentage"]["value"] == 40.0


def _commands(group, prefix=()):
    import click

    for name, command in group.commands.items():
        path = (*prefix, name)
        if isinstance(command, click.Group):
            yield from _commands(command, path)
        else:
            yield path, command


def test_every_store_option_says_whether_it_takes_a_server_url():
    """`--store` takes a tracking server's URL wherever the command can work on one; the
    commands that need a local folder (`run`, `demo`) say PATH, and refuse a URL."""
    local_only = {("run",), ("demo",)}
    seen = []
    for path, command in _commands(main):
        for option in command.params:
            if "--store" in getattr(option, "opts", ()):
                seen.append(path)
                assert option.metavar == ("PATH" if path in local_only else "PATH|URL"), path
    assert len(seen) >= 15 and local_only <= set(seen)


@pytest.mark.parametrize("command", [["run", "script.py"], ["demo", "--no-ui"]])
def test_commands_needing_a_folder_refuse_a_server_url(tmp_path, command, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "script.py").write_text("print('hi')\n")
    result = CliRunner().invoke(main, [*command, "--store", "http://ana:secret@127.0.0.1:9"])
    assert result.exit_code != 0
    assert "tracking server http://ana:***@127.0.0.1:9" in result.output.replace("\n", " ") or (
        "http://ana:***@127.0.0.1:9 is a tracking server" in result.output
    )
    assert "secret" not in result.output
    assert list(tmp_path.iterdir()) == [tmp_path / "script.py"]  # no folder named "http:"
