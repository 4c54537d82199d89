"""What payment holds about a member, what keeps their account open, and its erasure.

Orders (as buyer or seller), second-chance offers, payouts, the seller ledger,
feedback given and received, and disputes (with their threads) leave in the data
export. An account stays open while money or goods are still moving: an order
awaiting payment (``unpaid_orders``), a paid order not yet received
(``undelivered_orders``), an offer not yet taken or lapsed (``open_offers``), a
dispute not yet resolved, as buyer or seller (``open_disputes``). Once closed
(identity's ``UserErased``), the delivery addresses on the member's orders are
erased; every amount, id and date stays, so orders, payouts and the ledger add up
as before.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.contracts.events import Envelope
from auction_platform.core.privacy import records
from auction_platform.core.uow import Transaction
from auction_platform.services.payment.dispute_store import dispute_messages, disputes
from auction_platform.services.payment.disputes import DisputeStatus
from auction_platform.services.payment.domain import Fulfilment, OfferStatus, Status
from auction_platform.services.payment.feedback_store import feedback
from auction_platform.services.payment.payout_store import ledger, payouts
from auction_platform.services.payment.store import offers, orders


def _party(user_id: str) -> Any:
    return or_(orders.c.buyer_id == user_id, orders.c.seller_id == user_id)


def _disputant(user_id: str) -> Any:
    return or_(disputes.c.buyer_id == user_id, disputes.c.seller_id == user_id)


async def export(conn: AsyncConnection, user_id: str) -> dict[str, Any]:
    """The member's orders, offers, payouts, ledger and feedback."""

    async def rows(query: Any) -> list[dict[str, Any]]:
        return records(await conn.execute(query))

    own_offers = or_(offers.c.user_id == user_id, offers.c.seller_id == user_id)
    own_disputes = select(disputes.c.id).where(_disputant(user_id))
    return {
        "orders": await rows(select(orders).where(_party(user_id)).order_by(orders.c.created_at)),
        "offers": await rows(select(offers).where(own_offers).order_by(offers.c.created_at)),
        "payouts": await rows(
            select(payouts).where(payouts.c.seller_id == user_id).order_by(payouts.c.created_at)
        ),
        "ledger": await rows(
            select(ledger).where(ledger.c.seller_id == user_id).order_by(ledger.c.id)
        ),
        "feedback_given": await rows(
            select(feedback).where(feedback.c.rater_id == user_id).order_by(feedback.c.created_at)
        ),
        "feedback_received": await rows(
            select(feedback).where(feedback.c.ratee_id == user_id).order_by(feedback.c.created_at)
        ),
        "disputes": await rows(
            select(disputes).where(_disputant(user_id)).order_by(disputes.c.opened_at)
        ),
        "dispute_messages": await rows(
            select(dispute_messages)
            .where(dispute_messages.c.dispute_id.in_(own_disputes))
            .order_by(dispute_messages.c.created_at, dispute_messages.c.id)
        ),
    }


async def obligations(conn: AsyncConnection, user_id: str) -> list[str]:
    """``unpaid_orders``, ``undelivered_orders``, ``open_offers``, ``open_disputes``: what
    is still moving."""
    unpaid = orders.c.status == Status.AWAITING_PAYMENT.value
    undelivered = (orders.c.status == Status.PAID.value) & (
        orders.c.fulfilment != Fulfilment.RECEIVED.value
    )
    disputed = disputes.c.status == DisputeStatus.OPEN.value
    offered = (offers.c.status == OfferStatus.OFFERED.value) & or_(
        offers.c.user_id == user_id, offers.c.seller_id == user_id
    )
    checks = (
        ("unpaid_orders", select(orders.c.id).where(_party(user_id), unpaid)),
        ("undelivered_orders", select(orders.c.id).where(_party(user_id), undelivered)),
        ("open_offers", select(offers.c.id).where(offered)),
        ("open_disputes", select(disputes.c.id).where(_disputant(user_id), disputed)),
    )
    return [code for code, query in checks if (await conn.execute(query.limit(1))).first()]


async def user_erased(tx: Transaction, event: Envelope) -> None:
    """Erase the delivery addresses on a closed account's orders (as buyer): the
    ``user-erased`` consumer of ``identity.UserErased`` (``consumers``)."""
    await tx.conn.execute(
        update(orders)
        .where(orders.c.buyer_id == str(event.data["user_id"]))
        .values(delivery_address=None)
    )
