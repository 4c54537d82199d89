"""Where the real servers are, and what to do when one is down."""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator

import pytest

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")

# Connections each service's pool may open in tests, in this process or a served child
# (production's default is 15): every service of a platform in each of two test
# workers, beside the processes tests start, stays well under PostgreSQL's
# ``max_connections`` (100 here), even while another program uses the server.
TEST_POOL_SIZE = 3
# How long a request may wait for one of those connections before a 503: a deadline
# for a loaded machine (production's is 5 s), not a measure.
TEST_POOL_TIMEOUT = 30.0
# How long opening a connection to a server may take (production's default is 2 s): a
# fresh database on a busy machine can take longer to accept its first connection.
# Tests of outage answers pass their own, shorter one.
TEST_DEPENDENCY_TIMEOUT = 8.0


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_server(name: str, host: str, port: int) -> None:
    """Skip (locally) or fail (with CI=true) when a server the test needs is down."""
    if not _reachable(host, port):
        missing(f"{name} is not reachable at {host}:{port}")


def missing(message: str) -> None:
    """Skip locally; fail under ``CI=true``, where a missing service, tool or file is a failure."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: a missing service, tool or file is a failure)")
    pytest.skip(message)


def unique_name(prefix: str) -> str:
    """A name no other test run uses."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@contextlib.asynccontextmanager
async def postgres_database(prefix: str = "t") -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database (its SQLAlchemy URL), dropped afterwards."""
    import asyncpg

    name = unique_name(prefix)
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
