"""The buyer's delivery addresses: what one must hold, and the commands about them.

Pure: standard library only (and the platform's contracts). An account keeps up to
``MAX_ADDRESSES``; while it has any, exactly one is its default (the first one added,
until another is made the default; deleting the default passes it on).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from auction_platform.contracts.countries import COUNTRIES
from auction_platform.services.identity.domain import AccountError, check_phone

MAX_ADDRESSES = 10
# Each text field: the least and the most characters, after trimming.
LENGTHS: dict[str, tuple[int, int]] = {
    "name": (1, 100),
    "line1": (1, 120),
    "line2": (0, 120),
    "city": (1, 80),
    "region": (0, 80),
    "postal_code": (0, 16),
}
# Not every country has postal codes (Hong Kong, most of the Gulf states, ...).
OPTIONAL = frozenset({"line2", "region", "postal_code", "phone"})
_POSTAL_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 -]*")


@dataclass(frozen=True, slots=True)
class AddressFields:
    """Where a parcel goes: the person, the street, the town, the country (alpha-2)."""

    name: str
    line1: str
    city: str
    country: str
    line2: str | None = None
    region: str | None = None
    postal_code: str | None = None
    phone: str | None = None


FIELD_NAMES = tuple(f.name for f in fields(AddressFields))


@dataclass(frozen=True, slots=True)
class Address:
    """A delivery address kept in an account."""

    id: str
    user_id: str
    fields: AddressFields
    is_default: bool
    created_at: datetime
    updated_at: datetime

    def public(self) -> dict[str, Any]:
        """The address as its owner sees it."""
        return {
            "id": self.id,
            **{name: getattr(self.fields, name) for name in FIELD_NAMES},
            "is_default": self.is_default,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def check_address(address: AddressFields) -> AddressFields:
    """The address, trimmed (an empty optional field is None), or why it is refused.

    Codes: ``invalid_<field>`` for a text field out of its length or not one line
    (``invalid_postal_code`` also for characters other than letters, digits, space
    and ``-``), ``unknown_country`` (not ISO 3166-1 alpha-2), ``invalid_phone``.
    """
    values = {name: _line(name, getattr(address, name)) for name in LENGTHS}
    postal_code = values["postal_code"]
    if postal_code is not None and not _POSTAL_CODE.fullmatch(postal_code):
        raise AccountError(
            "invalid_postal_code", "a postal code is letters, digits, spaces and '-'"
        )
    country = address.country.strip()
    country = country.upper() if country.isascii() else country
    if country not in COUNTRIES:
        raise AccountError(
            "unknown_country", f"{address.country!r} is not an ISO 3166-1 alpha-2 country code"
        )
    phone = address.phone.strip() if address.phone is not None else None
    return AddressFields(
        name=values["name"] or "",
        line1=values["line1"] or "",
        city=values["city"] or "",
        postal_code=postal_code,
        country=country,
        line2=values["line2"],
        region=values["region"],
        phone=check_phone(phone),
    )


def _line(name: str, value: str | None) -> str | None:
    text = (value or "").strip()
    low, high = LENGTHS[name]
    if not low <= len(text) <= high or not text.isprintable():
        label = name.replace("_", " ").replace("line", "address line ")
        raise AccountError(
            f"invalid_{name}", f"the {label} is one line of {low} to {high} characters"
        )
    return text or None


# --- commands ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddAddress:
    """Keep a new address; ``is_default`` makes it the default (the first one always is)."""

    user_id: str
    fields: AddressFields
    is_default: bool = False


@dataclass(frozen=True, slots=True)
class ChangeAddress:
    """Change some fields of an address: ``changes`` maps field names to new values."""

    user_id: str
    address_id: str
    changes: Mapping[str, Any]
    is_default: bool | None = None


@dataclass(frozen=True, slots=True)
class DeleteAddress:
    """Forget an address."""

    user_id: str
    address_id: str
