"""Bidders' names in the public bid history are keyed by the platform's SECRET_KEY.

Beside ``test_bidding_api.py::test_the_public_history_never_shows_maximums_or_identities``:
the names a reader gets are not a hash anyone who knows the auction's and the user's ids
could compute, and the same bids served under another SECRET_KEY show other names.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from auction_platform.services.bidding.service import PSEUDONYM_KEY_PURPOSE
from auction_platform.services.bidding.state import Pseudonyms
from auction_platform.settings import Settings
from support.accounts import sign_up_all
from support.books import auction_rules, open_book
from support.platforms import client, embedded_settings, running

ALL = ("identity", "auction", "bidding", "payment", "notification", "analytics", "gateway")
FIRST_KEY, SECOND_KEY = "first-secret-key-" + "a" * 24, "second-secret-key-" + "b" * 24


def unkeyed(auction_id: str, user_id: str) -> set[str]:
    """Names anyone could compute from the two ids (the names before they were keyed)."""
    messages = (f"{auction_id}:{user_id}", f"{auction_id}{user_id}", f"{auction_id}\0{user_id}")
    return {"bidder-" + hashlib.sha256(m.encode()).hexdigest()[:6] for m in messages}


def _settings(data_dir: Path, secret_key: str) -> Settings:
    return embedded_settings(data_dir, secret_key=SecretStr(secret_key))


async def _names(settings: Settings, auction_id: str) -> tuple[list[str], str]:
    """The bidder of each step of the public history, and the book's leader.

    Read from the bidding service alone: identity keeps its signing keys sealed with
    SECRET_KEY, and the public history needs no token.
    """
    async with (
        running(settings, ("bidding", "gateway"), embedded=True) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        history = await http.get(f"/api/v1/auctions/{auction_id}/bids")
        assert history.status_code == 200, history.text
        book = await http.get(f"/api/v1/auctions/{auction_id}/book")
        assert book.status_code == 200, book.text
    steps: list[dict[str, Any]] = history.json()["bids"]
    return [step["bidder"] for step in steps], str(book.json()["leader"])


async def test_history_names_are_keyed_and_change_with_the_secret_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = _settings(data, FIRST_KEY)
    async with (
        running(first, ALL, embedded=True) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        seller, ann, bob = await sign_up_all(http, "Sam", "Ann", "Bob")
        auction = await open_book(platform, auction_rules(seller.id))
        for who, cents in ((ann, 500), (bob, 800), (ann, 1_200)):
            placed = await http.post(
                f"/api/v1/auctions/{auction}/bids",
                json={"max_amount_cents": cents},
                headers=who.headers,
            )
            assert placed.status_code in (200, 201), placed.text

    bidders, leader = await _names(first, auction)
    assert len(bidders) == 3
    assert bidders[0] == bidders[2] == leader != bidders[1]  # one name per bidder
    for name, user in zip(bidders, (ann.id, bob.id, ann.id), strict=True):
        assert name not in unkeyed(auction, user)
        # The key is SECRET_KEY's for this purpose (what the service is given).
        assert name == Pseudonyms(first.derived_key(PSEUDONYM_KEY_PURPOSE)).of(auction, user)

    # The same bids, served by a platform with another SECRET_KEY: other names.
    second = _settings(data, SECOND_KEY)
    others, other_leader = await _names(second, auction)
    assert len(others) == 3
    assert others[0] == others[2] == other_leader != others[1]
    assert not set(others) & set(bidders)
    for name, user in zip(others, (ann.id, bob.id, ann.id), strict=True):
        assert name not in unkeyed(auction, user)
