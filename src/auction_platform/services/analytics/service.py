"""The analytics service: event store, rollups and search (PostgreSQL, Elasticsearch)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter

from auction_platform.core.health import Check
from auction_platform.core.service import ServiceDefinition, ServiceRuntime
from auction_platform.services.analytics import (
    api,
    audit_api,
    consumers,
    search_api,
    shill_api,
    shill_scheduler,
    store,
)
from auction_platform.services.analytics.category_tree import CategoryTreeReader
from auction_platform.services.analytics.handlers import Analytics
from auction_platform.services.analytics.search import build_search
from auction_platform.services.analytics.search_es import ElasticSearch
from auction_platform.services.analytics.shill_handlers import ShillSignals


def build_context(runtime: ServiceRuntime[Analytics]) -> Analytics:
    """Build the analytics context (and the search backend the settings choose)."""
    db = runtime.require_uow().db
    settings = runtime.settings
    return Analytics(
        db=db,
        search=build_search(
            db,
            elasticsearch_url=settings.elasticsearch_url,
            index_prefix=settings.elasticsearch_index_prefix,
        ),
        clock=runtime.clock,
        categories=CategoryTreeReader(lambda: runtime.clients["auction"]),
    )


def _shill_signals(runtime: ServiceRuntime[Analytics]) -> ShillSignals:
    """The shill-signals job's context (its window is a setting)."""
    return ShillSignals(
        uow=runtime.require_uow(),
        clock=runtime.clock,
        window_days=runtime.settings.shill_window_days,
    )


def _routers(runtime: ServiceRuntime[Analytics]) -> Sequence[APIRouter]:
    ctx = runtime.context
    shill = shill_api.build_router(_shill_signals(runtime))
    return [api.build_router(ctx), audit_api.build_router(ctx), search_api.build_router(ctx), shill]


async def _startup(runtime: ServiceRuntime[Analytics]) -> None:
    await runtime.context.search.start()


def _background(runtime: ServiceRuntime[Analytics]) -> Sequence[Callable[[], Awaitable[None]]]:
    search = runtime.context.search
    shill = _shill_signals(runtime)
    daily: list[Callable[[], Awaitable[None]]] = [lambda: shill_scheduler.run(shill)]
    return [*daily, search.run] if isinstance(search, ElasticSearch) else daily


async def _shutdown(runtime: ServiceRuntime[Analytics]) -> None:
    """Close the search backend's connections once its indexer has stopped."""
    await runtime.context.search.close()


def _checks(runtime: ServiceRuntime[Analytics]) -> Sequence[Check]:
    search = runtime.context.search
    if not isinstance(search, ElasticSearch):
        return []

    async def elasticsearch() -> dict[str, Any]:
        return await search.ping()

    # Search falls back to the database, so a lost cluster degrades, never fails.
    return [Check("elasticsearch", elasticsearch, critical=False)]


DEFINITION = ServiceDefinition[Analytics](
    name="analytics",
    context=build_context,
    uses_database=True,
    uses_broker=True,
    # Only to follow the token marks (revoked, stale): a role removed by an admin stops
    # working here within seconds. Without Redis the marks held are used (Degraded).
    uses_cache=True,
    # Search reads the category tree there (non-critical: it keeps the last one).
    calls=("auction",),
    critical=frozenset({"npgsql"}),
    tables=store.TABLES,
    errors=api.ERRORS,
    routers=_routers,
    consumers=lambda runtime: consumers.consumers(runtime.clock),
    checks=_checks,
    background=_background,
    startup=_startup,
    shutdown=_shutdown,
)
