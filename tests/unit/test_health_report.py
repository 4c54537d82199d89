"""Health: critical failures make a service Unhealthy, others only Degraded."""

import asyncio
from typing import Any

import pytest

from auction_platform.core.health import Check, format_duration, health_report


async def ok() -> dict[str, Any]:
    return {"answer": 42}


async def broken() -> dict[str, Any]:
    raise ConnectionRefusedError("connection refused")


async def hangs() -> dict[str, Any]:
    await asyncio.sleep(10)
    return {}


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.0, "00:00:00.0000000"), (0.0123456, "00:00:00.0123456"), (3723.5, "01:02:03.5000000")],
)
def test_durations_use_the_runbook_tools_format(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


async def test_all_checks_passing_is_healthy() -> None:
    report = await health_report([Check("npgsql", ok), Check("redis", ok)], timeout=10)
    assert report["status"] == "Healthy"
    assert [c["name"] for c in report["checks"]] == ["npgsql", "redis"]
    assert report["checks"][0]["data"]["answer"] == 42


async def test_a_critical_failure_is_unhealthy() -> None:
    report = await health_report([Check("npgsql", broken, critical=True)], timeout=10)
    assert report["status"] == "Unhealthy"
    assert "ConnectionRefusedError" in report["checks"][0]["description"]


async def test_a_non_critical_failure_is_only_degraded() -> None:
    report = await health_report(
        [Check("npgsql", ok), Check("redis", broken, critical=False)], timeout=10
    )
    assert report["status"] == "Degraded"
    assert report["checks"][1]["status"] == "Degraded"


async def test_a_hanging_check_times_out_instead_of_hanging_the_endpoint() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    report = await health_report([Check("rabbitmq", hangs)], timeout=0.2)
    waited = loop.time() - started
    assert waited < 20, f"the report waited {waited:.1f}s for a check timed out at 0.2 s"
    assert report["status"] == "Unhealthy"
    assert "did not answer within 0.2s" in report["checks"][0]["description"]
