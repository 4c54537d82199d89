"""A member downloads their data and closes their account, through the gateway.

Every test runs embedded (SQLite, in-process broker) and distributed (PostgreSQL).
The export gathers each service's part; a close is refused while something is
still open, and once done the account's personal data is gone, its token refused,
its sign-in refused, while its orders and the seller's ledger add up as before.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import func, select, update

from auction_platform.composition import Platform
from auction_platform.services.payment import payout_store, store
from auction_platform.services.payment.domain import Order
from support.accounts import PASSWORD, Account, sign_up
from support.auctions import admin_token, open_lot, place_bid, seller
from support.platforms import client
from support.sales import auction_closed, order_of, shipped_and_received
from support.waiting import eventually

CARD = "4242 4242 4242 4242"
ADDRESS = {"name": "Bob Bidder", "line1": "1 Rose Lane", "city": "Leeds", "country": "GB"}


async def received_order(
    http: httpx.AsyncClient, platform: Platform, sam: Account, bob: Account
) -> Order:
    """A lot ``sam`` sold to ``bob``, paid, shipped and received."""
    order = await order_of(
        platform, auction_closed(sam.id, bob.id, title="A brass lamp", price_cents=12_000)
    )
    paid = await http.post(
        f"/api/v1/orders/{order.id}/pay", json={"card": CARD}, headers=bob.headers
    )
    assert paid.status_code == 200, paid.text
    await shipped_and_received(platform, order)
    return order


async def close(http: httpx.AsyncClient, who: Account, password: str = PASSWORD) -> httpx.Response:
    return await http.request(
        "DELETE", "/api/v1/users/me", json={"password": password}, headers=who.headers
    )


async def money_of(platform: Platform, order_id: str, seller_id: str) -> tuple[Any, ...]:
    """An order's amounts and dates, and its seller's ledger total."""
    db = platform.runtimes["payment"].db
    assert db is not None
    orders = store.orders
    async with db.read() as conn:
        row = (
            await conn.execute(
                select(
                    orders.c.buyer_id,
                    orders.c.hammer_cents,
                    orders.c.paid_cents,
                    orders.c.shipping_cents,
                    orders.c.paid_at,
                    orders.c.received_at,
                ).where(orders.c.id == order_id)
            )
        ).one()
        ledger = payout_store.ledger
        total = (
            await conn.execute(
                select(func.sum(ledger.c.amount_cents)).where(ledger.c.seller_id == seller_id)
            )
        ).scalar_one()
    return (*row, total)


async def test_the_export_holds_what_every_service_keeps(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam = await seller(http)
    bob = await sign_up(http, name="Bob")
    lot = await open_lot(http, sam)
    await place_bid(http, lot["id"], bob, 20_000)
    assert (
        await http.put(f"/api/v1/watchlist/{lot['id']}", headers=bob.headers)
    ).status_code == 201
    added = await http.post("/api/v1/users/me/addresses", json=ADDRESS, headers=bob.headers)
    assert added.status_code == 201, added.text
    order = await received_order(http, platform, sam, bob)
    rated = await http.put(
        f"/api/v1/orders/{order.id}/feedback",
        json={"rating": "positive", "comment": "Shines"},
        headers=bob.headers,
    )
    assert rated.status_code == 201, rated.text

    answer = await http.get("/api/v1/users/me/export", headers=bob.headers)
    assert answer.status_code == 200, answer.text
    mine = answer.json()
    assert mine["account"]["email"] == bob.email
    assert "outbid" in mine["account"]["preferences"]["email"]
    assert [a["city"] for a in mine["addresses"]] == ["Leeds"]
    assert [(b["auction_id"], b["max_cents"]) for b in mine["bidding"]["bids"]] == [
        (lot["id"], 20_000)
    ]
    assert [w["auction_id"] for w in mine["auction"]["watchlist"]] == [lot["id"]]
    assert [o["id"] for o in mine["payment"]["orders"]] == [order.id]
    assert [f["comment"] for f in mine["payment"]["feedback_given"]] == ["Shines"]
    assert "password" not in json.dumps(mine)

    theirs = (await http.get("/api/v1/users/me/export", headers=sam.headers)).json()
    [listing] = theirs["auction"]["listings"]
    assert (listing["id"], listing["format"], listing["sale_id"]) == (lot["id"], "english", None)
    assert theirs["auction"]["timed_sales"] == []
    assert [f["comment"] for f in theirs["payment"]["feedback_received"]] == ["Shines"]
    assert {entry["order_id"] for entry in theirs["payment"]["ledger"]} == {order.id}
    assert theirs["bidding"]["bids"] == []

    assert (await http.get("/api/v1/users/me/export")).status_code == 401


async def test_an_account_with_something_open_is_not_closed(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam = await seller(http)
    bob = await sign_up(http, name="Bob")
    lot = await open_lot(http, sam)
    await place_bid(http, lot["id"], bob, 20_000)

    wrong = await close(http, bob, "not-the-password-at-all")
    assert wrong.status_code == 403, wrong.text
    assert wrong.json()["error"]["code"] == "wrong_password"

    for who, reason in ((bob, "leading_bids"), (sam, "open_listings")):
        refused = await close(http, who)
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "account_has_obligations"
        assert error["details"]["obligations"] == [reason]
        assert (await http.get("/api/v1/users/me", headers=who.headers)).status_code == 200

    # A buyer who has not paid is held too, and so is the seller waiting for it.
    carl = await sign_up(http, name="Carl")
    await order_of(platform, auction_closed(sam.id, carl.id, title="A clock", price_cents=5_000))
    unpaid = (await close(http, carl)).json()["error"]["details"]["obligations"]
    assert unpaid == ["unpaid_orders"]


async def test_an_open_dispute_keeps_both_parties_accounts_open(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam = await seller(http)
    bob = await sign_up(http, name="Bob")
    order = await received_order(http, platform, sam, bob)
    dispute = f"/api/v1/orders/{order.id}/dispute"
    opened = await http.post(
        dispute,
        json={"reason": "not_as_described", "message": "The lamp is plastic"},
        headers=bob.headers,
    )
    assert opened.status_code == 201, opened.text

    for who in (bob, sam):
        refused = await close(http, who)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["details"]["obligations"] == ["open_disputes"]
    mine = (await http.get("/api/v1/users/me/export", headers=bob.headers)).json()["payment"]
    assert [(d["order_id"], d["status"]) for d in mine["disputes"]] == [(order.id, "open")]
    assert [m["body"] for m in mine["dispute_messages"]] == ["The lamp is plastic"]

    decided = await http.post(
        dispute + "/decision",
        json={"decision": "seller", "reason": "As described in the listing"},
        headers=await admin_token(http, platform),
    )
    assert decided.status_code == 200, decided.text
    assert (await close(http, bob)).status_code == 204


async def test_a_closed_account_is_erased_and_its_token_refused(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam = await seller(http)
    bob = await sign_up(http, name="Bob")
    added = await http.post("/api/v1/users/me/addresses", json=ADDRESS, headers=bob.headers)
    assert added.status_code == 201, added.text
    order = await received_order(http, platform, sam, bob)
    db = platform.runtimes["payment"].db
    assert db is not None
    async with db.transaction() as conn:  # as if bob had had it shipped to his address
        await conn.execute(
            update(store.orders)
            .where(store.orders.c.id == order.id)
            .values(delivery_address=json.dumps(ADDRESS))
        )
    before = await money_of(platform, order.id, sam.id)

    closed = await close(http, bob)
    assert closed.status_code == 204, closed.text

    refused = await http.get("/api/v1/users/me", headers=bob.headers)
    assert refused.status_code == 401, refused.text
    again = await http.post("/api/v1/auth/login", json={"email": bob.email, "password": PASSWORD})
    assert again.status_code == 401, again.text
    renewed = await http.post("/api/v1/auth/refresh", json={"refresh_token": bob.refresh_token})
    assert renewed.status_code == 401, renewed.text
    profile = (await http.get(f"/api/v1/users/{bob.id}/profile")).json()["user"]
    assert profile["display_name"] == "Deleted user"
    # Notices reach no one: the contact of a closed account is 404 to the notifier.
    notifier = platform.runtimes["notification"]
    async with client(platform.apps["identity"]) as identity_api:
        contact = await identity_api.get(
            f"/api/v1/users/{bob.id}/contact", headers=await notifier.auth_headers()
        )
    assert contact.status_code == 404, contact.text

    identity = platform.runtimes["identity"].context
    erased = await identity_user(platform, bob.id)
    assert erased.email == f"erased-{bob.id}@erased.invalid"
    assert erased.phone is None and erased.erased_at is not None
    assert not await identity.passwords.verify(erased.password_hash, PASSWORD)
    export = await http.get("/api/v1/users/me/export", headers=bob.headers)
    assert export.status_code == 401

    async def address_gone() -> bool:
        async with db.read() as conn:
            found = await store.order_by_id(conn, order.id)
        return found is not None and found.delivery_address is None

    assert await eventually(address_gone)
    assert await money_of(platform, order.id, sam.id) == before
    # The email is free again: a new account, not the old one.
    reborn = await sign_up(http, name="Bob", email=bob.email)
    assert reborn.id != bob.id


async def identity_user(platform: Platform, user_id: str) -> Any:
    from auction_platform.services.identity import address_store
    from auction_platform.services.identity import store as identity_store

    db = platform.runtimes["identity"].db
    assert db is not None
    async with db.read() as conn:
        found = await identity_store.user_by_id(conn, user_id)
        assert await address_store.addresses_of(conn, user_id) == []
    return found
