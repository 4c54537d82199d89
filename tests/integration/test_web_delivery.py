"""Delivery on the site: the listing form's shipping rows, the lot page, the address book."""

from __future__ import annotations

import re

import httpx
import test_web_seller
from test_web_seller import LISTING, Seller, csrf_of, listed, post_listing, sign_up

from support.accounts import log_in

# The site and a signed-in seller, as the seller's pages are tested.
site = test_web_seller.site
seller = test_web_seller.seller

DELIVERY_FORM = {"delivery_form": "1", "buyer_arranges": "", "pickup_town": ""}


async def test_a_seller_lists_shipping_rates_and_pickup_and_buyers_read_them(
    seller: Seller,
) -> None:
    token = await csrf_of(seller.http, "/sell")
    form = {
        **LISTING,
        **DELIVERY_FORM,
        "pickup_town": "Leipzig",
        "rate_0_countries": ["DE", "AT"],
        "rate_0_cost": "6.90",
        "rate_1_countries": "FR",
        "rate_1_cost": "0",
        "rate_2_cost": "",
        "action": "publish",
        "csrf_token": token,
    }
    answer = await seller.http.post("/sell", data=form)
    assert answer.status_code == 303, answer.text
    [lot] = await seller.lots()
    assert lot["id"] in answer.headers["location"]
    detail = await seller.http.get(f"/api/v1/auctions/{lot['id']}")
    assert detail.json()["auction"]["delivery"] == {
        "shipping": [
            {"countries": ["DE", "AT"], "cost_cents": 690},
            {"countries": ["FR"], "cost_cents": 0},
        ],
        "buyer_arranges": False,
        "pickup_town": "Leipzig",
    }
    page = (await seller.http.get(answer.headers["location"])).text
    assert "Shipping to Germany, Austria" in page and "$6.90" in page
    assert "Shipping to France" in page and "Free" in page
    assert "In Leipzig" in page and "Your own courier" not in page
    # The edit form shows the rates chosen, and a blank row for one more.
    edit = (await seller.http.get(f"/auctions/{lot['id']}/edit")).text
    assert re.search(r'<option value="AT" selected>Austria</option>', edit)
    assert 'id="rate_2_countries"' in edit and 'id="rate_3_countries"' not in edit
    assert 'name="rate_0_cost" inputmode="decimal" autocomplete="off" value="6.90"' in edit


async def test_a_listing_without_a_way_to_deliver_is_refused_on_the_form(
    seller: Seller,
) -> None:
    answer = await post_listing(seller.http, "publish", **DELIVERY_FORM)
    assert answer.status_code == 422
    assert 'id="delivery-error"' in answer.text
    cost_alone = await post_listing(
        seller.http, "publish", **{**DELIVERY_FORM, "rate_0_cost": "5", "buyer_arranges": "on"}
    )
    assert cost_alone.status_code == 422
    assert "choose the countries of each cost" in cost_alone.text
    town = await post_listing(seller.http, "publish", **{**DELIVERY_FORM, "pickup_town": "x" * 81})
    assert town.status_code == 422
    assert 'id="pickup_town-error"' in town.text
    assert await seller.lots() == []


async def test_a_form_without_its_delivery_part_leaves_delivery_as_it_is(
    seller: Seller,
) -> None:
    lot_id = await listed(seller.http)
    [lot] = await seller.lots()
    assert lot["id"] == lot_id
    detail = await seller.http.get(f"/api/v1/auctions/{lot_id}")
    assert detail.json()["auction"]["delivery"]["buyer_arranges"] is True


async def test_a_buyer_keeps_addresses_on_the_account_page(site: httpx.AsyncClient) -> None:
    email = await sign_up(site, "Bea")
    assert 'href="/account/addresses"' in (await site.get("/account")).text
    empty = await site.get("/account/addresses")
    assert "Add your first address" in empty.text
    home = {
        "name": "Bea Bidder",
        "line1": "Karl-Liebknecht-Str. 12",
        "line2": "",
        "city": "Leipzig",
        "region": "",
        "postal_code": "04107",
        "country": "DE",
        "phone": "",
    }
    token = await csrf_of(site, "/account/addresses")
    added = await site.post("/account/addresses", data={**home, "csrf_token": token})
    assert added.status_code == 303, added.text
    page = (await site.get("/account/addresses")).text
    assert "The address is saved." in page and "Germany" in page and "Default" in page

    bad = await site.post(
        "/account/addresses", data={**home, "postal_code": "04/107", "csrf_token": token}
    )
    assert bad.status_code == 422
    assert 'id="new-postal_code-error"' in bad.text and 'value="04/107"' in bad.text

    tokens = await log_in(site, email)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    [kept] = (await site.get("/api/v1/users/me/addresses", headers=headers)).json()["items"]
    changed = await site.post(
        f"/account/addresses/{kept['id']}",
        data={**home, "city": "Markkleeberg", "line2": "", "csrf_token": token},
    )
    assert changed.status_code == 303, changed.text
    await site.post("/account/addresses", data={**home, "name": "Bea at work", "csrf_token": token})
    items = (await site.get("/api/v1/users/me/addresses", headers=headers)).json()["items"]
    assert [(a["name"], a["city"], a["is_default"]) for a in items] == [
        ("Bea Bidder", "Markkleeberg", True),
        ("Bea at work", "Leipzig", False),
    ]
    work = items[1]["id"]
    await site.post(f"/account/addresses/{work}/default", data={"csrf_token": token})
    await site.post(f"/account/addresses/{kept['id']}/delete", data={"csrf_token": token})
    items = (await site.get("/api/v1/users/me/addresses", headers=headers)).json()["items"]
    assert [(a["name"], a["is_default"]) for a in items] == [("Bea at work", True)]
    # Without the CSRF token nothing changes.
    refused = await site.post(f"/account/addresses/{work}/delete", data={})
    assert refused.status_code in (400, 403)
    assert len((await site.get("/api/v1/users/me/addresses", headers=headers)).json()["items"]) == 1
