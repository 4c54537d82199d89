"""One sale as people make it, every step in a browser: list, bid, win, pay, report."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, expect

from auction_platform.services.identity import handlers as identity
from auction_platform.services.identity.domain import CreateAdmin
from support.accounts import PASSWORD, Account
from support.browser import DESKTOP, PHONE, screenshots_at_both_widths
from support.waiting import eventually
from support.web_site import LIVE_DEADLINE_MS, bid, bidder, embedded_site, sign_in

pytestmark = pytest.mark.browser
NewContext = Callable[..., Awaitable[BrowserContext]]
# Long enough for two bidders to bid on a busy machine, short enough to wait for.
LOT_SECONDS = 25


async def _list_a_lot(page: Page, url: str) -> str:
    """Become a seller and list a lot through the forms; the lot's address."""
    await page.goto(f"{url}/sell")
    await page.get_by_role("button", name="Become a seller").click()
    await expect(page.get_by_label("Title")).to_be_visible()
    await page.get_by_label("Title").fill("Mahogany writing slope")
    await page.get_by_label("Description").fill("A Victorian writing slope with its key.")
    await page.get_by_label("Category").select_option("collectibles")
    await page.get_by_label("Image URLs").fill("/static/demo/chair.svg")
    await page.get_by_label("Currency").select_option("USD")
    await page.get_by_label("Start price").fill("20")
    await page.get_by_label("Duration").select_option(str(LOT_SECONDS))
    await page.get_by_label("Soft close").uncheck()
    await page.get_by_role("button", name="Preview").click()
    await expect(page.get_by_text("Mahogany writing slope").first).to_be_visible()
    await screenshots_at_both_widths(page, "sell-preview")
    await page.get_by_role("button", name="Publish").click()
    await expect(page.get_by_role("heading", name="Mahogany writing slope")).to_be_visible()
    trail = page.get_by_role("navigation", name="Category")
    await expect(trail.get_by_role("link", name="Collectibles")).to_be_visible()
    return page.url


async def test_a_lot_is_listed_bid_on_won_paid_for_and_reported(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path, auction_min_duration_seconds=LOT_SECONDS) as site:
        assert site.platform is not None
        ann, bob = await bidder(site, "Ann"), await bidder(site, "Bob")
        ann_page = await sign_in(await new_context(DESKTOP), site, ann)
        bob_page = await sign_in(await new_context(PHONE), site, bob)
        seller_page = await sign_in(await new_context(DESKTOP), site, await bidder(site, "Sid"))

        lot_url = await _list_a_lot(seller_page, site.url)
        for page in (ann_page, bob_page):
            await page.goto(lot_url)
            await expect(page.get_by_label("Your maximum bid")).to_be_visible(timeout=20_000)
        assert "highest bidder at $20.00" in await bid(ann_page, "30")
        await expect(bob_page.get_by_test_id("current-price")).to_have_text(
            "$20.00", timeout=LIVE_DEADLINE_MS
        )
        assert "another bidder's maximum is higher" in await bid(bob_page, "25")
        await expect(ann_page.get_by_test_id("current-price")).to_have_text(
            "$26.00", timeout=LIVE_DEADLINE_MS
        )
        assert "highest bidder at $31.00" in await bid(bob_page, "45")
        await expect(ann_page.get_by_test_id("leader")).to_have_text(
            await bob_page.get_by_test_id("leader").inner_text(), timeout=LIVE_DEADLINE_MS
        )

        # The close reaches both pages by itself.
        for page in (ann_page, bob_page):
            await expect(page.get_by_test_id("status")).to_have_text(
                "Ended", timeout=(LOT_SECONDS + 30) * 1000
            )

        async def to_pay() -> bool:
            await bob_page.goto(f"{site.url}/orders")
            return await bob_page.get_by_role("link", name="Pay now").count() > 0

        await eventually(to_pay, timeout=30, interval=0.5)
        await bob_page.get_by_role("link", name="Pay now").first.click()
        await bob_page.get_by_label("Card number").fill("4242 4242 4242 4242")
        await bob_page.get_by_role("button", name=re.compile(r"^Pay \$32\.55$")).click()
        await expect(bob_page.get_by_test_id("order-status")).to_have_text("Paid")

        operator, _ = await identity.create_admin(
            CreateAdmin(
                email="operator@example.org",
                password=PASSWORD,
                display_name="Operator",
            ),
            ctx=site.platform.runtimes["identity"].context,
        )
        admin = Account(operator.id, operator.email, "", "")
        admin_page = await sign_in(await new_context(DESKTOP), site, admin)

        async def sale_on_the_chart() -> bool:
            await admin_page.goto(f"{site.url}/admin")
            chart = admin_page.get_by_role("img", name="GMV per day in USD")
            return await chart.count() > 0

        await eventually(sale_on_the_chart, timeout=30, interval=0.5)
        await expect(admin_page.locator("body")).to_contain_text("$31.00")
        await screenshots_at_both_widths(admin_page, "admin-dashboard-after-a-sale")
