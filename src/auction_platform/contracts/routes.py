"""Which service owns which public path, and how long it may take.

The gateway forwards by this table, and the web site calls the services' public
API by it, so both agree on who answers what.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Route:
    """A path pattern, the service that answers it, and its timeout in seconds."""

    pattern: re.Pattern[str]
    service: str
    timeout: float | None = None
    auth: bool = False  # stricter rate limit: sign-in and sign-up routes
    # Provider callbacks (Stripe's webhooks) come in bursts from few addresses and
    # prove themselves by signature, not by token: they are not rate-limited.
    limited: bool = True


def _route(
    pattern: str,
    service: str,
    *,
    timeout: float | None = None,
    auth: bool = False,
    limited: bool = True,
) -> Route:
    return Route(re.compile(pattern), service, timeout, auth, limited)


# Most specific first: bids, buy-now and retractions live under an auction's path
# but belong to the bidding service.
ROUTES: tuple[Route, ...] = (
    _route(r"^/api/v1/auctions/[^/]+/(bids|buy-now|book|retractions)(/|$)", "bidding", timeout=5),
    _route(r"^/api/v1/bids(/|$)", "bidding"),
    _route(r"^/api/v1/auth/(login|register|refresh|service-token)$", "identity", auth=True),
    # A member's feedback lives with the orders it is about, under the member's path.
    _route(r"^/api/v1/users/[^/]+/feedback$", "payment"),
    _route(r"^/api/v1/(auth|users)(/|$)", "identity"),
    _route(r"^/\.well-known/jwks\.json$", "identity"),
    _route(r"^/api/v1/(auctions|categories|photos|watchlist|reports|sales)(/|$)", "auction"),
    _route(r"^/api/v1/payments/webhooks/", "payment", timeout=20, limited=False),
    _route(r"^/api/v1/(payments|orders|offers|payouts|disputes)(/|$)", "payment", timeout=20),
    _route(r"^/api/v1/(analytics|search)(/|$)", "analytics", timeout=15),
    *(
        _route(rf"^/api/v1/{name}/(openapi\.json|docs)$", name)
        for name in ("identity", "auction", "bidding", "payment", "notification", "analytics")
    ),
)

# Requests whose body may be as large as a photo (``PHOTO_MAX_BYTES``), not the usual
# ``MAX_BODY_BYTES``: a seller's photo upload, to the API or through the site's form.
UPLOADS = re.compile(r"^(/api/v1)?/auctions/[^/]+/photos$")

API_SERVICES = ("identity", "auction", "bidding", "payment", "notification", "analytics")
# The gateway's own paths (health, metrics, the live feed) and the API's stay with
# it; every other path is a page of the web site.
_NOT_PAGES = re.compile(r"^/(api|ws|\.well-known|health|metrics)(/|$)")
SITE = _route(r"^/", "web")
DOWNSTREAM = (*API_SERVICES, "web")


def route_for(path: str) -> Route | None:
    """The route that answers ``path``, or None when no service does."""
    for route in ROUTES:
        if route.pattern.match(path):
            return route
    return None if _NOT_PAGES.match(path) else SITE


def owner_of(path: str) -> str | None:
    """The service that answers ``path``, or None when no service does."""
    route = route_for(path)
    return route.service if route else None
