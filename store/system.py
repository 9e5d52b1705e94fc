"""Facts about where a run was started, recorded as tags without being asked: ours
(`mltop.*`) and MLflow's (`mlflow.source.*`), written as MLflow writes them.

MLflow's `mlflow.runName`, `mlflow.user` and `mlflow.parentRunId` are not stored as tags:
they are the run's name, user and parent, shown among its tags and searched as tags."""

from __future__ import annotations

import getpass
import os
import platform
import shlex
import socket
import subprocess
import sys
from pathlib import Path

TAG_USER = "mltop.user"
TAG_HOST = "mltop.host"
TAG_COMMAND = "mltop.source.command"
TAG_PYTHON = "mltop.python"
TAG_GIT_COMMIT = "mltop.git.commit"
TAG_GIT_BRANCH = "mltop.git.branch"
TAG_GIT_DIRTY = "mltop.git.dirty"

# MLflow's system tags (mlflow/utils/mlflow_tags.py).
TAG_MLFLOW_RUN_NAME = "mlflow.runName"
TAG_MLFLOW_USER = "mlflow.user"
TAG_MLFLOW_PARENT_RUN = "mlflow.parentRunId"
TAG_MLFLOW_SOURCE_NAME = "mlflow.source.name"
TAG_MLFLOW_SOURCE_TYPE = "mlflow.source.type"
TAG_MLFLOW_GIT_COMMIT = "mlflow.source.git.commit"


def current_user() -> str:
    """`MLTOP_USER` if set, else the operating system's user name."""
    user = os.environ.get("MLTOP_USER")
    if user:
        return user
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry, e.g. in some containers
        return "unknown"


def _script_dir() -> Path:
    script = sys.argv[0] if sys.argv else ""
    if script and os.path.isfile(script):
        return Path(script).resolve().parent
    return Path.cwd()


def git_facts(where: Path | None = None) -> dict[str, str]:
    """Commit, branch and dirty flag of the git work tree holding `where`, or {}."""
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain=v2", "--branch", "--untracked-files=no"],
            cwd=where or _script_dir(),
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    if out.returncode != 0:
        return {}
    facts: dict[str, str] = {}
    dirty = False
    for line in out.stdout.splitlines():
        if line.startswith("# branch.oid "):
            oid = line.split(" ", 2)[2]
            if oid != "(initial)":
                facts[TAG_GIT_COMMIT] = oid
        elif line.startswith("# branch.head "):
            head = line.split(" ", 2)[2]
            if head != "(detached)":
                facts[TAG_GIT_BRANCH] = head
        elif line and not line.startswith("#"):
            dirty = True
    if TAG_GIT_COMMIT in facts:
        facts[TAG_GIT_DIRTY] = "true" if dirty else "false"
    return facts


def mlflow_source_tags(git: dict[str, str]) -> dict[str, str]:
    """MLflow's `mlflow.source.*` tags: the script as it was named on the command line
    (`<console>` without one), LOCAL, and the commit of the git work tree holding the
    script, when there is a script (`git`: the facts `git_facts` read from its folder)."""
    main = sys.argv[0] if sys.argv and sys.argv[0] else None
    tags = {TAG_MLFLOW_SOURCE_NAME: main or "<console>", TAG_MLFLOW_SOURCE_TYPE: "LOCAL"}
    if main is not None and os.path.exists(main) and TAG_GIT_COMMIT in git:
        tags[TAG_MLFLOW_GIT_COMMIT] = git[TAG_GIT_COMMIT]
    return tags


def system_tags() -> dict[str, str]:
    argv = getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv]
    tags = {
        TAG_USER: current_user(),
        TAG_HOST: socket.gethostname(),
        TAG_COMMAND: shlex.join(argv)[:8000],
        TAG_PYTHON: platform.python_version(),
    }
    git = git_facts()
    tags.update(git)
    tags.update(mlflow_source_tags(git))
    return tags
