"""What the auction service asks of others: the bid book, to cancel an auction or follow an edit.

``BookControl`` is the use cases' view of the bidding service, in the domain's terms:
cancel the book of an auction, for its seller or an admin (the answer says who bid and
whether their bids were voided, or why the book refused); run the book under a lot's
new rules, which the book refuses once a bid has come first. ``HttpBookControl`` asks
the bidding service over its HTTP contract (in the embedded mode the client goes
in-process); handler tests pass a fake.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import httpx

from auction_platform.contracts.auctions import AuctionRulesData
from auction_platform.core.failures import Unavailable
from auction_platform.services.auction.domain import Actor


class BookRefusal(StrEnum):
    """Why the book will not be cancelled, or will not take new rules."""

    HAS_BIDS = "has_bids"  # someone has bid (and a seller asked to cancel, or to edit)
    NOT_CANCELLABLE = "not_cancellable"  # the book is past cancelling (it has closed)
    NOT_EDITABLE = "not_editable"  # the book has closed or was cancelled


@dataclass(frozen=True, slots=True)
class BookCancelled:
    """The book is closed to bids: everyone who bid, first bid first, and whether bids died."""

    bidder_ids: tuple[str, ...]
    bids_voided: bool


@dataclass(frozen=True, slots=True)
class BookRefused:
    """The book said no; the lot stays as it is."""

    reason: BookRefusal


@dataclass(frozen=True, slots=True)
class BookEdited:
    """The book runs under the new rules (opened with them if it had not opened yet)."""


BookAnswer = BookCancelled | BookRefused
EditAnswer = BookEdited | BookRefused


class BookControl(Protocol):
    """The bid book of each auction, as the auction service may steer it."""

    async def cancel(self, auction_id: str, *, by: Actor) -> BookAnswer:
        """Close the book of ``auction_id`` to bids, ``by`` its seller or an admin.

        Raises ``Unavailable`` when the book cannot be asked (or answers nonsense).
        """
        ...

    async def edit(self, auction_id: str, rules: AuctionRulesData) -> EditAnswer:
        """Run the book of ``auction_id`` under ``rules``, unless a bid was accepted first.

        The book decides under its own lock, so a bid and an edit never both win.
        Raises ``Unavailable`` when the book cannot be asked (or answers nonsense).
        """
        ...


def _unavailable() -> Unavailable:
    return Unavailable(
        "dependency_unavailable",
        "the bidding service is unavailable; retry shortly",
        retry_after=1,
    )


class HttpBookControl:
    """``BookControl`` over the bidding service's ``POST .../book/cancel``."""

    def __init__(
        self,
        client: Callable[[], httpx.AsyncClient],
        auth_headers: Callable[[], Awaitable[dict[str, str]]],
    ) -> None:
        # Looked up per call: in the embedded mode the client may be re-pointed after start.
        self._client = client
        self._auth_headers = auth_headers

    async def cancel(self, auction_id: str, *, by: Actor) -> BookAnswer:
        """Ask the bidding service to close the book; a 409 is a refusal, a 5xx an outage."""
        try:
            response = await self._client().post(
                f"/api/v1/auctions/{auction_id}/book/cancel",
                json={"by": by.value},
                headers=await self._auth_headers(),
            )
        except httpx.HTTPError as error:
            raise _unavailable() from error
        if response.status_code == 409:
            if _error_code(response) == BookRefusal.HAS_BIDS:
                return BookRefused(BookRefusal.HAS_BIDS)
            return BookRefused(BookRefusal.NOT_CANCELLABLE)
        if response.status_code >= 500:
            raise _unavailable()
        if response.status_code == 200:
            try:
                body = response.json()
                bidders = tuple(str(user) for user in body["bidder_ids"])
                return BookCancelled(bidder_ids=bidders, bids_voided=body["bids_voided"] is True)
            except (ValueError, TypeError, KeyError):
                pass
        raise Unavailable("bad_gateway", f"the bidding service answered {response.status_code}")

    async def edit(self, auction_id: str, rules: AuctionRulesData) -> EditAnswer:
        """``PUT .../book/rules``: 200 the book follows, 409 it refuses, a 5xx an outage."""
        try:
            response = await self._client().put(
                f"/api/v1/auctions/{auction_id}/book/rules",
                json=dict(rules),
                headers=await self._auth_headers(),
            )
        except httpx.HTTPError as error:
            raise _unavailable() from error
        if response.status_code == 200:
            return BookEdited()
        if response.status_code == 409:
            if _error_code(response) == BookRefusal.HAS_BIDS:
                return BookRefused(BookRefusal.HAS_BIDS)
            return BookRefused(BookRefusal.NOT_EDITABLE)
        if response.status_code >= 500:
            raise _unavailable()
        raise Unavailable("bad_gateway", f"the bidding service answered {response.status_code}")


def _error_code(response: httpx.Response) -> str | None:
    try:
        code = response.json()["error"]["code"]
    except (ValueError, TypeError, KeyError):
        return None
    return code if isinstance(code, str) else None
