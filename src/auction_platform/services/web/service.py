"""The web service: the site for bidders, sellers and operators (cache for sessions)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from auction_platform.contracts.routes import API_SERVICES
from auction_platform.core.service import ServiceDefinition, ServiceRuntime
from auction_platform.services.web import (
    account,
    addresses,
    admin,
    admin_audit,
    admin_categories,
    admin_disputes,
    admin_reports,
    admin_shill,
    admin_users,
    bidder,
    delivery,
    disputes,
    feedback,
    payouts,
    photos,
    public,
    relisting,
    report_forms,
    sales_pages,
    seller,
)
from auction_platform.services.web.assets import Assets
from auction_platform.services.web.client import PublicApi
from auction_platform.services.web.pagecache import PageCache
from auction_platform.services.web.render import build_templates
from auction_platform.services.web.sessions import SessionStore
from auction_platform.services.web.site import Web
from auction_platform.settings import Environment


def build_context(runtime: ServiceRuntime[Web]) -> Web:
    """Build the site's context: the API client, sessions, templates and static files."""
    assert runtime.cache is not None
    settings = runtime.settings
    return Web(
        api=PublicApi(runtime.clients),
        sessions=SessionStore(
            runtime.cache,
            ttl=settings.refresh_token_ttl_days * 86_400.0,
            secret=settings.secret_key.get_secret_value().encode(),
        ),
        templates=build_templates(runtime.clock),
        assets=Assets(),
        pages=PageCache(seconds=settings.web_page_cache_seconds),
        secure_cookies=settings.environment is not Environment.DEVELOPMENT,
        clock=runtime.clock,
        shortest_lot_seconds=settings.auction_min_duration_seconds,
        photo_max_bytes=settings.photo_max_bytes,
        max_images=settings.auction_max_images,
        stripe_publishable_key=(
            settings.stripe_publishable_key if settings.payment_provider == "stripe" else None
        ),
    )


def _routers(runtime: ServiceRuntime[Web]) -> Sequence[APIRouter]:
    web = runtime.context
    return [
        bidder.build_router(web),
        account.build_router(web),
        addresses.build_router(web),
        delivery.build_router(web),
        disputes.build_router(web),
        feedback.build_router(web),
        seller.build_router(web),
        photos.build_router(web),
        relisting.build_router(web),
        admin.build_router(web),
        admin_categories.build_router(web),
        admin_shill.build_router(web),
        admin_users.build_router(web),
        admin_reports.build_router(web),
        admin_disputes.build_router(web),
        admin_audit.build_router(web),
        report_forms.build_router(web),
        payouts.build_router(web),
        sales_pages.build_router(web),
        public.build_router(web),
    ]


DEFINITION = ServiceDefinition[Web](
    name="web",
    context=build_context,
    # Sessions live in the cache; without it nobody can sign in, but the
    # catalogue and lot pages still show.
    uses_cache=True,
    calls=API_SERVICES,
    critical=frozenset({"auction", "bidding"}),
    routers=_routers,
)
