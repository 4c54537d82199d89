"""Make sure a service's database can be reached before migrating it, or create it.

PostgreSQL: ``CREATE DATABASE`` through the server's maintenance database (``postgres``
unless told otherwise), as ``createdb`` does. SQLite: the file's folder (SQLite makes
the file itself on first connect).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from auction_platform.ops.errors import (
    OperatorError,
    Target,
    check_database_url,
    explain,
    sqlstate,
)

_DUPLICATE_DATABASE = "42P04"
_NO_DATABASE = "3D000"


def missing_sqlite_folder(target: Target) -> Path | None:
    """The folder a SQLite URL needs and that does not exist yet; None otherwise."""
    if target.server != "SQLite":
        return None
    folder = Path(check_database_url(target).database or "").parent
    return None if folder.is_dir() else folder


async def create_database(
    target: Target, *, maintenance_db: str = "postgres", timeout: float = 5.0
) -> str | None:
    """Create the database ``target`` names unless it exists; what was created, or None."""
    url = check_database_url(target)
    if target.server == "SQLite":
        folder = missing_sqlite_folder(target)
        if folder is None:
            return None
        folder.mkdir(parents=True)
        return f"the folder {folder}"
    name = url.database
    assert name is not None
    maintenance = url.set(database=maintenance_db).render_as_string(hide_password=False)
    engine = create_async_engine(
        maintenance, isolation_level="AUTOCOMMIT", connect_args={"timeout": timeout}
    )
    try:
        async with engine.connect() as conn:
            exists = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if exists:
                return None
            quoted = engine.dialect.identifier_preparer.quote_identifier(name)
            try:
                await conn.execute(text(f"CREATE DATABASE {quoted}"))
            except DBAPIError as exc:
                if sqlstate(exc) == _DUPLICATE_DATABASE:
                    return None  # another migrate made it a moment ago
                raise
            return f'the database "{name}" on PostgreSQL at {target.where}'
    except Exception as exc:
        if sqlstate(exc) == _NO_DATABASE:
            raise OperatorError(
                f"PostgreSQL at {target.where} has no database {maintenance_db!r} to connect "
                "to while creating one: name one that exists with --maintenance-db"
            ) from exc
        explained = explain(exc, target)
        if explained is None:
            raise
        raise explained from exc
    finally:
        await engine.dispose()
