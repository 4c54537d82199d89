"""The catalogue over HTTP finds lots by how they are sold, and each card says how.

Lots are listed through the API; the catalogue page asks the search API, so the
filter, its counts and the cards' words are what search answers.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from auction_platform.composition import Platform
from support.auctions import create, seller
from support.platforms import client, embedded_settings, running
from support.waiting import eventually

SERVICES = ("identity", "auction", "bidding", "analytics", "web", "gateway")
CLOCK = {"floor_cents": 2_000, "step_cents": 500, "tick_seconds": 60}
CARD_TITLE = re.compile(
    r'<span class="title">([^<]*)</span>\s*</a>\s*'
    r'(?:<span class="format-name"[^>]*>([^<]*)</span>)?'
)


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    async with running(embedded_settings(tmp_path), SERVICES, embedded=True) as started:
        yield started


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with client(platform.apps["gateway"]) as gateway:
        yield gateway


def cards(page: str) -> dict[str, str | None]:
    """Each card's title and the words under it (None for none)."""
    return {html.unescape(title): words or None for title, words in CARD_TITLE.findall(page)}


async def test_the_catalogue_filters_by_format_and_each_card_names_its_format(
    http: httpx.AsyncClient,
) -> None:
    sam = await seller(http)
    word = "tulip" + uuid.uuid4().hex[:6]
    no_extras = {"reserve_cents": None, "buy_now_cents": None}
    await create(http, sam, publish=True, title=f"{word} print")
    await create(
        http, sam, publish=True, title=f"{word} vase", format="sealed_second_price", **no_extras
    )
    await create(
        http, sam, publish=True, title=f"{word} bulbs", format="dutch", dutch=CLOCK, **no_extras
    )

    async def indexed() -> str:
        page = await http.get("/auctions", params={"q": word})
        return page.text if "3 lots" in page.text else ""

    every = await eventually(indexed)
    assert cards(every) == {
        f"{word} print": None,
        f"{word} vase": "Sealed bids, second price",
        f"{word} bulbs": "Dutch auction",
    }
    # Every format is offered, with its hits among these results.
    assert '<option value="">Any format</option>' in every
    for value, label in (
        ("english", "Rising bids (1)"),
        ("sealed_first_price", "Sealed bids, first price"),
        ("sealed_second_price", "Sealed bids, second price (1)"),
        ("dutch", "Dutch auction (1)"),
    ):
        assert f'<option value="{value}">{label}</option>' in every

    dutch = (await http.get("/auctions", params={"q": word, "format": "dutch"})).text
    assert cards(dutch) == {f"{word} bulbs": "Dutch auction"}
    assert '<option value="dutch" selected>Dutch auction (1)</option>' in dutch
    # The other pages keep the filter (the price links, the next page).
    assert "format=dutch" in dutch

    none = (await http.get("/auctions", params={"q": word, "format": "sealed_first_price"})).text
    assert "0 lots" in none and cards(none) == {}

    # A format the site does not know is no filter at all, never an error.
    unknown = await http.get("/auctions", params={"q": word, "format": "candle"})
    assert unknown.status_code == 200
    assert len(cards(unknown.text)) == 3
