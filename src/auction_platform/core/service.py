"""What a service is made of, and the runtime that runs one.

Each service package declares a ``ServiceDefinition`` (its dependencies, tables,
routes, consumers and background jobs). The composition root builds a
``ServiceRuntime`` for it with the backends the settings choose, and the same
runtime serves alone (``serve``) or beside the others (``up``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx
from fastapi import APIRouter
from sqlalchemy import MetaData, Table
from starlette.middleware import Middleware

from auction_platform.contracts.events import Envelope
from auction_platform.core.auth import ServiceTokens, TokenVerifier
from auction_platform.core.broker.base import Broker
from auction_platform.core.cache.base import PlatformCache
from auction_platform.core.db import Database
from auction_platform.core.delivery import EventHandler, delivery
from auction_platform.core.errors import DEFAULT_ERRORS, ErrorTable
from auction_platform.core.health import Check
from auction_platform.core.http import ServiceClient
from auction_platform.core.metrics import Metrics
from auction_platform.core.outbox import OutboxRelay
from auction_platform.core.revocations import Revocations
from auction_platform.core.uow import UnitOfWork

if TYPE_CHECKING:
    from auction_platform.settings import Settings

log = logging.getLogger("auction_platform.service")

# A service's own context: the typed dataclass its routes, consumers and jobs share.
C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class Consumer:
    """An event consumer: its queue name, the routing keys it binds, its handler.

    The handler runs inside a transaction that also records the event id in the
    service's inbox, so a redelivered event changes nothing. ``grouped``: the events
    that arrive while one transaction runs share the next (``core/delivery.py``); only
    for a handler that writes nothing but its own database.
    """

    name: str
    patterns: tuple[str, ...]
    handle: EventHandler
    grouped: bool = False


@dataclass(frozen=True, slots=True)
class StatelessConsumer:
    """A consumer of a service without a database: its handler dedupes by itself.

    Declared and consumed with every other queue of the process, before any relay
    publishes, and declared by ``migrate`` like the rest.
    """

    name: str
    patterns: tuple[str, ...]
    handle: Callable[[Envelope], Awaitable[None]]


AnyConsumer = Consumer | StatelessConsumer


@dataclass(frozen=True, slots=True)
class Tables:
    """A service's table metadata, with its outbox and inbox."""

    metadata: MetaData
    outbox: Table
    inbox: Table


@dataclass(frozen=True)
class ServiceDefinition(Generic[C]):
    """The static description of one service (its row of the runbook's dependency table).

    ``context`` builds the service's typed context from its runtime; every other
    hook takes the runtime, whose ``context`` is then that object.
    """

    name: str
    context: Callable[[ServiceRuntime[C]], C]
    uses_database: bool = False
    uses_cache: bool = False
    uses_broker: bool = False
    calls: tuple[str, ...] = ()
    # Dependencies whose loss makes the service not ready; the others degrade it.
    critical: frozenset[str] = frozenset()
    tables: Tables | None = None
    cors: bool = False  # answers browsers directly (the gateway)
    # The gateway reports each service's readiness; a service calling another only
    # asks whether it is alive, so two services calling each other (auction and
    # bidding) never probe each other's probes in a circle.
    probe_readiness_of_calls: bool = False
    # How the service's domain errors leave as HTTP (``core.errors``).
    errors: ErrorTable = DEFAULT_ERRORS
    routers: Callable[[ServiceRuntime[C]], Sequence[APIRouter]] = lambda runtime: ()
    # Plain ASGI layers in front of the routes (inside the request middleware and
    # CORS): a hot path that needs none of the framework's routing or models.
    middleware: Callable[[ServiceRuntime[C]], Sequence[Middleware]] = lambda runtime: ()
    # Plain ASGI layers outside all of the app's own, the framework's error layer too:
    # for connections held open (the live feed), where each layer passed is a frame
    # kept for as long as the connection lasts, times every open connection.
    front: Callable[[ServiceRuntime[C]], Sequence[Middleware]] = lambda runtime: ()
    consumers: Callable[[ServiceRuntime[C]], Sequence[AnyConsumer]] = lambda runtime: ()
    checks: Callable[[ServiceRuntime[C]], Sequence[Check]] = lambda runtime: ()
    background: Callable[[ServiceRuntime[C]], Sequence[Callable[[], Awaitable[None]]]] = (
        lambda runtime: ()
    )
    # Awaited once at start, before the service takes traffic.
    startup: Callable[[ServiceRuntime[C]], Awaitable[None]] | None = None
    # Awaited once at stop, after the jobs and the relay: close what the context opened.
    shutdown: Callable[[ServiceRuntime[C]], Awaitable[None]] | None = None


@dataclass
class ServiceRuntime(Generic[C]):
    """One running service: its backends, context, unit of work, relay, consumers and jobs."""

    definition: ServiceDefinition[C]
    settings: Settings
    metrics: Metrics
    db: Database | None = None
    broker: Broker | None = None
    cache: PlatformCache | None = None
    clients: dict[str, ServiceClient] = field(default_factory=dict)
    verifier: TokenVerifier | None = None
    # The token marks of the process (one set shared by its services), with a cache.
    revocations: Revocations | None = None
    service_tokens: ServiceTokens | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    draining: bool = False
    uow: UnitOfWork | None = None
    relay: OutboxRelay | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _context: C | None = None
    _built: bool = False

    def __post_init__(self) -> None:
        tables = self.definition.tables
        if self.db is not None:
            self.metrics.watch_pool(self.name, self.db.pool_stats)
        if self.db is not None and tables is not None:
            self.uow = UnitOfWork(self.db, outbox=tables.outbox, producer=self.name)
            if self.broker is not None:
                self.relay = OutboxRelay(
                    tables.outbox,
                    db=self.db,
                    broker=self.broker,
                    batch_size=self.settings.outbox_batch_size,
                    poll_interval=self.settings.outbox_poll_interval,
                )
                self.uow.relay = self.relay
                self.metrics.watch_outbox(self.name, self.relay)

    @property
    def context(self) -> C:
        """The service's own context (built by the composition root, before its routes)."""
        if not self._built:
            raise RuntimeError(f"the context of {self.name} is not built yet")
        return self._context  # type: ignore[return-value]

    def build_context(self) -> C:
        """Build the service's context from this runtime (once)."""
        self._context = self.definition.context(self)
        self._built = True
        return self._context

    async def auth_headers(self) -> dict[str, str]:
        """Headers that identify this service to another (its service token)."""
        if self.service_tokens is None:
            return {}
        return {"Authorization": f"Bearer {await self.service_tokens.token()}"}

    @property
    def name(self) -> str:
        """The service's name."""
        return self.definition.name

    def require_uow(self) -> UnitOfWork:
        """The unit of work; services with tables always have one."""
        if self.uow is None:
            raise RuntimeError(f"{self.name} has no database")
        return self.uow

    async def start_consuming(self) -> None:
        """Declare and consume this service's queues (before anyone publishes)."""
        self.draining = False
        if self.broker is not None:
            for consumer in self.definition.consumers(self):
                handler = (
                    consumer.handle
                    if isinstance(consumer, StatelessConsumer)
                    else self._deliver_to(consumer)
                )
                await self.broker.subscribe(
                    f"{self.name}.{consumer.name}", consumer.patterns, handler
                )

    async def start_producing(self) -> None:
        """Run the start-up hook, then start relaying the outbox and the background jobs."""
        if self.definition.startup is not None:
            await self.definition.startup(self)
        if self.relay is not None:
            self.relay.start()
        for job in self.definition.background(self):
            self._tasks.append(asyncio.create_task(self._supervise(job), name=f"{self.name}:job"))

    async def stop(self) -> None:
        """Stop taking work, stop the jobs, then flush the outbox."""
        self.draining = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self.relay is not None:
            await self.relay.stop()
        if self.definition.shutdown is not None and self._built:
            await self.definition.shutdown(self)

    def _deliver_to(self, consumer: Consumer) -> Callable[[Envelope], Awaitable[None]]:
        tables = self.definition.tables
        assert tables is not None
        counter = self.metrics.events_consumed

        def count(outcome: str) -> None:
            counter.labels(self.name, consumer.name, outcome).inc()

        return delivery(
            self.require_uow(),
            tables.inbox,
            consumer=consumer.name,
            handle=consumer.handle,
            grouped=consumer.grouped,
            count=count,
        )

    async def _supervise(self, job: Callable[[], Awaitable[None]]) -> None:
        """Keep a background job running; a crash is logged and the job restarted."""
        while True:
            try:
                await job()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background job of %s crashed; restarting in 1s", self.name)
                await asyncio.sleep(1.0)


def dependency_checks(runtime: ServiceRuntime[Any]) -> list[Check]:
    """The health checks of a service: one per dependency in its runbook row."""
    critical = runtime.definition.critical
    checks: list[Check] = []
    db, cache, broker = runtime.db, runtime.cache, runtime.broker
    if db is not None:

        async def database() -> dict[str, Any]:
            await db.ping()
            stats = db.pool_stats()
            return {
                "backend": db.dialect,
                "pool_size": stats.size,
                "pool_in_use": stats.in_use,
                "pool_waiting": stats.waiting,
            }

        checks.append(Check("npgsql", database, critical="npgsql" in critical))
    if cache is not None:

        async def cache_ping() -> dict[str, Any]:
            await cache.ping()
            return {"backend": runtime.settings.redis_url.split("://", 1)[0]}

        checks.append(Check("redis", cache_ping, critical="redis" in critical))
    if broker is not None:

        async def broker_ping() -> dict[str, Any]:
            await broker.ping()
            return {"backend": runtime.settings.rabbitmq_url.split("://", 1)[0]}

        checks.append(Check("rabbitmq", broker_ping, critical="rabbitmq" in critical))
    path = "/health/ready" if runtime.definition.probe_readiness_of_calls else "/health/live"
    for name in runtime.definition.calls:
        probe = _service_probe(runtime.clients[name], path)
        checks.append(Check(name, probe, critical=name in critical))
    checks.extend(runtime.definition.checks(runtime))
    return checks


def _service_probe(client: httpx.AsyncClient, path: str) -> Callable[[], Awaitable[dict[str, Any]]]:
    async def probe() -> dict[str, Any]:
        response = await client.get(path)
        status = response.json().get("status", "unknown") if response.content else "unknown"
        if response.status_code != 200:
            raise RuntimeError(f"not ready ({response.status_code}, {status})")
        return {"status": status}

    return probe


def service_tables(service: str) -> Tables:
    """A fresh metadata for a service's tables, holding its outbox and inbox."""
    from auction_platform.core.inbox import inbox_table
    from auction_platform.core.outbox import outbox_table

    metadata = MetaData()
    return Tables(metadata, outbox_table(metadata, service), inbox_table(metadata, service))
