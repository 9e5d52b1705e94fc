"""Every file of a model folder with its size and SHA-256, recorded when a model is logged and
compared before it is loaded: loading a model runs the code pickled in it, so a folder whose
files changed since is refused, naming them.

A digest is taken of each regular file under the folder (links are followed only when they
stay inside the folder: a link out of it is reported, never read). Paths are relative, with
`/` separators, whatever the platform.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

CHUNK = 1 << 20


class FileDigest(NamedTuple):
    """A file's size in bytes and the hex SHA-256 of its contents."""

    size: int
    sha256: str


@dataclass(frozen=True)
class IntegrityReport:
    """How a folder's files compare with what was recorded (each a sorted tuple of paths)."""

    changed: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    unreadable: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.added or self.unreadable)

    def describe(self, limit: int = 5) -> str:
        """'changed: model.pkl; missing: MLmodel' (at most `limit` names per kind)."""
        parts = []
        for label, paths in (
            ("changed", self.changed),
            ("missing", self.missing),
            ("added", self.added),
            ("unreadable", self.unreadable),
        ):
            if paths:
                shown = ", ".join(paths[:limit])
                more = f" and {len(paths) - limit} more" if len(paths) > limit else ""
                parts.append(f"{label}: {shown}{more}")
        return "; ".join(parts) or "every file as recorded"


def file_digest(path: Path) -> FileDigest:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return FileDigest(size, digest.hexdigest())


def _walk(folder: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """(relative path, path) of each regular file under `folder`, and the relative paths
    that cannot be taken (a link leading out of the folder, a special file)."""
    root = folder.resolve()
    files: list[tuple[str, Path]] = []
    refused: list[str] = []
    for directory, subdirs, names in os.walk(root):
        subdirs.sort()
        here = Path(directory)
        for name in [*sorted(names), *(d for d in subdirs if (here / d).is_symlink())]:
            path = here / name
            relative = path.relative_to(root).as_posix()
            try:
                target = path.resolve(strict=path.is_symlink())
                plain_file = target.is_file()
                is_dir = target.is_dir()
            except (OSError, RuntimeError):  # a link loop, a dangling link
                refused.append(relative)
                continue
            if path.is_symlink() and not target.is_relative_to(root):
                refused.append(relative)
            elif plain_file:
                files.append((relative, path))
            elif not is_dir:
                refused.append(relative)
    return files, refused


def folder_digests(folder: str | os.PathLike[str]) -> dict[str, FileDigest]:
    """Each file's digest under `folder`. Raises OSError when the folder cannot be read and
    ValueError naming a link out of it."""
    files, refused = _walk(Path(folder))
    if refused:
        raise ValueError(f"not a plain file inside the model's folder: {', '.join(refused[:5])}")
    return {relative: file_digest(path) for relative, path in files}


def verify_folder(
    folder: str | os.PathLike[str], recorded: Mapping[str, FileDigest]
) -> IntegrityReport:
    """Compare `folder` with `recorded`. Sizes are compared first: a file of another size is
    changed without reading it."""
    files, refused = _walk(Path(folder))
    present = dict(files)
    changed: list[str] = []
    unreadable: list[str] = list(refused)
    for relative, expected in recorded.items():
        path = present.get(relative)
        if path is None:
            continue
        try:
            if path.stat().st_size != expected.size or file_digest(path) != expected:
                changed.append(relative)
        except OSError:
            unreadable.append(relative)
    return IntegrityReport(
        changed=tuple(sorted(changed)),
        missing=tuple(sorted(set(recorded) - set(present) - set(refused))),
        added=tuple(sorted(set(present) - set(recorded))),
        unreadable=tuple(sorted(unreadable)),
    )
