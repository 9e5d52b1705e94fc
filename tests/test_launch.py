"""`mltop run` end to end: a project in a temporary git repository, run by the real
command in a child process, as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mltop.store import FAILED, FINISHED, KILLED, Store

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="process groups; /proc")

MLPROJECT = """\
name: toy
entry_points:
  main:
    parameters:
      lr: {type: float, default: 0.1}
      epochs: {type: int, default: 3}
      fail: {type: int, default: 0}
      out: {type: path, default: out}
    command: "python train.py --lr {lr} --epochs {epochs} --fail {fail} --out {out}"
  sleepy:
    parameters:
      pids: path
      ignore: {type: string, default: ""}
    command: "python sleepy.py {pids} {ignore}"
  other:
    parameters:
      u: uri
    command: "python plain.py {u}"
"""

TRAIN = """\
import argparse, sys
import mltop.store as ml
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float); p.add_argument("--epochs", type=int)
p.add_argument("--fail", type=int); p.add_argument("--out")
a = p.parse_args()
with ml.start_run():
    for e in range(a.epochs):
        ml.log_metric("loss", 1.0 / (e + 1), step=e)
        print(f"VERSION-1 epoch {e}")
        print(f"warning {e}", file=sys.stderr)
    if a.fail:
        raise SystemExit(a.fail)
"""

# Starts a grandchild that ignores SIGINT (only the process group's stop ends it), writes
# both pids, then logs until stopped. With "ignore", it ignores SIGINT and SIGTERM too.
SLEEPY = """\
import os, signal, subprocess, sys, time
import mltop.store as ml
if len(sys.argv) > 2 and sys.argv[2] == "ignore":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(600)"])
with ml.start_run():
    with open(sys.argv[1], "w") as f:
        f.write(f"{os.getpid()} {child.pid}")
    ml.log_metric("x", -1, step=0, synchronous=True)
    print("ready", flush=True)
    step = 1
    while True:
        ml.log_metric("x", step, step=step); step += 1
        time.sleep(0.05)
"""

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **GIT_ENV},
    )
    return done.stdout.strip()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    folder = repo / "toy"  # a project in a subfolder of its repository
    folder.mkdir(parents=True)
    (folder / "MLproject").write_text(MLPROJECT)
    (folder / "train.py").write_text(TRAIN)
    (folder / "sleepy.py").write_text(SLEEPY)
    (folder / "plain.py").write_text(
        "import sys\nprint('plain', sys.argv[1:], sys.executable, repr(sys.stdin.read()))\n"
    )
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v1")
    return folder


def mltop(
    store: Path, *args: str, cwd: Path | None = None, **popen: object
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mltop.tui.cli", "--store", str(store), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        **popen,  # type: ignore[call-overload]
    )


def only_run(store_path: Path) -> tuple[Store, str]:
    store = Store(store_path, create=False)
    runs = store.list_runs(view="all")
    assert len(runs) == 1, [r.info.run_name for r in runs]
    return store, runs[0].info.run_id


def log_of(store: Store, run_id: str) -> tuple[bytes, list[tuple[int, int, int]]]:
    root = store.artifacts(run_id).root / "logs"
    times = [
        tuple(int(x) for x in line.split())
        for line in (root / "stdout.log.times").read_text().splitlines()
    ]
    return (root / "stdout.log").read_bytes(), times  # type: ignore[return-value]


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_project_runs_as_a_run_with_its_params_commit_and_logs(
    project: Path, store_path: Path
) -> None:
    done = mltop(store_path, "run", str(project), "-P", "lr=0.5", "--experiment", "toys")
    assert done.returncode == 0, done.stderr
    assert "VERSION-1 epoch 2" in done.stdout  # still shown on the terminal
    assert "warning 2" in done.stderr
    store, run_id = only_run(store_path)
    run = store.get_run(run_id)
    assert run.info.status == FINISHED
    assert store.get_experiment(run.info.experiment_id).name == "toys"
    # Every parameter, the defaults filled and the path made absolute.
    assert run.data.params == {
        "lr": "0.5",
        "epochs": "3",
        "fail": "0",
        "out": str(project / "out"),
    }
    tags = run.data.tags
    assert tags["mltop.git.commit"] == git(project, "rev-parse", "HEAD")
    assert tags["mlflow.source.git.commit"] == tags["mltop.git.commit"]
    assert tags["mltop.git.branch"] == "main"
    assert tags["mltop.git.dirty"] == "false"
    assert tags["mlflow.project.entryPoint"] == "main"
    assert tags["mlflow.source.type"] == "PROJECT"
    assert tags["mltop.project.dir"] == str(project)
    assert tags["mltop.exit_code"] == "0"
    assert "project/git.diff" not in {f.path for f in store.artifacts(run_id).walk()}
    # System metrics sampled by mltop run itself (on by default).
    assert "system/cpu_utilization_percentage" in run.data.metrics
    # The script's own logging landed in the same run.
    assert [m.value for m in store.get_metric_history(run_id, "loss")] == [1.0, 0.5, 1 / 3]
    # Its output, both streams, in the run's console log, each line with its time and fd.
    data, times = log_of(store, run_id)
    lines = data.decode().splitlines(keepends=True)
    assert sorted(lines) == sorted(
        [f"VERSION-1 epoch {e}\n" for e in range(3)] + [f"warning {e}\n" for e in range(3)]
    )
    assert len(times) == len(lines)
    for offset, ms, fd in times:
        line = data[offset:].split(b"\n", 1)[0]
        assert fd == (2 if line.startswith(b"warning") else 1)
        assert abs(ms - run.info.start_time) < 60_000


def test_a_bad_parameter_is_refused_before_anything_runs(project: Path, store_path: Path) -> None:
    done = mltop(store_path, "run", str(project), "-P", "epochs=1.5")
    assert done.returncode == 1
    assert "epochs" in done.stderr and "1.5" in done.stderr
    done = mltop(store_path, "run", str(project), "-P", "epochs")
    assert done.returncode == 1
    assert "key=value" in done.stderr
    done = mltop(store_path, "run", str(project), "-e", "nope")
    assert done.returncode == 1
    assert "no entry point 'nope'" in done.stderr
    assert Store(store_path).list_runs(view="all") == []


def test_a_dirty_tree_records_its_diff(project: Path, store_path: Path) -> None:
    train = project / "train.py"
    train.write_text(train.read_text().replace("VERSION-1", "VERSION-DIRTY"))
    done = mltop(store_path, "run", str(project))
    assert done.returncode == 0, done.stderr
    assert "VERSION-DIRTY" in done.stdout
    store, run_id = only_run(store_path)
    assert store.get_run(run_id).data.tags["mltop.git.dirty"] == "true"
    diff = (store.artifacts(run_id).root / "project" / "git.diff").read_text()
    assert '-        print(f"VERSION-1 epoch {e}")' in diff
    assert '+        print(f"VERSION-DIRTY epoch {e}")' in diff


def test_a_failing_command_fails_the_run_with_its_exit_code(
    project: Path, store_path: Path
) -> None:
    done = mltop(store_path, "run", str(project), "-P", "fail=3")
    assert done.returncode == 3
    assert "FAILED (exit status 3)" in done.stderr
    store, run_id = only_run(store_path)
    run = store.get_run(run_id)
    assert run.info.status == FAILED
    assert run.data.tags["mltop.exit_code"] == "3"


def test_a_script_without_mlproject_is_its_own_entry_point(project: Path, store_path: Path) -> None:
    (project / "MLproject").unlink()
    done = mltop(store_path, "run", str(project / "plain.py"), "-P", "a=x y")
    assert done.returncode == 0, done.stderr
    # This Python (not whatever `python` is on PATH), and stdin at its end at once.
    assert done.stdout.strip() == f"plain ['--a', 'x y'] {sys.executable} ''"
    store, run_id = only_run(store_path)
    run = store.get_run(run_id)
    assert run.data.params == {"a": "x y"}
    assert run.data.tags["mlflow.project.entryPoint"] == "plain.py"


def start_sleepy(
    store_path: Path, project: Path, *extra: str
) -> tuple[subprocess.Popen[str], int, int]:
    pids = project / "pids.txt"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mltop.tui.cli",
            "--store",
            str(store_path),
            "run",
            str(project),
            "-e",
            "sleepy",
            "-P",
            f"pids={pids}",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    child, grandchild = (int(p) for p in pids.read_text().split())
    return proc, child, grandchild


@pytest.mark.parametrize(
    ("signum", "code"),
    [
        (signal.SIGINT, 130),
        (signal.SIGTERM, 128 + signal.SIGTERM),
        (signal.SIGHUP, 128 + signal.SIGHUP),
    ],
)
def test_a_stop_signal_kills_the_run_and_its_whole_process_group(
    project: Path, store_path: Path, signum: int, code: int
) -> None:
    proc, child, grandchild = start_sleepy(store_path, project)
    assert alive(child) and alive(grandchild)
    # The output reached the run's log as it came, not when the command ended.
    store = Store(store_path, create=False)
    (running,) = store.list_runs()
    log = store.artifacts(running.info.run_id).root / "logs" / "stdout.log"
    wait_for(lambda: log.read_bytes() == b"ready\n")
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "KILLED" in err
    wait_for(lambda: not alive(grandchild))  # it ignored SIGINT: the group's stop ended it
    assert not alive(child)
    store, run_id = only_run(store_path)
    run = store.get_run(run_id)
    assert run.info.status == KILLED
    assert run.info.end_time is not None
    assert store.get_metric_history(run_id, "x")  # what it logged before is kept


def test_a_command_ignoring_signals_is_killed_after_the_grace(
    project: Path, store_path: Path
) -> None:
    proc, child, grandchild = start_sleepy(
        store_path, project, "-P", "ignore=ignore", "--stop-timeout", "0.3"
    )
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert time.monotonic() - started < 20
    wait_for(lambda: not alive(child) and not alive(grandchild))
    store, run_id = only_run(store_path)
    run = store.get_run(run_id)
    assert run.info.status == KILLED
    # What ended it, not what the shell running it says of itself.
    assert "KILLED (stopped with SIGKILL)" in err
    assert run.data.tags["mltop.stopped_with"] == "SIGKILL"


def test_a_second_ctrl_c_kills_at_once(project: Path, store_path: Path) -> None:
    proc, child, grandchild = start_sleepy(
        store_path, project, "-P", "ignore=ignore", "--stop-timeout", "600"
    )
    proc.send_signal(signal.SIGINT)
    assert proc.stderr is not None
    line = proc.stderr.readline()  # (the line saying which run started comes first)
    while "Ctrl-C again to kill it now" not in line:
        assert line, "mltop run ended without saying it was stopping"
        line = proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)  # well before the 600 s grace
    assert proc.returncode == 130
    wait_for(lambda: not alive(child) and not alive(grandchild))
    store, run_id = only_run(store_path)
    assert store.get_run(run_id).info.status == KILLED


def test_rerun_runs_the_recorded_commit_in_a_clean_worktree(
    project: Path, store_path: Path
) -> None:
    first = mltop(store_path, "run", str(project), "-P", "epochs=2")
    assert first.returncode == 0, first.stderr
    store, original = only_run(store_path)
    old_commit = git(project, "rev-parse", "HEAD")
    train = project / "train.py"
    train.write_text(train.read_text().replace("VERSION-1", "VERSION-2"))
    git(project, "commit", "-qam", "v2")
    # From anywhere: the project folder was recorded.
    again = mltop(store_path, "run", "--rerun", original[:8], cwd=project.parent.parent)
    assert again.returncode == 0, again.stderr
    assert "clean worktree" in again.stderr
    assert "VERSION-1 epoch 1" in again.stdout and "VERSION-2" not in again.stdout
    runs = {r.info.run_id: r for r in store.list_runs()}
    (rerun_id,) = set(runs) - {original}
    rerun = runs[rerun_id]
    assert rerun.data.tags["mltop.rerun_of"] == original
    assert rerun.data.tags["mltop.git.commit"] == old_commit
    assert rerun.data.params == runs[original].data.params
    assert rerun.data.tags["mltop.project.dir"] == str(project)
    assert rerun.data.tags["mlflow.source.name"] == str(project)
    assert git(project, "worktree", "list").count("\n") == 0  # the worktree is gone
    # The link, both ways.
    shown = mltop(store_path, "runs", "show", original, "--json")
    assert json.loads(shown.stdout)["reruns"] == [rerun_id]
    shown = mltop(store_path, "runs", "show", original)
    assert f"Reruns      {rerun_id[:8]}" in shown.stdout
    shown = mltop(store_path, "runs", "show", rerun_id)
    assert f"Rerun of    {original[:8]}" in shown.stdout
    # A parameter can be changed on a rerun.
    third = mltop(store_path, "run", "--rerun", original, "-P", "epochs=1")
    assert third.returncode == 0, third.stderr
    assert "VERSION-1 epoch 0" in third.stdout and "epoch 1" not in third.stdout


def test_rerun_of_a_dirty_run_applies_its_diff(project: Path, store_path: Path) -> None:
    train = project / "train.py"
    train.write_text(train.read_text().replace("VERSION-1", "VERSION-DIRTY"))
    assert mltop(store_path, "run", str(project)).returncode == 0
    _, original = only_run(store_path)
    git(project, "checkout", "--", "train.py")  # the change is gone from the tree
    again = mltop(store_path, "run", "--rerun", original)
    assert again.returncode == 0, again.stderr
    assert "VERSION-DIRTY epoch 0" in again.stdout
    assert "applied the original run's uncommitted changes" in again.stderr


def test_rerun_is_refused_when_the_commit_is_gone(project: Path, store_path: Path) -> None:
    assert mltop(store_path, "run", str(project)).returncode == 0
    store, original = only_run(store_path)
    gone = git(project, "rev-parse", "HEAD")
    (project / "train.py").write_text(TRAIN.replace("VERSION-1", "VERSION-3"))
    git(project, "commit", "-qa", "--amend", "-m", "rewritten")
    git(project, "reflog", "expire", "--expire=now", "--all")
    git(project, "gc", "-q", "--prune=now")
    again = mltop(store_path, "run", "--rerun", original)
    assert again.returncode == 1
    assert f"commit {gone[:12]}" in again.stderr
    assert "not in the repository" in again.stderr
    assert len(store.list_runs(view="all")) == 1  # nothing run, no run made


def test_rerun_of_a_run_not_started_by_mltop_run_says_so(store_path: Path) -> None:
    store = Store(store_path)
    run = store.create_run("0", "by-hand")
    done = mltop(store_path, "run", "--rerun", run.info.run_id)
    assert done.returncode == 1
    assert "was not started by `mltop run`" in done.stderr


ENV_SCRIPT = """\
import sys
import mltop.store as ml
with ml.start_run():
    ml.log_metric("in_env", 1.0)
print("prefix", sys.prefix)
"""


def test_virtualenv_is_built_from_python_env_yaml_and_reused(
    project: Path, store_path: Path, tmp_path: Path
) -> None:
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    (project / "python_env.yaml").write_text(
        f'python: "{version}"\nbuild_dependencies: []\ndependencies: []\n'
    )
    (project / "MLproject").write_text(
        "name: envy\npython_env: python_env.yaml\n"
        "entry_points:\n  main:\n    command: python env_script.py\n"
    )
    (project / "env_script.py").write_text(ENV_SCRIPT)
    envs = tmp_path / "envs"
    env = {**os.environ, "MLTOP_ENV_ROOT": str(envs)}
    first = mltop(store_path, "run", str(project), "--env-manager", "virtualenv", env=env)
    assert first.returncode == 0, first.stderr
    assert "building environment for envy" in first.stderr
    (built,) = [p for p in envs.iterdir() if p.is_dir()]
    assert first.stdout.strip() == f"prefix {built}"  # the script ran inside it
    second = mltop(store_path, "run", str(project), "--env-manager", "virtualenv", env=env)
    assert second.returncode == 0, second.stderr
    assert "(reused)" in second.stderr and "building" not in second.stderr
    store = Store(store_path)
    runs = store.list_runs()
    assert len(runs) == 2
    for run in runs:
        assert run.info.status == FINISHED
        mine = {k: v for k, v in run.data.metrics.items() if not k.startswith("system/")}
        assert mine == {"in_env": 1.0}  # logged with this mltop, into this store
        assert run.data.tags["mlflow.project.env"] == "virtualenv"
    # A build that died halfway (no ready mark) is not reused: it is made again.
    (built / ".mltop-ready").unlink()
    third = mltop(store_path, "run", str(project), "--env-manager", "virtualenv", env=env)
    assert third.returncode == 0, third.stderr
    assert "building environment" in third.stderr


def test_two_launches_at_once_build_one_environment(
    project: Path, store_path: Path, tmp_path: Path
) -> None:
    (project / "python_env.yaml").write_text("build_dependencies: []\ndependencies: []\n")
    (project / "MLproject").write_text(
        "name: envy\npython_env: python_env.yaml\n"
        "entry_points:\n  main:\n    command: python env_script.py\n"
    )
    (project / "env_script.py").write_text(ENV_SCRIPT)
    env = {**os.environ, "MLTOP_ENV_ROOT": str(tmp_path / "envs")}
    command = [sys.executable, "-m", "mltop.tui.cli", "--store", str(store_path), "run",
               str(project), "--env-manager", "virtualenv"]  # fmt: skip
    both = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    said = [p.communicate(timeout=300)[1] for p in both]
    assert [p.returncode for p in both] == [0, 0], said
    assert sum("building environment" in s for s in said) == 1
    assert sum("(reused)" in s for s in said) == 1
    assert len([p for p in (tmp_path / "envs").iterdir() if p.is_dir()]) == 1


def test_virtualenv_refuses_a_conda_project(project: Path, store_path: Path) -> None:
    (project / "MLproject").write_text(
        "name: condy\nconda_env: conda.yaml\nentry_points:\n  main:\n    command: python x.py\n"
    )
    done = mltop(store_path, "run", str(project), "--env-manager", "virtualenv")
    assert done.returncode == 1
    assert "the project declares conda_env" in done.stderr


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"python_env.yaml": 'python: "2.7"\n'}, "asks for Python 2.7: no python2.7 on PATH"),
        ({"python_env.yaml": "dependencies: numpy\n"}, "dependencies must be a list"),
        ({"python_env.yaml": "[unclosed\n"}, "is not YAML"),
    ],
)
def test_a_python_env_that_cannot_be_built_is_refused(
    project: Path, store_path: Path, tmp_path: Path, files: dict[str, str], message: str
) -> None:
    for name, text in files.items():
        (project / name).write_text(text)
    (project / "MLproject").write_text(
        "name: envy\npython_env: python_env.yaml\n"
        "entry_points:\n  main:\n    command: python env_script.py\n"
    )
    env = {**os.environ, "MLTOP_ENV_ROOT": str(tmp_path / "envs"), "PATH": "/nonexistent"}
    done = mltop(store_path, "run", str(project), "--env-manager", "virtualenv", env=env)
    assert done.returncode == 1
    assert message in done.stderr
    assert Store(store_path).list_runs(view="all") == []


GPU_SCRIPT = """\
import subprocess, sys, time
import mltop.store as ml
# A grandchild in the command's process group holds the GPU; it waits for the test.
holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
open(sys.argv[-1], "w").write(str(holder.pid))
store = ml.MltopClient()
with ml.start_run() as run:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if "system/gpu_0_process_memory_megabytes" in store.get_run(run.info.run_id).data.metrics:
            break
        time.sleep(0.05)
    holder.kill()
"""


def test_the_gpu_memory_of_the_command_s_processes_is_the_run_s(
    project: Path, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fake_nvml import FakeGpu, FakeProcess, GpuFake, install

    from mltop.tui.cli.launch import launch

    pid_file = project / "holder.pid"

    class Holders(list):  # type: ignore[type-arg]
        """GPU 0's processes: the command's grandchild, once it is there, and a stranger."""

        def __iter__(self):  # type: ignore[no-untyped-def]
            mine = (
                [FakeProcess(int(pid_file.read_text()), 2_000_000_000)]
                if pid_file.exists() and pid_file.read_text()
                else []
            )
            return iter([*mine, FakeProcess(1, 5_000_000_000)])

    fake = GpuFake([FakeGpu(utilization=97, processes=Holders()), FakeGpu(utilization=0)])
    install(monkeypatch, fake)
    monkeypatch.setenv("MLTOP_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.2")
    (project / "gpu.py").write_text(GPU_SCRIPT)
    said: list[str] = []
    outcome = launch(
        str(project / "gpu.py"),
        None,
        {"pids": str(pid_file)},
        store_path=str(store_path),
        say=said.append,
    )
    assert outcome.status == FINISHED, said
    store, run_id = only_run(store_path)
    run = store.get_run(run_id)
    assert run.data.metrics["system/gpu_0_process_memory_megabytes"] == 2000.0
    assert "system/gpu_1_process_memory_megabytes" not in run.data.metrics  # not ours
    assert run.data.metrics["system/gpu_0_utilization_percentage"] == 97.0
    assert run.data.tags["mltop.gpus"] == "0"


CHATTY = r"""
import sys, time
print("\x1b[32mgreen\x1b[0m plain [bold]not markup[/]")
for pct in (10, 50, 100):
    print(f"\rprogress {pct}%", end="", flush=True)
    time.sleep(0.05)
print()
print("oops", file=sys.stderr)
"""


def test_what_mltop_run_kept_is_what_the_logs_tab_shows(project: Path, store_path: Path) -> None:
    """The writer (mltop run) and the reader (the Logs tab) agree on the files."""
    from test_dashboard import settle, sync

    from mltop.tui.app import MltopApp
    from mltop.tui.screens.run_detail import RunDetailScreen
    from mltop.tui.widgets.log_view import LogView
    from mltop.tui.widgets.runs_table import RunsTable

    (project / "chatty.py").write_text(CHATTY)
    done = mltop(store_path, "run", str(project / "chatty.py"), "--no-system-metrics")
    assert done.returncode == 0, done.stderr

    @sync
    async def look() -> list[str]:
        app = MltopApp(store_path, follow=False)
        async with app.run_test(size=(100, 30)) as pilot:

            def listed() -> bool:
                table = app.screen.query_one(RunsTable)
                return bool(table.runs) and app.focused is table.table

            await settle(pilot, listed)
            await pilot.press("enter")
            await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen))
            await settle(pilot, lambda: app.screen.run is not None)
            await pilot.press("7")
            await settle(pilot, lambda: bool(app.screen.query(LogView)))
            view = app.screen.query_one(LogView)
            await settle(pilot, lambda: app.focused is view)
            await pilot.press("t")
            await settle(pilot, lambda: "following the end: 3 lines" in view.render_line(0).text)
            return [view.render_line(y).text.rstrip() for y in range(1, 5)]

    lines = look()
    assert lines[0][11:] == "green plain [bold]not markup[/]"
    assert lines[1][11:] == "progress 100%"  # the last redraw, as a terminal shows it
    assert lines[2][9:] == "E oops"  # stderr, marked
    assert lines[3] == ""


def test_the_run_detail_shows_the_rerun_link_both_ways(project: Path, store_path: Path) -> None:
    from test_dashboard import settle, sync

    from mltop.tui.app import MltopApp
    from mltop.tui.screens.run_detail import RunDetailScreen, Summary
    from mltop.tui.widgets.runs_table import RunsTable

    assert mltop(store_path, "run", str(project), "--run-name", "first").returncode == 0
    _, original = only_run(store_path)
    again = mltop(store_path, "run", "--rerun", original, "--run-name", "again")
    assert again.returncode == 0, again.stderr
    rerun = next(r.info.run_id for r in Store(store_path).list_runs() if r.info.run_id != original)

    @sync
    async def summaries() -> dict[str, str]:
        app = MltopApp(store_path, follow=False)
        said: dict[str, str] = {}
        async with app.run_test(size=(140, 30)) as pilot:
            for row in (0, 1):
                table = app.screen.query_one(RunsTable)
                await settle(pilot, lambda t=table: len(t.runs) == 2 and app.focused is t.table)
                table.table.move_cursor(row=row)
                await pilot.press("enter")
                await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen))
                screen = app.screen
                await settle(pilot, lambda s=screen: s.run is not None and s.links != "")
                said[screen.run.info.run_name] = screen.query_one(Summary).text.plain
                await pilot.press("escape")
        return said

    said = summaries()
    assert f"reruns again ({rerun[:8]})" in said["first"]
    assert f"rerun of first ({original[:8]})" in said["again"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (["-P", "lr=0.1", "-P", "lr=0.2"], "-P lr is given twice"),
        (["-P", "out=" + "a" * 7000], "characters long; the limit is 6000"),
        (["-P", "lr=\udcff"], "not UTF-8 text"),
    ],
)
def test_parameters_the_store_would_refuse_make_no_run(
    project: Path, store_path: Path, params: list[str], message: str
) -> None:
    done = mltop(store_path, "run", str(project), *params, env={**os.environ, "PYTHONUTF8": "1"})
    assert done.returncode == 1, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert Store(store_path).list_runs(view="all") == []


def test_the_environment_can_turn_sampling_off(project: Path, store_path: Path) -> None:
    env = {**os.environ, "MLTOP_ENABLE_SYSTEM_METRICS_LOGGING": "false"}
    assert mltop(store_path, "run", str(project), env=env).returncode == 0
    store, run_id = only_run(store_path)
    assert not [k for k in store.get_run(run_id).data.metrics if k.startswith("system/")]


def test_local_runs_the_mlproject_python_of_this_environment(
    project: Path, store_path: Path
) -> None:
    (project / "MLproject").write_text(
        "entry_points:\n  main:\n    command: python -c 'import sys; print(sys.executable)'\n"
    )
    # A PATH where `python` is not this environment's (as from pipx, or not activated).
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    done = mltop(store_path, "run", str(project), env=env)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).parent == Path(sys.executable).parent


def test_rerun_with_another_entry_point_takes_only_its_parameters(
    project: Path, store_path: Path
) -> None:
    assert mltop(store_path, "run", str(project), "-P", "lr=0.5").returncode == 0
    _, original = only_run(store_path)
    done = mltop(store_path, "run", "--rerun", original, "-e", "other", "-P", "u=http://x")
    assert done.returncode == 0, done.stderr
    assert "plain ['http://x']" in done.stdout  # no --lr, --epochs ... of the main entry point


def test_rerun_takes_an_explicit_dot_as_the_project_folder(
    project: Path, store_path: Path, tmp_path: Path
) -> None:
    assert mltop(store_path, "run", str(project)).returncode == 0
    _, original = only_run(store_path)
    project.parent.rename(tmp_path / "moved")  # the whole repository
    moved = tmp_path / "moved" / project.name
    done = mltop(store_path, "run", "--rerun", original, cwd=tmp_path)
    assert done.returncode == 1 and "give its path" in done.stderr
    done = mltop(store_path, "run", ".", "--rerun", original, cwd=moved)
    assert done.returncode == 0, done.stderr
    assert "VERSION-1 epoch 2" in done.stdout


def test_a_multi_line_error_is_shown_line_by_line(project: Path, store_path: Path) -> None:
    (project / "MLproject").write_text("name: [unclosed\n")
    done = mltop(store_path, "run", str(project))
    assert done.returncode == 1
    assert "\\x0a" not in done.stderr
    assert done.stderr.startswith("mltop: error: ")
    assert len(done.stderr.splitlines()) > 1


MLFLOW_SCRIPT = """\
import sys
import mlflow

with mlflow.start_run() as run:
    mlflow.log_param("lr", sys.argv[2])
    for step in range(50):
        mlflow.log_metric("loss", 1 / (step + 1), step=step)
print("mlflow run", run.info.run_id)
"""


def test_mlflow_in_the_command_logs_into_the_run_mltop_started(
    project: Path, store_path: Path
) -> None:
    # The plugin (`mltop[mlflow]`) is installed here: `import mlflow` in the command reaches
    # this store, and its start_run() resumes the run `mltop run` made instead of a new one.
    (project / "MLproject").unlink()
    (project / "uses_mlflow.py").write_text(MLFLOW_SCRIPT)
    done = mltop(store_path, "run", str(project / "uses_mlflow.py"), "-P", "lr=0.5")
    assert done.returncode == 0, done.stderr
    store, run_id = only_run(store_path)
    assert done.stdout.split()[-1] == run_id
    run = store.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"lr": "0.5"}
    assert run.data.summaries["loss"].count == 50


def test_a_tracking_uri_the_user_chose_is_left_alone(
    project: Path, store_path: Path, tmp_path: Path
) -> None:
    (project / "MLproject").unlink()
    (project / "uses_mlflow.py").write_text(MLFLOW_SCRIPT)
    other = tmp_path / "other"
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"mltop://{other}"}
    done = mltop(store_path, "run", str(project / "uses_mlflow.py"), "-P", "lr=1", env=env)
    assert done.returncode == 0, done.stderr
    _store, run_id = only_run(store_path)
    mlflow_run = done.stdout.split()[-1]
    assert mlflow_run != run_id
    assert Store(other, create=False).get_run(mlflow_run).data.params == {"lr": "1"}


@pytest.mark.parametrize("form", ["path", "bare"])
def test_a_tracking_uri_naming_this_store_gets_the_run_mltop_started(
    project: Path, store_path: Path, form: str
) -> None:
    (project / "MLproject").unlink()
    (project / "uses_mlflow.py").write_text(MLFLOW_SCRIPT)
    uri = f"mltop://{store_path.absolute()}" if form == "path" else "mltop:"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    done = mltop(store_path, "run", str(project / "uses_mlflow.py"), "-P", "lr=2", env=env)
    assert done.returncode == 0, done.stderr
    store, run_id = only_run(store_path)  # one run: the script's start_run() resumed it
    assert done.stdout.split()[-1] == run_id
    assert store.get_run(run_id).data.summaries["loss"].count == 50
