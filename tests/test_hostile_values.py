"""Times that are not times: refused at the API with a clear error, and any value a store
already holds (written before times were checked, or by hand) shown without a crash, in
the command line, the exports and the dashboard."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from test_dashboard import settle, sync

from mltop.store import InvalidValueError, MltopClient, Store
from mltop.tui.app import MltopApp
from mltop.tui.cli import main
from mltop.tui.widgets.runs_table import RunsTable

NOT_TIMES = {
    "nanoseconds": 1_764_300_000_000_000_000,
    "negative": -5_000,
    "2**62": 2**62,
    "-2**62": -(2**62),
}


@pytest.mark.parametrize("value", list(NOT_TIMES.values()), ids=list(NOT_TIMES))
def test_a_time_that_is_not_milliseconds_is_refused(client, value):
    with pytest.raises(InvalidValueError, match="not a time in milliseconds since 1970"):
        client.create_run(run_name="x", start_time=value, log_system_info=False)
    run_id = client.create_run(run_name="y", log_system_info=False).info.run_id
    with pytest.raises(InvalidValueError, match="milliseconds, not seconds or nanoseconds"):
        client.set_terminated(run_id, "FINISHED", end_time=value)
    assert client.store.get_run(run_id).info.status == "RUNNING"  # nothing changed


@pytest.fixture
def odd_times(store_path) -> Store:
    """Runs whose stored times no calendar holds, as an older mltop could have left them."""
    client = MltopClient(Store(store_path))
    for name in NOT_TIMES:
        run = client.create_run(run_name=name, status="FINISHED", log_system_info=False)
        client.log_metric(run.info.run_id, "loss", 1.0)
    client.close()
    store = Store(store_path)
    conn = store.thread_connection()
    for name, value in NOT_TIMES.items():
        conn.execute(
            "UPDATE runs SET start_time = ?, end_time = ? WHERE name = ?", (value, value, name)
        )
    return store


def test_the_command_line_shows_any_stored_time(odd_times, store_path):
    runner = CliRunner()
    for args in (
        ["runs", "list"],
        ["runs", "list", "--format", "csv"],
        ["runs", "list", "--format", "json"],
    ):
        result = runner.invoke(main, [*args, "--store", str(store_path)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert "nanoseconds" in result.output
    listed = json.loads(
        runner.invoke(main, ["runs", "list", "--format", "json", "--store", str(store_path)]).output
    )
    for run in listed:
        shown = runner.invoke(
            main,
            ["runs", "show", run["run_id"], "--store", str(store_path)],
            catch_exceptions=False,
        )
        assert shown.exit_code == 0 and run["run_name"] in shown.output


@sync
async def test_the_dashboard_shows_any_stored_time(odd_times, store_path):
    app = MltopApp(store_path, follow=False)
    async with app.run_test(size=(120, 40)) as pilot:
        runs_table = app.screen.query_one(RunsTable)
        await settle(pilot, lambda: len(runs_table.runs) == len(NOT_TIMES))
        for row in range(len(NOT_TIMES)):
            runs_table.table.move_cursor(row=row)
            await pilot.press("enter")
            await settle(pilot, lambda: app.screen is not runs_table.screen)
            await pilot.pause(0.2)
            await pilot.press("escape")
            await settle(pilot, lambda: app.screen is runs_table.screen)
        await pilot.pause(1.2)  # the clock ticks: durations and ages are computed again
        assert app.is_running
        assert not [n for n in app._notifications if n.severity == "error"]


HOSTILE = '=HYPERLINK("http://x")\x1b[2J\x9b31m\u202eevil'


def test_csv_cells_never_run_as_formulas_and_show_controls(store_path):
    client = MltopClient(Store(store_path))
    run_id = client.create_run(run_name="=1+2", log_system_info=False).info.run_id
    client.log_params(run_id, {"cmd": "-2+3+cmd|' /C calc'!A0", "lr": "-0.5", "at": "@SUM(A1)"})
    client.set_tag(run_id, "note", HOSTILE)
    client.log_metric(run_id, "loss", -0.25)
    client.close()
    result = CliRunner().invoke(
        main, ["runs", "list", "--format", "csv", "--store", str(store_path)]
    )
    assert result.exit_code == 0
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert len(rows) == 1
    row = rows[0]
    assert row["run_name"] == "'=1+2"
    assert row["params.cmd"] == "'-2+3+cmd|' /C calc'!A0"
    assert row["params.at"] == "'@SUM(A1)"
    assert row["params.lr"] == "-0.5" and row["metrics.loss"] == "-0.25"  # numbers stay numbers
    assert row["tags.note"].startswith("'=HYPERLINK")
    assert "\x1b" not in result.output and "\\x1b[2J" in row["tags.note"]
    assert "\x9b" not in result.output and "\u202e" not in result.output


def test_json_escapes_c1_controls_and_bidi_overrides(store_path):
    client = MltopClient(Store(store_path))
    run_id = client.create_run(run_name="evil", log_system_info=False).info.run_id
    client.set_tag(run_id, "note", HOSTILE)
    client.close()
    for args in (["runs", "list", "--format", "json"], ["runs", "show", run_id, "--json"]):
        out = CliRunner().invoke(main, [*args, "--store", str(store_path)]).output
        assert "\x9b" not in out and "\u202e" not in out and "\x1b" not in out
        assert "\\u009b" in out and "\\u202e" in out
        data = json.loads(out)
        run = data[0] if isinstance(data, list) else data
        assert run["tags"]["note"] == HOSTILE  # read back exactly


def test_a_stored_policy_is_printed_literally(store_path):
    client = MltopClient(Store(store_path))
    run_id = client.create_run(run_name="r", log_system_info=False).info.run_id
    registry = client.store.registry
    registry.create_model_version("m", f"runs:/{run_id}/model")
    registry.set_policy("m", "tags.note = '\x1b[2J\x9bx'")
    client.close()
    out = CliRunner().invoke(main, ["models", "policy", "m", "--store", str(store_path)]).output
    assert "\x1b" not in out and "\x9b" not in out
    assert "tags.note = '\\x1b[2J\\x9bx'" in out


def test_a_filter_error_shows_the_filter_with_its_controls_made_visible(store_path):
    MltopClient(Store(store_path)).create_run(log_system_info=False)
    hostile = "\x1b]0;PWN\x07\x1b[31mred\u202e"
    result = CliRunner().invoke(
        main, ["--store", str(store_path), "runs", "list", "-f", f"params.p = '{hostile}' and"]
    )
    assert result.exit_code == 2
    assert not any(c in result.output for c in "\x1b\x07\u202e")
    shown = "params.p = '\\x1b]0;PWN\\x07\\x1b[31mred\\u202e' and"
    lines = result.output.splitlines()
    at = lines.index(f"  {shown}")
    assert lines[at + 1] == " " * (2 + len(shown)) + "^"  # under the end, where it failed
