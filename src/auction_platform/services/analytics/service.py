"""The analytics service: event store, rollups and search (PostgreSQL, Elasticsearch)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter

from auction_platform.core.health import Check
from auction_platform.core.service import Consumer, ServiceDefinition, ServiceRuntime
from auction_platform.services.analytics import api, handlers, search_api, store
from auction_platform.services.analytics.handlers import Analytics
from auction_platform.services.analytics.search import build_search
from auction_platform.services.analytics.search_es import ElasticSearch


def prepare(runtime: ServiceRuntime) -> None:
    """Build the analytics context (and the search backend the settings choose)."""
    db = runtime.require_uow().db
    settings = runtime.settings
    runtime.state["analytics"] = Analytics(
        db=db,
        search=build_search(
            db,
            elasticsearch_url=settings.elasticsearch_url,
            index_prefix=settings.elasticsearch_index_prefix,
        ),
        clock=runtime.clock,
    )


def _context(runtime: ServiceRuntime) -> Analytics:
    analytics: Analytics = runtime.state["analytics"]
    return analytics


def _routers(runtime: ServiceRuntime) -> Sequence[APIRouter]:
    ctx = _context(runtime)
    return [api.build_router(ctx), search_api.build_router(ctx)]


def _consumers(runtime: ServiceRuntime) -> Sequence[Consumer]:
    return handlers.consumers(runtime.clock)


async def _startup(runtime: ServiceRuntime) -> None:
    await _context(runtime).search.start()


def _background(runtime: ServiceRuntime) -> Sequence[Callable[[], Awaitable[None]]]:
    search = _context(runtime).search
    if not isinstance(search, ElasticSearch):
        return []

    async def index() -> None:
        try:
            await search.run()
        except asyncio.CancelledError:
            await search.close()  # the runtime is stopping
            raise

    return [index]


def _checks(runtime: ServiceRuntime) -> Sequence[Check]:
    search = _context(runtime).search
    if not isinstance(search, ElasticSearch):
        return []

    async def elasticsearch() -> dict[str, Any]:
        return await search.ping()

    # Search falls back to the database, so a lost cluster degrades, never fails.
    return [Check("elasticsearch", elasticsearch, critical=False)]


DEFINITION = ServiceDefinition(
    name="analytics",
    uses_database=True,
    uses_broker=True,
    critical=frozenset({"npgsql"}),
    tables=store.TABLES,
    prepare=prepare,
    routers=_routers,
    consumers=_consumers,
    checks=_checks,
    background=_background,
    startup=_startup,
)
