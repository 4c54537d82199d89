"""Browser sessions: tokens stay on the server, the browser holds an opaque cookie.

As OAuth's guidance for browser-based apps asks: the access and refresh tokens
live in the cache (Redis in the distributed mode) under a hash of the cookie, the
cookie is ``HttpOnly; SameSite=Lax`` (and ``Secure`` outside development), the
server refreshes tokens before they expire, and signing out revokes them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from auction_platform.core.cache.base import Cache

COOKIE = "ap_session"
# A visitor who is not signed in still gets a CSRF token for the sign-in and
# sign-up forms: derived from this cookie, so nothing is stored for them.
VISITOR_COOKIE = "ap_visitor"
# A long-lived random id of the browser, forwarded to identity at sign-up only (the
# shill-bidding signals: accounts opened on one device).
DEVICE_COOKIE = "ap_device"
DEVICE_COOKIE_DAYS = 400  # the longest a browser keeps a cookie (RFC 6265bis)
# Refresh the access token when it has less than this left (seconds).
_REFRESH_MARGIN = 30.0

Refresher = Callable[[str], Awaitable[dict[str, Any]]]


class AccountSuspended(Exception):
    """The visitor's account is suspended (the API's 403 ``account_suspended``): the
    session ends, and the sign-in page says why and until when."""

    def __init__(self, until: str | None, reason: str | None) -> None:
        super().__init__(until, reason)
        self.until = until
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in visitor: who they are and the tokens the site calls the API with."""

    user_id: str
    email: str
    display_name: str
    roles: tuple[str, ...]
    access_token: str
    refresh_token: str
    access_expires: float  # epoch seconds
    csrf: str
    flash: str | None = None
    flash_kind: str = "info"
    extra: dict[str, Any] = field(default_factory=dict)

    def has_role(self, role: str) -> bool:
        """True when the account holds ``role``."""
        return role in self.roles


def _key(cookie: str) -> str:
    return "web:session:" + hashlib.sha256(cookie.encode()).hexdigest()


class SessionStore:
    """Sessions in the cache under a hash of their cookie (the cookie is never stored)."""

    def __init__(self, cache: Cache, *, ttl: float, secret: bytes) -> None:
        self.cache = cache
        self.ttl = ttl
        self.secret = secret
        self._refreshing: dict[str, asyncio.Lock] = {}

    async def create(self, session: Session) -> str:
        """Store a new session; the cookie value that names it."""
        cookie = secrets.token_urlsafe(32)
        await self.save(cookie, session)
        return cookie

    async def load(self, cookie: str | None) -> Session | None:
        """The session a cookie names, or None."""
        if not cookie or len(cookie) > 100:
            return None
        raw = await self.cache.get(_key(cookie))
        if raw is None:
            return None
        data = json.loads(raw)
        data["roles"] = tuple(data["roles"])
        return Session(**data)

    async def save(self, cookie: str, session: Session) -> None:
        """Write the session (and restart its lifetime)."""
        await self.cache.set(_key(cookie), json.dumps(asdict(session)).encode(), ttl=self.ttl)

    async def delete(self, cookie: str) -> None:
        """Forget the session."""
        await self.cache.delete(_key(cookie))

    async def fresh(
        self, cookie: str, session: Session, refresh: Refresher, *, now: bool = False
    ) -> Session | None:
        """The session with an access token good for a while; None when it cannot be renewed.

        Two requests of one visitor may both find the token old: one refreshes (a
        refresh token is spent once), the other waits and reads what it stored.
        ``now``: renew whatever time is left (the account's roles just changed, and
        the access token carries them).
        """
        if not now and session.access_expires - time.time() > _REFRESH_MARGIN:
            return session
        lock = self._refreshing.setdefault(cookie, asyncio.Lock())
        try:
            async with lock:
                current = await self.load(cookie)
                if current is None:
                    return None
                if current.refresh_token != session.refresh_token:
                    return current  # another request renewed it while this one waited
                if not now and current.access_expires - time.time() > _REFRESH_MARGIN:
                    return current
                try:
                    pair = await refresh(current.refresh_token)
                except AccountSuspended:
                    await self.delete(cookie)
                    raise
                except Exception:
                    await self.delete(cookie)
                    return None
                renewed = with_tokens(current, pair)
                await self.save(cookie, renewed)
                return renewed
        finally:
            if not lock.locked():
                self._refreshing.pop(cookie, None)

    def visitor_csrf(self, visitor: str) -> str:
        """The CSRF token of a visitor who is not signed in."""
        return hmac.new(self.secret, b"csrf:" + visitor.encode(), hashlib.sha256).hexdigest()


def with_tokens(session: Session, pair: dict[str, Any]) -> Session:
    """The session holding a new token pair from a login or a refresh."""
    return replace(
        session,
        access_token=str(pair["access_token"]),
        refresh_token=str(pair["refresh_token"]),
        access_expires=time.time() + float(pair["expires_in"]),
    )


def new_session(user: dict[str, Any], pair: dict[str, Any]) -> Session:
    """A session for a user who just signed in."""
    session = Session(
        user_id=str(user["id"]),
        email=str(user["email"]),
        display_name=str(user["display_name"]),
        roles=tuple(user["roles"]),
        access_token="",
        refresh_token="",
        access_expires=0.0,
        csrf=secrets.token_urlsafe(24),
    )
    return with_tokens(session, pair)
