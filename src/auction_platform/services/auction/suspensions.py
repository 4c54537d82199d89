"""What a suspension does to a seller's lots: each scheduled or open one is cancelled.

``identity.UserSuspended`` is taken by one consumer, which cancels the lots through
the admin's cancellation (``handlers.cancel_lot``: the book is asked first, bids
voided, bidders told with ``AuctionCancelled``), each in its own transactions, as
the suspending admin. It is a stateless consumer (no inbox row): the cancellation
asks the bid book over HTTP, which must not happen inside a transaction, and doing
it again is harmless: a lot cancelled already is no longer listed, and one that
closed meanwhile is left as it ended.
"""

from __future__ import annotations

import logging

from auction_platform.contracts import identity
from auction_platform.contracts.events import Envelope
from auction_platform.core.failures import DomainError
from auction_platform.core.service import StatelessConsumer
from auction_platform.services.auction import handlers, store
from auction_platform.services.auction.commands import CancelLot
from auction_platform.services.auction.domain import Caller
from auction_platform.services.auction.handlers import Auctions

log = logging.getLogger("auction_platform.auction.suspensions")

# What the bidders are told: the seller's account is gone, not the admin's words.
REASON = "the seller's account was suspended"


def consumer(ctx: Auctions) -> StatelessConsumer:
    """The auction service's one consumer of suspensions."""

    async def seller_suspended(event: Envelope) -> None:
        seller_id = str(event.data["user_id"])
        admin = Caller(str(event.data["suspended_by"]), admin=True)
        async with ctx.uow.db.read() as conn:
            lot_ids = await store.listed_lot_ids_of(conn, seller_id)
        for lot_id in lot_ids:
            try:
                await handlers.cancel_lot(CancelLot(lot_id, admin, REASON), ctx=ctx)
            except DomainError as refusal:
                # Closed (or cancelled) meanwhile: it stays as it ended.
                log.info("lot %s of suspended %s left: %s", lot_id, seller_id, refusal.code)

    return StatelessConsumer(
        "suspensions", (f"identity.{identity.USER_SUSPENDED}",), seller_suspended
    )
