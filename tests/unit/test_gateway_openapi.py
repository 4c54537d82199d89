"""Merging the services' OpenAPI documents into the gateway's one, and keeping it a while."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from auction_platform.core.auth import Admin, CurrentService, CurrentUser, OptionalPrincipal
from auction_platform.core.openapi import install_openapi
from auction_platform.services.gateway.openapi import (
    FEED_PATH,
    CombinedDocument,
    NoDocuments,
    merge,
)


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def operation(schema: str, **extra: Any) -> dict[str, Any]:
    return {
        "tags": extra.pop("tags", ["things"]),
        "responses": {"200": {"content": {"application/json": {"schema": ref(schema)}}}},
        **extra,
    }


def document(paths: dict[str, Any], schemas: dict[str, Any], **components: Any) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas, **components},
    }


AUCTION = document(
    {
        "/api/v1/auctions": {"get": operation("Lot")},
        "/api/v1/auctions/{lot_id}/rules": {"get": operation("Rules", **{"x-internal": True})},
        "/health": {"get": operation("Health")},
    },
    {
        "Lot": {"type": "object", "properties": {"status": ref("Status"), "at": ref("When")}},
        "Status": {"title": "Status", "enum": ["draft", "open"]},
        "When": {"type": "string", "format": "date-time"},
        "Rules": {"type": "object"},
        "Health": {"type": "object"},
    },
)
PAYMENT = document(
    {
        "/api/v1/orders": {
            "get": operation("Order", security=[{"HTTPBearer": []}]),
        },
        # A path the gateway routes to another service is not payment's to document.
        "/api/v1/auctions": {"post": operation("Order")},
    },
    {
        "Order": {"type": "object", "properties": {"status": ref("Status"), "at": ref("When")}},
        "Status": {"title": "Status", "enum": ["pending", "paid"]},
        "When": {"type": "string", "format": "date-time"},
    },
    securitySchemes={"HTTPBearer": {"type": "http", "scheme": "bearer"}},
)
IDENTITY = document(
    {
        "/api/v1/auth/login": {"post": operation("Tokens", tags=["auth"])},
        "/api/v1/auth/service-token": {"post": operation("Tokens", tags=["auth"])},
    },
    {"Tokens": {"type": "object"}},
)


def test_clashing_schema_names_are_prefixed_and_their_refs_follow() -> None:
    merged = merge({"auction": AUCTION, "payment": PAYMENT})
    schemas = merged["components"]["schemas"]
    assert schemas["AuctionStatus"]["enum"] == ["draft", "open"]
    assert schemas["PaymentStatus"]["enum"] == ["pending", "paid"]
    assert schemas["AuctionStatus"]["title"] == "AuctionStatus"
    assert "Status" not in schemas
    # The same definition in both is one schema, under its own name.
    assert schemas["When"] == {"type": "string", "format": "date-time"}
    assert "AuctionWhen" not in schemas
    # Lot and Order refer to the renamed Status of their own service.
    assert schemas["Lot"]["properties"]["status"] == ref("AuctionStatus")
    assert schemas["Order"]["properties"]["status"] == ref("PaymentStatus")


def test_a_schema_referring_to_a_clashing_name_is_prefixed_too() -> None:
    first = document(
        {"/api/v1/auctions": {"get": operation("Page")}},
        {"Page": {"properties": {"item": ref("Item")}}, "Item": {"enum": ["a"]}},
    )
    second = document(
        {"/api/v1/orders": {"get": operation("Page")}},
        {"Page": {"properties": {"item": ref("Item")}}, "Item": {"enum": ["b"]}},
    )
    schemas = merge({"auction": first, "payment": second})["components"]["schemas"]
    assert schemas["AuctionPage"]["properties"]["item"] == ref("AuctionItem")
    assert schemas["PaymentPage"]["properties"]["item"] == ref("PaymentItem")


def test_only_public_operations_routed_to_their_service_are_kept() -> None:
    merged = merge({"auction": AUCTION, "payment": PAYMENT, "identity": IDENTITY})
    paths = merged["paths"]
    assert set(paths) == {"/api/v1/auctions", "/api/v1/orders", "/api/v1/auth/login", FEED_PATH}
    assert set(paths["/api/v1/auctions"]) == {"get"}  # payment's POST is not payment's
    schemas = merged["components"]["schemas"]
    assert "Rules" not in schemas  # only an internal operation used it
    assert "Health" not in schemas
    assert "PublicBook" in schemas


def test_every_bearer_scheme_becomes_bearer_auth() -> None:
    merged = merge({"payment": PAYMENT})
    assert merged["paths"]["/api/v1/orders"]["get"]["security"] == [{"bearerAuth": []}]
    assert list(merged["components"]["securitySchemes"]) == ["bearerAuth"]


def test_a_missing_service_is_named_in_the_description() -> None:
    merged = merge({"auction": AUCTION}, missing=["payment"])
    assert "payment service did not answer" in merged["info"]["description"]
    assert "Incomplete" not in merge({"auction": AUCTION})["info"]["description"]


def test_tags_are_listed_in_order_with_descriptions() -> None:
    merged = merge({"auction": AUCTION, "identity": IDENTITY})
    names = [tag["name"] for tag in merged["tags"]]
    assert names == ["auth", "live feed", "things"]
    assert merged["tags"][0]["description"]


class Services:
    """Fake services answering their documents: each call counted, some failing."""

    def __init__(self, documents: dict[str, Any], *, failing: frozenset[str] = frozenset()) -> None:
        self.documents = documents
        self.failing = set(failing)
        self.hanging: set[str] = set()
        self.calls = 0

    def clients(self) -> dict[str, httpx.AsyncClient]:
        return {
            name: httpx.AsyncClient(
                transport=httpx.MockTransport(self._handler(name)), base_url="http://x"
            )
            for name in self.documents
        }

    def _handler(self, name: str) -> Any:
        async def handle(request: httpx.Request) -> httpx.Response:
            self.calls += 1
            if name in self.hanging:
                await asyncio.sleep(60)
            if name in self.failing:
                raise httpx.ConnectError("refused", request=request)
            assert request.url.path == f"/api/v1/{name}/openapi.json"
            return httpx.Response(200, json=self.documents[name])

        return handle


async def test_the_document_is_kept_a_minute_and_fetched_once_for_concurrent_callers() -> None:
    services = Services({"auction": AUCTION, "payment": PAYMENT})
    now = [0.0]
    combined = CombinedDocument(services.clients(), ttl=60, clock=lambda: now[0])
    first, second = await asyncio.gather(combined.get(), combined.get())
    assert first is second
    assert services.calls == 2
    now[0] = 59
    assert await combined.get() is first
    assert services.calls == 2
    now[0] = 61
    await combined.get()
    assert services.calls == 4
    assert "/api/v1/orders" in json.loads(first.body)["paths"]


async def test_a_silent_service_leaves_its_paths_out_briefly() -> None:
    services = Services({"auction": AUCTION, "payment": PAYMENT}, failing={"payment"})
    now = [0.0]
    combined = CombinedDocument(
        services.clients(), ttl=60, partial_ttl=5, timeout=0.2, clock=lambda: now[0]
    )
    partial = await combined.get()
    assert partial.missing == ("payment",)
    body = json.loads(partial.body)
    assert "/api/v1/orders" not in body["paths"]
    assert "payment service did not answer" in body["info"]["description"]
    services.failing.clear()
    now[0] = 6
    complete = await combined.get()
    assert complete.missing == ()
    assert "/api/v1/orders" in json.loads(complete.body)["paths"]


async def test_a_hanging_service_costs_only_the_timeout() -> None:
    services = Services({"auction": AUCTION, "payment": PAYMENT})
    services.hanging.add("payment")
    combined = CombinedDocument(services.clients(), timeout=0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    document = await combined.get()
    assert loop.time() - started < 2
    assert document.missing == ("payment",)


async def test_no_service_answering_is_no_document() -> None:
    services = Services({"auction": AUCTION}, failing={"auction"})
    with pytest.raises(NoDocuments):
        await CombinedDocument(services.clients()).get()


def test_a_services_document_marks_token_checks_internal_routes_and_errors() -> None:
    app = FastAPI()
    router = APIRouter(prefix="/api/v1/things")

    @router.get("/mine")
    async def mine(user: CurrentUser) -> dict[str, str]:
        return {}

    @router.get("/open")
    async def open_to_all(viewer: OptionalPrincipal) -> dict[str, str]:
        return {}

    @router.get("/report")
    async def report(admin: Admin) -> dict[str, str]:
        return {}

    @router.get("/for-services/{thing_id}")
    async def internal(thing_id: int, service: CurrentService) -> dict[str, str]:
        return {}

    @router.get("/public")
    async def public() -> dict[str, str]:
        return {}

    app.include_router(router)
    install_openapi(app)
    paths = app.openapi()["paths"]
    assert paths["/api/v1/things/mine"]["get"]["security"] == [{"bearerAuth": []}]
    assert paths["/api/v1/things/open"]["get"]["security"] == [{"bearerAuth": []}, {}]
    assert "`admin`" in paths["/api/v1/things/report"]["get"]["description"]
    internal_get = paths["/api/v1/things/for-services/{thing_id}"]["get"]
    assert internal_get["x-internal"] is True
    assert internal_get["responses"]["422"]["content"]["application/json"]["schema"] == ref(
        "ValidationFailure"
    )
    assert "security" not in paths["/api/v1/things/public"]["get"]
    assert set(paths["/api/v1/things/public"]["get"]["responses"]) == {"200", "default"}
    schemas = app.openapi()["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert {"Error", "ValidationFailure", "ValidationIssue"} <= set(schemas)
