"""Roles take effect at once with one process per service, as in Kubernetes.

Identity, auction, bidding, payment, analytics and the gateway each run as
``auction-platform serve`` on the real PostgreSQL, Redis and RabbitMQ. A new seller
lists a lot with the token the seller request answers with; when an admin withdraws
the role, the token the seller held is refused by every process within seconds (the
mark is in Redis before identity answers, and each process holds what Redis announces),
and a refreshed one no longer sells.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import httpx
from test_distributed_services import distributed_env

from support.accounts import PASSWORD
from support.http_server import free_port
from support.processes import run_command, started
from support.waiting import eventually

SERVICES = ("identity", "auction", "bidding", "payment", "analytics", "gateway")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def lot() -> dict[str, object]:
    start = datetime.now(UTC) + timedelta(hours=1)
    return {
        "title": "A 1960s Leica M3",
        "description": "Works; light meter included.",
        "category": "cameras",
        "images": ["https://images.example.com/leica.jpg"],
        "currency": "EUR",
        "start_cents": 10_000,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(days=2)).isoformat(),
    }


async def test_a_role_withdrawn_by_an_admin_is_refused_by_every_process_within_seconds(
    postgres_url: str, redis_url: str, rabbitmq_url: str
) -> None:
    ports = {name: free_port() for name in SERVICES}
    urls = {f"{name.upper()}_URL": f"http://127.0.0.1:{port}" for name, port in ports.items()}
    env = distributed_env(postgres_url, redis_url, rabbitmq_url, **urls)
    await run_command("migrate", env=env)
    admin_email = "ops@example.com"
    await run_command(
        "create-admin",
        "--email",
        admin_email,
        "--display-name",
        "Ops",
        env={**env, "ADMIN_PASSWORD": PASSWORD},
    )
    async with contextlib.AsyncExitStack() as stack:
        # The gateway last, once ready: its P0 services answer by then.
        children = {
            name: await stack.enter_async_context(
                started(
                    "serve",
                    name,
                    port=port,
                    env=env,
                    ready_path="/health/ready" if name == "gateway" else "/health/live",
                )
            )
            for name, port in ports.items()
        }
        http = await stack.enter_async_context(
            httpx.AsyncClient(base_url=children["gateway"].url, timeout=10)
        )

        async def log_in(email: str) -> dict[str, str]:
            answer = await http.post(
                "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
            )
            assert answer.status_code == 200, answer.text
            tokens: dict[str, str] = answer.json()
            return tokens

        registered = await http.post(
            "/api/v1/auth/register",
            json={"email": "sam@example.com", "password": PASSWORD, "display_name": "Sam"},
        )
        assert registered.status_code == 201, registered.text
        sam_id = registered.json()["user"]["id"]
        first = await log_in("sam@example.com")

        # The seller request's answer carries a token with the role: it sells at once.
        granted = await http.post("/api/v1/users/me/seller", headers=bearer(first["access_token"]))
        assert granted.status_code == 200, granted.text
        token = granted.json()["access_token"]
        listed = await http.post("/api/v1/auctions", json=lot(), headers=bearer(token))
        assert listed.status_code == 201, listed.text

        admin = await log_in(admin_email)
        removed = await http.put(
            f"/api/v1/users/{sam_id}/roles",
            json={"roles": ["bidder"]},
            headers=bearer(admin["access_token"]),
        )
        assert removed.status_code == 200, removed.text

        # Refused by each process once it has the mark: identity at once, the others
        # as soon as Redis' announcement reaches them.
        asked = {
            "identity": ("GET", "/api/v1/users/me"),
            "gateway": ("POST", "/api/v1/auctions"),
            "auction": ("POST", "/api/v1/auctions"),
            "bidding": ("GET", "/api/v1/bids"),
            "payment": ("GET", "/api/v1/orders"),
            "analytics": ("GET", "/api/v1/analytics/summary"),
        }
        for name, (method, path) in asked.items():

            async def refused(name: str = name, method: str = method, path: str = path) -> bool:
                answer = await http.request(
                    method,
                    children[name].url + path,
                    json=lot() if method == "POST" else None,
                    headers=bearer(token),
                )
                if answer.status_code != 401:
                    return False
                assert answer.json()["error"]["code"] == "token_stale", name
                return True

            await eventually(refused)

        renewed = await http.post(
            "/api/v1/auth/refresh", json={"refresh_token": granted.json()["refresh_token"]}
        )
        assert renewed.status_code == 200, renewed.text
        fresh = bearer(renewed.json()["access_token"])
        assert (await http.get("/api/v1/users/me", headers=fresh)).json()["user"]["roles"] == [
            "bidder"
        ]
        refused = await http.post("/api/v1/auctions", json=lot(), headers=fresh)
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
