"""The rules of reports: the comment, who may report what, and which outcome fits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from auction_platform.contracts.events import Envelope
from auction_platform.core.failures import Conflict, Invalid
from auction_platform.services.auction.reports import (
    Outcome,
    Reason,
    Report,
    ReportStatus,
    TargetType,
    check_comment,
    check_not_own,
    check_note,
    check_outcome,
    resolve,
)
from auction_platform.services.notification.notices import report_resolved

NOW = datetime(2030, 5, 1, 12, tzinfo=UTC)


def a_report(**changes: object) -> Report:
    values: dict[str, object] = {
        "id": "r1",
        "reporter_id": "ann",
        "target_type": TargetType.AUCTION,
        "target_id": "lot1",
        "reason": Reason.COUNTERFEIT,
        "comment": None,
        "created_at": NOW,
    }
    return Report(**{**values, **changes})  # type: ignore[arg-type]


def refused_with(code: str, call: object, *args: object, **kwargs: object) -> None:
    with pytest.raises(Invalid) as refusal:
        call(*args, **kwargs)  # type: ignore[operator]
    assert refusal.value.code == code


def test_a_comment_is_trimmed_and_optional_but_for_other() -> None:
    assert check_comment(Reason.COUNTERFEIT, "  fake  ") == "fake"
    assert check_comment(Reason.COUNTERFEIT, "   ") is None
    assert check_comment(Reason.HARASSMENT, None) is None
    refused_with("invalid_comment", check_comment, Reason.OTHER, None)
    refused_with("invalid_comment", check_comment, Reason.OTHER, " \n ")


def test_a_comment_has_at_most_1000_printable_characters() -> None:
    assert check_comment(Reason.OTHER, "x" * 1000) == "x" * 1000
    assert check_comment(Reason.OTHER, "line one\nline two") == "line one\nline two"
    refused_with("invalid_comment", check_comment, Reason.OTHER, "x" * 1001)
    refused_with("invalid_comment", check_comment, Reason.OTHER, "a\x00b")
    refused_with("invalid_note", check_note, "n" * 1001)


def test_nobody_reports_themselves_or_their_own_listing() -> None:
    check_not_own(reporter_id="ann", answerable_id="sam", target_type=TargetType.USER)
    for kind in TargetType:
        refused_with(
            "own_target", check_not_own, reporter_id="ann", answerable_id="ann", target_type=kind
        )


def test_only_a_listing_can_be_removed() -> None:
    check_outcome(Outcome.REMOVE_LISTING, TargetType.AUCTION)
    for outcome in (Outcome.DISMISS, Outcome.WARN, Outcome.SUSPEND):
        check_outcome(outcome, TargetType.USER)
    refused_with("outcome_not_applicable", check_outcome, Outcome.REMOVE_LISTING, TargetType.USER)


def test_a_report_is_resolved_once() -> None:
    done = resolve(a_report(), outcome=Outcome.WARN, note="n", by="root", now=NOW)
    assert done.status is ReportStatus.RESOLVED and done.outcome is Outcome.WARN
    assert (done.resolved_by, done.resolved_at, done.note) == ("root", NOW, "n")
    assert done.target == "auction:lot1"
    with pytest.raises(Conflict) as refusal:
        resolve(done, outcome=Outcome.DISMISS, note=None, by="root", now=NOW)
    assert refusal.value.code == "report_resolved"


def resolved_event(outcome: str) -> Envelope:
    return Envelope(
        type="ReportResolved",
        producer="auction",
        data={
            "report_ids": ["r1", "r2", "r3"],
            "reporter_ids": ["ann", "bob", "ann"],
            "target_type": "auction",
            "target_id": "lot1",
            "title": "A fake Rolex",
            "answerable_id": "sam",
            "outcome": outcome,
            "note": "Say it is a replica.",
            "resolved_by": "root",
            "at": NOW.isoformat(),
        },
    )


def test_each_reporter_learns_the_outcome_once_without_the_admins_note() -> None:
    notices = report_resolved(resolved_event("dismiss"))
    assert [(n.kind, n.user_id) for n in notices] == [
        ("report_resolved", "ann"),
        ("report_resolved", "bob"),
    ]
    assert all("note" not in n.values for n in notices)


def test_a_warning_reaches_the_member_answerable_with_the_note() -> None:
    notices = report_resolved(resolved_event("warn"))
    [warning] = [n for n in notices if n.kind == "report_warning"]
    assert warning.user_id == "sam" and warning.values["note"] == "Say it is a replica."
