"""The operators' disputes: ``/admin/disputes`` lists the open ones, oldest first, and a
dispute's page shows its thread, where an admin writes or decides.

The list is ``GET /api/v1/disputes``; a decision is ``POST /api/v1/orders/{id}/dispute/
decision`` (give the buyer an amount, or close in the seller's favour, with a reason both
parties read); an admin's message goes through the parties' form (``disputes``). Names
come from identity's public profiles.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from auction_platform.contracts.money import InvalidAmount, format_money, parse_amount
from auction_platform.services.web import disputes
from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.render import duration_text, moment
from auction_platform.services.web.site import PageRoute, Web, display_names, visit_of

LIST = "/admin/disputes"
REASON_MAX = 500
DECISIONS = {
    "refund": "Refund the buyer the amount below, and close the dispute",
    "seller": "Close it in the seller's favour (nothing more given back)",
}


def build_router(web: Web) -> APIRouter:
    """The admin pages of disputes."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.get(LIST)
    async def open_ones(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        found = await visit.api("GET", "/api/v1/disputes", params={"limit": 200})
        items: list[dict[str, Any]] = found["items"]
        now = web.clock()
        ages = {
            d["id"]: duration_text((now - opened).total_seconds())
            for d in items
            if (opened := moment(d["opened_at"])) is not None
        }
        ids = [d["buyer_id"] for d in items] + [d["seller_id"] for d in items]
        return visit.render(
            "admin/disputes.html",
            disputes=items,
            ages=ages,
            names=await display_names(visit, ids),
            reasons=disputes.REASONS,
            flash=await visit.take_flash(),
        )

    @router.get(LIST + "/{order_id}")
    async def one(request: Request, order_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        found = await visit.api("GET", f"/api/v1/orders/{order_id}/dispute")
        dispute: dict[str, Any] = found["dispute"]
        return visit.render(
            "admin/dispute.html",
            dispute=dispute,
            names=await display_names(visit, [dispute["buyer_id"], dispute["seller_id"]]),
            reasons=disputes.REASONS,
            outcomes=disputes.OUTCOMES,
            decisions=DECISIONS,
            reason_max=REASON_MAX,
            message_max=disputes.MESSAGE_MAX,
            flash=await visit.take_flash(),
        )

    @router.post(LIST + "/{order_id}/decision")
    async def decide(request: Request, order_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        fields = await visit.form()
        page = f"{LIST}/{order_id}"
        decision = fields.get("decision", "")
        if decision not in DECISIONS:
            return await visit.answer(
                page, "Choose a decision: a refund to the buyer, or the seller's favour.", "error"
            )
        found = await visit.api("GET", f"/api/v1/orders/{order_id}/dispute")
        dispute: dict[str, Any] = found["dispute"]
        currency = str(dispute["currency"])
        cents = 0
        if decision == "refund" and fields.get("amount", "").strip():
            try:
                cents = parse_amount(fields["amount"], currency)
            except InvalidAmount as error:
                return await visit.answer(page, f"The amount to give back: {error}.", "error")
        body = {"decision": decision, "amount_cents": cents, "reason": fields.get("reason", "")}
        try:
            await visit.api("POST", f"/api/v1/orders/{order_id}/dispute/decision", json=body)
        except ApiProblem as problem:
            if not disputes.said_on_the_page(problem):
                raise
            return await visit.answer(page, disputes.refusal_text(problem, dispute), "error")
        if decision == "seller":
            done = "Decided in the seller's favour: both parties are told."
        elif cents:
            done = f"Decided: {format_money(cents, currency)} given back to the buyer."
        else:
            done = "Decided for the buyer with nothing more given back: both parties are told."
        return await visit.answer(LIST, f"{dispute['title']}: {done}", "success")

    return router
