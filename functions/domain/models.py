"""Domain models for episodes, shows and their credits, independent of Consonance's GraphQL shapes."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EpisodeKind(StrEnum):
    SERIALIZED_FICTION = "serialized_fiction"
    COMPANION_PODCAST = "companion_podcast"
    AUTHOR_INTERVIEW = "author_interview"
    BRANDED_PODCAST = "branded_podcast"


class Credit(Frozen):
    """A contribution with its ONIX contributor role (A01 by, E07 read by, ...), in sequence order."""

    contributor_id: int
    name: str
    role_code: str
    sequence: int


class Territories(Frozen):
    """Sales territories as Consonance states them (ISO 3166-1 alpha-2 codes)."""

    worldwide: bool = False
    included: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()


class FileFacts(Frozen):
    """What Consonance says about a media file besides where it is: a replaced file changes them, so
    the pre-flight knows without fetching whether the file it checked is still the one."""

    size: int | None = None  # bytes (Consonance fileSize)
    created_at: datetime | None = None  # Consonance createdAt of the file record
    filename: str | None = None


class MasterAudio(Frozen):
    url: str
    approved: bool
    distribution_allowed: bool
    filename: str | None = None
    size: int | None = None  # bytes (Consonance fileSize)
    created_at: datetime | None = None  # Consonance createdAt of the production file


class RightGrant(Frozen):
    """A right the publisher holds for this content, as licensed in a Consonance contract.

    `right_type` is the contract's licensed-right type as configured (e.g. audio_adaptation, narration,
    music_use); the window is [starts_on, ends_on) and open-ended where a date is missing.
    """

    right_type: str
    contract_id: int
    starts_on: date | None = None
    ends_on: date | None = None
    territories: Territories | None = None  # None: the product's sales territories apply


class Show(Frozen):
    """A Consonance series that is published as one podcast show."""

    series_id: int
    name: str


class Episode(Frozen):
    """One audio product that is (or may become) an episode on Spotify."""

    product_id: int
    work_id: int | None = None
    isbn13: str | None = None
    kind: EpisodeKind
    title: str
    subtitle: str | None = None
    summary: str = ""
    show: Show | None = None
    part_number: int | None = None
    publishing_status_code: str | None = None
    allow_onix_exports: bool = False
    master_audio: MasterAudio | None = None
    artwork_url: str | None = None
    artwork_file: FileFacts | None = None  # what Consonance says about the cover file at artwork_url
    stated_duration_seconds: float | None = None  # the running time Consonance states (an ONIX extent)
    release_date: date | None = None
    credits: tuple[Credit, ...] = ()
    territories: Territories = Field(default_factory=Territories)
    rights: tuple[RightGrant, ...] = ()

    def content_hash(self) -> str:
        """Stable hash of everything that can change what Spotify shows; equal hashes mean no write."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]

    def credits_with_roles(self, role_codes: frozenset[str] | set[str]) -> tuple[Credit, ...]:
        return tuple(c for c in sorted(self.credits, key=lambda c: c.sequence) if c.role_code in role_codes)


class Finding(Frozen):
    """Something a person must look at: a record that was held back or could not be applied, and why."""

    code: str
    entity: str
    message: str
    flow: str
    blocking: bool = True
