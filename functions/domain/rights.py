"""The rights model: which rights a kind of content needs, and how Consonance's rights map onto it.

One configurable place (`RightsPolicy`, carried in `MappingConfig.rights`, so the `MAPPING` env JSON
overrides it) decides
- the canonical right types the integration knows (`audio_adaptation`, `narration`, `music_use`, and
  the branded-audio delivery channels `brand_show`, `brand_playlist`, `venue_delivery`, which a
  licence contract grants and no kind of content requires);
- which of them every kind of episode requires (serialized fiction needs the audio adaptation and a
  narrator agreement; companion and branded podcasts need the adaptation and music use; an author
  interview only the adaptation);
- how the free-text `rightType` strings of Consonance contracts map to those types (`aliases`; the
  comparison ignores case, spaces, hyphens and underscores, so "Audio adaptation", "audio-adaptation"
  and "AUDIO_ADAPTATION" are one key).

How Consonance maps onto the domain (`functions.domain.models`):
- `RightGrant` — one per licensed right of a contract that covers the work: `Contract.licensedRights[]
  .rightType` gives `right_type` (raw; `RightsPolicy.canonical_right_type` resolves it, and an unknown
  type becomes a blocking finding rather than being dropped), `Contract.id` the `contract_id`, and the
  contract's `[signedDate, terminatedDate)` the half-open window (a missing date leaves that side open).
  A grant's own `territories` narrow that right; `None` means the product's sales territories apply.
  Consonance's documented `LicensedRight` has no territory of its own (only `rightType`, `authorCut`),
  so the mapping leaves `territories` as None unless a publisher's contract data says otherwise.
- `Episode.territories` — the product's `isForSaleWorldwide` (worldwide), `forSaleCountryCodes`
  (included) and `notForSaleCountryCodes` (excluded), ONIX country codes = ISO 3166-1 alpha-2.
- narrator agreements are contracts whose licensed right is narration; the narrator's credit itself
  (contribution role E07/E03) is checked by the series rules, not here.

Clearance (where and when content may be live) is computed from these in `functions.domain.clearance`.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from functions.domain.models import EpisodeKind

AUDIO_ADAPTATION = "audio_adaptation"
NARRATION = "narration"
MUSIC_USE = "music_use"
# Delivery channels a branded-audio licence grants (functions.domain.licence): known right types, so a
# licence contract's channel rights are never "unknown", but no kind of content requires them.
BRAND_SHOW = "brand_show"
BRAND_PLAYLIST = "brand_playlist"
VENUE_DELIVERY = "venue_delivery"
CHANNEL_RIGHT_TYPES = frozenset({BRAND_SHOW, BRAND_PLAYLIST, VENUE_DELIVERY})


def alias_key(raw: str) -> str:
    """The comparison key of a right-type string: case, spaces, hyphens and underscores do not count."""
    return re.sub(r"[\s_\-]+", "", raw).casefold()


def _default_required() -> dict[EpisodeKind, tuple[str, ...]]:
    return {
        EpisodeKind.SERIALIZED_FICTION: (AUDIO_ADAPTATION, NARRATION),
        EpisodeKind.COMPANION_PODCAST: (AUDIO_ADAPTATION, MUSIC_USE),
        EpisodeKind.AUTHOR_INTERVIEW: (AUDIO_ADAPTATION,),
        EpisodeKind.BRANDED_PODCAST: (AUDIO_ADAPTATION, MUSIC_USE),
    }


def _default_aliases() -> dict[str, str]:
    return {
        "Audio adaptation": AUDIO_ADAPTATION,
        "Audio adaptation rights": AUDIO_ADAPTATION,
        "Audio rights": AUDIO_ADAPTATION,
        "Audio": AUDIO_ADAPTATION,
        "Audiobook rights": AUDIO_ADAPTATION,
        "Dramatisation rights": AUDIO_ADAPTATION,
        "Narration": NARRATION,
        "Narrator agreement": NARRATION,
        "Narration rights": NARRATION,
        "Reading rights": NARRATION,
        "Music use": MUSIC_USE,
        "Music usage": MUSIC_USE,
        "Music permission": MUSIC_USE,
        "Music licence": MUSIC_USE,
        "Music license": MUSIC_USE,
        "Synchronisation rights": MUSIC_USE,
        "Brand show": BRAND_SHOW,
        "Branded show": BRAND_SHOW,
        "Branded podcast distribution": BRAND_SHOW,
        "Brand playlist": BRAND_PLAYLIST,
        "Brand playlists": BRAND_PLAYLIST,
        "Venue delivery": VENUE_DELIVERY,
        "Business music delivery": VENUE_DELIVERY,
        "In-venue delivery (third party)": VENUE_DELIVERY,
    }


class RightsPolicy(BaseModel):
    """Required right types per kind of content, the known types, and Consonance's names for them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    known_right_types: frozenset[str] = frozenset({AUDIO_ADAPTATION, NARRATION, MUSIC_USE}) | CHANNEL_RIGHT_TYPES
    required: dict[EpisodeKind, tuple[str, ...]] = Field(default_factory=_default_required)
    # Consonance `rightType` string -> canonical type. Canonical names are always their own alias.
    aliases: dict[str, str] = Field(default_factory=_default_aliases)

    @field_validator("required", mode="before")
    @classmethod
    def _over_defaults(cls, value: object) -> object:
        """Configuring one kind keeps the defaults of the others (set a kind to [] to require nothing)."""
        return {**_default_required(), **value} if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _types_are_known(self) -> "RightsPolicy":
        unknown_required = {t for types in self.required.values() for t in types} - self.known_right_types
        if unknown_required:
            raise ValueError(f"required right types are not known types: {sorted(unknown_required)}")
        unknown_targets = set(self.aliases.values()) - self.known_right_types
        if unknown_targets:
            raise ValueError(f"aliases point at unknown right types: {sorted(unknown_targets)}")
        keys: dict[str, str] = {}
        for raw, target in self.aliases.items():
            previous = keys.setdefault(alias_key(raw), target)
            if previous != target:
                raise ValueError(f"alias {raw!r} maps to {target!r} and, written differently, to {previous!r}")
        return self

    def required_for(self, kind: EpisodeKind) -> tuple[str, ...]:
        """The right types that must all hold for content of this kind (none configured: none needed)."""
        return self.required.get(kind, ())

    def canonical_right_type(self, raw: str) -> str | None:
        """The canonical type of a Consonance `rightType` string, or None when it is not known."""
        key = alias_key(raw)
        for known in self.known_right_types:
            if alias_key(known) == key:
                return known
        for alias, target in self.aliases.items():
            if alias_key(alias) == key:
                return target
        return None
