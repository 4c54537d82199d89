"""Sign people up and in through the public API, as a client would."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx

PASSWORD = "correct-Horse-battery-42"


@dataclass
class Account:
    """A registered, signed-in person."""

    id: str
    email: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header of this account."""
        return {"Authorization": f"Bearer {self.access_token}"}


async def sign_up(
    http: httpx.AsyncClient, *, name: str = "Ann", email: str | None = None
) -> Account:
    """Register and log in a new account."""
    email = email or f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    registered = await http.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "display_name": name},
    )
    assert registered.status_code == 201, registered.text
    tokens = await log_in(http, email)
    return Account(
        registered.json()["user"]["id"], email, tokens["access_token"], tokens["refresh_token"]
    )


async def log_in(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    """Log in; the token response."""
    response = await http.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


async def sign_up_all(http: httpx.AsyncClient, *names: str) -> list[Account]:
    """Several accounts, one per name."""
    return [await sign_up(http, name=name) for name in names]
