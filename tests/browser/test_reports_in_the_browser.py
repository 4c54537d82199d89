"""Reports in a browser: a member reports a lot from its page, an admin removes it from the
moderation queue, and the reporter is told by mail; a member is reported from their profile.

The forms are plain (no script needed); mail goes to a real SMTP server.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, expect

from auction_platform.services.identity import handlers as identity_handlers
from auction_platform.services.identity.domain import CreateAdmin
from support.accounts import PASSWORD, Account, log_in
from support.auctions import open_lot, seller
from support.browser import (
    DESKTOP,
    PHONE,
    screenshots_at_both_widths,
    serious_accessibility_violations,
)
from support.smtp import smtp_server
from support.web_site import Site, bidder, embedded_site, sign_in

pytestmark = pytest.mark.browser
NewContext = Callable[..., Awaitable[BrowserContext]]
TITLE = "Rolex Submariner, boxed"


async def admin(site: Site) -> Account:
    """A new admin account."""
    assert site.platform is not None
    email = f"root-{uuid.uuid4().hex[:8]}@example.com"
    made, _ = await identity_handlers.create_admin(
        CreateAdmin(email=email, password=PASSWORD, display_name="Root"),
        ctx=site.platform.runtimes["identity"].context,
    )
    tokens = await log_in(site.http, email)
    return Account(made.id, email, tokens["access_token"], tokens["refresh_token"])


async def test_a_member_reports_a_lot_the_admin_removes_it_and_the_reporter_is_told(
    tmp_path: Path, new_context: NewContext
) -> None:
    with smtp_server() as smtp:
        async with embedded_site(tmp_path, **smtp.settings()) as site:
            sam, ann = await seller(site.http, "Sam"), await bidder(site, "Ann")
            lot = await open_lot(site.http, sam, title=TITLE)
            page = await sign_in(await new_context(PHONE), site, ann)

            await page.goto(f"{site.url}/auctions/{lot['id']}")
            await page.get_by_role("link", name="Report this listing").click()
            heading = page.get_by_role("heading", name=f"Report the listing “{TITLE}”")
            await expect(heading).to_be_visible()
            # "Something else" needs words: the form says so and keeps the choice.
            await page.get_by_label("Something else (say what)").check()
            await page.get_by_role("button", name="Send the report").click()
            await expect(page.get_by_text("a comment is required")).to_be_visible()
            await expect(page.get_by_label("Something else (say what)")).to_be_checked()
            await page.get_by_label("A counterfeit or replica").check()
            await page.get_by_label("Tell us more").fill("The dial font is wrong for 1990.")
            assert not await serious_accessibility_violations(page)
            await screenshots_at_both_widths(page, "report-form")
            await page.get_by_role("button", name="Send the report").click()
            await expect(page.get_by_role("status")).to_contain_text("our team will review")

            # A second report of the same lot while the first is open is refused in words.
            await page.goto(f"{site.url}/auctions/{lot['id']}/report")
            await page.get_by_label("A prohibited item").check()
            await page.get_by_role("button", name="Send the report").click()
            await expect(page.get_by_text("you have reported this already")).to_be_visible()

            # Ann reports Sam from his profile too.
            await page.goto(f"{site.url}/users/{sam.id}")
            await page.get_by_role("link", name="Report this member").click()
            await page.get_by_label("Shill bidding (bids to push the price up)").check()
            await page.get_by_role("button", name="Send the report").click()
            await expect(page.get_by_role("status")).to_contain_text("our team will review")

            root = await sign_in(await new_context(DESKTOP), site, await admin(site))
            await root.goto(f"{site.url}/admin/reports")
            cards = root.get_by_test_id("report-target")
            await expect(cards).to_have_count(2)
            listing = cards.filter(has_text=TITLE)
            await expect(listing).to_contain_text("The dial font is wrong for 1990.")
            await expect(listing).to_contain_text("Sam")  # the seller, by name
            await expect(listing).to_contain_text("Ann")  # the reporter, by name
            member = cards.filter(has_text="Shill bidding")
            await expect(member).to_contain_text("Open listings")
            await expect(member.get_by_label("Remove the listing")).to_have_count(0)
            assert not await serious_accessibility_violations(root)
            await screenshots_at_both_widths(root, "admin-reports")

            await listing.get_by_label("Remove the listing").check()
            await listing.get_by_label("Note").fill("Counterfeit watch.")
            await listing.get_by_role("button", name="Resolve 1 report").click()
            flash = root.get_by_role("status")
            await expect(flash).to_contain_text("Removed the listing: 1 report.")
            await expect(cards).to_have_count(1)

            # Suspending through the console: identity suspends, or the console says it did not.
            await member.get_by_label("Suspend the member").check()
            await member.get_by_role("button", name="Resolve 1 report").click()
            await expect(root.get_by_role("status")).to_contain_text("Recorded the suspension")
            await expect(root.get_by_text("No open reports.")).to_be_visible()

            answer = await site.http.get(f"/api/v1/auctions/{lot['id']}")
            assert answer.json()["auction"]["status"] == "cancelled"
            mails = await smtp.wait_for(ann.email, "report_resolved", count=2)
            removed = next(m for m in mails if TITLE in m.subject)
            assert "removed the listing" in removed.text
            assert "Counterfeit watch." not in removed.text

            await root.goto(f"{site.url}/admin/reports?status=all")
            await expect(cards).to_have_count(2)
            await screenshots_at_both_widths(root, "admin-reports-resolved")
