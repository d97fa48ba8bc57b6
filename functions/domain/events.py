"""Versioned domain events carried on the EventBridge bus.

The EventBridge `detail-type` names the event; `detail.schema_version` its version. A consumer accepts
only the versions it knows and rejects the rest with `UnknownEventVersion` (the record goes to the
dead-letter queue with that reason) instead of guessing at a shape it was not written for.
"""

from __future__ import annotations

from functions.state.keys import campaign_key, contributor_key, episode_key, licence_key, listening_key, series_key

import json

from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from functions.domain.errors import MalformedEvent, UnknownEventType, UnknownEventVersion
from functions.domain.contributors import Contributor
from functions.domain.marketing import MarketedTitle, MilestoneChange, MilestoneWindow
from functions.domain.models import Episode
from functions.domain.notices import AvailabilityNotice


class DomainEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    detail_type: ClassVar[str]
    schema_version: Literal[1] = 1
    correlation_id: str = ""

    def entity_key(self) -> str:
        """The ledger entity this event is about (`episode#123`, `series#7`)."""
        raise NotImplementedError


class EpisodeChanged(DomainEvent):
    """The poller saw real content change on an audio product (or first saw it)."""

    detail_type: ClassVar[str] = "EpisodeChanged"
    episode: Episode
    content_hash: str
    previous_hash: str | None = None

    def entity_key(self) -> str:
        return str(episode_key(self.episode.product_id))


class SeriesChanged(DomainEvent):
    """At least one episode of a series changed; its order and attribution need checking."""

    detail_type: ClassVar[str] = "SeriesChanged"
    series_id: int
    reason: str = "changed"

    def entity_key(self) -> str:
        return str(series_key(self.series_id))


class EpisodeReevaluationDue(DomainEvent):
    """Time, not Consonance, changed something: a release date arrived or a rights window opened/closed."""

    detail_type: ClassVar[str] = "EpisodeReevaluationDue"
    product_id: int
    reason: str
    due_at: datetime

    def entity_key(self) -> str:
        return str(episode_key(self.product_id))


class EpisodeDelivered(DomainEvent):
    """Megaphone finished ingesting the audio; the episode is live (or scheduled) on Spotify."""

    detail_type: ClassVar[str] = "EpisodeDelivered"
    product_id: int
    megaphone_episode_id: str
    podcast_id: str
    spotify_id: str | None = None
    status: str
    content_hash: str

    def entity_key(self) -> str:
        return str(episode_key(self.product_id))


class IngestCheckDue(DomainEvent):
    """The episode's audio should have been ingested by now: the flow that pushed it (the publisher,
    rights sync, the brand show) sends this straight to the ingest follow-up's queue, delayed by the
    expected ingest time, so the check runs then instead of at the ingest checker's next scheduled
    sweep (the safety net, every 15 minutes)."""

    detail_type: ClassVar[str] = "IngestCheckDue"
    product_id: int

    def entity_key(self) -> str:
        return str(episode_key(self.product_id))


class RightsChanged(DomainEvent):
    """The rights or sales territories of an episode changed in Consonance: recompute clearance."""

    detail_type: ClassVar[str] = "RightsChanged"
    product_id: int
    rights_hash: str

    def entity_key(self) -> str:
        return str(episode_key(self.product_id))


class RightsWindowDue(DomainEvent):
    """A clearance window opens or closes now, with no change in Consonance (time did it)."""

    detail_type: ClassVar[str] = "RightsWindowDue"
    product_id: int
    due_at: datetime
    reason: str

    def entity_key(self) -> str:
        return str(episode_key(self.product_id))


class AvailabilityChanged(DomainEvent):
    """Where an episode is live changed on the Spotify side (found by the monitor)."""

    detail_type: ClassVar[str] = "AvailabilityChanged"
    product_id: int
    channel: str  # "spotify" (Web API, per market) or "megaphone" (the episode's draft/status)
    territories: tuple[str, ...] = ()  # markets; empty with channel "megaphone" means everywhere
    live: bool
    reason: str
    observed_at: datetime
    takedown: bool = False  # went dark without this integration withdrawing it

    def entity_key(self) -> str:
        return str(episode_key(self.product_id))


class TakedownReported(DomainEvent):
    """A signed notice (webhook) says content was taken down, reinstated, or is live exactly where stated."""

    detail_type: ClassVar[str] = "TakedownReported"
    notice: AvailabilityNotice

    def entity_key(self) -> str:
        return self.notice.entity_key()


class DistributionChanged(DomainEvent):
    """Something that decides what Spotify's requirements say about an episode may have changed (a
    pre-flight verdict, a Megaphone ingest, Spotify's availability): the distribution feedback flow
    recomputes the episode's problems and brings Consonance and the operators up to date."""

    detail_type: ClassVar[str] = "DistributionChanged"
    product_id: int
    reason: str
    # The version the episode's Megaphone ledger entry has once the sender's write is done: the
    # sender announces before it writes (so a crash in between repeats the announcement rather than
    # losing it) and the consumer waits until the ledger has caught up. None: nothing to wait for.
    ledger_version: int | None = None

    def entity_key(self) -> str:
        return str(episode_key(self.product_id))


class LicenceChanged(DomainEvent):
    """A branded asset's licence changed in Consonance, or its lifecycle state moved with time (or a
    channel is out of step with it): every channel reconciles itself with the licence in the ledger."""

    detail_type: ClassVar[str] = "LicenceChanged"
    product_id: int
    state: str  # the lifecycle state (functions.domain.licence.LifecycleState)
    reason: str
    fingerprint: str

    def entity_key(self) -> str:
        return str(licence_key(self.product_id))


class LicenceChannelChanged(DomainEvent):
    """A branded asset went live on, or was withdrawn from, one delivery channel (or is held there)."""

    detail_type: ClassVar[str] = "LicenceChannelChanged"
    product_id: int
    channel: str  # functions.domain.licence.LicenceChannel
    status: str  # functions.state.targets.ChannelStatus
    reason: str = ""

    def entity_key(self) -> str:
        return str(licence_key(self.product_id))


class MilestoneReached(DomainEvent):
    """A title entered a marketing milestone (pre-order, publication, backlist promotion), or a milestone
    it reached changed (a moved date, new subjects, a new spot: `updated`) or ended (`cancelled`: its
    publishing status left the live ones). Once per title and milestone, then once per change;
    `revision` orders them, so a consumer ignores one older than what it applied."""

    detail_type: ClassVar[str] = "MilestoneReached"
    title: MarketedTitle
    milestone: str
    window: MilestoneWindow
    change: MilestoneChange
    revision: int = Field(ge=1)
    reached_on: date  # the day the title first entered it (campaign dates count from it, so updates keep them)
    content_hash: str

    def entity_key(self) -> str:
        return str(campaign_key(self.title.work_id, self.milestone))


EVENT_TYPES: dict[str, type[DomainEvent]] = {}
KNOWN_VERSIONS: dict[str, frozenset[int]] = {}


def register(event_type: type[DomainEvent], versions: frozenset[int] = frozenset({1})) -> type[DomainEvent]:
    """Make an event type parseable; registering records its known versions too, so a type
    registered later (a test's, a new flow's) is accepted by `parse_bus_envelope` like the built-ins."""
    EVENT_TYPES[event_type.detail_type] = event_type
    KNOWN_VERSIONS[event_type.detail_type] = versions
    return event_type


for _event_type in (
    EpisodeChanged,
    SeriesChanged,
    EpisodeReevaluationDue,
    EpisodeDelivered,
    IngestCheckDue,
    RightsChanged,
    RightsWindowDue,
    AvailabilityChanged,
    TakedownReported,
    DistributionChanged,
    LicenceChanged,
    LicenceChannelChanged,
):
    register(_event_type)
register(MilestoneReached)



# ------------------------------------------------------------------------------ contributor promotion
class ContributorChanged(DomainEvent):
    """The promotion poller saw a real change in what promotion uses of a contributor (their contact
    details or any work that credits them), for one who is promotable or was until now."""

    detail_type: ClassVar[str] = "ContributorChanged"
    contributor: Contributor
    content_hash: str
    previous_hash: str | None = None
    was_promotable: bool = False

    def entity_key(self) -> str:
        return str(contributor_key(self.contributor.contributor_id))


class AuthorPlaylistChanged(DomainEvent):
    """A contributor's author playlist was made, made again, or now holds other episodes."""

    detail_type: ClassVar[str] = "AuthorPlaylistChanged"
    contributor_id: int
    playlist_id: str
    playlist_url: str
    episode_count: int
    state_hash: str  # of what a promo brief reads from the playlist (its link and episodes)

    def entity_key(self) -> str:
        return str(contributor_key(self.contributor_id))


class PromoBriefRequested(DomainEvent):
    """An operator asked for a promo brief for a contributor over dates they chose (`infra.ops promo brief`)."""

    detail_type: ClassVar[str] = "PromoBriefRequested"
    contributor_id: int
    starts_on: date
    ends_on: date
    label: str = ""

    def entity_key(self) -> str:
        return str(contributor_key(self.contributor_id))


for _promotion_event in (ContributorChanged, AuthorPlaylistChanged, PromoBriefRequested):
    register(_promotion_event)

class BusEvent(BaseModel):
    """The EventBridge envelope as it arrives in an SQS message body."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    id: str
    detail_type: str = Field(alias="detail-type")
    source: str
    time: datetime
    detail: dict[str, Any]


def parse_bus_envelope(body: str | dict[str, Any], accept: tuple[type[DomainEvent], ...]) -> tuple[str, DomainEvent]:
    """The EventBridge event id (the same on every duplicate delivery) and the domain event."""
    try:
        envelope = BusEvent.model_validate_json(body) if isinstance(body, str) else BusEvent.model_validate(body)
    except ValidationError as exc:
        raise MalformedEvent(f"not an EventBridge event: {_first_error(exc)}") from exc
    allowed = {event_type.detail_type: event_type for event_type in accept}
    event_type = allowed.get(envelope.detail_type)
    if event_type is None:
        raise UnknownEventType(f"detail-type {envelope.detail_type!r} is not handled here")
    version = envelope.detail.get("schema_version")
    # a list or an object is not hashable: it must be rejected for this record, not crash the batch
    if isinstance(version, bool) or not isinstance(version, int) or version not in KNOWN_VERSIONS[envelope.detail_type]:
        raise UnknownEventVersion(
            f"{envelope.detail_type} schema_version {_shown(version)} is not supported "
            f"(known: {sorted(KNOWN_VERSIONS[envelope.detail_type])})"
        )
    try:
        # JSON mode: the detail arrived as JSON, and strict nested models (notices) accept ISO dates there
        return envelope.id, event_type.model_validate_json(json.dumps(envelope.detail))
    except ValidationError as exc:
        raise MalformedEvent(f"{envelope.detail_type} detail is invalid: {_first_error(exc)}") from exc


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    location = ".".join(str(part) for part in first.get("loc", ()))
    return f"{location}: {first.get('msg')}" if location else str(first.get("msg"))


def _shown(value: Any) -> str:
    """A version as it arrived, shortened: a number as itself, anything else quoted."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else repr(value)[:40]


# ------------------------------------------------------------------------------- listening analytics
class CreatorsCollectionDue(DomainEvent):
    """Collect one opted-in show's Spotify for Creators figures for [first_day, last_day] (the nightly
    analytics run emits one per show; the collector emits a continuation with the episode `buckets` it
    had no time left for, None meaning the show's own figures and every bucket)."""

    detail_type: ClassVar[str] = "CreatorsCollectionDue"
    show_id: str
    first_day: date
    last_day: date
    buckets: tuple[int, ...] | None = None

    def entity_key(self) -> str:
        return str(listening_key("spotify_creators", self.show_id))


register(CreatorsCollectionDue)
