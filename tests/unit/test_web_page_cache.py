"""The micro-cache of anonymous pages: kept a moment, made once for every waiter."""

from __future__ import annotations

import asyncio

import pytest

from auction_platform.services.web.pagecache import PageCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Renders:
    """A page renderer that counts its calls and can be held back."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self) -> tuple[int, str]:
        self.calls += 1
        await self.release.wait()
        return 200, f"page {self.calls}"


async def test_a_page_is_kept_for_its_seconds_then_made_again() -> None:
    clock, render = Clock(), Renders()
    cache = PageCache(seconds=1.0, clock=clock)
    assert await cache.page("/a", render) == (200, "page 1")
    clock.now += 0.9
    assert await cache.page("/a", render) == (200, "page 1")
    clock.now += 0.2
    assert await cache.page("/a", render) == (200, "page 2")
    assert await cache.page("/b", render) == (200, "page 3")


async def test_visitors_asking_at_once_share_one_render() -> None:
    render = Renders()
    render.release.clear()
    cache = PageCache(seconds=1.0)
    waiting = [asyncio.create_task(cache.page("/lot", render)) for _ in range(20)]
    await asyncio.sleep(0)
    render.release.set()
    assert {await task for task in waiting} == {(200, "page 1")}
    assert render.calls == 1


async def test_a_failed_render_is_not_kept_and_reaches_every_waiter() -> None:
    calls = 0

    async def failing() -> tuple[int, str]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise RuntimeError("auction service down")

    cache = PageCache(seconds=1.0)
    results = await asyncio.gather(
        cache.page("/lot", failing), cache.page("/lot", failing), return_exceptions=True
    )
    assert all(isinstance(result, RuntimeError) for result in results)
    with pytest.raises(RuntimeError):
        await cache.page("/lot", failing)
    assert calls == 2


async def test_only_whole_pages_are_kept_and_zero_seconds_keeps_nothing() -> None:
    async def not_found() -> tuple[int, str]:
        return 404, "no such lot"

    cache = PageCache(seconds=1.0)
    render = Renders()
    assert await cache.page("/x", not_found) == (404, "no such lot")
    assert await cache.page("/x", render) == (200, "page 1")
    off = PageCache(seconds=0)
    await off.page("/y", render)
    await off.page("/y", render)
    assert render.calls == 3


async def test_a_full_cache_forgets_old_pages_instead_of_growing() -> None:
    clock, render = Clock(), Renders()
    cache = PageCache(seconds=1.0, size=3, clock=clock)
    for key in ("/1", "/2", "/3"):
        await cache.page(key, render)
    clock.now += 2
    await cache.page("/4", render)
    assert len(cache._pages) == 1
