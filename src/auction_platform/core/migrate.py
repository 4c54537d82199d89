"""Each service's own Alembic history, applied on PostgreSQL or SQLite.

Every service keeps its migrations in ``services/<name>/migrations`` and its own
version table ``alembic_version_<name>``, so services migrate independently even
when they share one PostgreSQL database. Applying is safe to re-run, and on
PostgreSQL an advisory lock lets several replicas (or Jobs) start at once.
"""

from __future__ import annotations

import zlib
from importlib.resources import files
from typing import Any

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from auction_platform.core.db import Database


def _config(service: str) -> Config:
    config = Config()
    location = files("auction_platform.services") / service / "migrations"
    config.set_main_option("script_location", str(location))
    config.attributes["service"] = service
    return config


def _upgrade(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(db: Database, service: str) -> None:
    """Bring one service's tables to the latest schema."""
    config = _config(service)
    async with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            lock_key = zlib.crc32(f"migrate:{service}".encode())
            await conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": lock_key})
            await conn.commit()
        try:
            await conn.run_sync(_upgrade, config)
            await conn.commit()
        finally:
            if db.dialect == "postgresql":
                await conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key})
                await conn.commit()


def _current_revision(connection: Connection, service: str) -> str | None:
    migration = MigrationContext.configure(
        connection, opts={"version_table": f"alembic_version_{service}"}
    )
    return migration.get_current_revision()


async def revision_status(db: Database, service: str) -> tuple[str | None, str | None]:
    """The applied revision and the latest one of a service."""
    head = ScriptDirectory.from_config(_config(service)).get_current_head()
    async with db.engine.connect() as conn:
        current = await conn.run_sync(_current_revision, service)
    return current, head


def run_migrations(target_metadata: Any = None) -> None:
    """The body of every service's ``env.py``: migrate on the connection handed in."""
    config = context.config
    service = config.attributes["service"]
    context.configure(
        connection=config.attributes["connection"],
        target_metadata=target_metadata,
        version_table=f"alembic_version_{service}",
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def create_messaging_tables(service: str) -> None:
    """Create a service's outbox and inbox (frozen: revision 0001 of every service)."""
    outbox = f"{service}_outbox"
    op.create_table(
        outbox,
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        f"ix_{outbox}_pending",
        outbox,
        ["seq"],
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        f"{service}_inbox",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )


def drop_messaging_tables(service: str) -> None:
    """Undo ``create_messaging_tables``."""
    op.drop_table(f"{service}_inbox")
    op.drop_index(f"ix_{service}_outbox_pending", table_name=f"{service}_outbox")
    op.drop_table(f"{service}_outbox")
