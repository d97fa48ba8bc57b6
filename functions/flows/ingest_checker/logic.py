"""Finishes deliveries whose audio Megaphone is still ingesting, without holding any Lambda.

Two ways in, one check (`check_entries`): the delayed `IngestCheckDue` messages every push of audio
sends (the ingest follow-up, `check_due`: the named episodes still awaiting ingest, once the expected
ingest time has passed: the timely check) and the scheduled sweep over the ledger's `awaiting_ingest`
index every 15 minutes (`check_ingests`, only the safety net, for a slower ingest or a check whose send
was lost or failed; it leaves alone an entry pushed less than the expected ingest time ago: its audio
is most likely still being ingested, and its delayed check falls due then). A podcast with several of
the episodes waiting is read with one paged list: processed audio makes the entry
`delivered` (or `draft` when it is not released yet) and announces it for write-back; a failed ingest
makes it `failed`, with a reason a person can act on, and records the audio URL Megaphone could not
ingest (`MegaphoneState.ingest_failed_url`) for the distribution feedback flow, which writes it back
to Consonance and alerts once (`DistributionChanged`, announced before the ledger write); still-
processing entries are left alone (no write, no new message: the sweep checks them again). One
entry's failure never stops the others: it is counted and retried by the next sweep.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from functions.connectors.megaphone import MegaphoneClient, MegaphoneEpisode
from functions.domain.errors import PermanentError, TransientError
from functions.distribution.problems import delivery_signature, ingest_failure_reason
from functions.domain.events import DistributionChanged, EpisodeDelivered
from functions.domain.models import Finding
from functions.event_bus import EventBus
from functions.flow_names import FlowName
from functions.state.keys import episode_key
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
    not_awaiting: int = 0  # named by a follow-up, but no longer awaiting ingest (checked or pushed since)
    left_to_follow_up: int = 0  # the sweep: pushed less than the expected ingest time ago
    errors: list[str] = field(default_factory=list)


def check_ingests(
    ledger: SyncLedger, megaphone: MegaphoneClient, bus: EventBus, *, now: datetime, expected_ingest: timedelta = timedelta(0)
) -> IngestCheckOutcome:
    """The sweep: every entry awaiting ingest that was pushed at least `expected_ingest` ago."""
    waiting = ledger.by_status(MEGAPHONE, LedgerStatus.AWAITING_INGEST)
    due = [entry for entry in waiting if entry.updated_at is None or now - entry.updated_at >= expected_ingest]
    outcome = check_entries(due, ledger, megaphone, bus)
    outcome.left_to_follow_up = len(waiting) - len(due)
    return outcome


def check_due(product_ids: Iterable[int], ledger: SyncLedger, megaphone: MegaphoneClient, bus: EventBus) -> IngestCheckOutcome:
    """The follow-up: the named episodes' entries (one BatchGetItem), those still awaiting ingest."""
    wanted = list(dict.fromkeys(product_ids))
    entries = ledger.get_many([episode_key(product_id) for product_id in wanted], MEGAPHONE)
    waiting = [entry for entry in entries.values() if entry.status == LedgerStatus.AWAITING_INGEST]
    outcome = check_entries(waiting, ledger, megaphone, bus)
    outcome.not_awaiting = len(wanted) - len(waiting)
    return outcome


def check_entries(
    entries: Iterable[LedgerEntry[MegaphoneState]], ledger: SyncLedger, megaphone: MegaphoneClient, bus: EventBus
) -> IngestCheckOutcome:
    """A podcast with several episodes waiting is read with one paged list instead of one GET each:
    after a backfill that is the difference between a few calls and thousands under a 60/min limit."""
    outcome = IngestCheckOutcome()
    waiting: dict[str, list[LedgerEntry[MegaphoneState]]] = defaultdict(list)
    for entry in entries:
        if entry.state.podcast_id is not None:
            waiting[entry.state.podcast_id].append(entry)
    for podcast_id, podcast_entries in sorted(waiting.items()):
        listing: dict[str, MegaphoneEpisode] | None = None
        if len(podcast_entries) > 1:
            try:
                listing = {episode.id: episode for episode in megaphone.list_episodes(podcast_id)}
            except TransientError as exc:
                outcome.errors.extend(f"{entry.entity}: {exc}" for entry in podcast_entries)
                continue
        for entry in podcast_entries:
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
