"""Faults injected one at a time into a running history, and how soon throughput came back.

Each fault has its phase of the history: a calm stretch (the rate of true answers in
it is the fault's baseline), the fault itself, then the watch for the rate to come back.
Throughput is back at the first true answer after the fault's end from which the next
second holds at least half the baseline's answers; it must be back within
``RECOVERY_DEADLINE`` seconds of the fault's end.
"""

from __future__ import annotations

import asyncio
import math
import time
from bisect import bisect_left, bisect_right
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from faults.workload import Workload

RECOVERY_DEADLINE = 10.0
CALM = 4.0  # seconds of history before each fault: its baseline
WINDOW = 1.0  # the stretch whose answers count as the rate


@dataclass(frozen=True)
class Fault:
    """Something that goes wrong for ``lasts`` seconds, and how it is put right."""

    name: str
    inject: Callable[[], Awaitable[None]]
    lift: Callable[[], Awaitable[None]]
    lasts: float


@dataclass
class Phase:
    """One fault's stretch of the history (wall-clock times, as the ledger's)."""

    fault: str
    began: float
    injected: float = 0.0
    lifted: float = 0.0
    ended: float = 0.0
    baseline: float = 0.0  # true answers per second in the calm before the fault
    recovery: float | None = None  # seconds from the fault's end until the rate was back


def rate(answers: Sequence[float], since: float, until: float) -> float:
    """True answers per second between two moments."""
    return (bisect_left(answers, until) - bisect_left(answers, since)) / (until - since)


def recovery_time(answers: Sequence[float], *, lifted: float, baseline: float) -> float | None:
    """Seconds from ``lifted`` until the rate was back to half ``baseline`` (None: not yet)."""
    needed = max(1, math.ceil(baseline * WINDOW / 2))
    first = bisect_left(answers, lifted)
    for index in range(first, len(answers)):
        if bisect_left(answers, answers[index] + WINDOW) - index >= needed:
            return answers[index] - lifted
    return None


def phase_of(moment: float, phases: Sequence[Phase]) -> int:
    """The index of the phase a moment belongs to (before the first: the first)."""
    return max(bisect_right([phase.began for phase in phases], moment) - 1, 0)


async def inject_one_at_a_time(
    workload: Workload,
    faults: Sequence[Fault],
    *,
    after_each: Callable[[int, Phase], Awaitable[None]],
    warm_up: float = 0.0,
) -> list[Phase]:
    """Run each fault in its own phase of the history; ``after_each`` runs as a phase ends.

    The first phase starts with ``warm_up`` seconds of history more than the others.
    """
    phases: list[Phase] = []
    for index, fault in enumerate(faults):
        phase = Phase(fault.name, began=time.time())
        await asyncio.sleep(CALM + (warm_up if index == 0 else 0.0))
        phase.injected = time.time()
        phase.baseline = rate(workload.answer_times(), phase.injected - CALM, phase.injected)
        await fault.inject()
        await asyncio.sleep(fault.lasts)
        await fault.lift()
        phase.lifted = time.time()
        await _watch_recovery(workload, phase)
        phase.ended = time.time()
        await after_each(index, phase)
        phases.append(phase)
    return phases


async def _watch_recovery(workload: Workload, phase: Phase) -> None:
    """Wait until the rate is back (and its window has passed), or past the deadline."""
    while True:
        await asyncio.sleep(0.25)
        phase.recovery = recovery_time(
            workload.answer_times(), lifted=phase.lifted, baseline=phase.baseline
        )
        now = time.time()
        if phase.recovery is not None and now >= phase.lifted + phase.recovery + WINDOW:
            return
        if now >= phase.lifted + RECOVERY_DEADLINE + WINDOW:
            return
