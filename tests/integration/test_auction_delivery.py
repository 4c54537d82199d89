"""How a lot reaches its buyer: listed, shown, announced, edited, and lots from before.

Every service runs in this process on either backend (the bid book is the real
bidding service, so the first bid freezes delivery as it freezes every term).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from auction_platform.composition import Platform
from auction_platform.contracts.auctions import DEFAULT_DELIVERY
from auction_platform.core.db import Database
from auction_platform.core.migrate import migrate, revision_status
from auction_platform.services.auction import delivery, store
from auction_platform.services.auction.domain import Lot, Status
from support.accounts import sign_up
from support.auctions import create, lot_body, open_lot, outbox, place_bid, plain_terms, seller

DELIVERY: dict[str, Any] = {
    "shipping": [
        {"countries": ["DE", "AT"], "cost_cents": 690},
        {"countries": ["FR", "NL"], "cost_cents": 1_290},
    ],
    "buyer_arranges": False,
    "pickup_town": "Leipzig",
}


async def test_a_lot_says_how_it_reaches_its_buyer(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam = await seller(http)
    lot = await create(http, sam, publish=True, delivery=DELIVERY)
    assert lot["delivery"] == DELIVERY
    shown = (await http.get(f"/api/v1/auctions/{lot['id']}")).json()["auction"]
    assert shown["delivery"] == DELIVERY
    # A list shows lots without their description and delivery.
    listed = (await http.get("/api/v1/auctions")).json()["items"]
    assert all("delivery" not in item for item in listed)
    [event] = await outbox(platform, "AuctionPublished")
    assert event["delivery"] == DELIVERY


async def test_a_listing_that_says_nothing_lets_the_buyer_arrange(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam = await seller(http)
    lot = await create(http, sam, publish=True)
    assert lot["delivery"] == DEFAULT_DELIVERY
    [event] = await outbox(platform, "AuctionPublished")
    assert event["delivery"] == DEFAULT_DELIVERY


def _rates(count: int) -> list[dict[str, Any]]:
    codes = ["DE", "AT", "FR", "NL", "BE", "LU", "IT", "ES", "PT", "IE", "DK"]
    codes += ["SE", "FI", "PL", "CZ", "SK", "HU", "SI", "HR", "GR", "CY"]
    return [{"countries": [code], "cost_cents": 100} for code in codes[:count]]


@pytest.mark.parametrize(
    ("delivery", "code"),
    [
        ({"buyer_arranges": False}, "no_delivery"),
        ({}, "no_delivery"),
        ({"shipping": [{"countries": ["XX"], "cost_cents": 1}]}, "unknown_country"),
        ({"shipping": [{"countries": ["ß"], "cost_cents": 1}]}, "unknown_country"),
        ({"shipping": [{"countries": [], "cost_cents": 1}]}, "no_countries"),
        (
            {
                "shipping": [
                    {"countries": ["DE", "FR"], "cost_cents": 1},
                    {"countries": ["fr"], "cost_cents": 2},
                ]
            },
            "country_twice",
        ),
        ({"shipping": [{"countries": ["DE"], "cost_cents": -1}]}, "invalid_shipping_cost"),
        ({"shipping": [{"countries": ["DE"], "cost_cents": 10**15}]}, "invalid_shipping_cost"),
        ({"shipping": _rates(21)}, "too_many_rates"),
        ({"pickup_town": "   "}, "invalid_pickup_town"),
        ({"pickup_town": "x" * 81}, "invalid_pickup_town"),
        ({"pickup_town": "Leip\tzig"}, "invalid_pickup_town"),
    ],
)
async def test_a_delivery_nobody_could_use_is_refused_with_its_code(
    http: httpx.AsyncClient, delivery: dict[str, Any], code: str
) -> None:
    sam = await seller(http)
    response = await http.post(
        "/api/v1/auctions", json=lot_body(delivery=delivery), headers=sam.headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(
    "delivery",
    [
        {"shipping": [{"countries": ["DE"], "cost_cents": "5"}]},
        {"shipping": [{"countries": ["DE"], "cost_cents": 1.5}]},
        {"shipping": [{"countries": "DE", "cost_cents": 5}]},
        {"buyer_arranges": "yes"},
        {"pickup_town": 5},
        {"by_pigeon": True},
        {"shipping": [{"countries": ["DE"] * 1_001, "cost_cents": 1}]},
        "pickup",
    ],
)
async def test_a_delivery_of_the_wrong_shape_is_a_validation_error(
    http: httpx.AsyncClient, delivery: Any
) -> None:
    sam = await seller(http)
    response = await http.post(
        "/api/v1/auctions", json=lot_body(delivery=delivery), headers=sam.headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


async def test_delivery_changes_until_the_first_bid(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, bea = await seller(http), await sign_up(http, name="Bea")
    lot = await open_lot(http, sam, reserve_cents=None, buy_now_cents=None)
    path = f"/api/v1/auctions/{lot['id']}"
    pickup = {"shipping": [], "buyer_arranges": False, "pickup_town": "Leipzig"}
    edited = await http.patch(path, json={"delivery": pickup}, headers=sam.headers)
    assert edited.status_code == 200, edited.text
    assert edited.json()["auction"]["delivery"] == pickup
    [event] = await outbox(platform, "AuctionEdited")
    assert event["delivery"] == pickup
    # The same rules as a new listing; null is no delivery at all.
    nothing = await http.patch(
        path, json={"delivery": {"buyer_arranges": False}}, headers=sam.headers
    )
    assert (nothing.status_code, nothing.json()["error"]["code"]) == (422, "no_delivery")
    nulled = await http.patch(path, json={"delivery": None}, headers=sam.headers)
    assert (nulled.status_code, nulled.json()["error"]["code"]) == (422, "validation_error")

    await place_bid(http, lot["id"], bea, 20_000)
    late = await http.patch(path, json={"delivery": DELIVERY}, headers=sam.headers)
    assert (late.status_code, late.json()["error"]["code"]) == (409, "has_bids")
    assert (await http.get(path)).json()["auction"]["delivery"] == pickup


def _upgrade_to(connection: Connection, revision: str) -> None:
    config = Config()
    location = files("auction_platform.services") / "auction" / "migrations"
    config.set_main_option("script_location", str(location))
    config.attributes.update(service="auction", connection=connection)
    command.upgrade(config, revision)


def _columns_of(connection: Connection, table: str) -> set[str]:
    return {column["name"] for column in inspect(connection).get_columns(table)}


async def test_lots_listed_before_0005_let_the_buyer_arrange(database_url: str) -> None:
    now = datetime.now(UTC)
    terms = plain_terms(now + timedelta(hours=1), now + timedelta(days=1))
    lot = Lot("old", "s", terms, Status.DRAFT, 100, terms.ends_at, now, now)
    db = Database(database_url)
    try:
        async with db.engine.connect() as conn:
            await conn.run_sync(_upgrade_to, "0004")
            await conn.commit()
            present = await conn.run_sync(_columns_of, store.lots.name)
        # The row as 0004 stores it: without delivery, nor any column added since.
        row = {k: v for k, v in store._columns(lot).items() if k in present}
        assert "delivery" not in row
        async with db.transaction() as conn:
            await conn.execute(store.lots.insert().values(id=lot.id, **row))
        await migrate(db, "auction")
        current, head = await revision_status(db, "auction")
        assert current == head
        async with db.read() as conn:
            found = await store.lot_by_id(conn, "old")
        assert found is not None
        assert found.terms.delivery == delivery.DEFAULT
    finally:
        await db.dispose()
