"""The platform the fuzzer talks to: embedded, served on a loopback port, with people and lots.

It runs in a thread with its own event loop, because schemathesis calls the API
synchronously (``requests``) from the test: the platform keeps answering while the
test waits for an answer. Before the first case it holds a bidder, a seller, an
admin and a service's token, an open lot with a bid, a draft, and an order waiting
for payment, so that generated requests can reach past "no such lot" (see
``test_api_fuzz``).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from auction_platform.composition import Platform
from auction_platform.core.auth import service_client_secret
from auction_platform.settings import SERVICES
from support.accounts import PASSWORD, Account, sign_up
from support.auctions import admin_token, create, open_lot, place_bid, seller
from support.http_server import serving
from support.platforms import embedded_settings, running
from support.servers import TEST_POOL_SIZE, TEST_POOL_TIMEOUT, postgres_database
from support.waiting import eventually

# Generous limits: the fuzzer sends thousands of requests from one address, and
# hundreds of refused sign-ins; a 429 would only hide what it is looking for.
SETTINGS = {
    "rate_limit_per_address": 1_000_000,
    "rate_limit_per_user": 1_000_000,
    "auth_rate_limit_per_address": 1_000_000,
    "login_failures_per_address": 1_000_000,
    "login_failures_per_account": 1_000_000,
    "auction_min_duration_seconds": 1,
    "db_pool_size": TEST_POOL_SIZE,
    "db_pool_timeout": TEST_POOL_TIMEOUT,
}
STARTUP = 300.0  # seconds: a deadline for a loaded machine, not a measure


@dataclass
class Deployment:
    """Where the platform answers, who may call it, and the ids that exist there."""

    url: str
    database: str  # "sqlite" (the embedded default) or "postgres"
    bidder: Account
    seller: Account
    admin: dict[str, str]
    service: dict[str, str]  # the auction service's token: what services call
    open_lot: str
    draft_lot: str
    order: str

    def account(self) -> Account:
        """A new signed-in bidder, for a case that spends what it has (a session, a token)."""
        email = f"spent-{uuid.uuid4().hex[:12]}@example.com"
        with httpx.Client(base_url=self.url, timeout=60) as http:
            body = {"email": email, "password": PASSWORD, "display_name": "Spent"}
            registered = http.post("/api/v1/auth/register", json=body)
            assert registered.status_code == 201, registered.text
            tokens = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
            assert tokens.status_code == 200, tokens.text
        user, pair = registered.json()["user"], tokens.json()
        return Account(user["id"], email, pair["access_token"], pair["refresh_token"])


async def _orders(http: httpx.AsyncClient, who: Account) -> list[dict[str, Any]]:
    answer = await http.get("/api/v1/orders", headers=who.headers)
    items: list[dict[str, Any]] = answer.json()["items"] if answer.status_code == 200 else []
    return items


async def _populate(url: str, platform: Platform, database: str) -> Deployment:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        bidder = await sign_up(http, name="Bea")
        owner = await seller(http, name="Sam")
        admin = await admin_token(http, platform)
        secret = service_client_secret(platform.settings.secret_key.get_secret_value(), "auction")
        credentials = {"client_id": "service:auction", "client_secret": secret}
        issued = await http.post("/api/v1/auth/service-token", json=credentials)
        assert issued.status_code == 200, issued.text
        listed = await open_lot(http, owner)
        await place_bid(http, listed["id"], bidder, 20_000)
        draft = await create(http, owner, title=f"Draft {uuid.uuid4().hex[:6]}")
        sold = await open_lot(http, owner, reserve_cents=None)
        bought = await http.post(f"/api/v1/auctions/{sold['id']}/buy-now", headers=bidder.headers)
        assert bought.status_code == 201, bought.text
        [order] = await eventually(lambda: _orders(http, bidder))
    return Deployment(
        url=url,
        database=database,
        bidder=bidder,
        seller=owner,
        admin=admin,
        service={"Authorization": f"Bearer {issued.json()['access_token']}"},
        open_lot=listed["id"],
        draft_lot=draft["id"],
        order=order["id"],
    )


@contextlib.contextmanager
def served(data_dir: Path, database: str) -> Iterator[Deployment]:
    """The embedded platform served on a free port, in a thread, until the block ends.

    Its services keep their tables in SQLite files, as ``up`` does by default, or in a
    fresh PostgreSQL database (``database="postgres"``), dropped afterwards.
    """
    loop = asyncio.new_event_loop()
    started = threading.Event()
    outcome: dict[str, Any] = {}
    stop = asyncio.Event()

    async def main() -> None:
        try:
            async with contextlib.AsyncExitStack() as stack:
                database_url = ""
                if database == "postgres":
                    database_url = await stack.enter_async_context(postgres_database())
                settings = embedded_settings(data_dir, database_url=database_url, **SETTINGS)
                platform = await stack.enter_async_context(
                    running(settings, list(SERVICES), embedded=True)
                )
                url = await stack.enter_async_context(serving(platform.apps["gateway"]))
                outcome["deployment"] = await _populate(url, platform, database)
                started.set()
                await stop.wait()
        except BaseException as exc:
            outcome["error"] = exc
            raise
        finally:
            started.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        with contextlib.suppress(BaseException):
            loop.run_until_complete(main())

    thread = threading.Thread(target=run, name="fuzzed-platform", daemon=True)
    thread.start()
    try:
        if not started.wait(STARTUP):
            raise AssertionError(f"the platform was not ready within {STARTUP} s")
        if "error" in outcome:
            raise AssertionError("the platform did not start") from outcome["error"]
        yield outcome["deployment"]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(STARTUP)
        loop.close()
    if "error" in outcome:
        raise AssertionError("the platform did not stop cleanly") from outcome["error"]
