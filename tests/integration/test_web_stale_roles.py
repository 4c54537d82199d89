"""A member whose roles an admin changes keeps their session: the site renews it."""

from __future__ import annotations

import re
from pathlib import Path

from auction_platform.settings import SERVICES
from support.accounts import PASSWORD
from support.auctions import admin_token, seller
from support.platforms import client, embedded_settings, running

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def test_a_seller_demoted_by_an_admin_is_shown_the_bidders_page_not_signed_out(
    tmp_path: Path,
) -> None:
    async with (
        running(embedded_settings(tmp_path), list(SERVICES), embedded=True) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        sam = await seller(http, "Sam")
        form = CSRF.search((await http.get("/signin")).text)
        assert form is not None
        signed_in = await http.post(
            "/signin",
            data={"email": sam.email, "password": PASSWORD, "next": "/", "csrf_token": form[1]},
        )
        assert signed_in.status_code == 303
        assert 'name="title"' in (await http.get("/sell")).text  # the listing form

        root = await admin_token(http, platform)
        demoted = await http.put(
            f"/api/v1/users/{sam.id}/roles", json={"roles": ["bidder"]}, headers=root
        )
        assert demoted.status_code == 200, demoted.text

        # The session's token is stale: the site renews it and reads the roles again.
        page = await http.get("/account")
        assert page.status_code == 200
        assert "Become a seller" in page.text
        selling = await http.get("/sell")
        assert selling.status_code == 200
        assert "Become a seller" in selling.text
