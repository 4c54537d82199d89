"""What a suspension does to an account's bids: where it leads an open lot, its bids go.

``identity.UserSuspended`` is taken by one consumer, which sends ``WithdrawBids`` to
each open book the account leads, through the batch like any command on a book (the
book's lock orders it with the bids): every bid of the account there is retracted,
the book replayed, ``BidRetracted`` told and the live feed refreshed, as a bidder's
own retraction does. It is a stateless consumer (no inbox row) because each book's
batch is its own transaction; doing it again is harmless: an account that no longer
leads loses nothing more.
"""

from __future__ import annotations

import logging

from auction_platform.contracts import identity
from auction_platform.contracts.events import Envelope
from auction_platform.core.failures import DomainError
from auction_platform.core.service import StatelessConsumer
from auction_platform.services.bidding import store
from auction_platform.services.bidding.domain import WithdrawBids
from auction_platform.services.bidding.handlers import Bidding

log = logging.getLogger("auction_platform.bidding.suspensions")


def consumer(bidding: Bidding) -> StatelessConsumer:
    """The bidding service's one consumer of suspensions."""

    async def bidder_suspended(event: Envelope) -> None:
        user_id = str(event.data["user_id"])
        async with bidding.uow.db.read() as conn:
            auction_ids = await store.open_books_led_by(conn, user_id)
        for auction_id in auction_ids:
            try:
                await bidding.submit(auction_id, WithdrawBids(user_id))
            except DomainError as refusal:
                # Closed meanwhile: its result stands.
                log.info("book %s led by suspended %s left: %s", auction_id, user_id, refusal.code)

    return StatelessConsumer(
        "suspensions", (f"identity.{identity.USER_SUSPENDED}",), bidder_suspended
    )
