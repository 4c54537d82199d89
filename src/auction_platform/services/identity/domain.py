"""The rules of accounts: emails, passwords, roles and refresh-token families.

Also the commands of the identity use cases. Pure: standard library only, no
clock, no I/O. Callers pass the time and the list of common passwords in.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from auction_platform.services.identity.signup import SignupSignals


class Role(StrEnum):
    """What an account may do; every account is a bidder."""

    BIDDER = "bidder"
    SELLER = "seller"
    ADMIN = "admin"


class Channel(StrEnum):
    """A way to reach a user."""

    EMAIL = "email"
    SMS = "sms"


ROLES = tuple(Role)
CHANNELS = tuple(Channel)
NOTICES = (
    "outbid",
    "ending_soon",
    "won",
    "sold",
    "not_sold",
    "payment_due",
    "payment_received",
    "delivery",
    "second_chance",
    "auction_cancelled",
    "feedback",
    "account",
)
# SMS only for what cannot wait; everything by email. A user changes these freely.
DEFAULT_PREFERENCES: dict[str, dict[str, bool]] = {
    Channel.EMAIL.value: dict.fromkeys(NOTICES, True),
    Channel.SMS.value: {notice: notice in ("outbid", "won", "ending_soon") for notice in NOTICES},
}

_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")


class AccountError(Exception):
    """A rule of accounts refused the request; ``code`` says which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def normalise_email(email: str) -> str:
    """The form emails are compared and stored in: trimmed, NFKC, lower case."""
    return unicodedata.normalize("NFKC", email).strip().lower()


def check_phone(phone: str | None) -> str | None:
    """A phone number in E.164 form (``+4915112345678``), or None."""
    if phone is None or phone == "":
        return None
    compact = re.sub(r"[\s\-().]", "", phone)
    if not _PHONE.match(compact):
        raise AccountError(
            "invalid_phone", "give the phone number in international form, e.g. +4915112345678"
        )
    return compact


def check_password(
    password: str, *, min_length: int, common: frozenset[str], personal: tuple[str, ...] = ()
) -> None:
    """Refuse short, common or personal passwords (NIST SP 800-63B)."""
    if len(password) < min_length:
        raise AccountError("password_too_short", f"use at least {min_length} characters")
    if len(password) > 256:
        raise AccountError("password_too_long", "use at most 256 characters")
    folded = password.casefold()
    if folded in common:
        raise AccountError(
            "password_too_common", "this password is one of the most common; choose another"
        )
    for word in personal:
        word = word.casefold().strip()
        if len(word) >= 4 and word in folded:
            raise AccountError(
                "password_too_personal", "do not use your name or email in the password"
            )


def merge_preferences(
    current: Mapping[str, Mapping[str, bool]], changes: Mapping[str, Mapping[str, bool]]
) -> dict[str, dict[str, bool]]:
    """Apply a partial change of notification preferences; unknown keys are refused."""
    merged = {
        channel.value: dict(current.get(channel, DEFAULT_PREFERENCES[channel]))
        for channel in CHANNELS
    }
    for channel, notices in changes.items():
        if channel not in CHANNELS:
            raise AccountError(
                "unknown_channel", f"unknown channel {channel!r}; use {', '.join(CHANNELS)}"
            )
        for notice, enabled in notices.items():
            if notice not in NOTICES:
                raise AccountError("unknown_notice", f"unknown kind of notice {notice!r}")
            merged[channel][notice] = bool(enabled)
    return merged


def check_roles(roles: Iterable[str]) -> tuple[Role, ...]:
    """A valid role set: known roles only, and every account is a bidder."""
    asked = set(roles)
    unknown = sorted(asked - set(ROLES))
    if unknown:
        raise AccountError("unknown_role", f"unknown role(s): {', '.join(unknown)}")
    return tuple(role for role in ROLES if role in asked or role is Role.BIDDER)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks: an account and the roles its access token carries."""

    user_id: str
    roles: frozenset[str]

    def may_see(self, user_id: str) -> bool:
        """Object-level authorisation: your own account, or any as an admin."""
        return self.user_id == user_id or Role.ADMIN in self.roles


class RefreshOutcome(StrEnum):
    """What presenting a refresh token leads to."""

    ROTATE = "rotate"
    REUSED = "reused"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class RefreshToken:
    """One refresh token of a family (a login and every rotation since)."""

    family_id: str
    user_id: str
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None


def present_refresh_token(token: RefreshToken, *, now: datetime) -> RefreshOutcome:
    """Decide what a presented refresh token means.

    A token is good once. Presenting a spent one means two parties hold it (the
    token leaked), so the whole family is revoked (OAuth 2.0 Security BCP 4.14).
    """
    if token.revoked_at is not None:
        return RefreshOutcome.REVOKED
    if token.used_at is not None:
        return RefreshOutcome.REUSED
    if now >= token.expires_at:
        return RefreshOutcome.EXPIRED
    return RefreshOutcome.ROTATE


def spend(token: RefreshToken, *, now: datetime) -> RefreshToken:
    """The token after it has been exchanged for a new one."""
    return replace(token, used_at=now)


def encode_cursor(created_at: datetime, user_id: str) -> str:
    """An opaque keyset cursor: the list goes on after this account."""
    raw = f"{created_at.isoformat()}|{user_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor stands for; ``invalid_cursor`` when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, user_id = raw.split("|", 1)
        moment = datetime.fromisoformat(at)
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise AccountError("invalid_cursor", "the cursor is not valid") from error
    if moment.tzinfo is None or not user_id:
        raise AccountError("invalid_cursor", "the cursor is not valid")
    return moment, user_id


# Commands: what each use case is asked to do, as the HTTP edge (or the CLI) parsed it.


@dataclass(frozen=True, slots=True)
class Register:
    """Open a bidder account."""

    email: str
    password: str
    display_name: str
    phone: str | None = None
    # Where and on which device: kept for the shill-bidding signals (``signup``).
    signals: SignupSignals = field(default_factory=SignupSignals)


@dataclass(frozen=True, slots=True)
class Login:
    """Exchange an email and a password, sent from ``address``, for tokens."""

    email: str
    password: str
    address: str


@dataclass(frozen=True, slots=True)
class Refresh:
    """Exchange a refresh token for a new pair."""

    refresh_token: str


@dataclass(frozen=True, slots=True)
class Logout:
    """End a session: its refresh-token family (when given) and the access token in hand."""

    user_id: str
    token_id: str
    token_expires_at: datetime
    refresh_token: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeProfile:
    """Change an account's display name or phone (``clear_phone`` removes the phone)."""

    user_id: str
    display_name: str | None = None
    phone: str | None = None
    clear_phone: bool = False


@dataclass(frozen=True, slots=True)
class SetPreferences:
    """Turn kinds of notice on or off per channel: ``{"sms": {"outbid": false}}``."""

    user_id: str
    changes: Mapping[str, Mapping[str, bool]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SetRoles:
    """Replace an account's roles: ``actor_id`` decides (an admin, or ``system`` for the
    command line), for ``reason`` when given; the audit trail keeps both."""

    user_id: str
    roles: tuple[str, ...]
    actor_id: str = "system"
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class BecomeSeller:
    """Add the seller role to one's own account (granted on request), with fresh tokens."""

    user_id: str


@dataclass(frozen=True, slots=True)
class ListUsers:
    """One page of accounts, newest first (operators): ``text`` in the email or display
    name, whatever the case; only holders of ``role`` when given; after ``cursor``."""

    text: str | None = None
    role: Role | None = None
    cursor: str | None = None
    limit: int = 20


@dataclass(frozen=True, slots=True)
class IssueServiceToken:
    """A token for one of the platform's services (client-credentials grant)."""

    client_id: str
    client_secret: str


@dataclass(frozen=True, slots=True)
class CreateAdmin:
    """Make an admin: a new account, or an existing one promoted."""

    email: str
    password: str
    display_name: str
