"""Every service app answers errors in one shape, limits bodies, measures and logs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from auction_platform.core.app import create_app
from auction_platform.core.db import Database
from auction_platform.core.metrics import Metrics
from auction_platform.core.service import ServiceDefinition, ServiceRuntime
from support.platforms import client, embedded_settings


class Lot(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    start_price: int


def _routes(runtime: ServiceRuntime) -> list[APIRouter]:
    router = APIRouter(prefix="/api/v1/things")

    @router.post("")
    async def create(lot: Lot) -> dict[str, object]:
        return {"title": lot.title}

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    @router.get("/db")
    async def uses_the_database() -> dict[str, int]:
        assert runtime.db is not None
        async with runtime.db.read():
            return {"ok": 1}

    return [router]


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = embedded_settings(tmp_path, max_body_bytes=2048)
    db = Database(
        f"sqlite+aiosqlite:///{tmp_path}/s.sqlite3", pool_size=1, max_overflow=0, pool_timeout=0.2
    )
    definition = ServiceDefinition[None](
        name="things", context=lambda runtime: None, uses_database=True, routers=_routes
    )
    runtime = ServiceRuntime(definition=definition, settings=settings, metrics=Metrics(), db=db)
    async with client(create_app(runtime)) as http:
        http.runtime = runtime  # type: ignore[attr-defined]
        yield http
    await db.dispose()


def assert_error_shape(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["error"]["request_id"] == response.headers["x-request-id"]


async def test_an_unknown_route_is_404_in_the_error_shape(service: httpx.AsyncClient) -> None:
    assert_error_shape(await service.get("/api/v1/nowhere"), 404, "not_found")


async def test_a_wrong_method_is_405_in_the_error_shape(service: httpx.AsyncClient) -> None:
    assert_error_shape(await service.delete("/api/v1/things"), 405, "method_not_allowed")


async def test_malformed_json_is_400(service: httpx.AsyncClient) -> None:
    response = await service.post(
        "/api/v1/things", content=b'{"title": ', headers={"content-type": "application/json"}
    )
    assert_error_shape(response, 400, "malformed_json")


async def test_wrong_types_are_422_with_the_offending_field(service: httpx.AsyncClient) -> None:
    response = await service.post("/api/v1/things", json={"title": "Vase", "start_price": "cheap"})
    assert_error_shape(response, 422, "validation_error")
    assert response.json()["error"]["details"][0]["location"] == ["body", "start_price"]


async def test_unknown_fields_are_refused_where_the_model_forbids_them(
    service: httpx.AsyncClient,
) -> None:
    response = await service.post(
        "/api/v1/things", json={"title": "Vase", "start_price": 100, "roles": ["admin"]}
    )
    assert_error_shape(response, 422, "validation_error")


async def test_an_oversized_body_is_413(service: httpx.AsyncClient) -> None:
    response = await service.post("/api/v1/things", json={"title": "x" * 5000, "start_price": 1})
    assert_error_shape(response, 413, "body_too_large")


async def test_an_oversized_streamed_body_without_length_is_413(
    service: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 1000

    response = await service.post(
        "/api/v1/things", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_error_shape(response, 413, "body_too_large")


async def test_an_unexpected_error_is_500_without_the_stack_trace(
    service: httpx.AsyncClient,
) -> None:
    response = await service.get("/api/v1/things/boom")
    assert_error_shape(response, 500, "internal_error")
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text


async def test_an_exhausted_pool_answers_503_and_logs_pool_exhausted(
    service: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    runtime: ServiceRuntime = service.runtime  # type: ignore[attr-defined]
    assert runtime.db is not None
    async with runtime.db.read():
        with caplog.at_level(logging.ERROR):
            response = await service.get("/api/v1/things/db")
    assert_error_shape(response, 503, "pool_exhausted")
    assert "pool exhausted" in response.json()["error"]["message"]
    assert any("pool exhausted" in record.getMessage() for record in caplog.records)


async def test_the_callers_request_id_is_kept(service: httpx.AsyncClient) -> None:
    response = await service.get("/api/v1/nowhere", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert response.json()["error"]["request_id"] == "abc-123"


async def test_a_request_id_is_made_when_none_is_given(service: httpx.AsyncClient) -> None:
    first = await service.get("/health/live")
    second = await service.get("/health/live")
    assert len(first.headers["x-request-id"]) == 32
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_security_headers_are_on_every_answer(service: httpx.AsyncClient) -> None:
    response = await service.get("/api/v1/nowhere")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


async def test_metrics_count_requests_by_route_template_and_status(
    service: httpx.AsyncClient,
) -> None:
    await service.post("/api/v1/things", json={"title": "Vase", "start_price": 100})
    await service.get("/api/v1/nowhere")
    text = (await service.get("/metrics")).text
    labels = 'method="POST",route="/api/v1/things",service="things",status="200"'
    assert f"http_requests_total{{{labels}}} 1.0" in text
    assert 'route="unmatched",service="things",status="404"' in text
    assert "http_request_duration_seconds_bucket" in text
    assert 'db_pool_size{service="things"}' in text
    assert 'db_pool_in_use{service="things"}' in text
    assert 'db_pool_waiting{service="things"}' in text
    assert 'db_pool_connections_opened_total{service="things"}' in text


async def test_liveness_never_touches_a_dependency(tmp_path: Path) -> None:
    settings = embedded_settings(tmp_path)
    broken = Database("postgresql+asyncpg://postgres@127.0.0.1:1/none", connect_timeout=0.5)
    definition = ServiceDefinition[None](
        name="things",
        context=lambda runtime: None,
        uses_database=True,
        critical=frozenset({"npgsql"}),
    )
    runtime = ServiceRuntime(definition=definition, settings=settings, metrics=Metrics(), db=broken)
    async with client(create_app(runtime)) as http:
        assert (await http.get("/health/live")).status_code == 200
        assert (await http.get("/health/ready")).status_code == 503
        assert (await http.get("/health")).status_code == 503
        detail = await http.get("/health/detail")
        assert detail.status_code == 503
        assert detail.json()["checks"][0]["name"] == "npgsql"
        assert detail.json()["checks"][0]["status"] == "Unhealthy"
    await broken.dispose()


async def test_the_noop_diagnostic_exists_only_when_enabled(tmp_path: Path) -> None:
    from support.accounts import sign_up
    from support.platforms import running

    services = ("identity", "bidding", "auction", "gateway")
    for enabled, expected in ((False, 404), (True, 200)):
        settings = embedded_settings(tmp_path / str(enabled), diagnostics=enabled)
        async with running(settings, services, embedded=True) as platform:
            async with client(platform.apps["gateway"]) as gateway:
                ann = await sign_up(gateway)
            async with client(platform.apps["bidding"]) as bidding:
                answer = await bidding.post(
                    "/diagnostics/noop", json={"value": 5}, headers=ann.headers
                )
                anonymous = await bidding.post("/diagnostics/noop", json={"value": 5})
        assert answer.status_code == expected
        assert anonymous.status_code in (401, 404)
