"""The admins' audit trail page: an admin's role change shown, filtered and downloaded."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, expect

from auction_platform.services.identity import handlers as identity_handlers
from auction_platform.services.identity.domain import CreateAdmin
from support.accounts import PASSWORD, Account, log_in, sign_up
from support.browser import DESKTOP, screenshots_at_both_widths, serious_accessibility_violations
from support.waiting import eventually
from support.web_site import embedded_site, sign_in

pytestmark = pytest.mark.browser
NewContext = Callable[..., Awaitable[BrowserContext]]


async def test_an_admin_reads_filters_and_downloads_the_audit_trail(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path) as site:
        assert site.platform is not None
        email = f"root-{uuid.uuid4().hex[:8]}@example.com"
        await identity_handlers.create_admin(
            CreateAdmin(email=email, password=PASSWORD, display_name="Root"),
            ctx=site.platform.runtimes["identity"].context,
        )
        headers = {"Authorization": f"Bearer {(await log_in(site.http, email))['access_token']}"}
        ann = await sign_up(site.http, name="Ann")
        changed = await site.http.put(
            f"/api/v1/users/{ann.id}/roles",
            json={"roles": ["bidder", "seller"], "reason": "verified trader"},
            headers=headers,
        )
        assert changed.status_code == 200, changed.text

        async def recorded() -> bool:
            found = await site.http.get(
                "/api/v1/analytics/audit", params={"target": f"user:{ann.id}"}, headers=headers
            )
            return bool(found.json()["items"])

        await eventually(recorded)
        admin = Account(id="", email=email, access_token="", refresh_token="")
        page = await sign_in(await new_context(DESKTOP), site, admin)
        await page.goto(f"{site.url}/admin")
        await page.get_by_role("link", name="Audit trail").click()
        records = page.get_by_test_id("audit-record")
        await expect(records).to_have_count(2)  # the admin's making (system), and the change
        change = records.filter(has_text="user.roles_changed").filter(has_text="verified trader")
        await expect(change).to_contain_text("Root")
        assert not await serious_accessibility_violations(page)
        await screenshots_at_both_widths(page, "admin-audit")

        await page.get_by_label("Target").fill(f"user:{ann.id}")
        await page.get_by_role("button", name="Filter").click()
        await expect(records).to_have_count(1)
        await change.get_by_text("4 fields").click()
        await expect(change).to_contain_text('"granted"')
        await screenshots_at_both_widths(page, "admin-audit-filtered")

        async with page.expect_download() as waiting:
            await page.get_by_role("link", name="Download JSON lines").click()
        download = await waiting.value
        saved = Path(await download.path())
        lines = (await asyncio.to_thread(saved.read_text)).splitlines()
        [line] = [json.loads(text) for text in lines]
        assert (line["action"], line["target"], line["reason"]) == (
            "user.roles_changed",
            f"user:{ann.id}",
            "verified trader",
        )

        await page.get_by_label("From").fill("2025-02-01")
        await page.get_by_label("To").fill("2025-01-01")
        await page.get_by_role("button", name="Filter").click()
        await expect(page.get_by_test_id("audit-problem")).to_contain_text("from must not be")

        member = await sign_in(await new_context(DESKTOP), site, ann)
        answer = await member.goto(f"{site.url}/admin/audit")
        assert answer is not None and answer.status == 403
