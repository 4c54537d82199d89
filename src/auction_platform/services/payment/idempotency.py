"""Idempotency-Keys on ``POST /orders/{id}/pay``: a request sent again gets the first answer.

As on the bid path (bidding's ``idempotency.py``), with one difference: a payment
calls the provider, and no transaction stays open across that call. So the key is
claimed in a transaction of its own before anything is tried, and the answer is
recorded in another once it is known. Meanwhile a retry with the key is told the
request is in flight (409); a claim whose request died before recording its answer
is taken over after ``IN_FLIGHT_SECONDS``. An answer that may change by itself (the
provider or a dependency unavailable) is not kept: the key is released and a retry
runs anew. Keys are kept per user and forgotten after ``idempotency_ttl_hours``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.core.failures import Conflict
from auction_platform.core.sql import utc
from auction_platform.services.payment import store
from auction_platform.services.payment.commands import Idempotency

# Longer than any payment request lives (the provider's timeout and retries included).
IN_FLIGHT_SECONDS = 120.0


@dataclass(frozen=True, slots=True)
class RecordedAnswer:
    """The answer recorded for an Idempotency-Key: sent as it is, the first time and after."""

    status: int
    body: dict[str, Any]


def key_reused() -> Conflict:
    """The key came with another request before (answered 422, as on the bid path)."""
    return Conflict("idempotency_key_reused", "this Idempotency-Key was used for another request")


async def claim(
    conn: AsyncConnection, user_id: str, idempotency: Idempotency, *, now: datetime
) -> RecordedAnswer | Conflict | None:
    """None when this request now holds the key; else the earlier answer, or why not."""
    if await store.claim_idempotency_key(
        conn,
        user_id=user_id,
        key=idempotency.key,
        request_hash=idempotency.request_hash,
        now=now,
    ):
        return None
    row = await store.idempotent_answer(conn, user_id, idempotency.key)
    if row is None:
        # Purged between the two statements: as good as new, and ours next time.
        return Conflict("request_in_flight", "the same request is being processed; retry")
    if row.request_hash != idempotency.request_hash:
        return key_reused()
    if row.status_code != 0:
        return RecordedAnswer(row.status_code, json.loads(row.response))
    claimed_at = utc(row.created_at)
    abandoned = now - claimed_at > timedelta(seconds=IN_FLIGHT_SECONDS)
    if abandoned and await store.take_over_idempotency_key(
        conn, user_id=user_id, key=idempotency.key, claimed_at=row.created_at, now=now
    ):
        return None
    return Conflict("request_in_flight", "the same request is being processed; retry shortly")


async def record(
    conn: AsyncConnection, user_id: str, idempotency: Idempotency, answer: RecordedAnswer
) -> None:
    """Record the answer sent for a key this request claimed."""
    await store.store_idempotent_answer(
        conn,
        user_id=user_id,
        key=idempotency.key,
        status_code=answer.status,
        response=json.dumps(answer.body),
    )


async def release(conn: AsyncConnection, user_id: str, idempotency: Idempotency) -> None:
    """Give the key up: the request ended without an answer worth keeping."""
    await store.release_idempotency_key(conn, user_id=user_id, key=idempotency.key)
