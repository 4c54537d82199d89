"""One schema source: each service's migrations build exactly the tables its store declares.

The store's SQLAlchemy metadata is what the code queries; the migrations are what a
database actually gets. For every service with a database, on SQLite and on
PostgreSQL, the migrations run on an empty database and Alembic's autogenerate
comparison (``compare_metadata``) must find nothing to change. A difference is a
drift: write a new migration (see "Adding a migration" in docs/architecture.md).
"""

from __future__ import annotations

import pprint
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Index, MetaData, Text
from sqlalchemy.engine import Connection

from auction_platform.composition import DATABASE_SERVICES, DEFINITIONS
from auction_platform.core.db import Database
from auction_platform.core.migrate import draft_revision, migrate, revision_status

# What a migration builds on purpose outside the store's metadata, by service: the
# full-text index of analytics (migration 0004) differs by database and cannot be
# said in SQLAlchemy Core. Names only; anything else the database holds must match.
OUTSIDE_THE_METADATA: dict[str, dict[str, frozenset[str]]] = {
    "analytics": {
        # SQLite: the FTS5 table and the shadow tables FTS5 makes for it.
        "table_prefix": frozenset({"analytics_search_fts"}),
        # PostgreSQL: the generated tsvector column and its GIN index.
        "column": frozenset({"document"}),
        "index": frozenset({"ix_analytics_search_docs_document"}),
    },
}


def _metadata(service: str) -> MetaData:
    tables = DEFINITIONS[service].tables
    assert tables is not None, f"{service} uses a database but declares no tables"
    return tables.metadata


def _include(service: str) -> Any:
    """Alembic's ``include_object``: leave out what the migrations build on purpose."""
    outside = OUTSIDE_THE_METADATA.get(service, {})

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if not reflected or compare_to is not None or name is None:
            return True
        if type_ == "table":
            return not any(name.startswith(p) for p in outside.get("table_prefix", ()))
        return name not in outside.get(type_, frozenset())

    return include


def _drift(connection: Connection, service: str) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "version_table": f"alembic_version_{service}",
            "include_object": _include(service),
            "compare_type": True,
            "compare_server_default": True,
        },
    )
    return list(compare_metadata(context, _metadata(service)))


@pytest.mark.parametrize("service", DATABASE_SERVICES)
async def test_migrations_build_the_tables_the_store_declares(
    service: str, database_url: str
) -> None:
    db = Database(database_url, pool_size=1, max_overflow=0)
    try:
        await migrate(db, service)
        async with db.engine.connect() as conn:
            drift = await conn.run_sync(_drift, service)
    finally:
        await db.dispose()
    assert drift == [], (
        f"{service}: the migrations and store.py disagree on {db.dialect} "
        "(add a migration, see docs/architecture.md):\n" + pprint.pformat(drift, width=100)
    )


def test_every_database_service_is_compared() -> None:
    assert set(DATABASE_SERVICES) == {"identity", "auction", "bidding", "payment", "analytics"}


async def test_a_column_added_to_the_store_is_drafted_as_the_next_migration(
    tmp_path: Path,
) -> None:
    metadata = MetaData()
    for table in _metadata("bidding").sorted_tables:
        table.to_metadata(metadata)
    books = metadata.tables["bidding_books"]
    books.append_column(Column("notes", Text, nullable=True))
    Index("ix_bidding_books_notes", books.c.notes)
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/draft.sqlite3")
    try:
        unchanged = await draft_revision(db, "bidding", _metadata("bidding"), "nothing")
        path = await draft_revision(db, "bidding", metadata, "Notes on books", into=tmp_path)
        _, head = await revision_status(db, "bidding")
    finally:
        await db.dispose()

    assert unchanged is None
    assert path is not None
    assert path.name == f"{int(head or 0) + 1:04d}_notes_on_books.py"
    draft = path.read_text()
    assert f'down_revision = "{head}"' in draft
    assert "batch_op.add_column(sa.Column('notes', sa.Text(), nullable=True))" in draft
    assert "batch_op.create_index('ix_bidding_books_notes', ['notes']" in draft
    assert "batch_op.drop_column('notes')" in draft
    compile(draft, str(path), "exec")
