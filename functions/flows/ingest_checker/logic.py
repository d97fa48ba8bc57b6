"""Finishes deliveries whose audio Megaphone is still ingesting, without holding any Lambda.

Runs on a schedule over the ledger's `awaiting_ingest` index (one paged list per podcast when
several of its episodes wait): processed audio makes the entry
`delivered` (or `draft` when it is not released yet) and announces it for write-back; a failed ingest
makes it `failed`, with a reason a person can act on, and records the audio URL Megaphone could not
ingest (`MegaphoneState.ingest_failed_url`) for the distribution feedback flow, which writes it back
to Consonance and alerts once (`DistributionChanged`, announced before the ledger write); still-
processing entries are left alone (no write). One entry's failure never stops the others: it is
counted and retried on the next run.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from functions.connectors.megaphone import MegaphoneClient, MegaphoneEpisode
from functions.domain.errors import PermanentError, TransientError
from functions.distribution.problems import delivery_signature, ingest_failure_reason
from functions.domain.events import DistributionChanged, EpisodeDelivered
from functions.domain.models import Finding
from functions.event_bus import EventBus
from functions.flow_names import FlowName
from functions.state.ledger import LedgerEntry, SyncLedger
from functions.state.targets import MEGAPHONE, LedgerStatus, MegaphoneState

FLOW = FlowName.INGEST_CHECKER


@dataclass
class IngestCheckOutcome:
    checked: int = 0
    delivered: int = 0
    drafts: int = 0
    still_processing: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def check_ingests(ledger: SyncLedger, megaphone: MegaphoneClient, bus: EventBus) -> IngestCheckOutcome:
    """A podcast with several episodes waiting is read with one paged list instead of one GET each:
    after a backfill that is the difference between a few calls and thousands under a 60/min limit."""
    outcome = IngestCheckOutcome()
    waiting: dict[str, list[LedgerEntry[MegaphoneState]]] = defaultdict(list)
    for entry in ledger.by_status(MEGAPHONE, LedgerStatus.AWAITING_INGEST):
        if entry.state.podcast_id is not None:
            waiting[entry.state.podcast_id].append(entry)
    for podcast_id, entries in sorted(waiting.items()):
        listing: dict[str, MegaphoneEpisode] | None = None
        if len(entries) > 1:
            try:
                listing = {episode.id: episode for episode in megaphone.list_episodes(podcast_id)}
            except TransientError as exc:
                outcome.errors.extend(f"{entry.entity}: {exc}" for entry in entries)
                continue
        for entry in entries:
            _check_one(entry, listing, ledger, megaphone, bus, outcome)
    return outcome


def _check_one(
    entry: LedgerEntry[MegaphoneState],
    listing: dict[str, MegaphoneEpisode] | None,
    ledger: SyncLedger,
    megaphone: MegaphoneClient,
    bus: EventBus,
    outcome: IngestCheckOutcome,
) -> None:
    outcome.checked += 1
    state = entry.state
    assert state.podcast_id is not None and state.episode_id is not None  # awaiting ingest means pushed
    try:
        known = listing.get(state.episode_id) if listing is not None else None
        remote = known or megaphone.get_episode(state.podcast_id, state.episode_id)
    except TransientError as exc:
        outcome.errors.append(f"{entry.entity}: {exc}")
        return
    except PermanentError as exc:
        entry.findings = [Finding(code="megaphone_episode_unreadable", entity=entry.entity, message=str(exc), flow=FLOW)]
        entry.set_status(LedgerStatus.FAILED, str(exc))
        ledger.save(entry)
        outcome.failed += 1
        return
    signature = delivery_signature(entry)
    if remote.audio_file_status == "failed":
        state.ingest_failed_url = state.audio_url
        entry.set_status(LedgerStatus.FAILED, ingest_failure_reason(state))
        _announce_distribution(entry, signature, bus)
        ledger.save(entry)
        outcome.failed += 1
        return
    if not remote.ingested:
        outcome.still_processing += 1
        return
    state.ingest_failed_url = None
    if remote.spotify_identifier:
        state.spotify_id = remote.spotify_identifier
    if remote.draft:
        entry.set_status(LedgerStatus.DRAFT, "audio ingested; draft until its release date")
        outcome.drafts += 1
    else:
        if remote.spotify_identifier:
            bus.publish(
                [
                    EpisodeDelivered(
                        product_id=entry.key.number,
                        megaphone_episode_id=remote.id,
                        podcast_id=state.podcast_id,
                        spotify_id=remote.spotify_identifier,
                        status="live",
                        content_hash=entry.pushed_hash or "",
                    )
                ]
            )
        entry.set_status(LedgerStatus.DELIVERED, "audio ingested; live on Spotify")
        outcome.delivered += 1
    _announce_distribution(entry, signature, bus)
    ledger.save(entry)


def _announce_distribution(entry: LedgerEntry[MegaphoneState], before: str, bus: EventBus) -> None:
    """Tell the distribution feedback flow when the ingest changed what is wrong with the episode."""
    if delivery_signature(entry) != before:
        bus.publish(
            [DistributionChanged(product_id=entry.key.number, reason="Megaphone ingest finished", ledger_version=entry.version + 1)]
        )
