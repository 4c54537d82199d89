"""Each service's own Alembic history, applied on PostgreSQL or SQLite.

Every service keeps its migrations in ``services/<name>/migrations`` and its own
version table ``alembic_version_<name>``, so services migrate independently even
when they share one PostgreSQL database. Applying is safe to re-run, and on
PostgreSQL an advisory lock lets several replicas (or Jobs) start at once.
"""

from __future__ import annotations

import re
import zlib
from importlib.resources import files
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command, context, op
from alembic.autogenerate import produce_migrations, render_python_code
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


_DRAFT = '''"""{service} service: {message}."""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = {down_revision}
branch_labels = None
depends_on = None


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''


def _leave_unknown_tables(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    # A table the metadata does not declare is a migration's own (analytics' FTS5
    # index on SQLite): dropping a table is written by hand, never drafted.
    return not (type_ == "table" and reflected and compare_to is None)


def _draft(connection: Connection, service: str, metadata: sa.MetaData) -> tuple[str, str] | None:
    migration = MigrationContext.configure(
        connection,
        opts={
            "version_table": f"alembic_version_{service}",
            "include_object": _leave_unknown_tables,
            "compare_type": True,
            "compare_server_default": True,
        },
    )
    script = produce_migrations(migration, metadata)
    if script.upgrade_ops is None or script.upgrade_ops.is_empty():
        return None
    assert script.downgrade_ops is not None
    upgrade, downgrade = (
        render_python_code(ops, render_as_batch=True, migration_context=migration)
        for ops in (script.upgrade_ops, script.downgrade_ops)
    )
    return _body(upgrade), _body(downgrade)


def _body(code: str) -> str:
    """Alembic's rendering without its "auto generated" markers."""
    lines = (line for line in code.splitlines() if not line.strip().startswith("# ###"))
    return "\n".join(lines).rstrip()


async def draft_revision(
    db: Database, service: str, metadata: sa.MetaData, message: str, *, into: Path | None = None
) -> Path | None:
    """Write the next revision of a service from what ``metadata`` has and its migrations lack.

    Alembic's autogenerate against ``db`` brought to head: a draft to review, since it
    cannot tell a rename from a drop and an add, moves no data, and sees only what
    this database can say. Written into the service's ``versions`` folder (or ``into``);
    None when there is nothing to add.
    """
    await migrate(db, service)
    scripts = ScriptDirectory.from_config(_config(service))
    async with db.engine.connect() as conn:
        drafted = await conn.run_sync(_draft, service, metadata)
    if drafted is None:
        return None
    head = scripts.get_current_head()
    revision = f"{int(head or 0) + 1:04d}"
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40]
    path = (into or Path(scripts.versions)) / f"{revision}_{slug}.py"
    path.write_text(
        _DRAFT.format(
            service=service.capitalize(),
            message=message,
            revision=revision,
            down_revision=f'"{head}"' if head else "None",
            upgrade=drafted[0],
            downgrade=drafted[1],
        )
    )
    return path


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
