"""Sellers in real browsers: an open lot edited until its first bid, an unsold lot relisted."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, expect

from support.auctions import open_lot, place_bid, seller, unsold_lot
from support.browser import DESKTOP, PHONE, screenshots_at_both_widths
from support.browser import serious_accessibility_violations as violations
from support.web_site import LIVE_DEADLINE_MS, Site, bidder, embedded_site, sign_in

pytestmark = pytest.mark.browser
NewContext = Callable[..., Awaitable[BrowserContext]]


async def _look(page: Page, name: str) -> None:
    """No serious accessibility violation; screenshots at both widths to look at.

    Only with JavaScript: axe runs in the page (without it, evaluate never answers).
    """
    found = await violations(page)
    assert not found, found
    await screenshots_at_both_widths(page, name)


async def _api_lot(site: Site, lot_id: str, headers: dict[str, str]) -> dict[str, object]:
    answer = await site.http.get(f"/api/v1/auctions/{lot_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    lot: dict[str, object] = answer.json()["auction"]
    return lot


async def test_an_open_lot_is_edited_until_its_first_bid_without_javascript(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path) as site:
        owner = await seller(site.http, "Marta")
        lot = await open_lot(
            site.http, owner, title="Art deco table lamp", currency="EUR", start_cents=10_000
        )
        context = await new_context(PHONE, java_script_enabled=False)
        page = await sign_in(context, site, owner)
        await page.goto(f"{site.url}/auctions/{lot['id']}")
        await page.get_by_role("link", name="Edit this lot").click()

        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "Edit “Art deco table lamp”"
        )
        # An open lot keeps its start and its currency: the form shows them, fixed.
        await expect(page.get_by_test_id("fixed-currency")).to_have_text("EUR")
        await expect(page.get_by_label("Currency")).to_have_count(0)
        await expect(page.get_by_test_id("fixed-start")).to_contain_text("Opened")
        await expect(page.get_by_label("Start time")).to_have_count(0)
        await page.get_by_label("Title").fill("Art deco table lamp, 1930s")
        await page.get_by_label("Start price").fill("80")
        await page.get_by_label("Duration").select_option("86400")
        await page.get_by_role("button", name="Preview").click()
        await expect(page.get_by_role("heading", name="Preview")).to_be_visible()
        await expect(page.locator(".preview-lot .price")).to_have_text("€80.00")
        await page.get_by_role("button", name="Save changes").click()

        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "Art deco table lamp, 1930s"
        )
        await expect(page.get_by_role("status")).to_have_text("Your changes are saved.")
        await expect(page.get_by_test_id("current-price")).to_have_text("€80.00")
        edited = await _api_lot(site, lot["id"], owner.headers)
        assert (edited["start_cents"], edited["duration_seconds"]) == (8_000, 86_400)
        assert (edited["starts_at"], edited["currency"]) == (lot["starts_at"], "EUR")

        await place_bid(site.http, lot["id"], await bidder(site, "Noor"), 9_000)
        await page.goto(f"{site.url}/auctions/{lot['id']}")
        await expect(page.get_by_role("link", name="Edit this lot")).to_have_count(0)
        await page.goto(f"{site.url}/auctions/{lot['id']}/edit")
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "“Art deco table lamp, 1930s” can no longer be changed"
        )
        await expect(page.get_by_role("alert")).to_contain_text("Someone has bid on it")


async def test_a_bid_ends_the_sellers_edit_live_and_a_late_edit_is_refused_in_words(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path) as site:
        owner = await seller(site.http, "Marta")
        lot = await open_lot(site.http, owner, title="Brass ship's clock", currency="GBP")
        context = await new_context(DESKTOP)
        lot_page = await sign_in(context, site, owner)
        await lot_page.goto(f"{site.url}/auctions/{lot['id']}")
        edit_link = lot_page.get_by_role("link", name="Edit this lot")
        await expect(edit_link).to_be_visible()
        # The seller opens the form in a second tab, then someone bids.
        form = await context.new_page()
        await form.goto(f"{site.url}/auctions/{lot['id']}/edit")
        await form.get_by_label("Title").fill("Brass ship's clock, serviced")
        await form.get_by_role("button", name="Preview").click()
        await expect(form.get_by_role("heading", name="Preview")).to_be_visible()
        await _look(form, "sell-edit-open-preview")

        await place_bid(site.http, lot["id"], await bidder(site, "Noor"), 20_000)

        # The lot page follows the live feed: no more "Edit" once a bid is in.
        await expect(edit_link).to_be_hidden(timeout=LIVE_DEADLINE_MS)
        await expect(lot_page.get_by_text("It has bids now")).to_be_visible()
        await form.get_by_role("button", name="Save changes").click()
        await expect(form.get_by_role("alert")).to_contain_text("Someone has bid on it")
        await expect(form.get_by_text("Your changes were not saved.")).to_be_visible()
        await _look(form, "sell-edit-refused")
        unchanged = await _api_lot(site, lot["id"], owner.headers)
        assert unchanged["title"] == "Brass ship's clock"


async def test_an_unsold_lot_is_relisted_from_my_listings_without_javascript(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path, auction_min_duration_seconds=1) as site:
        owner = await seller(site.http, "Marta")
        old = await unsold_lot(
            site.http, owner, title="Pewter jug", currency="USD", start_cents=4_000
        )
        page = await sign_in(await new_context(PHONE, java_script_enabled=False), site, owner)
        await page.goto(f"{site.url}/my/listings")
        await page.get_by_role("link", name="Relist “Pewter jug”").click()

        await expect(page.get_by_role("heading", level=1)).to_have_text("List “Pewter jug” again")
        await expect(page.get_by_label("Title")).to_have_value("Pewter jug")
        await expect(page.get_by_label("Start price")).to_have_value("40.00")
        await expect(page.get_by_label("Now", exact=True)).to_be_checked()
        await page.get_by_label("Start price").fill("25")
        await page.get_by_label("Duration").select_option("86400")
        await page.get_by_role("button", name="Preview").click()
        await expect(page.locator(".preview-lot .price")).to_have_text("$25.00")
        await page.get_by_role("button", name="List again").click()

        await expect(page.get_by_role("heading", level=1)).to_have_text("Pewter jug")
        await expect(page.get_by_role("status")).to_contain_text("“Pewter jug” is listed")
        await expect(page.get_by_test_id("status")).to_have_text("Open")
        await expect(page.get_by_test_id("current-price")).to_have_text("$25.00")
        new_id = page.url.rsplit("/", 1)[-1]
        new = await _api_lot(site, new_id, owner.headers)
        assert (new["relisted_from"], new["duration_seconds"]) == (old["id"], 86_400)
        await page.goto(f"{site.url}/my/listings")
        await expect(page.get_by_role("link", name="Relist “Pewter jug”")).to_have_count(0)
        await expect(page.get_by_role("link", name="Listed again")).to_be_visible()


async def test_the_relist_button_of_an_unsold_lot_and_the_apis_refusal_on_its_form(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path, auction_min_duration_seconds=1) as site:
        owner = await seller(site.http, "Marta")
        old = await unsold_lot(
            site.http, owner, title="Tin robot", currency="EUR", reserve_cents=None
        )
        page = await sign_in(await new_context(DESKTOP), site, owner)
        await page.goto(f"{site.url}/auctions/{old['id']}")
        await page.get_by_role("link", name="Relist").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("List “Tin robot” again")
        await page.get_by_label("Start price").fill("20")
        await page.get_by_label("Reserve price").fill("5")  # below the start: the API refuses

        await page.get_by_role("button", name="List again").click()

        await expect(page.get_by_role("alert")).to_be_visible()
        await expect(page.get_by_label("Reserve price")).to_have_attribute("aria-invalid", "true")
        await expect(page.get_by_label("Start price")).to_have_value("20")  # what was typed
        await _look(page, "sell-relist-refused")
        await page.get_by_label("Reserve price").fill("")
        await page.get_by_role("button", name="Save as draft").click()
        await expect(page.get_by_role("status")).to_contain_text("listed again as a draft")
        await expect(page.get_by_test_id("status")).to_have_text("Draft")
