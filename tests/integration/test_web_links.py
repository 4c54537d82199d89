"""Every address the platform's notices link to is a page of the site."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from auction_platform.settings import SERVICES
from support.platforms import client, embedded_settings, running

_LINK = re.compile(r"link\(([^)]*)\)")


def _notice_links() -> set[str]:
    """The site paths the notification templates build, with ids filled in."""
    root = resources.files("auction_platform.services.notification") / "templates"
    paths = set()
    for channel in ("email", "sms"):
        for template in (root / channel).iterdir():
            for arguments in _LINK.findall(template.read_text()):
                parts = [part.strip() for part in arguments.split(",") if part.strip()]
                path = "/".join(
                    part.strip("'\"") if part[0] in "'\"" else "some-id-123" for part in parts
                )
                paths.add("/" + path)
    return paths


def test_the_notices_link_to_lots_relisting_orders_offers_and_the_account() -> None:
    assert _notice_links() >= {
        "/auctions",
        "/auctions/some-id-123",
        "/auctions/some-id-123/relist",
        "/orders/some-id-123",
        "/offers/some-id-123",
        "/account",
        "/account/notifications",
        "/sell",
        "/admin",
    }


async def test_every_notice_link_is_answered_by_a_page_of_the_site(tmp_path: Path) -> None:
    async with (
        running(embedded_settings(tmp_path), list(SERVICES), embedded=True) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        for path in sorted(_notice_links()):
            response = await http.get(path)
            # A page, a page's own refusal (no such lot) or the way to sign in: never
            # the site's answer to an address it has no page for.
            assert "There is no page at this address" not in response.text, path
            assert response.status_code in (200, 303, 404), (path, response.status_code)
            if response.status_code == 303:
                assert response.headers["location"].startswith("/signin?next="), path
