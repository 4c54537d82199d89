"""The live feed's fan-out: one subscription per auction, one mailbox of one slot per watcher.

A crowd watching a hot auction must not cost a cache subscription each (on Redis a
connection each: ten thousand watchers would be ten thousand connections, the server's
default limit) nor a queue each that grows while a slow client reads. So a process
holds one subscription per auction that has watchers, shared by all of them, parses
each message's version once, and hands every watcher the newest book only:

- a watcher's mailbox holds one update; a newer one replaces an update the watcher has
  not taken yet (conflation, as market-data feeds do), an older or equal one is
  dropped, so a watcher that falls behind gets the newest book, never an older one,
  and its memory does not grow with the rate of bids;
- each watcher takes from its own mailbox in its own task (the WebSocket's), so one
  slow client delays nobody else; a watcher whose task waits for its next update
  and whose connection can take a message now (``Push``: nothing unsent before it)
  is sent the update there and then, by the hub, without waking its task (a wake,
  a take and a send were most of the gateway's CPU per delivered update);
- the subscription is conflated too: each time the hub runs it reads everything that
  waits on it (``Subscription.batch``) and offers only the newest book of it, once. A
  message per turn of the event loop fell behind when a thousand senders shared the
  turns (each read waited for all of them), and the books waiting piled up unbounded
  in the connection; now what waits is at most what arrived since the last read;
- a watcher's first book is read from the bidding service once it has joined (so
  nothing committed after the read can pass it by); watchers who join while a read
  is on its way wait for the next one, and share it (``FeedHub.snapshot``): a crowd
  arriving together costs a read or two, not a read and a parsed copy each;
- the subscription ends when the last watcher leaves; a subscription that breaks
  (Redis lost) is opened again, 0.5 s doubling to 5 s apart, and the auction's book is
  then read again (``fetch``) and offered, so watchers learn what they missed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final

from auction_platform.contracts.auctions import feed_channel
from auction_platform.core.cache.base import Cache, CacheUnavailable

log = logging.getLogger("auction_platform.gateway")

RETRY_FIRST_SECONDS: Final = 0.5
RETRY_MAX_SECONDS: Final = 5.0
_FINAL = {"closed", "cancelled"}

# The current public book of an auction, or None when it cannot be read now; raises
# NoSuchAuction when there is no such auction.
FetchBook = Callable[[str], Awaitable[Mapping[str, Any] | None]]
# Sends a text message on a watcher's connection now if it can go at once (the
# connection open and nothing of its own waiting to be written); False: it was not sent.
Push = Callable[[str], bool]


class NoSuchAuction(LookupError):
    """The auction a watcher asked for does not exist."""


def book_order(book: Mapping[str, Any]) -> int:
    """Books are ordered by their version."""
    version = book.get("version")
    if version is None:
        # A bidding process from before versions (during a rolling upgrade): its order
        # was the ledger sequence, closed after open, which is where versions started.
        return int(book.get("seq", 0)) + int(book.get("status") in _FINAL)
    return int(version)


@dataclass(frozen=True, slots=True)
class Update:
    """A committed book as sent to watchers: its order and its JSON text."""

    version: int
    text: str

    @classmethod
    def from_message(cls, message: bytes) -> Update:
        """The update a feed message carries (the bidding service's JSON book)."""
        text = message.decode()
        return cls(book_order(json.loads(text)), text)

    @classmethod
    def from_book(cls, book: Mapping[str, Any]) -> Update:
        return cls(book_order(book), json.dumps(book))


class Watcher:
    """One watcher's mailbox: the newest update it has not taken, at most one."""

    __slots__ = ("_closed", "_floor", "_pending", "_push", "_waiting", "joined")

    def __init__(self, joined: int = 0, push: Push | None = None) -> None:
        # The reads of the book its auction had started when the watcher joined: its
        # first book must come from a later one (FeedHub.snapshot).
        self.joined = joined
        self._pending: Update | None = None
        self._floor = -1  # the version the watcher holds; nothing at or below it is offered
        self._closed = False
        # What ``take`` waits on, made only while it waits (a future, not an Event:
        # an Event keeps a queue of waiters, about 600 bytes, times every watcher).
        self._waiting: asyncio.Future[None] | None = None
        self._push = push

    @property
    def pending(self) -> Update | None:
        """The update waiting to be taken, if any."""
        return self._pending

    def holds(self, version: int) -> None:
        """The watcher holds this version (its snapshot): offer nothing older or equal."""
        self._floor = max(self._floor, version)

    def offer(self, update: Update) -> None:
        """Put ``update`` in the mailbox unless the watcher has or awaits one as new.

        A watcher waiting in ``take`` (so nothing of its own is on the way, and its
        first book has been sent) is pushed the update at once when its connection
        can take it; otherwise its task is woken to send it.
        """
        pending = self._pending
        if update.version <= self._floor or (
            pending is not None and update.version <= pending.version
        ):
            return
        if self._waiting is not None and self._push is not None and self._push(update.text):
            self._floor = update.version
            return
        self._pending = update
        self._wake()

    def close(self) -> None:
        """End the watch: ``take`` answers None from now on."""
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        waiting, self._waiting = self._waiting, None
        if waiting is not None and not waiting.done():
            waiting.set_result(None)

    async def take(self) -> Update | None:
        """The newest update not taken yet, once there is one; None once closed."""
        while not self._closed:
            update, self._pending = self._pending, None
            if update is not None and update.version > self._floor:
                self._floor = update.version
                return update
            self._waiting = asyncio.get_running_loop().create_future()
            try:
                await self._waiting
            finally:
                self._waiting = None
        return None


class _Channel:
    """One auction's subscription and its watchers."""

    def __init__(self, auction_id: str) -> None:
        self.auction_id = auction_id
        self.watchers: set[Watcher] = set()
        self.newest = -1
        self.live = asyncio.Event()  # set while the subscription is open
        self.failure: CacheUnavailable | None = None  # why the first subscription failed
        self.settled = asyncio.Event()  # the first subscription opened or failed
        self.task: asyncio.Task[None] | None = None
        self.reads = 0  # reads of the book started for new watchers
        self.reading: asyncio.Task[Update | None] | None = None  # the latest of them

    def deliver(self, update: Update) -> bool:
        """Offer an update to every watcher unless a newer one came first."""
        if update.version <= self.newest:
            return False  # two replicas' messages crossed, or a catch-up was late
        self.newest = update.version
        for watcher in self.watchers:
            watcher.offer(update)
        return True

    def end(self) -> None:
        """The subscription will not open again (the cache closed): release every watcher."""
        self.live.clear()
        for watcher in self.watchers:
            watcher.close()


class FeedHub:
    """The process's watchers by auction, fed from one cache subscription per auction."""

    def __init__(
        self,
        cache: Cache,
        *,
        fetch: FetchBook,
        retry_first: float = RETRY_FIRST_SECONDS,
        retry_max: float = RETRY_MAX_SECONDS,
    ) -> None:
        self._cache = cache
        self._fetch = fetch
        self._retry_first = retry_first
        self._retry_max = retry_max
        self._channels: dict[str, _Channel] = {}
        self._received = 0
        self._fanned_out = 0

    @property
    def received(self) -> int:
        """Messages read from the subscriptions so far."""
        return self._received

    @property
    def fanned_out(self) -> int:
        """Updates offered to an auction's watchers so far (at most one per read)."""
        return self._fanned_out

    @property
    def subscriptions(self) -> int:
        """Auctions this process follows now (one cache subscription each)."""
        return len(self._channels)

    def watchers(self, auction_id: str) -> int:
        """Watchers of an auction in this process."""
        channel = self._channels.get(auction_id)
        return 0 if channel is None else len(channel.watchers)

    @asynccontextmanager
    async def watch(self, auction_id: str, *, push: Push | None = None) -> AsyncIterator[Watcher]:
        """A watcher of the auction, receiving every update published from now on.

        ``push`` sends an update on the watcher's connection at once, when it can
        (``Watcher.offer``); without it every update goes through ``take``.

        Raises ``CacheUnavailable`` when the auction's subscription is not open (the
        cache cannot be reached): nothing published meanwhile would reach the watcher.
        """
        channel = self._channels.get(auction_id)
        if channel is None:
            channel = self._channels[auction_id] = _Channel(auction_id)
            channel.task = asyncio.create_task(self._follow(channel), name=f"feed {auction_id}")
            channel.task.add_done_callback(lambda task: _ended(channel, task))
        watcher = Watcher(joined=channel.reads, push=push)
        channel.watchers.add(watcher)
        try:
            await channel.settled.wait()
            if not channel.live.is_set():
                raise channel.failure or CacheUnavailable("the live feed is reconnecting")
            yield watcher
        finally:
            watcher.close()
            await self._leave(channel, watcher)

    async def snapshot(self, auction_id: str, watcher: Watcher) -> Update | None:
        """The auction's book, read after ``watcher`` joined; None if it cannot be read now.

        One read serves every watcher who joined before it started: a read already on
        its way when the watcher joined may miss a commit the watcher's subscription
        came too late for, so that watcher waits for it to end and shares the next.
        Raises ``NoSuchAuction`` and what the read raises.
        """
        channel = self._channels[auction_id]
        while True:
            reading = channel.reading
            if reading is not None and channel.reads > watcher.joined:
                return await asyncio.shield(reading)
            if reading is None or reading.done():
                channel.reads += 1
                channel.reading = asyncio.create_task(self._read(auction_id))
                channel.reading.add_done_callback(_retrieved)
                continue
            await asyncio.wait([reading])

    async def _read(self, auction_id: str) -> Update | None:
        book = await self._fetch(auction_id)
        return None if book is None else Update.from_book(book)

    async def _leave(self, channel: _Channel, watcher: Watcher) -> None:
        channel.watchers.discard(watcher)
        if channel.watchers or self._channels.get(channel.auction_id) is not channel:
            return
        del self._channels[channel.auction_id]
        task = channel.task
        if task is not None and not task.done():
            task.cancel()
            # Unsubscribed before the last watcher's handler ends; its own cancellation
            # (a server shutting down) still goes through.
            await asyncio.wait([task])

    async def _follow(self, channel: _Channel) -> None:
        """Hold the auction's subscription while it has watchers; open it again when it breaks."""
        delay = self._retry_first
        while True:
            try:
                async with self._cache.subscribe(feed_channel(channel.auction_id)) as messages:
                    if channel.settled.is_set():
                        await self._catch_up(channel)
                    channel.live.set()
                    channel.settled.set()
                    delay = self._retry_first
                    while batch := await messages.batch():
                        self._deliver(channel, batch)
                channel.end()  # the cache closed: the process is stopping
                return
            except CacheUnavailable as exc:
                channel.live.clear()
                if not channel.settled.is_set():
                    channel.failure = exc
                    channel.settled.set()
                    self._forget(channel)
                    return
                log.warning(
                    "live feed of %s lost, again in %gs: %s", channel.auction_id, delay, exc
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._retry_max)

    def _deliver(self, channel: _Channel, messages: list[bytes]) -> None:
        """Offer the newest book of what waited on the subscription, once."""
        self._received += len(messages)
        newest: Update | None = None
        for message in messages:
            try:
                update = Update.from_message(message)
            except (ValueError, TypeError) as exc:
                log.warning(
                    "live feed of %s: skipped a message that is no book: %s",
                    channel.auction_id,
                    exc,
                )
                continue
            if newest is None or update.version > newest.version:
                newest = update
        if newest is not None and channel.deliver(newest):
            self._fanned_out += 1

    async def _catch_up(self, channel: _Channel) -> None:
        """After a lost subscription: offer the book as it stands, as updates may be missed."""
        try:
            book = await self._fetch(channel.auction_id)
        except Exception as exc:  # the feed goes on; the next update brings the book
            log.warning(
                "live feed of %s: could not read the book again: %s", channel.auction_id, exc
            )
            return
        if book is not None:
            channel.deliver(Update.from_book(book))

    def _forget(self, channel: _Channel) -> None:
        if self._channels.get(channel.auction_id) is channel:
            del self._channels[channel.auction_id]


def _retrieved(task: asyncio.Task[Update | None]) -> None:
    """A read's failure is its waiters' to handle; none left waiting is no error to log."""
    if not task.cancelled():
        task.exception()


def _ended(channel: _Channel, task: asyncio.Task[None]) -> None:
    """A subscription that ended on a fault of its own releases its watchers (1011)."""
    if task.cancelled() or task.exception() is None:
        return
    log.error("live feed of %s failed", channel.auction_id, exc_info=task.exception())
    channel.settled.set()
    channel.end()
