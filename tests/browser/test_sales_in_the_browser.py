"""Timed sales in a browser: a seller builds a sale of draft lots through the site's forms and
publishes it; its page lists the lots in order with their ends counting down, marks the lot
that closes next and moves the mark on as lots close; a lot's page links to its sale.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, expect

from support.accounts import Account
from support.auctions import place_bid, seller
from support.browser import DESKTOP, PHONE, screenshots_at_both_widths
from support.browser import serious_accessibility_violations as violations
from support.web_site import Site, admin, bidder, embedded_site, sign_in

pytestmark = pytest.mark.browser
NewContext = Callable[..., Awaitable[BrowserContext]]
SALE = "The Hartley estate: furniture and silver"
LOTS = (
    ("A Georgian silver teapot", "/static/demo/teapot.svg", "english"),
    ("A walnut reading chair", "/static/demo/chair.svg", "english"),
    ("An oil painting of Bath Abbey", "/static/demo/painting.svg", "sealed_first_price"),
    ("A blue and white vase", "/static/demo/vase.svg", "english"),
)
# Long enough for a loaded machine to fill the forms before the first lot's close; the
# test waits for the closes, it never times them.
FIRST_CLOSE_IN = timedelta(seconds=75)
CLOSE_DEADLINE_MS = 120_000


async def _look(page: Page, name: str) -> None:
    """No serious accessibility violation; screenshots at both widths to look at."""
    found = await violations(page)
    assert not found, found
    await screenshots_at_both_widths(page, name)


async def _draft(site: Site, owner: Account, title: str, image: str, fmt: str) -> dict[str, Any]:
    start = datetime.now(UTC) + timedelta(hours=1)
    body = {
        "title": title,
        "category": "misc",
        "images": [image],
        "currency": "GBP",
        "start_cents": 4_000,
        "starts_at": start.isoformat(),
        "duration_seconds": 86_400,
        "format": fmt,
        "soft_close": None
        if fmt != "english"
        else {
            "window_seconds": 5,
            "extend_seconds": 5,
            "max_extensions": 2,
        },
    }
    answer = await site.http.post("/api/v1/auctions", json=body, headers=owner.headers)
    assert answer.status_code == 201, answer.text
    lot: dict[str, Any] = answer.json()["auction"]
    return lot


async def test_a_seller_builds_and_publishes_a_timed_sale_whose_lots_close_in_turn(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(
        tmp_path, auction_min_duration_seconds=1, closer_interval_seconds=0.2
    ) as site:
        sam, ann = await seller(site.http, "Sam"), await bidder(site, "Ann")
        lots = [await _draft(site, sam, *lot) for lot in LOTS]
        page = await sign_in(await new_context(DESKTOP), site, sam)

        # The seller starts the sale: its words, when its first lot closes, the interval.
        await page.goto(f"{site.url}/my/timed-sales")
        await expect(page.get_by_text("You have no timed sale yet.")).to_be_visible()
        await page.get_by_role("link", name="Start a timed sale").click()
        await page.get_by_label("Title").fill(SALE)
        await page.get_by_label("Description").fill("Collection from Bath, by appointment.")
        await page.get_by_label("Then one lot every").fill("5")
        await page.get_by_label("Unit").select_option("seconds")
        await page.get_by_role("button", name="Create the sale").click()
        # Five seconds between lots is refused in words, what was typed kept.
        await expect(page.locator("#interval-error")).to_have_text(
            "Time between lots: 10 seconds to 60 minutes."
        )
        await expect(page.get_by_label("Title")).to_have_value(SALE)
        first_close = datetime.now(UTC) + FIRST_CLOSE_IN
        await page.get_by_label("The first lot closes at").fill(f"{first_close:%Y-%m-%dT%H:%M:%S}")
        await page.get_by_label("Then one lot every").fill("10")
        await page.get_by_role("button", name="Create the sale").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(f"Timed sale “{SALE}”")
        await expect(page.get_by_role("status")).to_contain_text("add your draft lots")

        # Its draft lots join it, in the order chosen; the last one is moved up a place.
        for title, _, _ in LOTS:
            await page.get_by_label(title).check()
        await page.get_by_role("button", name="Add the chosen lots").click()
        await expect(page.get_by_role("status")).to_have_text("Added 4 lots to the sale.")
        rows = page.get_by_test_id("sale-lot")
        await expect(rows).to_have_count(4)
        await page.get_by_role("button", name=f"Move up “{LOTS[3][0]}” to lot 3").click()
        await expect(rows.nth(2)).to_contain_text(LOTS[3][0])
        await expect(rows.nth(3)).to_contain_text(LOTS[2][0])
        await expect(page.get_by_text("You have no draft lot outside a sale.")).to_be_visible()
        await _look(page, "sale-form")

        await page.get_by_role("button", name="Publish the sale").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(SALE)
        await expect(page.get_by_role("status")).to_contain_text("is published: its 4 lots")
        rows = page.get_by_test_id("sale-lot")
        await expect(rows).to_have_count(4)
        await expect(rows.nth(0).get_by_test_id("closes-next")).to_be_visible()
        await expect(page.get_by_test_id("next-closing")).to_contain_text(f"Lot 1: {LOTS[0][0]}")
        await expect(rows.nth(3)).to_contain_text("Sealed bids · 0 bids")
        sale_url = page.url
        sale_id = sale_url.rstrip("/").rsplit("/", 1)[-1]
        sale = (await site.http.get(f"/api/v1/sales/{sale_id}")).json()["sale"]
        ends = [datetime.fromisoformat(lot["ends_at"]) for lot in sale["lots"]]
        assert [b - a for a, b in itertools.pairwise(ends)] == [timedelta(seconds=10)] * 3

        # A lot's page names its place in the sale and leads back to it.
        await page.goto(f"{site.url}/auctions/{lots[1]['id']}")
        link = page.get_by_role("link", name=SALE)
        await expect(page.get_by_test_id("sale-link")).to_contain_text(f"Lot 2 of 4 in {SALE}")
        await link.click()
        await expect(page).to_have_url(sale_url)

        # Ann bids on lot 1 (alone, she pays its start price); as it closes, the page moves
        # the mark to lot 2 by itself.
        await place_bid(site.http, lots[0]["id"], ann, 5_000)
        visitor = await (await new_context(PHONE)).new_page()
        await visitor.goto(sale_url)
        visitor_rows = visitor.get_by_test_id("sale-lot")
        await expect(visitor_rows.nth(0).get_by_test_id("lot-outcome")).to_have_text(
            "Sold", timeout=CLOSE_DEADLINE_MS
        )
        await expect(visitor_rows.nth(0)).to_contain_text("Sold for £40.00")
        await expect(visitor_rows.nth(1).get_by_test_id("closes-next")).to_be_visible(
            timeout=CLOSE_DEADLINE_MS
        )
        await expect(visitor_rows.nth(0).get_by_test_id("closes-next")).to_have_count(0)
        await expect(visitor.get_by_test_id("next-closing")).to_contain_text("Lot 2:")
        await _look(visitor, "sale")

        # The list of sales shows it; without script the page still shows every lot's end.
        await visitor.goto(f"{site.url}/timed-sales")
        await expect(visitor.get_by_test_id("sale-card")).to_contain_text(SALE)
        plain = await (await new_context(PHONE, java_script_enabled=False)).new_page()
        await plain.goto(sale_url)
        await expect(plain.get_by_test_id("sale-lot")).to_have_count(4)
        await expect(plain.get_by_test_id("lot-end").nth(3)).to_contain_text("UTC")


async def _running_sale(site: Site, owner: Account, lots: list[dict[str, Any]]) -> str:
    """A sale of ``lots`` published through the API, open at once; its id."""
    body = {
        "title": SALE,
        "description": "Collection from Bath, by appointment.",
        "first_close_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        "interval_seconds": 60,
    }
    made = await site.http.post("/api/v1/sales", json=body, headers=owner.headers)
    assert made.status_code == 201, made.text
    sale_id: str = made.json()["sale"]["id"]
    for lot in lots:
        added = await site.http.post(
            f"/api/v1/sales/{sale_id}/lots", json={"auction_id": lot["id"]}, headers=owner.headers
        )
        assert added.status_code == 200, added.text
    published = await site.http.post(f"/api/v1/sales/{sale_id}/publish", headers=owner.headers)
    assert published.status_code == 200, published.text
    return sale_id


async def test_a_seller_cancels_a_sale_and_is_told_which_lots_were_kept_and_why(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path, auction_min_duration_seconds=1) as site:
        sam, ann = await seller(site.http, "Sam"), await bidder(site, "Ann")
        lots = [await _draft(site, sam, *lot) for lot in LOTS[:3]]
        sale_id = await _running_sale(site, sam, lots)
        # Ann bids on lot 2: from then on only the site's staff may withdraw it.
        await place_bid(site.http, lots[1]["id"], ann, 5_000)
        sale_url = f"{site.url}/timed-sales/{sale_id}"

        # A visitor is offered no cancellation; the seller is, with a box to tick first.
        visitor = await (await new_context(PHONE)).new_page()
        await visitor.goto(sale_url)
        await expect(visitor.get_by_test_id("sale-lot")).to_have_count(3)
        await expect(visitor.get_by_test_id("cancel-sale")).to_have_count(0)
        page = await sign_in(await new_context(DESKTOP), site, sam)
        await page.goto(sale_url)
        form = page.get_by_test_id("cancel-sale")
        await expect(form).to_contain_text("only the site's staff can withdraw")
        await _look(page, "sale-cancel")
        # Unticked, the browser keeps the form (the box is required); the site refuses it too.
        tick = page.get_by_label("Yes, withdraw the lots of this sale")
        assert await tick.evaluate("box => box.validity.valueMissing")

        # Ticked, without script as with it: lots 1 and 3 go, lot 2 stays, and the page
        # says why.
        plain = await sign_in(await new_context(PHONE, java_script_enabled=False), site, sam)
        await plain.goto(sale_url)
        token = await plain.locator("[data-testid=cancel-sale] [name=csrf_token]").input_value()
        unticked = await plain.request.post(f"{sale_url}/cancel", form={"csrf_token": token})
        assert "Tick the box to confirm" in await unticked.text()
        await plain.goto(sale_url)
        await plain.get_by_label("Yes, withdraw the lots of this sale").check()
        await plain.get_by_role("button", name="Cancel this sale").click()
        await expect(plain.get_by_role("status")).to_have_text(
            f"Lots 1 and 3 are withdrawn. Lot 2 (“{LOTS[1][0]}”) is kept: it has bids, and "
            "only the site's staff can withdraw a lot once someone has bid; it closes as planned."
        )
        rows = plain.get_by_test_id("sale-lot")
        await expect(rows.nth(0)).to_contain_text("Withdrawn")
        await expect(rows.nth(1)).to_contain_text("Open")
        await expect(rows.nth(2)).to_contain_text("Withdrawn")
        await expect(plain.get_by_test_id("next-closing")).to_contain_text(f"Lot 2: {LOTS[1][0]}")
        await screenshots_at_both_widths(plain, "sale-cancelled")

        # Nothing is left the seller may withdraw: the page says so instead of the form.
        await page.reload()
        await expect(page.get_by_test_id("nothing-to-withdraw")).to_be_visible()
        await expect(page.get_by_role("button", name="Cancel this sale")).to_have_count(0)

        # The site's staff withdraw lot 2 through the API: the sale is cancelled.
        root = await admin(site)
        done = await site.http.post(
            f"/api/v1/sales/{sale_id}/cancel",
            json={"reason": "The executor withdrew the sale."},
            headers=root.headers,
        )
        assert done.status_code == 200, done.text
        await page.reload()
        await expect(page.get_by_test_id("sale-state")).to_have_text("Cancelled")
        await expect(page.get_by_test_id("next-closing")).to_contain_text("was cancelled")
        await expect(page.get_by_test_id("cancel-sale")).to_have_count(0)
        await _look(page, "sale-cancelled-whole")
