"""Sealed-bid, Vickrey and Dutch auctions through the public API, in both modes.

Lots are listed, bid on and closed through the gateway as a client would; sealed bids
are looked for in every answer a reader gets before the close (the book, the bid
answers and refusals, the history, the lot, the catalogue, search, a bidder's lots and
the live feed), and the sale reaches payment and analytics with its format.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from auction_platform.composition import Platform
from conftest import MakeSettings
from support.accounts import Account, sign_up_all
from support.auctions import admin_token, lot_body, open_lot, seller
from support.http_server import serving
from support.platforms import running
from support.waiting import PATIENCE, eventually

ALL = ("identity", "auction", "bidding", "payment", "notification", "analytics", "gateway")

START = 10_000
# Long enough for a busy machine to place every bid and read every answer before the
# close; the tests wait for the close, they never time it.
SEALED_SECONDS = 25
CLOSE_PATIENCE = 120.0


@pytest.fixture
async def platform(make_settings: MakeSettings) -> AsyncIterator[Platform]:
    """Every service; the closer looks often, so a lot closes soon after its end."""
    async with running(make_settings(closer_interval_seconds=0.1), ALL, embedded=True) as started:
        yield started


# --- helpers ------------------------------------------------------------------------------


def tag() -> str:
    """A word no other lot's title has (to find the lot in search)."""
    return "lot" + uuid.uuid4().hex[:10]


async def listed(
    http: httpx.AsyncClient, owner: Account, fmt: str, *, seconds: int, **overrides: Any
) -> dict[str, Any]:
    """An open lot of this format running ``seconds`` from its start, its book made."""
    terms: dict[str, Any] = {
        "format": fmt,
        "start_cents": START,
        "reserve_cents": None,
        "buy_now_cents": None,
        "ends_at": None,
        "duration_seconds": seconds,
        **overrides,
    }
    return await open_lot(http, owner, **terms)


async def bid(http: httpx.AsyncClient, lot_id: str, who: Account, cents: int) -> httpx.Response:
    return await http.post(
        f"/api/v1/auctions/{lot_id}/bids", json={"max_amount_cents": cents}, headers=who.headers
    )


async def accepted(http: httpx.AsyncClient, lot_id: str, who: Account, cents: int) -> str:
    """A bid that must be accepted; its answer's text."""
    answer = await bid(http, lot_id, who, cents)
    assert answer.status_code == 201, answer.text
    return answer.text


async def book(http: httpx.AsyncClient, lot_id: str, who: Account | None = None) -> httpx.Response:
    headers = who.headers if who is not None else {}
    answer = await http.get(f"/api/v1/auctions/{lot_id}/book", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer


async def closed_book(http: httpx.AsyncClient, lot_id: str) -> dict[str, Any]:
    """The book once the closer (or an acceptance) has closed it."""

    async def closed() -> dict[str, Any]:
        found: dict[str, Any] = (await book(http, lot_id)).json()
        return found if found["status"] == "closed" else {}

    return await eventually(closed, timeout=CLOSE_PATIENCE, interval=0.2)


async def closed_lot(http: httpx.AsyncClient, lot_id: str, owner: Account) -> dict[str, Any]:
    """The lot as its seller sees it, once the auction service has recorded the result."""

    async def recorded() -> dict[str, Any]:
        answer = await http.get(f"/api/v1/auctions/{lot_id}", headers=owner.headers)
        lot: dict[str, Any] = answer.json()["auction"]
        return lot if lot["status"] == "closed" else {}

    return await eventually(recorded, timeout=CLOSE_PATIENCE, interval=0.2)


async def order_of(http: httpx.AsyncClient, buyer: Account, lot_id: str) -> dict[str, Any]:
    """The buyer's order for the lot, once payment has made it."""

    async def made() -> dict[str, Any]:
        answer = await http.get("/api/v1/orders?role=buyer", headers=buyer.headers)
        assert answer.status_code == 200, answer.text
        return next((o for o in answer.json()["items"] if o["auction_id"] == lot_id), {})

    return await eventually(made)


async def orders_of(http: httpx.AsyncClient, lot_id: str, *people: Account) -> list[Any]:
    """Every order of the lot among these people's purchases."""
    found = []
    for who in people:
        answer = await http.get("/api/v1/orders?role=buyer", headers=who.headers)
        found += [o for o in answer.json()["items"] if o["auction_id"] == lot_id]
    return found


async def analytics_event(
    http: httpx.AsyncClient, admin: dict[str, str], event_type: str, lot_id: str
) -> dict[str, Any]:
    """The data of the lot's event of this type as analytics stored it."""

    async def stored() -> dict[str, Any]:
        answer = await http.get(
            "/api/v1/analytics/events", params={"type": event_type, "limit": 500}, headers=admin
        )
        assert answer.status_code == 200, answer.text
        items = answer.json()["items"]
        return next((e["data"] for e in items if e["data"].get("auction_id") == lot_id), {})

    return await eventually(stored)


def amounts_in(text: str, amounts: set[int]) -> set[int]:
    """Which of ``amounts`` appear in ``text`` as a whole number."""
    return {a for a in amounts if re.search(rf"(?<![0-9A-Za-z]){a}(?![0-9A-Za-z])", text)}


# --- listing ------------------------------------------------------------------------------


async def test_a_listing_is_an_english_auction_unless_it_names_another_format(
    http: httpx.AsyncClient,
) -> None:
    sam = await seller(http)
    english = await http.post("/api/v1/auctions", json=lot_body(), headers=sam.headers)
    assert english.status_code == 201, english.text
    lot = english.json()["auction"]
    assert (lot["format"], lot["dutch"]) == ("english", None)
    assert lot["soft_close"] is not None  # the default soft close
    for fmt in ("sealed_first_price", "sealed_second_price"):
        body = lot_body(format=fmt, buy_now_cents=None)
        sealed = await http.post("/api/v1/auctions", json=body, headers=sam.headers)
        assert sealed.status_code == 201, sealed.text
        assert sealed.json()["auction"]["format"] == fmt
        assert sealed.json()["auction"]["soft_close"] is None  # none unless sent: none allowed
        assert sealed.json()["auction"]["reserve_cents"] == 50_000  # a reserve applies
    clock = {"floor_cents": 2_000, "step_cents": 500, "tick_seconds": 60}
    body = lot_body(format="dutch", dutch=clock, reserve_cents=None, buy_now_cents=None)
    dutch = await http.post("/api/v1/auctions", json=body, headers=sam.headers)
    assert dutch.status_code == 201, dutch.text
    assert (dutch.json()["auction"]["format"], dutch.json()["auction"]["dutch"]) == (
        "dutch",
        clock,
    )


CLOCK = {"floor_cents": 2_000, "step_cents": 500, "tick_seconds": 60}


@pytest.mark.parametrize(
    ("terms", "code"),
    [
        ({"format": "sealed_first_price"}, "buy_now_not_offered"),
        ({"format": "dutch", "dutch": CLOCK, "reserve_cents": None}, "buy_now_not_offered"),
        (
            {
                "format": "sealed_second_price",
                "buy_now_cents": None,
                "soft_close": {"window_seconds": 60, "extend_seconds": 60, "max_extensions": 3},
            },
            "soft_close_not_offered",
        ),
        ({"format": "dutch", "dutch": CLOCK, "buy_now_cents": None}, "reserve_not_offered"),
        ({"format": "dutch", "reserve_cents": None, "buy_now_cents": None}, "dutch_clock_required"),
        ({"dutch": CLOCK}, "dutch_clock_not_offered"),
        (
            {"format": "sealed_first_price", "buy_now_cents": None, "dutch": CLOCK},
            ("dutch_clock_not_offered"),
        ),
        *(
            (
                {
                    "format": "dutch",
                    "reserve_cents": None,
                    "buy_now_cents": None,
                    "dutch": {**CLOCK, **clock},
                },
                code,
            )
            for clock, code in (
                ({"floor_cents": START}, "invalid_dutch_floor"),
                ({"floor_cents": 0}, "invalid_dutch_floor"),
                ({"step_cents": 0}, "invalid_dutch_step"),
                ({"tick_seconds": 9}, "invalid_dutch_tick"),
                ({"tick_seconds": 86_401}, "invalid_dutch_tick"),
            )
        ),
        ({"format": "japanese"}, "validation_error"),
    ],
)
async def test_a_listing_a_format_does_not_take_is_refused_with_the_rules_code(
    http: httpx.AsyncClient, terms: dict[str, Any], code: str
) -> None:
    sam = await seller(http)
    body = lot_body(start_cents=START, **terms)
    refused = await http.post("/api/v1/auctions", json=body, headers=sam.headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == code


async def test_an_open_lot_changes_its_format_until_its_first_bid_and_the_book_follows(
    http: httpx.AsyncClient,
) -> None:
    sam = await seller(http)
    [ann] = await sign_up_all(http, "Ann")
    lot = await listed(http, sam, "sealed_first_price", seconds=3_600)
    path = f"/api/v1/auctions/{lot['id']}"
    assert (await book(http, lot["id"])).json()["format"] == "sealed_first_price"

    to_dutch = await http.patch(path, json={"format": "dutch", "dutch": CLOCK}, headers=sam.headers)
    assert to_dutch.status_code == 200, to_dutch.text
    assert (to_dutch.json()["auction"]["format"], to_dutch.json()["auction"]["dutch"]) == (
        "dutch",
        CLOCK,
    )
    dutch = (await book(http, lot["id"])).json()
    assert dutch["format"] == "dutch"
    assert (dutch["dutch"]["floor_cents"], dutch["dutch"]["step_cents"]) == (2_000, 500)

    # Back to English: the default soft close comes back, the clock goes.
    to_english = await http.patch(path, json={"format": "english"}, headers=sam.headers)
    assert to_english.status_code == 200, to_english.text
    assert to_english.json()["auction"]["soft_close"] is not None
    assert to_english.json()["auction"]["dutch"] is None
    english = (await book(http, lot["id"])).json()
    assert (english["format"], english["dutch"]) == ("english", None)

    await accepted(http, lot["id"], ann, 20_000)
    too_late = await http.patch(path, json={"format": "sealed_first_price"}, headers=sam.headers)
    assert too_late.status_code == 409
    assert too_late.json()["error"]["code"] == "has_bids"


# --- sealed bids, first price ---------------------------------------------------------------


async def test_sealed_bids_stay_hidden_until_the_close_then_the_highest_earliest_pays_its_bid(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam = await seller(http)
    ann, bob, cy = await sign_up_all(http, "Ann", "Bob", "Cy")
    word = tag()
    lot = await listed(
        http, sam, "sealed_first_price", seconds=SEALED_SECONDS, title=f"Sealed teapot {word}"
    )
    lot_id = lot["id"]
    own = {ann.id: {12_345, 15_555}, bob.id: {23_456}, cy.id: {17_777, 23_456}}
    every = set().union(*own.values())
    seen: dict[str | None, list[str]] = {None: [], ann.id: [], bob.id: [], cy.id: []}

    # Bids: Cy's raise ties Bob's bid, later; Ann raises too.
    for who, cents in ((ann, 12_345), (bob, 23_456), (cy, 17_777), (ann, 15_555), (cy, 23_456)):
        answer = await bid(http, lot_id, who, cents)
        assert answer.status_code == 201, answer.text
        assert answer.json()["leading"] is None
        assert (answer.json()["price_cents"], answer.json()["leader"]) == (START, None)
        seen[who.id].append(answer.text)
    # A sealed bid is raised, never lowered or repeated; the refusal tells nothing either.
    for cents in (20_000, 23_456):
        refused = await bid(http, lot_id, bob, cents)
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "sealed_bid_not_raised"
        assert (error["details"]["price_cents"], error["details"]["leader"]) == (START, None)
        seen[bob.id].append(refused.text)
    cannot_withdraw = await http.post(
        f"/api/v1/auctions/{lot_id}/retractions", json={"seq": 2}, headers=bob.headers
    )
    assert cannot_withdraw.status_code == 409
    assert cannot_withdraw.json()["error"]["code"] == "sealed_bid_final"

    # The book, to anyone and to each bidder: the count, the start price, nobody leading.
    anonymous = await book(http, lot_id)
    assert anonymous.json()["format"] == "sealed_first_price"
    assert (anonymous.json()["price_cents"], anonymous.json()["leader"]) == (START, None)
    assert anonymous.json()["bid_count"] == 5
    seen[None].append(anonymous.text)
    for who in (ann, bob, cy):
        mine = await book(http, lot_id, who)
        assert mine.json()["you"]["leading"] is None
        assert mine.json()["you"]["max_cents"] == max(own[who.id])
        seen[who.id].append(mine.text)
    # The history is empty until the close.
    history = await http.get(f"/api/v1/auctions/{lot_id}/bids")
    assert history.json()["bids"] == []
    seen[None].append(history.text)

    # The lot, to anyone and to its seller; the catalogue.
    async def lot_knows_every_bid() -> httpx.Response | None:
        answer = await http.get(f"/api/v1/auctions/{lot_id}", headers=sam.headers)
        return answer if answer.json()["auction"]["bid_count"] == 5 else None

    to_seller = await eventually(lot_knows_every_bid)
    seller_view = to_seller.json()["auction"]
    assert (seller_view["current_price_cents"], seller_view["leader_id"]) == (START, None)
    assert seller_view["viewer"]["is_leading"] is False
    public_lot = await http.get(f"/api/v1/auctions/{lot_id}")
    assert public_lot.json()["auction"]["current_price_cents"] == START
    catalogue = await http.get("/api/v1/auctions", params={"limit": 100})
    seen[None] += [to_seller.text, public_lot.text, catalogue.text]

    # Search, once it has counted every bid.
    async def searched() -> httpx.Response | None:
        answer = await http.get("/api/v1/search/auctions", params={"q": word})
        hits = answer.json()["items"]
        return answer if hits and hits[0]["bid_count"] == 5 else None

    search = await eventually(searched)
    assert search.json()["items"][0]["current_price_cents"] == START
    seen[None].append(search.text)

    # Each bidder's lots: a sealed standing, at the start price.
    for who in (ann, bob, cy):
        lots = await http.get("/api/v1/bids", headers=who.headers)
        [item] = [i for i in lots.json()["items"] if i["auction_id"] == lot_id]
        assert (item["standing"], item["price_cents"]) == ("sealed", START)
        assert item["your_max_cents"] == max(own[who.id])
        seen[who.id].append(lots.text)

    # No answer shows an amount its reader did not bid.
    leaks = {
        reader: found
        for reader, texts in seen.items()
        if (found := amounts_in("\n".join(texts), every - own.get(reader or "", set())))
    }
    assert leaks == {}

    # The close: Bob's 234.56 ties Cy's raise and came first; he pays his bid.
    after = await closed_book(http, lot_id)
    assert after["price_cents"] == 23_456
    assert (await book(http, lot_id, bob)).json()["you"]["leading"] is True
    assert (await book(http, lot_id, cy)).json()["you"]["leading"] is False
    result = await closed_lot(http, lot_id, sam)
    assert (result["outcome"], result["winner_id"], result["final_price_cents"]) == (
        "sold",
        bob.id,
        23_456,
    )
    order = await order_of(http, bob, lot_id)
    assert (order["hammer_cents"], order["format"]) == (23_456, "sealed_first_price")
    revealed = (await http.get(f"/api/v1/auctions/{lot_id}/bids")).json()["bids"]
    assert [b["amount_cents"] for b in revealed] == [12_345, 23_456, 17_777, 15_555, 23_456]
    assert [b["seq"] for b in revealed] == [1, 2, 3, 4, 5]
    names = {b["bidder"] for b in revealed}
    assert len(names) == 3 and ann.id not in json.dumps(revealed)
    mine = await http.get("/api/v1/bids", headers=bob.headers)
    [standing] = [i for i in mine.json()["items"] if i["auction_id"] == lot_id]
    assert (standing["standing"], standing["price_cents"]) == ("won", 23_456)

    # The format travels with the sale: analytics stored AuctionClosed with it.
    admin = await admin_token(http, platform)
    closed = await analytics_event(http, admin, "AuctionClosed", lot_id)
    assert (closed["format"], closed["winner_id"], closed["price_cents"]) == (
        "sealed_first_price",
        bob.id,
        23_456,
    )
    placed = await analytics_event(http, admin, "BidPlaced", lot_id)
    assert (placed["format"], placed["price_cents"], placed["leader_id"]) == (
        "sealed_first_price",
        START,
        None,
    )


async def test_a_suspended_leaders_sealed_bid_goes_without_telling_who_leads_the_others(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam = await seller(http)
    ann, bob, cy = await sign_up_all(http, "Ann", "Bob", "Cy")
    word = tag()
    lot = await listed(http, sam, "sealed_first_price", seconds=3_600, title=f"Sealed clock {word}")
    for who, cents in ((ann, 12_121), (bob, 34_567), (cy, 22_222)):
        await accepted(http, lot["id"], who, cents)
    admin = await admin_token(http, platform)
    suspended = await http.post(
        f"/api/v1/users/{bob.id}/suspension", json={"reason": "Shill bidding"}, headers=admin
    )
    assert suspended.status_code == 201, suspended.text

    async def withdrawn() -> dict[str, Any]:
        found: dict[str, Any] = (await book(http, lot["id"])).json()
        return found if found["bid_count"] == 2 else {}

    after = await eventually(withdrawn)
    assert (after["price_cents"], after["leader"]) == (START, None)
    retracted = await analytics_event(http, admin, "BidRetracted", lot["id"])
    assert (retracted["price_cents"], retracted["leader_id"], retracted["bid_count"]) == (
        START,
        None,
        2,
    )

    async def lot_counts_two() -> dict[str, Any]:
        answer = await http.get(f"/api/v1/auctions/{lot['id']}", headers=sam.headers)
        found: dict[str, Any] = answer.json()["auction"]
        return found if found["bid_count"] == 2 else {}

    to_seller = await eventually(lot_counts_two)
    assert (to_seller["current_price_cents"], to_seller["leader_id"]) == (START, None)

    async def search_counts_two() -> dict[str, Any]:
        answer = await http.get("/api/v1/search/auctions", params={"q": word})
        hits: list[dict[str, Any]] = answer.json()["items"]
        return hits[0] if hits and hits[0]["bid_count"] == 2 else {}

    assert (await eventually(search_counts_two))["current_price_cents"] == START


# --- Vickrey --------------------------------------------------------------------------------


async def test_vickrey_pays_the_second_bid_the_start_alone_the_reserve_above_it_none_below(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam = await seller(http)
    ann, bob, cy = await sign_up_all(http, "Ann", "Bob", "Cy")
    fmt = "sealed_second_price"
    three, alone, reserve_above, reserve_missed = await asyncio.gather(
        listed(http, sam, fmt, seconds=SEALED_SECONDS),
        listed(http, sam, fmt, seconds=SEALED_SECONDS),
        listed(http, sam, fmt, seconds=SEALED_SECONDS, reserve_cents=25_000),
        listed(http, sam, fmt, seconds=SEALED_SECONDS, reserve_cents=25_000),
    )
    for lot, bids in (
        (three, ((ann, 15_000), (bob, 21_000), (cy, 18_000))),
        (alone, ((ann, 30_000),)),
        (reserve_above, ((ann, 30_000), (bob, 20_000))),
        (reserve_missed, ((ann, 22_000), (bob, 20_000))),
    ):
        for who, cents in bids:
            await accepted(http, lot["id"], who, cents)
        hidden = (await book(http, lot["id"])).json()
        assert (hidden["price_cents"], hidden["leader"], hidden["reserve_met"]) == (
            START,
            None,
            None,
        )

    for lot, winner, price in (
        (three, bob, 18_000),  # the second-highest bid
        (alone, ann, START),  # a single bidder pays the start price
        (reserve_above, ann, 25_000),  # the reserve, met and above the second bid
    ):
        result = await closed_lot(http, lot["id"], sam)
        assert (result["outcome"], result["winner_id"], result["final_price_cents"]) == (
            "sold",
            winner.id,
            price,
        )
        order = await order_of(http, winner, lot["id"])
        assert (order["hammer_cents"], order["format"]) == (price, "sealed_second_price")
    missed = await closed_lot(http, reserve_missed["id"], sam)
    assert (missed["outcome"], missed["winner_id"]) == ("unsold", None)
    assert (await closed_book(http, reserve_missed["id"]))["reserve_met"] is False
    assert await orders_of(http, reserve_missed["id"], ann, bob) == []
    admin = await admin_token(http, platform)
    closed = await analytics_event(http, admin, "AuctionClosed", three["id"])
    assert (closed["format"], closed["price_cents"]) == (fmt, 18_000)


# --- Dutch ----------------------------------------------------------------------------------

DUTCH_CLOCK = {"floor_cents": 4_000, "step_cents": 1_000, "tick_seconds": 10}


def clock_price(book_view: dict[str, Any]) -> int:
    """A Dutch book's price at its ``server_time``, from its clock."""
    clock = book_view["dutch"]
    elapsed = datetime.fromisoformat(book_view["server_time"]) - datetime.fromisoformat(
        clock["starts_at"]
    )
    ticks = max(0, elapsed // timedelta(seconds=clock["tick_seconds"]))
    return int(max(clock["floor_cents"], clock["start_cents"] - ticks * clock["step_cents"]))


async def test_a_dutch_price_falls_the_first_acceptance_buys_at_it_and_none_leaves_it_unsold(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam = await seller(http)
    ann, bob = await sign_up_all(http, "Ann", "Bob")
    word = tag()
    lot, nobody = await asyncio.gather(
        listed(http, sam, "dutch", seconds=600, dutch=DUTCH_CLOCK, title=f"Copper pan {word}"),
        listed(http, sam, "dutch", seconds=3, dutch=DUTCH_CLOCK),
    )
    lot_id = lot["id"]
    assert lot["dutch"] == DUTCH_CLOCK

    first = (await book(http, lot_id)).json()
    assert first["format"] == "dutch"
    assert first["dutch"]["start_cents"] == START
    assert first["price_cents"] == clock_price(first)
    assert first["dutch"]["next_drop_at"] is not None
    refused = await bid(http, lot_id, ann, 50_000)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "dutch_accept_only"

    async def fallen() -> dict[str, Any]:
        now: dict[str, Any] = (await book(http, lot_id)).json()
        return now if now["price_cents"] < first["price_cents"] else {}

    later = await eventually(fallen, timeout=60, interval=0.5)  # a tick is 10 s
    assert later["price_cents"] == clock_price(later)
    assert (first["price_cents"] - later["price_cents"]) % DUTCH_CLOCK["step_cents"] == 0
    assert later["price_cents"] >= DUTCH_CLOCK["floor_cents"]
    # The lot, alone and in the list, shows the clock's price, not the price it was listed at.
    alone = (await http.get(f"/api/v1/auctions/{lot_id}")).json()["auction"]
    mine = (await http.get("/api/v1/auctions/mine", headers=sam.headers)).json()["items"]
    [in_list] = [item for item in mine if item["id"] == lot_id]

    async def indexed() -> dict[str, Any]:
        answer = await http.get("/api/v1/search/auctions", params={"q": word})
        hits = answer.json()["items"]
        return hits[0] if hits and hits[0]["status"] == "open" else {}

    found = await eventually(indexed)
    prices = (alone["current_price_cents"], in_list["current_price_cents"])
    for shown in (*prices, found["current_price_cents"]):
        assert shown <= later["price_cents"] < START
        assert (START - shown) % DUTCH_CLOCK["step_cents"] == 0

    # Two accept at once: the book takes one, the other finds the lot sold.
    answers = await asyncio.gather(
        *(
            http.post(f"/api/v1/auctions/{lot_id}/buy-now", headers=who.headers)
            for who in (ann, bob)
        )
    )
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    [won] = [a for a in answers if a.status_code == 201]
    [lost] = [a for a in answers if a.status_code == 409]
    assert lost.json()["error"]["code"] == "auction_ended"
    winner = ann if answers[0] is won else bob
    price = won.json()["price_cents"]
    assert DUTCH_CLOCK["floor_cents"] <= price <= later["price_cents"]
    assert (START - price) % DUTCH_CLOCK["step_cents"] == 0  # a price of the clock
    assert won.json()["status"] == "closed"

    result = await closed_lot(http, lot_id, sam)
    assert (result["outcome"], result["winner_id"], result["final_price_cents"]) == (
        "sold",
        winner.id,
        price,
    )
    order = await order_of(http, winner, lot_id)
    assert (order["hammer_cents"], order["format"]) == (price, "dutch")
    history = (await http.get(f"/api/v1/auctions/{lot_id}/bids")).json()["bids"]
    assert [b["price_cents"] for b in history] == [price]  # the acceptance, in the ledger

    unsold = await closed_lot(http, nobody["id"], sam)
    assert (unsold["outcome"], unsold["winner_id"], unsold["final_price_cents"]) == (
        "unsold",
        None,
        None,
    )
    assert await orders_of(http, nobody["id"], ann, bob) == []

    admin = await admin_token(http, platform)
    used = await analytics_event(http, admin, "BuyNowUsed", lot_id)
    closed = await analytics_event(http, admin, "AuctionClosed", lot_id)
    assert (used["format"], used["price_cents"]) == ("dutch", price)
    assert (closed["format"], closed["by_buy_now"], closed["winner_id"]) == (
        "dutch",
        True,
        winner.id,
    )


# --- the live feed --------------------------------------------------------------------------


async def test_a_watcher_of_a_sealed_auction_sees_the_count_grow_and_never_a_price_or_a_leader(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam = await seller(http)
    ann, bob, cy = await sign_up_all(http, "Ann", "Bob", "Cy")
    lot = await listed(http, sam, "sealed_first_price", seconds=3_600)
    amounts = {31_111, 42_222, 53_333}
    async with serving(platform.apps["gateway"]) as url:
        ws_url = url.replace("http://", "ws://") + f"/ws/auctions/{lot['id']}"
        async with connect(ws_url) as feed:
            snapshot = json.loads(await asyncio.wait_for(feed.recv(), timeout=PATIENCE))
            assert (snapshot["format"], snapshot["price_cents"], snapshot["leader"]) == (
                "sealed_first_price",
                START,
                None,
            )
            updates = []
            for who, cents in ((ann, 31_111), (bob, 53_333), (cy, 42_222)):
                await accepted(http, lot["id"], who, cents)
                message = await asyncio.wait_for(feed.recv(), timeout=PATIENCE)
                assert amounts_in(str(message), amounts) == set()
                updates.append(json.loads(message))
    assert [(u["price_cents"], u["leader"], u["reserve_met"]) for u in updates] == [
        (START, None, None)
    ] * 3
    assert [u["bid_count"] for u in updates] == [1, 2, 3]
    assert [u["version"] for u in updates] == sorted({u["version"] for u in updates})
