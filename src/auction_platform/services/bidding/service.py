"""The bidding service: the bid book (PostgreSQL, Redis, RabbitMQ, auction)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial

from starlette.middleware import Middleware

from auction_platform.core.lean import LeanRoutes
from auction_platform.core.service import ServiceDefinition, ServiceRuntime
from auction_platform.services.bidding import (
    api,
    closer,
    consumers,
    handlers,
    privacy_api,
    queries,
    store,
)
from auction_platform.services.bidding.handlers import Bidding
from auction_platform.services.bidding.ports import HttpAuctionRules
from auction_platform.services.bidding.state import Pseudonyms

# The label of the key bidders' public names are derived with (``Settings.derived_key``).
PSEUDONYM_KEY_PURPOSE = "bidding:pseudonyms"


def build_context(runtime: ServiceRuntime[Bidding]) -> Bidding:
    """Build the bidding context: its batcher and its load shedding, the rules port, the key."""
    assert runtime.cache is not None
    settings = runtime.settings
    shed = runtime.metrics.counter(
        "bidding_bids_shed",
        "Bids (and the other commands on a book) refused with 503 overloaded before they"
        " were applied, by reason (queue_full, wait_budget)",
        ("reason",),
    )
    return Bidding(
        uow=runtime.require_uow(),
        cache=runtime.cache,
        clock=runtime.clock,
        rules=HttpAuctionRules(
            lambda: runtime.clients["auction"], auth_headers=runtime.auth_headers
        ),
        render=api.render,
        pseudonyms=Pseudonyms(settings.derived_key(PSEUDONYM_KEY_PURPOSE)),
        max_batch=settings.bid_batch_max,
        shards=settings.bid_batch_shards,
        max_queue=settings.bid_queue_max,
        wait_budget=settings.bid_wait_budget_seconds,
        on_shed=lambda reason: shed.labels(runtime.name, reason).inc(),
    )


def _closer(runtime: ServiceRuntime[Bidding]) -> Callable[[], Awaitable[None]]:
    overdue = runtime.metrics.gauge(
        "bidding_overdue_books", "Open auctions more than 5 s past their end (the closer lags)"
    ).labels(runtime.name)
    return partial(
        closer.run,
        runtime.context,
        interval=runtime.settings.closer_interval_seconds,
        report_overdue=overdue.set,
    )


def _janitor(runtime: ServiceRuntime[Bidding]) -> Callable[[], Awaitable[None]]:
    bidding = runtime.context
    retention = timedelta(hours=runtime.settings.idempotency_ttl_hours)

    async def forget_keys() -> None:
        while True:
            await handlers.forget_old_idempotency_keys(bidding, older_than=retention)
            await asyncio.sleep(300)

    return forget_keys


def _copies_repair(runtime: ServiceRuntime[Bidding]) -> Callable[[], Awaitable[None]]:
    bidding = runtime.context

    async def repair_copies() -> None:
        await bidding.copies.keep_repaired(partial(queries.current_books, bidding))

    return repair_copies


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
    routers=lambda runtime: [
        *api.build_routers(runtime.context),
        privacy_api.build_router(runtime.context),
    ],
    middleware=_lean,
    errors=api.ERRORS,
    consumers=lambda runtime: consumers.every(runtime.context),
    background=lambda runtime: [_closer(runtime), _janitor(runtime), _copies_repair(runtime)],
)
