"""What a logged model's folder holds, read from its `MLmodel` file: the flavors it can be
loaded as, whether it carries a signature, and how many bytes its files take.

An MLflow model folder holds an `MLmodel` YAML file (`flavors:` a mapping of flavor names,
such as `python_function` and `sklearn`, to their settings; `signature:` its inputs and
outputs) beside the model's own files (model.pkl, requirements.txt, conda.yaml, ...).
Reading it never raises: a folder or file missing, unreadable or malformed gives a
`ModelFiles` whose `problem` says why, for a screen to show. Nothing here imports MLflow.
Names read from the file are returned as they are: showing them literally is the caller's
part.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MLMODEL = "MLmodel"
# An MLmodel is a few kilobytes (a signature of many columns, some hundreds): a bigger file
# is not an MLmodel worth parsing on a screen's read.
MAX_MLMODEL_BYTES = 1_000_000
PYFUNC = "python_function"
NO_MLMODEL = "no MLmodel file in the model's folder"  # (while MLflow writes it: not yet)


@dataclass(frozen=True)
class ModelFiles:
    """A model folder as read: `problem` is "" when its MLmodel was read, else why not."""

    flavors: tuple[str, ...] = ()  # as the MLmodel lists them
    signature: bool = False  # the MLmodel describes its inputs or outputs
    size: int | None = None  # bytes of every file in the folder; None: no folder
    files: int = 0  # how many files
    problem: str = ""

    @property
    def read(self) -> bool:
        return not self.problem


def folder_size(folder: Path) -> tuple[int, int]:
    """(bytes, files) of every file under `folder`, symbolic links counted as links (never
    followed out of the folder); what cannot be read is left out."""
    total = count = 0
    for root, _dirs, names in os.walk(folder, onerror=lambda error: None):
        for name in names:
            try:
                info = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            total += info.st_size
            count += 1
    return total, count


def _yaml_problem(error: BaseException) -> str:
    """What a YAML parser found wrong, and where, on one line."""
    problem = getattr(error, "problem", None)
    mark = getattr(error, "problem_mark", None)
    if isinstance(problem, str) and problem:
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        return problem + where
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def parse_mlmodel(text: str) -> tuple[tuple[str, ...], bool]:
    """(flavors, has a signature) of an MLmodel's YAML text. Raises ValueError saying what
    is wrong with it."""
    import yaml  # only a screen or command showing a model pays for it

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(text, Loader=loader)
    except (yaml.YAMLError, RecursionError) as error:
        raise ValueError(f"MLmodel is not valid YAML: {_yaml_problem(error)}") from None
    if not isinstance(data, dict):
        raise ValueError("MLmodel is not a mapping of settings (flavors, signature, ...)")
    flavors: Any = data.get("flavors")
    if flavors is None:
        raise ValueError("MLmodel names no flavors")
    if not isinstance(flavors, dict):
        raise ValueError("MLmodel's flavors is not a mapping of flavor names")
    signature = data.get("signature")
    signed = isinstance(signature, dict) and any(
        signature.get(part) not in (None, "", "[]") for part in ("inputs", "outputs")
    )
    return tuple(str(name) for name in flavors), signed


def read_model_files(folder: str | os.PathLike[str]) -> ModelFiles:
    """The model in `folder` as its MLmodel describes it, and its files' size. Never raises:
    a missing or malformed MLmodel gives the reason in `problem`."""
    path = Path(folder)
    try:
        is_folder = path.is_dir()
    except OSError as error:  # (a name too long, say)
        return ModelFiles(problem=f"cannot read the model's folder {path}: {error.strerror}")
    if not is_folder:
        return ModelFiles(problem=f"the model's folder {path} does not exist")
    size, files = folder_size(path)

    def failed(problem: str) -> ModelFiles:
        return ModelFiles(size=size, files=files, problem=problem)

    mlmodel = path / MLMODEL
    try:
        info = mlmodel.stat()  # (a link is followed: what it names must be a plain file)
    except FileNotFoundError:
        return failed(NO_MLMODEL)
    except OSError as error:
        return failed(f"cannot read the MLmodel file: {error.strerror or error}")
    if not stat.S_ISREG(info.st_mode):
        return failed("MLmodel is not a plain file")
    if info.st_size > MAX_MLMODEL_BYTES:
        return failed(f"MLmodel is larger than {MAX_MLMODEL_BYTES:,} bytes: not read")
    try:
        with open(mlmodel, "rb") as file:
            raw = file.read(MAX_MLMODEL_BYTES + 1)
    except OSError as error:
        return failed(f"cannot read the MLmodel file: {error.strerror or error}")
    if len(raw) > MAX_MLMODEL_BYTES:  # (grew since it was looked at)
        return failed(f"MLmodel is larger than {MAX_MLMODEL_BYTES:,} bytes: not read")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return failed("MLmodel is not UTF-8 text")
    try:
        flavors, signed = parse_mlmodel(text)
    except ValueError as error:
        return failed(str(error))
    return ModelFiles(flavors, signed, size, files)
