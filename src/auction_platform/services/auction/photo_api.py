"""HTTP routes of photos: upload one to your lot, and read one (public, cached for a year)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict

from auction_platform.core.auth import CurrentUser
from auction_platform.core.objects import ObjectStore
from auction_platform.services.auction import answers, photo_handlers, views
from auction_platform.services.auction.api import LotId, caller
from auction_platform.services.auction.handlers import Auctions
from auction_platform.services.auction.photos import FORMATS

# A photo's URL never names other bytes: browsers and caches may keep it for a year.
IMMUTABLE = "public, max-age=31536000, immutable"


class PhotoFields(BaseModel):
    """An uploaded photo: where its display size and thumbnail are served."""

    model_config = ConfigDict(extra="forbid")

    id: str
    url: str
    thumb_url: str
    width: int
    height: int


class PhotoAnswer(BaseModel):
    """The photo, and the lot with the photo's URL added to its images."""

    model_config = ConfigDict(extra="forbid")

    photo: PhotoFields
    auction: answers.Lot


_UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "description": "The photo's bytes (JPEG, PNG or WebP; the format is read from them).",
    "content": {
        media: {"schema": {"type": "string", "format": "binary"}}
        for media in [*FORMATS.values(), "application/octet-stream"]
    },
}


def build_router(ctx: Auctions, store: ObjectStore) -> APIRouter:
    """The photo routes."""
    router = APIRouter(tags=["auctions"])

    @router.post(
        "/api/v1/auctions/{lot_id}/photos",
        status_code=201,
        openapi_extra={"requestBody": _UPLOAD_BODY},
        responses={
            201: {"model": PhotoAnswer},
            400: {"description": "The body could not be read (`bad_request`)."},
            **answers.NOT_YOURS,
            404: {"description": "No such lot (`not_found`)."},
            409: {"description": "The lot has bids or has ended (`has_bids`, `not_editable`)."},
            413: {"description": "The photo is larger than the limit (`body_too_large`)."},
            422: {
                "description": (
                    "Not a JPEG, PNG or WebP image (`photo_unsupported`), unreadable or "
                    "empty (`photo_unreadable`), too many pixels (`photo_too_many_pixels`), "
                    "or the lot has all the images it may have (`too_many_images`)."
                )
            },
            **answers.BOOK_AWAY,
        },
    )
    async def upload(lot_id: LotId, request: Request, user: CurrentUser) -> dict[str, Any]:
        """Add a photo to your lot, until its first bid; send the image's bytes as the body.

        The photo is re-encoded (WebP) in a display size (at most 1600 px) and a
        thumbnail (400 px); its metadata (camera, GPS position) is not kept. Its
        display URL is added to the lot's `images`; remove it from `images` with a
        `PATCH` of the lot to take the photo off.
        """
        data = await request.body()
        added = await photo_handlers.add_photo(lot_id, data, by=caller(user), ctx=ctx, store=store)
        auction = views.for_viewer(views.document(added.lot), caller(user), now=ctx.clock())
        return {"photo": added.answer(), "auction": auction}

    @router.get(
        "/api/v1/photos/{photo_id}/{size}.webp",
        response_class=Response,
        responses={
            200: {"content": {"image/webp": {"schema": {"type": "string", "format": "binary"}}}},
            404: {"description": "No such photo (`no_such_photo`)."},
        },
    )
    async def read(
        photo_id: Annotated[str, Path(max_length=32)],
        size: Annotated[str, Path(max_length=8, description="`display` or `thumb`.")],
    ) -> Response:
        """A photo in one size (public; cached for a year: a photo never changes)."""
        found = await photo_handlers.photo(photo_id, size, store=store)
        return Response(
            found.body,
            media_type=found.content_type,
            headers={"Cache-Control": IMMUTABLE, "ETag": f'"{photo_id}-{size}"'},
        )

    return router
