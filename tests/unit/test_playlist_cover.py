"""Playlist covers from headshots: a square JPEG whose Base64 text fits Spotify's 256 KB, from whatever
image a photographer delivered."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from functions.flows.author_playlists.cover import MAX_BASE64_BYTES, CoverImageUnusable, playlist_cover
from sandbox import media


def fits(jpeg: bytes) -> bool:
    return len(base64.b64encode(jpeg)) <= MAX_BASE64_BYTES


def test_a_four_megabyte_png_becomes_a_small_square_jpeg() -> None:
    source = media.cover(3000, 3000, "PNG", grain=3)
    assert len(source) > 4_000_000
    cover = playlist_cover(source, max_side=1000)
    image = Image.open(io.BytesIO(cover.jpeg))
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (1000, 1000))
    assert fits(cover.jpeg) and cover.source_format == "PNG"


def test_a_noisy_photo_is_resized_until_it_fits() -> None:
    noisy = media.cover(1200, 1200, "JPEG", grain=255, quality=95)
    cover = playlist_cover(noisy, max_side=1200)
    assert fits(cover.jpeg)
    assert cover.side < 1200  # at full size even the lowest quality was too big
    assert playlist_cover(noisy, max_side=1200).jpeg == cover.jpeg  # the same source gives the same bytes


def test_a_portrait_photo_is_cropped_to_a_centred_square() -> None:
    cover = playlist_cover(media.cover(800, 1200, "PNG"), max_side=1000)
    assert Image.open(io.BytesIO(cover.jpeg)).size == (800, 800)


@pytest.mark.parametrize("mode", ["CMYK", "RGBA", "L", "P"])
def test_any_colour_mode_becomes_rgb(mode: str) -> None:
    image_format = "JPEG" if mode in ("CMYK", "L") else "PNG"
    cover = playlist_cover(media.cover(600, 600, image_format, mode=mode), max_side=1000)
    assert Image.open(io.BytesIO(cover.jpeg)).mode == "RGB"


def test_what_is_not_an_image_is_unusable_not_an_error_to_retry() -> None:
    with pytest.raises(CoverImageUnusable, match="not an image"):
        playlist_cover(b"<html>Not found</html>", max_side=1000)
    with pytest.raises(CoverImageUnusable):
        playlist_cover(media.cover(600, 600, "JPEG", truncate_to=2000), max_side=1000)
