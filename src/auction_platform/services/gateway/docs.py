"""The API's documentation: ``/api/openapi.json`` and Swagger UI at ``/api/docs``.

Swagger UI is vendored (``static/swagger-ui``, see its README) and served by the
gateway with the page's own script (``static/api-docs.js``), so the page makes no
request to another host and holds under a strict Content-Security-Policy: no inline
script, no outside origin. The static files are read and compressed on the first
request for them, not at start-up (the bundle is 1.7 MB).
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Mapping
from importlib import resources

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from auction_platform.core.assets import Assets
from auction_platform.core.errors import error_response
from auction_platform.core.openapi import API_DOCS
from auction_platform.services.gateway.openapi import CombinedDocument, NoDocuments

OPENAPI_URL = "/api/openapi.json"
STATIC_PREFIX = f"{API_DOCS}/static/"
# Swagger UI sets styles through the DOM (which a policy does not govern), never in
# markup, so styles need no 'unsafe-inline'; its icons are data: URLs in its CSS.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
STYLESHEETS = ("swagger-ui/swagger-ui.css", "api-docs.css")
SCRIPTS = ("swagger-ui/swagger-ui-bundle.js", "api-docs.js")


class DocsAssets:
    """The documentation's static files, loaded once, on first use."""

    def __init__(self) -> None:
        self._assets: Assets | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Assets:
        """The files (read and compressed in a thread the first time)."""
        if self._assets is None:
            async with self._lock:
                if self._assets is None:
                    self._assets = await asyncio.to_thread(load_assets)
        return self._assets


def load_assets() -> Assets:
    """Every file under the gateway's ``static/`` folder, served under ``/api/docs/static/``."""
    return Assets(resources.files("auction_platform.services.gateway") / "static", STATIC_PREFIX)


def docs_page(assets: Assets) -> str:
    """The Swagger UI page: the vendored bundle and our script, nothing inline."""
    links = "\n".join(
        f'  <link rel="stylesheet" href="{html.escape(assets.url(name))}">' for name in STYLESHEETS
    )
    scripts = "\n".join(
        f'  <script src="{html.escape(assets.url(name))}"></script>' for name in SCRIPTS
    )
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>API documentation · Auction platform</title>
  <link rel="icon" href="/favicon.ico">
{links}
</head>
<body>
  <header class="docs-bar">
    <a href="/">Auction platform</a>
    <span>API documentation</span>
    <a href="{OPENAPI_URL}">openapi.json</a>
  </header>
  <main id="swagger-ui" data-openapi="{OPENAPI_URL}">
    <noscript>
      <p>This page needs JavaScript. The API's description is
      <a href="{OPENAPI_URL}">{OPENAPI_URL}</a> (OpenAPI 3.1).</p>
    </noscript>
  </main>
{scripts}
</body>
</html>
"""


def build_docs_router(clients: Mapping[str, httpx.AsyncClient]) -> APIRouter:
    """``/api/openapi.json``, ``/api/docs`` and its static files."""
    router = APIRouter(include_in_schema=False)
    combined = CombinedDocument(clients)
    assets = DocsAssets()

    @router.get(OPENAPI_URL)
    async def openapi(request: Request) -> Response:
        try:
            document = await combined.get()
        except NoDocuments:
            return error_response(
                503,
                "service_unavailable",
                "no service answered for its API description; retry shortly",
                headers={"Retry-After": "5"},
            )
        headers = {
            "ETag": document.etag,
            "Cache-Control": "public, max-age=60" if not document.missing else "no-cache",
            "Vary": "Accept-Encoding",
        }
        if request.headers.get("if-none-match") == document.etag:
            return Response(status_code=304, headers=headers)
        body = document.body
        if "gzip" in request.headers.get("accept-encoding", ""):
            body, headers["Content-Encoding"] = document.gzipped, "gzip"
        return Response(body, media_type="application/json", headers=headers)

    @router.get(API_DOCS)
    async def docs() -> HTMLResponse:
        page = docs_page(await assets.get())
        return HTMLResponse(
            page, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"}
        )

    @router.get(STATIC_PREFIX + "{name:path}")
    async def static(request: Request, name: str) -> Response:
        answer = (await assets.get()).response(request, name)
        if answer is None:
            return error_response(404, "not_found", f"no file {name} in the API documentation")
        return answer

    return router
