"""The formats on the site over HTTP: listed through the sell form, bid on through its pages.

A sealed lot's page never carries another bidder's amount; a Dutch lot's page its clock;
the listing form sends the API the format and the clock and refuses what it cannot send.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from auction_platform.composition import Platform
from support.accounts import PASSWORD, log_in
from support.platforms import embedded_settings, running
from support.waiting import eventually

SERVICES = (
    "identity",
    "auction",
    "bidding",
    "payment",
    "notification",
    "analytics",
    "web",
    "gateway",
)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LISTING = {
    "title": "Copper jam pan",
    "description": "Tin-lined, 1920s.",
    "category": "home",
    "images": "",
    "currency": "EUR",
    "start_price": "100",
    "reserve_price": "",
    "buy_now_price": "",
    "start": "now",
    "starts_at": "",
    "tz_offset": "0",
    "duration": "3600",
    "soft_close": "on",
}
DUTCH = {
    "format": "dutch",
    "dutch_floor": "40",
    "dutch_step": "5",
    "dutch_tick": "1",
    "dutch_tick_unit": "minutes",
}
FETCH = {"X-Requested-With": "fetch", "Accept": "application/json"}

Browser = Callable[[], contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    async with running(embedded_settings(tmp_path), SERVICES, embedded=True) as started:
        yield started


@pytest.fixture
def browser(platform: Platform) -> Browser:
    """A browser-like client of the platform through its gateway, with its own cookies."""

    @contextlib.asynccontextmanager
    async def client() -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=platform.apps["gateway"])
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", follow_redirects=False
        ) as http:
            yield http

    return client


async def csrf_of(http: httpx.AsyncClient, path: str) -> str:
    page = await http.get(path)
    assert page.status_code == 200, page.text
    found = CSRF.search(page.text)
    assert found is not None, page.text
    return found.group(1)


async def sign_up(http: httpx.AsyncClient, name: str) -> str:
    """An account opened (and signed in) through the site's form; its email."""
    email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    fields = {"email": email, "display_name": name, "password": PASSWORD}
    answer = await http.post(
        "/signup", data={**fields, "csrf_token": await csrf_of(http, "/signup")}
    )
    assert answer.status_code == 303, answer.text
    return email


async def become_seller(http: httpx.AsyncClient) -> None:
    answer = await http.post(
        "/sell/become-seller", data={"csrf_token": await csrf_of(http, "/sell")}
    )
    assert answer.status_code == 303, answer.text


async def post_listing(
    http: httpx.AsyncClient, action: str, path: str = "/sell", **fields: str
) -> httpx.Response:
    token = await csrf_of(http, path)
    return await http.post(path, data={**LISTING, **fields, "action": action, "csrf_token": token})


async def listed(http: httpx.AsyncClient, **fields: str) -> str:
    """Publish a lot through the form; its id, once its page shows it open."""
    answer = await post_listing(http, "publish", **fields)
    assert answer.status_code == 303, answer.text
    lot_id = answer.headers["location"].rsplit("/", 1)[1]

    async def opened() -> bool:
        book = await http.get(f"/api/v1/auctions/{lot_id}/book")
        return book.status_code == 200

    await eventually(opened, timeout=20, interval=0.25)
    return lot_id


async def api_lot(http: httpx.AsyncClient, email: str, lot_id: str) -> dict[str, Any]:
    tokens = await log_in(http, email)
    answer = await http.get(
        f"/api/v1/auctions/{lot_id}",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert answer.status_code == 200, answer.text
    lot: dict[str, Any] = answer.json()["auction"]
    return lot


async def sealed_bid(http: httpx.AsyncClient, lot_id: str, amount: str) -> dict[str, Any]:
    """A bid through the lot page's form, as its script sends it; the JSON answer."""
    token = await csrf_of(http, f"/auctions/{lot_id}")
    answer = await http.post(
        f"/auctions/{lot_id}/bid",
        data={"csrf_token": token, "max_bid": amount, "idempotency_key": uuid.uuid4().hex},
        headers=FETCH,
    )
    found: dict[str, Any] = answer.json()
    return found


async def test_an_unknown_format_is_refused_on_the_form_and_nothing_is_listed(
    browser: Browser,
) -> None:
    async with browser() as http:
        email = await sign_up(http, "Sam")
        await become_seller(http)
        answer = await post_listing(http, "publish", format="candle")
        assert answer.status_code == 422
        assert "Format: choose rising bids, sealed bids" in answer.text
        assert 'id="format-error"' in answer.text
        tokens = await log_in(http, email)
        mine = await http.get(
            "/api/v1/auctions/mine",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        assert mine.json()["items"] == []


async def test_a_dutch_lot_is_listed_shown_with_its_clock_edited_and_takes_no_bid(
    browser: Browser,
) -> None:
    async with browser() as seller, browser() as buyer:
        email = await sign_up(seller, "Dirk")
        await become_seller(seller)
        preview = await post_listing(seller, "preview", **DUTCH)
        assert preview.status_code == 200, preview.text
        assert "Dutch auction: the price falls until someone buys" in preview.text
        assert "It falls by €5.00 every minute until €40.00." in preview.text

        draft = await post_listing(seller, "draft", **DUTCH)
        assert draft.status_code == 303, draft.text
        lot_id = draft.headers["location"].rsplit("/", 1)[1]
        lot = await api_lot(seller, email, lot_id)
        assert (lot["format"], lot["soft_close"]) == ("dutch", None)
        assert lot["dutch"] == {"floor_cents": 4_000, "step_cents": 500, "tick_seconds": 60}

        edit = await seller.get(f"/auctions/{lot_id}/edit")
        assert 'name="format" value="dutch" aria-describedby="format-dutch-help" checked' in (
            edit.text
        )
        assert 'id="dutch_floor" name="dutch_floor"' in edit.text and 'value="40.00"' in edit.text
        saved = await post_listing(
            seller,
            "publish",
            f"/auctions/{lot_id}/edit",
            **{**DUTCH, "dutch_tick": "2"},
        )
        assert saved.status_code == 303, saved.text
        lot = await api_lot(seller, email, lot_id)
        assert lot["dutch"]["tick_seconds"] == 120

        async def opened() -> bool:
            return (await buyer.get(f"/api/v1/auctions/{lot_id}/book")).status_code == 200

        await eventually(opened, timeout=20, interval=0.25)
        await sign_up(buyer, "Ann")
        page = await buyer.get(f"/auctions/{lot_id}")
        assert "It falls by €5.00 every 2 minutes until €40.00." in page.text
        assert 'data-dutch-step="500"' in page.text and 'data-dutch-tick="120' in page.text
        assert "Buy now at the current price" in page.text
        assert "Place bid" not in page.text

        refused = await sealed_bid(buyer, lot_id, "100")
        assert refused["kind"] == "error"
        assert refused["message"].startswith("This is a Dutch auction: it takes no bids.")


async def test_a_sealed_lot_shows_each_bidder_only_their_own_bid(browser: Browser) -> None:
    async with browser() as seller, browser() as ann, browser() as bob:
        email = await sign_up(seller, "Sara")
        await become_seller(seller)
        # The soft-close box is ticked (the default): a sealed lot has none, so none is sent.
        lot_id = await listed(seller, format="sealed_first_price", reserve_price="150")
        lot = await api_lot(seller, email, lot_id)
        assert (lot["format"], lot["soft_close"], lot["reserve_cents"]) == (
            "sealed_first_price",
            None,
            15_000,
        )
        await sign_up(ann, "Ann")
        await sign_up(bob, "Bob")

        placed = await sealed_bid(ann, lot_id, "123.45")
        assert placed["kind"] == "success", placed
        assert placed["sealed_bid"] == "€123.45"
        assert "123.45" not in str(placed["book"])
        assert (await sealed_bid(bob, lot_id, "234.56"))["kind"] == "success"
        lower = await sealed_bid(ann, lot_id, "100")
        assert lower["message"] == (
            "A sealed bid can only be raised: bid more than your bid of €123.45."
        )

        async with browser() as visitor:
            ann_page, bob_page, sara_page, anonymous = [
                (await http.get(f"/auctions/{lot_id}")).text for http in (ann, bob, seller, visitor)
            ]
        assert "Your sealed bid: <strong>€123.45</strong>" in ann_page
        assert "234.56" not in ann_page
        assert "Your sealed bid: <strong>€234.56</strong>" in bob_page
        assert "123.45" not in bob_page
        for page in (sara_page, anonymous):
            assert "123.45" not in page and "234.56" not in page
            assert "2 sealed bids" in page
        assert "Sealed until the end." in ann_page
        rows = await ann.get(f"/auctions/{lot_id}/history?currency=EUR&sealed=1")
        assert "Sealed until the end." in rows.text

        mine = await ann.get("/my/bids")
        assert 'data-testid="standing">Sealed<' in mine.text
        assert "234.56" not in mine.text and "€123.45" in mine.text
        home = await ann.get("/")
        assert "Bids hidden · 2 bids" in home.text
        listings = await seller.get("/my/listings")
        assert "Bids hidden · 2 bids" in listings.text
