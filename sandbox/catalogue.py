"""The sandbox catalogue: the publisher's Consonance data the simulator serves, plus Megaphone settings and
a timeline of edits made during a run. The format is documented in docs/catalogue-format.md.

Field names are snake_case here; the simulator presents them under Consonance's GraphQL names
(e.g. `publishing_status` → `onixPublishingStatusCode`). Records are mutable on purpose: the simulator
applies mutations and timeline edits to its own deep copy.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SAMPLE_CATALOGUE_PATH = Path(__file__).parent / "catalogue" / "sample.json"

EntityKind = Literal["product", "work", "contract", "contributor", "series", "production_file"]


class CatalogueModel(BaseModel):
    """Strict: a misspelt field in a hand-written catalogue is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Publisher(CatalogueModel):
    name: str
    imprint: str | None = None


class ApiKey(CatalogueModel):
    """A Consonance API key the simulator accepts; `read` keys may query but not mutate."""

    key: str
    access: Literal["read", "read_write"] = "read_write"


class ContributorEntry(CatalogueModel):
    id: int
    name: str | None
    kind: Literal["person", "organisation"] = "person"
    changed_on: date | None = None
    # contributor promotion: the verified bio (HTML allowed) and the contact's tags
    biographical_note: str | None = None
    contact_tags: list[str] = Field(default_factory=list)


class SeriesEntry(CatalogueModel):
    id: int
    name: str
    changed_on: date | None = None


class SupportingResourceEntry(CatalogueModel):
    id: int
    variant: str
    url: str
    caption: str | None = None
    file_size: int | None = None
    filename: str | None = None
    created_at: datetime | None = None  # served as createdAt (non-null): records_changed_on when not given
    # contributor promotion: the resource's lifecycle status (inferred field) and its copyright line
    status: str | None = None
    copyright: str | None = None


class SubjectEntry(CatalogueModel):
    """A subject code of a work (Consonance's `subjectCodes`, inferred; BISAC codes also appear in `bisacs`
    when the work lists none of its own): campaign targeting and the listening analytics read them."""

    scheme: Literal["THEMA", "BISAC", "BIC"]
    code: str
    description: str | None = None
    main: bool = False


class WorkEntry(CatalogueModel):
    id: int
    title: str
    work_type: str | None = None
    series_id: int | None = None
    part_number: str | None = None
    supporting_resources: list[SupportingResourceEntry] = Field(default_factory=list)
    changed_on: date | None = None
    # contributor promotion: subject codes (interview topics in promo briefs)
    bics: list[str] = Field(default_factory=list)
    bisacs: list[str] = Field(default_factory=list)
    # marketing (campaign milestones): Consonance's work fields the milestone rules and targeting read
    subtitle: str | None = None
    marketing_tier: str | None = None
    season: str | None = None
    subjects: list[SubjectEntry] = Field(default_factory=list)
    audience_codes: list[str] = Field(default_factory=list)  # ONIX list 28


class LicensedRightEntry(CatalogueModel):
    id: int
    right_type: str
    author_cut: float = 0.0


class ContractEntry(CatalogueModel):
    id: int
    name: str
    work_ids: list[int]
    signed_date: date | None = None
    terminated_date: date | None = None
    licensed_rights: list[LicensedRightEntry] = Field(default_factory=list)
    changed_on: date | None = None
    notes: str | None = None
    # Branded-audio licences (docs/catalogue-format.md): the contract's party (Consonance's
    # `Contract.client`), why it was terminated early (a revocation), and its approval state (the
    # inferred `Contract.approvalStatus`).
    client: str | None = None
    termination_reason: str | None = None
    approval_status: str | None = None


class ContributionEntry(CatalogueModel):
    contributor_id: int
    role: str
    sequence: int


class ProductionFileEntry(CatalogueModel):
    id: int
    variant: str
    approval_status: str
    allow_distribution: str
    filename: str | None = None
    url: str | None = None
    file_size: int | None = None
    created_at: datetime | None = None


class ExtentEntry(CatalogueModel):
    """An ONIX extent of a product: list 23 type (09: duration), value, list 24 unit (06: seconds)."""

    type: str = "09"
    value: str
    unit: str = "06"


class MarketingTextEntry(CatalogueModel):
    """A marketing text on a work (and some of its products); the integration's internal notes are these."""

    id: int
    work_id: int | None = None
    product_ids: list[int] = Field(default_factory=list)
    external_markdown: str
    internal_markdown: str = ""
    variant: str | None = None


class WebLinkEntry(CatalogueModel):
    id: int
    link: str
    role: str
    description: str | None = None


class ProductEntry(CatalogueModel):
    id: int
    type: str = "ElectronicAudioProduct"
    work_id: int
    title: str | None
    subtitle: str | None = None
    isbn13: str | None = None
    publishing_status: str | None = None
    allow_onix_exports: bool = False
    publication_date: date | None = None
    planned_publication_date: date | None = None
    for_sale_worldwide: bool | None = None
    for_sale: list[str] = Field(default_factory=list)
    not_for_sale: list[str] = Field(default_factory=list)
    contributions: list[ContributionEntry] = Field(default_factory=list)
    description: str | None = None
    production_files: list[ProductionFileEntry] = Field(default_factory=list)
    extents: list[ExtentEntry] = Field(default_factory=list)
    web_links: list[WebLinkEntry] = Field(default_factory=list)
    changed_on: date | None = None
    notes: str | None = None

    @property
    def full_title(self) -> str:
        """Consonance's fullTitle: title and subtitle together (either alone when the other is missing;
        never a bare ": subtitle")."""
        return ": ".join(part for part in (self.title, self.subtitle) if part)


class MegaphonePodcastEntry(CatalogueModel):
    id: str
    title: str
    series_id: int


class MegaphoneSettings(CatalogueModel):
    network_id: str
    podcasts: list[MegaphonePodcastEntry] = Field(default_factory=list)

    def podcast_by_series(self) -> dict[str, str]:
        """Consonance series id → Megaphone podcast id (the shape of Settings.megaphone_podcasts)."""
        return {str(p.series_id): p.id for p in self.podcasts}


class TimelineEdit(CatalogueModel):
    """A scripted change to the catalogue, applied by the simulator when the virtual clock reaches it."""

    day: int = Field(ge=0)  # days after start_date (0 = the start date)
    at: time = time(9, 0)  # UTC
    action: Literal["update", "add"]
    entity: EntityKind
    id: int | None = None  # update: the record's id
    changes: dict[str, Any] = Field(default_factory=dict)  # update: field → new value
    record: dict[str, Any] | None = None  # add: the whole new record
    note: str = ""

    @model_validator(mode="after")
    def _action_has_what_it_needs(self) -> TimelineEdit:
        if self.action == "update" and (self.id is None or not self.changes):
            raise ValueError("an update needs `id` and `changes`")
        if self.action == "add" and (self.record is None or self.entity in ("production_file",)):
            raise ValueError("an add needs `record` (product, work, contract, contributor or series)")
        return self


class SpotifyTakedown(CatalogueModel):
    """A scripted takedown on the Spotify side (not made by the integration): Spotify stops offering
    the product's episode in `markets` (all markets when omitted) at that moment of the run."""

    day: int = Field(ge=0)
    at: time = time(10, 0)
    product_id: int
    markets: list[str] | None = None
    reason: str = "takedown on Spotify"


class MediaFileEntry(CatalogueModel):
    """What the file at a media URL of the catalogue is (the sandbox makes it, `sandbox.media_library`).

    A URL not described here gets a compliant file made from its name: a cover (JPEG/PNG, the size in
    a "-3000" suffix, else 1400 px) or a master (WAV/MP3/M4A of the product's stated running time)."""

    url: str
    # a cover: made by `sandbox.media.cover`
    width: int | None = None
    height: int | None = None
    image_format: Literal["JPEG", "PNG", "GIF", "WEBP"] | None = None
    mode: str = "RGB"
    grain: int = Field(default=0, ge=0, le=255)
    quality: int = Field(default=85, ge=1, le=95)
    # a master: made by `sandbox.media.wav` / `mp3` / `m4a` / `mp2`
    audio_format: Literal["wav", "mp3", "m4a", "mp2"] | None = None
    seconds: float | None = Field(default=None, gt=0)
    truncate_to: int | None = None  # a damaged upload: the file cut after this many bytes
    # the URL gives nothing (this status, for ever), or gives nothing to Megaphone only
    unreachable: Literal["404", "410", "403"] | None = None
    megaphone_refused: Literal["404", "410", "403"] | None = None
    note: str = ""


class SpotifyAccountEntry(CatalogueModel):
    """A Spotify user of the sandbox whose account the deployment authorises at the start of a run (a
    publisher's or brand's own account), under the deployment's name for it (`spotifyAccounts`)."""

    account: str
    user_id: str
    display_name: str
    allow_listed: bool = True  # development mode: listed in the app's dashboard (at most five users)


class SpotifyUnplayable(CatalogueModel):
    """An episode Spotify never makes playable (scripted on the Spotify side): answered with
    `is_playable: false`, or not found at all ("missing"), from the moment it reaches Spotify."""

    product_id: int
    how: Literal["not_playable", "missing"] = "not_playable"
    note: str = ""


class AdsManagerPublish(CatalogueModel):
    """A person publishing a title's validated campaign drafts in Ads Manager at that moment of the run
    (the integration validates drafts and leaves publishing to people unless configured otherwise)."""

    day: int = Field(ge=0)
    at: time = time(15, 0)
    work_id: int
    milestone: str


class AnalyticsScenario(CatalogueModel):
    """How the sandbox stages listening analytics (sandbox/listening.py): which shows opt in to the
    unofficial Spotify for Creators collection, which book works an audio series relates to, and the
    faults to play — days counted from the start date like the timeline's."""

    creators_series: list[int] = Field(default_factory=list)  # Consonance series whose Spotify show opts in
    related_books: dict[str, list[int]] = Field(default_factory=dict)  # audio series id -> book work ids
    missing_export_day: int | None = None  # Megaphone drops no file for this day
    overwritten_export_day: int | None = None  # this day's file arrives half-full first, then whole
    creators_login_expires_day: int | None = None  # the Creators session cookies stop working this day
    seed: int = 7


class Catalogue(CatalogueModel):
    publisher: Publisher
    start_date: date
    records_changed_on: date  # when every record without its own changed_on last changed
    # Keys the simulator accepts. The sandbox generates its own for every run; a catalogue file need
    # not (and the bundled one does not) carry any.
    api_keys: list[ApiKey] = Field(default_factory=list)
    contributors: list[ContributorEntry] = Field(default_factory=list)
    series: list[SeriesEntry] = Field(default_factory=list)
    works: list[WorkEntry] = Field(default_factory=list)
    contracts: list[ContractEntry] = Field(default_factory=list)
    products: list[ProductEntry] = Field(default_factory=list)
    marketing_texts: list[MarketingTextEntry] = Field(default_factory=list)
    megaphone: MegaphoneSettings
    timeline: list[TimelineEdit] = Field(default_factory=list)
    spotify_takedowns: list[SpotifyTakedown] = Field(default_factory=list)
    media: list[MediaFileEntry] = Field(default_factory=list)  # covers, masters and headshots (sandbox.media_library)
    spotify_accounts: list[SpotifyAccountEntry] = Field(default_factory=list)  # authorised at the start of a run
    spotify_unplayable: list[SpotifyUnplayable] = Field(default_factory=list)
    ads_manager_publishes: list[AdsManagerPublish] = Field(default_factory=list)  # people's clicks in Ads Manager
    analytics: AnalyticsScenario = Field(default_factory=AnalyticsScenario)

    @model_validator(mode="after")
    def _references_resolve(self) -> Catalogue:
        for name, ids in (
            ("contributor", [c.id for c in self.contributors]),
            ("series", [s.id for s in self.series]),
            ("work", [w.id for w in self.works]),
            ("contract", [c.id for c in self.contracts]),
            ("product", [p.id for p in self.products]),
            ("production file", [f.id for p in self.products for f in p.production_files]),
            ("web link", [link.id for p in self.products for link in p.web_links]),
        ):
            duplicates = [i for i, n in Counter(ids).items() if n > 1]
            if duplicates:
                raise ValueError(f"duplicate {name} ids: {duplicates}")
        contributors = {c.id for c in self.contributors}
        series = {s.id for s in self.series}
        works = {w.id for w in self.works}
        for work in self.works:
            if work.series_id is not None and work.series_id not in series:
                raise ValueError(f"work {work.id} is in unknown series {work.series_id}")
        for contract in self.contracts:
            if missing := set(contract.work_ids) - works:
                raise ValueError(f"contract {contract.id} covers unknown works {sorted(missing)}")
        for product in self.products:
            if product.work_id not in works:
                raise ValueError(f"product {product.id} belongs to unknown work {product.work_id}")
            if missing := {c.contributor_id for c in product.contributions} - contributors:
                raise ValueError(f"product {product.id} credits unknown contributors {sorted(missing)}")
        for podcast in self.megaphone.podcasts:
            if podcast.series_id not in series:
                raise ValueError(f"megaphone podcast {podcast.id} maps unknown series {podcast.series_id}")
        if missing := set(self.analytics.creators_series) - series:
            raise ValueError(f"analytics opts in unknown series {sorted(missing)}")
        return self

    def start_moment(self) -> datetime:
        """Midnight UTC of the start date: where the sandbox's virtual clock begins."""
        return datetime.combine(self.start_date, time(0, 0), tzinfo=timezone.utc)

    def due_at(self, edit: TimelineEdit | SpotifyTakedown | AdsManagerPublish) -> datetime:
        return datetime.combine(self.start_date + timedelta(days=edit.day), edit.at, tzinfo=timezone.utc)


def load_catalogue(path: Path | str = SAMPLE_CATALOGUE_PATH, *, parts: Sequence[str] | None = None) -> Catalogue:
    """The catalogue in `path`, with every part in the folder `<path stem>.d/` beside it merged in (sorted
    by file name): each part adds records to the lists and keys to the objects of the main file, so
    each capability's sample data (marketing titles, contributors, licences ...) lives in its own file.
    `parts` (file names) keeps only those parts: a capability's tests on its own sample data."""
    main = Path(path)
    document = json.loads(main.read_text(encoding="utf-8"))
    folder = main.with_name(f"{main.stem}.d")
    if folder.is_dir():
        for part in sorted(folder.glob("*.json")):
            if parts is not None and part.name not in parts:
                continue
            document = merge_catalogue_part(document, json.loads(part.read_text(encoding="utf-8")), part.name)
    return Catalogue.model_validate(document)


# Top-level lists of records with their own ids: a part's record whose id is already there adds fields
# to that record (a contributor's bio, say) instead of being a second record with the same id.
RECORD_LISTS = frozenset({"contributors", "series", "works", "contracts", "products", "marketing_texts"})


def merge_catalogue_part(base: Any, part: Any, where: str) -> Any:
    """Lists are extended, objects merged key by key; a part may not change a value the base sets. In
    the record lists (`RECORD_LISTS`), a part's record with an id the base has merges into that record."""
    if isinstance(base, dict) and isinstance(part, dict):
        merged = dict(base)
        for key, value in part.items():
            if key in RECORD_LISTS and key in base and isinstance(value, list):
                merged[key] = _merge_records(base[key], value, f"{where}: {key}")
            else:
                merged[key] = merge_catalogue_part(base[key], value, f"{where}: {key}") if key in base else value
        return merged
    if isinstance(base, list) and isinstance(part, list):
        return base + part
    if base != part:
        raise ValueError(f"catalogue part {where} changes a value the catalogue already sets ({base!r} -> {part!r})")
    return base


def _merge_records(base: list[Any], part: list[Any], where: str) -> list[Any]:
    merged = list(base)
    at = {record.get("id"): index for index, record in enumerate(base) if isinstance(record, dict)}
    for record in part:
        index = at.get(record.get("id")) if isinstance(record, dict) else None
        if index is None:
            merged.append(record)
        else:
            merged[index] = merge_catalogue_part(base[index], record, f"{where} #{record['id']}")
    return merged
