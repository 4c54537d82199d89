"""The feedback rules: who rates whom on an order, until when and how often; a member's score.

Pure: standard library only, the time is an argument. Once the buyer has received
the lot (confirmed, or confirmed by itself after the confirmation period), the
buyer and the seller may each rate the other once on that order (positive,
neutral, negative, with a short comment) for ``WINDOW`` after ``received_at``,
and change what they said once, within the same window. A refunded order takes
no new feedback; what was said before the refund stays (and may still be edited).

A member's score counts as eBay does: +1 for a positive, -1 for a negative, 0
for a neutral, but one member moves another's score by at most one point per
calendar week (Monday to Sunday, UTC, by when each rating was first left): the
sign of that rater's net for the week. The percentage positive is over the last
twelve months: positives among positives and negatives, neutrals left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from auction_platform.services.payment.domain import NotAllowed

WINDOW = timedelta(days=60)  # from ``received_at``: first feedback and its edit
EDITS_ALLOWED = 1
COMMENT_MAX = 500
RECENT = timedelta(days=365)  # "the last 12 months" of the percentage positive


class Rating(StrEnum):
    """What one party thought of the other on one order."""

    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"

    @property
    def points(self) -> int:
        """What the rating adds to a score."""
        return _POINTS[self]


_POINTS = {Rating.POSITIVE: 1, Rating.NEUTRAL: 0, Rating.NEGATIVE: -1}


class Side(StrEnum):
    """The rater's side of the order (the buyer rates the seller, the seller the buyer)."""

    BUYER = "buyer"
    SELLER = "seller"


@dataclass(frozen=True, slots=True)
class Deal:
    """What of an order the feedback rules read."""

    order_id: str
    auction_id: str
    title: str
    buyer_id: str
    seller_id: str
    received_at: datetime | None  # None until the buyer has the lot
    refunded: bool = False


@dataclass(frozen=True, slots=True)
class Feedback:
    """One party's rating of the other on one order."""

    order_id: str
    side: Side
    rater_id: str
    ratee_id: str
    auction_id: str
    title: str
    rating: Rating
    comment: str
    created_at: datetime
    updated_at: datetime
    edits: int = 0

    @property
    def edits_left(self) -> int:
        """How many more times it may be changed (within the window)."""
        return max(0, EDITS_ALLOWED - self.edits)


@dataclass(frozen=True, slots=True)
class Outcome:
    """Feedback after a submission: ``created`` the first time, ``changed`` unless a repeat."""

    feedback: Feedback
    created: bool
    changed: bool


def side_of(deal: Deal, user_id: str) -> Side | None:
    """The side of the order ``user_id`` is on, or None when they are not a party."""
    if user_id == deal.buyer_id:
        return Side.BUYER
    if user_id == deal.seller_id:
        return Side.SELLER
    return None


def window_closes_at(deal: Deal) -> datetime | None:
    """The moment feedback on the order can no longer be left or changed."""
    return deal.received_at + WINDOW if deal.received_at is not None else None


def clean_comment(text: str) -> str:
    """The comment as kept: runs of white space (line breaks too) as one space, trimmed.

    1 to ``COMMENT_MAX`` printable characters; a control or formatting character is
    refused rather than kept or silently dropped.
    """
    cleaned = " ".join(text.split())
    if not cleaned:
        raise NotAllowed("invalid_comment", "write a short comment")
    if len(cleaned) > COMMENT_MAX:
        raise NotAllowed("invalid_comment", f"keep the comment to {COMMENT_MAX} characters")
    if not cleaned.isprintable():
        raise NotAllowed("invalid_comment", "the comment holds characters that cannot be shown")
    return cleaned


def check_open(deal: Deal, earlier: Feedback | None, *, now: datetime) -> None:
    """Raise unless feedback may be left now (``earlier``: the rater's, to be changed)."""
    closes = window_closes_at(deal)
    if closes is None:
        raise NotAllowed("not_received", "feedback opens once the buyer has received the lot")
    if earlier is None and deal.refunded:
        raise NotAllowed("order_refunded", "a refunded order takes no new feedback")
    if now >= closes:
        raise NotAllowed(
            "feedback_window_closed",
            f"feedback closes {WINDOW.days} days after the lot was received",
        )
    if earlier is not None and earlier.edits_left <= 0:
        raise NotAllowed(
            "feedback_edit_used", "feedback may be changed only once, and it has been changed"
        )


def leave(
    deal: Deal,
    *,
    user_id: str,
    rating: Rating,
    comment: str,
    earlier: Feedback | None,
    now: datetime,
) -> Outcome:
    """The feedback ``user_id`` leaves (or changes) on the order.

    Sending again what stands already changes nothing and is no edit (a retried
    request must not use up the one change).
    """
    side = side_of(deal, user_id)
    if side is None:
        raise NotAllowed("not_a_party", "only the order's buyer and seller leave feedback on it")
    text = clean_comment(comment)
    if earlier is not None and (earlier.rating, earlier.comment) == (rating, text):
        return Outcome(earlier, created=False, changed=False)
    check_open(deal, earlier, now=now)
    if earlier is not None:
        edited = replace(
            earlier, rating=rating, comment=text, edits=earlier.edits + 1, updated_at=now
        )
        return Outcome(edited, created=False, changed=True)
    ratee = deal.seller_id if side is Side.BUYER else deal.buyer_id
    first = Feedback(
        order_id=deal.order_id,
        side=side,
        rater_id=user_id,
        ratee_id=ratee,
        auction_id=deal.auction_id,
        title=deal.title,
        rating=rating,
        comment=text,
        created_at=now,
        updated_at=now,
    )
    return Outcome(first, created=True, changed=True)


@dataclass(frozen=True, slots=True)
class Counts:
    """How many ratings of each kind."""

    positive: int = 0
    neutral: int = 0
    negative: int = 0


@dataclass(frozen=True, slots=True)
class Standing:
    """A member's reputation from the feedback they received."""

    score: int
    percent_positive: float | None  # last 12 months; None without a positive or negative
    recent: Counts  # the last 12 months
    total: Counts


@dataclass(frozen=True, slots=True)
class Received:
    """One rating a member received, as the score reads it."""

    rater_id: str
    rating: Rating
    left_at: datetime  # when it was first left (an edit does not move it to another week)


def _week(moment: datetime) -> tuple[int, int]:
    year, week, _ = moment.isocalendar()
    return year, week


def score(ratings: Iterable[Received]) -> int:
    """Positives less negatives, each rater counted at most once per calendar week."""
    net: Counter[tuple[str, tuple[int, int]]] = Counter()
    for each in ratings:
        net[(each.rater_id, _week(each.left_at))] += each.rating.points
    return sum((points > 0) - (points < 0) for points in net.values())


def _counts(ratings: Iterable[Received]) -> Counts:
    kinds = Counter(each.rating for each in ratings)
    return Counts(kinds[Rating.POSITIVE], kinds[Rating.NEUTRAL], kinds[Rating.NEGATIVE])


def standing(ratings: Iterable[Received], *, now: datetime) -> Standing:
    """Score, percentage positive and counts of the ratings a member received."""
    every = list(ratings)
    recent = _counts(each for each in every if each.left_at > now - RECENT)
    rated = recent.positive + recent.negative
    percent = round(100 * recent.positive / rated, 1) if rated else None
    return Standing(score(every), percent, recent, _counts(every))
