"""The operators' accounts: the list of accounts (who is suspended, until when) and an
account's page, where an admin suspends it with a reason and an optional end, or
reinstates it.

The end is typed in the admin's time zone, chosen on the form (and remembered in their
session): the page converts it to UTC before identity sees it. Identity keeps the
rules (``POST``/``DELETE /api/v1/users/{id}/suspension``); its refusals come back as
sentences on the form.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from fastapi import APIRouter, Request, Response

from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.render import moment
from auction_platform.services.web.site import (
    PageRoute,
    Visit,
    Web,
    display_names,
    query,
    visit_of,
)

LIST = "/admin/users"
PAGE = 25
ROLES = {"bidder": "Bidders", "seller": "Sellers", "admin": "Admins"}
REASON_LIMIT = 500
DEFAULT_ZONE = "UTC"
# The session's memory of the zone this admin types times in.
ZONE_KEY = "time_zone"
# Identity's refusals of a suspension or a reinstatement, as the form says them.
REFUSALS = {
    "cannot_suspend_self": "You cannot suspend your own account.",
    "already_suspended": "This account is suspended already. Reinstate it first to "
    "suspend it again with another reason or end.",
    "not_suspended": "This account is not suspended: its suspension has ended or was "
    "lifted meanwhile.",
    "invalid_suspension_end": "The end must be in the future. Leave it empty to suspend "
    "until you reinstate the account.",
    "invalid_reason": f"Say why, in 1 to {REASON_LIMIT} characters: the member is told it.",
}


@cache
def zones() -> tuple[str, ...]:
    """The IANA time zones an admin may type an end in, UTC first."""
    return (DEFAULT_ZONE, *sorted(z for z in available_timezones() if z != DEFAULT_ZONE))


def zone_of(name: str | None) -> ZoneInfo:
    """The zone by its IANA name; UTC for an unknown one."""
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def local_text(value: Any, zone: ZoneInfo) -> str:
    """``12 Dec 2026, 15:00 (Europe/Paris)``: a moment as the admin's zone reads it."""
    found = moment(value)
    if found is None:
        return "—"
    local = found.astimezone(zone)
    return f"{local.day} {local:%b %Y, %H:%M} ({zone.key})"


class FormProblem(Exception):
    """A suspension form the page refuses before identity sees it."""


def suspension_end(typed: str, zone: ZoneInfo) -> datetime | None:
    """The end typed on the form (``YYYY-MM-DDTHH:MM`` in ``zone``) in UTC; None if empty.

    A time that a change of clocks skips or repeats is read as ``fold=0`` (the earlier).
    """
    text = typed.strip()
    if not text:
        return None
    try:
        local = datetime.fromisoformat(text)
    except ValueError as error:
        raise FormProblem("End: choose a date and a time, or leave it empty.") from error
    if local.tzinfo is not None:
        raise FormProblem("End: choose a date and a time, or leave it empty.")
    return local.replace(tzinfo=zone).astimezone(UTC)


def _refusal(problem: ApiProblem) -> str:
    return REFUSALS.get(problem.code, problem.message[:1].upper() + problem.message[1:])


def build_router(web: Web) -> APIRouter:
    """The admin pages of accounts."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.get(LIST)
    async def accounts(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        asked = query(request)
        text = asked.get("q", "").strip()[:320]
        role = asked.get("role") if asked.get("role") in ROLES else None
        cursor = asked.get("cursor", "")[:512] or None
        found = await visit.api(
            "GET",
            "/api/v1/users",
            params={"q": text, "role": role, "cursor": cursor, "limit": PAGE},
        )
        return visit.render(
            "admin/users.html",
            users=found["items"],
            next_cursor=found.get("next_cursor"),
            q=text,
            role=role,
            roles=ROLES,
            paged=cursor is not None,
            flash=await visit.take_flash(),
        )

    @router.get(LIST + "/{user_id}")
    async def account(request: Request, user_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        return await _account_page(visit, user_id, flash=await visit.take_flash())

    @router.post(LIST + "/{user_id}/suspension")
    async def suspend(request: Request, user_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        fields = await visit.form()
        zone = zone_of(fields.get("time_zone"))
        await _remember_zone(visit, zone)
        reason = fields.get("reason", "").strip()
        typed = {"reason": reason, "until": fields.get("until", "")}
        try:
            if not reason or len(reason) > REASON_LIMIT:
                raise FormProblem(REFUSALS["invalid_reason"])
            until = suspension_end(typed["until"], zone)
        except FormProblem as wrong:
            return await _account_page(visit, user_id, problem=str(wrong), typed=typed, status=422)
        body = {"reason": reason, "until": until.isoformat() if until else None}
        try:
            await visit.api("POST", f"/api/v1/users/{user_id}/suspension", json=body)
        except ApiProblem as problem:
            if problem.status >= 500 or problem.status in (401, 403, 404):
                raise
            status = 409 if problem.status == 409 else 422
            return await _account_page(
                visit, user_id, problem=_refusal(problem), typed=typed, status=status
            )
        ends = f"until {local_text(until, zone)}" if until else "until you reinstate it"
        message = (
            f"Suspended {ends}. Its sessions end now, its listings are cancelled and its "
            "leading bids withdrawn; the member is told by email."
        )
        return await visit.answer(f"{LIST}/{user_id}", message, "success")

    @router.post(LIST + "/{user_id}/reinstatement")
    async def reinstate(request: Request, user_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        await visit.form()
        try:
            await visit.api("DELETE", f"/api/v1/users/{user_id}/suspension")
        except ApiProblem as problem:
            if problem.status >= 500 or problem.status in (401, 403, 404):
                raise
            return await visit.answer(f"{LIST}/{user_id}", _refusal(problem), "error")
        message = (
            "Reinstated: the member may sign in again and is told by email. "
            "What the suspension cancelled stays cancelled."
        )
        return await visit.answer(f"{LIST}/{user_id}", message, "success")

    return router


async def _remember_zone(visit: Visit, zone: ZoneInfo) -> None:
    session = visit.session
    if session is None or visit.cookie is None or session.extra.get(ZONE_KEY) == zone.key:
        return
    visit.session = replace(session, extra={**session.extra, ZONE_KEY: zone.key})
    await visit.web.sessions.save(visit.cookie, visit.session)


async def _account_page(
    visit: Visit,
    user_id: str,
    *,
    flash: tuple[str, str] | None = None,
    problem: str | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    found, standing = await asyncio.gather(
        visit.api("GET", f"/api/v1/users/{user_id}"),
        visit.api("GET", f"/api/v1/users/{user_id}/suspension"),
    )
    suspension = standing["suspension"]
    admins = [suspension["suspended_by"], suspension.get("lifted_by")] if suspension else []
    session = visit.session
    zone = zone_of(session.extra.get(ZONE_KEY) if session else None)
    return visit.render(
        "admin/user.html",
        status,
        user=found["user"],
        suspension=suspension,
        in_force=bool(suspension and suspension["in_force"]),
        names=await display_names(visit, [a for a in admins if a]),
        yourself=session is not None and session.user_id == user_id,
        zone=zone.key,
        zones=zones(),
        local=lambda value: local_text(value, zone),
        typed=typed or {"reason": "", "until": ""},
        problem=problem,
        limit=REASON_LIMIT,
        flash=flash,
    )
