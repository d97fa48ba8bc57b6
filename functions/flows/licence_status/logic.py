"""Status back to Consonance: per branded product, where the asset is live and until when — one web
link per channel it has reached (its status in the link's description) and one internal note with
the licence's lifecycle (states with their reasons and times) and every channel's state — rewritten on
every lifecycle or channel change, through the one write-back service (`functions.consonance_writes`):
a batch of changes is one request, an unchanged link or note is not written, and a link or note whose
create answer was lost is found again before anything is created twice.

The note says what Spotify does and does not allow: a brand playlist is never "licensed for in-store
play", and the venue package needs the provider's own public-performance licence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from functions.consonance_writes import ConsonanceWriteback, InternalNote, LinkPurpose, WebLinkStatus
from functions.domain.errors import InvalidRecord
from functions.domain.events import DomainEvent, LicenceChanged, LicenceChannelChanged
from functions.domain.licence import VENUE_LICENCE_NOTICE, LicenceChannel, licence_territories
from functions.state.keys import licence_key
from functions.state.ledger import LedgerEntry, SyncLedger
from functions.state.targets import CHANNEL_TARGETS, LICENCE, ChannelState, ChannelStatus, LicenceState

NOTE_PURPOSE = "branded-licence"
DESCRIPTION_LIMIT = 255  # what a web link description may hold (a plausible column; the simulator's rule)
PLAYLIST_URL = "https://open.spotify.com/playlist/{playlist_id}"
CHANNEL_LABELS: dict[LicenceChannel, str] = {
    LicenceChannel.BRAND_SHOW: "Brand show on Spotify",
    LicenceChannel.BRAND_PLAYLIST: "Brand playlist on Spotify (not for in-store play)",
    LicenceChannel.VENUE: "Venue delivery (provider's public-performance licence required)",
}
SPOTIFY_FACTS = (
    "Spotify's consumer service is licensed for personal, non-commercial use only, and its developer platform "
    "may not be used for commercial streaming or non-interactive broadcasting: nothing on Spotify (brand show, "
    "brand playlists) is licensed for in-store or in-venue play."
)


@dataclass
class StatusDeps:
    ledger: SyncLedger
    writeback: ConsonanceWriteback
    spotify_episode_url: str  # e.g. https://open.spotify.com/episode/{spotify_id}
    link_role: str


def write_status(events: Sequence[DomainEvent], deps: StatusDeps) -> dict[int, Exception | None]:
    """Outcome per event index: None when Consonance shows the product's status, else the error."""
    by_product: dict[int, list[int]] = {}
    for index, event in enumerate(events):
        assert isinstance(event, (LicenceChanged, LicenceChannelChanged))
        by_product.setdefault(event.product_id, []).append(index)
    outcomes: dict[int, Exception | None] = {index: None for index in range(len(events))}
    links: list[tuple[int, WebLinkStatus]] = []
    notes: list[tuple[int, InternalNote]] = []
    for product_id in by_product:
        licence = deps.ledger.get(licence_key(product_id), LICENCE)
        if licence is None or licence.state.asset is None:
            for index in by_product[product_id]:
                outcomes[index] = InvalidRecord(f"licence#{product_id}: no licence read from Consonance, no status to show")
            continue
        channels = {
            channel: entry
            for channel, spec in CHANNEL_TARGETS.items()
            if (entry := deps.ledger.get(licence_key(product_id), spec)) is not None
        }
        links += [(product_id, link) for link in status_links(licence, channels, deps)]
        if licence.state.asset.work_id is not None:
            notes.append((product_id, status_note(licence, channels)))
    for (product_id, _), error in zip(links, deps.writeback.write_web_links([link for _, link in links]), strict=True):
        _fail(outcomes, by_product[product_id], error)
    for (product_id, _), error in zip(notes, deps.writeback.write_internal_notes([note for _, note in notes]), strict=True):
        _fail(outcomes, by_product[product_id], error)
    return outcomes


def _fail(outcomes: dict[int, Exception | None], indexes: list[int], error: Exception | None) -> None:
    if error is not None:
        for index in indexes:
            outcomes[index] = outcomes[index] or error


def status_links(licence: LedgerEntry[LicenceState], channels: dict[LicenceChannel, LedgerEntry[Any]], deps: StatusDeps) -> list[WebLinkStatus]:
    """One link per channel the asset has reached (a channel with nothing to link to has none yet)."""
    product_id = licence.key.number
    found: list[WebLinkStatus] = []
    for channel, target in channels.items():
        url = _channel_url(channel, target.state, deps)
        if url is None or target.status == ChannelStatus.NOT_DELIVERED:
            continue
        purpose = LinkPurpose(f"licence-{channel.value}", CHANNEL_LABELS[channel], deps.link_role)
        budget = DESCRIPTION_LIMIT - len(purpose.label) - 2
        found.append(WebLinkStatus(licence.key, product_id, purpose, url, channel_status_text(target)[:budget]))
    return found


def _channel_url(channel: LicenceChannel, state: Any, deps: StatusDeps) -> str | None:
    if channel is LicenceChannel.BRAND_SHOW:
        return deps.spotify_episode_url.format(spotify_id=state.spotify_id) if state.spotify_id else None
    if channel is LicenceChannel.BRAND_PLAYLIST:
        return PLAYLIST_URL.format(playlist_id=state.playlist_id) if state.playlist_id else None
    return state.manifest_link or None


def channel_status_text(target: LedgerEntry[ChannelState]) -> str:
    """e.g. "live until 2027-01-31", "withdrawn 2026-12-04 (licence ended 2026-12-04)", "held: ..."."""
    state = target.state
    if target.status == ChannelStatus.LIVE:
        return f"live until {state.live_until}" if state.live_until else "live"
    if target.status == ChannelStatus.WITHDRAWN:
        when = state.withdrawn_at.date().isoformat() if state.withdrawn_at else ""
        return f"withdrawn {when} ({target.status_reason})".replace("  ", " ")
    return f"{target.status}: {target.status_reason}" if target.status_reason else str(target.status)


def status_note(licence: LedgerEntry[LicenceState], channels: dict[LicenceChannel, LedgerEntry[Any]]) -> InternalNote:
    asset = licence.state.asset
    assert asset is not None and asset.work_id is not None
    state = licence.state
    lines = [
        f"## Branded licence: {asset.title}",
        "",
        f"- Licensee: {state.licensee or '(none)'}",
        f"- State: **{licence.status}** — {licence.status_reason}",
        f"- Until: {state.ends_on or '(no window)'}",
        f"- Territories: {', '.join(sorted(licence_territories(asset))[:20]) or '(none)'}",
    ]
    if licence.status == "expiring":
        lines.append(f"- **Expiring**: ends {state.ends_on}; renew in Consonance (a later terminated date or a new licence contract) to keep it live")
    if licence.findings:
        lines.append("- Problems to fix: " + "; ".join(f.message for f in licence.findings))
    lines += ["", "### Where it is live", ""]
    for channel in LicenceChannel:
        target = channels.get(channel)
        text = channel_status_text(target) if target is not None else "not delivered"
        lines.append(f"- {CHANNEL_LABELS[channel]}: {text}")
    lines += ["", "### Lifecycle", ""]
    lines += [f"- {t.at.strftime('%Y-%m-%d %H:%M')} UTC — {t.state.value}: {t.reason}" for t in state.transitions]
    lines += ["", "### What Spotify allows", "", SPOTIFY_FACTS, "", VENUE_LICENCE_NOTICE]
    return InternalNote(key=licence.key, purpose=NOTE_PURPOSE, work_id=asset.work_id, markdown="\n".join(lines), product_ids=(asset.product_id,))
