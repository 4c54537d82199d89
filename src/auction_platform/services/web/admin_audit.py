"""The operators' audit trail: ``/admin/audit``.

Every operator action the services recorded (``/api/v1/analytics/audit``), newest
first, filtered by who acted, the action, the target and a range of days, paged by
the API's cursor; ``/admin/audit/export`` downloads the same records as JSON lines
(the site reads them a page at a time with the admin's token and writes each line).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.site import PageRoute, Visit, Web, display_names, query, visit_of

PAGE = "/admin/audit"
API = "/api/v1/analytics/audit"
FILTERS = ("actor", "action", "target", "from", "to")
PAGE_SIZE = 50
EXPORT_PAGE = 200
# The actions the services record, for the filter's suggestions (any other is accepted).
ACTIONS = (
    "user.roles_changed",
    "user.became_seller",
    "user.suspended",
    "user.reinstated",
    "user.erased",
    "auction.cancelled",
    "category.added",
    "category.renamed",
    "category.moved",
    "category.retired",
    "category.restored",
    "category.changed",
    "order.refunded",
    "payout.held",
    "payout.released",
    "report.resolved",
    "dispute.decided",
)


def _filters(asked: Mapping[str, str]) -> dict[str, str]:
    """The filters asked for, trimmed, the empty ones left out."""
    chosen = {name: asked.get(name, "").strip()[:200] for name in FILTERS}
    return {name: value for name, value in chosen.items() if value}


def _line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


async def _every_record(visit: Visit, filters: dict[str, str]) -> AsyncIterator[bytes]:
    cursor: str | None = None
    while True:
        params = {**filters, "limit": EXPORT_PAGE, "cursor": cursor}
        found = await visit.api("GET", API, params=params)
        for record in found["items"]:
            yield _line(record)
        cursor = found["next_cursor"]
        if cursor is None:
            return


def build_router(web: Web) -> APIRouter:
    """The audit page and its JSON lines download."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.get(PAGE)
    async def audit_log(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        asked = query(request)
        filters = _filters(asked)
        cursor = asked.get("cursor", "")[:512] or None
        problem = None
        found: dict[str, Any] = {"items": [], "next_cursor": None}
        try:
            params = {**filters, "cursor": cursor, "limit": PAGE_SIZE}
            found = await visit.api("GET", API, params=params)
        except ApiProblem as refused:
            if refused.status != 422:
                raise
            problem = refused.message
        records = found["items"]
        people = sorted({r["actor_id"] for r in records if r["actor_id"] != "system"})
        return visit.render(
            "admin/audit.html",
            records=records,
            names=await display_names(visit, people),
            filters=filters,
            actions=ACTIONS,
            problem=problem,
            query=urlencode(filters),
            next_cursor=found["next_cursor"],
            paged=cursor is not None,
        )

    @router.get(PAGE + "/export")
    async def export(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        filters = _filters(query(request))
        # Asked once before the download starts, so a bad filter is a page, not a cut file.
        await visit.api("GET", API, params={**filters, "limit": 1})
        return StreamingResponse(
            _every_record(visit, filters),
            media_type="application/x-ndjson",
            headers={"Content-Disposition": 'attachment; filename="audit.jsonl"'},
        )

    return router
