"""The site's static files: read once at start-up, served with long-lived caching.

Each file is served from memory with its gzip form when the browser takes it, an
``ETag``, and a version in its URL (``/static/site.css?v=<hash>``), so a browser
fetches it again only when it changed.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from importlib import resources

_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}
_COMPRESSIBLE = (".css", ".js", ".svg", ".txt")


@dataclass(frozen=True, slots=True)
class Asset:
    """One static file as served."""

    body: bytes
    gzipped: bytes | None
    content_type: str
    etag: str


class Assets:
    """Every file under the package's ``static/`` folder, by its path below it."""

    def __init__(self) -> None:
        self.files: dict[str, Asset] = {}
        root = resources.files("auction_platform.services.web") / "static"
        self._walk(root, "")

    def _walk(self, folder: resources.abc.Traversable, prefix: str) -> None:
        for entry in folder.iterdir():
            name = prefix + entry.name
            if entry.is_dir():
                self._walk(entry, name + "/")
                continue
            suffix = "." + entry.name.rsplit(".", 1)[-1].lower()
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
        return f"/static/{name}?v={version}"
