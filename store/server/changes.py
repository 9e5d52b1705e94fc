"""`ChangeFeed` over a tracking server, by polling (helper A3): a mixin of `ServerStore`."""

from __future__ import annotations

from mltop.store.server.rest import RestClient


class ServerChanges:
    rest: RestClient
