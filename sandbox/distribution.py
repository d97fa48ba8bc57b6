"""What Megaphone does for real and the sandbox must do by hand: distribute to Spotify.

Each tick, episodes Megaphone has published (not draft, with a Spotify identifier) appear on the
simulated Spotify Web API in every market (Megaphone has no territories), under one Spotify show per
podcast; an episode Megaphone unpublishes (back to draft) disappears from Spotify. Scripted takedowns
(`Catalogue.spotify_takedowns`) are made on the Spotify side only, at their moment, and stay: the
bridge never republishes what Spotify itself took down. An episode the catalogue says Spotify never
makes playable (`Catalogue.spotify_unplayable`) reaches Spotify and stays unplayable there
(`SpotifyWebSimulator.leave_unplayable`).

Metadata Megaphone distributes — title, summary (as Spotify's plain-text description), publication
date, duration — is carried to an episode Spotify already has after `delay` of virtual time
(`DEFAULT_DISTRIBUTION_DELAY`, inferred, configurable: Spotify re-reads a Megaphone feed some minutes
after it changed); each further change on Megaphone restarts that wait, a change reverted before it
arrives never arrives. Availability itself (appearing, disappearing) still follows at the next tick:
the rights timeline measures how promptly the integration acts, not how fast Spotify re-reads.

Reading Megaphone's whole state (a deep copy of every episode) every virtual minute was a tenth of a
demo's wall time, so the bridge reads it only when it may have changed: after a write to Megaphone
(its `revision`: API writes and edits made on the simulator, e.g. a scripted takedown; reads change
nothing), at the moment a scheduled episode's pubdate arrives, at every tick while an audio ingest
runs (that is when a Spotify identifier appears), and at least every `resync_interval` besides.

It also keeps the rights timeline: every change of an episode's state on the simulated Spotify side
(live / draft / taken down), with the virtual time and the clearance that held at that moment.
"""

from __future__ import annotations

import hashlib
import html
import re
import string
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from functions.domain.clearance import compute_clearance
from functions.domain.territories import KNOWN_TERRITORIES
from functions.mapping_config import MappingConfig
from functions.state.keys import episode_key
from functions.state.ledger import SyncLedger
from functions.state.targets import EPISODE_SOURCE
from sandbox.catalogue import Catalogue, SpotifyTakedown
from sandbox.simulators.megaphone import MegaphoneSimulator
from sandbox.simulators.spotify_web import SpotifyWebSimulator

BASE62 = string.digits + string.ascii_letters
DEFAULT_DISTRIBUTION_DELAY = timedelta(minutes=10)  # inferred (no published figure): WorldOptions sets it
_TAGS = re.compile(r"<[^>]+>")


def _rails_moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def spotify_show_id(podcast_id: str) -> str:
    """A stable 22-character base62 Spotify id for a Megaphone podcast's show."""
    number = int.from_bytes(hashlib.sha256(podcast_id.encode()).digest(), "big")
    chars = []
    for _ in range(22):
        number, remainder = divmod(number, 62)
        chars.append(BASE62[remainder])
    return "".join(chars)


@dataclass(frozen=True)
class DistributedMetadata:
    """What Spotify shows of a Megaphone episode, in the Web API's terms."""

    name: str
    description: str
    release_date: date
    duration_ms: int

    @classmethod
    def of(cls, episode: dict[str, Any]) -> DistributedMetadata:
        summary = episode.get("summary") or ""
        return cls(
            name=episode["title"],
            description=html.unescape(_TAGS.sub("", summary)).strip(),
            release_date=date.fromisoformat(episode["pubdate"][:10]),
            duration_ms=int(round(float(episode.get("duration") or 0) * 1000)),
        )


@dataclass
class TimelineEntry:
    virtual_time: str
    product_id: int
    state: str  # live | draft | taken_down | absent
    spotify_id: str | None
    cleared_territories: int
    cleared_worldwide: bool
    clearance_note: str


@dataclass
class SpotifyDistribution:
    catalogue: Catalogue
    megaphone: MegaphoneSimulator
    spotify: SpotifyWebSimulator
    mapping: MappingConfig
    ledger: SyncLedger | None = None
    delay: timedelta = DEFAULT_DISTRIBUTION_DELAY
    resync_interval: timedelta = timedelta(hours=1)
    timeline: list[TimelineEntry] = field(default_factory=list)
    takedowns_applied: list[dict[str, Any]] = field(default_factory=list)
    _withdrawn_by_megaphone: set[str] = field(default_factory=set)
    _taken_down_by_spotify: dict[str, set[str]] = field(default_factory=dict)
    _last_state: dict[int, str] = field(default_factory=dict)
    _pending_takedowns: list[SpotifyTakedown] = field(default_factory=list)
    _on_spotify: dict[str, DistributedMetadata] = field(default_factory=dict)  # by Spotify id
    _in_transit: dict[str, tuple[datetime, DistributedMetadata]] = field(default_factory=dict)  # due, metadata
    _episodes: list[dict[str, Any]] = field(default_factory=list)  # Megaphone's episodes when last read
    _read_at: datetime | None = None
    _revision_seen: int = -1
    _states_recorded_for: tuple[list[dict[str, Any]], int] | None = None  # the listing and Spotify revision last recorded
    _reread_at: datetime | None = None  # the next moment time alone changes what Megaphone answers
    _unplayable: dict[str, Literal["not_playable", "missing"]] = field(default_factory=dict)  # by external id

    def __post_init__(self) -> None:
        podcasts = {p.id: p.title for p in self.catalogue.megaphone.podcasts}
        for podcast_id, title in podcasts.items():
            self.spotify.add_show(spotify_show_id(podcast_id), title, publisher=self.catalogue.publisher.name)
        self._pending_takedowns = sorted(self.catalogue.spotify_takedowns, key=self.catalogue.due_at)
        self._unplayable = {str(u.product_id): u.how for u in self.catalogue.spotify_unplayable}

    def tick(self, now: datetime) -> None:
        if self._megaphone_may_have_changed(now):
            self._read_megaphone(now)
            for episode in self._episodes:
                self._distribute(episode, now)
        self._deliver_metadata(now)
        self._apply_takedowns(now, self._episodes)
        self._record_states(now, self._episodes)

    def _megaphone_may_have_changed(self, now: datetime) -> bool:
        return (
            self._read_at is None
            or self.megaphone.revision != self._revision_seen
            or (self._reread_at is not None and now >= self._reread_at)
            or now - self._read_at >= self.resync_interval
        )

    def _read_megaphone(self, now: datetime) -> None:
        self._revision_seen = self.megaphone.revision
        self._episodes = self.megaphone.state()["episodes"]
        self._read_at = now
        moments = [
            now if episode.get("audioFileProcessing") else _rails_moment(episode.get("pubdate"))
            for episode in self._episodes
            if episode.get("audioFileProcessing") or (not episode.get("draft") and episode.get("status") == "scheduled")
        ]
        self._reread_at = min((moment for moment in moments if moment is not None), default=None)

    def _distribute(self, episode: dict[str, Any], now: datetime) -> None:
        spotify_id = episode.get("spotifyIdentifier")
        if not spotify_id:
            return
        published = not episode.get("draft") and episode.get("status") == "published"
        known = self.spotify.episodes.get(spotify_id)
        if published and (known is None or spotify_id in self._withdrawn_by_megaphone):
            metadata = DistributedMetadata.of(episode)
            self.spotify.publish_episode(
                spotify_id,
                spotify_show_id(episode["podcastId"]),
                metadata.name,
                KNOWN_TERRITORIES - self._taken_down_by_spotify.get(spotify_id, set()),
                metadata.release_date,
                description=metadata.description,
                duration_ms=metadata.duration_ms,
            )
            self._on_spotify[spotify_id] = metadata
            self._in_transit.pop(spotify_id, None)
            self._withdrawn_by_megaphone.discard(spotify_id)
            unplayable = self._unplayable.get(str(episode.get("externalId")))
            if unplayable is not None:
                self.spotify.leave_unplayable(spotify_id, unplayable)
        elif published and known is not None:
            self._follow_metadata(spotify_id, DistributedMetadata.of(episode), now)
        elif not published and known is not None and spotify_id not in self._withdrawn_by_megaphone:
            self.spotify.take_down(spotify_id)
            self._withdrawn_by_megaphone.add(spotify_id)

    def _follow_metadata(self, spotify_id: str, metadata: DistributedMetadata, now: datetime) -> None:
        """Megaphone's current metadata sets off (or restarts) its way to Spotify when it differs
        from what is there or on its way."""
        on_spotify = self._on_spotify.get(spotify_id)
        in_transit = self._in_transit.get(spotify_id)
        if metadata == on_spotify:
            self._in_transit.pop(spotify_id, None)  # changed back before it arrived
        elif in_transit is None or in_transit[1] != metadata:
            self._in_transit[spotify_id] = (now + self.delay, metadata)

    def _deliver_metadata(self, now: datetime) -> None:
        for spotify_id, (due, metadata) in list(self._in_transit.items()):
            if due <= now and spotify_id in self.spotify.episodes:
                self.spotify.update_episode(
                    spotify_id,
                    name=metadata.name,
                    description=metadata.description,
                    release_date=metadata.release_date,
                    duration_ms=metadata.duration_ms,
                )
                self._on_spotify[spotify_id] = metadata
                del self._in_transit[spotify_id]

    def _apply_takedowns(self, now: datetime, episodes: list[dict[str, Any]]) -> None:
        while self._pending_takedowns and self.catalogue.due_at(self._pending_takedowns[0]) <= now:
            takedown = self._pending_takedowns.pop(0)
            match = next((e for e in episodes if e.get("externalId") == str(takedown.product_id)), None)
            spotify_id = match.get("spotifyIdentifier") if match else None
            if spotify_id and spotify_id in self.spotify.episodes:
                self.spotify.take_down(spotify_id, takedown.markets)
                markets = set(takedown.markets) if takedown.markets else set(KNOWN_TERRITORIES)
                self._taken_down_by_spotify[spotify_id] = self._taken_down_by_spotify.get(spotify_id, set()) | markets
                applied = True
            else:
                applied = False
            self.takedowns_applied.append(
                {
                    "virtual_time": now.isoformat(),
                    "product_id": takedown.product_id,
                    "markets": takedown.markets or "all",
                    "reason": takedown.reason,
                    "applied": applied,
                }
            )

    def _record_states(self, now: datetime, episodes: list[dict[str, Any]]) -> None:
        # An episode's state comes from Megaphone's listing (a new list at each read) and the Spotify
        # simulator's episodes (changed only through its counted methods): unchanged, nothing to record.
        last = self._states_recorded_for
        if last is not None and last[0] is episodes and last[1] == self.spotify.revision:
            return
        self._states_recorded_for = (episodes, self.spotify.revision)
        for episode in episodes:
            external_id = episode.get("externalId")
            if not external_id or not external_id.isdigit():
                continue
            product_id = int(external_id)
            state = self._state_of(episode)
            if self._last_state.get(product_id) == state:
                continue
            self._last_state[product_id] = state
            territories, note = self._clearance_on(product_id, now.date())
            self.timeline.append(
                TimelineEntry(
                    virtual_time=now.isoformat(),
                    product_id=product_id,
                    state=state,
                    spotify_id=episode.get("spotifyIdentifier"),
                    cleared_territories=territories,
                    cleared_worldwide=territories == len(KNOWN_TERRITORIES),
                    clearance_note=note,
                )
            )

    def _state_of(self, episode: dict[str, Any]) -> str:
        if episode.get("draft") or episode.get("status") != "published":
            return "draft"
        spotify_id = episode.get("spotifyIdentifier")
        known = self.spotify.episodes.get(spotify_id) if spotify_id else None
        if known is None:
            return "draft"
        return "live" if known.markets else "taken_down"

    def _clearance_on(self, product_id: int, day: date) -> tuple[int, str]:
        if self.ledger is None:
            return 0, "ledger not available"
        source = self.ledger.get(episode_key(product_id), EPISODE_SOURCE)
        episode = source.state.episode if source else None
        if episode is None:
            return 0, "no source snapshot"
        clearance = compute_clearance(episode, self.mapping.rights)
        live = clearance.territories_on(day)
        upcoming = clearance.next_change_after(day)
        where = "worldwide" if len(live) == len(KNOWN_TERRITORIES) else (", ".join(sorted(live)[:6]) + ("…" if len(live) > 6 else "") or "nowhere")
        return len(live), f"cleared {where} on {day}" + (f"; next change {upcoming}" if upcoming else "")
