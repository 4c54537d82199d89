"""The shill-bidding rules on crafted histories: which bidders each flags, and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from auction_platform.services.analytics.shill import (
    BidFact,
    Fingerprints,
    SignalKind,
    concentration,
    flags_of,
    retractions,
    shared_signup,
)
from auction_platform.services.identity.signup import fingerprint, shared_address, signals_of

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)


def bids(bidder: str, seller: str, count: int, *, lot: str | None = None) -> list[BidFact]:
    """``count`` bids of a bidder on a seller's lots (one lot each unless ``lot``)."""
    return [
        BidFact(bidder, seller, lot or f"{seller}-lot-{n}", T0 + timedelta(minutes=n))
        for n in range(count)
    ]


def test_a_bidder_whose_bids_go_mostly_to_one_seller_is_flagged_with_that_seller() -> None:
    history = bids("shill", "seller", 7) + bids("shill", "other", 3)
    [flag] = concentration(history)
    assert (flag.kind, flag.bidder_id, flag.seller_id) == (
        SignalKind.CONCENTRATION,
        "shill",
        "seller",
    )
    assert flag.evidence["bids"] == 10
    assert flag.evidence["bids_on_seller"] == 7
    assert flag.evidence["share"] == 0.7
    assert len(flag.evidence["auction_ids"]) == 7


def test_seventy_percent_is_the_line() -> None:
    assert concentration(bids("b", "s", 7) + bids("b", "o", 3))
    assert not concentration(bids("b", "s", 6) + bids("b", "o", 3))  # 66.7%


def test_fewer_than_five_bids_on_the_seller_say_nothing() -> None:
    assert not concentration(bids("b", "s", 4))
    assert concentration(bids("b", "s", 5))


def test_bids_spread_over_sellers_are_honest() -> None:
    history = [fact for n in range(5) for fact in bids("fan", f"seller-{n}", 2)]
    assert concentration(history) == []


def test_shared_signup_address_or_device_with_a_seller_bid_on_is_flagged() -> None:
    history = bids("sock", "seller", 1) + bids("stranger", "seller", 1)
    prints = {
        "seller": Fingerprints(address="addr-1", device="dev-1"),
        "sock": Fingerprints(address="addr-2", device="dev-1"),
        "stranger": Fingerprints(address="addr-3", device="dev-3"),
    }
    [flag] = shared_signup(history, prints)
    assert (flag.kind, flag.bidder_id, flag.seller_id) == (
        SignalKind.SHARED_SIGNUP,
        "sock",
        "seller",
    )
    assert flag.evidence["shared"] == ["device"]


def test_an_unknown_fingerprint_matches_nothing() -> None:
    prints = {"seller": Fingerprints(None, None), "b": Fingerprints(None, None)}
    assert shared_signup(bids("b", "seller", 3), prints) == []


def test_sharing_with_a_seller_never_bid_on_is_not_flagged() -> None:
    prints = {"seller": Fingerprints("a", None), "b": Fingerprints("a", None)}
    assert shared_signup(bids("b", "elsewhere", 3), prints) == []


def test_two_retractions_flag_the_bidder_and_name_the_seller_when_both_on_one() -> None:
    [flag] = retractions(bids("r", "seller", 2))
    assert (flag.kind, flag.bidder_id, flag.seller_id) == (SignalKind.RETRACTIONS, "r", "seller")
    assert flag.evidence["retractions"] == 2
    assert flag.evidence["by_seller"] == {"seller": 2}


def test_retractions_on_different_sellers_name_no_seller() -> None:
    [flag] = retractions(bids("r", "one", 1) + bids("r", "two", 1))
    assert flag.seller_id is None


def test_one_retraction_is_not_a_pattern() -> None:
    assert retractions(bids("r", "seller", 1)) == []


def test_an_honest_history_raises_no_flag() -> None:
    history = [fact for n in range(4) for fact in bids(f"b{n}", f"s{n % 3}", 3)]
    history += bids("b9", "s1", 2) + bids("b9", "s2", 2)
    prints = {f"b{n}": Fingerprints(f"a{n}", f"d{n}") for n in range(10)}
    assert flags_of(history, bids("b1", "s1", 1), prints) == []


def test_fingerprints_are_equal_for_equal_values_and_keyed() -> None:
    one, other = b"k" * 32, b"j" * 32
    assert fingerprint("203.0.113.7", key=one) == fingerprint("203.0.113.7", key=one)
    assert fingerprint("203.0.113.7", key=one) != fingerprint("203.0.113.8", key=one)
    assert fingerprint("203.0.113.7", key=one) != fingerprint("203.0.113.7", key=other)
    assert fingerprint(None, key=one) is None


def test_signup_signals_keep_only_an_address_and_a_device_id_of_the_sites_shape() -> None:
    assert signals_of("unknown", "short").address is None
    assert signals_of("unknown", "short").device_id is None
    kept = signals_of("198.51.100.4", "A" * 32)
    assert (kept.address, kept.device_id) == ("198.51.100.4", "A" * 32)
    assert signals_of(None, "bad id with spaces!!").device_id is None


def test_only_a_public_address_is_shared_for_matching() -> None:
    assert shared_address("203.0.113.7") is None  # documentation range: not global
    assert shared_address("8.8.8.8") == "8.8.8.8"
    assert shared_address("2001:4860:4860::8888") == "2001:4860:4860::8888"
    for private in ("127.0.0.1", "10.1.2.3", "192.168.0.5", "::1", "not an address", None):
        assert shared_address(private) is None
