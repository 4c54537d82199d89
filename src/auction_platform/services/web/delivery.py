"""Delivery on the site: the buyer's choice on an order's page, the shipment and the receipt.

Plain forms through the public API: ``PUT /api/v1/orders/{id}/delivery`` with one of
the buyer's saved addresses (identity's ``/api/v1/users/me/addresses``) or a new one
typed in the form, ``POST .../shipment`` by the seller and ``POST .../receipt`` by
the buyer. A refusal comes back as the page's message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from auction_platform.contracts.countries import COUNTRIES, country_name
from auction_platform.services.web.addresses import FIELDS
from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.site import PageRoute, Visit, Web, visit_of

# The API's refusals, as the buyer or the seller reads them.
_REFUSALS = {
    "no_shipping_to_country": "The seller does not ship to that country. Choose another way.",
    "address_required": "Choose an address to ship to, or type a new one.",
    "address_incomplete": "The address needs a name, a street, a town and a country.",
    "delivery_required": "Choose how the lot reaches you before paying.",
    "method_not_offered": "The seller does not offer that way of delivery.",
    "already_shipped": "This order is marked shipped already.",
    "already_received": "You have confirmed receiving this lot already.",
    "not_shipped": "The seller has not sent the lot yet.",
    "order_refunded": "This order was refunded.",
    "validation_error": "Check the address: every field has its limits.",
}


def refusal_text(problem: ApiProblem) -> str:
    """A refusal in words: what happened and what to do."""
    known = _REFUSALS.get(problem.code)
    if known:
        return known
    sentence = problem.message[:1].upper() + problem.message[1:]
    return sentence if sentence.endswith(".") else sentence + "."


def shipping_cost(terms: dict[str, Any] | None, country: str) -> int | None:
    """What shipping to ``country`` costs under a lot's terms (None: not shipped there)."""
    costs = [
        rate["cost_cents"]
        for rate in (terms or {}).get("shipping") or ()
        if country.upper() in rate["countries"]
    ]
    return min(costs) if costs else None


def address_lines(address: dict[str, Any] | None) -> list[str]:
    """An address as the lines of a label."""
    if not address:
        return []
    town = " ".join(str(address.get(k) or "") for k in ("postal_code", "city")).strip()
    lines = [str(address.get(k) or "") for k in ("name", "line1", "line2")] + [town]
    lines.append(str(address.get("region") or ""))
    lines.append(country_name(str(address.get("country") or "")))
    lines.append(str(address.get("phone") or ""))
    return [line for line in lines if line]


async def saved_addresses(visit: Visit) -> list[dict[str, Any]]:
    """The buyer's saved addresses (none when identity cannot say now)."""
    try:
        found = await visit.api("GET", "/api/v1/users/me/addresses")
    except ApiProblem as problem:
        if problem.status in (401, 403, 404) or problem.status >= 500:
            return []
        raise
    items: list[dict[str, Any]] = found.get("items") or []
    return items


async def order_section(visit: Visit, order: dict[str, Any], *, buyer: bool) -> dict[str, Any]:
    """What the delivery panel of an order's page reads."""
    delivery = order.get("delivery") or {}
    terms = delivery.get("terms") or {}
    choosing = buyer and order.get("status") == "awaiting_payment"
    addresses = []
    if choosing and terms.get("shipping"):
        for saved in await saved_addresses(visit):
            cost = shipping_cost(terms, str(saved.get("country") or ""))
            addresses.append({**saved, "lines": address_lines(saved), "cost_cents": cost})
    return {
        "delivery": delivery,
        "delivery_terms": terms,
        "delivery_choosing": choosing,
        "delivery_seller": visit.session is not None
        and order.get("seller_id") == visit.session.user_id,
        "delivery_addresses": addresses,
        "delivery_lines": address_lines(delivery.get("address")),
        "countries": sorted(COUNTRIES.items(), key=lambda item: item[1]),
    }


def _chosen(fields: dict[str, str], saved: list[dict[str, Any]]) -> dict[str, Any]:
    """The API body of the delivery form: ``choice`` is a method, ``ship:<address id>`` or
    ``ship:new`` (the address typed in the form)."""
    choice = fields.get("choice", "")
    if not choice.startswith("ship:"):
        return {"method": choice}
    which = choice.removeprefix("ship:")
    if which == "new":
        typed = {name: fields.get(name, "").strip() for name in FIELDS}
        return {"method": "shipping", "address": {k: v for k, v in typed.items() if v}}
    found = next((a for a in saved if str(a.get("id")) == which), None)
    if found is None:
        raise ApiProblem(422, "address_required", "that address is not one of yours")
    address = {name: found.get(name) for name in FIELDS if found.get(name)}
    return {"method": "shipping", "address": address}


# What a form sends to the API, from its fields.
Body = Callable[[dict[str, str], Visit], Awaitable[Any]]


def build_router(web: Web) -> APIRouter:
    """The delivery forms of an order's page and of the sales page."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    async def send(request: Request, order_id: str, call: str, body: Body, done: str) -> Response:
        """Post a form's request to the API; back to the page it came from with the outcome."""
        visit = await visit_of(request, web)
        visit.user()
        fields = await visit.form()
        page = fields.get("back") or f"/orders/{order_id}"
        if not page.startswith("/") or page.startswith("//"):
            page = f"/orders/{order_id}"
        try:
            method, path = call.split(" ", 1)
            await visit.api(method, path, json=await body(fields, visit))
        except ApiProblem as problem:
            if problem.status >= 500 or problem.status == 401:
                raise
            return await visit.answer(page, refusal_text(problem), "error")
        return await visit.answer(page, done, "success")

    @router.post("/orders/{order_id}/delivery")
    async def choose(request: Request, order_id: str) -> Response:
        async def body(fields: dict[str, str], visit: Visit) -> dict[str, Any]:
            saved = await saved_addresses(visit) if fields.get("choice", "") != "ship:new" else []
            return _chosen(fields, saved)

        call = f"PUT /api/v1/orders/{order_id}/delivery"
        return await send(request, order_id, call, body, "Delivery chosen. Now pay below.")

    @router.post("/orders/{order_id}/shipment")
    async def ship(request: Request, order_id: str) -> Response:
        async def body(fields: dict[str, str], visit: Visit) -> dict[str, Any]:
            given = {k: fields.get(k, "").strip() for k in ("tracking_number", "carrier")}
            return {k: v[:100] for k, v in given.items() if v}

        call = f"POST /api/v1/orders/{order_id}/shipment"
        return await send(request, order_id, call, body, "Marked shipped: the buyer is told.")

    @router.post("/orders/{order_id}/receipt")
    async def receive(request: Request, order_id: str) -> Response:
        async def body(fields: dict[str, str], visit: Visit) -> None:
            return None

        call = f"POST /api/v1/orders/{order_id}/receipt"
        return await send(request, order_id, call, body, "Thank you: receipt confirmed.")

    return router
