"""Photos through the gateway, in both modes: a seller uploads, everyone sees, rules hold."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable

import httpx
from PIL import Image

from auction_platform.settings import Settings
from support.accounts import sign_up
from support.auctions import create, open_lot, place_bid, seller
from support.platforms import client, running
from support.s3 import s3_server, s3_settings

ALL = ("identity", "auction", "bidding", "payment", "notification", "analytics", "gateway")
MakeSettings = Callable[..., Settings]


def jpeg(width: int = 2400, height: int = 1600) -> bytes:
    out = io.BytesIO()
    exif = Image.Exif()
    exif.get_ifd(0x8825)[2] = (52.0, 31.0, 12.0)  # a GPS position
    Image.new("RGB", (width, height), (10, 120, 60)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


async def upload(
    http: httpx.AsyncClient, lot_id: str, headers: dict[str, str], body: bytes
) -> httpx.Response:
    return await http.post(
        f"/api/v1/auctions/{lot_id}/photos",
        content=body,
        headers={**headers, "Content-Type": "image/jpeg"},
    )


async def test_a_seller_uploads_a_photo_and_everyone_sees_it_cleaned_and_cached(
    http: httpx.AsyncClient,
) -> None:
    sam = await seller(http)
    lot = await create(http, sam, images=["https://images.example.com/a.jpg"], publish=True)
    answer = await upload(http, lot["id"], sam.headers, jpeg())
    assert answer.status_code == 201, answer.text
    photo = answer.json()["photo"]
    assert (photo["width"], photo["height"]) == (1600, 1067)
    assert answer.json()["auction"]["images"] == ["https://images.example.com/a.jpg", photo["url"]]

    shown = await http.get(photo["url"])  # no token: photos are public
    assert shown.status_code == 200
    assert shown.headers["content-type"] == "image/webp"
    assert shown.headers["cache-control"] == "public, max-age=31536000, immutable"
    image = Image.open(io.BytesIO(shown.content))
    assert image.size == (1600, 1067) and not image.getexif()
    thumb = await http.get(photo["thumb_url"])
    assert max(Image.open(io.BytesIO(thumb.content)).size) == 400
    listed = (await http.get(f"/api/v1/auctions/{lot['id']}")).json()["auction"]
    assert listed["images"][-1] == photo["url"]
    missing = await http.get(f"/api/v1/photos/{uuid.uuid4().hex}/display.webp")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "no_such_photo"


async def test_only_the_seller_adds_photos_and_only_until_the_first_bid(
    http: httpx.AsyncClient,
) -> None:
    sam, ann = await seller(http), await sign_up(http, name="Ann")
    lot = await create(http, sam, publish=True)
    draft = await create(http, sam)  # nobody but its seller knows a draft exists
    unseen = await upload(http, draft["id"], ann.headers, jpeg(40, 30))
    assert unseen.status_code == 404
    refused = await upload(http, lot["id"], ann.headers, jpeg(40, 30))
    assert refused.status_code == 403
    anonymous = await upload(http, lot["id"], {}, jpeg(40, 30))
    assert anonymous.status_code == 401
    live = await open_lot(http, sam)
    await place_bid(http, live["id"], ann, 50_000)
    late = await upload(http, live["id"], sam.headers, jpeg(40, 30))
    assert late.status_code == 409 and late.json()["error"]["code"] == "has_bids"
    nowhere = await upload(http, uuid.uuid4().hex, sam.headers, jpeg(40, 30))
    assert nowhere.status_code == 404


async def test_what_is_not_a_photo_is_refused_and_nothing_is_added(
    http: httpx.AsyncClient,
) -> None:
    sam = await seller(http)
    lot = await create(http, sam, images=[])
    for body, code in [
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "photo_unsupported"),
        (jpeg()[:4_000], "photo_unreadable"),
        (b"", "photo_unreadable"),
    ]:
        answer = await upload(http, lot["id"], sam.headers, body)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == code
    after = (await http.get("/api/v1/auctions/mine", headers=sam.headers)).json()
    assert after["items"][0]["images"] == []


async def test_a_lot_takes_at_most_twelve_images(http: httpx.AsyncClient) -> None:
    sam = await seller(http)
    urls = [f"https://images.example.com/{n}.jpg" for n in range(11)]
    lot = await create(http, sam, images=urls)
    assert (await upload(http, lot["id"], sam.headers, jpeg(40, 30))).status_code == 201
    full = await upload(http, lot["id"], sam.headers, jpeg(40, 30))
    assert full.status_code == 422 and full.json()["error"]["code"] == "too_many_images"


async def test_a_photo_over_the_limit_is_refused_before_it_is_read(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings(photo_max_bytes=20_000)
    async with (
        running(settings, ALL, embedded=True) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        sam = await seller(http)
        lot = await create(http, sam)
        answer = await upload(http, lot["id"], sam.headers, b"\xff" * 2_000_000)
        assert answer.status_code == 413
        assert answer.json()["error"]["code"] == "body_too_large"
        small_but_over = await upload(
            http, lot["id"], sam.headers, jpeg(1200, 900) + b"\0" * 30_000
        )
        assert small_but_over.status_code == 422
        assert small_but_over.json()["error"]["code"] == "photo_too_large"


async def test_photos_kept_in_an_s3_bucket(make_settings: MakeSettings) -> None:
    with s3_server() as endpoint:
        settings = make_settings(**s3_settings(endpoint, f"photos-{uuid.uuid4().hex[:8]}"))
        async with (
            running(settings, ALL, embedded=True) as platform,
            client(platform.apps["gateway"]) as http,
        ):
            sam = await seller(http)
            lot = await create(http, sam)
            answer = await upload(http, lot["id"], sam.headers, jpeg(800, 600))
            assert answer.status_code == 201, answer.text
            photo = answer.json()["photo"]
            shown = await http.get(photo["url"])
            assert shown.status_code == 200
            assert Image.open(io.BytesIO(shown.content)).size == (800, 600)
            # In the bucket, not on the disk.
            store = platform.runtimes["auction"].context.photos
            assert store.name == "s3"
            assert await store.get(f"photos/{photo['id']}/thumb.webp") is not None
