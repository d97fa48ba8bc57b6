"""Episode artwork against Spotify's cover rules, read with Pillow from the bytes (never the file name).

Rules (limits in `PreflightSettings`): JPEG or PNG, RGB, square, `artwork_min_side`–`artwork_max_side`
pixels a side, at most `artwork_max_bytes`.

What can be fixed is fixed, in a rendition pushed instead of the source, and the finding says so:
- too many pixels → scaled down to `artwork_max_side` (never up);
- too many bytes → re-encoded as JPEG, the highest quality in
  [`rendition_min_quality`, `rendition_max_quality`] that fits (a binary search); if none fits at this
  size, the next smaller of `rendition_sides` is tried, down to `artwork_min_side`;
- a colour mode other than RGB that converts without guessing (`artwork_convertible_modes`) →
  converted. CMYK is converted, not refused: an otherwise good CMYK cover is a print file that a
  conversion serves well, and holding the episode for it would only make someone do the same by
  hand. With an embedded ICC profile the conversion goes through it to sRGB (LittleCMS); without one,
  Pillow's plain formula is used and the finding says colours may shift. Transparent pixels are laid
  on `rendition_background` (covers must not be transparent).

What cannot be fixed holds the episode with a finding that names the measured values: unreadable or
truncated files, other formats, unsupported colour modes, not square, too small (never upscaled),
more pixels than `artwork_max_source_pixels` (not decoded at all), or no size/quality that fits.

Renditions are always baseline JPEG without metadata, encoded with fixed options, so the same source
and settings give the same bytes (the rendition's S3 key is its content hash).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, UnidentifiedImageError

from functions.domain.models import Finding
from functions.preflight.findings import PreflightCode, preflight_finding, size_text
from functions.preflight.results import (
    RENDITION_FORMAT,
    ArtworkMeasurement,
    ArtworkStatus,
    ArtworkVerdict,
    RenditionFacts,
)
from functions.preflight.settings import PreflightSettings

TRANSPARENT_MODES = frozenset({"RGBA", "LA", "PA"})


@dataclass(frozen=True)
class ArtworkInspection:
    """The verdict (storable) and, when one was made, the rendition's bytes (to store in S3)."""

    verdict: ArtworkVerdict
    rendition: bytes | None = None


def inspect_artwork(data: bytes, *, product_id: int, settings: PreflightSettings) -> ArtworkInspection:
    """Check a cover and, where it can be fixed, make the rendition (see the module docstring)."""
    measured = ArtworkMeasurement(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())

    def held(*found: Finding, measurement: ArtworkMeasurement = measured) -> ArtworkInspection:
        return ArtworkInspection(ArtworkVerdict(status=ArtworkStatus.HELD, measured=measurement, findings=found))

    def unreadable(reason: str) -> Finding:
        return preflight_finding(PreflightCode.ARTWORK_UNREADABLE, product_id, f"the cover file of {size_text(len(data))} {reason}")

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        return held(unreadable("is not an image Pillow can read" if isinstance(exc, UnidentifiedImageError) else f"is refused: {exc}"))
    except OSError as exc:
        return held(unreadable(f"could not be read: {exc}"))
    measured = measured.model_copy(
        update={
            "format": image.format,
            "mode": image.mode,
            "width": image.width,
            "height": image.height,
            "has_icc_profile": bool(image.info.get("icc_profile")),
        }
    )
    problems = _unfixable(image, measured, product_id, settings)
    if problems:
        return held(*problems, measurement=measured)
    try:
        image.load()  # decode every pixel: a truncated file is caught here, not by Megaphone
    except (OSError, ValueError, SyntaxError) as exc:
        return held(unreadable(f"is damaged: {exc}"), measurement=measured)

    reasons = _fix_reasons(measured, settings)
    if not reasons:
        return ArtworkInspection(ArtworkVerdict(status=ArtworkStatus.ACCEPTED, measured=measured))
    return _render(image, measured, reasons, product_id, settings)


# ---------------------------------------------------------------------------------------------- rules
def _unfixable(image: Image.Image, measured: ArtworkMeasurement, product_id: int, settings: PreflightSettings) -> list[Finding]:
    """Every problem a rendition cannot solve, all at once (a person fixes them in one go)."""
    found: list[Finding] = []
    width, height = image.width, image.height
    if image.format not in settings.artwork_formats:
        allowed = " or ".join(sorted(settings.artwork_formats))
        found.append(
            preflight_finding(
                PreflightCode.ARTWORK_UNSUPPORTED_FORMAT, product_id, f"the cover is {image.format or 'of an unknown format'}; it must be {allowed}"
            )
        )
    if image.mode != "RGB" and image.mode not in settings.artwork_convertible_modes:
        found.append(
            preflight_finding(
                PreflightCode.ARTWORK_UNSUPPORTED_COLOUR_MODE,
                product_id,
                f"the cover's colour mode is {image.mode}; it cannot be converted to RGB without guessing",
            )
        )
    if width * height > settings.artwork_max_source_pixels:
        found.append(
            preflight_finding(
                PreflightCode.ARTWORK_SOURCE_TOO_LARGE,
                product_id,
                f"the cover is {width}×{height} px ({width * height:,} pixels); "
                f"more than {settings.artwork_max_source_pixels:,} pixels is not decoded",
            )
        )
    if width != height:
        found.append(
            preflight_finding(PreflightCode.ARTWORK_NOT_SQUARE, product_id, f"the cover is {width}×{height} px; it must be square")
        )
    if min(width, height) < settings.artwork_min_side:
        side = settings.artwork_min_side
        found.append(
            preflight_finding(
                PreflightCode.ARTWORK_TOO_SMALL,
                product_id,
                f"the cover is {width}×{height} px; it must be at least {side}×{side} px (it is never upscaled)",
            )
        )
    return found


def _fix_reasons(measured: ArtworkMeasurement, settings: PreflightSettings) -> list[str]:
    reasons: list[str] = []
    if measured.mode != "RGB":
        reasons.append(f"{measured.mode}, converted to RGB")
    if measured.width is not None and measured.width > settings.artwork_max_side:
        reasons.append(f"larger than {settings.artwork_max_side}×{settings.artwork_max_side} px")
    if measured.bytes > settings.artwork_max_bytes:
        reasons.append(f"larger than {size_text(settings.artwork_max_bytes)}")
    return reasons


# ---------------------------------------------------------------------------------------------- rendition
def _render(
    image: Image.Image, measured: ArtworkMeasurement, reasons: list[str], product_id: int, settings: PreflightSettings
) -> ArtworkInspection:
    rgb, caveat = _as_rgb(image, settings)
    if caveat:
        reasons = [f"{reason} ({caveat})" if reason.endswith("converted to RGB") else reason for reason in reasons]
    start = min(rgb.width, settings.artwork_max_side)
    sides = [start] + [side for side in sorted(set(settings.rendition_sides), reverse=True) if settings.artwork_min_side <= side < start]
    for side in sides:
        sized = rgb if side == rgb.width else rgb.resize((side, side), Image.Resampling.LANCZOS)
        fitted = _best_jpeg(sized, settings)
        if fitted is None:
            continue
        quality, encoded = fitted
        facts = RenditionFacts(
            width=side,
            height=side,
            bytes=len(encoded),
            quality=quality,
            sha256=hashlib.sha256(encoded).hexdigest(),
            reasons=tuple(reasons),
        )
        message = (
            f"the cover is {measured.describe()}: {', '.join(reasons)}; "
            f"a {side}×{side} px JPEG of {size_text(len(encoded))} at quality {quality} is pushed instead"
        )
        finding = preflight_finding(PreflightCode.ARTWORK_RENDITION_MADE, product_id, message)
        verdict = ArtworkVerdict(status=ArtworkStatus.RENDITION, measured=measured, rendition=facts, findings=(finding,))
        return ArtworkInspection(verdict, encoded)
    smallest = sides[-1]
    message = (
        f"the cover is {measured.describe()} and cannot be made to fit: even at {smallest}×{smallest} px and JPEG quality "
        f"{settings.rendition_min_quality} it is more than {size_text(settings.artwork_max_bytes)}"
    )
    finding = preflight_finding(PreflightCode.ARTWORK_RENDITION_IMPOSSIBLE, product_id, message)
    return ArtworkInspection(ArtworkVerdict(status=ArtworkStatus.HELD, measured=measured, findings=(finding,)))


def _as_rgb(image: Image.Image, settings: PreflightSettings) -> tuple[Image.Image, str | None]:
    return rgb_image(image, settings.rendition_background)


def rgb_image(image: Image.Image, background: tuple[int, int, int]) -> tuple[Image.Image, str | None]:
    """The image in RGB (transparent pixels laid on `background`), and a caveat when the colours may not
    be what the designer meant. Shared with the playlist covers (functions/flows/author_playlists)."""
    if image.mode == "RGB":
        return image, None
    if image.mode == "CMYK":
        icc = image.info.get("icc_profile")
        if not icc:
            return image.convert("RGB"), "no embedded colour profile: colours may shift, check it"
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except ImageCms.PyCMSError:
            converted = None
        if converted is None:
            return image.convert("RGB"), "its embedded colour profile could not be used: colours may shift, check it"
        return converted, None
    if image.mode in TRANSPARENT_MODES or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, background)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas, None
    return image.convert("RGB"), None


def _best_jpeg(image: Image.Image, settings: PreflightSettings) -> tuple[int, bytes] | None:
    return jpeg_within(image, settings.artwork_max_bytes, settings.rendition_min_quality, settings.rendition_max_quality)


def jpeg_within(image: Image.Image, max_bytes: int, min_quality: int, max_quality: int) -> tuple[int, bytes] | None:
    """The highest quality in [min_quality, max_quality] whose JPEG fits `max_bytes`, with its bytes; None
    if even the lowest does not fit. Sizes grow with quality, so a binary search needs a handful of encodes."""
    def encode(quality: int) -> bytes:
        return _jpeg(image, quality)

    low, high = min_quality, max_quality
    best = encode(low)
    if len(best) > max_bytes:
        return None
    best_quality = low
    while low < high:
        middle = (low + high + 1) // 2
        candidate = encode(middle)
        if len(candidate) <= max_bytes:
            low, best_quality, best = middle, middle, candidate
        else:
            high = middle - 1
    return best_quality, best


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, RENDITION_FORMAT, quality=quality, optimize=True, progressive=False, subsampling="4:2:0")
    return buffer.getvalue()
