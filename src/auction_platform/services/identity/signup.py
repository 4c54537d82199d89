"""Where and on which device an account signed up: the shill-bidding signals (pure).

Identity keeps the client address and the site's ``device`` cookie of each sign-up
(personal data: shown to admins only, erased with the account). Other services get
fingerprints alone: a keyed hash (HMAC-SHA256 under a key derived from
``SECRET_KEY``) that tells two sign-ups from one address or device apart from the
rest without saying which address it was; a bare hash of an IPv4 address would be
undone by trying all four billion.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from ipaddress import ip_address

# The label of the fingerprints' key (``Settings.derived_key``).
FINGERPRINT_KEY_PURPOSE = "signup-signals"
# The header the site forwards its ``device`` cookie in; the gateway drops it from
# what clients send, so only the site (or a caller inside the platform) can set it.
DEVICE_HEADER = "X-Device-Id"
_DEVICE_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
_UNKNOWN_ADDRESS = "unknown"


@dataclass(frozen=True, slots=True)
class SignupSignals:
    """The client address and device cookie of a sign-up (either may be unknown)."""

    address: str | None = None
    device_id: str | None = None


def signals_of(address: str | None, device_id: str | None) -> SignupSignals:
    """The signals worth keeping: a real address, a device id of the site's shape."""
    kept_address = address if address and address != _UNKNOWN_ADDRESS else None
    kept_device = device_id if device_id and _DEVICE_ID.fullmatch(device_id) else None
    return SignupSignals(address=kept_address[:45] if kept_address else None, device_id=kept_device)


def shared_address(address: str | None) -> str | None:
    """The address when it can tell one person's sign-ups apart: a public one only.

    A loopback or private address is a proxy's, a NAT's or a test's (with
    ``TRUSTED_PROXIES`` unset, every client looks like the load balancer): matching
    on it would flag every pair of accounts. Identity still keeps it for admins.
    """
    if address is None:
        return None
    try:
        return address if ip_address(address).is_global else None
    except ValueError:
        return None


def fingerprint(value: str | None, *, key: bytes) -> str | None:
    """A value's keyed hash (32 hex digits), equal for equal values; None for None."""
    if value is None:
        return None
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]
