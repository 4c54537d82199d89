"""``auction-platform demo``: a platform filled through its API with lots in every state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from auction_platform.composition import Platform
from auction_platform.ops.demo import (
    ACCOUNTS,
    DEMO_PASSWORD,
    IMAGES,
    OPERATOR,
    DemoAccount,
    DemoError,
    DemoReport,
    SeededLot,
    Timing,
    seed_demo,
    seed_in_process,
    seed_url,
)
from auction_platform.services.identity import handlers as identity_handlers
from auction_platform.services.identity.domain import CreateAdmin
from auction_platform.settings import SERVICES
from support.accounts import log_in
from support.platforms import client, embedded_settings, running
from support.processes import COMMAND, child_env
from support.waiting import eventually

QUICK = timedelta(seconds=3)
CLOSING_SOON = timedelta(minutes=10)


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    """Every service in this process, lots as short as a second."""
    settings = embedded_settings(tmp_path, auction_min_duration_seconds=1)
    async with running(settings, SERVICES, embedded=True) as started:
        yield started


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway."""
    async with client(platform.apps["gateway"]) as gateway:
        yield gateway


@pytest.fixture
async def seeded(platform: Platform, http: httpx.AsyncClient) -> DemoReport:
    """The demo seeded once, with its operator made inside the platform as the CLI does."""

    async def make_admin(account: DemoAccount, password: str) -> None:
        await identity_handlers.create_admin(
            CreateAdmin(
                email=account.email,
                password=password,
                display_name=account.display_name,
            ),
            ctx=platform.runtimes["identity"].context,
        )

    return await seed_demo(http, admin=make_admin, closing_soon=CLOSING_SOON, quick=QUICK)


async def lot(http: httpx.AsyncClient, lot_id: str) -> dict[str, Any]:
    response = await http.get(f"/api/v1/auctions/{lot_id}")
    assert response.status_code == 200, response.text
    auction: dict[str, Any] = response.json()["auction"]
    return auction


async def all_in(
    http: httpx.AsyncClient, lots: list[SeededLot], status: str, *, timeout: float
) -> list[dict[str, Any]]:
    """The lots once every one of them is in ``status`` (polling up to ``timeout`` seconds)."""

    async def probe() -> list[dict[str, Any]]:
        found = [await lot(http, seeded.id) for seeded in lots]
        return found if all(a["status"] == status for a in found) else []

    return await eventually(probe, timeout=timeout, interval=0.1)


def shipped_images() -> set[str]:
    """The paths of the demo images the web package ships."""
    folder = resources.files("auction_platform.services.web") / "static" / "demo"
    return {f"{IMAGES}{entry.name}" for entry in folder.iterdir() if entry.name.endswith(".svg")}


async def listed_ids(http: httpx.AsyncClient) -> set[str]:
    """Every lot the public catalogue lists, in any state."""
    ids: set[str] = set()
    for status in ("scheduled", "open", "closed", "cancelled"):
        page = await http.get("/api/v1/auctions", params={"status": status, "limit": 100})
        ids |= {item["id"] for item in page.json()["items"]}
    return ids


async def test_the_demo_lists_lots_in_every_state(
    seeded: DemoReport, http: httpx.AsyncClient
) -> None:
    assert seeded.seeded
    by_timing = {t: [s for s in seeded.lots if s.timing is t and not s.bought] for t in Timing}
    assert all(by_timing.values()), by_timing

    for upcoming in by_timing[Timing.UPCOMING]:
        assert (await lot(http, upcoming.id))["status"] == "scheduled"
    # The scheduler opens a lot at its start, within a tick.
    assert await all_in(
        http, by_timing[Timing.RUNNING] + by_timing[Timing.CLOSING_SOON], "open", timeout=30
    )
    for soon in by_timing[Timing.CLOSING_SOON]:
        found = await lot(http, soon.id)
        runs_for = datetime.fromisoformat(found["ends_at"]) - datetime.now(UTC)
        assert timedelta(0) < runs_for <= CLOSING_SOON
    bid_on = [s for s in by_timing[Timing.RUNNING] if s.bids] + by_timing[Timing.CLOSING_SOON]
    assert len(bid_on) >= 3
    for seeded_lot in bid_on:
        found = await lot(http, seeded_lot.id)
        assert found["bid_count"] >= 2
        history = (await http.get(f"/api/v1/auctions/{seeded_lot.id}/bids")).json()["bids"]
        if found["format"].startswith("sealed"):
            assert history == [], "sealed bids stay secret until the end"
        else:
            assert len({bid["bidder"] for bid in history}) >= 2, "bids between different bidders"

    bought = [s for s in seeded.lots if s.bought]
    quick = by_timing[Timing.QUICK]
    assert bought
    assert all(a["outcome"] == "sold" for a in await all_in(http, bought, "closed", timeout=30))
    outcomes = {a["outcome"]: a for a in await all_in(http, quick, "closed", timeout=30)}
    assert set(outcomes) == {"sold", "unsold"}
    assert outcomes["sold"]["final_price_cents"] is not None
    assert outcomes["sold"]["reserve_met"] in (True, None)


async def test_every_lot_shows_one_to_three_of_the_shipped_images(
    seeded: DemoReport, http: httpx.AsyncClient
) -> None:
    shipped = shipped_images()
    lots = [await lot(http, s.id) for s in seeded.lots]
    assert len(lots) >= 10
    for found in lots:
        assert 1 <= len(found["images"]) <= 3, found["title"]
        assert set(found["images"]) <= shipped, found["images"]
    assert {a["currency"] for a in lots} >= {"USD", "EUR", "GBP"}
    assert len({a["category"] for a in lots}) >= 4
    assert any(a["reserve_met"] is not None for a in lots), "some lots have a reserve"
    assert any(a["buy_now_available"] for a in lots), "some lots offer Buy It Now"
    assert {a["format"] for a in lots} >= {"english", "sealed_second_price", "dutch"}
    [dutch] = [a for a in lots if a["format"] == "dutch"]
    assert dutch["dutch"] == {"step_cents": 1_000, "tick_seconds": 3_600, "floor_cents": 25_000}


async def test_the_demo_accounts_sign_in_with_the_printed_password(
    seeded: DemoReport, http: httpx.AsyncClient
) -> None:
    assert seeded.password == DEMO_PASSWORD
    assert seeded.admin == OPERATOR
    printed = "\n".join(seeded.lines())
    for account in (*ACCOUNTS, OPERATOR):
        assert account.email in printed
        token = (await log_in(http, account.email, seeded.password))["access_token"]
        me = await http.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        roles = me.json()["user"]["roles"]
        assert account.role in roles, (account.email, roles)
    assert DEMO_PASSWORD in printed


async def test_seeding_again_adds_nothing(seeded: DemoReport, http: httpx.AsyncClient) -> None:
    before = await listed_ids(http)
    assert before == {s.id for s in seeded.lots}

    again = await seed_demo(http, closing_soon=CLOSING_SOON, quick=QUICK)

    assert not again.seeded
    assert again.lots == ()
    assert "nothing seeded" in again.lines()[0]
    assert await listed_ids(http) == before


async def test_demo_refuses_to_run_in_production(tmp_path: Path) -> None:
    env = child_env(
        ENVIRONMENT="production",
        SECRET_KEY="a-production-secret-of-more-than-32-characters",
        PAYMENT_PROVIDER="stripe",
        STRIPE_API_KEY="sk_test_demo",
        STRIPE_WEBHOOK_SECRETS='["whsec_demo"]',
    )
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        "demo",
        "--data-dir",
        str(tmp_path / "data"),
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    lines = [line for line in output.decode().splitlines() if line.strip()]

    assert process.returncode == 1
    assert len(lines) == 1, lines
    assert "production" in lines[0]
    assert not (tmp_path / "data").exists()


async def test_a_platform_out_of_reach_or_refusing_is_a_demo_error() -> None:
    """What the command line catches: the network's errors come as ``DemoError`` too."""
    with pytest.raises(DemoError):
        await seed_url("http://127.0.0.1:9/", timeout=2.0)  # the discard port: nobody

    refusing = FastAPI()

    @refusing.get("/api/v1/auctions")
    async def busy() -> JSONResponse:
        return JSONResponse({"error": {"code": "busy", "message": "not now"}}, status_code=503)

    async def no_admin(account: DemoAccount, password: str) -> None:
        raise AssertionError("the listing is read first")

    with pytest.raises(DemoError, match="GET /api/v1/auctions answered 503: not now"):
        await seed_in_process(refusing, site="http://demo.test/", admin=no_admin)
