"""A seller's photo made fit to show: sniffed, bounded, turned upright, stripped, re-encoded."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from auction_platform.core.failures import Invalid
from auction_platform.services.auction.photos import DISPLAY_EDGE, THUMB_EDGE, prepare

LIMIT = 10 * 1024 * 1024
GPS_IFD = 0x8825
ORIENTATION = 0x0112


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def camera_jpeg(width: int = 3000, height: int = 2000, orientation: int = 1) -> bytes:
    """A JPEG as a phone makes it: with a position and an orientation in its EXIF."""
    image = Image.new("RGB", (width, height), (200, 40, 40))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"  # Make
    exif.get_ifd(GPS_IFD)[2] = (52.0, 31.0, 12.0)  # GPSLatitude
    return encoded(image, "JPEG", exif=exif.tobytes(), quality=90)


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_a_phone_photo_is_re_encoded_in_two_sizes_without_its_metadata() -> None:
    prepared = prepare(camera_jpeg(), max_bytes=LIMIT)
    display, thumb = opened(prepared.display), opened(prepared.thumb)
    assert display.format == thumb.format == "WEBP"
    assert (display.width, display.height) == (DISPLAY_EDGE, 1067)
    assert (prepared.width, prepared.height) == display.size
    assert max(thumb.size) == THUMB_EDGE
    for image in (display, thumb):
        assert not image.getexif()  # no position, no camera
        assert "exif" not in image.info and "xmp" not in image.info
        assert "icc_profile" not in image.info
    assert b"PhoneMaker" not in prepared.display


def test_the_cameras_orientation_is_applied() -> None:
    prepared = prepare(camera_jpeg(orientation=6), max_bytes=LIMIT)  # rotated 90 degrees
    assert opened(prepared.display).size == (1067, DISPLAY_EDGE)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_are_taken_and_a_small_one_is_not_enlarged(fmt: str) -> None:
    image = Image.new("RGBA", (300, 200), (0, 0, 255, 128))
    prepared = prepare(encoded(image, fmt), max_bytes=LIMIT)
    assert prepared.source_format == fmt
    assert opened(prepared.display).size == (300, 200)
    assert opened(prepared.display).mode == "RGBA"  # transparency kept


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "photo_unsupported"),
        (b"GIF89a" + b"\0" * 64, "photo_unsupported"),
        (b"%PDF-1.7 not an image", "photo_unsupported"),
        (b"", "photo_unreadable"),
    ],
)
def test_what_is_not_a_jpeg_png_or_webp_by_its_content_is_refused(data: bytes, code: str) -> None:
    with pytest.raises(Invalid) as refused:
        prepare(data, max_bytes=LIMIT)
    assert refused.value.code == code


def test_a_gif_named_like_a_jpeg_is_still_a_gif() -> None:
    gif = encoded(Image.new("P", (10, 10)), "GIF")
    with pytest.raises(Invalid) as refused:
        prepare(gif, max_bytes=LIMIT)
    assert refused.value.code == "photo_unsupported"


def test_a_truncated_jpeg_is_unreadable() -> None:
    with pytest.raises(Invalid) as refused:
        prepare(camera_jpeg()[:5_000], max_bytes=LIMIT)
    assert refused.value.code == "photo_unreadable"


@pytest.mark.parametrize("size", [(8_000, 6_000), (12_000, 12_000)])  # 48 and 144 MP
def test_a_small_file_claiming_a_huge_image_is_refused_before_it_is_decoded(
    size: tuple[int, int],
) -> None:
    bomb = encoded(Image.new("1", size), "PNG")  # a few kB
    assert len(bomb) < 100_000
    with pytest.raises(Invalid) as refused:
        prepare(bomb, max_bytes=LIMIT)
    assert refused.value.code == "photo_too_many_pixels"


def test_a_photo_over_the_size_limit_is_refused() -> None:
    with pytest.raises(Invalid) as refused:
        prepare(camera_jpeg(), max_bytes=1024)
    assert refused.value.code == "photo_too_large"
