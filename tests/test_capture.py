"""A run's console log: lines written whole with their times, partial lines, two
streams, failures of the disk or the terminal, and `start_run(capture_output=True)`."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_python
from hypothesis import given, settings
from hypothesis import strategies as st

from mltop.store import Store
from mltop.store.artifact_repo import ArtifactRepository
from mltop.store.capture import PARTIAL_AFTER_S, ConsoleLog, Tee


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def read(root: Path) -> tuple[bytes, list[tuple[int, int, int]]]:
    data = (root / "logs" / "stdout.log").read_bytes()
    entries = (root / "logs" / "stdout.log.times").read_text().splitlines()
    return data, [tuple(int(x) for x in e.split()) for e in entries]  # type: ignore[misc]


def test_whole_lines_are_written_with_their_start_offset_time_and_stream(tmp_path: Path) -> None:
    clock = Clock()
    log = ConsoleLog(ArtifactRepository(tmp_path), clock=clock)
    log.write(1, b"one\ntw")
    data, times = read(tmp_path)
    assert data == b"one\n"  # "tw" waits for its newline
    clock.now += 0.5
    log.write(1, b"o\n")
    log.write(2, b"err\n")
    log.finish()
    data, times = read(tmp_path)
    assert data == b"one\ntwo\nerr\n"
    assert times == [(0, 1_000_000, 1), (4, 1_000_500, 1), (8, 1_000_500, 2)]


def test_a_partial_line_is_written_after_a_while_and_continued(tmp_path: Path) -> None:
    clock = Clock()
    log = ConsoleLog(ArtifactRepository(tmp_path), clock=clock)
    log.write(1, b"progress 10%\r")
    log.flush_partial()
    assert read(tmp_path)[0] == b""
    clock.now += PARTIAL_AFTER_S
    log.flush_partial()
    assert read(tmp_path)[0] == b"progress 10%\r"
    log.write(1, b"progress 100%\n")  # the same line goes on: no second time entry
    log.finish()
    data, times = read(tmp_path)
    assert data == b"progress 10%\rprogress 100%\n"
    assert times == [(0, 1_000_000 + int(PARTIAL_AFTER_S * 1000), 1)]


def test_the_other_stream_never_writes_into_a_partial_line(tmp_path: Path) -> None:
    clock = Clock()
    log = ConsoleLog(ArtifactRepository(tmp_path), clock=clock)
    log.write(2, b"50%")
    clock.now += PARTIAL_AFTER_S
    log.flush_partial()
    log.write(1, b"epoch 1\n")
    log.write(2, b" 100%\n")
    log.finish()
    data, times = read(tmp_path)
    assert data == b"50%\nepoch 1\n 100%\n"
    assert [fd for _, _, fd in times] == [2, 1, 2]
    assert [o for o, _, _ in times] == [0, 4, 12]


def test_a_resumed_log_does_not_continue_an_unfinished_line(tmp_path: Path) -> None:
    log = ConsoleLog(ArtifactRepository(tmp_path))
    log.write(1, b"cut")
    log.close()  # killed: the partial line never reached the file; say it did
    (tmp_path / "logs" / "stdout.log").write_bytes(b"before\ncut")
    again = ConsoleLog(ArtifactRepository(tmp_path))
    again.write(1, b"after\n")
    again.finish()
    assert read(tmp_path)[0] == b"before\ncut\nafter\n"
    assert read(tmp_path)[1][-1][0] == len(b"before\ncut\n")


def test_a_full_disk_stops_the_log_once_reported_and_never_raises(tmp_path: Path) -> None:
    said: list[str] = []
    log = ConsoleLog(ArtifactRepository(tmp_path), warn=said.append)
    log.write(1, b"kept\n")
    os.dup2(os.open("/dev/full", os.O_WRONLY), log._log)  # type: ignore[arg-type]
    log.write(1, b"lost\n")
    log.write(1, b"lost too\n")
    log.finish()
    assert len(said) == 1 and "No space left on device" in said[0]
    assert log.failed is not None


def test_a_log_is_never_written_through_a_symbolic_link(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "run" / "logs").symlink_to(outside)
    with pytest.raises(Exception, match="symbolic link"):
        ConsoleLog(ArtifactRepository(tmp_path / "run"))
    assert list(outside.iterdir()) == []


def test_a_terminal_that_went_away_leaves_the_log_going(tmp_path: Path) -> None:
    log = ConsoleLog(ArtifactRepository(tmp_path))
    source_r, source_w = os.pipe()
    term_r, term_w = os.pipe()
    os.close(term_r)  # the terminal is gone (EPIPE)
    tee = Tee({source_r: 1}, {1: term_w}, log).start()
    os.write(source_w, b"first\nsecond\n")
    os.close(source_w)
    tee.join(10)
    os.close(term_w)
    assert read(tmp_path)[0] == b"first\nsecond\n"


@settings(max_examples=60, deadline=None)
@given(
    chunks=st.lists(
        st.tuples(st.sampled_from([1, 2]), st.binary(max_size=40), st.booleans()), max_size=30
    )
)
def test_what_each_stream_wrote_is_all_there_in_order(
    tmp_path_factory: pytest.TempPathFactory, chunks: list[tuple[int, bytes, bool]]
) -> None:
    root = tmp_path_factory.mktemp("log")
    clock = Clock()
    log = ConsoleLog(ArtifactRepository(root), clock=clock)
    for fd, data, wait in chunks:
        log.write(fd, data)
        if wait:
            clock.now += PARTIAL_AFTER_S
            log.flush_partial()
    log.finish()
    data, times = read(root)
    # Split back by the time entries: each stream's pieces, in order, are what it wrote
    # (a newline of ours may end a line the other stream interrupted).
    starts = [o for o, _, _ in times] + [len(data)]
    got: dict[int, bytes] = {1: b"", 2: b""}
    for (offset, _, fd), end in zip(times, starts[1:], strict=True):
        got[fd] += data[offset:end]
    for fd in (1, 2):
        wrote = b"".join(d for f, d, _ in chunks if f == fd)
        assert got[fd].replace(b"\n", b"") == wrote.replace(b"\n", b"")
        assert got[fd].count(b"\n") >= wrote.count(b"\n")
    assert data == b"".join(data[o:e] for o, e in itertools.pairwise(starts))
    assert data == b"" or data.endswith(b"\n")


SCRIPT = """
import os, subprocess, sys
import mltop.store as ml
ml.set_store(sys.argv[1])
with ml.start_run(capture_output=True) as run:
    print("from python")
    os.write(1, b"from the fd\\n")
    subprocess.run([sys.executable, "-c",
        "import sys; print('from a child'); print('child error', file=sys.stderr)"])
    print("to stderr", file=sys.stderr)
    if len(sys.argv) > 2:
        raise ValueError("boom")
print("after the run")
"""


def test_capture_output_keeps_this_process_and_its_children(tmp_path: Path) -> None:
    script = tmp_path / "s.py"
    script.write_text(SCRIPT)
    store_path = tmp_path / "st"
    done = run_python(
        f"import runpy, sys; sys.argv = ['s.py', {str(store_path)!r}]; "
        f"runpy.run_path({str(script)!r}, run_name='__main__')"
    )
    # Still on the terminal, all of it...
    assert done.stdout.splitlines() == [
        "from python",
        "from the fd",
        "from a child",
        "after the run",
    ]
    assert done.stderr.splitlines() == ["child error", "to stderr"]
    # ...and in the run's log, but not what came after the run.
    store = Store(store_path, create=False)
    (run,) = store.list_runs()
    data, times = read(store.artifacts(run.info.run_id).root)
    assert sorted(data.decode().splitlines()) == sorted(
        ["from python", "from the fd", "from a child", "child error", "to stderr"]
    )
    assert len(times) == 5


def test_capture_output_keeps_the_traceback_of_a_crash(tmp_path: Path) -> None:
    script = tmp_path / "s.py"
    script.write_text(SCRIPT)
    store_path = tmp_path / "st"
    done = run_python(
        f"import runpy, sys; sys.argv = ['s.py', {str(store_path)!r}, 'fail']; "
        f"runpy.run_path({str(script)!r}, run_name='__main__')",
        check=False,
    )
    assert done.returncode == 1
    assert "ValueError: boom" in done.stderr
    store = Store(store_path, create=False)
    (run,) = store.list_runs()
    assert run.info.status == "FAILED"
    data, _ = read(store.artifacts(run.info.run_id).root)
    assert b"Traceback" in data and b"ValueError: boom" in data


def test_capture_output_under_mltop_run_leaves_it_to_mltop_run(tmp_path: Path) -> None:
    script = tmp_path / "s.py"
    script.write_text(SCRIPT)
    store_path = tmp_path / "st"
    done = run_python(
        f"import runpy, sys; sys.argv = ['s.py', {str(store_path)!r}]; "
        f"runpy.run_path({str(script)!r}, run_name='__main__')",
        env={"MLTOP_OUTPUT_CAPTURED_BY": str(os.getpid())},
    )
    assert "from python" in done.stdout
    store = Store(store_path, create=False)
    (run,) = store.list_runs()
    assert not (store.artifacts(run.info.run_id).root / "logs").exists()


def test_two_captures_at_once_are_refused(
    fluent: object, capfd: pytest.CaptureFixture[str]
) -> None:
    import mltop.store as ml

    with ml.start_run(capture_output=True):
        with pytest.raises(ml.ActiveRunError, match="already captured"):
            ml.start_run(nested=True, capture_output=True)
        print("inside", flush=True)
    print("outside", flush=True)
    assert capfd.readouterr().out == "inside\noutside\n"


pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="file descriptors, pipes")


DYING = """
import ctypes, os, signal, sys
import mltop.store as ml
ml.set_store(sys.argv[1])
ml.start_run(capture_output=True)
print("about to die", flush=True)
print("on stderr", file=sys.stderr, flush=True)
os.write(1, b"raw last words\\n")
how = sys.argv[2]
if how == "segfault":
    ctypes.string_at(0)
elif how == "sigkill":
    os.kill(os.getpid(), signal.SIGKILL)
else:
    os._exit(0)
"""


@pytest.mark.parametrize("how", ["segfault", "sigkill", "os._exit"])
def test_what_a_dying_process_wrote_last_is_kept(tmp_path: Path, how: str) -> None:
    """The OOM killer, a CUDA segfault, a forked worker's os._exit: the output that says
    why is the output written last. The copier is a process of its own: it outlives the
    script and copies what the pipes still held."""
    script = tmp_path / "dying.py"
    script.write_text(DYING)
    store_path = tmp_path / "st"
    done = subprocess.run(
        [sys.executable, str(script), str(store_path), how],
        capture_output=True,
        text=True,
        timeout=60,
    )  # (its output read to the end: until the copier, too, has closed it)
    assert done.returncode != 0 or how == "os._exit"
    assert done.stdout == "about to die\nraw last words\n"
    assert done.stderr.endswith("on stderr\n")
    store = Store(store_path, create=False)
    (run,) = store.list_runs(view="all")
    data, _ = read(store.artifacts(run.info.run_id).root)
    assert sorted(data.decode().splitlines()) == ["about to die", "on stderr", "raw last words"]


LINGERING = """
import subprocess, sys
import mltop.store as ml
ml.set_store(sys.argv[1])
with ml.start_run(capture_output=True):
    print("in the run", flush=True)
    subprocess.Popen([sys.executable, "-c",
        "import time; time.sleep(0.5); print('a child, after the run', flush=True)"])
print("after the run", flush=True)
"""


def test_a_child_writing_after_the_run_ended_is_still_shown(tmp_path: Path) -> None:
    """Nothing still writing to the captured pipes is cut off (no SIGPIPE for it)."""
    script = tmp_path / "lingering.py"
    script.write_text(LINGERING)
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "st")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["in the run", "after the run", "a child, after the run"]
