"""Two accounts opened in one browser: the admins' shill-signals page flags the pair."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, expect

from auction_platform.services.identity import handlers as identity_handlers
from auction_platform.services.identity.domain import CreateAdmin
from support.accounts import PASSWORD, Account, log_in
from support.auctions import open_lot, place_bid
from support.browser import DESKTOP, screenshots_at_both_widths, serious_accessibility_violations
from support.waiting import eventually
from support.web_site import Site, embedded_site, sign_in

pytestmark = pytest.mark.browser
NewContext = Callable[..., Awaitable[BrowserContext]]


async def sign_up_on_the_site(page: Page, site: Site, name: str) -> Account:
    """Open an account with the site's form (its device cookie goes along), then sign out."""
    email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    await page.goto(f"{site.url}/signup")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Display name").fill(name)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    tokens = await log_in(site.http, email)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = (await site.http.get("/api/v1/users/me", headers=headers)).json()["user"]
    return Account(me["id"], email, tokens["access_token"], tokens["refresh_token"])


async def test_accounts_opened_on_one_device_are_flagged_and_an_admin_dismisses_the_flag(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path) as site:
        assert site.platform is not None
        one_browser = await (await new_context(DESKTOP)).new_page()
        sam = await sign_up_on_the_site(one_browser, site, "Sam")
        sock = await sign_up_on_the_site(one_browser, site, "Sock")
        device = next(
            c["value"] for c in await one_browser.context.cookies() if c["name"] == "ap_device"
        )
        granted = await site.http.post("/api/v1/users/me/seller", headers=sam.headers)
        sam.access_token = granted.json()["access_token"]
        lot = await open_lot(site.http, sam)
        await place_bid(site.http, lot["id"], sock, 20_000)

        email = f"root-{uuid.uuid4().hex[:8]}@example.com"
        await identity_handlers.create_admin(
            CreateAdmin(email=email, password=PASSWORD, display_name="Root"),
            ctx=site.platform.runtimes["identity"].context,
        )
        admin = Account(id="", email=email, access_token="", refresh_token="")
        headers = {"Authorization": f"Bearer {(await log_in(site.http, email))['access_token']}"}
        kept = await site.http.get(f"/api/v1/users/{sock.id}/signup-signals", headers=headers)
        assert kept.json()["device_id"] == device

        page = await sign_in(await new_context(DESKTOP), site, admin)
        await page.goto(f"{site.url}/admin/shill-signals")
        flag = page.get_by_test_id("shill-signal").filter(has_text="Signed up like the seller")

        async def flagged() -> bool:
            await page.get_by_role("button", name="Run the job now").click()
            await expect(page.get_by_role("status")).to_contain_text("The job weighed")
            return await flag.count() == 1

        await eventually(flagged, timeout=20, interval=0.5)
        await expect(flag).to_contain_text("Signed up from the seller's device.")
        await expect(flag).to_contain_text("Sock")
        await expect(flag).to_contain_text("Sam")
        await expect(flag.get_by_test_id("signal-status")).to_have_text("Open")
        assert not await serious_accessibility_violations(page)
        await screenshots_at_both_widths(page, "admin-shill-signals")

        await flag.get_by_label("Note").fill("Spouses sharing a laptop; bids look honest")
        await flag.get_by_role("button", name="Dismiss").click()
        await expect(page.get_by_role("status")).to_contain_text("The flag is dismissed")
        await expect(flag).to_have_count(0)
        await page.get_by_label("Status").select_option("")
        await page.get_by_role("button", name="Filter").click()
        await expect(flag.get_by_test_id("signal-status")).to_have_text("Dismissed")
        await expect(flag).to_contain_text("Spouses sharing a laptop")
        await screenshots_at_both_widths(page, "admin-shill-signals-dismissed")
