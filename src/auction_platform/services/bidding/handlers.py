"""Use cases of the bidding service: every command on a book goes through one batch.

Each command has its handler (``place_bid``, ``buy_now``, ``retract``, ``cancel``,
``edit_rules``):
it takes the book's state inside the batch's transaction and returns a typed result
(``domain.BidAccepted``, ...) or raises a ``core.failures`` error, before it changes
anything. The batch hands each request its outcome once the transaction has
committed. A command with an Idempotency-Key is answered with what was recorded for
it: the batch records the answer as the HTTP edge renders it (``render``, given by
the composition root), and the first request and every retry get that answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from auction_platform.contracts import auctions as contract
from auction_platform.core.cache.base import BookCache
from auction_platform.core.failures import Conflict, DomainError, Invalid, NotFound
from auction_platform.core.sql import utc
from auction_platform.core.uow import Transaction, UnitOfWork
from auction_platform.services.bidding import codec, domain, engine, idempotency, store
from auction_platform.services.bidding.batcher import Batcher, Overloaded, Pending
from auction_platform.services.bidding.copies import BookCopies
from auction_platform.services.bidding.domain import (
    BidAccepted,
    BidRetracted,
    BookCancelled,
    BookCommand,
    BookResult,
    BookStatus,
    BoughtNow,
    BuyNow,
    CancelBook,
    CancelledBy,
    EditRules,
    PlaceBid,
    Retract,
    RulesEdited,
    WithdrawBids,
)
from auction_platform.services.bidding.idempotency import RecordedAnswer
from auction_platform.services.bidding.ports import AuctionRules, LotStatus
from auction_platform.services.bidding.state import BookState, Pseudonyms

log = logging.getLogger("auction_platform.bidding")

# How the HTTP edge sends an outcome (its status and JSON body): given by the
# composition root (``api.render``), used here only to record an idempotent answer.
Render = Callable[[BookResult | DomainError], tuple[int, dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class BookMissing:
    """The batch found no book for the command: ``submit`` opens it and sends it again."""


# What a queued command's request gets back from its batch.
Outcome = BookResult | RecordedAnswer | DomainError | BookMissing
_MISSING = BookMissing()


@dataclass
class Bidding:
    """What the bidding use cases need, built once by the service definition."""

    uow: UnitOfWork
    cache: BookCache
    clock: Callable[[], datetime]
    rules: AuctionRules
    render: Render
    pseudonyms: Pseudonyms
    max_batch: int = 200
    shards: int = 4
    # Load shedding (``batcher.py``): commands a queue may hold, how long one may wait
    # for its batch (None: for ever), and what is told of each one shed (its reason).
    max_queue: int = 1_000
    wait_budget: float | None = None
    on_shed: Callable[[str], None] = field(default=lambda reason: None)
    batcher: Batcher[BookCommand, Outcome] = field(init=False)
    copies: BookCopies = field(init=False)

    def __post_init__(self) -> None:
        self.batcher = Batcher(
            self.apply_batch,
            max_batch=self.max_batch,
            shards=self.shards,
            max_queue=self.max_queue,
            on_shed=self.on_shed,
        )
        self.copies = BookCopies(self.cache)

    # --- entry points -----------------------------------------------------------

    async def submit(self, auction_id: str, command: BookCommand) -> BookResult | RecordedAnswer:
        """Run a command against the auction's book; its result once its batch has committed.

        The batch itself finds out whether the book exists (it reads the row anyway):
        only when it does not, the book is opened from the auction's rules, if the
        auction is open, and the command goes again.
        """
        deadline = None
        if self.wait_budget is not None:
            deadline = asyncio.get_running_loop().time() + self.wait_budget
        # A retry is answered by its batch, from its key's claim: no read before it,
        # which every keyed bid would pay for.
        outcome = await self._queued(auction_id, command, deadline)
        if isinstance(outcome, BookMissing):
            if isinstance(command, EditRules):
                # The auction service sends the rules it is about to commit: the book
                # opens with them (it asks for the rules only when a bid came first).
                async with self.uow() as tx:
                    await open_book(tx, command.rules, now=self.clock())
            else:
                await self.open_missing_book(auction_id)
            outcome = await self._queued(auction_id, command, deadline)
            if isinstance(outcome, BookMissing):
                raise NotFound("auction_not_found", "there is no such auction")
        if isinstance(outcome, DomainError):
            try:
                raise outcome
            finally:
                # This frame must not hold the error its traceback holds: a reference
                # cycle per refused request would be left to the garbage collector.
                del outcome
        return outcome

    async def _queued(
        self, auction_id: str, command: BookCommand, deadline: float | None
    ) -> Outcome:
        """The command's outcome from its batch; 503 ``overloaded`` if shed before it."""
        try:
            return await self.batcher.submit(auction_id, command, deadline=deadline)
        except Overloaded as shed:
            raise domain.overloaded(shed.reason) from None

    async def open_missing_book(self, auction_id: str) -> None:
        """Create the book from the auction's rules when the opened event has not arrived."""
        rules = await self.rules.rules_of(auction_id)
        status = None if rules is None else rules["status"]
        if rules is None or status == LotStatus.DRAFT:
            raise NotFound("auction_not_found", "there is no such auction")
        if status == LotStatus.CANCELLED:
            raise Conflict("auction_cancelled", "the auction was cancelled")
        if status == LotStatus.CLOSED:
            raise Conflict("auction_ended", "the auction has ended")
        if status == LotStatus.SCHEDULED and self.clock() < datetime.fromisoformat(
            rules["starts_at"]
        ):
            # No book before the start: until then the lot's terms may change without
            # asking the book, and a lot cancelled before its start has no book to close.
            raise Conflict("auction_not_open", "the auction has not started")
        # Open, or scheduled and due (the scheduler has not got to it yet): the book
        # can start.
        async with self.uow() as tx:
            await open_book(tx, dict(rules), now=self.clock())

    # --- the batch ----------------------------------------------------------------

    async def apply_batch(self, groups: dict[str, list[Pending[BookCommand, Outcome]]]) -> None:
        """Apply one batch (the batcher's callback): one transaction, then every outcome."""
        now = self.clock()
        outcomes: list[tuple[Pending[BookCommand, Outcome], Outcome]] = []
        states: list[BookState] = []
        async with self.uow() as tx:
            rows = await store.locked_book_rows(tx.conn, list(groups))
            # Keys of commands on missing books are not claimed: those commands go again.
            claims = await idempotency.claim_batch(
                tx.conn,
                (
                    keyed
                    for auction_id, pendings in groups.items()
                    if auction_id in rows
                    for keyed in map(_keyed, (pending.command for pending in pendings))
                    if keyed is not None
                ),
                now=now,
            )
            for auction_id, pendings in groups.items():
                row = rows.get(auction_id)
                if row is None:
                    outcomes.extend((pending, _MISSING) for pending in pendings)
                    continue
                state = BookState.load(row, pseudonyms=self.pseudonyms)
                for pending in pendings:
                    outcome = await self._one(tx, state, pending.command, now, claims)
                    outcomes.append((pending, outcome))
                states.append(state)
            await store.write_batch(
                tx.conn,
                answers=claims.recorded(),
                bids=[bid for state in states for bid in state.new_bids],
                states=[(s.auction_id, s.dump(now)) for s in states],
            )
        for pending, outcome in outcomes:
            pending.settle(outcome)
        if states:
            await self.publish(states, now)

    async def _one(
        self,
        tx: Transaction,
        state: BookState,
        command: BookCommand,
        now: datetime,
        claims: idempotency.BatchClaims,
    ) -> Outcome:
        keyed = _keyed(command)
        if keyed is None:
            return await _handle(tx, state, command, now)
        earlier = claims.before(*keyed)
        if earlier is not None:
            return earlier
        answer = RecordedAnswer(*self.render(await _handle(tx, state, command, now)))
        claims.answered(*keyed, answer)
        return answer

    async def publish(self, states: list[BookState], now: datetime) -> None:
        """After commit: refresh the cached books and push the live feeds (one round trip)."""
        await self.copies.refresh([state.public(now) for state in states])


def _keyed(command: BookCommand) -> tuple[str, domain.Idempotency] | None:
    """The user and the Idempotency-Key of a command that came with one."""
    if isinstance(command, PlaceBid | BuyNow) and command.idempotency is not None:
        return command.user_id, command.idempotency
    return None


async def _handle(
    tx: Transaction, state: BookState, command: BookCommand, now: datetime
) -> BookResult | DomainError:
    """The command's handler on this book; a refusal is the outcome, the book untouched."""
    try:
        if state.status is not BookStatus.OPEN:
            return await _on_finished_book(tx, state, command, now)
        return await _HANDLERS[type(command)](tx, state, command, now)
    except DomainError as refusal:
        # Its traceback would tie the batch's frames (and every outcome in them) to
        # the request that raises it again: a cycle for the garbage collector.
        refusal.__traceback__ = None
        return refusal


async def _on_finished_book(
    tx: Transaction, state: BookState, command: BookCommand, now: datetime
) -> BookResult:
    # Cancelling a cancelled book again succeeds, voiding nothing more (the auction
    # service may retry); anything else on a closed or cancelled book is refused.
    if isinstance(command, CancelBook) and state.status is BookStatus.CANCELLED:
        return BookCancelled(await bidder_ids(tx, state), bids_voided=False)
    raise domain.book_not_open(state.status, state.public(now))


async def place_bid(
    tx: Transaction, state: BookState, command: PlaceBid, now: datetime
) -> BidAccepted:
    """Apply one bid to the book; events for the new price, the outbid leader, an extension."""
    max_cents = command.max_cents
    before = state.book
    book, outcome = engine.place_bid(before, command.user_id, max_cents, now)
    if outcome.reason is not None:
        raise domain.bid_refused(outcome.reason, state.public(now))
    state.book = book
    seq = state.append(command.user_id, max_cents, now)
    rules = book.rules
    # A sealed bid moves nothing anyone may see before the close: every reader of the
    # event (the lot, the search index, the notices) gets the start price and no leader.
    sealed = rules.format.is_sealed
    data: contract.BidPlacedData = {
        "auction_id": state.auction_id,
        "seq": seq,
        "bidder_id": command.user_id,
        "leader_id": None if sealed else book.leader_id,
        "price_cents": rules.start_cents if sealed else book.price_cents,
        "currency": state.currency,
        "bid_count": book.bid_count,
        "ends_at": book.ends_at.isoformat(),
        "placed_at": now.isoformat(),
        "format": rules.format.value,
    }
    tx.emit(contract.BID_PLACED, dict(data))
    if not sealed and before.leader_id is not None and before.leader_id != book.leader_id:
        outbid: contract.OutbidData = {
            "auction_id": state.auction_id,
            "user_id": before.leader_id,
            "price_cents": book.price_cents,
            "currency": state.currency,
            "ends_at": book.ends_at.isoformat(),
        }
        tx.emit(contract.OUTBID, dict(outbid))
    if book.ends_at != before.ends_at:
        extended: contract.AuctionExtendedData = {
            "auction_id": state.auction_id,
            "ends_at": book.ends_at.isoformat(),
            "extensions": book.extensions,
        }
        tx.emit(contract.AUCTION_EXTENDED, dict(extended))
    leading = None if sealed else book.leader_id == command.user_id
    return BidAccepted(state.public(now), seq=seq, leading=leading, your_max_cents=max_cents)


async def buy_now(tx: Transaction, state: BookState, command: BuyNow, now: datetime) -> BoughtNow:
    """Buy at the Buy It Now price: closes the auction."""
    book, outcome = engine.buy_now(state.book, command.user_id, now)
    if outcome.reason is not None:
        raise domain.bid_refused(outcome.reason, state.public(now))
    state.book = book
    if book.rules.format is engine.Format.DUTCH:
        # The acceptance is the Dutch lot's one bid: the ledger keeps it for replay.
        state.append(command.user_id, book.price_cents, now)
    used: contract.BuyNowUsedData = {
        "auction_id": state.auction_id,
        "seller_id": state.seller_id,
        "buyer_id": command.user_id,
        "price_cents": book.price_cents,
        "currency": state.currency,
        "at": now.isoformat(),
        "format": book.rules.format.value,
    }
    tx.emit(contract.BUY_NOW_USED, dict(used))
    await close_book(tx, state, now, by_buy_now=True)
    return BoughtNow(state.public(now))


async def retract(
    tx: Transaction, state: BookState, command: Retract, now: datetime
) -> BidRetracted:
    """Retract a bid under eBay's policy; the book is replayed from the remaining ledger."""
    seq = command.seq
    rows = [r for r in await store.ledger(tx.conn, state.auction_id) if r.retracted_at is None]
    index = next((i for i, r in enumerate(rows) if r.seq == seq), None)
    if index is None:
        raise NotFound("bid_not_found", "there is no such bid to retract")
    ledger = [engine.Bid(r.bidder_id, r.max_cents, utc(r.placed_at)) for r in rows]
    reason = engine.retraction_refusal(state.book.rules, ledger, index, command.user_id, now)
    if reason is not None:
        raise domain.retraction_refused(reason)
    await _take_out(tx, state, ledger, index, seq, now)
    return BidRetracted(state.public(now))


async def _take_out(
    tx: Transaction,
    state: BookState,
    ledger: list[engine.Bid],
    index: int,
    seq: int,
    now: datetime,
) -> list[engine.Bid]:
    """Retract the ledger's bid at ``index`` (number ``seq``): the book is replayed
    without it and ``BidRetracted`` tells its new price and leader. The ledger left.

    A sealed book's event tells its count only, as ``BidPlaced`` does: the start
    price and no leader, whoever leads the bids left.
    """
    bidder_id = ledger[index].bidder_id
    await store.mark_retracted(tx.conn, state.auction_id, seq, at=now)
    remaining = ledger[:index] + ledger[index + 1 :]
    book = state.book = codec.replay_keeping_end(remaining, state.book)
    sealed = book.rules.format.is_sealed
    retracted: contract.BidRetractedData = {
        "auction_id": state.auction_id,
        "bidder_id": bidder_id,
        "seq": seq,
        "price_cents": book.rules.start_cents if sealed else book.price_cents,
        "leader_id": None if sealed else book.leader_id,
        "bid_count": book.bid_count,
    }
    tx.emit(contract.BID_RETRACTED, dict(retracted))
    return remaining


async def withdraw_bids(
    tx: Transaction, state: BookState, command: WithdrawBids, now: datetime
) -> BidRetracted:
    """A suspended account's lead goes: each of its bids is retracted, newest first,
    the book replayed after each (as a retraction does), whatever eBay's policy says.
    Nothing changes when it does not lead (anymore)."""
    if state.book.leader_id != command.user_id:
        return BidRetracted(state.public(now))
    rows = [r for r in await store.ledger(tx.conn, state.auction_id) if r.retracted_at is None]
    ledger = [engine.Bid(r.bidder_id, r.max_cents, utc(r.placed_at)) for r in rows]
    seqs = [r.seq for r in rows]
    for index in reversed(range(len(rows))):
        if rows[index].bidder_id == command.user_id:
            ledger = await _take_out(tx, state, ledger, index, seqs.pop(index), now)
    return BidRetracted(state.public(now))


async def cancel(
    tx: Transaction, state: BookState, command: CancelBook, now: datetime
) -> BookCancelled:
    """Cancel the book: the seller only before the first bid, an admin at any time."""
    if command.by is CancelledBy.SELLER and state.book.bid_count > 0:
        raise Conflict("has_bids", "the auction has bids; only an admin can cancel it now")
    state.status = BookStatus.CANCELLED
    voided = state.book.bid_count > 0
    return BookCancelled(await bidder_ids(tx, state), bids_voided=voided)


async def edit_rules(
    tx: Transaction, state: BookState, command: EditRules, now: datetime
) -> RulesEdited:
    """The lot's terms changed: the book runs under them, unless a bid was accepted first.

    Any bid ever accepted counts (a retracted one too): nothing accepted is ever
    judged again under other rules. With no bid, a book is its rules.
    """
    if state.seq > 0:
        raise Conflict("has_bids", "the auction has bids; its rules can no longer change")
    state.book = engine.Book.open(runnable(command.rules))
    state.title, state.currency = str(command.rules["title"]), str(command.rules["currency"])
    await store.replace_rules(
        tx.conn,
        state.auction_id,
        rules=stored_rules(command.rules),
        title=state.title,
        currency=state.currency,
    )
    return RulesEdited(state.public(now))


# One handler per command type: the batch dispatches through this table.
_HANDLERS: dict[
    type[Any], Callable[[Transaction, BookState, Any, datetime], Awaitable[BookResult]]
] = {
    PlaceBid: place_bid,
    BuyNow: buy_now,
    Retract: retract,
    CancelBook: cancel,
    EditRules: edit_rules,
    WithdrawBids: withdraw_bids,
}


async def bidder_ids(
    tx: Transaction, state: BookState, *, recorded: Sequence[str] | None = None
) -> tuple[str, ...]:
    """Everyone who bid on the auction, first bid first: its ledger and this batch's bids.

    ``recorded``: the ledger's bidders when the caller read them already (the closer
    reads those of all the books it closes at once). A book with no ledger row has none.
    """
    if recorded is None:
        recorded = await store.bidder_ids(tx.conn, state.auction_id) if state.seq else []
    batched = (str(bid["bidder_id"]) for bid in state.new_bids)
    return tuple(dict.fromkeys([*recorded, *batched]))


async def close_book(
    tx: Transaction,
    state: BookState,
    now: datetime,
    *,
    by_buy_now: bool,
    recorded: Sequence[str] | None = None,
) -> None:
    """Record the result and emit ``AuctionClosed``: the winner, the top bidder, every bidder.

    ``recorded``: the ledger's bidders, if read already (``bidder_ids``).
    """
    result = engine.close(state.book, now)
    state.status = BookStatus.CLOSED
    state.result = {
        "winner_id": result.winner_id,
        "price_cents": result.price_cents,
        "sold": result.sold,
        "reserve_met": result.reserve_met,
    }
    closed: contract.AuctionClosedData = {
        "auction_id": state.auction_id,
        "seller_id": state.seller_id,
        "title": state.title,
        "winner_id": result.winner_id,
        "leader_id": state.book.leader_id,
        "price_cents": result.price_cents,
        "currency": state.currency,
        "sold": result.sold,
        "reserve_met": result.reserve_met,
        "runner_up_id": result.runner_up_id,
        "runner_up_max_cents": result.runner_up_max_cents,
        "bid_count": state.book.bid_count,
        "bidder_ids": list(await bidder_ids(tx, state, recorded=recorded)),
        "by_buy_now": by_buy_now,
        "closed_at": now.isoformat(),
        "format": state.book.rules.format.value,
    }
    tx.emit(contract.AUCTION_CLOSED, dict(closed))


async def forget_old_idempotency_keys(bidding: Bidding, *, older_than: timedelta) -> int:
    """Delete idempotency keys past their retention; a retry that late is a new request."""
    async with bidding.uow() as tx:
        return await store.purge_idempotency(tx.conn, before=bidding.clock() - older_than)


async def close_due_books(bidding: Bidding, *, limit: int = 100) -> int:
    """Close every book past its effective end; exactly once across replicas."""
    now = bidding.clock()
    closed: list[BookState] = []
    async with bidding.uow() as tx:
        rows = await store.due_books(tx.conn, now=now, limit=limit)
        # Every closing book's bidders in one query, not one round trip per book.
        bidders = await store.bidders_of_books(tx.conn, [r.auction_id for r in rows if r.seq])
        for row in rows:
            state = BookState.load(row, pseudonyms=bidding.pseudonyms)
            recorded = bidders.get(state.auction_id, [])
            await close_book(tx, state, now, by_buy_now=False, recorded=recorded)
            closed.append(state)
        await store.save_books(tx.conn, [(s.auction_id, s.dump(now)) for s in closed])
    if closed:
        await bidding.publish(closed, now)
    return len(closed)


def stored_rules(rules: dict[str, Any]) -> dict[str, Any]:
    """The rules as a book row keeps them (without the lot's status, which moves on)."""
    return {k: v for k, v in rules.items() if k != "status"}


def runnable(rules: dict[str, Any]) -> engine.Rules:
    """The engine's rules of an auction's (``AuctionRulesData``), or 422 ``invalid_rules``."""
    try:
        return codec.rules_from(rules)
    except (KeyError, TypeError, ValueError) as error:
        raise Invalid("invalid_rules", f"the rules cannot run a book: {error}") from error


async def open_book(tx: Transaction, rules: dict[str, Any], *, now: datetime) -> bool:
    """Create an auction's book from its rules (idempotent); ``invalid_rules`` if it cannot run."""
    book = engine.Book.open(runnable(rules))
    return await store.add_book(
        tx.conn,
        {
            "auction_id": rules["auction_id"],
            "seller_id": rules["seller_id"],
            "title": rules["title"],
            "currency": rules["currency"],
            "rules": stored_rules(rules),
            "state": codec.dump(book),
            "status": BookStatus.OPEN.value,
            "price_cents": book.price_cents,
            "leader_id": None,
            "bid_count": 0,
            "ends_at": book.ends_at,
            "seq": 0,
            "version": 0,
            "result": None,
            "updated_at": now,
        },
    )
