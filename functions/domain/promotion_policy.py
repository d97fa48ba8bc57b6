"""Contributor promotion, configured in one place: who may be promoted, where their verified details come
from in Consonance, and how author playlists and promo briefs are worded. Carried in
`MappingConfig.promotion`, so the deployment's `consonanceMapping` context (the `MAPPING` JSON) overrides
any of it, e.g. `{"promotion": {"approval_tag": "promote", "playlist_public": false}}`.

Inferred (Consonance documents none of these conventions; each is a setting a publisher sets to its own):
- approval is a contact tag (`Contact.contactTags` is free text): `approval_tag`;
- a headshot is a work-level supporting resource (Consonance has no image on a person) whose variant is
  `headshot_variant`, whose status is `approved_resource_status` and whose caption names the person;
- the subject codes a work carries (BIC, BISAC) read as interview topics through `subject_topics`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# A small default table of subject headings (BIC 2.1 and BISAC) a publisher's list typically uses; a
# code missing here is shown as the code itself. Publishers replace or extend it in the mapping.
DEFAULT_SUBJECT_TOPICS: dict[str, str] = {
    "FA": "modern and contemporary fiction",
    "FF": "crime and mystery",
    "FJ": "adventure",
    "FM": "fantasy",
    "FV": "historical fiction",
    "FYB": "short stories",
    "WN": "natural history",
    "WQH": "local history",
    "DC": "poetry",
    "BG": "biography",
    "FIC000000": "fiction",
    "FIC009000": "fantasy",
    "FIC019000": "literary fiction",
    "FIC022000": "mystery and detective fiction",
    "FIC014000": "historical fiction",
    "FIC029000": "short stories",
    "POE000000": "poetry",
    "BIO000000": "biography and memoir",
    "NAT000000": "nature",
}


class PromotionPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # who may be promoted, and their headshot
    approval_tag: str = "approved-for-promotion"  # inferred convention: a contact tag
    headshot_variant: str = "author_photo"  # inferred: the supporting resource variant of a person's photo
    approved_resource_status: str = "approved"  # inferred: SupportingResource.status when approved

    # author playlists on the publisher's own Spotify account
    playlist_account: str = "publisher"  # the spotifyAccounts name of the publisher's account
    # templates: `{name}` (the contributor's), `{bio}` (plain text), `{publisher}` (publisher_name)
    playlist_name_template: str = "{name}: interviews, readings and series"
    playlist_description_template: str = "{bio}"
    publisher_name: str = ""
    playlist_description_limit: int = Field(default=300, gt=0, le=300)  # Spotify: 300 characters
    playlist_public: bool = True
    playlist_min_episodes: int = Field(default=1, ge=1)  # no playlist for fewer (nothing to listen to)
    # Spotify's library is read to find playlists deleted in a Spotify app at least this often, even when
    # nothing changed; a run that changes a playlist reads it anyway.
    library_check_hours: int = Field(default=24, gt=0)
    cover_max_side: int = Field(default=1000, ge=300)  # playlist covers are shown small; 300 px at least
    cover_fetch_max_bytes: int = Field(default=25 * 1024 * 1024, gt=0)  # a headshot bigger than this is refused

    # promo briefs
    brief_bio_limit: int = Field(default=1500, gt=0)
    brief_description_limit: int = Field(default=400, gt=0)  # each book's short description
    brief_max_books: int = Field(default=6, gt=0)
    brief_max_topics: int = Field(default=6, gt=0)
    # publication campaigns: a title published from `campaign_lookback_days` ago to `campaign_lookahead_days`
    # ahead gets a brief, its campaign running `campaign_lead_days` before to `campaign_tail_days` after.
    campaign_lookback_days: int = Field(default=30, ge=0)
    campaign_lookahead_days: int = Field(default=180, ge=0)
    campaign_lead_days: int = Field(default=42, ge=0)
    campaign_tail_days: int = Field(default=28, ge=0)
    subject_topics: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_SUBJECT_TOPICS))
    brief_documents_prefix: str = "promo-briefs"
