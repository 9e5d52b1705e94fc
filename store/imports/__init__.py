"""`mltop import mlflow SOURCE`: an MLflow file store (`mlruns/`), SQLite database
(`mlflow.db`, `sqlite:///...`) or tracking server (`http(s)://...`, over its REST API)
brought into an mltop store, read without MLflow.

Experiments, runs (their ids, names, status, times, user, parent, params, tags, every
metric point, dataset inputs, artifacts), MLflow 3's logged models, and the registry
(models, versions with their stages, descriptions, tags, aliases; one transition per
version into its stage, logged as imported). Idempotent: what the store holds already is
counted, not added again; a newer copy of the source adds what is new. A file or row that
cannot be read is reported with its place and skipped; the import goes on.

Progress is a callback `(phase, done, total)`: this package draws nothing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from mltop.store.errors import MltopError
from mltop.store.imports.records import Problem, SourceReader
from mltop.store.imports.writer import KINDS, Importer, ImportSummary, Progress
from mltop.store.location import DB_NAME, resolve_store_path

if TYPE_CHECKING:
    from mltop.store.sqlite.tracking import Store

__all__ = [
    "KINDS",
    "ImportSourceError",
    "ImportSummary",
    "Problem",
    "UnsupportedSourceError",
    "import_mlflow",
    "source_kind",
]


class ImportSourceError(MltopError):
    """The source of an import cannot be read at all (nothing was imported)."""


class UnsupportedSourceError(ImportSourceError):
    """A source of a kind this mltop cannot import yet (a tracking server's URL)."""


def source_kind(source: str | os.PathLike[str]) -> tuple[str, Path | str]:
    """("server", url), ("database", path) or ("files", path) for an import's SOURCE."""
    text = os.fspath(source)
    lowered = text.lower()
    if lowered.startswith(("http://", "https://")):
        return "server", text
    if lowered.startswith("sqlite:"):
        rest = text[len("sqlite:") :]
        if not rest.startswith("///"):
            raise ImportSourceError(
                f"{text!r} is not an SQLite URI: write sqlite:///relative/path or "
                "sqlite:////absolute/path"
            )
        return "database", Path(rest[3:])
    if lowered.startswith("file:"):
        from urllib.parse import unquote, urlsplit

        return "files", Path(unquote(urlsplit(text).path))
    if "://" in text:
        raise UnsupportedSourceError(f"cannot import from {text!r}: not a folder, file or URL")
    return ("database" if Path(text).is_file() else "files"), Path(text)


def _reader(source: str | os.PathLike[str]) -> tuple[SourceReader, str]:
    kind, where = source_kind(source)
    if kind == "server":
        return _server_reader(str(where))
    path = Path(where)
    if not path.exists():
        raise ImportSourceError(f"{path} does not exist: nothing to import")
    if kind == "database":
        from mltop.store.imports.mlflow_db import DatabaseReader, NotAnMlflowDatabaseError

        try:
            return DatabaseReader(path), str(path)
        except NotAnMlflowDatabaseError as exc:
            raise ImportSourceError(str(exc)) from exc
    if not path.is_dir():
        raise ImportSourceError(f"{path} is neither a folder (mlruns/) nor an mlflow.db file")
    _check_file_store(path)
    from mltop.store.imports.mlflow_files import FileStoreReader

    return FileStoreReader(path), str(path)


def _server_reader(url: str) -> tuple[SourceReader, str]:
    """A tracking server's reader, once the server has answered: one that cannot be
    reached or refuses the credentials is an ImportSourceError, nothing written."""
    from mltop.store.errors import ServerRefusedError, ServerUnreachableError
    from mltop.store.imports.mlflow_server import open_reader
    from mltop.store.server.rest import normalize_url, redact

    try:
        normalize_url(url)
        reader = open_reader(url)
    except (ServerUnreachableError, ServerRefusedError) as exc:
        raise ImportSourceError(f"cannot import from {redact(url)}: {exc}") from exc
    except MltopError as exc:
        raise ImportSourceError(f"cannot import from {redact(url)}: {exc}") from exc
    return reader, reader.label


def _check_file_store(path: Path) -> None:
    """Refuse a folder that is plainly not an MLflow file store, before reading it."""
    if (path / DB_NAME).is_file():
        raise ImportSourceError(f"{path} is an mltop store, not an MLflow one: nothing to import")
    try:
        folders = [p for p in path.iterdir() if p.is_dir()]
    except OSError as exc:
        raise ImportSourceError(f"{path} cannot be read ({exc.strerror or exc})") from exc
    if any((p / "meta.yaml").exists() for p in folders) or any(
        p.name in (".trash", "models") for p in folders
    ):
        return
    found = [str(path / name) for name in ("mlruns", "mlflow.db") if (path / name).exists()]
    hint = f"; did you mean {' or '.join(found)}?" if found else ""
    raise ImportSourceError(
        f"{path} is not an MLflow file store (no experiment folder with a meta.yaml){hint}"
    )


def _check_named(reader: SourceReader, label: str, names: list[str]) -> None:
    """Every experiment asked for (by name, or by its MLflow id) is in the source, or
    nothing is done (a name mistyped would otherwise import nothing, and make the target
    store for it)."""
    try:
        found = reader.experiments()
    except BaseException:
        reader.close()
        raise
    there = sorted({experiment.name for experiment in found})
    ids = {experiment.mlflow_id for experiment in found}
    missing = [name for name in dict.fromkeys(names) if name not in there and name not in ids]
    if missing:
        reader.close()
        shown = ", ".join(repr(name) for name in there[:20]) or "none"
        more = f" and {len(there) - 20} more" if len(there) > 20 else ""
        raise ImportSourceError(
            f"{label}: no experiment named {', '.join(repr(m) for m in missing)} "
            f"(its experiments: {shown}{more}); nothing was imported"
        )


def import_mlflow(
    source: str | os.PathLike[str],
    store: str | os.PathLike[str] | Store | None = None,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    experiments: list[str] | None = None,
) -> ImportSummary:
    """Import an MLflow file store, SQLite database or tracking server into `store` (a
    path, or an open SQLite `Store`; the default store when None). `dry_run`: write
    nothing (not even a new store), and count what would be added. `experiments`: only
    those named (the registry is then left out). Raises ImportSourceError when the source
    cannot be read at all (a server that cannot be reached: before anything is written)."""
    from mltop.store.sqlite.tracking import Store

    reader, label = _reader(source)
    if experiments:
        _check_named(reader, label, experiments)
    opened: Store | None = None
    store_path = None if isinstance(store, Store) else store
    scratch: str | None = None
    try:
        if isinstance(store, Store):
            target = store
        else:
            path = resolve_store_path(store)
            if dry_run and not (path / DB_NAME).exists():
                scratch = tempfile.mkdtemp(prefix="mltop-import-dry-")
                opened = Store(Path(scratch) / "store")
            else:
                opened = Store(path, create=not dry_run)
            target = opened
        summary = ImportSummary(
            source=label,
            kind=reader.kind,
            store=str(target.path if scratch is None else resolve_store_path(store_path)),
            dry_run=dry_run,
        )
        only = set(experiments) if experiments else None
        return Importer(reader, target, summary, progress=progress, only=only).run()
    finally:
        if opened is not None:
            opened.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        reader.close()
