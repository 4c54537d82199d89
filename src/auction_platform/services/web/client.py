"""The public API as the site calls it: each path to the service that owns it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from auction_platform.contracts.routes import route_for


@dataclass(slots=True)
class ApiProblem(Exception):
    """A refusal of the API: its status, machine code and sentence for people."""

    status: int
    code: str
    message: str
    details: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


_UNAVAILABLE = "That part of the site is not answering just now. Please try again in a moment."


class PublicApi:
    """Calls ``/api/v1/...`` on the owning service, with the visitor's token when signed in.

    The path table is the gateway's (``contracts.routes``), so the site and the
    gateway agree on who answers what; the site skips the gateway's second hop.
    """

    def __init__(self, clients: Mapping[str, httpx.AsyncClient]) -> None:
        self.clients = clients

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        address: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """The JSON answer of a 2xx (None for 204); ``ApiProblem`` for anything else."""
        route = route_for(path)
        if route is None or route.service not in self.clients:
            raise ApiProblem(404, "not_found", "there is no such page")
        sent: dict[str, str] = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if address:
            sent["X-Forwarded-For"] = address
        query = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        try:
            response = await self.clients[route.service].request(
                method,
                path,
                json=json,
                content=content,
                params=query,
                headers=sent,
                timeout=route.timeout,
            )
        except httpx.HTTPError as exc:
            raise ApiProblem(503, "service_unavailable", _UNAVAILABLE) from exc
        if response.status_code == 204:
            return None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_success:
            return body
        error = body.get("error", {}) if isinstance(body, dict) else {}
        if not isinstance(error, dict):
            error = {}
        raise ApiProblem(
            response.status_code,
            str(error.get("code", "error")),
            str(error.get("message", _UNAVAILABLE if response.status_code >= 500 else "refused")),
            error.get("details"),
            {k: v for k, v in response.headers.items() if k.lower() == "retry-after"},
        )

    async def get(self, path: str, **kwargs: Any) -> Any:
        """``GET`` (see ``call``)."""
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Any:
        """``POST`` (see ``call``)."""
        return await self.call("POST", path, **kwargs)
