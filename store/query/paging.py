"""Pages of search results, and the tokens that fetch the next page.

A page token holds the last row's sort values and a fingerprint of the search it belongs
to; the next page starts strictly after those values (keyset pagination), so rows inserted
between two pages neither repeat nor push rows out. Any backend can page this way.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from mltop.store.errors import PageTokenError, ValidationError

DEFAULT_MAX_RESULTS = 1000
MAX_RESULTS_LIMIT = 50_000


class PagedList(list[Any]):
    """A page of results; `token` fetches the next page (None on the last page)."""

    def __init__(self, items: Iterable[Any], token: str | None) -> None:
        super().__init__(items)
        self.token = token


def check_max_results(max_results: int | None) -> int:
    if max_results is None:
        return DEFAULT_MAX_RESULTS
    if isinstance(max_results, bool) or not isinstance(max_results, int):
        raise ValidationError(f"max_results must be an integer, not {max_results!r}")
    if not 1 <= max_results <= MAX_RESULTS_LIMIT:
        raise ValidationError(
            f"max_results must be between 1 and {MAX_RESULTS_LIMIT}, not {max_results}"
        )
    return max_results


def fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def encode_token(values: Sequence[Any], fingerprint: str) -> str:
    raw = json.dumps({"v": list(values), "q": fingerprint}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, fingerprint: str, width: int) -> list[Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        values = data["v"]
        ok = isinstance(values, list) and len(values) == width and data["q"] == fingerprint
    except (ValueError, TypeError, KeyError):
        ok = False
    if not ok:
        raise PageTokenError(
            "invalid page token: it is damaged or belongs to another search (same filter, "
            "order_by, experiments and view are needed)"
        )
    return values
