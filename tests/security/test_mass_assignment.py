"""Mass assignment: fields a caller may not set are refused or ignored, never applied.

Every write of the public API (``POST``, ``PUT``, ``PATCH``) is sent as a valid request
(``security.writes``) with one field more at a time: roles, ids, owners, statuses,
prices, dates, flags, the sale a lot is in. The answer is a 422 ``validation_error``
(the field is not part of the request), or the write succeeds and the field is
ignored: what it wrote, read back afterwards, holds none of the values sent. A write
without a body gets them all at once as a body it must ignore.
"""

from __future__ import annotations

from typing import Any

import httpx

from security.operations import WRITES as WRITE_METHODS
from security.operations import Operation, not_in_table, public_operations
from security.world import Json, World, refused
from security.writes import WRITES, Unprobed, Write

FORGED_AT = "2000-01-01T00:00:00+00:00"


def extras(world: World) -> Json:
    """What a caller might try to set, each value one no write would set by itself."""
    other = world.intruder.id
    return {
        "roles": ["bidder", "seller", "admin"],
        "is_admin": True,
        "admin": True,
        "id": "forged-id",
        "user_id": other,
        "seller_id": other,
        "buyer_id": other,
        "bidder_id": other,
        "winner_id": other,
        "leader_id": other,
        "sale_id": "forged-sale",
        "status": "closed",
        "outcome": "sold",
        "paid": True,
        "price_cents": 1,
        "current_price_cents": 1,
        "final_price_cents": 1,
        "total_cents": 1,
        "refunded_cents": 1,
        "bid_count": 999,
        "created_at": FORGED_AT,
        "paid_at": FORGED_AT,
        "published_at": FORGED_AT,
    }


def applied(found: Json, sent: Json, write: Write) -> list[str]:
    """The fields of ``sent`` that ``found`` (what the write wrote) took."""
    taken = [
        name
        for name, value in sent.items()
        if name not in write.sets and name in found and found[name] == value
    ]
    token = found.get("token", {})
    for roles in (found.get("roles"), token.get("roles")):
        if isinstance(roles, list) and "admin" in roles:
            taken.append("roles")
    if token.get("sub") not in (None, found.get("id")):
        taken.append("sub")
    return taken


async def test_every_write_is_probed(http: httpx.AsyncClient) -> None:
    writes = [op for op in await public_operations(http) if op.method in WRITE_METHODS]
    advice = (
        "Add each to WRITES in tests/security/writes.py: a valid request of it, made ready "
        "on a thing of its own, and how to read back what it wrote."
    )
    assert not (message := not_in_table(writes, WRITES, advice)), message


async def probe(world: World, operation: Operation, prepare: Any, failures: list[str]) -> None:
    hostile = extras(world)
    write: Write = await prepare(world)
    if write.body is None:
        tries = [hostile]
    else:  # one at a time, but for the fields the write takes (an admin's roles)
        tries = [{name: value} for name, value in hostile.items() if name not in write.body]
    for sent in tries:
        body = {**(write.body or {}), **sent}
        response = await world.http.request(
            operation.method, operation.target(**write.ids), json=body, headers=write.headers
        )
        what = f"{operation.key} with {sorted(sent)}"
        if response.status_code == 422:
            refused(response, {422}, code="validation_error")
            continue
        if not response.is_success:
            failures.append(f"{what}: the valid request was refused: {response.text[:300]}")
            return
        if taken := applied(await write.read(response), sent, write):
            failures.append(f"{what}: applied {taken}")
        write = await prepare(world)  # the thing is used up: a fresh one for the next field


async def test_fields_a_caller_may_not_set_are_refused_or_ignored(world: World) -> None:
    failures: list[str] = []
    for operation in await public_operations(world.http):
        prepare = WRITES.get(operation.key)
        if operation.method in WRITE_METHODS and not isinstance(prepare, Unprobed):
            await probe(world, operation, prepare, failures)
    assert not failures, "\n".join(failures)
