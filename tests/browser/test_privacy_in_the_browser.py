"""A member's data in a browser: they download it, are refused deletion while they lead an
auction (the reason in words), then delete their account once nothing is open.

The pages are plain forms (no script needed); the platform is embedded and real.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, expect

from support.accounts import PASSWORD
from support.auctions import open_lot, place_bid, seller
from support.browser import (
    PHONE,
    screenshots_at_both_widths,
    serious_accessibility_violations,
)
from support.web_site import bidder, embedded_site, sign_in

pytestmark = pytest.mark.browser
NewContext = Callable[..., Awaitable[BrowserContext]]


async def test_a_member_downloads_their_data_and_deletes_their_account(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path) as site:
        sam = await seller(site.http, "Sam")
        ann, bob = await bidder(site, "Ann"), await bidder(site, "Bob")
        lot = await open_lot(site.http, sam, title="A walnut writing box")
        await place_bid(site.http, lot["id"], ann, 15_000)
        page = await sign_in(await new_context(PHONE), site, ann)

        await page.goto(f"{site.url}/account")
        await screenshots_at_both_widths(page, "account-your-data")
        async with page.expect_download() as waiting:
            await page.get_by_role("link", name="Download my data").click()
        download = await waiting.value
        assert download.suggested_filename == "my-data.json"
        saved = Path(await download.path())
        mine = json.loads(await asyncio.to_thread(saved.read_text, encoding="utf-8"))
        assert mine["account"]["email"] == ann.email
        assert [(b["auction_id"], b["max_cents"]) for b in mine["bidding"]["bids"]] == [
            (lot["id"], 15_000)
        ]

        await page.get_by_role("link", name="Delete my account").click()
        await expect(page.get_by_role("heading", name="Delete your account")).to_be_visible()
        await expect(page.get_by_text("This cannot be undone.")).to_be_visible()
        assert not await serious_accessibility_violations(page)
        await screenshots_at_both_widths(page, "account-delete")

        password = page.get_by_label("Your password, to confirm")
        await password.fill("not-my-password-at-all")
        await page.get_by_role("button", name="Delete my account").click()
        await expect(page.get_by_role("alert")).to_contain_text("That password is not right")

        await password.fill(PASSWORD)
        await page.get_by_role("button", name="Delete my account").click()
        refusal = page.get_by_role("alert")
        await expect(refusal).to_contain_text("Your account cannot be deleted yet")
        await expect(refusal).to_contain_text("You are the highest bidder on an auction")
        await expect(refusal.get_by_role("link", name="My bids")).to_be_visible()
        assert not await serious_accessibility_violations(page)
        await screenshots_at_both_widths(page, "account-delete-refused")
        mine_still = await site.http.get("/api/v1/users/me", headers=ann.headers)
        assert mine_still.status_code == 200

        # Outbid, Ann leads nothing: nothing keeps her account open any more.
        await place_bid(site.http, lot["id"], bob, 20_000)
        await page.goto(f"{site.url}/account/delete")
        await page.get_by_label("Your password, to confirm").fill(PASSWORD)
        await page.get_by_role("button", name="Delete my account").click()
        await expect(page.get_by_role("status")).to_contain_text("Your account is deleted")
        assert page.url.startswith(f"{site.url}/?")
        await expect(page.get_by_role("link", name="Sign in")).to_be_visible()
        await expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

        await page.goto(f"{site.url}/account")
        assert "/signin" in page.url
        await page.get_by_label("Email").fill(ann.email)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("alert")).to_be_visible()
        await expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

        await page.goto(f"{site.url}/users/{ann.id}")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Deleted user")
        assert ann.email not in await page.content()
