"""The browser harness itself: Chromium starts, pages load under the site's CSP, axe reports."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

import pytest
from playwright.async_api import Page

from support.browser import (
    DESKTOP,
    PHONE,
    screenshots_at_both_widths,
    serious_accessibility_violations,
)
from support.http_server import serving

pytestmark = pytest.mark.browser

# The header the site sends: no inline script, so axe must arrive another way.
CSP = b"default-src 'self'"

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Harness</title></head>
<body><main><h1>Place a bid</h1>
<form action="/" method="get">{field}<button type="submit">Bid</button></form>
</main></body>
</html>
"""
LABELLED = PAGE.format(field='<label for="amount">Amount</label> <input id="amount" name="amount">')
UNLABELLED = PAGE.format(field='<input type="text" name="amount">')

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Scope]]
Send = Callable[[Scope], Awaitable[None]]


async def pages(scope: Scope, receive: Receive, send: Send) -> None:
    """Serve ``/unlabelled`` and, at any other path, the labelled form, with the site's CSP."""
    assert scope["type"] == "http"
    body = UNLABELLED if scope["path"] == "/unlabelled" else LABELLED
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-security-policy", CSP),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body.encode()})


@pytest.fixture
async def site() -> AsyncIterator[str]:
    async with serving(pages) as url:
        yield url


async def test_a_labelled_form_passes_axe_under_the_sites_csp(new_context, site):
    page = await (await new_context(PHONE)).new_page()
    response = await page.goto(site)
    assert response is not None
    assert response.headers["content-security-policy"] == CSP.decode()

    assert await serious_accessibility_violations(page) == []


async def test_an_unlabelled_input_is_a_critical_violation(new_context, site):
    page = await (await new_context(DESKTOP)).new_page()
    await page.goto(f"{site}/unlabelled")

    violations = await serious_accessibility_violations(page)

    assert [(v["id"], v["impact"]) for v in violations] == [("label", "critical")]
    assert violations[0]["targets"] == ["input"]


async def test_screenshots_at_phone_and_desktop_widths(new_context, site):
    page = await (await new_context(DESKTOP)).new_page()
    await page.goto(site)

    paths = await screenshots_at_both_widths(page, "harness")

    assert [path.name for path in paths] == ["harness-390.png", "harness-1440.png"]
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in paths)
    assert page.viewport_size == DESKTOP


async def test_the_keyboard_reaches_the_button(new_context, site):
    page = await (await new_context(PHONE)).new_page()
    await page.goto(site)

    await page.keyboard.press("Tab")
    assert await focused(page) == "INPUT amount"
    await page.keyboard.press("Tab")
    assert await focused(page) == "BUTTON Bid"


async def test_a_context_without_javascript_still_renders_the_form(new_context, site):
    page = await (await new_context(PHONE, java_script_enabled=False)).new_page()
    await page.goto(site)

    assert await page.get_by_label("Amount").is_visible()
    assert await page.get_by_role("button", name="Bid").is_visible()


async def focused(page: Page) -> str:
    """The focused element, as its tag and its name or text."""
    description: str = await page.evaluate(
        "() => { const e = document.activeElement;"
        " return `${e.tagName} ${e.getAttribute('name') || e.textContent.trim()}`; }"
    )
    return description
