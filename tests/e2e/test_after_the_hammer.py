"""After the hammer, end to end: listed, bid on, closed, told, ordered, paid, analysed.

The same story runs embedded (SQLite, in-process broker and cache) and distributed
(PostgreSQL, Redis and RabbitMQ), with a real SMTP server receiving the mail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from auction_platform.composition import Platform
from auction_platform.settings import Settings
from support.accounts import sign_up
from support.auctions import admin_token, create, seller
from support.platforms import client, distributed_settings, embedded_settings, running
from support.smtp import SmtpServer, smtp_server
from support.waiting import eventually

ALL = ("identity", "auction", "bidding", "payment", "notification", "analytics", "gateway")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture(params=["embedded", "distributed"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, smtp: SmtpServer) -> Settings:
    values: dict[str, Any] = {"auction_min_duration_seconds": 1, **smtp.settings()}
    if request.param == "embedded":
        return embedded_settings(tmp_path, **values)
    return distributed_settings(
        postgres_url=request.getfixturevalue("postgres_url"),
        redis_url=request.getfixturevalue("redis_url"),
        rabbitmq_url=request.getfixturevalue("rabbitmq_url"),
        **values,
    )


@pytest.fixture
async def platform(settings: Settings) -> AsyncIterator[Platform]:
    async with running(settings, ALL, embedded=True) as started:
        yield started


async def test_a_sale_from_listing_to_payment_and_the_books(
    platform: Platform, smtp: SmtpServer
) -> None:
    http: httpx.AsyncClient
    async with client(platform.apps["gateway"]) as http:
        sam = await seller(http)
        ann, bob = await sign_up(http, name="Ann"), await sign_up(http, name="Bob")
        start = datetime.now(UTC) + timedelta(seconds=1)
        listed = await create(
            http,
            sam,
            publish=True,
            title="Brass ship's chronometer",
            description="A marine chronometer in a gimballed mahogany box.",
            category="clocks",
            reserve_cents=None,
            buy_now_cents=None,
            start_cents=10_000,
            soft_close=None,
            starts_at=start.isoformat(),
            ends_at=(start + timedelta(seconds=3)).isoformat(),
        )
        auction = listed["id"]

        async def opened() -> bool:
            lot = (await http.get(f"/api/v1/auctions/{auction}")).json()["auction"]
            return bool(lot["status"] == "open")

        await eventually(opened)
        for who, cents in ((ann, 15_000), (bob, 20_000)):
            placed = await http.post(
                f"/api/v1/auctions/{auction}/bids", json={"max_amount": cents}, headers=who.headers
            )
            assert placed.status_code == 201, placed.text

        # The hammer falls: the winner is told, the seller is told.
        [won] = await smtp.wait_for(bob.email, "won", timeout=20)
        assert "chronometer" in won.subject.lower() or "chronometer" in won.text.lower()
        await smtp.wait_for(sam.email, "sold")
        await smtp.wait_for(ann.email, "outbid")

        # The winner owes payment: the order exists, and the sandbox test card pays it.
        await smtp.wait_for(bob.email, "payment_due")

        async def order() -> dict[str, Any]:
            found = (await http.get("/api/v1/orders", headers=bob.headers)).json()
            items: list[dict[str, Any]] = found["items"]
            return items[0] if items else {}

        mine = await eventually(order, timeout=15)
        assert mine["auction_id"] == auction
        assert mine["hammer_cents"] == 15_250  # 150 + the 2.50 increment
        paid = await http.post(
            f"/api/v1/orders/{mine['id']}/pay",
            json={"card": "4242424242424242"},
            headers=bob.headers,
        )
        assert paid.status_code == 200, paid.text
        assert paid.json()["order"]["status"] == "paid"
        await smtp.wait_for(sam.email, "payment_received_seller")
        await smtp.wait_for(bob.email, "payment_received_buyer")

        # Analytics shows the sale, and search finds the lot.
        admin = await admin_token(http, platform)

        async def reported() -> dict[str, Any]:
            summary: dict[str, Any] = (
                await http.get("/api/v1/analytics/summary", headers=admin)
            ).json()
            return summary if summary["auctions"]["sold"] == 1 else {}

        summary = await eventually(reported, timeout=15)
        [money] = summary["money"]
        assert (money["currency"], money["gross_gmv_cents"]) == ("EUR", 15_250)
        assert money["gross_fees_cents"] == money["net_fees_cents"] == 1_525 + 763
        assert summary["orders"] == {"created": 1, "paid": 1, "refunded": 0}

        async def found() -> dict[str, Any]:
            result: dict[str, Any] = (
                await http.get("/api/v1/search/auctions", params={"q": "gimballed mahogany"})
            ).json()
            hits = [item for item in result["items"] if item["status"] == "closed"]
            return result if hits else {}

        result = await eventually(found, timeout=15)
        assert result["items"][0]["id"] == auction
        # The lot's category and the top of its branch of the tree, each with its hit.
        assert result["facets"]["category"] == [
            {"value": "clocks", "name": "Clocks", "parent": "home", "count": 1},
            {"value": "home", "name": "Home & living", "parent": None, "count": 1},
        ]
