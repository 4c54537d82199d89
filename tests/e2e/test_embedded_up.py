"""``auction-platform up``: every service in one process, nothing to install."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import httpx

from support.http_server import free_port
from support.processes import child_env, started

# The gateway checks each service, and Redis for its rate limits.
CHECKS = {"redis", "identity", "auction", "bidding", "payment", "notification", "analytics", "web"}


async def test_up_serves_all_seven_services_healthy(tmp_path: Path) -> None:
    # How soon it is ready is measured by benchmarks/startup.py, not asserted here.
    port = free_port()
    async with started(
        "up",
        "--data-dir",
        str(tmp_path / "data"),
        port=port,
        env=child_env(),
        cwd=tmp_path,
        ready_path="/health/ready",
    ) as platform:
        async with httpx.AsyncClient(base_url=platform.url) as http:
            detail = (await http.get("/health/detail")).json()
            events = await http.get("/api/v1/search/auctions")
            metrics = (await http.get("/metrics")).text
        code = await platform.stop(signal.SIGINT)

    assert detail["status"] == "Healthy"
    assert {c["name"] for c in detail["checks"]} == CHECKS
    assert all(c["status"] == "Healthy" for c in detail["checks"])
    assert events.status_code == 200
    for service in ("gateway", "analytics"):
        assert f'service="{service}"' in metrics
    assert code == 0
    assert "Auction platform ready at http://127.0.0.1:" in platform.output
    assert "Traceback" not in platform.output
    # Each service's SQLite file is migrated and intact after the stop.
    for service in ("identity", "auction", "bidding", "payment", "analytics"):
        with sqlite3.connect(tmp_path / "data" / f"{service}.sqlite3") as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert db.execute(f"SELECT count(*) FROM alembic_version_{service}").fetchone() == (1,)
