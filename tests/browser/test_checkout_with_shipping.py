"""Checkout with shipping in a browser: choose an address, pay the total, ship, confirm receipt."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, expect

from support.auctions import open_lot, seller
from support.browser import DESKTOP, PHONE, screenshots_at_both_widths
from support.waiting import eventually
from support.web_site import bidder, embedded_site, sign_in

pytestmark = pytest.mark.browser
NewContext = Callable[..., Awaitable[BrowserContext]]
SHIPS_IN_EUROPE = {
    "shipping": [{"countries": ["DE", "AT"], "cost_cents": 1_500}],
    "buyer_arranges": False,
    "pickup_town": "Leipzig",
}
HOME = {
    "name": "Bob Buyer",
    "line1": "1 Hauptstrasse",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
}


async def test_a_buyer_ships_to_a_saved_address_pays_with_shipping_and_confirms_receipt(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path) as site:
        sid, bob = await seller(site.http, "Sid"), await bidder(site, "Bob")
        kept = await site.http.post("/api/v1/users/me/addresses", json=HOME, headers=bob.headers)
        assert kept.status_code == 201, kept.text
        lot = await open_lot(
            site.http,
            sid,
            start_cents=5_000,
            reserve_cents=None,
            buy_now_cents=10_000,
            delivery=SHIPS_IN_EUROPE,
        )
        won = await site.http.post(f"/api/v1/auctions/{lot['id']}/buy-now", headers=bob.headers)
        assert won.status_code == 201, won.text

        async def the_order() -> str:
            found = (await site.http.get("/api/v1/orders", headers=bob.headers)).json()
            return str(found["items"][0]["id"]) if found["items"] else ""

        order_id = await eventually(the_order, timeout=30)
        buyer = await sign_in(await new_context(PHONE), site, bob)
        await buyer.goto(f"{site.url}/orders/{order_id}")
        form = buyer.get_by_test_id("delivery-form")
        saved = form.get_by_label(re.compile(r"Ship to Bob Buyer, 1 Hauptstrasse.*€15\.00"))
        await expect(saved).to_be_visible()
        await expect(form.get_by_label("I pick it up in Leipzig (free)")).to_be_visible()
        await screenshots_at_both_widths(buyer, "checkout-delivery-choice")
        await saved.check()
        await form.get_by_role("button", name="Use this delivery").click()
        await expect(buyer.locator("#pay-result, .flash").first).to_be_visible()
        await expect(buyer.get_by_test_id("order-shipping")).to_have_text("€15.00")
        await expect(buyer.get_by_test_id("order-total")).to_have_text("€120.00")
        await expect(buyer.get_by_test_id("delivery-address")).to_contain_text("10115 Berlin")
        await buyer.get_by_label("Card number").fill("4242 4242 4242 4242")
        await buyer.get_by_role("button", name="Pay €120.00").click()
        await expect(buyer.get_by_test_id("order-status")).to_have_text("Paid")
        await expect(buyer.get_by_test_id("fulfilment")).to_have_text("Not sent yet")
        await expect(buyer.get_by_test_id("receipt")).to_have_count(0)  # not shipped yet

        sid_page = await sign_in(await new_context(DESKTOP), site, sid)
        await sid_page.goto(f"{site.url}/sales")
        await expect(sid_page.get_by_test_id("delivery-address")).to_contain_text("Bob Buyer")
        ship = sid_page.get_by_test_id("ship-form")
        await ship.get_by_label("Tracking number").fill("1Z999AA10123456784")
        await ship.get_by_label("Carrier").fill("UPS")
        await screenshots_at_both_widths(sid_page, "checkout-sale-to-ship")
        await ship.get_by_role("button", name="Mark shipped").click()
        await expect(sid_page.get_by_test_id("fulfilment")).to_have_text("Shipped")
        await expect(sid_page.get_by_test_id("ship-form")).to_have_count(0)

        await buyer.goto(f"{site.url}/orders/{order_id}")
        await expect(buyer.get_by_test_id("tracking")).to_contain_text("1Z999AA10123456784")
        await screenshots_at_both_widths(buyer, "checkout-shipped")
        await buyer.get_by_test_id("receipt").click()
        await expect(buyer.get_by_test_id("fulfilment")).to_have_text("Received")
        await screenshots_at_both_widths(buyer, "checkout-received")
