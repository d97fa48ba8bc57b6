"""How Consonance records become domain episodes, and the publishing policy that rides with them —
the design's mapping, configured in one place (the `MAPPING` environment JSON, from the CDK context
key `consonanceMapping`).

It sits outside both `domain/` and the Consonance adapter because both read it: the adapter for
Consonance's names (product types, file variants, the web link role), the domain rules for the
policy (approval codes, credited roles, series rules, rights). Unknown keys are refused, so a typo in
the context fails `make synth` instead of being ignored.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.domain.promotion_policy import PromotionPolicy
from functions.domain.licence import BrandedConfig
from functions.domain.rights import RightsPolicy


class MappingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    approved_publishing_status_codes: frozenset[str] = frozenset({"02", "04"})  # ONIX list 64
    audio_product_types: tuple[str, ...] = ("ElectronicAudioProduct",)
    master_audio_variant: str = "master_audio"  # inferred: Consonance's production file variant name
    approved_file_status: str = "approved"  # inferred
    distribution_allowed_values: frozenset[str] = frozenset({"allowed", "yes", "true"})  # inferred
    artwork_resource_variant: str = "cover_image"  # inferred: supporting resource variant of the cover
    # Which ONIX extent types (list 23) state an audio product's running time, first found wins: 09 is
    # "duration" (total running time). The field holding extents is inferred (Product.extents).
    duration_extent_types: tuple[str, ...] = ("09",)
    narrator_role_codes: frozenset[str] = frozenset({"E07", "E03"})
    author_role_codes: frozenset[str] = frozenset({"A01"})
    credited_role_codes: tuple[str, ...] = ("A01", "E07", "E03", "E10", "E09", "A12", "B06")
    max_title_length: int = Field(default=150, gt=0)
    max_summary_length: int = Field(default=4000, gt=0)
    # work.workType -> episode kind; unknown types fall back to default_episode_kind.
    episode_kinds: dict[str, str] = Field(
        default_factory=lambda: {
            "serialized_fiction": "serialized_fiction",
            "companion_podcast": "companion_podcast",
            "author_interview": "author_interview",
            "branded_podcast": "branded_podcast",
        }
    )
    default_episode_kind: str = "serialized_fiction"
    # kinds whose episodes must credit a narrator (E07 read by / E03 narrator)
    narrated_kinds: frozenset[str] = frozenset({"serialized_fiction"})
    # Megaphone cannot restrict territories: publish and report (a finding), or hold until cleared everywhere.
    unenforceable_territories: Literal["publish_and_report", "hold"] = "publish_and_report"
    spotify_link_role: str = "_26"  # inferred: ONIX website role of the Spotify link (exact code per publisher)
    # Internal notes (briefs, summaries, findings) are marketing texts updated in place with the
    # inferred `updateMarketingText`; "recreate" writes a new text instead where Consonance lacks it.
    internal_note_updates: Literal["update", "recreate"] = "update"
    # Which right types each kind of content requires, and Consonance's names for them (rights model).
    rights: RightsPolicy = Field(default_factory=RightsPolicy)
    # Contributor promotion: approval, headshots, author playlists and promo briefs (promotion_policy.py).
    promotion: PromotionPolicy = Field(default_factory=PromotionPolicy)
    # Branded audio for business: which products are licensed assets, where a licence's approval
    # comes from, when it is "expiring", and the brands' Spotify accounts (functions.domain.licence).
    branded: BrandedConfig = Field(default_factory=BrandedConfig)
