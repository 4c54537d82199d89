"""The fault suite's checks find what they are for, on records made up to break each rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from auction_platform.services.bidding import codec, engine
from faults import checks
from faults.checks import Event, Kind, Subscriber
from faults.scenario import Phase, phase_of, recovery_time
from faults.workload import Attempt, Operation, Sighting
from support.accounts import Account
from support.books import auction_rules

ANN = Account("ann", "ann@example.com", "token", "refresh")
BOB = Account("bob", "bob@example.com", "token", "refresh")
AUCTION = "lot-1"
NOW = datetime.now(UTC)


def one_phase(moment: float) -> int:
    return 0


def op(
    number: int,
    bidder: Account,
    amount: int,
    *,
    status: int | None,
    seq: int | None = None,
    code: str | None = None,
) -> Operation:
    """A bid of the history, with its true answer when ``status`` is given."""
    operation = Operation(number, bidder, AUCTION, amount, f"key-{number}", False, NOW.timestamp())
    if status is not None:
        operation.conclude(Attempt(NOW.timestamp(), status, code), seq)
    return operation


def bid(seq: int, bidder: Account, amount: int, *, price: int = 0, leader: str = "") -> Any:
    """A ledger row: the bid and the price and leader it left."""
    return SimpleNamespace(
        auction_id=AUCTION,
        seq=seq,
        bidder_id=bidder.id,
        max_cents=amount,
        placed_at=NOW + timedelta(seconds=seq),
        price_cents=price,
        leader_id=leader or bidder.id,
    )


def kinds(findings: list[checks.Finding]) -> list[Kind]:
    return [finding.kind for finding in findings]


def test_a_ledger_that_matches_every_answer_has_nothing_to_say() -> None:
    operations = [
        op(0, ANN, 500, status=201, seq=1),
        op(1, BOB, 50, status=409, code="below_minimum"),
    ]
    assert checks.bids(operations, [bid(1, ANN, 500)], one_phase) == []


def test_an_acknowledged_bid_missing_from_the_ledger_is_lost() -> None:
    found = checks.bids([op(0, ANN, 500, status=201, seq=1)], [], one_phase)
    assert kinds(found) == [Kind.LOST]


def test_a_refused_bid_in_the_ledger_is_wrong() -> None:
    operations = [op(0, ANN, 500, status=409, code="below_minimum")]
    found = checks.bids(operations, [bid(1, ANN, 500)], one_phase)
    assert kinds(found) == [Kind.WRONG]
    assert "refused" in found[0].what


def test_a_retry_counted_twice_is_wrong() -> None:
    operations = [op(0, ANN, 500, status=201, seq=1)]
    found = checks.bids(operations, [bid(1, ANN, 500), bid(2, ANN, 500)], one_phase)
    assert kinds(found) == [Kind.WRONG]
    assert "counted twice" in found[0].what


def test_a_seq_holding_another_bid_than_acknowledged_is_wrong() -> None:
    found = checks.bids([op(0, ANN, 500, status=201, seq=1)], [bid(1, BOB, 700)], one_phase)
    assert Kind.WRONG in kinds(found)


def test_a_bid_without_a_true_answer_and_a_changed_answer_are_wrong() -> None:
    unanswered = op(0, ANN, 500, status=None)
    unanswered.attempts.append(Attempt(NOW.timestamp(), 503, "overloaded"))
    changed = op(1, BOB, 700, status=201, seq=1)
    changed.conclude(Attempt(NOW.timestamp(), 201, None), 2)
    found = checks.bids([unanswered, changed], [bid(1, BOB, 700)], one_phase)
    assert kinds(found) == [Kind.WRONG, Kind.WRONG]


def book_row(ledger: list[Any], *, price: int | None = None) -> Any:
    """A stored book made by the engine from ``ledger`` (``price`` overrides what it says)."""
    # Open from just before NOW, when the ledger's bids were placed (this module may be
    # imported minutes before the test runs).
    rules_data = {
        **auction_rules("seller", start_cents=100),
        "starts_at": (NOW - timedelta(seconds=1)).isoformat(),
        "ends_at": (NOW + timedelta(hours=1)).isoformat(),
    }
    rules = codec.rules_from(rules_data)
    book = engine.replay(rules, [engine.Bid(b.bidder_id, b.max_cents, b.placed_at) for b in ledger])
    if price is not None:
        book = replace(book, price_cents=price)
    return SimpleNamespace(
        auction_id=AUCTION,
        rules=rules_data,
        state=codec.dump(book),
        price_cents=book.price_cents,
        leader_id=book.leader_id,
        bid_count=book.bid_count,
        seq=len(ledger),
    )


def test_a_book_that_is_its_ledger_replayed_passes_and_one_that_is_not_fails() -> None:
    ledger = [
        bid(1, ANN, 500, price=100, leader=ANN.id),
        bid(2, BOB, 700, price=550, leader=BOB.id),
    ]
    assert checks.books([book_row(ledger)], ledger, one_phase) == []
    found = checks.books([book_row(ledger, price=700)], ledger, one_phase)
    assert kinds(found) == [Kind.WRONG]
    # A ledger row whose recorded price the engine does not reach is caught at that row.
    ledger[1].price_cents = 600
    assert "seq 2" in checks.books([book_row(ledger)], ledger, one_phase)[0].what


def test_a_poller_that_sees_an_older_book_saw_it_step_back() -> None:
    def seen(seq: int, price: int, poller: int = 0) -> Sighting:
        return Sighting(poller, AUCTION, NOW.timestamp(), seq, seq, price)

    assert checks.sightings([seen(1, 100), seen(2, 200), seen(2, 200)], one_phase) == []
    found = checks.sightings([seen(1, 100), seen(3, 300), seen(2, 200, 1), seen(2, 200)], one_phase)
    assert kinds(found) == [Kind.WRONG]


def test_an_event_missing_from_a_bound_inbox_is_undelivered_unless_excused() -> None:
    subscriber = Subscriber("auction", "bid-placed", ("bidding.BidPlaced",))
    other = Subscriber("auction", "closed", ("bidding.AuctionClosed",))
    placed = Event("bidding", "e1", "BidPlaced", NOW.timestamp(), published=True)
    waiting = Event("bidding", "e2", "BidPlaced", NOW.timestamp(), published=False)
    inboxes = {("auction", "bid-placed"): {"e2"}}

    found, excused = checks.deliveries([placed, waiting], inboxes, [subscriber, other], one_phase)
    assert kinds(found) == [Kind.UNDELIVERED, Kind.UNDELIVERED]
    assert excused == 0
    # A loss the mode documents is counted apart; an event still in its outbox never is.
    found, excused = checks.deliveries(
        [placed, waiting], inboxes, [subscriber], one_phase, excused=lambda event: True
    )
    assert ["still in the outbox" in f.what for f in found] == [True]
    assert excused == 1


def test_throughput_is_back_at_the_first_second_holding_half_the_baseline() -> None:
    answers = [0.1 * n for n in range(100)] + [20.0, 25.0] + [30 + 0.1 * n for n in range(20)]
    assert recovery_time(answers, lifted=15.0, baseline=10.0) == 15.0
    assert recovery_time(answers[:102], lifted=15.0, baseline=10.0) is None
    slow = Phase("PostgreSQL cut 10 s", began=0.0, lifted=15.0, baseline=10.0, recovery=15.0)
    assert kinds(checks.recoveries([slow])) == [Kind.SLOW]


def test_a_moment_belongs_to_the_phase_that_began_last_before_it() -> None:
    phases = [Phase("a", began=10.0), Phase("b", began=20.0)]
    assert [phase_of(moment, phases) for moment in (5.0, 10.0, 19.9, 20.0, 99.0)] == [
        0,
        0,
        0,
        1,
        1,
    ]
