"""A scheduler loop sleeps until its next due moment instead of polling, and this
process's own writes wake it early."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from sqlalchemy import text

from auction_platform.core.db import Database
from auction_platform.core.periodic import run_passes

log = logging.getLogger("test.periodic")
AN_HOUR = 3600.0
DEADLINE = 10.0  # for a loaded machine: how long to wait for a pass that should come


class Passes:
    """A fake pass: records when it ran, answers what it is told to."""

    def __init__(self, *answers: float | None) -> None:
        self.answers = list(answers)
        self.times: list[float] = []
        self.ran = asyncio.Event()

    async def __call__(self) -> float | None:
        self.times.append(asyncio.get_running_loop().time())
        self.ran.set()
        return self.answers.pop(0) if self.answers else AN_HOUR

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(DEADLINE):
            while len(self.times) < count:
                self.ran.clear()
                await self.ran.wait()


@contextlib.asynccontextmanager
async def looping(
    run_once: Callable[[], Awaitable[float | None]], **options: object
) -> AsyncIterator[None]:
    settings: dict[str, object] = {"interval": 0.05, "log": log, "what": "test", "longest": AN_HOUR}
    task = asyncio.create_task(run_passes(run_once, **{**settings, **options}))  # type: ignore[arg-type]
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_pass_sleeps_until_its_next_due_moment_never_less() -> None:
    passes = Passes(0.3)
    async with looping(passes):
        await passes.wait_for(2)
    assert passes.times[1] - passes.times[0] >= 0.3


async def test_with_nothing_scheduled_it_sleeps_until_woken() -> None:
    passes = Passes(None)
    wake = asyncio.Event()
    async with looping(passes, wake=wake):
        await passes.wait_for(1)
        await asyncio.sleep(0.3)  # asleep: no pass comes by itself (it would in an hour)
        assert len(passes.times) == 1
        wake.set()
        await passes.wait_for(2)


async def test_a_full_batch_runs_again_at_once() -> None:
    passes = Passes(0.0, 0.0, 0.0)
    async with looping(passes):
        await passes.wait_for(4)  # the fourth pass came without an hour's wait


async def test_wakes_start_at_most_one_pass_per_interval() -> None:
    wake = asyncio.Event()
    passes = Passes()

    async def writing_pass() -> float | None:
        wake.set()  # as if every pass (or a busy service) wrote something
        return await passes()

    async with looping(writing_pass, wake=wake, interval=0.1):
        await passes.wait_for(4)
    gaps = [b - a for a, b in zip(passes.times, passes.times[1:], strict=False)]
    assert min(gaps) >= 0.1


async def test_a_wake_never_holds_a_pass_past_its_due_moment() -> None:
    wake = asyncio.Event()
    passes = Passes(0.05, 0.05, 0.05)

    async def writing_pass() -> float | None:
        wake.set()  # the pass's own write wakes the loop, as a closer's close does
        return await passes()

    # Paced to one woken pass an hour, yet each comes when it asked to, 50 ms on.
    async with looping(writing_pass, wake=wake, interval=AN_HOUR):
        await passes.wait_for(4)


async def test_a_failing_pass_is_retried() -> None:
    passes = Passes()

    async def flaky() -> float | None:
        answer = await passes()
        if len(passes.times) < 3:
            raise ConnectionError("the database is away")
        return answer

    async with looping(flaky, interval=0.01):
        await passes.wait_for(3)


async def test_each_committed_write_transaction_is_announced(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite3")
    heard: list[str] = []
    stop = db.on_write(lambda: heard.append("write"))
    try:
        async with db.transaction() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        assert heard == ["write"]
        async with db.read() as conn:
            await conn.execute(text("SELECT count(*) FROM t"))
        assert heard == ["write"]  # a read is not a write
        with contextlib.suppress(RuntimeError):
            async with db.transaction() as conn:
                await conn.execute(text("INSERT INTO t VALUES (1)"))
                raise RuntimeError("rolled back")
        assert heard == ["write"]  # nothing committed
        stop()
        async with db.transaction() as conn:
            await conn.execute(text("INSERT INTO t VALUES (2)"))
        assert heard == ["write"]
    finally:
        await db.dispose()
