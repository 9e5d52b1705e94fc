"""The command line's tables: aligned, capped, literal, fitted to a terminal; and
`runs list` pages through the store for any --max-results."""

from __future__ import annotations

import io
import re

import pytest
from click.testing import CliRunner
from rich.cells import cell_len
from rich.console import Console

from mltop.store import MltopClient, Store
from mltop.store.query import paging
from mltop.tui.cli import main
from mltop.tui.cli.table import Column, print_table

HOSTILE_NAME = "[bold red]x[/] \x1b[2J"
WIDE_NAME = "実験" * 30  # 60 cells: over the name column's cap


def invoke(*args: str):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def table_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line[:1] in "┏┃┡│└"]


@pytest.fixture
def hostile(store_path):
    client = MltopClient(Store(store_path))
    odd = client.create_run(run_name=HOSTILE_NAME, log_system_info=False)
    client.log_params(odd.info.run_id, {"long": "p" * 6000, "opt": "[link=evil]adam"})
    client.log_metric(odd.info.run_id, "loss", 0.5)
    wide = client.create_run(run_name=WIDE_NAME, log_system_info=False)
    client.log_metric(wide.info.run_id, "loss", float("nan"))
    client.close()
    return store_path


def test_a_long_param_is_cut_with_an_ellipsis_and_every_line_aligned(hostile):
    lines = table_lines(invoke("runs", "list", "--store", str(hostile)))
    assert len(lines) == 6  # top, header, rule, two runs, bottom
    widths = {cell_len(line) for line in lines}
    assert len(widths) == 1, widths  # a CJK name is as wide as it looks
    assert widths.pop() < 200  # not 6000 wide
    assert "p" * 6000 not in "".join(lines)
    assert re.search(r"│ p+… │", lines[3] + lines[4])
    assert any(line.count("実験") < 30 and "…" in line for line in lines)  # cut name
    # The column separators line up on the header and the ASCII row.
    odd = next(line for line in lines if "[link=evil]" in line)
    assert [i for i, c in enumerate(odd) if c == "│"] == [
        i for i, c in enumerate(lines[1]) if c == "┃"
    ]


def test_user_text_is_shown_literally(hostile):
    output = invoke("runs", "list", "--store", str(hostile))
    assert "[bold red]x[/] \\x1b[2J" in output
    assert "\x1b" not in output
    assert "[link=evil]adam" in output
    assert "NaN" in output


def test_on_a_narrow_terminal_columns_shrink_and_the_rest_is_said():
    console = Console(file=io.StringIO(), force_terminal=True, width=65, color_system="standard")
    columns = [
        Column("Status", min_width=10, max_width=None),
        Column("Name", min_width=8),
        *(Column(f"metric{i}", justify="right", max_width=None) for i in range(8)),
    ]
    rows = [[("✔ FINISHED", "blue"), "a-long-run-name-" * 3, *["0.123456"] * 8]]
    left_out = print_table(console, columns, rows)
    written = console.file.getvalue()  # type: ignore[attr-defined]
    plain = re.sub(r"\x1b\[[0-9;]*m", "", written)
    assert all(cell_len(line) <= 65 for line in plain.splitlines())
    assert 0 < left_out < 8
    assert "metric0" in plain and "metric7" not in plain
    # The name shrank, only as far as the columns shown need: the room a left-out column
    # leaves goes to it.
    assert "a-long-run-nam…" in plain
    assert {cell_len(line) for line in plain.splitlines()} == {65}
    assert "\x1b[34m✔ FINISHED\x1b[0m" in written  # the status in its colour
    # A number is left out, never cut.
    assert re.search(r"\d…", plain) is None and "metric3" not in plain


def test_off_a_terminal_nothing_is_left_out_and_no_escapes_are_written():
    console = Console(file=io.StringIO(), width=40)
    columns = [Column(f"column{i}") for i in range(10)]
    assert print_table(console, columns, [[f"value{i}" for i in range(10)]]) == 0
    written = console.file.getvalue()  # type: ignore[attr-defined]
    assert "column9" in written and "value9" in written and "\x1b" not in written


def test_no_runs_is_said_under_the_header(store_path):
    Store(store_path).close()
    output = invoke("runs", "list", "--store", str(store_path))
    assert "Status" in output and "No runs." in output


@pytest.fixture
def ten_runs(store_path):
    client = MltopClient(Store(store_path))
    for i in range(10):
        run = client.create_run(run_name=f"run-{i}", log_system_info=False)
        client.log_metric(run.info.run_id, "loss", float(i))
        client.set_terminated(run.info.run_id)
    client.close()
    return store_path


def names_listed(output: str) -> list[str]:
    return re.findall(r"run-\d", output)


def test_max_results_over_the_page_limit_reads_page_after_page(ten_runs, monkeypatch):
    monkeypatch.setattr(paging, "MAX_RESULTS_LIMIT", 3)  # the store's pages: 3 runs at most
    args = ("runs", "list", "--store", str(ten_runs), "-o", "metrics.loss ASC")
    seven = invoke(*args, "--max-results", "7")
    assert names_listed(seven) == [f"run-{i}" for i in range(7)]
    assert "showing the first 7" in seven
    every = invoke(*args, "--max-results", "99999")
    assert names_listed(every) == [f"run-{i}" for i in range(10)]
    assert "showing the first" not in every


def test_max_results_over_the_store_limit_lists_every_run(ten_runs):
    output = invoke("runs", "list", "--store", str(ten_runs), "--max-results", "99999")
    assert sorted(names_listed(output)) == [f"run-{i}" for i in range(10)]


def test_a_250_character_key_is_cut_and_the_other_columns_stay(store_path, monkeypatch):
    """MLflow allows keys of 250 characters: as a header one pushed every column after it
    off the terminal. Each header is capped (cut in the middle, so keys that differ at their
    end stay told apart); the numbers under it are never cut."""
    client = MltopClient(Store(store_path))
    for i in range(2):
        run = client.create_run(run_name=f"run-{i}", log_system_info=False)
        client.log_metric(run.info.run_id, "m" * 244 + f"_top{i}", 1234.5 + i)
        client.log_metric(run.info.run_id, "loss", 0.25)
        client.log_param(run.info.run_id, "p" * 250, "adam")
        client.log_param(run.info.run_id, "lr", "0.1")
    client.close()
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # Rich: a terminal, though a pipe
    monkeypatch.setenv("COLUMNS", "120")
    output = invoke("runs", "list", "--store", str(store_path))
    lines = table_lines(output)
    assert lines and all(cell_len(re.sub(r"\x1b\[[0-9;]*m", "", line)) <= 120 for line in lines)
    assert "did not fit" not in output
    header = re.sub(r"\x1b\[[0-9;]*m", "", lines[1])
    for shown in ("Name", "loss", "m…_top0", "m…_top1", "lr", "p…p"):
        assert shown in header, header
    body = re.sub(r"\x1b\[[0-9;]*m", "", "".join(lines[3:5]))
    assert "1,234.5" in body or "1234.5" in body
    assert "1235.5" in body or "1,235.5" in body
    assert "adam" in body and "0.1" in body


def test_a_long_header_gives_way_to_the_numbers_under_it_on_a_narrow_terminal():
    console = Console(file=io.StringIO(), force_terminal=True, width=40, color_system=None)
    columns = [Column("Name", max_width=None), Column("x" * 100, justify="right", max_width=None)]
    assert print_table(console, columns, [["a", "123456789"]]) == 0
    plain = console.file.getvalue()  # type: ignore[attr-defined]
    assert "123456789" in plain and "x" * 30 not in plain
    assert all(cell_len(line) <= 40 for line in plain.splitlines())
