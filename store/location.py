"""Where a store is: a folder found as git finds `.git`, or named by the user.

A store is a folder holding the database file (`mltop.db`) and `artifacts/<run_id>/`.
Finding it needs no backend: `--store`, `MLTOP_STORE`, the nearest `.mltop/` walking up
from the working directory, else `.mltop/` in the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path

DB_NAME = "mltop.db"
ARTIFACTS_DIR = "artifacts"
STORE_DIR_NAME = ".mltop"


def resolve_store_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where the store is: `explicit`, else `MLTOP_STORE`, else the nearest `.mltop/`
    walking up from the working directory, else `.mltop/` in the working directory."""
    chosen = explicit if explicit not in (None, "") else os.environ.get("MLTOP_STORE") or None
    if chosen is not None:
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
