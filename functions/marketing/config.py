"""Everything the marketing flows are configured with, validated in one pydantic model at cold start
(`MARKETING` environment JSON from the CDK context key `marketing`). Unknown keys are refused, so a
typo stops `make synth` (or the first invocation) with its name instead of being ignored.

The milestone rules and the targeting table default to the data files in `rules/`; a deployment
replaces either whole (`{"milestones": {...}}`, `{"targeting": {...}}`). Settings marked inferred
cover Consonance facts the transcribed schema does not show; each has a value that works without them.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from functions.domain.models import Frozen
from functions.marketing.milestones import MilestoneRules
from functions.marketing.targeting import CountryChoice, TargetingTable

RULES_DIRECTORY = Path(__file__).parent / "rules"
SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")

# Ad Studio's markets (ads.spotify.com help centre), the big English-language ones first: which
# countries the Ads API accepts for targeting is not published, so the list is a setting (inferred).
DEFAULT_COUNTRIES: tuple[str, ...] = (
    "GB", "US", "CA", "AU", "NZ", "DE", "FR", "NL", "SE", "NO", "DK", "FI", "AT", "ES", "IT", "MX",
    "SG", "NG", "KE", "GH", "TZ", "UG", "JM", "TT", "BB", "BZ", "GY",
)  # fmt: skip


@cache
def _default_rules() -> MilestoneRules:
    return MilestoneRules.model_validate_json((RULES_DIRECTORY / "milestones.json").read_text(encoding="utf-8"))


@cache
def _default_targeting() -> TargetingTable:
    return TargetingTable.model_validate_json((RULES_DIRECTORY / "targeting.json").read_text(encoding="utf-8"))


class MarketingConfig(Frozen):
    milestones: MilestoneRules = Field(default_factory=_default_rules)
    targeting: TargetingTable = Field(default_factory=_default_targeting)
    countries: CountryChoice = Field(default_factory=lambda: CountryChoice(countries=DEFAULT_COUNTRIES))
    # Which Consonance products make a work a marketed title (its book editions), in lead order: the
    # first with a date gives the title its dates, status and territories.
    title_product_types: tuple[str, ...] = Field(default=("PhysicalBookProduct", "ElectronicBookProduct"), min_length=1)
    # The author-promotion audio spot: a production file of this variant, approved (inferred names).
    audio_spot_variant: str = "author_promo_spot"
    audio_spot_statuses: frozenset[str] = frozenset({"approved"})
    cover_variant: str = "cover_image"  # the work's supporting resource that is its cover (inferred)
    # Consonance's subject codes with their `main` flag come from `Work.subjectCodes` (inferred:
    # the official examples use it, the transcribed schema lacks it); "bisac_list" reads the schema's
    # `Work.bisacs` instead (the first code taken as the main one).
    subject_source: Literal["subject_codes", "bisac_list"] = "subject_codes"
    # ONIX audience codes from `Work.onixContentAudienceCodes` (inferred); "subjects" reads none and
    # takes the age ranges the matched subjects carry (young adult, children's).
    audience_source: Literal["work_codes", "subjects"] = "work_codes"
    # The ads say who advertises: the publisher or imprint (shortened to the Ads API's 25 characters).
    advertiser_name: str | None = Field(default=None, min_length=2, max_length=100)
    # Where the call to action sends listeners: the lead product's web link with this ONIX role
    # (list 73: 02 = the publisher's page for the work), else this template ({isbn13}, {work_id}).
    landing_page_role: str = "_02"
    landing_page_template: str | None = None
    # The publisher's own podcast that goes with a title (Spotify show id), for PODCAST_PROMO ads.
    companion_shows: dict[int, str] = Field(default_factory=dict)
    campaign_lead_days: int = Field(default=1, ge=1, le=30)  # days a person has to review before a campaign starts
    max_spot_seconds: float = Field(default=30.0, gt=0)  # Spotify's audio ads: at most 30 s
    companion_side: int = Field(default=640, ge=300, le=3000)  # the square companion image's side (px)
    ad_language: str = "ENGLISH"
    category: str = Field(default="ADV_21_182", pattern=r"^ADV_\d{1,2}_\d{1,3}$")  # Books and Literature
    name_prefix: str = Field(default="cs", pattern=r"^[a-z]{1,8}$")

    @field_validator("companion_shows")
    @classmethod
    def _show_ids(cls, value: dict[int, str]) -> dict[int, str]:
        if bad := sorted(show for show in value.values() if not SPOTIFY_ID.match(show)):
            raise ValueError(f"not Spotify show ids (22 letters and digits): {bad}")
        return value

    @classmethod
    def from_json(cls, text: str | None) -> MarketingConfig:
        return cls.model_validate(json.loads(text)) if text else cls()

    def landing_page(self, isbn13: str | None, work_id: int) -> str | None:
        if self.landing_page_template is None:
            return None
        if "{isbn13}" in self.landing_page_template and not isbn13:
            return None
        return self.landing_page_template.format(isbn13=isbn13 or "", work_id=work_id)
