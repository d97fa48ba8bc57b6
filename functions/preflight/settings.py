"""Every limit the distribution pre-flight applies, with its default and where that default comes from.

Values tagged *issue* come from the product brief (issue 11), *facts* from
`specs/megaphone/API-FACTS.md`, and *inferred* ones are the common podcast-platform figures that no
source available to this project states for Spotify or Megaphone: they are settings so a publisher
can correct them without a code change.

| setting | default | source |
| --- | --- | --- |
| artwork_formats | JPEG, PNG | issue (Apple/Spotify cover rules) |
| artwork_min_side / artwork_max_side | 1400 / 3000 px | issue |
| artwork_max_bytes | 512 KiB | issue ("commonly 512 KB"); KiB chosen, the stricter reading |
| artwork_convertible_modes | CMYK, L, LA, P, PA, RGBA, 1 | inferred: modes Pillow turns into RGB without guessing |
| artwork_fetch_max_bytes | 20 MiB | inferred: no cover needs more; stops a runaway download |
| artwork_max_source_pixels | 40 megapixels | inferred: Pillow's decompression-bomb guard, set low |
| rendition_sides | 3000 … 1400 px | the sizes tried, largest first, when a rendition must shrink to fit |
| rendition_min_quality / rendition_max_quality | 60 / 92 | inferred: below 60 JPEG artefacts show on covers |
| rendition_background | white | what transparent pixels become (covers must not be transparent) |
| audio_types | mp3, m4a (AAC), wav | issue; inferred (the Megaphone facts sheet names no audio types) |
| audio_fetch_max_bytes | 1 GiB | inferred: a 90-minute 16-bit stereo WAV master is ~950 MB; the Lambda's ephemeral storage must exceed `audio_fetch_max_bytes` |
| duration_tolerance_seconds / duration_tolerance_ratio | 5 s / 1 % | inferred: the larger of the two applies; Consonance may state whole minutes |
| duration_mismatch_blocks | true | a master that disagrees with Consonance is usually the wrong file |
| max_title_length | 200 | inferred (Spotify for Creators episode title field) |
| max_subtitle_length | 255 | inferred (itunes:subtitle guidance, which Megaphone's feed carries) |
| max_description_length | 4000 | inferred (Spotify and Apple episode descriptions) |
| explicit_when_unstated | false | inferred: Consonance has no explicit-content field (see `functions.preflight.text`) |
| megaphone_explicit_values | true→"explicit", false→"clean" | facts: "clean"/"explicit"/"no" style values, keep configurable |
"""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, ConfigDict, Field, model_validator

KIB = 1024
MIB = 1024 * KIB


class PreflightSettings(BaseModel):
    """Limits and policies of the pre-flight checks (see the module docstring for each default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    artwork_formats: frozenset[str] = frozenset({"JPEG", "PNG"})
    artwork_min_side: int = Field(default=1400, gt=0)
    artwork_max_side: int = Field(default=3000, gt=0)
    artwork_max_bytes: int = Field(default=512 * KIB, gt=0)
    artwork_convertible_modes: frozenset[str] = frozenset({"CMYK", "L", "LA", "P", "PA", "RGBA", "1"})
    artwork_fetch_max_bytes: int = Field(default=20 * MIB, gt=0)
    artwork_max_source_pixels: int = Field(default=40_000_000, gt=0)
    rendition_sides: tuple[int, ...] = (3000, 2400, 2048, 1800, 1600, 1400)
    rendition_min_quality: int = Field(default=60, ge=1, le=95)
    rendition_max_quality: int = Field(default=92, ge=1, le=95)
    rendition_background: tuple[int, int, int] = (255, 255, 255)

    audio_types: frozenset[str] = frozenset({"mp3", "m4a", "wav"})
    audio_fetch_max_bytes: int = Field(default=1024 * MIB, gt=0)
    duration_tolerance_seconds: float = Field(default=5.0, ge=0)
    duration_tolerance_ratio: float = Field(default=0.01, ge=0)
    duration_mismatch_blocks: bool = True

    max_title_length: int = Field(default=200, gt=0)
    max_subtitle_length: int = Field(default=255, gt=0)
    max_description_length: int = Field(default=4000, gt=0)
    explicit_when_unstated: bool = False
    megaphone_explicit_values: dict[bool, str] = Field(default_factory=lambda: {True: "explicit", False: "clean"})

    @model_validator(mode="after")
    def _consistent(self) -> "PreflightSettings":
        if self.artwork_min_side > self.artwork_max_side:
            raise ValueError("artwork_min_side is larger than artwork_max_side")
        if self.rendition_min_quality > self.rendition_max_quality:
            raise ValueError("rendition_min_quality is larger than rendition_max_quality")
        if set(self.megaphone_explicit_values) != {True, False}:
            raise ValueError("megaphone_explicit_values needs a value for true and for false")
        return self

    def duration_tolerance(self, stated_seconds: float) -> float:
        """How far the file's duration may be from the stated one: the larger of the two tolerances."""
        return max(self.duration_tolerance_seconds, self.duration_tolerance_ratio * stated_seconds)

    def artwork_fingerprint(self) -> str:
        """Hash of every setting an artwork verdict depends on: a cached verdict made under other
        limits is not reused (see `functions.preflight.identity`)."""
        names = sorted(name for name in type(self).model_fields if name.startswith(("artwork_", "rendition_")))
        return _fingerprint(self.model_dump(include=set(names)))


def _fingerprint(values: dict[str, object]) -> str:
    """Sets are sorted (`default=sorted`), so the hash does not depend on iteration order."""
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), default=sorted)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
