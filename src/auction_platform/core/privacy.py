"""A member's data and open obligations, each service answering for its own tables.

The right of access and the right to erasure (issue 18) cross every service, but
no service reads another's tables: each one that keeps something about a member
answers two questions about the caller, with the caller's own token,

- ``GET <prefix>/me/export``: everything it holds about them, as JSON;
- ``GET <prefix>/me/obligations``: why the account may not be closed yet (stable
  codes such as ``leading_bids``; an empty list when nothing stands in the way),

and identity composes the answers (``GET /api/v1/users/me/export`` and
``DELETE /api/v1/users/me``). This module builds those two routes around two
queries of the service's own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.core.auth import CurrentUser
from auction_platform.core.db import Database
from auction_platform.core.sql import utc

# What a service holds about a member, by section (``{"bids": [...]}``).
Export = Callable[[AsyncConnection, str], Awaitable[dict[str, Any]]]
# The codes of what keeps a member's account open.
Obligations = Callable[[AsyncConnection, str], Awaitable[list[str]]]


Record = dict[str, Any]


def export_answer(name: str, sections: dict[str, str]) -> type[BaseModel]:
    """The answer of a service's part of a member's data: its sections, each a list of
    records (column by column) and what it holds."""
    fields: dict[str, Any] = {
        section: (list[Record], Field(description=what)) for section, what in sections.items()
    }
    model: type[BaseModel] = create_model(
        name,
        __config__=ConfigDict(extra="forbid"),
        __doc__="Your records in this service, by section.",
        **fields,
    )
    return model


class ObligationsAnswer(BaseModel):
    """What keeps the account open here (empty: nothing)."""

    obligations: list[str]


def plain(value: Any) -> Any:
    """A column's value as JSON has it: times in ISO 8601 UTC."""
    return utc(value).isoformat() if isinstance(value, datetime) else value


def records(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Rows as JSON objects, column by column."""
    return [{key: plain(value) for key, value in row._mapping.items()} for row in rows]


def privacy_router(
    prefix: str,
    *,
    tag: str,
    db: Callable[[], Database],
    export: Export,
    obligations: Obligations,
    answer: type[BaseModel],
) -> APIRouter:
    """The two routes by which identity gathers a member's data and asks what keeps them."""
    router = APIRouter(prefix=prefix, tags=[tag])

    @router.get("/me/export", responses={200: {"model": answer}})
    async def export_mine(user: CurrentUser) -> dict[str, Any]:
        """Everything this service holds about you (part of your data export)."""
        async with db().read() as conn:
            return await export(conn, user.subject)

    @router.get("/me/obligations", responses={200: {"model": ObligationsAnswer}})
    async def obligations_mine(user: CurrentUser) -> dict[str, Any]:
        """What keeps your account from being closed here, by code (empty: nothing)."""
        async with db().read() as conn:
            return {"obligations": await obligations(conn, user.subject)}

    return router
