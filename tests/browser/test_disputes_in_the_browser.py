"""Disputes in a browser: the buyer of a paid order opens one from the order's page, the
seller answers from their sales and gives part of the money back, an admin decides the
rest from the console, and the buyer's order page shows what came back.

The sale and the payment are set up through the API; everything else goes through the
site's plain forms (the seller's browser runs without JavaScript).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import BrowserContext, Page, expect

from support.accounts import Account
from support.auctions import open_lot, seller
from support.browser import (
    DESKTOP,
    PHONE,
    screenshots_at_both_widths,
    serious_accessibility_violations,
)
from support.waiting import eventually
from support.web_site import admin, bidder, embedded_site, sign_in

pytestmark = pytest.mark.browser
NewContext = Callable[..., Awaitable[BrowserContext]]
TITLE = "Georgian silver teapot"


async def paid_order(http: httpx.AsyncClient, sid: Account, bob: Account) -> dict[str, Any]:
    """Bob buys Sid's lot with Buy It Now (200.00 EUR) and pays it; the paid order."""
    lot = await open_lot(http, sid, title=TITLE, reserve_cents=None, buy_now_cents=20_000)
    bought = await http.post(f"/api/v1/auctions/{lot['id']}/buy-now", headers=bob.headers)
    assert bought.status_code < 300, bought.text

    async def ordered() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (
            await http.get("/api/v1/orders", headers=bob.headers)
        ).json()["items"]
        return items

    [order] = await eventually(ordered)
    paid = await http.post(
        f"/api/v1/orders/{order['id']}/pay", json={"card": "4242424242424242"}, headers=bob.headers
    )
    assert paid.status_code == 200, paid.text
    document: dict[str, Any] = paid.json()["order"]
    return document


async def write(page: Page, words: str) -> None:
    """Send a message in the dispute's thread."""
    await page.get_by_label("Your message").fill(words)
    await page.get_by_role("button", name="Send the message").click()


async def refund(page: Page, amount: str) -> None:
    """The seller's refund form."""
    await page.get_by_label("Amount to give back (EUR)").fill(amount)
    await page.get_by_role("button", name="Give back this amount").click()


async def test_a_buyer_disputes_the_seller_refunds_part_and_an_admin_decides_the_rest(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path) as site:
        sid, bob = await seller(site.http, "Sid"), await bidder(site, "Bob")
        root = await admin(site)
        order = await paid_order(site.http, sid, bob)
        total = order["total_cents"]
        assert total == 21_000, order  # 200.00 and the buyer's premium
        order_url = f"{site.url}/orders/{order['id']}"

        # The buyer opens a dispute from the order's page.
        buyer = await sign_in(await new_context(PHONE), site, bob)
        await buyer.goto(order_url)
        section = buyer.get_by_role("region", name="A problem with this order?")
        await expect(section).to_contain_text("you may open a dispute until")
        await section.get_by_text("Open a dispute", exact=True).click()
        await section.get_by_label("The lot has not arrived").check()
        await section.get_by_label("Tell the seller what happened").fill(
            "Paid two weeks ago and nothing has come, nor any tracking number."
        )
        await section.get_by_role("button", name="Open the dispute").click()
        result = buyer.locator("#dispute-result")
        await expect(result).to_contain_text("Your dispute is open.")
        await expect(buyer.get_by_test_id("dispute-status")).to_have_text("Open")
        thread = buyer.get_by_test_id("dispute-thread")
        await expect(thread).to_contain_text("You")
        await expect(thread).to_contain_text("nothing has come")
        await expect(buyer.get_by_test_id("dispute-open-form")).to_have_count(0)
        await expect(buyer.get_by_test_id("dispute-refund-form")).to_have_count(0)
        assert not await serious_accessibility_violations(buyer)
        await screenshots_at_both_widths(buyer, "dispute-buyer")

        # The seller reaches it from their sales, answers and gives part back (no script).
        seller_page = await sign_in(
            await new_context(DESKTOP, java_script_enabled=False), site, sid
        )
        await seller_page.goto(f"{site.url}/sales")
        await expect(seller_page.get_by_test_id("sale-dispute")).to_contain_text("Dispute open")
        await seller_page.get_by_role(
            "link", name=re.compile(f"The buyer's dispute.*{TITLE}.*read and answer")
        ).click()
        await write(seller_page, "It left on Monday; the carrier lost it. Part back now?")
        said = seller_page.locator("#dispute-result")
        await expect(said).to_contain_text("Your message is in the thread")
        await expect(seller_page.get_by_test_id("dispute-thread")).to_contain_text("The buyer")
        await expect(seller_page.get_by_test_id("dispute-refundable")).to_have_text("€210.00")
        await screenshots_at_both_widths(seller_page, "dispute-seller-refund")
        await refund(seller_page, "250")
        await expect(said).to_contain_text(
            "That is more than is left of the payment: at most €210.00 can be given back."
        )
        await refund(seller_page, "12,5x")
        await expect(said).to_contain_text("The amount to give back: enter an amount as digits")
        await refund(seller_page, "50")
        await expect(said).to_have_text("You gave back €50.00; €160.00 is left. The buyer is told.")
        await expect(seller_page.get_by_test_id("dispute-refunded")).to_have_text("€50.00")
        await expect(seller_page.get_by_test_id("dispute-thread")).to_contain_text(
            "You gave back €50.00"
        )

        # The buyer sees the money given back so far, and answers.
        await buyer.goto(order_url)
        await expect(buyer.get_by_test_id("order-refunded")).to_have_text("€50.00")
        await expect(buyer.get_by_test_id("order-status")).to_have_text("Paid")
        await expect(buyer.get_by_test_id("dispute-thread")).to_contain_text(
            "The seller gave back €50.00"
        )
        await write(buyer, "That is a quarter of what I paid. I want all of it back.")
        await expect(result).to_contain_text("Your message is in the thread")

        # The admin finds it among the open disputes and decides the rest.
        console = await sign_in(await new_context(DESKTOP), site, root)
        await console.goto(f"{site.url}/admin/disputes")
        [row] = await console.get_by_test_id("dispute-row").all()
        await expect(row).to_contain_text(TITLE)
        await expect(row).to_contain_text("Bob")
        await expect(row).to_contain_text("Sid")
        await expect(row).to_contain_text("The lot has not arrived")
        await expect(row).to_contain_text("€50.00")
        assert not await serious_accessibility_violations(console)
        await screenshots_at_both_widths(console, "admin-disputes")
        await row.get_by_role("link", name=f"Thread of {TITLE}").click()
        await expect(console.get_by_test_id("dispute-thread")).to_contain_text("Bob (buyer)")
        form = console.get_by_test_id("dispute-decision-form")
        await form.get_by_label("Refund the buyer the amount below").check()
        await form.get_by_label("Reason").fill("The seller's carrier lost it: the rest is due.")
        await form.get_by_label("Amount to give back (EUR)").fill("200")
        await form.get_by_role("button", name="Decide and close the dispute").click()
        await expect(console.get_by_role("status")).to_contain_text("at most €160.00")
        assert not await serious_accessibility_violations(console)
        await screenshots_at_both_widths(console, "admin-dispute")
        form = console.get_by_test_id("dispute-decision-form")
        await form.get_by_label("Refund the buyer the amount below").check()
        await form.get_by_label("Reason").fill("The seller's carrier lost it: the rest is due.")
        await form.get_by_label("Amount to give back (EUR)").fill("160")
        await form.get_by_role("button", name="Decide and close the dispute").click()
        await expect(console.get_by_role("status")).to_contain_text(
            f"{TITLE}: Decided: €160.00 given back to the buyer."
        )
        await expect(console.get_by_text("No open disputes.")).to_be_visible()

        # The buyer's order is refunded in full; the dispute says how it ended.
        await buyer.goto(order_url)
        await expect(buyer.get_by_test_id("order-status")).to_have_text("Refunded")
        await expect(buyer.get_by_test_id("order-refunded")).to_contain_text("€210.00")
        await expect(buyer.get_by_test_id("dispute-status")).to_have_text("Resolved")
        await expect(buyer.get_by_test_id("dispute-outcome")).to_contain_text(
            "Decided by an admin in the buyer's favour"
        )
        await expect(buyer.locator("#dispute")).to_contain_text("the rest is due")
        await expect(buyer.get_by_test_id("dispute-message-form")).to_have_count(0)
        await screenshots_at_both_widths(buyer, "dispute-buyer-resolved")
