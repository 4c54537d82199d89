"""A valid request for every write of the public API, and how to read what it wrote.

The mass-assignment probes add fields to these requests; the body probes put numbers
beyond what a field may hold into them. Each request is made ready on a thing of its
own (a fresh draft, sale, order, offer...), so a write that succeeds uses up nothing another
probe needs. A write that cannot be probed so says why (``Unprobed``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import jwt

from security.world import PAYING_CARD, Json, World, sale_body
from support.accounts import PASSWORD, log_in, sign_up
from support.auctions import lot_body

Read = Callable[[httpx.Response], Awaitable[Json]]


async def _nothing(response: httpx.Response) -> Json:
    return {}


@dataclass(frozen=True)
class Write:
    """A valid request, ready to send, and how to read back what it wrote."""

    ids: dict[str, str]
    body: Json | None
    headers: dict[str, str]
    read: Read = _nothing
    # Fields the write itself sets, whatever it is sent (Buy It Now closes the book).
    sets: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Unprobed:
    """A write these probes leave to others, and why."""

    why: str


Prepare = Callable[[World], Awaitable[Write]]


def claims(token: str) -> Json:
    found: Json = jwt.decode(token, options={"verify_signature": False})
    return found


def _lot_reader(world: World, key: str = "auction") -> Read:
    async def read(response: httpx.Response) -> Json:
        return await world.lot(response.json()[key]["id"])

    return read


def _me(world: World, token_of: Callable[[Json], str] | None = None) -> Read:
    """The owner's account, and the claims of a token the answer carries."""

    async def read(response: httpx.Response) -> Json:
        found = (await world.get("/api/v1/users/me"))["user"]
        if token_of is not None:
            found["token"] = claims(token_of(response.json()))
        return found  # type: ignore[no-any-return]

    return read


def _book(world: World, lot_id: str) -> Read:
    async def read(response: httpx.Response) -> Json:
        return await world.book(lot_id)

    return read


def _order(world: World) -> Read:
    async def read(response: httpx.Response) -> Json:
        return await world.order_as_owner(response.json()["order"]["id"])

    return read


async def register(world: World) -> Write:
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"

    async def read(response: httpx.Response) -> Json:
        tokens = await log_in(world.http, email)
        me = await world.http.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        return {**me.json()["user"], "token": claims(tokens["access_token"])}

    body = {"email": email, "password": PASSWORD, "display_name": "Mo"}
    return Write({}, body, {}, read)


async def login(world: World) -> Write:
    body = {"email": world.owner.email, "password": PASSWORD}
    return Write({}, body, {}, _me(world, lambda answer: answer["access_token"]))


async def refresh(world: World) -> Write:
    tokens = await log_in(world.http, world.owner.email)
    body = {"refresh_token": tokens["refresh_token"]}
    return Write({}, body, {}, _me(world, lambda answer: answer["access_token"]))


async def logout(world: World) -> Write:
    tokens = await log_in(world.http, world.owner.email)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    return Write({}, {"refresh_token": tokens["refresh_token"]}, headers)


async def list_lot(world: World) -> Write:
    return Write({}, lot_body(), world.owner.headers, _lot_reader(world))


async def _on_draft(world: World, body: Json | None) -> Write:
    draft = await world.draft()
    return Write({"lot_id": draft["id"]}, body, world.owner.headers, _lot_reader(world))


async def change_lot(world: World) -> Write:
    return await _on_draft(world, {"title": "A retitled Leica"})


async def cancel_lot(world: World) -> Write:
    return await _on_draft(world, {"reason": "changed my mind"})


async def publish_lot(world: World) -> Write:
    return await _on_draft(world, None)


async def relist_lot(world: World) -> Write:
    lot = await world.unsold_lot()
    body = {"title": "A Leica, again"}
    return Write({"lot_id": lot["id"]}, body, world.owner.headers, _lot_reader(world))


def _sale_reader(world: World, sale_id: str, lot_id: str | None = None) -> Read:
    """The sale as its seller reads it, beside the fields of a lot the write put in it or
    published (the sale's where both have one)."""

    async def read(response: httpx.Response) -> Json:
        lot = await world.lot(lot_id) if lot_id is not None else {}
        return {**lot, **(await world.timed_sale(sale_id))}

    return read


async def create_sale(world: World) -> Write:
    async def read(response: httpx.Response) -> Json:
        return await world.timed_sale(response.json()["sale"]["id"])

    return Write({}, sale_body(), world.owner.headers, read)


async def change_sale(world: World) -> Write:
    sale = await world.draft_sale(lots=0)
    body = {"title": "The Hartley estate, part two"}
    read = _sale_reader(world, sale["id"])
    return Write({"sale_id": sale["id"]}, body, world.owner.headers, read)


async def add_to_sale(world: World) -> Write:
    sale, lot = await world.draft_sale(lots=0), await world.draft()
    read = _sale_reader(world, sale["id"], lot["id"])
    return Write({"sale_id": sale["id"]}, {"auction_id": lot["id"]}, world.owner.headers, read)


async def move_in_sale(world: World) -> Write:
    sale = await world.draft_sale(lots=2)
    ids = {"sale_id": sale["id"], "auction_id": sale["lots"][0]["auction_id"]}
    return Write(ids, {"lot_number": 2}, world.owner.headers, _sale_reader(world, sale["id"]))


async def publish_sale(world: World) -> Write:
    sale = await world.draft_sale()
    read = _sale_reader(world, sale["id"], sale["lots"][0]["auction_id"])
    return Write({"sale_id": sale["id"]}, None, world.owner.headers, read)


async def cancel_sale(world: World) -> Write:
    sale = await world.published_sale()
    read = _sale_reader(world, sale["id"], sale["lots"][0]["auction_id"])
    body = {"reason": "The estate sale fell through"}
    return Write({"sale_id": sale["id"]}, body, world.owner.headers, read)


async def place_bid(world: World) -> Write:
    lot = await world.open_lot(world.third)
    body = {"max_amount_cents": 20_000}
    return Write({"auction_id": lot["id"]}, body, world.owner.headers, _book(world, lot["id"]))


async def buy_now(world: World) -> Write:
    lot = await world.open_lot(world.third)
    # The book answers ``status`` closed, with the buyer as its leader.
    sets = frozenset({"status"})
    return Write(
        {"auction_id": lot["id"]}, None, world.owner.headers, _book(world, lot["id"]), sets
    )


async def retract_bid(world: World) -> Write:
    # Two days to go: a bid may be retracted freely (eBay's policy).
    ends = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    lot = await world.open_lot(world.third, ends_at=ends)
    seq = (await world.bid(lot["id"], 20_000))["seq"]
    return Write(
        {"auction_id": lot["id"]}, {"seq": seq}, world.owner.headers, _book(world, lot["id"])
    )


async def accept_offer(world: World) -> Write:
    offer = await world.offer()
    return Write({"offer_id": offer["id"]}, None, world.owner.headers, _order(world))


async def pay_order(world: World) -> Write:
    order = await world.order()
    body = {"card": PAYING_CARD}
    return Write({"order_id": order["id"]}, body, world.owner.headers, _order(world))


async def refund_order(world: World) -> Write:
    order = await world.paid_order()

    async def read(response: httpx.Response) -> Json:
        return await world.order_as_owner(order["id"])

    sets = frozenset({"status"})
    return Write({"order_id": order["id"]}, None, await world.admin(), read, sets)


async def change_me(world: World) -> Write:
    return Write({}, {"display_name": "Olive Two"}, world.owner.headers, _me(world))


async def change_preferences(world: World) -> Write:
    async def read(response: httpx.Response) -> Json:
        me = await _me(world)(response)
        return {**me, **(await world.get("/api/v1/users/me/preferences"))}

    return Write({}, {"email": {"outbid": False}}, world.owner.headers, read)


async def become_seller(world: World) -> Write:
    read = _me(world, lambda answer: answer["access_token"])
    return Write({}, None, world.owner.headers, read)


async def change_account(world: World) -> Write:
    body = {"display_name": "Olive Three"}
    return Write({"user_id": world.owner.id}, body, world.owner.headers, _me(world))


async def change_roles(world: World) -> Write:
    # Someone of their own: the change marks the account's tokens stale.
    someone, admin = await sign_up(world.http, name="Rita"), await world.admin()

    async def read(response: httpx.Response) -> Json:
        found = await world.http.get(f"/api/v1/users/{someone.id}", headers=admin)
        return found.json()["user"]  # type: ignore[no-any-return]

    body = {"roles": ["bidder", "seller"]}
    return Write({"user_id": someone.id}, body, admin, read)


def _category_reader(world: World, slug: str) -> Read:
    async def read(response: httpx.Response) -> Json:
        tree = await world.get("/api/v1/categories?include_retired=true")
        stack = list(tree["categories"])
        while stack:
            node = stack.pop()
            if node["slug"] == slug:
                return node  # type: ignore[no-any-return]
            stack.extend(node["children"])
        raise AssertionError(f"{slug} is not in the tree")

    return read


async def add_category(world: World) -> Write:
    slug = f"c-{uuid.uuid4().hex[:10]}"
    body = {"slug": slug, "name": "Barometers", "parent": "home"}
    return Write({}, body, await world.admin(), _category_reader(world, slug))


async def change_category(world: World) -> Write:
    added = await add_category(world)
    assert added.body is not None
    created = await world.http.post("/api/v1/categories", json=added.body, headers=added.headers)
    assert created.status_code == 201, created.text
    slug = str(added.body["slug"])
    return Write({"slug": slug}, {"name": "Aneroid barometers"}, added.headers, added.read)


async def watch(world: World) -> Write:
    lot = await world.open_lot(world.third)

    async def read(response: httpx.Response) -> Json:
        page = await world.get("/api/v1/watchlist?limit=100")
        item = next(i for i in page["items"] if i["auction"]["id"] == lot["id"])
        return {**item["auction"], "created_at": item["watched_since"]}

    return Write({"lot_id": lot["id"]}, None, world.owner.headers, read)


def _reader(find: Callable[[], Awaitable[Json]]) -> Read:
    async def read(response: httpx.Response) -> Json:
        return await find()

    return read


def _one(items: Callable[[], Awaitable[list[Json]]], key: str, value: str) -> Read:
    """The item of a list whose ``key`` is ``value``, read again after the write."""

    async def find() -> Json:
        return next(item for item in await items() if item[key] == value)

    return _reader(find)


def _order_by_id(world: World, order_id: str) -> Read:
    return _reader(lambda: world.order_as_owner(order_id))


def _dispute_of(world: World, order_id: str) -> Read:
    return _reader(lambda: world.dispute(order_id))


def _on_order(
    world: World,
    order: Json,
    body: Json | None,
    headers: dict[str, str] | None = None,
    reader: Callable[[World, str], Read] = _order_by_id,
) -> Write:
    """A write on an order (the owner's by default), read back with ``reader``."""
    ids = {"order_id": order["id"]}
    return Write(ids, body, headers or world.owner.headers, reader(world, order["id"]))


async def choose_delivery(world: World) -> Write:
    order = await world.order()
    body = {"method": "buyer_arranges"}
    return _on_order(world, order, body)


async def ship(world: World) -> Write:
    order = await world.sale()
    body = {"tracking_number": "1Z999AA10123456784", "carrier": "UPS"}
    return _on_order(world, order, body)


async def confirm_receipt(world: World) -> Write:
    order = await world.shipped_order()
    return _on_order(world, order, None)


async def leave_feedback(world: World) -> Write:
    order = await world.received_order()

    async def find() -> Json:
        found = await world.get(f"/api/v1/orders/{order['id']}/feedback")
        return found["by_buyer"]  # type: ignore[no-any-return]

    body = {"rating": "positive", "comment": "Well packed, as described"}
    return Write({"order_id": order["id"]}, body, world.owner.headers, _reader(find))


async def open_dispute(world: World) -> Write:
    order = await world.paid_order()
    body = {"reason": "not_received", "message": "It has not come yet"}
    return _on_order(world, order, body, None, _dispute_of)


async def write_in_dispute(world: World) -> Write:
    order = await world.disputed_order("It has not come yet")
    body = {"body": "Any news of the parcel?"}
    return _on_order(world, order, body, None, _dispute_of)


async def refund_in_dispute(world: World) -> Write:
    order = await world.disputed_order("It has not come yet")
    body = {"amount_cents": 1_000}
    return _on_order(world, order, body, world.third.headers, _dispute_of)


async def decide_dispute(world: World) -> Write:
    order = await world.disputed_order("It has not come yet")
    body = {"decision": "seller", "reason": "Tracked as delivered"}
    return _on_order(world, order, body, await world.admin(), _dispute_of)


async def connect_payouts(world: World) -> Write:
    async def read(response: httpx.Response) -> Json:
        balance = await world.get("/api/v1/payouts/balance")
        return {**response.json(), **balance, **(await _me(world)(response))}

    return Write({}, None, world.owner.headers, read)


async def _payout_write(world: World, body: Json, *, held: bool) -> Write:
    payout = await world.payout(held=held)
    read = _one(world.payouts, "id", payout["id"])
    return Write({"payout_id": payout["id"]}, body, await world.admin(), read)


async def hold_payout(world: World) -> Write:
    return await _payout_write(world, {"reason": "Checking the sale"}, held=False)


async def release_payout(world: World) -> Write:
    return await _payout_write(world, {"reason": "Checked"}, held=True)


def _made(items: Callable[[], Awaitable[list[Json]]], key: str) -> Read:
    """The item of a list the write made (``{key: {"id": ...}}``), read again."""

    async def read(response: httpx.Response) -> Json:
        return await _one(items, "id", response.json()[key]["id"])(response)

    return read


async def add_address(world: World) -> Write:
    body = {"name": "Olive Owner", "line1": "Main St 1", "city": "Leipzig", "country": "DE"}
    return Write({}, body, world.owner.headers, _made(world.addresses, "address"))


async def change_address(world: World) -> Write:
    address = await world.address()
    read = _one(world.addresses, "id", address["id"])
    return Write({"address_id": address["id"]}, {"city": "Dresden"}, world.owner.headers, read)


async def file_report(world: World) -> Write:
    lot = await world.open_lot(world.third)
    body = {"target_type": "auction", "target_id": lot["id"], "reason": "counterfeit"}
    return Write({}, body, world.owner.headers, _made(world.reports, "report"))


async def resolve_report(world: World) -> Write:
    report = await world.report()
    read = _one(world.reports, "id", report["id"])
    return Write({"report_id": report["id"]}, {"outcome": "dismiss"}, await world.admin(), read)


async def suspend(world: World) -> Write:
    someone = await sign_up(world.http, name="Sid")

    async def find() -> Json:
        return await world.suspension(someone.id) or {}

    body = {"reason": "Unpaid orders"}
    return Write({"user_id": someone.id}, body, await world.admin(), _reader(find))


async def run_shill_job(world: World) -> Write:
    async def read(response: httpx.Response) -> Json:
        return {**response.json(), "flags": await world.flags()}

    return Write({}, None, await world.admin(), read)


async def review_flag(world: World) -> Write:
    flag = await world.flag()
    read = _one(world.flags, "id", flag["id"])
    body = {"status": "reviewed", "note": "Looked into it"}
    return Write({"signal_id": flag["id"]}, body, await world.admin(), read)


WRITES: dict[str, Prepare | Unprobed] = {
    "POST /api/v1/auth/register": register,
    "POST /api/v1/auth/login": login,
    "POST /api/v1/auth/refresh": refresh,
    "POST /api/v1/auth/logout": logout,
    "POST /api/v1/auctions": list_lot,
    "PATCH /api/v1/auctions/{lot_id}": change_lot,
    "POST /api/v1/auctions/{lot_id}/photos": Unprobed(
        "takes a photo's bytes, not JSON fields (tests/integration/test_photos.py)"
    ),
    "POST /api/v1/categories": add_category,
    "PATCH /api/v1/categories/{slug}": change_category,
    "POST /api/v1/auctions/{lot_id}/cancel": cancel_lot,
    "POST /api/v1/auctions/{lot_id}/publish": publish_lot,
    "POST /api/v1/auctions/{lot_id}/relist": relist_lot,
    "POST /api/v1/sales": create_sale,
    "PATCH /api/v1/sales/{sale_id}": change_sale,
    "POST /api/v1/sales/{sale_id}/lots": add_to_sale,
    "PUT /api/v1/sales/{sale_id}/lots/{auction_id}": move_in_sale,
    "POST /api/v1/sales/{sale_id}/publish": publish_sale,
    "POST /api/v1/sales/{sale_id}/cancel": cancel_sale,
    "POST /api/v1/auctions/{auction_id}/bids": place_bid,
    "POST /api/v1/auctions/{auction_id}/buy-now": buy_now,
    "POST /api/v1/auctions/{auction_id}/retractions": retract_bid,
    "POST /api/v1/offers/{offer_id}/accept": accept_offer,
    "POST /api/v1/orders/{order_id}/pay": pay_order,
    "POST /api/v1/orders/{order_id}/refund": refund_order,
    "PUT /api/v1/orders/{order_id}/delivery": choose_delivery,
    "POST /api/v1/orders/{order_id}/shipment": ship,
    "POST /api/v1/orders/{order_id}/receipt": confirm_receipt,
    "PUT /api/v1/orders/{order_id}/feedback": leave_feedback,
    "POST /api/v1/orders/{order_id}/dispute": open_dispute,
    "POST /api/v1/orders/{order_id}/dispute/messages": write_in_dispute,
    "POST /api/v1/orders/{order_id}/dispute/refund": refund_in_dispute,
    "POST /api/v1/orders/{order_id}/dispute/decision": decide_dispute,
    "POST /api/v1/payouts/account": connect_payouts,
    "POST /api/v1/payouts/{payout_id}/hold": hold_payout,
    "POST /api/v1/payouts/{payout_id}/release": release_payout,
    "POST /api/v1/users/me/addresses": add_address,
    "PATCH /api/v1/users/me/addresses/{address_id}": change_address,
    "POST /api/v1/reports": file_report,
    "POST /api/v1/reports/{report_id}/resolution": resolve_report,
    "POST /api/v1/users/{user_id}/suspension": suspend,
    "POST /api/v1/analytics/shill-signals/run": run_shill_job,
    "POST /api/v1/analytics/shill-signals/{signal_id}/review": review_flag,
    "POST /api/v1/payments/webhooks/stripe": Unprobed(
        "its body is the provider's signed event, not the caller's fields: test_webhooks"
    ),
    "PATCH /api/v1/users/me": change_me,
    "PATCH /api/v1/users/me/preferences": change_preferences,
    "POST /api/v1/users/me/seller": become_seller,
    "PATCH /api/v1/users/{user_id}": change_account,
    "PUT /api/v1/users/{user_id}/roles": change_roles,
    "PUT /api/v1/watchlist/{lot_id}": watch,
}
