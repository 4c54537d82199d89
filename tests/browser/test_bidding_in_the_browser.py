"""Bidders in real browsers: live prices, proxy bids, no JavaScript, CSRF, paying."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, expect

from support.auctions import open_lot, seller
from support.browser import DESKTOP, PHONE, screenshots_at_both_widths
from support.waiting import eventually
from support.web_site import CSRF, LIVE_DEADLINE_MS, bid, bidder, embedded_site, sign_in

pytestmark = pytest.mark.browser
NewContext = Callable[..., Awaitable[BrowserContext]]


async def test_two_bidders_see_each_others_bids_without_reloading(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path) as site:
        owner = await seller(site.http)
        lot = await open_lot(
            site.http, owner, currency="USD", start_cents=2_500, reserve_cents=None
        )
        ann, bob = await bidder(site, "Ann"), await bidder(site, "Bob")
        ann_page = await sign_in(await new_context(DESKTOP), site, ann)
        bob_page = await sign_in(await new_context(PHONE), site, bob)
        for page in (ann_page, bob_page):
            await page.goto(f"{site.url}/auctions/{lot['id']}")
            await expect(page.get_by_test_id("current-price")).to_have_text("$25.00")

        result = await bid(ann_page, "30")
        assert "you are the highest bidder at $25.00" in result
        await expect(bob_page.get_by_test_id("bid-count")).to_have_text(
            "1", timeout=LIVE_DEADLINE_MS
        )
        leader = await ann_page.get_by_test_id("leader").inner_text()
        await expect(bob_page.get_by_test_id("leader")).to_have_text(leader)

        result = await bid(bob_page, "40")
        # Ann's maximum of $30 stands in for her: Bob leads at one increment above it.
        assert "you are the highest bidder at $31.00" in result
        await expect(ann_page.get_by_test_id("current-price")).to_have_text(
            "$31.00", timeout=LIVE_DEADLINE_MS
        )
        await expect(ann_page.get_by_test_id("bid-count")).to_have_text("2")
        await expect(ann_page.get_by_test_id("history").locator("tr")).to_have_count(
            2, timeout=LIVE_DEADLINE_MS
        )

        result = await bid(ann_page, "31")
        assert "too low" in result.lower() and "$32.00" in result
        await screenshots_at_both_widths(ann_page, "lot-with-bids")


async def test_browse_sign_in_and_bid_without_javascript(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path) as site:
        owner = await seller(site.http)
        lot = await open_lot(
            site.http, owner, title="Brass ship's clock", currency="GBP", start_cents=1_000
        )
        ann = await bidder(site, "Ann")
        page = await (await new_context(PHONE, java_script_enabled=False)).new_page()
        await page.goto(f"{site.url}/")
        await page.get_by_role("link", name="Browse", exact=True).click()
        await page.get_by_label("Words").fill("clock")
        await page.get_by_role("button", name="Apply").click()
        await page.get_by_role("link", name="Brass ship's clock").first.click()
        await page.get_by_role("link", name="Sign in to bid").click()
        await page.get_by_label("Email").fill(ann.email)
        await page.get_by_label("Password").fill("correct-Horse-battery-42")
        await page.get_by_role("button", name="Sign in").click()
        # Back on the lot after signing in.
        await expect(page.get_by_role("heading", name="Brass ship's clock")).to_be_visible()
        await page.get_by_label("Your maximum bid").fill("12.50")
        await page.get_by_role("button", name="Place bid").click()
        await expect(page.get_by_role("status")).to_contain_text("you are the highest bidder")
        await expect(page.get_by_test_id("current-price")).to_have_text("£10.00")
        book = (await site.http.get(f"/api/v1/auctions/{lot['id']}/book")).json()
        assert book["bid_count"] == 1


async def test_a_bid_can_be_placed_with_the_keyboard_alone(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path) as site:
        owner = await seller(site.http)
        lot = await open_lot(site.http, owner, currency="EUR", start_cents=500)
        page = await sign_in(await new_context(DESKTOP), site, await bidder(site, "Kim"))
        await page.goto(f"{site.url}/auctions/{lot['id']}")
        for _ in range(60):
            await page.keyboard.press("Tab")
            if await page.evaluate("document.activeElement.id") == "max-bid":
                break
        else:
            pytest.fail("the bid field cannot be reached with Tab")
        await page.keyboard.press("Control+A")
        await page.keyboard.type("7")
        await page.keyboard.press("Enter")
        await expect(page.locator("#bid-result")).to_contain_text("highest bidder")


async def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    tmp_path: Path,
) -> None:
    async with embedded_site(tmp_path) as site:
        owner = await seller(site.http)
        lot = await open_lot(site.http, owner)
        ann = await bidder(site, "Ann")
        http = site.http
        form = await http.get("/signin")
        token = CSRF.search(form.text)
        assert token is not None
        signed_in = await http.post(
            "/signin",
            data={
                "email": ann.email,
                "password": "correct-Horse-battery-42",
                "next": "/",
                "csrf_token": token.group(1),
            },
        )
        assert signed_in.status_code == 303
        page = await http.get(f"/auctions/{lot['id']}")
        good = CSRF.search(page.text)
        assert good is not None

        forged = await http.post(f"/auctions/{lot['id']}/bid", data={"max_bid": "500"})
        wrong = await http.post(
            f"/auctions/{lot['id']}/bid", data={"max_bid": "500", "csrf_token": "x" * 32}
        )
        assert forged.status_code == 403
        assert wrong.status_code == 403
        assert "did not come from this site" in forged.text
        book = (await http.get(f"/api/v1/auctions/{lot['id']}/book")).json()
        assert book["bid_count"] == 0

        placed = await http.post(
            f"/auctions/{lot['id']}/bid", data={"max_bid": "500", "csrf_token": good.group(1)}
        )
        assert placed.status_code == 303
        book = (await http.get(f"/api/v1/auctions/{lot['id']}/book")).json()
        assert book["bid_count"] == 1


async def test_the_winner_pays_with_a_sandbox_card_and_sees_the_receipt(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path, auction_min_duration_seconds=1) as site:
        owner = await seller(site.http)
        soon = datetime.now(UTC) + timedelta(seconds=1)
        lot = await open_lot(
            site.http,
            owner,
            currency="USD",
            start_cents=2_000,
            reserve_cents=None,
            buy_now_cents=None,
            soft_close=None,
            starts_at=soon.isoformat(),
            # Long enough for a busy machine to show the page and place the bid.
            ends_at=(soon + timedelta(seconds=20)).isoformat(),
        )
        ann, eve = await bidder(site, "Ann"), await bidder(site, "Eve")
        page = await sign_in(await new_context(DESKTOP), site, ann)
        await page.goto(f"{site.url}/auctions/{lot['id']}")
        assert "highest bidder" in await bid(page, "25")
        await expect(page.get_by_test_id("status")).to_have_text("Ended", timeout=60_000)

        async def order_listed() -> bool:
            await page.goto(f"{site.url}/orders")
            return await page.get_by_role("link", name="Pay now").count() > 0

        await eventually(order_listed, timeout=20, interval=0.5)
        await page.get_by_role("link", name="Pay now").first.click()
        order_url = page.url
        await expect(page.get_by_test_id("order-total")).to_have_text("$21.00")  # 5% premium

        await page.get_by_label("Card number").fill("4000 0000 0000 0002")
        await page.get_by_role("button", name="Pay $21.00").click()
        await expect(page.locator("#pay-result")).to_contain_text("declined")
        await expect(page.get_by_test_id("order-status")).to_have_text("Awaiting payment")

        await page.get_by_label("Card number").fill("4242 4242 4242 4242")
        await page.get_by_role("button", name="Pay $21.00").click()
        await expect(page.locator("#pay-result")).to_contain_text("Payment received")
        await expect(page.get_by_role("heading", level=1)).to_contain_text("Receipt")
        await expect(page.get_by_test_id("order-status")).to_have_text("Paid")
        await screenshots_at_both_widths(page, "receipt")

        # Another member asking for the order's page is told there is no such page.
        other = await sign_in(await new_context(PHONE), site, eve)
        response = await other.goto(order_url)
        assert response is not None and response.status == 404
        await expect(other.get_by_role("heading", level=1)).to_have_text("Page not found")


async def test_signing_up_through_the_form_signs_you_in(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path) as site:
        page = await (await new_context(PHONE)).new_page()
        await page.goto(f"{site.url}/signup")
        await page.get_by_label("Email").fill("new.member@example.org")
        await page.get_by_label("Display name").fill("New Member")
        await page.get_by_label("Password").fill("qwertyuiop")
        await page.get_by_role("button", name="Create account").click()
        await expect(page.get_by_role("alert")).to_be_visible()
        await expect(page.get_by_label("Email")).to_have_value("new.member@example.org")
        await page.get_by_label("Password").fill("a long and unusual passphrase")
        await page.get_by_role("button", name="Create account").click()
        await expect(page.get_by_role("status")).to_contain_text("Welcome, New Member")
        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_role("link", name="Sign in")).to_be_visible()
        me: Any = await page.context.cookies()
        assert not any(c["name"] == "ap_session" for c in me)
