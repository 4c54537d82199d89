"""The gateway routes to the owning service and answers for it when it cannot."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from auction_platform.services.gateway.limits import RetryBudget
from support.http_server import serving
from support.platforms import client, embedded_settings, running


@pytest.fixture
def down_url() -> Iterator[str]:
    """An address that refuses connections: bound for the test, never listening.

    (A port merely free when the module loads may be taken by another server later.)
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def echo_app() -> FastAPI:
    app = FastAPI()

    @app.api_route("/api/v1/analytics/echo", methods=["GET", "POST"])
    async def echo(request: Request) -> dict[str, object]:
        return {
            "headers": dict(request.headers),
            "query": str(request.url.query),
            "body": (await request.body()).decode(),
        }

    @app.get("/api/v1/analytics/echo/{rest:path}")
    async def echo_path(request: Request, rest: str) -> dict[str, object]:
        return {"rest": rest, "raw_path": request.scope["raw_path"].decode()}

    @app.get("/api/v1/watchlist/slow")
    async def slow(request: Request) -> dict[str, str]:
        # A minute late, unless the caller gives up first (then the server stops at once).
        for _ in range(600):
            if await request.is_disconnected():
                break
            await asyncio.sleep(0.1)
        return {}

    @app.get("/health/ready")
    async def ready() -> dict[str, str]:
        return {"status": "Healthy"}

    return app


@pytest.fixture
async def echo_url() -> AsyncIterator[str]:
    async with serving(echo_app()) as url:
        yield url


async def test_embedded_gateway_reaches_every_service_in_process(tmp_path: Path) -> None:
    async with (
        running(embedded_settings(tmp_path), ["gateway", *DOWNSTREAM], embedded=True) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        response = await http.get("/api/v1/search/auctions")
        assert response.status_code == 200
        assert response.json()["total"] == 0
        detail = (await http.get("/health/detail")).json()
        assert detail["status"] == "Healthy"
        assert [c["name"] for c in detail["checks"]] == ["redis", *DOWNSTREAM]


DOWNSTREAM = ("identity", "auction", "bidding", "payment", "notification", "analytics", "web")


async def test_the_gateway_passes_request_id_query_and_body_and_strips_hop_by_hop_headers(
    tmp_path: Path, echo_url: str
) -> None:
    settings = embedded_settings(tmp_path, analytics_url=echo_url)
    async with running(settings, ["gateway"]) as platform, client(platform.apps["gateway"]) as http:
        response = await http.post(
            "/api/v1/analytics/echo?x=1&y=2",
            content=b"hello",
            headers={
                "X-Request-ID": "trace-me",
                "Connection": "keep-alive",
                "TE": "trailers",
                "Cookie": "session=abc",
            },
        )
    assert response.status_code == 200
    echoed = response.json()
    assert echoed["headers"]["x-request-id"] == "trace-me"
    assert echoed["headers"]["cookie"] == "session=abc"
    assert "te" not in echoed["headers"]
    assert echoed["query"] == "x=1&y=2"
    assert echoed["body"] == "hello"
    assert response.headers["x-request-id"] == "trace-me"


async def test_the_gateway_forwards_the_path_as_the_client_encoded_it(
    tmp_path: Path, echo_url: str
) -> None:
    """A control character, a space or an encoded slash in a path reaches the service as sent."""
    settings = embedded_settings(tmp_path, analytics_url=echo_url)
    async with running(settings, ["gateway"]) as platform, client(platform.apps["gateway"]) as http:
        response = await http.get("/api/v1/analytics/echo/a%07b%20c%2Fd%C3%A9?x=1")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "rest": "a\x07b c/d\u00e9",
        "raw_path": "/api/v1/analytics/echo/a%07b%20c%2Fd%C3%A9",
    }


async def test_a_control_character_in_a_path_is_a_refusal_not_a_server_error(
    tmp_path: Path,
) -> None:
    settings = embedded_settings(tmp_path)
    async with (
        running(settings, ["gateway", "identity"], embedded=True) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        response = await http.get("/api/v1/users/%07%C3%86/profile")
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]["code"] in ("not_found", "validation_error")


async def test_a_request_without_an_id_gets_one_the_service_sees_too(
    tmp_path: Path, echo_url: str
) -> None:
    settings = embedded_settings(tmp_path, analytics_url=echo_url)
    async with running(settings, ["gateway"]) as platform, client(platform.apps["gateway"]) as http:
        first = await http.get("/api/v1/analytics/echo")
        second = await http.get("/api/v1/analytics/echo", headers={"X-Request-ID": "bad id\x01"})
    ids = [response.headers["x-request-id"] for response in (first, second)]
    assert [response.json()["headers"]["x-request-id"] for response in (first, second)] == ids
    assert ids[0] != ids[1]
    assert all(len(value) == 32 and int(value, 16) >= 0 for value in ids)


async def test_an_unknown_area_is_404(tmp_path: Path) -> None:
    async with (
        running(embedded_settings(tmp_path), ["gateway"]) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        response = await http.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_a_service_that_is_down_is_503_in_the_error_shape(
    tmp_path: Path, down_url: str
) -> None:
    settings = embedded_settings(tmp_path, identity_url=down_url)
    async with running(settings, ["gateway"]) as platform, client(platform.apps["gateway"]) as http:
        response = await http.get("/api/v1/users/me")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response.headers["retry-after"] == "1"


async def test_a_slow_service_is_504_after_the_timeout(tmp_path: Path, echo_url: str) -> None:
    settings = embedded_settings(tmp_path, auction_url=echo_url, http_timeout=0.3)
    async with running(settings, ["gateway"]) as platform, client(platform.apps["gateway"]) as http:
        loop = asyncio.get_running_loop()
        started = loop.time()
        response = await http.get("/api/v1/watchlist/slow")
        waited = loop.time() - started
        # The slow route answers after a minute: a 504 well before is the timeout at work.
        assert waited < 30, f"the gateway waited {waited:.1f}s for a route (timeout 0.3 s)"
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "gateway_timeout"


async def test_a_service_answering_garbage_is_502(tmp_path: Path) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(b"this is not HTTP\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = embedded_settings(tmp_path, payment_url=f"http://127.0.0.1:{port}")
    try:
        async with (
            running(settings, ["gateway"]) as platform,
            client(platform.apps["gateway"]) as http,
        ):
            response = await http.get("/api/v1/orders")
    finally:
        server.close()
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "bad_gateway"


@pytest.mark.parametrize(
    ("down", "status", "ready_code"),
    [
        ("analytics", "Degraded", 200),
        ("notification", "Degraded", 200),
        ("bidding", "Unhealthy", 503),
        ("identity", "Unhealthy", 503),
    ],
)
async def test_a_non_critical_service_degrades_the_gateway_a_critical_one_makes_it_unready(
    tmp_path: Path, echo_url: str, down_url: str, down: str, status: str, ready_code: int
) -> None:
    urls = {f"{name}_url": echo_url for name in DOWNSTREAM}
    urls[f"{down}_url"] = down_url
    async with (
        running(embedded_settings(tmp_path, **urls), ["gateway"]) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        detail = (await http.get("/health/detail")).json()
        ready = await http.get("/health/ready")
    assert detail["status"] == status
    checks = {c["name"]: c["status"] for c in detail["checks"]}
    assert checks[down] == status
    assert all(checks[name] == "Healthy" for name in DOWNSTREAM if name != down)
    assert ready.status_code == ready_code


async def test_every_outgoing_call_has_a_timeout(tmp_path: Path) -> None:
    async with running(embedded_settings(tmp_path, http_timeout=3), ["gateway"]) as platform:
        for http in platform.runtimes["gateway"].clients.values():
            assert isinstance(http.timeout, httpx.Timeout)
            assert http.timeout.read == 3
            assert http.timeout.connect is not None


def flaky_app(calls: list[str]) -> FastAPI:
    """Answers 503 to the first request of each method, then 200."""
    app = FastAPI()

    @app.api_route("/api/v1/watchlist/flaky", methods=["GET", "POST"])
    async def flaky(request: Request) -> JSONResponse:
        calls.append(request.method)
        if calls.count(request.method) == 1:
            return JSONResponse({"error": "busy"}, 503)
        return JSONResponse({"ok": True})

    return app


async def test_an_idempotent_read_is_retried_once_a_write_never(tmp_path: Path) -> None:
    calls: list[str] = []
    async with serving(flaky_app(calls)) as url:
        settings = embedded_settings(tmp_path, auction_url=url)
        async with (
            running(settings, ["gateway"]) as platform,
            client(platform.apps["gateway"]) as http,
        ):
            read = await http.get("/api/v1/watchlist/flaky")
            write = await http.post("/api/v1/watchlist/flaky", json={})
    assert read.status_code == 200
    assert write.status_code == 503
    assert calls == ["GET", "GET", "POST"]


def test_the_retry_budget_runs_dry_and_refills() -> None:
    now = [0.0]
    budget = RetryBudget(ratio=0.25, floor_per_second=1.0, cap=2.0, clock=lambda: now[0])
    assert budget.try_spend()
    assert budget.try_spend()
    assert not budget.try_spend()
    for _ in range(4):
        budget.record_request()
    assert budget.try_spend()
    now[0] += 1.0
    assert budget.try_spend()


async def test_cors_answers_configured_origins_only(tmp_path: Path) -> None:
    settings = embedded_settings(tmp_path, cors_origins=["https://shop.example"])
    async with running(settings, ["gateway"]) as platform, client(platform.apps["gateway"]) as http:
        allowed = await http.options(
            "/api/v1/auctions",
            headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
        )
        refused = await http.options(
            "/api/v1/auctions",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    assert "access-control-allow-origin" not in refused.headers


async def test_the_gateway_never_carries_one_callers_cookies_to_another(tmp_path: Path) -> None:
    app = FastAPI()

    @app.get("/api/v1/watchlist/cookie")
    async def cookie(request: Request) -> JSONResponse:
        answer = JSONResponse({"seen": request.headers.get("cookie")})
        answer.set_cookie("session", "first-callers-secret")
        return answer

    async with serving(app) as url:
        settings = embedded_settings(tmp_path, auction_url=url)
        async with (
            running(settings, ["gateway"]) as platform,
            client(platform.apps["gateway"]) as http,
        ):
            first = await http.get("/api/v1/watchlist/cookie")
            http.cookies.clear()
            second = await http.get("/api/v1/watchlist/cookie")
    assert "first-callers-secret" in first.headers["set-cookie"]
    assert second.json() == {"seen": None}
