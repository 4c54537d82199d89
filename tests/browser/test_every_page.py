"""Every page type: no serious accessibility violation, screenshots at phone and desktop width.

The screenshots land in ``tests/screenshots/`` (git-ignored) for people to look at.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, expect

from auction_platform.services.identity import handlers as identity
from auction_platform.services.identity.domain import CreateAdmin
from auction_platform.services.payment import scheduler
from support.accounts import PASSWORD, Account
from support.auctions import create, open_lot, place_bid, seller, unsold_lot
from support.browser import DESKTOP, screenshots_at_both_widths, serious_accessibility_violations
from support.waiting import eventually
from support.web_site import Site, bid, bidder, embedded_site, sign_in

pytestmark = pytest.mark.browser
NewContext = Callable[..., Awaitable[BrowserContext]]
_ASSETS = re.compile(r'(?:href|src)="(/static/[^"]+\.(?:css|js)(?:\?[^"]*)?)"')


async def _check(page: Page, name: str, problems: dict[str, object]) -> None:
    """Look at the page the way the suite does: axe, then both screenshots."""
    found = await serious_accessibility_violations(page)
    if found:
        problems[name] = found
    await screenshots_at_both_widths(page, name)


async def _sold_lot(site: Site, buyer_page: Page) -> str:
    """A lot the signed-in buyer of ``buyer_page`` won; its order's id."""
    owner = await seller(site.http, "Seller")
    start = datetime.now(UTC) + timedelta(seconds=1)
    lot = await open_lot(
        site.http,
        owner,
        title="Walnut writing box",
        currency="EUR",
        start_cents=4_000,
        reserve_cents=None,
        buy_now_cents=None,
        soft_close=None,
        starts_at=start.isoformat(),
        ends_at=(start + timedelta(seconds=20)).isoformat(),
    )
    await buyer_page.goto(f"{site.url}/auctions/{lot['id']}")
    await bid(buyer_page, "45")

    async def order_id() -> str:
        await buyer_page.goto(f"{site.url}/orders")
        link = buyer_page.get_by_role("link", name="Pay now")
        if not await link.count():
            return ""
        return (await link.first.get_attribute("href") or "").rsplit("/", 1)[-1]

    return await eventually(order_id, timeout=60, interval=0.5)


async def test_every_page_type_is_accessible_at_both_widths(
    tmp_path: Path, new_context: NewContext
) -> None:
    problems: dict[str, object] = {}
    async with embedded_site(tmp_path, auction_min_duration_seconds=1) as site:
        owner = await seller(site.http, "Marta")
        lot = await open_lot(site.http, owner, title="Art deco table lamp", currency="USD")
        await create(site.http, owner, title="A box of first editions", publish=True)
        unsold = await unsold_lot(site.http, owner, title="Pewter jug")
        quiet = await open_lot(site.http, owner, title="Tin robot")  # open, no bid yet
        visitor = await (await new_context(DESKTOP)).new_page()
        for path, name in (
            ("/", "home"),
            ("/auctions?q=lamp", "catalogue"),
            (f"/auctions/{lot['id']}", "lot-anonymous"),
            (f"/users/{owner.id}", "profile"),
            ("/signin", "sign-in"),
            ("/signup", "sign-up"),
            ("/no/such/page", "not-found"),
        ):
            await visitor.goto(site.url + path)
            await _check(visitor, name, problems)

        page = await sign_in(await new_context(DESKTOP), site, await bidder(site, "Noor"))
        await page.goto(f"{site.url}/auctions/{lot['id']}")
        await bid(page, "300")
        await _check(page, "lot-bidder", problems)
        await page.get_by_role("button", name="Watch this lot").click()
        order = await _sold_lot(site, page)
        for path, name in (
            ("/account", "account"),
            ("/account/notifications", "notifications"),
            ("/account/delete", "account-closing"),
            ("/my/bids", "my-bids"),
            ("/watchlist", "watchlist"),
            ("/orders", "orders"),
            (f"/orders/{order}", "order-to-pay"),
        ):
            await page.goto(site.url + path)
            await _check(page, name, problems)
        await page.get_by_label("Card number").fill("4242 4242 4242 4242")
        await page.get_by_role("button", name=re.compile(r"^Pay ")).click()
        await expect(page.get_by_test_id("order-status")).to_have_text("Paid")
        # "receipt" is the sandbox-card test's shot (test_bidding_in_the_browser.py).
        await _check(page, "receipt-every-page", problems)
        await page.get_by_text("Open a dispute", exact=True).click()
        await page.get_by_label("The lot is not as described").check()
        await page.get_by_label("Tell the seller what happened").fill("The box is oak, not walnut.")
        await page.get_by_role("button", name="Open the dispute").click()
        await expect(page.get_by_test_id("dispute-status")).to_have_text("Open")
        await _check(page, "order-dispute", problems)

        # A seller's pages.
        await page.goto(f"{site.url}/sell")
        await _check(page, "sell-become-a-seller", problems)
        await page.get_by_role("button", name="Become a seller").click()
        # The form comes with the next page: looked at before it, axe met no document.
        await expect(page.get_by_label("Title")).to_be_visible()
        await _check(page, "sell-form", problems)
        await page.get_by_label("Title").fill("Green glass lamp")
        await page.get_by_label("Category").select_option("home")
        await page.get_by_label("Start price").fill("10")
        await page.get_by_label("Reserve price").fill("5")  # below the start: refused
        await page.get_by_role("button", name="Publish").click()
        await expect(page.get_by_role("alert")).to_be_visible()
        await _check(page, "sell-form-refused", problems)
        await page.get_by_label("Reserve price").fill("")
        await page.get_by_role("button", name="Save as draft").click()
        await expect(page.get_by_role("heading", name="Green glass lamp")).to_be_visible()
        draft = page.url.rsplit("/", 1)[-1]
        for path, name in (
            (f"/auctions/{draft}/edit", "sell-edit"),
            (f"/auctions/{draft}/cancel", "sell-cancel"),
            ("/my/listings", "my-listings"),
            ("/sales", "sales"),
            ("/account/payouts", "payouts"),
        ):
            await page.goto(site.url + path)
            await _check(page, name, problems)

        # The first seller's own lots: open without a bid, with bids, ended unsold.
        marta = await sign_in(await new_context(DESKTOP), site, owner)
        for path, name in (
            (f"/auctions/{quiet['id']}", "lot-seller"),
            (f"/auctions/{quiet['id']}/edit", "sell-edit-open"),
            (f"/auctions/{lot['id']}/edit", "sell-edit-locked"),
            (f"/auctions/{unsold['id']}", "lot-seller-unsold"),
            (f"/auctions/{unsold['id']}/relist", "sell-relist"),
        ):
            await marta.goto(site.url + path)
            await _check(marta, name, problems)

        # An operator's console.
        operator, _ = await identity.create_admin(
            CreateAdmin(
                email="operator@example.org",
                password=PASSWORD,
                display_name="Operator",
            ),
            ctx=site.platform.runtimes["identity"].context,  # type: ignore[union-attr]
        )
        console = await sign_in(
            await new_context(DESKTOP), site, Account(operator.id, operator.email, "", "")
        )
        for path, name in (
            ("/admin", "admin-dashboard"),
            ("/admin/orders", "admin-orders"),
            ("/admin/payouts", "admin-payouts-list"),
            (f"/admin/auctions/{lot['id']}/cancel", "admin-cancel"),
            ("/admin/status", "admin-status"),
            ("/admin/categories", "admin-categories"),
            ("/admin/categories/kitchen", "admin-category"),
            ("/admin/audit", "admin-audit-every-page"),
            ("/admin/disputes", "admin-disputes-every-page"),
            (f"/admin/disputes/{order}", "admin-dispute-every-page"),
            ("/admin/users", "admin-users-every-page"),
            (f"/admin/users/{owner.id}", "admin-user"),
        ):
            await console.goto(site.url + path)
            await _check(console, name, problems)
    assert not problems, problems


async def _second_chance_offer(site: Site, winner: Account, runner_up: Account) -> str:
    """A lot ``winner`` won over ``runner_up`` and did not pay for: the runner-up's offer's id.

    The winner's order falls due when the payment service's deadlines pass at its due
    moment (``scheduler.run_once`` told the time), which offers the lot to the runner-up.
    """
    assert site.platform is not None
    owner = await seller(site.http, "Olga")
    start = datetime.now(UTC) + timedelta(seconds=2)
    lot = await open_lot(
        site.http,
        owner,
        title="Enamel coffee pot",
        currency="GBP",
        start_cents=1_000,
        reserve_cents=None,
        buy_now_cents=None,
        soft_close=None,
        starts_at=start.isoformat(),
        ends_at=(start + timedelta(seconds=8)).isoformat(),
    )
    await place_bid(site.http, lot["id"], runner_up, 2_400)
    await place_bid(site.http, lot["id"], winner, 3_000)

    async def unpaid() -> list[dict[str, object]]:
        answer = await site.http.get("/api/v1/orders", headers=winner.headers)
        items: list[dict[str, object]] = answer.json()["items"]
        return items

    [order] = await eventually(unpaid, timeout=60, interval=0.5)
    due = datetime.fromisoformat(str(order["due_at"]))
    payment = site.platform.runtimes["payment"].context
    await scheduler.run_once(payment, now=due + timedelta(seconds=1))
    offers = await site.http.get("/api/v1/offers", headers=runner_up.headers)
    [offer] = offers.json()["items"]
    return str(offer["id"])


async def test_a_second_chance_offer_is_accessible_at_both_widths(
    tmp_path: Path, new_context: NewContext
) -> None:
    problems: dict[str, object] = {}
    async with embedded_site(tmp_path, auction_min_duration_seconds=1) as site:
        winner, runner_up = await bidder(site, "Wanda"), await bidder(site, "Rui")
        offer = await _second_chance_offer(site, winner, runner_up)
        page = await sign_in(await new_context(DESKTOP), site, runner_up)
        await page.goto(f"{site.url}/orders")
        await expect(page.get_by_role("heading", name="Second-chance offers")).to_be_visible()
        await page.goto(f"{site.url}/offers/{offer}")
        await expect(
            page.get_by_role("heading", name=re.compile("A second chance at"))
        ).to_be_visible()
        accept = page.get_by_role("button", name="Accept for £24.00")
        await expect(accept).to_be_visible()
        await _check(page, "offer", problems)
        await accept.click()
        await expect(page.get_by_text("Offer accepted: pay to complete it.")).to_be_visible()
        await expect(page.get_by_test_id("order-status")).to_have_text("Awaiting payment")
    assert not problems, problems


async def test_a_lot_page_is_small_and_the_sites_css_and_scripts_are_light(
    tmp_path: Path,
) -> None:
    async with embedded_site(tmp_path) as site:
        owner = await seller(site.http)
        lot = await open_lot(site.http, owner)
        page = await site.http.get(f"/auctions/{lot['id']}")
        assert page.status_code == 200
        assert len(page.content) < 60_000
        compressed = 0
        for asset in set(_ASSETS.findall(page.text)):
            answer = await site.http.get(asset, headers={"Accept-Encoding": "gzip"})
            assert answer.status_code == 200
            assert answer.headers.get("content-encoding") == "gzip"
            assert "immutable" in answer.headers["cache-control"]
            compressed += len(gzip.compress(answer.content))  # httpx decoded it
        assert 0 < compressed < 120_000


async def test_pages_forbid_other_hosts_and_keep_the_session_cookie_from_scripts(
    tmp_path: Path,
) -> None:
    async with embedded_site(tmp_path) as site:
        home = await site.http.get("/")
        policy = home.headers["content-security-policy"]
        assert "default-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        account = await bidder(site, "Lee")
        form = await site.http.get("/signin")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        signed_in = await site.http.post(
            "/signin",
            data={
                "email": account.email,
                "password": "correct-Horse-battery-42",
                "next": "/",
                "csrf_token": token.group(1),
            },
        )
        cookie = signed_in.headers["set-cookie"]
        assert cookie.startswith("ap_session=")
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        # The cookie is a random name for a session on the server, not a token.
        value = cookie.split(";", 1)[0].split("=", 1)[1]
        assert value.count(".") < 2 and len(value) < 60
