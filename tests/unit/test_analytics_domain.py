"""The arithmetic of the analytics rollups: rates, time to first bid, buckets, bands."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import get_args

import pytest

from auction_platform.contracts.auctions import AuctionFormat
from auction_platform.services.analytics import domain
from auction_platform.services.analytics.domain import Totals

T0 = datetime(2030, 3, 1, 23, 59, 30, 500_000, tzinfo=UTC)


def test_a_rate_is_none_when_nothing_was_counted() -> None:
    assert domain.rate(0, 0) is None
    assert domain.rate(3, 0) is None


def test_a_rate_is_rounded_to_four_places() -> None:
    assert domain.rate(1, 3) == 0.3333
    assert domain.rate(2, 2) == 1.0
    assert domain.rate(0, 5) == 0.0


def test_sell_through_is_sold_over_sold_and_unsold() -> None:
    totals = Totals(sold=3, unsold=1, cancelled=5, listed=20)
    assert totals.rates()["sell_through_rate"] == 0.75


def test_sell_through_is_none_before_anything_closed() -> None:
    assert Totals(listed=4, opened=2, cancelled=1).rates()["sell_through_rate"] is None


def test_conversion_counts_paid_orders_of_the_orders_created_in_the_range() -> None:
    # orders_paid counts payments on their own day (one was for an older order);
    # conversion only compares the orders created here with how many of those paid.
    totals = Totals(orders_created=4, orders_paid=3, orders_created_paid=2)
    assert totals.rates()["payment_conversion_rate"] == 0.5


def test_average_time_to_first_bid_is_over_auctions_with_a_first_bid() -> None:
    totals = Totals(opened=5, first_bids=2, first_bid_seconds=90.0)
    assert totals.rates()["average_seconds_to_first_bid"] == 45.0
    assert Totals(opened=5).rates()["average_seconds_to_first_bid"] is None


def test_bids_per_closed_auction_uses_the_bid_counts_of_the_results() -> None:
    assert Totals(sold=1, unsold=1, closed_bids=7).rates()["bids_per_closed_auction"] == 3.5
    assert Totals(bids=9).rates()["bids_per_closed_auction"] is None


def test_totals_add_rollup_rows_and_ignore_other_columns() -> None:
    totals = Totals()
    totals.add({"day": date(2030, 1, 1), "category": "cameras", "sold": 1, "gmv_cents": 500})
    totals.add({"sold": 2, "gmv_cents": 700, "first_bid_seconds": 1.5, "first_bids": 1})
    assert (totals.sold, totals.gmv_cents, totals.first_bid_seconds) == (3, 1_200, 1.5)


def test_refunds_come_off_gmv_and_fees_and_the_gross_stays() -> None:
    totals = Totals(gmv_cents=5_000, fees_cents=750)
    totals.add({"refunds": 1, "refunded_cents": 5_250, "refunded_gmv_cents": 5_000})
    totals.add({"refunded_fees_cents": 750})
    assert totals.money() == {
        "gross_gmv_cents": 5_000,
        "net_gmv_cents": 0,
        "gross_fees_cents": 750,
        "net_fees_cents": 0,
        "refunded_cents": 5_250,
    }
    assert totals.refunds == 1


def test_time_to_first_bid_is_the_seconds_from_opening_to_the_bid() -> None:
    assert domain.seconds_between(T0, T0 + timedelta(minutes=2, seconds=3)) == 123.0


def test_a_bid_stamped_before_the_opening_counts_as_at_the_opening() -> None:
    assert domain.seconds_between(T0, T0 - timedelta(milliseconds=40)) == 0.0


def test_naive_times_are_read_as_utc() -> None:
    naive = T0.replace(tzinfo=None)
    assert domain.seconds_between(naive, T0 + timedelta(seconds=1)) == 1.0


def test_a_bid_falls_in_the_minute_its_seconds_are_cut_from() -> None:
    assert domain.minute_of(T0) == datetime(2030, 3, 1, 23, 59, tzinfo=UTC)
    paris = timezone(timedelta(hours=1))
    assert domain.minute_of(datetime(2030, 3, 2, 0, 59, 59, tzinfo=paris)) == datetime(
        2030, 3, 1, 23, 59, tzinfo=UTC
    )


def test_a_day_is_the_utc_calendar_day() -> None:
    tokyo = timezone(timedelta(hours=9))
    assert domain.day_of(datetime(2030, 3, 2, 8, 0, tzinfo=tokyo)) == date(2030, 3, 1)


def test_event_times_parse_to_aware_utc() -> None:
    assert domain.parse_time("2030-03-01T23:59:30.500000+00:00") == T0
    assert domain.parse_time("2030-03-01T23:59:30.500000") == T0
    with pytest.raises(ValueError, match="yesterday"):
        domain.parse_time("yesterday")


def test_the_busiest_minute_and_the_rate_over_active_minutes() -> None:
    minute = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
    buckets = [(minute, 3), (minute + timedelta(minutes=3), 5)]
    assert domain.peak(buckets) == 5
    # 8 bids over four minutes (12:00 to 12:03 inclusive), quiet minutes included.
    assert domain.active_minutes_rate(buckets) == 2.0
    assert domain.peak([]) == 0
    assert domain.active_minutes_rate([]) is None


@pytest.mark.parametrize(
    ("cents", "band"),
    [
        (0, (0, 1_000)),
        (999, (0, 1_000)),
        (1_000, (1_000, 5_000)),
        (49_999, (10_000, 50_000)),
        (100_000, (100_000, None)),
        (10**12, (100_000, None)),
    ],
)
def test_a_price_falls_in_one_band_low_inclusive_high_exclusive(
    cents: int, band: tuple[int, int | None]
) -> None:
    assert domain.price_band(cents) == band


def test_bands_are_named_by_their_limits_in_minor_units() -> None:
    assert domain.band_key(1_000, 5_000) == "1000-5000"
    assert domain.band_key(100_000, None) == "100000-"


def test_a_status_only_moves_forward() -> None:
    assert domain.status_advances("scheduled", "open")
    assert domain.status_advances("open", "closed")
    assert domain.status_advances("scheduled", "cancelled")
    assert not domain.status_advances("closed", "open")
    assert not domain.status_advances("closed", "cancelled")
    assert not domain.status_advances("cancelled", "closed")
    assert not domain.status_advances("open", "open")


def test_a_minute_series_counts_quiet_minutes_as_zero() -> None:
    last = datetime(2030, 3, 2, 0, 1, 42, tzinfo=UTC)
    busy = [
        (datetime(2030, 3, 1, 23, 59, tzinfo=UTC), 3),
        (datetime(2030, 3, 2, 0, 1, tzinfo=UTC), 1),
        (datetime(2030, 3, 1, 23, 0, tzinfo=UTC), 9),  # before the window
    ]
    series = domain.minute_series(busy, last=last, minutes=4)
    assert series == [
        (datetime(2030, 3, 1, 23, 58, tzinfo=UTC), 0),
        (datetime(2030, 3, 1, 23, 59, tzinfo=UTC), 3),
        (datetime(2030, 3, 2, 0, 0, tzinfo=UTC), 0),
        (datetime(2030, 3, 2, 0, 1, tzinfo=UTC), 1),
    ]
    assert domain.minute_series([], last=last, minutes=1) == [
        (datetime(2030, 3, 2, 0, 1, tzinfo=UTC), 0)
    ]


def test_a_default_range_reaching_before_the_first_day_is_refused_not_overflowed() -> None:
    with pytest.raises(domain.BadRange, match="'to' must be after"):
        domain.report_days(None, date(1, 1, 1), today=date(2026, 12, 4))
    start, end = domain.report_days(None, date(1, 1, 30), today=date(2026, 12, 4))
    assert (start, end) == (date(1, 1, 1), date(1, 1, 30))


def test_the_formats_are_the_contracts_in_the_reports_order() -> None:
    assert get_args(AuctionFormat) == domain.FORMAT_ORDER


def test_an_event_without_a_format_or_with_an_unknown_one_is_english() -> None:
    assert domain.sale_format({}) == "english"
    assert domain.sale_format({"format": None}) == "english"
    assert domain.sale_format({"format": "candle"}) == "english"
    assert domain.sale_format({"format": "dutch"}) == "dutch"


def test_only_a_dutch_listing_has_a_clock() -> None:
    clock = {"floor_cents": 500, "step_cents": 100, "tick_seconds": 60.0, "extra": 1}
    assert domain.dutch_clock({"format": "dutch", "dutch": clock}) == {
        "floor_cents": 500,
        "step_cents": 100,
        "tick_seconds": 60,
    }
    assert domain.dutch_clock({"format": "dutch", "dutch": None}) is None
    assert domain.dutch_clock({"format": "english", "dutch": clock}) is None
    assert domain.dutch_clock({"dutch": clock}) is None


def test_an_open_dutch_hit_nobody_bought_is_priced_by_its_clock_at_the_answer() -> None:
    start = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
    hit = {
        "format": "dutch",
        "status": "open",
        "bid_count": 0,
        "current_price_cents": 10_000,  # the index keeps the start price
        "dutch": {"floor_cents": 4_000, "step_cents": 500, "tick_seconds": 60},
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(minutes=5)).isoformat(),
    }

    def price(at: datetime, **changed: object) -> object:
        return domain.clock_priced({**hit, **changed}, at)["current_price_cents"]

    assert price(start + timedelta(seconds=59)) == 10_000
    assert price(start + timedelta(minutes=3, seconds=1)) == 8_500
    assert price(start + timedelta(hours=2)) == 7_500  # the clock stops at the end
    assert hit["current_price_cents"] == 10_000  # the hit itself is left as it was
    # Bought (its acceptance heard of before its close), ended, not Dutch: as stored.
    later = start + timedelta(minutes=3)
    assert price(later, bid_count=1, current_price_cents=9_000) == 9_000
    assert price(later, status="closed") == 10_000
    assert price(later, format="english", dutch=None) == 10_000
