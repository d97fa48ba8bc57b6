"""The ledger's targets and the typed state each one keeps.

One ledger item per (entity, target). The item's common part (status, hashes, findings, history) is
`LedgerEntry`; what only one target needs lives in its own pydantic state model below, so nothing is
stored as a loose key in a free-form dict or packed into a string to be split again. `TargetSpec`
ties a target's stored name (`sk`) to its state model and the status vocabulary it uses; the ledger
reads and writes entries through a spec, so a caller always gets the state type it asked for.

Items written before typed state existed (an `attributes` dict, `target_ids` and `snapshot` beside
it) are read through each state model's `from_legacy`, and written back in the new shape.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, computed_field

from functions.distribution.models import DistributionNotice, DistributionProblem
from functions.domain.contributors import ContactDetails, Contributor, PromotedWork
from functions.domain.licence import BrandedAsset, LicenceChannel, LifecycleState
from functions.domain.marketing import MarketedTitle, MilestoneWindow
from functions.domain.models import Episode
from functions.preflight.results import PreflightResult
from functions.state.keys import EntityKind


class TargetState(BaseModel):
    """Base of every target's own state. Unknown keys are kept out (`extra="ignore"`) so an older
    reader survives a newer writer's additions."""

    model_config = ConfigDict(extra="ignore")

    @classmethod
    def from_legacy(cls, values: dict[str, Any]) -> TargetState:
        """The state of an item written before typed state (its `attributes`, `target_ids`, `snapshot`)."""
        return cls()


class LedgerStatus(StrEnum):
    """Where an episode stands with a delivery target (Megaphone)."""

    SEEN = "seen"  # known from Consonance, nothing pushed (not approved yet)
    HELD = "held"  # approved but a gate (release, rights, series rules) holds it back
    DRAFT = "draft"  # on Megaphone as a draft until its release date
    AWAITING_INGEST = "awaiting_ingest"  # pushed; Megaphone is still ingesting the audio
    DELIVERED = "delivered"  # live (or scheduled) on Spotify
    WITHDRAWN = "withdrawn"  # taken back to draft after being live
    FAILED = "failed"


class SourceStatus(StrEnum):
    """A source entry only records what Consonance says; it has one status."""

    SEEN = "seen"


class WritebackStatus(StrEnum):
    CURRENT = "current"  # Consonance shows what the integration last wanted it to show
    PENDING = "pending"  # a write was started; its outcome may be unknown


# ------------------------------------------------------------------------------------------- states
class EpisodeSourceState(TargetState):
    """What the poller last saw of an audio product in Consonance."""

    episode: Episode | None = None  # None when the record could not be mapped (see the entry's findings)
    rights_hash: str | None = None  # what clearance depends on, to tell rights changes apart

    # Saved with the state, so they are in its summary (`functions.state.ledger.summary_fields`): the
    # hourly reconciler needs these two facts of every source, not the whole episode.
    @computed_field  # type: ignore[prop-decorator]
    @property
    def mapped(self) -> bool:
        """Whether Consonance's record mapped to an episode."""
        return self.episode is not None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def series_id(self) -> int | None:
        """The series (and so the podcast) the episode belongs to, if any."""
        return self.episode.show.series_id if self.episode is not None and self.episode.show is not None else None

    @classmethod
    def from_legacy(cls, values: dict[str, Any]) -> EpisodeSourceState:
        snapshot = values.get("snapshot")
        attributes = values.get("attributes") or {}
        return cls(episode=Episode.model_validate(snapshot) if snapshot else None, rights_hash=attributes.get("rights_hash"))


class PushFlags(Protocol):
    """What says whether the integration has an episode published on Megaphone (a state or a view's part)."""

    @property
    def episode_id(self) -> str | None: ...
    @property
    def draft(self) -> bool | None: ...
    @property
    def withdraw_pending(self) -> bool: ...


def pushed_live(state: PushFlags) -> bool:
    """Published by the integration and not being withdrawn: what a takedown is measured against."""
    return state.episode_id is not None and state.draft is False and not state.withdraw_pending


class MegaphoneState(TargetState):
    """An episode's delivery to Megaphone (and through it to Spotify)."""

    podcast_id: str | None = None
    episode_id: str | None = None
    spotify_id: str | None = None
    draft: bool | None = None  # as last pushed; None before the first push
    audio_url: str | None = None  # the audio URL last pushed
    audio_pending: bool = False  # the last push changed the audio; Megaphone must ingest it
    pushed_fields: dict[str, Any] | None = None  # the wire fields last pushed (the dry run diffs them)
    release_date: date | None = None
    evaluated_source_hash: str | None = None  # the source hash the last decision was made on
    withdraw_pending: bool = False  # a withdrawal was decided and is being pushed: not believed live any more
    takedown_places: list[str] = Field(default_factory=list)  # takedowns already alerted ("worldwide" or markets)
    # Distribution requirements (issue 11): the last completed pre-flight (its media checks are reused
    # while the files are unchanged), and the audio URL Megaphone last failed to ingest (cleared by a
    # successful ingest or when another URL is pushed).
    preflight: PreflightResult | None = None
    ingest_failed_url: str | None = None

    @property
    def ids(self) -> dict[str, str]:
        """The ids Megaphone and Spotify gave the episode (only those known)."""
        known = {"podcast_id": self.podcast_id, "episode_id": self.episode_id, "spotify_id": self.spotify_id}
        return {name: value for name, value in known.items() if value}

    @property
    def on_megaphone(self) -> bool:
        return self.episode_id is not None

    @property
    def pushed_live(self) -> bool:
        """Published by the integration and not being withdrawn: what a takedown is measured against."""
        return pushed_live(self)

    @property
    def live(self) -> bool:
        """Live as far as the integration pushed it (a pending withdrawal still counts: it must be pushed)."""
        return self.on_megaphone and (self.draft is False or self.withdraw_pending)

    @classmethod
    def from_legacy(cls, values: dict[str, Any]) -> MegaphoneState:
        attributes = values.get("attributes") or {}
        ids = values.get("target_ids") or {}
        release = attributes.get("release_date")
        return cls(
            podcast_id=ids.get("podcast_id"),
            episode_id=ids.get("episode_id"),
            spotify_id=ids.get("spotify_id"),
            draft=attributes.get("draft"),
            audio_url=attributes.get("audio_url"),
            audio_pending=bool(attributes.get("audio_pending", False)),
            pushed_fields=attributes.get("pushed_fields"),
            release_date=date.fromisoformat(release) if release else None,
            takedown_places=list(attributes.get("takedown_alerted") or []),
        )


class DistributionStatus(StrEnum):
    CLEAR = "clear"  # nothing keeps the episode from Spotify (what Consonance shows says so)
    PROBLEMS = "problems"  # at least one distribution problem is open


class DistributionState(TargetState):
    """What the distribution feedback flow last concluded and told about one episode."""

    problems: list[DistributionProblem] = Field(default_factory=list)
    notices: list[DistributionNotice] = Field(default_factory=list)
    alerted: list[str] = Field(default_factory=list)  # problem keys already alerted (while they stay open)
    link_status: str | None = None  # the Spotify link status this flow wrote; restored once the problems clear
    note_written: bool = False  # a distribution note exists in Consonance (kept up to date from then on)
    checked_at: datetime | None = None


class WrittenLink(BaseModel):
    """A web link the integration keeps on a Consonance product."""

    link_id: int | None = None  # None until Consonance answered a create
    url: str
    status: str
    pending: bool = False  # a create/update was sent and its answer may have been lost


class WrittenText(BaseModel):
    """An internal marketing text the integration keeps on a Consonance work or product."""

    text_id: int | None = None
    content_hash: str
    pending: bool = False


class WritebackState(TargetState):
    """What the integration wrote onto one Consonance entity, by purpose (e.g. the Spotify link)."""

    links: dict[str, WrittenLink] = Field(default_factory=dict)
    texts: dict[str, WrittenText] = Field(default_factory=dict)

    @classmethod
    def from_legacy(cls, values: dict[str, Any]) -> WritebackState:
        return cls()


# -------------------------------------------------------------------------------------------- specs
State = TypeVar("State", bound=TargetState)


@dataclass(frozen=True)
class TargetSpec(Generic[State]):
    """A target as the ledger stores it: its `sk`, its state model, its statuses, the entity kinds."""

    name: str
    state: type[State]
    statuses: type[StrEnum]
    kinds: frozenset[EntityKind]
    initial_status: str

    registry: ClassVar[dict[tuple[EntityKind, str], TargetSpec[Any]]] = {}

    def __post_init__(self) -> None:
        for kind in self.kinds:
            known = TargetSpec.registry.get((kind, self.name))
            if known is not None and known != self:
                raise ValueError(f"target {self.name!r} for {kind.value} entities is declared twice")
            TargetSpec.registry[(kind, self.name)] = self

    @classmethod
    def of(cls, kind: EntityKind, name: str) -> TargetSpec[Any]:
        try:
            return cls.registry[(kind, name)]
        except KeyError:
            raise KeyError(f"no target {name!r} is declared for {kind.value} entities") from None


EPISODE_SOURCE: TargetSpec[EpisodeSourceState] = TargetSpec(
    "consonance", EpisodeSourceState, SourceStatus, frozenset({EntityKind.EPISODE}), SourceStatus.SEEN
)
MEGAPHONE: TargetSpec[MegaphoneState] = TargetSpec(
    "megaphone", MegaphoneState, LedgerStatus, frozenset({EntityKind.EPISODE}), LedgerStatus.SEEN
)
CONSONANCE_WRITEBACK: TargetSpec[WritebackState] = TargetSpec(
    "consonance-writeback",
    WritebackState,
    WritebackStatus,
    frozenset(EntityKind),
    WritebackStatus.CURRENT,
)
DISTRIBUTION: TargetSpec[DistributionState] = TargetSpec(
    "distribution", DistributionState, DistributionStatus, frozenset({EntityKind.EPISODE}), DistributionStatus.CLEAR
)


# ------------------------------------------------------------------------------ contributor promotion
class PromotionSourceStatus(StrEnum):
    """Whether a contributor, as last read from Consonance, may be promoted (the approval signal)."""

    PROMOTABLE = "promotable"
    NOT_PROMOTABLE = "not_promotable"


class WorkPromotionState(TargetState):
    """A work as the promotion poller last read it."""

    work: PromotedWork | None = None


class ContributorSourceState(TargetState):
    """A contributor as the promotion poller last assembled them, and the works that credit them."""

    contributor: Contributor | None = None
    contact: ContactDetails | None = None
    work_ids: list[int] = Field(default_factory=list)


class PlaylistStatus(StrEnum):
    NOT_CREATED = "not_created"  # promotable, but nothing on Spotify to hold yet (or not promotable)
    CURRENT = "current"  # the playlist on Spotify is what the integration last wanted
    FAILED = "failed"  # the last attempt failed; the next run tries again (see status_reason)
    ARCHIVED = "archived"  # no longer promotable: made private, kept (never deleted)


class PlaylistEpisode(BaseModel):
    """An episode on Spotify that an author playlist holds."""

    product_id: int
    spotify_id: str
    title: str
    series_id: int | None = None
    show: str | None = None
    release_date: date | None = None
    roles: list[str] = Field(default_factory=list)  # the contributor's credited roles on it


class AuthorPlaylistState(TargetState):
    """A promotable contributor's playlist on the publisher's Spotify account."""

    account: str | None = None
    playlist_id: str | None = None
    url: str | None = None
    name: str | None = None
    details_hash: str | None = None  # name, description and visibility as last set
    uris: list[str] = Field(default_factory=list)  # the items as last set
    snapshot_id: str | None = None  # the snapshot those items made
    cover_resource: str | None = None  # the headshot (resource id and URL) the cover was made from
    cover_sha256: str | None = None  # of the JPEG last uploaded
    episodes: list[PlaylistEpisode] = Field(default_factory=list)
    recreated: int = 0  # times the playlist was found deleted on Spotify and made again
    public: bool | None = None

    # Saved with the state, so it is in its summary: the hourly run compares every playlist's items
    # (a list, so not in the summary itself) by this hash, without reading the whole state.
    @computed_field  # type: ignore[prop-decorator]
    @property
    def uris_hash(self) -> str:
        """The items as last set, as one hash (`playlist_items_hash`)."""
        return playlist_items_hash(self.uris)


def playlist_items_hash(uris: list[str]) -> str:
    """A playlist's items, in order, as one short hash."""
    return hashlib.sha256("\n".join(uris).encode()).hexdigest()[:32]


class BriefStatus(StrEnum):
    CURRENT = "current"
    FAILED = "failed"


class BriefCampaign(BaseModel):
    """What a promo brief is for: a title's publication, or dates an operator gave."""

    campaign_id: str  # "publication-<work id>" or "operator-<starts>-<ends>"
    label: str
    starts_on: date
    ends_on: date
    work_id: int | None = None  # the title the campaign is about (None: the operator's range)


class BriefRecord(BaseModel):
    campaign: BriefCampaign
    inputs_hash: str
    document_key: str
    link: str


class PromoBriefsState(TargetState):
    """A contributor's promo briefs: one per campaign, each regenerated only when its inputs change."""

    briefs: dict[str, BriefRecord] = Field(default_factory=dict)
    requested: dict[str, BriefCampaign] = Field(default_factory=dict)  # operator campaigns, kept


class SpotifyShowState(TargetState):
    """The Spotify show a Consonance series is published as (found through one of its episodes)."""

    show_id: str | None = None
    url: str | None = None


CONTRIBUTOR_SOURCE: TargetSpec[ContributorSourceState] = TargetSpec(
    "promotion-contributor", ContributorSourceState, PromotionSourceStatus, frozenset({EntityKind.CONTRIBUTOR}), PromotionSourceStatus.NOT_PROMOTABLE
)
WORK_PROMOTION_SOURCE: TargetSpec[WorkPromotionState] = TargetSpec(
    "promotion-work", WorkPromotionState, SourceStatus, frozenset({EntityKind.WORK}), SourceStatus.SEEN
)
AUTHOR_PLAYLIST: TargetSpec[AuthorPlaylistState] = TargetSpec(
    "author-playlist", AuthorPlaylistState, PlaylistStatus, frozenset({EntityKind.CONTRIBUTOR}), PlaylistStatus.NOT_CREATED
)
PROMO_BRIEFS: TargetSpec[PromoBriefsState] = TargetSpec(
    "promo-briefs", PromoBriefsState, BriefStatus, frozenset({EntityKind.CONTRIBUTOR}), BriefStatus.CURRENT
)
SPOTIFY_SHOW: TargetSpec[SpotifyShowState] = TargetSpec(
    "spotify-show", SpotifyShowState, SourceStatus, frozenset({EntityKind.SERIES}), SourceStatus.SEEN
)


# -------------------------------------------------------------- branded audio (`licence#<product>`)
# One licence entity per branded product: its lifecycle (`licence`) and one target per delivery
# channel, each retried on its own (functions/domain/licence.py).
LICENCE_TRANSITIONS_KEPT = 50


class LicenceTransition(BaseModel):
    """One lifecycle state the licence entered, why, and when (the audit trail people read)."""

    state: LifecycleState
    reason: str
    at: datetime


class LicenceState(TargetState):
    """What the licence sweep last read from Consonance and decided."""

    asset: BrandedAsset | None = None
    episode: Episode | None = None  # the same product as an episode (what the channels deliver)
    licensee: str | None = None
    ends_on: date | None = None  # end of the window the state refers to (current, next or last)
    fingerprint: str | None = None  # state + licence content: what every channel must have acted on
    fingerprint_at: datetime | None = None  # since when (a channel still live past it + grace is alarmed)
    # The channels the licence allows (`channel_allowed`) as of its last evaluation: a function of the
    # fingerprint's inputs, so it is saved whenever they change. None: not evaluated since it existed.
    allowed_channels: list[LicenceChannel] | None = None
    expiry_alerted_for: list[date] = Field(default_factory=list)  # window ends already alerted (once each)
    transitions: list[LicenceTransition] = Field(default_factory=list)


class ChannelStatus(StrEnum):
    """Where a branded asset stands on one delivery channel."""

    NOT_DELIVERED = "not_delivered"  # never delivered on this channel
    LIVE = "live"
    HELD = "held"  # the licence allows it, something else holds it back (reason in the entry)
    WITHDRAWN = "withdrawn"  # was live, taken back


class ChannelState(TargetState):
    acted_on: str | None = None  # the licence fingerprint this channel last acted on
    live_since: datetime | None = None
    live_until: date | None = None  # the licence window's end while live
    withdrawn_at: datetime | None = None
    territories: list[str] = Field(default_factory=list)  # where it is live (the channel's own reach)


class BrandShowState(ChannelState):
    """Episodes of the licensee's branded show (Megaphone -> Spotify); the episode is the product's
    `megaphone` target, published through the publisher and its gate."""

    podcast_id: str | None = None
    episode_id: str | None = None
    spotify_id: str | None = None


class BrandPlaylistState(ChannelState):
    """The asset's episode as an item of its licensee's playlist on the brand's own Spotify account."""

    account: str | None = None
    playlist_id: str | None = None
    item_uri: str | None = None


class VenueDeliveryState(ChannelState):
    """The export package for a business-music provider: a manifest and its objects in S3."""

    manifest_key: str | None = None
    manifest_link: str | None = None
    objects: list[str] = Field(default_factory=list)  # package objects currently published
    expired_objects: list[str] = Field(default_factory=list)  # objects expired at the last withdrawal
    audio_url: str | None = None  # the master copied into the package (a new master is copied again)
    audio_sha256: str | None = None
    audio_size: int | None = None
    audio_content_type: str | None = None


LICENCE: TargetSpec[LicenceState] = TargetSpec(
    "licence", LicenceState, LifecycleState, frozenset({EntityKind.LICENCE}), LifecycleState.PENDING
)
BRAND_SHOW: TargetSpec[BrandShowState] = TargetSpec(
    "brand-show", BrandShowState, ChannelStatus, frozenset({EntityKind.LICENCE}), ChannelStatus.NOT_DELIVERED
)
BRAND_PLAYLIST: TargetSpec[BrandPlaylistState] = TargetSpec(
    "brand-playlist", BrandPlaylistState, ChannelStatus, frozenset({EntityKind.LICENCE}), ChannelStatus.NOT_DELIVERED
)
VENUE_DELIVERY: TargetSpec[VenueDeliveryState] = TargetSpec(
    "venue-delivery", VenueDeliveryState, ChannelStatus, frozenset({EntityKind.LICENCE}), ChannelStatus.NOT_DELIVERED
)
# Each channel's target, in one place (the sweep, the status write-back and the overview read them all).
CHANNEL_TARGETS: dict[LicenceChannel, TargetSpec[Any]] = {
    LicenceChannel.BRAND_SHOW: BRAND_SHOW,
    LicenceChannel.BRAND_PLAYLIST: BRAND_PLAYLIST,
    LicenceChannel.VENUE: VENUE_DELIVERY,
}


# ------------------------------------------------------------------ marketing (campaign milestones)
class TitleWatch(StrEnum):
    """Whether time alone may still put a title in a milestone (the detector's daily check reads these)."""

    WATCHING = "watching"  # a milestone window opens on a known future day
    SETTLED = "settled"  # only a change in Consonance can move it now (or it is not a marketed title)


class TitleSourceState(TargetState):
    """What the milestone detector last saw of a work as a marketed title."""

    title: MarketedTitle | None = None  # None: the work is not a marketed title (the status reason says why)
    next_boundary: date | None = None  # the next day a milestone window opens


class MilestoneStatus(StrEnum):
    REACHED = "reached"
    CANCELLED = "cancelled"  # the title's publishing status left the live ones


class MilestoneState(TargetState):
    """One title's milestone as announced (`MilestoneReached`): once per title and milestone, again only
    when it changed (a moved date, new inputs) or was cancelled."""

    title: MarketedTitle | None = None  # as last announced (a cancellation carries it)
    window: MilestoneWindow | None = None
    revision: int = 0  # goes up with every announcement; consumers ignore older ones
    announced_hash: str | None = None
    reached_on: date | None = None
    announced_on: date | None = None


class CampaignStatus(StrEnum):
    """Where a title's milestone campaign stands on the Ads API."""

    PLANNED = "planned"  # nothing written yet
    DRAFTING = "drafting"  # drafts being written (or waiting for their creatives to be ready)
    VALIDATED = "validated"  # valid drafts, waiting for a person to publish them in Ads Manager
    INVALID = "invalid"  # VALIDATE named problems (findings); a person or a new title version fixes them
    NEEDS_PERSON = "needs_person"  # nothing written: the segment, copy or creatives could not be derived
    LIVE = "live"  # published (by a person, or by the integration where the account allows it)
    STOPPED = "stopped"  # the title was cancelled: drafts deleted, a live campaign paused


# Where the planner has nothing left to do for a revision (the planner and the reconciler read this).
CAMPAIGN_SETTLED = frozenset(
    {CampaignStatus.VALIDATED, CampaignStatus.INVALID, CampaignStatus.NEEDS_PERSON, CampaignStatus.LIVE, CampaignStatus.STOPPED}
)


class DraftEntity(BaseModel):
    """An Ads API draft the integration wrote, and the hash of the body it last wrote."""

    id: str
    pushed_hash: str


class ValidationRecord(BaseModel):
    valid: bool
    hierarchy_version: int
    issues: list[str] = Field(default_factory=list)
    at: datetime


class AdsCampaignState(TargetState):
    """A title's milestone campaign on the Ads API: the drafts (by country for ad sets and ads), what
    they were written from, the last validation and the brief."""

    revision: int = 0  # the MilestoneReached revision last applied
    plan_hash: str | None = None  # the plan the drafts were last completed from
    campaign_id: str | None = None
    campaign_hash: str | None = None
    ad_sets: dict[str, DraftEntity] = Field(default_factory=dict)
    ads: dict[str, DraftEntity] = Field(default_factory=dict)
    validation: ValidationRecord | None = None
    live_status: str | None = None
    published_by: str | None = None  # "person" (Ads Manager) or "integration" (auto-publish)
    deleted_outside: bool = False  # a person deleted the drafts in Ads Manager: they are not recreated
    starts_on: date | None = None
    ends_on: date | None = None
    brief_key: str | None = None
    brief_link: str | None = None
    brief_hash: str | None = None


class CreativesStatus(StrEnum):
    KNOWN = "known"


class CreativeAsset(BaseModel):
    """One creative on the Ads API: its content hash (a new file is a new asset), id and state."""

    sha256: str
    name: str
    source_url: str  # where Consonance says the file is (fetched again only when it changes)
    asset_id: str | None = None  # None until the create was answered
    status: str = "creating"  # creating → WAITING_UPLOAD → PROCESSING → READY | ERROR (the API's words)
    detail: str = ""


class CreativesState(TargetState):
    """A title's creatives on the Ads API, shared by its milestones' ads (uploaded once per content)."""

    audio: CreativeAsset | None = None
    image: CreativeAsset | None = None


TITLE_SOURCE: TargetSpec[TitleSourceState] = TargetSpec(
    "consonance-title", TitleSourceState, TitleWatch, frozenset({EntityKind.WORK}), TitleWatch.WATCHING
)
MILESTONE: TargetSpec[MilestoneState] = TargetSpec(
    "milestone", MilestoneState, MilestoneStatus, frozenset({EntityKind.CAMPAIGN}), MilestoneStatus.REACHED
)
SPOTIFY_ADS: TargetSpec[AdsCampaignState] = TargetSpec(
    "spotify-ads", AdsCampaignState, CampaignStatus, frozenset({EntityKind.CAMPAIGN}), CampaignStatus.PLANNED
)
ADS_CREATIVES: TargetSpec[CreativesState] = TargetSpec(
    "spotify-ads-creatives", CreativesState, CreativesStatus, frozenset({EntityKind.WORK}), CreativesStatus.KNOWN
)


# ------------------------------------------------------------------------------- listening analytics
class ListeningStatus(StrEnum):
    """What a listening source delivered for one unit (an export day, a Creators show)."""

    INGESTED = "ingested"  # its figures are in the analytics store
    MISSING = "missing"  # expected and not delivered (an export day past its finalisation)
    REJECTED = "rejected"  # delivered but unusable (a corrupt or foreign file): dead-lettered with its reason
    LOGIN_EXPIRED = "login_expired"  # Spotify for Creators: the stored session no longer logs in


class ListeningState(TargetState):
    """The last intake of one unit: where it came from, what it gave, and when. Findings (unknown
    episodes, rejected lines, a missing day) live on the entry itself."""

    source: str = ""
    subject: str = ""  # the export day (YYYY-MM-DD) or the Creators show id
    origin: str | None = None  # the export object's key, or the API path
    rows: int = 0  # facts written
    downloads: int = 0  # Megaphone: deliveries counted as downloads
    lines_read: int = 0
    dropped: dict[str, int] = Field(default_factory=dict)  # why deliveries were not counted, by reason
    first_day: date | None = None  # Creators: the days collected last
    last_day: date | None = None
    requests: int = 0
    login_alerted_on: date | None = None  # Creators: the day operators were last told the login expired


LISTENING: TargetSpec[ListeningState] = TargetSpec(
    "analytics", ListeningState, ListeningStatus, frozenset({EntityKind.LISTENING}), ListeningStatus.INGESTED
)
