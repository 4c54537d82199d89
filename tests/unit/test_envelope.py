"""The event envelope: every field survives the wire; anything else is refused."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from auction_platform.contracts.events import Envelope


def test_envelope_round_trips_through_json() -> None:
    original = Envelope(
        type="BidPlaced",
        producer="bidding",
        data={"auction_id": "a1", "price": {"amount": 1250, "currency": "EUR"}},
        version=2,
        correlation_id="req-1",
        occurred_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    assert Envelope.from_json(original.to_json()) == original


def test_routing_key_is_producer_dot_type() -> None:
    assert Envelope(type="AuctionClosed", producer="bidding", data={}).routing_key == (
        "bidding.AuctionClosed"
    )


def test_every_envelope_gets_its_own_id() -> None:
    assert (
        Envelope(type="T", producer="p", data={}).id != Envelope(type="T", producer="p", data={}).id
    )


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"id": "x"}',
        b'{"id": "x", "type": "T", "version": 1, '
        b'"occurred_at": "2026-01-01T00:00:00+00:00", "producer": "p", "data": [1]}',
    ],
)
def test_anything_but_an_envelope_is_refused(body: bytes) -> None:
    with pytest.raises(ValueError, match=r"event|envelope"):
        Envelope.from_json(body)


def test_naive_times_are_read_as_utc() -> None:
    raw = Envelope(type="T", producer="p", data={}).to_dict()
    raw["occurred_at"] = "2026-01-01T12:00:00"
    assert Envelope.from_dict(raw).occurred_at.tzinfo is UTC


def test_an_envelope_read_from_the_wire_is_sent_on_as_the_bytes_it_came_as() -> None:
    original = Envelope(type="BidPlaced", producer="bidding", data={"b": 2, "a": 1})
    body = original.to_json()
    read = Envelope.from_json(body)
    assert read.to_json() == body
    assert read == original  # the bytes it came as are not part of its value
    # A copy with another field is serialised afresh.
    changed = replace(read, type="Outbid")
    assert Envelope.from_json(changed.to_json()).type == "Outbid"
