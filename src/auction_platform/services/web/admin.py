"""The operators' pages: the analytics dashboard, every order, cancelling a lot, service status.

Every page needs the admin role (else a 403 page). The dashboard's charts are
drawn here, on the server (``charts``); the status page asks each service's
``/health/detail`` directly, in parallel, so one service that hangs shows as
Unhealthy instead of holding up the page.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import httpx
from fastapi import APIRouter, Request, Response

from auction_platform.contracts.categories import Category, index, path_of
from auction_platform.contracts.money import minor_units
from auction_platform.contracts.routes import API_SERVICES
from auction_platform.services.web import charts
from auction_platform.services.web.categories import category_tree
from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.render import money
from auction_platform.services.web.site import PageRoute, Visit, Web, query, status_list, visit_of

RANGES = (7, 30, 90)
ORDER_STATUSES = {
    "awaiting_payment": "Awaiting payment",
    "paid": "Paid",
    "refunded": "Refunded",
    "expired": "Expired",
}
ORDERS_PAGE = 25
REASON_LIMIT = 500
HEALTH_TIMEOUT = 3.0
UNHEALTHY = "Unhealthy"


def build_router(web: Web) -> APIRouter:
    """The admin pages."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.get("/admin")
    async def dashboard(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        asked = query(request).get("days", "")
        days = int(asked) if asked.isdigit() and int(asked) in RANGES else 30
        last = web.clock().date()
        span = {"from": (last - timedelta(days=days - 1)).isoformat(), "to": last.isoformat()}
        summary, daily, minutes, tree = await asyncio.gather(
            visit.api("GET", "/api/v1/analytics/summary", params=span),
            visit.api("GET", "/api/v1/analytics/daily", params=span),
            visit.api("GET", "/api/v1/analytics/bids-per-minute", params={"minutes": 60}),
            category_tree(visit, include_retired=True),
        )
        return visit.render(
            "admin/dashboard.html",
            days=days,
            ranges=RANGES,
            summary=summary,
            **_dashboard(summary, daily["items"], minutes, tree or []),
        )

    @router.get("/admin/orders")
    async def orders(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        return await status_list(
            visit,
            request,
            api_path="/api/v1/orders",
            statuses=ORDER_STATUSES,
            page=ORDERS_PAGE,
            template="admin/orders.html",
            items="orders",
        )

    @router.post("/admin/orders/{order_id}/refund")
    async def refund(request: Request, order_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        fields = await visit.form()
        back = fields.get("back", "")
        back = back if back.startswith("/admin/orders") and "//" not in back else "/admin/orders"
        try:
            done = await visit.api("POST", f"/api/v1/orders/{order_id}/refund")
        except ApiProblem as problem:
            if problem.status >= 500 or problem.status == 401:
                raise
            return await visit.answer(back, f"Not refunded: {_sentence(problem.message)}", "error")
        order = done["order"]
        if order.get("refunded_at"):
            amount = money(order.get("refunded_cents"), order["currency"])
            message = f"Refunded {amount} to the buyer of “{order['title']}”."
        else:
            message = (
                f"Refund of “{order['title']}” requested: the payment provider is still "
                "processing it."
            )
        return await visit.answer(back, message, "success")

    @router.get("/admin/auctions/{lot_id}/cancel")
    async def cancel_form(request: Request, lot_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        return await _cancel_page(visit, lot_id, reason="", problem=None)

    @router.post("/admin/auctions/{lot_id}/cancel")
    async def cancel(request: Request, lot_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        fields = await visit.form()
        reason = fields.get("reason", "").strip()
        if not reason or len(reason) > REASON_LIMIT:
            wrong = "Please say why" if not reason else f"At most {REASON_LIMIT} characters"
            problem = ApiProblem(422, "validation_error", f"{wrong}: the reason is kept.")
            return await _cancel_page(visit, lot_id, reason=reason, problem=problem)
        try:
            done = await visit.api(
                "POST", f"/api/v1/auctions/{lot_id}/cancel", json={"reason": reason}
            )
        except ApiProblem as problem:
            if problem.status >= 500 or problem.status in (401, 404):
                raise
            return await _cancel_page(visit, lot_id, reason=reason, problem=problem)
        title = done["auction"]["title"]
        return await visit.answer(
            f"/auctions/{lot_id}",
            f"Cancelled “{title}”. Any bids on it are void; its bidders and the seller are told.",
            "success",
        )

    @router.get("/admin/status")
    async def status(request: Request) -> Response:
        visit = await visit_of(request, web)
        visit.role("admin")
        clients = web.api.clients
        names = [name for name in API_SERVICES if name in clients]
        reports = await asyncio.gather(*(_health(name, clients[name]) for name in names))
        healthy = sum(1 for report in reports if report["status"] == "Healthy")
        return visit.render("admin/status.html", reports=reports, healthy=healthy)

    return router


async def _cancel_page(
    visit: Visit, lot_id: str, *, reason: str, problem: ApiProblem | None
) -> Response:
    detail = await visit.api("GET", f"/api/v1/auctions/{lot_id}")
    auction = detail["auction"]
    status = 200 if problem is None else 409 if problem.status == 409 else 422
    return visit.render(
        "admin/cancel.html",
        status,
        auction=auction,
        cancellable=auction["status"] not in ("closed", "cancelled"),
        reason=reason,
        problem=problem,
        limit=REASON_LIMIT,
    )


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


# --- the dashboard ---------------------------------------------------------------


def _day_label(day: date) -> str:
    return f"{day.day} {day:%b}"


def _percent(value: float) -> str:
    return f"{value:.0%}"


def _money_axis(currency: str) -> charts.Format:
    places = minor_units(currency)
    return lambda cents: charts.compact(cents / 10**places)


def _money_value(currency: str) -> charts.Format:
    return lambda cents: money(int(cents), currency)


def _dashboard(
    summary: dict[str, Any],
    rows: list[dict[str, Any]],
    minutes: dict[str, Any],
    tree: list[Category],
) -> dict[str, Any]:
    """The KPIs, charts and tables of the dashboard, from the analytics reports.

    Categories are rolled up to the top of the tree (a lot in Kitchen counts under
    Home & living); a category the tree does not know stands on its own.
    """
    known = index(tree)

    def top(slug: str) -> str:
        first = path_of(tree, slug)[0]
        return known[first].name if first in known else first

    first, last = date.fromisoformat(summary["from"]), date.fromisoformat(summary["to"])
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    per_day: dict[str, Counter[str]] = defaultdict(Counter)
    gmv: dict[str, Counter[str]] = defaultdict(Counter)
    categories: dict[str, Counter[str]] = defaultdict(Counter)
    category_gmv: dict[str, Counter[str]] = defaultdict(Counter)
    currencies: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        counts = {name: int(row.get(name) or 0) for name in ("sold", "unsold", "bids", "listed")}
        per_day[row["day"]].update(counts)
        gmv[row["currency"]][row["day"]] += int(row["gross_gmv_cents"])
        group = top(row["category"])
        categories[group].update({**counts, "cancelled": int(row["cancelled"])})
        category_gmv[group][row["currency"]] += int(row["gross_gmv_cents"])
        # Net figures go negative on a day that refunds an earlier day's sale.
        currencies[row["currency"]].update(
            sold=counts["sold"],
            gross_gmv_cents=int(row["gross_gmv_cents"]),
            net_gmv_cents=int(row["net_gmv_cents"]),
            net_fees_cents=int(row["net_fees_cents"]),
            refunds=int(row["refunds"]),
            refunded_cents=int(row["refunded_cents"]),
            orders_created=int(row["orders_created"]),
            orders_paid=int(row["orders_paid"]),
        )
    labels = [(day.isoformat(), _day_label(day)) for day in days]
    selling = sorted(currency for currency, by_day in gmv.items() if sum(by_day.values()))
    gmv_charts = [
        (
            currency,
            charts.bar_chart(
                [(label, gmv[currency][key]) for key, label in labels],
                title=f"GMV per day in {currency}",
                description=f"Hammer prices of lots sold each day, {currency}.",
                value_name=f"GMV ({currency})",
                label_name="Day (UTC)",
                format_value=_money_value(currency),
                format_tick=_money_axis(currency),
            ),
        )
        for currency in selling
    ] or [("", charts.bar_chart([], title="GMV per day", value_name="GMV"))]
    sell_through = charts.line_chart(
        [(label, _rate(per_day[key])) for key, label in labels],
        title="Sell-through per day",
        description="Lots sold out of lots that closed each day; no value on days none closed.",
        value_name="Sold",
        label_name="Day (UTC)",
        format_value=_percent,
        top=1.0,
    )
    bids_per_day = charts.bar_chart(
        [(label, per_day[key]["bids"]) for key, label in labels],
        title="Bids per day",
        value_name="Bids",
        label_name="Day (UTC)",
    )
    bids_per_minute = charts.bar_chart(
        [
            (datetime.fromisoformat(m["minute"]).strftime("%H:%M"), m["bids"])
            for m in minutes["items"]
        ],
        title="Bids per minute, last hour",
        description="Every bid on every lot in each of the last 60 minutes.",
        value_name="Bids",
        label_name="Minute (UTC)",
    )
    by_category = sorted(categories.items(), key=lambda item: (-item[1]["sold"], item[0]))
    sold_by_category = charts.bar_chart(
        [(name, counts["sold"]) for name, counts in by_category[:12]],
        title="Lots sold by category",
        value_name="Lots sold",
        label_name="Category",
    )
    return {
        "gmv_kpi": [m for m in summary["money"] if m["gross_gmv_cents"] or m["refunds"]],
        "refunds_kpi": [m for m in summary["money"] if m["refunds"]],
        "gmv_charts": gmv_charts,
        "sell_through": sell_through,
        "bids_per_day": bids_per_day,
        "bids_per_minute": bids_per_minute,
        "minutes": minutes,
        "sold_by_category": sold_by_category,
        "categories": [
            {
                "name": name,
                **counts,
                "rate": _rate(counts),
                "gmv": sorted(category_gmv[name].items()),
            }
            for name, counts in by_category
        ],
        "currencies": [
            {"currency": currency, **counts} for currency, counts in sorted(currencies.items())
        ],
    }


def _rate(counts: Counter[str]) -> float | None:
    closed = counts["sold"] + counts["unsold"]
    return counts["sold"] / closed if closed else None


# --- the status page ---------------------------------------------------------------


async def _health(name: str, client: httpx.AsyncClient) -> dict[str, Any]:
    """One service's ``/health/detail``; a service that does not answer is Unhealthy."""
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT):
            response = await client.get("/health/detail")
        report = response.json()
        if not isinstance(report, dict) or not isinstance(report.get("checks"), list):
            raise ValueError(f"answered {response.status_code} without a health report")
    except TimeoutError:
        return _unanswered(name, f"did not answer within {HEALTH_TIMEOUT:g} s")
    except (httpx.HTTPError, ValueError) as error:
        return _unanswered(name, f"{type(error).__name__}: {str(error)[:200]}")
    checks = [
        {
            "name": str(check.get("name", "")),
            "status": str(check.get("status", UNHEALTHY)),
            "duration": _duration_text(str(check.get("duration", ""))),
            "description": str(check.get("description", "")),
        }
        for check in report["checks"]
        if isinstance(check, dict)
    ]
    return {
        "name": name,
        "status": str(report.get("status", UNHEALTHY)),
        "duration": _duration_text(str(report.get("totalDuration", ""))),
        "checks": checks,
        "error": None,
    }


def _unanswered(name: str, error: str) -> dict[str, Any]:
    return {"name": name, "status": UNHEALTHY, "duration": "—", "checks": [], "error": error}


def _duration_text(text: str) -> str:
    """``00:00:00.0012345`` (the health report's format) as ``1.2 ms``."""
    try:
        hours, minutes, seconds = text.split(":")
        total = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return text or "—"
    return f"{total * 1000:.1f} ms" if total < 1 else f"{total:.2f} s"
