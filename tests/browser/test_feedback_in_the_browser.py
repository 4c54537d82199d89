"""Feedback in a browser: after receipt the buyer rates the seller, changes it once, and a
second change is refused in words; the seller's profile and lot page show the score.

The sale, payment, shipment and receipt are set up through the API; the feedback is
left, changed and read through the site's pages (plain forms, no script needed).
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
from support.web_site import bidder, embedded_site, sign_in

pytestmark = pytest.mark.browser
NewContext = Callable[..., Awaitable[BrowserContext]]
TITLE = "Mahogany writing slope"


async def received_order(http: httpx.AsyncClient, sid: Account, bob: Account) -> dict[str, Any]:
    """Bob buys Sid's lot with Buy It Now, pays, Sid ships it and Bob confirms receipt."""
    lot = await open_lot(http, sid, title=TITLE, reserve_cents=None)
    bought = await http.post(f"/api/v1/auctions/{lot['id']}/buy-now", headers=bob.headers)
    assert bought.status_code < 300, bought.text

    async def ordered() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (
            await http.get("/api/v1/orders", headers=bob.headers)
        ).json()["items"]
        return items

    [order] = await eventually(ordered)
    path = f"/api/v1/orders/{order['id']}"
    steps = [
        (f"{path}/pay", bob, {"card": "4242424242424242"}),
        (f"{path}/shipment", sid, {"tracking_number": "RR123456789GB"}),
        (f"{path}/receipt", bob, None),
    ]
    for url, who, body in steps:
        answer = await http.post(url, json=body, headers=who.headers)
        assert answer.status_code == 200, (url, answer.text)
    return order


async def rate(page: Page, rating: str, comment: str, button: str) -> None:
    """Fill in and send the feedback form of the order page."""
    form = page.get_by_test_id("feedback-form")
    await form.get_by_label(rating, exact=True).check()
    await form.get_by_label("Comment").fill(comment)
    await form.get_by_role("button", name=button).click()


async def test_a_buyer_leaves_feedback_changes_it_once_and_the_score_shows(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path) as site:
        sid, bob = await seller(site.http, "Sid"), await bidder(site, "Bob")
        order = await received_order(site.http, sid, bob)
        order_url = f"{site.url}/orders/{order['id']}"
        page = await sign_in(await new_context(PHONE), site, bob)

        await page.goto(order_url)
        section = page.get_by_role("region", name="Feedback")
        await expect(section.get_by_text("You have not left feedback yet.")).to_be_visible()
        await rate(page, "Neutral", "Arrived a little late, otherwise fine.", "Leave feedback")
        result = page.locator("#feedback-result")
        await expect(result).to_contain_text("your feedback is saved")
        await expect(page.get_by_test_id("feedback-given")).to_contain_text("Arrived a little late")

        # A second tab opened now still offers the change after the first tab has used it.
        stale = await page.context.new_page()
        await stale.goto(order_url)
        await expect(stale.get_by_role("button", name="Change feedback")).to_be_visible()

        await rate(
            page, "Positive", "Arrived late, but the seller kept me posted.", "Change feedback"
        )
        await expect(result).to_contain_text(
            "Your feedback is changed. It cannot be changed again."
        )
        given = page.get_by_test_id("feedback-given")
        await expect(given.get_by_test_id("rating")).to_have_text("Positive")
        await expect(given).to_contain_text("(changed)")
        await expect(page.get_by_test_id("feedback-form")).to_have_count(0)
        await expect(page.get_by_test_id("feedback-closed")).to_contain_text(
            "cannot be changed again"
        )
        assert not await serious_accessibility_violations(page)
        await screenshots_at_both_widths(page, "feedback-order")

        await rate(stale, "Negative", "Changed my mind again.", "Change feedback")
        refusal = stale.locator("#feedback-result")
        await expect(refusal).to_contain_text(
            "You have already changed your feedback on this order once. It cannot be changed again."
        )
        await expect(stale.get_by_test_id("feedback-given").get_by_test_id("rating")).to_have_text(
            "Positive"
        )

        # The seller sees what the buyer said on the order, from their sales.
        sid_page = await sign_in(await new_context(DESKTOP), site, sid)
        await sid_page.goto(f"{site.url}/sales")
        await screenshots_at_both_widths(sid_page, "feedback-sales")
        await sid_page.get_by_role(
            "link", name=re.compile(f"Feedback on this sale.*{TITLE}")
        ).click()
        received = sid_page.get_by_test_id("feedback-received")
        await expect(received).to_contain_text("the seller kept me posted")
        await expect(sid_page.get_by_role("button", name="Leave feedback")).to_be_visible()

        # The lot page shows the seller's score beside their name, linking to the profile.
        await page.goto(f"{site.url}/auctions/{order['auction_id']}")
        score = page.get_by_test_id("seller-score")
        await expect(score).to_have_text("(1, 100.0% positive)")
        await screenshots_at_both_widths(page, "feedback-lot")
        await score.click()
        await expect(page.get_by_role("heading", name="Sid", exact=True)).to_be_visible()
        await expect(page.get_by_test_id("feedback-score")).to_have_text("1")
        await expect(page.get_by_test_id("percent-positive")).to_have_text("100.0%")
        [entry] = await page.get_by_test_id("feedback-entry").all()
        await expect(entry).to_contain_text("the seller kept me posted")
        await expect(entry).to_contain_text(f"From Bob, as buyer of {TITLE}")
        assert bob.email not in await page.content()
        assert not await serious_accessibility_violations(page)
        await screenshots_at_both_widths(page, "feedback-profile")
