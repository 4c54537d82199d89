"""Feedback on the site: the form on an order's page, a member's public profile, a score.

Everything through the public API: ``/api/v1/orders/{id}/feedback`` for an order's
two parties, ``/api/v1/users/{id}/feedback`` for anyone, and identity's public
profile (display name, member since) for names; never an email address.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response

from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.site import (
    PageRoute,
    Visit,
    Web,
    display_names,
    query,
    visit_of,
)

RATINGS = (("positive", "Positive"), ("neutral", "Neutral"), ("negative", "Negative"))
_PAGE_SIZE = 20
# The API's refusals, as the person who sent the form reads them.
_REFUSALS = {
    "feedback_edit_used": (
        "You have already changed your feedback on this order once. It cannot be changed again."
    ),
    "feedback_window_closed": (
        "Feedback on this order has closed: it is open for 60 days after the lot was received."
    ),
    "not_received": "Feedback opens once the buyer has confirmed receiving the lot.",
    "order_refunded": "This order was refunded, so it takes no new feedback.",
    "not_a_party": "Only the buyer and the seller of an order leave feedback on it.",
    "validation_error": "Choose a rating and write a short comment (up to 500 characters).",
}


def refusal_text(code: str, fallback: str) -> str:
    """A refusal of feedback in words: what happened, and what may still be done."""
    known = _REFUSALS.get(code)
    if known:
        return known
    sentence = fallback[:1].upper() + fallback[1:]
    return sentence if sentence.endswith(".") else sentence + "."


async def order_feedback(visit: Visit, order: dict[str, Any]) -> dict[str, Any] | None:
    """The feedback of an order for its page, once the lot is received (None before)."""
    if order.get("fulfilment") != "received":
        return None
    try:
        found: dict[str, Any] = await visit.api("GET", f"/api/v1/orders/{order['id']}/feedback")
    except ApiProblem as problem:
        if problem.status in (401, 403, 404) or problem.status >= 500:
            return None  # the rest of the order's page still shows
        raise
    return found


async def order_section(visit: Visit, order: dict[str, Any]) -> dict[str, Any]:
    """What the feedback section of an order's page reads (nothing before receipt)."""
    found = await order_feedback(visit, order)
    if found is None:
        return {}
    refusal = (found.get("yours") or {}).get("refusal")
    why_not = refusal_text(refusal["code"], refusal["message"]) if refusal else None
    return {"feedback": found, "ratings": RATINGS, "feedback_refusal": why_not}


async def standing(visit: Visit, user_id: str) -> dict[str, Any] | None:
    """A member's score and percentage positive, or None when it cannot be read now."""
    try:
        found: dict[str, Any] = await visit.api(
            "GET", f"/api/v1/users/{user_id}/feedback", params={"limit": 1}
        )
    except ApiProblem:
        return None
    return found


def build_router(web: Web) -> APIRouter:
    """The feedback form's target and the public profile page."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.post("/orders/{order_id}/feedback")
    async def leave(request: Request, order_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        fields = await visit.form()
        page = f"/orders/{order_id}?feedback=1#feedback"
        rating = fields.get("rating", "")
        if rating not in dict(RATINGS):
            return await visit.answer(
                page, "Choose a rating: positive, neutral or negative.", "error"
            )
        body = {"rating": rating, "comment": fields.get("comment", "")}
        try:
            saved = await visit.api("PUT", f"/api/v1/orders/{order_id}/feedback", json=body)
        except ApiProblem as problem:
            if problem.status >= 500 or problem.status == 401:
                raise
            return await visit.answer(page, refusal_text(problem.code, problem.message), "error")
        if saved["feedback"]["edited"]:
            message = "Your feedback is changed. It cannot be changed again."
        else:
            message = "Thank you: your feedback is saved. You may change it once."
        return await visit.answer(page, message, "success")

    @router.get("/users/{user_id}")
    async def profile(request: Request, user_id: str) -> Response:
        visit = await visit_of(request, web)
        cursor = query(request).get("cursor", "")[:512] or None

        async def render() -> tuple[int, str]:
            member, received = await asyncio.gather(
                visit.api("GET", f"/api/v1/users/{user_id}/profile"),
                visit.api(
                    "GET",
                    f"/api/v1/users/{user_id}/feedback",
                    params={"cursor": cursor, "limit": _PAGE_SIZE},
                ),
            )
            raters = await display_names(visit, [item["rater_id"] for item in received["items"]])
            page = visit.html(
                "profile.html",
                member=member["user"],
                feedback=received,
                raters=raters,
                paged=cursor is not None,
                # A member's own visit may follow a form (a report of the member).
                flash=await visit.take_flash() if visit.session else None,
            )
            return 200, page

        return await visit.cached(render)

    return router
