"""One error shape for every 4xx and 5xx, and the handlers that produce it.

``{"error": {"code": "...", "message": "...", "request_id": "..."}}``: a
machine-readable code, a sentence for people, and the id to find the logs by.
Nothing else leaves the service: never a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from auction_platform.core.context import current_request_id
from auction_platform.core.failures import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    PaymentRefused,
    RateLimited,
    Unauthenticated,
    Unavailable,
)
from auction_platform.core.outages import DEPENDENCY_ERRORS, lost_connection

log = logging.getLogger("auction_platform.errors")

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


# FastAPI's answer when a JSON body cannot be read for another reason than its syntax:
# nesting deeper than the parser goes, a number of more digits than Python converts,
# bytes that are not UTF-8. To the client it is the same malformed JSON.
_UNREADABLE_BODY = "There was an error parsing the body"


class ApiError(Exception):
    """An error answered to the client as it is: status, code, message, optional details."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers


_KIND_STATUSES: dict[type[DomainError], int] = {
    Invalid: 422,
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Unauthenticated: 401,
    RateLimited: 429,
    PaymentRefused: 402,
    Unavailable: 503,
}


@dataclass(frozen=True, slots=True)
class ErrorTable:
    """How a service's domain errors leave as HTTP: a status per kind, per code where one differs.

    The one place a service's refusals meet status codes; its framework routes and
    its plain ASGI routes (the lean bid path) answer through the same table.
    """

    by_code: Mapping[str, int] = field(default_factory=dict)
    by_kind: Mapping[type[DomainError], int] = field(default_factory=lambda: _KIND_STATUSES)
    # Codes of ``Unauthenticated`` that answer without a ``WWW-Authenticate`` challenge:
    # a refused sign-in presented credentials in its body, not a bearer token.
    unchallenged: frozenset[str] = frozenset()

    def status_of(self, error: DomainError) -> int:
        """The status ``error`` leaves with."""
        if error.code in self.by_code:
            return self.by_code[error.code]
        for kind in type(error).__mro__:
            if kind in self.by_kind:
                return self.by_kind[kind]
        return 500

    def headers_of(self, error: DomainError) -> dict[str, str] | None:
        """``WWW-Authenticate`` for a caller not identified, ``Retry-After`` when it is known."""
        headers: dict[str, str] = {}
        if isinstance(error, Unauthenticated) and error.code not in self.unchallenged:
            headers["WWW-Authenticate"] = f'Bearer error="{error.code}"'
        if error.retry_after is not None:
            headers["Retry-After"] = str(max(1, round(error.retry_after)))
        return headers or None

    def answer(self, error: DomainError) -> tuple[int, dict[str, Any], dict[str, str] | None]:
        """Status, body and headers of the answer to ``error``."""
        body = error_body(error.code, error.message, details=error.details)
        return self.status_of(error), body, self.headers_of(error)

    def response(self, error: DomainError) -> JSONResponse:
        """The answer to ``error`` as a response."""
        status, body, headers = self.answer(error)
        return JSONResponse(body, status, headers=headers)


DEFAULT_ERRORS = ErrorTable()


def error_body(code: str, message: str, *, details: Any = None) -> dict[str, Any]:
    """The error shape, with the current request id."""
    error: dict[str, Any] = {"code": code, "message": message, "request_id": current_request_id()}
    if details is not None:
        error["details"] = details
    return {"error": error}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A JSON response in the error shape."""
    return JSONResponse(error_body(code, message, details=details), status, headers=headers)


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "location": [str(part) for part in err.get("loc", ())],
            "message": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(
        exc.status, exc.code, exc.message, details=exc.details, headers=exc.headers
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _UNREADABLE_BODY:
        return _malformed_json()
    code = _STATUS_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and message == "Not Found":
        message = f"no route for {request.method} {request.url.path}"
    if exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    return error_response(exc.status_code, code, message, headers=exc.headers)


def _malformed_json() -> JSONResponse:
    return error_response(400, "malformed_json", "the request body is not valid JSON")


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = _validation_details(exc)
    if any(d["type"] == "json_invalid" for d in details):
        return _malformed_json()
    return error_response(422, "validation_error", "the request is not valid", details=details)


async def _pool_timeout(request: Request, exc: Exception) -> JSONResponse:
    # The runbook greps for these exact words.
    log.error("database connection pool exhausted: %s", exc)
    return error_response(
        503,
        "pool_exhausted",
        "database connection pool exhausted; retry shortly",
        headers={"Retry-After": "1"},
    )


def response_for(exc: Exception, errors: ErrorTable = DEFAULT_ERRORS) -> JSONResponse | None:
    """The answer for an error raised outside the framework's routes (plain ASGI code).

    ``ApiError``, a domain error (through the service's table) and a lost dependency
    get the same answers as the handlers give; anything else is None, for the
    request middleware's 500.
    """
    if isinstance(exc, DomainError):
        return errors.response(exc)
    if isinstance(exc, ApiError):
        return error_response(
            exc.status, exc.code, exc.message, details=exc.details, headers=exc.headers
        )
    if isinstance(exc, DEPENDENCY_ERRORS) or (isinstance(exc, DBAPIError) and lost_connection(exc)):
        return _dependency_down_response(exc)
    return None


async def _dependency_down(request: Request, exc: Exception) -> JSONResponse:
    return _dependency_down_response(exc)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if lost_connection(exc):
        return _dependency_down_response(exc)
    raise exc  # a real fault: the request middleware answers 500 and logs it


def _dependency_down_response(exc: Exception) -> JSONResponse:
    log.error("dependency unavailable: %s", type(exc).__name__, extra={"error": str(exc)[:500]})
    return error_response(
        503,
        "dependency_unavailable",
        "a service this request needs is unavailable; retry shortly",
        headers={"Retry-After": "1"},
    )


def install_error_handlers(app: FastAPI, errors: ErrorTable = DEFAULT_ERRORS) -> None:
    """Make every error leave the app in the one shape (domain errors through ``errors``)."""

    async def domain_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        return errors.response(exc)

    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(PoolTimeoutError, _pool_timeout)
    for dependency_error in DEPENDENCY_ERRORS:
        app.add_exception_handler(dependency_error, _dependency_down)
    app.add_exception_handler(DBAPIError, _database_error)
