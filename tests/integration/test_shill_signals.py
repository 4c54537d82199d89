"""Shill-bidding signals through the real API: what the job flags, and what it leaves alone."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from typing import Any

import httpx

from auction_platform.composition import Platform
from support.accounts import PASSWORD, Account, log_in, sign_up
from support.auctions import admin_token, open_lot, place_bid, seller
from support.platforms import client
from support.waiting import eventually

SIGNALS = "/api/v1/analytics/shill-signals"


async def run_job(http: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    ran = await http.post(f"{SIGNALS}/run", headers=admin)
    assert ran.status_code == 200, ran.text
    body: dict[str, Any] = ran.json()
    return body


async def signals_about(
    http: httpx.AsyncClient, admin: dict[str, str], *people: Account
) -> list[dict[str, Any]]:
    listed = await http.get(SIGNALS, headers=admin)
    assert listed.status_code == 200, listed.text
    ids = {person.id for person in people}
    return [
        flag
        for flag in listed.json()["items"]
        if flag["bidder_id"] in ids or flag["seller_id"] in ids
    ]


async def analytics_has_bids(http: httpx.AsyncClient, admin: dict[str, str], count: int) -> None:
    """Wait until analytics' event store holds the test's bids (the job reads them there)."""

    async def weighed() -> bool:
        return bool((await run_job(http, admin))["bids"] >= count)

    await eventually(weighed, timeout=20, interval=0.3)


async def test_a_bidder_on_one_sellers_lots_is_flagged_and_an_honest_one_is_not(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    sam, sue = await seller(http, "Sam"), await seller(http, "Sue")
    shill, honest = await sign_up(http, name="Shill"), await sign_up(http, name="Hana")
    admin = await admin_token(http, platform)
    sams = await asyncio.gather(*(open_lot(http, sam) for _ in range(7)))
    sues = await asyncio.gather(*(open_lot(http, sue) for _ in range(3)))
    for lot in sams[2:]:
        await place_bid(http, lot["id"], shill, 20_000)
    for lot in [*sams[:2], *sues]:
        await place_bid(http, lot["id"], honest, 20_000)

    await analytics_has_bids(http, admin, 10)
    [flag] = await signals_about(http, admin, sam, sue, shill, honest)
    assert (flag["kind"], flag["bidder_id"], flag["seller_id"]) == (
        "concentration",
        shill.id,
        sam.id,
    )
    assert flag["status"] == "open"
    assert flag["evidence"]["bids_on_seller"] == 5
    assert sorted(flag["evidence"]["auction_ids"]) == sorted(lot["id"] for lot in sams[2:])

    # Running the day again flags nothing twice.
    await run_job(http, admin)
    assert len(await signals_about(http, admin, sam, shill)) == 1

    reviewed = await http.post(
        f"{SIGNALS}/{flag['id']}/review",
        json={"status": "dismissed", "note": "a collector of Leicas"},
        headers=admin,
    )
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["signal"]["status"] == "dismissed"
    assert reviewed.json()["signal"]["note"] == "a collector of Leicas"
    open_ones = await http.get(SIGNALS, params={"status": "open"}, headers=admin)
    assert flag["id"] not in {item["id"] for item in open_ones.json()["items"]}


async def register_on(
    identity: httpx.AsyncClient, http: httpx.AsyncClient, name: str, device: str
) -> Account:
    """Sign up as the site does, with its device cookie, and sign in."""
    email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    registered = await identity.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "display_name": name},
        headers={"X-Device-Id": device},
    )
    assert registered.status_code == 201, registered.text
    tokens = await log_in(http, email)
    user_id = registered.json()["user"]["id"]
    return Account(user_id, email, tokens["access_token"], tokens["refresh_token"])


async def test_a_bidder_who_signed_up_on_the_sellers_device_is_flagged(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    device = secrets.token_urlsafe(24)
    async with client(platform.apps["identity"]) as identity:
        sam = await register_on(identity, http, "Sam", device)
        sock = await register_on(identity, http, "Sock", device)
    granted = await http.post("/api/v1/users/me/seller", headers=sam.headers)
    assert granted.status_code == 200, granted.text
    sam.access_token = granted.json()["access_token"]
    admin = await admin_token(http, platform)

    signals = await http.get(f"/api/v1/users/{sock.id}/signup-signals", headers=admin)
    assert signals.status_code == 200, signals.text
    assert signals.json()["device_id"] == device
    assert (
        await http.get(f"/api/v1/users/{sock.id}/signup-signals", headers=sock.headers)
    ).status_code == 403

    lot = await open_lot(http, sam)
    await place_bid(http, lot["id"], sock, 20_000)
    await analytics_has_bids(http, admin, 1)

    async def flagged() -> list[dict[str, Any]]:
        await run_job(http, admin)
        return [
            flag
            for flag in await signals_about(http, admin, sock)
            if flag["kind"] == "shared_signup"
        ]

    [flag] = await eventually(flagged, timeout=20, interval=0.3)
    assert (flag["bidder_id"], flag["seller_id"]) == (sock.id, sam.id)
    assert flag["evidence"]["shared"] == ["device"]
    assert flag["evidence"]["auction_ids"] == [lot["id"]]


async def test_a_device_id_sent_through_the_gateway_is_not_believed(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    email = f"mallory-{uuid.uuid4().hex[:8]}@example.com"
    registered = await http.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "display_name": "Mallory"},
        headers={"X-Device-Id": secrets.token_urlsafe(24)},
    )
    assert registered.status_code == 201, registered.text
    admin = await admin_token(http, platform)
    user_id = registered.json()["user"]["id"]
    signals = await http.get(f"/api/v1/users/{user_id}/signup-signals", headers=admin)
    assert signals.status_code == 200, signals.text
    assert signals.json()["device_id"] is None


async def test_the_signals_are_for_admins_and_a_review_is_checked(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    ann = await sign_up(http)
    admin = await admin_token(http, platform)
    assert (await http.get(SIGNALS, headers=ann.headers)).status_code == 403
    assert (await http.post(f"{SIGNALS}/run", headers=ann.headers)).status_code == 403
    missing = await http.post(
        f"{SIGNALS}/{'0' * 32}/review", json={"status": "reviewed"}, headers=admin
    )
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    reopened = await http.post(
        f"{SIGNALS}/{'0' * 32}/review", json={"status": "open"}, headers=admin
    )
    assert reopened.status_code == 422
    bad_kind = await http.get(SIGNALS, params={"kind": "vibes"}, headers=admin)
    assert bad_kind.status_code == 422
