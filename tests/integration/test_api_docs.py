"""The API's documentation: one OpenAPI document at /api/openapi.json, Swagger UI at /api/docs."""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import AsyncIterator, Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from auction_platform.composition import Platform
from auction_platform.contracts.routes import API_SERVICES
from auction_platform.services.gateway.docs import CSP
from auction_platform.services.gateway.openapi import SERVICE_ONLY
from auction_platform.settings import SERVICES
from support.accounts import sign_up
from support.auctions import admin_token, open_lot, seller
from support.http_server import serving
from support.platforms import client, embedded_settings, running
from support.waiting import eventually

METHODS = ("get", "put", "post", "delete", "patch")
# One path of each area of the public API.
AREAS = {
    "auth": "/api/v1/auth/login",
    "users": "/api/v1/users/me",
    "auctions": "/api/v1/auctions",
    "bids": "/api/v1/auctions/{auction_id}/bids",
    "orders": "/api/v1/orders",
    "search": "/api/v1/search/auctions",
    "analytics": "/api/v1/analytics/summary",
}
FEED = "/ws/auctions/{auction_id}"


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    settings = embedded_settings(tmp_path, auction_min_duration_seconds=1)
    async with running(settings, list(SERVICES), embedded=True) as started:
        yield started


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with client(platform.apps["gateway"]) as gateway:
        yield gateway


async def combined(http: httpx.AsyncClient) -> dict[str, Any]:
    answer = await http.get("/api/openapi.json")
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def validator(document: dict[str, Any], name: str) -> Draft202012Validator:
    """A JSON Schema validator of the document's schema ``name`` (its $refs resolved)."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return Draft202012Validator(schema)


async def test_the_combined_document_is_valid_openapi_with_every_area(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.get("/api/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["content-encoding"] == "gzip"
    document = answer.json()
    validate(document)  # raises on any departure from OpenAPI 3.1
    assert document["openapi"].startswith("3.1")
    for area, path in AREAS.items():
        assert path in document["paths"], f"{area}: {path} is missing"
    assert "/.well-known/jwks.json" in document["paths"]
    assert "live feed" in {tag["name"] for tag in document["tags"]}
    used = {tag for _, _, operation in operations(document) for tag in operation["tags"]}
    assert used <= {tag["name"] for tag in document["tags"]}
    assert "Incomplete" not in document["info"]["description"]

    again = await http.get("/api/openapi.json", headers={"If-None-Match": answer.headers["etag"]})
    assert again.status_code == 304


async def test_only_what_the_public_may_call_is_documented(http: httpx.AsyncClient) -> None:
    document = await combined(http)
    for path in document["paths"]:
        assert path == FEED or path.startswith(("/api/v1/", "/.well-known/")), path
        assert not re.match(r"^/(health|metrics|diagnostics)", path), path
    internal = []
    for service in API_SERVICES:
        own = (await http.get(f"/api/v1/{service}/openapi.json")).json()
        for path, method, operation in operations(own):
            if operation.get("x-internal") or (method, path) in SERVICE_ONLY:
                internal.append((method, path))
                assert method not in document["paths"].get(path, {}), (method, path)
    # What only services call: found from the routes' CurrentService, plus the list.
    assert ("get", "/api/v1/users/{user_id}/contact") in internal
    assert ("post", "/api/v1/auctions/{auction_id}/book/cancel") in internal
    assert not any(operation.get("x-internal") for _, _, operation in operations(document))


async def test_every_listed_service_only_operation_exists(http: httpx.AsyncClient) -> None:
    documented = set()
    for service in API_SERVICES:
        own = (await http.get(f"/api/v1/{service}/openapi.json")).json()
        documented |= {(method, path) for path, method, _ in operations(own)}
    assert documented >= SERVICE_ONLY, SERVICE_ONLY - documented


async def test_the_bearer_scheme_marks_what_needs_a_token(http: httpx.AsyncClient) -> None:
    document = await combined(http)
    schemes = document["components"]["securitySchemes"]
    assert list(schemes) == ["bearerAuth"]
    assert {k: schemes["bearerAuth"][k] for k in ("type", "scheme", "bearerFormat")} == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    paths = document["paths"]
    assert paths["/api/v1/users/me"]["get"]["security"] == [{"bearerAuth": []}]
    assert paths["/api/v1/auctions"]["get"]["security"] == [{"bearerAuth": []}, {}]
    assert "security" not in paths["/api/v1/auth/login"]["post"]
    assert "`admin`" in paths["/api/v1/analytics/summary"]["get"]["description"]

    # What the document says is what the API does: a GET marked as needing a token
    # is refused without one, and one not marked is not.
    checked = 0
    for path, method, operation in operations(document):
        if method != "get" or "{" in path or path == "/api/v1/payments/webhooks/stripe":
            continue
        needs_token = operation.get("security") == [{"bearerAuth": []}]
        answer = await http.get(path)
        assert (answer.status_code == 401) == needs_token, (path, answer.status_code)
        checked += 1
    assert checked >= 5


async def test_errors_are_documented_in_the_platforms_shape(http: httpx.AsyncClient) -> None:
    document = await combined(http)
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
    for path, method, operation in operations(document):
        default = operation["responses"]["default"]["content"]["application/json"]["schema"]
        assert default == {"$ref": "#/components/schemas/Error"}, (method, path)
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert "Error" in str(response["content"]) or "Validation" in str(
                    response["content"]
                ), (method, path, status)
    register = document["paths"]["/api/v1/auth/register"]["post"]["responses"]["422"]
    assert register["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ValidationFailure"
    }
    assert set(document["paths"]["/api/v1/users/me"]["get"]["responses"]) >= {"401", "403"}

    # Real answers fit the schemas the document gives them.
    refused = await http.post("/api/v1/auth/register", json={"email": "nobody"})
    assert refused.status_code == 422
    validator(document, "ValidationFailure").validate(refused.json())
    missing = await http.get("/api/v1/auctions/no-such-lot")
    assert missing.status_code == 404
    validator(document, "Error").validate(missing.json())
    assert not validator(document, "Error").is_valid({"detail": "Not Found"})


async def test_the_live_feed_is_described_with_the_books_fields(http: httpx.AsyncClient) -> None:
    document = await combined(http)
    feed = document["paths"][FEED]["get"]
    assert feed["tags"] == ["live feed"]
    assert "WebSocket" in feed["description"]
    assert "4404" in feed["description"]
    assert "1011" in feed["description"]
    message = feed["responses"]["101"]["content"]["application/json"]["schema"]
    assert message == {"$ref": "#/components/schemas/PublicBook"}
    book_schema = document["components"]["schemas"]["PublicBook"]

    owner = await seller(http)
    lot = await open_lot(http, owner)
    await sign_up(http, name="Watcher")
    book = (await http.get(f"/api/v1/auctions/{lot['id']}/book")).json()
    assert set(book_schema["properties"]) == set(book)
    assert set(book_schema["required"]) == set(book)
    validator(document, "PublicBook").validate(book)


def answer_fits(document: dict[str, Any], method: str, path: str, answer: httpx.Response) -> None:
    """``answer`` fits the schema the document gives its operation's status."""
    responses = document["paths"][path][method]["responses"]
    assert str(answer.status_code) in responses, (method, path, answer.status_code, answer.text)
    content = responses[str(answer.status_code)]["content"]["application/json"]
    schema = {**content["schema"], "components": document["components"]}
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(answer.json())]
    assert errors == [], (method, path, errors)


async def test_real_answers_fit_the_schemas_the_document_gives_them(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    """Each area's answers, to the public, a bidder, the seller and an admin, as documented."""
    document = await combined(http)
    owner = await seller(http)
    bidder = await sign_up(http, name="Bea")
    admin = await admin_token(http, platform)
    lot = await open_lot(http, owner)
    sold = await open_lot(http, owner, reserve_cents=None)
    steps: list[tuple[str, str, dict[str, str], Any]] = [
        (
            "post",
            "/api/v1/auctions/{auction_id}/bids",
            bidder.headers,
            {"max_amount_cents": 20_000},
        ),
        ("get", "/api/v1/auctions/{auction_id}/book", bidder.headers, None),
        ("get", "/api/v1/auctions/{auction_id}/bids", {}, None),
        ("get", "/api/v1/bids", bidder.headers, None),
        ("get", "/api/v1/auctions/{lot_id}", owner.headers, None),
        ("get", "/api/v1/auctions/{lot_id}", {}, None),
        ("get", "/api/v1/auctions", bidder.headers, None),
        ("get", "/api/v1/auctions/mine", owner.headers, None),
        ("put", "/api/v1/watchlist/{lot_id}", bidder.headers, None),
        ("get", "/api/v1/watchlist", bidder.headers, None),
        ("get", "/api/v1/users/me", bidder.headers, None),
        ("get", "/api/v1/users/me/preferences", bidder.headers, None),
        ("get", "/api/v1/users", admin, None),
        ("get", "/.well-known/jwks.json", {}, None),
        ("get", "/api/v1/search/auctions", {}, None),
        ("get", "/api/v1/analytics/summary", admin, None),
        ("get", "/api/v1/analytics/daily", admin, None),
        ("get", "/api/v1/analytics/events", admin, None),
        ("get", "/api/v1/offers", bidder.headers, None),
    ]
    for method, path, headers, body in steps:
        url = path.format(auction_id=lot["id"], lot_id=lot["id"])
        answer = await http.request(method, url, headers=headers, json=body)
        assert answer.status_code < 300, (method, url, answer.text)
        answer_fits(document, method, path, answer)
    bought = await http.post(f"/api/v1/auctions/{sold['id']}/buy-now", headers=bidder.headers)
    answer_fits(document, "post", "/api/v1/auctions/{auction_id}/buy-now", bought)

    async def ordered() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (
            await http.get("/api/v1/orders", headers=bidder.headers)
        ).json()["items"]
        return items

    [order] = await eventually(ordered)
    paid = await http.post(
        f"/api/v1/orders/{order['id']}/pay",
        json={"card": "4242424242424242"},
        headers=bidder.headers,
    )
    answer_fits(document, "post", "/api/v1/orders/{order_id}/pay", paid)
    for who in (bidder.headers, owner.headers):
        listed = await http.get("/api/v1/orders?role=buyer", headers=who)
        answer_fits(document, "get", "/api/v1/orders", listed)
        shown = await http.get(f"/api/v1/orders/{order['id']}", headers=who)
        answer_fits(document, "get", "/api/v1/orders/{order_id}", shown)
    refunded = await http.post(f"/api/v1/orders/{order['id']}/refund", headers=admin)
    answer_fits(document, "post", "/api/v1/orders/{order_id}/refund", refunded)

    async def reported() -> httpx.Response | None:
        answer = await http.get(f"/api/v1/analytics/auctions/{sold['id']}", headers=admin)
        return answer if answer.status_code == 200 else None

    report = await eventually(reported)
    answer_fits(document, "get", "/api/v1/analytics/auctions/{auction_id}", report)
    low = {"max_amount_cents": 1}
    refused = await http.post(
        f"/api/v1/auctions/{lot['id']}/bids", json=low, headers=bidder.headers
    )
    answer_fits(document, "post", "/api/v1/auctions/{auction_id}/bids", refused)


async def test_the_docs_page_loads_only_same_origin_files_under_a_strict_csp(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/api/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CSP
    policy = dict(part.strip().split(" ", 1) for part in CSP.split(";"))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    html = page.text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert len(scripts) == 2
    for attributes, body in scripts:
        assert body.strip() == "", "no inline script"
        assert re.search(r'src="/api/docs/static/', attributes), attributes
    assert "on" + "load=" not in html and "javascript:" not in html
    files = re.findall(r'(?:src|href)="(/api/docs/static/[^"]+)"', html)
    assert {f.split("?")[0].rsplit("/", 1)[-1] for f in files} == {
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "api-docs.js",
        "api-docs.css",
    }
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html), "nothing from another host"
    for url in files:
        served = await http.get(url, headers={"Accept-Encoding": "gzip"})
        assert served.status_code == 200, url
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert served.headers["content-encoding"] == "gzip"
        again = await http.get(url, headers={"If-None-Match": served.headers["etag"]})
        assert again.status_code == 304
    init = (await http.get(files[-1])).text
    assert "/api/openapi.json" in html
    assert "persistAuthorization: true" in init
    assert "validatorUrl: null" in init


def _files(folder: Traversable, prefix: str = "") -> Iterator[tuple[str, bytes]]:
    for entry in folder.iterdir():
        if entry.is_dir():
            yield from _files(entry, f"{prefix}{entry.name}/")
        else:
            yield prefix + entry.name, entry.read_bytes()


async def test_every_static_file_is_served(http: httpx.AsyncClient) -> None:
    static = resources.files("auction_platform.services.gateway") / "static"
    files = dict(_files(static))
    assert {"swagger-ui/swagger-ui-bundle.js", "swagger-ui/swagger-ui.css"} <= set(files)
    assert {"swagger-ui/LICENSE", "swagger-ui/README.md", "api-docs.js"} <= set(files)
    for name, body in files.items():
        plain = await http.get(f"/api/docs/static/{name}", headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200, name
        assert plain.content == body, name
        assert plain.headers["cache-control"] == "public, max-age=3600"
        packed = await http.get(f"/api/docs/static/{name}", headers={"Accept-Encoding": "gzip"})
        assert packed.headers["content-encoding"] == "gzip"
        assert int(packed.headers["content-length"]) < len(body) or len(body) < 100, name
        assert packed.content == body, name  # as httpx decoded it
    assert (await http.get("/api/docs/static/nothing.js")).status_code == 404
    readme = files["swagger-ui/README.md"].decode()
    version = re.search(r"`swagger-ui-dist` \*\*([\d.]+)\*\*", readme)
    assert version is not None
    assert f"swagger-ui-dist@{version.group(1)}" in readme
    bundle = files["swagger-ui/swagger-ui-bundle.js"]
    assert str(len(bundle)) in readme


async def test_each_services_docs_address_leads_to_the_docs(http: httpx.AsyncClient) -> None:
    for service in API_SERVICES:
        answer = await http.get(f"/api/v1/{service}/docs")
        assert answer.status_code == 307, service
        assert answer.headers["location"] == "/api/docs"
        assert (await http.get(f"/api/v1/{service}/openapi.json")).status_code == 200


async def test_the_notification_area_is_not_routed(http: httpx.AsyncClient) -> None:
    answer = await http.get("/api/v1/notifications")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


@pytest.fixture
def down_url() -> Iterator[str]:
    """An address that refuses connections: bound for the test, never listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_without_any_service_the_document_is_a_503(tmp_path: Path, down_url: str) -> None:
    urls = {f"{name}_url": down_url for name in API_SERVICES}
    settings = embedded_settings(tmp_path, **urls)
    async with running(settings, ["gateway"]) as gateway, client(gateway.apps["gateway"]) as http:
        answer = await http.get("/api/openapi.json")
        page = await http.get("/api/docs")
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "service_unavailable"
    assert "retry-after" in answer.headers
    assert page.status_code == 200  # the page itself needs no service


async def test_a_gateway_serving_alone_merges_the_services_documents_over_the_network(
    platform: Platform, tmp_path: Path, down_url: str
) -> None:
    """As in the distributed mode: each service at its URL, one of them down."""
    async with contextlib.AsyncExitStack() as stack:
        urls = {
            f"{name}_url": await stack.enter_async_context(serving(platform.apps[name]))
            for name in API_SERVICES
            if name != "payment"
        }
        settings = embedded_settings(tmp_path / "alone", payment_url=down_url, **urls)
        gateway = await stack.enter_async_context(running(settings, ["gateway"]))
        http = await stack.enter_async_context(client(gateway.apps["gateway"]))
        answer = await http.get("/api/openapi.json")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-cache"  # filled in once payment is back
    document = answer.json()
    validate(document)
    assert "/api/v1/users/me" in document["paths"]
    assert "/api/v1/search/auctions" in document["paths"]
    assert not any(path.startswith("/api/v1/orders") for path in document["paths"])
    assert "the payment service did not answer" in document["info"]["description"]
