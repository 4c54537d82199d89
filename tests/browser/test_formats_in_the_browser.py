"""Sealed-bid and Dutch auctions in real browsers, listed through the sell form.

Sealed bids stay secret on every page until the close (each bidder sees only their own),
then the history shows them all; a Dutch lot's price falls on screen without a reload,
and of two bidders who accept it the first buys it and the other is told so.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, expect

from support.auctions import seller
from support.browser import DESKTOP, PHONE, screenshots_at_both_widths
from support.browser import serious_accessibility_violations as violations
from support.waiting import eventually
from support.web_site import LIVE_DEADLINE_MS, Site, bidder, embedded_site, sign_in

pytestmark = pytest.mark.browser
NewContext = Callable[..., Awaitable[BrowserContext]]

# A sealed lot runs this long: time for a busy machine to show the pages and take three
# bids; the test then waits for the close, it never times it.
SEALED_SECONDS = 45
CLOSE_MS = 120_000
# The Dutch clock's shortest interval: the listing rules' 10 seconds.
TICK_SECONDS = 10


async def _look(page: Page, name: str) -> None:
    """No serious accessibility violation; screenshots at both widths to look at."""
    found = await violations(page)
    assert not found, (name, found)
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    await screenshots_at_both_widths(page, name)


async def _list(page: Page, site: Site, title: str, fmt: str, start: str) -> None:
    """Fill in the sell form's common fields and choose the format (not sent yet)."""
    await page.goto(f"{site.url}/sell")
    await page.get_by_label("Title").fill(title)
    await page.get_by_label("Category").select_option("home")
    await page.get_by_label("Currency").select_option("EUR")
    await page.get_by_label(fmt, exact=True).check()
    await page.get_by_label("Start price").fill(start)


async def _sealed_bid(page: Page, amount: str, button: str) -> str:
    """Place (or raise) a sealed bid on the lot page; the text of the result."""
    status = page.locator("#bid-result")
    await status.evaluate("box => { box.textContent = ''; }")
    await page.get_by_label("Your bid", exact=True).fill(amount)
    await page.get_by_role("button", name=button).click()
    await expect(status).not_to_be_empty()
    return await status.inner_text()


async def _text(page: Page) -> str:
    return await page.locator("body").inner_text()


async def test_sealed_bids_stay_secret_until_the_close_then_all_are_shown(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path, auction_min_duration_seconds=SEALED_SECONDS) as site:
        owner = await seller(site.http, "Sara")
        ann, bob = await bidder(site, "Ann"), await bidder(site, "Bob")
        sara_page = await sign_in(await new_context(DESKTOP), site, owner)
        ann_page = await sign_in(await new_context(DESKTOP), site, ann)
        bob_page = await sign_in(await new_context(PHONE), site, bob)

        await _list(
            sara_page, site, "Walnut sewing box", "Sealed bids, second price (Vickrey)", "50"
        )
        # Only rising bids have Buy It Now and a soft close: the script hides them.
        await expect(sara_page.get_by_label("Buy It Now price")).to_be_hidden()
        await expect(sara_page.get_by_label("Soft close")).to_be_hidden()
        await expect(sara_page.get_by_label("Reserve price")).to_be_visible()
        await sara_page.get_by_label("Duration").select_option(str(SEALED_SECONDS))
        await sara_page.get_by_role("button", name="Preview").click()
        await expect(sara_page.get_by_test_id("preview-format")).to_have_text(
            "Sealed bids, highest bid wins and pays the second-highest"
        )
        await sara_page.get_by_role("button", name="Publish").click()
        await expect(sara_page.get_by_role("heading", level=1)).to_have_text("Walnut sewing box")
        lot_url = sara_page.url

        for page in (ann_page, bob_page):
            await page.goto(lot_url)
            await expect(page.get_by_test_id("format")).to_have_text(
                "Sealed bids, highest bid wins and pays the second-highest"
            )
            await expect(page.get_by_test_id("sealed-count")).to_have_text(
                "No sealed bids yet", timeout=LIVE_DEADLINE_MS
            )
            await expect(page.get_by_test_id("current-price")).to_have_count(0)
            await expect(page.get_by_test_id("leader")).to_have_count(0)

        result = await _sealed_bid(ann_page, "70", "Place a sealed bid")
        assert "Your sealed bid of €70.00 is in" in result, result
        await expect(ann_page.get_by_test_id("your-sealed-bid")).to_have_text(
            "Your sealed bid: €70.00"
        )
        # The live feed brings the count, and nothing else.
        await expect(bob_page.get_by_test_id("sealed-count")).to_have_text(
            "1 sealed bid", timeout=LIVE_DEADLINE_MS
        )
        result = await _sealed_bid(bob_page, "90", "Place a sealed bid")
        assert "€90.00" in result, result
        await expect(ann_page.get_by_test_id("sealed-count")).to_have_text(
            "2 sealed bids", timeout=LIVE_DEADLINE_MS
        )
        # A sealed bid may be raised, never lowered.
        result = await _sealed_bid(ann_page, "60", "Raise your bid")
        assert result == "A sealed bid can only be raised: bid more than your bid of €70.00."
        result = await _sealed_bid(ann_page, "80", "Raise your bid")
        assert "€80.00" in result, result
        await expect(ann_page.get_by_test_id("your-sealed-bid")).to_have_text(
            "Your sealed bid: €80.00"
        )
        await expect(bob_page.get_by_test_id("sealed-count")).to_have_text(
            "3 sealed bids", timeout=LIVE_DEADLINE_MS
        )

        # Nobody sees another's amount: not live, not on a fresh page, not the seller.
        for page in (ann_page, bob_page, sara_page):
            await page.reload()
            await expect(page.get_by_test_id("sealed-count")).to_have_text("3 sealed bids")
        ann_text, bob_text, sara_text = [await _text(p) for p in (ann_page, bob_page, sara_page)]
        assert "€90" not in ann_text and "Your sealed bid: €80.00" in ann_text
        assert "€70" not in bob_text and "€80" not in bob_text
        assert "Your sealed bid: €90.00" in bob_text
        assert not {"€70", "€80", "€90"} & set(re.findall(r"€\d+", sara_text))
        await _look(ann_page, "lot-sealed")

        await ann_page.goto(f"{site.url}/my/bids")
        await expect(ann_page.get_by_test_id("standing")).to_have_text("Sealed")
        await expect(ann_page.locator("body")).not_to_contain_text("€90")
        await ann_page.goto(f"{site.url}/")
        card = ann_page.locator(".card", has_text="Walnut sewing box").first
        await expect(card.get_by_test_id("card-format")).to_have_text("Bids hidden · 3 bids")

        # At the close the page shows every bid with its amount, and what the winner pays.
        await ann_page.goto(lot_url)
        await expect(ann_page.get_by_test_id("status")).to_have_text("Ended", timeout=CLOSE_MS)
        history = ann_page.get_by_test_id("history")
        await expect(history.locator("tr")).to_have_count(3, timeout=LIVE_DEADLINE_MS)
        for amount in ("€70.00", "€80.00", "€90.00"):
            await expect(history).to_contain_text(amount)
        # Bob's €90 wins and pays the second-highest bid, Ann's €80.
        await expect(ann_page.get_by_test_id("current-price")).to_have_text("€80.00")
        await _look(ann_page, "lot-sealed-revealed")


async def test_a_dutch_price_falls_on_screen_and_the_first_to_accept_buys(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path) as site:
        owner = await seller(site.http, "Dirk")
        ann, bob = await bidder(site, "Ann"), await bidder(site, "Bob")
        dirk_page = await sign_in(await new_context(DESKTOP), site, owner)
        ann_page = await sign_in(await new_context(DESKTOP), site, ann)
        # Bob's browser runs no script: his page keeps its form until he sends it.
        bob_page = await sign_in(await new_context(PHONE, java_script_enabled=False), site, bob)

        await _list(dirk_page, site, "Copper jam pan", "Dutch auction (falling price)", "100")
        await expect(dirk_page.get_by_label("Reserve price")).to_be_hidden()
        await expect(dirk_page.get_by_label("Buy It Now price")).to_be_hidden()
        await dirk_page.get_by_label("Lowest price").fill("40")
        await dirk_page.get_by_label("Price drop").fill("5")
        await dirk_page.get_by_label("Drops every").fill(str(TICK_SECONDS))
        await dirk_page.get_by_label("Unit of the interval").select_option("seconds")
        await dirk_page.get_by_label("Duration").select_option("600")
        await dirk_page.get_by_role("button", name="Preview").click()
        await expect(dirk_page.get_by_test_id("preview-format")).to_have_text(
            "Dutch auction: the price falls until someone buys"
        )
        await expect(dirk_page.locator(".preview")).to_contain_text(
            "It falls by €5.00 every 10 seconds until €40.00."
        )
        await _look(dirk_page, "sell-format")
        await dirk_page.get_by_role("button", name="Publish").click()
        await expect(dirk_page.get_by_role("heading", level=1)).to_have_text("Copper jam pan")
        lot_url = dirk_page.url

        await ann_page.goto(lot_url)
        await expect(ann_page.get_by_test_id("format")).to_have_text(
            "Dutch auction: the price falls until someone buys"
        )
        await expect(ann_page.get_by_test_id("dutch-clock")).to_have_text(
            "It falls by €5.00 every 10 seconds until €40.00.", timeout=LIVE_DEADLINE_MS
        )
        price = ann_page.get_by_test_id("current-price")
        first = await price.inner_text()
        assert re.fullmatch(r"€\d+\.00", first), first
        # The price falls by a step at the next tick, without a reload.
        fallen = f"€{int(first[1:-3]) - 5}.00"
        await expect(price).to_have_text(fallen, timeout=(TICK_SECONDS + 10) * 1_000)
        await expect(ann_page.get_by_test_id("next-drop")).to_have_text(re.compile(r"^in \d+s$"))
        await _look(ann_page, "lot-dutch")

        await ann_page.goto(f"{site.url}/")
        card = ann_page.locator(".card", has_text="Copper jam pan").first
        await expect(card.get_by_test_id("card-format")).to_have_text(re.compile(r"^Now €\d+\.00$"))

        # The catalogue's cards come from search, whose hits the clock prices too.
        async def found_open() -> bool:
            await ann_page.goto(f"{site.url}/auctions?q=Copper+jam+pan&status=open")
            return await ann_page.locator(".card", has_text="Copper jam pan").count() > 0

        await eventually(found_open, timeout=30, interval=0.5)
        hit = ann_page.locator(".card", has_text="Copper jam pan").first
        await expect(hit.get_by_test_id("card-format")).to_have_text(re.compile(r"^Now €\d+\.00$"))

        await bob_page.goto(lot_url)
        await expect(
            bob_page.get_by_role("button", name="Buy now at the current price")
        ).to_be_visible()
        await ann_page.goto(lot_url)
        await ann_page.get_by_role("button", name="Buy now at the current price").click()
        result = ann_page.locator("#bid-result")
        await expect(result).to_contain_text("You bought this lot for €")
        paid = re.search(r"€\d+\.\d\d", await result.inner_text())
        assert paid is not None
        await expect(ann_page.get_by_test_id("status")).to_have_text("Ended")
        await expect(ann_page.get_by_test_id("current-price")).to_have_text(paid.group())

        # Bob accepts a moment later, from the page he loaded before: too late.
        await bob_page.get_by_role("button", name="Buy now at the current price").click()
        await expect(bob_page.locator("#bid-result")).to_have_text(
            f"Too late: another bidder accepted the price first and bought it for {paid.group()}."
        )
        await expect(
            bob_page.get_by_role("button", name="Buy now at the current price")
        ).to_have_count(0)

        # Ann's order settles like any other and says how the lot was sold.
        async def to_pay() -> bool:
            await ann_page.goto(f"{site.url}/orders")
            return await ann_page.get_by_role("link", name="Pay now").count() > 0

        await eventually(to_pay, timeout=60, interval=0.5)
        await ann_page.get_by_role("link", name="Pay now").first.click()
        await expect(ann_page.get_by_test_id("order-format")).to_have_text(
            "Dutch auction (falling price)"
        )
        await expect(
            ann_page.get_by_role("row", name=f"Price accepted {paid.group()}")
        ).to_be_visible()
        await _look(ann_page, "order-dutch")


async def test_the_sell_form_without_javascript_shows_every_format_field_with_a_hint(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path) as site:
        owner = await seller(site.http, "Nina")
        page = await sign_in(await new_context(PHONE, java_script_enabled=False), site, owner)
        await _list(page, site, "Tin toy boat", "Dutch auction (falling price)", "30")
        for label in ("Buy It Now price", "Reserve price", "Lowest price", "Price drop"):
            await expect(page.get_by_label(label)).to_be_visible()
        await expect(page.get_by_text("For a Dutch auction only")).to_be_visible()
        # A Dutch lot needs its clock: the form says so on the field.
        await page.get_by_role("button", name="Publish").click()
        await expect(page.locator("#dutch_floor-error")).to_have_text(
            "Lowest price: a Dutch auction needs it."
        )
        await page.get_by_label("Lowest price").fill("10")
        await page.get_by_label("Price drop").fill("1")
        await page.get_by_label("Drops every").fill("5")
        await page.get_by_label("Unit of the interval").select_option("seconds")
        await page.get_by_role("button", name="Publish").click()
        # The interval's bounds are the listing rules': the API's refusal, on the field.
        await expect(page.locator("#dutch_tick-error")).to_contain_text("10")
        await page.get_by_label("Drops every").fill("1")
        await page.get_by_label("Unit of the interval").select_option("minutes")
        await page.get_by_role("button", name="Publish").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Tin toy boat")
        await expect(page.get_by_test_id("format")).to_have_text(
            "Dutch auction: the price falls until someone buys"
        )
