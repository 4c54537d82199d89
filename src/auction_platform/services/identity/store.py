"""Tables and queries of the identity service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Index,
    String,
    Table,
    Text,
    and_,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.core.service import service_tables
from auction_platform.core.sql import utc
from auction_platform.services.identity.domain import RefreshToken

TABLES = service_tables("identity")

users = Table(
    "identity_users",
    TABLES.metadata,
    Column("id", String(32), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("display_name", String(100), nullable=False),
    Column("phone", String(20), nullable=True),
    Column("roles", String(100), nullable=False),
    Column("preferences", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # When its owner closed the account and what was personal in it was erased.
    Column("erased_at", DateTime(timezone=True), nullable=True),
    # The operators' list pages newest first.
    Index("ix_identity_users_created", "created_at", "id"),
)

# One row per issue (a login, a refresh, a new role): the refresh token, by its hash
# only, and the access token issued with it, by its ``jti``, so that a change of
# roles can mark the account's live access tokens stale.
refresh_tokens = Table(
    "identity_refresh_tokens",
    TABLES.metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("family_id", String(32), nullable=False),
    Column("user_id", String(32), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("access_token_id", String(32), nullable=True),
    Column("access_expires_at", DateTime(timezone=True), nullable=True),
    Index("ix_identity_refresh_tokens_family", "family_id"),
    Index("ix_identity_refresh_tokens_user", "user_id"),
)

signing_keys = Table(
    "identity_signing_keys",
    TABLES.metadata,
    Column("kid", String(32), primary_key=True),
    Column("private_key", Text, nullable=False),
    Column("public_jwk", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("retired_at", DateTime(timezone=True), nullable=True),
)


@dataclass(frozen=True, slots=True)
class User:
    """An account as stored."""

    id: str
    email: str
    password_hash: str
    display_name: str
    phone: str | None
    roles: tuple[str, ...]
    preferences: dict[str, dict[str, bool]]
    created_at: datetime
    erased_at: datetime | None = None

    def public(self) -> dict[str, Any]:
        """The profile as its owner (or an admin) sees it: never the password hash."""
        return {
            "id": self.id,
            "email": self.email,
            "display_name": self.display_name,
            "phone": self.phone,
            "roles": list(self.roles),
            "created_at": self.created_at.isoformat(),
        }


def _user(row: Any) -> User:
    return User(
        id=row.id,
        email=row.email,
        password_hash=row.password_hash,
        display_name=row.display_name,
        phone=row.phone,
        roles=tuple(r for r in row.roles.split(",") if r),
        preferences=row.preferences,
        created_at=utc(row.created_at),
        erased_at=utc(row.erased_at) if row.erased_at else None,
    )


async def add_user(conn: AsyncConnection, user: User) -> bool:
    """Insert an account; False when the email is taken."""
    try:
        async with conn.begin_nested():
            await conn.execute(
                users.insert().values(
                    id=user.id,
                    email=user.email,
                    password_hash=user.password_hash,
                    display_name=user.display_name,
                    phone=user.phone,
                    roles=",".join(user.roles),
                    preferences=user.preferences,
                    created_at=user.created_at,
                    updated_at=user.created_at,
                )
            )
    except IntegrityError:
        return False
    return True


async def user_by_email(conn: AsyncConnection, email: str) -> User | None:
    """The account with this (normalised) email."""
    row = (await conn.execute(select(users).where(users.c.email == email))).first()
    return _user(row) if row else None


async def user_by_id(
    conn: AsyncConnection, user_id: str, *, for_update: bool = False, for_share: bool = False
) -> User | None:
    """The account with this id (locked against changes when ``for_update``/``for_share``)."""
    query = select(users).where(users.c.id == user_id)
    if for_update:
        query = query.with_for_update()
    elif for_share:
        query = query.with_for_update(read=True)
    row = (await conn.execute(query)).first()
    return _user(row) if row else None


def _like(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere, its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def users_page(
    conn: AsyncConnection,
    *,
    text: str | None,
    role: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[User]:
    """Accounts newest first after a keyset position, matching ``text`` and ``role``.

    ``text`` is found in the email (stored in lower case) or the display name,
    whatever the case (``lower()`` folds ASCII on SQLite, every letter on PostgreSQL).
    """
    query = select(users)
    if text:
        pattern = _like(text.lower())
        query = query.where(
            or_(
                users.c.email.like(pattern, escape="\\"),
                users.c.display_name.ilike(pattern, escape="\\"),
            )
        )
    if role:
        # Roles are stored as "bidder,seller": match a whole name between commas.
        listed = literal(",") + users.c.roles + literal(",")
        query = query.where(listed.like(_like(f",{role},"), escape="\\"))
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(users.c.created_at < at, and_(users.c.created_at == at, users.c.id < last_id))
        )
    query = query.order_by(users.c.created_at.desc(), users.c.id.desc()).limit(limit)
    return [_user(row) for row in (await conn.execute(query)).all()]


async def update_user(conn: AsyncConnection, user_id: str, *, now: datetime, **values: Any) -> None:
    """Change some columns of an account."""
    if "roles" in values:
        values["roles"] = ",".join(values["roles"])
    await conn.execute(update(users).where(users.c.id == user_id).values(updated_at=now, **values))


async def add_refresh_token(
    conn: AsyncConnection,
    *,
    token_hash: str,
    token: RefreshToken,
    issued_at: datetime,
    access_token_id: str,
    access_expires_at: datetime,
) -> None:
    """Store a new refresh token (only its hash) and the id of the access token issued with it."""
    await conn.execute(
        refresh_tokens.insert().values(
            token_hash=token_hash,
            family_id=token.family_id,
            user_id=token.user_id,
            issued_at=issued_at,
            expires_at=token.expires_at,
            access_token_id=access_token_id,
            access_expires_at=access_expires_at,
        )
    )


async def live_access_tokens(
    conn: AsyncConnection, user_id: str, *, now: datetime
) -> list[tuple[str, datetime]]:
    """``(jti, expires_at)`` of the account's access tokens that have not expired yet."""
    query = select(refresh_tokens.c.access_token_id, refresh_tokens.c.access_expires_at).where(
        refresh_tokens.c.user_id == user_id,
        refresh_tokens.c.access_token_id.is_not(None),
        refresh_tokens.c.access_expires_at > now,
    )
    return [(row.access_token_id, utc(row.access_expires_at)) for row in await conn.execute(query)]


async def refresh_token(conn: AsyncConnection, token_hash: str) -> RefreshToken | None:
    """The refresh token with this hash, locked for the rotation."""
    row = (
        await conn.execute(
            select(refresh_tokens)
            .where(refresh_tokens.c.token_hash == token_hash)
            .with_for_update()
        )
    ).first()
    if row is None:
        return None
    return RefreshToken(
        family_id=row.family_id,
        user_id=row.user_id,
        expires_at=utc(row.expires_at),
        used_at=utc(row.used_at) if row.used_at else None,
        revoked_at=utc(row.revoked_at) if row.revoked_at else None,
    )


async def spend_refresh_token(conn: AsyncConnection, token_hash: str, *, now: datetime) -> bool:
    """Mark a token used; False when another request spent it first."""
    result = await conn.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.token_hash == token_hash, refresh_tokens.c.used_at.is_(None))
        .values(used_at=now)
    )
    return bool(result.rowcount == 1)


async def revoke_family(conn: AsyncConnection, family_id: str, *, now: datetime) -> None:
    """Revoke every token of a family."""
    await conn.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def signing_key_rows(conn: AsyncConnection) -> list[Any]:
    """Every signing key, newest first."""
    return list(
        (await conn.execute(select(signing_keys).order_by(signing_keys.c.created_at.desc()))).all()
    )


async def add_signing_key(
    conn: AsyncConnection, *, kid: str, private_key: str, public_jwk: dict[str, Any], now: datetime
) -> None:
    """Store a new signing key and retire the ones before it."""
    await conn.execute(
        update(signing_keys).where(signing_keys.c.retired_at.is_(None)).values(retired_at=now)
    )
    await conn.execute(
        signing_keys.insert().values(
            kid=kid, private_key=private_key, public_jwk=public_jwk, created_at=now
        )
    )
