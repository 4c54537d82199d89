"""What a seller does: become one, list a lot (preview, draft, publish), edit, cancel; sales.

The listing form is plain HTML with no script: amounts are typed in major units
and converted here, times are UTC, and every refusal of the API comes back as
the same form with what was typed kept and the API's sentence above it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request, Response

from auction_platform.services.web import disputes
from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.listing_form import (
    FormProblem,
    blank_fields,
    changed_terms,
    listing_terms,
    lot_fields,
)
from auction_platform.services.web.listing_page import (
    LOCKED_REASONS,
    form_page,
    listed,
    listing_form_sent,
    locked_page,
    own_lot,
    posted_form,
    shown_on_form,
    worded,
)
from auction_platform.services.web.site import (
    NotSignedIn,
    PageRoute,
    Visit,
    Web,
    display_names,
    query,
    refresher,
    visit_of,
)

LISTING_STATUSES = ("draft", "scheduled", "open", "closed", "cancelled")
_PAGE_SIZE = 20


def build_router(web: Web) -> APIRouter:
    """The seller's pages."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.get("/sell")
    async def sell_form(request: Request) -> Response:
        visit = await visit_of(request, web)
        flash = await visit.take_flash()
        if not visit.user().has_role("seller"):
            return visit.render("sell.html", become=True, flash=flash)
        return await form_page(visit, blank_fields(), flash=flash)

    @router.post("/sell/become-seller")
    async def become_seller(request: Request) -> Response:
        visit = await visit_of(request, web)
        session = visit.user()
        await visit.form()
        if session.has_role("seller") or visit.cookie is None:
            return visit.redirect("/sell")
        answer = await visit.api("POST", "/api/v1/users/me/seller")
        # The access token carries the roles: a fresh one lets the visitor sell at once.
        renewed = await web.sessions.fresh(visit.cookie, session, refresher(web, request), now=True)
        if renewed is None:
            raise NotSignedIn()
        visit.session = replace(renewed, roles=tuple(answer["user"]["roles"]))
        await web.sessions.save(visit.cookie, visit.session)
        return await visit.answer("/sell", "You are a seller now: list your first lot.", "success")

    @router.post("/sell")
    async def sell(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.role("seller")
        fields = await listing_form_sent(visit)
        action = fields.pop("action", "preview")
        try:
            terms = listing_terms(fields, now=web.clock())
        except FormProblem as problem:
            return await form_page(visit, fields, problem=problem, status=422)
        if action not in ("publish", "draft"):
            return await form_page(visit, fields, preview=terms)
        try:
            created = await visit.api(
                "POST", "/api/v1/auctions", json={**terms, "publish": action == "publish"}
            )
        except ApiProblem as problem:
            if not shown_on_form(problem):
                raise
            return await form_page(visit, fields, problem=worded(problem), status=problem.status)
        lot = created["auction"]
        if action == "draft":
            message = "Saved as a draft: only you can see it. Publish it when it is ready."
        else:
            message = listed(lot, web.clock())
        await visit.flash(message, "success")
        return visit.redirect(f"/auctions/{lot['id']}")

    @router.get("/auctions/{lot_id}/edit")
    async def edit_form(request: Request, lot_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("seller")
        lot = await own_lot(visit, lot_id)
        reason = await _why_locked(visit, lot)
        if reason is not None:
            return locked_page(visit, lot, reason)
        flash = await visit.take_flash()
        return await form_page(visit, lot_fields(lot, now=web.clock()), lot=lot, flash=flash)

    @router.post("/auctions/{lot_id}/edit")
    async def edit(request: Request, lot_id: str) -> Response:
        visit = await visit_of(request, web)
        fields, action, lot = await posted_form(visit, lot_id)
        try:
            terms = listing_terms(fields, now=web.clock(), current=lot)
        except FormProblem as problem:
            return await form_page(visit, fields, lot=lot, problem=problem, status=422)
        if action not in ("save", "publish"):
            return await form_page(visit, fields, lot=lot, preview=terms)
        try:
            changes = changed_terms(terms, lot)
            if changes:
                lot = (await visit.api("PATCH", f"/api/v1/auctions/{lot_id}", json=changes))[
                    "auction"
                ]
            if action == "publish" and lot["status"] == "draft":
                lot = (await visit.api("POST", f"/api/v1/auctions/{lot_id}/publish"))["auction"]
        except ApiProblem as problem:
            if problem.code in LOCKED_REASONS:  # a bid came first (or the end)
                return locked_page(visit, lot, LOCKED_REASONS[problem.code], tried=True)
            if not shown_on_form(problem):
                raise
            return await form_page(
                visit, fields, lot=lot, problem=worded(problem), status=problem.status
            )
        if action == "publish":
            message = listed(lot, web.clock())
        else:
            message = "Your changes are saved." if changes else "Nothing was changed."
        await visit.flash(message, "success")
        return visit.redirect(f"/auctions/{lot_id}")

    @router.post("/auctions/{lot_id}/publish")
    async def publish(request: Request, lot_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("seller")
        await visit.form()
        try:
            lot = (await visit.api("POST", f"/api/v1/auctions/{lot_id}/publish"))["auction"]
        except ApiProblem as problem:
            if not shown_on_form(problem):
                raise
            message = worded(problem).message
            if problem.code == "start_in_past":
                message = (
                    "Its start time has passed: edit the lot, choose “Now” or a new time, "
                    "and publish it from there."
                )
            return await visit.answer("/my/listings", message, "error")
        return await visit.answer("/my/listings", listed(lot, web.clock()), "success")

    @router.get("/auctions/{lot_id}/cancel")
    async def cancel_form(request: Request, lot_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("seller")
        lot = await own_lot(visit, lot_id)
        if lot["status"] not in ("draft", "scheduled", "open"):
            return await visit.answer(
                "/my/listings", f"“{lot['title']}” has ended and cannot be cancelled.", "error"
            )
        return visit.render("sell_cancel.html", lot=lot)

    @router.post("/auctions/{lot_id}/cancel")
    async def cancel(request: Request, lot_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("seller")
        await visit.form()
        try:
            lot = (await visit.api("POST", f"/api/v1/auctions/{lot_id}/cancel"))["auction"]
        except ApiProblem as problem:
            if not shown_on_form(problem):
                raise
            return await visit.answer("/my/listings", worded(problem).message, "error")
        return await visit.answer("/my/listings", f"“{lot['title']}” is cancelled.", "success")

    @router.get("/my/listings")
    async def my_listings(request: Request) -> Response:
        visit = await visit_of(request, web)
        if not visit.user().has_role("seller"):
            return visit.redirect("/sell")
        asked = query(request)
        status = asked.get("status") if asked.get("status") in LISTING_STATUSES else None
        cursor = asked.get("cursor", "")[:512] or None
        mine = await visit.api(
            "GET",
            "/api/v1/auctions/mine",
            params={"status": status, "cursor": cursor, "limit": _PAGE_SIZE},
        )
        return visit.render(
            "my_listings.html",
            lots=mine["items"],
            next_cursor=mine.get("next_cursor"),
            filtered=status,
            statuses=LISTING_STATUSES,
            paged=cursor is not None,
            flash=await visit.take_flash(),
        )

    @router.get("/sales")
    async def sales(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        cursor = query(request).get("cursor", "")[:512] or None
        found = await visit.api(
            "GET",
            "/api/v1/orders",
            params={"role": "seller", "cursor": cursor, "limit": _PAGE_SIZE},
        )
        orders: list[dict[str, Any]] = found["items"]
        buyers = await display_names(visit, [order["buyer_id"] for order in orders])
        return visit.render(
            "sales.html",
            orders=orders,
            buyers=buyers,
            disputes=await disputes.of_orders(visit, orders),
            next_cursor=found.get("next_cursor"),
            paged=cursor is not None,
            flash=await visit.take_flash(),
        )

    return router


async def _why_locked(visit: Visit, lot: dict[str, Any]) -> str | None:
    """Why the lot's terms can no longer change; None until its first bid (eBay's rule)."""
    if lot["status"] in ("closed", "cancelled"):
        return LOCKED_REASONS[lot["status"]]
    if lot["status"] != "open":
        return None
    # The bid book counts a bid first; the lot's own count follows it a moment later.
    try:
        book = await visit.api("GET", f"/api/v1/auctions/{lot['id']}/book")
    except ApiProblem as problem:
        if problem.status != 404:  # an open lot has no book until bidding has made it
            raise
        book = {}
    if max(int(lot.get("bid_count") or 0), int(book.get("bid_count") or 0)) > 0:
        return LOCKED_REASONS["has_bids"]
    return None
