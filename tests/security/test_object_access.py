"""Object-level access: another ordinary user gets nothing of the owner's, on any route.

Every operation of the public API with an id in its path and a bearer token among its
security requirements is probed. The table below says, per operation, which of the
owner's things to make and how to tell it did not change; the intruder (an ordinary
account, a seller and bidder too) then asks for it. The answer must be a refusal (403
or 404 unless the table says otherwise) in the error shape, carry nothing of the
owner's, and leave the owner's thing as it was. A new route with an id fails
``test_every_route_with_an_id_is_probed`` until the table says how to probe it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import httpx

from security.operations import Operation, internal_operations, not_in_table, public_operations
from security.world import PAYING_CARD, Json, World, refused, sale_body

REFUSED = frozenset({403, 404})
Check = Callable[[], Awaitable[None]]


async def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Target:
    """What the intruder aims at, and how to tell the owner's thing is as it was."""

    ids: dict[str, str]
    body: Json | None = None
    unchanged: Check = _nothing
    # What the answer must not show: text only the owner's thing holds.
    secrets: tuple[str, ...] = ()
    statuses: frozenset[int] = REFUSED


Make = Callable[[World], Awaitable[Target]]


def same_lot(world: World, lot: Json) -> Check:
    async def check() -> None:
        assert await world.lot(lot["id"]) == lot

    return check


async def _draft(world: World, name: str, body: Json | None = None) -> Target:
    """The owner's draft, which nobody else may see, let alone bid on, watch or publish."""
    draft = await world.draft()
    return Target(
        {name: draft["id"]},
        body,
        same_lot(world, draft),
        secrets=(draft["title"], world.owner.email),
    )


async def draft_lot(world: World) -> Target:
    return await _draft(world, "lot_id")


async def draft_book(world: World) -> Target:
    return await _draft(world, "auction_id")


async def bid_on_draft(world: World) -> Target:
    return await _draft(world, "auction_id", {"max_amount_cents": 20_000})


async def change_open_lot(world: World) -> Target:
    lot = await world.lot((await world.open_lot())["id"])
    return Target({"lot_id": lot["id"]}, {"title": "Taken over"}, same_lot(world, lot))


async def photo_on_open_lot(world: World) -> Target:
    target = await change_open_lot(world)
    return Target(target.ids, {"not": "a photo"}, target.unchanged)


async def rename_category(world: World) -> Target:
    """The category tree is the admins': an ordinary account changes nothing of it."""
    before = await world.get("/api/v1/categories?include_retired=true")

    async def check() -> None:
        assert await world.get("/api/v1/categories?include_retired=true") == before

    return Target({"slug": "home"}, {"name": "Taken over"}, check, statuses=frozenset({403}))


async def cancel_open_lot(world: World) -> Target:
    target = await change_open_lot(world)
    return Target(target.ids, {"reason": "mine now"}, target.unchanged)


async def relist_unsold_lot(world: World) -> Target:
    lot = await world.unsold_lot()
    return Target({"lot_id": lot["id"]}, {"publish": True}, same_lot(world, lot))


async def _sale(world: World, body: Json | None = None, *, on_lot: bool = False) -> Target:
    """The owner's draft sale of two lots, which nobody else may see, let alone change,
    fill, reorder, empty, publish or throw away (``on_lot``: the path names lot 1 too)."""
    sale = await world.timed_sale((await world.draft_sale(lots=2))["id"])
    ids = {"sale_id": sale["id"]}
    if on_lot:
        ids["auction_id"] = sale["lots"][0]["auction_id"]

    async def check() -> None:
        assert await world.timed_sale(sale["id"]) == sale

    secrets = (sale["title"], *(lot["title"] for lot in sale["lots"]))
    return Target(ids, body, check, secrets)


async def draft_sale(world: World) -> Target:
    return await _sale(world)


async def cancel_sale(world: World) -> Target:
    """The owner's draft sale, which nobody else may see, let alone cancel."""
    return await _sale(world, {"reason": "mine now"})


async def change_sale(world: World) -> Target:
    return await _sale(world, {"title": "Taken over"})


async def add_to_sale(world: World) -> Target:
    """The intruder's own draft put in the owner's sale."""
    theirs = await world.draft(world.intruder)
    target = await _sale(world, {"auction_id": theirs["id"]})

    async def check() -> None:
        await target.unchanged()
        assert (await world.lot(theirs["id"], world.intruder))["sale_id"] is None

    return Target(target.ids, target.body, check, target.secrets)


async def move_in_sale(world: World) -> Target:
    return await _sale(world, {"lot_number": 2}, on_lot=True)


async def remove_from_sale(world: World) -> Target:
    return await _sale(world, on_lot=True)


async def lot_report(world: World) -> Target:
    lot = await world.open_lot()
    return Target({"auction_id": lot["id"]})


async def retract_owners_bid(world: World) -> Target:
    lot_id, seq = await world.owners_bid()
    before = await world.book(lot_id)

    async def check() -> None:
        after = await world.book(lot_id)
        for name in ("bid_count", "price_cents", "leader", "version"):
            assert after.get(name) == before.get(name), (name, before, after)

    return Target({"auction_id": lot_id}, {"seq": seq}, check)


async def _order(world: World, order: Json, body: Json | None = None) -> Target:
    async def check() -> None:
        after = await world.order_as_owner(order["id"])
        assert (after["status"], after["payment_attempts"]) == (
            order["status"],
            order["payment_attempts"],
        )

    return Target({"order_id": order["id"]}, body, check)


async def see_order(world: World) -> Target:
    return await _order(world, await world.order())


async def pay_order(world: World) -> Target:
    return await _order(world, await world.order(), {"card": PAYING_CARD})


async def refund_order(world: World) -> Target:
    return await _order(world, await world.paid_order())


async def accept_offer(world: World) -> Target:
    offer = await world.offer()

    async def check() -> None:
        assert await world.offer_as_owner(offer["auction_id"]) == offer

    return Target({"offer_id": offer["id"]}, unchanged=check)


async def _account(world: World, body: Json | None = None) -> Target:
    before = await world.get("/api/v1/users/me")

    async def check() -> None:
        assert await world.get("/api/v1/users/me") == before

    return Target({"user_id": world.owner.id}, body, check, secrets=(world.owner.email,))


async def see_account(world: World) -> Target:
    return await _account(world)


async def change_account(world: World) -> Target:
    return await _account(world, {"display_name": "Ivan was here"})


async def change_roles(world: World) -> Target:
    return await _account(world, {"roles": ["bidder"]})


async def watch_draft(world: World) -> Target:
    target = await _draft(world, "lot_id")
    lot_id = target.ids["lot_id"]

    async def check() -> None:
        await target.unchanged()
        assert lot_id not in await world.watchlist(world.intruder)

    return Target(target.ids, unchanged=check, secrets=target.secrets)


async def unwatch_owners_lot(world: World) -> Target:
    lot_id = await world.watched_lot()

    async def check() -> None:
        assert lot_id in await world.watchlist()

    # The path names a lot, which anyone may watch, and the route acts on the caller's
    # own list: taking off a lot that is not on it is the caller's own no-op (204).
    return Target({"lot_id": lot_id}, unchanged=check, statuses=REFUSED | {204})


async def same_order(world: World, order: Json) -> Check:
    """A check that the order reads as it reads now (as one order, which shows its terms)."""
    before = await world.order_as_owner(order["id"])

    async def check() -> None:
        assert await world.order_as_owner(order["id"]) == before

    return check


async def choose_delivery(world: World) -> Target:
    order = await world.order()
    return Target({"order_id": order["id"]}, {"method": "pickup"}, await same_order(world, order))


async def ship_sale(world: World) -> Target:
    """The owner's sale, which only the owner (its seller) marks shipped."""
    order = await world.sale()
    body = {"tracking_number": "TAKEN-1", "carrier": "DHL"}
    return Target({"order_id": order["id"]}, body, await same_order(world, order))


async def confirm_receipt(world: World) -> Target:
    order = await world.shipped_order()
    return Target({"order_id": order["id"]}, unchanged=await same_order(world, order))


async def _feedback(world: World, body: Json | None = None) -> Target:
    order = await world.received_order()
    comment = f"Quick payer {uuid.uuid4().hex[:8]}"
    path = f"/api/v1/orders/{order['id']}/feedback"
    given = {"rating": "positive", "comment": comment}
    left = await world.http.put(path, json=given, headers=world.owner.headers)
    assert left.status_code == 201, left.text

    async def feedback() -> Json:
        found = await world.get(path)
        del found["server_time"]
        return found

    before = await feedback()

    async def check() -> None:
        assert await feedback() == before

    return Target({"order_id": order["id"]}, body, check, secrets=(comment,))


async def see_feedback(world: World) -> Target:
    return await _feedback(world)


async def leave_feedback(world: World) -> Target:
    return await _feedback(world, {"rating": "negative", "comment": "Never paid"})


async def open_dispute(world: World) -> Target:
    order = await world.paid_order()
    path = f"/api/v1/orders/{order['id']}/dispute"
    same = await same_order(world, order)

    async def check() -> None:
        await same()
        none = await world.http.get(path, headers=world.owner.headers)
        assert none.status_code == 404, none.text

    body = {"reason": "not_received", "message": "Where is it?"}
    return Target({"order_id": order["id"]}, body, check)


async def _dispute(
    world: World, body: Json | None = None, statuses: frozenset[int] = REFUSED
) -> Target:
    message = f"The lens is scratched {uuid.uuid4().hex[:8]}"
    order = await world.disputed_order(message)
    before = await world.dispute(order["id"])
    same = await same_order(world, order)

    async def check() -> None:
        assert await world.dispute(order["id"]) == before
        await same()

    return Target({"order_id": order["id"]}, body, check, (message,), statuses)


async def see_dispute(world: World) -> Target:
    return await _dispute(world)


async def write_in_dispute(world: World) -> Target:
    return await _dispute(world, {"body": "Nothing was wrong with it"})


async def refund_in_dispute(world: World) -> Target:
    return await _dispute(world, {"amount_cents": 100})


async def decide_dispute(world: World) -> Target:
    body = {"decision": "seller", "reason": "Mine to decide"}
    return await _dispute(world, body, frozenset({403}))


async def _payout(world: World, body: Json, *, held: bool = False) -> Target:
    payout = await world.payout(held=held)
    before = await world.payouts()

    async def check() -> None:
        assert await world.payouts() == before

    return Target({"payout_id": payout["id"]}, body, check, statuses=frozenset({403}))


async def hold_payout(world: World) -> Target:
    return await _payout(world, {"reason": "Hold it for me"})


async def release_payout(world: World) -> Target:
    return await _payout(world, {"reason": "Let it go"}, held=True)


async def _address(world: World, body: Json | None = None) -> Target:
    address = await world.address()
    before = await world.addresses()

    async def check() -> None:
        assert await world.addresses() == before

    return Target({"address_id": address["id"]}, body, check, secrets=(address["line1"],))


async def change_address(world: World) -> Target:
    return await _address(world, {"city": "Elsewhere"})


async def delete_address(world: World) -> Target:
    return await _address(world)


async def _suspended(world: World) -> Target:
    reason = f"Non-paying bidder {uuid.uuid4().hex[:8]}"
    user_id = await world.suspended(reason)
    before = await world.suspension(user_id)

    async def check() -> None:
        assert await world.suspension(user_id) == before

    return Target({"user_id": user_id}, None, check, (reason,), frozenset({403}))


async def see_suspension(world: World) -> Target:
    return await _suspended(world)


async def reinstate(world: World) -> Target:
    return await _suspended(world)


async def suspend_owner(world: World) -> Target:
    target = await _account(world, {"reason": "Out of the way"})

    async def check() -> None:
        await target.unchanged()
        assert await world.suspension(world.owner.id) is None

    return Target(target.ids, target.body, check, statuses=frozenset({403}))


async def see_signup_signals(world: World) -> Target:
    target = await _account(world)
    return Target(target.ids, None, target.unchanged, target.secrets, frozenset({403}))


async def resolve_report(world: World) -> Target:
    report = await world.report()
    before = await world.reports()

    async def check() -> None:
        assert await world.reports() == before

    body = {"outcome": "dismiss"}
    return Target({"report_id": report["id"]}, body, check, statuses=frozenset({403}))


async def review_flag(world: World) -> Target:
    """A flag on the intruder's bidding, which the intruder would like dismissed."""
    flag = await world.flag()

    async def check() -> None:
        assert flag in await world.flags()

    body = {"status": "dismissed", "note": "Nothing in it"}
    return Target({"signal_id": flag["id"]}, body, check, statuses=frozenset({403}))


# How to probe each operation with an id: which of the owner's things to make.
PROBES: dict[str, Make] = {
    "GET /api/v1/analytics/auctions/{auction_id}": lot_report,
    "POST /api/v1/auctions/{auction_id}/bids": bid_on_draft,
    "GET /api/v1/auctions/{auction_id}/book": draft_book,
    "POST /api/v1/auctions/{auction_id}/buy-now": draft_book,
    "POST /api/v1/auctions/{auction_id}/retractions": retract_owners_bid,
    "GET /api/v1/auctions/{lot_id}": draft_lot,
    "PATCH /api/v1/auctions/{lot_id}": change_open_lot,
    "POST /api/v1/auctions/{lot_id}/photos": photo_on_open_lot,
    "PATCH /api/v1/categories/{slug}": rename_category,
    "POST /api/v1/auctions/{lot_id}/cancel": cancel_open_lot,
    "POST /api/v1/auctions/{lot_id}/publish": draft_lot,
    "POST /api/v1/auctions/{lot_id}/relist": relist_unsold_lot,
    "GET /api/v1/sales/{sale_id}": draft_sale,
    "PATCH /api/v1/sales/{sale_id}": change_sale,
    "DELETE /api/v1/sales/{sale_id}": draft_sale,
    "POST /api/v1/sales/{sale_id}/lots": add_to_sale,
    "PUT /api/v1/sales/{sale_id}/lots/{auction_id}": move_in_sale,
    "DELETE /api/v1/sales/{sale_id}/lots/{auction_id}": remove_from_sale,
    "POST /api/v1/sales/{sale_id}/publish": draft_sale,
    "POST /api/v1/sales/{sale_id}/cancel": cancel_sale,
    "POST /api/v1/offers/{offer_id}/accept": accept_offer,
    "GET /api/v1/orders/{order_id}": see_order,
    "POST /api/v1/orders/{order_id}/pay": pay_order,
    "POST /api/v1/orders/{order_id}/refund": refund_order,
    "PUT /api/v1/orders/{order_id}/delivery": choose_delivery,
    "POST /api/v1/orders/{order_id}/shipment": ship_sale,
    "POST /api/v1/orders/{order_id}/receipt": confirm_receipt,
    "GET /api/v1/orders/{order_id}/feedback": see_feedback,
    "PUT /api/v1/orders/{order_id}/feedback": leave_feedback,
    "POST /api/v1/orders/{order_id}/dispute": open_dispute,
    "GET /api/v1/orders/{order_id}/dispute": see_dispute,
    "POST /api/v1/orders/{order_id}/dispute/messages": write_in_dispute,
    "POST /api/v1/orders/{order_id}/dispute/refund": refund_in_dispute,
    "POST /api/v1/orders/{order_id}/dispute/decision": decide_dispute,
    "POST /api/v1/payouts/{payout_id}/hold": hold_payout,
    "POST /api/v1/payouts/{payout_id}/release": release_payout,
    "PATCH /api/v1/users/me/addresses/{address_id}": change_address,
    "DELETE /api/v1/users/me/addresses/{address_id}": delete_address,
    "POST /api/v1/reports/{report_id}/resolution": resolve_report,
    "POST /api/v1/analytics/shill-signals/{signal_id}/review": review_flag,
    "GET /api/v1/users/{user_id}": see_account,
    "PATCH /api/v1/users/{user_id}": change_account,
    "PUT /api/v1/users/{user_id}/roles": change_roles,
    "GET /api/v1/users/{user_id}/signup-signals": see_signup_signals,
    "GET /api/v1/users/{user_id}/suspension": see_suspension,
    "POST /api/v1/users/{user_id}/suspension": suspend_owner,
    "DELETE /api/v1/users/{user_id}/suspension": reinstate,
    "PUT /api/v1/watchlist/{lot_id}": watch_draft,
    "DELETE /api/v1/watchlist/{lot_id}": unwatch_owners_lot,
}


def with_ids(operations: list[Operation]) -> list[Operation]:
    """The operations that name a thing in their path and know who is calling."""
    return [op for op in operations if op.path_params and op.signed_in]


async def test_every_route_with_an_id_is_probed(http: httpx.AsyncClient) -> None:
    operations = with_ids(await public_operations(http))
    assert operations, "the combined OpenAPI document lists no operation with an id"
    advice = (
        "Add each to PROBES in tests/security/test_object_access.py: which of the owner's "
        "things to make for it, and how to tell it did not change."
    )
    assert not (message := not_in_table(operations, PROBES, advice)), message
    gone = sorted(set(PROBES) - {op.key for op in operations})
    assert not gone, f"PROBES names operations the API no longer has: {gone}"


@dataclass
class Findings:
    """What went wrong, per operation, so one run reports every hole at once."""

    failures: list[str] = field(default_factory=list)

    async def probe(self, world: World, operation: Operation) -> None:
        try:
            await self._probe(world, operation)
        except AssertionError as failure:
            self.failures.append(f"{operation.key}: {failure}")

    async def _probe(self, world: World, operation: Operation) -> None:
        target = await PROBES[operation.key](world)
        response = await world.http.request(
            operation.method,
            operation.target(**target.ids),
            json=target.body,
            headers=world.intruder.headers,
        )
        if not (response.status_code == 204 and 204 in target.statuses):
            refused(response, target.statuses)
        for secret in target.secrets:
            assert secret not in response.text, f"the answer shows {secret!r}"
        await target.unchanged()


async def test_another_user_is_refused_on_every_route_with_an_id(world: World) -> None:
    operations = [op for op in with_ids(await public_operations(world.http)) if op.key in PROBES]
    findings = Findings()
    for operation in operations:
        await findings.probe(world, operation)
    assert not findings.failures, "\n".join(findings.failures)


async def test_a_sale_takes_in_no_draft_of_another_seller(world: World) -> None:
    """The lot a body names, not the path: the intruder's own sale refuses the owner's draft."""
    draft = await world.draft()
    made = await world.http.post("/api/v1/sales", json=sale_body(), headers=world.intruder.headers)
    assert made.status_code == 201, made.text
    sale_id = made.json()["sale"]["id"]
    response = await world.http.post(
        f"/api/v1/sales/{sale_id}/lots",
        json={"auction_id": draft["id"]},
        headers=world.intruder.headers,
    )
    refused(response, {422}, code="not_your_lot")
    assert draft["title"] not in response.text
    assert await world.lot(draft["id"]) == draft


async def test_another_seller_changes_nothing_of_a_published_sale(world: World) -> None:
    """Anyone reads a published sale; only its seller is told it no longer changes (409):
    anyone else is refused for whose it is (403), on every route that changes a sale,
    and cancels none of its lots."""
    sale = await world.draft_sale(lots=2)
    path = f"/api/v1/sales/{sale['id']}"
    published = await world.http.post(f"{path}/publish", headers=world.owner.headers)
    assert published.status_code == 200, published.text
    before = await world.timed_sale(sale["id"])
    seen = await world.http.get(path, headers=world.intruder.headers)
    assert seen.status_code == 200, seen.text
    lot = f"{path}/lots/{before['lots'][0]['auction_id']}"
    theirs = await world.draft(world.intruder)
    for method, target, body in (
        ("PATCH", path, {"title": "Taken over"}),
        ("DELETE", path, None),
        ("POST", f"{path}/lots", {"auction_id": theirs["id"]}),
        ("PUT", lot, {"lot_number": 2}),
        ("DELETE", lot, None),
        ("POST", f"{path}/publish", None),
        ("POST", f"{path}/cancel", None),
        ("POST", f"{path}/cancel", {"reason": "mine now"}),
    ):
        response = await world.http.request(
            method, target, json=body, headers=world.intruder.headers
        )
        refused(response, {403}, code="forbidden")
    assert await world.timed_sale(sale["id"]) == before
    assert (await world.lot(theirs["id"], world.intruder))["sale_id"] is None


async def test_the_services_own_routes_refuse_an_ordinary_user(world: World) -> None:
    lot = await world.lot((await world.open_lot())["id"])
    ids = {"user_id": world.owner.id, "lot_id": lot["id"], "auction_id": lot["id"]}
    internal = await internal_operations(world.http)
    assert internal, "no service document marks an operation x-internal"
    for operation in internal:
        # A body the service would take from another service: only the caller is wrong.
        body = {"by": "admin"} if operation.path.endswith("/book/cancel") else {}
        response = await world.http.request(
            operation.method,
            operation.target(**ids),
            json=body if operation.body is not None else None,
            headers=world.intruder.headers,
        )
        refused(response, {403}, code="forbidden")
        assert world.owner.email not in response.text
    assert await world.lot(lot["id"]) == lot
    assert (await world.book(lot["id"]))["status"] == "open"


def enums(schema: Json) -> list[str]:
    """The values an enumerated parameter takes (through ``anyOf`` with null)."""
    return [v for variant in schema.get("anyOf", [schema]) for v in variant.get("enum", ())]


def queries(operation: Operation, finders: list[str]) -> Iterator[dict[str, str]]:
    """No parameter, each value of each enumerated one, each finder in each text one."""
    yield {}
    for name, schema in operation.query.items():
        kinds = {variant.get("type") for variant in schema.get("anyOf", [schema])}
        values = enums(schema) or (finders if "string" in kinds else [])
        for value in values:
            yield {name: value}


async def test_no_list_shows_another_user_the_owners_things(world: World) -> None:
    draft, order, offer = await world.draft(), await world.order(), await world.offer()
    sale = await world.draft_sale()
    secrets = (
        draft["title"],
        world.owner.email,
        order["id"],
        offer["id"],
        sale["title"],
        sale["id"],
    )
    finders = [world.owner.id, draft["title"], draft["id"], world.owner.email]
    failures = []
    for operation in await public_operations(world.http):
        if operation.method != "GET" or operation.path_params:
            continue
        for params in queries(operation, finders):
            response = await world.http.get(
                operation.path, params=params, headers=world.intruder.headers
            )
            assert response.status_code < 500, (operation.path, params, response.text[:300])
            shown = [secret for secret in secrets if secret in response.text]
            if shown:
                failures.append(f"GET {operation.path} {params} shows {shown}")
    assert not failures, "\n".join(failures)
