"""Photos a seller uploads to a lot: prepared, stored, added to the lot's images.

A photo is processed (``photos.prepare``, in a worker thread) and both its sizes are
stored before the lot changes; the lot then gains the photo's display URL as the
edit of its images that any other change would be, with the same rules (the lot's
seller, until its first bid, at most ``AUCTION_MAX_IMAGES`` images). If the lot
refuses, the stored photo is deleted again. Stored photos are immutable: a photo is
replaced by uploading another and removing the old URL from the lot's images.

A photo's keys are ``photos/<id>/display.webp`` and ``photos/<id>/thumb.webp``, served
by ``GET /api/v1/photos/<id>/<size>.webp`` with a year of caching (a photo's URL never
names other bytes).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from dataclasses import dataclass
from typing import Any

from auction_platform.core.failures import NotFound
from auction_platform.core.objects import ObjectStore, StoredObject
from auction_platform.services.auction import handlers
from auction_platform.services.auction.commands import EditLot
from auction_platform.services.auction.domain import Caller, Lot
from auction_platform.services.auction.handlers import Auctions
from auction_platform.services.auction.photos import CONTENT_TYPE, Prepared, prepare

SIZES = ("display", "thumb")
PHOTO_PATH = re.compile(r"/api/v1/photos/([0-9a-f]{32})/display\.webp")


def photo_url(photo_id: str, size: str = "display") -> str:
    """Where a photo of one size is served."""
    return f"/api/v1/photos/{photo_id}/{size}.webp"


def _key(photo_id: str, size: str) -> str:
    return f"photos/{photo_id}/{size}.webp"


@dataclass(frozen=True, slots=True)
class AddedPhoto:
    """A photo added to a lot, and the lot as it now is."""

    photo_id: str
    prepared: Prepared
    lot: Lot

    def answer(self) -> dict[str, Any]:
        return {
            "id": self.photo_id,
            "url": photo_url(self.photo_id),
            "thumb_url": photo_url(self.photo_id, "thumb"),
            "width": self.prepared.width,
            "height": self.prepared.height,
        }


async def add_photo(
    lot_id: str, data: bytes, *, by: Caller, ctx: Auctions, store: ObjectStore
) -> AddedPhoto:
    """Prepare and store a photo, then add it to the lot's images (or delete it again)."""
    max_bytes = ctx.settings.photo_max_bytes
    # A lot that cannot take a photo is refused before any work is done on one.
    await handlers.editable_by(lot_id, by, ctx=ctx)
    prepared = await asyncio.to_thread(prepare, data, max_bytes=max_bytes)
    photo_id = uuid.uuid4().hex
    stored: list[str] = []
    try:
        for size, body in (("display", prepared.display), ("thumb", prepared.thumb)):
            await store.put(_key(photo_id, size), body, content_type=CONTENT_TYPE)
            stored.append(size)
        url = photo_url(photo_id)

        def with_photo(lot: Lot) -> dict[str, Any]:
            return {"images": (*lot.terms.images, url)}

        lot = await handlers.edit_lot(EditLot(lot_id, changes=with_photo, by=by), ctx=ctx)
    except BaseException:
        for size in stored:
            with contextlib.suppress(Exception):
                await asyncio.shield(store.delete(_key(photo_id, size)))
        raise
    return AddedPhoto(photo_id, prepared, lot)


async def photo(photo_id: str, size: str, *, store: ObjectStore) -> StoredObject:
    """One stored size of a photo (404 when there is none)."""
    if size not in SIZES or not re.fullmatch(r"[0-9a-f]{32}", photo_id):
        raise NotFound("no_such_photo", "there is no such photo")
    found = await store.get(_key(photo_id, size))
    if found is None:
        raise NotFound("no_such_photo", "there is no such photo")
    return found
