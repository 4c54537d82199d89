"""Which service owns which public path."""

from __future__ import annotations

import re

# Most specific first: bids, buy-now and retractions live under an auction's path
# but belong to the bidding service.
_ROUTES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), service)
    for pattern, service in (
        (r"^/api/v1/auctions/[^/]+/(bids|buy-now|book|retractions)(/|$)", "bidding"),
        (r"^/api/v1/(auth|users)(/|$)", "identity"),
        (r"^/api/v1/(auctions|categories|watchlist)(/|$)", "auction"),
        (r"^/api/v1/(payments|orders|offers)(/|$)", "payment"),
        (r"^/api/v1/notifications(/|$)", "notification"),
        (r"^/api/v1/(analytics|search)(/|$)", "analytics"),
        (r"^/api/v1/(identity|auction|bidding|payment|notification|analytics)/openapi\.json$", ""),
    )
)

DOWNSTREAM = ("identity", "auction", "bidding", "payment", "notification", "analytics")


def owner_of(path: str) -> str | None:
    """The service that answers ``path``, or None when no service does."""
    for pattern, service in _ROUTES:
        if pattern.match(path):
            return service or path.split("/")[3]
    return None
