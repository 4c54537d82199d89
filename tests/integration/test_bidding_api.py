"""Bids through the gateway: answers, refusals, idempotency, Buy It Now, closing, history."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from auction_platform.composition import Platform
from auction_platform.services.bidding import store
from auction_platform.settings import Settings
from support.accounts import Account, sign_up, sign_up_all
from support.auctions import open_lot, seller
from support.books import auction_rules, open_book
from support.platforms import client, distributed_settings, embedded_settings, running
from support.waiting import eventually

ALL = ("identity", "auction", "bidding", "payment", "notification", "analytics", "gateway")


@pytest.fixture(params=["embedded", "distributed"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "embedded":
        return embedded_settings(tmp_path, closer_interval_seconds=0.05)
    return distributed_settings(
        postgres_url=request.getfixturevalue("postgres_url"),
        redis_url=request.getfixturevalue("redis_url"),
        rabbitmq_url="memory://",
        closer_interval_seconds=0.05,
    )


@pytest.fixture
async def platform(settings: Settings) -> AsyncIterator[Platform]:
    async with running(settings, ALL, embedded=True) as started:
        yield started


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with client(platform.apps["gateway"]) as gateway:
        yield gateway


async def bid(
    http: httpx.AsyncClient, auction_id: str, who: Account, cents: int, key: str | None = None
) -> httpx.Response:
    headers = dict(who.headers)
    if key:
        headers["Idempotency-Key"] = key
    return await http.post(
        f"/api/v1/auctions/{auction_id}/bids", json={"max_amount_cents": cents}, headers=headers
    )


async def outbox(platform: Platform, event_type: str) -> list[dict[str, Any]]:
    runtime = platform.runtimes["bidding"]
    assert runtime.db is not None
    assert runtime.definition.tables is not None
    table = runtime.definition.tables.outbox
    async with runtime.db.read() as conn:
        rows = await conn.execute(select(table.c.payload).where(table.c.event_type == event_type))
        return [json.loads(r.payload)["data"] for r in rows]


async def ledger(platform: Platform, auction_id: str) -> list[Any]:
    db = platform.runtimes["bidding"].db
    assert db is not None
    async with db.read() as conn:
        return await store.ledger(conn, auction_id)


async def test_the_first_bid_holds_the_start_price_and_the_second_sets_the_price(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    seller, ann, bob = await sign_up_all(http, "Sam", "Ann", "Bob")
    auction = await open_book(platform, auction_rules(seller.id, start_cents=100))

    first = await bid(http, auction, ann, 150)
    assert first.status_code == 201
    body = first.json()
    assert body["accepted"] is True
    assert body["price_cents"] == 100
    assert body["leading"] is True
    assert body["your_max_cents"] == 150
    assert body["seq"] == 1
    assert body["min_next_bid_cents"] == 125
    assert "server_time" in body
    assert "ends_at" in body

    second = await bid(http, auction, bob, 200)
    assert second.json()["price_cents"] == 175  # 150 + increment(150) = 175 < 200
    assert second.json()["leading"] is True
    [outbid] = await outbox(platform, "Outbid")
    assert outbid["user_id"] == ann.id
    assert outbid["price_cents"] == 175
    assert len(await outbox(platform, "BidPlaced")) == 2


async def test_a_bid_below_the_minimum_is_refused_with_the_minimum(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    seller, ann = await sign_up(http, name="Sam"), await sign_up(http, name="Ann")
    auction = await open_book(platform, auction_rules(seller.id, start_cents=1000))
    response = await bid(http, auction, ann, 999)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "below_minimum"
    assert error["details"]["min_next_bid_cents"] == 1000
    assert await ledger(platform, auction) == []


async def test_the_seller_cannot_bid(http: httpx.AsyncClient, platform: Platform) -> None:
    seller = await sign_up(http, name="Sam")
    auction = await open_book(platform, auction_rules(seller.id))
    response = await bid(http, auction, seller, 500)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "seller_cannot_bid"


async def test_bidding_needs_a_signed_in_person(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    seller = await sign_up(http, name="Sam")
    auction = await open_book(platform, auction_rules(seller.id))
    response = await http.post(f"/api/v1/auctions/{auction}/bids", json={"max_amount_cents": 500})
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"max_amount_cents": "500"},
        {"max_amount_cents": -5},
        {"max_amount_cents": 1.5},
        {"max_amount_cents": None},
        {"max_amount": "500"},
        {},
        {"max": 5},
        {"max_amount_cents": 500, "max_amount": 500},  # one name, not both
        {"max_amount_cents": 500, "max_amount": None},
    ],
)
async def test_malformed_bids_are_422(
    http: httpx.AsyncClient, platform: Platform, body: dict[str, Any]
) -> None:
    seller, ann = await sign_up(http, name="Sam"), await sign_up(http, name="Ann")
    auction = await open_book(platform, auction_rules(seller.id))
    response = await http.post(f"/api/v1/auctions/{auction}/bids", json=body, headers=ann.headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_the_same_idempotency_key_gives_the_first_answer_again(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    seller, ann = await sign_up(http, name="Sam"), await sign_up(http, name="Ann")
    auction = await open_book(platform, auction_rules(seller.id))
    first = await bid(http, auction, ann, 500, key="k-1")
    again = await bid(http, auction, ann, 500, key="k-1")
    assert again.status_code == first.status_code == 201
    assert again.json()["seq"] == first.json()["seq"] == 1
    assert len(await ledger(platform, auction)) == 1
    other_body = await bid(http, auction, ann, 900, key="k-1")
    assert other_body.status_code == 422
    assert other_body.json()["error"]["code"] == "idempotency_key_reused"


async def test_buy_now_closes_the_auction_and_later_bids_are_refused(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    seller, ann, bob = await sign_up_all(http, "Sam", "Ann", "Bob")
    auction = await open_book(platform, auction_rules(seller.id, buy_now_cents=5000))
    bought = await http.post(f"/api/v1/auctions/{auction}/buy-now", headers=ann.headers)
    assert bought.status_code == 201
    assert bought.json()["price_cents"] == 5000
    [closed] = await outbox(platform, "AuctionClosed")
    assert closed["winner_id"] == ann.id
    assert closed["by_buy_now"] is True
    assert closed["sold"] is True
    late = await bid(http, auction, bob, 9000)
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "auction_ended"


async def test_buy_now_is_gone_after_the_first_bid(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    seller, ann, bob = await sign_up_all(http, "Sam", "Ann", "Bob")
    auction = await open_book(platform, auction_rules(seller.id, buy_now_cents=5000))
    await bid(http, auction, ann, 200)
    response = await http.post(f"/api/v1/auctions/{auction}/buy-now", headers=bob.headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "buy_now_unavailable"


async def test_the_closer_closes_an_auction_at_its_end_exactly_once(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    seller, ann = await sign_up(http, name="Sam"), await sign_up(http, name="Ann")
    auction = await open_book(
        platform, auction_rules(seller.id, start_cents=100, lasts=timedelta(seconds=1))
    )
    await bid(http, auction, ann, 300)
    [closed] = await eventually(lambda: outbox(platform, "AuctionClosed"))
    assert closed["auction_id"] == auction
    assert closed["winner_id"] == ann.id
    assert closed["price_cents"] == 100
    book = (await http.get(f"/api/v1/auctions/{auction}/book")).json()
    assert book["status"] == "closed"
    assert len(await outbox(platform, "AuctionClosed")) == 1


async def test_a_bid_in_the_soft_close_window_extends_the_auction(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    seller, ann = await sign_up(http, name="Sam"), await sign_up(http, name="Ann")
    soft = {"window_seconds": 120, "extend_seconds": 60, "max_extensions": 10}
    rules = auction_rules(seller.id, lasts=timedelta(seconds=30), soft_close=soft)
    auction = await open_book(platform, rules)
    response = await bid(http, auction, ann, 300)
    assert response.json()["ends_at"] > rules["ends_at"]
    [extended] = await outbox(platform, "AuctionExtended")
    assert extended["extensions"] == 1


async def test_the_public_history_never_shows_maximums_or_identities(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    seller, ann, bob = await sign_up_all(http, "Sam", "Ann", "Bob")
    auction = await open_book(platform, auction_rules(seller.id))
    await bid(http, auction, ann, 7777)
    await bid(http, auction, bob, 300)
    history = await http.get(f"/api/v1/auctions/{auction}/bids")
    text = history.text
    assert "7777" not in text
    assert ann.id not in text
    assert bob.id not in text
    steps = history.json()["bids"]
    assert [s["price_cents"] for s in steps] == [100, 325]
    assert steps[0]["bidder"].startswith("bidder-")
    book = (await http.get(f"/api/v1/auctions/{auction}/book", headers=ann.headers)).json()
    assert book["you"] == {"leading": True, "max_cents": 7777, "bids": [1]}


async def test_a_bid_can_be_retracted_early_and_the_book_is_replayed(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    seller, ann, bob = await sign_up_all(http, "Sam", "Ann", "Bob")
    auction = await open_book(platform, auction_rules(seller.id, lasts=timedelta(days=2)))
    await bid(http, auction, ann, 1000)
    await bid(http, auction, bob, 500)
    stolen = await http.post(
        f"/api/v1/auctions/{auction}/retractions", json={"seq": 1}, headers=bob.headers
    )
    assert stolen.status_code == 403
    retracted = await http.post(
        f"/api/v1/auctions/{auction}/retractions", json={"seq": 1}, headers=ann.headers
    )
    assert retracted.status_code == 200
    assert retracted.json()["price_cents"] == 100  # only Bob's bid remains
    assert retracted.json()["bid_count"] == 1
    assert len(await outbox(platform, "BidRetracted")) == 1


async def test_idempotency_keys_are_forgotten_after_their_retention(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    from auction_platform.services.bidding.handlers import forget_old_idempotency_keys

    seller, ann = await sign_up(http, name="Sam"), await sign_up(http, name="Ann")
    auction = await open_book(platform, auction_rules(seller.id))
    first = await bid(http, auction, ann, 500, key="k-1")
    bidding = platform.runtimes["bidding"].context
    assert await forget_old_idempotency_keys(bidding, older_than=timedelta(hours=24)) == 0
    assert await forget_old_idempotency_keys(bidding, older_than=timedelta(0)) == 1
    again = await bid(http, auction, ann, 600, key="k-1")
    assert again.json()["seq"] == first.json()["seq"] + 1


async def test_bids_on_many_auctions_share_commits_and_each_book_is_its_own(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    seller, *bidders = await sign_up_all(http, "Sam", "Ann", "Bob", "Cy")
    auctions = [await open_book(platform, auction_rules(seller.id)) for _ in range(12)]
    first, second = (
        {auction: bidders[(i + shift) % 3] for i, auction in enumerate(auctions)}
        for shift in (0, 1)
    )
    for cents, round_ in ((500, first), (900, second)):
        answers = await asyncio.gather(*(bid(http, a, who, cents) for a, who in round_.items()))
        assert [a.status_code for a in answers] == [201] * len(auctions)
    stamps = set()
    for auction in auctions:
        rows = await ledger(platform, auction)
        assert [(r.seq, r.bidder_id, r.max_cents) for r in rows] == [
            (1, first[auction].id, 500),
            (2, second[auction].id, 900),
        ]
        assert rows[-1].leader_id == second[auction].id
        stamps.update(r.placed_at for r in rows)
    # One clock reading per batch, and one bid per book in each round: fewer readings
    # than bids means bids on different books shared a commit.
    assert len(stamps) < 2 * len(auctions)


async def test_the_framework_route_answers_what_the_lean_path_does_not_take(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    seller, ann = await sign_up(http, name="Sam"), await sign_up(http, name="Ann")
    auction = await open_book(platform, auction_rules(seller.id))
    url = f"/api/v1/auctions/{auction}/bids"
    as_text = await http.post(
        url,
        content=b'{"max_amount_cents": 500}',
        headers={**ann.headers, "Content-Type": "text/plain"},
    )
    long_key = await http.post(
        url, json={"max_amount_cents": 500}, headers={**ann.headers, "Idempotency-Key": "k" * 201}
    )
    not_json = await http.post(
        url,
        content=b"{max_amount_cents: 5",
        headers={**ann.headers, "Content-Type": "application/json"},
    )
    bad_id = await http.post(
        "/api/v1/auctions/" + "x" * 65 + "/bids",
        json={"max_amount_cents": 500},
        headers=ann.headers,
    )
    assert [r.status_code for r in (as_text, long_key, not_json, bad_id)] == [422, 422, 400, 422]
    assert not_json.json()["error"]["code"] == "malformed_json"
    assert await ledger(platform, auction) == []
    accepted = await bid(http, auction, ann, 500)
    assert accepted.status_code == 201
    assert accepted.headers["content-type"] == "application/json"
    assert accepted.json()["seq"] == 1


async def test_a_book_missing_at_the_first_bid_is_opened_from_the_auctions_rules(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    owner = await seller(http)
    ann = await sign_up(http, name="Ann")
    lot = await open_lot(http, owner, reserve_cents=None, buy_now_cents=None)
    db = platform.runtimes["bidding"].db
    assert db is not None

    async def book_exists() -> bool:
        async with db.read() as conn:
            return await store.book_row(conn, lot["id"], lock=False) is not None

    await eventually(book_exists)
    # As if the AuctionOpened event had not arrived yet: no book.
    async with db.transaction() as conn:
        await conn.execute(store.books.delete().where(store.books.c.auction_id == lot["id"]))
    accepted = await bid(http, lot["id"], ann, 20_000)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["seq"] == 1
    assert await book_exists()
    unknown = await bid(http, "no-such-auction", ann, 20_000)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "auction_not_found"
    assert await ledger(platform, "no-such-auction") == []


# --- the maximum's name: ``max_amount_cents``; ``max_amount`` deprecated ----------------------

# The lean path takes ``application/json``; a JSON body of another ``+json`` type goes to
# the framework's route, which parses it as JSON all the same.
LEAN = {"Content-Type": "application/json"}
FRAMEWORK = {"Content-Type": "application/vnd.bid+json"}
ROUTES = pytest.mark.parametrize("route", [LEAN, FRAMEWORK], ids=["lean", "framework"])


async def send(
    http: httpx.AsyncClient, auction_id: str, who: Account, body: dict[str, Any], route: Any
) -> httpx.Response:
    return await http.post(
        f"/api/v1/auctions/{auction_id}/bids",
        content=json.dumps(body).encode(),
        headers={**who.headers, **route},
    )


def deprecated(response: httpx.Response) -> bool:
    """Whether the answer says the name it was sent is deprecated (RFC 9745)."""
    if "deprecation" not in response.headers:
        return False
    assert response.headers["deprecation"] == "@1796256000"  # 2026-12-03, an RFC 9745 date
    assert 'rel="deprecation"' in response.headers["link"]
    return True


@ROUTES
async def test_the_maximum_in_cents_is_a_bid_on_either_route(
    http: httpx.AsyncClient, platform: Platform, route: dict[str, str]
) -> None:
    seller, ann = await sign_up(http, name="Sam"), await sign_up(http, name="Ann")
    auction = await open_book(platform, auction_rules(seller.id, start_cents=100))
    answer = await send(http, auction, ann, {"max_amount_cents": 150}, route)
    assert answer.status_code == 201, answer.text
    assert (answer.json()["price_cents"], answer.json()["your_max_cents"]) == (100, 150)
    assert not deprecated(answer)
    [row] = await ledger(platform, auction)
    assert row.max_cents == 150


@ROUTES
async def test_the_old_name_is_the_same_bid_with_a_deprecation_header(
    http: httpx.AsyncClient, platform: Platform, route: dict[str, str]
) -> None:
    seller, ann, bob = await sign_up_all(http, "Sam", "Ann", "Bob")
    old = await open_book(platform, auction_rules(seller.id, start_cents=100))
    new = await open_book(platform, auction_rules(seller.id, start_cents=100))
    answers = {}
    for auction, name in ((old, "max_amount"), (new, "max_amount_cents")):
        first = await send(http, auction, ann, {name: 150}, route)
        second = await send(http, auction, bob, {name: 400}, route)
        too_low = await send(http, auction, ann, {name: 180}, route)
        answers[name] = (first, second, too_low)
    for response in answers["max_amount"]:
        assert deprecated(response)
    for response in answers["max_amount_cents"]:
        assert not deprecated(response)

    def comparable(response: httpx.Response) -> tuple[int, Any]:
        """The answer without what differs between two auctions (and two requests)."""
        body = response.json()
        error = body.get("error", {})
        error.pop("request_id", None)
        book = error.get("details", body)  # a refusal shows the book in its details
        for varying in ("auction_id", "leader", "ends_at", "server_time"):
            book.pop(varying)
        return response.status_code, body

    assert [comparable(r) for r in answers["max_amount"]] == [
        comparable(r) for r in answers["max_amount_cents"]
    ]
    assert [r.status_code for r in answers["max_amount"]] == [201, 201, 409]
    assert [(r.bidder_id, r.max_cents) for r in await ledger(platform, old)] == [
        (ann.id, 150),
        (bob.id, 400),
    ]


@ROUTES
async def test_a_bid_naming_its_maximum_twice_is_422_on_either_route(
    http: httpx.AsyncClient, platform: Platform, route: dict[str, str]
) -> None:
    seller, ann = await sign_up(http, name="Sam"), await sign_up(http, name="Ann")
    auction = await open_book(platform, auction_rules(seller.id))
    both = await send(http, auction, ann, {"max_amount_cents": 500, "max_amount": 500}, route)
    assert both.status_code == 422
    assert both.json()["error"]["code"] == "validation_error"
    assert await ledger(platform, auction) == []


async def test_a_retry_under_the_new_name_is_the_request_keyed_under_the_old(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    seller, ann = await sign_up(http, name="Sam"), await sign_up(http, name="Ann")
    auction = await open_book(platform, auction_rules(seller.id))
    keyed = {"Idempotency-Key": "rename-1"}
    first = await send(http, auction, ann, {"max_amount": 500}, {**LEAN, **keyed})
    again = await send(http, auction, ann, {"max_amount_cents": 500}, {**LEAN, **keyed})
    assert again.status_code == first.status_code == 201
    assert again.json() == first.json()
    assert len(await ledger(platform, auction)) == 1
