"""The master audio against what Megaphone ingests and what Consonance says, read with mutagen.

Two steps, because they are cached differently (see `functions.preflight.identity`):
- `measure_audio` reads the file once: its type from the bytes (mutagen scores every format it knows
  on the file's header; the URL's extension is never consulted), codec, duration, bitrate. It
  depends on the file only, so the measurement is what the ledger caches.
- `judge_audio` compares a measurement with the accepted types and Consonance's stated duration under
  the current settings. It is cheap and runs on every check, so a corrected duration in Consonance or
  a changed tolerance takes effect without fetching the file again.

Accepted types (`PreflightSettings.audio_types`, the issue's list of what Megaphone ingests): `mp3`
(MPEG-1/2 Layer III; Layer I/II files are `mp1`/`mp2`), `m4a` (an MP4 container whose audio is AAC,
codec `mp4a.*`; ALAC or AC-3 in MP4 is not accepted), `wav`. Other types keep mutagen's name (`flac`,
`oggvorbis`, `aiff`, raw ADTS `aac`, ...) so a finding can say what the file is.

Consonance's stated duration: the transcribed schema has no duration on a product or production file
(ONIX carries it as an extent, which the visible schema does not show), so the caller passes what the
mapping can find, or None; with None the duration is measured and recorded but not compared.
"""

from __future__ import annotations

from typing import IO

import mutagen
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.wave import WAVE

from functions.domain.models import Finding
from functions.preflight.findings import PreflightCode, preflight_finding, size_text
from functions.preflight.results import TYPE_LABELS, AudioMeasurement, AudioStatus, AudioVerdict
from functions.preflight.settings import PreflightSettings

def measure_audio(body: IO[bytes], *, size: int, sha256: str) -> AudioMeasurement:
    """Read type and duration from a seekable file (`size` and `sha256` come from the fetch)."""
    body.seek(0)
    try:
        found = mutagen.File(body)
    except mutagen.MutagenError as exc:
        return AudioMeasurement(bytes=size, sha256=sha256, unreadable_reason=f"mutagen could not read it: {exc}")
    if found is None or found.info is None:
        return AudioMeasurement(bytes=size, sha256=sha256, unreadable_reason="no audio format could be read from its bytes")
    info = found.info
    length = float(getattr(info, "length", 0.0) or 0.0)
    return AudioMeasurement(
        bytes=size,
        sha256=sha256,
        type=_type_name(found),
        codec=getattr(info, "codec", None) or None,
        duration_seconds=round(length, 3) if length > 0 else None,
        bitrate=getattr(info, "bitrate", None) or None,
        sample_rate=getattr(info, "sample_rate", None) or None,
        channels=getattr(info, "channels", None) or None,
        unreadable_reason=None if length > 0 else "the file states no duration",
    )


def _type_name(found: mutagen.FileType) -> str:
    if isinstance(found, MP3):
        layer = getattr(found.info, "layer", 3)
        return "mp3" if layer == 3 else f"mp{layer}"
    if isinstance(found, MP4):
        return "m4a"
    if isinstance(found, WAVE):
        return "wav"
    return type(found).__name__.lower()


def is_accepted_type(measured: AudioMeasurement, settings: PreflightSettings) -> bool:
    if measured.type not in settings.audio_types:
        return False
    return measured.type != "m4a" or (measured.codec or "").startswith("mp4a")


def judge_audio(
    measured: AudioMeasurement, *, stated_duration_seconds: float | None, product_id: int, settings: PreflightSettings
) -> AudioVerdict:
    """The verdict on a measured master under the current settings (see the module docstring)."""
    found: list[Finding] = []
    difference: float | None = None
    if measured.type is None or measured.duration_seconds is None:
        message = f"the master audio file of {size_text(measured.bytes)} cannot be read: {measured.unreadable_reason}"
        found.append(preflight_finding(PreflightCode.AUDIO_UNREADABLE, product_id, message))
    elif not is_accepted_type(measured, settings):
        accepted = ", ".join(TYPE_LABELS.get(t, t.upper()) for t in sorted(settings.audio_types))
        message = f"read from its bytes, the master audio is {measured.describe()}; Megaphone ingests {accepted}"
        found.append(preflight_finding(PreflightCode.AUDIO_UNSUPPORTED_TYPE, product_id, message))
    elif stated_duration_seconds is not None:
        difference = round(abs(measured.duration_seconds - stated_duration_seconds), 3)
        allowed = settings.duration_tolerance(stated_duration_seconds)
        if difference > allowed:
            message = (
                f"the master audio plays {clock_text(measured.duration_seconds)}; Consonance states "
                f"{clock_text(stated_duration_seconds)}: {difference:g} s apart, more than the {allowed:g} s allowed"
            )
            found.append(
                preflight_finding(
                    PreflightCode.AUDIO_DURATION_MISMATCH, product_id, message, blocking=settings.duration_mismatch_blocks
                )
            )
    status = AudioStatus.HELD if any(f.blocking for f in found) else AudioStatus.ACCEPTED
    return AudioVerdict(
        status=status,
        measured=measured,
        stated_duration_seconds=stated_duration_seconds,
        duration_difference_seconds=difference,
        findings=tuple(found),
    )


def clock_text(seconds: float) -> str:
    """A duration as a player shows it, with the exact seconds: "1:02:05 (3725 s)"."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    shown = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return f"{shown} ({seconds:g} s)"
