"""The console's suspension form: the end typed in the admin's zone, as identity gets it
(UTC); a refusal of ``account_suspended`` read for the sign-in page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from auction_platform.services.web.admin_users import (
    FormProblem,
    local_text,
    suspension_end,
    zone_of,
    zones,
)
from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.site import suspension_of


def test_an_end_typed_in_the_admins_zone_reaches_identity_in_utc() -> None:
    end = suspension_end("2026-12-14T09:00", zone_of("Asia/Kolkata"))
    assert end == datetime(2026, 12, 14, 3, 30, tzinfo=UTC)


def test_summer_time_is_reckoned_on_the_day_of_the_end() -> None:
    paris = zone_of("Europe/Paris")
    assert suspension_end("2026-07-01T12:00", paris) == datetime(2026, 7, 1, 10, tzinfo=UTC)
    assert suspension_end("2026-01-01T12:00", paris) == datetime(2026, 1, 1, 11, tzinfo=UTC)


def test_an_empty_end_is_until_reinstated() -> None:
    assert suspension_end("  ", zone_of("UTC")) is None


@pytest.mark.parametrize("typed", ["tomorrow", "2026-13-01T10:00", "2026-12-14T09:00+02:00"])
def test_an_end_that_is_not_a_local_date_and_time_is_refused_in_words(typed: str) -> None:
    with pytest.raises(FormProblem, match="choose a date and a time"):
        suspension_end(typed, zone_of("UTC"))


def test_an_unknown_zone_is_utc_and_utc_is_offered_first() -> None:
    assert zone_of("Mars/Olympus_Mons").key == "UTC"
    assert zone_of("../../etc/passwd").key == "UTC"
    assert zones()[0] == "UTC"
    assert "Europe/Paris" in zones()


def test_a_moment_reads_in_the_admins_zone_with_the_zone_named() -> None:
    shown = local_text("2026-12-14T03:30:00+00:00", zone_of("Asia/Kolkata"))
    assert shown == "14 Dec 2026, 09:00 (Asia/Kolkata)"


def test_a_suspended_refusal_gives_the_end_and_the_reason_it_carries() -> None:
    at_sign_in = ApiProblem(
        403, "account_suspended", "suspended", {"until": "2026-12-14T03:30:00+00:00", "reason": "x"}
    )
    refused = suspension_of(at_sign_in)
    assert (refused.until, refused.reason) == ("2026-12-14T03:30:00+00:00", "x")
    live_token = suspension_of(ApiProblem(403, "account_suspended", "suspended", {"until": None}))
    assert (live_token.until, live_token.reason) == (None, None)
    assert suspension_of(ApiProblem(403, "account_suspended", "suspended")).until is None
