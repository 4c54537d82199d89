"""A seeded bid history: bidders bid on a few lots through the gateway, pollers watch the books.

Each bidder is a careful client. Every bid carries an Idempotency-Key and is sent until
it has a true answer: 201 (acknowledged) or a refusal (403 or 409 with the engine's
reason). An answer that says nothing of the outcome (503: not recorded; 502, 504, a
dropped connection: unknown; 409 ``request_in_flight``: not yet) sends the same request
with the same key again, after the ``Retry-After`` it was given or a short backoff, as
a real client would. Any other answer (a 500, a 401 to a valid token) is wrong: it is
noted against the bid, which is then sent again like an unknown outcome.

What the bidders do is drawn from one seed: which lot, whether a bid is meant to be
refused (below the start price), whether it is sent twice at once, whether it is sent
again after its answer (each answer of one key must be the same). Amounts follow the
price the clients have seen, so most bids are taken and some lose the race, as on a
hot auction. Pollers read each book in turn, anonymously, and keep what they saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

from auction_platform.services.bidding.engine import Refusal
from support.accounts import Account

# The engine's reasons and the book's own refusals: true answers that take no bid.
REFUSALS = frozenset({r.value for r in Refusal} | {"auction_cancelled"})
# Answers that say nothing of the outcome: the same request goes again.
NOT_YET = frozenset({502, 503, 504, 429})
IN_FLIGHT = "request_in_flight"
# How long a bidder keeps sending one bid before leaving it to the final round.
GIVE_UP_AFTER = 45.0
FIRST_BACKOFF = 0.2
MAX_BACKOFF = 1.0


@dataclass(frozen=True, slots=True)
class Attempt:
    """One request of a bid: when it was answered, its status (None: no answer) and code."""

    at: float
    status: int | None
    code: str | None

    @property
    def true(self) -> bool:
        """An answer that says what became of the bid."""
        return self.status == 201 or (self.status in (403, 409) and self.code in REFUSALS)

    @property
    def wrong(self) -> bool:
        """An answer no client should get to a well-formed bid with a valid token."""
        if self.true or self.status is None or self.status in NOT_YET:
            return False
        return not (self.status == 409 and self.code == IN_FLIGHT)


@dataclass
class Operation:
    """One bid of the history, under its own Idempotency-Key."""

    number: int
    bidder: Account
    auction_id: str
    amount_cents: int
    key: str
    meant_to_be_refused: bool
    sent_at: float
    attempts: list[Attempt] = field(default_factory=list)
    # The first true answer: status, ledger seq (201) or refusal code, when it came.
    status: int | None = None
    seq: int | None = None
    code: str | None = None
    answered_at: float | None = None
    problems: list[str] = field(default_factory=list)
    twin: bool = False  # sent twice at once
    resent: bool = False  # sent again after its true answer

    @property
    def resolved(self) -> bool:
        return self.status is not None

    @property
    def acknowledged(self) -> bool:
        return self.status == 201

    @property
    def refused(self) -> bool:
        return self.resolved and not self.acknowledged

    def conclude(self, attempt: Attempt, seq: int | None) -> None:
        """Take a true answer: the first decides, every later one must say the same."""
        if self.status is None:
            self.status, self.seq, self.code, self.answered_at = (
                attempt.status,
                seq,
                attempt.code,
                attempt.at,
            )
        elif (self.status, self.seq, self.code) != (attempt.status, seq, attempt.code):
            self.problems.append(
                f"answered {attempt.status} {attempt.code or ''} seq {seq} to the same key,"
                f" after {self.status} {self.code or ''} seq {self.seq}"
            )


@dataclass(frozen=True, slots=True)
class Sighting:
    """What one poller saw of one book."""

    poller: int
    auction_id: str
    at: float
    seq: int
    version: int
    price_cents: int


@dataclass(frozen=True)
class Mix:
    """The shape of the history: who bids how often, and how often in which way."""

    bidders: int = 16
    bids_per_second: float = 10.0  # per bidder, at most
    pollers: int = 2
    polls_per_second: float = 10.0  # per poller, at most
    refused_share: float = 0.05  # below the start price: always refused
    resent_share: float = 0.10  # sent again with the same key after the answer
    twin_share: float = 0.03  # sent twice at once with the same key
    raise_up_to_cents: int = 10_000  # above the minimum next bid the client saw


class Workload:
    """Runs the bidders and pollers until stopped; keeps every operation and sighting."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        bidders: list[Account],
        lots: list[dict[str, Any]],
        seed: int,
        mix: Mix = Mix(),
    ) -> None:
        self.http = http
        self.bidders = bidders
        self.lots = lots
        self.seed = seed
        self.mix = mix
        self.operations: list[Operation] = []
        self.sightings: list[Sighting] = []
        self.failed_polls = 0
        self._min_next: dict[str, int] = {lot["id"]: int(lot["start_cents"]) for lot in lots}
        self._start: dict[str, int] = dict(self._min_next)
        self._amounts: dict[tuple[str, str], set[int]] = defaultdict(set)
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Set the bidders and pollers going."""
        self._tasks = [
            asyncio.create_task(self._bid(index, bidder), name=f"bidder-{index}")
            for index, bidder in enumerate(self.bidders)
        ] + [
            asyncio.create_task(self._poll(index), name=f"poller-{index}")
            for index in range(self.mix.pollers)
        ]

    async def stop(self) -> None:
        """Stop sending new bids; wait for each bidder's bid in hand (bounded by its give-up)."""
        self._stopping.set()
        await asyncio.gather(*self._tasks)
        self._tasks.clear()

    async def settle(self, *, timeout: float = 60.0) -> None:
        """Send every bid still without a true answer until it has one, or ``timeout`` passes."""
        unresolved = [op for op in self.operations if not op.resolved]
        await asyncio.gather(*(self._send_until_true(op, give_up=timeout) for op in unresolved))

    def answer_times(self) -> list[float]:
        """When each bid got its first true answer, in order: the history's throughput."""
        return sorted(op.answered_at for op in self.operations if op.answered_at is not None)

    # --- bidders ------------------------------------------------------------------

    async def _bid(self, index: int, bidder: Account) -> None:
        rng = random.Random(f"{self.seed}:{index}")
        interval = 1.0 / self.mix.bids_per_second
        while not self._stopping.is_set():
            began = time.monotonic()
            op = self._next(bidder, rng)
            op.twin = rng.random() < self.mix.twin_share
            await asyncio.gather(
                *(self._send_until_true(op, give_up=GIVE_UP_AFTER) for _ in range(1 + op.twin))
            )
            if op.resolved and rng.random() < self.mix.resent_share:
                op.resent = True
                await self._send_until_true(op, give_up=GIVE_UP_AFTER, again=True)
            with contextlib.suppress(TimeoutError):
                pause = interval - (time.monotonic() - began)
                await asyncio.wait_for(self._stopping.wait(), max(pause, 0.0))

    def _next(self, bidder: Account, rng: random.Random) -> Operation:
        lot = rng.choice(self.lots)["id"]
        refused = rng.random() < self.mix.refused_share
        if refused:
            amount = rng.randrange(1, self._start[lot])
        else:
            amount = self._min_next[lot] + rng.randrange(self.mix.raise_up_to_cents)
        used = self._amounts[(lot, bidder.id)]
        # One amount per bidder and lot: a ledger row then names the bid it records.
        while amount in used:
            amount = rng.randrange(1, self._start[lot]) if refused else amount + 1
        used.add(amount)
        number = len(self.operations)
        op = Operation(
            number=number,
            bidder=bidder,
            auction_id=lot,
            amount_cents=amount,
            key=f"faults-{self.seed}-{number}",
            meant_to_be_refused=refused,
            sent_at=time.time(),
        )
        self.operations.append(op)
        return op

    async def _send_until_true(self, op: Operation, *, give_up: float, again: bool = False) -> None:
        """Send ``op`` until a true answer comes (``again``: even if it has one already)."""
        deadline = time.monotonic() + give_up
        backoff = FIRST_BACKOFF
        while time.monotonic() < deadline and (again or not op.resolved):
            attempt, seq, retry_after = await self._send(op)
            op.attempts.append(attempt)
            if attempt.true:
                op.conclude(attempt, seq)
                return
            if attempt.wrong:
                op.problems.append(f"answered {attempt.status} {attempt.code or ''}")
            await asyncio.sleep(min(retry_after or backoff, MAX_BACKOFF * 2))
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _send(self, op: Operation) -> tuple[Attempt, int | None, float | None]:
        headers = {**op.bidder.headers, "Idempotency-Key": op.key}
        try:
            response = await self.http.post(
                f"/api/v1/auctions/{op.auction_id}/bids",
                json={"max_amount_cents": op.amount_cents},
                headers=headers,
            )
        except httpx.TransportError as exc:
            return Attempt(time.time(), None, type(exc).__name__), None, None
        body = _json(response)
        error = body.get("error") if isinstance(body.get("error"), dict) else None
        code = str(error.get("code")) if error else None
        book = body if response.status_code == 201 else (error or {}).get("details")
        if isinstance(book, dict) and book.get("auction_id") == op.auction_id:
            self._saw(op.auction_id, book)
        seq = body.get("seq") if response.status_code == 201 else None
        return Attempt(time.time(), response.status_code, code), seq, _retry_after(response)

    def _saw(self, auction_id: str, book: dict[str, Any]) -> None:
        """What a client learnt of a book: the next bid must reach its minimum."""
        minimum = book.get("min_next_bid_cents")
        if isinstance(minimum, int) and minimum > self._min_next[auction_id]:
            self._min_next[auction_id] = minimum

    # --- pollers ------------------------------------------------------------------

    async def _poll(self, index: int) -> None:
        interval = 1.0 / self.mix.polls_per_second
        while not self._stopping.is_set():
            for lot in self.lots:
                began = time.monotonic()
                try:
                    response = await self.http.get(f"/api/v1/auctions/{lot['id']}/book")
                except httpx.TransportError:
                    response = None
                if response is None or response.status_code != 200:
                    self.failed_polls += 1
                else:
                    book = response.json()
                    self._saw(lot["id"], book)
                    self.sightings.append(
                        Sighting(
                            poller=index,
                            auction_id=lot["id"],
                            at=time.time(),
                            seq=int(book["seq"]),
                            version=int(book.get("version", 0)),
                            price_cents=int(book["price_cents"]),
                        )
                    )
                with contextlib.suppress(TimeoutError):
                    pause = interval - (time.monotonic() - began)
                    await asyncio.wait_for(self._stopping.wait(), max(pause, 0.0))


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(float(value), FIRST_BACKOFF) if value else None
    except ValueError:
        return None
