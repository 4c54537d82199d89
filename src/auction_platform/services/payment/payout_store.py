"""Tables and queries of the seller ledger, payouts and sellers' payout accounts."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    and_,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from auction_platform.core.sql import insert_ignoring_duplicates, maybe_utc, utc
from auction_platform.services.payment.ledger import Entry, EntryKind, Payout, PayoutStatus
from auction_platform.services.payment.store import TABLES

PENDING = PayoutStatus.PENDING.value
AWAITING_ACCOUNT = PayoutStatus.AWAITING_ACCOUNT.value
SENDING = PayoutStatus.SENDING.value

# Append-only: rows are inserted, never updated or deleted.
ledger = Table(
    "payment_ledger",
    TABLES.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(32), nullable=False),
    Column("seller_id", String(64), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    # What makes a second entry of one kind for one order a different one (a refund's
    # running total, a transfer's id); a redelivered event finds its entry here.
    Column("ref", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("order_id", "kind", "ref", name="uq_payment_ledger_entry"),
    Index("ix_payment_ledger_seller", "seller_id", "currency"),
)

payouts = Table(
    "payment_payouts",
    TABLES.metadata,
    Column("id", String(32), primary_key=True),
    Column("order_id", String(32), nullable=False, unique=True),
    Column("seller_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("status", String(24), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("hold_reason", String(500), nullable=True),
    Column("transfer_id", String(255), nullable=True),
    Column("failure", String(200), nullable=True),
    Column("paid_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_payment_payouts_seller", "seller_id", "created_at", "id"),
    Index(
        "ix_payment_payouts_due",
        "updated_at",
        postgresql_where=text("status IN ('pending', 'sending')"),
        sqlite_where=text("status IN ('pending', 'sending')"),
    ),
)

# A seller's account with the payout provider (a Stripe connected account).
payout_accounts = Table(
    "payment_payout_accounts",
    TABLES.metadata,
    Column("seller_id", String(64), primary_key=True),
    Column("provider", String(16), nullable=False),
    Column("account_id", String(255), nullable=False, unique=True),
    Column("payouts_enabled", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


@dataclasses.dataclass(frozen=True, slots=True)
class Account:
    """A seller's connected account, and whether it may receive money."""

    seller_id: str
    provider: str
    account_id: str
    payouts_enabled: bool


def _entry(row: Any) -> Entry:
    return Entry(
        order_id=row.order_id,
        seller_id=row.seller_id,
        kind=EntryKind(row.kind),
        amount_cents=int(row.amount_cents),
        currency=row.currency,
        created_at=utc(row.created_at),
        ref=row.ref,
    )


def _payout(row: Any) -> Payout:
    values = {column.name: row._mapping[column] for column in payouts.c}
    for name in ("created_at", "updated_at", "paid_at"):
        values[name] = maybe_utc(values[name])
    values["status"] = PayoutStatus(values["status"])
    return Payout(**values)


def _payout_columns(payout: Payout) -> dict[str, Any]:
    values = {f.name: getattr(payout, f.name) for f in dataclasses.fields(payout)}
    values["status"] = payout.status.value
    return values


async def add_entry(conn: AsyncConnection, entry: Entry) -> bool:
    """Append an entry unless its (order, kind, ref) is there; True when appended."""
    values = {f.name: getattr(entry, f.name) for f in dataclasses.fields(entry)}
    values["kind"] = entry.kind.value
    return await insert_ignoring_duplicates(conn, ledger, values)


async def entries_of_order(conn: AsyncConnection, order_id: str) -> list[Entry]:
    """An order's ledger entries, oldest first."""
    query = select(ledger).where(ledger.c.order_id == order_id).order_by(ledger.c.id)
    return [_entry(row) for row in (await conn.execute(query)).all()]


async def entries_of_seller(conn: AsyncConnection, seller_id: str) -> list[Entry]:
    """A seller's ledger entries, oldest first."""
    query = select(ledger).where(ledger.c.seller_id == seller_id).order_by(ledger.c.id)
    return [_entry(row) for row in (await conn.execute(query)).all()]


async def add_payout(conn: AsyncConnection, payout: Payout) -> bool:
    """Insert an order's payout unless it has one; True when inserted."""
    return await insert_ignoring_duplicates(conn, payouts, _payout_columns(payout))


async def save_payout(conn: AsyncConnection, payout: Payout) -> None:
    """Write a changed payout back."""
    values = _payout_columns(payout)
    del values["id"]
    await conn.execute(update(payouts).where(payouts.c.id == payout.id).values(**values))


async def _one_payout(
    conn: AsyncConnection, condition: ColumnElement[bool], *, for_update: bool
) -> Payout | None:
    query = select(payouts).where(condition)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return _payout(row) if row else None


async def payout_by_id(
    conn: AsyncConnection, payout_id: str, *, for_update: bool = False
) -> Payout | None:
    """The payout with this id (locked when ``for_update``)."""
    return await _one_payout(conn, payouts.c.id == payout_id, for_update=for_update)


async def payout_of_order(
    conn: AsyncConnection, order_id: str, *, for_update: bool = False
) -> Payout | None:
    """An order's payout, if released (locked when ``for_update``)."""
    return await _one_payout(conn, payouts.c.order_id == order_id, for_update=for_update)


async def payout_by_transfer(conn: AsyncConnection, transfer_id: str) -> Payout | None:
    """The payout a provider's transfer paid, locked."""
    return await _one_payout(conn, payouts.c.transfer_id == transfer_id, for_update=True)


async def payouts_of(
    conn: AsyncConnection,
    *,
    seller_id: str | None,
    status: PayoutStatus | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int = 1000,
) -> list[Payout]:
    """Payouts newest first after a keyset cursor: one seller's, or everyone's."""
    query = select(payouts)
    if seller_id is not None:
        query = query.where(payouts.c.seller_id == seller_id)
    if status is not None:
        query = query.where(payouts.c.status == status.value)
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(
                payouts.c.created_at < at,
                and_(payouts.c.created_at == at, payouts.c.id < last_id),
            )
        )
    query = query.order_by(payouts.c.created_at.desc(), payouts.c.id.desc()).limit(limit)
    return [_payout(row) for row in (await conn.execute(query)).all()]


async def claim_due_payouts(
    conn: AsyncConnection, *, stuck_before: datetime, limit: int
) -> list[Payout]:
    """Pending payouts, and ones left ``sending`` by a process that died, locked (skip others')."""
    query = (
        select(payouts)
        .where(
            or_(
                payouts.c.status == PENDING,
                and_(payouts.c.status == SENDING, payouts.c.updated_at < stuck_before),
            )
        )
        .order_by(payouts.c.updated_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [_payout(row) for row in (await conn.execute(query)).all()]


async def has_due_payouts(conn: AsyncConnection, *, stuck_before: datetime) -> bool:
    """Whether some payout is to be sent (a cheap read before claiming)."""
    query = select(payouts.c.id).where(
        or_(
            payouts.c.status == PENDING,
            and_(payouts.c.status == SENDING, payouts.c.updated_at < stuck_before),
        )
    )
    return await conn.scalar(query.limit(1)) is not None


async def waiting_payouts(conn: AsyncConnection, seller_id: str) -> list[Payout]:
    """A seller's payouts waiting for a connected account, locked."""
    query = (
        select(payouts)
        .where(payouts.c.seller_id == seller_id, payouts.c.status == AWAITING_ACCOUNT)
        .with_for_update()
    )
    return [_payout(row) for row in (await conn.execute(query)).all()]


def _account(row: Any) -> Account:
    return Account(row.seller_id, row.provider, row.account_id, bool(row.payouts_enabled))


async def account_of(conn: AsyncConnection, seller_id: str) -> Account | None:
    """A seller's payout account, if they connected one."""
    query = select(payout_accounts).where(payout_accounts.c.seller_id == seller_id)
    row = (await conn.execute(query)).first()
    return _account(row) if row else None


async def account_by_provider_id(conn: AsyncConnection, account_id: str) -> Account | None:
    """The seller's account with this provider id."""
    query = select(payout_accounts).where(payout_accounts.c.account_id == account_id)
    row = (await conn.execute(query)).first()
    return _account(row) if row else None


async def add_account(conn: AsyncConnection, account: Account, *, now: datetime) -> bool:
    """Record a seller's new account unless they have one; True when recorded."""
    values = {**dataclasses.asdict(account), "created_at": now, "updated_at": now}
    return await insert_ignoring_duplicates(conn, payout_accounts, values)


async def enable_account(
    conn: AsyncConnection, account_id: str, *, enabled: bool, now: datetime
) -> None:
    """Record whether the provider lets an account receive money."""
    await conn.execute(
        update(payout_accounts)
        .where(payout_accounts.c.account_id == account_id)
        .values(payouts_enabled=enabled, updated_at=now)
    )


async def next_payout_due(
    conn: AsyncConnection, *, stuck_after: timedelta
) -> list[datetime | None]:
    """When the oldest pending payout became due, and when a ``sending`` one counts as stuck."""
    pending = select(func.min(payouts.c.updated_at)).where(payouts.c.status == PENDING)
    sending = select(func.min(payouts.c.updated_at)).where(payouts.c.status == SENDING)
    since = maybe_utc(await conn.scalar(sending))
    return [maybe_utc(await conn.scalar(pending)), since + stuck_after if since else None]
