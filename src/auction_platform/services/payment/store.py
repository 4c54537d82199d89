"""Tables and queries of the payment service: orders, reminders, offers, webhook events."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    delete,
    func,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.core.service import service_tables
from auction_platform.core.sql import insert_ignoring_duplicates, maybe_utc, utc
from auction_platform.services.payment import views
from auction_platform.services.payment.domain import (
    DeliveryMethod,
    DeliveryTerms,
    Fulfilment,
    Offer,
    OfferStatus,
    Order,
    SaleFormat,
    Status,
)

TABLES = service_tables("payment")

AWAITING = Status.AWAITING_PAYMENT.value
OFFERED = OfferStatus.OFFERED.value

orders = Table(
    "payment_orders",
    TABLES.metadata,
    Column("id", String(32), primary_key=True),
    Column("auction_id", String(64), nullable=False),
    Column("second_chance", Boolean, nullable=False),
    Column("title", String(200), nullable=False),
    Column("buyer_id", String(64), nullable=False),
    Column("seller_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("hammer_cents", BigInteger, nullable=False),
    # Percentages as decimal text: exact, and the same on SQLite and PostgreSQL.
    Column("buyers_premium_percent", String(16), nullable=False),
    Column("buyers_premium_cents", BigInteger, nullable=False),
    Column("seller_fee_percent", String(16), nullable=False),
    Column("seller_fee_cents", BigInteger, nullable=False),
    Column("status", String(24), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("runner_up_id", String(64), nullable=True),
    Column("runner_up_max_cents", BigInteger, nullable=True),
    Column("payment_intent_id", String(255), nullable=True, unique=True),
    Column("attempts", Integer, nullable=False),
    Column("last_failure", String(200), nullable=True),
    Column("paid_cents", BigInteger, nullable=True),
    Column("paid_at", DateTime(timezone=True), nullable=True),
    Column("expired_at", DateTime(timezone=True), nullable=True),
    Column("refunded_cents", BigInteger, nullable=False),
    Column("refunded_at", DateTime(timezone=True), nullable=True),
    Column("refund_due", Boolean, nullable=False),
    # Delivery: the listing's terms and the buyer's address as JSON text (see ``delivery``).
    Column("delivery_terms", Text, nullable=True),
    Column("delivery_method", String(24), nullable=True),
    Column("shipping_cents", BigInteger, nullable=False, server_default="0"),
    Column("delivery_address", Text, nullable=True),
    Column("fulfilment", String(16), nullable=False, server_default="pending"),
    Column("shipped_at", DateTime(timezone=True), nullable=True),
    Column("tracking_number", String(100), nullable=True),
    Column("carrier", String(100), nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=True),
    # How the lot was sold (an order made before there were formats: english).
    Column("format", String(24), nullable=False, server_default="english"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # One order per auction for its winner, and at most one second-chance order.
    UniqueConstraint("auction_id", "second_chance", name="uq_payment_orders_auction"),
    Index("ix_payment_orders_buyer", "buyer_id", "created_at", "id"),
    Index("ix_payment_orders_seller", "seller_id", "created_at", "id"),
    Index(
        "ix_payment_orders_due",
        "due_at",
        postgresql_where=text("status = 'awaiting_payment'"),
        sqlite_where=text("status = 'awaiting_payment'"),
    ),
    Index(
        "ix_payment_orders_shipped",
        "shipped_at",
        postgresql_where=text("fulfilment = 'shipped'"),
        sqlite_where=text("fulfilment = 'shipped'"),
    ),
)

# Each lot's delivery terms as its listing last said (auction.AuctionPublished/Edited):
# an order copies them when it is made; ``occurred_at`` keeps an older event from
# overwriting a newer one delivered late.
lot_delivery = Table(
    "payment_lot_delivery",
    TABLES.metadata,
    Column("auction_id", String(64), primary_key=True),
    Column("delivery", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
)

reminders = Table(
    "payment_reminders",
    TABLES.metadata,
    Column("order_id", String(32), ForeignKey("payment_orders.id"), primary_key=True),
    Column("hours_after", Integer, primary_key=True),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Index(
        "ix_payment_reminders_due",
        "due_at",
        postgresql_where=text("sent_at IS NULL"),
        sqlite_where=text("sent_at IS NULL"),
    ),
)

offers = Table(
    "payment_offers",
    TABLES.metadata,
    Column("id", String(32), primary_key=True),
    # One second-chance offer per auction.
    Column("auction_id", String(64), nullable=False, unique=True),
    Column("from_order_id", String(32), ForeignKey("payment_orders.id"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("seller_id", String(64), nullable=False),
    Column("price_cents", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("order_id", String(32), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_payment_offers_user", "user_id", "created_at", "id"),
    Index(
        "ix_payment_offers_due",
        "due_at",
        postgresql_where=text("status = 'offered'"),
        sqlite_where=text("status = 'offered'"),
    ),
)

# Provider webhook events seen, by the provider's event id: redelivery changes nothing.
webhook_events = Table(
    "payment_webhook_events",
    TABLES.metadata,
    Column("event_id", String(255), primary_key=True),
    Column("type", String(100), nullable=False),
    Column("order_id", String(32), nullable=True),
    Column("outcome", String(64), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)


# Answers recorded for an Idempotency-Key, per user: a retry of ``POST .../pay`` gets the
# first answer again. ``status_code`` 0 while the first request is still being answered.
idempotency = Table(
    "payment_idempotency",
    TABLES.metadata,
    Column("user_id", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_payment_idempotency_created", "created_at"),
)


_ORDER_TIMES = (
    "due_at",
    "created_at",
    "updated_at",
    "paid_at",
    "expired_at",
    "refunded_at",
    "shipped_at",
    "received_at",
)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), sort_keys=True)


def _order_columns(order: Order) -> dict[str, Any]:
    values = {f.name: getattr(order, f.name) for f in dataclasses.fields(order)}
    values["status"] = order.status.value
    values["buyers_premium_percent"] = str(order.buyers_premium_percent)
    values["seller_fee_percent"] = str(order.seller_fee_percent)
    terms = order.delivery_terms
    values["delivery_terms"] = _json(views.delivery_data(terms) if terms else None)
    values["delivery_method"] = order.delivery_method.value if order.delivery_method else None
    values["delivery_address"] = _json(order.delivery_address)
    values["fulfilment"] = order.fulfilment.value
    values["format"] = order.format.value
    return values


def order_from_row(row: Any) -> Order:
    """Rebuild an order from its row (which may carry other columns too)."""
    values = {column.name: row._mapping[column] for column in orders.c}
    for name in _ORDER_TIMES:
        values[name] = maybe_utc(values[name])
    values["status"] = Status(values["status"])
    values["buyers_premium_percent"] = Decimal(values["buyers_premium_percent"])
    values["seller_fee_percent"] = Decimal(values["seller_fee_percent"])
    terms, method, address = (
        values[n] for n in ("delivery_terms", "delivery_method", "delivery_address")
    )
    values["delivery_terms"] = views.delivery_terms(json.loads(terms)) if terms else None
    values["delivery_method"] = DeliveryMethod(method) if method else None
    values["delivery_address"] = json.loads(address) if address else None
    values["fulfilment"] = Fulfilment(values["fulfilment"])
    values["format"] = SaleFormat(values["format"])
    return Order(**values)


def _offer_columns(offer: Offer) -> dict[str, Any]:
    values = {f.name: getattr(offer, f.name) for f in dataclasses.fields(offer)}
    values["status"] = offer.status.value
    return values


def offer_from_row(row: Any) -> Offer:
    """Rebuild an offer from its row."""
    values = {column.name: row._mapping[column] for column in offers.c}
    for name in ("due_at", "created_at", "updated_at"):
        values[name] = utc(values[name])
    values["status"] = OfferStatus(values["status"])
    return Offer(**values)


async def add_order(conn: AsyncConnection, order: Order) -> bool:
    """Insert an order unless its auction has one of its kind already; True when inserted."""
    return await insert_ignoring_duplicates(conn, orders, _order_columns(order))


async def save_order(conn: AsyncConnection, order: Order) -> None:
    """Write a changed order back."""
    values = _order_columns(order)
    del values["id"]
    await conn.execute(update(orders).where(orders.c.id == order.id).values(**values))


async def order_by_id(
    conn: AsyncConnection, order_id: str, *, for_update: bool = False
) -> Order | None:
    """The order with this id (locked for the transaction when ``for_update``)."""
    query = select(orders).where(orders.c.id == order_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return order_from_row(row) if row else None


async def order_for_payment(
    conn: AsyncConnection, *, order_id: str | None, payment_intent_id: str | None
) -> Order | None:
    """The order a provider event is about (by our id in its metadata, else its intent), locked."""
    if order_id:
        found = await order_by_id(conn, order_id, for_update=True)
        if found is not None:
            return found
    if not payment_intent_id:
        return None
    query = select(orders).where(orders.c.payment_intent_id == payment_intent_id)
    row = (await conn.execute(query.with_for_update())).first()
    return order_from_row(row) if row else None


async def attach_payment_intent(conn: AsyncConnection, order_id: str, intent_id: str) -> None:
    """Remember the order's payment intent (the first one; it never changes)."""
    await conn.execute(
        update(orders)
        .where(orders.c.id == order_id, orders.c.payment_intent_id.is_(None))
        .values(payment_intent_id=intent_id)
    )


async def orders_of(
    conn: AsyncConnection,
    *,
    user_id: str | None,
    as_seller: bool = False,
    status: Status | None = None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Order]:
    """Orders newest first after a keyset cursor: a user's as buyer (or seller), or everyone's."""
    query = select(orders)
    if user_id is not None:
        owner = orders.c.seller_id if as_seller else orders.c.buyer_id
        query = query.where(owner == user_id)
    if status is not None:
        query = query.where(orders.c.status == status.value)
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(orders.c.created_at < at, and_(orders.c.created_at == at, orders.c.id < last_id))
        )
    query = query.order_by(orders.c.created_at.desc(), orders.c.id.desc()).limit(limit)
    return [order_from_row(row) for row in (await conn.execute(query)).all()]


async def orders_of_auction(conn: AsyncConnection, auction_id: str) -> list[Order]:
    """Every order of one auction (the winner's, and a second-chance one)."""
    query = select(orders).where(orders.c.auction_id == auction_id).order_by(orders.c.created_at)
    return [order_from_row(row) for row in (await conn.execute(query)).all()]


async def record_lot_delivery(
    conn: AsyncConnection, auction_id: str, terms: DeliveryTerms, *, occurred_at: datetime
) -> None:
    """Remember a lot's delivery terms, unless newer ones were recorded already."""
    values = {
        "auction_id": auction_id,
        "delivery": _json(views.delivery_data(terms)),
        "occurred_at": occurred_at,
    }
    if await insert_ignoring_duplicates(conn, lot_delivery, values):
        return
    await conn.execute(
        update(lot_delivery)
        .where(lot_delivery.c.auction_id == auction_id, lot_delivery.c.occurred_at <= occurred_at)
        .values(delivery=values["delivery"], occurred_at=occurred_at)
    )


async def lot_delivery_terms(conn: AsyncConnection, auction_id: str) -> DeliveryTerms | None:
    """A lot's delivery terms as its listing last said (None: never heard of)."""
    query = select(lot_delivery.c.delivery).where(lot_delivery.c.auction_id == auction_id)
    found = await conn.scalar(query)
    return views.delivery_terms(json.loads(found)) if found else None


async def add_reminders(
    conn: AsyncConnection, order_id: str, planned: Sequence[tuple[int, datetime]]
) -> None:
    """Plan an order's payment reminders: ``(hours_after, due_at)``."""
    if planned:
        await conn.execute(
            reminders.insert(),
            [{"order_id": order_id, "hours_after": h, "due_at": at} for h, at in planned],
        )


async def drop_unsent_reminders(conn: AsyncConnection, order_id: str) -> None:
    """Forget the reminders of an order that no longer awaits payment."""
    await conn.execute(
        delete(reminders).where(reminders.c.order_id == order_id, reminders.c.sent_at.is_(None))
    )


async def due_work(conn: AsyncConnection, *, now: datetime) -> bool:
    """Whether some reminder, order or offer is due (a cheap read before claiming)."""
    probes = (
        select(reminders.c.order_id).where(
            reminders.c.sent_at.is_(None), reminders.c.due_at <= now
        ),
        select(orders.c.id).where(orders.c.status == AWAITING, orders.c.due_at <= now),
        select(offers.c.id).where(offers.c.status == OFFERED, offers.c.due_at <= now),
    )
    for probe in probes:
        if await conn.scalar(probe.limit(1)) is not None:
            return True
    return False


SHIPPED = Fulfilment.SHIPPED.value


def first_shipment() -> Any:
    """The query of the earliest shipment of a paid order not yet received."""
    shipped = (orders.c.fulfilment == SHIPPED, orders.c.status == Status.PAID.value)
    return select(func.min(orders.c.shipped_at)).where(*shipped)


async def shipped_before(conn: AsyncConnection, moment: datetime, *, limit: int) -> list[str]:
    """Paid orders shipped before ``moment`` and not yet received, oldest shipment first."""
    query = (
        select(orders.c.id)
        .where(
            orders.c.fulfilment == SHIPPED,
            orders.c.status == Status.PAID.value,
            orders.c.shipped_at <= moment,
        )
        .order_by(orders.c.shipped_at)
        .limit(limit)
    )
    return [str(order_id) for order_id in (await conn.scalars(query)).all()]


async def claim_due_reminders(
    conn: AsyncConnection, *, now: datetime, limit: int
) -> list[tuple[Order, int]]:
    """Unsent due reminders with their orders, locked (skipping other replicas' claims)."""
    query = (
        select(orders, reminders.c.hours_after)
        .join(reminders, reminders.c.order_id == orders.c.id)
        .where(reminders.c.sent_at.is_(None), reminders.c.due_at <= now)
        .order_by(reminders.c.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=reminders)
    )
    found = (await conn.execute(query)).all()
    return [(order_from_row(row), int(row.hours_after)) for row in found]


async def mark_reminders_sent(
    conn: AsyncConnection, sent: Sequence[tuple[str, int]], *, now: datetime
) -> None:
    """Record that reminders went out (or were dropped): ``(order_id, hours_after)``."""
    if sent:
        key = tuple_(reminders.c.order_id, reminders.c.hours_after)
        await conn.execute(update(reminders).where(key.in_(list(sent))).values(sent_at=now))


async def claim_due_orders(conn: AsyncConnection, *, now: datetime, limit: int) -> list[Order]:
    """Unpaid orders past due, locked; rows another replica (or a webhook) holds are skipped."""
    query = (
        select(orders)
        .where(orders.c.status == AWAITING, orders.c.due_at <= now)
        .order_by(orders.c.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [order_from_row(row) for row in (await conn.execute(query)).all()]


async def add_offer(conn: AsyncConnection, offer: Offer) -> bool:
    """Insert an offer unless the auction has one; True when inserted."""
    return await insert_ignoring_duplicates(conn, offers, _offer_columns(offer))


async def save_offer(conn: AsyncConnection, offer: Offer) -> None:
    """Write a changed offer back."""
    values = _offer_columns(offer)
    del values["id"]
    await conn.execute(update(offers).where(offers.c.id == offer.id).values(**values))


async def offer_by_id(
    conn: AsyncConnection, offer_id: str, *, for_update: bool = False
) -> Offer | None:
    """The offer with this id (locked when ``for_update``)."""
    query = select(offers).where(offers.c.id == offer_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return offer_from_row(row) if row else None


async def offers_of(conn: AsyncConnection, user_id: str, *, limit: int) -> list[Offer]:
    """A user's second-chance offers, newest first."""
    query = (
        select(offers)
        .where(offers.c.user_id == user_id)
        .order_by(offers.c.created_at.desc(), offers.c.id.desc())
        .limit(limit)
    )
    return [offer_from_row(row) for row in (await conn.execute(query)).all()]


async def claim_due_offers(conn: AsyncConnection, *, now: datetime, limit: int) -> list[Offer]:
    """Open offers past due, locked (skipping other replicas' claims)."""
    query = (
        select(offers)
        .where(offers.c.status == OFFERED, offers.c.due_at <= now)
        .order_by(offers.c.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [offer_from_row(row) for row in (await conn.execute(query)).all()]


async def claim_webhook_event(
    conn: AsyncConnection, *, event_id: str, event_type: str, now: datetime
) -> bool:
    """Record a provider event; False when it was seen before (a redelivery)."""
    return await insert_ignoring_duplicates(
        conn,
        webhook_events,
        {
            "event_id": event_id,
            "type": event_type[:100],
            "outcome": "received",
            "received_at": now,
        },
    )


async def record_webhook_outcome(
    conn: AsyncConnection, event_id: str, *, order_id: str | None, outcome: str
) -> None:
    """Note what a provider event did (for people reading the table later)."""
    await conn.execute(
        update(webhook_events)
        .where(webhook_events.c.event_id == event_id)
        .values(order_id=order_id, outcome=outcome[:64])
    )


async def claim_idempotency_key(
    conn: AsyncConnection, *, user_id: str, key: str, request_hash: str, now: datetime
) -> bool:
    """Reserve a key for this request (answer still to come); False when it was used before."""
    values = {
        "user_id": user_id,
        "key": key,
        "request_hash": request_hash,
        "status_code": 0,
        "response": "{}",
        "created_at": now,
    }
    return await insert_ignoring_duplicates(conn, idempotency, values)


async def idempotent_answer(conn: AsyncConnection, user_id: str, key: str) -> Any:
    """The row of a key (its request's fingerprint, answer and age), or None."""
    query = select(idempotency).where(idempotency.c.user_id == user_id, idempotency.c.key == key)
    return (await conn.execute(query)).first()


async def take_over_idempotency_key(
    conn: AsyncConnection, *, user_id: str, key: str, claimed_at: datetime, now: datetime
) -> bool:
    """Claim again a key whose request never recorded its answer; False if another did first."""
    result = await conn.execute(
        update(idempotency)
        .where(
            idempotency.c.user_id == user_id,
            idempotency.c.key == key,
            idempotency.c.status_code == 0,
            idempotency.c.created_at == claimed_at,
        )
        .values(created_at=now)
    )
    return bool(result.rowcount == 1)


async def store_idempotent_answer(
    conn: AsyncConnection, *, user_id: str, key: str, status_code: int, response: str
) -> None:
    """Record the answer given for a key."""
    await conn.execute(
        update(idempotency)
        .where(idempotency.c.user_id == user_id, idempotency.c.key == key)
        .values(status_code=status_code, response=response)
    )


async def release_idempotency_key(conn: AsyncConnection, *, user_id: str, key: str) -> None:
    """Forget a claim whose request ended without an answer to keep (a retry runs anew)."""
    await conn.execute(
        delete(idempotency).where(
            idempotency.c.user_id == user_id,
            idempotency.c.key == key,
            idempotency.c.status_code == 0,
        )
    )


async def purge_idempotency(conn: AsyncConnection, *, before: datetime) -> int:
    """Delete the keys created before ``before``; a retry that late is a new request."""
    result = await conn.execute(delete(idempotency).where(idempotency.c.created_at < before))
    return int(result.rowcount or 0)
