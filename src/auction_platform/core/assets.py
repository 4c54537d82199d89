"""Static files read once at start-up and served from memory with long-lived caching.

Each file is served with its gzip form when the browser takes it, an ``ETag``, and a
version in its URL (``<prefix><name>?v=<hash>``): a versioned URL is cached for a year
(``immutable``), so a browser fetches the file again only when it changed. Used by the
web site (``/static/``) and the gateway's API documentation (``/api/docs/static/``).
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from importlib.resources.abc import Traversable

from starlette.requests import Request
from starlette.responses import Response

_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".woff2": "font/woff2",
    # A file without an extension (LICENSE, NOTICE) is text.
    "": "text/plain; charset=utf-8",
}
_COMPRESSIBLE = (".css", ".js", ".svg", ".txt", ".md", "")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATED = "public, max-age=3600"


@dataclass(frozen=True, slots=True)
class Asset:
    """One static file as served."""

    body: bytes
    gzipped: bytes | None
    content_type: str
    etag: str


def _suffix(name: str) -> str:
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""


class Assets:
    """Every file under ``root``, by its path below it, served under the URL ``prefix``."""

    def __init__(self, root: Traversable, prefix: str) -> None:
        self.files: dict[str, Asset] = {}
        self.prefix = prefix
        self._walk(root, "")

    def _walk(self, folder: Traversable, prefix: str) -> None:
        for entry in folder.iterdir():
            name = prefix + entry.name
            if entry.is_dir():
                self._walk(entry, name + "/")
                continue
            suffix = _suffix(entry.name)
            body = entry.read_bytes()
            kind = _TYPES.get(suffix) or mimetypes.guess_type(entry.name)[0]
            if kind is None:
                continue
            digest = hashlib.sha256(body).hexdigest()[:16]
            packed = gzip.compress(body, 9, mtime=0) if suffix in _COMPRESSIBLE else None
            self.files[name] = Asset(body, packed, kind, f'"{digest}"')

    def url(self, name: str) -> str:
        """The versioned URL of a static file."""
        asset = self.files.get(name)
        version = asset.etag.strip('"')[:10] if asset else "0"
        return f"{self.prefix}{name}?v={version}"

    def response(self, request: Request, name: str) -> Response | None:
        """The answer for the file ``name`` (304 when the browser has it); None if unknown.

        A versioned request (``?v=``) is cached for a year; an unversioned one for an
        hour, then revalidated by its ``ETag``.
        """
        asset = self.files.get(name)
        if asset is None:
            return None
        headers = {
            "ETag": asset.etag,
            "Cache-Control": IMMUTABLE if "v" in request.query_params else REVALIDATED,
            "Vary": "Accept-Encoding",
        }
        if request.headers.get("if-none-match") == asset.etag:
            return Response(status_code=304, headers=headers)
        body = asset.body
        if asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
            body, headers["Content-Encoding"] = asset.gzipped, "gzip"
        return Response(body, media_type=asset.content_type, headers=headers)
