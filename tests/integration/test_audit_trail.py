"""The audit trail: each operator action recorded once, with who, when, what and why.

Every test runs embedded (SQLite, in-process broker) and distributed (PostgreSQL).
The actions are taken through the gateway as an operator would; the records are
read back through the audit API, which analytics fills from ``AuditRecorded``.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from test_payment_payouts import paid, payouts_of

from auction_platform.composition import Platform
from auction_platform.contracts import audit
from auction_platform.contracts.events import Envelope
from support.accounts import sign_up, sign_up_all
from support.auctions import admin_token, create, seller
from support.sales import shipped_and_received
from support.waiting import eventually

AUDIT = "/api/v1/analytics/audit"


async def admin_id(http: httpx.AsyncClient, admin: dict[str, str]) -> str:
    me = await http.get("/api/v1/users/me", headers=admin)
    assert me.status_code == 200, me.text
    return str(me.json()["user"]["id"])


async def page(http: httpx.AsyncClient, admin: dict[str, str], **params: Any) -> dict[str, Any]:
    answer = await http.get(AUDIT, params=params, headers=admin)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def records_of(
    http: httpx.AsyncClient, admin: dict[str, str], target: str, count: int = 1
) -> list[dict[str, Any]]:
    """The records on ``target``, once there are ``count`` of them."""

    async def arrived() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await page(http, admin, target=target))["items"]
        return items if len(items) >= count else []

    return await eventually(arrived, timeout=15)


def is_recent(record: dict[str, Any]) -> bool:
    taken = datetime.fromisoformat(record["at"])
    return abs(datetime.now(UTC) - taken) < timedelta(minutes=5)


async def test_role_changes_are_recorded_with_the_admin_and_the_reason(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    ann = await sign_up(http, name="Ann")
    admin = await admin_token(http, platform)
    changed = await http.put(
        f"/api/v1/users/{ann.id}/roles",
        json={"roles": ["bidder", "admin"], "reason": "joins the trust team"},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    [record] = await records_of(http, admin, f"user:{ann.id}")
    assert record["actor_id"] == await admin_id(http, admin)
    assert (record["action"], record["reason"], record["producer"]) == (
        "user.roles_changed",
        "joins the trust team",
        "identity",
    )
    assert record["details"]["granted"] == ["admin"]
    assert record["details"]["removed"] == []
    assert is_recent(record)

    # Becoming a seller is the member's own act: recorded, with the member as actor.
    bob = await sign_up(http, name="Bob")
    assert (await http.post("/api/v1/users/me/seller", headers=bob.headers)).status_code == 200
    [own] = await records_of(http, admin, f"user:{bob.id}")
    assert (own["action"], own["actor_id"], own["details"]["granted"]) == (
        "user.became_seller",
        bob.id,
        ["seller"],
    )


async def test_an_admin_cancelling_a_lot_is_recorded_and_a_seller_withdrawing_is_not(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam = await seller(http)
    admin = await admin_token(http, platform)
    mine = await create(http, sam, publish=True)
    theirs = await create(http, sam, publish=True)
    withdrawn = await http.post(f"/api/v1/auctions/{mine['id']}/cancel", headers=sam.headers)
    assert withdrawn.status_code == 200, withdrawn.text
    cancelled = await http.post(
        f"/api/v1/auctions/{theirs['id']}/cancel",
        json={"reason": "prohibited item"},
        headers=admin,
    )
    assert cancelled.status_code == 200, cancelled.text
    [record] = await records_of(http, admin, f"auction:{theirs['id']}")
    assert (record["action"], record["reason"]) == ("auction.cancelled", "prohibited item")
    assert record["actor_id"] == await admin_id(http, admin)
    assert record["details"]["seller_id"] == sam.id
    assert (await page(http, admin, target=f"auction:{mine['id']}"))["items"] == []


async def test_each_change_to_the_category_tree_is_recorded(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await admin_token(http, platform)
    slug = "audit-" + uuid.uuid4().hex[:6]
    path = f"/api/v1/categories/{slug}"
    steps = [
        ("post", "/api/v1/categories", {"slug": slug, "name": "Stamps"}, "category.added"),
        ("patch", path, {"name": "Stamps & covers", "reason": "clearer"}, "category.renamed"),
        ("patch", path, {"parent": "home"}, "category.moved"),
        ("patch", path, {"retired": True, "reason": "no sellers"}, "category.retired"),
    ]
    for method, url, body, _ in steps:
        answer = await http.request(method, url, json=body, headers=admin)
        assert answer.status_code in (200, 201), answer.text
    records = await records_of(http, admin, f"category:{slug}", count=len(steps))
    assert [r["action"] for r in reversed(records)] == [action for *_, action in steps]
    renamed = records[2]
    assert renamed["details"]["changes"] == {"name": {"from": "Stamps", "to": "Stamps & covers"}}
    assert renamed["reason"] == "clearer"
    assert {r["actor_id"] for r in records} == {await admin_id(http, admin)}


async def test_a_refund_and_a_payout_held_and_released_are_recorded(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    admin = await admin_token(http, platform)
    refunded = await paid(http, platform, sam, bob)
    answer = await http.post(
        f"/api/v1/orders/{refunded.id}/refund", json={"reason": "item lost"}, headers=admin
    )
    assert answer.status_code in (200, 202), answer.text
    [refund] = await records_of(http, admin, f"order:{refunded.id}")
    assert (refund["action"], refund["reason"], refund["producer"]) == (
        "order.refunded",
        "item lost",
        "payment",
    )
    assert refund["details"]["amount_cents"] > 0

    order = await paid(http, platform, sam, bob)
    await shipped_and_received(platform, order)
    [payout] = await payouts_of(http, sam)
    base = f"/api/v1/payouts/{payout['id']}"
    held = await http.post(f"{base}/hold", json={"reason": "buyer disputes"}, headers=admin)
    assert held.status_code == 200, held.text
    released = await http.post(f"{base}/release", headers=admin)
    assert released.status_code == 200, released.text
    records = await records_of(http, admin, f"payout:{payout['id']}", count=2)
    assert [(r["action"], r["reason"]) for r in records] == [
        ("payout.released", None),
        ("payout.held", "buyer disputes"),
    ]
    actor = await admin_id(http, admin)
    assert {r["actor_id"] for r in [refund, *records]} == {actor}


def recorded(actor: str, action: str, target: str, at: datetime) -> Envelope:
    data = {
        "actor_id": actor,
        "action": action,
        "target": target,
        "reason": "because",
        "details": {"n": 1},
        "at": at.isoformat(),
    }
    return Envelope(type=audit.AUDIT_RECORDED, producer="identity", data=data)


async def test_the_log_is_filtered_paged_and_exported_as_json_lines(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    assert platform.broker is not None
    admin = await admin_token(http, platform)
    actor = "op-" + uuid.uuid4().hex[:8]
    start = datetime(2025, 1, 10, 12, tzinfo=UTC)
    events = [
        recorded(actor, "user.suspended" if n % 2 else "user.reinstated", f"user:u{n}", moment)
        for n, moment in enumerate(start + timedelta(hours=n) for n in range(5))
    ]
    await platform.broker.publish(events)

    async def all_five() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await page(http, admin, actor=actor))["items"]
        return items if len(items) == 5 else []

    everything = await eventually(all_five, timeout=15)
    assert [r["target"] for r in everything] == [f"user:u{n}" for n in range(4, -1, -1)]

    first = await page(http, admin, actor=actor, limit=2)
    second = await page(http, admin, actor=actor, limit=2, cursor=first["next_cursor"])
    third = await page(http, admin, actor=actor, limit=2, cursor=second["next_cursor"])
    assert third["next_cursor"] is None
    assert first["items"] + second["items"] + third["items"] == everything

    narrowed = await page(
        http, admin, actor=actor, action="user.suspended", **{"from": "2025-01-10T13:00:00"}
    )
    assert [r["target"] for r in narrowed["items"]] == ["user:u3", "user:u1"]
    one_day = await page(http, admin, actor=actor, **{"from": "2025-01-10", "to": "2025-01-10"})
    assert len(one_day["items"]) == 5
    assert (await page(http, admin, actor=actor, to="2025-01-09"))["items"] == []

    export = await http.get(f"{AUDIT}/export", params={"actor": actor}, headers=admin)
    assert export.status_code == 200, export.text
    assert export.headers["content-type"].startswith("application/x-ndjson")
    lines = export.text.splitlines()
    assert export.text.endswith("\n")
    assert [json.loads(line) for line in lines] == everything
    only = await http.get(f"{AUDIT}/export", params={"target": "user:u2"}, headers=admin)
    assert [json.loads(line)["target"] for line in only.text.splitlines()] == ["user:u2"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"from": "yesterday"}, "invalid_range"),
        ({"from": "2025-02-01", "to": "2025-01-01"}, "invalid_range"),
        ({"to": "2025-13-01"}, "invalid_range"),
        ({"cursor": "not-a-cursor"}, "invalid_cursor"),
        ({"limit": 0}, "validation_error"),
    ],
)
async def test_bad_filters_are_refused_with_their_code(
    http: httpx.AsyncClient, platform: Platform, params: dict[str, Any], code: str
) -> None:
    admin = await admin_token(http, platform)
    # The export reads every record: it takes no cursor and no limit.
    paged = "cursor" in params or "limit" in params
    for path in (AUDIT,) if paged else (AUDIT, f"{AUDIT}/export"):
        answer = await http.get(path, params=params, headers=admin)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json()["error"]["code"] == code


async def test_the_audit_log_is_for_admins_only(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    ann = await sign_up(http, name="Ann")
    for path in (AUDIT, f"{AUDIT}/export"):
        assert (await http.get(path)).status_code == 401
        refused = await http.get(path, headers=ann.headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "forbidden"


async def test_a_redelivered_record_is_kept_once_and_the_log_refuses_changes(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    assert platform.broker is not None
    admin = await admin_token(http, platform)
    target = f"user:{uuid.uuid4().hex}"
    envelope = recorded("op", "user.suspended", target, datetime.now(UTC))
    await platform.broker.publish([envelope])
    await platform.broker.publish([envelope])
    counter = platform.metrics.events_consumed

    def consumed(outcome: str) -> int:
        return int(counter.labels("analytics", "audit", outcome)._value.get())

    async def both_seen() -> bool:
        return consumed("duplicate") >= 1

    await eventually(both_seen, timeout=15)
    [record] = (await page(http, admin, target=target))["items"]
    assert record["id"] == envelope.id

    db = platform.runtimes["analytics"].db
    assert db is not None
    for statement in (
        "UPDATE analytics_audit_log SET reason = 'edited'",
        "DELETE FROM analytics_audit_log",
    ):
        with pytest.raises(Exception, match="append-only"):
            async with db.transaction() as conn:
                await conn.execute(text(statement))
    [kept] = (await page(http, admin, target=target))["items"]
    assert kept == record
