"""``auction-platform backup`` and ``restore``: a restored database holds exactly the
data that was backed up, on real PostgreSQL and on SQLite."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from opstools import require_tool

from auction_platform.ops.backup import (
    BackupError,
    archive_name,
    list_archive,
    parse_database,
    prune,
    resolve_database,
)
from auction_platform.settings import Settings
from support.processes import child_env, run_command
from support.servers import POSTGRES_ADMIN_URL, unique_name


def test_a_platform_url_becomes_a_libpq_url_without_its_password() -> None:
    db = parse_database("postgresql+asyncpg://auction:s3cr%40t@postgres:5432/auction?ssl=require")
    assert db.kind == "postgresql"
    assert db.name == "auction"
    assert db.libpq_url == "postgresql://auction@postgres:5432/auction?sslmode=require"
    assert db.password == "s3cr@t"
    assert db.env()["PGPASSWORD"] == "s3cr@t"
    assert (
        db.libpq_url_for("postgres")
        == "postgresql://auction@postgres:5432/postgres?sslmode=require"
    )


def test_sqlite_urls_name_their_file() -> None:
    db = parse_database("sqlite+aiosqlite:///data/bidding.sqlite3")
    assert (db.kind, db.name, db.path) == ("sqlite", "bidding", Path("data/bidding.sqlite3"))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql+aiomysql://u@h/db", "cannot back up a mysql database"),
        ("sqlite+aiosqlite:///:memory:", "in-memory"),
        ("postgresql+asyncpg://u@h", "names no database"),
        ("not a url", "not a database URL"),
    ],
)
def test_other_databases_are_refused_with_a_reason(url: str, message: str) -> None:
    with pytest.raises(BackupError, match=message):
        parse_database(url)


def test_the_database_comes_from_the_settings(tmp_path: Path) -> None:
    embedded = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    with pytest.raises(BackupError, match="--service"):
        resolve_database(embedded)
    assert resolve_database(embedded, service="bidding").path == tmp_path / "bidding.sqlite3"
    with pytest.raises(BackupError, match="unknown service 'bid'"):
        resolve_database(embedded, service="bid")
    override = {"BIDDING_DATABASE_URL": "postgresql+asyncpg://u@h/bids"}
    assert resolve_database(embedded, service="bidding", environ=override).name == "bids"
    shared = Settings(_env_file=None, database_url="postgresql+asyncpg://u@h/auction")  # type: ignore[call-arg]
    assert resolve_database(shared).name == "auction"
    assert resolve_database(shared, url="postgresql+asyncpg://u@h/other").name == "other"


def test_old_backups_are_pruned_newest_kept(tmp_path: Path) -> None:
    db = parse_database("postgresql+asyncpg://u@h/auction")
    names = [archive_name(db, now=datetime(2026, 1, day, 2, 30, tzinfo=UTC)) for day in range(1, 6)]
    for name in [*names, "auction-notes.txt", "other-20260101T023000Z.dump"]:
        (tmp_path / name).write_text("x")
    removed = prune(tmp_path, db, keep=2)
    assert sorted(p.name for p in removed) == names[:3]
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([*names[3:], "auction-notes.txt", "other-20260101T023000Z.dump"])
    assert prune(tmp_path, db, keep=0) == []


def _fill_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE bids (id INTEGER PRIMARY KEY, amount INTEGER, who TEXT)")
        conn.executemany(
            "INSERT INTO bids (amount, who) VALUES (?, ?)",
            [(100 + i, f"bidder-{i}\nwith a newline") for i in range(500)],
        )


def _rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT * FROM bids ORDER BY id").fetchall()


async def test_sqlite_backup_and_restore_round_trip(tmp_path: Path) -> None:
    source = tmp_path / "data" / "bidding.sqlite3"
    source.parent.mkdir()
    _fill_sqlite(source)
    env = child_env(DATABASE_URL=f"sqlite+aiosqlite:///{source}")
    out = await run_command("backup", "--output-dir", str(tmp_path / "backups"), env=env)
    assert "verified" in out
    (archive,) = (tmp_path / "backups").iterdir()
    target = tmp_path / "restored" / "bidding.sqlite3"
    await run_command(
        "restore", str(archive), "--database-url", f"sqlite+aiosqlite:///{target}", "--yes", env=env
    )
    assert _rows(target) == _rows(source)


# -- PostgreSQL ---------------------------------------------------------------------------


async def _admin(sql: str) -> None:
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await admin.execute(sql)
    finally:
        await admin.close()


async def _contents(url: str) -> dict[str, list[str]]:
    """Every table's rows as text, sorted."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        return {
            table: [r[0] for r in await conn.fetch(f'SELECT t::text FROM "{table}" t ORDER BY 1')]
            for table in tables
        }
    finally:
        await conn.close()


async def test_postgres_backup_restores_identical_data(postgres_url: str, tmp_path: Path) -> None:
    require_tool("pg_dump")
    env = child_env(DATABASE_URL=postgres_url)
    await run_command("migrate", env=env)
    # Data through the platform's own command (identity's keys and an admin) and SQL.
    await run_command(
        "create-admin",
        "--email",
        "ops@example.com",
        "--display-name",
        "Ops",
        env={**env, "ADMIN_PASSWORD": "correct-Horse-battery-42"},
    )
    conn = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(
            "CREATE TABLE ops_check"
            " (id serial PRIMARY KEY, note text, amount bigint, at timestamptz)"
        )
        await conn.executemany(
            "INSERT INTO ops_check (note, amount, at) VALUES ($1, $2, now())",
            [(f"line {i}\r\nwith CRLF and 'quotes'", i * 1_000_000_007) for i in range(300)],
        )
    finally:
        await conn.close()
    archive = tmp_path / "auction.dump"
    out = await run_command("backup", "--output", str(archive), env=env)
    assert "verified" in out
    assert any(" TABLE DATA public ops_check " in e for e in list_archive(archive))

    target = unique_name("restored")
    target_url = postgres_url.rsplit("/", 1)[0] + f"/{target}"
    try:
        # The target does not exist: restore creates it.
        out = await run_command(
            "restore", str(archive), "--database-url", target_url, "--maintenance-db", "test",
            "--yes", env=env,
        )  # fmt: skip
        assert "restored" in out
        original = await _contents(postgres_url)
        assert "alembic_version_bidding" in original
        assert len(original["ops_check"]) == 300
        assert await _contents(target_url) == original
        # Again over the restored copy: --clean replaces, nothing is duplicated.
        await run_command(
            "restore", str(archive), "--database-url", target_url, "--maintenance-db", "test",
            "--yes", env=env,
        )  # fmt: skip
        assert await _contents(target_url) == original
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')


async def test_restore_refuses_a_plain_sql_dump(tmp_path: Path) -> None:
    # What the specification's `pg_dumpall > backup.sql` writes: psql's business.
    nowhere = "postgresql+asyncpg://postgres@127.0.0.1:1/none"
    plain = tmp_path / "backup.sql"
    plain.write_text("--\n-- PostgreSQL database cluster dump\n--\n")
    with pytest.raises(AssertionError) as refused:
        await run_command(
            "restore", str(plain), "--database-url", nowhere, "--yes", env=child_env()
        )
    assert "is restored with psql, not pg_restore" in " ".join(str(refused.value).split())


async def test_a_failed_backup_leaves_no_file(tmp_path: Path) -> None:
    require_tool("pg_dump")
    archive = tmp_path / "x.dump"
    env = child_env(DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:1/none")
    with pytest.raises(AssertionError, match=r"(?i)backup failed"):
        await run_command("backup", "--output", str(archive), env=env)
    assert _files(tmp_path) == []


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())
