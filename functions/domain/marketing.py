"""A title as marketing sees it, independent of Consonance's GraphQL shapes: what the milestone rules,
the audience segment, the campaign drafts and the campaign brief are derived from.

A *title* is a Consonance work that has book editions (the configured product types). Its dates,
publishing status and sales territories are those of its lead product (the first edition of the
configured types that carries a date); its subjects, audience, marketing tier and season are the
work's. The audio spot and the cover are the files Consonance holds for it (a production file of a
configured variant; the work's cover supporting resource).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Literal

from pydantic import Field

from functions.domain.models import Frozen, Territories


class SubjectCode(Frozen):
    """One subject classification of the work: a Thema, BISAC or BIC code, and whether it is the main one."""

    scheme: Literal["THEMA", "BISAC", "BIC"]
    code: str
    main: bool = False


class AudioSpot(Frozen):
    """The author-promotion audio spot: a production file of the configured variant."""

    url: str
    filename: str | None = None
    file_id: int | None = None


class MarketedTitle(Frozen):
    work_id: int
    title: str
    subtitle: str | None = None
    author: str | None = None  # the first credited author (ONIX A01), in sequence order
    lead_product_id: int
    product_ids: tuple[int, ...] = ()
    isbn13: str | None = None
    publishing_status_code: str | None = None  # ONIX list 64 (02 forthcoming, 04 active, 01 cancelled ...)
    publication_date: date | None = None
    planned_publication_date: date | None = None
    marketing_tier: str | None = None
    season: str | None = None
    subjects: tuple[SubjectCode, ...] = ()
    audience_codes: tuple[str, ...] = ()  # ONIX list 28 (01 general/trade, 02 children, 03 young adult ...)
    territories: Territories = Field(default_factory=Territories)
    series_ids: tuple[int, ...] = ()
    cover_url: str | None = None
    audio_spot: AudioSpot | None = None
    landing_page: str | None = None  # where the call to action sends listeners

    def content_hash(self) -> str:
        """Stable hash of everything a campaign is derived from: equal hashes mean nothing to do."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]

    @property
    def anchor_date(self) -> date | None:
        """The date the milestones are counted from: the publication date, else the planned one."""
        return self.publication_date or self.planned_publication_date

    @property
    def main_subject(self) -> SubjectCode | None:
        return next((s for s in self.subjects if s.main), self.subjects[0] if self.subjects else None)


MilestoneChange = Literal["reached", "updated", "cancelled"]


class MilestoneWindow(Frozen):
    """When a milestone holds for a title: from `opens_on` (inclusive) to `closes_on` (exclusive, None:
    open-ended), counted from `anchor_date` (the publication date) or opened by a tier/season value."""

    anchor_date: date | None = None
    opens_on: date
    closes_on: date | None = None
    basis: Literal["date", "marking"] = "date"  # a date window, or a person's marking (tier/season)
    reason: str  # why the title is in the milestone, in words (for the brief)
