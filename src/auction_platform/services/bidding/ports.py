"""What bidding asks of other services: the rules of an auction (from the auction service).

A book is normally opened from ``AuctionOpened``; when a bid comes first, the
handlers ask the ``AuctionRules`` port. The composition root (``service.py``) gives
them the HTTP adapter; in the embedded mode its client goes in-process (ASGI).
The answer is typed: the rules (``AuctionRulesData``) and the lot's ``LotStatus``,
which decides whether a book may open now.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Any, Protocol, cast

import httpx

from auction_platform.contracts.auctions import AuctionRulesData
from auction_platform.core.failures import Unavailable


class LotStatus(StrEnum):
    """Where a lot is in its life, as the auction service answers it (its ``Status``)."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class LotRules(AuctionRulesData):
    """An auction's rules, and the status of its lot when asked."""

    status: LotStatus


def _unavailable() -> Unavailable:
    return Unavailable(
        "service_unavailable", "the auction service is unavailable; retry shortly", retry_after=1
    )


class AuctionRules(Protocol):
    """The rules of an auction, as the auction service holds them."""

    async def rules_of(self, auction_id: str) -> LotRules | None:
        """The auction's rules with its lot's status, or None when there is no such auction.

        Raises ``Unavailable`` when the auction service cannot say (or answers nonsense).
        """
        ...


class HttpAuctionRules:
    """``GET /api/v1/auctions/{id}/rules`` on the auction service, as this service."""

    def __init__(
        self,
        client: Callable[[], httpx.AsyncClient],
        *,
        auth_headers: Callable[[], Awaitable[dict[str, str]]],
    ) -> None:
        # Looked up on each call: the composition root may add the client once every
        # service is built (in the embedded mode, an in-process one).
        self.client = client
        self.auth_headers = auth_headers

    async def rules_of(self, auction_id: str) -> LotRules | None:
        """The auction's rules and status, or None (404).

        The status is checked here; the rules' fields where a book opens from them
        (``handlers.runnable``: ``invalid_rules``).
        """
        try:
            response = await self.client().get(
                f"/api/v1/auctions/{auction_id}/rules", headers=await self.auth_headers()
            )
            if response.status_code == 404:
                return None
            response.raise_for_status()
            return with_status(response.json())
        except (httpx.HTTPError, ValueError, TypeError, KeyError) as exc:
            raise _unavailable() from exc


class KnownAuctionRules:
    """Rules held in memory (tests, tools): an auction it does not hold does not exist."""

    def __init__(self, rules: Mapping[str, dict[str, Any]] | None = None) -> None:
        self.rules: dict[str, dict[str, Any]] = dict(rules or {})
        self.asked: list[str] = []

    async def rules_of(self, auction_id: str) -> LotRules | None:
        """The rules held for the auction (open unless they say otherwise), or None."""
        self.asked.append(auction_id)
        held = self.rules.get(auction_id)
        return None if held is None else with_status({"status": LotStatus.OPEN, **held})


def with_status(answer: Mapping[str, Any]) -> LotRules:
    """An answer of ``GET .../rules`` as ``LotRules``: its status a ``LotStatus``.

    Raises ``ValueError`` for a status the auction service does not have, ``KeyError``
    for none, ``TypeError`` for an answer that is not an object.
    """
    if not isinstance(answer, Mapping):
        raise TypeError(f"the rules are not an object: {type(answer).__name__}")
    return cast(LotRules, {**answer, "status": LotStatus(answer["status"])})
