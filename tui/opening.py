"""Opening a store from the command line."""

from __future__ import annotations

import click

from mltop.store import TrackingStore, open_store, resolve_store_path, upgrade_pending


def opened(chosen: str | None) -> TrackingStore:
    """The store, said first when opening it upgrades it (it may take a while, and the
    dashboard's screen would stay blank meanwhile)."""
    if upgrade_pending(chosen):
        click.echo(
            f"mltop: upgrading the store at {resolve_store_path(chosen)} to this mltop's format "
            "(once; a large store takes a while)...",
            err=True,
        )
    return open_store(chosen, create=False)
