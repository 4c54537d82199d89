"""A database outage under a consumer: its events wait for it, none is dead-lettered.

The analytics service keeps every event in its event store; its PostgreSQL is reached
through a proxy the test cuts for ten seconds while events keep arriving, on the
in-process broker and on RabbitMQ. The retry budget (five retries 50 ms apart here)
would be spent in a fraction of that.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import func, select

from auction_platform.composition import Platform
from auction_platform.contracts.events import Envelope
from auction_platform.services.analytics.store import events as event_store
from support.platforms import distributed_settings, queue_names, running
from support.tcp_proxy import TcpProxy
from support.waiting import eventually

OUTAGE_SECONDS = 10.0
QUEUE = "analytics.event-store"


@pytest.fixture(params=["memory", "rabbitmq"])
def broker_url(request: pytest.FixtureRequest) -> str:
    """Each broker backend in turn."""
    if request.param == "memory":
        return "memory://"
    return str(request.getfixturevalue("rabbitmq_url"))


def probes(count: int) -> list[Envelope]:
    return [Envelope(type="ProbeRecorded", producer="auction", data={"n": n}) for n in range(count)]


def stored(platform: Platform, expected: int) -> Callable[[], Awaitable[bool]]:
    """A probe: whether the event store holds ``expected`` probes."""

    async def probe() -> bool:
        db = platform.runtimes["analytics"].db
        assert db is not None
        async with db.read() as conn:
            query = select(func.count()).where(event_store.c.event_type == "ProbeRecorded")
            return int((await conn.execute(query)).scalar_one()) == expected

    return probe


def sample(platform: Platform, name: str, **labels: str) -> float:
    return platform.metrics.registry.get_sample_value(name, labels) or 0.0


async def test_a_ten_second_database_outage_dead_letters_nothing(
    proxied_postgres: tuple[str, TcpProxy],
    redis_url: str,
    broker_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, proxy = proxied_postgres
    settings = distributed_settings(
        postgres_url=url,
        redis_url=redis_url,
        rabbitmq_url=broker_url,
        broker_max_retries=5,
        dependency_timeout=1.0,
        broker_outage_backoff=0.1,
        broker_outage_backoff_max=2.0,
    )
    sent = probes(40)
    async with running(settings, ["analytics"]) as platform:
        broker = platform.broker
        assert broker is not None
        await broker.publish(sent[:10])
        await eventually(stored(platform, 10))

        await proxy.cut()
        with caplog.at_level(logging.WARNING, logger="auction_platform.broker"):
            await broker.publish(sent[10:])

            async def paused_queue() -> bool:
                return broker.pauses()[QUEUE] is not None

            await eventually(paused_queue)
            paused = {"service": "analytics", "queue": QUEUE}
            assert sample(platform, "consumer_paused", **paused) == 1
            await asyncio.sleep(OUTAGE_SECONDS)
            await proxy.restore()

            await eventually(stored(platform, len(sent)), timeout=60)
        assert broker.pauses()[QUEUE] is None
        assert sample(platform, "consumer_paused", **paused) == 0
        for queue in queue_names(platform):
            assert (await broker.list_dead_letters(queue)).count == 0, queue
        consumed = {"service": "analytics", "consumer": "event-store"}
        assert sample(platform, "events_consumed_total", **consumed, outcome="failed") == 0
        assert sample(platform, "events_consumed_total", **consumed, outcome="unavailable") > 0
    said = [record.getMessage() for record in caplog.records]
    assert any(line.startswith(f"consumer {QUEUE}: paused for") for line in said), said
    assert any(line.startswith(f"consumer {QUEUE}: resumed after") for line in said), said
