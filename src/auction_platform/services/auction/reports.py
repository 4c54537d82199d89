"""The rules of reports: what a member may report, with what words, and how one is resolved.

A signed-in member reports a listing or a member for a reason from a fixed list, with
a comment (required when the reason is ``other``). One report per reporter and target
stays open at a time; nobody reports themselves or their own listing. An admin
resolves a report with an outcome, and the outcome applies to every open report on
the same target: the queue is about targets, not about who complained first.

Pure: standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from auction_platform.core.failures import Conflict, Invalid

COMMENT_MAX = 1000
NOTE_MAX = 1000


class TargetType(StrEnum):
    """What a report is about."""

    AUCTION = "auction"
    USER = "user"


class Reason(StrEnum):
    """Why a member reports (the list eBay's own report form starts from)."""

    PROHIBITED_ITEM = "prohibited_item"
    COUNTERFEIT = "counterfeit"
    SHILL_BIDDING = "shill_bidding"
    HARASSMENT = "harassment"
    OTHER = "other"


class ReportStatus(StrEnum):
    """Open until an admin resolves it."""

    OPEN = "open"
    RESOLVED = "resolved"


class Outcome(StrEnum):
    """What an admin decided about a target."""

    DISMISS = "dismiss"  # nothing wrong found
    WARN = "warn"  # the member answerable is told by mail
    REMOVE_LISTING = "remove_listing"  # the lot is cancelled as an admin cancels it
    SUSPEND = "suspend"  # the member answerable is suspended (identity does it)


@dataclass(frozen=True, slots=True)
class Report:
    """One member's report of one target, and its resolution once there is one."""

    id: str
    reporter_id: str
    target_type: TargetType
    target_id: str
    reason: Reason
    comment: str | None
    created_at: datetime
    status: ReportStatus = ReportStatus.OPEN
    outcome: Outcome | None = None
    note: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None

    @property
    def target(self) -> str:
        """The target as the audit trail names it (``auction:<id>``, ``user:<id>``)."""
        return f"{self.target_type.value}:{self.target_id}"


class OwnTarget(Invalid):
    """A member reported themselves or their own listing."""


def _text(value: str | None, *, limit: int, code: str, what: str) -> str | None:
    """Words as typed, trimmed: printable characters and line breaks only, within ``limit``."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > limit:
        raise Invalid(code, f"the {what} is at most {limit} characters")
    if any(not (c.isprintable() or c in "\n\r\t") for c in value):
        raise Invalid(code, f"the {what} has characters that cannot be shown")
    return value


def check_comment(reason: Reason, comment: str | None) -> str | None:
    """The reporter's comment: 1 to 1000 printable characters, required for ``other``."""
    cleaned = _text(comment, limit=COMMENT_MAX, code="invalid_comment", what="comment")
    if cleaned is None and reason is Reason.OTHER:
        raise Invalid("invalid_comment", "Say what is wrong: a comment is required for “other”.")
    return cleaned


def check_note(note: str | None) -> str | None:
    """The admin's note on a resolution: optional, at most 1000 printable characters."""
    return _text(note, limit=NOTE_MAX, code="invalid_note", what="note")


def check_not_own(*, reporter_id: str, answerable_id: str, target_type: TargetType) -> None:
    """Nobody reports themselves, nor a listing of their own."""
    if reporter_id == answerable_id:
        what = "your own listing" if target_type is TargetType.AUCTION else "yourself"
        raise OwnTarget("own_target", f"you cannot report {what}")


def check_outcome(outcome: Outcome, target_type: TargetType) -> None:
    """Removing a listing needs a listing: a report of a member cannot end in one."""
    if outcome is Outcome.REMOVE_LISTING and target_type is not TargetType.AUCTION:
        raise Invalid("outcome_not_applicable", "only a listing can be removed")


def check_open(report: Report) -> None:
    """A resolved report is not resolved again."""
    if report.status is not ReportStatus.OPEN:
        raise Conflict("report_resolved", "the report is resolved already")


def resolve(
    report: Report, *, outcome: Outcome, note: str | None, by: str, now: datetime
) -> Report:
    """The report as resolved with ``outcome`` by admin ``by``."""
    check_open(report)
    return replace(
        report,
        status=ReportStatus.RESOLVED,
        outcome=outcome,
        note=note,
        resolved_by=by,
        resolved_at=now,
    )
