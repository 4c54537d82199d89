"""The identity service: accounts, roles, tokens and sessions (PostgreSQL, Redis)."""

from __future__ import annotations

from datetime import timedelta

from auction_platform.core.auth import TokenVerifier
from auction_platform.core.service import ServiceDefinition, ServiceRuntime
from auction_platform.services.identity import (
    address_api,
    api,
    privacy_api,
    signup_api,
    store,
    suspension_api,
)
from auction_platform.services.identity.handlers import Identity
from auction_platform.services.identity.keys import KeyRing
from auction_platform.services.identity.passwords import Passwords
from auction_platform.services.identity.ports import PEERS, HttpPeers


def build_context(runtime: ServiceRuntime[Identity]) -> Identity:
    """Build the identity context; identity verifies tokens with its own key ring."""
    assert runtime.db is not None
    assert runtime.cache is not None and runtime.revocations is not None
    settings = runtime.settings
    keys = KeyRing(
        runtime.db,
        secret=settings.secret_key.get_secret_value(),
        token_lifetime=timedelta(seconds=settings.access_token_ttl_seconds),
        clock=runtime.clock,
    )
    identity = Identity(
        uow=runtime.require_uow(),
        keys=keys,
        passwords=Passwords(),
        cache=runtime.cache,
        revocations=runtime.revocations,
        settings=settings,
        clock=runtime.clock,
    )
    # Its key source is its own table: no reason to wait before re-reading it.
    runtime.verifier = TokenVerifier(
        keys.jwks, revocations=runtime.revocations, refresh_interval=0.0
    )
    return identity


async def startup(runtime: ServiceRuntime[Identity]) -> None:
    """Have a signing key ready before the first sign-in."""
    await runtime.context.keys.load()


DEFINITION = ServiceDefinition[Identity](
    name="identity",
    context=build_context,
    uses_database=True,
    uses_cache=True,
    # Account events (welcome mail) leave through the outbox, which keeps them
    # while RabbitMQ is away; revocations and throttles need Redis, so the
    # service is not ready without it.
    uses_broker=True,
    critical=frozenset({"npgsql", "redis"}),
    tables=store.TABLES,
    errors=api.ERRORS,
    startup=startup,
    # A member's data export and the closing of their account ask the services that
    # keep a part of it, with the member's own token (``privacy``, through ``ports.Peers``).
    calls=PEERS,
    routers=lambda runtime: [
        privacy_api.build_router(runtime.context, HttpPeers(lambda name: runtime.clients[name])),
        api.build_router(runtime.context),
        address_api.build_router(runtime.context),
        signup_api.build_router(runtime.context),
        suspension_api.build_router(runtime.context),
    ],
)
