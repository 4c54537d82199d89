"""A member's data export and the closing of their account, without the platform.

The use cases run on SQLite on a file and the memory cache; the other services'
parts come from a fake ``Peers``. ``HttpPeers`` is checked against an
``httpx.MockTransport`` standing in for the catalogue, the bid book and payment.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import select

from auction_platform.core.auth import REVOKED_MARK
from auction_platform.core.cache.memory import MemoryCache
from auction_platform.core.db import Database
from auction_platform.core.failures import (
    Conflict,
    DomainError,
    Forbidden,
    Unauthenticated,
    Unavailable,
)
from auction_platform.core.migrate import migrate
from auction_platform.core.revocations import MARK_SET, Revocations
from auction_platform.core.uow import UnitOfWork
from auction_platform.services.identity import address_handlers, handlers, privacy, store
from auction_platform.services.identity.addresses import AddAddress, AddressFields
from auction_platform.services.identity.domain import Login, Refresh, Register
from auction_platform.services.identity.handlers import Identity
from auction_platform.services.identity.keys import KeyRing
from auction_platform.services.identity.passwords import Passwords
from auction_platform.services.identity.ports import PARTS, HttpPeers, Peers
from auction_platform.services.identity.privacy import CloseAccount
from auction_platform.services.identity.signup import SignupSignals
from auction_platform.settings import Settings

PASSWORD = "a long enough passphrase"
START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
TOKEN = "ann's-own-token"
PARTS_OF_ANN = {
    "auction": {"listings": [], "watchlist": [{"auction_id": "lot-1"}]},
    "bidding": {"bids": [{"auction_id": "lot-1", "max_cents": 2_000}]},
    "payment": {"orders": []},
}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class FakePeers:
    """The other services' parts, as set; every question recorded with its token."""

    def __init__(self) -> None:
        self.parts: dict[str, dict[str, Any]] = dict(PARTS_OF_ANN)
        self.open: list[str] = []
        self.down: str | None = None  # a service that cannot answer now
        self.asked: list[tuple[str, str]] = []

    def _answer(self, question: str, token: str) -> None:
        self.asked.append((question, token))
        if self.down is not None:
            raise Unavailable("peer_unavailable", f"the {self.down} service cannot answer")

    async def exports(self, *, token: str) -> dict[str, dict[str, Any]]:
        self._answer("exports", token)
        return self.parts

    async def obligations(self, *, token: str) -> list[str]:
        self._answer("obligations", token)
        return self.open


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def identity(tmp_path: Path, clock: Clock) -> AsyncIterator[Identity]:
    """The identity context on a fresh SQLite file, with cheap password hashing."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/identity.sqlite3", pool_size=2)
    await migrate(db, "identity")
    settings = Settings(_env_file=None, data_dir=tmp_path)
    keys = KeyRing(db, secret="unit-test-secret", token_lifetime=timedelta(minutes=15), clock=clock)
    await keys.load()
    cache = MemoryCache()
    yield Identity(
        uow=UnitOfWork(db, outbox=store.TABLES.outbox, producer="identity"),
        keys=keys,
        passwords=Passwords(time_cost=1, memory_cost=8 * 1024),
        cache=cache,
        revocations=Revocations(cache),
        settings=settings,
        clock=clock,
    )
    await db.dispose()


@pytest.fixture
def peers() -> FakePeers:
    return FakePeers()


async def refused(kind: type[DomainError], code: str, call: Awaitable[Any]) -> DomainError:
    """The error ``call`` raised, checked for its kind and code."""
    with pytest.raises(kind) as caught:
        await call
    assert caught.value.code == code
    return caught.value


async def events(identity: Identity) -> list[tuple[str, dict[str, Any]]]:
    """The events in the outbox, in order: (type, data)."""
    outbox = store.TABLES.outbox
    async with identity.uow.db.read() as conn:
        rows = await conn.execute(
            select(outbox.c.event_type, outbox.c.payload).order_by(outbox.c.seq)
        )
        return [(row.event_type, _data(row.payload)) for row in rows]


def _data(payload: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(payload)["data"]
    return data


async def ann(identity: Identity) -> store.User:
    """Ann, with a phone, an address and the signals of her sign-up."""
    command = Register(
        "ann@example.com",
        PASSWORD,
        "Ann",
        phone="+44 20 7946 0000",
        signals=SignupSignals(address="203.0.113.9", device_id="device-1"),
    )
    user = await handlers.register(command, ctx=identity)
    address = AddressFields("Ann", "1 Rose Lane", "Leeds", "GB")
    await address_handlers.add_address(AddAddress(user.id, address), ctx=identity)
    return user


# --- the export ----------------------------------------------------------------------------


async def test_the_export_holds_the_account_and_every_services_part(
    identity: Identity, peers: FakePeers
) -> None:
    user = await ann(identity)
    export = await privacy.export(user.id, token=TOKEN, ctx=identity, peers=peers)
    assert export["exported_at"] == START.isoformat()
    assert (export["account"]["email"], export["account"]["phone"]) == (
        "ann@example.com",
        "+442079460000",
    )
    assert export["account"]["preferences"] == user.preferences
    assert [a["line1"] for a in export["addresses"]] == ["1 Rose Lane"]
    assert export["signup"]["device_id"] == "device-1"
    for service, part in PARTS_OF_ANN.items():
        assert export[service] == part
    assert peers.asked == [("exports", TOKEN)]  # asked as Ann, with her own token


async def test_the_export_is_unavailable_while_a_service_cannot_answer(
    identity: Identity, peers: FakePeers
) -> None:
    user = await ann(identity)
    peers.down = "payment"
    await refused(
        Unavailable,
        "peer_unavailable",
        privacy.export(user.id, token=TOKEN, ctx=identity, peers=peers),
    )


# --- closing an account --------------------------------------------------------------------


async def test_a_wrong_password_closes_nothing_and_asks_no_one(
    identity: Identity, peers: FakePeers
) -> None:
    user = await ann(identity)
    command = CloseAccount(user.id, "not the password", TOKEN)
    await refused(
        Forbidden, "wrong_password", privacy.close_account(command, ctx=identity, peers=peers)
    )
    assert peers.asked == []
    assert (await handlers.user(user.id, ctx=identity)).email == "ann@example.com"


async def test_an_open_obligation_keeps_the_account_and_names_each(
    identity: Identity, peers: FakePeers
) -> None:
    user = await ann(identity)
    peers.open = ["leading_bids", "unpaid_orders"]
    command = CloseAccount(user.id, PASSWORD, TOKEN)
    error = await refused(
        Conflict,
        "account_has_obligations",
        privacy.close_account(command, ctx=identity, peers=peers),
    )
    assert error.details == {"obligations": ["leading_bids", "unpaid_orders"]}
    assert error.message == "the account cannot be closed while leading bids, unpaid orders"
    assert peers.asked == [("obligations", TOKEN)]
    assert (await handlers.user(user.id, ctx=identity)).email == "ann@example.com"
    assert "UserErased" not in [kind for kind, _ in await events(identity)]


async def test_a_service_that_cannot_answer_keeps_the_account(
    identity: Identity, peers: FakePeers
) -> None:
    user = await ann(identity)
    peers.down = "bidding"
    command = CloseAccount(user.id, PASSWORD, TOKEN)
    await refused(
        Unavailable, "peer_unavailable", privacy.close_account(command, ctx=identity, peers=peers)
    )
    assert (await handlers.user(user.id, ctx=identity)).display_name == "Ann"


async def test_closing_erases_the_personal_data_revokes_every_token_and_says_so(
    identity: Identity, peers: FakePeers
) -> None:
    user = await ann(identity)
    pair = await handlers.login(Login("ann@example.com", PASSWORD, "10.0.0.1"), ctx=identity)
    jti = jwt.decode(pair.access_token, options={"verify_signature": False})["jti"]
    await privacy.close_account(CloseAccount(user.id, PASSWORD, TOKEN), ctx=identity, peers=peers)

    erased = await handlers.user(user.id, ctx=identity)
    assert (erased.email, erased.display_name, erased.phone) == (
        privacy.tombstone(user.id),
        privacy.ERASED_NAME,
        None,
    )
    export = await privacy.export(user.id, token=TOKEN, ctx=identity, peers=peers)
    assert (export["addresses"], export["signup"]) == ([], None)
    # The refresh token is revoked, the access token marked for every process.
    await refused(
        Unauthenticated,
        "invalid_refresh_token",
        handlers.refresh(Refresh(pair.refresh_token), ctx=identity),
    )
    assert isinstance(identity.cache, MemoryCache)
    marks = {mark.name: mark.value for mark in await identity.cache.marks(MARK_SET)}
    assert marks == {jti: REVOKED_MARK}
    # Nobody signs in with the old password, nor with the erased email.
    await refused(
        Unauthenticated,
        "invalid_credentials",
        handlers.login(Login("ann@example.com", PASSWORD, "10.0.0.1"), ctx=identity),
    )
    told = await events(identity)
    assert ("UserErased", {"user_id": user.id, "at": START.isoformat()}) in told
    audited = [data for kind, data in told if kind == "AuditRecorded"]
    assert any(record.get("action") == "user.erased" for record in audited)


# --- the HTTP adapter ----------------------------------------------------------------------


class Services:
    """The catalogue, the bid book and payment behind one ``MockTransport``."""

    def __init__(self) -> None:
        self.answers: dict[str, httpx.Response] = {}
        self.seen: list[tuple[str, str]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.url.path, request.headers["Authorization"]))
        service = request.url.host
        suffix = request.url.path.rpartition("/me/")[2]
        answer = self.answers.get(f"{service}:{suffix}")
        if answer is not None:
            return answer
        if suffix == "export":
            return httpx.Response(200, json=PARTS_OF_ANN[service])
        return httpx.Response(200, json={"obligations": []})


@pytest.fixture
async def services() -> AsyncIterator[tuple[Services, Peers]]:
    fake = Services()
    transport = httpx.MockTransport(fake.handle)
    clients = {
        name: httpx.AsyncClient(transport=transport, base_url=f"http://{name}") for name, _ in PARTS
    }
    yield fake, HttpPeers(clients.__getitem__)
    for client in clients.values():
        await client.aclose()


async def test_the_adapter_asks_each_service_as_the_member(
    services: tuple[Services, Peers],
) -> None:
    fake, peers = services
    assert await peers.exports(token=TOKEN) == PARTS_OF_ANN
    fake.answers["payment:obligations"] = httpx.Response(
        200, json={"obligations": ["unpaid_orders"]}
    )
    fake.answers["auction:obligations"] = httpx.Response(
        200, json={"obligations": ["open_listings"]}
    )
    assert await peers.obligations(token=TOKEN) == ["open_listings", "unpaid_orders"]
    assert sorted(path for path, _ in fake.seen) == sorted(
        prefix + suffix for _, prefix in PARTS for suffix in ("/me/export", "/me/obligations")
    )
    assert {header for _, header in fake.seen} == {f"Bearer {TOKEN}"}


Ask = Callable[[Peers], Awaitable[Any]]


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(503),
        httpx.Response(401, json={"error": {"code": "token_revoked"}}),
        httpx.Response(200, text="not json"),
        httpx.Response(200, json=["not", "an", "object"]),
    ],
    ids=["outage", "refusal", "not-json", "not-an-object"],
)
@pytest.mark.parametrize("question", ["export", "obligations"])
async def test_a_service_answering_anything_but_its_part_is_peer_unavailable(
    services: tuple[Services, Peers], answer: httpx.Response, question: str
) -> None:
    fake, peers = services
    fake.answers[f"bidding:{question}"] = answer
    ask: Ask = (
        (lambda p: p.exports(token=TOKEN))
        if question == "export"
        else (lambda p: p.obligations(token=TOKEN))
    )
    error = await refused(Unavailable, "peer_unavailable", ask(peers))
    assert "bidding" in error.message


async def test_malformed_obligations_and_an_unreachable_service_are_peer_unavailable(
    services: tuple[Services, Peers],
) -> None:
    fake, peers = services
    fake.answers["payment:obligations"] = httpx.Response(200, json={"obligations": [1]})
    await refused(Unavailable, "peer_unavailable", peers.obligations(token=TOKEN))

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(unreachable)) as down:
        error = await refused(
            Unavailable, "peer_unavailable", HttpPeers(lambda _: down).exports(token=TOKEN)
        )
    assert isinstance(error.__cause__, httpx.ConnectError)
