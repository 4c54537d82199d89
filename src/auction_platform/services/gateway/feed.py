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

The feed is plain ASGI (``LiveFeed``), in front of the framework's routes, as the
proxy is: a watcher is held for as long as it watches, and everything a connection
keeps costs that much memory times the crowd. Through the framework's WebSocket route
each one kept its routing frames, exit stacks, a copy of the scope and its own parsed
snapshot (about 44 KB a watcher in all); here it keeps two small tasks and its
mailbox, and watchers who come together share one read of the book (``FeedHub.snapshot``).
Where the server offers it (``PUSH_EXTENSION``, the platform's own servers do), the
hub writes an update straight to a waiting watcher's connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Mapping
from typing import Any, Final

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from auction_platform.core.cache.base import Cache, CacheUnavailable
from auction_platform.core.inputs import ID_PATTERN
from auction_platform.core.websocket import PUSH_EXTENSION
from auction_platform.services.gateway.feed_hub import FeedHub, NoSuchAuction, Push, Watcher

log = logging.getLogger("auction_platform.gateway")

_FEED_PATH: Final = re.compile(r"/ws/auctions/([^/]*)")
_ID: Final = re.compile(ID_PATTERN)
# Close codes: 1008 (policy) for an id no auction can have, as the framework's path
# check answered; 4404 for no such auction; 1011 when the feed cannot go on.
_BAD_ID = (1008, "not an auction id")
_NOT_FOUND = (4404, "no such auction")
_UNAVAILABLE = (1011, "live feed unavailable")


def feed_hub(cache: Cache, clients: Mapping[str, httpx.AsyncClient]) -> FeedHub:
    """The process's hub, reading books from the bidding service."""

    async def current_book(auction_id: str) -> dict[str, Any] | None:
        answer = await clients["bidding"].get(f"/api/v1/auctions/{auction_id}/book")
        if answer.status_code == 404:
            raise NoSuchAuction(auction_id)
        if answer.status_code != 200:
            return None
        book: dict[str, Any] = answer.json()
        book.pop("you", None)  # read without a token, but never a watcher's own view
        return book

    return FeedHub(cache, fetch=current_book)


class LiveFeed:
    """Plain ASGI: the live feed's WebSockets; everything else goes on to ``app``."""

    def __init__(self, app: ASGIApp, *, hub: FeedHub) -> None:
        self.app = app
        self.hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _FEED_PATH.fullmatch(scope["path"]) if scope["type"] == "websocket" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        if (await receive())["type"] != "websocket.connect":
            return
        auction_id = match[1]
        if not _ID.match(auction_id):
            await _close(send, _BAD_ID)  # before accepting: an HTTP 403 to the client
            return
        await send({"type": "websocket.accept"})
        push = scope.get("extensions", {}).get(PUSH_EXTENSION)
        await _watch(self.hub, auction_id, receive, send, push)


async def _watch(
    hub: FeedHub, auction_id: str, receive: Receive, send: Send, push: Push | None
) -> None:
    """The current book, then every newer one, until the client or the feed ends."""
    try:
        async with hub.watch(auction_id, push=push) as watcher:
            try:
                await _first_book(hub, auction_id, watcher)
            except NoSuchAuction:
                await _close(send, _NOT_FOUND)
                return
            if not await _forward(receive, send, watcher):
                await _close(send, _UNAVAILABLE)
    except (CacheUnavailable, httpx.HTTPError) as exc:
        log.warning("live feed for %s unavailable: %s", auction_id, exc)
        await _close(send, _UNAVAILABLE)
    except OSError:
        return  # the client left while a book was on its way


async def _first_book(hub: FeedHub, auction_id: str, watcher: Watcher) -> None:
    """Put the book as read now in the watcher's mailbox (no copy stays in this frame)."""
    snapshot = await hub.snapshot(auction_id, watcher)
    if snapshot is not None:
        watcher.offer(snapshot)


async def _forward(receive: Receive, send: Send, watcher: Watcher) -> bool:
    """Send the newest update each time the last is sent; False if the feed ended first."""
    listening = asyncio.create_task(_until_disconnect(receive, watcher))
    try:
        while await _send_next(send, watcher):
            pass
        return listening.done()
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)


async def _send_next(send: Send, watcher: Watcher) -> bool:
    """Send the next update once there is one (False: the watch ended); keep no copy."""
    update = await watcher.take()
    if update is None:
        return False
    await send({"type": "websocket.send", "text": update.text})
    return True


async def _until_disconnect(receive: Receive, watcher: Watcher) -> None:
    """Read (and ignore) what the client sends until it leaves; then end its watch."""
    try:
        while (await receive())["type"] != "websocket.disconnect":
            pass
    finally:
        watcher.close()


async def _close(send: Send, why: tuple[int, str]) -> None:
    code, reason = why
    with contextlib.suppress(OSError):  # the client is gone already
        await send({"type": "websocket.close", "code": code, "reason": reason})
