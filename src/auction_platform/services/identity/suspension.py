"""The rules of suspending an account, and the commands of suspension and reinstatement.

Pure: standard library only; callers pass the time in. A suspension stops an account
from the moment it is made until an admin lifts it or, when it has an end, until that
end passes: then it lapses by itself, with nothing to run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from auction_platform.services.identity.domain import AccountError

REASON_MAX = 500


@dataclass(frozen=True, slots=True)
class Suspension:
    """One suspension of an account, kept after it ends: who, when, why, until, lifted."""

    id: str
    user_id: str
    reason: str
    suspended_by: str
    suspended_at: datetime
    until: datetime | None = None
    lifted_by: str | None = None
    lifted_at: datetime | None = None

    def in_force(self, now: datetime) -> bool:
        """True while it stops the account: not lifted, and its end (if any) not passed."""
        if self.lifted_at is not None:
            return False
        return self.until is None or now < self.until


def check_reason(reason: str) -> str:
    """The reason as kept: trimmed, 1 to 500 characters."""
    text = reason.strip()
    if not 1 <= len(text) <= REASON_MAX:
        raise AccountError("invalid_reason", f"give the reason in 1 to {REASON_MAX} characters")
    return text


def check_suspension(
    *,
    admin_id: str,
    user_id: str,
    until: datetime | None,
    current: Suspension | None,
    now: datetime,
) -> None:
    """Refuse a suspension that may not be made: of oneself, twice, or ending in the past.

    An admin may suspend another admin (a taken-over admin account must be stoppable),
    but never their own account: the last admin could lock the platform out.
    """
    if admin_id == user_id:
        raise AccountError("cannot_suspend_self", "you cannot suspend your own account")
    if until is not None and (until.tzinfo is None or until <= now):
        raise AccountError(
            "invalid_suspension_end", "the end of a suspension must be in the future (UTC)"
        )
    if current is not None and current.in_force(now):
        raise AccountError("already_suspended", "the account is suspended already")


def check_reinstatement(current: Suspension | None, *, now: datetime) -> Suspension:
    """The suspension in force that a reinstatement lifts; ``not_suspended`` when none."""
    if current is None or not current.in_force(now):
        raise AccountError("not_suspended", "the account is not suspended")
    return current


@dataclass(frozen=True, slots=True)
class SuspendUser:
    """Suspend an account (an admin's decision) with a reason, until ``until`` or reinstated."""

    user_id: str
    admin_id: str
    reason: str
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReinstateUser:
    """Lift an account's suspension before its end."""

    user_id: str
    admin_id: str
