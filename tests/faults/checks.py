"""What must hold after a history with faults, checked against what the platform stored.

- every acknowledged bid (201) is in the ledger, at the seq its answer gave, as sent;
- no refused bid is, no bid is there twice (a retry counted twice), nothing nobody sent;
- every answer to one Idempotency-Key said the same, and every bid got a true answer;
- every book is its ledger replayed by the engine, bid by bid;
- no poller saw a book step back (its seq or its price lower than it saw before);
- every committed event left the outbox and is in the inbox of each consumer bound to it;
- nothing was dead-lettered; throughput was back within 10 s of each fault's end.

Each finding belongs to the phase (the fault) in which it happened, for the table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from auction_platform.core.broker.memory import topic_matches
from auction_platform.core.sql import utc
from auction_platform.services.bidding import codec, engine
from faults.scenario import RECOVERY_DEADLINE, Phase
from faults.workload import Operation, Sighting

PhaseAt = Callable[[float], int]


class Kind(StrEnum):
    """What went wrong, by the table's columns."""

    LOST = "lost"  # acknowledged, and not in the ledger
    WRONG = "wrong"  # recorded or answered otherwise than the client was told
    UNDELIVERED = "undelivered"  # committed, and missing from a consumer's inbox
    DEAD_LETTERED = "dead-lettered"
    SLOW = "slow recovery"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing that did not hold, in the phase it happened in."""

    kind: Kind
    phase: int
    what: str


@dataclass(frozen=True, slots=True)
class Event:
    """A committed event as its producer's outbox keeps it."""

    producer: str
    event_id: str
    event_type: str
    created_at: float
    published: bool

    @property
    def routing_key(self) -> str:
        return f"{self.producer}.{self.event_type}"


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A consumer with an inbox: its service, its name there, the routing keys it binds."""

    service: str
    name: str
    patterns: tuple[str, ...]

    def wants(self, event: Event) -> bool:
        return any(topic_matches(pattern, event.routing_key) for pattern in self.patterns)


def bids(
    operations: Sequence[Operation], ledger: Sequence[Any], phase_at: PhaseAt
) -> list[Finding]:
    """The ledger against what each client was told."""
    findings = []
    at_seq = {(row.auction_id, row.seq): row for row in ledger}
    accounted: set[tuple[str, int]] = set()
    for op in operations:
        phase = phase_at(op.sent_at)
        findings += [Finding(Kind.WRONG, phase, f"bid {op.number}: {p}") for p in op.problems]
        if not op.resolved:
            seen = ", ".join(sorted({str(a.status or a.code) for a in op.attempts}))
            findings.append(
                Finding(
                    Kind.WRONG,
                    phase,
                    f"bid {op.number} never got a true answer"
                    f" ({len(op.attempts)} attempts: {seen})",
                )
            )
        if not op.acknowledged or op.seq is None:
            continue
        where = (op.auction_id, op.seq)
        row = at_seq.get(where)
        if row is None:
            findings.append(
                Finding(
                    Kind.LOST,
                    phase,
                    f"bid {op.number} acknowledged as seq"
                    f" {op.seq} of {op.auction_id} is not in the ledger",
                )
            )
        elif where in accounted:
            findings.append(
                Finding(
                    Kind.WRONG,
                    phase,
                    f"bid {op.number}: seq {op.seq} of"
                    f" {op.auction_id} was acknowledged to two bids",
                )
            )
        elif (row.bidder_id, row.max_cents) != (op.bidder.id, op.amount_cents):
            findings.append(
                Finding(
                    Kind.WRONG,
                    phase,
                    f"bid {op.number}: seq {op.seq} of"
                    f" {op.auction_id} holds another bid ({row.max_cents})",
                )
            )
        accounted.add(where)
    sent = {(o.auction_id, o.bidder.id, o.amount_cents): o for o in operations}
    for row in ledger:
        if (row.auction_id, row.seq) in accounted:
            continue
        recorded = sent.get((row.auction_id, row.bidder_id, row.max_cents))
        phase = phase_at(utc(row.placed_at).timestamp())
        seq = f"seq {row.seq} of {row.auction_id}"
        if recorded is None:
            findings.append(Finding(Kind.WRONG, phase, f"{seq} is a bid no client sent"))
        elif recorded.refused:
            findings.append(
                Finding(
                    Kind.WRONG,
                    phase,
                    f"bid {recorded.number} was refused"
                    f" ({recorded.status} {recorded.code}) and is in the ledger as {seq}",
                )
            )
        elif recorded.acknowledged:
            findings.append(
                Finding(
                    Kind.WRONG,
                    phase,
                    f"bid {recorded.number} (seq {recorded.seq}) is in the"
                    f" ledger again as {seq}: a retry counted twice",
                )
            )
        # A bid that never got a true answer may be there once: reported above.
    return findings


def books(rows: Iterable[Any], ledger: Sequence[Any], phase_at: PhaseAt) -> list[Finding]:
    """Every book against its ledger replayed by the engine, bid by bid."""
    by_auction: dict[str, list[Any]] = {}
    for bid in ledger:
        by_auction.setdefault(bid.auction_id, []).append(bid)
    findings = []
    for row in rows:
        problem, at = _replay(row, sorted(by_auction.get(row.auction_id, []), key=_seq))
        if problem is not None:
            findings.append(Finding(Kind.WRONG, phase_at(at), f"book {row.auction_id}: {problem}"))
    return findings


def _seq(bid: Any) -> int:
    return int(bid.seq)


def _replay(row: Any, ledger: list[Any]) -> tuple[str | None, float]:
    """What is wrong with one stored book given its ledger, and when it went wrong."""
    rules = codec.rules_from(row.rules)
    book = engine.Book.open(rules)
    for number, bid in enumerate(ledger, start=1):
        at = utc(bid.placed_at)
        if bid.seq != number:
            return f"the ledger skips from seq {number - 1} to {bid.seq}", at.timestamp()
        book, outcome = engine.place_bid(book, bid.bidder_id, bid.max_cents, at)
        recorded = (bid.price_cents, bid.leader_id)
        if not outcome.accepted or (book.price_cents, book.leader_id) != recorded:
            replayed = "refused" if not outcome.accepted else (book.price_cents, book.leader_id)
            return f"seq {bid.seq} recorded {recorded}, replayed {replayed}", at.timestamp()
    stored = codec.load(row.state, rules)
    last = utc(ledger[-1].placed_at).timestamp() if ledger else 0.0

    def summary(book: engine.Book) -> tuple[Any, ...]:
        return (book.price_cents, book.leader_id, book.leader_max_cents, book.bid_count)

    if summary(stored) != summary(book):
        return f"stored {summary(stored)}, its ledger replays to {summary(book)}", last
    columns = (row.price_cents, row.leader_id, row.bid_count, row.seq)
    if columns != (book.price_cents, book.leader_id, book.bid_count, len(ledger)):
        return f"its columns {columns} disagree with its ledger of {len(ledger)} bids", last
    return None, last


def sightings(seen: Iterable[Sighting], phase_at: PhaseAt) -> list[Finding]:
    """No poller saw a book older or cheaper than one it had seen before."""
    newest: dict[tuple[int, str], Sighting] = {}
    findings = []
    for sighting in seen:
        key = (sighting.poller, sighting.auction_id)
        before = newest.get(key)
        if before is None or sighting.seq > before.seq:
            newest[key] = sighting
        if before is not None and (
            sighting.seq < before.seq or sighting.price_cents < before.price_cents
        ):
            findings.append(
                Finding(
                    Kind.WRONG,
                    phase_at(sighting.at),
                    f"poller {sighting.poller} saw {sighting.auction_id} step back from seq"
                    f" {before.seq} ({before.price_cents}) to seq {sighting.seq}"
                    f" ({sighting.price_cents})",
                )
            )
    return findings


def deliveries(
    events: Iterable[Event],
    inboxes: dict[tuple[str, str], set[str]],
    subscribers: Sequence[Subscriber],
    phase_at: PhaseAt,
    *,
    excused: Callable[[Event], bool] = lambda event: False,
) -> tuple[list[Finding], int]:
    """Events not published or missing from an inbox bound to them; and how many were excused.

    ``excused`` names a loss the mode documents; an event still in its outbox is never one.
    """
    findings = []
    excused_count = 0
    for event in events:
        missing = [
            s.name
            for s in subscribers
            if s.wants(event) and event.event_id not in inboxes.get((s.service, s.name), set())
        ]
        if event.published and not missing:
            continue
        if event.published and excused(event):
            # Sent, and lost on the way: never one still in its (durable) outbox.
            excused_count += 1
            continue
        where = "still in the outbox" if not event.published else f"not in {', '.join(missing)}"
        findings.append(
            Finding(
                Kind.UNDELIVERED,
                phase_at(event.created_at),
                f"{event.routing_key} {event.event_id}: {where}",
            )
        )
    return findings, excused_count


def recoveries(phases: Sequence[Phase]) -> list[Finding]:
    """Throughput back within ``RECOVERY_DEADLINE`` seconds of each fault's end."""
    return [
        Finding(
            Kind.SLOW,
            index,
            f"{phase.fault}: throughput not back to half its {phase.baseline:.0f}/s"
            f" within {RECOVERY_DEADLINE:.0f} s of the fault's end",
        )
        for index, phase in enumerate(phases)
        if phase.recovery is None or phase.recovery > RECOVERY_DEADLINE
    ]
