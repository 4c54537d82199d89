"""Pages for everyone: home, catalogue, a lot, sign up, sign in, sign out, static files."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from auction_platform.services.web import feedback, formats, sales_pages
from auction_platform.services.web.categories import category_tree, facet_choices, trail
from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.sessions import COOKIE, new_session
from auction_platform.services.web.site import (
    SUSPENDED,
    PageRoute,
    Visit,
    Web,
    problem_page,
    query,
    suspension_of,
    visit_of,
)

_PAGE_SIZE = 24
_SORTS = ("relevance", "ending_soonest", "newest", "price_low", "price_high")
_STATUSES = ("open", "scheduled", "closed")


def build_router(web: Web) -> APIRouter:
    """The public pages."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.get("/")
    async def home(request: Request) -> Response:
        visit = await visit_of(request, web)
        flash = await visit.take_flash()

        async def render() -> tuple[int, str]:
            ending, newest = await asyncio.gather(
                visit.api("GET", "/api/v1/auctions", params={"status": "open", "limit": 8}),
                visit.api("GET", "/api/v1/auctions", params={"sort": "newest", "limit": 8}),
            )
            page = visit.html(
                "home.html", ending=ending["items"], newest=newest["items"], flash=flash
            )
            return 200, page

        return await visit.cached(render)

    @router.get("/auctions")
    async def catalogue(request: Request) -> Response:
        visit = await visit_of(request, web)
        asked = query(request)
        sort = asked.get("sort") if asked.get("sort") in _SORTS else "relevance"
        status = asked.get("status") if asked.get("status") in _STATUSES else None
        fmt = asked.get("format") if asked.get("format") in formats.FORMATS else None
        offset = _number(asked.get("after")) or 0
        params = {
            "q": asked.get("q", "")[:200],
            "category": asked.get("category") or None,
            "status": status,
            "format": fmt,
            "min_price": _number(asked.get("min_price")),
            "max_price": _number(asked.get("max_price")),
            "sort": sort,
            "limit": _PAGE_SIZE,
            "offset": offset,
        }

        async def render() -> tuple[int, str]:
            try:
                found = await visit.api("GET", "/api/v1/search/auctions", params=params)
            except ApiProblem as problem:
                if problem.status != 422:
                    raise
                found = {"items": [], "total": 0, "facets": {}, "next_offset": None}
            page = visit.html(
                "catalogue.html",
                found=found,
                asked=params,
                sorts=_SORTS,
                statuses=_STATUSES,
                format_filter=formats.filter_choices(found.get("facets", {}).get("format") or []),
                category_choices=facet_choices(
                    found.get("facets", {}).get("category") or [], asked.get("category")
                ),
            )
            return 200, page

        return await visit.cached(render)

    @router.get("/auctions/{lot_id}")
    async def lot(request: Request, lot_id: str) -> Response:
        visit = await visit_of(request, web)
        outcome = await visit.take_flash()

        async def render() -> tuple[int, str]:
            detail = await visit.api("GET", f"/api/v1/auctions/{lot_id}")
            auction = detail["auction"]
            book, history, seller, standing, watching, tree, sale = await asyncio.gather(
                _optional(visit.api("GET", f"/api/v1/auctions/{lot_id}/book")),
                _optional(visit.api("GET", f"/api/v1/auctions/{lot_id}/bids")),
                _optional(visit.api("GET", f"/api/v1/users/{auction['seller_id']}/profile")),
                feedback.standing(visit, auction["seller_id"]),
                _watching(visit, lot_id),
                category_tree(visit, include_retired=True),
                sales_pages.sale_link(visit, auction),
            )
            session = visit.session
            page = visit.html(
                "lot.html",
                auction=auction,
                book=book,
                **_format_context(auction, book, visit.web.clock()),
                history=list(reversed((history or {}).get("bids", []))),
                seller=seller,
                standing=standing,
                watching=watching,
                category_trail=trail(tree, auction["category"]),
                sale=sale,
                mine=session is not None and session.user_id == auction["seller_id"],
                idempotency_key=f"web-{visit.visitor[:12]}-{time.time_ns()}",
                outcome=outcome,
            )
            return 200, page

        return await visit.cached(render)

    @router.get("/auctions/{lot_id}/history")
    async def history_rows(request: Request, lot_id: str) -> Response:
        """The bid history's rows alone: the lot page's script swaps them in as bids arrive."""
        visit = await visit_of(request, web)
        history = await visit.api("GET", f"/api/v1/auctions/{lot_id}/bids")
        asked = query(request)
        currency = str(asked.get("currency", "USD"))[:3]
        return visit.render(
            "_history.html",
            history=list(reversed(history["bids"])),
            currency=currency,
            sealed_open=asked.get("sealed") == "1",
        )

    @router.get("/signup")
    async def signup_form(request: Request) -> Response:
        visit = await visit_of(request, web)
        return visit.render("signup.html", fields={}, problem=None)

    @router.post("/signup")
    async def signup(request: Request) -> Response:
        visit = await visit_of(request, web)
        fields = await visit.form()
        body = {
            "email": fields.get("email", ""),
            "password": fields.get("password", ""),
            "display_name": fields.get("display_name", ""),
        }
        try:
            # The device id goes to identity with the sign-up only (shill-bidding signals).
            device = {"X-Device-Id": visit.device}
            await visit.api("POST", "/api/v1/auth/register", json=body, headers=device)
            return await _sign_in(visit, body["email"], body["password"], "/account?welcome=1")
        except ApiProblem as problem:
            if problem.status >= 500:
                raise
            shown = {"email": body["email"], "display_name": body["display_name"]}
            return visit.render("signup.html", 422, fields=shown, problem=problem)

    @router.get("/signin")
    async def signin_form(request: Request) -> Response:
        visit = await visit_of(request, web)
        return visit.render(
            "signin.html", email="", problem=None, next=_safe_next(query(request).get("next"))
        )

    @router.post("/signin")
    async def signin(request: Request) -> Response:
        visit = await visit_of(request, web)
        fields = await visit.form()
        target = _safe_next(fields.get("next"))
        try:
            return await _sign_in(
                visit, fields.get("email", ""), fields.get("password", ""), target
            )
        except ApiProblem as problem:
            if problem.status >= 500:
                raise
            email = fields.get("email", "")
            if problem.code == SUSPENDED:
                refused = suspension_of(problem)
                return visit.render(
                    "signin.html", 403, email=email, problem=None, next=target, suspension=refused
                )
            status = 429 if problem.status == 429 else 401 if problem.status == 401 else 422
            return visit.render("signin.html", status, email=email, problem=problem, next=target)

    @router.post("/signout")
    async def signout(request: Request) -> Response:
        visit = await visit_of(request, web)
        await visit.form()
        if visit.session is not None and visit.cookie is not None:
            # The session goes either way; its tokens expire by themselves.
            with contextlib.suppress(ApiProblem):
                await visit.api(
                    "POST",
                    "/api/v1/auth/logout",
                    json={"refresh_token": visit.session.refresh_token},
                )
            await web.sessions.delete(visit.cookie)
        visit.session = None
        visit.drop_session = True
        return visit.redirect("/")

    async def _sign_in(visit: Visit, email: str, password: str, target: str) -> Response:
        # Not as the visitor: a suspended account's refusal is this form's answer, not the
        # end of a session (the visitor's own is replaced anyway).
        pair = await web.api.post(
            "/api/v1/auth/login", json={"email": email, "password": password}, address=visit.address
        )
        me = await web.api.get(
            "/api/v1/users/me", token=pair["access_token"], address=visit.address
        )
        session = new_session(me["user"], pair)
        if visit.cookie is not None:
            await web.sessions.delete(visit.cookie)
        cookie = await web.sessions.create(session)
        visit.session, visit.cookie = session, cookie
        response = visit.redirect(target)
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=int(web.sessions.ttl),
            httponly=True,
            samesite="lax",
            secure=web.secure_cookies,
            path="/",
        )
        return response

    @router.get("/static/{name:path}")
    async def static(request: Request, name: str) -> Response:
        answer = web.assets.response(request, name)
        if answer is None:
            return Response("not found", 404, media_type="text/plain")
        return answer

    @router.get("/favicon.ico")
    async def favicon() -> Response:
        return Response(status_code=308, headers={"Location": web.assets.url("favicon.svg")})

    @router.get("/{rest:path}")
    async def not_found(request: Request, rest: str) -> Response:
        visit = await visit_of(request, web)
        return problem_page(visit, 404, "There is no page at this address.")

    return router


def _format_context(
    auction: dict[str, Any], book: dict[str, Any] | None, now: datetime
) -> dict[str, Any]:
    """How the lot is sold, for its page: the format, and an open Dutch lot's clock and price.

    The book names the format (the listing too, once it says it); an open Dutch lot's
    price is the book's, read a moment ago, or the clock's now when it has no book yet.
    """
    fmt = formats.format_of(book if book and book.get("format") else auction)
    status = (book or {}).get("status") or auction["status"]
    clock = formats.clock_of(auction, book) if fmt == formats.DUTCH and status == "open" else None
    price = next_drop = None
    if clock is not None:
        if book and book.get("dutch"):
            price, next_drop = book["price_cents"], clock.get("next_drop_at")
        else:
            price = formats.price_at(clock, now)
            drop = formats.next_drop_at(clock, now)
            next_drop = drop.isoformat() if drop is not None else None
    return {
        "fmt": fmt,
        "sealed": formats.is_sealed(fmt),
        "clock": clock,
        "dutch_price": price,
        "next_drop": next_drop,
    }


def _number(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 16 else None


def _safe_next(target: str | None) -> str:
    """Only a path of this site: never ``//other.host`` or a full URL."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def _optional(call: Any) -> Any:
    try:
        return await call
    except ApiProblem as problem:
        if problem.status in (404, 403):
            return None
        raise


async def _watching(visit: Any, lot_id: str) -> bool:
    if visit.session is None:
        return False
    try:
        watched = await visit.api("GET", "/api/v1/watchlist", params={"limit": 100})
    except ApiProblem:
        return False
    return any(item["auction"]["id"] == lot_id for item in watched.get("items", []))
