"""Schemathesis against the whole API, as the gateway documents it at /api/openapi.json.

Every operation of the combined document (every service's public routes), and every
one only the platform's services call (from each service's own document), gets a
bounded number of generated requests: the schema's examples, its boundaries
(schemathesis' coverage phase) and random requests, valid and not. Each answer must be

- no server error (5xx);
- a status the operation documents: the ``default`` response is left out of the
  document fuzzed here, so a status counts only when the operation names it;
- the content type it documents, and a body that fits the schema of its status.

The run is seeded and derandomized: the same code gets the same requests. Requests
are signed in as a bidder, a seller, an admin or a service, whichever the operation is
for, and an id in a path is, one time in two, one that exists (an open lot with a bid,
a draft, an order waiting for payment, the bidder's own account), so that requests
reach the code behind "no such lot".
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from auction_platform.contracts.routes import API_SERVICES
from auction_platform.core.openapi import INTERNAL
from auction_platform.services.gateway.openapi import FEED_PATH, merge
from fuzz.deployment import Deployment
from fuzz.report import record

pytestmark = pytest.mark.fuzz

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Per operation: the examples, the boundaries of each field, and up to this many
# random requests. The whole run stays within a few minutes on a loaded machine.
MAX_EXAMPLES = 20
CONFIG: dict[str, Any] = {
    "seed": 20_261_203,
    "suppress-health-check": ["all"],
    "warnings": False,
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    "phases": {"stateful": {"enabled": False}},
    "request-timeout": 60,
}
# Operations run by the seller of the lots in ``Deployment`` (the rest by the bidder,
# or by whom the operation's description says: "Needs the `admin` role").
SELLERS = frozenset(
    {
        ("PATCH", "/api/v1/auctions/{lot_id}"),
        ("POST", "/api/v1/auctions/{lot_id}/publish"),
        ("POST", "/api/v1/auctions/{lot_id}/cancel"),
        ("POST", "/api/v1/auctions/{lot_id}/relist"),
        ("GET", "/api/v1/auctions/mine"),
        ("POST", "/api/v1/auctions"),
    }
)
# Operations that spend their caller's session or tokens: each case gets a new account.
SPENDING = frozenset({("POST", "/api/v1/auth/logout"), ("POST", "/api/v1/users/me/seller")})
# Ids left as generated, never pointed at a real account: roles changed there would
# sign the fuzzer's people out.
GENERATED_IDS_ONLY = frozenset({("PUT", "/api/v1/users/{user_id}/roles")})


def documented_only(document: dict[str, Any]) -> dict[str, Any]:
    """The document without its ``default`` responses: a status counts only when named."""
    stripped = copy.deepcopy(document)
    for item in stripped["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].pop("default", None)
    return stripped


def needs_role(document: dict[str, Any], method: str, path: str) -> str | None:
    """The role an operation's description says it needs, if any."""
    # The coverage phase also sends methods an operation does not have (a 405 is expected).
    operation = document["paths"][path].get(method.lower(), {})
    description = operation.get("description", "")
    for role in ("admin", "seller"):
        if f"Needs the `{role}` role" in description:
            return role
    return None


def _get(deployment: Deployment, path: str) -> dict[str, Any]:
    answer = httpx.get(deployment.url + path, timeout=60)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


@pytest.fixture(scope="module")
def document(deployment: Deployment) -> dict[str, Any]:
    """The public API's document, as the gateway serves it."""
    return _get(deployment, "/api/openapi.json")


@pytest.fixture(scope="module")
def internal_document(deployment: Deployment) -> dict[str, Any]:
    """The operations only the platform's services call, merged from each one's document."""
    documents = {}
    for service in API_SERVICES:
        own = _get(deployment, f"/api/v1/{service}/openapi.json")
        for item in own["paths"].values():
            for method, operation in list(item.items()):
                if isinstance(operation, dict) and not operation.pop(INTERNAL, False):
                    del item[method]
        documents[service] = own
    return merge(documents)


def _schema(document: dict[str, Any]) -> Any:
    config = schemathesis.Config.from_dict(CONFIG)
    return schemathesis.openapi.from_dict(documented_only(document), config=config)


@pytest.fixture(scope="module")
def api_schema(document: dict[str, Any]) -> Any:
    return _schema(document)


@pytest.fixture(scope="module")
def internal_schema(internal_document: dict[str, Any]) -> Any:
    return _schema(internal_document)


def _one_in_two(value: Any) -> bool:
    return hashlib.sha256(repr(value).encode()).digest()[0] % 2 == 0


def real_ids(deployment: Deployment, method: str, path: str) -> dict[str, str]:
    """The existing id each path parameter of the operation may take."""
    lot = deployment.draft_lot if (method, path) in SELLERS else deployment.open_lot
    return {
        "auction_id": deployment.open_lot,
        "lot_id": lot,
        "order_id": deployment.order,
        "user_id": deployment.bidder.id,
    }


def prepare(
    case: Case, deployment: Deployment, document: dict[str, Any], *, service: bool = False
) -> None:
    """Sign the case in as whom its operation is for, and point it at real ids half the time."""
    key = (case.method.upper(), case.operation.path)
    if service:
        headers = deployment.service
    elif key in SPENDING:
        headers = deployment.account().headers
    else:
        role = "seller" if key in SELLERS else needs_role(document, *key)
        headers = {
            "admin": deployment.admin,
            "seller": deployment.seller.headers,
        }.get(role or "", deployment.bidder.headers)
    case.headers = {**(case.headers or {}), **headers}
    # A service's writes (a book cancelled, its rules replaced) would end the open lot.
    if key in GENERATED_IDS_ONLY or (service and key[0] != "GET"):
        return
    ids = real_ids(deployment, *key)
    for name, value in list((case.path_parameters or {}).items()):
        if name in ids and _one_in_two(value):
            case.path_parameters[name] = ids[name]


def answers_as_documented(case: Case, deployment: Deployment) -> None:
    """Send the case; its answer must pass every check."""
    response = case.call(base_url=deployment.url, timeout=60)
    record(deployment.database, case.operation.method, case.operation.path, response.status_code)
    case.validate_response(response, checks=CHECKS)


public = schemathesis.pytest.from_fixture("api_schema").exclude(path=FEED_PATH)
internal = schemathesis.pytest.from_fixture("internal_schema").exclude(path=FEED_PATH)


@public.parametrize()
def test_every_public_operation_answers_as_documented(
    case: Case, deployment: Deployment, document: dict[str, Any]
) -> None:
    prepare(case, deployment, document)
    answers_as_documented(case, deployment)


@internal.parametrize()
def test_every_operation_for_services_answers_as_documented(
    case: Case, deployment: Deployment, internal_document: dict[str, Any]
) -> None:
    prepare(case, deployment, internal_document, service=True)
    answers_as_documented(case, deployment)
