"""The seller's pages over HTTP: become a seller, list, preview, edit, publish, cancel, relist."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.accounts import PASSWORD, log_in
from support.accounts import sign_up as sign_up_by_api
from support.auctions import place_bid
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
    "title": "Brass ship's clock",
    "description": "Keeps good time. Wound weekly.",
    "category": "clocks",
    "images": "/static/demo/clock.svg",
    "currency": "USD",
    "start_price": "25",
    "reserve_price": "",
    "buy_now_price": "",
    "start": "now",
    "starts_at": "",
    "tz_offset": "0",
    "duration": "3600",
    "soft_close": "on",
}


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client of the whole platform through its gateway (cookies kept)."""
    # A lot may run two seconds, so a test can see one end unsold.
    settings = embedded_settings(tmp_path, auction_min_duration_seconds=1)
    async with running(settings, SERVICES, embedded=True) as platform:
        transport = httpx.ASGITransport(app=platform.apps["gateway"])
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", follow_redirects=False
        ) as http:
            yield http


async def csrf_of(http: httpx.AsyncClient, path: str) -> str:
    """The CSRF token the forms of a page carry."""
    page = await http.get(path)
    assert page.status_code == 200, page.text
    found = CSRF.search(page.text)
    assert found is not None, page.text
    return found.group(1)


async def sign_up(http: httpx.AsyncClient, name: str = "Sam") -> str:
    """Open an account through the site's sign-up form (which signs in); its email."""
    email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    answer = await http.post(
        "/signup",
        data={
            "csrf_token": await csrf_of(http, "/signup"),
            "email": email,
            "display_name": name,
            "password": PASSWORD,
        },
    )
    assert answer.status_code == 303, answer.text
    return email


async def become_seller(http: httpx.AsyncClient) -> None:
    """Press "Become a seller" on /sell."""
    answer = await http.post(
        "/sell/become-seller", data={"csrf_token": await csrf_of(http, "/sell")}
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/sell"


@dataclass
class Seller:
    """A signed-in seller's browser, and their email to ask the API with."""

    http: httpx.AsyncClient
    email: str

    async def lots(self) -> list[dict[str, Any]]:
        """Their lots as the API lists them (``GET /api/v1/auctions/mine``)."""
        tokens = await log_in(self.http, self.email)
        mine = await self.http.get(
            "/api/v1/auctions/mine",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        assert mine.status_code == 200, mine.text
        items: list[dict[str, Any]] = mine.json()["items"]
        return items


@pytest.fixture
async def seller(site: httpx.AsyncClient) -> Seller:
    """A signed-in seller."""
    email = await sign_up(site)
    await become_seller(site)
    return Seller(site, email)


async def post_listing(
    http: httpx.AsyncClient, action: str, path: str = "/sell", **fields: str
) -> httpx.Response:
    """Send the listing form of ``path`` (or an edit page's) with ``fields`` changed."""
    token = await csrf_of(http, path)
    return await http.post(path, data={**LISTING, **fields, "action": action, "csrf_token": token})


async def listed(http: httpx.AsyncClient, **fields: str) -> str:
    """Publish a lot through the form; its id."""
    answer = await post_listing(http, "publish", **fields)
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert re.fullmatch(r"/auctions/[0-9a-f]{32}", location), location
    return location.rsplit("/", 1)[1]


async def test_a_bidder_becomes_a_seller_and_lists_at_once(site: httpx.AsyncClient) -> None:
    stranger = await site.get("/sell")
    assert stranger.status_code == 303
    assert stranger.headers["location"] == "/signin?next=/sell"
    await sign_up(site)
    page = await site.get("/sell")
    assert "Become a seller" in page.text
    assert 'name="title"' not in page.text

    await become_seller(site)

    form = await site.get("/sell")
    assert form.status_code == 200
    assert 'id="title"' in form.text and "Become a seller" not in form.text
    lot_id = await listed(site)  # the same session: no new sign-in
    assert (await site.get(f"/auctions/{lot_id}")).status_code == 200


async def test_a_lot_listed_now_for_an_hour_opens_within_seconds(
    seller: Seller,
) -> None:
    lot_id = await listed(seller.http, title="Walnut writing desk")

    page = await seller.http.get(f"/auctions/{lot_id}")
    assert "Walnut writing desk" in page.text
    assert "is listed" in page.text  # the flash of the form

    async def opened() -> bool:
        shown = await seller.http.get(f"/auctions/{lot_id}")
        return 'data-testid="status">Open<' in shown.text

    await eventually(opened, timeout=15, interval=0.25)


async def test_start_now_sends_no_start_and_the_lot_is_open_on_the_redirect(
    seller: Seller,
) -> None:
    lot_id = await listed(seller.http, title="Walnut writing desk")

    [lot] = await seller.lots()
    assert (lot["id"], lot["status"], lot["duration_seconds"]) == (lot_id, "open", 3600)
    assert lot["starts_at"] == lot["opened_at"]


async def test_a_draft_to_start_now_starts_when_it_is_published(seller: Seller) -> None:
    draft = await post_listing(seller.http, "draft", title="Pewter jug", duration="86400")
    assert draft.status_code == 303, draft.text
    lot_id = draft.headers["location"].rsplit("/", 1)[1]
    [lot] = await seller.lots()
    assert (lot["starts_at"], lot["starts_when_published"], lot["duration_seconds"]) == (
        None,
        True,
        86400,
    )
    edit = await seller.http.get(f"/auctions/{lot_id}/edit")
    assert edit.status_code == 200, edit.text
    saved = await post_listing(
        seller.http, "save", f"/auctions/{lot_id}/edit", title="Pewter jug, 1800s", duration="86400"
    )
    assert saved.status_code == 303, saved.text
    assert "Your changes are saved." in (await seller.http.get(f"/auctions/{lot_id}")).text

    answer = await seller.http.post(
        f"/auctions/{lot_id}/publish",
        data={"csrf_token": await csrf_of(seller.http, "/my/listings")},
    )

    assert answer.status_code == 303, answer.text
    [lot] = await seller.lots()
    assert (lot["title"], lot["status"], lot["duration_seconds"]) == (
        "Pewter jug, 1800s",
        "open",
        86400,
    )


async def test_preview_shows_the_lot_and_saves_nothing(seller: Seller) -> None:
    answer = await post_listing(seller.http, "preview", title="Tin robot", buy_now_price="80")

    assert answer.status_code == 200
    assert 'id="preview-heading"' in answer.text
    assert "Tin robot" in answer.text and "$80.00" in answer.text
    assert "1h 00m after it opens" in answer.text  # started now, it runs the hour chosen
    assert (await seller.lots()) == []


async def test_a_bad_amount_is_named_and_what_was_typed_is_kept(
    seller: Seller,
) -> None:
    answer = await post_listing(seller.http, "publish", title="Tin robot", start_price="twelve")

    assert answer.status_code == 422
    assert 'role="alert"' in answer.text
    assert "Start price: enter an amount as digits" in answer.text
    assert 'value="Tin robot"' in answer.text
    assert (await seller.lots()) == []


async def test_a_refusal_of_the_api_is_shown_on_the_form(seller: Seller) -> None:
    answer = await post_listing(seller.http, "publish", title="TV")

    assert answer.status_code == 422
    assert 'role="alert"' in answer.text
    assert "The title needs 3 to 120 characters." in answer.text
    assert 'value="TV"' in answer.text
    assert 'id="title" name="title"' in answer.text and 'aria-invalid="true"' in answer.text


async def test_a_scheduled_lot_can_be_edited(seller: Seller) -> None:
    lot_id = await listed(seller.http, start="at", starts_at="2099-01-01T12:00")
    edit = await seller.http.get(f"/auctions/{lot_id}/edit")
    assert 'value="Brass ship&#39;s clock"' in edit.text
    assert 'value="25.00"' in edit.text

    answer = await post_listing(
        seller.http,
        "save",
        f"/auctions/{lot_id}/edit",
        title="Brass ship's clock, 1920s",
        start="at",
        starts_at="2099-01-01T12:00",
        start_price="25.00",
    )

    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/auctions/{lot_id}"
    page = await seller.http.get(f"/auctions/{lot_id}")
    assert "Brass ship&#39;s clock, 1920s" in page.text
    assert "Your changes are saved." in page.text
    assert "Starts soon" in page.text


async def test_a_draft_is_published_from_my_listings(seller: Seller) -> None:
    draft = await post_listing(seller.http, "draft", start="at", starts_at="2099-01-01T12:00")
    assert draft.status_code == 303
    lot_id = draft.headers["location"].rsplit("/", 1)[1]
    listing = await seller.http.get("/my/listings")
    assert 'data-testid="status">Draft<' in listing.text
    assert f'action="/auctions/{lot_id}/publish"' in listing.text

    answer = await seller.http.post(
        f"/auctions/{lot_id}/publish",
        data={"csrf_token": await csrf_of(seller.http, "/my/listings")},
    )

    assert answer.status_code == 303 and answer.headers["location"] == "/my/listings"
    after = await seller.http.get("/my/listings")
    assert "is listed" in after.text
    assert 'data-testid="status">Starts soon<' in after.text


async def test_cancel_asks_first_then_withdraws_the_lot(seller: Seller) -> None:
    lot_id = await listed(seller.http, start="at", starts_at="2099-01-01T12:00")
    confirm = await seller.http.get(f"/auctions/{lot_id}/cancel")
    assert confirm.status_code == 200
    assert "Cancel this listing" in confirm.text

    answer = await seller.http.post(
        f"/auctions/{lot_id}/cancel",
        data={"csrf_token": await csrf_of(seller.http, "/my/listings")},
    )

    assert answer.status_code == 303 and answer.headers["location"] == "/my/listings"
    listing = await seller.http.get("/my/listings")
    assert "is cancelled." in listing.text
    assert 'data-testid="status">Cancelled<' in listing.text
    assert f"/auctions/{lot_id}/edit" not in listing.text


async def test_my_listings_show_each_lot_with_its_status(seller: Seller) -> None:
    await listed(seller.http, title="Open lot")
    await post_listing(
        seller.http, "draft", title="Draft lot", start="at", starts_at="2099-01-01T12:00"
    )
    await listed(seller.http, title="Later lot", start="at", starts_at="2099-01-01T12:00")

    page = await seller.http.get("/my/listings")

    for title in ("Open lot", "Draft lot", "Later lot"):
        assert title in page.text
    assert 'data-testid="status">Draft<' in page.text
    drafts = await seller.http.get("/my/listings?status=draft")
    assert "Draft lot" in drafts.text and "Later lot" not in drafts.text


async def test_a_form_without_its_csrf_token_is_refused(seller: Seller) -> None:
    answer = await seller.http.post("/sell", data={**LISTING, "action": "publish"})

    assert answer.status_code == 403
    assert (await seller.lots()) == []


async def test_sales_show_each_order_with_its_buyer_and_status(seller: Seller) -> None:
    assert "No sales yet." in (await seller.http.get("/sales")).text
    lot_id = await listed(seller.http, title="Film camera", buy_now_price="30")
    buyer = await sign_up_by_api(seller.http, name="Bob")

    async def bought() -> bool:
        answer = await seller.http.post(f"/api/v1/auctions/{lot_id}/buy-now", headers=buyer.headers)
        return answer.status_code in (200, 201)

    await eventually(bought, timeout=15, interval=0.25)

    async def sale() -> str | None:
        page = await seller.http.get("/sales")
        return page.text if 'data-testid="order-status"' in page.text else None

    page = await eventually(sale, timeout=15, interval=0.2)
    assert "Film camera" in page and "Bob" in page
    assert 'data-testid="order-status">Awaiting payment<' in page
    assert "$30.00" in page


async def bid_on(seller: Seller, lot_id: str, cents: int) -> None:
    """A bidder's bid, through the API, once the lot's bid book takes bids."""
    await place_bid(seller.http, lot_id, await sign_up_by_api(seller.http, name="Bea"), cents)


async def test_an_open_lot_is_edited_until_its_first_bid_keeping_its_start_and_currency(
    seller: Seller,
) -> None:
    lot_id = await listed(seller.http, title="Walnut writing desk")
    [before] = await seller.lots()
    assert before["status"] == "open"
    assert f'href="/auctions/{lot_id}/edit"' in (await seller.http.get("/my/listings")).text
    assert f'href="/auctions/{lot_id}/edit"' in (await seller.http.get(f"/auctions/{lot_id}")).text

    edit = await seller.http.get(f"/auctions/{lot_id}/edit")

    assert edit.status_code == 200, edit.text
    assert 'data-testid="fixed-start"' in edit.text and 'name="starts_at"' not in edit.text
    assert (
        'data-testid="fixed-currency">USD<' in edit.text
        and '<select id="currency"' not in edit.text
    )
    answer = await post_listing(
        seller.http,
        "save",
        f"/auctions/{lot_id}/edit",
        title="Walnut writing desk, 1890s",
        start_price="30",
        duration="86400",
    )
    assert answer.status_code == 303, answer.text
    [after] = await seller.lots()
    assert (after["title"], after["start_cents"], after["duration_seconds"]) == (
        "Walnut writing desk, 1890s",
        3_000,
        86_400,
    )
    assert (after["status"], after["starts_at"], after["currency"]) == (
        "open",
        before["starts_at"],
        "USD",
    )

    await bid_on(seller, lot_id, 4_000)

    locked = await seller.http.get(f"/auctions/{lot_id}/edit")
    assert locked.status_code == 409
    assert "can no longer be changed" in locked.text and "Someone has bid on it" in locked.text
    assert 'name="title"' not in locked.text

    async def no_edit_link() -> bool:  # the lot's count of bids follows the book's
        return f'href="/auctions/{lot_id}/edit"' not in (await seller.http.get("/my/listings")).text

    await eventually(no_edit_link, timeout=30, interval=0.25)


async def test_an_edit_sent_after_a_bid_is_refused_in_words(seller: Seller) -> None:
    lot_id = await listed(seller.http, title="Walnut writing desk")
    token = await csrf_of(seller.http, f"/auctions/{lot_id}/edit")  # the form, before the bid

    await bid_on(seller, lot_id, 4_000)
    answer = await seller.http.post(
        f"/auctions/{lot_id}/edit",
        data={**LISTING, "title": "Changed after a bid", "action": "save", "csrf_token": token},
    )

    assert answer.status_code == 409
    assert "Someone has bid on it" in answer.text and "Your changes were not saved." in answer.text
    [lot] = await seller.lots()
    assert lot["title"] == "Walnut writing desk"


async def unsold(seller: Seller, **fields: str) -> str:
    """A lot listed through the form for two seconds that ended without a bid; its id."""
    lot_id = await listed(seller.http, duration="2", **fields)

    async def ended() -> bool:
        return any(lot["id"] == lot_id and lot["status"] == "closed" for lot in await seller.lots())

    await eventually(ended, timeout=30, interval=0.25)
    return lot_id


async def test_an_unsold_lot_is_listed_again_from_a_form_filled_in_with_its_terms(
    seller: Seller,
) -> None:
    old_id = await unsold(seller, title="Pewter jug", start_price="40", reserve_price="60")
    lot_page = await seller.http.get(f"/auctions/{old_id}")
    assert f'href="/auctions/{old_id}/relist"' in lot_page.text
    assert f'href="/auctions/{old_id}/relist"' in (await seller.http.get("/my/listings")).text

    form = await seller.http.get(f"/auctions/{old_id}/relist")

    assert form.status_code == 200, form.text
    assert "List “Pewter jug” again" in form.text
    assert 'value="Pewter jug"' in form.text and 'value="40.00"' in form.text
    assert 'value="60.00"' in form.text  # its reserve, which only its seller sees
    relist = f"/auctions/{old_id}/relist"
    refused = await post_listing(
        seller.http, "publish", relist, title="Pewter jug", start_price="20", reserve_price="5"
    )
    assert refused.status_code == 422 and 'role="alert"' in refused.text
    assert 'id="reserve_price-error"' in refused.text  # the API's refusal, on its field

    answer = await post_listing(
        seller.http, "publish", relist, title="Pewter jug", start_price="20", duration="3600"
    )

    assert answer.status_code == 303, answer.text
    new_id = answer.headers["location"].rsplit("/", 1)[1]
    assert new_id != old_id
    shown = await seller.http.get(answer.headers["location"])
    assert "“Pewter jug” is listed" in shown.text
    lots = {lot["id"]: lot for lot in await seller.lots()}
    new = lots[new_id]
    assert (new["relisted_from"], new["status"], new["start_cents"]) == (old_id, "open", 2_000)
    assert (new["reserve_cents"], new["duration_seconds"]) == (None, 3_600)
    assert (lots[old_id]["status"], lots[old_id]["relisted_as"]) == ("closed", new_id)

    # Once listed again, the relisting page and its form lead to the new lot.
    again = await seller.http.get(relist)
    assert (again.status_code, again.headers["location"]) == (303, f"/auctions/{new_id}")
    token = await csrf_of(seller.http, f"/auctions/{new_id}")
    twice = await seller.http.post(
        relist, data={**LISTING, "action": "publish", "csrf_token": token}
    )
    assert (twice.status_code, twice.headers["location"]) == (303, f"/auctions/{new_id}")
    assert len(await seller.lots()) == 2


async def test_only_a_lot_that_ended_unsold_has_a_relisting_page(seller: Seller) -> None:
    lot_id = await listed(seller.http, title="Walnut writing desk")

    answer = await seller.http.get(f"/auctions/{lot_id}/relist")

    assert (answer.status_code, answer.headers["location"]) == (303, f"/auctions/{lot_id}")
    page = await seller.http.get(f"/auctions/{lot_id}")
    assert "Only a lot that ended without a sale can be listed again." in page.text
    assert f'href="/auctions/{lot_id}/relist"' not in page.text
