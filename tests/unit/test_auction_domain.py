"""The rules of lots, without I/O: what may be listed, and what may happen to it when."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from auction_platform.services.auction import domain
from auction_platform.services.auction.domain import Lot, NotAllowed, Outcome, Status
from auction_platform.services.auction.listing import (
    CURRENCIES,
    DEFAULT_INCREMENTS,
    InvalidTerms,
    Limits,
    SoftClose,
    Terms,
    check_image_url,
    check_terms,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LIMITS = Limits(
    min_duration=timedelta(minutes=1),
    max_duration=timedelta(days=30),
    max_amount_cents=1_000_000_00,
    max_images=3,
)
TERMS = Terms(
    title="A 1960s Leica M3",
    description="Works.\nLight meter included.",
    category="cameras",
    images=("https://images.example.com/leica.jpg",),
    currency="EUR",
    start_cents=10_000,
    reserve_cents=50_000,
    buy_now_cents=90_000,
    increments=DEFAULT_INCREMENTS,
    starts_at=NOW + timedelta(hours=1),
    ends_at=NOW + timedelta(days=7),
)


def draft(**changes: Any) -> Lot:
    return domain.new_lot(
        lot_id="lot1", seller_id="sam", terms=replace(TERMS, **changes), limits=LIMITS, now=NOW
    )


def at(status: Status, **changes: Any) -> Lot:
    return replace(draft(), status=status, **changes)


def refused_terms(**changes: Any) -> str:
    with pytest.raises(InvalidTerms) as refused:
        check_terms(replace(TERMS, **changes), limits=LIMITS)
    return refused.value.code


def test_good_terms_are_normalised() -> None:
    cet = timezone(timedelta(hours=1))
    terms = check_terms(
        replace(
            TERMS, title="  Leica  ", currency="eur", starts_at=TERMS.starts_at.astimezone(cet)
        ),
        limits=LIMITS,
    )
    assert terms.title == "Leica"
    assert terms.currency == "EUR"
    assert terms.starts_at.tzinfo is UTC
    assert terms.starts_at == TERMS.starts_at
    assert terms.soft_close == SoftClose(120, 120, 10)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"title": "ab"}, "invalid_title"),
        ({"title": "x" * 121}, "invalid_title"),
        ({"title": "two\nlines"}, "invalid_title"),
        ({"description": "x" * 10_001}, "invalid_description"),
        ({"description": "bell\x07"}, "invalid_description"),
        ({"category": "Cameras"}, "invalid_category"),
        ({"category": "c"}, "invalid_category"),
        ({"category": "x" * 41}, "invalid_category"),
        ({"category": "old cameras"}, "invalid_category"),
        ({"currency": "XYZ"}, "unknown_currency"),
        ({"currency": "EURO"}, "unknown_currency"),
    ],
)
def test_bad_texts_are_refused(changes: dict[str, Any], code: str) -> None:
    assert refused_terms(**changes) == code


def test_long_but_valid_texts_pass() -> None:
    terms = check_terms(
        replace(TERMS, title="x" * 120, description="y" * 10_000, category="a-" * 20),
        limits=LIMITS,
    )
    assert len(terms.title) == 120


def test_currencies_know_their_minor_units() -> None:
    assert CURRENCIES["EUR"] == 2
    assert CURRENCIES["JPY"] == 0
    assert CURRENCIES["KRW"] == 0
    assert CURRENCIES["ISK"] == 0
    assert CURRENCIES["KWD"] == 3
    assert {"USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "CAD", "AUD", "NZD"} <= set(
        CURRENCIES
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://images.example.com/a.jpg",
        "https://cdn.example.co.uk:443/path/b.png?w=400#top",
        "https://93.184.216.34/c.jpg",  # a public address literal
        "https://[2606:4700::1111]/d.jpg",
    ],
)
def test_public_https_image_urls_are_accepted(url: str) -> None:
    assert check_image_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://images.example.com/a.jpg",
        "ftp://images.example.com/a.jpg",
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "https://user:secret@images.example.com/a.jpg",
        "https://user@images.example.com/a.jpg",
        "https://images.example.com:8443/a.jpg",
        "https://localhost/a.jpg",
        "https://LOCALHOST./a.jpg",
        "https://printer.local/a.jpg",
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://app.localhost/a.jpg",
        "https://intranet/a.jpg",
        "https://127.0.0.1/a.jpg",
        "https://10.0.0.7/a.jpg",
        "https://172.16.1.1/a.jpg",
        "https://192.168.1.1/a.jpg",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.64.0.1/a.jpg",  # carrier-grade NAT
        "https://0.0.0.0/a.jpg",
        "https://224.0.0.1/a.jpg",
        "https://240.0.0.1/a.jpg",  # reserved
        "https://[::1]/a.jpg",
        "https://[fe80::1]/a.jpg",
        "https://[fc00::1]/a.jpg",
        "https://[::ffff:127.0.0.1]/a.jpg",
        "https://2130706433/a.jpg",  # 127.0.0.1 as one number
        "https://0x7f.1/a.jpg",
        "https://127.1/a.jpg",
        "https://1.2.3.4.5/a.jpg",
        "https://images.example.com\\@127.0.0.1/a.jpg",
        "https://images.example.com/a b.jpg",
        "https:///a.jpg",
        "https://images.example.com:99999/a.jpg",
        "https://images.example.com/" + "a" * 2_048,
    ],
)
def test_image_urls_that_are_not_public_https_are_refused(url: str) -> None:
    with pytest.raises(InvalidTerms) as refused:
        check_image_url(url)
    assert refused.value.code == "invalid_image_url"


def test_too_many_or_repeated_images_are_refused() -> None:
    urls = tuple(f"https://images.example.com/{n}.jpg" for n in range(4))
    assert refused_terms(images=urls) == "too_many_images"
    assert refused_terms(images=(urls[0], urls[0])) == "invalid_image_url"
    assert check_terms(replace(TERMS, images=urls[:3]), limits=LIMITS).images == urls[:3]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"start_cents": 0}, "invalid_start_price"),
        ({"start_cents": -5}, "invalid_start_price"),
        (
            {"start_cents": 1_000_000_01, "reserve_cents": None, "buy_now_cents": None},
            "invalid_start_price",
        ),
        ({"reserve_cents": 9_999}, "invalid_reserve"),
        ({"reserve_cents": 1_000_000_01}, "invalid_reserve"),
        ({"buy_now_cents": 10_000, "reserve_cents": None}, "invalid_buy_now"),  # equal to start
        ({"buy_now_cents": 9_000, "reserve_cents": None}, "invalid_buy_now"),
        ({"buy_now_cents": 40_000}, "invalid_buy_now"),  # under the reserve
        ({"buy_now_cents": 1_000_000_01}, "invalid_buy_now"),
    ],
)
def test_prices_must_be_consistent(changes: dict[str, Any], code: str) -> None:
    assert refused_terms(**changes) == code


def test_buy_now_may_equal_the_reserve_and_the_reserve_the_start() -> None:
    check_terms(replace(TERMS, reserve_cents=50_000, buy_now_cents=50_000), limits=LIMITS)
    check_terms(replace(TERMS, reserve_cents=10_000, buy_now_cents=None), limits=LIMITS)
    check_terms(replace(TERMS, reserve_cents=None, buy_now_cents=10_001), limits=LIMITS)


@pytest.mark.parametrize(
    "increments",
    [
        (),
        ((5, 5),),  # does not start at 0
        ((0, 5), (100, 25), (100, 50)),  # not strictly ascending
        ((0, 5), (500, 25), (100, 50)),
        ((0, 0),),
        ((0, -5),),
        tuple((n, 5) for n in range(51)),
    ],
)
def test_bad_increment_tables_are_refused(increments: tuple[tuple[int, int], ...]) -> None:
    assert refused_terms(increments=increments) == "invalid_increments"


def test_the_default_increments_are_ebays_bands() -> None:
    assert DEFAULT_INCREMENTS[0] == (0, 5)
    assert DEFAULT_INCREMENTS[-1] == (500_000, 10_000)
    custom = ((0, 10), (1_000, 100))
    assert check_terms(replace(TERMS, increments=custom), limits=LIMITS).increments == custom


@pytest.mark.parametrize(
    ("starts", "ends", "code"),
    [
        (NOW, NOW + timedelta(seconds=59), "invalid_duration"),
        (NOW, NOW - timedelta(hours=1), "invalid_duration"),
        (NOW, NOW + timedelta(days=30, seconds=1), "invalid_duration"),
        (NOW.replace(tzinfo=None), NOW + timedelta(days=1), "invalid_time"),
    ],
)
def test_the_duration_is_bounded(starts: datetime, ends: datetime, code: str) -> None:
    assert refused_terms(starts_at=starts, ends_at=ends) == code


def test_the_shortest_and_longest_durations_pass() -> None:
    check_terms(replace(TERMS, starts_at=NOW, ends_at=NOW + timedelta(minutes=1)), limits=LIMITS)
    check_terms(replace(TERMS, starts_at=NOW, ends_at=NOW + timedelta(days=30)), limits=LIMITS)


@pytest.mark.parametrize(
    "soft_close",
    [
        SoftClose(0, 120, 10),
        SoftClose(3_601, 120, 10),
        SoftClose(120, 0, 10),
        SoftClose(120, 3_601, 10),
        SoftClose(120, 120, 0),
        SoftClose(120, 120, 101),
    ],
)
def test_soft_close_settings_are_bounded(soft_close: SoftClose) -> None:
    assert refused_terms(soft_close=soft_close) == "invalid_soft_close"


def test_soft_close_may_be_switched_off() -> None:
    assert check_terms(replace(TERMS, soft_close=None), limits=LIMITS).soft_close is None


def test_a_new_lot_is_a_draft_at_its_start_price() -> None:
    lot = draft()
    assert lot.status is Status.DRAFT
    assert lot.current_price_cents == 10_000
    assert lot.ends_at == TERMS.ends_at


def test_publishing_schedules_a_draft() -> None:
    lot = domain.publish(draft(), limits=LIMITS, now=NOW)
    assert lot.status is Status.SCHEDULED
    assert lot.published_at == NOW
    with pytest.raises(NotAllowed) as refused:
        domain.publish(lot, limits=LIMITS, now=NOW)
    assert refused.value.code == "not_draft"


def test_a_start_a_moment_ago_may_be_published_but_not_one_long_past() -> None:
    recent = draft(starts_at=NOW + timedelta(minutes=1))
    later = NOW + timedelta(minutes=1, seconds=3)
    assert domain.publish(recent, limits=LIMITS, now=later).status is Status.SCHEDULED
    old = draft(starts_at=NOW + timedelta(minutes=1))
    with pytest.raises(InvalidTerms) as refused:
        domain.publish(old, limits=LIMITS, now=NOW + timedelta(minutes=2))
    assert refused.value.code == "start_in_past"


def test_a_start_already_past_is_refused_when_the_draft_is_written() -> None:
    assert draft(starts_at=NOW - timedelta(seconds=3)).status is Status.DRAFT  # the grace
    with pytest.raises(InvalidTerms) as refused:
        draft(starts_at=NOW - timedelta(minutes=1))
    assert refused.value.code == "start_in_past"


def test_a_lot_left_to_start_when_published_starts_then_and_runs_its_duration() -> None:
    lot = draft(starts_when_published=True, duration=timedelta(days=2))
    assert (lot.terms.starts_at, lot.ends_at) == (NOW, NOW + timedelta(days=2))  # provisional
    later = NOW + timedelta(days=9)
    published = domain.publish(lot, limits=LIMITS, now=later)
    assert (published.terms.starts_at, published.terms.ends_at) == (
        later,
        later + timedelta(days=2),
    )
    assert published.ends_at == later + timedelta(days=2)
    assert (published.terms.starts_when_published, published.terms.duration) == (False, None)
    assert domain.open_lot(published, now=later).status is Status.OPEN


def test_a_lot_left_to_start_when_published_may_keep_a_fixed_end() -> None:
    end = NOW + timedelta(days=3)
    lot = draft(starts_when_published=True, ends_at=end)
    published = domain.publish(lot, limits=LIMITS, now=NOW + timedelta(days=1))
    assert (published.terms.starts_at, published.ends_at) == (NOW + timedelta(days=1), end)
    with pytest.raises(InvalidTerms) as short:
        domain.publish(lot, limits=LIMITS, now=end - timedelta(seconds=30))
    assert short.value.code == "invalid_duration"


def test_a_scheduled_lot_opens_at_its_start_and_not_before() -> None:
    lot = domain.publish(draft(), limits=LIMITS, now=NOW)
    with pytest.raises(NotAllowed) as early:
        domain.open_lot(lot, now=TERMS.starts_at - timedelta(seconds=1))
    assert early.value.code == "not_due"
    opened = domain.open_lot(lot, now=TERMS.starts_at)
    assert opened.status is Status.OPEN
    assert opened.opened_at == TERMS.starts_at
    with pytest.raises(NotAllowed) as again:
        domain.open_lot(opened, now=TERMS.starts_at)
    assert again.value.code == "not_scheduled"
    with pytest.raises(NotAllowed):
        domain.open_lot(draft(), now=TERMS.starts_at)


def test_a_draft_and_a_scheduled_lot_can_be_edited() -> None:
    edited = domain.edit(draft(), {"start_cents": 20_000}, limits=LIMITS, now=NOW)
    assert edited.current_price_cents == 20_000
    scheduled = domain.publish(draft(), limits=LIMITS, now=NOW)
    later = NOW + timedelta(minutes=5)
    moved = domain.edit(scheduled, {"ends_at": NOW + timedelta(days=3)}, limits=LIMITS, now=later)
    assert moved.ends_at == NOW + timedelta(days=3)
    assert moved.status is Status.SCHEDULED
    with pytest.raises(InvalidTerms):
        domain.edit(draft(), {"title": ""}, limits=LIMITS, now=NOW)


def test_a_scheduled_lot_cannot_be_moved_into_the_past() -> None:
    scheduled = domain.publish(draft(), limits=LIMITS, now=NOW)
    with pytest.raises(InvalidTerms) as refused:
        domain.edit(scheduled, {"starts_at": NOW - timedelta(hours=1)}, limits=LIMITS, now=NOW)
    assert refused.value.code == "start_in_past"


def test_a_listed_lot_asked_to_start_when_published_starts_now() -> None:
    scheduled = domain.publish(draft(), limits=LIMITS, now=NOW)
    later = NOW + timedelta(minutes=5)
    moved = domain.edit(
        scheduled, {"starts_at": None, "duration": timedelta(hours=2)}, limits=LIMITS, now=later
    )
    assert (moved.terms.starts_at, moved.ends_at) == (later, later + timedelta(hours=2))
    assert moved.terms.starts_when_published is False


def test_a_drafts_old_start_is_judged_only_when_it_changes_or_is_published() -> None:
    old = draft()
    late = NOW + timedelta(hours=2)  # its start has passed
    assert domain.edit(old, {"title": "A Leica M3"}, limits=LIMITS, now=late).terms.title == (
        "A Leica M3"
    )
    with pytest.raises(InvalidTerms) as moved:
        domain.edit(old, {"starts_at": NOW}, limits=LIMITS, now=late)
    assert moved.value.code == "start_in_past"


@pytest.mark.parametrize("status", [Status.CLOSED, Status.CANCELLED])
def test_nothing_can_be_edited_once_ended(status: Status) -> None:
    with pytest.raises(NotAllowed) as refused:
        domain.edit(at(status), {"title": "Late"}, limits=LIMITS, now=NOW)
    assert refused.value.code == "not_editable"


@pytest.mark.parametrize("status", [Status.OPEN, Status.SCHEDULED])
def test_a_lot_taking_bids_is_edited_until_its_first_bid(status: Status) -> None:
    start = TERMS.starts_at
    lot = at(status)
    assert domain.taking_bids(lot, now=start) is True
    edited = domain.edit(
        lot, {"title": "A Leica M3", "start_cents": 5_000}, limits=LIMITS, now=start
    )
    assert (edited.terms.title, edited.current_price_cents) == ("A Leica M3", 5_000)
    with pytest.raises(NotAllowed) as refused:
        domain.edit(at(status, bid_count=1), {"title": "x y z"}, limits=LIMITS, now=start)
    assert refused.value.code == "has_bids"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"starts_at": NOW + timedelta(hours=2)}, "start_fixed"),
        ({"starts_at": None}, "start_fixed"),
        ({"currency": "USD"}, "currency_fixed"),
        ({"ends_at": NOW + timedelta(hours=1, minutes=30)}, "end_in_past"),
        ({"duration": timedelta(minutes=30)}, "end_in_past"),
        ({"ends_at": NOW + timedelta(days=60)}, "invalid_duration"),
    ],
)
def test_an_open_lot_keeps_its_start_its_currency_and_an_end_ahead(
    changes: dict[str, Any], code: str
) -> None:
    with pytest.raises((NotAllowed, InvalidTerms)) as refused:
        domain.edit(at(Status.OPEN), changes, limits=LIMITS, now=NOW + timedelta(hours=2))
    assert refused.value.code == code


def test_an_open_lot_may_take_its_own_start_and_currency_again() -> None:
    same = {"starts_at": TERMS.starts_at, "currency": "eur", "ends_at": NOW + timedelta(days=2)}
    edited = domain.edit(at(Status.OPEN), same, limits=LIMITS, now=NOW + timedelta(hours=2))
    assert edited.ends_at == NOW + timedelta(days=2)


def test_a_scheduled_lot_whose_start_has_come_keeps_its_start() -> None:
    scheduled = domain.publish(draft(), limits=LIMITS, now=NOW)
    later = {"starts_at": TERMS.starts_at + timedelta(hours=1)}
    with pytest.raises(NotAllowed) as refused:
        domain.edit(scheduled, later, limits=LIMITS, now=TERMS.starts_at)
    assert refused.value.code == "start_fixed"


def test_an_unsold_lot_is_relisted_with_its_terms_to_start_when_published() -> None:
    unsold = at(Status.CLOSED, outcome=Outcome.UNSOLD)
    later = NOW + timedelta(days=10)
    again = domain.relist(
        unsold, new_id="lot2", relisting=None, changes={"title": "Leica"}, limits=LIMITS, now=later
    )
    assert (again.id, again.status, again.relisted_from) == ("lot2", Status.DRAFT, "lot1")
    assert again.terms.title == "Leica"
    assert again.terms.duration == TERMS.ends_at - TERMS.starts_at
    assert again.created_at == later
    marked = domain.mark_relisted(unsold, as_id="lot2", now=later)
    assert (marked.status, marked.relisted_as) == (Status.CLOSED, "lot2")


def test_only_an_unsold_lot_is_relisted_and_only_once() -> None:
    sold = at(Status.CLOSED, outcome=Outcome.SOLD)
    relisted = at(Status.CLOSED, outcome=Outcome.UNSOLD, relisted_as="lot2")
    cases = [
        (sold, None, "not_relistable"),
        (at(Status.OPEN), None, "not_relistable"),
        (at(Status.CANCELLED), None, "not_relistable"),
        (relisted, Status.DRAFT, "already_relisted"),
    ]
    for lot, relisting, code in cases:
        with pytest.raises(NotAllowed) as refused:
            domain.relist(lot, new_id="x", relisting=relisting, changes={}, limits=LIMITS, now=NOW)
        assert refused.value.code == code
    again = domain.relist(
        relisted, new_id="lot3", relisting=Status.CANCELLED, changes={}, limits=LIMITS, now=NOW
    )
    assert again.relisted_from == "lot1"


@pytest.mark.parametrize("by", ["seller", "admin"])
@pytest.mark.parametrize("status", [Status.DRAFT, Status.SCHEDULED])
def test_lots_not_taking_bids_are_cancelled_without_the_book(
    status: Status, by: domain.Actor
) -> None:
    lot = at(status)
    assert domain.cancel_needs_book(lot, by=by, now=NOW) is False
    cancelled = domain.cancel(lot, by=by, now=NOW)
    assert cancelled.status is Status.CANCELLED
    assert cancelled.cancelled_by == by


def test_an_open_lot_is_cancelled_only_after_asking_the_book() -> None:
    assert domain.cancel_needs_book(at(Status.OPEN), by="seller", now=NOW) is True
    assert domain.cancel_needs_book(at(Status.OPEN, bid_count=3), by="admin", now=NOW) is True
    # From its start time on, the book may already take bids.
    due = at(Status.SCHEDULED)
    assert domain.cancel_needs_book(due, by="seller", now=TERMS.starts_at) is True


def test_a_seller_cannot_cancel_a_lot_known_to_have_bids() -> None:
    with pytest.raises(NotAllowed) as refused:
        domain.cancel_needs_book(at(Status.OPEN, bid_count=1), by="seller", now=NOW)
    assert refused.value.code == "has_bids"


@pytest.mark.parametrize("by", ["seller", "admin"])
@pytest.mark.parametrize("status", [Status.CLOSED, Status.CANCELLED])
def test_ended_lots_cannot_be_cancelled(status: Status, by: domain.Actor) -> None:
    with pytest.raises(NotAllowed) as asked:
        domain.cancel_needs_book(at(status), by=by, now=NOW)
    with pytest.raises(NotAllowed) as cancelled:
        domain.cancel(at(status), by=by, now=NOW)
    assert asked.value.code == cancelled.value.code == "not_cancellable"


def test_a_result_closes_an_open_lot_sold_or_unsold() -> None:
    lot = at(Status.OPEN, bid_count=4, current_price_cents=60_000, leader_id="bea")
    sold = domain.record_result(
        lot, sold=True, winner_id="bea", price_cents=60_000, bid_count=4, now=NOW
    )
    assert (sold.status, sold.outcome, sold.winner_id) == (Status.CLOSED, Outcome.SOLD, "bea")
    assert sold.final_price_cents == 60_000
    assert sold.closed_at == NOW
    unsold = domain.record_result(
        lot, sold=False, winner_id=None, price_cents=45_000, bid_count=4, now=NOW
    )
    assert (unsold.outcome, unsold.winner_id, unsold.final_price_cents) == (
        Outcome.UNSOLD,
        None,
        None,
    )
    assert unsold.current_price_cents == 45_000


def test_a_lot_bought_at_once_ends_when_it_was_bought() -> None:
    lot = at(Status.OPEN)
    bought = NOW + timedelta(hours=2)
    closed = domain.record_result(
        lot,
        sold=True,
        winner_id="bea",
        price_cents=90_000,
        bid_count=0,
        now=bought + timedelta(seconds=1),
        closed_at=bought,
        by_buy_now=True,
    )
    assert closed.ends_at == closed.closed_at == bought
    assert closed.terms.ends_at == TERMS.ends_at  # the planned end stays in the terms
    ran = domain.record_result(
        lot,
        sold=False,
        winner_id=None,
        price_cents=0,
        bid_count=0,
        now=TERMS.ends_at + timedelta(seconds=1),
        closed_at=TERMS.ends_at,
    )
    assert (ran.ends_at, ran.closed_at) == (TERMS.ends_at, TERMS.ends_at)


def test_a_result_is_recorded_only_once_and_needs_a_winner_when_sold() -> None:
    closed = domain.record_result(
        at(Status.OPEN), sold=False, winner_id=None, price_cents=0, bid_count=0, now=NOW
    )
    assert closed.current_price_cents == TERMS.start_cents  # no bids: the price stays
    for lot in (closed, at(Status.CANCELLED), at(Status.DRAFT)):
        with pytest.raises(NotAllowed) as refused:
            domain.record_result(
                lot, sold=False, winner_id=None, price_cents=0, bid_count=0, now=NOW
            )
        assert refused.value.code == "not_open"
    with pytest.raises(NotAllowed):
        domain.record_result(
            at(Status.OPEN), sold=True, winner_id=None, price_cents=1, bid_count=1, now=NOW
        )


def test_bids_apply_in_sequence_and_older_news_is_ignored() -> None:
    end = TERMS.ends_at
    lot = domain.apply_bid(
        at(Status.OPEN),
        seq=2,
        price_cents=12_000,
        bid_count=2,
        leader_id="bea",
        ends_at=end,
        now=NOW,
    )
    assert (lot.current_price_cents, lot.bid_count, lot.leader_id) == (12_000, 2, "bea")
    stale = domain.apply_bid(
        lot, seq=1, price_cents=11_000, bid_count=1, leader_id="cy", ends_at=end, now=NOW
    )
    assert stale is lot
    closed = at(Status.CLOSED)
    assert (
        domain.apply_bid(
            closed, seq=9, price_cents=1, bid_count=9, leader_id="cy", ends_at=end, now=NOW
        )
        is closed
    )


def test_ends_only_move_later() -> None:
    lot = at(Status.OPEN)
    later = domain.extend(lot, ends_at=lot.ends_at + timedelta(minutes=2), extensions=1, now=NOW)
    assert later.ends_at == lot.ends_at + timedelta(minutes=2)
    assert later.extensions == 1
    earlier = domain.extend(later, ends_at=lot.ends_at, extensions=0, now=NOW)
    assert (earlier.ends_at, earlier.extensions) == (later.ends_at, 1)


def test_a_retraction_recomputes_price_and_leader() -> None:
    lot = at(Status.OPEN, current_price_cents=20_000, bid_count=3, leader_id="bea")
    after = domain.apply_retraction(lot, price_cents=15_000, leader_id="cy", bid_count=2, now=NOW)
    assert (after.current_price_cents, after.leader_id, after.bid_count) == (15_000, "cy", 2)


def test_the_reserve_is_met_only_by_a_bid_at_or_above_it() -> None:
    assert domain.reserve_met(draft(reserve_cents=None)) is None
    assert domain.reserve_met(at(Status.OPEN)) is False
    assert domain.reserve_met(at(Status.OPEN, bid_count=1, current_price_cents=49_999)) is False
    assert domain.reserve_met(at(Status.OPEN, bid_count=2, current_price_cents=50_000)) is True


def test_buy_now_is_offered_until_the_first_bid_with_or_without_a_reserve() -> None:
    no_reserve = replace(draft(reserve_cents=None), status=Status.OPEN)
    assert domain.buy_now_available(no_reserve)
    assert not domain.buy_now_available(replace(no_reserve, bid_count=1))
    with_reserve = at(Status.OPEN, bid_count=0)
    assert domain.buy_now_available(with_reserve)
    assert not domain.buy_now_available(replace(with_reserve, bid_count=1))
    assert not domain.buy_now_available(at(Status.CLOSED))
    assert not domain.buy_now_available(draft(buy_now_cents=None))


def test_ending_soon_reminders_fall_after_the_start_only() -> None:
    lot = draft(starts_at=NOW, ends_at=NOW + timedelta(minutes=30))
    planned = domain.reminders(lot, [60, 15, 5, 15])
    assert planned == [
        (5, NOW + timedelta(minutes=25)),
        (15, NOW + timedelta(minutes=15)),
    ]
    assert domain.reminder_due_at(lot.ends_at, 5) == NOW + timedelta(minutes=25)
    assert domain.reminder_is_stale(lot.ends_at, now=lot.ends_at)
    assert not domain.reminder_is_stale(lot.ends_at, now=lot.ends_at - timedelta(seconds=1))


def test_drafts_are_seen_by_their_seller_and_admins_only() -> None:
    assert domain.visible_to(Status.DRAFT, seller_id="sam", viewer_id="sam", admin=False)
    assert domain.visible_to(Status.DRAFT, seller_id="sam", viewer_id="root", admin=True)
    assert not domain.visible_to(Status.DRAFT, seller_id="sam", viewer_id="bea", admin=False)
    assert not domain.visible_to(Status.DRAFT, seller_id="sam", viewer_id=None, admin=False)
    assert domain.visible_to(Status.SCHEDULED, seller_id="sam", viewer_id=None, admin=False)
