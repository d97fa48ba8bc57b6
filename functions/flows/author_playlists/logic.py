"""Keeps one playlist per promotable author on the publisher's Spotify account in step with what they
should hold (`plan.py`), touching Spotify only where something differs.

Each run:
1. From the ledger alone: the promotable contributors (the promotion poller's entries), the episodes on
   Spotify, and each author's desired playlist. Those inputs are read as views (`functions.state.ledger`:
   only the state fields used, without history or findings), and so are the playlists' own entries
   (`PLAYLISTS`: what tells whether one is in step, to be archived or has nothing to hold yet); an
   entry is read whole only when it is to be changed (step 3). An author whose playlist already is
   what is wanted — same details, items, cover source — needs nothing: no call to Spotify.
2. If any author needs something, or the library check is due (`library_check_hours`), the account's
   library is read once (`GET /me/playlists`): it gives every playlist's snapshot id, and shows which
   of our playlists are gone — deleted in a Spotify app (unfollowed by the owner) or removed by Spotify.
3. Per author, on its own (one author's failure never stops another's):
   - no playlist yet, or ours is gone: create it (`POST /me/playlists`). The intent is kept in the
     ledger first (`pending_create`): after a crash, a playlist of that name in the library is adopted
     instead of making a second. A playlist found gone is made again — once — and reported (an
     operator alert and a finding on the author's entry);
   - details (name, description, visibility) changed: `PUT /playlists/{id}`;
   - items: when the library's snapshot id is the one our last write produced, the playlist holds what
     we last set and is compared with that; otherwise (someone edited it in an app) its items are read.
     Replaced (`/playlists/{id}/items`) only when they differ from what is wanted;
   - cover: only when the headshot changed. It is fetched, and converted to a JPEG under 256 KB
     (`cover.py`) and uploaded only when its bytes differ from the image last used. A headshot that
     cannot be used is a finding, not a failure, and is not fetched again until it changes.
   - a contributor no longer promotable keeps the playlist (nothing is deleted) but it is made private.
4. A playlist whose link or episodes changed is announced (`AuthorPlaylistChanged`): promo briefs
   list it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from functions.alerts import Alert
from functions.connectors.errors import AuthenticationFailed
from functions.connectors.media import MediaFetcher, MediaTooLarge, MediaUnreachable
from functions.connectors.spotify_auth import AuthorisationLost
from functions.connectors.spotify_playlists import Playlist, SpotifyPlaylistsClient
from functions.domain.errors import PermanentError, TransientError
from functions.domain.events import AuthorPlaylistChanged
from functions.domain.contributors import Contributor
from functions.domain.models import Finding
from functions.domain.promotion_policy import PromotionPolicy
from functions.event_bus import EventBus
from functions.flow_names import FlowName
from functions.flows.author_playlists.cover import CoverImageUnusable, playlist_cover
from functions.flows.author_playlists.plan import DesiredPlaylist, LiveEpisode, PlaylistSourceEpisode, desired_playlist
from functions.state.availability import AvailabilityStore
from functions.state.cursors import CursorStore
from functions.state.keys import EntityKey, contributor_key
from functions.state.ledger import EntryView, LedgerEntry, StatePart, SyncLedger, TargetView, new_entry
from functions.state.targets import (
    AUTHOR_PLAYLIST,
    CONTRIBUTOR_SOURCE,
    EPISODE_SOURCE,
    MEGAPHONE,
    AuthorPlaylistState,
    LedgerStatus,
    PlaylistStatus,
    PromotionSourceStatus,
)

CURSOR = "author-playlists"
RECREATED = "playlist_recreated"
COVER_UNUSABLE = "playlist_cover_unusable"


class PromotableContributor(StatePart):
    contributor: Contributor | None = None  # not their contact details or works: the playlist needs neither


class DeliveredSpotifyId(StatePart):
    spotify_id: str | None = None


class SourceEpisode(StatePart):
    episode: PlaylistSourceEpisode | None = None


class PlaylistFacts(StatePart):
    """What a run compares of an author's playlist entry (with its status and pending create): whether
    it is in step (`_in_step`), is to be archived, or has nothing to hold yet. Why: almost every run
    finds every playlist in step, and the whole entry carries its episodes and history besides."""

    playlist_id: str | None = None
    details_hash: str | None = None
    uris_hash: str = ""  # computed from the items (`AuthorPlaylistState.uris_hash`): in the summary, unlike them
    cover_resource: str | None = None


CONTRIBUTORS = TargetView(CONTRIBUTOR_SOURCE, PromotableContributor)
DELIVERIES = TargetView(MEGAPHONE, DeliveredSpotifyId)
SOURCES = TargetView(EPISODE_SOURCE, SourceEpisode)
PLAYLISTS = TargetView(AUTHOR_PLAYLIST, PlaylistFacts)
PlaylistView = EntryView[PlaylistFacts]


class AlertSink(Protocol):
    """Where operator alerts go (`functions.alerts.AlertPublisher`)."""

    def publish(self, alert: Alert) -> str | None: ...


@dataclass
class PlaylistDeps:
    ledger: SyncLedger
    cursors: CursorStore
    availability: AvailabilityStore
    playlists: Callable[[str], SpotifyPlaylistsClient]  # the client of a Spotify account, by name
    media: MediaFetcher
    bus: EventBus
    alerts: AlertSink
    policy: PromotionPolicy


@dataclass
class PlaylistRunOutcome:
    promotable: int = 0
    unchanged: int = 0
    library_read: bool = False
    created: list[int] = field(default_factory=list)
    recreated: list[int] = field(default_factory=list)
    details_updated: list[int] = field(default_factory=list)
    items_replaced: list[int] = field(default_factory=list)
    items_read: list[int] = field(default_factory=list)
    covers_uploaded: list[int] = field(default_factory=list)
    archived: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def sync_playlists(deps: PlaylistDeps, now: datetime) -> PlaylistRunOutcome:
    outcome = PlaylistRunOutcome()
    promotable = {
        e.key.number: e.state.contributor
        for e in deps.ledger.views_by_status(CONTRIBUTORS, PromotionSourceStatus.PROMOTABLE)
        if e.state.contributor is not None
    }
    outcome.promotable = len(promotable)
    live = _live_episodes(deps)
    views = deps.ledger.get_views([contributor_key(c) for c in promotable], PLAYLISTS)
    desired: DesiredPlaylist | None  # None: the contributor no longer needs a playlist
    for status in (PlaylistStatus.CURRENT, PlaylistStatus.FAILED):
        for view in deps.ledger.views_by_status(PLAYLISTS, status):
            views.setdefault(view.key, view)
    work: list[tuple[PlaylistView, DesiredPlaylist | None]] = []
    due: set[EntityKey] = set()  # the playlists not in step: to archive, make or change
    for key, view in sorted(views.items(), key=lambda item: item[0].number):
        contributor = promotable.get(key.number)
        if contributor is None:  # no longer promotable: archived (made private), never deleted
            if view.status is not PlaylistStatus.ARCHIVED and view.state.playlist_id:
                work.append((view, None))
                due.add(key)
            continue
        desired = desired_playlist(contributor, live, deps.policy)
        if view.state.playlist_id is None and view.pending_create is None and len(desired.episodes) < deps.policy.playlist_min_episodes:
            continue  # nothing on Spotify to hold yet
        if _in_step(view, desired):
            outcome.unchanged += 1
        else:
            due.add(key)
        work.append((view, desired))
    for contributor_id in sorted(set(promotable) - {key.number for key in views}):
        desired = desired_playlist(promotable[contributor_id], live, deps.policy)
        if len(desired.episodes) >= deps.policy.playlist_min_episodes:
            work.append((PLAYLISTS.of(new_entry(contributor_key(contributor_id), AUTHOR_PLAYLIST)), desired))
            due.add(contributor_key(contributor_id))
    cursor = deps.cursors.get(CURSOR) or {}
    checked = cursor.get("library_checked_at")
    check_due = checked is None or now - datetime.fromisoformat(checked) >= timedelta(hours=deps.policy.library_check_hours)
    if not due and not (check_due and any(view.state.playlist_id for view, _ in work)):
        return outcome
    client = deps.playlists(deps.policy.playlist_account)
    run = _Run(client, {p.id: p for p in client.my_playlists()}, deps, outcome)
    outcome.library_read = True
    deps.cursors.put(CURSOR, {**cursor, "library_checked_at": now.isoformat()})
    todo = [(view, desired) for view, desired in work if view.key in due or _gone(view, run.library)]
    # Only the entries to be changed are read whole; one not saved yet (version 0) is a new entry.
    entries = deps.ledger.get_many([view.key for view, _ in todo if view.version], AUTHOR_PLAYLIST)
    for view, desired in todo:
        entry = entries.get(view.key) or new_entry(view.key, AUTHOR_PLAYLIST)
        try:
            if desired is None:
                run.archive(entry)
            else:
                run.apply(entry, desired)
        except (PermanentError, TransientError) as exc:
            outcome.failed[entry.key.number] = str(exc)
            entry.set_status(PlaylistStatus.FAILED, str(exc)[:500])
            deps.ledger.save(entry)
            if isinstance(exc, (AuthorisationLost, AuthenticationFailed)):
                raise  # every author would fail the same way (lost authorisation, not allow-listed): stop here
    return outcome


def _live_episodes(deps: PlaylistDeps) -> list[LiveEpisode]:
    """Episodes on Spotify now: delivered with a Spotify id, and not taken down anywhere."""
    delivered = {
        e.key: e.state.spotify_id for e in deps.ledger.views_by_status(DELIVERIES, LedgerStatus.DELIVERED) if e.state.spotify_id
    }
    taken_down = deps.availability.taken_down()
    sources = deps.ledger.get_views([key for key in delivered if str(key) not in taken_down], SOURCES)
    return [
        LiveEpisode(episode=source.state.episode, spotify_id=delivered[key])
        for key, source in sorted(sources.items(), key=lambda item: item[0].number)
        if source.state.episode is not None
    ]


def _in_step(view: PlaylistView, desired: DesiredPlaylist) -> bool:
    state = view.state
    return (
        view.status is PlaylistStatus.CURRENT
        and state.playlist_id is not None
        and state.details_hash == desired.details_hash
        and state.uris_hash == desired.uris_hash
        and state.cover_resource == desired.cover_resource
    )


def _gone(view: PlaylistView, library: dict[str, Playlist]) -> bool:
    """Whether the playlist was made and is no longer in the account's library (deleted in an app, or by Spotify)."""
    return view.state.playlist_id is not None and view.state.playlist_id not in library


@dataclass
class _Run:
    """One run's writes to Spotify: the account's client, its library as read, and what was done."""

    client: SpotifyPlaylistsClient
    library: dict[str, Playlist]
    deps: PlaylistDeps
    outcome: PlaylistRunOutcome

    def apply(self, entry: LedgerEntry[AuthorPlaylistState], desired: DesiredPlaylist) -> None:
        state, client = entry.state, self.client
        contributor_id = entry.key.number
        before = (state.url, _episodes_hash(state))
        listed = self.library.get(state.playlist_id) if state.playlist_id else None
        if listed is None:
            listed = self.create(entry, desired)
        elif state.details_hash != desired.details_hash:
            client.update_details(listed.id, name=desired.name, description=desired.description, public=desired.public)
            state.name, state.details_hash, state.public = desired.name, desired.details_hash, desired.public
            entry.record("details_updated", desired.name)
            self.outcome.details_updated.append(contributor_id)
        if listed.snapshot_id != state.snapshot_id:  # changed outside the integration (or a lost answer)
            state.uris, state.snapshot_id = client.items(listed.id)
            self.outcome.items_read.append(contributor_id)
        if state.uris != desired.uris:
            state.snapshot_id = client.replace_items(listed.id, desired.uris)
            state.uris = desired.uris
            entry.record("items_replaced", f"{len(desired.uris)} episodes")
            self.outcome.items_replaced.append(contributor_id)
        state.episodes = list(desired.episodes)
        if state.cover_resource != desired.cover_resource:
            self.cover(entry, desired)
        entry.set_status(PlaylistStatus.CURRENT, f"{len(desired.uris)} episodes")
        self.deps.ledger.save(entry)
        if (state.url, _episodes_hash(state)) != before and state.playlist_id and state.url:
            changed = AuthorPlaylistChanged(
                contributor_id=contributor_id,
                playlist_id=state.playlist_id,
                playlist_url=state.url,
                episode_count=len(state.episodes),
                state_hash=_episodes_hash(state),
                correlation_id=f"author-playlists-{contributor_id}",
            )
            self.deps.bus.publish([changed])

    def create(self, entry: LedgerEntry[AuthorPlaylistState], desired: DesiredPlaylist) -> Playlist:
        state, client = entry.state, self.client
        gone = state.playlist_id
        adopted = None
        if entry.pending_create is not None:  # a create may have happened before a crash: look before making another
            owner = client.me().id
            adopted = next((p for p in self.library.values() if p.name == entry.pending_create and p.owner.id == owner and p.id != gone), None)
        if adopted is None:
            entry.pending_create = desired.name
            self.deps.ledger.save(entry)
            created = client.create_playlist(desired.name, desired.description, desired.public)
        else:
            created = adopted
            client.update_details(created.id, name=desired.name, description=desired.description, public=desired.public)
        entry.pending_create = None
        state.account = self.deps.policy.playlist_account
        state.playlist_id, state.url, state.name = created.id, created.url, desired.name
        state.details_hash, state.public = desired.details_hash, desired.public
        state.cover_resource = state.cover_sha256 = None  # a new playlist has no cover yet
        if adopted is None:
            state.uris, state.snapshot_id = [], created.snapshot_id
        else:  # made before a crash: what it holds is read, not assumed
            state.uris, state.snapshot_id = client.items(created.id)
        if gone is not None:
            state.recreated += 1
            self.report_recreated(entry, gone, created)
            self.outcome.recreated.append(entry.key.number)
        else:
            self.outcome.created.append(entry.key.number)
        entry.record("playlist_created", f"{created.id}{' (adopted after a crash)' if adopted else ''}")
        self.deps.ledger.save(entry)
        return created.model_copy(update={"snapshot_id": state.snapshot_id})

    def report_recreated(self, entry: LedgerEntry[AuthorPlaylistState], gone: str, created: Playlist) -> None:
        message = (
            f"The author playlist {gone} was no longer in the {self.deps.policy.playlist_account!r} account's library on Spotify "
            f"(deleted in a Spotify app, or removed by Spotify); it was made again as {created.id} ({created.url})."
        )
        entry.findings = [f for f in entry.findings if f.code != RECREATED] + [
            Finding(code=RECREATED, entity=str(entry.key), message=message, flow=FlowName.AUTHOR_PLAYLISTS, blocking=False)
        ]
        self.deps.alerts.publish(
            Alert(
                subject=f"Author playlist made again: {entry.state.name or entry.key}",
                message=message + "\n\nNothing else is needed; delete it in Spotify only if the author should no longer have one.",
                attributes={"kind": RECREATED, "entity": str(entry.key)},
            )
        )

    def cover(self, entry: LedgerEntry[AuthorPlaylistState], desired: DesiredPlaylist) -> None:
        state = entry.state
        entry.findings = [f for f in entry.findings if f.code != COVER_UNUSABLE]
        if desired.cover_url is None:
            state.cover_resource = None  # a custom cover cannot be removed through the API: the last one stays
            return
        try:
            with self.deps.media.fetch(desired.cover_url, max_bytes=self.deps.policy.cover_fetch_max_bytes) as fetched:
                if fetched.sha256 != state.cover_sha256:
                    cover = playlist_cover(fetched.read(), max_side=self.deps.policy.cover_max_side)
                    self.client.upload_cover(state.playlist_id or "", cover.jpeg)
                    state.cover_sha256 = fetched.sha256
                    entry.record("cover_uploaded", f"{cover.side} px JPEG of {len(cover.jpeg)} bytes (quality {cover.quality}) from a {cover.source_format}")
                    self.outcome.covers_uploaded.append(entry.key.number)
        except (MediaUnreachable, MediaTooLarge, CoverImageUnusable) as exc:  # the image, not Spotify: a finding
            message = f"the headshot {desired.cover_url} cannot be the playlist cover: {exc}"
            entry.findings.append(Finding(code=COVER_UNUSABLE, entity=str(entry.key), message=message, flow=FlowName.AUTHOR_PLAYLISTS, blocking=False))
        state.cover_resource = desired.cover_resource

    def archive(self, entry: LedgerEntry[AuthorPlaylistState]) -> None:
        if entry.state.playlist_id and entry.state.public is not False:
            self.client.update_details(entry.state.playlist_id, public=False)
            entry.state.public = False
        entry.state.details_hash = None  # approved again later: its details are set again
        entry.set_status(PlaylistStatus.ARCHIVED, "no longer approved for promotion: kept, made private")
        self.deps.ledger.save(entry)
        self.outcome.archived.append(entry.key.number)


def _episodes_hash(state: AuthorPlaylistState) -> str:
    return hashlib.sha256("|".join(f"{e.product_id}:{e.spotify_id}:{e.series_id}" for e in state.episodes).encode()).hexdigest()[:32]

