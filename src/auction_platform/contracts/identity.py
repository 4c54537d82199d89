"""Event schemas of the identity service (the ``data`` of each envelope)."""

from __future__ import annotations

from typing import NotRequired, TypedDict


class UserRegisteredData(TypedDict):
    """A new account, with the roles it was made with (a registration: bidder only)."""

    user_id: str
    display_name: str
    # Every role the account starts with: an admin made by ``create-admin`` is made
    # with all of them in one transaction, so its welcome speaks of those roles.
    roles: list[str]
    # Fingerprints (keyed hashes) of the sign-up's client address and the site's device
    # cookie, None when unknown: equal for equal values, so analytics can see two
    # accounts from one place without learning the address (shill-bidding signals).
    signup_address: NotRequired[str | None]
    signup_device: NotRequired[str | None]


USER_REGISTERED = "UserRegistered"


class UserSuspendedData(TypedDict):
    """An admin suspended an account: its tokens are refused, its listings and leads go."""

    user_id: str
    reason: str
    until: str | None  # ISO 8601, UTC: when it lapses by itself; None: until reinstated
    suspended_by: str
    at: str


class UserReinstatedData(TypedDict):
    """An admin lifted an account's suspension early: it may sign in again."""

    user_id: str
    reinstated_by: str
    at: str


USER_SUSPENDED = "UserSuspended"
USER_REINSTATED = "UserReinstated"


class UserErasedData(TypedDict):
    """A member closed their account: identity erased what was personal in it.

    Every service pseudonymises what it keeps that is personal (the account's id stays,
    so orders, bids and the ledger keep their integrity).
    """

    user_id: str
    at: str  # ISO 8601, UTC


USER_ERASED = "UserErased"
