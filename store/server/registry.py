"""`ModelRegistry` over a tracking server (helper B)."""

from __future__ import annotations

from mltop.store.server.rest import RestClient


class ServerRegistry:
    def __init__(self, rest: RestClient) -> None:
        self.rest = rest
