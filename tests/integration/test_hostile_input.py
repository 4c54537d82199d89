"""Input an attacker or a fuzzer sends: refused with a 4xx and a code, never a 500 or a leak."""

from __future__ import annotations

import httpx
import pytest

from auction_platform.composition import Platform
from support.accounts import Account, sign_up
from support.auctions import open_lot, seller

NUL = "\u0000"
INT64_PAST = str(2**63)


def refused_as_invalid(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


@pytest.fixture
async def ann(http: httpx.AsyncClient) -> Account:
    return await sign_up(http, name="Ann")


TRAILING_SLASHES = [
    ("PUT", "/api/v1/watchlist/abc/"),
    ("DELETE", "/api/v1/watchlist/abc/"),
    ("GET", "/api/v1/auctions/"),
    ("GET", "/api/v1/auctions/abc/"),
    ("GET", "/api/v1/users/me/"),
    ("GET", "/api/v1/orders/"),
    ("POST", "/api/v1/auth/login/"),
    ("GET", "/api/v1/search/auctions/"),
    ("GET", "/health/live/"),
]
TOO_LARGE = [
    f"/api/v1/auctions?min_price={INT64_PAST}",
    f"/api/v1/auctions?max_price={INT64_PAST}",
    "/api/v1/auctions?min_price=10000000001",
    f"/api/v1/search/auctions?min_price={INT64_PAST}",
    f"/api/v1/search/auctions?max_price={INT64_PAST}",
    f"/api/v1/search/auctions?offset={INT64_PAST}",
]
MALFORMED_IDS = [
    ("DELETE", "/api/v1/watchlist/" + "a" * 65),
    ("DELETE", "/api/v1/watchlist/a%20b"),
    ("DELETE", "/api/v1/watchlist/caf%C3%A9"),
    ("PUT", "/api/v1/watchlist/a.b"),
    ("GET", "/api/v1/auctions/" + "a" * 65),
    ("GET", "/api/v1/auctions/a'b/book"),
    ("GET", "/api/v1/users/" + "a" * 65),
    ("GET", "/api/v1/users/%20/profile"),
    ("GET", "/api/v1/orders/a%2Cb"),
    ("POST", "/api/v1/offers/" + "é" * 10 + "/accept"),
]


async def test_a_trailing_slash_is_not_found_never_a_redirect(
    http: httpx.AsyncClient, ann: Account
) -> None:
    for method, path in TRAILING_SLASHES:
        response = await http.request(method, path, headers=ann.headers)
        assert response.status_code == 404, (method, path, response.text)
        assert "location" not in response.headers
        assert response.json()["error"]["code"] == "not_found"


async def test_nul_characters_are_refused_wherever_they_are(
    http: httpx.AsyncClient, ann: Account
) -> None:
    sam = await seller(http)
    body_probes = [
        ("/api/v1/auth/login", {"email": f"a{NUL}@x.org", "password": "whatever-it-is"}, None),
        (
            "/api/v1/auth/register",
            {"email": "b@example.org", "password": "a-Good-passw0rd-9", "display_name": f"A{NUL}B"},
            None,
        ),
        (
            "/api/v1/auctions",
            {
                "title": f"A camera{NUL}",
                "category": "cameras",
                "currency": "EUR",
                "start_cents": 1_000,
                "duration_seconds": 3_600,
            },
            sam.headers,
        ),
        # Deep inside a document, and in a key.
        ("/api/v1/auth/login", {"email": "a@x.org", "password": ["x", {"y": NUL}]}, None),
        ("/api/v1/auth/login", {f"e{NUL}": "a@x.org", "password": "whatever-it-is"}, None),
    ]
    for path, body, headers in body_probes:
        refused_as_invalid(await http.post(path, json=body, headers=headers))
    for target in (
        "/api/v1/search/auctions?q=a%00b",
        "/api/v1/auctions?category=cam%00eras",
        "/api/v1/auctions/abc%00def",
        "/api/v1/users/me?x=%00",
    ):
        refused_as_invalid(await http.get(target, headers=ann.headers))
    # A form (the site's sign-in) is read the same way.
    form = await http.post(
        "/signin",
        content=b"email=a%00%40x.org&password=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    refused_as_invalid(form)


async def test_text_that_only_looks_like_a_nul_is_text(http: httpx.AsyncClient) -> None:
    # A backslash followed by the letters u0000 is six characters, none of them NUL.
    response = await http.post(
        "/api/v1/auth/login", json={"email": "a@x.org", "password": "\\u0000-and-more"}
    )
    assert response.status_code == 401, response.text


async def test_a_number_beyond_what_an_amount_may_be_is_invalid(http: httpx.AsyncClient) -> None:
    for target in TOO_LARGE:
        refused_as_invalid(await http.get(target))


async def test_a_bid_stops_where_a_listings_amounts_stop(
    http: httpx.AsyncClient, ann: Account, platform: Platform
) -> None:
    assert platform.settings.auction_max_amount_cents == 10**10
    lot = await open_lot(http, await seller(http))
    bids = f"/api/v1/auctions/{lot['id']}/bids"
    for too_much in (10**10 + 1, 10**13, 2**63):
        for name in ("max_amount_cents", "max_amount"):
            refused_as_invalid(await http.post(bids, json={name: too_much}, headers=ann.headers))
    placed = await http.post(bids, json={"max_amount_cents": 10**10}, headers=ann.headers)
    assert placed.status_code == 201, placed.text


async def test_an_id_that_no_platform_id_looks_like_is_invalid(
    http: httpx.AsyncClient, ann: Account
) -> None:
    for method, path in MALFORMED_IDS:
        refused_as_invalid(await http.request(method, path, headers=ann.headers))
