"""The site in the distributed mode: one process per service on PostgreSQL, Redis, RabbitMQ."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from playwright.async_api import BrowserContext, expect

from auction_platform.settings import SERVICES
from support import queue_sets
from support.auctions import open_lot, seller
from support.browser import DESKTOP, PHONE
from support.http_server import free_port
from support.processes import child_env, run_command, started
from support.servers import TEST_DEPENDENCY_TIMEOUT, unique_name
from support.web_site import LIVE_DEADLINE_MS, Site, bid, bidder, sign_in

pytestmark = pytest.mark.browser
NewContext = Callable[..., Awaitable[BrowserContext]]


@contextlib.asynccontextmanager
async def distributed_site(
    postgres_url: str, redis_url: str, rabbitmq_url: str
) -> AsyncIterator[Site]:
    """Every service served by its own process, the gateway in front, as in Kubernetes."""
    ports = {name: free_port() for name in SERVICES}
    settings = {
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        "RABBITMQ_URL": rabbitmq_url,
        **queue_sets.child_environ(),
        "CACHE_PREFIX": unique_name("c") + ":",
        # Seven processes share the test server: small pools keep it well under
        # its connection limit.
        "DB_POOL_SIZE": "3",
        "OUTBOX_POLL_INTERVAL": "0.1",
        # A page goes through the gateway and the site to the services: on a machine busy
        # with seven processes and browsers it may take longer than the default's 2 s.
        "DEPENDENCY_TIMEOUT": str(TEST_DEPENDENCY_TIMEOUT),
    }
    urls = {f"{name.upper()}_URL": f"http://127.0.0.1:{port}" for name, port in ports.items()}
    env = child_env(**settings, **urls)
    await run_command("migrate", env=env)
    async with contextlib.AsyncExitStack() as stack:
        for name in SERVICES:
            if name != "gateway":
                await stack.enter_async_context(
                    started("serve", name, port=ports[name], env=env, timeout=60)
                )
        gateway = await stack.enter_async_context(
            started("serve", "gateway", port=ports["gateway"], env=env, timeout=60)
        )
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=gateway.url, timeout=30))
        yield Site(gateway.url, http)


async def test_bidders_see_each_others_bids_live_in_the_distributed_mode(
    postgres_url: str, redis_url: str, rabbitmq_url: str, new_context: NewContext
) -> None:
    async with distributed_site(postgres_url, redis_url, rabbitmq_url) as site:
        owner = await seller(site.http)
        lot = await open_lot(site.http, owner, currency="EUR", start_cents=1_000)
        ann, bob = await bidder(site, "Ann"), await bidder(site, "Bob")
        ann_page = await sign_in(await new_context(DESKTOP), site, ann)
        bob_page = await sign_in(await new_context(PHONE), site, bob)
        for page in (ann_page, bob_page):
            await page.goto(f"{site.url}/auctions/{lot['id']}")
        assert "highest bidder at €10.00" in await bid(ann_page, "20")
        await expect(bob_page.get_by_test_id("bid-count")).to_have_text(
            "1", timeout=LIVE_DEADLINE_MS
        )
        assert "highest bidder at €20.50" in await bid(bob_page, "30")
        await expect(ann_page.get_by_test_id("current-price")).to_have_text(
            "€20.50", timeout=LIVE_DEADLINE_MS
        )
        # Sessions live in Redis: a second page of Ann's is still signed in.
        again = await ann_page.context.new_page()
        await again.goto(f"{site.url}/my/bids")
        await expect(again.get_by_role("heading", name="Outbid (1)")).to_be_visible()
