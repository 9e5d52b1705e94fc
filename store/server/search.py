"""`RunSearch` over a tracking server (helper A3): a mixin of `ServerStore`."""

from __future__ import annotations

from mltop.store.server.rest import RestClient


class ServerSearch:
    rest: RestClient
