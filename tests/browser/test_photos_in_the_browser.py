"""A seller uploads a photo from their device in a browser; buyers see it on the lot."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import BrowserContext, expect

from support.browser import DESKTOP, screenshots_at_both_widths, serious_accessibility_violations
from support.web_site import bidder, embedded_site, sign_in

pytestmark = pytest.mark.browser
NewContext = Callable[..., Awaitable[BrowserContext]]


def camera_photo(path: Path) -> Path:
    """A JPEG as a phone makes one: large, with a GPS position in its EXIF."""
    exif = Image.Exif()
    exif.get_ifd(0x8825)[2] = (52.0, 31.0, 12.0)
    image = Image.new("RGB", (2400, 1800), (180, 120, 60))
    for x in range(0, 2400, 200):  # stripes, so the picture is visibly a picture
        image.paste((40, 60, 90), (x, 0, x + 100, 1800))
    image.save(path, "JPEG", exif=exif.tobytes(), quality=85)
    return path


async def test_a_seller_uploads_a_photo_and_a_buyer_sees_it(
    tmp_path: Path, new_context: NewContext
) -> None:
    async with embedded_site(tmp_path) as site:
        page = await sign_in(await new_context(DESKTOP), site, await bidder(site, "Sid"))
        await page.goto(f"{site.url}/sell")
        await page.get_by_role("button", name="Become a seller").click()
        await page.get_by_label("Title").fill("Brass ship's barometer")
        await page.get_by_label("Category").select_option("home")
        await page.get_by_label("Start price").fill("80")
        await page.get_by_role("button", name="Save as draft").click()
        await expect(page.get_by_role("heading", name="Brass ship's barometer")).to_be_visible()
        lot_id = page.url.rsplit("/", 1)[-1]

        await page.goto(f"{site.url}/auctions/{lot_id}/edit")
        await page.get_by_label("Photo from your device").set_input_files(
            camera_photo(tmp_path / "IMG_2041.jpg")
        )
        await page.get_by_role("button", name="Upload photo").click()
        await expect(page.get_by_role("status")).to_contain_text("Photo added")
        images = await page.get_by_label("Image URLs").input_value()
        assert images.startswith("/api/v1/photos/") and images.endswith("/display.webp")
        assert not await serious_accessibility_violations(page)
        await screenshots_at_both_widths(page, "sell-photo-added")

        # Something that is not a photo is refused, with the reason, and nothing added.
        (tmp_path / "notes.jpg").write_text("not a picture at all")
        await page.get_by_label("Photo from your device").set_input_files(tmp_path / "notes.jpg")
        await page.get_by_role("button", name="Upload photo").click()
        await expect(page.get_by_role("status")).to_contain_text("JPEG, PNG or WebP")
        assert await page.get_by_label("Image URLs").input_value() == images

        await page.get_by_role("button", name="Save and publish").click()
        buyer = await new_context(DESKTOP)
        lot_page = await buyer.new_page()
        await lot_page.goto(f"{site.url}/auctions/{lot_id}")
        picture = lot_page.locator(f'img[src="{images}"]').first
        await expect(picture).to_be_visible()
        width = await picture.evaluate("(img) => img.naturalWidth")
        assert width == 1600
        served = await lot_page.request.get(f"{site.url}{images}")
        assert served.headers["content-type"] == "image/webp"
        assert b"Exif" not in await served.body()
        assert Image.open(io.BytesIO(await served.body())).size == (1600, 1200)
        await screenshots_at_both_widths(lot_page, "lot-with-a-photo")
