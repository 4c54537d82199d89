"""Hot routes served in plain ASGI, with the framework's route as the fallback.

A bid is the platform's hottest request. Through FastAPI it pays for dependency
resolution, query and header parsing and response models on every call, which on a
busy bidding process costs more CPU than the bid itself. A lean route answers the
well-formed, signed-in request directly: it checks the token with the same verifier,
validates the body with the same pydantic model and calls the same use case. Anything
else (no token, a token for a service, a body that does not validate, an odd header)
is handed, body and all, to the framework's route for the same path, which answers it
with the canonical error. So the contract stays the one FastAPI documents, and the
lean path only ever answers what that route would have answered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auction_platform.core.auth import Principal, TokenVerifier, bearer_of
from auction_platform.core.errors import DEFAULT_ERRORS, ErrorTable
from auction_platform.core.middleware import read_body, replay, send_error_for, send_whole

# What a lean handler gets: the path's named groups, the caller, the validated body
# and the request's headers (names in lower case); it returns a status and a body.
LeanHandler = Callable[[dict[str, str], Principal, Any, dict[str, str]], Awaitable[tuple[int, Any]]]


@dataclass(frozen=True, slots=True)
class LeanRoute:
    """``POST`` on ``pattern`` with a JSON body of ``body``, for a signed-in person."""

    path: str  # the framework route's template (what the request middleware labels metrics by)
    pattern: re.Pattern[str]
    body: type[BaseModel]
    handle: LeanHandler
    # Optional headers the handler reads, with the longest value it accepts; a longer
    # or empty one goes to the framework route (and its validation error).
    headers: tuple[tuple[str, int], ...] = ()
    # Entered, with the path's named groups, while the caller's token is checked:
    # lets the use case know a request is on its way (the bid batcher waits for it).
    arriving: Callable[[dict[str, str]], AbstractContextManager[None]] | None = None
    # Headers a validated body adds to the handler's answer, a refusal too (the
    # Deprecation header of a field's old name, say), as the framework route does.
    answer_headers: Callable[[Any], Sequence[tuple[bytes, bytes]]] | None = None


class LeanRoutes:
    """Plain ASGI layer: serves its routes' well-formed requests, passes the rest on."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Sequence[LeanRoute],
        verifier: TokenVerifier,
        errors: ErrorTable = DEFAULT_ERRORS,
    ) -> None:
        self.app = app
        self.routes = tuple(routes)
        self.verifier = verifier
        # The service's table: a refusal on the lean path leaves as it would from a route.
        self.errors = errors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        for route in self.routes:
            match = route.pattern.match(scope["path"])
            if match is not None:
                await self._serve(route, match.groupdict(), scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _serve(
        self,
        route: LeanRoute,
        params: dict[str, str],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        body = await read_body(receive)
        if body is None:
            return  # the client went away
        token = bearer_of(headers.get("authorization", ""))
        content_type = headers.get("content-type", "application/json")
        fits = all(
            0 < len(headers[name]) <= longest for name, longest in route.headers if name in headers
        )
        if token is None or not content_type.startswith("application/json") or not fits:
            await self.app(scope, replay(body, receive), send)
            return
        try:
            document = route.body.model_validate_json(body)
        except ValidationError:
            await self.app(scope, replay(body, receive), send)
            return
        scope["route"] = route
        try:
            with route.arriving(params) if route.arriving else nullcontext():
                principal = await self.verifier.verify(token)
            if principal.is_service:
                await self.app(scope, replay(body, receive), send)
                return
            extra = route.answer_headers(document) if route.answer_headers else ()
            if extra:
                send = _adding_headers(send, extra)
            status, answer = await route.handle(params, principal, document, headers)
        except Exception as exc:
            await send_error_for(exc, scope, receive, send, self.errors)
            return
        # As Starlette's JSONResponse renders it.
        content = json.dumps(
            answer, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
        ).encode("utf-8")
        await send_whole(send, status, [(b"content-type", b"application/json")], content)


def _adding_headers(send: Send, extra: Sequence[tuple[bytes, bytes]]) -> Send:
    """``send`` with ``extra`` added to the answer's headers."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *extra]}
        await send(message)

    return sending
