"""A seller follows their money to a payout, and an admin holds and releases one, in a browser."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, expect

from auction_platform.services.identity import handlers as identity_handlers
from auction_platform.services.identity.domain import CreateAdmin
from auction_platform.services.payment.domain import Order
from support.accounts import PASSWORD, Account
from support.browser import DESKTOP, screenshots_at_both_widths, serious_accessibility_violations
from support.sales import auction_closed, order_of, shipped_and_received
from support.waiting import eventually
from support.web_site import Site, bidder, embedded_site, sign_in

pytestmark = pytest.mark.browser
NewContext = Callable[..., Awaitable[BrowserContext]]


async def sold_and_paid(site: Site, seller: Account, buyer: Account, title: str) -> Order:
    """A lot of ``seller`` won by ``buyer`` for 100.00 EUR, paid with the sandbox's card."""
    assert site.platform is not None
    sale = auction_closed(seller.id, buyer.id, title=title, price_cents=10_000)
    order = await order_of(site.platform, sale)
    paying = await site.http.post(
        f"/api/v1/orders/{order.id}/pay", json={"card": "4242424242424242"}, headers=buyer.headers
    )
    assert paying.status_code == 200, paying.text
    return order


async def test_a_seller_connects_and_sees_the_payout_sent(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path) as site:
        assert site.platform is not None
        sam, bob = await bidder(site, "Sam"), await bidder(site, "Bob")
        page = await sign_in(await new_context(DESKTOP), site, sam)
        await page.goto(f"{site.url}/account/payouts")
        await expect(page.get_by_text("Nothing yet")).to_be_visible()
        waiting = await sold_and_paid(site, sam, bob, "Brass ship's barometer")
        await sold_and_paid(site, sam, bob, "Pair of Delft tiles")
        await shipped_and_received(site.platform, waiting)

        await page.reload()
        balance = page.get_by_test_id("balance-EUR")
        await expect(balance).to_contain_text("Pending (not yet received)€90.00")
        await expect(balance).to_contain_text("Available (being paid)€90.00")
        status = page.get_by_test_id("payout-status")
        await expect(status).to_have_text("Waiting for your payout account")
        assert not await serious_accessibility_violations(page)
        await screenshots_at_both_widths(page, "payouts-waiting-for-an-account")

        await page.get_by_role("button", name="Connect a payout account").click()
        await expect(page.get_by_role("status")).to_contain_text("payout account is connected")
        await expect(page.get_by_text("Connected", exact=True)).to_be_visible()

        async def paid_out() -> bool:
            await page.reload()
            return await status.text_content() == "Paid out"

        await eventually(paid_out)
        await expect(balance).to_contain_text("Paid out€90.00")
        await screenshots_at_both_widths(page, "payouts-paid-out")


async def test_an_admin_holds_a_payout_then_releases_it(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path) as site:
        assert site.platform is not None
        ann, bob = await bidder(site, "Ann"), await bidder(site, "Bob")
        order = await sold_and_paid(site, ann, bob, "Edwardian writing slope")
        await shipped_and_received(site.platform, order)
        email = f"root-{uuid.uuid4().hex[:8]}@example.com"
        await identity_handlers.create_admin(
            CreateAdmin(email=email, password=PASSWORD, display_name="Root"),
            ctx=site.platform.runtimes["identity"].context,
        )
        admin = Account(id="", email=email, access_token="", refresh_token="")
        page = await sign_in(await new_context(DESKTOP), site, admin)
        await page.goto(f"{site.url}/admin/payouts")
        status = page.get_by_test_id("payout-status")
        await expect(status).to_contain_text("Awaiting account")
        await screenshots_at_both_widths(page, "admin-payouts")
        await page.get_by_label("Why hold it").fill("Buyer reports a cracked lid")
        await page.get_by_role("button", name="Hold").click()
        await expect(page.get_by_role("status")).to_contain_text("The payout of €90.00 is held")
        await expect(status).to_contain_text("Held")
        await expect(page.get_by_role("cell", name="Held")).to_contain_text("cracked lid")
        assert not await serious_accessibility_violations(page)
        await screenshots_at_both_widths(page, "admin-payouts-held")
        await page.get_by_role("button", name="Release").click()
        await expect(page.get_by_role("status")).to_contain_text("released")
        await expect(status).to_contain_text("Awaiting account")
