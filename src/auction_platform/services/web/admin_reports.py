"""The operators' moderation queue: ``/admin/reports``, and an outcome for each target.

The queue comes from ``GET /api/v1/reports`` grouped by target, with the target's
context; names come from identity's public profiles. An outcome is posted to
``POST /api/v1/reports/{id}/resolution``; for ``suspend`` the console then asks
identity to suspend the member answerable (``POST /api/v1/users/{id}/suspension``).
When identity cannot (no such route yet: 404, or a refusal), the decision stays
recorded and the flash says the suspension is still to be done.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.site import PageRoute, Visit, Web, display_names, visit_of

LIST = "/admin/reports"
# The filter's choices besides the default, the open reports.
STATUSES = {"resolved": "Resolved", "all": "All reports"}
OUTCOMES = {
    "dismiss": "Dismiss",
    "warn": "Warn the member",
    "remove_listing": "Remove the listing",
    "suspend": "Suspend the member",
}
DONE = {
    "dismiss": "Dismissed",
    "warn": "Warned the member",
    "remove_listing": "Removed the listing",
    "suspend": "Recorded the suspension",
}


def _answerable(target: dict[str, Any]) -> str:
    context = target.get("context") or {}
    return str(context.get("seller_id") or target["target_id"])


async def _suspend(visit: Visit, user_id: str, reason: str) -> str:
    """Ask identity to suspend ``user_id``; what to add to the flash."""
    try:
        await visit.api("POST", f"/api/v1/users/{user_id}/suspension", json={"reason": reason})
    except ApiProblem as problem:
        if problem.status in (401, 403):
            raise
        return f" Identity did not suspend the account ({problem.message}): do it by hand."
    return " The account is suspended."


def build_router(web: Web) -> APIRouter:
    """The admin pages of reports."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.get(LIST)
    async def queue(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        status = request.query_params.get("status", "")
        status = status if status in STATUSES else "open"
        found = await visit.api("GET", "/api/v1/reports", params={"status": status})
        targets = found["targets"]
        ids = [_answerable(t) for t in targets]
        ids += [r["reporter_id"] for t in targets for r in t["reports"]]
        return visit.render(
            "admin/reports.html",
            targets=targets,
            names=await display_names(visit, ids),
            chosen=status if status in STATUSES else None,
            statuses=STATUSES,
            outcomes=OUTCOMES,
            flash=await visit.take_flash(),
        )

    @router.post(LIST + "/{report_id}/resolution")
    async def resolve(request: Request, report_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        fields = await visit.form()
        outcome = fields.get("outcome", "")
        note = fields.get("note", "").strip() or None
        body = {"outcome": outcome, "note": note}
        try:
            done = await visit.api("POST", f"/api/v1/reports/{report_id}/resolution", json=body)
        except ApiProblem as problem:
            if problem.status >= 500 or problem.status in (401, 403):
                raise
            return await visit.answer(LIST, f"Not resolved: {problem.message}", "error")
        count = len(done["resolved"])
        message = f"{DONE.get(outcome, 'Resolved')}: {count} report{'s' if count != 1 else ''}."
        if outcome == "suspend":
            user_id = fields.get("answerable_id", "")
            message += await _suspend(visit, user_id, note or "Reported by members")
        return await visit.answer(LIST, message, "success")

    return router
