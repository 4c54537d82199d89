"""Disputes on the site: the buyer opens one from the order's page, buyer and seller write
in its thread, and the seller gives back part or all of the payment.

Everything through payment's public API: ``GET``/``POST /api/v1/orders/{id}/dispute``,
``.../dispute/messages`` and ``.../dispute/refund``. Payment keeps the rules (who, when,
how much); its refusals come back as sentences beside the dispute. The admins' side
(the open disputes and a decision) is ``admin_disputes``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response

from auction_platform.contracts.money import InvalidAmount, format_money, parse_amount
from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.render import moment
from auction_platform.services.web.site import PageRoute, Visit, Web, visit_of

# Payment's window (``payment.disputes.WINDOW``): the form is offered while it is open.
WINDOW = timedelta(days=30)
MESSAGE_MAX = 2000
REASONS = {
    "not_received": "The lot has not arrived",
    "not_as_described": "The lot is not as described",
}
OUTCOMES = {
    "refunded": "Resolved: the buyer has all their money back",
    "decided_refund": "Decided by an admin in the buyer's favour",
    "decided_for_seller": "Decided by an admin in the seller's favour",
}
# Payment's refusals, as the person who sent the form reads them.
_REFUSALS = {
    "dispute_exists": "This order has a dispute already: write in it below.",
    "order_not_paid": "Only a paid order can be disputed.",
    "order_refunded": "This order was refunded in full, so there is nothing left to dispute.",
    "dispute_window_closed": (
        f"Disputes on this order have closed: a dispute is opened within {WINDOW.days} days "
        "of paying."
    ),
    "not_the_buyer": "Only the buyer of an order opens a dispute on it.",
    "not_the_seller": "Only the seller gives money back from a dispute.",
    "not_a_party": "Only the buyer, the seller and the platform's admins write in a dispute.",
    "dispute_not_found": "This order has no dispute.",
    "dispute_resolved": "This dispute is resolved: it takes no more messages or refunds.",
    "refund_in_progress": (
        "A refund of this dispute is being made. Wait until it shows here, then try again."
    ),
    "invalid_message": f"Write a message of 1 to {MESSAGE_MAX} characters.",
    "invalid_amount": "Enter an amount of at least the smallest coin of the currency.",
    "invalid_reason": "Give a reason of 1 to 500 characters: both parties read it.",
    "validation_error": "Check the form: a reason, and a message of 1 to 2000 characters.",
}


def refusal_text(problem: ApiProblem, dispute: dict[str, Any] | None = None) -> str:
    """A refusal in words: what happened and what may still be done."""
    if problem.code == "refund_exceeds_payment" and dispute is not None:
        left = format_money(int(dispute["refundable_cents"]), str(dispute["currency"]))
        return f"That is more than is left of the payment: at most {left} can be given back."
    if problem.status in (502, 503):
        return "The payment provider did not answer. Nothing was given back: try again soon."
    known = _REFUSALS.get(problem.code)
    if known:
        return known
    sentence = problem.message[:1].upper() + problem.message[1:]
    return sentence if sentence.endswith(".") else sentence + "."


def said_on_the_page(problem: ApiProblem) -> bool:
    """Whether a refusal of a refund is said beside the dispute: payment's refusals and the
    provider's failures (502, 503: nothing was given back); others become an error page."""
    return problem.status != 401 and (problem.status < 500 or problem.status in (502, 503))


async def dispute_of(visit: Visit, order_id: str) -> dict[str, Any] | None:
    """An order's dispute with its thread, or None when it has none (or payment cannot say)."""
    try:
        found = await visit.api("GET", f"/api/v1/orders/{order_id}/dispute")
    except ApiProblem as problem:
        if problem.status in (403, 404) or problem.status >= 500:
            return None
        raise
    dispute: dict[str, Any] = found["dispute"]
    return dispute


async def of_orders(visit: Visit, orders: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The disputes of a page of orders by order id (only a paid order may have one)."""
    paid = [str(o["id"]) for o in orders if o.get("status") in ("paid", "refunded")]
    found = await asyncio.gather(*(dispute_of(visit, order_id) for order_id in paid))
    return {order_id: d for order_id, d in zip(paid, found, strict=True) if d is not None}


def role_in(dispute_or_order: dict[str, Any], user_id: str) -> str:
    """The visitor's part: ``buyer``, ``seller`` or (neither) ``admin``."""
    if user_id == dispute_or_order["buyer_id"]:
        return "buyer"
    return "seller" if user_id == dispute_or_order["seller_id"] else "admin"


def open_until(order: dict[str, Any], *, now: datetime) -> datetime | None:
    """Until when the order's buyer may open a dispute: a paid order (not wholly refunded)
    within ``WINDOW`` of paying; None when they may not now."""
    paid_at = moment(order.get("paid_at"))
    if order.get("status") != "paid" or paid_at is None or now >= paid_at + WINDOW:
        return None
    return paid_at + WINDOW


async def order_section(visit: Visit, order: dict[str, Any], *, buyer: bool) -> dict[str, Any]:
    """What the dispute section of an order's page reads (nothing when it has none to show)."""
    if order.get("status") not in ("paid", "refunded") or visit.session is None:
        return {}
    found = await dispute_of(visit, str(order["id"]))
    closes = open_until(order, now=visit.web.clock())
    may_open = buyer and found is None and closes is not None
    if found is None and not may_open:
        return {}
    return {
        "dispute": found,
        "dispute_may_open": may_open,
        "dispute_closes_at": closes.isoformat() if closes else None,
        "dispute_role": role_in(order, visit.session.user_id),
        "dispute_reasons": REASONS,
        "dispute_outcomes": OUTCOMES,
        "message_max": MESSAGE_MAX,
    }


def back_to(fields: dict[str, str], order_id: str) -> str:
    """Where a form returns: the page it names (a path of this site), else the order's."""
    page = fields.get("back", "")
    if page.startswith("/") and not page.startswith("//"):
        return page
    return f"/orders/{order_id}?dispute=1#dispute"


async def sent(visit: Visit, page: str, call: str, body: dict[str, Any], done: str) -> Response:
    """Post a form's request to payment; back to ``page`` with ``done`` or the refusal."""
    method, path = call.split(" ", 1)
    try:
        await visit.api(method, path, json=body)
    except ApiProblem as problem:
        if problem.status == 401 or problem.status >= 500:
            raise
        return await visit.answer(page, refusal_text(problem), "error")
    return await visit.answer(page, done, "success")


def build_router(web: Web) -> APIRouter:
    """The dispute forms of an order's page."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.post("/orders/{order_id}/dispute")
    async def open_dispute(request: Request, order_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        fields = await visit.form()
        page = back_to({}, order_id)
        reason = fields.get("reason", "")
        if reason not in REASONS:
            return await visit.answer(
                page,
                "Choose what is wrong: the lot has not arrived, or is not as described.",
                "error",
            )
        body = {"reason": reason, "message": fields.get("message", "")}
        done = (
            "Your dispute is open. The seller is told and may answer or refund you here; "
            "if you cannot agree, an admin decides."
        )
        return await sent(visit, page, f"POST /api/v1/orders/{order_id}/dispute", body, done)

    @router.post("/orders/{order_id}/dispute/messages")
    async def write(request: Request, order_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        fields = await visit.form()
        call = f"POST /api/v1/orders/{order_id}/dispute/messages"
        body = {"body": fields.get("body", "")}
        done = "Your message is in the thread, and the others in the dispute are told."
        return await sent(visit, back_to(fields, order_id), call, body, done)

    @router.post("/orders/{order_id}/dispute/refund")
    async def refund(request: Request, order_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        fields = await visit.form()
        page = back_to({}, order_id)
        dispute = await dispute_of(visit, order_id)
        if dispute is None:
            return await visit.answer(page, _REFUSALS["dispute_not_found"], "error")
        currency = str(dispute["currency"])
        try:
            cents = parse_amount(fields.get("amount", ""), currency)
        except InvalidAmount as error:
            return await visit.answer(page, f"The amount to give back: {error}.", "error")
        if cents < 1:
            return await visit.answer(page, _REFUSALS["invalid_amount"], "error")
        try:
            done = await visit.api(
                "POST", f"/api/v1/orders/{order_id}/dispute/refund", json={"amount_cents": cents}
            )
        except ApiProblem as problem:
            if not said_on_the_page(problem):
                raise
            return await visit.answer(page, refusal_text(problem, dispute), "error")
        given = format_money(cents, currency)
        if done["dispute"]["status"] == "resolved":
            message = f"You gave back {given}, all of the payment: the dispute is resolved."
        else:
            left = format_money(int(done["dispute"]["refundable_cents"]), currency)
            message = f"You gave back {given}; {left} is left. The buyer is told."
        return await visit.answer(page, message, "success")

    return router
