"""A run's artifacts on a tracking server, through its proxied artifact service.

`ServerArtifactRepository` is an `ArtifactRepository` whose files live on the server, under
the run's `artifact_uri` (`mlflow-artifacts:/<experiment>/<run>/artifacts`): uploads and
listings go over REST, and a file read (`open`, `local_path`) is first downloaded into a
local cache folder (`<server cache>/artifacts/<run_id>/`), then read there. Every path is
checked as the local repository checks it: relative, no '..', no NUL; nothing is read or
written outside the run's folder on the server or in the cache.

A server that does not proxy artifacts (`mlflow server --no-serve-artifacts`, its runs'
artifact URIs naming S3 or a shared disk) is refused with a clear error: mltop reaches
artifacts only through the server.
"""

from __future__ import annotations

import builtins
import os
import shutil
import stat
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from mltop.store.artifact_repo import ArtifactRepository, clean_relative, files_to_log
from mltop.store.entities import FileInfo
from mltop.store.errors import (
    ArtifactPathError,
    InvalidStateError,
    NotFoundError,
)
from mltop.store.server import convert
from mltop.store.server.rest import RestClient, ServerError

PROXY_SCHEME = "mlflow-artifacts"


def proxied_root(artifact_uri: str) -> str:
    """The path under the server's artifact service that `artifact_uri` names
    (`mlflow-artifacts:/1/<run>/artifacts` -> `1/<run>/artifacts`); InvalidStateError for a
    URI the server does not proxy."""
    parts = urlsplit(artifact_uri)
    if parts.scheme != PROXY_SCHEME:
        raise InvalidStateError(
            f"artifact location {artifact_uri!r} is not served by the tracking server "
            "(it proxies artifacts only when started with --serve-artifacts, MLflow's "
            "default); mltop reaches a server's artifacts only through it"
        )
    root = parts.path.strip("/")
    if not root or any(p in ("", ".", "..") for p in root.split("/")):
        raise InvalidStateError(f"artifact location {artifact_uri!r} names no usable folder")
    return root


class ServerArtifactRepository(ArtifactRepository):
    """The artifacts of one run on a tracking server; `root` is the local download cache."""

    def __init__(self, rest: RestClient, artifact_uri: str, cache: Path) -> None:
        super().__init__(cache)
        self.rest = rest
        self.artifact_uri = artifact_uri
        self.remote = proxied_root(artifact_uri)

    def __repr__(self) -> str:
        return f"ServerArtifactRepository({self.rest.url!r}, {self.artifact_uri!r})"

    def _remote(self, relative: str) -> str:
        return f"{self.remote}/{relative}" if relative else self.remote

    # -- writing ------------------------------------------------------------------------

    def log_file(self, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> str:
        source = Path(local_path)
        if not source.is_file():
            raise NotFoundError(f"cannot log artifact {str(source)!r}: no such file")
        base = clean_relative(artifact_path)
        rel = clean_relative(f"{base}/{source.name}" if base else source.name)
        with open(source, "rb") as data:
            self.rest.artifact_put(self._remote(rel), data)
        return rel

    def log_dir(self, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> str:
        base, files = files_to_log(local_dir, artifact_path)
        for file_path, folder in files:  # every path checked before any upload
            self.log_file(file_path, folder)
        return base

    def write_bytes(self, data: bytes, artifact_file: str) -> str:
        rel = clean_relative(artifact_file, "artifact file")
        if not rel:
            raise ArtifactPathError("artifact file name is empty")
        self.rest.artifact_put(self._remote(rel), bytes(data))
        return rel

    def writable_path(self, artifact_file: str) -> Path:
        raise InvalidStateError(
            f"artifact {artifact_file!r}: a tracking server's artifacts cannot be written in "
            "place; write the file locally and log it (log_file)"
        )

    # -- reading ------------------------------------------------------------------------

    def list(self, path: str | None = None) -> list[FileInfo]:
        rel = clean_relative(path)
        infos = []
        for entry in self.rest.artifact_list(self._remote(rel)):
            found = convert.file_info_from_json(entry)
            name = found.path.rsplit("/", 1)[-1]
            if name in ("", ".", ".."):
                continue
            child = f"{rel}/{name}" if rel else name
            infos.append(FileInfo(child, found.is_dir, found.size))
        if not infos and rel:  # a file's path lists the file, as the local repository's
            folder, _, name = rel.rpartition("/")
            return [info for info in self.list(folder or None) if info.path == rel]
        return sorted(infos, key=lambda info: info.path)

    def _is_dir(self, rel: str) -> bool:
        listing = self.list(rel)
        return bool(listing) and not (
            len(listing) == 1 and listing[0].path == rel and not listing[0].is_dir
        )

    def local_path(self, path: str) -> Path:
        """The artifact at `path` downloaded into the cache (a folder: all its files)."""
        rel = clean_relative(path)
        if self._is_dir(rel):
            for info in self.walk_from(rel):
                if not info.is_dir:
                    self._download(info.path)
            target = self._inside(rel)
            target.mkdir(parents=True, exist_ok=True)
            return target
        if not rel:
            target = self._inside("")
            target.mkdir(parents=True, exist_ok=True)
            return target
        return self._download(rel)

    def walk_from(self, path: str) -> builtins.list[FileInfo]:
        found: builtins.list[FileInfo] = []
        pending = [path]
        while pending:
            for info in self.list(pending.pop()):
                found.append(info)
                if info.is_dir:
                    pending.append(info.path)
        return found

    def _download(self, rel: str) -> Path:
        folder, _, name = rel.rpartition("/")
        dest = self._destination(folder or None, name)

        def fill(tmp: Path) -> None:
            with open(tmp, "wb") as out:
                for chunk in self.rest.artifact_get(self._remote(rel)):
                    out.write(chunk)

        try:
            self._replace_with(dest, fill)
        except NotFoundError:
            raise NotFoundError(
                f"no artifact {rel!r} in {self.artifact_uri} on {self.rest.url}"
            ) from None
        except ServerError as error:
            if error.status == 400 and self._is_dir(rel):
                raise NotFoundError(f"artifact {rel!r} is a directory; list it instead") from None
            raise
        return dest

    def open(self, path: str, mode: str = "rb") -> IO[Any]:
        if mode not in ("r", "rb"):
            raise ArtifactPathError("artifacts are opened for reading only ('r' or 'rb')")
        rel = clean_relative(path)
        if not rel:
            raise NotFoundError("the run's artifact folder is a directory; list it instead")
        target = self._download(rel)
        if not stat.S_ISREG(target.stat().st_mode):
            raise ArtifactPathError(f"artifact {path!r} is not a regular file; not opened")
        if mode == "r":
            return open(target, encoding="utf-8", errors="replace")
        return open(target, "rb")

    def clear_cache(self) -> None:
        """Forget the downloaded copies of this run's artifacts."""
        shutil.rmtree(self.root, ignore_errors=True)
