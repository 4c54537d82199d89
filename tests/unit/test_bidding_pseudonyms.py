"""Bidders' public names: keyed, so a user's id alone never unmasks them."""

from __future__ import annotations

import hashlib

from pydantic import SecretStr

from auction_platform.services.bidding.service import PSEUDONYM_KEY_PURPOSE
from auction_platform.services.bidding.state import Pseudonyms
from auction_platform.settings import Settings


def settings(secret_key: str) -> Settings:
    return Settings(_env_file=None, secret_key=SecretStr(secret_key))


KEY = settings("a" * 40).derived_key(PSEUDONYM_KEY_PURPOSE)


def unkeyed(auction_id: str, user_id: str) -> str:
    """What anyone who knows both ids could compute (the names before the key)."""
    return "bidder-" + hashlib.sha256(f"{auction_id}:{user_id}".encode()).hexdigest()[:6]


def test_a_name_is_not_the_unkeyed_hash_of_the_ids() -> None:
    names = Pseudonyms(KEY)
    pairs = [(f"lot-{i}", f"user-{i}") for i in range(20)]
    assert all(names.of(a, u) != unkeyed(a, u) for a, u in pairs)


def test_a_bidder_keeps_one_name_in_an_auction_and_another_elsewhere() -> None:
    names = Pseudonyms(KEY)
    name = names.of("lot-1", "ann")
    assert name is not None
    assert name.startswith("bidder-")
    assert len(name) == len("bidder-") + 6
    assert Pseudonyms(KEY).of("lot-1", "ann") == name
    assert names.of("lot-2", "ann") != name
    assert names.of("lot-1", "bob") != name
    assert names.of("lot-1", None) is None


def test_another_secret_key_gives_other_names() -> None:
    other = settings("b" * 40).derived_key(PSEUDONYM_KEY_PURPOSE)
    assert other != KEY
    pairs = [(f"lot-{i}", "ann") for i in range(20)]
    assert all(Pseudonyms(KEY).of(a, u) != Pseudonyms(other).of(a, u) for a, u in pairs)


def test_the_key_is_the_secret_keys_for_this_purpose_only() -> None:
    mine = settings("a" * 40)
    assert mine.derived_key(PSEUDONYM_KEY_PURPOSE) == KEY
    assert mine.derived_key("another purpose") != KEY
    assert b"a" * 40 not in KEY
    assert len(KEY) == 32
