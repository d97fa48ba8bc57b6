"""Venue delivery: a branded asset's export package for a business-music provider or the licensee's
own player — audio, metadata and the licence terms (window, territories, channels) — published when
its licence starts and revoked when it ends. No Spotify dependency at all.

Every package is labelled as what it is (`VENUE_LICENCE_NOTICE`): a third-party delivery that needs
the provider's (or venue's) own public-performance licence; Spotify's consumer service and developer
platform are not licensed for in-venue playback, so nothing here goes through Spotify.

Published: the master audio is copied into the package (streamed, capped at
`branded.venue_audio_max_mb`; copied again only when the master changes), then the manifest is
written with status `live`. Revoked (the licence ended, was revoked, or stopped granting the channel;
or the master lost its approval): the manifest is rewritten `withdrawn` with when and why, and the
package's other objects are expired. Each step is idempotent, so a retry after a crash finishes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from functions.connectors.media import MediaFetcher
from functions.domain.approval import approval_blockers
from functions.domain.licence import (
    VENUE_LICENCE_NOTICE,
    BrandedAsset,
    LicenceChannel,
    channel_allowed,
    channels_on,
    licence_territories,
    licence_windows,
)
from functions.domain.models import Episode
from functions.event_bus import EventBus
from functions.flows.licence_channels import announce, read_licence, settle
from functions.mapping_config import MappingConfig
from functions.state.keys import licence_key
from functions.state.ledger import LedgerEntry, SyncLedger
from functions.state.targets import VENUE_DELIVERY, ChannelStatus, LicenceState, VenueDeliveryState
from functions.state.venue_packages import VenuePackages

MIB = 1024 * 1024
MANIFEST_FORMAT = "consonance-spotify/venue-package/1"


@dataclass
class VenueDeps:
    ledger: SyncLedger
    packages: VenuePackages
    media: MediaFetcher
    bus: EventBus
    mapping: MappingConfig


@dataclass(frozen=True)
class VenueOutcome:
    product_id: int
    status: str
    reason: str
    changed: bool


def reconcile_venue(product_id: int, deps: VenueDeps, now: datetime) -> VenueOutcome:
    licence = read_licence(deps.ledger, product_id)
    asset, episode = licence.state.asset, licence.state.episode
    assert asset is not None and episode is not None
    target = deps.ledger.get_or_new(licence_key(product_id), VENUE_DELIVERY)
    before, status_before = target.model_dump_json(), target.status
    allowed, why = channel_allowed(asset, licence.findings, now.date(), LicenceChannel.VENUE)
    blockers = approval_blockers(episode, deps.mapping) if allowed else []
    licensee = asset.licensee
    prefix = VenuePackages.prefix(licensee.key, product_id) if licensee is not None else None
    published = _published_prefix(target.state)
    if published is not None and (not allowed or blockers or published != prefix):
        moved = f"the licence moved to {licensee.name}" if allowed and not blockers and licensee is not None else ""
        _withdraw(published, target, deps.packages, now, moved or (why if not allowed else "; ".join(blockers)))
    if allowed and not blockers and prefix is not None and episode.master_audio is not None:
        _publish(prefix, asset, episode, licence, target, deps, now)
        settle(target, licence, live=True, held=False, reason=f"package published: {why}", now=now, territories=sorted(licence_territories(asset)))
    else:
        reason = why if not allowed else "held: " + ("; ".join(blockers) or "no master audio")
        settle(target, licence, live=False, held=allowed, reason=reason, now=now, territories=[])
    if target.model_dump_json() != before:
        deps.ledger.save(target)
    changed = target.status != status_before
    if changed:
        announce(deps.bus, product_id, LicenceChannel.VENUE, target)
    return VenueOutcome(product_id=product_id, status=str(target.status), reason=target.status_reason, changed=changed)


def _published_prefix(state: VenueDeliveryState) -> str | None:
    """The package whose objects are out there now (None when nothing beyond a withdrawn manifest is)."""
    if state.manifest_key is None or not state.objects:
        return None
    return state.manifest_key.removesuffix("/manifest")


def _publish(
    prefix: str, asset: BrandedAsset, episode: Episode, licence: LedgerEntry[LicenceState], target: LedgerEntry[VenueDeliveryState], deps: VenueDeps, now: datetime
) -> None:
    state = target.state
    assert episode.master_audio is not None
    url = episode.master_audio.url
    audio_key = f"{prefix}/audio{_extension(url, episode.master_audio.filename)}"
    if state.audio_url != url or state.audio_sha256 is None or deps.packages.stored_sha256(audio_key) != state.audio_sha256:
        with deps.media.fetch(url, max_bytes=deps.mapping.branded.venue_audio_max_mb * MIB) as media:
            deps.packages.put_audio(audio_key, media)
            state.audio_url, state.audio_sha256, state.audio_size, state.audio_content_type = url, media.sha256, media.size, media.content_type
        target.record("audio_copied", f"{audio_key} ({state.audio_size} bytes)")
    published_at = state.live_since if target.status == ChannelStatus.LIVE and state.live_since else now
    data = _manifest(asset, episode, licence, target, audio_key, published_at, now)
    stored = deps.packages.put_manifest(prefix, _manifest_markdown(data), data)
    state.manifest_key, state.manifest_link = stored.key, stored.link
    state.objects = sorted({audio_key, f"{stored.key}.json", f"{stored.key}.md"})
    state.expired_objects = []


def _withdraw(prefix: str, target: LedgerEntry[VenueDeliveryState], packages: VenuePackages, now: datetime, reason: str) -> None:
    state = target.state
    manifest_objects = {f"{prefix}/manifest.json", f"{prefix}/manifest.md"}
    expired = sorted(set(state.objects) - manifest_objects)
    packages.expire(expired)
    data = packages.manifest(prefix) or {"format": MANIFEST_FORMAT}
    data.pop("content_hash", None)
    data.update(status="withdrawn", withdrawn_at=now.isoformat(), withdrawal_reason=reason, audio=None, expired_objects=expired)
    packages.put_manifest(prefix, _manifest_markdown(data), data)
    state.objects = sorted(manifest_objects)
    state.expired_objects = expired
    state.audio_sha256 = state.audio_url = None
    target.record("package_withdrawn", f"{prefix}: {reason}; expired {len(expired)} object(s)")


def _manifest(
    asset: BrandedAsset,
    episode: Episode,
    licence: LedgerEntry[LicenceState],
    target: LedgerEntry[VenueDeliveryState],
    audio_key: str,
    published_at: datetime,
    now: datetime,
) -> dict[str, Any]:
    state = target.state
    window = next((w for w in licence_windows(asset) if w.ends_on == licence.state.ends_on), None)
    licensee = asset.licensee
    return {
        "format": MANIFEST_FORMAT,
        "status": "live",
        "notice": VENUE_LICENCE_NOTICE,
        "public_performance_licence_required": True,
        "delivered_through_spotify": False,
        "asset": {
            "product_id": asset.product_id,
            "isbn13": asset.isbn13,
            "title": episode.title,
            "subtitle": episode.subtitle,
            "summary": episode.summary,
            "credits": [{"name": c.name, "role": c.role_code} for c in sorted(episode.credits, key=lambda c: c.sequence)],
            "release_date": episode.release_date.isoformat() if episode.release_date else None,
        },
        "audio": {"key": audio_key, "sha256": state.audio_sha256, "size": state.audio_size, "content_type": state.audio_content_type},
        "licence": {
            "licensee": licensee.name if licensee is not None else None,
            "starts_on": window.starts_on.isoformat() if window and window.starts_on else None,
            "ends_on": window.ends_on.isoformat() if window and window.ends_on else None,
            "territories": sorted(licence_territories(asset)),
            "channels": sorted(channels_on(asset, now.date())),
            "rights": sorted({right for term in asset.terms for right in term.rights}),
            "contracts": [term.contract_id for term in asset.terms],
        },
        "published_at": published_at.isoformat(),
        "withdrawn_at": None,
        "withdrawal_reason": None,
        "expired_objects": [],
    }


def _manifest_markdown(data: dict[str, Any]) -> str:
    asset, terms, audio = data.get("asset") or {}, data.get("licence") or {}, data.get("audio")
    lines = [
        f"# Venue delivery package: {asset.get('title', '(untitled)')}",
        "",
        f"**Status: {data.get('status')}**",
        "",
        f"> {data.get('notice', VENUE_LICENCE_NOTICE)}",
        "",
        f"- Licensee: {terms.get('licensee')}",
        f"- Licence window: {terms.get('starts_on')} to {terms.get('ends_on')} (end exclusive, UTC)",
        f"- Territories: {', '.join(terms.get('territories') or []) or '(none)'}",
        f"- Channels granted: {', '.join(terms.get('channels') or []) or '(none)'}",
        f"- Product: {asset.get('product_id')} (ISBN {asset.get('isbn13') or 'none'})",
        f"- Published: {data.get('published_at')}",
    ]
    if audio:
        lines.append(f"- Audio: `{audio.get('key')}` ({audio.get('size')} bytes, SHA-256 {audio.get('sha256')})")
    if data.get("status") == "withdrawn":
        lines += [
            f"- Withdrawn: {data.get('withdrawn_at')} ({data.get('withdrawal_reason')})",
            f"- Expired objects: {', '.join(data.get('expired_objects') or []) or '(none)'}",
            "",
            "Stop playing this audio and remove it from every player.",
        ]
    return "\n".join(lines) + "\n"


def _extension(url: str, filename: str | None) -> str:
    suffix = PurePosixPath(filename or urlsplit(url).path).suffix.lower()
    return suffix if suffix and len(suffix) <= 6 else ".audio"
