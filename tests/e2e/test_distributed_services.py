"""Services served one per process, as in Kubernetes, on the real servers."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess

import httpx

from support import queue_sets
from support.http_server import free_port
from support.processes import COMMAND, child_env, run_command, started
from support.servers import unique_name


def distributed_env(
    postgres_url: str, redis_url: str, rabbitmq_url: str, **extra: str
) -> dict[str, str]:
    return child_env(
        DATABASE_URL=postgres_url,
        REDIS_URL=redis_url,
        RABBITMQ_URL=rabbitmq_url,
        CACHE_PREFIX=unique_name("c") + ":",
        **queue_sets.child_environ(),
        **extra,
    )


def jq(selection: str, document: str) -> object:
    """Run the runbook's own ``jq`` selection over a JSON document."""
    result = subprocess.run(
        ["jq", "-c", selection], input=document, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


async def test_serve_bidding_answers_the_runbooks_health_commands(
    postgres_url: str, redis_url: str, rabbitmq_url: str
) -> None:
    auction_port, bidding_port = free_port(), free_port()
    env = distributed_env(
        postgres_url, redis_url, rabbitmq_url, AUCTION_URL=f"http://127.0.0.1:{auction_port}"
    )
    await run_command("migrate", env=env)
    async with (
        started("serve", "auction", port=auction_port, env=env),
        started("serve", "bidding", port=bidding_port, env=env) as bidding,
        httpx.AsyncClient() as http,
    ):
        body = (await http.get(f"{bidding.url}/health/detail")).text
    npgsql = jq('.checks[] | select(.name=="npgsql")', body)
    redis = jq('.checks[] | select(.name=="redis")', body)
    assert isinstance(npgsql, dict)
    assert isinstance(redis, dict)
    assert npgsql["status"] == "Healthy"
    assert npgsql["data"]["backend"] == "postgresql"
    assert redis["status"] == "Healthy"
    report = json.loads(body)
    assert report["status"] == "Healthy"
    assert {c["name"]: c["status"] for c in report["checks"]} == {
        "npgsql": "Healthy",
        "redis": "Healthy",
        "rabbitmq": "Healthy",
        "auction": "Healthy",
    }


async def test_ready_is_503_when_postgresql_is_unreachable(
    redis_url: str, rabbitmq_url: str
) -> None:
    port = free_port()
    closed = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing"
    env = distributed_env(closed, redis_url, rabbitmq_url, DEPENDENCY_TIMEOUT="1")
    async with (
        started("serve", "bidding", port=port, env=env) as bidding,
        httpx.AsyncClient() as http,
    ):
        assert (await http.get(f"{bidding.url}/health/live")).status_code == 200
        ready = await http.get(f"{bidding.url}/health/ready")
        detail = (await http.get(f"{bidding.url}/health/detail")).json()
    assert ready.status_code == 503
    npgsql = next(c for c in detail["checks"] if c["name"] == "npgsql")
    assert npgsql["status"] == "Unhealthy"


async def test_sigterm_stops_a_service_cleanly(
    postgres_url: str, redis_url: str, rabbitmq_url: str
) -> None:
    env = distributed_env(postgres_url, redis_url, rabbitmq_url)
    await run_command("migrate", "--service", "analytics", env=env)
    async with started("serve", "analytics", port=free_port(), env=env) as analytics:
        code = await analytics.stop(signal.SIGTERM)
    assert code == 0
    assert "Traceback" not in analytics.output


async def test_migrate_is_idempotent(postgres_url: str) -> None:
    env = child_env(DATABASE_URL=postgres_url)
    first = await run_command("migrate", env=env)
    second = await run_command("migrate", env=env)
    assert "analytics: empty -> 0008" in first
    for service in ("identity", "auction", "bidding", "payment", "analytics"):
        assert f"{service}: up to date" in second


async def test_serve_refuses_an_unknown_service() -> None:
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        "serve",
        "nonsense",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    assert process.returncode == 2
    assert b"unknown service" in out
