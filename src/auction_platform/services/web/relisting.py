"""Listing an unsold lot again: the listing form filled in with its terms, sent to the API.

The ended lot stays as it was; the relisting is a new lot (a new id) that links
back to it. The "not sold" mail links here.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.listing_form import (
    FormProblem,
    changed_terms,
    listing_terms,
    relist_fields,
)
from auction_platform.services.web.listing_page import (
    form_page,
    listed,
    own_lot,
    posted_form,
    shown_on_form,
    worded,
)
from auction_platform.services.web.site import PageRoute, Visit, Web, visit_of


def build_router(web: Web) -> APIRouter:
    """The relisting page of an unsold lot."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.get("/auctions/{lot_id}/relist")
    async def relist_form(request: Request, lot_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("seller")
        lot = await own_lot(visit, lot_id)
        if lot["status"] != "closed" or lot["outcome"] != "unsold":
            return await visit.answer(
                f"/auctions/{lot_id}",
                "Only a lot that ended without a sale can be listed again.",
                "error",
            )
        again = lot.get("relisted_as")
        if again and await _still_listed(visit, again):
            return await _listed_already(visit, again)
        return await form_page(visit, relist_fields(lot, now=web.clock()), lot=lot, relisting=True)

    @router.post("/auctions/{lot_id}/relist")
    async def relist(request: Request, lot_id: str) -> Response:
        visit = await visit_of(request, web)
        fields, action, lot = await posted_form(visit, lot_id)
        try:
            terms = listing_terms(fields, now=web.clock())
        except FormProblem as problem:
            return await form_page(
                visit, fields, lot=lot, relisting=True, problem=problem, status=422
            )
        if action not in ("publish", "draft"):
            return await form_page(visit, fields, lot=lot, relisting=True, preview=terms)
        # What is not sent is kept from the ended lot (its own soft-close numbers, say).
        body = {**changed_terms(terms, lot), "publish": action == "publish"}
        try:
            created = await visit.api("POST", f"/api/v1/auctions/{lot_id}/relist", json=body)
        except ApiProblem as problem:
            details = problem.details if isinstance(problem.details, dict) else {}
            if problem.code == "already_relisted" and details.get("auction_id"):
                return await _listed_already(visit, str(details["auction_id"]))
            if not shown_on_form(problem):
                raise
            return await form_page(
                visit,
                fields,
                lot=lot,
                relisting=True,
                problem=worded(problem),
                status=problem.status,
            )
        new: dict[str, Any] = created["auction"]
        if action == "draft":
            message = (
                f"“{new['title']}” is listed again as a draft: only you can see it. "
                "Publish it when it is ready."
            )
        else:
            message = listed(new, web.clock())
        await visit.flash(message, "success")
        return visit.redirect(f"/auctions/{new['id']}")

    return router


async def _still_listed(visit: Visit, lot_id: str) -> bool:
    """Whether the lot that lists this one again stands (a cancelled one may be replaced)."""
    try:
        lot = (await visit.api("GET", f"/api/v1/auctions/{lot_id}"))["auction"]
    except ApiProblem as problem:
        if problem.status != 404:
            raise
        return False
    return bool(lot["status"] != "cancelled")


async def _listed_already(visit: Visit, new_id: str) -> Response:
    return await visit.answer(
        f"/auctions/{new_id}", "This lot is listed again already: here is its new listing.", "info"
    )
