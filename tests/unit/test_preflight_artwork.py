"""Artwork pre-flight on real images: what is accepted, what is fixed by a rendition, what holds."""

from __future__ import annotations

import io
from functools import lru_cache

import pytest
from PIL import Image, ImageCms

from functions.preflight.artwork import ArtworkStatus, inspect_artwork
from functions.preflight.findings import size_text
from functions.preflight.settings import PreflightSettings
from sandbox import media

SETTINGS = PreflightSettings()
PRODUCT = 4101


@lru_cache(maxsize=1)
def noisy_png() -> bytes:
    return media.cover(3000, 3000, "PNG", grain=3)


def inspect(data: bytes, settings: PreflightSettings = SETTINGS):
    return inspect_artwork(data, product_id=PRODUCT, settings=settings)


def only_finding(result):
    assert len(result.verdict.findings) == 1, result.verdict.findings
    return result.verdict.findings[0]


def test_a_compliant_cover_is_accepted_as_it_is():
    data = media.cover(1400, 1400)
    result = inspect(data)
    assert result.verdict.status is ArtworkStatus.ACCEPTED
    assert result.verdict.findings == () and result.rendition is None
    measured = result.verdict.measured
    assert (measured.format, measured.mode, measured.width, measured.height, measured.bytes) == ("JPEG", "RGB", 1400, 1400, len(data))


def test_a_too_small_cover_holds_the_episode_naming_its_size():
    result = inspect(media.cover(1000, 1000))
    assert result.verdict.status is ArtworkStatus.HELD and result.rendition is None
    finding = only_finding(result)
    assert (finding.code, finding.blocking, finding.flow, finding.entity) == ("artwork_too_small", True, "preflight", "episode#4101")
    assert finding.message == "the cover is 1000×1000 px; it must be at least 1400×1400 px (it is never upscaled)"


def test_a_cover_that_is_not_square_and_too_small_reports_both_at_once():
    result = inspect(media.cover(1600, 1200, "PNG"))
    assert result.verdict.status is ArtworkStatus.HELD
    assert [(f.code, f.message) for f in result.verdict.findings] == [
        ("artwork_not_square", "the cover is 1600×1200 px; it must be square"),
        ("artwork_too_small", "the cover is 1600×1200 px; it must be at least 1400×1400 px (it is never upscaled)"),
    ]


def test_a_cmyk_jpeg_that_is_otherwise_good_is_converted_in_a_rendition():
    source = media.cover(1400, 1400, mode="CMYK")
    result = inspect(source)
    verdict = result.verdict
    assert verdict.status is ArtworkStatus.RENDITION and not verdict.blocking
    assert (verdict.measured.format, verdict.measured.mode) == ("JPEG", "CMYK")
    rendition = verdict.rendition
    assert rendition is not None and result.rendition is not None
    assert (rendition.width, rendition.height, rendition.quality) == (1400, 1400, SETTINGS.rendition_max_quality)
    assert rendition.reasons == ("CMYK, converted to RGB (no embedded colour profile: colours may shift, check it)",)
    finding = only_finding(result)
    assert (finding.code, finding.blocking) == ("artwork_rendition_made", False)
    assert finding.message == (
        f"the cover is 1400×1400 px JPEG CMYK, {size_text(len(source))}: CMYK, converted to RGB (no embedded colour "
        f"profile: colours may shift, check it); a 1400×1400 px JPEG of {size_text(rendition.bytes)} at quality 92 is pushed instead"
    )
    image = Image.open(io.BytesIO(result.rendition))
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (1400, 1400))


def test_a_cmyk_cover_whose_embedded_profile_cannot_be_used_is_converted_plainly_and_says_so():
    cmyk = Image.new("CMYK", (1400, 1400), (0, 255, 255, 0))  # full magenta and yellow: red
    buffer = io.BytesIO()
    # an RGB profile embedded in a CMYK file (a common export mistake): LittleCMS cannot build the transform
    cmyk.save(buffer, "JPEG", quality=90, icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    result = inspect(buffer.getvalue())
    assert result.verdict.measured.has_icc_profile is True
    assert result.verdict.status is ArtworkStatus.RENDITION
    assert result.verdict.rendition is not None
    assert result.verdict.rendition.reasons == (
        "CMYK, converted to RGB (its embedded colour profile could not be used: colours may shift, check it)",
    )
    red, green, blue = Image.open(io.BytesIO(result.rendition or b"")).getpixel((700, 700))
    assert red > 200 and green < 40 and blue < 40


def test_a_6_mb_png_is_fixed_by_a_jpeg_rendition_within_the_byte_limit():
    source = noisy_png()
    assert 4_000_000 < len(source) < 8_000_000  # several MB: noise does not compress
    result = inspect(source)
    verdict = result.verdict
    assert verdict.status is ArtworkStatus.RENDITION
    assert (verdict.measured.format, verdict.measured.mode, verdict.measured.width) == ("PNG", "RGB", 3000)
    rendition = verdict.rendition
    assert rendition is not None and result.rendition is not None
    assert rendition.width == rendition.height == 3000  # it fits without shrinking: pixels are kept
    assert rendition.bytes == len(result.rendition) <= SETTINGS.artwork_max_bytes
    assert rendition.reasons == ("larger than 512 KB",)
    assert only_finding(result).message == (
        f"the cover is 3000×3000 px PNG RGB, {size_text(len(source))}: larger than 512 KB; "
        f"a 3000×3000 px JPEG of {size_text(rendition.bytes)} at quality {rendition.quality} is pushed instead"
    )
    # the highest quality that fits was chosen
    if rendition.quality < SETTINGS.rendition_max_quality:
        bigger = io.BytesIO()
        Image.open(io.BytesIO(source)).convert("RGB").save(bigger, "JPEG", quality=rendition.quality + 1, optimize=True, subsampling="4:2:0")
        assert len(bigger.getvalue()) > SETTINGS.artwork_max_bytes


def test_renditions_are_deterministic():
    first, second = inspect(noisy_png()), inspect(noisy_png())
    assert first.rendition == second.rendition
    assert first.verdict == second.verdict


def test_a_cover_larger_than_3000_px_is_scaled_down_never_up():
    result = inspect(media.cover(3600, 3600))
    rendition = result.verdict.rendition
    assert rendition is not None
    assert (rendition.width, rendition.height) == (3000, 3000)
    assert rendition.reasons == ("larger than 3000×3000 px",)
    assert Image.open(io.BytesIO(result.rendition or b"")).size == (3000, 3000)


def test_when_quality_alone_cannot_fit_smaller_sides_are_tried_down_to_the_minimum():
    settings = PreflightSettings(artwork_max_bytes=300 * 1024)
    result = inspect(media.cover(3000, 3000, grain=40, quality=95), settings)
    rendition = result.verdict.rendition
    assert rendition is not None
    assert rendition.width < 3000 and rendition.width in settings.rendition_sides
    assert rendition.bytes <= settings.artwork_max_bytes


def test_a_cover_that_cannot_fit_even_at_the_smallest_size_holds():
    settings = PreflightSettings(artwork_max_bytes=20 * 1024)
    source = media.cover(1400, 1400, grain=60)
    result = inspect(source, settings)
    assert result.verdict.status is ArtworkStatus.HELD and result.rendition is None
    finding = only_finding(result)
    assert (finding.code, finding.blocking) == ("artwork_rendition_impossible", True)
    assert finding.message == (
        f"the cover is 1400×1400 px JPEG RGB, {size_text(len(source))} and cannot be made to fit: "
        "even at 1400×1400 px and JPEG quality 60 it is more than 20 KB"
    )


def test_a_transparent_png_is_laid_on_white():
    image = Image.new("RGBA", (1400, 1400), (255, 0, 0, 0))  # fully transparent red
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    result = inspect(buffer.getvalue())
    assert result.verdict.rendition is not None
    assert result.verdict.rendition.reasons == ("RGBA, converted to RGB",)
    assert Image.open(io.BytesIO(result.rendition or b"")).getpixel((700, 700)) == pytest.approx((255, 255, 255), abs=2)


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        (b"not an image at all", "artwork_unreadable", "the cover file of 19 bytes is not an image Pillow can read"),
        (media.cover(1400, 1400, "GIF"), "artwork_unsupported_format", "the cover is GIF; it must be JPEG or PNG"),
    ],
)
def test_unreadable_and_unsupported_covers_hold(data, code, message):
    result = inspect(data)
    assert result.verdict.status is ArtworkStatus.HELD
    assert [(f.code, f.message) for f in result.verdict.findings] == [(code, message)]


def test_a_truncated_cover_holds_as_damaged():
    result = inspect(media.cover(1500, 1500, truncate_to=20000))
    finding = only_finding(result)
    assert finding.code == "artwork_unreadable"
    assert finding.message.startswith("the cover file of 19.5 KB (20,000 bytes) is damaged: image file is truncated")


def test_a_16_bit_cover_is_not_guessed_at():
    buffer = io.BytesIO()
    Image.new("I;16", (1400, 1400), 1000).save(buffer, "PNG")
    finding = only_finding(inspect(buffer.getvalue()))
    assert (finding.code, finding.message) == (
        "artwork_unsupported_colour_mode",
        "the cover's colour mode is I;16; it cannot be converted to RGB without guessing",
    )


def test_more_pixels_than_the_guard_allows_are_not_decoded():
    settings = PreflightSettings(artwork_max_source_pixels=3_000_000)
    finding = only_finding(inspect(media.cover(2000, 2000), settings))
    assert (finding.code, finding.message) == (
        "artwork_source_too_large",
        "the cover is 2000×2000 px (4,000,000 pixels); more than 3,000,000 pixels is not decoded",
    )
