"""The Logs tab of the run detail, as a user works it: it follows the console log as it
grows, pauses when scrolled up (counting what arrives), follows again with End or `f`; `/`
finds text, `n` / `N` the next and previous; colours are shown and every other escape,
control character or markup-looking text literally; `t` shows the times and marks stderr;
a run without a captured log says how to capture one. And what it looks like at 120×40."""

from __future__ import annotations

from pathlib import Path

from test_dashboard import settle, sync
from test_logfile import write_log
from test_snapshots import fixed_store, make_app, open_run
from textual import events

from mltop.tui.widgets.log_view import LogSearch, LogView

__all__ = ["fixed_store"]  # the fixture, used by name

RUN_ROW = 1
LARGE = (120, 40)
T0 = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC


def logs_folder(app) -> Path:
    """Where the run shown keeps its console log."""
    return app.store.artifacts(app.screen.run_id).root / "logs"


def append(folder: Path, lines: list[str]) -> None:
    write_log(folder, [f"{line}\n".encode() for line in lines])


def shown(view: LogView) -> list[str]:
    """What the view draws, line by line (its status line first)."""
    return [view.render_line(y).text.rstrip() for y in range(view.size.height)]


def status(view: LogView) -> str:
    return view.render_line(0).text.strip()


async def open_logs(pilot, lines: list[str] | None) -> tuple[LogView, Path]:
    """The run's detail opened on its Logs tab (its log written first, unless None)."""
    await open_run(pilot, RUN_ROW)
    app = pilot.app
    folder = logs_folder(app)
    if lines is not None:
        append(folder, lines)
    await pilot.press("7")
    await settle(pilot, lambda: bool(app.screen.query(LogView)))
    view = app.screen.query_one(LogView)
    await settle(pilot, lambda: app.focused is view and view.size.height > 0)
    return view, folder


@sync
async def test_the_tab_follows_a_growing_log_and_pauses_when_scrolled_up(fixed_store):
    app = make_app(fixed_store)
    async with app.run_test(size=LARGE) as pilot:
        view, folder = await open_logs(pilot, [f"line {i}" for i in range(100)])
        await settle(pilot, lambda: shown(view)[-1] == "line 99")
        assert status(view) == "following the end: 100 lines"

        append(folder, ["line 100", "line 101"])  # the view's own poll finds them
        await settle(pilot, lambda: shown(view)[-1] == "line 101")
        assert status(view) == "following the end: 102 lines"

        await pilot.press("k")  # one line up: paused
        assert not view.following
        append(folder, ["line 102", "line 103", "line 104"])
        await settle(pilot, lambda: "3 new lines" in status(view))
        assert status(view) == "paused: 3 new lines, press End (or f) to follow   105 lines"
        assert shown(view)[-1] == "line 100"  # the view stayed where it was

        await pilot.press("end")
        assert view.following and shown(view)[-1] == "line 104"
        assert status(view) == "following the end: 105 lines"

        await pilot.press("pageup")
        assert not view.following
        await pilot.press("f")
        assert view.following and shown(view)[-1] == "line 104"
        append(folder, ["line 105"])
        await settle(pilot, lambda: shown(view)[-1] == "line 105")


@sync
async def test_the_mouse_wheel_up_pauses_too(fixed_store):
    app = make_app(fixed_store)
    async with app.run_test(size=LARGE) as pilot:
        view, folder = await open_logs(pilot, [f"line {i}" for i in range(100)])
        await settle(pilot, lambda: shown(view)[-1] == "line 99")
        view.post_message(events.MouseScrollUp(view, 5, 5, 0, -1, 0, False, False, False))
        await settle(pilot, lambda: not view.following)
        append(folder, ["line 100"])
        await settle(pilot, lambda: "1 new line," in status(view))
        assert shown(view)[-1] != "line 100"


@sync
async def test_a_line_of_megabytes_is_shown_cut_with_a_note(fixed_store):
    app = make_app(fixed_store)
    async with app.run_test(size=LARGE) as pilot:
        view, _ = await open_logs(pilot, ["before", "x" * 5_000_000, "after"])
        await settle(pilot, lambda: shown(view)[1:4] != ["", "", ""])
        before, long, after = shown(view)[1:4]
        assert (before, after) == ("before", "after")
        assert long == "x" * view.scrollable_content_region.width  # to the screen's edge
        strip = view._draw(1, view.logfile.span(1))  # the whole line as drawn
        assert strip.text.endswith("… (a line of 4.8 MiB: the first 64.0 KiB shown)")
        assert strip.cell_length < 70_000


@sync
async def test_the_log_is_looked_at_only_while_its_tab_is_shown(fixed_store):
    app = make_app(fixed_store)
    async with app.run_test(size=LARGE) as pilot:
        view, folder = await open_logs(pilot, ["first"])
        assert view.watching
        await settle(pilot, lambda: view.polls >= 1)  # its timer polls
        await pilot.press("1")  # the charts tab
        assert not view.watching
        polls = view.polls
        view._tick()  # what the timer calls: it looks at nothing
        assert view.polls == polls
        await pilot.press("7")
        assert view.watching
        await pilot.press("question_mark")  # the help over the detail
        await settle(pilot, lambda: not app.screen.query(LogView))
        assert not view.watching
        polls = view.polls
        view._tick()
        assert view.polls == polls
        await pilot.press("escape")
        await settle(pilot, lambda: view.watching)
        append(folder, ["second"])  # caught up when shown again
        await settle(pilot, lambda: shown(view)[1:3] == ["first", "second"])


@sync
async def test_the_log_of_a_run_that_captured_none_says_how_and_appears_when_it_does(
    fixed_store,
):
    app = make_app(fixed_store)
    async with app.run_test(size=LARGE) as pilot:
        view, folder = await open_logs(pilot, None)
        text = "\n".join(shown(view))
        assert status(view) == "no console output"
        assert "mltop run" in text and "start_run(capture_output=True)" in text
        append(folder, ["the run started capturing"])
        await settle(pilot, lambda: shown(view)[1] == "the run started capturing")
        assert status(view) == "following the end: 1 line"


@sync
async def test_slash_finds_text_and_n_moves_between_the_lines_found(fixed_store):
    lines = [f"step {i}" for i in range(300)]
    lines[20] = "step 20 Needle here"
    lines[150] = "step 150 needle again"
    lines[250] = "step 250 hidden needle\rredrawn over it"
    app = make_app(fixed_store)
    async with app.run_test(size=LARGE) as pilot:
        view, _ = await open_logs(pilot, lines)
        await pilot.press("slash")
        search = app.screen.query_one(LogSearch)
        assert app.focused is search
        await pilot.press(*"needle", "enter")
        # From the top of the screen down, wrapping: the first from the top of the file.
        await settle(pilot, lambda: view.match_line is not None and not view.finding)
        assert view.match_line == 20 and app.focused is view and not view.following
        assert "step 20 Needle here" in shown(view)
        assert status(view).endswith("find 'needle': line 21")
        await pilot.press("n")
        await settle(pilot, lambda: view.match_line == 150)
        assert "step 150 needle again" in shown(view)
        await pilot.press("n")  # line 250's needle was redrawn over: not shown, not found
        await settle(pilot, lambda: view.match_line == 20)
        await pilot.press("N")
        await settle(pilot, lambda: view.match_line == 150)

        await pilot.press("slash", *"Needle", "enter")  # a capital: case matters
        await settle(pilot, lambda: view.query_text == "Needle" and not view.finding)
        assert view.match_line == 20
        await pilot.press("n")
        await settle(pilot, lambda: not view.finding)
        assert view.match_line == 20  # the only one

        await pilot.press("slash", *"absent", "enter")
        await settle(pilot, lambda: view.query_text == "absent" and not view.finding)
        assert view.match_line is None and status(view).endswith("find 'absent': not found")

        await pilot.press("slash")
        assert search.value == "absent"  # the last search, chosen: typing replaces it
        await pilot.press("escape")  # closes the box, stays on the log
        assert app.focused is view and not search.has_class("-open")


@sync
async def test_matches_are_highlighted(fixed_store):
    app = make_app(fixed_store)
    async with app.run_test(size=LARGE) as pilot:
        view, _ = await open_logs(pilot, ["no match", "the loss went down", "LOSS"])
        await pilot.press("slash", *"loss", "enter")
        await settle(pilot, lambda: view.match_line is not None and not view.finding)
        match_style = view.styles_of()["match"]
        for y, text in ((2, "loss"), (3, "LOSS")):
            segments = [s for s in view.render_line(y) if s.text == text]
            assert segments and segments[0].style.bgcolor == match_style.bgcolor, y
        assert all(s.style.bgcolor != match_style.bgcolor for s in view.render_line(1))


HOSTILE = [
    "[@click=app.quit]click me[/] [bold red]not markup[/]",
    "\x1b]8;;https://evil.example\x1b\\a link\x1b]8;;\x1b\\ end",
    "clear \x1b[2J\x1b[H home, title \x1b]0;pwned\x07, bell \x07, back\x08space, del \x7f",
    "csi \x9b31m c1, \u202eevil bidi",
    "\x1b[31mred\x1b[0m plain \x1b[1;32mbold green\x1b[0m",
]


@sync
async def test_hostile_content_is_shown_literally_and_only_colours_are_styles(fixed_store):
    app = make_app(fixed_store)
    async with app.run_test(size=LARGE) as pilot:
        view, _ = await open_logs(pilot, HOSTILE)
        await settle(pilot, lambda: len(view.logfile) == 5)
        strips = [view.render_line(y) for y in range(1, 6)]
        texts = [strip.text.rstrip() for strip in strips]
        assert texts == [
            "[@click=app.quit]click me[/] [bold red]not markup[/]",
            "␛]8;;https://evil.example␛\\a link␛]8;;␛\\ end",
            "clear ␛[2J␛[H home, title ␛]0;pwned^G, bell ^G, back^Hspace, del ^?",
            "csi \\x9b31m c1, \\u202eevil bidi",
            "red plain bold green",
        ]
        for strip in strips:
            for segment in strip:
                assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in segment.text)
                style = segment.style
                assert style is None or (not style.link and not style.meta), segment
        colours = {s.text: s.style for s in strips[4] if s.text.strip()}
        assert colours["red"].color.number == 1  # the terminal's red
        assert colours["bold green"].bold and colours["bold green"].color.number == 2
        assert app.is_running  # nothing was clicked or run


@sync
async def test_t_shows_each_lines_time_and_marks_stderr(fixed_store):
    app = make_app(fixed_store)
    async with app.run_test(size=LARGE) as pilot:
        await open_run(pilot, RUN_ROW)
        folder = logs_folder(app)
        write_log(folder, [b"to stdout\n", b"to stderr\n", b"no entry\n"], fds=[1, 2, 1], t0=T0)
        times = folder / "stdout.log.times"
        times.write_bytes(b"0 1700000000000 1\n10 1700000001000 2\n")  # none for line 3
        await pilot.press("7")
        await settle(pilot, lambda: bool(app.screen.query(LogView)))
        view = app.screen.query_one(LogView)
        await settle(pilot, lambda: shown(view)[1] == "to stdout")
        await pilot.press("t")
        assert shown(view)[1:4] == [
            "22:13:20   to stdout",
            "22:13:21 E to stderr",
            "           no entry",
        ]
        stderr = [s for s in view.render_line(2) if "E" in s.text]
        assert stderr[0].style.color == view.styles_of()["stderr"].color
        await pilot.press("t")
        assert shown(view)[1] == "to stdout"


@sync
async def test_a_replaced_log_is_shown_anew(fixed_store):
    app = make_app(fixed_store)
    async with app.run_test(size=LARGE) as pilot:
        view, folder = await open_logs(pilot, [f"old {i}" for i in range(50)])
        await settle(pilot, lambda: shown(view)[-1] == "old 49")
        (folder / "stdout.log").write_bytes(b"new 0\nnew 1\n")
        await settle(pilot, lambda: shown(view)[1:3] == ["new 0", "new 1"])
        assert status(view) == "following the end: 2 lines"


def test_logs_tab_snapshot(snap_compare, fixed_store):
    """Colours, a progress bar's last redraw, stderr marked, times on (`t`)."""

    async def run_before(pilot) -> None:
        await open_run(pilot, RUN_ROW)
        app = pilot.app
        folder = logs_folder(app)
        lines = [
            b"\x1b[1mEpoch 1/3\x1b[0m\n",
            b"train  10%|#         | 10/100\rtrain 100%|##########| 100/100\n",
            b"\x1b[32mINFO\x1b[0m  loss=0.6931 acc=0.5012 lr=0.1\n",
            b"\x1b[33mWARNING\x1b[0m  grad norm 12.7 clipped to 5.0\n",
            b"\x1b[1mEpoch 2/3\x1b[0m\n",
            b"\x1b[32mINFO\x1b[0m  loss=0.4120 acc=0.8233 lr=0.1\n",
            b"Traceback (most recent call last):\n",
            b'  File "train.py", line 42, in <module>\n',
            b"\x1b[31mRuntimeError\x1b[0m: CUDA out of memory [bold]literal[/]\n",
            b"\x1b[1mEpoch 3/3\x1b[0m \x1b]0;title\x07\n",
            b"\x1b[32mINFO\x1b[0m  loss=0.3011 acc=0.8742 lr=0.1\n",
        ]
        fds = [1, 1, 1, 2, 1, 1, 2, 2, 2, 1, 1]
        write_log(folder, lines, fds=fds, t0=T0)
        await pilot.press("7")
        for _ in range(500):
            await pilot.pause(0.02)
            views = app.screen.query(LogView)
            if views and views.first().size.height and app.focused is views.first():
                break
        await pilot.press("t")
        await pilot.pause(0.2)

    assert snap_compare(make_app(fixed_store), terminal_size=LARGE, run_before=run_before)


@sync
async def test_the_help_lists_the_logs_keys_while_the_log_has_the_focus(fixed_store):
    from textual.widgets import DataTable

    from mltop.tui.screens.help import HelpScreen

    app = make_app(fixed_store)
    async with app.run_test(size=LARGE) as pilot:
        await open_logs(pilot, ["one line"])
        await pilot.press("question_mark")
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        table = app.screen.query_one(DataTable)
        rows = [tuple(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count)]
        said = {what: keys for keys, what in rows}
        assert said["Find text in the log"] == "/"
        assert said["Follow the end"].split() == ["end", "G", "f"]
        assert "Each line's time; E: stderr" in said
        # The screen's `/` (finding metrics) is not what `/` does here.
        assert not any("find metrics" in what for what in said)
        assert sum(keys.split().count("/") for keys in said.values()) == 1


def test_concealed_or_blinking_text_is_shown_plainly() -> None:
    from mltop.tui.widgets.log_view import ansi_text

    text = ansi_text("a \x1b[8mHIDDEN\x1b[0m \x1b[5;31mblink\x1b[0m")
    assert text.plain == "a HIDDEN blink"
    styles = [span.style for span in text.spans]
    assert all(not s.conceal and not s.blink and not s.blink2 for s in styles)  # type: ignore[union-attr]
    assert any(s.color is not None and s.color.name == "color(1)" for s in styles)  # type: ignore[union-attr]


@sync
async def test_jumping_to_a_match_while_paused_keeps_counting_the_new_lines(fixed_store):
    lines = [f"step {i}" for i in range(200)]
    lines[20] = "step 20 needle"
    lines[150] = "step 150 needle"
    app = make_app(fixed_store)
    async with app.run_test(size=LARGE) as pilot:
        view, folder = await open_logs(pilot, lines)
        await settle(pilot, lambda: shown(view)[-1] == "step 199")
        await pilot.press("k")  # paused
        append(folder, ["new 1", "new 2"])
        await settle(pilot, lambda: "2 new lines" in status(view))
        await pilot.press("slash", *"needle", "enter")
        await settle(pilot, lambda: view.match_line is not None and not view.finding)
        assert "2 new lines" in status(view)  # the jump did not start the count again
        append(folder, ["new 3"])
        await settle(pilot, lambda: "3 new lines" in status(view))


@sync
async def test_at_80x24_the_status_line_keeps_what_a_search_found(fixed_store):
    lines = [f"step {i}" for i in range(2000)]
    lines[20] = "step 20 a-needle-with-a-long-name"
    app = make_app(fixed_store)
    async with app.run_test(size=(80, 24)) as pilot:
        view, _ = await open_logs(pilot, lines)
        await pilot.press("slash", *"a-needle-with-a-long-name", "enter")
        await settle(pilot, lambda: view.match_line == 20 and not view.finding)
        said = status(view)
        assert said.endswith("find 'a-needle-with-a-long-name': line 21"), said
        assert said.startswith("paused: 0 new lines, End follows")
