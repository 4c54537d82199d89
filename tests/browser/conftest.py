"""Fixtures for browser tests: Debian's Chromium through Playwright's async API.

Browser tests are ``async def`` tests using ``playwright.async_api``. The sync API
cannot share a process with pytest-asyncio: while a sync Playwright is open it marks
its own event loop as running in the main thread, so every later async test in that
worker fails with "Runner.run() cannot be called from a running event loop". The
async API runs in the test's own loop, beside the site it drives
(``support.http_server.serving``) and the project's async fixtures.

Each test gets its own Playwright and Chromium (about 0.5 s to start). A session-wide
browser would tie every browser test, and every async fixture it uses, to the
session's event loop: a fixture serving the site on its default per-test loop would
sit idle while the test runs, and the page load would time out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import Any, Protocol

import pytest
from playwright.async_api import Browser, BrowserContext, ViewportSize, async_playwright

from support.browser import PHONE, chromium_path


class NewContext(Protocol):
    """The ``new_context`` fixture: a browser context at a viewport, closed after the test."""

    def __call__(
        self,
        viewport: ViewportSize = PHONE,
        *,
        java_script_enabled: bool = True,
        **options: Any,
    ) -> Awaitable[BrowserContext]: ...


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, for this test."""
    executable = chromium_path()
    async with async_playwright() as playwright:
        # chromium_sandbox=False (Playwright's default) passes --no-sandbox, without
        # which Chromium refuses to start as root, as CI runs.
        launched = await playwright.chromium.launch(
            executable_path=executable, chromium_sandbox=False
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def new_context(browser: Browser) -> AsyncIterator[NewContext]:
    """Make browser contexts, all closed after the test: ``await new_context(DESKTOP)``.

    ``java_script_enabled=False`` shows the page as a browser without JavaScript sees
    it; other keyword arguments go to ``Browser.new_context`` (``locale``, ``is_mobile``).
    """
    contexts: list[BrowserContext] = []

    async def make(
        viewport: ViewportSize = PHONE, *, java_script_enabled: bool = True, **options: Any
    ) -> BrowserContext:
        context = await browser.new_context(
            viewport=viewport, java_script_enabled=java_script_enabled, **options
        )
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        await context.close()
