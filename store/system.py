"""Facts about where a run was started, recorded as `mltop.*` tags without being asked."""

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


def system_tags() -> dict[str, str]:
    argv = getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv]
    tags = {
        TAG_USER: current_user(),
        TAG_HOST: socket.gethostname(),
        TAG_COMMAND: shlex.join(argv)[:8000],
        TAG_PYTHON: platform.python_version(),
    }
    tags.update(git_facts())
    return tags
