"""The rules of a delivery address kept in an account."""

from __future__ import annotations

from dataclasses import replace

import pytest

from auction_platform.services.identity.addresses import AddressFields, check_address
from auction_platform.services.identity.domain import AccountError

HOME = AddressFields(
    name="Bea Bidder",
    line1="Karl-Liebknecht-Str. 12",
    city="Leipzig",
    postal_code="04107",
    country="DE",
)


def refusal(address: AddressFields) -> str:
    with pytest.raises(AccountError) as refused:
        check_address(address)
    return refused.value.code


def test_a_plain_address_is_kept_as_it_is() -> None:
    assert check_address(HOME) == HOME


def test_fields_are_trimmed_and_empty_optional_ones_are_none() -> None:
    messy = replace(
        HOME, name="  Bea ", country=" de ", line2="  ", region="", phone=" +49 151 1234567 "
    )
    assert check_address(messy) == replace(HOME, name="Bea", phone="+491511234567")


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("name", "", "invalid_name"),
        ("name", "x" * 101, "invalid_name"),
        ("name", "Bea\nBidder", "invalid_name"),
        ("line1", "  ", "invalid_line1"),
        ("line1", "x" * 121, "invalid_line1"),
        ("line2", "x" * 121, "invalid_line2"),
        ("line2", "Flat\t3", "invalid_line2"),
        ("city", "", "invalid_city"),
        ("city", "Leip\x00zig", "invalid_city"),
        ("region", "x" * 81, "invalid_region"),
        ("postal_code", "0410/7", "invalid_postal_code"),
        ("postal_code", "-4107", "invalid_postal_code"),
        ("postal_code", "1" * 17, "invalid_postal_code"),
        ("country", "XX", "unknown_country"),
        ("country", "DEU", "unknown_country"),
        ("country", "\u00df", "unknown_country"),
        ("phone", "0151 1234567", "invalid_phone"),
    ],
)
def test_a_field_out_of_its_rule_is_refused_with_its_code(
    field: str, value: str, code: str
) -> None:
    assert refusal(replace(HOME, **{field: value})) == code


def test_addresses_abroad_and_in_other_scripts_are_kept() -> None:
    for address in (
        replace(HOME, name="Łukasz Żółw", city="Łódź", postal_code="90-001", country="pl"),
        replace(HOME, line1="1-2-3 Shibuya", city="東京", postal_code="150 0002", country="JP"),
        replace(HOME, city="London", postal_code="SW1A 1AA", country="GB", region="Greater London"),
    ):
        assert check_address(address).country == address.country.upper()


def test_an_address_in_a_country_without_postal_codes_has_none() -> None:
    for blank in (None, "", "   "):
        hong_kong = replace(HOME, city="Kowloon", postal_code=blank, country="HK")
        assert check_address(hong_kong).postal_code is None
