"""The API documentation in Chromium: Swagger UI renders, offline, and Authorize works."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import ConsoleMessage, Locator, Page, Request, expect

from support.browser import DESKTOP, screenshots_at_both_widths
from support.web_site import Site, bidder, embedded_site

pytestmark = pytest.mark.browser


def operation(page: Page, method: str, path: str) -> Locator:
    """Swagger UI's block of one operation."""
    return page.locator(f".opblock-{method}").filter(
        has=page.locator(f'.opblock-summary-path[data-path="{path}"]')
    )


async def open_docs(page: Page, site: Site, foreign: list[str], refused: list[str]) -> None:
    """Open /api/docs, noting requests to another origin and what the CSP refused."""
    origin = urlsplit(site.url).netloc

    def on_request(request: Request) -> None:
        url = urlsplit(request.url)
        if url.scheme not in ("data", "blob") and url.netloc != origin:
            foreign.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        # Swagger UI's own notice about the "_" in a deep link (the reload's URL
        # names the opened operation, whose FastAPI operationId has underscores).
        if message.text.startswith("Deprecated: escaping deep link whitespace"):
            return
        if "Content Security Policy" in message.text or message.type == "error":
            refused.append(message.text)

    page.on("request", on_request)
    page.on("console", on_console)
    page.on("pageerror", lambda error: refused.append(str(error)))
    # Every violation of the page's Content-Security-Policy, whether or not it is logged.
    await page.add_init_script(
        "window.violations = [];"
        "document.addEventListener('securitypolicyviolation', (event) =>"
        " window.violations.push(`${event.effectiveDirective} ${event.blockedURI}`));"
    )
    await page.goto(f"{site.url}/api/docs")


async def test_the_docs_render_offline_and_try_it_out_works_with_a_real_token(
    tmp_path: Path, new_context
) -> None:
    async with embedded_site(tmp_path) as site:
        ada = await bidder(site, "Ada")
        page = await (await new_context(DESKTOP)).new_page()
        foreign: list[str] = []
        refused: list[str] = []
        await open_docs(page, site, foreign, refused)

        await expect(page.get_by_role("heading", name="Auction platform API")).to_be_visible()
        me = operation(page, "get", "/api/v1/users/me")
        await expect(me).to_be_visible()
        for method, path in (
            ("post", "/api/v1/auth/login"),
            ("get", "/api/v1/auctions"),
            ("post", "/api/v1/auctions/{auction_id}/bids"),
            ("get", "/api/v1/orders"),
            ("get", "/api/v1/search/auctions"),
            ("get", "/ws/auctions/{auction_id}"),
        ):
            await expect(operation(page, method, path)).to_have_count(1)

        # Authorize with the account's token.
        await page.locator(".auth-wrapper").get_by_role("button", name="Authorize").click()
        dialog = page.locator(".modal-ux")
        await dialog.locator("input").fill(ada.access_token)
        await dialog.get_by_role("button", name="Apply credentials").click()
        await expect(dialog.locator(".auth-btn-wrapper")).to_contain_text("Logout")
        await dialog.get_by_role("button", name="Close").click()

        # Try it out: GET /api/v1/users/me answers 200 with the account.
        await me.locator(".opblock-summary-control").click()
        await me.get_by_role("button", name="Try it out").click()
        await me.get_by_role("button", name="Execute").click()
        status = me.locator(".live-responses-table .response .response-col_status")
        await expect(status).to_have_text("200")
        await expect(me.locator(".curl")).to_contain_text(
            f"Authorization: Bearer {ada.access_token}"
        )
        await expect(me.locator(".live-responses-table .microlight").first).to_contain_text(
            ada.email
        )

        # The live feed's description and message schema, and the error schema, render.
        feed = operation(page, "get", "/ws/auctions/{auction_id}")
        await feed.locator(".opblock-summary-control").click()
        await expect(feed).to_contain_text("4404")
        await expect(feed).to_contain_text("PublicBook")
        await page.locator(".models-control").click()
        titles = page.locator("section.models .json-schema-2020-12__title")
        for model in (
            titles.get_by_text("Error", exact=True),
            titles.filter(has_text="PublicBook"),
        ):
            await expect(await scrolled_to(page, model)).to_be_visible()
        refused.extend(await page.evaluate("window.violations"))

        await screenshots_at_both_widths(page, "api-docs")

        # The token survives a reload (persistAuthorization).
        await page.reload()
        await expect(page.locator(".auth-wrapper .authorize.locked")).to_be_visible()
        refused.extend(await page.evaluate("window.violations"))

    assert foreign == [], f"the docs asked another host: {foreign}"
    assert refused == [], f"errors or CSP refusals on the page: {refused}"


async def scrolled_to(page: Page, model: Locator) -> Locator:
    """The model, once scrolled to: Swagger UI renders only the models near the viewport."""
    await page.locator("section.models").scroll_into_view_if_needed()
    for _ in range(300):
        if await model.count():
            break
        await page.mouse.wheel(0, 500)
        await page.wait_for_timeout(50)
    return model
