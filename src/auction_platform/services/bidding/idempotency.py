"""Idempotency-Keys on the bid path: a request sent again gets the answer recorded the first time.

A batch claims the keys of all its commands at once, inside its transaction, before
any command runs (``claim_batch``: one statement), and records their answers at once
before it commits (``BatchClaims.recorded``, written with the batch's other rows). A
retry finds the answer, or (racing the first request on another replica) waits on the
key's row until it is there. Two commands with the same key in one batch behave as if
they came one after the other: the second gets the first's answer (or 422 if its body
differs), never a claim of its own. The answer is kept as it was sent, status and
JSON, so a retry is answered byte for byte as the first request was.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.core.failures import Conflict
from auction_platform.services.bidding import store
from auction_platform.services.bidding.domain import Idempotency

# A user's key: keys are per user, as the table's primary key says.
KeyOf = tuple[str, str]


@dataclass(frozen=True, slots=True)
class RecordedAnswer:
    """The answer recorded for an Idempotency-Key: sent as it is, the first time and after."""

    status: int
    body: dict[str, Any]


def key_reused() -> Conflict:
    """The key came with another request before."""
    return Conflict("idempotency_key_reused", "this Idempotency-Key was used for another request")


def _answer_of(row: Any, idempotency: Idempotency) -> RecordedAnswer | Conflict:
    """What a request gets for a key another request holds (its stored row)."""
    if row.request_hash != idempotency.request_hash:
        return key_reused()
    if row.status_code == 0:
        return Conflict("request_in_flight", "the same request is being processed")
    return RecordedAnswer(row.status_code, json.loads(row.response))


@dataclass
class BatchClaims:
    """The keys of one batch: which it holds, what was stored for the others, its answers."""

    held: set[KeyOf]
    stored: dict[KeyOf, Any]  # the rows of keys used before this batch
    answers: dict[KeyOf, tuple[str, RecordedAnswer]] = field(default_factory=dict)

    def before(self, user_id: str, idempotency: Idempotency) -> RecordedAnswer | Conflict | None:
        """None when the command should run (it holds its key); else what it gets instead."""
        key = (user_id, idempotency.key)
        answered = self.answers.get(key)
        if answered is not None:
            # The same key earlier in this batch: answered as a retry after it would be.
            request_hash, answer = answered
            return answer if request_hash == idempotency.request_hash else key_reused()
        if key in self.held:
            return None
        return _answer_of(self.stored[key], idempotency)

    def answered(self, user_id: str, idempotency: Idempotency, answer: RecordedAnswer) -> None:
        """The answer of a command that held its key, recorded when the batch commits."""
        self.answers[(user_id, idempotency.key)] = (idempotency.request_hash, answer)

    def recorded(self) -> list[tuple[str, str, int, str]]:
        """The answers to record before the batch commits: user, key, status, JSON."""
        return [
            (user_id, key, answer.status, json.dumps(answer.body))
            for (user_id, key), (_, answer) in self.answers.items()
        ]


async def claim_batch(
    conn: AsyncConnection, keyed: Iterable[tuple[str, Idempotency]], *, now: datetime
) -> BatchClaims:
    """Claim a batch's keys in one statement; read the rows of those used before, if any."""
    first: dict[KeyOf, str] = {}
    for user_id, idempotency in keyed:
        first.setdefault((user_id, idempotency.key), idempotency.request_hash)
    if not first:
        return BatchClaims(held=set(), stored={})
    # In key order: two batches (two replicas) claiming overlapping keys queue on the
    # first key they share, never in a circle.
    claims = sorted((user_id, key, request_hash) for (user_id, key), request_hash in first.items())
    held = await store.claim_idempotency_keys(conn, claims, now=now)
    known = [key for key in first if key not in held]
    stored = await store.idempotent_answers(conn, known) if known else {}
    return BatchClaims(held=held, stored=stored)
