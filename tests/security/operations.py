"""The public API's operations, as the gateway's combined OpenAPI document lists them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from auction_platform.contracts.routes import API_SERVICES

METHODS = ("get", "post", "put", "patch", "delete")
WRITES = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True, slots=True)
class Operation:
    """One method on one path template."""

    method: str
    path: str
    path_params: tuple[str, ...]
    # Signed in: the document asks for a bearer token, alone or as one alternative.
    signed_in: bool
    # The JSON schema of the request body, if the operation takes one.
    body: dict[str, Any] | None
    # The query parameters' schemas, by name.
    query: dict[str, Any]

    @property
    def key(self) -> str:
        """``METHOD /path/{template}``: how the probes' tables name an operation."""
        return f"{self.method} {self.path}"

    def target(self, **ids: str) -> str:
        """The path with its parameters filled in."""
        return self.path.format(**ids)


async def public_operations(http: httpx.AsyncClient) -> list[Operation]:
    """Every operation of ``/api/openapi.json`` (the document a client is given)."""
    return _operations(await _document(http, "/api/openapi.json"))


async def internal_operations(http: httpx.AsyncClient) -> list[Operation]:
    """The operations only the platform's services may call (``x-internal``).

    The combined document leaves them out, but the gateway routes their paths like
    any other: each service's own document names them.
    """
    found = []
    for service in API_SERVICES:
        document = await _document(http, f"/api/v1/{service}/openapi.json")
        found += _operations(document, lambda operation: bool(operation.get("x-internal")))
    return found


async def _document(http: httpx.AsyncClient, path: str) -> dict[str, Any]:
    response = await http.get(path)
    assert response.status_code == 200, (path, response.text)
    document: dict[str, Any] = response.json()
    return document


def _operations(
    document: dict[str, Any], keep: Callable[[dict[str, Any]], bool] = lambda operation: True
) -> list[Operation]:
    found = []
    for path, item in document["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None or not keep(operation):
                continue
            params = [*item.get("parameters", ()), *operation.get("parameters", ())]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            schemas = document.get("components", {}).get("schemas", {})
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    path_params=tuple(p["name"] for p in params if p.get("in") == "path"),
                    signed_in=any(operation.get("security") or ()),
                    body=inlined(body.get("schema", {}), schemas) if body is not None else None,
                    query={
                        p["name"]: inlined(p.get("schema", {}), schemas)
                        for p in params
                        if p.get("in") == "query"
                    },
                )
            )
    return found


def inlined(schema: Any, schemas: dict[str, Any]) -> Any:
    """``schema`` with every ``$ref`` to a component replaced by the component."""
    if isinstance(schema, list):
        return [inlined(item, schemas) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if isinstance(ref := schema.get("$ref"), str):
        return inlined(schemas[ref.rsplit("/", 1)[1]], schemas)
    return {name: inlined(value, schemas) for name, value in schema.items()}


def not_in_table(operations: list[Operation], table: dict[str, Any], what: str) -> str:
    """A message naming the operations ``table`` leaves out, or "" when it has them all."""
    missing = sorted(op.key for op in operations if op.key not in table)
    if not missing:
        return ""
    names = "\n  ".join(missing)
    return f"{len(missing)} operation(s) of the public API are not probed:\n  {names}\n{what}"
