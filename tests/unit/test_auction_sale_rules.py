"""The rules of timed sales, without I/O: building a sale, publishing it, reading its progress."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from auction_platform.core.failures import Conflict, DomainError, Invalid, NotFound
from auction_platform.services.auction import domain, sales
from auction_platform.services.auction.domain import Lot, Status
from auction_platform.services.auction.listing import (
    DEFAULT_INCREMENTS,
    Format,
    Limits,
    Terms,
)
from auction_platform.services.auction.sales import (
    INTERVAL_SECONDS,
    MAX_LOTS,
    LotProgress,
    Sale,
    SaleState,
    SaleStatus,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LIMITS = Limits(
    min_duration=timedelta(minutes=1),
    max_duration=timedelta(days=30),
    max_amount_cents=1_000_000_00,
    max_images=3,
)
TERMS = Terms(
    title="A Georgian silver teapot",
    description="Hallmarked, London 1790.",
    category="silver",
    images=(),
    currency="GBP",
    start_cents=10_000,
    reserve_cents=None,
    buy_now_cents=None,
    increments=DEFAULT_INCREMENTS,
    starts_at=NOW,
    ends_at=NOW + timedelta(days=7),
    starts_when_published=True,
    duration=timedelta(days=7),
)
FIRST_CLOSE = NOW + timedelta(days=2)


def lot(lot_id: str, *, seller_id: str = "sam", **changes: Any) -> Lot:
    made = domain.new_lot(lot_id=lot_id, seller_id=seller_id, terms=TERMS, limits=LIMITS, now=NOW)
    return replace(made, **changes)


def sale(**changes: Any) -> Sale:
    values: dict[str, Any] = {
        "sale_id": "sale1",
        "seller_id": "sam",
        "title": "The Hartley estate",
        "description": "Furniture and silver.",
        "first_close_at": FIRST_CLOSE,
        "interval_seconds": 60,
        "starts_at": None,
        "limits": LIMITS,
        "now": NOW,
    }
    return sales.new_sale(**{**values, **changes})


def with_lots(count: int, **changes: Any) -> Sale:
    made = sale(**changes)
    for number in range(1, count + 1):
        made = sales.add_lot(made, lot(f"lot{number}"), limits=LIMITS, now=NOW)
    return made


def code_of(error: pytest.ExceptionInfo[DomainError]) -> str:
    return error.value.code


# --- a new sale ---------------------------------------------------------------------------


def test_a_new_sale_is_a_draft_without_lots_its_times_in_utc() -> None:
    made = sale(first_close_at=datetime(2026, 11, 29, 13, 0, tzinfo=timezone(timedelta(hours=1))))
    assert made.status is SaleStatus.DRAFT
    assert made.lot_ids == ()
    assert made.first_close_at == datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    assert made.first_close_at.tzinfo is UTC
    assert made.last_close_at is None
    assert made.starts_at is None  # when published


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"title": "  "}, "invalid_title"),
        ({"title": "x" * 121}, "invalid_title"),
        ({"description": "bad\x00text"}, "invalid_description"),
        ({"interval_seconds": INTERVAL_SECONDS[0] - 1}, "invalid_interval"),
        ({"interval_seconds": INTERVAL_SECONDS[1] + 1}, "invalid_interval"),
        ({"first_close_at": datetime(2026, 11, 29, 12, 0)}, "invalid_time"),
        ({"starts_at": datetime(2026, 11, 28, 12, 0)}, "invalid_time"),
        ({"starts_at": NOW - timedelta(minutes=1)}, "start_in_past"),
        ({"first_close_at": NOW + timedelta(seconds=59)}, "first_close_too_soon"),
        ({"first_close_at": NOW - timedelta(hours=1)}, "first_close_too_soon"),
        (
            {"starts_at": FIRST_CLOSE - timedelta(seconds=30)},
            "first_close_too_soon",
        ),
        ({"starts_at": FIRST_CLOSE + timedelta(hours=1)}, "first_close_too_soon"),
    ],
)
def test_a_sale_is_refused_with_the_code_of_its_fault(changes: dict[str, Any], code: str) -> None:
    with pytest.raises(Invalid) as refused:
        sale(**changes)
    assert refused.value.code == code


def test_the_interval_bounds_are_ten_seconds_and_an_hour_both_included() -> None:
    assert sale(interval_seconds=10).interval_seconds == 10
    assert sale(interval_seconds=3_600).interval_seconds == 3_600
    with pytest.raises(Invalid):
        sale(interval_seconds=True)  # a bool is not a number of seconds


def test_lot_n_is_planned_to_close_n_minus_one_intervals_after_the_first() -> None:
    made = with_lots(3, interval_seconds=90)
    assert made.close_of(1) == FIRST_CLOSE
    assert made.close_of(3) == FIRST_CLOSE + timedelta(seconds=180)
    assert made.last_close_at == made.close_of(3)


# --- its lots ------------------------------------------------------------------------------


def test_draft_lots_join_in_the_order_they_are_added() -> None:
    made = with_lots(3)
    assert made.lot_ids == ("lot1", "lot2", "lot3")
    assert [made.number_of(i) for i in made.lot_ids] == [1, 2, 3]
    assert made.number_of("elsewhere") is None


@pytest.mark.parametrize(
    ("candidate", "error", "code"),
    [
        (None, Invalid, "not_your_lot"),
        (lot("lotX", seller_id="ann"), Invalid, "not_your_lot"),
        (lot("lot1", sale_id="sale1"), Conflict, "lot_in_sale"),
        (lot("lotX", sale_id="sale2"), Conflict, "lot_in_another_sale"),
        (lot("lotX", status=Status.SCHEDULED), Conflict, "lot_not_draft"),
        (lot("lotX", status=Status.OPEN), Conflict, "lot_not_draft"),
        (lot("lotX", status=Status.CANCELLED), Conflict, "lot_not_draft"),
    ],
)
def test_only_the_sellers_own_draft_in_no_sale_may_join(
    candidate: Lot | None, error: type[DomainError], code: str
) -> None:
    with pytest.raises(error) as refused:
        sales.add_lot(with_lots(1), candidate, limits=LIMITS, now=NOW)
    assert refused.value.code == code


def test_a_lot_in_another_sale_is_named() -> None:
    with pytest.raises(Conflict) as refused:
        sales.add_lot(sale(), lot("lotX", sale_id="sale2"), limits=LIMITS, now=NOW)
    assert refused.value.details == {"sale_id": "sale2"}


def test_a_sale_holds_at_most_its_limit_of_lots() -> None:
    full = replace(sale(), lot_ids=tuple(f"lot{n}" for n in range(MAX_LOTS)))
    with pytest.raises(Conflict) as refused:
        sales.add_lot(full, lot("one-more"), limits=LIMITS, now=NOW)
    assert refused.value.code == "sale_full"


def test_a_lot_that_would_close_after_the_longest_run_is_refused() -> None:
    # Lot 1 closes 29 days and 23 hours after the start; lot 2, an hour later, is past 30 days.
    late = sale(
        first_close_at=NOW + timedelta(days=30) - timedelta(hours=1), interval_seconds=3_600
    )
    late = sales.add_lot(late, lot("lot1"), limits=LIMITS, now=NOW)
    late = sales.add_lot(late, lot("lot2"), limits=LIMITS, now=NOW)
    with pytest.raises(Invalid) as refused:
        sales.add_lot(late, lot("lot3"), limits=LIMITS, now=NOW)
    assert refused.value.code == "sale_too_long"


def test_a_first_close_past_the_longest_run_is_refused_even_before_any_lot() -> None:
    with pytest.raises(Invalid) as refused:
        sale(first_close_at=NOW + timedelta(days=30, seconds=1))
    assert refused.value.code == "sale_too_long"


def test_times_at_the_end_of_the_calendar_are_refused_not_failed() -> None:
    end = datetime.max.replace(tzinfo=UTC)
    with pytest.raises(Invalid) as refused:
        sale(first_close_at=datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))))
    assert refused.value.code == "invalid_time"
    late = replace(with_lots(1), starts_at=end - timedelta(hours=1), first_close_at=end)
    with pytest.raises(Invalid) as refused:
        sales.add_lot(late, lot("lot2"), limits=LIMITS, now=NOW)
    assert refused.value.code == "sale_too_long"


def test_a_lot_taken_out_lets_the_next_ones_move_up() -> None:
    made = sales.remove_lot(with_lots(3), "lot2", now=NOW)
    assert made.lot_ids == ("lot1", "lot3")
    assert made.number_of("lot3") == 2
    with pytest.raises(NotFound) as refused:
        sales.remove_lot(made, "lot2", now=NOW)
    assert refused.value.code == "lot_not_in_sale"


def test_a_lot_moved_takes_its_new_number_and_the_others_keep_their_order() -> None:
    made = with_lots(4)
    assert sales.move_lot(made, "lot4", 1, now=NOW).lot_ids == ("lot4", "lot1", "lot2", "lot3")
    assert sales.move_lot(made, "lot1", 3, now=NOW).lot_ids == ("lot2", "lot3", "lot1", "lot4")
    for number in (0, 5):
        with pytest.raises(Invalid) as refused:
            sales.move_lot(made, "lot1", number, now=NOW)
        assert refused.value.code == "invalid_lot_number"
    with pytest.raises(NotFound):
        sales.move_lot(made, "lotX", 1, now=NOW)


def test_a_draft_changes_its_words_and_times_and_is_checked_again() -> None:
    made = with_lots(2)
    later = NOW + timedelta(minutes=5)
    edited = sales.edit(
        made,
        {"title": " Estate sale ", "interval_seconds": 30, "starts_at": NOW + timedelta(hours=1)},
        limits=LIMITS,
        now=later,
    )
    assert (edited.title, edited.interval_seconds) == ("Estate sale", 30)
    assert edited.starts_at == NOW + timedelta(hours=1)
    assert edited.updated_at == later
    assert sales.edit(edited, {"starts_at": None}, limits=LIMITS, now=later).starts_at is None
    with pytest.raises(Invalid) as refused:
        sales.edit(made, {"first_close_at": NOW}, limits=LIMITS, now=NOW)
    assert refused.value.code == "first_close_too_soon"
    with pytest.raises(Invalid) as refused:
        sales.edit(made, {"seller_id": "ann"}, limits=LIMITS, now=NOW)
    assert refused.value.code == "validation_error"


# --- publishing ----------------------------------------------------------------------------


def test_publishing_fixes_the_start_at_now_when_the_sale_named_none() -> None:
    later = NOW + timedelta(hours=3)
    published = sales.publish(with_lots(2), limits=LIMITS, now=later)
    assert published.status is SaleStatus.PUBLISHED
    assert (published.starts_at, published.published_at) == (later, later)


def test_publishing_keeps_the_start_the_sale_named() -> None:
    start = NOW + timedelta(hours=1)
    published = sales.publish(with_lots(2, starts_at=start), limits=LIMITS, now=NOW)
    assert published.starts_at == start


@pytest.mark.parametrize(
    ("made", "now", "error", "code"),
    [
        (sale(), NOW, Conflict, "sale_empty"),
        (with_lots(1), FIRST_CLOSE - timedelta(seconds=59), Invalid, "first_close_too_soon"),
        (with_lots(1), FIRST_CLOSE + timedelta(hours=1), Invalid, "first_close_too_soon"),
        (
            with_lots(1, starts_at=NOW + timedelta(minutes=1)),
            NOW + timedelta(minutes=2),
            Invalid,
            "start_in_past",
        ),
    ],
)
def test_a_sale_is_published_with_lots_and_time_enough(
    made: Sale, now: datetime, error: type[DomainError], code: str
) -> None:
    with pytest.raises(error) as refused:
        sales.publish(made, limits=LIMITS, now=now)
    assert refused.value.code == code


def test_a_published_sale_no_longer_changes() -> None:
    published = sales.publish(with_lots(1), limits=LIMITS, now=NOW)
    attempts = [
        lambda: sales.publish(published, limits=LIMITS, now=NOW),
        lambda: sales.add_lot(published, lot("lot9"), limits=LIMITS, now=NOW),
        lambda: sales.remove_lot(published, "lot1", now=NOW),
        lambda: sales.move_lot(published, "lot1", 1, now=NOW),
        lambda: sales.edit(published, {"title": "Another"}, limits=LIMITS, now=NOW),
        lambda: sales.check_draft(published),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict) as refused:
            attempt()
        assert refused.value.code == "sale_published"


def test_every_lot_starts_with_the_sale_and_ends_in_its_turn() -> None:
    start = NOW + timedelta(hours=1)
    published = sales.publish(with_lots(3, starts_at=start), limits=LIMITS, now=NOW)
    timed = [sales.lot_in_sale(lot(f"lot{n}"), published) for n in (1, 2, 3)]
    assert [t.terms.starts_at for t in timed] == [start] * 3
    assert [t.terms.ends_at for t in timed] == [
        FIRST_CLOSE,
        FIRST_CLOSE + timedelta(minutes=1),
        FIRST_CLOSE + timedelta(minutes=2),
    ]
    # The lot's own length ("run 7 days from publication") gives way to the sale's times.
    assert not any(t.terms.starts_when_published or t.terms.duration for t in timed)
    listed = [domain.publish(t, limits=LIMITS, now=NOW) for t in timed]
    assert [x.ends_at for x in listed] == [t.terms.ends_at for t in timed]
    assert {x.status for x in listed} == {Status.SCHEDULED}


def test_every_format_keeps_its_own_rules_in_a_sale() -> None:
    published = sales.publish(with_lots(1), limits=LIMITS, now=NOW)
    sealed = replace(
        lot("lot1"), terms=replace(TERMS, format=Format.SEALED_FIRST_PRICE, soft_close=None)
    )
    timed = sales.lot_in_sale(sealed, published)
    assert (timed.terms.format, timed.terms.soft_close) == (Format.SEALED_FIRST_PRICE, None)
    assert domain.publish(timed, limits=LIMITS, now=NOW).terms.ends_at == FIRST_CLOSE


def test_a_lot_that_is_no_longer_a_draft_refuses_the_sale_by_its_number() -> None:
    published = sales.publish(with_lots(2), limits=LIMITS, now=NOW)
    with pytest.raises(Conflict) as refused:
        sales.lot_in_sale(lot("lot2", status=Status.CANCELLED), published)
    assert refused.value.code == "lot_not_draft"
    assert refused.value.details == {"auction_id": "lot2", "lot_number": 2}


# --- progress ------------------------------------------------------------------------------


def steps(*lots: tuple[Status, int]) -> list[LotProgress]:
    """Lots numbered from 1: their status and end, in seconds after the first close."""
    return [
        LotProgress(n, f"lot{n}", status, FIRST_CLOSE + timedelta(seconds=offset))
        for n, (status, offset) in enumerate(lots, start=1)
    ]


def test_the_next_lot_to_close_is_the_running_one_that_ends_soonest() -> None:
    running = steps((Status.OPEN, 0), (Status.OPEN, 60), (Status.OPEN, 120))
    assert sales.next_closing(running) == running[0]
    one_closed = steps((Status.CLOSED, 0), (Status.OPEN, 60), (Status.OPEN, 120))
    assert sales.next_closing(one_closed) == one_closed[1]
    withdrawn = steps((Status.CLOSED, 0), (Status.CANCELLED, 60), (Status.SCHEDULED, 120))
    assert sales.next_closing(withdrawn) == withdrawn[2]
    assert sales.next_closing(steps((Status.CLOSED, 0), (Status.CANCELLED, 60))) is None


def test_a_lot_extended_past_the_next_one_lets_that_one_close_first() -> None:
    extended = steps((Status.OPEN, 150), (Status.OPEN, 60), (Status.OPEN, 120))
    assert sales.next_closing(extended) == extended[1]
    tied = steps((Status.OPEN, 60), (Status.OPEN, 60))
    assert sales.next_closing(tied) == tied[0]  # the lower number on a tie


def test_a_sale_is_upcoming_then_running_then_finished() -> None:
    start = NOW + timedelta(hours=1)
    published = sales.publish(with_lots(2, starts_at=start), limits=LIMITS, now=NOW)
    waiting = steps((Status.SCHEDULED, 0), (Status.SCHEDULED, 60))
    assert sales.state_of(with_lots(2), waiting, now=NOW) is SaleState.DRAFT
    assert sales.state_of(published, waiting, now=NOW) is SaleState.UPCOMING
    going = steps((Status.CLOSED, 0), (Status.OPEN, 60))
    assert sales.state_of(published, going, now=start) is SaleState.RUNNING
    done = steps((Status.CLOSED, 0), (Status.CANCELLED, 60))
    assert sales.state_of(published, done, now=start) is SaleState.FINISHED


def test_a_draft_is_seen_by_its_seller_and_admins_a_published_sale_by_anyone() -> None:
    draft = with_lots(1)
    assert sales.visible_to(draft, viewer_id="sam", admin=False)
    assert sales.visible_to(draft, viewer_id="root", admin=True)
    assert not sales.visible_to(draft, viewer_id="ann", admin=False)
    assert not sales.visible_to(draft, viewer_id=None, admin=False)
    published = sales.publish(draft, limits=LIMITS, now=NOW)
    assert sales.visible_to(published, viewer_id=None, admin=False)


# --- cancelling a sale ----------------------------------------------------------------------

LATER = NOW + timedelta(hours=3)


def published(count: int = 3) -> Sale:
    return sales.publish(with_lots(count), limits=LIMITS, now=NOW)


def test_a_draft_is_deleted_not_cancelled() -> None:
    draft = with_lots(2)
    waiting = steps((Status.DRAFT, 0), (Status.DRAFT, 60))
    for attempt in (
        lambda: sales.to_withdraw(draft, waiting),
        lambda: sales.cancelled(draft, waiting, now=LATER),
        lambda: sales.check_cancellable(draft),
    ):
        with pytest.raises(Conflict) as refused:
            attempt()
        assert code_of(refused) == "sale_draft"
        assert "delete it" in refused.value.message


def test_a_cancellation_withdraws_the_lots_still_to_close_lot_1_first() -> None:
    lots = steps((Status.CLOSED, 0), (Status.OPEN, 60), (Status.SCHEDULED, 120))
    shuffled = [lots[2], lots[0], lots[1]]
    assert sales.to_withdraw(published(), shuffled) == [lots[1], lots[2]]
    over = steps((Status.CLOSED, 0), (Status.CANCELLED, 60))
    assert sales.to_withdraw(published(2), over) == []


def test_a_sale_is_cancelled_once_nothing_is_left_to_close_and_something_was_withdrawn() -> None:
    sale = published()
    withdrawn = steps((Status.CLOSED, 0), (Status.CANCELLED, 60), (Status.CANCELLED, 120))
    marked = sales.cancelled(sale, withdrawn, now=LATER)
    assert marked.cancelled_at == LATER and marked.updated_at == LATER
    assert sales.state_of(marked, withdrawn, now=LATER) is SaleState.CANCELLED
    assert sales.state_when(marked, running=False, now=LATER) is SaleState.CANCELLED


def test_a_sale_with_a_lot_kept_runs_on_until_a_later_cancellation_withdraws_it() -> None:
    sale = published()
    kept = steps((Status.OPEN, 0), (Status.CANCELLED, 60), (Status.CANCELLED, 120))
    assert sales.cancelled(sale, kept, now=LATER) is sale
    assert sales.state_of(sale, kept, now=LATER) is SaleState.RUNNING
    # An admin withdraws the lot with bids: nothing is left, and the sale is cancelled.
    after = steps((Status.CANCELLED, 0), (Status.CANCELLED, 60), (Status.CANCELLED, 120))
    assert sales.cancelled(sale, after, now=LATER).cancelled_at == LATER


def test_a_sale_whose_lots_all_ended_by_themselves_is_finished_not_cancelled() -> None:
    sale = published(2)
    ended = steps((Status.CLOSED, 0), (Status.CLOSED, 60))
    assert sales.cancelled(sale, ended, now=LATER) is sale
    assert sales.state_of(sale, ended, now=LATER) is SaleState.FINISHED


def test_a_repeated_cancellation_keeps_the_first_mark() -> None:
    withdrawn = steps((Status.CANCELLED, 0), (Status.CANCELLED, 60))
    marked = sales.cancelled(published(2), withdrawn, now=LATER)
    again = sales.cancelled(marked, withdrawn, now=LATER + timedelta(minutes=5))
    assert again is marked and again.cancelled_at == LATER
