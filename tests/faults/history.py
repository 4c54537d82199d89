"""One seeded history on a stage: lots listed, bidders signed up, faults injected, then checked."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import httpx

from faults import checks
from faults.checks import Finding, Kind
from faults.report import Run
from faults.scenario import Phase, inject_one_at_a_time, phase_of
from faults.stages import Stage
from faults.workload import Mix, Operation, Workload
from support.accounts import sign_up
from support.auctions import open_lot, seller

LOTS = 3
START_CENTS = 10_000
# How long the platform may take, after the last fault, to deliver every committed event.
DRAIN = 60.0


async def run_history(stage: Stage, *, seed: int, mix: Mix | None = None) -> Run:
    """Run the history with each of the stage's faults in turn; what held and what did not."""
    mix = mix or Mix()
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
    async with httpx.AsyncClient(base_url=stage.url, timeout=15, limits=limits) as http:
        owner = await seller(http)
        lots = [
            await open_lot(
                http,
                owner,
                title=f"Lot {number} of the fault history",
                start_cents=START_CENTS,
                reserve_cents=None,
                buy_now_cents=None,
            )
            for number in range(1, LOTS + 1)
        ]
        bidders = [await sign_up(http, name=f"Bidder{n}") for n in range(mix.bidders)]
        workload = Workload(http, bidders=bidders, lots=lots, seed=seed, mix=mix)
        dead: list[tuple[int, str]] = []

        async def take_dead_letters(index: int, phase: Phase) -> None:
            dead.extend((index, letter) for letter in await stage.take_dead_letters())

        workload.start()
        try:
            phases = await inject_one_at_a_time(
                workload, stage.faults, after_each=take_dead_letters, warm_up=stage.warm_up
            )
        finally:
            await workload.stop()
        await workload.settle()
    run = Run(stage.mode, phases, workload.operations)
    excused = await _delivered(stage, phases, run)
    dead += [(len(phases) - 1, letter) for letter in await stage.take_dead_letters()]
    run.findings += [Finding(Kind.DEAD_LETTERED, index, letter) for index, letter in dead]
    books, ledger = await stage.ledger()

    def phase_at(moment: float) -> int:
        return phase_of(moment, phases)

    run.findings += checks.bids(workload.operations, ledger, phase_at)
    run.findings += checks.books(books, ledger, phase_at)
    run.findings += checks.sightings(workload.sightings, phase_at)
    run.findings += checks.recoveries(phases)
    if excused:
        run.notes.append(
            f"{excused} event(s) committed before a kill were not consumed: the in-process"
            " broker is not durable (docs/architecture.md, Events); not counted."
        )
    run.notes += stage.restarts
    run.notes += _retries(workload.operations)
    if workload.failed_polls:
        run.notes.append(f"{workload.failed_polls} poll(s) of a book got no 200 (during faults).")
    return run


async def _delivered(stage: Stage, phases: list[Phase], run: Run) -> int:
    """Wait (up to ``DRAIN`` s) for every committed event to reach its consumers, then check.

    Adds the events still missing to the run's findings; returns how many were excused.
    """
    subscribers = stage.subscribers()
    deadline = time.monotonic() + DRAIN
    while True:
        events, inboxes = await stage.events()
        missing, excused = checks.deliveries(
            events,
            inboxes,
            subscribers,
            lambda moment: phase_of(moment, phases),
            excused=stage.excused,
        )
        if not missing or time.monotonic() > deadline:
            run.findings += missing
            return excused
        await asyncio.sleep(1.0)


def _retries(operations: list[Operation]) -> list[str]:
    """What the clients went through: refusals by reason, answers that were not true."""
    refusals = Counter(op.code for op in operations if op.refused)
    pending = Counter(
        f"{a.status} {a.code}" if a.status == 409 else str(a.status or a.code)
        for op in operations
        for a in op.attempts
        if not a.true
    )
    return [
        "refused: " + _counts(refusals),
        f"sent again with the same key, for answers that were not true: {_counts(pending)}",
        f"sent twice at once: {sum(op.twin for op in operations)} bids;"
        f" sent again after their true answer: {sum(op.resent for op in operations)} bids",
    ]


def _counts(counter: Counter[Any]) -> str:
    return ", ".join(f"{key} x{count}" for key, count in counter.most_common()) or "none"
