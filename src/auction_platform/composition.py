"""The composition root: builds backends, runtimes and apps from settings.

Nothing is built at import time; ``Platform`` is made once by the CLI (or by a
test) and owns the lifecycle of everything it built.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from fastapi import FastAPI

from auction_platform.core.app import create_app, lifespan_of
from auction_platform.core.auth import ServiceTokens, TokenVerifier, service_client_secret
from auction_platform.core.broker import build_broker
from auction_platform.core.broker.base import Broker
from auction_platform.core.broker.pause import Backoff
from auction_platform.core.cache import build_cache
from auction_platform.core.cache.base import PlatformCache
from auction_platform.core.db import Database
from auction_platform.core.http import ServiceClient, service_client
from auction_platform.core.metrics import Metrics
from auction_platform.core.net import EVERYONE
from auction_platform.core.revocations import Revocations
from auction_platform.core.service import ServiceDefinition, ServiceRuntime
from auction_platform.core.transport import InProcessTransport
from auction_platform.settings import Settings

log = logging.getLogger("auction_platform")


class _Definitions(Mapping[str, ServiceDefinition[Any]]):
    """The services by name, each imported when first asked for.

    A process that serves one service imports that service's code only: the gateway
    holding every service's models, routes and templates cost it 40 MB of memory it
    never used, at every replica.
    """

    def __init__(self, names: Sequence[str]) -> None:
        self._names = tuple(names)
        self._loaded: dict[str, ServiceDefinition[Any]] = {}

    def __getitem__(self, name: str) -> ServiceDefinition[Any]:
        definition = self._loaded.get(name)
        if definition is None:
            if name not in self._names:
                raise KeyError(name)
            module = importlib.import_module(f"auction_platform.services.{name}.service")
            definition = self._loaded[name] = module.DEFINITION
        return definition

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


# In dependency order: a service comes after every service it calls.
DEFINITIONS: Mapping[str, ServiceDefinition[Any]] = _Definitions(
    ("identity", "auction", "bidding", "payment", "notification", "analytics", "web", "gateway")
)
# The services with a database of their own (each definition's uses_database).
DATABASE_SERVICES = ("identity", "auction", "bidding", "payment", "analytics")


def default_service_url(service: str) -> str:
    """Where a service listens in Kubernetes: its Service ``<name>-api`` on port 8080."""
    return f"http://{service}-api:8080"


def settle_heap() -> None:
    """Once started: keep the collector off what lives as long as the process.

    Modules, apps, pools and caches built at start-up are frozen out of the cyclic
    collector, so a full collection no longer walks them (on a busy service those
    walks were the longest pauses, and set the p99); collections of the young
    generation run less often. Objects that form cycles are still collected.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


class Platform:
    """One process's worth of services: embedded (all of them) or one served alone."""

    def __init__(
        self,
        settings: Settings,
        services: Sequence[str],
        *,
        embedded: bool,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        unknown = set(services) - set(DEFINITIONS)
        if unknown:
            raise ValueError(f"unknown service(s): {', '.join(sorted(unknown))}")
        self.settings = settings
        self.embedded = embedded
        self.environ = dict(os.environ if environ is None else environ)
        self.metrics = Metrics()
        wanted = [DEFINITIONS[name] for name in DEFINITIONS if name in services]
        self.broker: Broker | None = (
            build_broker(
                settings.rabbitmq_url,
                exchange=settings.rabbitmq_exchange,
                queue_prefix=settings.rabbitmq_queue_prefix,
                max_retries=settings.broker_max_retries,
                retry_delay=settings.broker_retry_delay,
                outage_backoff=Backoff(
                    settings.broker_outage_backoff, settings.broker_outage_backoff_max
                ),
            )
            if any(d.uses_broker for d in wanted)
            else None
        )
        if self.broker is not None:
            self.metrics.watch_consumers(self.broker.pauses)
        self.cache: PlatformCache | None = (
            build_cache(settings.redis_url, prefix=settings.cache_prefix)
            if any(d.uses_cache for d in wanted)
            else None
        )
        # One set of token marks per process, shared by its services' verifiers.
        self.revocations = Revocations(self.cache) if self.cache is not None else None
        self.runtimes: dict[str, ServiceRuntime[Any]] = {}
        self.apps: dict[str, FastAPI] = {}
        for definition in wanted:
            runtime: ServiceRuntime[Any] = ServiceRuntime(
                definition=definition,
                settings=settings,
                metrics=self.metrics,
                db=self._database(definition.name) if definition.uses_database else None,
                broker=self.broker if definition.uses_broker else None,
                cache=self.cache if definition.uses_cache else None,
                revocations=self.revocations,
                clients={
                    name: self._client(name) for name in definition.calls if name in self.apps
                },
            )
            # Identity verifies with its own keys (its context sets the verifier).
            if definition.name != "identity":
                self._trust_identity(runtime)
            runtime.build_context()
            self.runtimes[definition.name] = runtime
            self.apps[definition.name] = create_app(
                runtime, trusted_proxies=self._trusted_proxies(definition.name)
            )
        # Calls to a service built later (auction -> bidding): now that every app
        # exists, the embedded mode can reach them in-process too.
        for runtime in self.runtimes.values():
            for name in runtime.definition.calls:
                runtime.clients.setdefault(name, self._client(name))
        self._started: list[ServiceRuntime[Any]] = []

    def _trust_identity(self, runtime: ServiceRuntime[Any]) -> None:
        """Verify tokens with identity's published keys; fetch this service's own token."""
        identity = self._client("identity")
        runtime.clients.setdefault("identity-auth", identity)
        secret = service_client_secret(self.settings.secret_key.get_secret_value(), runtime.name)

        async def jwks() -> dict[str, Any]:
            response = await identity.get("/.well-known/jwks.json")
            response.raise_for_status()
            document: dict[str, Any] = response.json()
            return document

        async def fetch_token() -> tuple[str, float]:
            response = await identity.post(
                "/api/v1/auth/service-token",
                json={"client_id": runtime.name, "client_secret": secret},
            )
            response.raise_for_status()
            body = response.json()
            return str(body["access_token"]), float(body["expires_in"])

        runtime.verifier = TokenVerifier(jwks, revocations=runtime.revocations)
        runtime.service_tokens = ServiceTokens(fetch_token)

    def _trusted_proxies(self, service: str) -> Sequence[str]:
        """Whose ``X-Forwarded-For`` a service believes.

        The served app (the gateway when embedded) believes ``TRUSTED_PROXIES`` only.
        An embedded service behind it has no socket of its own: its only callers are
        the gateway and the site in this process, which name the client they resolved.
        """
        if self.embedded and service != "gateway":
            return EVERYONE
        return self.settings.trusted_proxies

    def _database(self, service: str) -> Database:
        s = self.settings
        return Database(
            s.database_url_for(service, overrides=self.environ),
            pool_size=s.db_pool_size,
            max_overflow=s.db_max_overflow,
            pool_timeout=s.db_pool_timeout,
            connect_timeout=s.dependency_timeout,
            busy_timeout_ms=s.sqlite_busy_timeout_ms,
        )

    def _in_process(self, service: str) -> bool:
        """True when calls to ``service`` stay in this process (embedded, no URL set)."""
        return self.embedded and not self.settings.service_url(service)

    def _client(self, service: str) -> ServiceClient:
        s = self.settings
        url = s.service_url(service)
        if self._in_process(service) and service in self.apps:
            transport = InProcessTransport(self.apps[service])
            return service_client(
                base_url=f"http://{service}.internal", transport=transport, timeout=s.http_timeout
            )
        return service_client(
            base_url=url or default_service_url(service),
            timeout=s.http_timeout,
            connect_timeout=s.dependency_timeout,
        )

    async def migrate(self) -> None:
        """Apply every database service's migrations."""
        # Imported here: Alembic is a tool of start-up and of operators, not of serving.
        from auction_platform.core.migrate import migrate

        for runtime in self.runtimes.values():
            if runtime.db is not None:
                await migrate(runtime.db, runtime.name)

    async def declare_topology(self) -> None:
        """Declare every consumer queue of this platform's services on the broker."""
        if self.broker is None:
            return
        for runtime in self.runtimes.values():
            for consumer in runtime.definition.consumers(runtime):
                await self.broker.declare(f"{runtime.name}.{consumer.name}", consumer.patterns)

    async def start(self, *, run_migrations: bool = False) -> None:
        """Connect the shared backends, then start each service."""
        if self.broker is not None:
            await self.broker.start()
        if self.cache is not None:
            await self.cache.start()
        if self.revocations is not None:
            await self.revocations.start()
        if run_migrations:
            await self.migrate()
        # Every queue of this process exists before any relay publishes, so the
        # first events after a cold start are not dropped for want of a queue.
        for runtime in self.runtimes.values():
            self._started.append(runtime)
            await runtime.start_consuming()
        for runtime in self.runtimes.values():
            await runtime.start_producing()

    async def stop(self) -> None:
        """Stop services in reverse order (flushing outboxes), then close every backend."""
        for runtime in reversed(self._started):
            try:
                await runtime.stop()
            except Exception:
                log.exception("stopping %s failed", runtime.name)
        self._started.clear()
        for runtime in self.runtimes.values():
            for client in runtime.clients.values():
                await client.aclose()
        if self.broker is not None:
            await self.broker.close()
        if self.revocations is not None:
            await self.revocations.close()
        if self.cache is not None:
            await self.cache.close()
        for runtime in self.runtimes.values():
            if runtime.db is not None:
                await runtime.db.dispose()

    def asgi_app(self, *, on_ready: Callable[[], object] | None = None) -> FastAPI:
        """The app to serve: the gateway (embedded) or the one service, with lifespan."""
        name = "gateway" if self.embedded else next(iter(self.runtimes))

        async def start() -> None:
            await self.start(run_migrations=self.embedded)
            settle_heap()
            if on_ready is not None:
                on_ready()

        app = self.apps[name]
        app.router.lifespan_context = lifespan_of(start, self.stop)
        return app
