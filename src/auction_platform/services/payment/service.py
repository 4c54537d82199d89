"""The payment service: orders, Stripe, webhooks and refunds (PostgreSQL, Stripe, RabbitMQ)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from auction_platform.core.health import Check
from auction_platform.core.service import ServiceDefinition, ServiceRuntime
from auction_platform.services.payment import (
    api,
    consumers,
    dispute_api,
    feedback_api,
    handlers,
    payout_api,
    payout_scheduler,
    privacy_api,
    scheduler,
    store,
    webhooks,
)
from auction_platform.services.payment.commands import ReceiveWebhook
from auction_platform.services.payment.handlers import Payments
from auction_platform.services.payment.payout_providers import (
    PayoutProvider,
    SandboxPayouts,
    StripeConnect,
)
from auction_platform.services.payment.providers import PaymentProvider, StripeProvider
from auction_platform.services.payment.sandbox import Deliver, SandboxProvider
from auction_platform.settings import Environment, Settings

log = logging.getLogger("auction_platform.payment")


def build_provider(settings: Settings, *, deliver: Deliver) -> PaymentProvider:
    """The provider the settings choose; the sandbox hands its outcomes to ``deliver``."""
    if settings.payment_provider == "stripe":
        return StripeProvider(
            api_key=settings.stripe_api_key.get_secret_value(),
            api_base=settings.stripe_api_base,
            timeout=settings.http_timeout,
            webhook_secrets=len(settings.stripe_webhook_secrets),
        )
    return SandboxProvider(
        secret=settings.sandbox_webhook_secret.get_secret_value(), deliver=deliver
    )


def build_payout_provider(provider: PaymentProvider) -> PayoutProvider:
    """Stripe Connect beside Stripe (sharing its client); beside the sandbox, its payouts."""
    if isinstance(provider, StripeProvider):
        return StripeConnect(provider.client)
    return SandboxPayouts()


def build_context(runtime: ServiceRuntime[Payments]) -> Payments:
    """Build the payment context the routes, consumers and deadlines job share."""
    settings = runtime.settings
    if settings.payment_provider == "sandbox" and settings.environment is Environment.PRODUCTION:
        log.warning(
            "PAYMENT_PROVIDER=sandbox in production: no money moves, and webhooks signed "
            "with SANDBOX_WEBHOOK_SECRET are accepted"
        )

    async def deliver(payload: bytes, signature: str) -> object:
        # The sandbox's events take the Stripe endpoint's own code path.
        return await webhooks.receive(ReceiveWebhook(payload, signature), ctx=runtime.context)

    provider = build_provider(settings, deliver=deliver)
    return Payments(
        uow=runtime.require_uow(),
        settings=settings,
        # Read per call, so a test can move the service's clock after start.
        clock=lambda: runtime.clock(),
        provider=provider,
        payout_provider=build_payout_provider(provider),
    )


def _checks(runtime: ServiceRuntime[Payments]) -> Sequence[Check]:
    provider = runtime.context.provider

    async def probe() -> dict[str, Any]:
        return provider.health()

    description = (
        "Stripe API key and webhook secrets configured (not contacted: this check never "
        "calls Stripe's servers)"
        if provider.name == "stripe"
        else "sandbox provider: Stripe's test cards, no network"
    )
    return [Check("stripe", probe, critical=False, description=description)]


def _background(runtime: ServiceRuntime[Payments]) -> Sequence[Callable[[], Awaitable[None]]]:
    ctx = runtime.context
    retention = timedelta(hours=runtime.settings.idempotency_ttl_hours)

    async def forget_keys() -> None:
        while True:
            await handlers.forget_old_idempotency_keys(ctx, older_than=retention)
            await asyncio.sleep(300)

    return [lambda: scheduler.run(ctx), lambda: payout_scheduler.run(ctx), forget_keys]


async def _shutdown(runtime: ServiceRuntime[Payments]) -> None:
    """Close the provider's connections once the jobs have stopped."""
    await runtime.context.provider.close()


DEFINITION = ServiceDefinition[Payments](
    name="payment",
    context=build_context,
    uses_database=True,
    uses_broker=True,
    # Only to follow the token marks (revoked, stale): a role removed by an admin stops
    # working here within seconds. Without Redis the marks held are used (Degraded).
    uses_cache=True,
    critical=frozenset({"npgsql"}),
    tables=store.TABLES,
    errors=api.ERRORS,
    routers=lambda runtime: [
        api.build_router(runtime.context),
        feedback_api.build_router(runtime.context),
        dispute_api.build_router(runtime.context),
        payout_api.build_router(runtime.context),
        privacy_api.build_router(runtime.context),
    ],
    consumers=lambda runtime: consumers.consumers(runtime.context),
    checks=_checks,
    background=_background,
    shutdown=_shutdown,
)
