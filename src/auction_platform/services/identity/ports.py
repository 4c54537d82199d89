"""What identity asks of others: each service's part of a member's data, and what keeps them.

``Peers`` is the privacy use cases' view of the services that keep something about a
member (the catalogue, the bid book, payment), in the domain's terms: each one's part
of the member's data export, and the codes of what keeps the account open there. They
are asked as the member, with the member's own token, so each answers only about the
caller. Either question raises ``Unavailable`` (``peer_unavailable``) when a service
cannot answer now, so a close never goes ahead on a partial answer. ``HttpPeers`` asks
each service's ``GET <prefix>/me/export`` and ``GET <prefix>/me/obligations``
(``core.privacy``; in the embedded mode the clients go in-process); handler tests pass
a fake.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

import httpx

from auction_platform.core.failures import Unavailable

# Who else keeps something about a member, and under which path they answer for it.
PARTS: tuple[tuple[str, str], ...] = (
    ("auction", "/api/v1/auctions"),
    ("bidding", "/api/v1/bids"),
    ("payment", "/api/v1/payments"),
)
# The services asked, in the order their answers are read.
PEERS = tuple(service for service, _ in PARTS)


class Peers(Protocol):
    """The services that answer for their part of a member's data, asked as the member."""

    async def exports(self, *, token: str) -> dict[str, dict[str, Any]]:
        """Each service's part of the member's data export (its sections), by service.

        Raises ``Unavailable`` (``peer_unavailable``) when a service cannot answer now.
        """
        ...

    async def obligations(self, *, token: str) -> list[str]:
        """Why the member's account may not close yet, by code, in the services' order
        (empty when nothing stands in the way).

        Raises ``Unavailable`` (``peer_unavailable``) when a service cannot answer now.
        """
        ...


def peer_unavailable(service: str) -> Unavailable:
    """The refusal when ``service`` cannot answer for its part now."""
    return Unavailable(
        "peer_unavailable", f"the {service} service cannot answer for its part now; try again"
    )


class HttpPeers:
    """``Peers`` over each service's ``/me/export`` and ``/me/obligations``."""

    def __init__(self, client: Callable[[str], httpx.AsyncClient]) -> None:
        # Looked up per call: the composition root may add the clients once every
        # service is built (in the embedded mode, in-process ones).
        self._client = client

    async def exports(self, *, token: str) -> dict[str, dict[str, Any]]:
        """Every service's ``/me/export``, by service."""
        return await self._gather("/me/export", token=token)

    async def obligations(self, *, token: str) -> list[str]:
        """Every service's ``/me/obligations``, one list."""
        answers = await self._gather("/me/obligations", token=token)
        codes: list[str] = []
        for service, answer in answers.items():
            found = answer.get("obligations")
            if not isinstance(found, list) or not all(isinstance(c, str) for c in found):
                raise peer_unavailable(service)
            codes.extend(found)
        return codes

    async def _gather(self, suffix: str, *, token: str) -> dict[str, dict[str, Any]]:
        """Every service's answer to ``<its prefix><suffix>``, by service."""
        answers = await asyncio.gather(
            *(self._ask(service, prefix + suffix, token=token) for service, prefix in PARTS)
        )
        return {service: answer for (service, _), answer in zip(PARTS, answers, strict=True)}

    async def _ask(self, service: str, path: str, *, token: str) -> dict[str, Any]:
        """``GET path`` of ``service`` as the member: a JSON object, or ``peer_unavailable``."""
        try:
            answer = await self._client(service).get(
                path, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as error:
            raise peer_unavailable(service) from error
        if answer.status_code != 200:
            raise peer_unavailable(service)
        try:
            body = answer.json()
        except ValueError as error:
            raise peer_unavailable(service) from error
        if not isinstance(body, dict):
            raise peer_unavailable(service)
        return body
