"""The feedback rules: who rates whom, the 60-day window, one change, and the score."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from auction_platform.services.payment import reputation
from auction_platform.services.payment.domain import NotAllowed
from auction_platform.services.payment.reputation import (
    Counts,
    Deal,
    Feedback,
    Rating,
    Received,
    Side,
)

RECEIVED = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday
DEAL = Deal("o1", "a1", "A Leica M3", buyer_id="bob", seller_id="sam", received_at=RECEIVED)
GOOD, BAD, MEH = Rating.POSITIVE, Rating.NEGATIVE, Rating.NEUTRAL


def leave(
    user_id: str = "bob",
    rating: Rating = GOOD,
    comment: str = "Fast and friendly",
    *,
    earlier: Feedback | None = None,
    deal: Deal = DEAL,
    now: datetime = RECEIVED + timedelta(days=1),
) -> reputation.Outcome:
    return reputation.leave(
        deal, user_id=user_id, rating=rating, comment=comment, earlier=earlier, now=now
    )


def refused(code: str, **kwargs: object) -> None:
    with pytest.raises(NotAllowed) as caught:
        leave(**kwargs)  # type: ignore[arg-type]
    assert caught.value.code == code


def test_the_buyer_rates_the_seller_and_the_seller_the_buyer() -> None:
    by_buyer = leave("bob").feedback
    assert (by_buyer.side, by_buyer.rater_id, by_buyer.ratee_id) == (Side.BUYER, "bob", "sam")
    by_seller = leave("sam", MEH, "Paid at once").feedback
    assert (by_seller.side, by_seller.rater_id, by_seller.ratee_id) == (Side.SELLER, "sam", "bob")
    assert (by_seller.title, by_seller.auction_id, by_seller.edits) == ("A Leica M3", "a1", 0)


def test_nobody_else_rates_an_order() -> None:
    refused("not_a_party", user_id="eve")


def test_feedback_opens_only_once_the_lot_is_received() -> None:
    refused("not_received", deal=replace(DEAL, received_at=None))


@pytest.mark.parametrize(
    ("after", "open_"),
    [
        (timedelta(0), True),
        (timedelta(days=60) - timedelta(microseconds=1), True),
        (timedelta(days=60), False),
        (timedelta(days=61), False),
    ],
)
def test_the_window_is_sixty_days_from_receipt(after: timedelta, open_: bool) -> None:
    now = RECEIVED + after
    if open_:
        assert leave(now=now).created
    else:
        refused("feedback_window_closed", now=now)
    assert reputation.window_closes_at(DEAL) == RECEIVED + timedelta(days=60)


def test_feedback_may_be_changed_once_within_the_window() -> None:
    first = leave(now=RECEIVED).feedback
    changed = leave(rating=BAD, comment="It broke", earlier=first, now=RECEIVED + timedelta(days=5))
    assert (changed.created, changed.changed) == (False, True)
    edited = changed.feedback
    assert (edited.rating, edited.comment, edited.edits, edited.edits_left) == (
        BAD,
        "It broke",
        1,
        0,
    )
    assert (edited.created_at, edited.updated_at) == (RECEIVED, RECEIVED + timedelta(days=5))
    refused("feedback_edit_used", rating=MEH, comment="Fine after all", earlier=edited)
    late = RECEIVED + timedelta(days=60)
    refused("feedback_window_closed", rating=BAD, comment="Late change", earlier=first, now=late)


def test_sending_what_stands_again_is_no_change() -> None:
    first = leave(comment="Fast  and friendly ").feedback
    again = leave(comment=" Fast and\nfriendly", earlier=first)
    assert (again.created, again.changed, again.feedback) == (False, False, first)
    used = replace(first, edits=1)
    late = RECEIVED + timedelta(days=90)
    assert not leave(earlier=used, now=late).changed  # a retry after the window: no refusal


def test_a_refunded_order_takes_no_new_feedback_but_keeps_what_was_said() -> None:
    refunded = replace(DEAL, refunded=True)
    refused("order_refunded", deal=refunded)
    first = leave().feedback
    assert leave(rating=MEH, comment="Refunded, fine", earlier=first, deal=refunded).changed


@pytest.mark.parametrize(
    ("comment", "kept"),
    [
        ("  Great\tseller\r\n thanks  ", "Great seller thanks"),
        ("x" * 500, "x" * 500),
        ("  " + "y" * 500 + "  ", "y" * 500),
        ("Très bien 👍", "Très bien 👍"),
    ],
)
def test_a_comment_is_trimmed_and_its_white_space_folded(comment: str, kept: str) -> None:
    assert reputation.clean_comment(comment) == kept


@pytest.mark.parametrize("comment", ["", "   \n\t", "x" * 501, "bad\x00byte", "zero\u200bwidth"])
def test_a_comment_must_be_1_to_500_printable_characters(comment: str) -> None:
    refused("invalid_comment", comment=comment)


def ratings(*given: tuple[str, Rating, datetime]) -> list[Received]:
    return [Received(rater, rating, at) for rater, rating, at in given]


def test_the_score_is_positives_less_negatives() -> None:
    week = timedelta(days=7)
    given = ratings(
        ("ann", GOOD, RECEIVED),
        ("bob", GOOD, RECEIVED),
        ("cat", BAD, RECEIVED),
        ("dan", MEH, RECEIVED),
        ("ann", GOOD, RECEIVED + week),  # another week: counts again
    )
    assert reputation.score(given) == 2


def test_one_member_moves_the_score_by_one_point_a_week_at_most() -> None:
    monday, sunday = RECEIVED, RECEIVED + timedelta(days=6, hours=14)
    next_monday = RECEIVED + timedelta(days=7)
    assert reputation.score(ratings(("ann", GOOD, monday), ("ann", GOOD, sunday))) == 1
    assert reputation.score(ratings(("ann", BAD, monday), ("ann", BAD, sunday))) == -1
    assert reputation.score(ratings(("ann", GOOD, monday), ("ann", GOOD, next_monday))) == 2
    mixed = ratings(("ann", GOOD, monday), ("ann", BAD, sunday), ("ann", GOOD, sunday))
    assert reputation.score(mixed) == 1  # the week's net: +1
    assert reputation.score(ratings(("ann", GOOD, monday), ("ann", BAD, sunday))) == 0


def test_percent_positive_counts_the_last_twelve_months_without_neutrals() -> None:
    now = RECEIVED + timedelta(days=400)
    given = ratings(
        ("ann", GOOD, now - timedelta(days=1)),
        ("bob", GOOD, now - timedelta(days=30)),
        ("cat", BAD, now - timedelta(days=100)),
        ("dan", MEH, now - timedelta(days=2)),
        ("eve", BAD, now - timedelta(days=366)),  # older than a year: score and total only
    )
    standing = reputation.standing(given, now=now)
    assert standing.percent_positive == 66.7
    assert standing.recent == Counts(positive=2, neutral=1, negative=1)
    assert standing.total == Counts(positive=2, neutral=1, negative=2)
    assert standing.score == 0


def test_without_positives_or_negatives_there_is_no_percentage() -> None:
    assert reputation.standing([], now=RECEIVED).percent_positive is None
    only_neutral = ratings(("ann", MEH, RECEIVED))
    assert reputation.standing(only_neutral, now=RECEIVED).percent_positive is None
    assert reputation.standing(ratings(("ann", GOOD, RECEIVED)), now=RECEIVED).score == 1
