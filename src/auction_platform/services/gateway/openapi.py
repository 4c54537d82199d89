"""The public API as one OpenAPI 3.1 document, merged from the services' own.

Each API service serves its document at ``/api/v1/<service>/openapi.json`` (refined by
``core.openapi``: bearer security, ``x-internal`` operations, the platform's error
shape). The gateway fetches them all in parallel through its clients, keeps what the
public may call, and merges:

- ``paths``: a path is kept only when the gateway routes it to the service that
  documents it (``contracts.routes``), so health, metrics and diagnostics routes and a
  path another service owns are left out; so are the operations marked ``x-internal``
  (they depend on ``CurrentService``) and the few service-only operations a document
  cannot show (``SERVICE_ONLY``);
- ``components.schemas``: one schema per name; a name two services define differently
  is prefixed with each service's name (``Status`` becomes ``AuctionStatus`` and
  ``PaymentStatus``) and the ``$ref``s are rewritten; schemas no kept operation uses
  are dropped;
- security schemes: every HTTP bearer scheme becomes the one ``bearerAuth``;
- tags, with a description each, plus the live feed's WebSocket (OpenAPI has no
  WebSocket operations: it is described as the ``GET`` that asks for the upgrade).
"""

from __future__ import annotations

import asyncio
import copy
import gzip
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from auction_platform.contracts.books import PublicBook
from auction_platform.contracts.routes import API_SERVICES, owner_of
from auction_platform.core.openapi import BEARER, BEARER_SCHEME, ERROR, INTERNAL

log = logging.getLogger("auction_platform.gateway")

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"
FEED_PATH = "/ws/auctions/{auction_id}"
FEED_TAG = "live feed"
BOOK_SCHEMA = "PublicBook"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SCHEMA_REF = "#/components/schemas/"

# Operations only the platform's services call that their documents cannot mark: a
# service token is asked for with the service's client secret, not with a token.
SERVICE_ONLY: frozenset[tuple[str, str]] = frozenset({("post", "/api/v1/auth/service-token")})

# The tags of the merged document, in the order Swagger UI lists them.
TAGS: tuple[tuple[str, str], ...] = (
    ("auth", "Sign up, sign in, refresh and sign out; the token signing keys (JWKS)."),
    ("users", "Your account, preferences and the seller role; admins manage users."),
    ("addresses", "Your delivery addresses: where the lots you win are sent."),
    ("auctions", "Lots: list, search by category, create (sellers), publish, cancel."),
    ("watchlist", "The lots you watch."),
    ("reports", "Report a listing or a member; admins' moderation queue and its outcomes."),
    ("bidding", "Bids (proxy bidding up to your maximum), Buy It Now, retractions, books."),
    (FEED_TAG, "The live price of an auction, pushed over a WebSocket after every change."),
    ("orders", "What you bought: orders, payment, refunds (admins)."),
    ("offers", "Second-chance offers to the runner-up."),
    ("feedback", "Ratings the buyer and seller of an order leave each other; members' scores."),
    ("payments", "Callbacks from the payment provider."),
    ("search", "Full-text search of the lots."),
    ("analytics", "Reports for admins."),
)

DESCRIPTION = """\
The public API of the auction platform, as the gateway serves it: every path below is
answered at this address (the gateway forwards it to the service that owns it).

**Signing in.** Get a token with `POST /api/v1/auth/login` (or sign up with
`POST /api/v1/auth/register`), then press **Authorize** and paste the `access_token`.
It is sent as `Authorization: Bearer <token>`. An operation with a lock takes it;
without it, one that needs it answers 401.

**Errors.** Every 4xx and 5xx answer has one shape,
`{"error": {"code": "...", "message": "...", "request_id": "...", "details": ...}}`:
`code` is for programs, `message` for people, `request_id` finds the request in the logs.
Answers of 429 and 503 carry `Retry-After`.

**Money** is in integer cents of the auction's currency (`*_cents`).

**Live prices**: open a WebSocket on `/ws/auctions/{auction_id}` (see *live feed*)."""


def _feed_path() -> dict[str, Any]:
    close = (
        "The server closes the socket with code **4404** (`no such auction`) when the "
        "auction does not exist, and **1011** (`live feed unavailable`) when the feed "
        "cannot be served (the cache or the bidding service is unavailable); a client "
        "reconnects after 1011."
    )
    return {
        "get": {
            "tags": [FEED_TAG],
            "summary": "Watch an auction's price live (WebSocket)",
            "operationId": "watch_auction_live",
            "description": (
                "A **WebSocket**, not a plain GET: connect with `ws://` (or `wss://`) to "
                "this path; the request carries `Connection: Upgrade`, `Upgrade: websocket` "
                "and the WebSocket handshake headers, and the server answers `101 Switching "
                "Protocols`. No token is needed: the feed shows what anyone may see.\n\n"
                "The server sends the current book at once, then a new one after every "
                "change (bid, Buy It Now, retraction, extension, cancel, close), each a JSON "
                "text message (`PublicBook`). Messages arrive in order of `version`: a "
                "message whose `version` is not above the last one is never sent. A "
                "client that reads more slowly than the book changes gets the newest book "
                "when it is ready for one, skipping those it had no time for. The "
                "client sends nothing.\n\n" + close + "\n\n"
                "```js\nconst feed = new WebSocket(`wss://${location.host}/ws/auctions/${id}`);"
                "\nfeed.onmessage = (event) => show(JSON.parse(event.data));\n```\n\n"
                "*Try it out* sends a plain GET, which is refused: use a WebSocket client."
            ),
            "parameters": [
                {
                    "name": "auction_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "The auction (lot) to watch.",
                },
                {
                    "name": "Upgrade",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string", "const": "websocket"},
                },
            ],
            "responses": {
                "101": {
                    "description": (
                        "Switching Protocols: the WebSocket is open. Each message the "
                        "server sends is a `PublicBook`.\n\n" + close
                    ),
                    "content": {
                        "application/json": {
                            "schema": {"$ref": _SCHEMA_REF + BOOK_SCHEMA},
                        }
                    },
                },
                "default": {
                    "description": "Not a WebSocket handshake.",
                    "content": {
                        "application/json": {"schema": {"$ref": _SCHEMA_REF + ERROR}},
                    },
                },
            },
        }
    }


def _book_schemas() -> dict[str, dict[str, Any]]:
    """The feed's message, as the bidding service documents its books, and what it refers to."""
    book = PublicBook.model_json_schema(ref_template=_SCHEMA_REF + "{model}")
    return {**book.pop("$defs", {}), BOOK_SCHEMA: book}


BOOK_SCHEMAS = _book_schemas()


# -- merging --------------------------------------------------------------------------


def _walk_refs(node: Any) -> Iterator[str]:
    """Every schema name ``node`` refers to."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_SCHEMA_REF):
            yield ref[len(_SCHEMA_REF) :]
        for value in node.values():
            yield from _walk_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_refs(value)


def _rewrite_refs(node: Any, renames: Mapping[str, str]) -> Any:
    """``node`` with each ``$ref`` to a renamed schema pointing at its new name."""
    if isinstance(node, dict):
        result = {key: _rewrite_refs(value, renames) for key, value in node.items()}
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_SCHEMA_REF):
            name = ref[len(_SCHEMA_REF) :]
            result["$ref"] = _SCHEMA_REF + renames.get(name, name)
        return result
    if isinstance(node, list):
        return [_rewrite_refs(value, renames) for value in node]
    return node


def _prefixed(service: str, name: str) -> str:
    return service[:1].upper() + service[1:] + name


def _clashing(documents: Mapping[str, dict[str, Any]]) -> set[str]:
    """The schema names that mean different things in different services.

    A name is clashing when two services define it differently, or when its schema
    refers (directly or not) to a clashing name: the same text then means two things.
    """
    definitions: dict[str, list[dict[str, Any]]] = {}
    for document in documents.values():
        for name, schema in _schemas_of(document).items():
            definitions.setdefault(name, []).append(schema)
    clashing = {
        name
        for name, schemas in definitions.items()
        if any(schema != schemas[0] for schema in schemas[1:])
    }
    shared = {name for name, schemas in definitions.items() if len(schemas) > 1}
    while True:
        more = {
            name
            for name in shared - clashing
            if any(ref in clashing for schema in definitions[name] for ref in _walk_refs(schema))
        }
        if not more:
            return clashing
        clashing |= more


def _schemas_of(document: Mapping[str, Any]) -> dict[str, Any]:
    schemas = document.get("components", {}).get("schemas", {})
    return schemas if isinstance(schemas, dict) else {}


def _bearer_names(document: Mapping[str, Any]) -> set[str]:
    """The names the document gives to HTTP bearer schemes (FastAPI's ``HTTPBearer``...)."""
    schemes = document.get("components", {}).get("securitySchemes", {})
    return {
        name
        for name, scheme in schemes.items()
        if isinstance(scheme, dict)
        and scheme.get("type") == "http"
        and str(scheme.get("scheme", "")).lower() == "bearer"
    }


def _normalise_security(operation: dict[str, Any], bearer_names: set[str]) -> None:
    requirements = operation.get("security")
    if not isinstance(requirements, list):
        return
    operation["security"] = [
        {(BEARER if name in bearer_names else name): scopes for name, scopes in item.items()}
        for item in requirements
    ]


def _public_operations(
    service: str, document: Mapping[str, Any]
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) of each operation of ``document`` the public may call."""
    for path, item in document.get("paths", {}).items():
        if owner_of(path) != service:
            continue  # not routed to this service: health, metrics, diagnostics...
        for method in _METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict) or operation.get(INTERNAL):
                continue
            if (method, path) in SERVICE_ONLY:
                continue
            yield path, method, operation


def merge(documents: Mapping[str, dict[str, Any]], missing: Sequence[str] = ()) -> dict[str, Any]:
    """One document of the public API from each service's (``missing``: those that failed)."""
    clashing = _clashing(documents)
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    for service, document in documents.items():
        renames = {
            name: _prefixed(service, name) for name in _schemas_of(document) if name in clashing
        }
        bearer_names = _bearer_names(document)
        for path, method, operation in _public_operations(service, document):
            copied = _rewrite_refs(copy.deepcopy(operation), renames)
            _normalise_security(copied, bearer_names)
            item = paths.setdefault(path, {})
            shared = document["paths"][path].get("parameters")
            if shared and "parameters" not in item:
                item["parameters"] = _rewrite_refs(copy.deepcopy(shared), renames)
            item[method] = copied
        for name, schema in _schemas_of(document).items():
            renamed = _rewrite_refs(schema, renames)
            if name in renames and renamed.get("title") == name:
                renamed["title"] = renames[name]  # what Swagger UI shows
            schemas.setdefault(renames.get(name, name), renamed)
    paths[FEED_PATH] = _feed_path()
    schemas.update(BOOK_SCHEMAS)
    used = _reachable(paths, schemas)
    kept = {name: schemas[name] for name in sorted(schemas) if name in used}
    tags_used = {tag for item in paths.values() for op in _operations(item) for tag in op["tags"]}
    known = [name for name, _ in TAGS]
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Auction platform API",
            "version": API_VERSION,
            "description": DESCRIPTION + _missing_note(missing),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "tags": [
            *({"name": name, "description": text} for name, text in TAGS if name in tags_used),
            *({"name": name} for name in sorted(tags_used - set(known))),
        ],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": kept, "securitySchemes": {BEARER: BEARER_SCHEME}},
    }


def _operations(item: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for method in _METHODS:
        operation = item.get(method)
        if isinstance(operation, dict):
            operation.setdefault("tags", [])
            yield operation


def _reachable(paths: Mapping[str, Any], schemas: Mapping[str, Any]) -> set[str]:
    """The schema names the paths use, directly or through other schemas."""
    seen: set[str] = set()
    pending = list(_walk_refs(paths))
    while pending:
        name = pending.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        pending.extend(_walk_refs(schemas[name]))
    return seen


def _missing_note(missing: Sequence[str]) -> str:
    if not missing:
        return ""
    names = ", ".join(sorted(missing))
    return (
        f"\n\n**Incomplete:** the {names} service did not answer for its document, so its "
        "paths are left out of this one for now."
    )


# -- fetching and caching ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Combined:
    """The merged document as served: its JSON, gzipped JSON and ETag."""

    body: bytes
    gzipped: bytes
    etag: str
    missing: tuple[str, ...]


class NoDocuments(Exception):
    """No API service answered for its document."""


class CombinedDocument:
    """Fetches and merges the services' documents, and keeps the result a while.

    A complete document is kept ``ttl`` seconds; one with a service missing only
    ``partial_ttl``, so it fills in soon after the service is back. Concurrent callers
    share one fetch.
    """

    def __init__(
        self,
        clients: Mapping[str, httpx.AsyncClient],
        *,
        services: Sequence[str] = API_SERVICES,
        timeout: float = 3.0,
        ttl: float = 60.0,
        partial_ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clients = clients  # filled in by the composition root after the routers
        self.services = tuple(services)
        self.timeout = timeout
        self.ttl = ttl
        self.partial_ttl = partial_ttl
        self._clock = clock
        self._cached: Combined | None = None
        self._expires = float("-inf")
        self._lock = asyncio.Lock()

    async def get(self) -> Combined:
        """The merged document; raises ``NoDocuments`` when no service answers."""
        if self._cached is not None and self._clock() < self._expires:
            return self._cached
        async with self._lock:
            if self._cached is None or self._clock() >= self._expires:
                combined = await self._build()
                self._cached = combined
                self._expires = self._clock() + (self.partial_ttl if combined.missing else self.ttl)
            return self._cached

    async def _build(self) -> Combined:
        services = [name for name in self.services if name in self.clients]
        fetched = await asyncio.gather(*(self._fetch(name) for name in services))
        documents = {name: doc for name, doc in zip(services, fetched, strict=True) if doc}
        missing = tuple(name for name in services if name not in documents)
        if not documents:
            raise NoDocuments("no service answered for its OpenAPI document")
        body = json.dumps(merge(documents, missing), separators=(",", ":")).encode()
        digest = hashlib.sha256(body).hexdigest()[:16]
        return Combined(body, gzip.compress(body, 6, mtime=0), f'"{digest}"', missing)

    async def _fetch(self, service: str) -> dict[str, Any] | None:
        try:
            # The client's timeout does not bind an in-process service (ASGITransport).
            async with asyncio.timeout(self.timeout):
                answer = await self.clients[service].get(
                    f"/api/v1/{service}/openapi.json", timeout=self.timeout
                )
            if answer.status_code != 200:
                log.warning("%s answered %d for its OpenAPI document", service, answer.status_code)
                return None
            document = answer.json()
        except Exception as exc:  # a timeout, a refused connection, not JSON...
            log.warning("%s gave no OpenAPI document: %s", service, exc)
            return None
        return document if isinstance(document, dict) else None
