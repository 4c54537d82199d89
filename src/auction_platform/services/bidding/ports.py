"""What bidding asks of other services: the rules of an auction (from the auction service).

A book is normally opened from ``AuctionOpened``; when a bid comes first, the
handlers ask the ``AuctionRules`` port. The composition root (``service.py``) gives
them the HTTP adapter; in the embedded mode its client goes in-process (ASGI).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import httpx

from auction_platform.core.failures import Unavailable


class AuctionRules(Protocol):
    """The rules of an auction, as the auction service holds them."""

    async def rules_of(self, auction_id: str) -> dict[str, Any] | None:
        """``AuctionRulesData`` with the lot's ``status``, or None when there is no such auction.

        Raises ``Unavailable`` when the auction service cannot say.
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

    async def rules_of(self, auction_id: str) -> dict[str, Any] | None:
        """The auction's rules and status, or None (404)."""
        try:
            response = await self.client().get(
                f"/api/v1/auctions/{auction_id}/rules", headers=await self.auth_headers()
            )
            if response.status_code == 404:
                return None
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise Unavailable(
                "service_unavailable",
                "the auction service is unavailable; retry shortly",
                retry_after=1,
            ) from exc
        rules: dict[str, Any] = response.json()
        return rules


class KnownAuctionRules:
    """Rules held in memory (tests, tools): an auction it does not hold does not exist."""

    def __init__(self, rules: Mapping[str, dict[str, Any]] | None = None) -> None:
        self.rules: dict[str, dict[str, Any]] = dict(rules or {})
        self.asked: list[str] = []

    async def rules_of(self, auction_id: str) -> dict[str, Any] | None:
        """The rules held for the auction, or None."""
        self.asked.append(auction_id)
        return self.rules.get(auction_id)
