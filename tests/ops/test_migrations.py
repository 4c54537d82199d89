"""The migration command (the db-migration Job) brings an empty database to the latest
schema of every service, and running it again changes nothing."""

from __future__ import annotations

from auction_platform.composition import DATABASE_SERVICES
from auction_platform.core.db import Database
from auction_platform.core.migrate import revision_status
from support.processes import child_env, run_command


async def _revisions(url: str) -> dict[str, tuple[str | None, str | None]]:
    db = Database(url)
    try:
        return {service: await revision_status(db, service) for service in DATABASE_SERVICES}
    finally:
        await db.dispose()


async def test_migrate_reaches_every_head_and_is_idempotent(database_url: str) -> None:
    url = database_url
    before = await _revisions(url)
    assert all(current is None for current, _ in before.values())
    env = child_env(DATABASE_URL=url)
    first = await run_command("migrate", env=env)
    after = await _revisions(url)
    for service, (current, head) in after.items():
        assert head is not None
        assert current == head, service
        assert f"{service}: empty -> {head}" in first
    second = await run_command("migrate", env=env)
    assert await _revisions(url) == after
    for service in DATABASE_SERVICES:
        assert f"{service}: up to date" in second


async def test_migrate_one_service_leaves_the_others_alone(postgres_url: str) -> None:
    env = child_env(DATABASE_URL=postgres_url)
    await run_command("migrate", "--service", "bidding", env=env)
    revisions = await _revisions(postgres_url)
    assert revisions["bidding"][0] == revisions["bidding"][1]
    assert {s: r[0] for s, r in revisions.items() if s != "bidding"} == dict.fromkeys(
        set(DATABASE_SERVICES) - {"bidding"}
    )
