"""The rules of accounts, without I/O."""

from datetime import UTC, datetime, timedelta

import pytest

from auction_platform.services.identity import domain
from auction_platform.services.identity.passwords import common_passwords

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
COMMON = frozenset({"password123", "qwertyuiop"})


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("Ann@Example.COM", "ann@example.com"),
        ("  bob@example.com ", "bob@example.com"),
        ("\uff43\uff41\uff52\uff4c@example.com", "carl@example.com"),  # full-width letters
    ],
)
def test_emails_are_compared_trimmed_and_without_case(raw: str, normal: str) -> None:
    assert domain.normalise_email(raw) == normal


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short", "password_too_short"),
        ("Password123", "password_too_common"),
        ("x" * 300, "password_too_long"),
        ("my name is annabel!", "password_too_personal"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, code: str) -> None:
    with pytest.raises(domain.AccountError) as refused:
        domain.check_password(password, min_length=10, common=COMMON, personal=("Annabel",))
    assert refused.value.code == code


def test_a_long_uncommon_password_is_accepted() -> None:
    domain.check_password("correct horse battery staple", min_length=10, common=COMMON)


def test_the_shipped_list_holds_the_usual_suspects() -> None:
    common = common_passwords()
    assert len(common) >= 9000
    assert {"password1", "qwertyuiop", "1234567890"} <= common


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("+49 151 1234 5678", "+4915112345678"), ("+1 (415) 555-0100", "+14155550100"), ("", None)],
)
def test_phones_are_kept_in_e164(raw: str, clean: str | None) -> None:
    assert domain.check_phone(raw) == clean


@pytest.mark.parametrize("raw", ["0151 1234", "+0 123 456 789", "call me"])
def test_phones_that_are_not_e164_are_refused(raw: str) -> None:
    with pytest.raises(domain.AccountError, match="international form"):
        domain.check_phone(raw)


def test_preferences_change_only_what_is_named() -> None:
    merged = domain.merge_preferences(domain.DEFAULT_PREFERENCES, {"sms": {"outbid": False}})
    assert merged["sms"]["outbid"] is False
    assert merged["email"] == domain.DEFAULT_PREFERENCES["email"]
    assert domain.DEFAULT_PREFERENCES["sms"]["outbid"] is True  # the default is untouched


@pytest.mark.parametrize(
    ("changes", "code"),
    [({"fax": {"outbid": True}}, "unknown_channel"), ({"email": {"spam": True}}, "unknown_notice")],
)
def test_unknown_preferences_are_refused(changes: dict[str, dict[str, bool]], code: str) -> None:
    with pytest.raises(domain.AccountError) as refused:
        domain.merge_preferences(domain.DEFAULT_PREFERENCES, changes)
    assert refused.value.code == code


def test_every_account_stays_a_bidder() -> None:
    assert domain.check_roles(["admin"]) == ("bidder", "admin")


def test_unknown_roles_are_refused() -> None:
    with pytest.raises(domain.AccountError, match="superuser"):
        domain.check_roles(["superuser"])


def _token(**kw: object) -> domain.RefreshToken:
    return domain.RefreshToken(
        family_id="f",
        user_id="u",
        expires_at=NOW + timedelta(days=1),
        **kw,  # type: ignore[arg-type]
    )


def test_a_fresh_refresh_token_rotates() -> None:
    assert domain.present_refresh_token(_token(), now=NOW) is domain.RefreshOutcome.ROTATE


def test_a_spent_refresh_token_is_reuse() -> None:
    spent = domain.spend(_token(), now=NOW)
    assert domain.present_refresh_token(spent, now=NOW) is domain.RefreshOutcome.REUSED


def test_an_expired_refresh_token_does_not_rotate() -> None:
    later = NOW + timedelta(days=2)
    assert domain.present_refresh_token(_token(), now=later) is domain.RefreshOutcome.EXPIRED


def test_a_revoked_refresh_token_does_not_rotate() -> None:
    revoked = _token(revoked_at=NOW)
    assert domain.present_refresh_token(revoked, now=NOW) is domain.RefreshOutcome.REVOKED
