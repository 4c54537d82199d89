"""The gateway sends each public path to the service that owns it."""

import pytest

from auction_platform.contracts.routes import owner_of


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/v1/auth/login", "identity"),
        ("/api/v1/users/me", "identity"),
        ("/api/v1/users/u1/profile", "identity"),
        ("/api/v1/users/u1/feedback", "payment"),
        ("/api/v1/users/feedback", "identity"),
        ("/api/v1/auctions", "auction"),
        ("/api/v1/auctions/abc", "auction"),
        ("/api/v1/auctions/abc/bids", "bidding"),
        ("/api/v1/auctions/abc/buy-now", "bidding"),
        ("/api/v1/auctions/abc/retractions/7", "bidding"),
        ("/api/v1/watchlist", "auction"),
        ("/api/v1/orders/o1", "payment"),
        ("/api/v1/payments/webhooks/stripe", "payment"),
        ("/api/v1/analytics/events", "analytics"),
        ("/api/v1/search/auctions", "analytics"),
        ("/api/v1/bidding/openapi.json", "bidding"),
    ],
)
def test_paths_go_to_their_owner(path: str, service: str) -> None:
    assert owner_of(path) == service


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nothing",
        "/api/v1/auctionsx",
        "/api/v2/auctions",
        # The notification service has no public routes: its area is not routed.
        "/api/v1/notifications",
        "/api/v1/notifications/mine",
    ],
)
def test_unknown_paths_have_no_owner(path: str) -> None:
    assert owner_of(path) is None


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/auctions",
        "/auctions/abc",
        "/auctions/abc/bids",  # the site's bid form, not the API's
        "/signin",
        "/offers/o1",
        "/admin/users/u1",
        "/static/site.css",
        # Only whole first segments are kept from the site.
        "/apis",
        "/api-guide",
        "/wsx",
        "/healthy-eating",
        "/metrics-explained",
        "/.well-knownish",
    ],
)
def test_every_other_path_is_a_page_of_the_site(path: str) -> None:
    assert owner_of(path) == "web"


@pytest.mark.parametrize(
    "path",
    [
        "/api",
        "/api/",
        "/api/v1",
        "/api/docs",
        "/api/openapi.json",
        "/ws",
        "/ws/auctions/abc",
        "/.well-known",
        "/.well-known/security.txt",
        "/health",
        "/health/live",
        "/health/ready",
        "/health/detail",
        "/metrics",
    ],
)
def test_the_gateways_own_paths_and_the_apis_are_never_pages(path: str) -> None:
    assert owner_of(path) is None


def test_only_provider_webhooks_escape_the_rate_limit() -> None:
    from auction_platform.contracts.routes import route_for

    webhook = route_for("/api/v1/payments/webhooks/stripe")
    assert webhook is not None
    assert webhook.service == "payment"
    assert not webhook.limited
    for path in ("/api/v1/orders", "/api/v1/auth/login", "/api/v1/auctions/a/bids"):
        route = route_for(path)
        assert route is not None
        assert route.limited
