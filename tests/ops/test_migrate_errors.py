"""What an operator sees when `migrate` cannot do its job: one line that says what to
do, a non-zero exit, no traceback; and `migrate --create-database` making what was
missing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import asyncpg
import pytest

from support.processes import COMMAND, child_env
from support.servers import POSTGRES_ADMIN_URL, require_server, unique_name

SERVER = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")


async def failing(*args: str, env: Mapping[str, str]) -> list[str]:
    """Run the command, which must fail; its output's lines."""
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        *args,
        env=dict(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    text = output.decode()
    assert process.returncode not in (0, None), text
    assert "Traceback" not in text, text
    lines = text.strip().splitlines()
    assert 1 <= len(lines) <= 2, text  # the error, and at most a hint
    return lines


@pytest.fixture
async def missing_database() -> AsyncIterator[str]:
    """A database name nobody has created; dropped afterwards if a test made it."""
    require_server("PostgreSQL", "127.0.0.1", 5432)
    name = unique_name("absent")
    yield name
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def test_a_database_that_does_not_exist(missing_database: str) -> None:
    env = child_env(DATABASE_URL=f"{SERVER}/{missing_database}")
    [line, *_] = await failing("migrate", env=env)
    assert f'has no database "{missing_database}"' in line
    assert "auction-platform migrate --create-database" in line


async def test_create_database_makes_it_then_migrates(missing_database: str) -> None:
    env = child_env(DATABASE_URL=f"{SERVER}/{missing_database}")
    process = await asyncio.create_subprocess_exec(
        *COMMAND, "migrate", "--create-database", "--maintenance-db", "test",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output = (await asyncio.wait_for(process.communicate(), 120))[0].decode()
    assert process.returncode == 0, output
    assert f'created the database "{missing_database}"' in output
    assert "identity: empty -> " in output
    # Run again: the database exists, so nothing is created and nothing changes.
    again = await asyncio.create_subprocess_exec(
        *COMMAND, "migrate", "--create-database", "--maintenance-db", "test",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    second = (await asyncio.wait_for(again.communicate(), 120))[0].decode()
    assert again.returncode == 0, second
    assert "created" not in second
    assert "identity: up to date" in second


async def test_a_server_that_is_down() -> None:
    env = child_env(DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:1/auction")
    [line, *_] = await failing("migrate", env=env)
    assert "cannot reach PostgreSQL at 127.0.0.1:1 (connection refused)" in line
    assert "DATABASE_URL" in line


async def test_a_user_the_server_does_not_know() -> None:
    require_server("PostgreSQL", "127.0.0.1", 5432)
    user = unique_name("nobody")
    env = child_env(DATABASE_URL=f"postgresql+asyncpg://{user}:pw@127.0.0.1:5432/test")
    [line, *_] = await failing("migrate", env=env)
    assert "refused the login" in line
    assert "fix the user in DATABASE_URL" in line
    assert ":pw@" not in line


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql+asyncpg://postgres@127.0.0.1:port/auction", "not a valid database URL"),
        ("postgresql+asyncpg://postgres@127.0.0.1:5432", "names no database"),
        ("postgres://postgres@127.0.0.1:5432/auction", "must start with one of"),
    ],
)
async def test_a_malformed_url(url: str, says: str) -> None:
    [line, *_] = await failing("migrate", env=child_env(DATABASE_URL=url))
    assert says in line
    assert "DATABASE_URL" in line


async def test_a_sqlite_folder_that_does_not_exist_is_made_only_when_asked(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "not" / "yet"
    env = child_env(DATABASE_URL=f"sqlite+aiosqlite:///{folder}/auction.sqlite3")
    [line, *_] = await failing("migrate", env=env)
    assert f"the folder {folder}" in line
    assert not folder.exists()
    process = await asyncio.create_subprocess_exec(
        *COMMAND, "migrate", "--create-database",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output = (await asyncio.wait_for(process.communicate(), 120))[0].decode()
    assert process.returncode == 0, output
    assert (folder / "auction.sqlite3").is_file()


async def test_create_admin_against_a_missing_database(missing_database: str) -> None:
    env = child_env(
        DATABASE_URL=f"{SERVER}/{missing_database}", ADMIN_PASSWORD="correct-Horse-battery-42"
    )
    args = ("create-admin", "--email", "ops@example.com", "--display-name", "Ops")
    [line, *_] = await failing(*args, env=env)
    assert f'has no database "{missing_database}"' in line
