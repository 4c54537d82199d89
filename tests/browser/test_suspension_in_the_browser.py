"""Suspension in a browser: an admin suspends a member from the console with an end typed
in their own time zone; the member's open session ends on their next page with the
reason and the end, their sign-in is refused with it; reinstated, they sign in again.

Plain forms, no script needed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import BrowserContext, Page, expect

from support.accounts import PASSWORD, Account
from support.browser import (
    DESKTOP,
    PHONE,
    screenshots_at_both_widths,
    serious_accessibility_violations,
)
from support.web_site import Site, admin, bidder, embedded_site, sign_in

pytestmark = pytest.mark.browser
NewContext = Callable[..., Awaitable[BrowserContext]]
REASON = "Shill bidding on a friend's lots, confirmed by the signals."
ZONE = "Asia/Kolkata"  # UTC+05:30 all year: no change of clocks to reckon with


async def fill_sign_in(page: Page, site: Site, account: Account) -> None:
    await page.goto(f"{site.url}/signin")
    await page.get_by_label("Email").fill(account.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


async def test_an_admin_suspends_a_member_who_is_signed_out_refused_then_reinstated(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path) as site:
        ann = await bidder(site, "Ann")
        root_account = await admin(site)
        member = await sign_in(await new_context(PHONE), site, ann)
        root = await sign_in(await new_context(DESKTOP), site, root_account)

        # The list finds her; her page offers the form.
        await root.goto(f"{site.url}/admin/users")
        await root.get_by_label("Find").fill(ann.email)
        await root.get_by_role("button", name="Filter").click()
        await root.get_by_role("link", name="Ann").click()
        await expect(root.get_by_role("heading", name="Ann", exact=True)).to_be_visible()
        await expect(root.get_by_test_id("standing")).to_have_text("Active")

        # An end in the past is refused in words, and what was typed is kept.
        await root.get_by_label("Reason").fill(REASON)
        await root.get_by_label("End (optional)").fill("2020-01-01T10:00")
        await root.get_by_label("Time zone of the end").select_option(ZONE)
        await root.get_by_role("button", name="Suspend this account").click()
        await expect(root.get_by_role("alert")).to_contain_text("The end must be in the future")
        await expect(root.get_by_label("Reason")).to_have_value(REASON)

        local_end = (datetime.now(ZoneInfo(ZONE)) + timedelta(days=10)).replace(
            hour=9, minute=0, second=0, microsecond=0, tzinfo=None
        )
        utc_end = local_end.replace(tzinfo=ZoneInfo(ZONE)).astimezone(UTC)
        await root.get_by_label("End (optional)").fill(local_end.strftime("%Y-%m-%dT%H:%M"))
        await expect(root.get_by_label("Time zone of the end")).to_have_value(ZONE)
        await root.get_by_role("button", name="Suspend this account").click()
        await expect(root.get_by_role("status")).to_contain_text("Suspended until")
        await expect(root.get_by_test_id("standing")).to_have_text("Suspended")
        facts = root.get_by_test_id("suspension")
        await expect(facts).to_contain_text(REASON)
        await expect(facts).to_contain_text(f"{local_end.day} {local_end:%b %Y}, 09:00 ({ZONE})")
        await expect(facts).to_contain_text(f"{utc_end:%H:%M} UTC")
        await expect(facts).to_contain_text("Root")
        await expect(root.get_by_role("button", name="Reinstate this account")).to_be_visible()
        kept = await site.http.get(
            f"/api/v1/users/{ann.id}/suspension", headers=root_account.headers
        )
        assert datetime.fromisoformat(kept.json()["suspension"]["until"]) == utc_end
        assert not await serious_accessibility_violations(root)
        await screenshots_at_both_widths(root, "admin-user-suspended")

        # The list marks her suspended, with the end.
        await root.goto(f"{site.url}/admin/users?q={ann.email}")
        row = root.get_by_role("row").filter(has_text=ann.email)
        await expect(row).to_contain_text("Suspended")
        await expect(row).to_contain_text("Suspended until")
        await expect(row.locator(f'time[datetime="{utc_end.isoformat()}"]')).to_have_count(1)
        await screenshots_at_both_widths(root, "admin-users")

        # Her open session ends on her next page, which says why and until when.
        await member.goto(f"{site.url}/account")
        notice = member.get_by_role("alert")
        await expect(notice).to_contain_text("You have been signed out")
        await expect(notice).to_contain_text(REASON)
        await expect(notice.locator(f'time[datetime="{utc_end.isoformat()}"]')).to_have_count(1)
        await expect(member.get_by_role("button", name="Sign out")).to_have_count(0)
        await member.goto(f"{site.url}/account")
        await expect(member).to_have_url(f"{site.url}/signin?next=/account")

        # Her sign-in is refused with the same words.
        await fill_sign_in(member, site, ann)
        await expect(notice).to_contain_text("This account is suspended until")
        await expect(notice).to_contain_text(REASON)
        assert not await serious_accessibility_violations(member)
        await screenshots_at_both_widths(member, "signin-suspended")

        # Reinstated, she signs in again.
        await root.goto(f"{site.url}/admin/users/{ann.id}")
        await root.get_by_role("button", name="Reinstate this account").click()
        await expect(root.get_by_role("status")).to_contain_text("Reinstated")
        await expect(root.get_by_test_id("standing")).to_have_text("Active")
        await expect(root.get_by_role("heading", name="Last suspension")).to_be_visible()
        await expect(root.get_by_role("button", name="Suspend this account")).to_be_visible()
        await fill_sign_in(member, site, ann)
        await expect(member.get_by_role("button", name="Sign out")).to_be_visible()


async def test_an_admin_cannot_suspend_their_own_account_from_the_console(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path) as site:
        account = await admin(site)
        root = await sign_in(await new_context(DESKTOP), site, account)
        await root.goto(f"{site.url}/admin/users/{account.id}")
        await expect(root.get_by_text("another admin must suspend it")).to_be_visible()
        await expect(root.get_by_role("button", name="Suspend this account")).to_have_count(0)
        # A forged post is refused by identity, and the page says so.
        await root.evaluate(
            """id => {
                const form = document.createElement('form');
                form.method = 'post';
                form.action = '/admin/users/' + id + '/suspension';
                for (const [name, value] of [['reason', 'test'], ['until', ''],
                     ['csrf_token', document.querySelector('[name=csrf_token]').value]]) {
                    const input = document.createElement('input');
                    input.name = name; input.value = value; form.appendChild(input);
                }
                document.body.appendChild(form);
                form.submit();
            }""",
            account.id,
        )
        await expect(root.get_by_role("alert")).to_contain_text("You cannot suspend your own")


async def test_a_session_renewing_its_token_is_signed_out_with_the_reason_and_no_end(
    tmp_path: Path, new_context: NewContext
) -> None:
    # Tokens of 30 s: every page renews the session's token, so the refusal is the refresh's.
    async with embedded_site(tmp_path, access_token_ttl_seconds=30) as site:
        ann = await bidder(site, "Ann")
        root = await admin(site)
        member = await sign_in(await new_context(PHONE), site, ann)
        done = await site.http.post(
            f"/api/v1/users/{ann.id}/suspension", json={"reason": REASON}, headers=root.headers
        )
        assert done.status_code == 201, done.text

        await member.goto(f"{site.url}/account")
        notice = member.get_by_role("alert")
        await expect(notice).to_contain_text("You have been signed out")
        await expect(notice).to_contain_text("until an administrator lifts the suspension")
        await expect(notice).to_contain_text(REASON)
        await expect(member.get_by_role("button", name="Sign out")).to_have_count(0)
