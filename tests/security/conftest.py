"""An embedded platform for the probes, its gateway, and the people they need."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from auction_platform.composition import Platform
from security.world import SERVICES, World, probe_settings
from support.platforms import client, running


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    """Every API service in this process (SQLite, in-process broker, memory cache)."""
    async with running(probe_settings(tmp_path), SERVICES, embedded=True) as started:
        yield started


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway."""
    async with client(platform.apps["gateway"]) as gateway:
        yield gateway


@pytest.fixture
async def world(platform: Platform, http: httpx.AsyncClient) -> World:
    """An owner, an intruder and a third party, each a seller and a bidder."""
    return await World.make(platform, http)
