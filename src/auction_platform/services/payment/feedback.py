"""Use cases of feedback: leave (or change) it on an order, read an order's, read a member's.

One transaction each. A refusal of the rules (``reputation``) leaves as a domain
error of ``core.failures``: ``not_a_party`` is forbidden (403), a comment that cannot
be kept is invalid (422), every other refusal is about the moment (409).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from auction_platform.contracts.payments import FEEDBACK_LEFT, FeedbackData
from auction_platform.core.failures import Conflict, DomainError, Forbidden, Invalid
from auction_platform.services.payment import feedback_store, reputation, store
from auction_platform.services.payment.domain import (
    Caller,
    Fulfilment,
    NotAllowed,
    Order,
    Status,
)
from auction_platform.services.payment.handlers import Payments, decode_cursor, visible
from auction_platform.services.payment.reputation import (
    Deal,
    Feedback,
    Outcome,
    Rating,
    Side,
    Standing,
)

_KINDS: dict[str, type[DomainError]] = {"not_a_party": Forbidden, "invalid_comment": Invalid}


@dataclass(frozen=True, slots=True)
class LeaveFeedback:
    """A party of an order rates the other party (or changes their rating)."""

    order_id: str
    caller: Caller
    rating: Rating
    comment: str


@dataclass(frozen=True, slots=True)
class OrderFeedback:
    """The feedback on one order, and whether the caller may leave (or change) theirs now."""

    deal: Deal
    given: dict[Side, Feedback]
    side: Side | None  # the caller's side; None for an admin who is no party
    refusal: NotAllowed | None  # why the caller may not leave or change theirs now

    @property
    def closes_at(self) -> datetime | None:
        """When feedback on the order closes (None until the lot is received)."""
        return reputation.window_closes_at(self.deal)


@dataclass(frozen=True, slots=True)
class MemberFeedback:
    """A member's standing and one page of the feedback they received, newest first."""

    user_id: str
    standing: Standing
    items: list[Feedback]
    next_cursor: str | None


def refusal(error: NotAllowed) -> DomainError:
    """A refusal of the feedback rules, as the kind of error the HTTP edge maps."""
    return _KINDS.get(error.code, Conflict)(error.code, error.message)


def deal_of(order: Order) -> Deal:
    """What of an order the feedback rules read: open once the lot is received."""
    received = order.received_at if order.fulfilment is Fulfilment.RECEIVED else None
    return Deal(
        order_id=order.id,
        auction_id=order.auction_id,
        title=order.title,
        buyer_id=order.buyer_id,
        seller_id=order.seller_id,
        received_at=received,
        refunded=order.status is Status.REFUNDED,
    )


def feedback_data(given: Feedback) -> FeedbackData:
    """Feedback as the other services know it (the ``data`` of ``FeedbackLeft``)."""
    return {
        "order_id": given.order_id,
        "auction_id": given.auction_id,
        "title": given.title,
        "rater_id": given.rater_id,
        "rater_role": given.side.value,
        "ratee_id": given.ratee_id,
        "rating": given.rating.value,
        "comment": given.comment,
        "edited": given.edits > 0,
        "left_at": given.updated_at.isoformat(),
    }


async def leave_feedback(command: LeaveFeedback, *, ctx: Payments) -> Outcome:
    """Leave or change the caller's feedback on an order, and tell the rated party."""
    async with ctx.uow() as tx:
        # The order's lock orders the two parties' (and a retry's) submissions.
        found = await store.order_by_id(tx.conn, command.order_id, for_update=True)
        deal = deal_of(visible(found, command.caller))
        side = reputation.side_of(deal, command.caller.user_id)
        given = await feedback_store.feedback_on(tx.conn, deal.order_id)
        try:
            outcome = reputation.leave(
                deal,
                user_id=command.caller.user_id,
                rating=command.rating,
                comment=command.comment,
                earlier=given.get(side) if side else None,
                now=ctx.clock(),
            )
        except NotAllowed as error:
            raise refusal(error) from error
        if outcome.created:
            await feedback_store.add_feedback(tx.conn, outcome.feedback)
        elif outcome.changed:
            await feedback_store.save_feedback(tx.conn, outcome.feedback)
        if outcome.changed:
            tx.emit(FEEDBACK_LEFT, dict(feedback_data(outcome.feedback)))
    return outcome


async def order_feedback(order_id: str, *, caller: Caller, ctx: Payments) -> OrderFeedback:
    """Both parties' feedback on an order, for its buyer, its seller or an admin."""
    async with ctx.uow.db.read() as conn:
        deal = deal_of(visible(await store.order_by_id(conn, order_id), caller))
        given = await feedback_store.feedback_on(conn, order_id)
    side = reputation.side_of(deal, caller.user_id)
    why_not: NotAllowed | None = None
    if side is not None:
        try:
            reputation.check_open(deal, given.get(side), now=ctx.clock())
        except NotAllowed as error:
            why_not = error
    return OrderFeedback(deal, given, side, why_not)


def encode_cursor(given: Feedback) -> str:
    """An opaque keyset cursor after ``given`` (read back by ``handlers.decode_cursor``)."""
    raw = f"{given.created_at.isoformat()}|{given.order_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def member_feedback(
    user_id: str, *, cursor: str | None, limit: int, ctx: Payments
) -> MemberFeedback:
    """A member's score and the feedback they received (anyone may read it)."""
    after = decode_cursor(cursor) if cursor else None
    async with ctx.uow.db.read() as conn:
        ratings = await feedback_store.ratings_of(conn, user_id)
        found = await feedback_store.received_by(conn, user_id, after=after, limit=limit + 1)
    page = found[:limit]
    more = len(found) > limit
    standing = reputation.standing(ratings, now=ctx.clock())
    return MemberFeedback(user_id, standing, page, encode_cursor(page[-1]) if more else None)
