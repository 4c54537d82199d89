"""The shill-bidding rules: which bidders a daily look at the bid history flags (pure).

A flag asks an admin to look; nothing here (or anywhere) acts on one by itself.
Three patterns, over the bids and retractions of the last ``window_days`` days:

- ``concentration``: most of a bidder's bids (``CONCENTRATION_SHARE``, at least
  ``CONCENTRATION_MIN_BIDS``) went to one seller's lots, the mark of an account
  that exists to raise one seller's prices;
- ``shared_signup``: a bidder signed up from the address or on the device of the
  seller of a lot they bid on (identity's keyed fingerprints, compared as such);
- ``retractions``: a bidder retracted ``RETRACTION_MIN`` bids or more (a shill
  retracts once it has pushed the price up); the seller is named when the
  retractions repeat on one seller's lots.

Standard library only: the facts come in, the flags go out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

CONCENTRATION_SHARE = 0.7
CONCENTRATION_MIN_BIDS = 5
RETRACTION_MIN = 2
DEFAULT_WINDOW_DAYS = 30


class SignalKind(StrEnum):
    """Which pattern a flag is about."""

    CONCENTRATION = "concentration"
    SHARED_SIGNUP = "shared_signup"
    RETRACTIONS = "retractions"


class FlagStatus(StrEnum):
    """Where a flag is in its review: open until an admin reviews or dismisses it."""

    OPEN = "open"
    REVIEWED = "reviewed"
    DISMISSED = "dismissed"


@dataclass(frozen=True, slots=True)
class BidFact:
    """A bid (or a retraction) of the window: who, on whose lot, when."""

    bidder_id: str
    seller_id: str
    auction_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Fingerprints:
    """An account's signup fingerprints (identity's keyed hashes; None when unknown)."""

    address: str | None = None
    device: str | None = None


@dataclass(frozen=True, slots=True)
class Flag:
    """A pattern found: the bidder, the seller when one is concerned, and the evidence."""

    kind: SignalKind
    bidder_id: str
    seller_id: str | None
    evidence: dict[str, Any] = field(default_factory=dict)


def concentration(
    bids: Iterable[BidFact],
    *,
    share: float = CONCENTRATION_SHARE,
    min_bids: int = CONCENTRATION_MIN_BIDS,
) -> list[Flag]:
    """Bidders whose bids went mostly (``share`` or more, ``min_bids`` at least) to one seller."""
    by_bidder: dict[str, Counter[str]] = defaultdict(Counter)
    lots: dict[tuple[str, str], set[str]] = defaultdict(set)
    for bid in bids:
        by_bidder[bid.bidder_id][bid.seller_id] += 1
        lots[bid.bidder_id, bid.seller_id].add(bid.auction_id)
    flags = []
    for bidder_id, sellers in sorted(by_bidder.items()):
        total = sum(sellers.values())
        seller_id, on_seller = min(sellers.items(), key=lambda item: (-item[1], item[0]))
        if on_seller >= min_bids and on_seller >= share * total:
            evidence = {
                "bids": total,
                "bids_on_seller": on_seller,
                "share": round(on_seller / total, 4),
                "auction_ids": sorted(lots[bidder_id, seller_id]),
            }
            flags.append(Flag(SignalKind.CONCENTRATION, bidder_id, seller_id, evidence))
    return flags


def shared_signup(bids: Iterable[BidFact], fingerprints: Mapping[str, Fingerprints]) -> list[Flag]:
    """Bidders who signed up from the address or on the device of a seller they bid on."""
    lots: dict[tuple[str, str], set[str]] = defaultdict(set)
    for bid in bids:
        lots[bid.bidder_id, bid.seller_id].add(bid.auction_id)
    flags = []
    for (bidder_id, seller_id), auction_ids in sorted(lots.items()):
        bidder = fingerprints.get(bidder_id)
        seller = fingerprints.get(seller_id)
        if bidder is None or seller is None or bidder_id == seller_id:
            continue
        shared = [
            name
            for name, mine, theirs in (
                ("address", bidder.address, seller.address),
                ("device", bidder.device, seller.device),
            )
            if mine is not None and mine == theirs
        ]
        if shared:
            evidence = {"shared": shared, "auction_ids": sorted(auction_ids)}
            flags.append(Flag(SignalKind.SHARED_SIGNUP, bidder_id, seller_id, evidence))
    return flags


def retractions(retracted: Iterable[BidFact], *, least: int = RETRACTION_MIN) -> list[Flag]:
    """Bidders who retracted ``least`` bids or more; the seller named when one had ``least``."""
    by_bidder: dict[str, list[BidFact]] = defaultdict(list)
    for fact in retracted:
        by_bidder[fact.bidder_id].append(fact)
    flags = []
    for bidder_id, facts in sorted(by_bidder.items()):
        if len(facts) < least:
            continue
        sellers = Counter(fact.seller_id for fact in facts)
        seller_id, on_seller = min(sellers.items(), key=lambda item: (-item[1], item[0]))
        evidence = {
            "retractions": len(facts),
            "by_seller": dict(sorted(sellers.items())),
            "auction_ids": sorted({fact.auction_id for fact in facts}),
        }
        named = seller_id if on_seller >= least else None
        flags.append(Flag(SignalKind.RETRACTIONS, bidder_id, named, evidence))
    return flags


def flags_of(
    bids: list[BidFact],
    retracted: list[BidFact],
    fingerprints: Mapping[str, Fingerprints],
) -> list[Flag]:
    """Every flag the three rules raise over one window's facts."""
    return [*concentration(bids), *shared_signup(bids, fingerprints), *retractions(retracted)]
