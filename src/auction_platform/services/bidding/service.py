"""The bidding service: the bid book (PostgreSQL, Redis, RabbitMQ, auction)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from starlette.middleware import Middleware

from auction_platform.contracts import auctions as contract
from auction_platform.contracts.events import Envelope
from auction_platform.core.lean import LeanRoutes
from auction_platform.core.service import Consumer, ServiceDefinition, ServiceRuntime
from auction_platform.core.uow import Transaction
from auction_platform.services.bidding import api, handlers, store
from auction_platform.services.bidding.handlers import Bidding


def build_context(runtime: ServiceRuntime[Bidding]) -> Bidding:
    """Build the bidding context: its batcher, and how to fetch an auction's rules."""
    assert runtime.cache is not None

    async def fetch_rules(auction_id: str) -> dict[str, Any] | None:
        response = await runtime.clients["auction"].get(
            f"/api/v1/auctions/{auction_id}/rules", headers=await runtime.auth_headers()
        )
        if response.status_code == 404:
            return None
        response.raise_for_status()
        rules: dict[str, Any] = response.json()
        return rules

    return Bidding(
        uow=runtime.require_uow(),
        cache=runtime.cache,
        clock=runtime.clock,
        fetch_rules=fetch_rules,
        max_batch=runtime.settings.bid_batch_max,
        shards=runtime.settings.bid_batch_shards,
    )


def _consumers(runtime: ServiceRuntime[Bidding]) -> list[Consumer]:
    bidding = runtime.context

    async def book_opened(tx: Transaction, envelope: Envelope) -> None:
        await handlers.open_book(tx, envelope.data, now=bidding.clock())

    return [Consumer("books", (f"auction.{contract.AUCTION_OPENED}",), book_opened)]


def _closer(runtime: ServiceRuntime[Bidding]) -> Callable[[], Awaitable[None]]:
    bidding = runtime.context
    interval = runtime.settings.closer_interval_seconds

    overdue = runtime.metrics.gauge(
        "bidding_overdue_books", "Open auctions more than 5 s past their end (the closer lags)"
    ).labels(runtime.name)
    loop = asyncio.get_running_loop

    async def close_books() -> None:
        next_count = 0.0
        while True:
            closed = await handlers.close_due_books(bidding)
            if loop().time() >= next_count:
                async with bidding.uow.db.read() as conn:
                    late = bidding.clock() - timedelta(seconds=5)
                    overdue.set(await store.count_overdue(conn, before=late))
                next_count = loop().time() + 5.0
            if closed == 0:
                await asyncio.sleep(interval)

    return close_books


def _janitor(runtime: ServiceRuntime[Bidding]) -> Callable[[], Awaitable[None]]:
    bidding = runtime.context
    retention = timedelta(hours=runtime.settings.idempotency_ttl_hours)

    async def forget_keys() -> None:
        while True:
            await handlers.forget_old_idempotency_keys(bidding, older_than=retention)
            await asyncio.sleep(300)

    return forget_keys


def _lean(runtime: ServiceRuntime[Bidding]) -> list[Middleware]:
    assert runtime.verifier is not None
    routes = [api.lean_bid_route(runtime.context)]
    return [
        Middleware(
            LeanRoutes, routes=routes, verifier=runtime.verifier, errors=runtime.definition.errors
        )
    ]


DEFINITION = ServiceDefinition[Bidding](
    name="bidding",
    context=build_context,
    uses_database=True,
    uses_cache=True,
    uses_broker=True,
    calls=("auction",),
    critical=frozenset({"npgsql"}),
    tables=store.TABLES,
    routers=lambda runtime: api.build_routers(runtime.context),
    middleware=_lean,
    consumers=_consumers,
    background=lambda runtime: [_closer(runtime), _janitor(runtime)],
)
