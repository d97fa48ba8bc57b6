"""What the pre-flight concludes, as storable models: the ledger keeps a `PreflightResult` on the
Megaphone entry (`functions.state.targets.MegaphoneState.preflight`), and the write-back and the ops
CLI read it. Kept apart from the checks so reading a result never imports Pillow or mutagen: every
flow reads the ledger's typed state, and only the flows that run the checks pay for those libraries
at cold start. `artwork`, `audio`, `text` and `check` build these models.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Literal

from functions.domain.models import Finding, Frozen
from functions.preflight.findings import size_text
from functions.preflight.identity import MediaIdentity

RENDITION_FORMAT = "JPEG"
RENDITION_CONTENT_TYPE = "image/jpeg"
RENDITION_EXTENSION = "jpg"


class ArtworkStatus(StrEnum):
    ACCEPTED = "accepted"  # the source goes to Megaphone as it is
    RENDITION = "rendition"  # a compliant rendition goes instead
    HELD = "held"  # cannot be fixed here: the episode waits for a new cover


class ArtworkMeasurement(Frozen):
    """What the bytes are, as Pillow reads them (format, mode and size None when unreadable)."""

    bytes: int
    sha256: str
    format: str | None = None
    mode: str | None = None
    width: int | None = None
    height: int | None = None
    has_icc_profile: bool = False

    def describe(self) -> str:
        shape = f"{self.width}×{self.height} px " if self.width is not None else ""
        kind = f"{self.format} {self.mode}, " if self.format else ""
        return f"{shape}{kind}{size_text(self.bytes)}".strip()


class RenditionFacts(Frozen):
    """The rendition made for Megaphone: what it is and why it exists (its bytes travel separately)."""

    width: int
    height: int
    bytes: int
    quality: int
    sha256: str
    reasons: tuple[str, ...]
    format: str = RENDITION_FORMAT
    content_type: str = RENDITION_CONTENT_TYPE
    extension: str = RENDITION_EXTENSION


class ArtworkVerdict(Frozen):
    status: ArtworkStatus
    measured: ArtworkMeasurement
    rendition: RenditionFacts | None = None
    findings: tuple[Finding, ...] = ()

    @property
    def blocking(self) -> bool:
        return any(f.blocking for f in self.findings)


TYPE_LABELS = {"mp3": "MP3", "m4a": "M4A (AAC)", "wav": "WAV"}


class AudioStatus(StrEnum):
    ACCEPTED = "accepted"
    HELD = "held"


class AudioMeasurement(Frozen):
    """What the master audio file is, read from its bytes (type None: nothing mutagen can read)."""

    bytes: int
    sha256: str
    type: str | None = None
    codec: str | None = None
    duration_seconds: float | None = None
    bitrate: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    unreadable_reason: str | None = None

    def describe(self) -> str:
        codec = f" ({self.codec})" if self.codec and self.type == "m4a" else ""
        return f"{(self.type or 'unknown').upper()}{codec}, {size_text(self.bytes)}"


class AudioVerdict(Frozen):
    status: AudioStatus
    measured: AudioMeasurement
    stated_duration_seconds: float | None = None
    duration_difference_seconds: float | None = None
    findings: tuple[Finding, ...] = ()

    @property
    def blocking(self) -> bool:
        return any(f.blocking for f in self.findings)


class EpisodeText(Frozen):
    """The texts as the projection would push them, and Consonance's explicit flag if it has one."""

    title: str
    subtitle: str | None = None
    description: str = ""
    explicit: bool | None = None


class TextVerdict(Frozen):
    """What to push (sanitised, within limits) and why anything changed or holds."""

    title: str
    subtitle: str | None
    description: str
    explicit: bool
    explicit_source: Literal["consonance", "setting"]
    megaphone_explicit: str
    findings: tuple[Finding, ...] = ()

    @property
    def blocking(self) -> bool:
        return any(f.blocking for f in self.findings)


class PreflightRequest(Frozen):
    """What the gate knows about the episode it is about to push."""

    product_id: int
    text: EpisodeText
    artwork: MediaIdentity | None = None
    audio: MediaIdentity | None = None
    stated_duration_seconds: float | None = None  # Consonance's duration, when the mapping has one


class ArtworkCheck(Frozen):
    """A completed artwork check, cached under `cache_key`."""

    cache_key: str
    source: MediaIdentity
    checked_at: datetime
    verdict: ArtworkVerdict
    rendition_key: str | None = None  # where the rendition is stored, when one is pushed instead


class AudioCheck(Frozen):
    """A completed audio measurement, cached under `cache_key` (the verdict is judged on each check)."""

    cache_key: str
    source: MediaIdentity
    checked_at: datetime
    measured: AudioMeasurement


class PreflightResult(Frozen):
    """Everything the pre-flight concluded for one episode; stored in the ledger as it is (JSON)."""

    product_id: int
    checked_at: datetime
    text: TextVerdict
    artwork: ArtworkCheck | None = None
    audio: AudioCheck | None = None
    audio_verdict: AudioVerdict | None = None
    findings: tuple[Finding, ...] = ()

    @property
    def blocking_findings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.blocking)

    @property
    def held(self) -> bool:
        return bool(self.blocking_findings)

    def artwork_url(self, rendition_url: Callable[[str], str]) -> str | None:
        """The cover URL to push: the source, or the rendition's URL (`rendition_url(key)`, minted at
        push time); None when there is no cover or it is held."""
        if self.artwork is None:
            return None
        if self.artwork.verdict.status is ArtworkStatus.ACCEPTED:
            return self.artwork.source.url
        if self.artwork.verdict.status is ArtworkStatus.RENDITION and self.artwork.rendition_key:
            return rendition_url(self.artwork.rendition_key)
        return None
