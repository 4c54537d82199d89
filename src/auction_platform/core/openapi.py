"""What a service's OpenAPI document says beyond FastAPI's defaults.

FastAPI cannot see the platform's token checks (they are plain dependencies, not
``fastapi.security`` classes) nor its error shape (the handlers in ``core.errors``
replace FastAPI's ``{"detail": ...}``). ``refine`` adds both to the document every
service serves at ``/api/v1/<service>/openapi.json``, from the routes themselves:

- an operation that depends on ``current_principal`` (``CurrentUser``, ``Admin``,
  ``Seller``, ...) gets ``security: [{bearerAuth: []}]``, one that depends only on
  ``optional_principal`` (``OptionalPrincipal``) ``[{bearerAuth: []}, {}]`` (a token is
  optional), and the role ``require_role`` asks for is named in its description;
- an operation that depends on ``current_service`` (``CurrentService``) is marked
  ``x-internal: true``: only the platform's services may call it, and the gateway's
  combined document leaves it out;
- FastAPI's ``HTTPValidationError`` and ``ValidationError`` give way to the platform's
  ``Error`` (``{"error": {"code", "message", "request_id", "details"?}}``): a 422 is a
  ``ValidationFailure`` (an ``Error`` whose ``details`` list the problems), an operation
  that needs a token documents 401 and 403, and every operation has a ``default``
  error response;
- an operation with a JSON body documents 400 (``malformed_json``), one with a path
  parameter 404 (``not_found``);
- a route's documented model of a 2xx answer (``responses={200: {"model": ...}}``,
  documentation only: the route's answer is not checked against it at run time, as
  FastAPI would a ``response_model``) replaces the schema its annotation gave.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import fastapi.routing
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from auction_platform.core.auth import (
    current_principal,
    current_service,
    optional_principal,
    require_role,
)

API_DOCS = "/api/docs"  # the gateway's Swagger UI of the whole API
BEARER = "bearerAuth"
BEARER_SCHEME: dict[str, Any] = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": (
        "An access token from `POST /api/v1/auth/login` (or `/api/v1/auth/refresh`), "
        "sent as `Authorization: Bearer <token>`."
    ),
}
INTERNAL = "x-internal"
ERROR = "Error"
VALIDATION_FAILURE = "ValidationFailure"
VALIDATION_ISSUE = "ValidationIssue"
_FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
    ERROR: {
        "title": "Error",
        "description": (
            "Every 4xx and 5xx answer: a machine-readable `code`, a sentence for people, "
            "and the id of the request to find it in the logs by (also in `X-Request-ID`)."
        ),
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "request_id"],
                "properties": {
                    "code": {
                        "type": "string",
                        "description": "What went wrong, for programs.",
                        "examples": ["not_found"],
                    },
                    "message": {
                        "type": "string",
                        "description": "What went wrong, for people.",
                        "examples": ["no such auction"],
                    },
                    "request_id": {
                        "type": "string",
                        "description": "The request's id (the X-Request-ID header).",
                    },
                    "details": {"description": "More about the error, when there is more."},
                },
            }
        },
    },
    VALIDATION_ISSUE: {
        "title": "ValidationIssue",
        "description": "One problem with the request.",
        "type": "object",
        "required": ["location", "message", "type"],
        "properties": {
            "location": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Where: `body`, `query`, `path` or `header`, then the field.",
                "examples": [["body", "title"]],
            },
            "message": {"type": "string", "examples": ["Field required"]},
            "type": {"type": "string", "examples": ["missing"]},
        },
    },
    VALIDATION_FAILURE: {
        "title": "ValidationFailure",
        "description": (
            "A request that is not valid. Its shape (a field missing, of the wrong type, "
            "out of its bounds) is `validation_error`, with `details` listing each "
            "problem; a value the rules refuse has the rule's own code (`invalid_title`, "
            "`password_too_short`...)."
        ),
        "allOf": [
            _ref(ERROR),
            {
                "if": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {"code": {"const": "validation_error"}},
                        }
                    },
                },
                "then": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {
                                "details": {"type": "array", "items": _ref(VALIDATION_ISSUE)}
                            },
                        }
                    },
                },
            },
        ],
    },
}


def _error_response(description: str, schema: str = ERROR) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def _role_of(call: Callable[..., Any] | None) -> str | None:
    """The role a ``require_role(role)`` dependency asks for, else None."""
    if call is None or getattr(call, "__qualname__", "") != _ROLE_CHECK:
        return None
    role = inspect.getclosurevars(call).nonlocals.get("role")
    return role if isinstance(role, str) else None


_ROLE_CHECK = require_role("admin").__qualname__


def access_of(route: Any) -> tuple[str, frozenset[str]]:
    """Who may call ``route``: ``service``, ``token``, ``optional`` or ``public``; and roles."""
    dependant: Dependant | None = getattr(route, "dependant", None)
    calls = [sub.call for sub in _dependencies(dependant)] if dependant else []
    roles = frozenset(role for role in map(_role_of, calls) if role is not None)
    if current_service in calls:
        return "service", roles
    if current_principal in calls:
        return "token", roles
    if optional_principal in calls:
        return "optional", roles
    return "public", roles


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[Any]:
    """Each ``APIRoute`` of an app as its document sees it (prefix and dependencies included).

    FastAPI 0.160 and later keep an included router as one route
    (``iter_route_contexts`` gives the effective ones); earlier versions list them flat.
    """
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    if iterate is None:
        yield from (route for route in routes if isinstance(route, APIRoute))
        return
    for context in iterate(routes):
        if isinstance(context.original_route, APIRoute):
            yield context


def _describe(operation: dict[str, Any], access: str, roles: frozenset[str]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if access == "service":
        operation[INTERNAL] = True
    if access in ("service", "token"):
        operation["security"] = [{BEARER: []}]
        responses.setdefault("401", _error_response("No token, or it is invalid or expired."))
        responses.setdefault("403", _error_response("The caller may not do this."))
    elif access == "optional":
        operation["security"] = [{BEARER: []}, {}]
        responses.setdefault(
            "401", _error_response("A token was sent and it is invalid or expired.")
        )
    if roles:
        needs = ", ".join(f"`{role}`" for role in sorted(roles))
        note = f"Needs the {needs} role."
        operation["description"] = (operation.get("description", "") + "\n\n" + note).strip()
    _describe_refusals(operation)
    for status, response in responses.items():
        if status[:1] == "2":
            _documented_model_wins(response)
        elif status == "422":
            responses[status] = _error_response(
                "The request is not valid (`validation_error`): `details` lists each problem.",
                VALIDATION_FAILURE,
            )
        elif status[:1] in ("4", "5") and "content" not in response:
            response["content"] = {"application/json": {"schema": _ref(ERROR)}}
    responses.setdefault(
        "default",
        _error_response(
            "An error, in the platform's error shape (for example 404 `not_found`, "
            "409 `conflict`, 429 `rate_limited`, 503 `service_unavailable`)."
        ),
    )


def _describe_refusals(operation: dict[str, Any]) -> None:
    """The refusals any operation of its kind may answer: a body that is not JSON, an unknown id."""
    responses: dict[str, Any] = operation["responses"]
    body = operation.get("requestBody", {}).get("content", {})
    if "application/json" in body:
        responses.setdefault("400", _error_response("The body is not JSON (`malformed_json`)."))
    if any(parameter.get("in") == "path" for parameter in operation.get("parameters", ())):
        responses.setdefault(
            "404", _error_response("Nothing has the id in the path (`not_found`).")
        )


def _documented_model_wins(response: dict[str, Any]) -> None:
    """A route's documented model (``responses={200: {"model": ...}}``) replaces the schema
    FastAPI inferred from its ``dict[str, Any]`` annotation (an object of anything); the
    two were merged into one schema."""
    for content in response.get("content", {}).values():
        schema = content.get("schema")
        if isinstance(schema, dict) and "$ref" in schema:
            content["schema"] = {"$ref": schema["$ref"]}


def refine(document: dict[str, Any], routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """Add the security, audience and error shape of ``routes`` to their document."""
    paths: dict[str, Any] = document.get("paths", {})
    for route in api_routes(routes):
        if not route.include_in_schema:
            continue
        access, roles = access_of(route)
        operations = paths.get(route.path_format, {})
        for method in route.methods or ():
            operation = operations.get(method.lower())
            if operation is not None:
                _describe(operation, access, roles)
    components: dict[str, Any] = document.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    for name in _FASTAPI_ERRORS:
        schemas.pop(name, None)
    schemas.update(ERROR_SCHEMAS)
    components.setdefault("securitySchemes", {})[BEARER] = BEARER_SCHEME
    return document


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` (and so its ``openapi.json``) answer the refined document."""
    plain = app.openapi
    refined: dict[str, Any] | None = None

    def openapi() -> dict[str, Any]:
        nonlocal refined
        if refined is None:
            refined = refine(plain(), app.routes)
        return refined

    app.openapi = openapi  # type: ignore[method-assign]
