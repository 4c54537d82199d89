"""Two bidding processes, fifty bidders, one auction, real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from test_distributed_services import distributed_env
from websockets.asyncio.client import connect

from auction_platform.composition import Platform
from auction_platform.core.sql import utc
from auction_platform.services.bidding import codec, engine, store
from support.accounts import PASSWORD
from support.books import auction_rules, open_book
from support.http_server import free_port
from support.platforms import distributed_settings
from support.processes import run_command, started
from support.waiting import eventually

BIDDERS = 50
BIDS_EACH = 4


async def _register(http: httpx.AsyncClient, identity: str, n: int) -> tuple[str, str]:
    email = f"bidder{n}@example.com"
    registered = await http.post(
        f"{identity}/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "display_name": f"Bidder {n}"},
    )
    assert registered.status_code == 201, registered.text
    login = await http.post(
        f"{identity}/api/v1/auth/login", json={"email": email, "password": PASSWORD}
    )
    return registered.json()["user"]["id"], login.json()["access_token"]


async def test_fifty_bidders_on_two_processes_lose_nothing_and_agree_on_one_winner(
    postgres_url: str, redis_url: str, rabbitmq_url: str
) -> None:
    ports = {name: free_port() for name in ("identity", "bidding-a", "bidding-b", "gateway")}
    env = distributed_env(
        postgres_url,
        redis_url,
        rabbitmq_url,
        IDENTITY_URL=f"http://127.0.0.1:{ports['identity']}",
        BIDDING_URL=f"http://127.0.0.1:{ports['bidding-a']}",
        RATE_LIMIT_PER_ADDRESS="1000000",
        RATE_LIMIT_PER_USER="1000000",
        AUTH_RATE_LIMIT_PER_ADDRESS="1000000",
        LOG_LEVEL="WARNING",
        CLOSER_INTERVAL_SECONDS="0.1",
    )
    await run_command("migrate", env=env)
    settings = distributed_settings(
        postgres_url=postgres_url,
        redis_url=redis_url,
        rabbitmq_url="memory://",
        cache_prefix=env["CACHE_PREFIX"],
    )
    local = Platform(settings, ["bidding"], embedded=False, environ={})
    async with (
        started("serve", "identity", port=ports["identity"], env=env) as identity,
        started("serve", "bidding", port=ports["bidding-a"], env=env) as bidding_a,
        started("serve", "bidding", port=ports["bidding-b"], env=env) as bidding_b,
        started("serve", "gateway", port=ports["gateway"], env=env) as gateway,
        httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as http,
    ):
        # Password hashing is slow by design: a few sign-ups at a time, as people come.
        arrivals = asyncio.Semaphore(4)

        async def arrive(n: int) -> tuple[str, str]:
            async with arrivals:
                return await _register(http, identity.url, n)

        people = await asyncio.gather(*(arrive(n) for n in range(BIDDERS)))
        rules = auction_rules("the-seller", start_cents=100, lasts=timedelta(seconds=15))
        auction = await open_book(local, rules)

        seen: list[dict[str, Any]] = []
        ws_url = gateway.url.replace("http://", "ws://") + f"/ws/auctions/{auction}"
        async with connect(ws_url) as feed:
            seen.append(json.loads(await feed.recv()))

            async def listen() -> None:
                async for message in feed:
                    seen.append(json.loads(message))

            listener = asyncio.create_task(listen())
            acknowledged: list[dict[str, Any]] = []

            async def bidder(n: int, token: str) -> None:
                rng = random.Random(n)
                amount = 100
                for _ in range(BIDS_EACH):
                    amount += rng.randint(25, 2_000)
                    target = (bidding_a, bidding_b)[rng.randint(0, 1)]
                    while True:
                        response = await http.post(
                            f"{target.url}/api/v1/auctions/{auction}/bids",
                            json={"max_amount_cents": amount},
                            headers={"Authorization": f"Bearer {token}"},
                        )
                        if response.status_code != 503:
                            break
                        # Shed before anything was recorded: try again when told.
                        assert response.json()["error"]["code"] == "overloaded", response.text
                        await asyncio.sleep(float(response.headers["Retry-After"]))
                    assert response.status_code in (201, 409), response.text
                    if response.status_code == 201:
                        acknowledged.append(response.json())

            await asyncio.gather(*(bidder(n, token) for n, (_, token) in enumerate(people)))
            await asyncio.sleep(1.0)  # let the last updates reach the feed
            listener.cancel()

        # Every acknowledged bid is in the ledger, and nothing else is.
        db = local.runtimes["bidding"].db
        assert db is not None
        async with db.read() as conn:
            ledger = await store.ledger(conn, auction)
            row = await store.book_row(conn, auction, lock=False)
        assert sorted(a["seq"] for a in acknowledged) == [r.seq for r in ledger]
        assert [r.seq for r in ledger] == list(range(1, len(ledger) + 1))

        # The ledger replays to the stored book.
        replayed = engine.replay(
            codec.rules_from(rules),
            [engine.Bid(r.bidder_id, r.max_cents, utc(r.placed_at)) for r in ledger],
        )
        stored = codec.load(row.state, codec.rules_from(rules))
        assert replayed.price_cents == stored.price_cents == row.price_cents
        assert replayed.leader_id == stored.leader_id == row.leader_id
        assert replayed.leader_max_cents == stored.leader_max_cents
        assert replayed.bid_count == stored.bid_count == len(ledger)

        # The price the live feed showed never went down.
        prices = [update["price_cents"] for update in seen]
        assert prices == sorted(prices)
        assert prices[-1] == row.price_cents

        # The auction closes once, with one winner: the replayed leader.
        table = local.runtimes["bidding"].definition.tables
        assert table is not None

        async def closed_events() -> list[dict[str, Any]]:
            async with db.read() as conn:
                rows = await conn.execute(
                    select(table.outbox.c.payload).where(
                        table.outbox.c.event_type == "AuctionClosed"
                    )
                )
                return [json.loads(r.payload)["data"] for r in rows]

        [closed] = await eventually(closed_events, timeout=40)
        assert closed["winner_id"] == replayed.leader_id
        assert closed["price_cents"] == replayed.price_cents
        late = datetime.fromisoformat(closed["closed_at"]) - replayed.ends_at
        # Never early, and on time: the closer looks every 250 ms (5 s for a loaded machine).
        assert timedelta(0) <= late < timedelta(seconds=5)
    await db.dispose()
