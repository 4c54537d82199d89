"""Idempotency-Keys on the bid path: a request sent again gets the answer recorded the first time.

A key is claimed inside the batch's transaction, before its command runs, and the
answer is recorded in that same transaction: a retry finds the answer, or (racing
the first request on another replica) waits on the key's row until it is there.
The answer is kept as it was sent, status and JSON, so a retry is answered byte for
byte as the first request was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.core.failures import Conflict
from auction_platform.services.bidding import store
from auction_platform.services.bidding.domain import Idempotency


@dataclass(frozen=True, slots=True)
class RecordedAnswer:
    """The answer recorded for an Idempotency-Key: sent as it is, the first time and after."""

    status: int
    body: dict[str, Any]


def key_reused() -> Conflict:
    """The key came with another request before."""
    return Conflict("idempotency_key_reused", "this Idempotency-Key was used for another request")


async def earlier_answer(
    conn: AsyncConnection, user_id: str, idempotency: Idempotency
) -> RecordedAnswer | None:
    """The answer recorded for this key, if any (raises when it was another request's)."""
    row = await store.idempotent_answer(conn, user_id, idempotency.key)
    if row is None:
        return None
    if row.request_hash != idempotency.request_hash:
        raise key_reused()
    return RecordedAnswer(row.status_code, json.loads(row.response))


async def claim(
    conn: AsyncConnection, user_id: str, idempotency: Idempotency, *, now: datetime
) -> RecordedAnswer | Conflict | None:
    """None when this request now holds the key; else the earlier answer, or why not."""
    claimed = await store.claim_idempotency_key(
        conn,
        {
            "user_id": user_id,
            "key": idempotency.key,
            "request_hash": idempotency.request_hash,
            "status_code": 0,
            "response": "{}",
            "created_at": now,
        },
    )
    if claimed:
        return None
    row = await store.idempotent_answer(conn, user_id, idempotency.key)
    if row.request_hash != idempotency.request_hash:
        return key_reused()
    if row.status_code == 0:
        return Conflict("request_in_flight", "the same request is being processed")
    return RecordedAnswer(row.status_code, json.loads(row.response))


async def record(
    conn: AsyncConnection, user_id: str, idempotency: Idempotency, answer: RecordedAnswer
) -> None:
    """Record the answer sent for a key this request claimed."""
    await store.store_answer(
        conn,
        user_id,
        idempotency.key,
        status_code=answer.status,
        response=json.dumps(answer.body),
    )
