"""Projects: MLflow's `MLproject` format, read and checked, and the command an entry point
runs with given parameters (issue 15: `mltop run` builds on this).

An MLproject file (YAML) names the project, may declare its environment (`python_env`,
`conda_env` or `docker_env`: recorded, the caller decides what to do with it) and lists
entry points, each a `command` template with typed `parameters`:

    name: resnet
    python_env: python_env.yaml
    entry_points:
      main:
        parameters:
          lr: {type: float, default: 0.01}
          epochs: {type: int, default: 10}
          data: path
        command: "python train.py --lr {lr} --epochs {epochs} --data {data}"

Types are float, int, string, path and uri (MLflow's, plus int). Unlike MLflow, values are
checked against them before anything runs, and a missing or unknown parameter is refused
with its name. Each value is quoted for the shell as it goes into the command; parameters
the template does not name are added as `--key value` (as MLflow does). Without an
MLproject file, a `.py` or `.sh` file is the entry point (`python FILE` / `bash FILE`),
every parameter passed as `--key value`.

Nothing here runs anything or touches a store: a project is read, a command is made.
"""

from __future__ import annotations

import math
import os
import shlex
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mltop.store.errors import ValidationError

PROJECT_FILES = ("MLproject", "MLProject")
TYPES = ("float", "int", "string", "path", "uri")
ENVIRONMENTS = ("python_env", "conda_env", "docker_env")
SCRIPT_RUNNERS = {".py": "python", ".sh": "bash"}


class ProjectError(ValidationError):
    """An MLproject that cannot be used, an unknown entry point, or a bad parameter."""


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str = "string"
    default: str | None = None  # as given, in text; None: required


@dataclass(frozen=True)
class EntryPoint:
    name: str
    command: str
    parameters: dict[str, Parameter] = field(default_factory=dict)
    script: bool = False  # a .py / .sh file without an MLproject: every parameter as --key

    def values(self, given: dict[str, str], workdir: Path | None = None) -> dict[str, str]:
        """Every parameter's value in text: those `given`, checked against their types,
        and the defaults; a `path` made absolute (against `workdir`). Raises ProjectError
        naming a missing required parameter or a value not of its type."""
        values: dict[str, str] = {}
        missing = [
            p.name for p in self.parameters.values() if p.default is None and p.name not in given
        ]
        if missing:
            raise ProjectError(
                f"entry point {self.name!r} needs {', '.join(repr(m) for m in missing)} "
                f"(pass -P {missing[0]}=VALUE)"
            )
        for name, parameter in self.parameters.items():
            text = given.get(name, parameter.default)
            assert text is not None
            values[name] = _checked(parameter, text, workdir)
        for name, text in given.items():  # not declared: passed on as text
            if name not in values:
                _check_name(name)
                values[name] = text
        return values

    def command_for(self, given: dict[str, str], workdir: Path | None = None) -> str:
        """The shell command with `given` parameters (checked, defaults filled, each value
        quoted for where it stands: bare, inside "..." or inside '...'); parameters the
        template does not name follow as `--key value`."""
        values = self.values(given, workdir)
        named = _template_names(self.command) if not self.script else set()
        command = _filled(self.command, values) if named else self.command
        extra = [f"--{k} {shlex.quote(values[k])}" for k in values if k not in named]
        return " ".join([command, *extra])


@dataclass(frozen=True)
class Project:
    name: str
    directory: Path
    entry_points: dict[str, EntryPoint]
    environment: tuple[str, Any] | None = None  # ("python_env", "python_env.yaml"), ...

    def entry_point(self, name: str | None) -> EntryPoint:
        """The entry point `name` (default: `main`); a `.py` or `.sh` file of the project
        not declared is one too, as in MLflow."""
        name = name or "main"
        found = self.entry_points.get(name)
        if found is not None:
            return found
        if Path(name).suffix in SCRIPT_RUNNERS:
            return script_entry_point(self.directory, name)
        if not self.entry_points:
            raise ProjectError(
                f"no MLproject file in {self.directory}, and {name!r} is not a .py or .sh "
                "file of it: give a script (mltop run train.py) or write an MLproject"
            )
        known = ", ".join(sorted(self.entry_points))
        raise ProjectError(f"project {self.name!r} has no entry point {name!r} (it has: {known})")


def script_entry_point(directory: Path, name: str) -> EntryPoint:
    """A .py or .sh file of `directory` run as it is (refused outside the directory)."""
    path = (directory / name).resolve()
    if not path.is_relative_to(directory.resolve()):
        raise ProjectError(f"{name!r} is outside the project folder {directory}")
    runner = SCRIPT_RUNNERS.get(path.suffix)
    if runner is None:
        raise ProjectError(f"{name!r} is not a .py or .sh file: name an entry point")
    if not path.is_file():
        raise ProjectError(f"no file {name!r} in {directory}")
    relative = path.relative_to(directory.resolve()).as_posix()
    return EntryPoint(name, f"{runner} {shlex.quote(relative)}", {}, script=True)


def load_project(path: str | os.PathLike[str]) -> Project:
    """The project in folder `path`: its MLproject file read and checked, or, without one,
    a project whose entry points are its .py and .sh files. Raises ProjectError."""
    directory = Path(path)
    if not directory.is_dir():
        raise ProjectError(f"{directory} is not a folder")
    found = next((directory / n for n in PROJECT_FILES if (directory / n).is_file()), None)
    if found is None:
        return Project(directory.resolve().name, directory, {})
    try:
        text = found.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ProjectError(f"cannot read {found}: {error}") from None
    return parse_project(text, directory, str(found))


def parse_project(text: str, directory: Path, where: str = "MLproject") -> Project:
    """An MLproject's YAML text, checked. Raises ProjectError saying what and where."""
    import yaml  # only `mltop run` pays for it

    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as error:
        raise ProjectError(f"{where} is not valid YAML: {error}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProjectError(f"{where} must be a mapping (name, entry_points, ...)")
    name = data.get("name", directory.resolve().name)
    if not isinstance(name, str) or not name:
        raise ProjectError(f"{where}: name must be text")
    environments = [e for e in ENVIRONMENTS if e in data]
    if len(environments) > 1:
        raise ProjectError(f"{where} declares {' and '.join(environments)}: at most one")
    environment = (environments[0], data[environments[0]]) if environments else None
    points = data.get("entry_points", {}) or {}
    if not isinstance(points, dict):
        raise ProjectError(f"{where}: entry_points must be a mapping of names to entry points")
    entry_points = {str(key): _entry_point(str(key), value, where) for key, value in points.items()}
    return Project(name, directory, entry_points, environment)


def _entry_point(name: str, data: object, where: str) -> EntryPoint:
    if isinstance(data, str):  # `main: python train.py`
        data = {"command": data}
    if not isinstance(data, dict):
        raise ProjectError(f"{where}: entry point {name!r} must be a mapping with a command")
    command = data.get("command")
    if not isinstance(command, str) or not command.strip():
        raise ProjectError(f"{where}: entry point {name!r} has no command")
    raw = data.get("parameters", {}) or {}
    if not isinstance(raw, dict):
        raise ProjectError(f"{where}: parameters of {name!r} must be a mapping")
    parameters = {str(k): _parameter(str(k), v, name, where) for k, v in raw.items()}
    try:
        names = _template_names(command)
    except ValueError as error:
        raise ProjectError(f"{where}: the command of {name!r} is not a template: {error}") from None
    try:
        _filled(command, {n: "" for n in names})
    except ProjectError as error:
        raise ProjectError(f"{where}: entry point {name!r}: {error}") from None
    unknown = sorted(names - set(parameters))
    if unknown:
        raise ProjectError(
            f"{where}: the command of {name!r} names {', '.join(repr(u) for u in unknown)}, "
            "not a parameter of it"
        )
    return EntryPoint(name, command, parameters)


def _parameter(name: str, data: object, entry: str, where: str) -> Parameter:
    _check_name(name)
    if isinstance(data, str):  # `data: path`
        data = {"type": data}
    elif data is None:
        data = {}
    elif not isinstance(data, dict):  # `lr: 0.01`: a default, typed as MLflow would
        data = {"type": "string", "default": data}
    kind = data.get("type", "string")
    if kind not in TYPES:
        raise ProjectError(
            f"{where}: parameter {name!r} of {entry!r} has type {kind!r}; "
            f"expected one of {', '.join(TYPES)}"
        )
    default = data.get("default")
    parameter = Parameter(name, kind, None if default is None else _text(default))
    if parameter.default is not None:
        try:
            _checked(parameter, parameter.default, None)
        except ProjectError as error:
            raise ProjectError(f"{where}: the default of {entry!r}: {error}") from None
    return parameter


def _text(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _is_name(name: str) -> bool:
    """Letters, digits, `_` and `-` (as argparse options are spelled), not first a digit
    or a `-`."""
    return bool(name) and name.replace("-", "_").isidentifier() and not name.startswith("-")


def _check_name(name: str) -> None:
    if not _is_name(name):
        raise ProjectError(
            f"parameter name {name!r} must be letters, digits, '_' and '-', not first a digit "
            "or '-'"
        )


def _checked(parameter: Parameter, text: str, workdir: Path | None) -> str:
    """`text` as a value of the parameter's type (in text), or ProjectError."""
    kind = parameter.type
    if kind == "int":
        try:
            return str(int(text.strip(), 10))
        except ValueError:
            raise ProjectError(f"{parameter.name} must be an integer, not {text!r}") from None
    if kind == "float":
        try:
            value = float(text)
        except ValueError:
            raise ProjectError(f"{parameter.name} must be a number, not {text!r}") from None
        if math.isnan(value) or math.isinf(value):
            raise ProjectError(f"{parameter.name} must be a finite number, not {text!r}")
        return text.strip()
    if "\x00" in text:
        raise ProjectError(f"{parameter.name} holds a NUL character")
    if kind == "path":
        if not text:
            raise ProjectError(f"{parameter.name} must be a path, not empty")
        path = Path(text).expanduser()
        return str(path if path.is_absolute() or workdir is None else (workdir / path).resolve())
    if kind == "uri":
        if not text:
            raise ProjectError(f"{parameter.name} must be a URI or a path, not empty")
        if "://" not in text and not text.startswith(("file:", "/")) and workdir is not None:
            return str((workdir / Path(text).expanduser()).resolve())  # a relative path
    return text


def _template_names(command: str) -> set[str]:
    """The `{name}`s of a command template (ValueError for one that does not parse)."""
    names = set()
    for _literal, name, spec, conversion in string.Formatter().parse(command):
        if name is None:
            continue
        if not _is_name(name) or spec or conversion:
            raise ValueError(f"{{{name}}} is not a parameter's name")
        names.add(name)
    return names


def _filled(command: str, values: dict[str, str]) -> str:
    """`command` with each `{name}` replaced by its value quoted for the shell where the
    placeholder stands: bare (shlex.quote), inside double quotes (\\ " $ ` escaped) or
    inside single quotes (the quote closed, the value quoted, the quote opened again).
    Whatever a value holds, it stays one word of data: never code."""
    out: list[str] = []
    state = ""  # "", '"' or "'": the quotes open where the text has got to
    for literal, name, _spec, _conversion in string.Formatter().parse(command):
        state, escaped = _quote_state(literal, state)
        out.append(literal)
        if name is None:
            continue
        if escaped:  # `\{x}`: the backslash would take the quoting's first character
            raise ProjectError(f"the command puts a backslash right before {{{name}}}; remove it")
        value = values[name]
        if state == "'":
            out.append("'" + shlex.quote(value) + "'")
        elif state == '"':
            out.append("".join("\\" + c if c in '\\"$`' else c for c in value))
        else:
            out.append(shlex.quote(value))
    return "".join(out)


def _quote_state(text: str, state: str) -> tuple[str, bool]:
    """The quoting a POSIX shell is in after reading `text`, starting in `state`, and
    whether its last character is a backslash escaping what comes next."""
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif state == "'":
            if char == "'":
                state = ""
        elif char == "\\":
            escaped = True
        elif state == '"':
            if char == '"':
                state = ""
        elif char in "'\"":
            state = char
    return state, escaped
