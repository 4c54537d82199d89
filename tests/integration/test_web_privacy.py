"""A member's data on the site: the download's headers, and the deletion form's guards.

The browser test (tests/browser/test_privacy_in_the_browser.py) walks the whole path;
these check what a browser does not show: the file's headers, the sign-in asked of a
stranger, a form without its CSRF token, and an empty password.
"""

from __future__ import annotations

import json

import httpx
import test_web_seller
from test_web_seller import csrf_of, sign_up

site = test_web_seller.site


async def test_my_data_downloads_as_a_json_file_to_its_owner_only(
    site: httpx.AsyncClient,
) -> None:
    stranger = await site.get("/account/data")
    assert stranger.status_code == 303
    assert stranger.headers["location"] == "/signin?next=/account/data"

    email = await sign_up(site, "Dora")
    assert 'href="/account/data"' in (await site.get("/account")).text
    answer = await site.get("/account/data")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["content-disposition"] == 'attachment; filename="my-data.json"'
    assert answer.headers["cache-control"] == "no-store"
    mine = json.loads(answer.content)
    assert mine["account"]["email"] == email
    assert {"auction", "bidding", "payment"} <= mine.keys()


async def test_the_deletion_form_needs_its_token_and_the_password(
    site: httpx.AsyncClient,
) -> None:
    await sign_up(site, "Eli")
    page = await site.get("/account/delete")
    assert page.status_code == 200
    assert "What is kept" in page.text and "Deleted user" in page.text

    forged = await site.post("/account/delete", data={"password": "anything-at-all"})
    assert forged.status_code == 403
    token = await csrf_of(site, "/account/delete")
    empty = await site.post("/account/delete", data={"password": "", "csrf_token": token})
    assert empty.status_code == 422
    assert "Enter your password" in empty.text
    assert (await site.get("/account")).status_code == 200  # still signed in, still there
