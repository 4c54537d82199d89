"""Redis cache for the distributed mode, on ``redis.asyncio``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Final, cast

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from auction_platform.core.cache.base import (
    VERSION_SUFFIX,
    CacheUnavailable,
    Mark,
    RateDecision,
    Subscription,
    TokenRequest,
    VersionedCopy,
    encode_marks,
)
from auction_platform.core.cache.memory import check_token_request, check_ttl

# KEYS[i], i <= n: the hash of bucket i; ARGV[3i-2..3i]: its capacity, refill per
# second, cost (so n = #ARGV / 3).
# Returns, flattened, {allowed (0/1), remaining tokens (floored), retry after in ms}
# for each bucket in order.
# Each bucket is decided on its own (one that holds enough gives its tokens even if
# another refuses); the script as a whole is atomic.
# Time comes from the server so that replicas with skewed clocks agree; a hash
# expires once the bucket would be full again, which reads as a new bucket.
_BUCKETS_LUA: Final = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local buckets = #ARGV / 3
local result = {}
for i = 1, buckets do
  local key = KEYS[i]
  local capacity = tonumber(ARGV[3 * i - 2])
  local rate = tonumber(ARGV[3 * i - 1])
  local cost = tonumber(ARGV[3 * i])
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(state[1])
  local ts = tonumber(state[2])
  if tokens == nil or ts == nil then
    tokens = capacity
    ts = now
  elseif now > ts then
    tokens = math.min(capacity, tokens + (now - ts) * rate / 1000)
    ts = now
  end
  local allowed = 0
  local retry_ms = 0
  if tokens >= cost then
    tokens = tokens - cost
    allowed = 1
  else
    retry_ms = math.ceil((cost - tokens) * 1000 / rate)
  end
  redis.call('HSET', key, 'tokens', tokens, 'ts', ts)
  local ttl_ms = math.ceil((capacity - tokens) * 1000 / rate) + 1000
  redis.call('PEXPIRE', key, math.min(ttl_ms, 1e12))
  result[3 * i - 2] = allowed
  result[3 * i - 1] = math.floor(tokens)
  result[3 * i] = retry_ms
end
return result
"""

# A mark set is a hash of name -> "<expiry in ms, server time>:<value>", living as
# long as its longest-lived mark; expired marks are dropped when it is read.
# KEYS[1]: the set; ARGV[1]: the channel, ARGV[2]: the announcement; then for each
# mark ARGV[3i], ARGV[3i+1], ARGV[3i+2]: its name, value and time to live in ms.
# The marks are set and announced in one atomic step: a follower that reads the set
# after subscribing misses none.
_ADD_MARKS_LUA: Final = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local longest = 0
for i = 3, #ARGV, 3 do
  local ttl = tonumber(ARGV[i + 2])
  local stored = string.format('%.0f', now + ttl) .. ':' .. ARGV[i + 1]
  redis.call('HSET', KEYS[1], ARGV[i], stored)
  if ttl > longest then
    longest = ttl
  end
end
if redis.call('PTTL', KEYS[1]) < longest then
  redis.call('PEXPIRE', KEYS[1], longest)
end
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
"""

# KEYS[1]: a mark set. Drops its expired marks and returns, flattened, the name,
# time to live in ms and value of each live one.
_READ_MARKS_LUA: Final = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local fields = redis.call('HGETALL', KEYS[1])
local live = {}
local expired = {}
for i = 1, #fields, 2 do
  local stored = fields[i + 1]
  local colon = string.find(stored, ':', 1, true)
  local at = colon and tonumber(string.sub(stored, 1, colon - 1))
  if at and at > now then
    live[#live + 1] = fields[i]
    live[#live + 1] = at - now
    live[#live + 1] = string.sub(stored, colon + 1)
  else
    expired[#expired + 1] = fields[i]
  end
end
for i = 1, #expired, 1000 do
  redis.call('HDEL', KEYS[1], unpack(expired, i, math.min(i + 999, #expired)))
end
return live
"""

# For copy i: KEYS[2i-1] its key, KEYS[2i] the key of its version; ARGV[1] the time to
# live in ms (0: none); ARGV[3i-1] the channel, ARGV[3i] the value, ARGV[3i+1] the
# version. A copy is stored (value and version, with the same lifetime) and published
# only if its version is above the stored one or none is stored: a late writer never
# replaces a newer copy. Returns 1 (stored) or 0 per copy. One command instead of a
# pipeline: a batch of bids refreshes a book per auction, and the client's pipeline
# cost three times the CPU of this call at 11 books.
_SET_AND_PUBLISH_LUA: Final = """
local px = tonumber(ARGV[1])
local stored = {}
for i = 1, #KEYS / 2 do
  local version = ARGV[3 * i + 1]
  local current = tonumber(redis.call('GET', KEYS[2 * i]))
  if current == nil or tonumber(version) > current then
    local value = ARGV[3 * i]
    if px > 0 then
      redis.call('SET', KEYS[2 * i - 1], value, 'PX', px)
      redis.call('SET', KEYS[2 * i], version, 'PX', px)
    else
      redis.call('SET', KEYS[2 * i - 1], value)
      redis.call('SET', KEYS[2 * i], version)
    end
    redis.call('PUBLISH', ARGV[3 * i - 1], value)
    stored[i] = 1
  else
    stored[i] = 0
  end
end
return stored
"""


# Subscriptions open at once, at most (Redis's own default limit of clients).
SUBSCRIPTIONS_MAX: Final = 10_000


@contextmanager
def _translate_errors(operation: str) -> Iterator[None]:
    try:
        yield
    except (RedisError, OSError) as exc:
        raise CacheUnavailable(f"redis {operation} failed: {exc}") from exc


class _MessageIterator:
    """Yields the data of each message on one subscription until it is closed."""

    def __init__(self, pubsub: PubSub) -> None:
        self._pubsub = pubsub
        self._closed = False
        self._read: asyncio.Future[list[bytes]] | None = None

    def __aiter__(self) -> _MessageIterator:
        return self

    async def __anext__(self) -> bytes:
        messages = await self._reading(self._next)
        if not messages:
            raise StopAsyncIteration
        return messages[0]

    async def batch(self) -> list[bytes]:
        """The next message and every one the connection already holds; [] once closed."""
        return await self._reading(self._all_waiting)

    async def _reading(self, read: Callable[[], Awaitable[list[bytes]]]) -> list[bytes]:
        if self._closed:
            return []
        # The read runs in its own task so that ``close`` can cancel it: if the
        # connection were closed under a pending read, redis-py would reconnect it
        # behind our back and leak it.
        self._read = asyncio.ensure_future(read())
        try:
            return await self._read
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._closed and task is not None and not task.cancelling():
                return []
            raise
        except (RedisError, OSError) as exc:
            raise CacheUnavailable(f"redis subscription failed: {exc}") from exc
        finally:
            self._read = None

    async def _next(self) -> list[bytes]:
        while True:
            message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
            if message is not None and message["type"] == "message":
                return [message["data"]]

    async def _all_waiting(self) -> list[bytes]:
        messages = await self._next()
        # With a timeout of 0, get_message answers from what the connection has parsed or
        # buffered without waiting, and None once that is used up: a reader that comes
        # back late takes everything that arrived meanwhile in one go, rather than a
        # message per turn of the event loop while more pile up in the socket.
        while (
            message := await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0)
        ) is not None:
            if message["type"] == "message":
                messages.append(message["data"])
        return messages

    async def close(self) -> None:
        """Stop iterating and release the subscription's connection."""
        self._closed = True
        read = self._read
        if read is not None:
            read.cancel()
            await asyncio.wait([read])
        await self._pubsub.aclose()


class RedisCache:
    """The ``Cache`` interface on a Redis server; every key and channel is prefixed."""

    def __init__(self, url: str, *, prefix: str = "auction:", timeout: float = 2.0) -> None:
        self._url = url
        self._prefix = prefix
        self._timeout = timeout
        self._client: Redis | None = None
        self._take_tokens_script: AsyncScript | None = None
        self._set_and_publish_script: AsyncScript | None = None
        self._add_marks_script: AsyncScript | None = None
        self._read_marks_script: AsyncScript | None = None
        self._subscriptions: set[_MessageIterator] = set()
        self._subscriber: Redis | None = None

    async def start(self) -> None:
        """Create the client; connections are opened on first use."""
        if self._client is not None:
            return
        # Every operation fails within the timeouts instead of retrying behind
        # the caller's back; the pool replaces dead connections on checkout.
        options: dict[str, Any] = {
            "socket_timeout": self._timeout,
            "socket_connect_timeout": self._timeout,
            "retry": Retry(NoBackoff(), 0),
        }
        self._client = Redis.from_url(self._url, **options)
        # A subscription holds a connection while it lives. From a pool of their own,
        # subscriptions never take the commands' connections (redis-py caps a pool
        # at 100 by default: a hundred auctions watched would stop the rate limits).
        self._subscriber = Redis.from_url(self._url, max_connections=SUBSCRIPTIONS_MAX, **options)
        self._take_tokens_script = self._client.register_script(_BUCKETS_LUA)
        self._set_and_publish_script = self._client.register_script(_SET_AND_PUBLISH_LUA)
        self._add_marks_script = self._client.register_script(_ADD_MARKS_LUA)
        self._read_marks_script = self._client.register_script(_READ_MARKS_LUA)

    async def close(self) -> None:
        """End open subscriptions and close the client and its connection pool."""
        client, self._client = self._client, None
        self._take_tokens_script = None
        self._set_and_publish_script = None
        self._add_marks_script = None
        self._read_marks_script = None
        subscriptions, self._subscriptions = self._subscriptions, set()
        for subscription in subscriptions:
            await subscription.close()
        if client is not None:
            await client.aclose()
        subscriber, self._subscriber = self._subscriber, None
        if subscriber is not None:
            await subscriber.aclose()

    async def ping(self) -> None:
        """Round-trip to the server or raise ``CacheUnavailable``."""
        client = self._require_client()
        with _translate_errors("PING"):
            await client.ping()

    async def get(self, key: str) -> bytes | None:
        """Return the value of ``key``, or None when it is missing or expired."""
        client = self._require_client()
        with _translate_errors("GET"):
            value = await client.get(self._prefix + key)
        # The client is built without decode_responses, so values stay bytes.
        return cast("bytes | None", value)

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        """Store ``value`` under ``key``, expiring after ``ttl`` seconds if given."""
        check_ttl(ttl)
        client = self._require_client()
        px = None if ttl is None else max(1, round(ttl * 1000))
        with _translate_errors("SET"):
            await client.set(self._prefix + key, value, px=px)

    async def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        client = self._require_client()
        with _translate_errors("DEL"):
            await client.delete(self._prefix + key)

    async def publish(self, channel: str, message: bytes) -> None:
        """Deliver ``message`` to every current subscriber of ``channel``."""
        client = self._require_client()
        with _translate_errors("PUBLISH"):
            await client.publish(self._prefix + channel, message)

    async def set_and_publish(
        self, items: Sequence[VersionedCopy], *, ttl: float | None = None
    ) -> list[bool]:
        """For each copy newer than the stored one: SET it and its version, PUBLISH it; one call."""
        check_ttl(ttl)
        if not items:
            return []
        script = self._set_and_publish_script
        if script is None:
            raise CacheUnavailable("the redis cache is not started or already closed")
        px = 0 if ttl is None else max(1, round(ttl * 1000))
        keys: list[str] = []
        args: list[int | str | bytes] = [px]
        for key, channel, value, version in items:
            keys += (self._prefix + key, self._prefix + key + VERSION_SUFFIX)
            args += (self._prefix + channel, value, int(version))
        with _translate_errors("SET/PUBLISH script"):
            result: list[Any] = await script(keys=keys, args=args)
        if len(result) != len(items):
            raise CacheUnavailable(f"redis set_and_publish script answered {result!r}")
        return [int(flag) == 1 for flag in result]

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        """Subscribe to ``channel``; messages published after entering are received."""
        self._require_client()
        assert self._subscriber is not None  # started with the client
        name = self._prefix + channel
        pubsub = self._subscriber.pubsub()
        iterator = _MessageIterator(pubsub)
        try:
            with _translate_errors("SUBSCRIBE"):
                await pubsub.subscribe(name)
                await self._await_confirmation(pubsub)
            self._subscriptions.add(iterator)
            yield iterator
        finally:
            self._subscriptions.discard(iterator)
            await iterator.close()

    async def take_token(
        self, key: str, *, capacity: int, refill_per_second: float, cost: int = 1
    ) -> RateDecision:
        """Take ``cost`` tokens from the bucket ``key`` if it holds enough, atomically."""
        (decision,) = await self.take_tokens([TokenRequest(key, capacity, refill_per_second, cost)])
        return decision

    async def take_tokens(self, requests: Sequence[TokenRequest]) -> list[RateDecision]:
        """Take from several buckets in one script call; each bucket is decided on its own."""
        for request in requests:
            check_token_request(request.capacity, request.refill_per_second, request.cost)
        script = _started(self._take_tokens_script)
        if not requests:
            return []
        keys = [self._prefix + request.key for request in requests]
        args: list[int | float] = []
        for request in requests:
            args += (request.capacity, request.refill_per_second, request.cost)
        with _translate_errors("take_tokens script"):
            result: list[Any] = await script(keys=keys, args=args)
        if len(result) != 3 * len(requests):
            raise CacheUnavailable(f"redis take_tokens script answered {result!r}")
        numbers = [int(item) for item in result]
        return [
            RateDecision(allowed=allowed == 1, remaining=remaining, retry_after=retry_ms / 1000)
            for allowed, remaining, retry_ms in zip(
                numbers[0::3], numbers[1::3], numbers[2::3], strict=True
            )
        ]

    async def add_marks(self, key: str, channel: str, marks: Sequence[Mark]) -> None:
        """Set each mark in the set ``key`` and announce them on ``channel``, in one script call."""
        for mark in marks:
            check_ttl(mark.ttl)
        script = _started(self._add_marks_script)
        if not marks:
            return
        args: list[int | str | bytes] = [self._prefix + channel, encode_marks(marks)]
        for mark in marks:
            args += (mark.name, mark.value, max(1, round(mark.ttl * 1000)))
        with _translate_errors("add_marks script"):
            await script(keys=[self._prefix + key], args=args)

    async def marks(self, key: str) -> list[Mark]:
        """Every mark of the set ``key`` not expired yet, with the seconds it has left."""
        script = _started(self._read_marks_script)
        with _translate_errors("marks script"):
            result: list[Any] = await script(keys=[self._prefix + key])
        return [
            Mark(name.decode(), value, int(left) / 1000)
            for name, left, value in zip(result[0::3], result[1::3], result[2::3], strict=True)
        ]

    async def _await_confirmation(self, pubsub: PubSub) -> None:
        # SUBSCRIBE only sends the command; until the server confirms, a PUBLISH
        # from another connection could be processed first and be missed.
        deadline = time.monotonic() + self._timeout
        while (left := deadline - time.monotonic()) > 0:
            message = await pubsub.get_message(timeout=left)
            if message is not None and message["type"] == "subscribe":
                return
        raise CacheUnavailable(f"redis did not confirm the subscription within {self._timeout}s")

    def _require_client(self) -> Redis:
        if self._client is None:
            raise CacheUnavailable("the redis cache is not started or already closed")
        return self._client


def _started(script: AsyncScript | None) -> AsyncScript:
    """A script of a started cache (None once closed, or before the start)."""
    if script is None:
        raise CacheUnavailable("the redis cache is not started or already closed")
    return script
