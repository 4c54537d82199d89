"""`auction-platform dead-letters list|replay` against RabbitMQ: what an operator reads and
moves, and one line when it cannot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from auction_platform.contracts.events import Envelope
from auction_platform.core.broker.rabbitmq import RabbitBroker
from support.processes import child_env, run_command
from support.servers import unique_name
from support.waiting import eventually

pytestmark = pytest.mark.rabbitmq

QUEUE = "orders"


@dataclass
class DeadLetters:
    """Two events dead-lettered from ``orders`` by a consumer that always failed."""

    events: list[Envelope]
    env: dict[str, str]
    url: str
    exchange: str
    prefix: str

    def broker(self) -> RabbitBroker:
        return RabbitBroker(
            self.url, exchange=self.exchange, queue_prefix=self.prefix, max_retries=1
        )


@pytest.fixture
async def dead_letters(rabbitmq_url: str) -> AsyncIterator[DeadLetters]:
    exchange, prefix = unique_name("events"), unique_name("t") + "."
    env = child_env(
        RABBITMQ_URL=rabbitmq_url, RABBITMQ_EXCHANGE=exchange, RABBITMQ_QUEUE_PREFIX=prefix
    )
    events = [Envelope(type="AuctionClosed", producer="bidding", data={"n": n}) for n in (1, 2)]
    setup = DeadLetters(events, env, rabbitmq_url, exchange, prefix)
    broker = setup.broker()
    await broker.start()

    async def always_fails(envelope: Envelope) -> None:
        raise LookupError(f"no such lot: L-{envelope.data['n']}")

    async def both_dead() -> bool:
        return (await broker.list_dead_letters(QUEUE)).count == 2

    try:
        await broker.subscribe(QUEUE, ["bidding.*"], always_fails)
        await broker.publish(events)
        await eventually(both_dead)
        await broker.close()  # the consumer is gone: replayed events wait in the queue
        yield setup
    finally:
        await broker.close()
        await broker.delete_topology([QUEUE])


async def refused(*args: str, env: dict[str, str]) -> str:
    """The one line a command that must fail prints."""
    with pytest.raises(AssertionError) as failed:
        await run_command(*args, env=env)
    output = str(failed.value).split("\n", 1)[1].strip()
    assert "Traceback" not in output, output
    assert len(output.splitlines()) == 1, output
    return output


async def test_list_shows_each_dead_letter_with_its_failure_and_leaves_it(
    dead_letters: DeadLetters,
) -> None:
    for _ in range(2):
        output = await run_command("dead-letters", "list", QUEUE, env=dead_letters.env)
        lines = output.strip().splitlines()
        assert lines[0] == f"{dead_letters.prefix}{QUEUE}.dlq: 2 dead letters"
        assert lines[1].startswith("EVENT TYPE")
        assert lines[1].rstrip().endswith("REASON")
        rows = sorted(lines[2:], key=lambda line: "L-1" not in line)
        for event, row in zip(dead_letters.events, rows, strict=True):
            assert row.startswith("AuctionClosed  ")
            assert event.id in row
            assert row.endswith(f"LookupError: no such lot: L-{event.data['n']}")
            assert row.split()[2].startswith("20"), "the date it first failed"

    output = await run_command("dead-letters", "list", QUEUE, "--limit", "1", env=dead_letters.env)
    assert len([line for line in output.splitlines() if "AuctionClosed" in line]) == 1
    assert "(the first 1; --limit shows more)" in output


async def test_replay_moves_them_back_to_their_queue(dead_letters: DeadLetters) -> None:
    env = dead_letters.env
    output = await run_command("dead-letters", "replay", f"{QUEUE}.dlq", "--limit", "1", env=env)
    assert "moved 1 event from" in output
    assert "1 still in" in output
    output = await run_command("dead-letters", "replay", QUEUE, env=env)
    assert "moved 1 event from" in output
    assert "still in" not in output
    output = await run_command("dead-letters", "list", QUEUE, env=env)
    assert output.strip() == f"{dead_letters.prefix}{QUEUE}.dlq: 0 dead letters"

    handled: list[Envelope] = []

    async def fixed(envelope: Envelope) -> None:
        handled.append(envelope)

    async def both_handled() -> bool:
        return len(handled) == 2

    broker = dead_letters.broker()
    await broker.start()
    try:
        await broker.subscribe(QUEUE, ["bidding.*"], fixed)
        await eventually(both_handled)
    finally:
        await broker.close()
    assert sorted(e.id for e in handled) == sorted(e.id for e in dead_letters.events)


async def test_a_queue_rabbitmq_does_not_have_is_one_line(dead_letters: DeadLetters) -> None:
    line = await refused("dead-letters", "list", "payment.no-such", env=dead_letters.env)
    assert f"has no queue {dead_letters.prefix}payment.no-such" in line
    assert "<service>.<consumer>" in line


async def test_a_broker_that_is_down_is_one_line() -> None:
    env = child_env(RABBITMQ_URL="amqp://guest:guest@127.0.0.1:1/")
    line = await refused("dead-letters", "replay", QUEUE, env=env)
    assert "cannot reach RabbitMQ at 127.0.0.1:1" in line
    assert "guest:guest" not in line


async def test_the_embedded_broker_says_where_its_dead_letters_are() -> None:
    line = await refused("dead-letters", "list", QUEUE, env=child_env(RABBITMQ_URL="memory://"))
    assert "memory of the running `auction-platform up` process" in line
