"""`mltop run`: a project's entry point run as a tracked run.

The parent (this process) creates the run, records what is needed to run it again (entry
point, parameters, commit, the uncommitted diff), starts the command in a process group
of its own with `MLTOP_RUN_ID` and `MLTOP_STORE` set (the script's own logging lands in
the run), copies its output to the terminal and to the run's console log, samples system
metrics, and records how it ended:

- exit status 0: FINISHED (unless the script itself ended the run FAILED or KILLED);
- another exit status, or death by a signal nobody here sent: FAILED, the status kept in
  the tag `mltop.exit_code` (a negative number: the signal);
- Ctrl-C, SIGTERM or SIGHUP to `mltop run`: the signal is passed to the command's process
  group (Ctrl-C as SIGINT, so a Python script ends its run as KILLED itself); after the
  grace (`--stop-timeout`, GRACE_S by default) it gets SIGTERM, and as long again later
  SIGKILL; a second signal kills at once. The run is KILLED.
- Processes the command left in its group are stopped when it ends, however it ends.

The command's stdin is /dev/null: it runs in a process group of its own, and one that
is not the terminal's foreground group would be stopped by the terminal on reading it.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import quote

import click

from mltop.store import MltopClient, NotFoundError, ValidationError, keys
from mltop.store.capture import CAPTURED_BY_ENV, ConsoleLog, Tee
from mltop.store.entities import FAILED, FINISHED, KILLED, Run
from mltop.store.location import MLTOP_SCHEME, store_path_from_uri
from mltop.store.projects import EntryPoint, Project, load_project
from mltop.store.system import (
    TAG_COMMAND,
    TAG_GIT_BRANCH,
    TAG_GIT_COMMIT,
    TAG_GIT_DIRTY,
    TAG_HOST,
    TAG_MLFLOW_GIT_COMMIT,
    TAG_MLFLOW_SOURCE_NAME,
    TAG_MLFLOW_SOURCE_TYPE,
    TAG_PYTHON,
    TAG_USER,
    current_user,
    git_facts,
)
from mltop.tui.cli.opening import chosen_store, local_store_option
from mltop.tui.text import clean

GRACE_S = 10.0  # after the first stop signal, before SIGTERM (and again before SIGKILL)
LEFTOVER_GRACE_S = 3.0  # processes left in the group after the command ended

# Tags: MLflow's names where MLflow has them (mlflow/utils/mlflow_tags.py), ours beside.
TAG_ENTRY_POINT = "mlflow.project.entryPoint"
TAG_PROJECT_ENV = "mlflow.project.env"
TAG_PROJECT_BACKEND = "mlflow.project.backend"
TAG_MLFLOW_GIT_BRANCH = "mlflow.source.git.branch"
TAG_PROJECT_DIR = "mltop.project.dir"
TAG_PROJECT_NAME = "mltop.project.name"
TAG_PROJECT_COMMAND = "mltop.project.command"
TAG_PROJECT_WORKDIR = "mltop.project.workdir"  # where it ran, when not the project folder
TAG_EXIT_CODE = "mltop.exit_code"
TAG_STOPPED_WITH = "mltop.stopped_with"  # the last signal mltop run sent, when it stopped it
TAG_RERUN_OF = "mltop.rerun_of"
TAG_RERUN_DIFF = "mltop.rerun.diff_applied"
DIFF_ARTIFACT = "project/git.diff"


class LaunchError(ValidationError):
    """`mltop run` cannot start: a project, parameter, commit or environment problem."""


def parse_parameters(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`-P key=value` pairs; the value may itself hold `=`."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise LaunchError(f"-P {pair!r}: give a parameter as key=value")
        try:
            pair.encode("utf-8")
        except UnicodeEncodeError:
            raise LaunchError(
                f"-P {pair.encode('utf-8', 'surrogateescape')!r}: not UTF-8 text; parameters "
                "are text"
            ) from None
        if key.strip() in params:
            raise LaunchError(f"-P {key.strip()} is given twice: which one?")
        params[key.strip()] = value
    return params


def check_params(params: Mapping[str, str]) -> None:
    """What the store would refuse, refused before a run is made: its key, its length."""
    for key, value in params.items():
        keys.validate_key(key, "param key")
        keys.validate_string_value(value, keys.MAX_PARAM_VALUE_LENGTH, f"param {key!r} value")


# -- git ----------------------------------------------------------------------------------


def _git(where: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(
            ["git", *args], cwd=where, capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise LaunchError(f"git {args[0]} failed: {exc}") from exc
    if check and done.returncode != 0:
        raise LaunchError(f"git {' '.join(args)} failed: {done.stderr.strip() or done.stdout}")
    return done


def git_diff(where: Path) -> bytes:
    """The uncommitted changes to tracked files (staged or not), as `git apply` takes them."""
    try:
        done = subprocess.run(
            ["git", "diff", "HEAD", "--binary"], cwd=where, capture_output=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError):
        return b""
    return done.stdout if done.returncode == 0 else b""


def _repo_root(where: Path) -> Path | None:
    done = _git(where, "rev-parse", "--show-toplevel", check=False)
    return Path(done.stdout.strip()) if done.returncode == 0 else None


@dataclass
class Worktree:
    """A clean checkout of one commit, removed again with `remove()`."""

    repo: Path
    path: Path

    def remove(self) -> None:
        _git(self.repo, "worktree", "remove", "--force", str(self.path), check=False)
        with contextlib.suppress(OSError):
            self.path.parent.rmdir()


def clean_worktree(repo: Path, commit: str) -> Worktree:
    """`git worktree add --detach` of `commit` in a temporary folder."""
    parent = Path(tempfile.mkdtemp(prefix="mltop-rerun-"))
    path = parent / "worktree"
    _git(repo, "worktree", "add", "--detach", str(path), commit)
    return Worktree(repo, path)


# -- what runs ------------------------------------------------------------------------------


@dataclass
class Plan:
    """Everything decided before the command starts."""

    project: Project
    entry: EntryPoint
    params: dict[str, str]  # every value, checked, defaults filled
    command: str
    workdir: Path  # where the command runs
    tags: dict[str, str]
    env_manager: str
    diff: bytes = b""  # the uncommitted changes (recorded as an artifact)
    worktree: Worktree | None = None
    notes: list[str] = field(default_factory=list)  # said before the command starts


def _resolve(path: str) -> tuple[Path, str | None]:
    """A project folder and the entry point a file path names (None: not named)."""
    given = Path(path)
    if given.is_file():
        return given.resolve().parent, given.name
    if not given.is_dir():
        raise LaunchError(f"no project folder or script {path!r}")
    return given.resolve(), None


def _script_python(entry: EntryPoint, command: str, env_manager: str) -> str:
    """A .py entry point runs with this mltop's Python in the local environment (a bare
    `python` may be another, or missing); in a built environment, with its own."""
    if entry.script and env_manager == "local" and command.startswith("python "):
        return shlex.quote(sys.executable) + command[len("python") :]
    return command


def plan(
    path: str | None,
    entry_name: str | None,
    given: Mapping[str, str],
    *,
    env_manager: str = "local",
    rerun: Run | None = None,
    read_diff: Callable[[str], bytes | None] | None = None,
) -> Plan:
    """Read the project, check the parameters, make the command and the tags. For a
    rerun, `read_diff(run_id)` reads the original run's diff artifact (None: none)."""
    notes: list[str] = []
    worktree: Worktree | None = None
    given = dict(given)
    if rerun is not None:
        tags = rerun.data.tags
        recorded_dir = tags.get(TAG_PROJECT_DIR)
        if not recorded_dir:
            raise LaunchError(
                f"run {rerun.info.run_id} was not started by `mltop run`: nothing says how to "
                "run it again"
            )
        home = Path(recorded_dir if path is None else path).resolve()
        if not home.is_dir():
            raise LaunchError(
                f"the project folder {home} is not there any more; give its path "
                "(mltop run PATH --rerun ...)"
            )
        recorded_entry = tags.get(TAG_ENTRY_POINT)
        if entry_name is None or entry_name == recorded_entry:
            entry_name = recorded_entry
            given = {**rerun.data.params, **given}
        # (Another entry point: its own parameters, the original's are not its.)
        folder = home
        commit = tags.get(TAG_GIT_COMMIT)
        if commit:
            diff = read_diff(rerun.info.run_id) if read_diff is not None else None
            folder, worktree, extra = _checkout_for_rerun(home, commit, rerun, diff)
            notes.extend(extra)
        else:
            notes.append(
                f"run {rerun.info.run_id[:8]} recorded no git commit (its folder was not in a "
                "repository): running the folder as it is now"
            )
    else:
        home, named = _resolve("." if path is None else path)
        folder = home
        entry_name = entry_name or named
    try:
        project = load_project(folder)
        entry = project.entry_point(entry_name)
        values = entry.values(given, folder)
        command = entry.command_for(given, folder)
    except BaseException:
        if worktree is not None:
            worktree.remove()
        raise
    command = _script_python(entry, command, env_manager)
    git = git_facts(folder)
    tags = {
        TAG_USER: current_user(),
        TAG_HOST: socket.gethostname(),
        TAG_PYTHON: platform.python_version(),
        TAG_COMMAND: command[:8000],
        TAG_PROJECT_DIR: str(home),
        TAG_PROJECT_NAME: project.name,
        TAG_PROJECT_COMMAND: command[:8000],
        TAG_ENTRY_POINT: entry.name,
        TAG_PROJECT_ENV: env_manager,
        TAG_PROJECT_BACKEND: "local",
        TAG_MLFLOW_SOURCE_TYPE: "PROJECT",
        TAG_MLFLOW_SOURCE_NAME: str(home),
        **git,
    }
    if TAG_GIT_COMMIT in git:
        tags[TAG_MLFLOW_GIT_COMMIT] = git[TAG_GIT_COMMIT]
    if TAG_GIT_BRANCH in git:
        tags[TAG_MLFLOW_GIT_BRANCH] = git[TAG_GIT_BRANCH]
    if worktree is not None:
        tags[TAG_PROJECT_WORKDIR] = str(folder)
    if rerun is not None:
        tags[TAG_RERUN_OF] = rerun.info.run_id
        if any(n.startswith("applied") for n in notes):
            tags[TAG_RERUN_DIFF] = "true"
    diff = git_diff(folder) if git.get(TAG_GIT_DIRTY) == "true" else b""
    return Plan(project, entry, values, command, folder, tags, env_manager, diff, worktree, notes)


def _checkout_for_rerun(
    folder: Path, commit: str, original: Run, diff: bytes | None
) -> tuple[Path, Worktree | None, list[str]]:
    """The folder to rerun in: the project folder itself when it is clean at `commit`,
    else the same folder in a clean worktree of `commit` (with the original run's
    uncommitted diff applied when it had one)."""
    repo = _repo_root(folder)
    if repo is None:
        raise LaunchError(
            f"run {original.info.run_id} was made at commit {commit[:12]}, and {folder} is "
            "not in a git repository any more"
        )
    found = _git(repo, "cat-file", "-e", f"{commit}^{{commit}}", check=False)
    if found.returncode != 0:
        raise LaunchError(
            f"commit {commit[:12]} of run {original.info.run_id} is not in the repository "
            f"{repo} (fetch it, or was it rebased away?); nothing run"
        )
    now = git_facts(folder)
    dirty_before = original.data.tags.get(TAG_GIT_DIRTY) == "true"
    if now.get(TAG_GIT_COMMIT) == commit and now.get(TAG_GIT_DIRTY) != "true" and not dirty_before:
        return folder, None, []
    worktree = clean_worktree(repo, commit)
    inside = worktree.path / folder.resolve().relative_to(repo.resolve())
    notes = [f"running in a clean worktree of commit {commit[:12]}: {worktree.path}"]
    if dirty_before:
        if not diff:
            notes.append(
                "the original run had uncommitted changes and no diff artifact: "
                "running the commit as it is"
            )
        else:
            applied = subprocess.run(
                ["git", "apply", "--binary", "-"],
                cwd=worktree.path,
                input=diff,
                capture_output=True,
                check=False,
            )
            if applied.returncode != 0:
                worktree.remove()
                raise LaunchError(
                    "the original run's uncommitted changes do not apply to commit "
                    f"{commit[:12]}: {applied.stderr.decode(errors='replace').strip()}"
                )
            notes.append("applied the original run's uncommitted changes (project/git.diff)")
    return inside, worktree, notes


# -- running ------------------------------------------------------------------------------


class Stopper:
    """Turns Ctrl-C, SIGTERM and SIGHUP to this process into a stop of the command's
    process group: the signal first, then SIGTERM after `grace`, SIGKILL as long later;
    a second signal kills at once."""

    def __init__(self, say: Callable[[str], None], grace: float = GRACE_S) -> None:
        self.grace = grace
        self.group: int | None = None
        self.asked: int | None = None  # the first signal received
        self.sent: int | None = None  # the last signal sent to the command's group
        self._deadline: float | None = None
        self._sent_term = False
        self._say = say
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(ValueError, OSError):
                self._previous[signum] = signal.signal(signum, self._received)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(signum, handler)

    def _received(self, signum: int, frame: FrameType | None) -> None:
        if self.asked is None:
            self.asked = signum
            if self.group is None:
                return
            forwarded = signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM
            self._sent_term = forwarded == signal.SIGTERM
            self._signal(forwarded)
            self._deadline = time.monotonic() + self.grace
            if signum == signal.SIGINT:
                self._say("stopping the run (Ctrl-C again to kill it now)")
        else:
            self._signal(signal.SIGKILL)

    def _signal(self, signum: int) -> None:
        if self.group is not None:
            self.sent = signum
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.group, signum)

    def tick(self) -> None:
        """Escalate when the command outlived its grace."""
        if self._deadline is None or time.monotonic() < self._deadline:
            return
        if not self._sent_term:
            self._sent_term = True
            self._signal(signal.SIGTERM)
            self._deadline = time.monotonic() + self.grace
        else:
            self._signal(signal.SIGKILL)
            self._deadline = None

    def started(self, group: int) -> None:
        self.group = group
        first = self.asked
        if first is not None:  # a signal came while starting
            self.asked = None
            self._received(first, None)


def stop_group(group: int, grace: float = LEFTOVER_GRACE_S) -> int | None:
    """SIGTERM what is left in process group `group`, SIGKILL it after `grace`; the last
    signal sent when something was left, else None."""
    try:
        os.killpg(group, signal.SIGTERM)
    except ProcessLookupError:
        return None
    except PermissionError:
        return signal.SIGTERM
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _group_alive(group):
            return signal.SIGTERM
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)
    return signal.SIGKILL


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # Zombies still count for killpg; reap our own, others belong to their parents.
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-group, os.WNOHANG)[0] > 0:
            pass
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def group_pids(group: int) -> set[int]:
    """The processes of group `group` now (Linux /proc; elsewhere only the leader)."""
    pids = {group}
    proc = Path("/proc")
    if not proc.is_dir():
        return pids
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[2] == str(group):
            pids.add(int(entry.name))
    return pids


def child_environment(client: MltopClient, run_id: str, store: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["MLTOP_RUN_ID"] = run_id
    env["MLTOP_STORE"] = str(store)
    env.pop("MLTOP_EXPERIMENT_ID", None)
    env.pop("MLTOP_EXPERIMENT_NAME", None)
    env["PYTHONUNBUFFERED"] = "1"  # a pipe would otherwise hold Python's output back
    env[CAPTURED_BY_ENV] = str(os.getpid())
    return env


def mlflow_environment(run_id: str, store: Path) -> dict[str, str]:
    """MLflow's variables pointing a command's `import mlflow` at this run, in this store,
    through the plugin (`mltop[mlflow]`): only where that MLflow will find the plugin (this
    Python has both), and never over a tracking URI the user chose: one naming this store
    (`mltop:` alone names it too, the command's MLTOP_STORE being this store) gets the run."""
    chosen = os.environ.get("MLFLOW_TRACKING_URI", "")
    if chosen:
        if not _names_store(chosen, store):
            return {}
        found = {"MLFLOW_RUN_ID": run_id}
        if not os.environ.get("MLFLOW_REGISTRY_URI"):
            found["MLFLOW_REGISTRY_URI"] = chosen
        return found
    import importlib.util
    from importlib.metadata import entry_points

    if importlib.util.find_spec("mlflow") is None:
        return {}
    if not any(e.name == "mltop" for e in entry_points(group="mlflow.tracking_store")):
        return {}
    uri = "mltop://" + quote(str(store.absolute()))
    # The registry URI too: it is the same store, and MLflow otherwise looks for Spark's on
    # every call it makes.
    return {"MLFLOW_TRACKING_URI": uri, "MLFLOW_REGISTRY_URI": uri, "MLFLOW_RUN_ID": run_id}


def _names_store(uri: str, store: Path) -> bool:
    scheme, _, rest = uri.partition(":")
    if scheme.lower() != MLTOP_SCHEME:
        return False
    if not rest.strip():
        return True
    try:
        return store_path_from_uri(uri) == store.absolute()
    except ValidationError:
        return False


def local_environment() -> dict[str, str]:
    """`--env-manager local`: this Python environment's scripts (its `python`) first on
    PATH, as when it is activated, so that an MLproject's `python` is this one."""
    scripts = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    env = {"PATH": scripts + (os.pathsep + path if path else "")}
    if sys.prefix != sys.base_prefix:  # a virtual environment
        env["VIRTUAL_ENV"] = sys.prefix
    return env


@dataclass
class Outcome:
    status: str
    exit_code: int  # what `mltop run` exits with
    returncode: int  # the command's (negative: killed by that signal)
    stopped_with: int | None = None  # the last signal mltop run sent it, when it stopped it


def _start_sampler(client: MltopClient, run_id: str, group: int, say: Callable[[str], None]) -> Any:
    """System metrics of the run, with the GPU memory of the command's process group."""
    try:
        from mltop.store.system_metrics import start_sampler

        return start_sampler(client, run_id, pids=lambda: group_pids(group))
    except Exception as exc:  # the command runs on without them
        say(f"system metrics not sampled: {exc}")
        return None


@contextlib.contextmanager
def _maybe(obj: Any) -> Iterator[Any]:
    try:
        yield obj
    finally:
        if obj is not None:
            obj.stop()


def execute(
    client: MltopClient,
    run_id: str,
    plan_: Plan,
    store: Path,
    *,
    env: Mapping[str, str] | None = None,
    system_metrics: bool = True,
    say: Callable[[str], None] | None = None,
    stopper: Stopper | None = None,
) -> Outcome:
    """Run the planned command as run `run_id` and record how it ended."""

    def _say(text: str) -> None:
        with contextlib.suppress(OSError):
            os.write(2, f"mltop: {text}\n".encode(errors="replace"))

    say = say or _say
    stopper = stopper or Stopper(say)
    child_env = dict(env) if env is not None else child_environment(client, run_id, store)
    if system_metrics:
        child_env["MLTOP_SYSTEM_METRICS_BY"] = str(os.getpid())
    else:  # asked not to: nor by the environment's say-so, in the command
        child_env["MLTOP_ENABLE_SYSTEM_METRICS_LOGGING"] = "false"
        child_env.pop("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", None)
    log: ConsoleLog | None
    try:
        log = ConsoleLog(client.store.artifacts(run_id), warn=say)
    except (OSError, ValidationError) as exc:
        say(f"console output not kept: {exc}")
        log = None
    stopper.install()
    try:
        proc = subprocess.Popen(
            ["/bin/sh", "-c", plan_.command],
            cwd=plan_.workdir,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            **_own_group(),
        )
    except OSError as exc:
        stopper.restore()
        if log is not None:
            log.finish()
        client.set_tags(run_id, {TAG_EXIT_CODE: "127"})
        client.set_terminated(run_id, FAILED)
        raise LaunchError(f"cannot start {plan_.command!r}: {exc}") from exc
    assert proc.stdout is not None and proc.stderr is not None
    group = proc.pid
    stopper.started(group)
    terminals = {1: _fileno(sys.stdout), 2: _fileno(sys.stderr)}
    tee = Tee({proc.stdout.fileno(): 1, proc.stderr.fileno(): 2}, terminals, log).start()
    sampler = _start_sampler(client, run_id, group, say) if system_metrics else None
    try:
        with _maybe(sampler):
            while True:
                try:
                    returncode = proc.wait(timeout=0.2)
                    break
                except subprocess.TimeoutExpired:
                    stopper.tick()
            left = stop_group(group, min(LEFTOVER_GRACE_S, stopper.grace))
            tee.join(timeout=2.0 if left else 10.0)
            tee.stop(timeout=5.0)
    finally:
        stopper.restore()
    outcome = _ending(client, run_id, returncode, stopper.asked)
    if stopper.asked is not None:  # the last signal the command's processes got from us
        outcome.stopped_with = signal.SIGKILL if left == signal.SIGKILL else stopper.sent
    said = {TAG_EXIT_CODE: str(returncode)}
    if outcome.stopped_with is not None:
        said[TAG_STOPPED_WITH] = signal.Signals(outcome.stopped_with).name
    client.set_tags(run_id, said)
    client.set_terminated(run_id, outcome.status)
    return outcome


def _own_group() -> dict[str, Any]:
    """Popen arguments starting the command as the leader of a new process group."""
    if sys.version_info >= (3, 11):
        return {"process_group": 0}
    return {"preexec_fn": os.setpgrp}  # 3.10: setpgid(0, 0), a single system call


def _fileno(stream: Any) -> int | None:
    try:
        return int(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return None


def _ending(client: MltopClient, run_id: str, returncode: int, asked: int | None) -> Outcome:
    if asked is not None:
        code = 130 if asked == signal.SIGINT else 128 + asked
        return Outcome(KILLED, code, returncode)
    if returncode == 0:
        try:
            said = client.store.get_run(run_id).info.status
        except NotFoundError:
            said = FINISHED
        status = said if said in (FAILED, KILLED) else FINISHED
        return Outcome(status, 0 if status == FINISHED else 1, 0)
    code = returncode if returncode > 0 else 128 - returncode
    return Outcome(FAILED, code, returncode)


# -- the command ----------------------------------------------------------------------------


def _read_diff(client: MltopClient) -> Callable[[str], bytes | None]:
    def read(run_id: str) -> bytes | None:
        try:
            with client.store.artifacts(run_id).open(DIFF_ARTIFACT, "rb") as handle:
                data: bytes = handle.read()
                return data
        except (NotFoundError, ValidationError, OSError):
            return None

    return read


def _experiment_id(client: MltopClient, name: str | None) -> str | None:
    if name is None:
        return None
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    return client.create_experiment(name)


def launch(
    path: str | None,
    entry_name: str | None,
    params: Mapping[str, str],
    *,
    store_path: str | None,
    experiment: str | None = None,
    run_name: str | None = None,
    env_manager: str = "local",
    rerun_id: str | None = None,
    system_metrics: bool = True,
    stop_timeout: float = GRACE_S,
    say: Callable[[str], None],
) -> Outcome:
    """Everything `mltop run` does; returns how the command ended."""
    from mltop.store import open_store
    from mltop.store.location import local_store_only

    # The child is pointed at the store's folder (MLTOP_STORE, MLflow's tracking URI):
    # a server's would be its cache folder, and the run would be logged there, unseen.
    local_store_only(store_path, "mltop run")
    store = open_store(store_path, create=rerun_id is None)
    client = MltopClient(store)  # type: ignore[arg-type]
    rerun = None
    if rerun_id is not None:
        rerun = client.get_run(store.resolve_run_id(rerun_id))
    planned = plan(
        path,
        entry_name,
        params,
        env_manager=env_manager,
        rerun=rerun,
        read_diff=_read_diff(client),
    )
    try:
        check_params(planned.params)
        for note in planned.notes:
            say(note)
        environment_env: dict[str, str] | None = None
        if env_manager == "virtualenv":
            from mltop.tui.cli.envs import prepare_virtualenv

            environment_env = prepare_virtualenv(planned.project, say=say)
        if experiment is None and rerun is not None:
            experiment_id: str | None = rerun.info.experiment_id
        else:
            experiment_id = _experiment_id(client, experiment)
        run = client.create_run(
            experiment_id, run_name=run_name, tags=planned.tags, log_system_info=False
        )
        run_id = run.info.run_id
        try:
            client.log_params(run_id, planned.params)
            if planned.diff:
                client.store.artifacts(run_id).write_bytes(planned.diff, DIFF_ARTIFACT)
        except BaseException:  # (a full disk): the run says it never ran
            with contextlib.suppress(Exception):
                client.set_terminated(run_id, FAILED)
            raise
        say(f"run {run_id} ({run.info.run_name}) in {store.path}: {planned.command}")
        env = child_environment(client, run_id, store.path)
        if environment_env is not None:
            env.update(environment_env)
        elif env_manager == "local":
            env.update(local_environment())
            env.update(mlflow_environment(run_id, store.path))
        outcome = execute(
            client,
            run_id,
            planned,
            store.path,
            env=env,
            system_metrics=system_metrics,
            say=say,
            stopper=Stopper(say, stop_timeout),
        )
        say(f"run {run_id} {outcome.status}" + _exit_words(outcome))
        return outcome
    finally:
        if planned.worktree is not None:
            planned.worktree.remove()
        client.close()


def _exit_words(outcome: Outcome) -> str:
    if outcome.stopped_with is not None:  # (the shell's own status would say less)
        return f" (stopped with {signal.Signals(outcome.stopped_with).name})"
    if outcome.returncode == 0:
        return ""
    if outcome.returncode < 0:
        try:
            name = signal.Signals(-outcome.returncode).name
        except ValueError:
            name = f"signal {-outcome.returncode}"
        return f" (ended by {name})"
    return f" (exit status {outcome.returncode})"


@click.command(
    "run",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.argument("path", default=None, required=False)
@click.option("-e", "--entry-point", "entry", metavar="NAME", help="Entry point (default: main).")
@click.option(
    "-P", "--param", "params", multiple=True, metavar="KEY=VALUE", help="A parameter; repeatable."
)
@click.option(
    "--experiment",
    "--experiment-name",
    "experiment",
    metavar="NAME",
    help="Experiment of the run (made when missing; default: the default experiment).",
)
@click.option("--run-name", metavar="NAME", help="Name of the run (default: a generated one).")
@click.option(
    "--env-manager",
    type=click.Choice(["local", "virtualenv"]),
    default="local",
    show_default=True,
    help="local: this Python environment; virtualenv: one built from python_env.yaml "
    "(kept and reused).",
)
@click.option(
    "--rerun",
    "rerun_id",
    metavar="RUN_ID",
    help="Run again as that run ran: its entry point, parameters (-P overrides) and commit.",
)
@click.option(
    "--no-system-metrics",
    is_flag=True,
    help="Do not sample CPU, memory, disk, network and GPUs every 10 s.",
)
@click.option(
    "--stop-timeout",
    type=click.FloatRange(min=0),
    default=GRACE_S,
    show_default=True,
    metavar="SECONDS",
    help="After Ctrl-C (or SIGTERM), how long the command has to end before SIGTERM, "
    "then as long before SIGKILL.",
)
@local_store_option
@click.pass_context
def run_command(
    ctx: click.Context,
    path: str | None,
    entry: str | None,
    params: tuple[str, ...],
    experiment: str | None,
    run_name: str | None,
    env_manager: str,
    rerun_id: str | None,
    no_system_metrics: bool,
    stop_timeout: float,
    store_path: str | None,
) -> None:
    """Run a project's entry point (or a .py/.sh file) as a tracked run.

    PATH is a project folder with an MLproject file (default: here), or a script. The
    command's output goes to the terminal and to the run's logs/stdout.log; its own
    logging lands in the run (MLTOP_RUN_ID and MLTOP_STORE are set). Exits with the
    command's exit status.
    """

    def say(text: str) -> None:
        for line in text.splitlines() or [""]:
            click.echo(f"mltop: {clean(line)}", err=True)

    try:
        outcome = launch(
            path,
            entry,
            parse_parameters(params),
            store_path=chosen_store(ctx, store_path),
            experiment=experiment,
            run_name=run_name,
            env_manager=env_manager,
            rerun_id=rerun_id,
            system_metrics=not no_system_metrics and sampling_wanted() is not False,
            stop_timeout=stop_timeout,
            say=say,
        )
    except KeyboardInterrupt:  # before the command started (building its environment)
        say("interrupted before the command started; no run made")
        ctx.exit(130)
    ctx.exit(outcome.exit_code)


def sampling_wanted() -> bool | None:
    """What MLTOP_ENABLE_SYSTEM_METRICS_LOGGING (or MLflow's name) says: True, False, or
    None when unset (then `mltop run` samples)."""
    for name in ("MLTOP_ENABLE_SYSTEM_METRICS_LOGGING", "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING"):
        value = os.environ.get(name, "").strip().lower()
        if value in ("true", "1", "yes", "on"):
            return True
        if value in ("false", "0", "no", "off"):
            return False
    return None
