"""The group commit queue: batches across auctions, arrival order, one batch per book."""

from __future__ import annotations

import asyncio

import pytest

from auction_platform.services.bidding.batcher import Answer, Batcher, Command


def command(user: str) -> Command:
    return Command("bid", user, {"max_amount": 1})


async def test_commands_queued_during_a_batch_go_together_grouped_by_auction_in_order() -> None:
    batches: list[dict[str, list[str]]] = []
    release = asyncio.Event()

    async def apply(groups: dict[str, list[Command]]) -> None:
        batches.append({book: [c.user_id for c in commands] for book, commands in groups.items()})
        if len(batches) == 1:
            await release.wait()
        for commands in groups.values():
            for c in commands:
                c.settle(Answer(201, {"user": c.user_id}))

    batcher = Batcher(apply, shards=1)
    first = asyncio.create_task(batcher.submit("a", command("u1")))
    await asyncio.sleep(0)
    later = [
        asyncio.create_task(batcher.submit(book, command(user)))
        for book, user in (("b", "u2"), ("a", "u3"), ("c", "u4"), ("b", "u5"))
    ]
    await asyncio.sleep(0)
    release.set()
    answers = await asyncio.gather(first, *later)
    assert [a.body["user"] for a in answers] == ["u1", "u2", "u3", "u4", "u5"]
    assert batches == [{"a": ["u1"]}, {"b": ["u2", "u5"], "a": ["u3"], "c": ["u4"]}]
    assert (batcher.batches, batcher.commands) == (2, 5)


async def test_one_book_is_never_in_two_batches_at_once() -> None:
    in_flight: set[str] = set()
    overlaps: list[str] = []

    async def apply(groups: dict[str, list[Command]]) -> None:
        for book in groups:
            if book in in_flight:
                overlaps.append(book)
        in_flight.update(groups)
        await asyncio.sleep(0.001)
        in_flight.difference_update(groups)
        for commands in groups.values():
            for c in commands:
                c.settle(Answer(201, {}))

    batcher = Batcher(apply, shards=4)
    books = [f"book-{n}" for n in range(20)]
    await asyncio.gather(*(batcher.submit(books[n % 20], command(str(n))) for n in range(400)))
    assert overlaps == []
    assert batcher.commands == 400
    assert batcher.batches < 400


async def test_a_failed_batch_fails_its_own_commands_only() -> None:
    async def apply(groups: dict[str, list[Command]]) -> None:
        if "broken" in groups:
            raise RuntimeError("database went away")
        for commands in groups.values():
            for c in commands:
                c.settle(Answer(201, {}))

    batcher = Batcher(apply, shards=2)
    # "broken" and "fine" land in different shards: the one batch fails, the other not.
    fine = next(
        book
        for book in (f"fine-{n}" for n in range(100))
        if batcher._shard(book) != batcher._shard("broken")
    )
    results = await asyncio.gather(
        batcher.submit("broken", command("u1")),
        batcher.submit(fine, command("u2")),
        return_exceptions=True,
    )
    assert isinstance(results[0], RuntimeError)
    assert results[1] == Answer(201, {})


@pytest.mark.parametrize("shards", [1, 3])
async def test_a_book_always_maps_to_the_same_queue(shards: int) -> None:
    batcher = Batcher(lambda groups: asyncio.sleep(0), shards=shards)
    assert {batcher._shard("book-7") for _ in range(10)} == {batcher._shard("book-7")}
    assert all(0 <= batcher._shard(f"b{n}") < shards for n in range(50))
