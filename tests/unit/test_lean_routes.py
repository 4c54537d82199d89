"""Lean routes: a request is announced to its use case while its token is checked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from pydantic import BaseModel
from starlette.types import Receive, Scope, Send

from auction_platform.core.auth import Principal, TokenVerifier
from auction_platform.core.lean import LeanRoute, LeanRoutes
from support.tokens import Keys


class Body(BaseModel):
    amount: int


class Announcements:
    """Records what was announced, and whether the token was checked meanwhile."""

    def __init__(self, keys: Keys) -> None:
        self.keys = keys
        self.open = 0
        self.announced: list[dict[str, str]] = []
        self.keys_fetched_while_announced = False
        self.open_when_handled: list[int] = []

    @contextmanager
    def arriving(self, params: dict[str, str]) -> Iterator[None]:
        self.announced.append(params)
        self.open += 1
        try:
            yield
        finally:
            self.open -= 1

    async def jwks(self) -> dict[str, Any]:
        self.keys_fetched_while_announced = self.open > 0
        return await self.keys.jwks()

    async def handle(
        self, params: dict[str, str], user: Principal, body: Any, headers: dict[str, str]
    ) -> tuple[int, Any]:
        self.open_when_handled.append(self.open)
        return 201, {"thing": params["thing"], "user": user.subject, "amount": body.amount}


async def _fallback(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 418, "headers": []})
    await send({"type": "http.response.body", "body": b"framework"})


def _client(announcements: Announcements) -> httpx.AsyncClient:
    route = LeanRoute(
        path="/things/{thing}/bids",
        pattern=re.compile(r"^/things/(?P<thing>[a-z0-9]+)/bids$"),
        body=Body,
        handle=announcements.handle,
        arriving=announcements.arriving,
    )
    app = LeanRoutes(_fallback, routes=[route], verifier=TokenVerifier(announcements.jwks))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lean")


async def _bid(announcements: Announcements, token: str) -> httpx.Response:
    async with _client(announcements) as client:
        return await client.post(
            "/things/t1/bids", json={"amount": 5}, headers={"Authorization": f"Bearer {token}"}
        )


async def test_the_token_is_checked_while_the_request_is_announced_and_handled_after() -> None:
    keys = Keys("k1")
    announcements = Announcements(keys)
    answer = await _bid(announcements, keys.sign())
    assert answer.status_code == 201
    assert answer.json() == {"thing": "t1", "user": "user-1", "amount": 5}
    assert announcements.announced == [{"thing": "t1"}]
    assert announcements.keys_fetched_while_announced
    assert announcements.open_when_handled == [0]


async def test_a_refused_token_ends_its_announcement() -> None:
    keys = Keys("k1")
    announcements = Announcements(keys)
    answer = await _bid(announcements, keys.sign(lifetime=-60))
    assert answer.status_code == 401
    assert announcements.announced == [{"thing": "t1"}]
    assert announcements.open == 0
    assert announcements.open_when_handled == []
