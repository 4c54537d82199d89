"""The operators' shill-bidding signals: ``/admin/shill-signals``.

The flags of the daily job (``/api/v1/analytics/shill-signals``) with their evidence,
filtered by status and kind, and for each open one a note and two verdicts:
reviewed or dismissed. A flag is a question for an admin; the page acts on no account
(suspending one is the suspension page's work).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.site import PageRoute, Web, display_names, query, visit_of

PAGE = "/admin/shill-signals"
API = "/api/v1/analytics/shill-signals"
STATUSES = {"open": "Open", "reviewed": "Reviewed", "dismissed": "Dismissed"}
KINDS = {
    "concentration": "Bids mostly on one seller",
    "shared_signup": "Signed up like the seller",
    "retractions": "Retracts bids",
}
VERDICTS = {"reviewed": "marked reviewed", "dismissed": "dismissed"}
NOTE_LIMIT = 1000


def _why(flag: dict[str, Any]) -> str:
    """The evidence in a sentence."""
    evidence = flag["evidence"]
    if flag["kind"] == "concentration":
        return (
            f"{evidence['bids_on_seller']} of {evidence['bids']} bids "
            f"({evidence['share']:.0%}) on this seller's lots."
        )
    if flag["kind"] == "shared_signup":
        shared = " and ".join(
            {"address": "public address", "device": "device"}.get(s, s) for s in evidence["shared"]
        )
        return f"Signed up from the seller's {shared}."
    by_seller = evidence.get("by_seller", {})
    most = max(by_seller.values(), default=0)
    on_one = f", {most} on one seller's lots" if flag["seller_id"] and most > 1 else ""
    return f"{evidence['retractions']} bids retracted{on_one}."


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _back(fields: dict[str, str]) -> str:
    back = fields.get("back", PAGE)
    return back if back.startswith(PAGE) else PAGE


def build_router(web: Web) -> APIRouter:
    """The shill-signals page, its review form and its run button."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.get(PAGE)
    async def signals(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        asked = query(request)
        status = asked.get("status") if asked.get("status") in STATUSES else None
        if "status" not in asked:
            status = "open"  # the queue: what still needs a look
        kind = asked.get("kind") if asked.get("kind") in KINDS else None
        found = await visit.api("GET", API, params={"status": status, "kind": kind})
        flags = found["items"]
        people = [f["bidder_id"] for f in flags] + [f["seller_id"] for f in flags if f["seller_id"]]
        return visit.render(
            "admin/shill_signals.html",
            flags=[{**flag, "why": _why(flag)} for flag in flags],
            names=await display_names(visit, people),
            statuses=STATUSES,
            kinds=KINDS,
            chosen=status or "",
            chosen_kind=kind or "",
            back=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
            limit=NOTE_LIMIT,
            flash=await visit.take_flash(),
        )

    @router.post(PAGE + "/run")
    async def run(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        fields = await visit.form()
        done = await visit.api("POST", API + "/run")
        message = (
            f"The job weighed {_count(done['bids'], 'bid')} and "
            f"{_count(done['retractions'], 'retraction')}: {_count(done['flagged'], 'new flag')}."
        )
        return await visit.answer(_back(fields), message, "success")

    @router.post(PAGE + "/{signal_id}/review")
    async def review(request: Request, signal_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        fields = await visit.form()
        back = _back(fields)
        verdict = fields.get("status", "")
        if verdict not in VERDICTS:
            return await visit.answer(back, "Choose reviewed or dismissed.", "error")
        note = fields.get("note", "").strip()[:NOTE_LIMIT] or None
        try:
            await visit.api(
                "POST", f"{API}/{signal_id}/review", json={"status": verdict, "note": note}
            )
        except ApiProblem as problem:
            if problem.status >= 500 or problem.status == 401:
                raise
            return await visit.answer(back, f"Not changed: {problem.message}", "error")
        return await visit.answer(back, f"The flag is {VERDICTS[verdict]}.", "success")

    return router
