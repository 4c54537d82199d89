"""What a bidder does on a lot: bid, Buy It Now, watch; and their bids and watchlist."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response

from auction_platform.contracts.money import InvalidAmount, format_money, parse_amount
from auction_platform.services.web import formats
from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.site import PageRoute, Visit, Web, visit_of


def build_router(web: Web) -> APIRouter:
    """A bidder's actions and pages."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.post("/auctions/{lot_id}/bid")
    async def bid(request: Request, lot_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        fields = await visit.form()
        page = f"/auctions/{lot_id}"
        book = await visit.api("GET", f"/api/v1/auctions/{lot_id}/book")
        currency = str(book["currency"])
        sealed = formats.is_sealed(formats.format_of(book))
        try:
            cents = parse_amount(fields.get("max_bid", ""), currency)
        except InvalidAmount as error:
            label = "Your bid" if sealed else "Your maximum bid"
            return await visit.answer(page, f"{label}: {error}.", "error")
        try:
            placed = await visit.api(
                "POST",
                f"/api/v1/auctions/{lot_id}/bids",
                json={"max_amount_cents": cents},
                headers=_idempotency(fields),
            )
        except ApiProblem as problem:
            if problem.status >= 500 or problem.status == 401:
                raise
            own = (book.get("you") or {}).get("max_cents")
            return await visit.answer(page, _refusal(problem, currency, own), "error")
        if sealed:
            # Where a sealed bid ranks is secret until the close, its bidder included.
            bid_text = format_money(cents, currency)
            return await visit.answer(
                page,
                f"Your sealed bid of {bid_text} is in. Nobody sees it until the auction ends; "
                "you may raise it until then.",
                "success",
                book=_public(placed),
                sealed_bid=bid_text,
            )
        price = format_money(int(placed["price_cents"]), currency)
        if placed.get("leading"):
            message = (
                f"Bid placed: you are the highest bidder at {price}. We will bid for you up to "
                f"{format_money(cents, currency)}."
            )
            kind = "success"
        else:
            message = (
                f"Bid placed, but another bidder's maximum is higher: the price is now {price}. "
                "You can bid again."
            )
            kind = "warning"
        return await visit.answer(page, message, kind, book=_public(placed))

    @router.post("/auctions/{lot_id}/buy-now")
    async def buy_now(request: Request, lot_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        fields = await visit.form()
        page = f"/auctions/{lot_id}"
        try:
            bought = await visit.api(
                "POST", f"/api/v1/auctions/{lot_id}/buy-now", headers=_idempotency(fields)
            )
        except ApiProblem as problem:
            if problem.status >= 500 or problem.status == 401:
                raise
            refused = await _purchase_refusal(visit, lot_id, problem)
            return await visit.answer(page, refused, "error")
        price = format_money(int(bought["price_cents"]), str(bought["currency"]))
        return await visit.answer(
            page,
            f"You bought this lot for {price}. Your order will be ready to pay in a moment.",
            "success",
            book=_public(bought),
        )

    @router.post("/auctions/{lot_id}/watch")
    async def watch(request: Request, lot_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        await visit.form()
        await visit.api("PUT", f"/api/v1/watchlist/{lot_id}")
        return await visit.answer(
            f"/auctions/{lot_id}", "Added to your watchlist: we will tell you before it ends."
        )

    @router.post("/auctions/{lot_id}/unwatch")
    async def unwatch(request: Request, lot_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        await visit.form()
        await visit.api("DELETE", f"/api/v1/watchlist/{lot_id}")
        return await visit.answer(f"/auctions/{lot_id}", "Removed from your watchlist.")

    @router.get("/watchlist")
    async def watchlist(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        watched = await visit.api("GET", "/api/v1/watchlist", params={"limit": 100})
        return visit.render(
            "watchlist.html",
            lots=[item["auction"] for item in watched.get("items", [])],
            flash=await visit.take_flash(),
        )

    @router.get("/my/bids")
    async def my_bids(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.user()
        mine = await visit.api("GET", "/api/v1/bids", params={"limit": 100})
        items: list[dict[str, Any]] = mine.get("items", [])
        titles = await _titles(visit, [item["auction_id"] for item in items])
        groups: dict[str, list[dict[str, Any]]] = {
            "leading": [], "sealed": [], "outbid": [], "won": [], "lost": []
        }  # fmt: skip
        for item in items:
            item["title"] = titles.get(item["auction_id"], "A lot")
            groups.setdefault(item["standing"], []).append(item)
        return visit.render("my_bids.html", groups=groups)

    return router


async def _titles(visit: Visit, ids: list[str]) -> dict[str, str]:
    """The titles of the lots a page lists (read in parallel, a missing one skipped)."""

    async def title(lot_id: str) -> tuple[str, str | None]:
        try:
            detail = await visit.api("GET", f"/api/v1/auctions/{lot_id}")
        except ApiProblem:
            return lot_id, None
        return lot_id, str(detail["auction"]["title"])

    found = await asyncio.gather(*(title(lot_id) for lot_id in dict.fromkeys(ids)))
    return {lot_id: name for lot_id, name in found if name is not None}


def _idempotency(fields: dict[str, str]) -> dict[str, str]:
    """The form's key, so a form sent twice (a double click, a reload) counts once."""
    key = fields.get("idempotency_key", "")
    return {"Idempotency-Key": key} if 1 <= len(key) <= 200 else {}


def _public(book: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "format",
        "price_cents",
        "bid_count",
        "leader",
        "min_next_bid_cents",
        "ends_at",
        "status",
        "seq",
        "version",
    )
    return {name: book.get(name) for name in keep}


async def _purchase_refusal(visit: Visit, lot_id: str, problem: ApiProblem) -> str:
    """Why a purchase was refused: a Dutch lot another bidder accepted first says so."""
    if problem.code == "auction_ended":
        try:
            book = await visit.api("GET", f"/api/v1/auctions/{lot_id}/book")
        except ApiProblem:
            book = {}
        if formats.format_of(book) == formats.DUTCH and book.get("bid_count"):
            price = format_money(int(book["price_cents"]), str(book["currency"]))
            return f"Too late: another bidder accepted the price first and bought it for {price}."
    return _refusal(problem, "")


def _refusal(problem: ApiProblem, currency: str, own_cents: int | None = None) -> str:
    """A refusal of the bidding service in words, with the amount that would do."""
    details = problem.details if isinstance(problem.details, dict) else {}
    minimum = details.get("min_next_bid_cents")
    if problem.code == "below_minimum" and minimum and currency:
        return f"Your bid is too low: bid at least {format_money(int(minimum), currency)}."
    worded = formats.refusal_words(problem.code, currency=currency, own_cents=own_cents)
    if worded is not None:
        return worded
    message = problem.message[:1].upper() + problem.message[1:]
    return message if message.endswith(".") else message + "."
