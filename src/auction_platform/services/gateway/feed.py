"""The live feed: ``GET /ws/auctions/{id}`` pushes the book after every commit.

The bidding service publishes each committed book on the auction's channel (Redis
publish/subscribe in the distributed mode, in-process in the embedded one). The
gateway subscribes first, then sends the current book, then forwards updates,
dropping any that is not newer than what the client already has (by the book's
``version``, which every committed change bumps: a retraction or a close too, not
only a bid), so the price a watcher sees never steps back because two replicas'
messages crossed, and no change is lost for looking like the last one.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

import httpx
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from auction_platform.contracts.auctions import feed_channel
from auction_platform.core.cache.base import Cache, CacheUnavailable
from auction_platform.core.inputs import ResourceId

log = logging.getLogger("auction_platform.gateway")

_FINAL = {"closed", "cancelled"}


def _order(update: dict[str, Any]) -> int:
    """Updates are ordered by the book's version."""
    version = update.get("version")
    if version is None:
        # A bidding process from before versions (during a rolling upgrade): its order
        # was the ledger sequence, closed after open, which is where versions started.
        return int(update.get("seq", 0)) + int(update.get("status") in _FINAL)
    return int(version)


def build_feed_router(cache: Cache, clients: Mapping[str, httpx.AsyncClient]) -> APIRouter:
    """The WebSocket route of the live feed."""
    router = APIRouter()

    @router.websocket("/ws/auctions/{auction_id}")
    async def feed(websocket: WebSocket, auction_id: ResourceId) -> None:
        await websocket.accept()
        try:
            async with cache.subscribe(feed_channel(auction_id)) as updates:
                last = -1
                snapshot = await clients["bidding"].get(f"/api/v1/auctions/{auction_id}/book")
                if snapshot.status_code == 200:
                    current = snapshot.json()
                    current.pop("you", None)
                    last = _order(current)
                    await websocket.send_json(current)
                elif snapshot.status_code == 404:
                    await websocket.close(code=4404, reason="no such auction")
                    return

                async def forward() -> None:
                    nonlocal last
                    async for raw in updates:
                        update = json.loads(raw)
                        if _order(update) <= last:
                            continue
                        last = _order(update)
                        await websocket.send_json(update)

                async def until_disconnect() -> None:
                    while True:
                        message = await websocket.receive()
                        if message["type"] == "websocket.disconnect":
                            return

                tasks = [asyncio.create_task(forward()), asyncio.create_task(until_disconnect())]
                _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in pending:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        except (CacheUnavailable, httpx.HTTPError) as exc:
            log.warning("live feed for %s unavailable: %s", auction_id, exc)
            await websocket.close(code=1011, reason="live feed unavailable")
        except WebSocketDisconnect:
            return

    return router
