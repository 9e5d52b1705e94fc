"""Opening a store from the command line: `--store` on every command, and what opening
the store says first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from mltop.store import TrackingStore, open_store, resolve_store_path, upgrade_pending
from mltop.store.location import chosen_server

F = TypeVar("F", bound=Callable[..., Any])

CLI_RETRY_FOR = 10.0  # seconds one call to a tracking server may spend retrying


def opened(chosen: str | None) -> TrackingStore:
    """The store, said first when opening it upgrades it (it may take a while, and the
    dashboard's screen would stay blank meanwhile)."""
    if chosen_server(chosen) is None and upgrade_pending(chosen):
        click.echo(
            f"mltop: upgrading the store at {resolve_store_path(chosen)} to this mltop's format "
            "(once; a large store takes a while)...",
            err=True,
        )
    if chosen_server(chosen) is not None:
        # A command a user waits on: a server that does not answer is said within
        # CLI_RETRY_FOR seconds of retrying, not after minutes of backoff.
        return open_store(chosen, create=False, busy_timeout=CLI_RETRY_FOR)
    return open_store(chosen, create=False)


_STORE_DEFAULT = "(default: $MLTOP_STORE, else the nearest .mltop/ upwards)."


def store_option(command: F) -> F:
    """`--store` on every command (it may also be given before the command name)."""
    return click.option(
        "--store",
        "store_path",
        metavar="PATH|URL",
        help=f"Store directory, or a tracking server's http(s):// URL {_STORE_DEFAULT}",
    )(command)


def local_store_option(command: F) -> F:
    """`--store` on a command that needs a local store (`mltop run`): a folder, never a URL."""
    return click.option(
        "--store",
        "store_path",
        metavar="PATH",
        help=f"Store directory; a local store, not a tracking server {_STORE_DEFAULT}",
    )(command)


def chosen_store(ctx: click.Context, store_path: str | None) -> str | None:
    """The command's `--store`, else the one given before the command name."""
    return store_path or ctx.find_root().params.get("store_path")


def store_from(ctx: click.Context, store_path: str | None) -> TrackingStore:
    return opened(chosen_store(ctx, store_path))
