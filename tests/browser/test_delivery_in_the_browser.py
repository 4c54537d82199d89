"""Delivery in a browser: a seller offers shipping and pickup, a buyer keeps addresses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, expect

from support.browser import DESKTOP, screenshots_at_both_widths, serious_accessibility_violations
from support.web_site import bidder, embedded_site, sign_in

pytestmark = pytest.mark.browser
NewContext = Callable[..., Awaitable[BrowserContext]]


async def test_a_seller_offers_shipping_and_pickup_and_a_buyer_reads_it(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path) as site:
        page = await sign_in(await new_context(DESKTOP), site, await bidder(site, "Sid"))
        await page.goto(f"{site.url}/sell")
        await page.get_by_role("button", name="Become a seller").click()
        await page.get_by_label("Title").fill("Brass ship's barometer")
        await page.get_by_label("Category").select_option("home")
        await page.get_by_label("Currency").select_option("EUR")
        await page.get_by_label("Start price").fill("80")
        await page.locator("#rate_0_countries").select_option(["DE", "AT"])
        await page.locator("#rate_0_cost").fill("6.90")
        await page.locator("#rate_1_countries").select_option(["FR"])
        await page.locator("#rate_1_cost").fill("12")
        await page.get_by_label("The buyer may arrange a courier").uncheck()
        await page.get_by_label("Pickup in").fill("Leipzig")
        assert not await serious_accessibility_violations(page)
        await page.evaluate("document.activeElement.blur()")  # a focused field repaints badly
        await screenshots_at_both_widths(page, "sell-delivery")

        await page.get_by_role("button", name="Publish").click()
        await expect(page.get_by_role("heading", name="Brass ship's barometer")).to_be_visible()
        terms = page.get_by_test_id("delivery")
        await expect(terms).to_contain_text("Shipping to Austria, Germany")
        await expect(terms).to_contain_text("€6.90")
        await expect(terms).to_contain_text("Shipping to France")
        await expect(terms).to_contain_text("In Leipzig")
        await expect(terms).not_to_contain_text("courier")
        await page.get_by_role("heading", name="Delivery").scroll_into_view_if_needed()
        await screenshots_at_both_widths(page, "lot-delivery")

        # Nothing offered at all: the form says so, by the delivery fieldset.
        await page.goto(f"{site.url}/sell")
        await page.get_by_label("Title").fill("Nowhere to go")
        await page.get_by_label("Category").select_option("home")
        await page.get_by_label("Start price").fill("5")
        await page.get_by_label("The buyer may arrange a courier").uncheck()
        await page.get_by_role("button", name="Publish").click()
        await expect(page.locator("#delivery-error")).to_be_visible()


async def test_a_buyer_adds_edits_and_deletes_addresses(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path) as site:
        page = await sign_in(await new_context(DESKTOP), site, await bidder(site, "Bea"))
        await page.goto(f"{site.url}/account")
        await page.get_by_role("link", name="Delivery addresses").click()
        await expect(page.get_by_role("heading", name="Add your first address")).to_be_visible()
        form = page.locator("form.address-form").last
        await form.get_by_label("Full name").fill("Bea Bidder")
        await form.get_by_label("Street and number").fill("Karl-Liebknecht-Str. 12")
        await form.get_by_label("Postal code").fill("04107")
        await form.get_by_label("Town or city").fill("Leipzig")
        await form.get_by_label("Country").select_option("DE")
        await form.get_by_role("button", name="Add address").click()
        await expect(page.get_by_role("status")).to_contain_text("The address is saved.")

        form = page.locator("form.address-form").last
        await form.get_by_label("Full name").fill("Bea at the office")
        await form.get_by_label("Street and number").fill("Augustusplatz 1")
        await form.get_by_label("Postal code").fill("04/109")
        await form.get_by_label("Town or city").fill("Leipzig")
        await form.get_by_label("Country").select_option("DE")
        await form.get_by_role("button", name="Add address").click()
        await expect(page.locator("#new-postal_code-error")).to_be_visible()
        await page.locator("#new-postal_code").fill("04109")
        await page.get_by_role("button", name="Add address").click()
        await expect(page.get_by_test_id("address")).to_have_count(2)

        office = page.get_by_test_id("address").nth(1)
        await office.get_by_text("Edit").click()
        await office.get_by_label("Flat, floor, building").fill("5th floor")
        await office.get_by_role("button", name="Save address").click()
        await expect(page.get_by_test_id("address").nth(1)).to_contain_text("5th floor")
        await (
            page.get_by_test_id("address").nth(1).get_by_role("button", name="Make default").click()
        )
        first = page.get_by_test_id("address").first
        await expect(first).to_contain_text("Bea at the office")
        await expect(first).to_contain_text("Default")
        assert not await serious_accessibility_violations(page)
        await screenshots_at_both_widths(page, "addresses")

        await page.get_by_test_id("address").nth(1).get_by_role("button", name="Delete").click()
        await expect(page.get_by_test_id("address")).to_have_count(1)
