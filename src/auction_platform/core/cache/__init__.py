"""The cache: one interface, an in-process backend and a Redis backend."""

from __future__ import annotations

from urllib.parse import urlsplit

from auction_platform.core.cache.base import Cache, CacheUnavailable, PlatformCache, RateDecision
from auction_platform.core.cache.memory import MemoryCache
from auction_platform.core.cache.redis import RedisCache

__all__ = [
    "Cache",
    "CacheUnavailable",
    "MemoryCache",
    "PlatformCache",
    "RateDecision",
    "RedisCache",
    "build_cache",
]

_REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})


def build_cache(url: str, *, prefix: str = "auction:") -> PlatformCache:
    """Build the backend named by the URL scheme: ``memory://`` or ``redis://``."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        return MemoryCache(prefix=prefix)
    if scheme in _REDIS_SCHEMES:
        return RedisCache(url, prefix=prefix)
    raise ValueError(
        f"unsupported cache URL {url!r}: expected memory://, redis://, rediss:// or unix://"
    )
