"""The auction service: catalogue, lifecycle and scheduler (PostgreSQL, Redis, RabbitMQ)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from auction_platform.core.health import Check
from auction_platform.core.http import ServiceClient
from auction_platform.core.objects import S3Store, build_object_store
from auction_platform.core.service import ServiceDefinition, ServiceRuntime
from auction_platform.services.auction import (
    api,
    category_api,
    consumers,
    photo_api,
    privacy_api,
    report_api,
    sale_api,
    scheduler,
    store,
)
from auction_platform.services.auction.handlers import Auctions
from auction_platform.services.auction.lot_cache import LotCache
from auction_platform.services.auction.ports import HttpBookControl


def build_context(runtime: ServiceRuntime[Auctions]) -> Auctions:
    """Build the auction context the routes, consumers and scheduler share."""

    def bidding() -> ServiceClient:
        return runtime.clients["bidding"]

    return Auctions(
        uow=runtime.require_uow(),
        lots=LotCache(runtime.cache),
        settings=runtime.settings,
        clock=runtime.clock,
        book=HttpBookControl(bidding, runtime.auth_headers),
        photo_store=build_object_store(runtime.settings),
    )


async def _startup(runtime: ServiceRuntime[Auctions]) -> None:
    photos = runtime.context.photos
    if isinstance(photos, S3Store):
        await photos.start()


def _checks(runtime: ServiceRuntime[Auctions]) -> Sequence[Check]:
    """The photo store, non-critical: without it only uploads and photos fail."""
    return [Check("photos", runtime.context.photos.check, critical=False)]


def _background(runtime: ServiceRuntime[Auctions]) -> Sequence[Callable[[], Awaitable[None]]]:
    ctx = runtime.context
    return [lambda: scheduler.run(ctx)]


DEFINITION = ServiceDefinition[Auctions](
    name="auction",
    context=build_context,
    uses_database=True,
    uses_cache=True,
    uses_broker=True,
    # Cancelling an open lot asks the bid book first; without bidding the rest still works.
    calls=("bidding",),
    critical=frozenset({"npgsql"}),
    errors=api.ERRORS,
    tables=store.TABLES,
    routers=lambda runtime: [
        api.build_router(runtime.context),
        category_api.build_router(runtime.context.categories),
        photo_api.build_router(runtime.context, runtime.context.photos),
        privacy_api.build_router(runtime.context),
        report_api.build_router(runtime.context),
        sale_api.build_router(runtime.context),
    ],
    consumers=lambda runtime: consumers.every(runtime.context),
    background=_background,
    startup=_startup,
    checks=_checks,
)
