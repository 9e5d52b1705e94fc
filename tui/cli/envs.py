"""`mltop run --env-manager virtualenv`: a Python environment built from a project's
`python_env.yaml` (MLflow's format), kept and reused.

    python: "3.11"
    build_dependencies: [pip, setuptools]
    dependencies:
      - -r requirements.txt
      - numpy==2.1.0

An environment is keyed by a hash of what makes it: the Python it runs, both dependency
lists, and the contents of every requirements file they name. It is built in a folder of
its own, under a lock, and marked ready only once complete: a build killed halfway is
never reused (it is made again), and two launches at once build it once. Folders:
`$MLTOP_ENV_ROOT`, else `$XDG_CACHE_HOME/mltop/envs`, else `~/.cache/mltop/envs`.

mltop itself is not installed from an index into the environment: the environment sees
this mltop's `mltop.store` through a `.pth` file and a link, so the script logs with the
same code (and store format) as the `mltop run` that started it, offline.

The Python asked for must be found as `pythonX.Y` on PATH (or be this Python); mltop
does not download Pythons.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mltop.store.projects import Project
from mltop.tui.cli.launch import LaunchError

READY = ".mltop-ready"
SITE_PACKAGES = "import sysconfig; print(sysconfig.get_paths()['purelib'])"


def env_root() -> Path:
    explicit = os.environ.get("MLTOP_ENV_ROOT")
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "mltop" / "envs"


def read_python_env(project: Project) -> dict[str, Any]:
    """The project's python_env.yaml, checked; {} when it declares none."""
    if project.environment is None:
        return {}
    kind, value = project.environment
    if kind != "python_env":
        raise LaunchError(
            f"the project declares {kind}: --env-manager virtualenv builds from a "
            "python_env.yaml; run with --env-manager local inside an environment you made"
        )
    path = (project.directory / str(value)).resolve()
    if not path.is_relative_to(project.directory.resolve()):
        raise LaunchError(f"python_env {value!r} is outside the project folder")
    try:
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LaunchError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise LaunchError(f"{path} is not YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise LaunchError(f"{path} must be a mapping (python, build_dependencies, dependencies)")
    for key in ("build_dependencies", "dependencies"):
        items = data.get(key) or []
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise LaunchError(f"{path}: {key} must be a list of requirement strings")
    if "python" in data and not isinstance(data["python"], (str, int, float)):
        raise LaunchError(f'{path}: python must be a version such as "3.11"')
    return data


def find_python(version: str | None) -> str:
    """An interpreter for `version` ("3.11", "3.11.4": major.minor counts)."""
    if not version:
        return sys.executable
    parts = str(version).split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        raise LaunchError(f"python: {version!r} is not a version such as 3.11")
    major, minor = int(parts[0]), int(parts[1])
    if sys.version_info[:2] == (major, minor):
        return sys.executable
    found = shutil.which(f"python{major}.{minor}")
    if found is None:
        raise LaunchError(
            f"python_env.yaml asks for Python {major}.{minor}: no python{major}.{minor} on PATH "
            f"(this is {sys.version_info[0]}.{sys.version_info[1]}); install it, or edit "
            "python_env.yaml"
        )
    return found


def _requirement_files(project: Project, items: list[str]) -> Iterator[tuple[str, bytes]]:
    for item in items:
        words = item.split()
        if words and words[0] in ("-r", "--requirement", "-c", "--constraint") and len(words) > 1:
            path = (project.directory / words[1]).resolve()
            try:
                yield words[1], path.read_bytes()
            except OSError as exc:
                raise LaunchError(f"cannot read {path}: {exc.strerror or exc}") from exc


def env_key(project: Project, spec: dict[str, Any], python: str) -> str:
    build = list(spec.get("build_dependencies") or [])
    deps = list(spec.get("dependencies") or [])
    made_of = {
        "python": _python_version(python),
        "build": build,
        "deps": deps,
        "files": {
            name: hashlib.sha256(data).hexdigest()
            for name, data in _requirement_files(project, build + deps)
        },
    }
    text = json.dumps(made_of, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _python_version(python: str) -> str:
    if python == sys.executable:
        return ".".join(map(str, sys.version_info[:3]))
    done = subprocess.run(
        [python, "-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or python


def _bin(env: Path) -> Path:
    return env / ("Scripts" if os.name == "nt" else "bin")


def environment_variables(env: Path) -> dict[str, str]:
    """What makes a command run inside `env`."""
    path = os.environ.get("PATH", "")
    return {
        "VIRTUAL_ENV": str(env),
        "PATH": f"{_bin(env)}{os.pathsep}{path}" if path else str(_bin(env)),
    }


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    import fcntl

    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def link_mltop(env: Path) -> None:
    """Make this mltop's `mltop.store` importable in `env` (a .pth file and a link)."""
    import mltop.store

    site = subprocess.run(
        [
            str(_bin(env) / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    links = env / "mltop-link" / "mltop"
    links.mkdir(parents=True, exist_ok=True)
    source = Path(next(iter(mltop.store.__path__))).resolve()
    target = links / "store"
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
    target.symlink_to(source, target_is_directory=True)
    Path(site, "mltop-link.pth").write_text(f"{env / 'mltop-link'}\n", encoding="utf-8")


def prepare_virtualenv(
    project: Project, *, say: Callable[[str], None], root: Path | None = None
) -> dict[str, str]:
    """The environment for `project`, built when missing; the variables that put a
    command inside it."""
    spec = read_python_env(project)
    python = find_python(None if "python" not in spec else str(spec["python"]))
    key = env_key(project, spec, python)
    root = root or env_root()
    root.mkdir(parents=True, exist_ok=True)
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in project.name)[:40] or "env"
    final = root / f"{name}-{key}"
    with _locked(root / f".{key}.lock"):
        if (final / READY).is_file():
            say(f"environment {final} (reused)")
            return environment_variables(final)
        if final.exists():  # half-made by a build that died: made again
            _discard(final)
        started = time.monotonic()
        try:
            _build(final, python, project, spec, say)
            link_mltop(final)
            (final / READY).write_text(json.dumps(spec, sort_keys=True), encoding="utf-8")
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
        say(f"environment {final} built in {time.monotonic() - started:.0f} s")
        return environment_variables(final)


def _discard(folder: Path) -> None:
    """Remove a half-made environment. What a killed build left running may still write
    into it: it is renamed out of the way first, then removed as far as it can be."""
    aside = folder.with_name(f".discarded-{folder.name}-{os.getpid()}-{time.time_ns()}")
    try:
        os.replace(folder, aside)
    except OSError:
        aside = folder
    shutil.rmtree(aside, ignore_errors=True)
    if folder.exists():
        raise LaunchError(f"cannot remove the half-made environment {folder}; remove it by hand")


def _build(
    env: Path, python: str, project: Project, spec: dict[str, Any], say: Callable[[str], None]
) -> None:
    say(f"building environment for {project.name} (step 1/3: venv with {python})")
    _step([python, "-m", "venv", str(env)], project.directory, say)
    pip = [str(_bin(env) / "python"), "-m", "pip", "--disable-pip-version-check"]
    build = list(spec.get("build_dependencies") or [])
    deps = list(spec.get("dependencies") or [])
    if build:
        say(f"step 2/3: build dependencies: {', '.join(build)}")
        _step([*pip, "install", *_args(build)], project.directory, say)
    if deps:
        say(f"step 3/3: dependencies: {', '.join(deps)}")
        _step([*pip, "install", *_args(deps)], project.directory, say)


def _args(items: list[str]) -> list[str]:
    args: list[str] = []
    for item in items:
        words = item.split()
        if words and words[0].startswith("-"):
            args.extend(words)  # -r file, --index-url URL, ...
        else:
            args.append(item)
    return args


def _step(command: list[str], cwd: Path, say: Callable[[str], None]) -> None:
    """Run one build step, showing its progress (pip's own lines, one at a time)."""
    try:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        raise LaunchError(f"cannot run {command[0]}: {exc}") from exc
    assert proc.stdout is not None
    tail: list[str] = []
    for line in proc.stdout:
        line = line.rstrip()
        if not line:
            continue
        tail = [*tail[-19:], line]
        if line.startswith(("Collecting", "Downloading", "Installing", "Successfully", "ERROR")):
            say(f"  {line}")
    if proc.wait() != 0:
        raise LaunchError(
            f"building the environment failed ({' '.join(command[-3:])}):\n" + "\n".join(tail)
        )
