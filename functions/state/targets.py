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

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from functions.domain.models import Episode
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

    @classmethod
    def from_legacy(cls, values: dict[str, Any]) -> EpisodeSourceState:
        snapshot = values.get("snapshot")
        attributes = values.get("attributes") or {}
        return cls(episode=Episode.model_validate(snapshot) if snapshot else None, rights_hash=attributes.get("rights_hash"))


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
    takedown_places: list[str] = Field(default_factory=list)  # takedowns already alerted ("worldwide" or markets)

    @property
    def ids(self) -> dict[str, str]:
        """The ids Megaphone and Spotify gave the episode (only those known)."""
        known = {"podcast_id": self.podcast_id, "episode_id": self.episode_id, "spotify_id": self.spotify_id}
        return {name: value for name, value in known.items() if value}

    @property
    def on_megaphone(self) -> bool:
        return self.episode_id is not None

    @property
    def live(self) -> bool:
        return self.on_megaphone and self.draft is False

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
