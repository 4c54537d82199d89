"""The people and the things of theirs the probes aim at, made as a client makes them.

The owner's things are made through the public API (a draft, an open lot, a lot that
ended unsold, a bid, a watched lot, a draft timed sale of drafts); an order and a
second-chance offer come from the event the bid book publishes when the hammer falls
(``AuctionClosed``), and an offer from the payment scheduler's expiry run at a later
clock, as the deadlines job would.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from auction_platform.composition import Platform
from auction_platform.contracts.auctions import AUCTION_CLOSED, AuctionClosedData
from auction_platform.contracts.events import Envelope
from auction_platform.services.analytics import shill_store
from auction_platform.services.analytics.shill import Flag, SignalKind
from auction_platform.services.payment import scheduler
from auction_platform.services.payment.handlers import Payments
from auction_platform.settings import Settings
from support.accounts import Account, sign_up
from support.auctions import admin_token, create, lot_body, open_lot, seller
from support.platforms import embedded_settings
from support.waiting import eventually

SERVICES = ("identity", "auction", "bidding", "payment", "notification", "analytics", "gateway")
HAMMER_CENTS = 12_000
RUNNER_UP_CENTS = 11_000
# Stripe's test card that pays (the sandbox follows Stripe's test cards).
PAYING_CARD = "4242424242424242"
Json = dict[str, Any]


def probe_settings(data_dir: Path, **overrides: Any) -> Settings:
    """The embedded mode, with lots as short as a second and limits no probe run reaches.

    Every probe comes from one address; the rate limits and the sign-in throttle are
    probed on their own (``test_forwarded_headers``).
    """
    values: dict[str, Any] = {
        "auction_min_duration_seconds": 1,
        "rate_limit_per_address": 100_000,
        "rate_limit_per_user": 100_000,
        "auth_rate_limit_per_address": 100_000,
        "login_failures_per_address": 100_000,
        **overrides,
    }
    return embedded_settings(data_dir, **values)


def sale_body(**overrides: Any) -> Json:
    """A valid timed sale: it starts when published, lot 1 closes in an hour, a minute apart."""
    body: Json = {
        "title": "The Hartley estate: furniture and silver",
        "description": "Collection from Bath.",
        "first_close_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        "interval_seconds": 60,
    }
    body.update(overrides)
    return body


def refused(
    response: httpx.Response, statuses: Collection[int], *, code: str | None = None
) -> Json:
    """Assert ``response`` is a refusal in the error shape, no trace in it; its ``error``."""
    what = f"{response.request.method} {response.request.url.path}"
    assert response.status_code in statuses, (what, response.status_code, response.text[:500])
    assert "Traceback" not in response.text, (what, response.text[:2000])
    error = response.json().get("error")
    assert isinstance(error, dict), (what, response.text[:500])
    assert isinstance(error.get("code"), str) and error["code"], (what, error)
    assert isinstance(error.get("message"), str), (what, error)
    if code is not None:
        assert error["code"] == code, (what, error)
    return error


@dataclass
class World:
    """An owner whose things are probed, an intruder, and a third party.

    All three are ordinary accounts holding the bidder and seller roles, so a refusal
    of the intruder is about whose thing it is, never about a role it lacks.
    """

    platform: Platform
    http: httpx.AsyncClient
    owner: Account
    intruder: Account
    third: Account
    _admin: dict[str, str] = field(default_factory=dict)

    @classmethod
    async def make(cls, platform: Platform, http: httpx.AsyncClient) -> World:
        """Three new sellers."""
        owner = await seller(http, "Olive")
        intruder = await seller(http, "Ivan")
        third = await seller(http, "Theo")
        return cls(platform, http, owner, intruder, third)

    async def admin(self) -> dict[str, str]:
        """The Authorization header of an admin who sells too (made on first use)."""
        if not self._admin:
            admin = await admin_token(self.http, self.platform)
            selling = await self.http.post("/api/v1/users/me/seller", headers=admin)
            assert selling.status_code == 200, selling.text
            self._admin["Authorization"] = f"Bearer {selling.json()['access_token']}"
        return self._admin

    async def get(self, path: str, who: Account | None = None) -> Json:
        """A 200 answer's body, asked as ``who`` (the owner by default)."""
        response = await self.http.get(path, headers=(who or self.owner).headers)
        assert response.status_code == 200, (path, response.text)
        body: Json = response.json()
        return body

    # --- lots ---------------------------------------------------------------------

    async def draft(self, who: Account | None = None) -> Json:
        """A draft of the owner's (or of ``who``): seen by nobody else."""
        return await create(self.http, who or self.owner, title=f"Draft {uuid.uuid4().hex[:8]}")

    async def open_lot(self, who: Account | None = None, **overrides: Any) -> Json:
        """An open lot of the owner's (or of ``who``), its bid book made."""
        return await open_lot(self.http, who or self.owner, **overrides)

    async def unsold_lot(self) -> Json:
        """A lot of the owner's that ran two seconds and ended without a bid."""
        body = lot_body(publish=True, duration_seconds=2)
        del body["starts_at"], body["ends_at"]
        made = await self.http.post("/api/v1/auctions", json=body, headers=self.owner.headers)
        assert made.status_code == 201, made.text
        lot_id = made.json()["auction"]["id"]

        async def ended() -> Json:
            lot = await self.lot(lot_id)
            return lot if lot["status"] == "closed" else {}

        return await eventually(ended)

    async def lot(self, lot_id: str, who: Account | None = None) -> Json:
        """A lot as its owner (or ``who``) sees it."""
        lot: Json = (await self.get(f"/api/v1/auctions/{lot_id}", who))["auction"]
        return lot

    async def book(self, lot_id: str) -> Json:
        """A lot's bid book as the owner sees it."""
        return await self.get(f"/api/v1/auctions/{lot_id}/book")

    async def bid(self, lot_id: str, cents: int, who: Account | None = None) -> Json:
        """An accepted bid's answer, once the lot's book takes bids."""
        path = f"/api/v1/auctions/{lot_id}/bids"
        headers = (who or self.owner).headers

        async def placed() -> Json:
            answer = await self.http.post(path, json={"max_amount_cents": cents}, headers=headers)
            return answer.json() if answer.status_code == 201 else {}

        return await eventually(placed, interval=0.25)

    async def owners_bid(self) -> tuple[str, int]:
        """A lot of the third party's and the owner's bid on it: the lot's id, the bid's seq."""
        lot = await self.open_lot(self.third)
        placed = await self.bid(lot["id"], 20_000)
        return lot["id"], int(placed["seq"])

    async def watched_lot(self) -> str:
        """A lot of the third party's on the owner's watchlist; its id."""
        lot = await self.open_lot(self.third)
        watched = await self.http.put(f"/api/v1/watchlist/{lot['id']}", headers=self.owner.headers)
        assert watched.status_code == 201, watched.text
        return str(lot["id"])

    async def watchlist(self, who: Account | None = None) -> list[str]:
        """The ids of the lots on a watchlist (the owner's by default)."""
        page = await self.get("/api/v1/watchlist?limit=100", who)
        return [item["auction"]["id"] for item in page["items"]]

    # --- timed sales ------------------------------------------------------------------

    async def draft_sale(self, lots: int = 1, **overrides: Any) -> Json:
        """A draft sale of the owner's holding ``lots`` drafts of theirs: seen by nobody else."""
        body = sale_body(title=f"Sale {uuid.uuid4().hex[:8]}", **overrides)
        sale: Json = (await self._post("/api/v1/sales", self.owner, body, status=201))["sale"]
        for _ in range(lots):
            lot = await self.draft()
            path = f"/api/v1/sales/{sale['id']}/lots"
            sale = (await self._post(path, self.owner, {"auction_id": lot["id"]}))["sale"]
        return sale

    async def published_sale(self, lots: int = 1) -> Json:
        """A published sale of the owner's whose ``lots`` open in half an hour."""
        start = datetime.now(UTC) + timedelta(minutes=30)
        sale = await self.draft_sale(lots, starts_at=start.isoformat())
        path = f"/api/v1/sales/{sale['id']}/publish"
        published: Json = (await self._post(path, self.owner, None))["sale"]
        return published

    async def timed_sale(self, sale_id: str) -> Json:
        """A timed sale as its seller, the owner, sees it."""
        found: Json = (await self.get(f"/api/v1/sales/{sale_id}"))["sale"]
        return found

    # --- orders and offers ----------------------------------------------------------

    async def order(self) -> Json:
        """An order of the owner's, awaiting payment: the owner won the third party's lot."""
        auction_id = await self._hammer(winner=self.owner.id)
        return await self._order_of(auction_id, self.owner)

    async def paid_order(self) -> Json:
        """An order of the owner's, paid with Stripe's test card through the sandbox."""
        return await self._paid(await self.order(), self.owner)

    async def sale(self) -> Json:
        """An order of a lot the owner sold to the third party, who paid for it."""
        auction_id = await self._hammer(winner=self.third.id, seller=self.owner)
        return await self._paid(await self._order_of(auction_id, self.third), self.third)

    async def shipped_order(self) -> Json:
        """A paid order of the owner's that the seller, the third party, marked shipped."""
        order = await self.paid_order()
        await self._post(f"/api/v1/orders/{order['id']}/shipment", self.third, {})
        return await self.order_as_owner(order["id"])

    async def received_order(self) -> Json:
        """A shipped order of the owner's whose receipt the owner confirmed."""
        order = await self.shipped_order()
        await self._post(f"/api/v1/orders/{order['id']}/receipt", self.owner)
        return await self.order_as_owner(order["id"])

    async def disputed_order(self, message: str) -> Json:
        """A paid order of the owner's on which the owner opened a dispute with ``message``."""
        order = await self.paid_order()
        body = {"reason": "not_received", "message": message}
        await self._post(f"/api/v1/orders/{order['id']}/dispute", self.owner, body, status=201)
        return order

    async def dispute(self, order_id: str) -> Json:
        """An order's dispute as its buyer, the owner, sees it (the clock left out)."""
        found: Json = (await self.get(f"/api/v1/orders/{order_id}/dispute"))["dispute"]
        return found

    async def payout(self, *, held: bool = False) -> Json:
        """The owner's payout of a sale the buyer received (held by an admin if asked)."""
        order = await self.sale()
        await self._post(f"/api/v1/orders/{order['id']}/shipment", self.owner, {})
        await self._post(f"/api/v1/orders/{order['id']}/receipt", self.third)

        async def made() -> Json:
            for payout in await self.payouts():
                if payout["order_id"] == order["id"]:
                    return payout  # type: ignore[no-any-return]
            return {}

        payout = await eventually(made)
        if held:
            admin = await self.admin()
            hold = f"/api/v1/payouts/{payout['id']}/hold"
            answer = await self.http.post(hold, json={"reason": "checking"}, headers=admin)
            assert answer.status_code == 200, answer.text
            payout = answer.json()["payout"]
        return payout

    async def payouts(self) -> list[Json]:
        """The owner's payouts."""
        found: list[Json] = (await self.get("/api/v1/payouts?limit=100"))["items"]
        return found

    # --- addresses, reports, suspensions and shill signals -----------------------------

    async def address(self) -> Json:
        """A delivery address of the owner's (a street only the owner's address has)."""
        body = {
            "name": "Olive Owner",
            "line1": f"Hidden Lane {uuid.uuid4().hex[:6]}",
            "city": "Leipzig",
            "country": "DE",
        }
        path = "/api/v1/users/me/addresses"
        address: Json = (await self._post(path, self.owner, body, status=201))["address"]
        return address

    async def addresses(self) -> list[Json]:
        """The owner's delivery addresses."""
        found: list[Json] = (await self.get("/api/v1/users/me/addresses"))["items"]
        return found

    async def report(self) -> Json:
        """The owner's open report on a lot of the third party's."""
        lot = await self.open_lot(self.third)
        body = {"target_type": "auction", "target_id": lot["id"], "reason": "counterfeit"}
        report: Json = (await self._post("/api/v1/reports", self.owner, body, status=201))["report"]
        return report

    async def reports(self) -> list[Json]:
        """The owner's reports."""
        found: list[Json] = (await self.get("/api/v1/reports/mine"))["items"]
        return found

    async def suspended(self, reason: str) -> str:
        """A new account an admin suspended for ``reason``; its id."""
        someone = await sign_up(self.http, name="Sid")
        path = f"/api/v1/users/{someone.id}/suspension"
        answer = await self.http.post(path, json={"reason": reason}, headers=await self.admin())
        assert answer.status_code == 201, answer.text
        return someone.id

    async def suspension(self, user_id: str) -> Json | None:
        """An account's latest suspension, as an admin sees it."""
        path = f"/api/v1/users/{user_id}/suspension"
        answer = await self.http.get(path, headers=await self.admin())
        assert answer.status_code == 200, answer.text
        found: Json | None = answer.json()["suspension"]
        return found

    async def flag(self) -> Json:
        """An open shill-bidding flag on the intruder bidding on the owner's lots.

        Recorded as the daily job records what it finds (the rules have their own tests).
        """
        flag = Flag(SignalKind.CONCENTRATION, self.intruder.id, self.owner.id, {"bids": 5})
        db = self.platform.runtimes["analytics"].db
        assert db is not None
        now = datetime.now(UTC)
        async with db.transaction() as conn:
            await shill_store.add_flag(conn, flag, day=now.date(), at=now)
        return next(f for f in await self.flags() if f["bidder_id"] == self.intruder.id)

    async def flags(self) -> list[Json]:
        """Every shill-bidding flag, as an admin sees them."""
        path = "/api/v1/analytics/shill-signals?limit=500"
        answer = await self.http.get(path, headers=await self.admin())
        assert answer.status_code == 200, answer.text
        found: list[Json] = answer.json()["items"]
        return found

    async def _post(
        self, path: str, who: Account, body: Json | None = None, *, status: int = 200
    ) -> Json:
        answer = await self.http.post(path, json=body, headers=who.headers)
        assert answer.status_code == status, (path, answer.text)
        found: Json = answer.json()
        return found

    async def _paid(self, order: Json, buyer: Account) -> Json:
        path = f"/api/v1/orders/{order['id']}/pay"
        await self._post(path, buyer, {"card": PAYING_CARD})

        async def settled() -> Json:
            found = await self.order_as_owner(order["id"])
            return found if found["status"] == "paid" else {}

        return await eventually(settled)

    async def order_as_owner(self, order_id: str) -> Json:
        """An order as its buyer, the owner, sees it."""
        found: Json = (await self.get(f"/api/v1/orders/{order_id}"))["order"]
        return found

    async def offer(self) -> Json:
        """A second-chance offer to the owner: the winner did not pay, the owner came second."""
        winner = await sign_up(self.http, name="Wendy")
        auction_id = await self._hammer(winner=winner.id, runner_up=self.owner.id)
        unpaid = await self._order_of(auction_id, winner)
        payments: Payments = self.platform.runtimes["payment"].context
        later = datetime.fromisoformat(unpaid["due_at"]) + timedelta(minutes=1)
        await scheduler.expire_due_orders(payments, now=later)
        return await self.offer_as_owner(auction_id)

    async def offer_as_owner(self, auction_id: str) -> Json:
        """The owner's offer for an auction, once it is there."""

        async def offered() -> Json:
            for offer in (await self.get("/api/v1/offers"))["items"]:
                if offer["auction_id"] == auction_id:
                    return offer  # type: ignore[no-any-return]
            return {}

        return await eventually(offered)

    async def _hammer(
        self, *, winner: str, runner_up: str | None = None, seller: Account | None = None
    ) -> str:
        """Publish the close of a sold lot of the third party's (or ``seller``'s); its id."""
        auction_id = uuid.uuid4().hex
        closed: AuctionClosedData = {
            "auction_id": auction_id,
            "seller_id": (seller or self.third).id,
            "title": "A Rolleiflex 2.8F",
            "winner_id": winner,
            "leader_id": winner,
            "price_cents": HAMMER_CENTS,
            "currency": "EUR",
            "sold": True,
            "reserve_met": True,
            "runner_up_id": runner_up,
            "runner_up_max_cents": RUNNER_UP_CENTS if runner_up else None,
            "bid_count": 2 if runner_up else 1,
            "bidder_ids": [winner, runner_up] if runner_up else [winner],
            "by_buy_now": False,
            "closed_at": datetime.now(UTC).isoformat(),
        }
        broker = self.platform.broker
        assert broker is not None
        await broker.publish([Envelope(type=AUCTION_CLOSED, producer="bidding", data=dict(closed))])
        return auction_id

    async def _order_of(self, auction_id: str, buyer: Account) -> Json:
        async def made() -> Json:
            for order in (await self.get("/api/v1/orders", buyer))["items"]:
                if order["auction_id"] == auction_id:
                    return order  # type: ignore[no-any-return]
            return {}

        return await eventually(made)
