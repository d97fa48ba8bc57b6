"""Brand show on Spotify: a branded asset's episode in its licensee's branded show (a Megaphone
podcast, distributed to Spotify), live only inside the licence window.

Nothing here publishes by itself: on a licence change the episode goes through the publisher
(`publish_episode`) with the publisher's own gate, whose rights check includes the licence
(`functions/flows/licence_gate.py`) — so the episode publisher, rights sync and this channel can
never disagree. The channel's ledger target (`brand-show` on `licence#<product>`) then records what
Megaphone holds: live (since when, until the window's end), held (with the gate's reason: the licence
is limited to some territories, the master is not approved ...) or withdrawn (when, why).

A delivery (`EpisodeDelivered`, from the publisher, the ingest checker or rights sync) only refreshes
the record: the Spotify id arrives once Megaphone has ingested the audio, and a withdrawal made for
rights reasons shows here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from functions.domain.licence import LicenceChannel, channel_allowed
from functions.flows.episode_publisher.logic import PublisherDeps, publish_episode
from functions.flows.licence_channels import announce, read_licence, settle
from functions.state.keys import episode_key, licence_key
from functions.state.ledger import LedgerEntry
from functions.state.targets import BRAND_SHOW, LICENCE, MEGAPHONE, ChannelStatus, LicenceState

WORLDWIDE = "worldwide"


@dataclass(frozen=True)
class BrandShowOutcome:
    product_id: int
    status: str
    reason: str
    changed: bool


def reconcile_brand_show(product_id: int, deps: PublisherDeps, now: datetime, today: date) -> BrandShowOutcome:
    """Publish or withdraw the episode through the publisher, then record the channel."""
    licence = read_licence(deps.ledger, product_id)
    outcome = publish_episode(product_id, licence.state.episode, deps, today)
    return _record(licence, deps, now, today, publish_reason=outcome.reason)


def refresh_brand_show(product_id: int, deps: PublisherDeps, now: datetime, today: date) -> BrandShowOutcome | None:
    """After a delivery: record what Megaphone holds now. None when the product is not a branded asset."""
    licence = deps.ledger.get(licence_key(product_id), LICENCE)
    if licence is None or licence.state.asset is None:
        return None
    return _record(licence, deps, now, today, publish_reason=None)


def _record(licence: LedgerEntry[LicenceState], deps: PublisherDeps, now: datetime, today: date, publish_reason: str | None) -> BrandShowOutcome:
    product_id = licence.key.number
    asset = licence.state.asset
    assert asset is not None
    target = deps.ledger.get_or_new(licence_key(product_id), BRAND_SHOW)
    before = target.model_dump_json()
    megaphone = deps.ledger.get(episode_key(product_id), MEGAPHONE)
    live = megaphone is not None and megaphone.state.live
    allowed, licence_reason = channel_allowed(asset, licence.findings, today, LicenceChannel.BRAND_SHOW)
    gate_reason = megaphone.status_reason if megaphone is not None and megaphone.status_reason else (publish_reason or "")
    if live:
        reason = f"live on Spotify: {licence_reason}"
    elif allowed:
        reason = f"held: {gate_reason or 'not yet published'}"
    else:
        reason = licence_reason
    status_before = target.status
    settle(
        target, licence, live=live, held=allowed and not live, reason=reason, now=now,
        territories=[WORLDWIDE] if live else [], acted=publish_reason is not None,
    )  # fmt: skip
    new_id = False
    if megaphone is not None:
        state = megaphone.state
        target.state.podcast_id, target.state.episode_id = state.podcast_id, state.episode_id
        new_id = bool(state.spotify_id) and state.spotify_id != target.state.spotify_id
        target.state.spotify_id = state.spotify_id or target.state.spotify_id
    if target.model_dump_json() != before:
        deps.ledger.save(target)
    changed = target.status != status_before
    if changed or (new_id and target.status == ChannelStatus.LIVE):
        announce(deps.bus, product_id, LicenceChannel.BRAND_SHOW, target)
    return BrandShowOutcome(product_id=product_id, status=str(target.status), reason=target.status_reason, changed=changed)
