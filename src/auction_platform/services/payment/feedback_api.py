"""HTTP routes of feedback: an order's (its two parties), a member's (anyone), and their shapes.

The answer models document the routes (the API fuzz run checks answers against them);
the routes build their dicts here too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from auction_platform.core.auth import CurrentUser, Principal
from auction_platform.core.inputs import ResourceId
from auction_platform.services.payment import feedback, reputation
from auction_platform.services.payment.domain import Caller
from auction_platform.services.payment.feedback import (
    LeaveFeedback,
    MemberFeedback,
    OrderFeedback,
)
from auction_platform.services.payment.handlers import Payments
from auction_platform.services.payment.reputation import Counts, Feedback, Rating, Side

SERVER_TIME = "The server's clock (UTC)."
Count = Annotated[int, Field(ge=0)]

PUT_DESCRIPTION = f"""\
Rate the other party of your order: as its buyer you rate the seller, as its seller
the buyer. Open once the buyer has received the lot, for
{reputation.WINDOW.days} days after `received_at`. The comment is kept with runs of
white space as one space, trimmed: 1 to {reputation.COMMENT_MAX} printable characters.

The first submission is `201`; you may change it once (`200`), within the same
{reputation.WINDOW.days} days. Sending what stands already is `200` and changes
nothing (a retry does not use up the change). Refusals: `403 not_a_party` (an admin
who is neither party), `404 order_not_found` (no such order, or not yours),
`409 not_received`, `409 feedback_window_closed`, `409 feedback_edit_used`,
`409 order_refunded` (a refunded order takes no new feedback), `422 invalid_comment`.
"""

PROFILE_DESCRIPTION = """\
A member's reputation from the feedback they received as buyer and as seller (no
token needed). `score` counts as eBay does: positives less negatives, each other
member moving it by at most one point per calendar week (Monday to Sunday, UTC).
`percent_positive` is positives among positives and negatives over the last 12
months (null without either). `items`: the feedback, newest first; `next_cursor`
asks for the next page."""


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FeedbackEntry(_Answer):
    """One party's rating of the other on one order."""

    order_id: str
    auction_id: str
    title: str = Field(description="The lot's title.")
    rater_role: Side = Field(description="The rater's side of the order.")
    rater_id: str
    ratee_id: str
    rating: Rating
    comment: str
    created_at: datetime
    updated_at: datetime
    edited: bool
    edits_left: Count = Field(description="Changes still allowed (within the window).")


class Refusal(_Answer):
    """Why feedback cannot be left (or changed) now."""

    code: str = Field(examples=["not_received", "feedback_window_closed", "feedback_edit_used"])
    message: str


class YourSide(_Answer):
    """The caller's side of the order and whether they may leave (or change) feedback now."""

    role: Side
    may_submit: bool
    refusal: Refusal | None


class OrderFeedbackAnswer(_Answer):
    """Both parties' feedback on an order."""

    order_id: str
    received_at: datetime | None = Field(description="When the buyer had the lot.")
    closes_at: datetime | None = Field(description="When feedback on the order closes.")
    by_buyer: FeedbackEntry | None
    by_seller: FeedbackEntry | None
    yours: YourSide | None = Field(description="Null for an admin who is neither party.")
    server_time: datetime = Field(description=SERVER_TIME)


class FeedbackAnswer(_Answer):
    """The feedback as it stands after the submission."""

    feedback: FeedbackEntry
    server_time: datetime = Field(description=SERVER_TIME)


class RatingCounts(_Answer):
    """How many ratings of each kind."""

    positive: Count
    neutral: Count
    negative: Count


class MemberFeedbackAnswer(_Answer):
    """A member's score, percentage positive, counts and the feedback they received."""

    user_id: str
    score: int
    percent_positive: float | None = Field(ge=0, le=100)
    last_12_months: RatingCounts
    total: RatingCounts
    items: list[FeedbackEntry]
    next_cursor: str | None
    server_time: datetime = Field(description=SERVER_TIME)


class FeedbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: Rating
    # The rule (``reputation.clean_comment``) counts after trimming; this only bounds a body.
    comment: Annotated[str, Field(min_length=1, max_length=4 * reputation.COMMENT_MAX)]


def entry(given: Feedback) -> dict[str, Any]:
    """Feedback for the API."""
    return {
        "order_id": given.order_id,
        "auction_id": given.auction_id,
        "title": given.title,
        "rater_role": given.side.value,
        "rater_id": given.rater_id,
        "ratee_id": given.ratee_id,
        "rating": given.rating.value,
        "comment": given.comment,
        "created_at": given.created_at.isoformat(),
        "updated_at": given.updated_at.isoformat(),
        "edited": given.edits > 0,
        "edits_left": given.edits_left,
    }


def _counts(counts: Counts) -> dict[str, int]:
    return {"positive": counts.positive, "neutral": counts.neutral, "negative": counts.negative}


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def order_answer(found: OrderFeedback) -> dict[str, Any]:
    """An order's feedback, as its parties (and admins) see it."""
    given = {side: entry(each) for side, each in found.given.items()}
    yours = None
    if found.side is not None:
        why = found.refusal
        yours = {
            "role": found.side.value,
            "may_submit": why is None,
            "refusal": {"code": why.code, "message": why.message} if why else None,
        }
    return {
        "order_id": found.deal.order_id,
        "received_at": _time(found.deal.received_at),
        "closes_at": _time(found.closes_at),
        "by_buyer": given.get(Side.BUYER),
        "by_seller": given.get(Side.SELLER),
        "yours": yours,
    }


def member_answer(found: MemberFeedback) -> dict[str, Any]:
    """A member's reputation and a page of what they received."""
    standing = found.standing
    return {
        "user_id": found.user_id,
        "score": standing.score,
        "percent_positive": standing.percent_positive,
        "last_12_months": _counts(standing.recent),
        "total": _counts(standing.total),
        "items": [entry(each) for each in found.items],
        "next_cursor": found.next_cursor,
    }


def build_router(ctx: Payments) -> APIRouter:
    """The feedback routes of the payment service."""
    router = APIRouter(tags=["feedback"])

    def now() -> str:
        return ctx.clock().isoformat()

    def caller(principal: Principal) -> Caller:
        return Caller(principal.subject, is_admin=principal.has_role("admin"))

    @router.put(
        "/api/v1/orders/{order_id}/feedback",
        description=PUT_DESCRIPTION,
        responses={
            200: {"model": FeedbackAnswer, "description": "Changed (or sent again unchanged)."},
            201: {"model": FeedbackAnswer, "description": "Left."},
            403: {"description": "`not_a_party`: only the buyer and the seller leave feedback."},
            409: {"description": "Not received, window closed, change used, or refunded."},
        },
    )
    async def leave(
        order_id: ResourceId, body: FeedbackBody, user: CurrentUser, response: Response
    ) -> dict[str, Any]:
        """Leave (or change once) your feedback on an order."""
        command = LeaveFeedback(order_id, caller(user), body.rating, body.comment)
        outcome = await feedback.leave_feedback(command, ctx=ctx)
        response.status_code = 201 if outcome.created else 200
        return {"feedback": entry(outcome.feedback), "server_time": now()}

    @router.get(
        "/api/v1/orders/{order_id}/feedback",
        responses={200: {"model": OrderFeedbackAnswer}},
    )
    async def on_order(order_id: ResourceId, user: CurrentUser) -> dict[str, Any]:
        """Both parties' feedback on an order, and whether you may leave (or change) yours."""
        found = await feedback.order_feedback(order_id, caller=caller(user), ctx=ctx)
        return {**order_answer(found), "server_time": now()}

    @router.get(
        "/api/v1/users/{user_id}/feedback",
        description=PROFILE_DESCRIPTION,
        responses={200: {"model": MemberFeedbackAnswer}},
    )
    async def of_member(
        user_id: ResourceId,
        cursor: Annotated[str | None, Query(max_length=512)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> dict[str, Any]:
        """A member's feedback score, percentage positive and the feedback they received."""
        found = await feedback.member_feedback(user_id, cursor=cursor, limit=limit, ctx=ctx)
        return {**member_answer(found), "server_time": now()}

    return router
