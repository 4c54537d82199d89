"""The catalogue's Format filter in a real browser: a visitor narrows the lots to one format.

Lots of three formats are listed through the API; a visitor chooses a format in the
filter, applies it, and sees only that format's lots, each card saying how it is sold.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, expect

from support.auctions import create, seller
from support.browser import DESKTOP, screenshots_at_both_widths
from support.browser import serious_accessibility_violations as violations
from support.waiting import eventually
from support.web_site import embedded_site

pytestmark = pytest.mark.browser
NewContext = Callable[..., Awaitable[BrowserContext]]
CLOCK = {"floor_cents": 2_000, "step_cents": 500, "tick_seconds": 60}


async def test_a_visitor_filters_the_catalogue_by_format(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path) as site:
        sam = await seller(site.http)
        word = "heirloom" + uuid.uuid4().hex[:6]
        plain = {"reserve_cents": None, "buy_now_cents": None}
        titles = {
            "english": f"Brass lamp {word}",
            "sealed_second_price": f"Oak chest {word}",
            "dutch": f"Tulip bulbs {word}",
        }
        await create(site.http, sam, publish=True, title=titles["english"])
        await create(
            site.http,
            sam,
            publish=True,
            title=titles["sealed_second_price"],
            format="sealed_second_price",
            **plain,
        )
        await create(
            site.http,
            sam,
            publish=True,
            title=titles["dutch"],
            format="dutch",
            dutch=CLOCK,
            **plain,
        )

        async def indexed() -> bool:
            found = await site.http.get("/api/v1/search/auctions", params={"q": word})
            return bool(found.json()["total"] == 3)

        await eventually(indexed)
        page = await (await new_context(DESKTOP)).new_page()
        await page.goto(f"{site.url}/auctions?q={word}")
        cards = page.locator(".card")
        await expect(cards).to_have_count(3)
        sealed_card = cards.filter(has_text=titles["sealed_second_price"])
        await expect(sealed_card.get_by_test_id("card-format-name")).to_have_text(
            "Sealed bids, second price"
        )
        english_card = cards.filter(has_text=titles["english"])
        await expect(english_card.get_by_test_id("card-format-name")).to_have_count(0)

        await page.get_by_label("Format").select_option("dutch")
        await page.get_by_role("button", name="Apply").click()
        await expect(page).to_have_url(re.compile(r"[?&]format=dutch(&|$)"))
        await expect(cards).to_have_count(1)
        await expect(cards.first).to_contain_text(titles["dutch"])
        await expect(cards.first.get_by_test_id("card-format-name")).to_have_text("Dutch auction")
        await expect(page.get_by_label("Format")).to_have_value("dutch")
        found = await violations(page)
        assert not found, found
        await screenshots_at_both_widths(page, "catalogue-format")
