"""Demo data: sellers, bidders and lots in every state, made through the public API.

Everything goes through the same HTTP API any client uses (sign up, ask to sell,
list, bid, buy), so a seeded platform holds nothing a person could not have made,
and the seeding works the same on the embedded platform (``seed_in_process``: its
gateway app, without a socket) and on a remote one (``seed_url``). The command line
calls those two and holds no HTTP client of its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from fastapi import FastAPI

DEMO_PASSWORD = "gavel-and-lantern-42"  # noqa: S105 - shared by the demo accounts, printed
IMAGES = "/static/demo/"
_RATE_LIMIT_RETRIES = 5

Clock = Callable[[], datetime]


class DemoError(Exception):
    """The platform refused a step of the seeding; the message says which and why."""


class Timing(StrEnum):
    """When a demo lot runs, relative to the moment it is listed."""

    UPCOMING = "upcoming"  # opens later
    RUNNING = "running"  # open for days
    CLOSING_SOON = "closing soon"  # ends within ``closing_soon``
    QUICK = "quick"  # ends within ``quick``, then shows sold or unsold


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """An account the demo signs in with (every one shares the demo password)."""

    email: str
    display_name: str
    role: str


ADA = DemoAccount("ada.seller@demo.example", "Ada's Attic", "seller")
CHARLES = DemoAccount("charles.seller@demo.example", "Babbage & Daughters", "seller")
GRACE = DemoAccount("grace.bidder@demo.example", "Grace", "bidder")
ALAN = DemoAccount("alan.bidder@demo.example", "Alan", "bidder")
EDSGER = DemoAccount("edsger.bidder@demo.example", "Edsger", "bidder")
OPERATOR = DemoAccount("operator@demo.example", "Demo Operator", "admin")
ACCOUNTS = (ADA, CHARLES, GRACE, ALAN, EDSGER)

# Makes the operator (admin) account; only code inside the platform can grant the role.
MakeAdmin = Callable[[DemoAccount, str], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class DemoLot:
    """A lot of the catalogue and what happens to it once listed. Money in minor units."""

    seller: DemoAccount
    title: str
    description: str
    category: str
    currency: str
    start_cents: int
    images: tuple[str, ...]
    timing: Timing
    reserve_cents: int | None = None
    buy_now_cents: int | None = None
    starts_in: timedelta = timedelta(0)  # UPCOMING lots
    runs_for: timedelta = timedelta(days=3)  # UPCOMING and RUNNING lots
    share_of_window: float = 1.0  # CLOSING_SOON lots end after this share of it
    bids: tuple[tuple[DemoAccount, int], ...] = ()  # (bidder, max amount), in order
    bought_by: DemoAccount | None = None  # uses Buy It Now as soon as it is listed
    # How it is sold (see the listing API): sealed bids stay secret until the end; a
    # Dutch lot's price falls from ``start_cents`` by ``dutch`` = (step, tick seconds,
    # floor) down to its floor.
    sale_format: str = "english"
    dutch: tuple[int, int, int] | None = None


def _images(*names: str) -> tuple[str, ...]:
    return tuple(f"{IMAGES}{name}.svg" for name in names)


# Quick lots come last, each bid on as soon as it is listed, so they are still open
# when their bids arrive even when ``quick`` is a few seconds.
CATALOGUE: tuple[DemoLot, ...] = (
    DemoLot(
        ADA, "Leica M3 rangefinder with Summicron 50 mm f/2 (1957)",
        "Double-stroke M3 from the first year of production, serviced in 2023: "
        "shutter speeds tested, rangefinder bright and aligned. The collapsible "
        "Summicron has light cleaning marks only. Original leather half case included.",
        "cameras", "EUR", 90_000, _images("camera"), Timing.RUNNING,
        reserve_cents=150_000, runs_for=timedelta(days=3),
        bids=((GRACE, 95_000), (ALAN, 110_000), (GRACE, 125_000), (EDSGER, 140_000)),
    ),
    DemoLot(
        ADA, "\u201cHarbour at Dusk\u201d, oil on canvas in a gilt frame",
        "Signed lower right, dated 1932. Fishing boats coming home under a low sun, "
        "on the Cornish coast. Canvas 60 x 45 cm, relined; frame with minor losses.",
        "art", "USD", 120_000, _images("painting"), Timing.UPCOMING,
        buy_now_cents=350_000, starts_in=timedelta(hours=2), runs_for=timedelta(days=4),
    ),
    DemoLot(
        CHARLES, "Three Victorian novels, first editions in publisher's cloth",
        "Three-decker first editions, 1861-1872, each volume in the original "
        "cloth with gilt spines. Bookplates of one family; some foxing to the prelims.",
        "books", "GBP", 25_000, _images("books"), Timing.RUNNING,
        buy_now_cents=60_000, runs_for=timedelta(days=5),
    ),
    DemoLot(
        CHARLES, "Brass ship's chronometer in a mahogany box",
        "A two-day marine chronometer with a silvered dial and gimbal mount, in its "
        "three-tier mahogany box. Sold by sealed bids: the highest pays the second-highest bid.",
        "collectibles", "GBP", 40_000, _images("watch"), Timing.RUNNING,
        runs_for=timedelta(days=3), sale_format="sealed_second_price",
        bids=((GRACE, 52_000), (EDSGER, 61_000)),
    ),
    DemoLot(
        ADA, "Pair of Art Deco table lamps, chrome and opaline glass",
        "Two matching lamps with stepped chrome bases and opaline globes, rewired. "
        "A Dutch auction: the price falls every hour until someone buys.",
        "home", "EUR", 60_000, _images("lamp"), Timing.RUNNING,
        runs_for=timedelta(days=2), sale_format="dutch", dutch=(1_000, 3_600, 25_000),
    ),
    DemoLot(
        ADA, "Danish teak lounge chair with its brass reading lamp",
        "A 1960s lounge chair in solid teak, newly upholstered in burnt-orange wool, "
        "sold with the brass lamp that stood beside it. Collection in person or by courier.",
        "home", "EUR", 80_000, _images("chair", "lamp"), Timing.RUNNING,
        reserve_cents=100_000, runs_for=timedelta(days=2),
        bids=((EDSGER, 85_000), (GRACE, 105_000)),
    ),
    DemoLot(
        ADA, "Writer's desk set: portable typewriter, lamp and reference books",
        "A red 1960s portable typewriter in working order with a new ribbon, a green "
        "banker's lamp and a shelf of dictionaries. Everything a novelist needs but the plot.",
        "collectibles", "EUR", 18_000, _images("typewriter", "lamp", "books"), Timing.UPCOMING,
        starts_in=timedelta(days=1), runs_for=timedelta(days=6),
    ),
    DemoLot(
        ADA, "Library globe on a walnut stand",
        "A 45 cm terrestrial globe on a turned walnut stand with a brass meridian. "
        "The map shows the borders of 1928. Turns smoothly.",
        "home", "USD", 30_000, _images("globe"), Timing.RUNNING,
        buy_now_cents=45_000, runs_for=timedelta(days=4), bought_by=ALAN,
    ),
    DemoLot(
        CHARLES, "Omega Seamaster De Ville automatic (1968)",
        "Calibre 565 automatic with date, 34 mm steel case, silvered dial with "
        "applied indexes. Serviced last year; keeps time within 10 seconds a day.",
        "watches", "GBP", 45_000, _images("watch"), Timing.CLOSING_SOON,
        reserve_cents=60_000, share_of_window=0.6,
        bids=((ALAN, 50_000), (EDSGER, 58_000), (ALAN, 72_000)),
    ),
    DemoLot(
        CHARLES, "Hard-bop jazz LP, original 1959 pressing",
        "Deep-groove original pressing, mono. Vinyl VG+ with light surface noise on "
        "side B; sleeve with ring wear and a clean spine.",
        "collectibles", "USD", 6_000, _images("vinyl"), Timing.CLOSING_SOON,
        bids=((GRACE, 7_500), (EDSGER, 9_000)),
    ),
    DemoLot(
        CHARLES, "Silver teapot, hallmarked Sheffield 1921",
        "Sterling silver, 1.2 litres, with an ebonised handle and finial. Crisp "
        "hallmarks, no dents, a polish away from the Sunday table.",
        "home", "GBP", 8_000, _images("teapot"), Timing.QUICK,
        reserve_cents=15_000, bids=((ALAN, 12_000), (GRACE, 18_000)),
    ),
    DemoLot(
        ADA, "Roman silver denarius of Hadrian",
        "AD 117-138, laureate head right; reverse with Felicitas. 3.2 g, good very "
        "fine, old collection ticket included.",
        "collectibles", "EUR", 20_000, _images("coin"), Timing.QUICK,
        reserve_cents=60_000, bids=((EDSGER, 25_000),),
    ),
    DemoLot(
        CHARLES, "Celadon-glazed vase, twentieth century",
        "A pear-shaped vase in a pale sea-green glaze with incised bands, 28 cm "
        "high. No chips or restoration.",
        "art", "USD", 15_000, _images("vase"), Timing.QUICK,
    ),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SeededLot:
    """A lot the seeding listed."""

    id: str
    title: str
    timing: Timing
    bids: int
    bought: bool


@dataclass(frozen=True, slots=True)
class DemoReport:
    """What the seeding did, and the accounts to sign in with."""

    seeded: bool
    password: str
    accounts: tuple[DemoAccount, ...]
    lots: tuple[SeededLot, ...] = ()
    admin: DemoAccount | None = None

    def lines(self) -> list[str]:
        """The report as lines of text for a terminal."""
        if self.seeded:
            counts = {t: sum(1 for lot in self.lots if lot.timing is t) for t in Timing}
            bought = sum(1 for lot in self.lots if lot.bought)
            head = (
                f"Seeded {len(self.lots)} lots: {counts[Timing.UPCOMING]} upcoming, "
                f"{counts[Timing.RUNNING] - bought} open for days, {bought} sold by Buy It Now, "
                f"{counts[Timing.CLOSING_SOON]} closing within minutes, "
                f"{counts[Timing.QUICK]} closing within a minute (then sold or unsold)."
            )
        else:
            head = "The platform already has lots: nothing seeded."
        lines = [head, f"Demo accounts (password {self.password}):"]
        lines += [f"  {a.role:<8} {a.email}  ({a.display_name})" for a in self.accounts]
        if self.admin is not None:
            lines.append(f"  {'operator':<8} {self.admin.email}  (admin)")
        else:
            lines.append("  no operator account (make one with `auction-platform create-admin`)")
        return lines


async def seed_demo(
    http: httpx.AsyncClient,
    *,
    admin: MakeAdmin | None = None,
    clock: Clock | None = None,
    password: str = DEMO_PASSWORD,
    closing_soon: timedelta = timedelta(minutes=5),
    quick: timedelta = timedelta(minutes=1),
) -> DemoReport:
    """Fill an empty platform at ``http``'s base URL; a platform with lots is left alone.

    ``admin`` makes the operator account (inside the platform); ``clock`` defaults to
    the platform's own, read from its answers, so times are right whatever the local
    clock says. ``quick`` must be at least the platform's shortest allowed auction.
    """
    listed, platform_clock = await _listed(http)
    now = clock or platform_clock
    operator = None
    if admin is not None:
        await admin(OPERATOR, password)
        operator = OPERATOR
    if listed:
        return DemoReport(False, password, ACCOUNTS, admin=operator)
    tokens = {
        account.email: await _sign_in(http, account, password, seller=account.role == "seller")
        for account in ACCOUNTS
    }
    seeded = []
    for lot in CATALOGUE:
        starts_at, ends_at = _window(lot, now(), closing_soon=closing_soon, quick=quick)
        listing = _listing(lot, starts_at, ends_at)
        token = tokens[lot.seller.email]
        created = await _call(http, "POST", "/api/v1/auctions", token=token, body=listing)
        lot_id = str(created["auction"]["id"])
        for bidder, max_cents in lot.bids:
            path = f"/api/v1/auctions/{lot_id}/bids"
            body = {"max_amount_cents": max_cents}
            await _call(http, "POST", path, token=tokens[bidder.email], body=body)
        if lot.bought_by is not None:
            path = f"/api/v1/auctions/{lot_id}/buy-now"
            await _call(http, "POST", path, token=tokens[lot.bought_by.email])
        bought = lot.bought_by is not None
        seeded.append(SeededLot(lot_id, lot.title, lot.timing, len(lot.bids), bought))
    return DemoReport(True, password, ACCOUNTS, tuple(seeded), admin=operator)


async def seed_url(url: str, *, timeout: float) -> DemoReport:
    """Seed the platform whose gateway answers at ``url``, through its public API only (no
    operator account: only code inside the platform can grant the role).

    Raises ``DemoError`` when a step is refused or the platform cannot be reached.
    """
    try:
        async with httpx.AsyncClient(base_url=url, timeout=timeout) as http:
            return await seed_demo(http)
    except httpx.HTTPError as error:
        raise _unreachable(error) from error


async def seed_in_process(gateway: FastAPI, *, site: str, admin: MakeAdmin) -> DemoReport:
    """Seed the embedded platform through its gateway's app, in this process (the public
    API, no socket), ``admin`` making the operator account; ``site`` is where it is served.

    Raises ``DemoError`` when a step is refused; ``admin``'s own errors pass through.
    """
    transport = httpx.ASGITransport(app=gateway, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url=site) as http:
            return await seed_demo(http, admin=admin)
    except httpx.HTTPError as error:
        raise _unreachable(error) from error


def _unreachable(error: httpx.HTTPError) -> DemoError:
    return DemoError(str(error) or type(error).__name__)


async def _listed(http: httpx.AsyncClient) -> tuple[bool, Clock]:
    """Whether any lot is listed (in any public state), and the platform's clock."""
    found = False
    server_time = ""
    for status in (None, "closed", "cancelled"):
        params = {"limit": 1} | ({"status": status} if status else {})
        page = await _call(http, "GET", "/api/v1/auctions", params=params)
        found = found or bool(page["items"])
        server_time = str(page["server_time"])
    # The platform's time when it answered, moved on by this process's steady clock:
    # never ahead of the platform, so a lot listed to start "now" is open at once.
    then, since = datetime.fromisoformat(server_time), time.monotonic()
    return found, lambda: then + timedelta(seconds=time.monotonic() - since)


async def _sign_in(
    http: httpx.AsyncClient, account: DemoAccount, password: str, *, seller: bool
) -> str:
    """An access token of ``account``, registering it first (and as a seller) if needed."""
    registration = {
        "email": account.email,
        "password": password,
        "display_name": account.display_name,
    }
    await _call(http, "POST", "/api/v1/auth/register", body=registration, taken_ok=True)
    token = await _log_in(http, account, password)
    if not seller:
        return token
    await _call(http, "POST", "/api/v1/users/me/seller", token=token)
    # Roles travel in the token: a fresh login carries the seller role.
    return await _log_in(http, account, password)


async def _log_in(http: httpx.AsyncClient, account: DemoAccount, password: str) -> str:
    """A fresh access token of ``account``."""
    credentials = {"email": account.email, "password": password}
    answer = await _call(http, "POST", "/api/v1/auth/login", body=credentials)
    return str(answer["access_token"])


def _window(
    lot: DemoLot, now: datetime, *, closing_soon: timedelta, quick: timedelta
) -> tuple[datetime, datetime]:
    """When ``lot`` starts and ends if listed at ``now``."""
    if lot.timing is Timing.UPCOMING:
        return now + lot.starts_in, now + lot.starts_in + lot.runs_for
    if lot.timing is Timing.RUNNING:
        return now, now + lot.runs_for
    if lot.timing is Timing.CLOSING_SOON:
        return now, now + closing_soon * lot.share_of_window
    return now, now + quick


def _listing(lot: DemoLot, starts_at: datetime, ends_at: datetime) -> dict[str, Any]:
    """The body of ``POST /api/v1/auctions`` for ``lot``, published at once."""
    body: dict[str, Any] = {
        "title": lot.title,
        "description": lot.description,
        "category": lot.category,
        "images": list(lot.images),
        "currency": lot.currency,
        "start_cents": lot.start_cents,
        "reserve_cents": lot.reserve_cents,
        "buy_now_cents": lot.buy_now_cents,
        "starts_at": starts_at.isoformat(),
        "ends_at": ends_at.isoformat(),
        "publish": True,
    }
    if lot.timing is Timing.QUICK:
        body["soft_close"] = None  # a late bid must not push a quick lot's end out
    if lot.sale_format != "english":
        body["format"] = lot.sale_format
        body["soft_close"] = None  # only an English auction offers a soft close
    if lot.dutch is not None:
        step, tick, floor = lot.dutch
        body["dutch"] = {"step_cents": step, "tick_seconds": tick, "floor_cents": floor}
    return body


async def _call(
    http: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    taken_ok: bool = False,
) -> dict[str, Any]:
    """One API call; its JSON answer, or ``DemoError`` naming the refusal.

    A rate-limited call waits as long as ``Retry-After`` says and goes again.
    """
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for attempt in range(_RATE_LIMIT_RETRIES):
        response = await http.request(method, path, json=body, params=params, headers=headers)
        if response.status_code != 429 or attempt == _RATE_LIMIT_RETRIES - 1:
            break
        await asyncio.sleep(min(float(response.headers.get("Retry-After", "1")), 30.0))
    error = _error(response)
    if response.is_success or (taken_ok and error.get("code") == "email_taken"):
        answer: dict[str, Any] = response.json()
        return answer
    reason = error.get("message") or response.text[:200]
    raise DemoError(f"{method} {path} answered {response.status_code}: {reason}")


def _error(response: httpx.Response) -> dict[str, Any]:
    """The ``error`` object of a refusal (empty for a success or a body that is not one)."""
    if response.is_success:
        return {}
    try:
        error = response.json().get("error")
    except ValueError:
        return {}
    return error if isinstance(error, dict) else {}
