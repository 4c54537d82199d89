"""Bidding's ``AuctionRules`` port answers typed rules: the lot's status is a ``LotStatus``.

The auction service is an ``httpx.MockTransport`` answering ``GET .../rules``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from auction_platform.core.failures import Unavailable
from auction_platform.services.bidding.ports import (
    HttpAuctionRules,
    KnownAuctionRules,
    LotStatus,
)

RULES: dict[str, Any] = {
    "auction_id": "lot-1",
    "seller_id": "sam",
    "title": "A brass lamp",
    "currency": "EUR",
    "start_cents": 1_000,
    "reserve_cents": None,
    "buy_now_cents": None,
    "starts_at": "2026-12-01T12:00:00+00:00",
    "ends_at": "2026-12-03T12:00:00+00:00",
    "soft_close": None,
    "increments": [],
}


async def _no_headers() -> dict[str, str]:
    return {}


async def _asked(answer: httpx.Response) -> Any:
    """What the HTTP adapter makes of the auction service's ``answer``."""
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(lambda request: answer), base_url="http://auction"
    ) as client:
        return await HttpAuctionRules(lambda: client, auth_headers=_no_headers).rules_of("lot-1")


@pytest.mark.parametrize("status", list(LotStatus))
async def test_the_lots_status_comes_as_a_lot_status(status: LotStatus) -> None:
    rules = await _asked(httpx.Response(200, json={**RULES, "status": status.value}))
    assert rules["status"] is status
    assert {k: v for k, v in rules.items() if k != "status"} == RULES


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, json={**RULES, "status": "sold"}),
        httpx.Response(200, json=RULES),
        httpx.Response(200, json=["not", "rules"]),
        httpx.Response(200, text="not json"),
    ],
    ids=["unknown-status", "no-status", "not-an-object", "not-json"],
)
async def test_an_answer_without_a_known_status_is_unavailable(answer: httpx.Response) -> None:
    with pytest.raises(Unavailable) as caught:
        await _asked(answer)
    assert caught.value.code == "service_unavailable"


async def test_rules_held_in_memory_are_open_unless_they_say_otherwise() -> None:
    known = KnownAuctionRules({"lot-1": RULES, "lot-2": {**RULES, "status": "cancelled"}})
    first, second = await known.rules_of("lot-1"), await known.rules_of("lot-2")
    assert first is not None and first["status"] is LotStatus.OPEN
    assert second is not None and second["status"] is LotStatus.CANCELLED
    assert await known.rules_of("lot-3") is None
    assert known.asked == ["lot-1", "lot-2", "lot-3"]
