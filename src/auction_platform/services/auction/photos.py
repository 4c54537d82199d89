"""A seller's photo made fit to show: checked by its content, cleaned, re-encoded twice.

What is uploaded is never served as it came. Its format is read from its bytes
(JPEG, PNG or WebP; the file's name and declared type are ignored), its pixel count
bounded before it is decoded (a small file can claim a huge image), the camera's
orientation applied, and it is encoded anew as WebP in two sizes: a display size and
a thumbnail. Encoding anew drops every piece of metadata (EXIF with GPS position and
camera serial, XMP, comments, ICC profiles are not carried over), and any payload
hidden in the original file.

Pure and synchronous (Pillow); the route runs it in a worker thread.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from auction_platform.core.failures import Invalid

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_PIXELS = 40_000_000  # about 7,700 x 5,200: more than any phone camera makes
DISPLAY_EDGE = 1600
THUMB_EDGE = 400
CONTENT_TYPE = "image/webp"
_QUALITY = 82


@dataclass(frozen=True, slots=True)
class Prepared:
    """A photo ready to store: its two encodings and the display size's dimensions."""

    display: bytes
    thumb: bytes
    width: int
    height: int
    source_format: str


def _refused(code: str, message: str) -> Invalid:
    return Invalid(code, message)


def prepare(data: bytes, *, max_bytes: int) -> Prepared:
    """The photo's display and thumbnail encodings, or why it is refused (422)."""
    if len(data) > max_bytes:
        raise _refused("photo_too_large", f"a photo is at most {max_bytes // (1024 * 1024)} MB")
    if not data:
        raise _refused("photo_unreadable", "the photo is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(FORMATS)) as original:
                if original.width * original.height > MAX_PIXELS:
                    raise _refused(
                        "photo_too_many_pixels",
                        f"a photo is at most {MAX_PIXELS // 1_000_000} megapixels",
                    )
                source = str(original.format)
                original.load()
                image = ImageOps.exif_transpose(original)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refused(
            "photo_too_many_pixels", f"a photo is at most {MAX_PIXELS // 1_000_000} megapixels"
        ) from None
    except UnidentifiedImageError:
        raise _refused("photo_unsupported", "a photo must be a JPEG, PNG or WebP image") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise _refused("photo_unreadable", f"the photo could not be read: {error}") from None
    image = image.convert("RGBA" if _has_alpha(image) else "RGB")
    display = _fit(image, DISPLAY_EDGE)
    return Prepared(
        display=_encode(display),
        thumb=_encode(_fit(image, THUMB_EDGE)),
        width=display.width,
        height=display.height,
        source_format=source,
    )


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )


def _fit(image: Image.Image, edge: int) -> Image.Image:
    fitted = image.copy()
    fitted.thumbnail((edge, edge), Image.Resampling.LANCZOS)
    return fitted


def _encode(image: Image.Image) -> bytes:
    out = io.BytesIO()
    # No exif=, icc_profile= or xmp=: nothing of the original's metadata is written.
    image.save(out, format="WEBP", quality=_QUALITY, method=4)
    return out.getvalue()
