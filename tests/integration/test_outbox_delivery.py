"""Events written through one service's outbox reach another service's consumer.

Every test runs twice: embedded (SQLite, in-process broker) and distributed
(PostgreSQL, Redis, RabbitMQ).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from auction_platform.composition import Platform
from auction_platform.contracts.events import Envelope
from auction_platform.services.analytics.store import events as event_store
from auction_platform.settings import Settings
from support.platforms import distributed_settings, embedded_settings, running
from support.waiting import eventually

SERVICES = ("auction", "analytics")
MakeSettings = Callable[..., Settings]


@pytest.fixture(params=["embedded", "distributed"])
def make_settings(request: pytest.FixtureRequest, tmp_path: Path) -> MakeSettings:
    """Settings for one mode; keyword arguments override them."""
    if request.param == "embedded":
        return lambda **kw: embedded_settings(tmp_path, outbox_poll_interval=0.1, **kw)
    urls = {
        "postgres_url": request.getfixturevalue("postgres_url"),
        "redis_url": request.getfixturevalue("redis_url"),
        "rabbitmq_url": request.getfixturevalue("rabbitmq_url"),
    }
    return lambda **kw: distributed_settings(**{**urls, **kw})


async def stored_events(platform: Platform, event_type: str) -> list[dict[str, Any]]:
    db = platform.runtimes["analytics"].db
    assert db is not None
    async with db.read() as conn:
        rows = await conn.execute(select(event_store).where(event_store.c.event_type == event_type))
        return [dict(row) for row in rows.mappings()]


async def pending_in_outbox(platform: Platform, service: str) -> int:
    runtime = platform.runtimes[service]
    assert runtime.db is not None
    assert runtime.definition.tables is not None
    outbox = runtime.definition.tables.outbox
    async with runtime.db.read() as conn:
        query = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        return int((await conn.execute(query)).scalar_one())


async def test_an_event_committed_with_the_data_reaches_the_other_service(
    make_settings: MakeSettings,
) -> None:
    async with running(make_settings(), SERVICES) as platform:
        async with platform.runtimes["auction"].require_uow()() as tx:
            sent = tx.emit("ProbeRecorded", {"n": 1})
        [row] = await eventually(lambda: stored_events(platform, "ProbeRecorded"))
        assert row["event_id"] == sent.id
        assert row["producer"] == "auction"
        assert row["data"] == {"n": 1}
        assert await pending_in_outbox(platform, "auction") == 0


async def test_a_rolled_back_transaction_publishes_nothing(make_settings: MakeSettings) -> None:
    async with running(make_settings(), SERVICES) as platform:
        uow = platform.runtimes["auction"].require_uow()
        with pytest.raises(RuntimeError):
            async with uow() as tx:
                tx.emit("ProbeRecorded", {"n": "rolled back"})
                raise RuntimeError("the handler failed after emitting")
        async with uow() as tx:
            tx.emit("ProbeRecorded", {"n": "committed"})
        rows = await eventually(lambda: stored_events(platform, "ProbeRecorded"))
        assert [r["data"]["n"] for r in rows] == ["committed"]


async def test_a_crash_between_commit_and_publish_loses_nothing(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings()
    # The first process commits and dies before its relay publishes anything.
    crashed = Platform(settings, ["auction"], embedded=False, environ={})
    await crashed.migrate()
    async with crashed.runtimes["auction"].require_uow()() as tx:
        sent = tx.emit("ProbeRecorded", {"n": "survivor"})
    db = crashed.runtimes["auction"].db
    assert db is not None
    await db.dispose()
    # The restarted process finds the event in the outbox and delivers it.
    async with running(settings, SERVICES) as platform:
        [row] = await eventually(lambda: stored_events(platform, "ProbeRecorded"))
        assert row["event_id"] == sent.id


async def test_a_redelivered_event_changes_nothing(make_settings: MakeSettings) -> None:
    async with running(make_settings(), SERVICES) as platform:
        assert platform.broker is not None
        duplicate = Envelope(type="ProbeRecorded", producer="auction", data={"n": 1})
        await platform.broker.publish([duplicate])
        await platform.broker.publish([duplicate])
        marker = Envelope(type="ProbeFinished", producer="auction", data={})
        await platform.broker.publish([marker])
        await eventually(lambda: stored_events(platform, "ProbeFinished"))
        assert len(await stored_events(platform, "ProbeRecorded")) == 1
        counter = platform.metrics.events_consumed
        outcome = counter.labels("analytics", "event-store", "duplicate")._value.get()
        assert outcome == 1


async def test_the_correlation_id_of_the_request_travels_in_the_envelope(
    make_settings: MakeSettings,
) -> None:
    from auction_platform.core.context import reset_request_id, set_request_id

    async with running(make_settings(), SERVICES) as platform:
        token = set_request_id("req-from-the-client")
        try:
            async with platform.runtimes["auction"].require_uow()() as tx:
                tx.emit("ProbeRecorded", {})
        finally:
            reset_request_id(token)
        [row] = await eventually(lambda: stored_events(platform, "ProbeRecorded"))
        assert row["correlation_id"] == "req-from-the-client"
