"""A seller's photo upload on the site: the edit page's form, sent on to the API.

The form posts the file as ``multipart/form-data`` (no script needed); the site reads
it within the photo limit, checks the form's CSRF token, and hands the bytes to
``POST /api/v1/auctions/{id}/photos``, which checks, cleans and stores them. Either
way the seller is sent back to the edit page with what happened.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from python_multipart.exceptions import MultipartParseError
from starlette.exceptions import HTTPException

from auction_platform.services.web.client import ApiProblem
from auction_platform.services.web.listing_page import worded
from auction_platform.services.web.site import PageRoute, Web, visit_of


def build_router(web: Web) -> APIRouter:
    """The photo upload route."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.post("/auctions/{lot_id}/photos")
    async def upload(request: Request, lot_id: str) -> Response:
        visit = await visit_of(request, web)
        visit.role("seller")
        back = f"/auctions/{lot_id}/edit#photos"
        limit = web.photo_max_bytes
        try:
            data, kind = await visit.upload("photo", max_bytes=limit)
        except (HTTPException, MultipartParseError):
            message = f"That file is too large or not a photo: at most {limit // 2**20} MB."
            return await visit.answer(back, message, "error")
        if not data:
            return await visit.answer(back, "Choose a photo to upload first.", "error")
        try:
            await visit.api(
                "POST",
                f"/api/v1/auctions/{lot_id}/photos",
                content=data,
                headers={"Content-Type": kind or "application/octet-stream"},
            )
        except ApiProblem as problem:
            if problem.status >= 500 or problem.status in (401, 404):
                raise
            return await visit.answer(back, f"Not added. {worded(problem).message}", "error")
        return await visit.answer(
            back, "Photo added: it shows last among the lot's images.", "success"
        )

    return router
