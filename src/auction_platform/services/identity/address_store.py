"""The table and queries of delivery addresses (on the identity service's metadata)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Column, DateTime, Index, String, Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.core.sql import utc
from auction_platform.services.identity.addresses import FIELD_NAMES, Address, AddressFields
from auction_platform.services.identity.store import TABLES

addresses = Table(
    "identity_addresses",
    TABLES.metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(32), nullable=False),
    Column("name", String(100), nullable=False),
    Column("line1", String(120), nullable=False),
    Column("line2", String(120), nullable=True),
    Column("city", String(80), nullable=False),
    Column("region", String(80), nullable=True),
    Column("postal_code", String(16), nullable=True),
    Column("country", String(2), nullable=False),
    Column("phone", String(20), nullable=True),
    Column("is_default", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_identity_addresses_user", "user_id", "created_at"),
)


def _columns(address: Address) -> dict[str, Any]:
    return {
        "user_id": address.user_id,
        **{name: getattr(address.fields, name) for name in FIELD_NAMES},
        "is_default": address.is_default,
        "created_at": address.created_at,
        "updated_at": address.updated_at,
    }


def _address(row: Any) -> Address:
    return Address(
        id=row.id,
        user_id=row.user_id,
        fields=AddressFields(**{name: getattr(row, name) for name in FIELD_NAMES}),
        is_default=bool(row.is_default),
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
    )


async def addresses_of(conn: AsyncConnection, user_id: str) -> list[Address]:
    """A user's addresses: the default first, then the oldest first."""
    query = (
        select(addresses)
        .where(addresses.c.user_id == user_id)
        .order_by(addresses.c.is_default.desc(), addresses.c.created_at, addresses.c.id)
    )
    return [_address(row) for row in await conn.execute(query)]


async def address_by_id(conn: AsyncConnection, user_id: str, address_id: str) -> Address | None:
    """One of the user's addresses (None for someone else's, or none at all)."""
    query = select(addresses).where(addresses.c.id == address_id, addresses.c.user_id == user_id)
    row = (await conn.execute(query)).first()
    return _address(row) if row else None


async def add_address(conn: AsyncConnection, address: Address) -> None:
    """Keep a new address."""
    await conn.execute(addresses.insert().values(id=address.id, **_columns(address)))


async def save_address(conn: AsyncConnection, address: Address) -> None:
    """Write a changed address back."""
    await conn.execute(
        update(addresses).where(addresses.c.id == address.id).values(**_columns(address))
    )


async def delete_address(conn: AsyncConnection, address_id: str) -> None:
    """Forget an address."""
    await conn.execute(delete(addresses).where(addresses.c.id == address_id))


async def clear_default(conn: AsyncConnection, user_id: str) -> None:
    """No address of the user is the default any more (another is about to be)."""
    await conn.execute(
        update(addresses)
        .where(addresses.c.user_id == user_id, addresses.c.is_default.is_(True))
        .values(is_default=False)
    )
