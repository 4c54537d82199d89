"""Search's copy of the category tree: asked for once per TTL, kept while it cannot be had."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from auction_platform.contracts.categories import Category, as_tree
from auction_platform.services.analytics.category_tree import CategoryTreeReader

TREE = [Category("home", "Home"), Category("kitchen", "Kitchen", "home")]


class Auction:
    """The auction service's category route, answering or failing as told."""

    def __init__(self) -> None:
        self.asked = 0
        self.failing = False
        self.tree = TREE

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.asked += 1
        assert request.url.path == "/api/v1/categories"
        assert request.url.params["include_retired"] == "true"
        if self.failing:
            return httpx.Response(503, json={"error": {"code": "dependency_unavailable"}})
        return httpx.Response(200, json={"categories": as_tree(self.tree)})


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def http() -> AsyncIterator[tuple[Auction, httpx.AsyncClient]]:
    auction = Auction()
    transport = httpx.MockTransport(auction.handle)
    async with httpx.AsyncClient(transport=transport, base_url="http://auction") as client:
        yield auction, client


async def test_the_tree_is_asked_for_once_per_ttl(
    http: tuple[Auction, httpx.AsyncClient],
) -> None:
    auction, client = http
    clock = Clock()
    reader = CategoryTreeReader(lambda: client, ttl=30, retry=5, monotonic=clock)
    assert sorted(await reader.current(), key=lambda c: c.slug) == TREE
    clock.now += 29
    await reader.current()
    assert auction.asked == 1
    auction.tree = [*TREE, Category("art", "Art")]
    clock.now += 2
    assert {c.slug for c in await reader.current()} == {"home", "kitchen", "art"}
    assert auction.asked == 2


async def test_the_last_tree_is_kept_while_the_auction_service_cannot_answer(
    http: tuple[Auction, httpx.AsyncClient],
) -> None:
    auction, client = http
    clock = Clock()
    reader = CategoryTreeReader(lambda: client, ttl=30, retry=5, monotonic=clock)
    auction.failing = True
    assert await reader.current() == []  # none known yet: search goes on without one
    clock.now += 1
    await reader.current()
    assert auction.asked == 1  # not asked again before the retry delay
    auction.failing = False
    clock.now += 5
    assert len(await reader.current()) == 2
    auction.failing = True
    clock.now += 31
    assert len(await reader.current()) == 2  # the last tree known
    assert auction.asked == 3
