"""Helpers shared by the tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap


def run_python(
    code: str, *, env: dict[str, str] | None = None, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run a Python snippet in a fresh interpreter (the way a training script runs)."""
    full_env = {**os.environ, **(env or {})}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"child failed ({result.returncode}):\n{result.stderr}")
    return result


def _without_override() -> None:
    """In the child, before it runs Python: as root, give up the power to write what the
    file permissions forbid (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so that root reads
    a read-only store as any other user does."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def run_python_read_only(
    code: str, *, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`run_python`, in a process bound by file permissions even when the tests run as
    root: what is read-only to a user is read-only to it."""
    with spawn_read_only(code, stdin=subprocess.DEVNULL) as child:
        stdout, stderr = child.communicate(timeout=timeout)
    result = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
    if check and result.returncode != 0:
        raise AssertionError(f"child failed ({result.returncode}):\n{result.stderr}")
    return result


def spawn_read_only(code: str, **popen: object) -> subprocess.Popen[str]:
    """A Python snippet started in a process bound by file permissions (see above)."""
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_without_override if os.geteuid() == 0 else None,
        **popen,
    )


# -- MLflow scripts, ported by changing their imports alone --------------------------------

_IMPORTS = [
    (re.compile(r"^(\s*)import mlflow[ \t]*$", re.M), r"\1import mltop.store as mlflow"),
    (re.compile(r"^(\s*)from mlflow(?:\.tracking)? import ", re.M), r"\1from mltop.store import "),
    (
        re.compile(r"^(\s*)from mlflow\.(entities|artifacts|data|exceptions|client) import ", re.M),
        r"\1from mltop.store.\2 import ",
    ),
]


def port(source: str) -> str:
    """A script written for MLflow, its imports changed to mltop's (nothing else)."""
    for pattern, replacement in _IMPORTS:
        source = pattern.sub(replacement, source)
    return source
