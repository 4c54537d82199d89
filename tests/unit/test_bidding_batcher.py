"""The group commit queue: batches across auctions, arrival order, one batch per book."""

from __future__ import annotations

import asyncio

import pytest

from auction_platform.services.bidding.batcher import (
    QUEUE_FULL,
    WAIT_BUDGET,
    Batcher,
    Overloaded,
    Pending,
)
from auction_platform.services.bidding.domain import PlaceBid

# The queue carries any command and hands back any outcome: here a bid and its bidder.
Queued = Pending[PlaceBid, str]


def command(user: str) -> PlaceBid:
    return PlaceBid(user, 1)


async def test_commands_queued_during_a_batch_go_together_grouped_by_auction_in_order() -> None:
    batches: list[dict[str, list[str]]] = []
    release = asyncio.Event()

    async def apply(groups: dict[str, list[Queued]]) -> None:
        batches.append(
            {book: [c.command.user_id for c in commands] for book, commands in groups.items()}
        )
        if len(batches) == 1:
            await release.wait()
        for commands in groups.values():
            for c in commands:
                c.settle(c.command.user_id)

    batcher: Batcher[PlaceBid, str] = Batcher(apply, shards=1)
    first = asyncio.create_task(batcher.submit("a", command("u1")))
    await asyncio.sleep(0)
    later = [
        asyncio.create_task(batcher.submit(book, command(user)))
        for book, user in (("b", "u2"), ("a", "u3"), ("c", "u4"), ("b", "u5"))
    ]
    await asyncio.sleep(0)
    release.set()
    answers = await asyncio.gather(first, *later)
    assert answers == ["u1", "u2", "u3", "u4", "u5"]
    assert batches == [{"a": ["u1"]}, {"b": ["u2", "u5"], "a": ["u3"], "c": ["u4"]}]
    assert (batcher.batches, batcher.commands) == (2, 5)


async def test_one_book_is_never_in_two_batches_at_once() -> None:
    in_flight: set[str] = set()
    overlaps: list[str] = []

    async def apply(groups: dict[str, list[Queued]]) -> None:
        for book in groups:
            if book in in_flight:
                overlaps.append(book)
        in_flight.update(groups)
        await asyncio.sleep(0.001)
        in_flight.difference_update(groups)
        for commands in groups.values():
            for c in commands:
                c.settle(c.command.user_id)

    batcher: Batcher[PlaceBid, str] = Batcher(apply, shards=4)
    books = [f"book-{n}" for n in range(20)]
    await asyncio.gather(*(batcher.submit(books[n % 20], command(str(n))) for n in range(400)))
    assert overlaps == []
    assert batcher.commands == 400
    assert batcher.batches < 400


async def test_a_failed_batch_fails_its_own_commands_only() -> None:
    async def apply(groups: dict[str, list[Queued]]) -> None:
        if "broken" in groups:
            raise RuntimeError("database went away")
        for commands in groups.values():
            for c in commands:
                c.settle(c.command.user_id)

    batcher: Batcher[PlaceBid, str] = Batcher(apply, shards=2)
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
    assert results[1] == "u2"


@pytest.mark.parametrize("shards", [1, 3])
async def test_a_book_always_maps_to_the_same_queue(shards: int) -> None:
    batcher: Batcher[PlaceBid, str] = Batcher(lambda groups: asyncio.sleep(0), shards=shards)
    assert {batcher._shard("book-7") for _ in range(10)} == {batcher._shard("book-7")}
    assert all(0 <= batcher._shard(f"b{n}") < shards for n in range(50))


# A gather window no test waits for: a batch that waited for it would take a minute,
# so "it did not wait" is an answer well under that, even on a loaded machine.
WINDOW = 60.0
NO_WAIT = 10.0


def _recording_batcher(
    batches: list[list[str]], *, gather_window: float = 0.002, shards: int = 1
) -> Batcher[PlaceBid, str]:
    async def apply(groups: dict[str, list[Queued]]) -> None:
        batches.append([c.command.user_id for commands in groups.values() for c in commands])
        for commands in groups.values():
            for c in commands:
                c.settle(c.command.user_id)

    return Batcher(apply, shards=shards, gather_window=gather_window)


async def test_a_batch_waits_for_the_commands_announced_for_its_queue() -> None:
    batches: list[list[str]] = []
    batcher = _recording_batcher(batches, gather_window=5.0)

    async def announced(user: str, checking: float) -> str:
        with batcher.arriving("a"):
            await asyncio.sleep(checking)  # the token being checked
        return await batcher.submit("a", command(user))

    slow = asyncio.create_task(announced("late", 0.05))
    await asyncio.sleep(0)
    await asyncio.gather(batcher.submit("a", command("early")), slow)
    # Without the wait, "early" would have gone alone and "late" in a second batch.
    assert batches == [["early", "late"]]


async def test_a_lone_command_is_applied_without_waiting() -> None:
    batches: list[list[str]] = []
    batcher = _recording_batcher(batches, gather_window=WINDOW)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with batcher.arriving("a"):
        pass
    await batcher.submit("a", command("alone"))
    assert loop.time() - started < NO_WAIT, "it waited for the window"
    assert batches == [["alone"]]


async def test_an_announced_command_that_never_comes_delays_a_batch_by_the_window_only() -> None:
    batches: list[list[str]] = []
    # Long enough that "did not wait" (under half of it) holds on a loaded machine.
    window = 3.0
    batcher = _recording_batcher(batches, gather_window=window)
    loop = asyncio.get_running_loop()
    with batcher.arriving("a"):  # checked for longer than the window, then refused
        started = loop.time()
        await batcher.submit("a", command("waiting"))
        waited = loop.time() - started
    assert 0.8 * window <= waited < 10 * window, "not the window, nor for ever"
    assert batches == [["waiting"]]
    # The announcement is over: the next command does not wait.
    started = loop.time()
    await batcher.submit("a", command("next"))
    assert loop.time() - started < window / 2, "it waited for the window again"


async def test_an_announcement_for_another_queue_does_not_hold_a_batch() -> None:
    batches: list[list[str]] = []
    batcher = _recording_batcher(batches, gather_window=WINDOW, shards=64)
    other = next(
        f"book-{n}" for n in range(1000) if batcher._shard(f"book-{n}") != batcher._shard("a")
    )
    loop = asyncio.get_running_loop()
    with batcher.arriving(other):
        started = loop.time()
        await batcher.submit("a", command("mine"))
        assert loop.time() - started < NO_WAIT, "it waited for the window"
    assert batches == [["mine"]]


async def test_a_batch_does_not_wait_for_commands_announced_after_it_began_waiting() -> None:
    batches: list[list[str]] = []
    batcher = _recording_batcher(batches, gather_window=WINDOW)
    later_announced = asyncio.Event()
    release_later = asyncio.Event()

    async def announced(user: str, checked: asyncio.Event) -> str:
        with batcher.arriving("a"):
            await checked.wait()
        return await batcher.submit("a", command(user))

    first_checked = asyncio.Event()
    first = asyncio.create_task(announced("first", first_checked))
    await asyncio.sleep(0)
    early = asyncio.create_task(batcher.submit("a", command("early")))
    await asyncio.sleep(0.01)  # the worker now waits for "first"

    async def keeps_coming() -> str:
        with batcher.arriving("a"):
            later_announced.set()
            await release_later.wait()
        return await batcher.submit("a", command("later"))

    later = asyncio.create_task(keeps_coming())
    await later_announced.wait()
    loop = asyncio.get_running_loop()
    started = loop.time()
    first_checked.set()
    await asyncio.gather(early, first)
    assert loop.time() - started < NO_WAIT  # "later" is still being checked
    assert batches == [["early", "first"]]
    release_later.set()
    await later
    assert batches == [["early", "first"], ["later"]]


# --- load shedding: refused before it is applied, or answered with its outcome -------------


class HeldBatches:
    """A batcher whose batches wait until released: the database is slow."""

    def __init__(self, *, max_queue: int = 1_000) -> None:
        self.applied: list[str] = []
        self.shed: list[str] = []
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        self.batcher: Batcher[PlaceBid, str] = Batcher(
            self._apply, shards=1, max_queue=max_queue, on_shed=self.shed.append
        )

    async def _apply(self, groups: dict[str, list[Queued]]) -> None:
        self.started.set()
        await self.release.wait()
        for commands in groups.values():
            for c in commands:
                self.applied.append(c.command.user_id)
                c.settle(c.command.user_id)

    def submit(self, user: str, *, deadline: float | None = None) -> asyncio.Task[str]:
        return asyncio.create_task(self.batcher.submit("a", command(user), deadline=deadline))

    async def in_flight(self, task: asyncio.Task[str]) -> None:
        """Wait until ``task``'s command has been taken into the batch that is held."""
        await self.started.wait()
        assert self.batcher.waiting("a") == 0
        assert not task.done()


async def test_a_full_queue_refuses_a_command_at_once_and_never_applies_it() -> None:
    held = HeldBatches(max_queue=2)
    first = held.submit("in-flight")
    await held.in_flight(first)
    queued = [held.submit("q1"), held.submit("q2")]
    await asyncio.sleep(0)
    assert held.batcher.waiting("a") == 2

    with pytest.raises(Overloaded) as refused:
        await held.batcher.submit("a", command("one too many"))

    assert refused.value.reason == QUEUE_FULL
    assert held.shed == [QUEUE_FULL]
    held.release.set()
    assert await asyncio.gather(first, *queued) == ["in-flight", "q1", "q2"]
    assert held.applied == ["in-flight", "q1", "q2"]


async def test_a_command_still_queued_at_its_deadline_leaves_the_queue_refused() -> None:
    held = HeldBatches()
    loop = asyncio.get_running_loop()
    first = held.submit("in-flight", deadline=loop.time() + 0.05)
    await held.in_flight(first)
    late = held.submit("expires", deadline=loop.time() + 0.05)
    patient = held.submit("patient", deadline=loop.time() + NO_WAIT * 6)

    with pytest.raises(Overloaded) as refused:
        await late
    assert refused.value.reason == WAIT_BUDGET
    assert held.shed == [WAIT_BUDGET]
    assert held.batcher.waiting("a") == 1

    # The command in flight passed its deadline too, but was taken: it gets its outcome.
    held.release.set()
    assert await asyncio.gather(first, patient) == ["in-flight", "patient"]
    assert held.applied == ["in-flight", "patient"]


async def test_a_command_whose_deadline_has_passed_is_refused_without_queueing() -> None:
    held = HeldBatches()
    held.release.set()
    past = asyncio.get_running_loop().time() - 1

    with pytest.raises(Overloaded) as refused:
        await held.batcher.submit("a", command("too late"), deadline=past)

    assert refused.value.reason == WAIT_BUDGET
    assert held.applied == []
    assert await held.submit("on time") == "on time"


async def test_when_every_queued_command_expired_no_empty_batch_is_applied() -> None:
    groups_seen: list[int] = []
    release = asyncio.Event()

    async def apply(groups: dict[str, list[Queued]]) -> None:
        groups_seen.append(len(groups))
        await release.wait()
        for commands in groups.values():
            for c in commands:
                c.settle(c.command.user_id)

    batcher: Batcher[PlaceBid, str] = Batcher(apply, shards=1)
    loop = asyncio.get_running_loop()
    first = asyncio.create_task(batcher.submit("a", command("u1")))
    await asyncio.sleep(0)
    expiring = asyncio.create_task(batcher.submit("a", command("u2"), deadline=loop.time() + 0.02))
    with pytest.raises(Overloaded):
        await expiring

    release.set()
    assert await first == "u1"
    await batcher.drain()
    assert groups_seen == [1]
