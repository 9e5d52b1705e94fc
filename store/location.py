"""Where a store is: a folder found as git finds `.git`, or named by the user.

A store is a folder holding the database file (`mltop.db`) and `artifacts/<run_id>/`.
Finding it needs no backend: `--store`, `MLTOP_STORE`, the nearest `.mltop/` walking up
from the working directory, else `.mltop/` in the working directory.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from mltop.store.errors import InvalidValueError

DB_NAME = "mltop.db"
ARTIFACTS_DIR = "artifacts"
STORE_DIR_NAME = ".mltop"


_chosen: str | None = None


def choose_store(path: str | os.PathLike[str] | None) -> None:
    """Make `path` this process's store for every client not told another
    (`set_tracking_uri`, as in MLflow, where `MlflowClient()` follows it); None: undo."""
    global _chosen
    _chosen = None if path is None else os.fspath(path)


def server_url(location: object) -> str | None:
    """`location` when it names a tracking server (`http://...`, `https://...`), else None."""
    if not isinstance(location, str):
        return None
    scheme, sep, _ = location.strip().partition("://")
    return location.strip() if sep and scheme.lower() in ("http", "https") else None


def redact(url: str) -> str:
    """`url` without the secret it may carry: `http://user:secret@host` as
    `http://user:***@host`, and a name alone (often a token: `https://TOKEN@host`) as
    `https://***@host`. (A URL's query and fragment are left out.)"""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    shown = f"{parts.username or ''}:***" if parts.password is not None else "***"
    return urlunsplit((parts.scheme, f"{shown}@{netloc}", parts.path, "", ""))


def chosen_server(explicit: str | os.PathLike[str] | None = None) -> str | None:
    """The tracking server's URL when the store chosen (`explicit`, else the one
    `set_tracking_uri` chose, else `MLTOP_STORE`) is one, else None (a local store)."""
    chosen = explicit if explicit not in (None, "") else _chosen
    if chosen is None:
        chosen = os.environ.get("MLTOP_STORE") or None
    return server_url(chosen) if isinstance(chosen, str) else None


def local_store_only(explicit: str | os.PathLike[str] | None, what: str) -> None:
    """Refuse a tracking server for `what` (a command needing a local store's folder),
    with a clear InvalidValueError instead of a failure further on."""
    url = chosen_server(explicit)
    if url is not None:
        raise InvalidValueError(
            f"{what} works on a local store (a folder holding {DB_NAME}), not on the "
            f"tracking server {redact(url)}"
        )


def _url_scheme(text: str) -> str | None:
    """The scheme of `scheme://...` (lower case), else None."""
    found = re.match(r"\s*([A-Za-z][A-Za-z0-9+.-]*)://", text)
    return found.group(1).lower() if found else None


def resolve_store_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where the store is: `explicit`, else the one `set_tracking_uri` chose, else
    `MLTOP_STORE`, else the nearest `.mltop/` walking up from the working directory, else
    `.mltop/` in the working directory. A URL is never taken for a folder's name: a
    tracking server's (http://, https://) is refused here (a server has no local path)."""
    chosen = explicit if explicit not in (None, "") else _chosen
    if chosen is None:
        chosen = os.environ.get("MLTOP_STORE") or None
    if chosen is not None:
        url = server_url(chosen) if isinstance(chosen, str) else None
        if url is not None:
            raise InvalidValueError(
                f"store {redact(url)!r} is a tracking server's URL, not a folder: this command "
                "works on a local store (a folder holding mltop.db)"
            )
        scheme = _url_scheme(chosen) if isinstance(chosen, str) else None
        if scheme in ("file", "sqlite", "mltop"):  # a URI naming a local store
            return store_path_from_uri(chosen)
        if scheme is not None:
            raise InvalidValueError(
                f"store {redact(os.fspath(chosen))!r}: a store is a folder, or an MLflow "
                f"tracking server's http:// or https:// URL; not a {scheme}:// URL"
            )
        path = Path(chosen).expanduser().absolute()
        if path.name == DB_NAME and path.is_file():
            return path.parent
        return path
    cwd = Path.cwd()
    for folder in (cwd, *cwd.parents):
        candidate = folder / STORE_DIR_NAME
        if candidate.is_dir():
            return candidate
    return cwd / STORE_DIR_NAME


_REMOTE_SCHEMES = ("http", "https", "databricks", "databricks-uc", "uc", "postgresql", "mysql")


_memory: Path | None = None


def _memory_store() -> Path:
    """`sqlite:///:memory:`: a store of this process alone, removed when it exits."""
    global _memory
    if _memory is None:
        import atexit
        import shutil
        import tempfile

        _memory = Path(tempfile.mkdtemp(prefix="mltop-memory-"))
        atexit.register(shutil.rmtree, _memory, True)
    return _memory


MLTOP_SCHEME = "mltop"  # MLflow's client reaches an mltop store through this scheme


def _mltop_uri_path(uri: str, rest: str) -> Path:
    """`mltop:///abs/path`, `mltop:relative/path`, `mltop://localhost/abs/path`, or `mltop:`
    alone (the store found as usual: `MLTOP_STORE`, else the nearest `.mltop/`)."""
    from urllib.parse import unquote

    if "?" in rest or "#" in rest:
        raise InvalidValueError(
            f"tracking URI {uri!r}: an mltop: URI names a folder and takes no query or "
            "fragment (write a '?' or '#' in a folder's name as %3F or %23)"
        )
    if rest.startswith("//"):
        host, slash, path = rest[2:].partition("/")
        if host not in ("", "localhost"):
            raise InvalidValueError(
                f"tracking URI {uri!r} names another host ({host!r}); an mltop store is a "
                "local folder: mltop:///abs/path or mltop:relative/path"
            )
        rest = slash + path
    if not rest:
        return resolve_store_path(None)
    return Path(unquote(rest)).expanduser().absolute()


def store_path_from_uri(uri: str | os.PathLike[str]) -> Path:
    """The store folder a tracking URI names: a path, `file:///abs/folder`, `file:rel`,
    `mltop:///abs/folder`, `mltop:rel`, `mltop:` (the store found as usual),
    `sqlite:///<folder>/mltop.db` (`sqlite:////abs/...` for an absolute one, as SQLAlchemy
    writes them), `sqlite:///<name>.db` as MLflow's docs write it (the store is the folder
    `<name>.db`; refused when that is a file, such as MLflow's own database), or
    `sqlite:///:memory:` (a temporary store removed at exit). Tracking servers and other
    databases are refused: mltop stores are local folders."""
    if isinstance(uri, os.PathLike):
        return Path(os.fspath(uri)).expanduser().absolute()
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidValueError(f"a tracking URI is a non-empty string or a path, not {uri!r}")
    if uri.strip().lower() in _REMOTE_SCHEMES:  # "databricks": MLflow's name for a server
        raise InvalidValueError(
            f"tracking URI {uri!r}: mltop stores are local folders (a path, file:///..., or "
            f"sqlite:///<folder>/{DB_NAME}); tracking servers are not supported"
        )
    scheme, sep, rest = uri.partition(":")
    # A Windows drive letter (C:\...) or no scheme at all: a plain path.
    if not sep or len(scheme) == 1 or not scheme.replace("+", "").replace("-", "").isalnum():
        return Path(uri).expanduser().absolute()
    scheme = scheme.lower()
    if scheme == MLTOP_SCHEME:
        return _mltop_uri_path(uri, rest)
    if scheme == "file":
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            raise InvalidValueError(
                f"tracking URI {uri!r} names another host ({parts.netloc!r}); an mltop "
                "store is a local folder"
            )
        path = unquote(parts.path)
        if not path:
            raise InvalidValueError(f"tracking URI {uri!r} names no folder")
        return Path(path).expanduser().absolute()
    if scheme == "sqlite":
        if not rest.startswith("///"):
            raise InvalidValueError(
                f"tracking URI {uri!r}: a SQLite URI is sqlite:///<path to {DB_NAME}> "
                f"(four slashes for an absolute path)"
            )
        name = rest[3:].split("?", 1)[0]
        if name == ":memory:":
            return _memory_store()
        db = Path(name).expanduser().absolute()
        if db.name == DB_NAME:
            return db.parent
        if db.is_file():
            raise InvalidValueError(
                f"tracking URI {uri!r} names {str(db)!r}, a file that is not an mltop store's "
                f"database (MLflow's own?); an mltop store is a folder holding {DB_NAME}: "
                "name a folder"
            )
        # As MLflow's docs write it (sqlite:///mlruns.db): the store is a folder by that name.
        return db
    if scheme.split("+")[0] in _REMOTE_SCHEMES:
        raise InvalidValueError(
            f"tracking URI {uri!r}: mltop stores are local folders (a path, file:///..., or "
            f"sqlite:///<folder>/{DB_NAME}); tracking servers are not supported"
        )
    raise InvalidValueError(
        f"tracking URI {uri!r}: unknown scheme {scheme!r}; give a path, file:///..., "
        f"mltop:///..., or sqlite:///<folder>/{DB_NAME}"
    )
