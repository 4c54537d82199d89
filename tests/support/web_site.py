"""The site as a browser test drives it: a served platform, people, and their pages."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import BrowserContext, Page, expect

from auction_platform.composition import Platform
from auction_platform.services.identity import handlers as identity_handlers
from auction_platform.services.identity.domain import CreateAdmin
from auction_platform.settings import SERVICES
from support.accounts import PASSWORD, Account, log_in, sign_up
from support.http_server import serving
from support.platforms import embedded_settings, running

# How long a browser waits for the live price from another's bid: a deadline for a
# loaded test machine, not a measure (on a quiet one it arrives well within a second).
LIVE_DEADLINE_MS = 15_000
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Site:
    """A platform served on a loopback port, with an API client on the same address."""

    url: str
    http: httpx.AsyncClient
    platform: Platform | None = None


@contextlib.asynccontextmanager
async def embedded_site(tmp_path: Path, **overrides: Any) -> AsyncIterator[Site]:
    """``auction-platform up`` in this process: every service, SQLite, served over HTTP."""
    settings = embedded_settings(tmp_path / "data", **overrides)
    async with (
        running(settings, list(SERVICES), embedded=True) as platform,
        serving(platform.apps["gateway"]) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield Site(url, http, platform)


async def sign_in(context: BrowserContext, site: Site, account: Account) -> Page:
    """A page signed in as ``account`` through the sign-in form."""
    page = await context.new_page()
    await page.goto(f"{site.url}/signin")
    await page.get_by_label("Email").fill(account.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return page


async def admin(site: Site, name: str = "Root") -> Account:
    """A new admin account (as ``auction-platform create-admin`` makes one), signed in."""
    assert site.platform is not None
    email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    made, _ = await identity_handlers.create_admin(
        CreateAdmin(email=email, password=PASSWORD, display_name=name),
        ctx=site.platform.runtimes["identity"].context,
    )
    tokens = await log_in(site.http, email)
    return Account(made.id, email, tokens["access_token"], tokens["refresh_token"])


async def bidder(site: Site, name: str) -> Account:
    """A new bidder account (through the API)."""
    return await sign_up(site.http, name=name)


async def bid(page: Page, amount: str) -> str:
    """Place a maximum bid on the lot page; the text of the result."""
    status = page.locator("#bid-result")
    await status.evaluate("box => { box.textContent = ''; }")
    await page.get_by_label("Your maximum bid").fill(amount)
    await page.get_by_role("button", name="Place bid").click()
    await expect(status).not_to_be_empty()
    return await status.inner_text()
