"""Delivery addresses kept in an account, through the gateway, on both backends."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from support.accounts import Account, sign_up

PATH = "/api/v1/users/me/addresses"
HOME: dict[str, Any] = {
    "name": "Bea Bidder",
    "line1": "Karl-Liebknecht-Str. 12",
    "city": "Leipzig",
    "postal_code": "04107",
    "country": "DE",
}


async def add(http: httpx.AsyncClient, who: Account, **fields: Any) -> dict[str, Any]:
    response = await http.post(PATH, json={**HOME, **fields}, headers=who.headers)
    assert response.status_code == 201, response.text
    address: dict[str, Any] = response.json()["address"]
    return address


async def listed(http: httpx.AsyncClient, who: Account) -> list[dict[str, Any]]:
    response = await http.get(PATH, headers=who.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_buyer_keeps_addresses_and_one_is_the_default(http: httpx.AsyncClient) -> None:
    bea = await sign_up(http, name="Bea")
    assert await listed(http, bea) == []
    home = await add(http, bea, line2="3rd floor", phone="+49 151 1234567")
    assert home["is_default"] is True  # the first one, unasked
    assert (home["line2"], home["region"], home["phone"]) == ("3rd floor", None, "+491511234567")
    work = await add(http, bea, line1="Augustusplatz 1", postal_code="04109")
    assert work["is_default"] is False
    assert [a["id"] for a in await listed(http, bea)] == [home["id"], work["id"]]

    made = await http.patch(f"{PATH}/{work['id']}", json={"is_default": True}, headers=bea.headers)
    assert made.status_code == 200, made.text
    assert [(a["id"], a["is_default"]) for a in await listed(http, bea)] == [
        (work["id"], True),
        (home["id"], False),
    ]
    # The default is passed on, never simply unset.
    unset = await http.patch(
        f"{PATH}/{work['id']}", json={"is_default": False}, headers=bea.headers
    )
    assert (unset.status_code, unset.json()["error"]["code"]) == (422, "default_needed")
    gone = await http.delete(f"{PATH}/{work['id']}", headers=bea.headers)
    assert gone.status_code == 204
    assert [(a["id"], a["is_default"]) for a in await listed(http, bea)] == [(home["id"], True)]


async def test_an_address_changes_field_by_field(http: httpx.AsyncClient) -> None:
    bea = await sign_up(http, name="Bea")
    home = await add(http, bea, line2="3rd floor", region="Saxony")
    changed = await http.patch(
        f"{PATH}/{home['id']}",
        json={"city": " Markkleeberg ", "postal_code": "04416", "line2": None, "region": ""},
        headers=bea.headers,
    )
    assert changed.status_code == 200, changed.text
    address = changed.json()["address"]
    assert (address["city"], address["postal_code"]) == ("Markkleeberg", "04416")
    assert (address["line2"], address["region"], address["name"]) == (None, None, "Bea Bidder")
    assert address["updated_at"] >= home["updated_at"]
    nulled = await http.patch(f"{PATH}/{home['id']}", json={"city": None}, headers=bea.headers)
    assert (nulled.status_code, nulled.json()["error"]["code"]) == (422, "validation_error")
    bad = await http.patch(f"{PATH}/{home['id']}", json={"country": "XX"}, headers=bea.headers)
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "unknown_country")
    assert (await listed(http, bea))[0]["city"] == "Markkleeberg"


async def test_only_the_owner_sees_or_changes_an_address(http: httpx.AsyncClient) -> None:
    bea, eve = await sign_up(http, name="Bea"), await sign_up(http, name="Eve")
    home = await add(http, bea)
    assert await listed(http, eve) == []
    for answer in (
        await http.patch(f"{PATH}/{home['id']}", json={"city": "Elsewhere"}, headers=eve.headers),
        await http.delete(f"{PATH}/{home['id']}", headers=eve.headers),
        await http.delete(f"{PATH}/{'0' * 32}", headers=bea.headers),
    ):
        assert (answer.status_code, answer.json()["error"]["code"]) == (404, "address_not_found")
    assert (await listed(http, bea))[0]["city"] == "Leipzig"
    assert (await http.get(PATH)).status_code == 401


async def test_an_account_keeps_at_most_ten_addresses(http: httpx.AsyncClient) -> None:
    bea = await sign_up(http, name="Bea")
    # Sent together: the account's row is locked, so the limit holds under a race.
    answers = await asyncio.gather(
        *(
            http.post(PATH, json={**HOME, "line1": f"Street {n}"}, headers=bea.headers)
            for n in range(12)
        )
    )
    assert sorted(answer.status_code for answer in answers) == [201] * 10 + [422] * 2
    refused = [answer for answer in answers if answer.status_code == 422]
    assert {answer.json()["error"]["code"] for answer in refused} == {"too_many_addresses"}
    kept = await listed(http, bea)
    assert len(kept) == 10
    assert [a["is_default"] for a in kept].count(True) == 1


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"name": "  "}, "invalid_name"),
        ({"line1": "x" * 121}, "invalid_line1"),
        ({"line2": "Flat\t3"}, "invalid_line2"),
        ({"city": "x" * 81}, "invalid_city"),
        ({"region": "x" * 81}, "invalid_region"),
        ({"postal_code": "04/107"}, "invalid_postal_code"),
        ({"country": "XX"}, "unknown_country"),
        ({"country": "Germany"}, "unknown_country"),
        ({"phone": "0151 1234567"}, "invalid_phone"),
    ],
)
async def test_an_address_nobody_could_deliver_to_is_refused_with_its_code(
    http: httpx.AsyncClient, fields: dict[str, Any], code: str
) -> None:
    bea = await sign_up(http, name="Bea")
    response = await http.post(PATH, json={**HOME, **fields}, headers=bea.headers)
    assert (response.status_code, response.json()["error"]["code"]) == (422, code)


@pytest.mark.parametrize(
    "body",
    [
        {k: v for k, v in HOME.items() if k != "city"},
        {**HOME, "country": 49},
        {**HOME, "is_default": "yes"},
        {**HOME, "floor": 3},
        {**HOME, "name": "x" * 401},
        [HOME],
    ],
)
async def test_an_address_of_the_wrong_shape_is_a_validation_error(
    http: httpx.AsyncClient, body: Any
) -> None:
    bea = await sign_up(http, name="Bea")
    response = await http.post(PATH, json=body, headers=bea.headers)
    assert (response.status_code, response.json()["error"]["code"]) == (422, "validation_error")


async def test_an_address_without_a_postal_code_is_kept(http: httpx.AsyncClient) -> None:
    bea = await sign_up(http, name="Bea")
    hong_kong = {k: v for k, v in HOME.items() if k != "postal_code"}
    response = await http.post(
        PATH, json={**hong_kong, "city": "Kowloon", "country": "HK"}, headers=bea.headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["address"]["postal_code"] is None
    home = await add(http, bea)
    cleared = await http.patch(
        f"{PATH}/{home['id']}", json={"postal_code": None}, headers=bea.headers
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["address"]["postal_code"] is None
