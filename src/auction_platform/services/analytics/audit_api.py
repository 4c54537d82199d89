"""HTTP routes of the audit trail: ``/api/v1/analytics/audit`` (admins only).

Every operator action the platform's services record (``contracts.audit``), newest
first, filtered by exact ``actor``, ``action`` and ``target`` and by ``from`` and
``to`` (a UTC date for the whole day, or an ISO date-time; both inclusive). The
list pages with a cursor; the export streams every matching record as JSON lines.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from auction_platform.core.auth import Admin
from auction_platform.services.analytics import answers, handlers
from auction_platform.services.analytics.commands import AuditQuery
from auction_platform.services.analytics.handlers import Analytics

NDJSON = "application/x-ndjson"
RECORD = f"#/components/schemas/{answers.AuditRecord.__name__}"
MAX_PAGE = 200

Actor = Annotated[
    str | None, Query(alias="actor", max_length=100, description="Who acted (a user id, `system`).")
]
Action = Annotated[
    str | None, Query(max_length=100, description="The action, e.g. `user.roles_changed`.")
]
Target = Annotated[
    str | None, Query(max_length=200, description="What was acted on, e.g. `user:<id>`.")
]
From = Annotated[
    str | None,
    Query(alias="from", max_length=40, description="A UTC date (from its start) or date-time."),
]
To = Annotated[
    str | None,
    Query(alias="to", max_length=40, description="A UTC date (to its end) or date-time."),
]
_BAD_FILTER: dict[int | str, dict[str, Any]] = {
    422: {
        "description": (
            "`from` or `to` is not a date or date-time, or `from` is after `to` "
            "(`invalid_range`); the cursor is not one of ours (`invalid_cursor`)."
        )
    }
}


async def _lines(records: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    async for record in records:
        yield json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def build_router(ctx: Analytics) -> APIRouter:
    """Routes under ``/api/v1/analytics/audit``."""
    router = APIRouter(prefix="/api/v1/analytics/audit", tags=["analytics"])

    @router.get("", responses={200: {"model": answers.AuditPage}, **_BAD_FILTER})
    async def audit_log(
        admin: Admin,
        actor: Actor = None,
        action: Action = None,
        target: Target = None,
        start: From = None,
        end: To = None,
        cursor: Annotated[str | None, Query(max_length=512)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    ) -> dict[str, Any]:
        """Operator actions, newest first: who, when, what and why (admins)."""
        query = AuditQuery(actor, action, target, start, end, cursor, limit)
        return await handlers.audit_page(query, ctx=ctx)

    @router.get(
        "/export",
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "One JSON record per line (an `AuditRecord`), newest first.",
                # The schema is each line's (JSON lines are a sequence of documents).
                "content": {NDJSON: {"schema": {"$ref": RECORD}}},
            },
            **_BAD_FILTER,
        },
    )
    async def export(
        admin: Admin,
        actor: Actor = None,
        action: Action = None,
        target: Target = None,
        start: From = None,
        end: To = None,
    ) -> StreamingResponse:
        """Every operator action the filters keep, as JSON lines (admins)."""
        records = handlers.audit_export(AuditQuery(actor, action, target, start, end), ctx=ctx)
        return StreamingResponse(
            _lines(records),
            media_type=NDJSON,
            headers={"Content-Disposition": 'attachment; filename="audit.jsonl"'},
        )

    return router
