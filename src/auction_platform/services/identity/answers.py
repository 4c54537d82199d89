"""What the identity service's routes answer, as their OpenAPI document shows it.

Documentation only: the routes build their dicts (``User.public``, ``TokenPair.public``)
and are not checked against these at run time; the API fuzz run checks every answer
against its documented schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from auction_platform.services.identity.domain import Role


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ``{"email": {"outbid": true, ...}, "sms": {...}}``: each channel, each kind of notice.
Preferences = dict[Literal["email", "sms"], dict[str, bool]]


class User(_Answer):
    """An account as its owner (or an admin) sees it."""

    id: str
    email: str
    display_name: str
    phone: str | None = Field(description="E.164, e.g. `+4915112345678`.")
    roles: list[Role]
    created_at: datetime


class UserAnswer(_Answer):
    """One account."""

    user: User


class ListedUser(_Answer):
    """An account in the operators' list."""

    id: str
    email: str
    display_name: str
    roles: list[Role]
    created_at: datetime
    suspended: bool = Field(description="True while a suspension stops the account.")
    suspended_until: datetime | None = Field(
        description="When the suspension in force lapses; null: none, or until reinstated."
    )


class UserPage(_Answer):
    """A page of accounts, newest first; `next_cursor` asks for the next (null on the last)."""

    items: list[ListedUser]
    next_cursor: str | None


class PublicProfile(_Answer):
    """What anyone may see of an account."""

    id: str
    display_name: str
    member_since: datetime


class ProfileAnswer(_Answer):
    """An account's public profile."""

    user: PublicProfile


class Tokens(_Answer):
    """A token pair (OAuth 2.0 token response fields)."""

    token_type: Literal["Bearer"]
    access_token: str = Field(description="Send as `Authorization: Bearer <access_token>`.")
    expires_in: int = Field(description="Seconds the access token is valid for.")
    refresh_token: str = Field(description="Spent by `POST /api/v1/auth/refresh`.")
    refresh_expires_in: int = Field(description="Seconds the refresh token is valid for.")


class SellerAnswer(Tokens):
    """The account with the seller role, and a token pair that carries it."""

    user: User


class ServiceToken(_Answer):
    """A token for one of the platform's services."""

    token_type: Literal["Bearer"]
    access_token: str
    expires_in: int


class PreferencesAnswer(_Answer):
    """Which notices you get on which channel."""

    preferences: Preferences


class Contact(_Answer):
    """Where and how to reach a user."""

    user_id: str
    email: str
    phone: str | None
    display_name: str
    preferences: Preferences


class Keys(_Answer):
    """A JSON Web Key Set (RFC 7517): the Ed25519 keys that verify access tokens."""

    keys: list[dict[str, Any]] = Field(
        description="Each an OKP key: `kty`, `crv`, `x`, `kid`, `alg` (`EdDSA`), `use` (`sig`)."
    )


class Address(_Answer):
    """A delivery address kept in your account."""

    id: str
    name: str = Field(description="Who receives the parcel.")
    line1: str
    line2: str | None
    city: str
    region: str | None = Field(description="State, county or province, where one is used.")
    postal_code: str | None
    country: str = Field(description="ISO 3166-1 alpha-2, e.g. `DE`.")
    phone: str | None = Field(description="E.164, for the carrier.")
    is_default: bool = Field(description="Offered first at checkout; exactly one is.")
    created_at: datetime
    updated_at: datetime


class AddressAnswer(_Answer):
    """One address."""

    address: Address


class AddressList(_Answer):
    """Your addresses, the default first, then the oldest first."""

    items: list[Address]


NOT_YOURS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Only your own account, unless you are an admin (`forbidden`)."}
}
