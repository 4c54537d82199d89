"""The live feed: ``GET /ws/auctions/{id}`` pushes the book after every commit.

The bidding service publishes each committed book on the auction's channel (Redis
publish/subscribe in the distributed mode, in-process in the embedded one). The
gateway joins the auction's watchers first (``FeedHub``: one subscription per auction
for the whole process), then sends the current book, then the newest update each time
the client has taken the last one. Anything not newer than what the client already
has is dropped, by the book's ``version`` (which every committed change bumps: a
retraction or a close too, not only a bid), so the price a watcher sees never steps
back because two replicas' messages crossed, and no change is lost for looking like
the last one. A client slower than the bids skips books it had no time for, never the
newest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import httpx
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from auction_platform.core.cache.base import Cache, CacheUnavailable
from auction_platform.core.inputs import ResourceId
from auction_platform.services.gateway.feed_hub import FeedHub, Watcher, book_order

log = logging.getLogger("auction_platform.gateway")


def _public(book: dict[str, Any]) -> dict[str, Any]:
    book.pop("you", None)
    return book


def build_feed_router(cache: Cache, clients: Mapping[str, httpx.AsyncClient]) -> APIRouter:
    """The WebSocket route of the live feed, and the process's hub behind it."""
    router = APIRouter()

    async def current_book(auction_id: str) -> dict[str, Any] | None:
        answer = await clients["bidding"].get(f"/api/v1/auctions/{auction_id}/book")
        return _public(answer.json()) if answer.status_code == 200 else None

    hub = FeedHub(cache, fetch=current_book)

    @router.websocket("/ws/auctions/{auction_id}")
    async def feed(websocket: WebSocket, auction_id: ResourceId) -> None:
        await websocket.accept()
        try:
            async with hub.watch(auction_id) as watcher:
                snapshot = await clients["bidding"].get(f"/api/v1/auctions/{auction_id}/book")
                if snapshot.status_code == 404:
                    await websocket.close(code=4404, reason="no such auction")
                    return
                if snapshot.status_code == 200:
                    current = _public(snapshot.json())
                    watcher.holds(book_order(current))
                    await websocket.send_json(current)
                if not await _forward(websocket, watcher):
                    await websocket.close(code=1011, reason="live feed unavailable")
        except (CacheUnavailable, httpx.HTTPError) as exc:
            log.warning("live feed for %s unavailable: %s", auction_id, exc)
            await websocket.close(code=1011, reason="live feed unavailable")
        except WebSocketDisconnect:
            return

    return router


async def _forward(websocket: WebSocket, watcher: Watcher) -> bool:
    """Send the newest update each time the last is sent; False if the feed ended first."""
    gone = asyncio.Event()

    async def until_disconnect() -> None:
        try:
            while (await websocket.receive())["type"] != "websocket.disconnect":
                pass
        finally:
            gone.set()
            watcher.close()

    listening = asyncio.create_task(until_disconnect())
    try:
        while (update := await watcher.take()) is not None:
            await websocket.send_text(update.text)
        return gone.is_set()
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
