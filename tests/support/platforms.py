"""Build platforms for tests through the same composition root as production."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from auction_platform.composition import Platform
from auction_platform.core.broker.rabbitmq import RabbitBroker
from auction_platform.settings import Settings
from support import queue_sets
from support.queue_sets import queue_names
from support.servers import TEST_DEPENDENCY_TIMEOUT, TEST_POOL_SIZE, TEST_POOL_TIMEOUT, unique_name


def embedded_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings of the embedded mode, with its files in ``data_dir``.

    Its health checks wait ``TEST_DEPENDENCY_TIMEOUT``, as the distributed mode's do:
    under a full suite an in-process check answered after the default 2 s once, and
    ``/health`` was a 503 on a healthy platform.
    """
    values = {"dependency_timeout": TEST_DEPENDENCY_TIMEOUT, **overrides}
    return Settings(_env_file=None, data_dir=data_dir, **values)  # type: ignore[call-arg]


# Where a distributed platform of this process keeps uploaded photos (a directory, as
# the embedded default does; the S3 store has its own tests).
_PHOTOS = Path(tempfile.mkdtemp(prefix="auction-photos-"))


def distributed_settings(
    *, postgres_url: str, redis_url: str, rabbitmq_url: str, **overrides: Any
) -> Settings:
    """Settings of the distributed mode on the real servers.

    The database is the test's own and the cache prefix unique; the exchange and queues
    are this process's set (``support.queue_sets``), emptied between tests. Pools are
    small (``TEST_POOL_SIZE``, waited on up to ``TEST_POOL_TIMEOUT``), and a test that
    measures pool behaviour passes its own.
    """
    base: dict[str, Any] = {
        "database_url": postgres_url,
        "redis_url": redis_url,
        "rabbitmq_url": rabbitmq_url,
        "rabbitmq_exchange": queue_sets.EXCHANGE,
        "rabbitmq_queue_prefix": queue_sets.queue_prefix(
            overrides.get("broker_max_retries", queue_sets.DEFAULT_MAX_RETRIES)
        ),
        "cache_prefix": unique_name("c") + ":",
        "broker_retry_delay": 0.05,
        "outbox_poll_interval": 0.1,
        "db_pool_size": TEST_POOL_SIZE,
        "db_pool_timeout": TEST_POOL_TIMEOUT,
        "dependency_timeout": TEST_DEPENDENCY_TIMEOUT,
        "photo_dir": _PHOTOS,
    }
    base.update(overrides)
    return Settings(_env_file=None, **base)  # type: ignore[call-arg]


@contextlib.asynccontextmanager
async def running(
    settings: Settings, services: Sequence[str], *, embedded: bool = False
) -> AsyncIterator[Platform]:
    """A started platform (migrated), stopped and cleaned up afterwards."""
    platform = Platform(settings, services, embedded=embedded, environ={})
    prefix = settings.rabbitmq_queue_prefix
    if settings.rabbitmq_url.startswith("amqp") and queue_sets.is_shared(prefix):
        queue_sets.remember(prefix, queue_names(platform))
    try:
        await platform.start(run_migrations=True)
        yield platform
    finally:
        await platform.stop()
        await delete_topology(platform)


async def delete_topology(platform: Platform) -> None:
    """Delete the queues and exchanges of a stopped platform's consumers (on RabbitMQ).

    This process's shared set stays: the ``rabbitmq_url`` fixture empties it between
    tests, and the session's end deletes it.
    """
    settings = platform.settings
    shared = queue_sets.is_shared(settings.rabbitmq_queue_prefix)
    if settings.rabbitmq_url.startswith("amqp") and not shared:
        await RabbitBroker(
            settings.rabbitmq_url,
            exchange=settings.rabbitmq_exchange,
            queue_prefix=settings.rabbitmq_queue_prefix,
        ).delete_topology(queue_names(platform))


def client(app: FastAPI) -> httpx.AsyncClient:
    """An HTTP client talking to an app in this process."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://testserver",
    )
