"""What browser tests share: Debian's Chromium, screenshots at two widths, axe-core.

The fixtures (``browser``, ``new_context``) are in ``tests/browser/conftest.py``; these
are the plain helpers, all on Playwright's async API (the conftest says why).
"""

from __future__ import annotations

import asyncio
import functools
import shutil
from pathlib import Path
from typing import Any

from playwright.async_api import Page, ViewportSize

from support.servers import missing

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
AXE_SCRIPT = Path(__file__).resolve().parent / "vendor" / "axe.min.js"

# Runs in the page: axe's violations of impact serious or critical, trimmed to what
# an assertion message needs (the first three offending elements of each).
_SERIOUS_VIOLATIONS = """
async () => {
  const results = await axe.run(document, { resultTypes: ["violations"] });
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.slice(0, 3).map((node) => node.target.join(" ")),
    }));
}
"""


def chromium_path() -> str:
    """Debian's Chromium; skipped locally, a failure under ``CI=true``, when not installed."""
    found = shutil.which("chromium")
    if found is None:
        missing("chromium is not installed (Debian: apt-get install chromium)")
    assert found is not None
    return found


async def screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG as ``tests/screenshots/<name>-<width>.png``; returns its path."""
    viewport = page.viewport_size
    assert viewport is not None, "screenshots need a context with a viewport (new_context)"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{viewport['width']}.png"
    await page.screenshot(path=path, full_page=True)
    return path


# A page with script answers in milliseconds; one without never does.
LAYOUT_WAIT_SECONDS = 3


async def settled_layout(page: Page) -> None:
    """Wait two animation frames: a page just resized is laid out again before it is shot.

    Shot at once, a page resized from phone to desktop width can show the old layout's
    heights under the new one's widths (a footer over the content, a grid wider than
    the window): a picture of no page anyone sees.
    """
    frames = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
    try:
        await asyncio.wait_for(page.evaluate(frames), LAYOUT_WAIT_SECONDS)
    except TimeoutError:
        # A context with JavaScript off never answers an evaluate(): give the renderer
        # a moment by the clock instead.
        await page.wait_for_timeout(250)


async def screenshots_at_both_widths(page: Page, name: str) -> list[Path]:
    """Shoot the page at phone width (390) then desktop width (1440), then restore its size."""
    before = page.viewport_size
    paths = []
    for viewport in (PHONE, DESKTOP):
        await page.set_viewport_size(viewport)
        await settled_layout(page)
        paths.append(await screenshot(page, name))
    if before is not None:
        await page.set_viewport_size(before)
    return paths


@functools.cache
def _axe_source() -> str:
    return AXE_SCRIPT.read_text(encoding="utf-8")


async def serious_accessibility_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe-core on the page; its serious and critical violations (id, impact, help, targets).

    Use as ``assert not violations, violations``.
    """
    try:
        # A context with JavaScript off never answers an evaluate(): fail, not hang.
        loaded = await asyncio.wait_for(page.evaluate("typeof window.axe === 'object'"), 60)
    except TimeoutError:
        raise AssertionError(
            "axe-core runs in the page: check it in a context with JavaScript on"
        ) from None
    if not loaded:
        # Not add_script_tag: it adds an inline <script>, which the site's
        # Content-Security-Policy (default-src 'self') blocks. evaluate() goes
        # through the DevTools protocol, which the page's CSP does not govern,
        # so the page is checked under its real policy (no bypass_csp).
        await page.evaluate(_axe_source())
    violations: list[dict[str, Any]] = await page.evaluate(_SERIOUS_VIOLATIONS)
    return violations
