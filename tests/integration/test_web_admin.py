"""The operators' pages over HTTP: the dashboard, every order and its refund, cancelling, status.

The whole platform runs embedded, and the site is reached through the gateway as
a browser would reach it: sign in with the form, then follow links and post forms
with the CSRF token each page carries.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from auction_platform.composition import Platform
from auction_platform.services.identity import handlers as identity_handlers
from auction_platform.services.identity.domain import CreateAdmin
from auction_platform.services.web.site import Web
from support.accounts import PASSWORD, Account, sign_up
from support.auctions import create, seller
from support.platforms import client, embedded_settings, running
from support.waiting import eventually

ALL = (
    "identity",
    "auction",
    "bidding",
    "payment",
    "notification",
    "analytics",
    "web",
    "gateway",
)
SERVICES = ("identity", "auction", "bidding", "payment", "notification", "analytics")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    settings = embedded_settings(tmp_path, auction_min_duration_seconds=1)
    async with running(settings, ALL, embedded=True) as started:
        yield started


@pytest.fixture
async def api(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the public API."""
    async with client(platform.apps["gateway"]) as gateway:
        yield gateway


@pytest.fixture
async def admin(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in to the site as a new admin."""
    email = f"root-{uuid.uuid4().hex[:8]}@example.com"
    await identity_handlers.create_admin(
        CreateAdmin(
            email=email,
            password=PASSWORD,
            display_name="Root",
        ),
        ctx=platform.runtimes["identity"].context,
    )
    async with client(platform.apps["gateway"]) as browser:
        await sign_in(browser, email)
        yield browser


async def sign_in(browser: httpx.AsyncClient, email: str) -> None:
    """Sign in with the site's form, as a person would."""
    form = await browser.get("/signin")
    fields = {"email": email, "password": PASSWORD, "next": "/", "csrf_token": csrf(form.text)}
    signed_in = await browser.post("/signin", data=fields)
    assert signed_in.status_code == 303, signed_in.text
    assert signed_in.headers["location"] == "/"


def csrf(page: str) -> str:
    """The CSRF token the page's forms carry."""
    found = CSRF.search(page)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


async def sold_lot(
    api: httpx.AsyncClient, *, title: str, cents: int = 20_000
) -> tuple[Account, Account, dict[str, Any]]:
    """A seller's lot that opens in a second, takes one bid and is sold three seconds later."""
    sam, bob = await seller(api), await sign_up(api, name="Bob")
    start = datetime.now(UTC) + timedelta(seconds=1)
    lot = await create(
        api,
        sam,
        publish=True,
        title=title,
        category="clocks",
        reserve_cents=None,
        buy_now_cents=None,
        start_cents=10_000,
        soft_close=None,
        starts_at=start.isoformat(),
        ends_at=(start + timedelta(seconds=3)).isoformat(),
    )

    async def opened() -> bool:
        found = (await api.get(f"/api/v1/auctions/{lot['id']}")).json()["auction"]
        return bool(found["status"] == "open")

    await eventually(opened)
    placed = await api.post(
        f"/api/v1/auctions/{lot['id']}/bids", json={"max_amount": cents}, headers=bob.headers
    )
    assert placed.status_code == 201, placed.text
    return sam, bob, lot


async def test_the_admin_pages_are_for_admins_only(
    platform: Platform, api: httpx.AsyncClient
) -> None:
    pages = [
        "/admin",
        "/admin/orders",
        "/admin/status",
        "/admin/auctions/some-lot/cancel",
        "/admin/categories",
        "/admin/categories/home",
    ]
    async with client(platform.apps["gateway"]) as stranger:
        for page in pages:
            answer = await stranger.get(page)
            assert answer.status_code == 303, page
            assert answer.headers["location"] == f"/signin?next={page}"
    bea = await sign_up(api, name="Bea")
    async with client(platform.apps["gateway"]) as bidder:
        await sign_in(bidder, bea.email)
        for page in pages:
            refused = await bidder.get(page)
            assert refused.status_code == 403, page
            assert "for accounts with the admin role" in refused.text
        home = await bidder.get("/")
        assert 'href="/admin"' not in home.text  # no link to a page they may not see
        posted = await bidder.post(
            "/admin/orders/some-order/refund", data={"csrf_token": csrf(home.text)}
        )
        assert posted.status_code == 403


async def test_the_dashboard_draws_its_charts_on_the_server(admin: httpx.AsyncClient) -> None:
    page = await admin.get("/admin")
    assert page.status_code == 200, page.text
    html = page.text
    assert "<h1>Dashboard</h1>" in html
    assert 'aria-current="page">Dashboard</a>' in html
    for link in ('href="/admin/orders"', 'href="/admin/status"'):
        assert link in html
    for kpi in ("Net GMV", "Refunds", "Orders", "Sell-through", "Bids"):
        assert f'<span class="kpi-name">{kpi}</span>' in html
    charts = re.findall(r'<svg class="chart"[^>]*role="img" aria-label="([^"]+)"', html)
    assert charts == [
        "GMV per day",
        "Sell-through per day",
        "Bids per minute, last hour",
        "Bids per day",
        "Lots sold by category",
    ]
    assert html.count('<div class="visually-hidden"><table>') == len(charts)
    # Drawn here: no script but the site's own, and nothing fetched from another host.
    scripts = re.findall(r"<script[^>]*>", html)
    assert len(scripts) == 1 and 'src="/static/site.js' in scripts[0]
    assert not re.search(r'(src|href)="(https?:)?//', html)
    week = await admin.get("/admin", params={"days": "7"})
    assert '<option value="7" selected>' in week.text
    assert len(re.findall(r'<rect class="bar"', week.text)) == 60 + 7  # zero-height bars too


async def test_a_sale_shows_in_the_orders_and_the_gmv_and_is_refunded_from_the_orders_page(
    api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    sam, bob, _ = await sold_lot(api, title="Brass carriage clock")

    async def ordered() -> str:
        page = await admin.get("/admin/orders")
        return page.text if "Brass carriage clock" in page.text else ""

    orders = await eventually(ordered, timeout=20)
    assert bob.id in orders and sam.id in orders
    assert "Awaiting payment" in orders
    assert "€100.00" in orders  # the hammer: the opening price, with one bidder
    assert "/refund" not in orders  # nothing paid yet
    [order_id] = re.findall(r'href="/orders/([0-9a-f]+)"', orders)

    paid = await api.post(
        f"/api/v1/orders/{order_id}/pay", json={"card": "4242424242424242"}, headers=bob.headers
    )
    assert paid.status_code == 200, paid.text
    listed = await admin.get("/admin/orders", params={"status": "paid"})
    assert '<option value="paid" selected>' in listed.text
    assert f'action="/admin/orders/{order_id}/refund"' in listed.text
    assert 'name="back" value="/admin/orders?status=paid"' in listed.text

    async def counted() -> str:
        page = await admin.get("/admin")
        return page.text if "1 lot sold" in page.text else ""

    dashboard = await eventually(counted, timeout=20)
    assert "€100.00" in dashboard
    assert 'aria-label="GMV per day in EUR"' in dashboard
    # A lot in Clocks counts under the top of its branch of the tree.
    assert '<th scope="row">Home &amp; living</th>' in dashboard

    refunded = await admin.post(
        f"/admin/orders/{order_id}/refund",
        data={"csrf_token": csrf(listed.text), "back": "/admin/orders?status=paid"},
    )
    assert refunded.status_code == 303
    assert refunded.headers["location"] == "/admin/orders?status=paid"
    after = await admin.get("/admin/orders")
    assert "Refunded €105.00 to the buyer of “Brass carriage clock”." in after.text
    assert '<span class="badge refunded">Refunded</span>' in after.text
    again = await admin.post(
        f"/admin/orders/{order_id}/refund", data={"csrf_token": csrf(after.text)}
    )
    assert again.headers["location"] == "/admin/orders"
    assert "Not refunded:" in (await admin.get("/admin/orders")).text
    order = (await api.get(f"/api/v1/orders/{order_id}", headers=bob.headers)).json()["order"]
    assert order["status"] == "refunded"

    async def netted() -> str:
        page = await admin.get("/admin")
        refunds = '<td class="num" data-testid="refunds">1 (€105.00)</td>'
        return page.text if refunds in page.text else ""

    # The refund is counted, and takes the sale out of the net GMV; the gross stays.
    dashboard = await eventually(netted, timeout=20)
    assert "€105.00 given back" in dashboard
    assert '<strong class="amounts"><span>€0.00</span></strong>' in dashboard
    assert "1 lot sold; gross €100.00" in dashboard
    # The same sale and refund, by format: listed, sold, unsold, sell-through, bids, GMV, net.
    by_format = dashboard.split('data-testid="by-format"', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", by_format.split("<tbody>", 1)[1])
    assert cells == [
        "Rising bids (English auction)",
        "1",
        "1",
        "0",
        "100%",
        "1",
        "€100.00",
        "€0.00",
    ]


async def test_an_admin_cancels_a_lot_with_a_reason(
    api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    sam = await seller(api)
    lot = await create(api, sam, publish=True, title="Pocket watch, said to be gold")
    page = f"/admin/auctions/{lot['id']}/cancel"
    form = await admin.get(page)
    assert form.status_code == 200, form.text
    assert "Pocket watch, said to be gold" in form.text
    assert '<label for="reason">Reason</label>' in form.text
    assert "Starts soon" in form.text

    blank = await admin.post(page, data={"csrf_token": csrf(form.text), "reason": "   "})
    assert blank.status_code == 422
    assert "Please say why" in blank.text
    forged = await admin.post(page, data={"csrf_token": "forged", "reason": "Fake"})
    assert forged.status_code == 403

    cancelled = await admin.post(
        page,
        data={"csrf_token": csrf(form.text), "reason": "The seller could not show it is gold."},
    )
    assert cancelled.status_code == 303
    assert cancelled.headers["location"] == f"/auctions/{lot['id']}"
    shown = await admin.get(f"/auctions/{lot['id']}")
    assert "Cancelled “Pocket watch, said to be gold”." in shown.text
    found = (await api.get(f"/api/v1/auctions/{lot['id']}")).json()["auction"]
    assert (found["status"], found["cancelled_by"]) == ("cancelled", "admin")

    gone = await admin.get(page)
    assert "it can no longer be cancelled" in gone.text
    assert "<textarea" not in gone.text
    missing = await admin.get("/admin/auctions/no-such-lot/cancel")
    assert missing.status_code == 404


async def test_the_status_page_shows_every_service_and_one_that_does_not_answer(
    platform: Platform, admin: httpx.AsyncClient
) -> None:
    page = await admin.get("/admin/status")
    assert page.status_code == 200, page.text
    assert "<strong>6 of 6</strong> services healthy" in page.text
    for name in SERVICES:
        assert re.search(
            rf'<h2 id="svc-{name}">{name.capitalize()} <span class="badge healthy">Healthy</span>',
            page.text,
        ), name
    assert '<th role="rowheader" scope="row">npgsql</th>' in page.text  # the runbook's name
    assert " ms</td>" in page.text

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    web: Web = platform.runtimes["web"].context
    clients = web.api.clients
    down = httpx.AsyncClient(transport=httpx.MockTransport(refuse), base_url="http://payment")
    web.api.clients = {**clients, "payment": down}
    try:
        page = await admin.get("/admin/status")
    finally:
        web.api.clients = clients
        await down.aclose()
    assert "<strong>5 of 6</strong> services healthy" in page.text
    assert (
        '<h2 id="svc-payment">Payment <span class="badge unhealthy">Unhealthy</span>' in page.text
    )
    assert "No health report: ConnectError: connection refused" in page.text


async def test_an_admin_keeps_the_category_tree_from_the_console(
    admin: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    page = await admin.get("/admin/categories")
    assert page.status_code == 200
    assert "Home &amp; living" in page.text and 'href="/admin/categories/kitchen"' in page.text
    added = await admin.post(
        "/admin/categories",
        data={
            "name": "Mantel clocks",
            "slug": "mantel-clocks",
            "parent": "clocks",
            "csrf_token": csrf(page.text),
        },
    )
    assert added.status_code == 303, added.text
    tree = (await api.get("/api/v1/categories")).json()["categories"]
    home = next(node for node in tree if node["slug"] == "home")
    clocks = next(node for node in home["children"] if node["slug"] == "clocks")
    assert [child["slug"] for child in clocks["children"]] == ["mantel-clocks"]

    again = await admin.get("/admin/categories")
    assert "Added “Mantel clocks”" in again.text
    taken = await admin.post(
        "/admin/categories",
        data={"name": "Again", "slug": "home", "csrf_token": csrf(again.text)},
    )
    assert taken.status_code == 422
    assert 'value="Again"' in taken.text  # what was typed is kept

    edit = await admin.get("/admin/categories/clocks")
    assert edit.status_code == 200
    assert 'value="mantel-clocks"' not in edit.text  # a category cannot go under its own
    cycle = await admin.post(
        "/admin/categories/home",
        data={"name": "Home", "parent": "kitchen", "csrf_token": csrf(edit.text)},
    )
    assert cycle.status_code == 422 and "itself or its descendants" in cycle.text
    retired = await admin.post(
        "/admin/categories/clocks", data={"action": "retire", "csrf_token": csrf(edit.text)}
    )
    assert retired.status_code == 303
    listed = await admin.get("/admin/categories")
    assert "Retired “Clocks”" in listed.text
    offered = (await api.get("/api/v1/categories")).json()["categories"]
    home = next(node for node in offered if node["slug"] == "home")
    assert "clocks" not in [child["slug"] for child in home["children"]]
    restored = await admin.post(
        "/admin/categories/clocks", data={"action": "restore", "csrf_token": csrf(listed.text)}
    )
    assert restored.status_code == 303
    assert (await admin.get("/admin/categories/nowhere")).status_code == 404
