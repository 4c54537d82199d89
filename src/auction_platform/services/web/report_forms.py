"""Members report a listing or a member: ``/auctions/{id}/report`` and ``/users/{id}/report``.

A plain form (a reason from the list and a comment) that works without script; it
posts to ``POST /api/v1/reports``, and a refusal (a comment missing, a report still
open) is shown on the form with what was typed kept.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request, Response

from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.site import PageRoute, Visit, Web, visit_of

REASONS = (
    ("prohibited_item", "A prohibited item"),
    ("counterfeit", "A counterfeit or replica"),
    ("shill_bidding", "Shill bidding (bids to push the price up)"),
    ("harassment", "Harassment or abuse"),
    ("other", "Something else (say what)"),
)


async def _what(visit: Visit, target_type: str, target_id: str) -> tuple[str, str]:
    """The target's name on the form and the page to go back to."""
    if target_type == "auction":
        found = await visit.api("GET", f"/api/v1/auctions/{target_id}")
        return f"“{found['auction']['title']}”", f"/auctions/{target_id}"
    found = await visit.api("GET", f"/api/v1/users/{target_id}/profile")
    return str(found["user"]["display_name"]), f"/users/{target_id}"


def build_router(web: Web) -> APIRouter:
    """The report forms of the site."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    async def form_page(
        visit: Visit,
        target_type: str,
        target_id: str,
        *,
        fields: Mapping[str, str] | None = None,
        problem: ApiProblem | None = None,
        status: int = 200,
    ) -> Response:
        name, back = await _what(visit, target_type, target_id)
        return visit.render(
            "report.html",
            status,
            target_type=target_type,
            target_id=target_id,
            name=name,
            back=back,
            reasons=REASONS,
            fields=fields or {},
            problem=problem,
        )

    async def send(visit: Visit, target_type: str, target_id: str) -> Response:
        fields = await visit.form()
        body = {
            "target_type": target_type,
            "target_id": target_id,
            "reason": fields.get("reason", ""),
            "comment": fields.get("comment") or None,
        }
        try:
            await visit.api("POST", "/api/v1/reports", json=body)
        except ApiProblem as problem:
            if problem.status >= 500 or problem.status in (401, 403, 404):
                raise
            return await form_page(
                visit, target_type, target_id, fields=fields, problem=problem, status=422
            )
        _, back = await _what(visit, target_type, target_id)
        message = "Thank you: our team will review your report, and we will tell you the outcome."
        return await visit.answer(back, message, "success")

    for kind, prefix in (("auction", "/auctions"), ("user", "/users")):

        def pages(kind: str = kind, prefix: str = prefix) -> None:
            @router.get(prefix + "/{target_id}/report")
            async def show(request: Request, target_id: str) -> Response:
                visit = await visit_of(request, web)
                visit.user()
                return await form_page(visit, kind, target_id)

            @router.post(prefix + "/{target_id}/report")
            async def post(request: Request, target_id: str) -> Response:
                visit = await visit_of(request, web)
                visit.user()
                return await send(visit, kind, target_id)

        pages()

    return router
