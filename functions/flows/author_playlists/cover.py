"""A playlist cover from a contributor's headshot: what Spotify takes is a Base64-encoded JPEG of at most
256 KB, and a headshot can be anything a photographer delivered (a 4 MB PNG, CMYK, transparent).

The image is read with Pillow from its bytes, cropped to a centred square (playlist covers are square),
converted to RGB (`functions.preflight.artwork.rgb_image`), and encoded as a baseline JPEG at the highest
quality that fits (`jpeg_within`); when none does at one size, it is resized smaller (by a fifth each
time, never below `MIN_SIDE`) until it fits. The limit is on the Base64 text, so the JPEG may be at most
three quarters of it. The same source gives the same bytes.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from functions.domain.errors import PermanentError
from functions.domain.models import Frozen
from functions.preflight.artwork import jpeg_within, rgb_image

MAX_BASE64_BYTES = 256 * 1024
MAX_JPEG_BYTES = MAX_BASE64_BYTES // 4 * 3  # Base64 makes 4 characters of every 3 bytes
MIN_SIDE = 300
MIN_QUALITY, MAX_QUALITY = 60, 90
MAX_SOURCE_PIXELS = 60_000_000  # larger is not decoded at all (a decompression bomb, or not a photo)
BACKGROUND = (255, 255, 255)


class CoverImageUnusable(PermanentError):
    """The headshot cannot become a playlist cover (not an image, too many pixels, or nothing fits)."""

    code = "playlist_cover_unusable"


class PlaylistCover(Frozen):
    jpeg: bytes
    side: int
    quality: int
    source_format: str


def playlist_cover(data: bytes, *, max_side: int) -> PlaylistCover:
    """A square JPEG cover of at most `max_side` pixels whose Base64 text fits Spotify's 256 KB."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_SOURCE_PIXELS:
                raise CoverImageUnusable(f"the headshot is {image.width}×{image.height} px: too many pixels to read")
            image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise CoverImageUnusable(f"the headshot is not an image Pillow can read ({exc.__class__.__name__})") from None
    source_format = image.format or "unknown"
    side = min(image.width, image.height)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    square, _ = rgb_image(image.crop((left, top, left + side, top + side)), BACKGROUND)
    size = min(side, max_side)
    while size >= min(MIN_SIDE, side):
        sized = square if size == side else square.resize((size, size), Image.Resampling.LANCZOS)
        fitted = jpeg_within(sized, MAX_JPEG_BYTES, MIN_QUALITY, MAX_QUALITY)
        if fitted is not None:
            quality, jpeg = fitted
            return PlaylistCover(jpeg=jpeg, side=size, quality=quality, source_format=source_format)
        if size == min(MIN_SIDE, side):
            break
        size = max(min(MIN_SIDE, side), size * 4 // 5)
    raise CoverImageUnusable(f"no JPEG of the headshot fits {MAX_BASE64_BYTES // 1024} KB in Base64, even at {size} px")
