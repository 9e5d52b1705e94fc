"""The artifact repository: files kept under `<store>/artifacts/<run_id>/`, never anywhere else."""

from __future__ import annotations

import json
import os
import shutil
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path, PurePosixPath
from typing import IO, Any

from mltop.store.entities import FileInfo
from mltop.store.errors import ArtifactPathError, NotFoundError


def clean_relative(path: str | os.PathLike[str] | None, what: str = "artifact path") -> str:
    """Normalise a user-given relative artifact path; refuse anything that could escape."""
    if path is None:
        return ""
    text = os.fspath(path)
    if "\x00" in text:
        raise ArtifactPathError(f"{what} {text!r} contains a NUL character")
    text = text.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise ArtifactPathError(f"{what} {text!r} is absolute; give a path relative to the run")
    parts = [p for p in PurePosixPath(text).parts if p not in ("", ".")]
    if ".." in parts:
        raise ArtifactPathError(f"{what} {text!r} contains '..'; it would leave the run's folder")
    return "/".join(parts)


def files_to_log(
    local_dir: str | os.PathLike[str], artifact_path: str | None
) -> tuple[str, list[tuple[Path, str | None]]]:
    """What `log_artifacts(local_dir, artifact_path)` logs: the cleaned base path, and each
    file with the artifact folder it goes to, every one checked before any is logged (a
    symbolic link leading out of `local_dir` is refused)."""
    source = Path(local_dir)
    if not source.is_dir():
        raise NotFoundError(f"cannot log artifacts from {str(source)!r}: no such directory")
    base = clean_relative(artifact_path)
    real_source = os.path.realpath(source)
    files: list[tuple[Path, str | None]] = []
    for folder, _dirs, names in os.walk(source):
        for name in names:
            file_path = Path(folder) / name
            real = os.path.realpath(file_path)
            if not real.startswith(real_source + os.sep):
                raise ArtifactPathError(
                    f"{str(file_path)!r} is a symbolic link to {real!r}, outside "
                    f"{str(source)!r}; refused"
                )
            rel_dir = Path(folder).relative_to(source).as_posix()
            parts = [p for p in (base, "" if rel_dir == "." else rel_dir) if p]
            files.append((file_path, "/".join(parts) or None))
    return base, sorted(files)


class ArtifactRepository:
    """The artifact folder of one run. Every path is checked to stay inside it."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _inside(self, relative: str, *, must_exist: bool = False) -> Path:
        target = self.root / relative if relative else self.root
        real_root = os.path.realpath(self.root)
        # Resolve the deepest existing ancestor: a symlink planted inside the run's
        # folder must not lead a write or a read elsewhere.
        probe = target
        while not probe.exists() and probe != self.root and probe.parent != probe:
            probe = probe.parent
        real = os.path.realpath(probe)
        if real != real_root and not real.startswith(real_root + os.sep):
            raise ArtifactPathError(
                f"artifact path {relative!r} leads outside the run's artifact folder "
                "(through a symbolic link); refused"
            )
        if must_exist and not target.exists():
            raise NotFoundError(f"no artifact {relative!r} in {self.root}")
        return target

    def _no_links(self, relative: str) -> None:
        """Refuse a symbolic link anywhere on a path to write to, dangling ones included
        (the containment check cannot follow a link to a target that does not exist, and a
        copy through it would write wherever it points)."""
        here = self.root
        for part in relative.split("/"):
            here = here / part
            if here.is_symlink():
                raise ArtifactPathError(
                    f"artifact path {relative!r} goes through a symbolic link "
                    f"({here.relative_to(self.root).as_posix()!r}); nothing is written "
                    "through one"
                )

    def _destination(self, artifact_path: str | None, name: str) -> Path:
        rel = clean_relative(artifact_path)
        rel = f"{rel}/{name}" if rel else name
        self._no_links(rel)
        dest = self._inside(rel)
        dest.parent.mkdir(parents=True, exist_ok=True)
        self._no_links(rel)  # the folders just made must not have been redirected
        self._inside(rel)
        return dest

    def writable_path(self, artifact_file: str) -> Path:
        """Where to write (append to, in place) the artifact file `artifact_file`: its
        folders made, no symbolic link on the way, inside the run's folder."""
        rel = clean_relative(artifact_file, "artifact file")
        if not rel:
            raise ArtifactPathError("artifact file name is empty")
        folder, _, name = rel.rpartition("/")
        return self._destination(folder or None, name)

    @staticmethod
    def _replace_with(dest: Path, fill: Callable[[Path], object]) -> None:
        """Write a temporary file beside `dest` with `fill`, then rename it into place: a
        copy killed halfway never leaves a truncated file under the artifact's name."""
        tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}-{threading.get_ident()}")
        try:
            fill(tmp)
            os.replace(tmp, dest)
        finally:
            with suppress(FileNotFoundError):
                tmp.unlink()

    def log_file(self, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> str:
        source = Path(local_path)
        if not source.is_file():
            raise NotFoundError(f"cannot log artifact {str(source)!r}: no such file")
        dest = self._destination(artifact_path, source.name)
        self._replace_with(dest, lambda tmp: shutil.copyfile(source, tmp))
        return dest.relative_to(self.root).as_posix()

    def log_dir(self, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> str:
        base, files = files_to_log(local_dir, artifact_path)
        for file_path, folder in files:
            self.log_file(file_path, folder)
        return base

    def write_bytes(self, data: bytes, artifact_file: str) -> str:
        rel = clean_relative(artifact_file, "artifact file")
        if not rel:
            raise ArtifactPathError("artifact file name is empty")
        folder, _, name = rel.rpartition("/")
        dest = self._destination(folder or None, name)
        self._replace_with(dest, lambda tmp: tmp.write_bytes(data))
        return rel

    def write_text(self, text: str, artifact_file: str) -> str:
        return self.write_bytes(text.encode("utf-8"), artifact_file)

    def write_json(self, data: Any, artifact_file: str) -> str:
        return self.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", artifact_file)

    def list(self, path: str | None = None) -> list[FileInfo]:
        rel = clean_relative(path)
        folder = self._inside(rel)
        if not folder.exists():
            return []
        if folder.is_file():
            return [FileInfo(rel, False, folder.stat().st_size)]
        infos = []
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.name.startswith(".") and ".tmp-" in entry.name:
                continue
            child = f"{rel}/{entry.name}" if rel else entry.name
            is_dir = entry.is_dir(follow_symlinks=False)
            size = None if is_dir else entry.stat(follow_symlinks=False).st_size
            infos.append(FileInfo(child, is_dir, size))
        return infos

    def walk(self) -> Iterator[FileInfo]:
        pending = [""]
        while pending:
            for info in self.list(pending.pop()):
                yield info
                if info.is_dir:
                    pending.append(info.path)

    def local_path(self, path: str) -> Path:
        rel = clean_relative(path)
        return self._inside(rel, must_exist=True)

    def open(self, path: str, mode: str = "rb") -> IO[Any]:
        if mode not in ("r", "rb"):
            raise ArtifactPathError("artifacts are opened for reading only ('r' or 'rb')")
        target = self.local_path(path)
        if target.is_dir():
            raise NotFoundError(f"artifact {path!r} is a directory; list it instead")
        if not stat.S_ISREG(target.stat().st_mode):  # a FIFO would block the reader for good
            raise ArtifactPathError(f"artifact {path!r} is not a regular file; not opened")
        if mode == "r":
            return open(target, encoding="utf-8", errors="replace")
        return open(target, "rb")
