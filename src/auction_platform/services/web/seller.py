"""What a seller does: become one, list a lot (preview, draft, publish), edit, cancel; sales.

The listing form is plain HTML with no script: amounts are typed in major units
and converted here, times are UTC, and every refusal of the API comes back as
the same form with what was typed kept and the API's sentence above it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response

from auction_platform.contracts.money import CURRENCIES, InvalidAmount, parse_amount
from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.render import amount_input, duration_text, moment, utc_text
from auction_platform.services.web.sessions import with_tokens
from auction_platform.services.web.site import PageRoute, Visit, Web, query, visit_of

CURRENCY_CHOICES = ("USD", "EUR", "GBP", "CHF", "JPY", "SEK", "CAD", "AUD")
DURATIONS: tuple[tuple[int, str], ...] = (
    (600, "10 minutes"),
    (3_600, "1 hour"),
    (86_400, "1 day"),
    (3 * 86_400, "3 days"),
    (5 * 86_400, "5 days"),
    (7 * 86_400, "7 days"),
    (10 * 86_400, "10 days"),
)
DEFAULT_DURATION = 7 * 86_400
# What the "Soft close" box promises: a bid in the last 2 minutes adds 2 minutes.
SOFT_CLOSE = {"window_seconds": 120, "extend_seconds": 120, "max_extensions": 10}
# "Start now": the API wants a start time, and one a moment ahead is never in the past.
START_LEAD = timedelta(seconds=5)
LISTING_STATUSES = ("draft", "scheduled", "open", "closed", "cancelled")
_PAGE_SIZE = 20
# The form field an API refusal is about, so the page can mark it.
_FIELD_OF_CODE = {
    "invalid_title": "title",
    "invalid_description": "description",
    "invalid_category": "category",
    "invalid_image_url": "images",
    "too_many_images": "images",
    "unknown_currency": "currency",
    "invalid_start_price": "start_price",
    "invalid_reserve": "reserve_price",
    "invalid_buy_now": "buy_now_price",
    "invalid_duration": "duration",
    "start_in_past": "starts_at",
    "invalid_time": "starts_at",
    "invalid_soft_close": "soft_close",
}


class FormProblem(Exception):
    """A field of the listing form that is not right; nothing was sent to the API."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.details = None


def build_router(web: Web) -> APIRouter:
    """The seller's pages."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.get("/sell")
    async def sell_form(request: Request) -> Response:
        visit = await visit_of(request, web)
        flash = await visit.take_flash()
        if not visit.user().has_role("seller"):
            return visit.render("sell.html", become=True, flash=flash)
        return _form_page(visit, blank_fields(), flash=flash)

    @router.post("/sell/become-seller")
    async def become_seller(request: Request) -> Response:
        visit = await visit_of(request, web)
        session = visit.user()
        await visit.form()
        if session.has_role("seller") or visit.cookie is None:
            return visit.redirect("/sell")
        answer = await visit.api("POST", "/api/v1/users/me/seller")
        # The access token carries the roles: a fresh one lets the visitor sell at once.
        pair = await web.api.post(
            "/api/v1/auth/refresh",
            json={"refresh_token": session.refresh_token},
            address=visit.address,
        )
        visit.session = replace(with_tokens(session, pair), roles=tuple(answer["user"]["roles"]))
        await web.sessions.save(visit.cookie, visit.session)
        return await visit.answer("/sell", "You are a seller now: list your first lot.", "success")

    @router.post("/sell")
    async def sell(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.role("seller")
        fields = await visit.form()
        action = fields.pop("action", "preview")
        try:
            terms = listing_terms(fields, now=web.clock())
        except FormProblem as problem:
            return _form_page(visit, fields, problem=problem, status=422)
        if action not in ("publish", "draft"):
            return _form_page(visit, fields, preview=terms)
        try:
            created = await visit.api(
                "POST", "/api/v1/auctions", json={**terms, "publish": action == "publish"}
            )
        except ApiProblem as problem:
            if not _shown_on_form(problem):
                raise
            return _form_page(visit, fields, problem=_worded(problem), status=problem.status)
        lot = created["auction"]
        if action == "draft":
            message = "Saved as a draft: only you can see it. Publish it when it is ready."
        else:
            message = _listed(lot, web.clock())
        await visit.flash(message, "success")
        return visit.redirect(f"/auctions/{lot['id']}")

    @router.get("/auctions/{lot_id}/edit")
    async def edit_form(request: Request, lot_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("seller")
        lot = await _own_lot(visit, lot_id)
        if lot["status"] not in ("draft", "scheduled"):
            return await visit.answer(
                "/my/listings", "A lot can only be changed before it opens.", "error"
            )
        return _form_page(visit, lot_fields(lot, now=web.clock()), lot=lot)

    @router.post("/auctions/{lot_id}/edit")
    async def edit(request: Request, lot_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("seller")
        fields = await visit.form()
        action = fields.pop("action", "preview")
        lot = await _own_lot(visit, lot_id)
        try:
            terms = listing_terms(fields, now=web.clock(), current=lot)
        except FormProblem as problem:
            return _form_page(visit, fields, lot=lot, problem=problem, status=422)
        if action not in ("save", "publish"):
            return _form_page(visit, fields, lot=lot, preview=terms)
        try:
            changes = changed_terms(terms, lot)
            if changes:
                lot = (await visit.api("PATCH", f"/api/v1/auctions/{lot_id}", json=changes))[
                    "auction"
                ]
            if action == "publish" and lot["status"] == "draft":
                lot = (await visit.api("POST", f"/api/v1/auctions/{lot_id}/publish"))["auction"]
        except ApiProblem as problem:
            if not _shown_on_form(problem):
                raise
            return _form_page(
                visit, fields, lot=lot, problem=_worded(problem), status=problem.status
            )
        if action == "publish":
            message = _listed(lot, web.clock())
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
            if not _shown_on_form(problem):
                raise
            message = _worded(problem).message
            if problem.code == "start_in_past":
                message = (
                    "Its start time has passed: edit the lot, choose “Now” or a new time, "
                    "and publish it from there."
                )
            return await visit.answer("/my/listings", message, "error")
        return await visit.answer("/my/listings", _listed(lot, web.clock()), "success")

    @router.get("/auctions/{lot_id}/cancel")
    async def cancel_form(request: Request, lot_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("seller")
        lot = await _own_lot(visit, lot_id)
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
            if not _shown_on_form(problem):
                raise
            return await visit.answer("/my/listings", _worded(problem).message, "error")
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
        buyers = await _names(visit, [order["buyer_id"] for order in orders])
        return visit.render(
            "sales.html",
            orders=orders,
            buyers=buyers,
            next_cursor=found.get("next_cursor"),
            paged=cursor is not None,
            flash=await visit.take_flash(),
        )

    return router


def blank_fields() -> dict[str, str]:
    """A new listing form: US dollars, starting now, a week long, with a soft close."""
    return {
        "currency": "USD",
        "start": "now",
        "tz_offset": "0",
        "duration": str(DEFAULT_DURATION),
        "soft_close": "on",
    }


def lot_fields(lot: Mapping[str, Any], *, now: datetime) -> dict[str, str]:
    """The listing form filled in with a lot's terms (as its seller sees them)."""
    currency = str(lot["currency"])
    starts, ends = _moment(lot["starts_at"]), _moment(lot["scheduled_ends_at"])
    return {
        "title": str(lot["title"]),
        "description": str(lot.get("description") or ""),
        "category": str(lot["category"]),
        "images": "\n".join(lot.get("images") or []),
        "currency": currency,
        "start_price": amount_input(lot["start_cents"], currency),
        "reserve_price": amount_input(lot.get("reserve_cents"), currency),
        "buy_now_price": amount_input(lot.get("buy_now_cents"), currency),
        # A start that has passed (a draft's) is no use: the form offers "now" instead.
        "start": "at" if starts > now else "now",
        "starts_at": f"{starts:%Y-%m-%dT%H:%M}",
        "tz_offset": "0",
        "duration": str(int((ends - starts).total_seconds())),
        "soft_close": "on" if lot.get("soft_close") else "",
    }


def listing_terms(
    fields: Mapping[str, str], *, now: datetime, current: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The API's terms of a lot from the form, or ``FormProblem`` naming the field at fault.

    Only what the form itself can know is checked here (amounts, times); the API
    judges the rest and its refusal is shown on the form.
    """
    currency = fields.get("currency", "").strip().upper()
    if currency not in CURRENCIES:
        raise FormProblem("currency", "Currency: choose one from the list.")
    starts_at = _start(fields, now=now, current=current)
    return {
        "title": fields.get("title", "").strip(),
        "description": fields.get("description", "").strip(),
        "category": "-".join(fields.get("category", "").lower().split()),
        "images": [line.strip() for line in fields.get("images", "").splitlines() if line.strip()],
        "currency": currency,
        "start_cents": _amount(fields, "start_price", "Start price", currency),
        "reserve_cents": _amount(fields, "reserve_price", "Reserve price", currency, optional=True),
        "buy_now_cents": _amount(
            fields, "buy_now_price", "Buy It Now price", currency, optional=True
        ),
        "starts_at": starts_at.isoformat(),
        "ends_at": (starts_at + timedelta(seconds=_duration(fields))).isoformat(),
        "soft_close": dict(SOFT_CLOSE) if fields.get("soft_close") else None,
    }


def changed_terms(terms: Mapping[str, Any], lot: Mapping[str, Any]) -> dict[str, Any]:
    """The terms that differ from the lot's: what a PATCH sends.

    A soft close counts as unchanged while it stays on, so a lot listed through
    the API with its own soft-close numbers keeps them when its title is edited.
    """
    changes: dict[str, Any] = {}
    for name, value in terms.items():
        if name in ("starts_at", "ends_at"):
            before = lot["starts_at" if name == "starts_at" else "scheduled_ends_at"]
            if _moment(value) != _moment(before):
                changes[name] = value
        elif name == "soft_close":
            if (value is None) != (lot.get("soft_close") is None):
                changes[name] = value
        elif value != lot.get(name):
            changes[name] = value
    return changes


def _amount(
    fields: Mapping[str, str], name: str, label: str, currency: str, *, optional: bool = False
) -> int | None:
    text = fields.get(name, "").strip()
    if optional and not text:
        return None
    try:
        return parse_amount(text, currency)
    except InvalidAmount as error:
        raise FormProblem(name, f"{label}: {error}.") from error


def _start(
    fields: Mapping[str, str], *, now: datetime, current: Mapping[str, Any] | None
) -> datetime:
    if fields.get("start", "now") != "at":
        return now + START_LEAD
    try:
        typed = datetime.fromisoformat(fields.get("starts_at", "").strip())
    except ValueError as error:
        raise FormProblem(
            "starts_at", "Start time: choose a date and a time, or start now."
        ) from error
    # ``tz_offset`` is minutes as a browser's getTimezoneOffset() counts them (UTC minus
    # local time); no script fills it yet, so it stays 0 and times are UTC.
    offset = fields.get("tz_offset", "0").strip().lstrip("-")
    minutes = int(fields["tz_offset"]) if offset.isdigit() and int(offset) <= 14 * 60 else 0
    starts = typed.replace(tzinfo=UTC) + timedelta(minutes=minutes)
    if current is not None:
        # The form shows minutes only: the lot's own start, to the minute, is kept as it is.
        before = _moment(current["starts_at"])
        if starts == before.replace(second=0, microsecond=0):
            return before
    return starts


def _duration(fields: Mapping[str, str]) -> int:
    text = fields.get("duration", "")
    if not text.isdigit() or not 60 <= int(text) <= 400 * 86_400:
        raise FormProblem("duration", "Duration: choose how long the lot runs.")
    return int(text)


def _durations(fields: Mapping[str, str]) -> list[tuple[str, str]]:
    """The duration choices; a lot's own, when it is none of them, is kept as a choice."""
    choices = [(str(seconds), label) for seconds, label in DURATIONS]
    chosen = fields.get("duration", "")
    if chosen.isdigit() and chosen not in dict(choices):
        choices.append((chosen, f"{duration_text(int(chosen))} (as now)"))
    return choices


def _currencies(fields: Mapping[str, str]) -> list[str]:
    chosen = fields.get("currency", "")
    choices = list(CURRENCY_CHOICES)
    return choices if chosen in choices or chosen not in CURRENCIES else [*choices, chosen]


def _form_page(
    visit: Visit,
    fields: Mapping[str, str],
    *,
    lot: Mapping[str, Any] | None = None,
    problem: FormProblem | ApiProblem | None = None,
    preview: Mapping[str, Any] | None = None,
    flash: tuple[str, str] | None = None,
    status: int = 200,
) -> Response:
    bad_field = problem.field if isinstance(problem, FormProblem) else None
    if isinstance(problem, ApiProblem):
        bad_field = _FIELD_OF_CODE.get(problem.code)
    return visit.render(
        "sell.html",
        status,
        become=False,
        fields=fields,
        lot=lot,
        problem=problem,
        bad_field=bad_field,
        preview=preview,
        start_now=fields.get("start", "now") != "at",
        currencies=_currencies(fields),
        durations=_durations(fields),
        action=f"/auctions/{lot['id']}/edit" if lot else "/sell",
        utc_now=f"{visit.web.clock():%Y-%m-%d %H:%M}",
        flash=flash,
    )


async def _own_lot(visit: Visit, lot_id: str) -> dict[str, Any]:
    """The lot as its seller sees it (the reserve included); 403 for anyone else's."""
    lot: dict[str, Any] = (await visit.api("GET", f"/api/v1/auctions/{lot_id}"))["auction"]
    if not lot.get("viewer", {}).get("is_seller"):
        raise ApiProblem(403, "forbidden", "Only the lot's seller can change it.")
    return lot


async def _names(visit: Visit, user_ids: list[str]) -> dict[str, str]:
    """Display names of accounts (read in parallel; one that cannot be read is left out)."""

    async def name(user_id: str) -> tuple[str, str | None]:
        try:
            found = await visit.api("GET", f"/api/v1/users/{user_id}/profile")
        except ApiProblem:
            return user_id, None
        return user_id, str(found["user"]["display_name"])

    found = await asyncio.gather(*(name(user_id) for user_id in dict.fromkeys(user_ids)))
    return {user_id: shown for user_id, shown in found if shown is not None}


def _shown_on_form(problem: ApiProblem) -> bool:
    """A refusal the seller can act on (bad terms, the wrong moment), not an outage."""
    return 400 <= problem.status < 500 and problem.status not in (401, 404)


def _worded(problem: ApiProblem) -> ApiProblem:
    """The API's sentence as a sentence: a capital letter and a full stop."""
    message = problem.message[:1].upper() + problem.message[1:]
    if not message.endswith("."):
        message += "."
    return replace(problem, message=message)


def _listed(lot: Mapping[str, Any], now: datetime) -> str:
    starts = _moment(lot["starts_at"])
    if starts - now <= timedelta(minutes=1):
        return f"“{lot['title']}” is listed: it opens in a few seconds."
    return f"“{lot['title']}” is listed: it opens {utc_text(starts)}."


def _moment(value: Any) -> datetime:
    found = moment(value)
    if found is None:
        raise ValueError("a lot always has its times")
    return found
