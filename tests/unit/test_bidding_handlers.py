"""The bidding use cases, without the platform: SQLite on a file, the memory cache, fake rules."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from auction_platform.contracts.events import Envelope
from auction_platform.core.cache.memory import MemoryCache
from auction_platform.core.db import Database
from auction_platform.core.failures import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    Unavailable,
)
from auction_platform.core.migrate import migrate
from auction_platform.core.uow import UnitOfWork
from auction_platform.services.bidding import api, copies, handlers, queries, store
from auction_platform.services.bidding.consumers import consumers
from auction_platform.services.bidding.domain import (
    BidAccepted,
    BidRetracted,
    BookCancelled,
    BookStatus,
    BoughtNow,
    BuyNow,
    CancelBook,
    CancelledBy,
    EditRules,
    Idempotency,
    PlaceBid,
    Retract,
    RulesEdited,
)
from auction_platform.services.bidding.handlers import Bidding
from auction_platform.services.bidding.idempotency import RecordedAnswer
from auction_platform.services.bidding.ports import HttpAuctionRules, KnownAuctionRules
from auction_platform.services.bidding.state import BookState, Pseudonyms

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SELLER, ANN, BOB = "sam", "ann", "bob"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def rules(
    auction_id: str = "lot-1",
    *,
    start_cents: int = 1_000,
    reserve_cents: int | None = None,
    buy_now_cents: int | None = None,
    lasts: timedelta = timedelta(days=2),
    starts_in: timedelta = timedelta(0),
    status: str | None = None,
) -> dict[str, Any]:
    """An auction's rules (``AuctionRulesData``), opening at START unless told otherwise."""
    data: dict[str, Any] = {
        "auction_id": auction_id,
        "seller_id": SELLER,
        "title": "A Victorian tea set",
        "currency": "EUR",
        "start_cents": start_cents,
        "reserve_cents": reserve_cents,
        "buy_now_cents": buy_now_cents,
        "starts_at": (START + starts_in).isoformat(),
        "ends_at": (START + starts_in + lasts).isoformat(),
        "soft_close": None,
        "increments": [],
    }
    if status is not None:
        data["status"] = status
    return data


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def auction() -> KnownAuctionRules:
    return KnownAuctionRules()


@pytest.fixture
async def bidding(
    tmp_path: Path, clock: Clock, auction: KnownAuctionRules
) -> AsyncIterator[Bidding]:
    """The bidding context on a fresh SQLite file, the memory cache and rules held in memory."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/bidding.sqlite3", pool_size=2)
    await migrate(db, "bidding")
    yield Bidding(
        uow=UnitOfWork(db, outbox=store.TABLES.outbox, producer="bidding"),
        cache=MemoryCache(),
        clock=clock,
        rules=auction,
        render=api.render,
        pseudonyms=Pseudonyms(b"a key for the tests"),
    )
    await db.dispose()


async def opened(bidding: Bidding, data: dict[str, Any]) -> str:
    async with bidding.uow() as tx:
        await handlers.open_book(tx, data, now=bidding.clock())
    return str(data["auction_id"])


async def refused(kind: type[DomainError], code: str, call: Awaitable[Any]) -> DomainError:
    """The error ``call`` raised, checked for its kind and code."""
    with pytest.raises(kind) as caught:
        await call
    assert caught.value.code == code
    return caught.value


async def events(bidding: Bidding) -> list[tuple[str, dict[str, Any]]]:
    outbox = store.TABLES.outbox
    async with bidding.uow.db.read() as conn:
        rows = await conn.execute(
            select(outbox.c.event_type, outbox.c.payload).order_by(outbox.c.seq)
        )
        return [(row.event_type, json.loads(row.payload)["data"]) for row in rows]


async def ledger(bidding: Bidding, auction_id: str) -> list[Any]:
    async with bidding.uow.db.read() as conn:
        return await store.ledger(conn, auction_id)


async def book_status(bidding: Bidding, auction_id: str) -> str | None:
    async with bidding.uow.db.read() as conn:
        row = await store.book_row(conn, auction_id, lock=False)
    return None if row is None else str(row.status)


# --- bids ------------------------------------------------------------------------------


async def test_a_first_bid_holds_the_start_price_and_is_announced(bidding: Bidding) -> None:
    lot = await opened(bidding, rules(start_cents=1_000))
    result = await bidding.submit(lot, PlaceBid(ANN, 1_500))
    assert isinstance(result, BidAccepted)
    assert (result.seq, result.leading, result.your_max_cents) == (1, True, 1_500)
    assert result.book["price_cents"] == 1_000
    assert result.book["min_next_bid_cents"] == 1_050
    [(kind, data)] = await events(bidding)
    assert kind == "BidPlaced"
    assert (data["bidder_id"], data["price_cents"], data["seq"]) == (ANN, 1_000, 1)


async def test_a_higher_bid_sets_the_price_and_the_leader_hears_of_it(bidding: Bidding) -> None:
    lot = await opened(bidding, rules(start_cents=1_000))
    await bidding.submit(lot, PlaceBid(ANN, 1_500))
    result = await bidding.submit(lot, PlaceBid(BOB, 2_000))
    assert isinstance(result, BidAccepted)
    assert (result.leading, result.book["price_cents"]) == (True, 1_550)
    outbid = [data for kind, data in await events(bidding) if kind == "Outbid"]
    assert [(o["user_id"], o["price_cents"]) for o in outbid] == [(ANN, 1_550)]


@pytest.mark.parametrize(
    ("who", "cents", "kind", "code"),
    [
        (ANN, 999, Conflict, "below_minimum"),
        (SELLER, 5_000, Forbidden, "seller_cannot_bid"),
    ],
)
async def test_a_refused_bid_says_why_shows_the_book_and_writes_nothing(
    bidding: Bidding, who: str, cents: int, kind: type[DomainError], code: str
) -> None:
    lot = await opened(bidding, rules(start_cents=1_000))
    error = await refused(kind, code, bidding.submit(lot, PlaceBid(who, cents)))
    assert error.details["min_next_bid_cents"] == 1_000
    assert await ledger(bidding, lot) == []
    assert await events(bidding) == []


async def test_a_refused_bid_leaves_no_reference_cycle_behind(bidding: Bidding) -> None:
    # The bid path makes no cyclic garbage: the process runs with a high collection
    # threshold, and a refusal's traceback tying frames together made the collector
    # run hundreds of times a second on a hot auction.
    lot = await opened(bidding, rules(start_cents=1_000))
    for _ in range(2):  # the first warms up the connection pool and the statement cache
        gc.collect()
        with contextlib.suppress(Conflict):
            await bidding.submit(lot, PlaceBid(ANN, 1))
    assert gc.collect() == 0


async def test_the_leader_must_raise_above_their_own_maximum(bidding: Bidding) -> None:
    lot = await opened(bidding, rules())
    await bidding.submit(lot, PlaceBid(ANN, 2_000))
    await refused(Conflict, "not_above_own_max", bidding.submit(lot, PlaceBid(ANN, 2_000)))


async def test_a_bid_before_the_start_is_refused(bidding: Bidding) -> None:
    lot = await opened(bidding, rules(starts_in=timedelta(hours=1)))
    await refused(Conflict, "auction_not_open", bidding.submit(lot, PlaceBid(ANN, 2_000)))


async def test_bids_arriving_together_share_a_commit_in_arrival_order(bidding: Bidding) -> None:
    lot = await opened(bidding, rules(start_cents=1_000))
    results = await asyncio.gather(
        *(bidding.submit(lot, PlaceBid(who, cents)) for who, cents in [(ANN, 2_000), (BOB, 3_000)])
    )
    assert [r.seq for r in results if isinstance(r, BidAccepted)] == [1, 2]
    assert bidding.batcher.batches == 1
    rows = await ledger(bidding, lot)
    assert [(r.bidder_id, r.max_cents) for r in rows] == [(ANN, 2_000), (BOB, 3_000)]


# --- idempotency ---------------------------------------------------------------------------


def keyed(key: str, cents: int, who: str = ANN) -> PlaceBid:
    return PlaceBid(who, cents, Idempotency(key, f"hash-of-{cents}"))


async def test_a_retry_with_the_same_key_gets_the_recorded_answer_and_bids_once(
    bidding: Bidding,
) -> None:
    lot = await opened(bidding, rules())
    first = await bidding.submit(lot, keyed("k-1", 2_000))
    again = await bidding.submit(lot, keyed("k-1", 2_000))
    assert isinstance(first, RecordedAnswer)
    assert again == first
    assert first.status == 201
    assert first.body["seq"] == 1
    assert len(await ledger(bidding, lot)) == 1


async def test_a_key_used_for_another_request_is_refused(bidding: Bidding) -> None:
    lot = await opened(bidding, rules())
    await bidding.submit(lot, keyed("k-1", 2_000))
    error = await refused(
        Conflict, "idempotency_key_reused", bidding.submit(lot, keyed("k-1", 3_000))
    )
    assert api.render(error)[0] == 422  # the service's table, as it always answered
    assert len(await ledger(bidding, lot)) == 1


async def test_a_refusal_is_recorded_for_its_key_as_it_was_answered(bidding: Bidding) -> None:
    lot = await opened(bidding, rules(start_cents=1_000))
    first = await bidding.submit(lot, keyed("k-2", 500))
    again = await bidding.submit(lot, keyed("k-2", 500))
    assert isinstance(first, RecordedAnswer)
    assert isinstance(again, RecordedAnswer)
    assert json.dumps(again.body) == json.dumps(first.body)
    assert first.status == 409
    assert first.body["error"]["code"] == "below_minimum"


async def test_old_keys_are_forgotten(bidding: Bidding, clock: Clock) -> None:
    lot = await opened(bidding, rules())
    await bidding.submit(lot, keyed("k-1", 2_000))
    clock.now += timedelta(hours=25)
    assert await handlers.forget_old_idempotency_keys(bidding, older_than=timedelta(hours=24)) == 1
    later = await bidding.submit(lot, keyed("k-1", 2_500))
    assert isinstance(later, RecordedAnswer)
    assert later.body["seq"] == 2


# --- a book that is not there (yet) ---------------------------------------------------------


async def test_a_missing_book_is_opened_from_the_auctions_rules(
    bidding: Bidding, auction: KnownAuctionRules
) -> None:
    auction.rules["lot-9"] = rules("lot-9", status="open")
    result = await bidding.submit("lot-9", PlaceBid(ANN, 2_000))
    assert isinstance(result, BidAccepted)
    assert result.seq == 1
    assert auction.asked == ["lot-9"]
    assert await book_status(bidding, "lot-9") == BookStatus.OPEN


async def test_an_unknown_auction_is_refused_and_nothing_is_written(
    bidding: Bidding, auction: KnownAuctionRules
) -> None:
    await refused(NotFound, "auction_not_found", bidding.submit("nope", keyed("k-1", 2_000)))
    assert auction.asked == ["nope"]
    assert await book_status(bidding, "nope") is None
    assert await events(bidding) == []
    async with bidding.uow.db.read() as conn:
        keys = await conn.scalar(select(func.count()).select_from(store.idempotency))
    assert keys == 0


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [
        ("draft", NotFound, "auction_not_found"),
        ("cancelled", Conflict, "auction_cancelled"),
        ("closed", Conflict, "auction_ended"),
    ],
)
async def test_a_missing_book_of_an_auction_not_open_is_not_opened(
    bidding: Bidding, auction: KnownAuctionRules, status: str, kind: type[DomainError], code: str
) -> None:
    auction.rules["lot-9"] = rules("lot-9", status=status)
    await refused(kind, code, bidding.submit("lot-9", PlaceBid(ANN, 2_000)))
    assert await book_status(bidding, "lot-9") is None


async def test_no_book_opens_before_the_auction_starts(
    bidding: Bidding, auction: KnownAuctionRules, clock: Clock
) -> None:
    auction.rules["lot-9"] = rules("lot-9", status="scheduled", starts_in=timedelta(hours=1))
    await refused(Conflict, "auction_not_open", bidding.submit("lot-9", PlaceBid(ANN, 2_000)))
    assert await book_status(bidding, "lot-9") is None
    clock.now = START + timedelta(hours=1)  # due, and the scheduler has not opened it yet
    assert isinstance(await bidding.submit("lot-9", PlaceBid(ANN, 2_000)), BidAccepted)


async def test_the_auction_service_unreachable_is_unavailable_for_a_moment() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404 if request.url.path.endswith("/gone/rules") else 502)

    async def no_headers() -> dict[str, str]:
        return {}

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(answer), base_url="http://auction"
    ) as client:
        port = HttpAuctionRules(lambda: client, auth_headers=no_headers)
        assert await port.rules_of("gone") is None
        error = await refused(Unavailable, "service_unavailable", port.rules_of("lot-1"))
    assert error.retry_after == 1


# --- Buy It Now, retraction, cancellation ---------------------------------------------------


async def test_buy_now_closes_the_auction_and_later_bids_are_refused(bidding: Bidding) -> None:
    lot = await opened(bidding, rules(buy_now_cents=9_000))
    result = await bidding.submit(lot, BuyNow(ANN))
    assert isinstance(result, BoughtNow)
    assert (result.book["status"], result.book["price_cents"]) == ("closed", 9_000)
    assert result.book["min_next_bid_cents"] is None  # a closed book takes no next bid
    kinds = [kind for kind, _ in await events(bidding)]
    assert kinds == ["BuyNowUsed", "AuctionClosed"]
    error = await refused(Conflict, "auction_ended", bidding.submit(lot, PlaceBid(BOB, 99_000)))
    assert error.message == "the auction is closed"
    assert error.details["status"] == "closed"


async def test_buy_now_is_gone_after_the_first_bid(bidding: Bidding) -> None:
    lot = await opened(bidding, rules(buy_now_cents=9_000))
    await bidding.submit(lot, PlaceBid(ANN, 2_000))
    await refused(Conflict, "buy_now_unavailable", bidding.submit(lot, BuyNow(BOB)))


async def test_a_bid_retracted_early_is_replayed_out_of_the_book(bidding: Bidding) -> None:
    lot = await opened(bidding, rules(start_cents=1_000))
    await bidding.submit(lot, PlaceBid(ANN, 2_000))
    await bidding.submit(lot, PlaceBid(BOB, 3_000))
    result = await bidding.submit(lot, Retract(BOB, 2))
    assert isinstance(result, BidRetracted)
    assert (result.book["price_cents"], result.book["bid_count"]) == (1_000, 1)
    assert [r.retracted_at is not None for r in await ledger(bidding, lot)] == [False, True]
    assert "BidRetracted" in [kind for kind, _ in await events(bidding)]


async def test_retractions_the_policy_refuses(bidding: Bidding, clock: Clock) -> None:
    lot = await opened(bidding, rules(lasts=timedelta(hours=6)))
    await bidding.submit(lot, PlaceBid(ANN, 2_000))
    await bidding.submit(lot, PlaceBid(ANN, 3_000))
    await refused(NotFound, "bid_not_found", bidding.submit(lot, Retract(ANN, 7)))
    error = await refused(Forbidden, "not_your_bid", bidding.submit(lot, Retract(BOB, 1)))
    assert error.message == "not your bid"
    # Within 12 h of the end only your latest bid, within the hour, may go.
    await refused(Conflict, "retraction_window_closed", bidding.submit(lot, Retract(ANN, 1)))


async def test_a_seller_cancels_only_before_the_first_bid_an_admin_at_any_time(
    bidding: Bidding,
) -> None:
    lot = await opened(bidding, rules())
    await bidding.submit(lot, PlaceBid(ANN, 2_000))
    await refused(Conflict, "has_bids", bidding.submit(lot, CancelBook(CancelledBy.SELLER)))
    cancelled = await bidding.submit(lot, CancelBook(CancelledBy.ADMIN))
    assert cancelled == BookCancelled((ANN,), bids_voided=True)
    # Asked again (a retry), the answer is the same but nothing more is voided.
    again = await bidding.submit(lot, CancelBook(CancelledBy.SELLER))
    assert again == BookCancelled((ANN,), bids_voided=False)
    assert await book_status(bidding, lot) == BookStatus.CANCELLED
    error = await refused(Conflict, "auction_cancelled", bidding.submit(lot, PlaceBid(BOB, 9_000)))
    assert error.message == "the auction is cancelled"


# --- a lot edited before its first bid ------------------------------------------------------


async def test_new_rules_run_the_book_until_the_first_bid(bidding: Bidding, clock: Clock) -> None:
    lot = await opened(bidding, rules(start_cents=1_000, buy_now_cents=9_000))
    clock.now = START + timedelta(minutes=5)
    edited = rules(start_cents=500, buy_now_cents=None, lasts=timedelta(hours=5))
    result = await bidding.submit(lot, EditRules({**edited, "title": "A Georgian tea set"}))
    assert isinstance(result, RulesEdited)
    book = result.book
    assert (book["price_cents"], book["min_next_bid_cents"], book["buy_now_cents"]) == (
        500,
        500,
        None,
    )
    assert book["ends_at"] == (START + timedelta(hours=5)).isoformat()
    await refused(Conflict, "buy_now_unavailable", bidding.submit(lot, BuyNow(ANN)))
    await refused(Conflict, "below_minimum", bidding.submit(lot, PlaceBid(ANN, 499)))
    placed = await bidding.submit(lot, PlaceBid(ANN, 600))
    assert isinstance(placed, BidAccepted)
    assert placed.book["price_cents"] == 500
    # The closer follows the new end; the result carries the new title.
    clock.now = START + timedelta(hours=5)
    assert await handlers.close_due_books(bidding) == 1
    [closed] = [data for kind, data in await events(bidding) if kind == "AuctionClosed"]
    assert (closed["title"], closed["winner_id"]) == ("A Georgian tea set", ANN)


async def test_an_edit_after_a_bid_is_refused_even_once_it_is_retracted(bidding: Bidding) -> None:
    lot = await opened(bidding, rules(start_cents=1_000))
    await bidding.submit(lot, PlaceBid(ANN, 2_000))
    error = await refused(Conflict, "has_bids", bidding.submit(lot, EditRules(rules())))
    assert error.message == "the auction has bids; its rules can no longer change"
    await bidding.submit(lot, Retract(ANN, 1))
    await refused(Conflict, "has_bids", bidding.submit(lot, EditRules(rules(start_cents=1))))
    book = await queries.book(bidding, lot, viewer_id=None)
    assert book["price_cents"] == 1_000


async def test_an_edit_of_a_finished_book_is_refused(bidding: Bidding) -> None:
    bought = await opened(bidding, rules("bought", buy_now_cents=9_000))
    await bidding.submit(bought, BuyNow(ANN))
    await refused(Conflict, "auction_ended", bidding.submit(bought, EditRules(rules("bought"))))
    gone = await opened(bidding, rules("gone"))
    await bidding.submit(gone, CancelBook(CancelledBy.SELLER))
    await refused(Conflict, "auction_cancelled", bidding.submit(gone, EditRules(rules("gone"))))


async def test_an_edit_opens_a_missing_book_with_the_new_rules(
    bidding: Bidding, auction: KnownAuctionRules
) -> None:
    result = await bidding.submit("lot-7", EditRules(rules("lot-7", start_cents=700)))
    assert isinstance(result, RulesEdited)
    assert result.book["price_cents"] == 700
    assert auction.asked == []  # the rules came with the edit
    assert await book_status(bidding, "lot-7") == BookStatus.OPEN


async def test_rules_that_cannot_run_a_book_are_invalid(bidding: Bidding) -> None:
    lot = await opened(bidding, rules())
    backwards = {**rules(), "ends_at": START.isoformat()}
    await refused(Invalid, "invalid_rules", bidding.submit(lot, EditRules(backwards)))


async def test_rules_that_cannot_run_a_book_open_no_missing_one(bidding: Bidding) -> None:
    """Found by the API fuzz run: the edit of a book not made yet opened it unchecked (a 500)."""
    backwards = {**rules("lot-8"), "ends_at": START.isoformat()}
    await refused(Invalid, "invalid_rules", bidding.submit("lot-8", EditRules(backwards)))
    async with bidding.uow.db.read() as conn:
        assert await store.book_row(conn, "lot-8", lock=False) is None


# --- closing, the consumer, the reads ---------------------------------------------------------


async def test_due_books_close_once_and_announce_the_winner(bidding: Bidding, clock: Clock) -> None:
    early = await opened(bidding, rules("early", lasts=timedelta(hours=1), reserve_cents=1_500))
    late = await opened(bidding, rules("late", lasts=timedelta(hours=3)))
    await bidding.submit(early, PlaceBid(ANN, 2_000))
    clock.now = START + timedelta(hours=2)
    assert await handlers.close_due_books(bidding) == 1
    assert await handlers.close_due_books(bidding) == 0
    closed = [data for kind, data in await events(bidding) if kind == "AuctionClosed"]
    assert [(c["auction_id"], c["winner_id"], c["sold"]) for c in closed] == [("early", ANN, True)]
    assert closed[0]["price_cents"] == 1_500  # the reserve, met by Ann's maximum
    assert (await book_status(bidding, early), await book_status(bidding, late)) == (
        "closed",
        "open",
    )


async def test_the_books_consumer_opens_a_book_once(bidding: Bidding) -> None:
    [consumer] = consumers(bidding)
    assert (consumer.name, consumer.patterns) == ("books", ("auction.AuctionOpened",))
    event = Envelope(type="AuctionOpened", producer="auction", data=rules("lot-5"))
    for _ in range(2):
        async with bidding.uow() as tx:
            await consumer.handle(tx, event)
    assert await book_status(bidding, "lot-5") == BookStatus.OPEN


async def test_the_reads_show_the_book_history_and_standing_never_a_maximum(
    bidding: Bidding,
) -> None:
    lot = await opened(bidding, rules(start_cents=1_000))
    await bidding.submit(lot, PlaceBid(ANN, 2_000))
    await bidding.submit(lot, PlaceBid(BOB, 3_000))
    book = await queries.book(bidding, lot, viewer_id=ANN)
    assert book["you"] == {"leading": False, "max_cents": 2_000, "bids": [1]}
    history = await queries.history(bidding, lot)
    assert [b["price_cents"] for b in history["bids"]] == [1_000, 2_050]
    assert ANN not in json.dumps(history)
    mine = await queries.bids_of(bidding, BOB, limit=10)
    assert [(i["standing"], i["your_max_cents"]) for i in mine["items"]] == [("leading", 3_000)]
    await refused(NotFound, "auction_not_found", queries.book(bidding, "nope", viewer_id=None))
    await refused(NotFound, "auction_not_found", queries.history(bidding, "nope"))


# --- every change of a book is a newer version of it ----------------------------------------


async def published(bidding: Bidding, auction_id: str) -> dict[str, Any]:
    """The copy of the book published after the last commit (what watchers were sent)."""
    raw = await bidding.cache.get(copies.book_key(auction_id))
    assert raw is not None
    book: dict[str, Any] = json.loads(raw)
    return book


async def fresh(bidding: Bidding, auction_id: str) -> dict[str, Any]:
    """The book as a reader who asks the database now sees it."""
    async with bidding.uow.db.read() as conn:
        row = await store.book_row(conn, auction_id, lock=False)
    return BookState.load(row, pseudonyms=bidding.pseudonyms).public(bidding.clock())


async def test_every_change_of_a_book_is_published_as_a_newer_version(bidding: Bidding) -> None:
    lot = await opened(bidding, rules(start_cents=1_000, lasts=timedelta(days=2)))
    assert (await fresh(bidding, lot))["version"] == 0
    seen = []
    for command in (
        PlaceBid(ANN, 2_000),
        PlaceBid(BOB, 3_000),
        Retract(BOB, 2),  # no ledger row: the price falls back, ``seq`` stays 2
        PlaceBid(BOB, 2_500),
        CancelBook(CancelledBy.ADMIN),
    ):
        await bidding.submit(lot, command)
        sent = await published(bidding, lot)
        assert sent == {**await fresh(bidding, lot), "server_time": sent["server_time"]}
        seen.append((sent["version"], sent["seq"], sent["price_cents"], sent["status"]))
    assert seen == [
        (1, 1, 1_000, "open"),
        (2, 2, 2_050, "open"),
        (3, 2, 1_000, "open"),
        (4, 3, 2_050, "open"),
        (5, 3, 2_050, "cancelled"),
    ]


async def test_a_retraction_names_the_new_leader_in_a_newer_version(bidding: Bidding) -> None:
    lot = await opened(bidding, rules(start_cents=1_000, lasts=timedelta(days=2)))
    await bidding.submit(lot, PlaceBid(ANN, 2_000))
    before = await bidding.submit(lot, PlaceBid(BOB, 3_000))
    assert isinstance(before, BidAccepted)
    result = await bidding.submit(lot, Retract(BOB, 2))
    assert isinstance(result, BidRetracted)
    assert result.book["version"] > before.book["version"]
    assert result.book["seq"] == before.book["seq"]
    assert result.book["leader"] == bidding.pseudonyms.of(lot, ANN) != before.book["leader"]


async def test_a_refusal_is_no_new_version(bidding: Bidding) -> None:
    lot = await opened(bidding, rules(start_cents=1_000))
    await bidding.submit(lot, PlaceBid(ANN, 2_000))
    error = await refused(Conflict, "below_minimum", bidding.submit(lot, PlaceBid(BOB, 1_000)))
    assert error.details["version"] == 1
    assert (await published(bidding, lot))["version"] == 1
    assert (await fresh(bidding, lot))["version"] == 1


async def test_bids_sharing_a_commit_each_answer_their_own_version(bidding: Bidding) -> None:
    lot = await opened(bidding, rules(start_cents=1_000))
    results = await asyncio.gather(
        *(bidding.submit(lot, PlaceBid(who, cents)) for who, cents in [(ANN, 2_000), (BOB, 3_000)])
    )
    assert bidding.batcher.batches == 1
    assert [r.book["version"] for r in results if isinstance(r, BidAccepted)] == [1, 2]
    assert (await published(bidding, lot))["version"] == 2


async def test_buy_now_and_the_close_are_newer_versions(bidding: Bidding, clock: Clock) -> None:
    bought = await opened(bidding, rules("bought", buy_now_cents=9_000))
    result = await bidding.submit(bought, BuyNow(ANN))
    assert isinstance(result, BoughtNow)
    assert (await published(bidding, bought))["version"] == result.book["version"] == 1
    ends = await opened(bidding, rules("ends", lasts=timedelta(hours=1)))
    await bidding.submit(ends, PlaceBid(ANN, 2_000))
    clock.now = START + timedelta(hours=1)
    assert await handlers.close_due_books(bidding) == 1
    closed = await published(bidding, ends)
    assert (closed["version"], closed["seq"], closed["status"]) == (2, 1, "closed")
    assert closed == {**await fresh(bidding, ends), "server_time": closed["server_time"]}
