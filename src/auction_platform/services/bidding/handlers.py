"""Use cases of the bidding service: every command on a book goes through one batch."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from auction_platform.contracts import auctions as contract
from auction_platform.core.cache.base import BookCache, CacheUnavailable
from auction_platform.core.errors import ApiError, error_body
from auction_platform.core.sql import utc
from auction_platform.core.uow import Transaction, UnitOfWork
from auction_platform.services.bidding import codec, engine, store
from auction_platform.services.bidding.batcher import Answer, Batcher, Command
from auction_platform.services.bidding.ports import AuctionRules
from auction_platform.services.bidding.state import BookState

log = logging.getLogger("auction_platform.bidding")

# What a batch answers a command whose book does not exist (yet): never sent to a client.
_NO_BOOK = Answer(404, {"error": {"code": "auction_not_found"}})


def book_key(auction_id: str) -> str:
    """The cache key of an auction's public book."""
    return f"bidding:book:{auction_id}"


@dataclass
class Bidding:
    """What the bidding use cases need, built once by the service definition."""

    uow: UnitOfWork
    cache: BookCache
    clock: Callable[[], datetime]
    rules: AuctionRules
    max_batch: int = 200
    shards: int = 4
    batcher: Batcher = field(init=False)

    def __post_init__(self) -> None:
        self.batcher = Batcher(self._apply, max_batch=self.max_batch, shards=self.shards)

    # --- entry points -----------------------------------------------------------

    async def submit(self, auction_id: str, command: Command) -> Answer:
        """Run a command against the auction's book; answers once its batch has committed.

        The batch itself finds out whether the book exists (it reads the row anyway):
        only when it does not, the book is opened from the auction's rules, if the
        auction is open, and the command goes again.
        """
        if command.idempotency_key is not None:
            earlier = await self._earlier_answer(command)
            if earlier is not None:
                return earlier
        answer = await self.batcher.submit(auction_id, command)
        if answer is not _NO_BOOK:
            return answer
        await self.open_missing_book(auction_id)
        again = replace(command, future=asyncio.get_running_loop().create_future())
        answer = await self.batcher.submit(auction_id, again)
        if answer is _NO_BOOK:
            raise ApiError(404, "auction_not_found", "there is no such auction")
        return answer

    async def open_missing_book(self, auction_id: str) -> None:
        """Create the book from the auction's rules when the opened event has not arrived."""
        rules = await self.rules.rules_of(auction_id)
        status = None if rules is None else rules.get("status")
        if rules is None or status == "draft":
            raise ApiError(404, "auction_not_found", "there is no such auction")
        if status == "cancelled":
            raise ApiError(409, "auction_cancelled", "the auction was cancelled")
        if status == "closed":
            raise ApiError(409, "auction_ended", "the auction has ended")
        # Open, or scheduled and due (the scheduler has not got to it yet): the book
        # can start; the engine itself refuses bids before the start time.
        async with self.uow() as tx:
            await open_book(tx, rules, now=self.clock())

    async def _earlier_answer(self, command: Command) -> Answer | None:
        assert command.idempotency_key is not None
        async with self.uow.db.read() as conn:
            row = await store.idempotent_answer(conn, command.user_id, command.idempotency_key)
        if row is None:
            return None
        if row.request_hash != command.request_hash:
            raise ApiError(
                422, "idempotency_key_reused", "this Idempotency-Key was used for another request"
            )
        return Answer(row.status_code, json.loads(row.response))

    # --- the batch ----------------------------------------------------------------

    async def _apply(self, groups: dict[str, list[Command]]) -> None:
        now = self.clock()
        answers: list[tuple[Command, Answer]] = []
        states: list[BookState] = []
        async with self.uow() as tx:
            rows = await store.locked_book_rows(tx.conn, list(groups))
            for auction_id, commands in groups.items():
                row = rows.get(auction_id)
                if row is None:
                    answers.extend((command, _NO_BOOK) for command in commands)
                    continue
                state = BookState.load(row)
                for command in commands:
                    answers.append((command, await self._one(tx, state, command, now)))
                states.append(state)
            await store.append_bids(tx.conn, [bid for state in states for bid in state.new_bids])
            await store.save_books(tx.conn, [(s.auction_id, s.dump(now)) for s in states])
        for command, answer in answers:
            command.settle(answer)
        if states:
            await self.publish(states, now)

    async def _one(
        self, tx: Transaction, state: BookState, command: Command, now: datetime
    ) -> Answer:
        if command.idempotency_key is not None:
            claimed = await store.claim_idempotency_key(
                tx.conn,
                {
                    "user_id": command.user_id,
                    "key": command.idempotency_key,
                    "request_hash": command.request_hash,
                    "status_code": 0,
                    "response": "{}",
                    "created_at": now,
                },
            )
            if not claimed:
                row = await store.idempotent_answer(
                    tx.conn, command.user_id, command.idempotency_key
                )
                if row.request_hash != command.request_hash:
                    return _refusal(
                        422,
                        "idempotency_key_reused",
                        "this Idempotency-Key was used for another request",
                    )
                if row.status_code == 0:
                    return _refusal(409, "request_in_flight", "the same request is being processed")
                return Answer(row.status_code, json.loads(row.response))
        answer = await self._dispatch(tx, state, command, now)
        if command.idempotency_key is not None:
            await store.store_answer(
                tx.conn,
                command.user_id,
                command.idempotency_key,
                status_code=answer.status,
                response=json.dumps(answer.body),
            )
        return answer

    async def _dispatch(
        self, tx: Transaction, state: BookState, command: Command, now: datetime
    ) -> Answer:
        if state.status != "open":
            code = "auction_cancelled" if state.status == "cancelled" else "auction_ended"
            if command.kind == "cancel" and state.status == "cancelled":
                return Answer(
                    200, {"bidder_ids": await bidder_ids(tx, state), "bids_voided": False}
                )
            return _refusal(409, code, f"the auction is {state.status}", state=state, now=now)
        if command.kind == "bid":
            return place_bid(tx, state, command, now)
        if command.kind == "buy_now":
            return buy_now(tx, state, command, now)
        if command.kind == "retract":
            return await retract(tx, state, command, now)
        if command.kind == "cancel":
            return await cancel(tx, state, command)
        raise ValueError(f"unknown command {command.kind}")

    async def publish(self, states: list[BookState], now: datetime) -> None:
        """After commit: refresh the cached books and push the live feeds (one round trip)."""
        items = [
            (
                book_key(state.auction_id),
                contract.feed_channel(state.auction_id),
                json.dumps(state.public(now)).encode(),
            )
            for state in states
        ]
        try:
            await self.cache.set_and_publish(items, ttl=60)
        except CacheUnavailable as exc:
            # The bids are committed; only the copies and the live feeds lag.
            log.warning("live feed not updated for %d book(s): %s", len(states), exc)


def _refusal(
    status: int,
    code: str,
    message: str,
    *,
    state: BookState | None = None,
    now: datetime | None = None,
) -> Answer:
    details = state.public(now) if state is not None and now is not None else None
    return Answer(status, error_body(code, message, details=details))


_REFUSAL_MESSAGES = {
    "below_minimum": "the bid is below the minimum",
    "seller_cannot_bid": "sellers cannot bid on their own lots",
    "auction_ended": "the auction has ended",
    "auction_not_open": "the auction has not started",
    "not_above_own_max": "you lead already; a new maximum must exceed your current one",
    "buy_now_unavailable": "Buy It Now is no longer available",
}


def _refused(reason: str, state: BookState, now: datetime) -> Answer:
    status = 403 if reason == "seller_cannot_bid" else 409
    return _refusal(status, reason, _REFUSAL_MESSAGES.get(reason, reason), state=state, now=now)


def place_bid(tx: Transaction, state: BookState, command: Command, now: datetime) -> Answer:
    """Apply one bid to the book; events for the new price, the outbid leader, an extension."""
    max_cents = int(command.payload["max_amount"])
    before = state.book
    book, outcome = engine.place_bid(before, command.user_id, max_cents, now)
    if not outcome.accepted:
        assert outcome.reason is not None
        return _refused(outcome.reason, state, now)
    state.book = book
    seq = state.append(command.user_id, max_cents, now)
    data: contract.BidPlacedData = {
        "auction_id": state.auction_id,
        "seq": seq,
        "bidder_id": command.user_id,
        "leader_id": str(book.leader_id),
        "price_cents": book.price_cents,
        "currency": state.currency,
        "bid_count": book.bid_count,
        "ends_at": book.ends_at.isoformat(),
        "placed_at": now.isoformat(),
    }
    tx.emit(contract.BID_PLACED, dict(data))
    if before.leader_id is not None and before.leader_id != book.leader_id:
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
    body = state.public(now)
    body.update(
        accepted=True, seq=seq, leading=book.leader_id == command.user_id, your_max_cents=max_cents
    )
    return Answer(201, body)


def buy_now(tx: Transaction, state: BookState, command: Command, now: datetime) -> Answer:
    """Buy at the Buy It Now price: closes the auction."""
    book, outcome = engine.buy_now(state.book, command.user_id, now)
    if not outcome.accepted:
        assert outcome.reason is not None
        return _refused(outcome.reason, state, now)
    state.book = book
    used: contract.BuyNowUsedData = {
        "auction_id": state.auction_id,
        "seller_id": state.seller_id,
        "buyer_id": command.user_id,
        "price_cents": book.price_cents,
        "currency": state.currency,
        "at": now.isoformat(),
    }
    tx.emit(contract.BUY_NOW_USED, dict(used))
    close_book(tx, state, now, by_buy_now=True)
    body = state.public(now)
    body.update(accepted=True, winner=True)
    return Answer(201, body)


async def retract(tx: Transaction, state: BookState, command: Command, now: datetime) -> Answer:
    """Retract a bid under eBay's policy; the book is replayed from the remaining ledger."""
    seq = int(command.payload["seq"])
    rows = [r for r in await store.ledger(tx.conn, state.auction_id) if r.retracted_at is None]
    index = next((i for i, r in enumerate(rows) if r.seq == seq), None)
    if index is None:
        return _refusal(404, "bid_not_found", "there is no such bid to retract")
    ledger = [engine.Bid(r.bidder_id, r.max_cents, utc(r.placed_at)) for r in rows]
    reason = engine.retraction_refusal(state.book.rules, ledger, index, command.user_id, now)
    if reason is not None:
        return _refusal(409 if reason != "not_your_bid" else 403, reason, reason.replace("_", " "))
    await store.mark_retracted(tx.conn, state.auction_id, seq, at=now)
    remaining = ledger[:index] + ledger[index + 1 :]
    state.book = codec.replay_keeping_end(remaining, state.book)
    retracted: contract.BidRetractedData = {
        "auction_id": state.auction_id,
        "bidder_id": command.user_id,
        "seq": seq,
        "price_cents": state.book.price_cents,
        "leader_id": state.book.leader_id,
        "bid_count": state.book.bid_count,
    }
    tx.emit(contract.BID_RETRACTED, dict(retracted))
    return Answer(200, state.public(now))


async def bidder_ids(tx: Transaction, state: BookState) -> list[str]:
    """Everyone who bid on the auction, first bid first."""
    seen: dict[str, None] = {}
    for row in await store.ledger(tx.conn, state.auction_id):
        seen.setdefault(row.bidder_id, None)
    return list(seen)


async def cancel(tx: Transaction, state: BookState, command: Command) -> Answer:
    """Cancel the book: the seller only before the first bid, an admin at any time."""
    by = command.payload["by"]
    if by == "seller" and state.book.bid_count > 0:
        return _refusal(409, "has_bids", "the auction has bids; only an admin can cancel it now")
    state.status = "cancelled"
    voided = state.book.bid_count > 0
    return Answer(200, {"bidder_ids": await bidder_ids(tx, state), "bids_voided": voided})


def close_book(tx: Transaction, state: BookState, now: datetime, *, by_buy_now: bool) -> None:
    """Record the result and emit ``AuctionClosed``."""
    result = engine.close(state.book, now)
    state.status = "closed"
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
        "price_cents": result.price_cents,
        "currency": state.currency,
        "sold": result.sold,
        "reserve_met": result.reserve_met,
        "runner_up_id": result.runner_up_id,
        "runner_up_max_cents": result.runner_up_max_cents,
        "bid_count": state.book.bid_count,
        "by_buy_now": by_buy_now,
        "closed_at": now.isoformat(),
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
        for row in await store.due_books(tx.conn, now=now, limit=limit):
            state = BookState.load(row)
            close_book(tx, state, now, by_buy_now=False)
            closed.append(state)
        await store.save_books(tx.conn, [(s.auction_id, s.dump(now)) for s in closed])
    if closed:
        await bidding.publish(closed, now)
    return len(closed)


async def open_book(tx: Transaction, rules: dict[str, Any], *, now: datetime) -> bool:
    """Create an auction's book from its rules (idempotent)."""
    book = engine.Book.open(codec.rules_from(rules))
    return await store.add_book(
        tx.conn,
        {
            "auction_id": rules["auction_id"],
            "seller_id": rules["seller_id"],
            "title": rules["title"],
            "currency": rules["currency"],
            "rules": {k: v for k, v in rules.items() if k != "status"},
            "state": codec.dump(book),
            "status": "open",
            "price_cents": book.price_cents,
            "leader_id": None,
            "bid_count": 0,
            "ends_at": book.ends_at,
            "seq": 0,
            "result": None,
            "updated_at": now,
        },
    )
