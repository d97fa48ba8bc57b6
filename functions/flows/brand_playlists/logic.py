"""Brand playlists: on each brand's own authorised Spotify account, one playlist per licensee holding
the branded episodes that are live on its brand show under a licence granting the playlist channel;
an item is removed when its licence ends (or is revoked, or stops granting the channel).

Level-triggered: on any change of one of a licensee's licences (or of its brand show), the playlist's
wanted branded items are computed from the ledger — every live licence of that licensee, its brand
show live with a Spotify id, the episode listed by Spotify — and the playlist is made to hold exactly
those among the branded items, with anything else the brand put there left alone. Removals are
`DELETE /playlists/{id}/items`; additions keep the current order and append. Two runs for two assets
of one licensee compute the same list from the ledger, so neither undoes the other.

Which account: `branded.brand_accounts[licensee]`, else the authorised account named like the
licensee's key (`harbourline-hotels`); none → the channel is held with that reason. The playlist's
name is the integration's own ("<licensee> · branded audio"), which is how a lost create is found
again. Spotify's guidance for brand playlists (no implied endorsement, editorial not an ad) is for
the brand's editors; this flow only keeps the licensed items in step, and never calls a playlist
licensed for in-store play: it is for personal listening on Spotify.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from functions.connectors.spotify_playlists import Playlist, SpotifyPlaylistsClient, episode_uri
from functions.connectors.spotify_web import SpotifyWebClient
from functions.domain.errors import TransientError
from functions.domain.licence import LIVE_STATES, LicenceChannel, LifecycleState, Licensee, channel_allowed
from functions.event_bus import EventBus
from functions.flows.licence_channels import announce, read_licence, settle
from functions.mapping_config import MappingConfig
from functions.state.keys import licence_key
from functions.state.ledger import LedgerEntry, SyncLedger
from functions.state.targets import BRAND_PLAYLIST, BRAND_SHOW, LICENCE, BrandPlaylistState, ChannelStatus, LicenceState

PLAYLIST_NAME = "{licensee} · branded audio"
PLAYLIST_DESCRIPTION = (
    "Branded audio from {licensee}: episodes of its branded show while their licences run. "
    "For personal listening on Spotify; not licensed for in-store or in-venue play."
)


class EpisodeNotOnSpotifyYet(TransientError):
    """The brand show's episode is live on Megaphone but Spotify does not list it yet (distribution
    takes a while): retried until it does."""

    code = "episode_not_on_spotify_yet"


@dataclass
class PlaylistDeps:
    ledger: SyncLedger
    bus: EventBus
    mapping: MappingConfig
    accounts: tuple[str, ...]  # the authorised accounts the deployment configures (spotifyAccounts)
    playlists: Callable[[str], SpotifyPlaylistsClient]
    catalogue: SpotifyWebClient
    market: str


@dataclass(frozen=True)
class PlaylistOutcome:
    product_id: int
    status: str
    reason: str
    changed: bool


def brand_account(licensee: Licensee, mapping: MappingConfig, accounts: tuple[str, ...]) -> str | None:
    configured = mapping.branded.account_for(licensee)
    if configured is not None:
        return configured
    return licensee.key if licensee.key in accounts else None


def reconcile_brand_playlist(product_id: int, deps: PlaylistDeps, now: datetime) -> PlaylistOutcome:
    licence = read_licence(deps.ledger, product_id)
    asset = licence.state.asset
    assert asset is not None
    target = deps.ledger.get_or_new(licence_key(product_id), BRAND_PLAYLIST)
    before, status_before = target.model_dump_json(), target.status
    allowed, why = channel_allowed(asset, licence.findings, now.date(), LicenceChannel.BRAND_PLAYLIST)
    licensee = asset.licensee
    account = brand_account(licensee, deps.mapping, deps.accounts) if licensee is not None else None
    waiting = False
    if account is None or licensee is None:
        reason = f"no authorised Spotify account for {licensee.name if licensee else '(no licensee)'} (branded.brand_accounts)"
        settle(target, licence, live=False, held=allowed, reason=reason if allowed else why, now=now, territories=[])
    else:
        client = deps.playlists(account)
        members, ours = _licensee_items(deps.ledger, licensee, now)
        listed = {pid: uri for pid, uri in members.items() if deps.catalogue.episode(uri.rsplit(":", 1)[1], deps.market) is not None}
        playlist = _playlist(client, target, licensee, deps.ledger, ours)
        _keep_in_step(client, playlist.id, list(listed.values()), set(ours.values()))
        target.state.account, target.state.playlist_id = account, playlist.id
        mine = listed.get(product_id)
        target.state.item_uri = mine or members.get(product_id) or target.state.item_uri
        waiting = allowed and product_id in members and mine is None
        if mine is not None:
            reason = f"in {playlist.name!r} on {account}: {why}"
        elif waiting:
            reason = "held: the brand show's episode is not listed by Spotify yet"
        elif allowed:
            reason = "held: the brand show has no live episode on Spotify"
        else:
            reason = why
        settle(target, licence, live=mine is not None, held=allowed, reason=reason, now=now, territories=["worldwide"] if mine else [])
    if target.model_dump_json() != before:
        deps.ledger.save(target)
    changed = target.status != status_before
    if changed:
        announce(deps.bus, product_id, LicenceChannel.BRAND_PLAYLIST, target)
    if waiting:
        raise EpisodeNotOnSpotifyYet(f"licence#{product_id}: Spotify does not list the brand show's episode yet")
    return PlaylistOutcome(product_id=product_id, status=str(target.status), reason=target.status_reason, changed=changed)


def _licensee_items(ledger: SyncLedger, licensee: Licensee, now: datetime) -> tuple[dict[int, str], dict[int, str]]:
    """(wanted: product -> episode URI for the licensee's assets that belong in its playlist now,
    ours: product -> episode URI of every branded episode of the licensee the integration knows)."""
    entries: list[LedgerEntry[LicenceState]] = [
        entry
        for state in LifecycleState
        for entry in ledger.by_status(LICENCE, state)
        if entry.state.asset is not None and (owner := entry.state.asset.licensee) is not None and owner.key == licensee.key
    ]
    shows = ledger.get_many([entry.key for entry in entries], BRAND_SHOW)
    wanted: dict[int, str] = {}
    ours: dict[int, str] = {}
    for entry in sorted(entries, key=lambda e: e.key.number):
        show = shows.get(entry.key)
        if show is None or not show.state.spotify_id:
            continue
        uri = episode_uri(show.state.spotify_id)
        ours[entry.key.number] = uri
        asset = entry.state.asset
        assert asset is not None
        if (
            entry.status in LIVE_STATES
            and show.status == ChannelStatus.LIVE
            and channel_allowed(asset, entry.findings, now.date(), LicenceChannel.BRAND_PLAYLIST)[0]
        ):
            wanted[entry.key.number] = uri
    return wanted, ours


def _playlist(
    client: SpotifyPlaylistsClient, target: LedgerEntry[BrandPlaylistState], licensee: Licensee, ledger: SyncLedger, ours: dict[int, str]
) -> Playlist:
    """The licensee's playlist: the id this asset or a sibling recorded, else the one of its name on the
    account, else a new one (public: brands publish their playlists)."""
    known = [target.state.playlist_id] if target.state.playlist_id else []
    if not known:
        siblings = ledger.get_many([licence_key(pid) for pid in ours], BRAND_PLAYLIST)
        known = [entry.state.playlist_id for entry in siblings.values() if entry.state.playlist_id]
    for playlist_id in known:
        found = client.playlist(playlist_id)
        if found is not None:
            return found
    name = PLAYLIST_NAME.format(licensee=licensee.name)
    return client.find_my_playlist(name) or client.create_playlist(name, PLAYLIST_DESCRIPTION.format(licensee=licensee.name), public=True)


def _keep_in_step(client: SpotifyPlaylistsClient, playlist_id: str, wanted: list[str], ours: set[str]) -> None:
    """Make the playlist's branded items exactly `wanted`: remove the others of ours, append the
    missing ones; items the brand added itself stay where they are."""
    current, snapshot = client.items(playlist_id)
    stale = [uri for uri in dict.fromkeys(current) if uri in ours and uri not in wanted]
    if stale:
        snapshot = client.remove_items(playlist_id, stale, snapshot)
        current = [uri for uri in current if uri not in stale]
    missing = [uri for uri in wanted if uri not in current]
    if missing:
        client.replace_items(playlist_id, current + missing)
