"""The two creatives of an audio ad, checked before they are uploaded (a refused upload costs calls and
says less than a finding):

- the audio spot: MP3, OGG or WAV (the Ads API's audio types), read from the bytes with mutagen, at
  most `max_spot_seconds` long (Spotify's audio ads are 30 s at most);
- the companion image: Spotify's audio ads show a square image (the simulator, after Spotify's audio
  ad specs, asks for at least 640 px). Book covers are portrait, so a square rendition is made: the
  cover scaled to fit the square's height, centred on a background of its own average colour, saved as
  baseline JPEG with fixed options — the same cover always gives the same bytes, so its content hash
  (which names the asset) repeats.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageOps, ImageStat, UnidentifiedImageError

from functions.domain.models import Frozen

RENDITION_QUALITY = 88
AUDIO_TYPES = {"MP3": ("mp3", "audio/mpeg"), "OGG": ("ogg", "audio/ogg"), "WAV": ("wav", "audio/wav")}


class CreativeProblem(Frozen):
    code: str
    message: str


@dataclass(frozen=True)
class Creative:
    """Bytes ready to upload, with what the Ads API needs to know about them."""

    data: bytes
    asset_type: str  # AUDIO | IMAGE
    extension: str
    content_type: str
    detail: str  # for the brief: "MP3, 25.0 s" / "JPEG 640×640 from a 1400×2100 cover"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def audio_spot(data: bytes, max_seconds: float) -> Creative | CreativeProblem:
    from mutagen import File as read_audio  # noqa: N813 (mutagen's name)
    from mutagen import MutagenError

    try:
        audio = read_audio(io.BytesIO(data))
    except MutagenError:
        audio = None
    kind = _audio_kind(audio)
    if audio is None or kind is None:
        return CreativeProblem(code="audio_spot_unreadable", message="the audio spot is not an MP3, OGG or WAV file mutagen can read")
    seconds = float(getattr(audio.info, "length", 0.0) or 0.0)
    if seconds <= 0:
        return CreativeProblem(code="audio_spot_unreadable", message=f"the audio spot ({kind}) has no playable audio")
    if seconds > max_seconds:
        return CreativeProblem(code="audio_spot_too_long", message=f"the audio spot lasts {seconds:.1f} s; Spotify's audio ads last at most {max_seconds:g} s")
    extension, content_type = AUDIO_TYPES[kind]
    return Creative(data=data, asset_type="AUDIO", extension=extension, content_type=content_type, detail=f"{kind}, {seconds:.1f} s")


def _audio_kind(audio: object) -> str | None:
    name = type(audio).__name__ if audio is not None else ""
    if name in ("MP3", "EasyMP3"):
        return "MP3"
    if name.startswith("Ogg"):
        return "OGG"
    if name in ("WAVE",):
        return "WAV"
    return None


def companion_image(data: bytes, side: int) -> Creative | CreativeProblem:
    try:
        with Image.open(io.BytesIO(data)) as source:
            source.load()
            width, height = source.size
            picture = ImageOps.exif_transpose(source).convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return CreativeProblem(code="cover_unreadable", message="the cover is not an image Pillow can read")
    if min(width, height) < side // 2:
        return CreativeProblem(code="cover_too_small", message=f"the cover is {width}×{height} px; a {side}×{side} companion image needs at least {side // 2} px a side")
    background = tuple(int(v) for v in ImageStat.Stat(picture).mean[:3])
    fitted = ImageOps.contain(picture, (side, side), Image.Resampling.LANCZOS)
    square = Image.new("RGB", (side, side), background)
    square.paste(fitted, ((side - fitted.width) // 2, (side - fitted.height) // 2))
    buffer = io.BytesIO()
    square.save(buffer, "JPEG", quality=RENDITION_QUALITY, optimize=False, progressive=False)
    return Creative(
        data=buffer.getvalue(),
        asset_type="IMAGE",
        extension="jpg",
        content_type="image/jpeg",
        detail=f"JPEG {side}×{side} from a {width}×{height} cover",
    )
