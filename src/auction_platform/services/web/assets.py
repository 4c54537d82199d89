"""The site's static files: read once at start-up, served with long-lived caching.

Each file is served from memory with its gzip form when the browser takes it, an
``ETag``, and a version in its URL (``/static/site.css?v=<hash>``), so a browser
fetches it again only when it changed (``core.assets`` does the work).
"""

from __future__ import annotations

from importlib import resources

from auction_platform.core import assets
from auction_platform.core.assets import Asset

__all__ = ["Asset", "Assets"]


class Assets(assets.Assets):
    """Every file under the package's ``static/`` folder, served under ``/static/``."""

    def __init__(self) -> None:
        super().__init__(resources.files("auction_platform.services.web") / "static", "/static/")
