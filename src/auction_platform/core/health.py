"""Health checks in the shape the runbook's ``jq`` commands read.

``/health/live`` never touches a dependency. ``/health/ready`` and ``/health``
answer 503 when a critical dependency is down. ``/health/detail`` lists every
check: ``{"status", "totalDuration", "checks": [{"name", "status", "duration",
"description", "data"}]}``; a non-critical dependency that is down makes the
service Degraded, not Unhealthy. The PostgreSQL check is named ``npgsql``
because that is the name the runbook selects.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

HEALTHY, DEGRADED, UNHEALTHY = "Healthy", "Degraded", "Unhealthy"

Probe = Callable[[], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True, slots=True)
class Check:
    """One dependency probe: raises (or times out) when the dependency is down."""

    name: str
    probe: Probe
    critical: bool = True
    description: str = ""


def format_duration(seconds: float) -> str:
    """A duration as ``hh:mm:ss.fffffff``, the format the runbook's tools print."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    fraction = min(round((seconds - whole) * 10_000_000), 9_999_999)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{fraction:07d}"


async def _run_check(check: Check, timeout: float) -> dict[str, Any]:
    started = time.perf_counter()
    data: dict[str, Any] = {}
    try:
        async with asyncio.timeout(timeout):
            data = await check.probe() or {}
        status, description = HEALTHY, check.description or f"{check.name} is reachable"
    except TimeoutError:
        status = UNHEALTHY if check.critical else DEGRADED
        description = f"{check.name} did not answer within {timeout:g}s"
    except Exception as exc:  # a probe's failure is the answer, not an error
        status = UNHEALTHY if check.critical else DEGRADED
        description = f"{check.name} is unavailable: {type(exc).__name__}: {str(exc)[:200]}"
    data.setdefault("critical", check.critical)
    return {
        "name": check.name,
        "status": status,
        "duration": format_duration(time.perf_counter() - started),
        "description": description,
        "data": data,
    }


async def health_report(checks: list[Check], *, timeout: float) -> dict[str, Any]:
    """Run every check concurrently and sum them up."""
    started = time.perf_counter()
    results = list(await asyncio.gather(*(_run_check(c, timeout) for c in checks)))
    statuses = {r["status"] for r in results}
    overall = UNHEALTHY if UNHEALTHY in statuses else DEGRADED if DEGRADED in statuses else HEALTHY
    return {
        "status": overall,
        "totalDuration": format_duration(time.perf_counter() - started),
        "checks": results,
    }


def health_router(
    checks: Callable[[], list[Check]],
    *,
    timeout: float,
    draining: Callable[[], bool],
    detail_dependencies: Sequence[Any] = (),
) -> APIRouter:
    """The four health endpoints of one service (``/health/detail`` behind its dependencies)."""
    router = APIRouter(tags=["health"])

    async def _summary() -> JSONResponse:
        report = await health_report(checks(), timeout=timeout)
        if draining():
            report["status"] = UNHEALTHY
        code = 503 if report["status"] == UNHEALTHY else 200
        return JSONResponse({"status": report["status"]}, code)

    @router.get("/health", include_in_schema=False)
    async def overall() -> JSONResponse:
        return await _summary()

    @router.get("/health/ready", include_in_schema=False)
    async def ready() -> JSONResponse:
        return await _summary()

    @router.get("/health/live", include_in_schema=False)
    async def live() -> JSONResponse:
        return JSONResponse({"status": HEALTHY})

    @router.get("/health/detail", include_in_schema=False, dependencies=detail_dependencies)
    async def detail() -> JSONResponse:
        report = await health_report(checks(), timeout=timeout)
        return JSONResponse(report, 503 if report["status"] == UNHEALTHY else 200)

    return router
