"""Timed sales on the site: the sales people browse, a sale's page, and the seller's forms.

``/timed-sales`` lists the published sales still running (``?finished=1``: the past
ones); ``/timed-sales/{id}`` shows a sale's lots in order with their ends counting
down, the lot that closes next marked, the closed ones with their outcome. A seller
starts a sale at ``/timed-sales/new``, fills it with their draft lots and publishes
it from ``/timed-sales/{id}/edit``; ``/my/timed-sales`` lists their sales. On a
published sale's own page its seller may cancel it (a box ticked to confirm), and the
page then says which lots were withdrawn and which were kept, and why. Every form
is plain HTML with its CSRF token and works without script; a refusal of the API is
shown on the form, with what was typed kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request, Response

from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.sale_form import (
    FIELD_OF_CODE,
    SaleFormProblem,
    blank_fields,
    cancellation_words,
    changed,
    interval_text,
    sale_body,
    sale_fields,
)
from auction_platform.services.web.site import PageRoute, Visit, Web, query, visit_of

_PAGE_SIZE = 24
# Drafts offered to a sale at once (the seller's newest).
_DRAFTS = 100


def worded(problem: ApiProblem) -> ApiProblem:
    """The API's sentence as a sentence: a capital letter and a full stop."""
    message = problem.message[:1].upper() + problem.message[1:]
    if not message.endswith("."):
        message += "."
    details = problem.details if isinstance(problem.details, list) else None
    return replace(problem, message=message, details=details)


def _shown(problem: ApiProblem) -> bool:
    """A refusal the seller can act on (bad terms, the wrong moment), not an outage."""
    return 400 <= problem.status < 500 and problem.status not in (401, 404)


async def sale_link(visit: Visit, auction: Mapping[str, Any]) -> dict[str, Any] | None:
    """What a lot's page says of its sale: ``Lot 3 of 12 in <title>``; None outside a sale."""
    sale_id = auction.get("sale_id")
    if not sale_id:
        return None
    try:
        sale = (await visit.api("GET", f"/api/v1/sales/{sale_id}"))["sale"]
    except ApiProblem as problem:
        if problem.status in (403, 404):
            return None
        raise
    number = next(
        (lot["lot_number"] for lot in sale["lots"] if lot["auction_id"] == auction["id"]), None
    )
    if number is None:
        return None
    return {
        "id": sale["id"],
        "title": sale["title"],
        "number": number,
        "count": sale["lot_count"],
        "next": sale.get("next_closing"),
    }


def build_router(web: Web) -> APIRouter:
    """The pages of timed sales."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.get("/timed-sales")
    async def published(request: Request) -> Response:
        visit = await visit_of(request, web)
        asked = query(request)
        finished = asked.get("finished") == "1"
        cursor = asked.get("cursor", "")[:512] or None

        async def render() -> tuple[int, str]:
            params = {"finished": finished, "cursor": cursor, "limit": _PAGE_SIZE}
            try:
                found = await visit.api("GET", "/api/v1/sales", params=params)
            except ApiProblem as problem:
                if problem.code != "invalid_cursor":
                    raise
                found = {"items": [], "next_cursor": None}
            page = visit.html(
                "timed_sales.html",
                sales=found["items"],
                next_cursor=found.get("next_cursor"),
                finished=finished,
                paged=cursor is not None,
                interval_text=interval_text,
            )
            return 200, page

        return await visit.cached(render)

    @router.get("/timed-sales/new")
    async def new_form(request: Request) -> Response:
        visit = await visit_of(request, web)
        if not visit.user().has_role("seller"):
            return visit.redirect("/sell")
        return _form(visit, blank_fields(now=web.clock()))

    @router.post("/timed-sales/new")
    async def create(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.role("seller")
        fields = await visit.form()
        try:
            body = sale_body(fields)
            created = await visit.api("POST", "/api/v1/sales", json=body)
        except SaleFormProblem as problem:
            return _form(visit, fields, problem=problem, status=422)
        except ApiProblem as problem:
            if not _shown(problem):
                raise
            return _form(visit, fields, problem=worded(problem), status=problem.status)
        sale = created["sale"]
        await visit.flash(
            "The sale is saved as a draft: add your draft lots, then publish it.", "success"
        )
        return visit.redirect(f"/timed-sales/{sale['id']}/edit")

    @router.get("/my/timed-sales")
    async def mine(request: Request) -> Response:
        visit = await visit_of(request, web)
        if not visit.user().has_role("seller"):
            return visit.redirect("/sell")
        cursor = query(request).get("cursor", "")[:512] or None
        found = await visit.api(
            "GET", "/api/v1/sales/mine", params={"cursor": cursor, "limit": _PAGE_SIZE}
        )
        return visit.render(
            "my_timed_sales.html",
            sales=found["items"],
            next_cursor=found.get("next_cursor"),
            paged=cursor is not None,
            interval_text=interval_text,
            flash=await visit.take_flash(),
        )

    @router.get("/timed-sales/{sale_id}")
    async def sale_page(request: Request, sale_id: str) -> Response:
        visit = await visit_of(request, web)
        flash = await visit.take_flash()

        async def render() -> tuple[int, str]:
            sale = (await visit.api("GET", f"/api/v1/sales/{sale_id}"))["sale"]
            seller = await _display_name(visit, sale["seller_id"])
            session = visit.session
            page = visit.html(
                "timed_sale.html",
                sale=sale,
                seller=seller,
                mine=session is not None and session.user_id == sale["seller_id"],
                interval_text=interval_text,
                flash=flash,
            )
            return 200, page

        return await visit.cached(render)

    @router.get("/timed-sales/{sale_id}/edit")
    async def edit_form(request: Request, sale_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("seller")
        sale = await _own_sale(visit, sale_id)
        if sale["status"] != "draft":
            return visit.redirect(f"/timed-sales/{sale_id}")
        flash = await visit.take_flash()
        return await _edit_page(visit, sale, sale_fields(sale), flash=flash)

    @router.post("/timed-sales/{sale_id}/edit")
    async def edit(request: Request, sale_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("seller")
        fields = await visit.form()
        sale = await _own_sale(visit, sale_id)
        try:
            changes = changed(sale_body(fields), sale)
            if changes:
                await visit.api("PATCH", f"/api/v1/sales/{sale_id}", json=changes)
        except SaleFormProblem as problem:
            return await _edit_page(visit, sale, fields, problem=problem, status=422)
        except ApiProblem as problem:
            if not _shown(problem):
                raise
            return await _edit_page(
                visit, sale, fields, problem=worded(problem), status=problem.status
            )
        message = "The sale's details are saved." if changes else "Nothing was changed."
        return await visit.answer(f"/timed-sales/{sale_id}/edit", message, "success")

    @router.post("/timed-sales/{sale_id}/lots")
    async def add_lots(request: Request, sale_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("seller")
        fields = await visit.form()
        chosen = [name.removeprefix("lot_") for name in fields if name.startswith("lot_")]
        back = f"/timed-sales/{sale_id}/edit"
        if not chosen:
            return await visit.answer(back, "Choose the draft lots to add first.", "error")
        added = 0
        for lot_id in chosen[:_DRAFTS]:
            try:
                await visit.api(
                    "POST", f"/api/v1/sales/{sale_id}/lots", json={"auction_id": lot_id}
                )
            except ApiProblem as problem:
                if not _shown(problem):
                    raise
                done = f"Added {_lots(added)}; then: " if added else ""
                return await visit.answer(back, done + worded(problem).message, "error")
            added += 1
        return await visit.answer(back, f"Added {_lots(added)} to the sale.", "success")

    @router.post("/timed-sales/{sale_id}/lots/{lot_id}/remove")
    async def remove_lot(request: Request, sale_id: str, lot_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("seller")
        await visit.form()
        back = f"/timed-sales/{sale_id}/edit"
        try:
            await visit.api("DELETE", f"/api/v1/sales/{sale_id}/lots/{lot_id}")
        except ApiProblem as problem:
            if not _shown(problem) and problem.status != 404:
                raise
            return await visit.answer(back, worded(problem).message, "error")
        return await visit.answer(
            back, "The lot is out of the sale: it stays one of your drafts.", "success"
        )

    @router.post("/timed-sales/{sale_id}/lots/{lot_id}/move")
    async def move_lot(request: Request, sale_id: str, lot_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("seller")
        fields = await visit.form()
        back = f"/timed-sales/{sale_id}/edit"
        number = fields.get("lot_number", "")
        if not number.isdigit() or len(number) > 4:
            return await visit.answer(back, "Choose the lot's new number.", "error")
        try:
            await visit.api(
                "PUT",
                f"/api/v1/sales/{sale_id}/lots/{lot_id}",
                json={"lot_number": int(number)},
            )
        except ApiProblem as problem:
            if not _shown(problem) and problem.status != 404:
                raise
            return await visit.answer(back, worded(problem).message, "error")
        return await visit.answer(back, f"The lot is lot {int(number)} now.", "success")

    @router.post("/timed-sales/{sale_id}/publish")
    async def publish(request: Request, sale_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("seller")
        await visit.form()
        try:
            sale = (await visit.api("POST", f"/api/v1/sales/{sale_id}/publish"))["sale"]
        except ApiProblem as problem:
            if not _shown(problem):
                raise
            return await visit.answer(
                f"/timed-sales/{sale_id}/edit", worded(problem).message, "error"
            )
        message = f"“{sale['title']}” is published: its {_lots(sale['lot_count'])} are listed."
        return await visit.answer(f"/timed-sales/{sale_id}", message, "success")

    @router.post("/timed-sales/{sale_id}/delete")
    async def delete(request: Request, sale_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("seller")
        await visit.form()
        try:
            await visit.api("DELETE", f"/api/v1/sales/{sale_id}")
        except ApiProblem as problem:
            if not _shown(problem):
                raise
            return await visit.answer(
                f"/timed-sales/{sale_id}/edit", worded(problem).message, "error"
            )
        return await visit.answer(
            "/my/timed-sales", "The draft sale is deleted; its lots stay your drafts.", "success"
        )

    @router.post("/timed-sales/{sale_id}/cancel")
    async def cancel(request: Request, sale_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("seller")
        fields = await visit.form()
        back = f"/timed-sales/{sale_id}"
        if fields.get("confirm") != "yes":
            message = "Tick the box to confirm that the sale's lots are to be withdrawn."
            return await visit.answer(back, message, "error")
        try:
            answer = await visit.api("POST", f"/api/v1/sales/{sale_id}/cancel")
        except ApiProblem as problem:
            if not _shown(problem):
                raise
            return await visit.answer(back, worded(problem).message, "error")
        message, kind = cancellation_words(answer)
        return await visit.answer(back, message, kind)

    return router


def _lots(count: int) -> str:
    return f"{count} lot" + ("" if count == 1 else "s")


def _form(
    visit: Visit,
    fields: Mapping[str, str],
    *,
    problem: SaleFormProblem | ApiProblem | None = None,
    status: int = 200,
) -> Response:
    """The form of a new sale."""
    return visit.render(
        "timed_sale_form.html",
        status,
        sale=None,
        fields=fields,
        problem=problem,
        bad_field=_bad_field(problem),
        utc_now=f"{visit.web.clock():%Y-%m-%d %H:%M:%S}",
        drafts=[],
        interval_text=interval_text,
        flash=None,
    )


async def _edit_page(
    visit: Visit,
    sale: Mapping[str, Any],
    fields: Mapping[str, str],
    *,
    problem: SaleFormProblem | ApiProblem | None = None,
    flash: tuple[str, str] | None = None,
    status: int = 200,
) -> Response:
    """A draft sale: its details, its lots in order, the drafts it may take, publishing."""
    mine = await visit.api(
        "GET", "/api/v1/auctions/mine", params={"status": "draft", "limit": _DRAFTS}
    )
    # Oldest first: lots listed in the order they were written join the sale in it.
    drafts = sorted(
        (lot for lot in mine["items"] if not lot.get("sale_id")),
        key=lambda lot: (lot["created_at"], lot["id"]),
    )
    return visit.render(
        "timed_sale_form.html",
        status,
        sale=sale,
        fields=fields,
        problem=problem,
        bad_field=_bad_field(problem),
        utc_now=f"{visit.web.clock():%Y-%m-%d %H:%M:%S}",
        drafts=drafts,
        interval_text=interval_text,
        flash=flash,
    )


def _bad_field(problem: SaleFormProblem | ApiProblem | None) -> str | None:
    if isinstance(problem, SaleFormProblem):
        return problem.field
    if isinstance(problem, ApiProblem):
        return FIELD_OF_CODE.get(problem.code)
    return None


async def _own_sale(visit: Visit, sale_id: str) -> dict[str, Any]:
    """The sale, if the visitor is its seller (403 for anyone else's)."""
    sale: dict[str, Any] = (await visit.api("GET", f"/api/v1/sales/{sale_id}"))["sale"]
    session = visit.user()
    if sale["seller_id"] != session.user_id:
        raise ApiProblem(403, "forbidden", "Only the sale's seller can change it.")
    return sale


async def _display_name(visit: Visit, user_id: str) -> str | None:
    try:
        found = await visit.api("GET", f"/api/v1/users/{user_id}/profile")
    except ApiProblem:
        return None
    return str(found["user"]["display_name"])
