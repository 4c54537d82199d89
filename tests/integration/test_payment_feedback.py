"""Feedback on orders through the gateway: after receipt, once each, changed once, in 60 days.

Every test runs embedded (SQLite, in-process broker) and distributed (PostgreSQL).
The window is reached by moving the payment service's clock (``runtime.clock``).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select

from auction_platform.composition import Platform
from auction_platform.contracts.events import Envelope
from auction_platform.services.payment import store
from auction_platform.services.payment.domain import Order
from support.accounts import Account, sign_up_all
from support.auctions import admin_token
from support.waiting import eventually

CARD = "4242 4242 4242 4242"


def auction_closed(seller: str, winner: str, title: str = "A Victorian tea set") -> Envelope:
    """What the bid book publishes when the hammer falls (sold for 100.00 EUR)."""
    return Envelope(
        type="AuctionClosed",
        producer="bidding",
        data={
            "auction_id": uuid.uuid4().hex,
            "seller_id": seller,
            "title": title,
            "winner_id": winner,
            "price_cents": 10_000,
            "currency": "EUR",
            "sold": True,
            "reserve_met": True,
            "runner_up_id": None,
            "runner_up_max_cents": None,
            "bid_count": 4,
            "by_buy_now": False,
            "closed_at": "2025-03-01T12:00:00+00:00",
        },
    )


async def paid_order(
    http: httpx.AsyncClient, platform: Platform, seller: Account, buyer: Account, title: str
) -> Order:
    """A lot sold by ``seller`` to ``buyer`` and paid with a test card."""
    envelope = auction_closed(seller.id, buyer.id, title)
    assert platform.broker is not None
    await platform.broker.publish([envelope])

    async def made() -> list[Order]:
        db = platform.runtimes["payment"].db
        assert db is not None
        async with db.read() as conn:
            return await store.orders_of_auction(conn, envelope.data["auction_id"])

    [order] = await eventually(made)
    paid = await http.post(
        f"/api/v1/orders/{order.id}/pay", json={"card": CARD}, headers=buyer.headers
    )
    assert paid.status_code == 200, paid.text
    return order


async def received_order(
    http: httpx.AsyncClient,
    platform: Platform,
    seller: Account,
    buyer: Account,
    title: str = "A Victorian tea set",
) -> Order:
    """A paid order whose seller shipped the lot and whose buyer confirmed receipt (the API)."""
    order = await paid_order(http, platform, seller, buyer, title)
    path = f"/api/v1/orders/{order.id}"
    shipped = await http.post(f"{path}/shipment", headers=seller.headers)
    assert shipped.status_code == 200, shipped.text
    received = await http.post(f"{path}/receipt", headers=buyer.headers)
    assert received.status_code == 200, received.text
    db = platform.runtimes["payment"].db
    assert db is not None
    async with db.read() as conn:
        found = await store.order_by_id(conn, order.id)
    assert found is not None and found.received_at is not None
    return found


async def put(
    http: httpx.AsyncClient, order: Order, who: Account, rating: str, comment: str
) -> httpx.Response:
    body = {"rating": rating, "comment": comment}
    return await http.put(f"/api/v1/orders/{order.id}/feedback", json=body, headers=who.headers)


def refused(answer: httpx.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code


async def left(platform: Platform) -> list[dict[str, Any]]:
    """The data of every ``FeedbackLeft`` the payment service emitted."""
    runtime = platform.runtimes["payment"]
    assert runtime.db is not None and runtime.definition.tables is not None
    outbox = runtime.definition.tables.outbox
    query = select(outbox.c.payload).where(outbox.c.event_type == "FeedbackLeft")
    async with runtime.db.read() as conn:
        return [json.loads(row)["data"] for row in (await conn.execute(query)).scalars()]


def move_clock(platform: Platform, to: datetime) -> None:
    platform.runtimes["payment"].clock = lambda: to


async def test_the_buyer_and_the_seller_rate_each_other_after_receipt(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await received_order(http, platform, sam, bob)
    by_bob = await put(http, order, bob, "positive", "  Lovely set,\n well packed  ")
    assert by_bob.status_code == 201, by_bob.text
    entry = by_bob.json()["feedback"]
    assert (entry["rater_role"], entry["rater_id"], entry["ratee_id"]) == ("buyer", bob.id, sam.id)
    assert (entry["comment"], entry["edited"], entry["edits_left"]) == (
        "Lovely set, well packed",
        False,
        1,
    )
    by_sam = await put(http, order, sam, "neutral", "Paid after a week")
    assert by_sam.status_code == 201, by_sam.text

    for who in (bob, sam):
        both = await http.get(f"/api/v1/orders/{order.id}/feedback", headers=who.headers)
        assert both.status_code == 200, both.text
        shown = both.json()
        assert shown["by_buyer"]["rating"] == "positive"
        assert shown["by_seller"]["rating"] == "neutral"
        assert shown["yours"]["may_submit"] is True
        assert shown["received_at"] is not None and shown["closes_at"] is not None
    assert (await put(http, order, bob, "positive", "Lovely set, well packed")).status_code == 200

    events = await eventually(lambda: left(platform))
    assert sorted((e["rater_role"], e["ratee_id"], e["edited"]) for e in events) == [
        ("buyer", sam.id, False),
        ("seller", bob.id, False),
    ]

    profile = await http.get(f"/api/v1/users/{sam.id}/feedback")  # no token: public
    assert profile.status_code == 200, profile.text
    found = profile.json()
    assert (found["score"], found["percent_positive"]) == (1, 100.0)
    assert found["last_12_months"] == {"positive": 1, "neutral": 0, "negative": 0}
    [item] = found["items"]
    assert (item["rater_role"], item["title"], item["rater_id"]) == (
        "buyer",
        "A Victorian tea set",
        bob.id,
    )
    assert "email" not in json.dumps(found)
    of_bob = (await http.get(f"/api/v1/users/{bob.id}/feedback")).json()
    assert (of_bob["score"], of_bob["percent_positive"]) == (0, None)
    assert of_bob["last_12_months"]["neutral"] == 1


async def test_feedback_waits_for_receipt_and_is_for_the_two_parties(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob, eve = await sign_up_all(http, "Sam", "Bob", "Eve")
    order = await paid_order(http, platform, sam, bob, "A clock")
    refused(await put(http, order, bob, "positive", "Great"), 409, "not_received")
    shown = (await http.get(f"/api/v1/orders/{order.id}/feedback", headers=bob.headers)).json()
    assert shown["yours"] == {
        "role": "buyer",
        "may_submit": False,
        "refusal": {
            "code": "not_received",
            "message": "feedback opens once the buyer has received the lot",
        },
    }
    assert shown["closes_at"] is None

    order = await received_order(http, platform, sam, bob)
    refused(await put(http, order, eve, "negative", "Never saw it"), 404, "order_not_found")
    path = f"/api/v1/orders/{order.id}/feedback"
    refused(await http.get(path, headers=eve.headers), 404, "order_not_found")
    admin = await admin_token(http, platform)
    body = {"rating": "positive", "comment": "Looks fine"}
    refused(await http.put(path, json=body, headers=admin), 403, "not_a_party")
    as_admin = await http.get(path, headers=admin)
    assert as_admin.status_code == 200 and as_admin.json()["yours"] is None
    assert (await http.put(path, json=body)).status_code == 401
    refused(
        await http.put("/api/v1/orders/nope/feedback", json=body, headers=bob.headers),
        404,
        "order_not_found",
    )


async def test_feedback_is_changed_once(http: httpx.AsyncClient, platform: Platform) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await received_order(http, platform, sam, bob)
    assert (await put(http, order, bob, "negative", "Arrived broken")).status_code == 201
    changed = await put(http, order, bob, "positive", "Seller refunded the repair")
    assert changed.status_code == 200, changed.text
    assert (changed.json()["feedback"]["edited"], changed.json()["feedback"]["edits_left"]) == (
        True,
        0,
    )
    refused(await put(http, order, bob, "neutral", "Changed my mind"), 409, "feedback_edit_used")
    again = await put(http, order, bob, "positive", "Seller refunded the repair")
    assert again.status_code == 200  # what stands already: no change, no refusal
    shown = (await http.get(f"/api/v1/orders/{order.id}/feedback", headers=bob.headers)).json()
    assert shown["by_buyer"]["rating"] == "positive"
    assert shown["yours"]["refusal"]["code"] == "feedback_edit_used"
    events = await eventually(lambda: left(platform))
    assert [e["edited"] for e in sorted(events, key=lambda e: e["left_at"])] == [False, True]
    # The seller's side has its own first submission and change.
    assert (await put(http, order, sam, "positive", "Quick payer")).status_code == 201


async def test_feedback_closes_sixty_days_after_receipt(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await received_order(http, platform, sam, bob)
    assert order.received_at is not None
    move_clock(platform, order.received_at + timedelta(days=60) - timedelta(seconds=1))
    assert (await put(http, order, sam, "positive", "Just in time")).status_code == 201
    move_clock(platform, order.received_at + timedelta(days=60))
    refused(await put(http, order, bob, "positive", "Too late"), 409, "feedback_window_closed")
    refused(await put(http, order, sam, "negative", "Late change"), 409, "feedback_window_closed")
    shown = (await http.get(f"/api/v1/orders/{order.id}/feedback", headers=bob.headers)).json()
    assert shown["yours"]["refusal"]["code"] == "feedback_window_closed"


async def test_a_refunded_order_takes_no_new_feedback(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await received_order(http, platform, sam, bob)
    assert (await put(http, order, bob, "negative", "Not as described")).status_code == 201
    admin = await admin_token(http, platform)
    refund = await http.post(f"/api/v1/orders/{order.id}/refund", headers=admin)
    assert refund.status_code == 200, refund.text
    refused(await put(http, order, sam, "negative", "Buyer kept it"), 409, "order_refunded")
    assert (await put(http, order, bob, "neutral", "Refunded in full")).status_code == 200


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"rating": "great", "comment": "Nice"}, "validation_error"),
        ({"rating": "positive"}, "validation_error"),
        ({"rating": "positive", "comment": ""}, "validation_error"),
        ({"rating": "positive", "comment": "  \n\t "}, "invalid_comment"),
        ({"rating": "positive", "comment": "x" * 501}, "invalid_comment"),
        ({"rating": "positive", "comment": "x" * 2001}, "validation_error"),
        ({"rating": "positive", "comment": "bell\x07"}, "invalid_comment"),
        ({"rating": "positive", "comment": "Nice", "stars": 5}, "validation_error"),
    ],
)
async def test_feedback_that_cannot_be_kept_is_a_422_with_its_code(
    http: httpx.AsyncClient, platform: Platform, body: dict[str, Any], code: str
) -> None:
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await received_order(http, platform, sam, bob)
    path = f"/api/v1/orders/{order.id}/feedback"
    refused(await http.put(path, json=body, headers=bob.headers), 422, code)


async def test_a_members_feedback_is_paged_newest_first(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bob, ann = await sign_up_all(http, "Sam", "Bob", "Ann")
    ratings = [
        (bob, "positive", "A clock"),
        (ann, "negative", "A lamp"),
        (bob, "positive", "A vase"),
    ]
    wednesday = datetime(2031, 1, 8, 12, 0, tzinfo=UTC)  # one calendar week for all three
    for minutes, (buyer, rating, title) in enumerate(ratings):
        move_clock(platform, wednesday + timedelta(minutes=minutes))
        order = await received_order(http, platform, sam, buyer, title)
        assert (await put(http, order, buyer, rating, f"About {title}")).status_code == 201
    first = (await http.get(f"/api/v1/users/{sam.id}/feedback?limit=2")).json()
    # Bob's two positives in one week count once: +1 - 1.
    assert (first["score"], first["percent_positive"]) == (0, 66.7)
    assert first["total"] == {"positive": 2, "neutral": 0, "negative": 1}
    assert [item["title"] for item in first["items"]] == ["A vase", "A lamp"]
    rest = await http.get(
        f"/api/v1/users/{sam.id}/feedback", params={"cursor": first["next_cursor"]}
    )
    assert [item["title"] for item in rest.json()["items"]] == ["A clock"]
    assert rest.json()["next_cursor"] is None
    refused(
        await http.get(f"/api/v1/users/{sam.id}/feedback?cursor=nonsense!"), 422, "invalid_cursor"
    )
    nobody = (await http.get("/api/v1/users/nobody/feedback")).json()
    assert (nobody["score"], nobody["items"]) == (0, [])


async def test_feedback_answers_fit_the_documented_schemas(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    document = (await http.get("/api/openapi.json")).json()
    sam, bob = await sign_up_all(http, "Sam", "Bob")
    order = await received_order(http, platform, sam, bob)
    answers = [
        (
            "put",
            "/api/v1/orders/{order_id}/feedback",
            await put(http, order, bob, "positive", "Ok"),
        ),
        ("put", "/api/v1/orders/{order_id}/feedback", await put(http, order, bob, "neutral", "Hm")),
        (
            "get",
            "/api/v1/orders/{order_id}/feedback",
            await http.get(f"/api/v1/orders/{order.id}/feedback", headers=sam.headers),
        ),
        (
            "get",
            "/api/v1/users/{user_id}/feedback",
            await http.get(f"/api/v1/users/{sam.id}/feedback"),
        ),
    ]
    for method, path, answer in answers:
        operation = document["paths"][path][method]
        assert operation["tags"] == ["feedback"]
        content = operation["responses"][str(answer.status_code)]["content"]["application/json"]
        schema = {**content["schema"], "components": document["components"]}
        errors = [e.message for e in Draft202012Validator(schema).iter_errors(answer.json())]
        assert errors == [], (method, path, errors)
    public = document["paths"]["/api/v1/users/{user_id}/feedback"]["get"]
    assert public.get("security") in (None, [{}], [{"bearerAuth": []}, {}])
