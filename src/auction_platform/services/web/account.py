"""Pages of the site (being built)."""

from __future__ import annotations

from fastapi import APIRouter

from auction_platform.services.web.site import PageRoute, Web


def build_router(web: Web) -> APIRouter:
    """The pages of this part of the site."""
    return APIRouter(route_class=PageRoute, include_in_schema=False)
