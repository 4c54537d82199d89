"""Who is on the other end of a request, and whether they are inside the platform.

The client of a request is the peer of its connection, unless that peer is a trusted
proxy (``TRUSTED_PROXIES``): then it is the right-most address of ``X-Forwarded-For``
that is not itself a trusted proxy, since each proxy appends the address it saw and
only what the trusted ones appended can be believed. It is resolved once per request,
at the outer edge of every app (``core.app.create_app``, with uvicorn's middleware,
which implements exactly this rule, networks in CIDR form), so
rate limits, sign-in throttles and the access checks below all read the same
``scope["client"]``. It is the app's rule rather than the server's, so it holds
wherever the app runs: served, or in-process behind the gateway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

# Every peer is a trusted proxy: for apps reached only in-process (the embedded mode),
# whose one door is the gateway or the site in the same process.
EVERYONE = ("*",)


def client_address(connection: HTTPConnection) -> str:
    """The client's address, as resolved for this request (see the module's docstring)."""
    return connection.client.host if connection.client else "unknown"


class InternalNetworks:
    """Loopback and the configured networks: the callers operators' endpoints answer."""

    def __init__(self, networks: Iterable[str]) -> None:
        self.networks: tuple[IPv4Network | IPv6Network, ...] = tuple(
            ip_network(n, strict=False) for n in networks
        )

    def admits(self, host: str) -> bool:
        """True for a loopback address or one inside the configured networks."""
        try:
            address = ip_address(host)
        except ValueError:
            return False
        return address.is_loopback or any(address in network for network in self.networks)


def internal_only(networks: InternalNetworks) -> Callable[[HTTPConnection], None]:
    """A route dependency: 404, as for a path that does not exist, outside ``networks``."""

    def check(connection: HTTPConnection) -> None:
        if not networks.admits(client_address(connection)):
            raise HTTPException(404)

    return check
